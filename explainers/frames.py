"""Animation frames sent a few per message and played back in the browser.

Bokeh sends each batch of document changes as one websocket message, and with a whole class
animating, a server's cost is per message far more than per byte.  So an animator records
several frames' data-source changes and hands them over at once to the page's
:class:`FramePlayer`, which applies them one per display frame at the animation's pace.

While frames are recorded the server's own sources are left alone (changing them would send
them).  The true data then live in a detached copy, the source's *shadow*: :func:`data`
reads it, and it is written back to the source (one message) as soon as anything changes
that source directly or the animation pauses.  Before that write the page is told to apply
every frame it still holds, so the browser and the server always end in the same state.

Views and sections change their animated sources only through :func:`patch`,
:func:`stream` and :func:`replace`, and read them through :func:`data`.  Outside a served
session (a notebook, a test) these act on the source at once.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import panel as pn
import param
from bokeh.core.properties import Int, String
from bokeh.model import DataModel
from bokeh.models import ColumnDataSource
from panel.custom import JSComponent

FEED_NAME = "explainer-frame-feed"


class FrameFeed(DataModel):
    """The frames on their way to the page, as one JSON string (see :func:`encode`).

    A plain Bokeh data model rather than a parameter of :class:`FramePlayer`: a string
    property is set and sent without walking the value for model references, which for a
    whole class of animations was most of the server's work.
    """

    batch = String(default="", help="The newest batch: {seq, lane, period, frames}.")
    flushes = Int(
        default=0,
        help="Bumped just before the server changes a played source itself: the page first "
        "applies every frame it still holds.",
    )


class FramePlayer(JSComponent):
    """Plays the page's :class:`FrameFeed` batches, and says whether the tab is hidden (one
    per page: animations pause while nobody can see them).

    Each batch belongs to a *lane* (one per animator), so two animations on one page play
    side by side.  A frame is a list of ``[source name, "patch" | "stream" | "data",
    changes, rollover]``, applied with BokehJS's own ``patch`` / ``stream`` / ``setv``
    without sending anything back to the server.
    """

    hidden = param.Boolean(default=False, doc="True while the browser tab is hidden.")

    _esm = (
        """
const get = (o, k) => (o instanceof Map ? o.get(k) : o[k]);
const TYPED = {
  float64: Float64Array, float32: Float32Array, int32: Int32Array, int16: Int16Array,
  int8: Int8Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array,
};

function unpack(v) {
  const bytes = Uint8Array.from(atob(v.nd), (c) => c.charCodeAt(0));
  return new TYPED[v.dtype](bytes.buffer);
}

// An array sent as {nd, dtype, shape} replaces element i of a column: written into the
// array already there when it fits, else as rows of plain numbers.
function patched_value(m, column, i, v) {
  if (v === null || typeof v !== "object" || v.nd === undefined) return v;
  const flat = unpack(v);
  const col = get(m.data, column);
  const old = col == null ? null : col[i];
  if (old != null && ArrayBuffer.isView(old) && old.length === flat.length) {
    old.set(flat);
    return old;
  }
  const [rows, cols] = v.shape.length === 2 ? v.shape : [1, flat.length];
  const row = (_, r) => Array.from(flat.subarray(r * cols, (r + 1) * cols));
  return Array.from({ length: rows }, row);
}

export function render({ model, view }) {
  const lanes = new Map();  // lane -> {queue, next, period, limit}
  const found = new Map();
  let raf = null;
  let feed = null;
  const doc = () => view.model.document;
  const source = (name) => {
    let m = found.get(name);
    if (m == null && doc() != null) {
      m = doc().get_model_by_name(name);
      if (m != null) found.set(name, m);
    }
    return m;
  };
  const apply = (frame) => {
    for (const [name, op, changes, rollover] of frame) {
      const m = source(name);
      if (m == null) continue;
      if (op === "stream") {
        m.stream(changes, rollover ?? undefined, { sync: false });
      } else if (op === "patch") {
        const patches = {};
        for (const [column, list] of Object.entries(changes)) {
          patches[column] = list.map(([i, v]) => [i, patched_value(m, column, i, v)]);
        }
        m.patch(patches, { sync: false });
      } else {
        m.setv({ data: changes }, { sync: false });
      }
    }
  };
  const tick = (now) => {
    raf = null;
    let more = false;
    for (const lane of lanes.values()) {
      // Far behind (a slow device, a stalled tab): apply the surplus at once.
      while (lane.queue.length > lane.limit) apply(lane.queue.shift());
      if (lane.queue.length > 0 && now >= lane.next) {
        apply(lane.queue.shift());
        lane.next = Math.max(lane.next, now - lane.period) + lane.period;
      }
      more = more || lane.queue.length > 0;
    }
    if (more) raf = requestAnimationFrame(tick);
  };
  const on_batch = () => {
    if (!feed.batch) return;
    const b = JSON.parse(feed.batch);
    let lane = lanes.get(b.lane);
    if (lane == null) {
      lane = { queue: [], next: 0, period: 30, limit: 12 };
      lanes.set(b.lane, lane);
    }
    lane.period = b.period;
    lane.limit = 3 * Math.max(b.frames.length, 1);
    for (const f of b.frames) lane.queue.push(f);
    if (raf === null) raf = requestAnimationFrame(tick);
  };
  const on_flush = () => {
    for (const lane of lanes.values()) {
      while (lane.queue.length > 0) apply(lane.queue.shift());
    }
  };
  const attach = () => {
    feed = doc() == null ? null : doc().get_model_by_name("__FEED__");
    if (feed == null) { requestAnimationFrame(attach); return; }
    feed.properties.batch.change.connect(on_batch);
    feed.properties.flushes.change.connect(on_flush);
  };
  attach();
  const visibility = () => { model.hidden = document.hidden; };
  document.addEventListener("visibilitychange", visibility);
  model.on("remove", () => {
    document.removeEventListener("visibilitychange", visibility);
    if (raf !== null) cancelAnimationFrame(raf);
    if (feed != null) {
      feed.properties.batch.change.disconnect(on_batch);
      feed.properties.flushes.change.disconnect(on_flush);
    }
  });
  return document.createElement("span");
}
"""
    ).replace("__FEED__", FEED_NAME)


def _plain(value):
    """A JSON-ready copy of a value; numpy arrays of 2+ dimensions travel as bytes."""
    if isinstance(value, np.ndarray):
        if value.ndim < 2:
            return value.tolist()
        array = np.ascontiguousarray(value, dtype=_WIRE_DTYPES.get(value.dtype.str[1:], "<f8"))
        return {
            "nd": base64.b64encode(array.tobytes()).decode("ascii"),
            "dtype": array.dtype.name,
            "shape": list(array.shape),
        }
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# dtypes a browser has typed arrays for (64-bit integers travel as floats)
_WIRE_DTYPES = {k: "<" + k for k in ("f8", "f4", "i4", "i2", "u2", "u4")} | {
    "i1": "|i1",
    "u1": "|u1",
    "b1": "|u1",
}


def encode(frames: list[list], lengths: dict[str, int]) -> list[list]:
    """Frames in the form the page's player reads (JSON-ready).

    Slices in patches become single indices (``lengths``: each patched column's length by
    ``"<source>.<column>"``), so the page needs no slice objects.
    """
    out = []
    for frame in frames:
        ops = []
        for name, op, changes, rollover in frame:
            if op == "patch":
                plain = {}
                for column, items in changes.items():
                    flat = []
                    for index, value in items:
                        if isinstance(index, slice):
                            rng = range(*index.indices(lengths[f"{name}.{column}"]))
                            flat.extend(zip(rng, _plain(value), strict=True))
                        else:
                            flat.append((int(index), _plain(value)))
                    plain[column] = flat
                ops.append([name, op, plain, None])
            else:
                ops.append([name, op, {c: _plain(v) for c, v in changes.items()}, rollover])
        out.append(ops)
    return out


def to_json(value) -> str:
    """JSON for the page: non-finite numbers (which JSON lacks) become null, as gaps."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), separators=(",", ":"))


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _copied(value):
    """A copy deep enough that changing the shadow never changes the source's own data."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [v.copy() if isinstance(v, np.ndarray) else v for v in value]
    return value


def _apply_stream(data: dict, new: dict, rollover: int | None) -> None:
    for column, values in new.items():
        old = data.get(column, [])
        if isinstance(old, np.ndarray):
            old = np.concatenate([old, np.asarray(values)])
        else:
            old = [*old, *values]
        if rollover is not None and len(old) > rollover:
            old = old[len(old) - rollover :]
        data[column] = old


def _apply_patch(data: dict, patches: dict) -> None:
    for column, items in patches.items():
        col = data[column]
        for index, value in items:
            col[index] = value


class Recorder:
    """One session's frame recorder: its feed, the frames being recorded, the shadows."""

    def __init__(self, feed: FrameFeed | None):
        self.feed = feed
        self.player: FramePlayer | None = None
        self.frames: list[list] | None = None  # None while not recording
        self.shadows: dict[ColumnDataSource, dict] = {}
        self._seq = itertools.count(1)
        self._release_after = False

    @property
    def playing(self) -> bool:
        """Whether the page has a player (else every frame goes out as it comes)."""
        return self.feed is not None

    def _shadow(self, source: ColumnDataSource) -> dict:
        shadow = self.shadows.get(source)
        if shadow is None:
            shadow = self.shadows[source] = {k: _copied(v) for k, v in source.data.items()}
        return shadow

    def _played(self, source: ColumnDataSource) -> bool:
        return self.frames is not None and self.feed is not None and bool(source.name)

    def patch(self, source: ColumnDataSource, patches: dict) -> None:
        # A patch into part of a 2-D element, (row, slices...), is not played: it goes out as is.
        into_part = any(isinstance(i, tuple) for items in patches.values() for i, _ in items)
        if into_part or not self._played(source):
            self.release(source)
            source.patch(patches)
            return
        # Frozen now: a caller may reuse its arrays for the next frame.
        patches = {c: [(i, _copied(v)) for i, v in changes] for c, changes in patches.items()}
        _apply_patch(self._shadow(source), patches)
        self.frames[-1].append([source.name, "patch", patches, None])

    def stream(self, source: ColumnDataSource, data: dict, rollover: int | None) -> None:
        if not self._played(source):
            self.release(source)
            source.stream(data, rollover)
            return
        data = {c: _copied(v) for c, v in data.items()}
        _apply_stream(self._shadow(source), data, rollover)
        self.frames[-1].append([source.name, "stream", data, rollover])

    def replace(self, source: ColumnDataSource, data: dict) -> None:
        if not self._played(source):
            if self.shadows.pop(source, None) is not None and self.feed is not None:
                self.feed.flushes += 1
            source.data = data
            return
        data = {c: _copied(v) for c, v in data.items()}
        self.shadows[source] = dict(data)
        self.frames[-1].append([source.name, "data", data, None])

    def data(self, source: ColumnDataSource):
        shadow = self.shadows.get(source)
        return source.data if shadow is None else shadow

    def release(self, source: ColumnDataSource | None = None) -> None:
        """Write shadows back to their sources (all of them, or ``source``'s)."""
        if self.frames is not None:  # a frame paused the animation: after its batch is sent
            self._release_after = True
            return
        sources = list(self.shadows) if source is None else [source]
        shadows = [(s, self.shadows.pop(s)) for s in sources if s in self.shadows]
        if not shadows:
            return
        with pn.io.hold():
            if self.feed is not None:
                self.feed.flushes += 1  # before the data, in the same message
            for s, shadow in shadows:
                s.data = shadow

    @contextmanager
    def record(self, lane: str, period_ms: int) -> Iterator[Recorder]:
        """Record frames (call :meth:`next_frame` before each) and send them as one batch."""
        self.frames = []
        try:
            yield self
        finally:
            frames, self.frames = self.frames, None
            if frames and any(frames) and self.feed is not None:
                lengths = {
                    f"{name}.{c}": len(self.shadows[src][c])
                    for src in self.shadows
                    if (name := src.name)
                    for c in self.shadows[src]
                }
                self.feed.batch = to_json(
                    {
                        "seq": next(self._seq),
                        "lane": lane,
                        "period": int(period_ms),
                        "frames": encode(frames, lengths),
                    }
                )
            if self._release_after:
                self._release_after = False
                self.release()

    def next_frame(self) -> None:
        if self.frames is not None:
            self.frames.append([])


_DIRECT = Recorder(None)  # outside a served session: every change goes straight through
_RECORDERS: dict[object, Recorder] = {}


def recorder() -> Recorder:
    """The current session's recorder (a pass-through one outside a served session)."""
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        return _DIRECT
    rec = _RECORDERS.get(doc)
    if rec is None:
        rec = _RECORDERS[doc] = Recorder(None)
        pn.state.on_session_destroyed(lambda _ctx, doc=doc: _RECORDERS.pop(doc, None))
    return rec


def player() -> FramePlayer | None:
    """The current session's player (None outside a served session), made on first use;
    the page puts it into its layout, and from then on the session's animations send their
    frames in batches."""
    rec = recorder()
    if rec is _DIRECT:
        return None
    if rec.player is None:
        rec.feed = FrameFeed(name=FEED_NAME)
        pn.state.curdoc.add_root(rec.feed)
        rec.player = FramePlayer(width=0, height=0, margin=0)
    return rec.player


def patch(source: ColumnDataSource, patches: dict) -> None:
    """``source.patch(patches)``, or into the frame being recorded."""
    recorder().patch(source, patches)


def stream(source: ColumnDataSource, data: dict, rollover: int | None = None) -> None:
    """``source.stream(data, rollover)``, or into the frame being recorded."""
    recorder().stream(source, data, rollover)


def replace(source: ColumnDataSource, data: dict) -> None:
    """``source.data = data``, after the page has played what it holds of this session."""
    recorder().replace(source, data)


def data(source: ColumnDataSource):
    """The source's current data, including frames the page has not played yet."""
    return recorder().data(source)


def release() -> None:
    """Bring every source of the session up to date (an animation paused)."""
    recorder().release()
