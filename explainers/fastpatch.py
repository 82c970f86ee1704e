"""Cheaper Bokeh ``PATCH-DOC`` messages for animation frames.

Three savings, all measured with ``bench.app`` and all sending what Bokeh would send:

1. Reuse each document's reference map between frames (:func:`install`).
2. Send a frame's changes straight to the session's websockets in one socket write
   (:class:`FrameWriter`), instead of through Panel's hold/unlock machinery, Bokeh's
   document lock and one Tornado future per websocket frame.
3. Inside such a frame, append or patch a few plain values of a data source without
   Bokeh's generic machinery (:func:`stream`, :func:`patch`): the same change to the
   source and the same event JSON, written once.

The reference map
-----------------

For every message it sends, Bokeh 3.9 builds a fresh map ``id(model) -> {"id": ...}`` over
*every* model of the document (``Serializer(references=doc.models.synced_references)`` in
``patch_doc.create``), so a frame's cost grows with the size of the page, not of the frame.
The story page holds about 1,600 models: measured here, that map alone made one Hopfield
frame cost 7.9 ms of server CPU on the story page against 2.3 ms with the map reused
(``bench.app``; 0.5 ms of the ~2 ms on ``/hopfield``).

The map only changes when the document's model graph does.  Bokeh rebuilds the graph's
dict (``doc.models._models``) whenever it recomputes it, so that dict's identity is the
cache key; while the document has models not yet sent to the browser (``_new_models``) the
original path runs unchanged.  The messages are identical to Bokeh's own
(``tests/deploy/test_fastpatch.py`` compares them).

:func:`install` is idempotent and does nothing on a Bokeh version it was not checked against.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import logging
import struct
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import bokeh
import numpy as np
import tornado
from bokeh.core.json_encoder import PayloadEncoder
from bokeh.core.serialization import Buffer, Serializer
from bokeh.document.events import DocumentPatchedEvent
from panel.io.document import hold as _panel_hold
from panel.io.state import state as _pn_state
from tornado.iostream import SSLIOStream

log = logging.getLogger("explainers")

CHECKED_BOKEH = ("3.9.",)  # internals read below: DocumentModelManager._models/_new_models

_patch_doc = importlib.import_module("bokeh.protocol.messages.patch_doc")
_original_create = _patch_doc.patch_doc.create.__func__
# The cache lives on the document's model manager, so it is freed with the document.  (A
# WeakKeyDictionary keyed by the document would never drop an entry: the cached models point
# back at their document, so the value keeps its own key alive and closed sessions leak.)
_CACHE = "_explainers_synced_refs"
_installed = False


def synced_refs(doc) -> dict | None:
    """``id(model) -> ref`` for every model of ``doc``, or None while some are unsent."""
    manager = doc.models
    if manager._new_models:
        return None
    models = manager._models
    entry = getattr(manager, _CACHE, None)
    if entry is not None and entry[0] is models:
        return entry[1]
    refs = {id(m): m.ref for m in models.values()}
    # Holding `models` keeps its models alive, so no id() in `refs` can be reused.
    setattr(manager, _CACHE, (models, refs))
    return refs


def _create(cls, events, **metadata):
    docs = {event.document for event in events}
    if len(docs) == 1:
        [doc] = docs
        refs = synced_refs(doc) if doc is not None else None
        if refs is not None:
            serializer = Serializer()
            serializer._references = dict(refs)  # a copy: encoding may add to it
            content = _patch_doc.PatchJson(events=serializer.encode(events))
            msg = cls(cls.create_header(), metadata, content)
            msg.add_buffers(*serializer.buffers)
            return msg
    return _original_create(cls, events, **metadata)


def install() -> bool:
    """Route ``PATCH-DOC`` creation through the cached map; returns whether it is active."""
    global _installed
    if _installed:
        return True
    if not bokeh.__version__.startswith(CHECKED_BOKEH):
        log.info("fastpatch: not checked against Bokeh %s; left off", bokeh.__version__)
        return False
    _patch_doc.patch_doc.create = classmethod(_create)
    _installed = True
    return True


def uninstall() -> None:
    """Back to Bokeh's own ``PATCH-DOC`` creation (for tests)."""
    global _installed
    _patch_doc.patch_doc.create = classmethod(_original_create)
    _installed = False


def hold():
    """``pn.io.hold()``, or nothing when the current document is already held (inside a
    frame, where Panel's hold would only add its own bookkeeping)."""
    doc = _pn_state.curdoc
    if doc is not None and doc.callbacks.hold_value is not None:
        return contextlib.nullcontext()
    return _panel_hold()


# -- frames written directly ------------------------------------------------------------------
# Internals read below, checked against these versions: Bokeh's session lock
# (ServerSession._lock) and subscribed connections, its WSHandler.write_lock, Tornado's
# WebSocketProtocol13 (stream, _compressor, mask_outgoing), Panel's pending-write registries.
CHECKED_TORNADO = ("6.",)
_panel_document = importlib.import_module("panel.io.document")
_monkeypatch_events = importlib.import_module("panel.io.model").monkeypatch_events


def _free(lock) -> bool:
    """Whether a Tornado ``Lock`` is free (it has no public ``locked()``)."""
    return lock._block._value > 0


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked websocket frame (RFC 6455 5.2), as a server sends it."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def message_bytes(msg) -> bytes:
    """A Bokeh protocol message as the websocket frames Bokeh would send, back to back."""
    text = (msg.header_json, msg.metadata_json, msg.content_json)
    parts = [_ws_frame(0x1, t.encode("utf-8")) for t in text]
    for buffer in msg.buffers:
        parts.append(_ws_frame(0x1, json.dumps(buffer.ref).encode("utf-8")))
        parts.append(_ws_frame(0x2, buffer.to_bytes()))
    return b"".join(parts)


_EMPTY_METADATA = _ws_frame(0x1, b"{}")


def _swallow(future) -> None:
    future.exception()  # a write to a closed tab fails; the animator notices on its next tick


# -- streams and patches of plain values, encoded once ----------------------------------------
# ColumnDataSource.stream/patch re-validate the whole column data (every element of every
# column) and copy it for a change notification nobody listens to; for the few points of an
# animation frame that was a fifth of the frame's server CPU (bench.app).  Inside a
# FrameWriter frame, stream() and patch() change the source's lists the same way and add
# the event as the JSON Bokeh's serializer gives for it.  Anything else (numpy values,
# NaN, slices, Python callbacks on the data, no frame) goes through Bokeh as before.
_IN_FRAME = "_explainers_in_frame"
_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False)  # as Bokeh's serialize_json
_PAYLOAD = PayloadEncoder(separators=(",", ":"))  # what serialize_json uses, buffers included
_MAX_SAFE_INT = 2**53  # Bokeh sends larger integers differently
_PLAIN = (bool, int, float, str)


class RawPatch:
    """A frame's ``ColumnsStreamed`` or ``ColumnsPatched`` event, already as its JSON, and
    the binary buffers (id, bytes) that JSON refers to."""

    __slots__ = ("buffers", "json")

    def __init__(self, text: str, buffers: tuple[tuple[str, bytes], ...] = ()):
        self.json = text
        self.buffers = buffers

    def combine(self, _event) -> bool:  # Bokeh's held-event combining asks every event
        return False


def _plain(values) -> bool:
    return type(values) is list and all(
        type(v) in _PLAIN and (type(v) is not int or -_MAX_SAFE_INT < v <= _MAX_SAFE_INT)
        for v in values
    )


def _columns(source, names) -> dict | None:
    """The source's lists for ``names`` if a direct change is safe now, else None."""
    doc = source.document
    if (
        doc is None
        or not getattr(doc, _IN_FRAME, False)
        or doc.callbacks.hold_value is None
        or source._callbacks.get("data")
    ):
        return None
    data = source.data
    columns = {name: dict.get(data, name) for name in names}
    if not all(type(c) is list for c in columns.values()):
        return None
    return columns


def _raw_event(doc, text: str, buffers: tuple[tuple[str, bytes], ...] = ()) -> None:
    doc.callbacks.trigger_on_change(RawPatch(text, buffers))


def stream(source, data: dict[str, list], rollover: int | None = None) -> None:
    """``source.stream(data, rollover)``, cheaper inside a :class:`FrameWriter` frame.

    Parameters
    ----------
    source : ColumnDataSource
    data : dict of str to list
        The new points of every column, equal lengths.
    rollover : int or None
        Keep at most this many points.
    """
    columns = _columns(source, data)
    if (
        columns is None
        or len(columns) != len(source.data)  # Bokeh's stream wants every column
        or len({len(v) for v in data.values()}) != 1
        or not all(_plain(v) for v in data.values())
    ):
        source.stream(data, rollover)
        return
    try:
        entries = _JSON.encode([[k, v] for k, v in data.items()])
    except ValueError:  # NaN or infinity: Bokeh encodes them its own way
        source.stream(data, rollover)
        return
    for name, new in data.items():
        column = columns[name]
        column.extend(new)
        if rollover is not None and len(column) > rollover:
            del column[: len(column) - rollover]
    _raw_event(
        source.document,
        f'{{"kind":"ColumnsStreamed","model":{{"id":"{source.id}"}},"attr":"data",'
        f'"data":{{"type":"map","entries":{entries}}},"rollover":{_JSON.encode(rollover)}}}',
    )


def patch(source, patches: dict[str, list[tuple[int, object]]]) -> None:
    """``source.patch(patches)`` for single-index patches, cheaper inside a frame."""
    columns = _columns(source, patches)
    if columns is None or not all(
        type(i) is int and 0 <= i < len(columns[name]) and type(v) in _PLAIN
        for name, pairs in patches.items()
        for i, v in pairs
    ):
        source.patch(patches)
        return
    try:
        entries = _JSON.encode([[k, [[i, v] for i, v in pairs]] for k, pairs in patches.items()])
    except ValueError:
        source.patch(patches)
        return
    for name, pairs in patches.items():
        column = columns[name]
        for i, v in pairs:
            column[i] = v
    _raw_event(
        source.document,
        f'{{"kind":"ColumnsPatched","model":{{"id":"{source.id}"}},"attr":"data",'
        f'"patches":{{"type":"map","entries":{entries}}}}}',
    )


_msg_ids = itertools.count(1)
# Dtypes BokehJS reads straight from a binary buffer (others Bokeh converts first).
_ARRAY_DTYPES = frozenset(
    ("int8", "uint8", "int16", "uint16", "int32", "uint32", "float32", "float64")
)


def patch_array(source, name: str, index: int, array) -> None:
    """``source.patch({name: [(index, array)]})``: replace one whole array of a column (an
    image), cheaper inside a frame; the array travels as one binary buffer, as with Bokeh."""
    columns = _columns(source, (name,))
    if (
        columns is None
        or type(index) is not int
        or not 0 <= index < len(columns[name])
        or not isinstance(array, np.ndarray)
        or array.dtype.name not in _ARRAY_DTYPES
        or array.dtype.byteorder not in "=|"
        or not array.flags.c_contiguous
        or array.size == 0
    ):
        source.patch({name: [(index, array)]})
        return
    columns[name][index] = array
    buffer_id = f"f{next(_msg_ids)}"
    rep = (
        f'{{"type":"ndarray","array":{{"type":"bytes","data":{{"id":"{buffer_id}"}}}},'
        f'"shape":{_JSON.encode(list(array.shape))},"dtype":"{array.dtype.name}",'
        f'"order":"{sys.byteorder}"}}'
    )
    _raw_event(
        source.document,
        f'{{"kind":"ColumnsPatched","model":{{"id":"{source.id}"}},"attr":"data",'
        f'"patches":{{"type":"map","entries":[[{_JSON.encode(name)},[[{index},{rep}]]]]}}}}',
        ((buffer_id, array.tobytes()),),
    )


def _buffer_frames(buffers) -> list[bytes]:
    out = []
    for buffer_id, data in buffers:
        out.append(_ws_frame(0x1, json.dumps({"id": buffer_id}).encode()))
        out.append(_ws_frame(0x2, data))
    return out


def _frame_bytes(patches) -> bytes:
    """One PATCH-DOC message for Bokeh's events and our already-encoded ones, in order, as
    the websocket frames to send."""
    bokeh_events = [e for e in patches if not isinstance(e, RawPatch)]
    if len(bokeh_events) == len(patches):
        return message_bytes(_patch_doc.patch_doc.create(patches))
    raw_buffers = [b for e in patches if isinstance(e, RawPatch) for b in e.buffers]
    if bokeh_events:
        msg = _patch_doc.patch_doc.create(bokeh_events)
        if raw_buffers:
            msg.add_buffers(*(Buffer(buffer_id, data) for buffer_id, data in raw_buffers))
        encoded = iter(msg.content["events"])  # Bokeh's encoding, buffers as references
        parts = [
            e.json if isinstance(e, RawPatch) else _PAYLOAD.encode(next(encoded)) for e in patches
        ]
        msg._content_json = '{"events":[' + ",".join(parts) + "]}"
        return message_bytes(msg)
    # Only our events: no Bokeh message object at all (its header's id comes from Bokeh's
    # settings lookups, a tenth of a millisecond).  The id only has to be unique per
    # connection; the "f" prefix keeps it apart from Bokeh's own.
    counts = f',"num_buffers":{len(raw_buffers)}' if raw_buffers else ""
    header = f'{{"msgid":"f{next(_msg_ids)}","msgtype":"PATCH-DOC"{counts}}}'
    content = '{"events":[' + ",".join(e.json for e in patches) + "]}"
    return b"".join(
        (
            _ws_frame(0x1, header.encode()),
            _EMPTY_METADATA,
            _ws_frame(0x1, content.encode()),
            *_buffer_frames(raw_buffers),
        )
    )


def _write(ws, data: bytes) -> None:
    """Send ``data`` on a websocket: straight to the socket when its stream has nothing
    queued, and through Tornado whatever the socket does not take, everything when an
    earlier write is still queued (to keep the order) and everything over TLS (which keeps
    its own state).  Tornado's own write costs a future and several calls per frame."""
    stream = ws.stream
    sent = 0
    if not stream.writing() and not isinstance(stream, SSLIOStream):
        try:
            sent = stream.socket.send(data)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:  # the tab has gone; the animator notices on its next tick
            return
    if sent < len(data):
        stream.write(data[sent:] if sent else data).add_done_callback(_swallow)


class FrameWriter:
    """Hold one server session's document for a frame, then send its changes directly.

    ``status()`` says whether a frame can go out now: ``"go"``; ``"busy"`` when something
    else is writing to the document or its websockets (a callback awaiting, a message
    half-sent, a slow client still draining the last frame) so this tick should be skipped;
    ``"never"`` when this path does not apply (no server session, compression, threads,
    unchecked versions), so the caller should use Panel's own path.
    """

    def __init__(self, doc):
        self.doc = doc
        ctx = getattr(doc, "session_context", None)
        self._session = getattr(ctx, "session", None) if ctx is not None else None

    def status(self) -> str:
        session = self._session
        if (
            session is None
            or not _installed
            or not tornado.version.startswith(CHECKED_TORNADO)
            or _pn_state._thread_pool is not None
        ):
            return "never"
        doc = self.doc
        if (
            doc.callbacks.hold_value is not None
            or not _free(session._lock)
            or doc in _panel_document._WRITE_MSGS
            or doc in _panel_document._WRITE_BLOCK
        ):
            return "busy"
        for conn in session._subscribed_connections:
            handler = conn._socket
            ws = getattr(handler, "ws_connection", None)
            if ws is None or ws.is_closing():
                return "busy"
            if ws._compressor is not None or ws.mask_outgoing:
                return "never"
            if not _free(handler.write_lock) or ws.stream.writing():
                return "busy"
        return "go"

    @contextmanager
    def frame(self) -> Iterator[None]:
        """Collect the document's changes in the body and send them when it ends (even on
        an error, so the browser sees what did change)."""
        doc = self.doc
        callbacks = doc.callbacks
        callbacks.hold("combine")
        setattr(doc, _IN_FRAME, True)
        try:
            yield
        finally:
            setattr(doc, _IN_FRAME, False)
            events = list(callbacks._held_events)
            callbacks._held_events = []
            callbacks._hold = None
            self._send(events)

    def _send(self, events) -> None:
        _monkeypatch_events(events)
        wire = (DocumentPatchedEvent, RawPatch)
        patches = [e for e in events if isinstance(e, wire)]
        others = [e for e in events if not isinstance(e, wire)]
        if patches:
            data = _frame_bytes(patches)
            for conn in self._session._subscribed_connections:
                ws = conn._socket.ws_connection
                if ws is not None and not ws.is_closing():
                    _write(ws, data)
        for event in others:  # not for the wire (callbacks added, messages): Bokeh's way
            self.doc.callbacks.trigger_on_change(event)
