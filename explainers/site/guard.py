"""The websocket is an input too: accept from a browser only what a reader can do.

Bokeh applies any ``PATCH-DOC`` a client sends to any property of any model of its
session, and adds any model the client describes.  This module puts a gate in front of that,
using only public names:

* :class:`GuardedWSHandler` subclasses Panel's websocket handler and overrides two public
  Tornado methods.  ``open`` checks the session token's size and signature before Bokeh
  looks inside it (Bokeh inflates the token's zlib payload, so an unsigned 40 KB token could
  hold 50 MiB).  ``on_message`` holds a message's frames until the message is whole
  (Bokeh's wire format: header, metadata, content, two frames per binary buffer), reads it,
  and only then hands the frames (possibly with a cleaned content) to Bokeh, or drops them.
  Bokeh's own receiver never sees a refused message, so nothing of it is applied and no
  callback runs.
* :func:`install` puts the handler into Bokeh's public, documented per-application route
  table (``bokeh.server.urls.per_app_patterns``), the same table Panel itself fills; routes
  passed as ``extra_patterns`` come after the application's own ``/ws`` route, so they
  cannot replace it (see docs/upstream.md).

What a reader can do is written down once, in :data:`CHANGES` (the properties each kind of
control lets a reader change, with a check against the server's own model) and
:data:`EVENTS` (the events a page sends).  Everything else is refused: changes of other
properties or of models that are not controls, structural events (``RootAdded``,
``RootRemoved``, data-source streams and patches, new model references), ``PUSH-DOC``, a
second ``PULL-DOC-REQ``, and messages with more events than a page sends at once.

Costs stay with the session: each connection has a budget of messages and bytes per second.
Over it, changes are not queued: the latest value of each property and one click per button
are kept and delivered when the budget allows (the last one wins).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import param
from bokeh.util.token import check_token_signature, generate_secret_key

from .. import meter, pool
from ..section import MAX_RAW_LENGTH, coerce
from . import admission
from .logs import Summary

log = logging.getLogger("explainers.site.guard")

#: Bokeh's tokens here carry the request's headers, cookies and link arguments, compressed;
#: a page with a long link makes one of a few KB.
MAX_TOKEN_CHARS = 16 * 1024
#: A browser tab's largest message is its first (the URL and browser facts at load).
MAX_EVENTS = 48
#: Longest text a text box may send (the longest legitimate value is far shorter).
MAX_TEXT = 1000
#: Per connection: sustained messages per second and the burst allowed above it.
MESSAGE_RATE, MESSAGE_BURST = 30.0, 60.0
#: Per connection: sustained bytes per second and the burst allowed above it.
BYTE_RATE, BYTE_BURST = 64 * 1024.0, 256 * 1024.0
#: Per connection: button clicks per second (each may start real work) and their burst; a
#: hand clicks a few times a second at most.
CLICK_RATE, CLICK_BURST = 3.0, 6.0
#: Beyond this many times its budget, a connection's messages are skipped unread.
ABUSE_FACTOR = 10.0
#: Shortest gap between two "too fast" notices on one page.
NOTICE_GAP_S = 5.0

SLOW_NOTICE = "Changes are arriving faster than this page can follow; keeping the latest."
CPU_NOTICE = "This page has used its share of the server for now; your click runs shortly."

#: A message header is a few dozen characters; a page never sends binary buffers.
MAX_HEADER_CHARS = 1024
MAX_BUFFERS = 16

MIN_SECRET_CHARS = 32
SECRET_VARS = ("EXPLAINER_SECRET_KEY", "BOKEH_SECRET_KEY")

STRUCTURAL = {
    "RootAdded",
    "RootRemoved",
    "TitleChanged",
    "ColumnDataChanged",
    "ColumnsStreamed",
    "ColumnsPatched",
}

refusals = Summary(log, "refused from a browser")


# -- the session secret ----------------------------------------------------------------


def session_secret(env: Mapping[str, str]) -> tuple[str, bool]:
    """The key that signs session ids, and whether it was generated here.

    Read from ``EXPLAINER_SECRET_KEY`` (or Bokeh's own ``BOKEH_SECRET_KEY``); one of at
    least 32 characters is used as given.  Without one (or with a short one, reported in one
    line), a fresh random key is generated: fine for one process (forked workers inherit
    it), but every process and machine behind one address must share one key.
    """
    for name in SECRET_VARS:
        raw = (env.get(name) or "").strip()
        if not raw:
            continue
        if len(raw) >= MIN_SECRET_CHARS:
            return raw, False
        log.warning(
            "%s is shorter than %d characters; generating a random key instead.",
            name,
            MIN_SECRET_CHARS,
        )
        break
    return generate_secret_key(), True


def signing_kwargs(secret: str) -> dict[str, Any]:
    """Keyword arguments for ``pn.serve`` that make Bokeh sign and check session ids."""
    return {"sign_sessions": True, "secret_key": secret.encode("utf-8")}


def token_acceptable(token: str | None, secret: bytes | None) -> bool:
    """True when ``token`` is short enough and signed with ``secret``.

    Checked before Bokeh reads the token's payload, so a forged or inflated token costs
    nothing but this comparison.
    """
    if not token or len(token) > MAX_TOKEN_CHARS:
        return False
    try:
        return bool(check_token_signature(token, secret_key=secret, signed=True))
    except Exception:  # not base64 / not JSON: a forgery
        return False


# -- what a reader can change ----------------------------------------------------------

Verdict = tuple[bool, Any, str | None]  # (accepted, value to apply, message for the reader)


def _number_param(model, lo_attr: str, hi_attr: str, integer: bool) -> param.Parameter:
    lo, hi = getattr(model, lo_attr, None), getattr(model, hi_attr, None)
    name = getattr(model, "title", None) or getattr(model, "name", None) or "value"
    kind = param.Integer if integer else param.Number
    return kind(default=None, allow_None=True, bounds=(lo, hi), label=name)


def _is_plain_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _check_number(model, new, lo_attr: str, hi_attr: str) -> Verdict:
    step = getattr(model, "step", None)
    integer = isinstance(getattr(model, lo_attr, None), int) and isinstance(step, int | None)
    p = _number_param(model, lo_attr, hi_attr, integer)
    p.name = p.label
    if not (_is_plain_number(new) or isinstance(new, str)):
        return False, None, f"“{p.name}” must be a number; ignored."
    value, msg, ok = coerce(p, new)
    return ok, value, msg


def _check_slider(model, new) -> Verdict:
    if isinstance(new, list):  # a range slider: two numbers inside the bounds
        if len(new) != 2:
            return False, None, "A range needs two ends; ignored."
        out = []
        for end in new:
            ok, value, msg = _check_number(model, end, "start", "end")
            if not ok:
                return ok, value, msg
            out.append(value)
        return True, sorted(out), None
    return _check_number(model, new, "start", "end")


def _check_spinner(model, new) -> Verdict:
    return _check_number(model, new, "low", "high")


def _check_bool(model, new) -> Verdict:
    return isinstance(new, bool), new, None


def _check_index(model, new) -> Verdict:
    labels = getattr(model, "labels", None) or getattr(model, "tabs", None) or []
    ok = isinstance(new, int) and not isinstance(new, bool) and 0 <= new < len(labels)
    return ok, new, None


def _check_indices(model, new) -> Verdict:
    labels = getattr(model, "labels", None) or []
    ok = (
        isinstance(new, list)
        and len(new) <= len(labels)
        and all(isinstance(i, int) and not isinstance(i, bool) for i in new)
        and all(0 <= i < len(labels) for i in new)
        and len(set(new)) == len(new)
    )
    return ok, new, None


def _check_choice(model, new) -> Verdict:
    options = getattr(model, "options", None) or []
    values = [o[0] if isinstance(o, list | tuple) else o for o in options]
    if isinstance(options, dict):  # grouped options
        values = [v[0] if isinstance(v, list | tuple) else v for g in options.values() for v in g]
    return isinstance(new, str) and new in values, new, None


def _check_text(model, new) -> Verdict:
    limit = min(getattr(model, "max_length", None) or MAX_TEXT, MAX_TEXT)
    if not isinstance(new, str):
        return False, None, None
    if len(new) > limit:
        return False, None, f"That text was too long ({len(new)} characters); ignored."
    return True, new, None


def _check_short_text(model, new) -> Verdict:
    return isinstance(new, str) and len(new) <= 4 * MAX_TEXT, new, None


def _check_size(model, new) -> Verdict:
    return _is_plain_number(new) and 0 <= new <= 100_000, new, None


def _check_finite(model, new) -> Verdict:
    return _is_plain_number(new) and math.isfinite(new) and abs(new) < 1e15, new, None


def _check_scalar(model, new) -> Verdict:
    ok = new is None or isinstance(new, bool | str) and len(str(new)) <= 200
    return ok or (_is_plain_number(new) and math.isfinite(new)), new, None


def _check_indices_any(model, new) -> Verdict:
    ok = (
        isinstance(new, list)
        and len(new) <= 4096
        and all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 1 << 31 for i in new)
    )
    return ok, new, None


_SLIDERS = ("Slider", "IntSlider", "FloatSlider", "RangeSlider", "DiscreteSlider")
_TEXTS = ("TextInput", "TextAreaInput", "AutocompleteInput", "PasswordInput")
_LOCATION_ATTRS = ("href", "hostname", "pathname", "protocol", "port", "search", "hash")

#: Bokeh/Panel model type name -> {property: check(model, new) -> Verdict}.
CHANGES: dict[str, dict[str, Callable[[Any, Any], Verdict]]] = {
    **{k: {"value": _check_slider, "value_throttled": _check_slider} for k in _SLIDERS},
    "Spinner": {"value": _check_spinner, "value_throttled": _check_spinner},
    "NumericInput": {"value": _check_spinner},
    "Toggle": {"active": _check_bool},
    "Checkbox": {"active": _check_bool},
    "Switch": {"active": _check_bool},
    "RadioButtonGroup": {"active": _check_index},
    "RadioGroup": {"active": _check_index},
    "CheckboxButtonGroup": {"active": _check_indices},
    "CheckboxGroup": {"active": _check_indices},
    "Tabs": {"active": _check_index},
    "Select": {"value": _check_choice},
    "CustomSelect": {"value": _check_choice},  # Panel's Select
    **{k: {"value": _check_text, "value_input": _check_text} for k in _TEXTS},
    "Card": {"collapsed": _check_bool},
    "Tooltip": {"visible": _check_bool},  # a help icon's tip, shown on hover
    "Location": {a: _check_short_text for a in _LOCATION_ATTRS},
    "BrowserInfo": {
        a: _check_scalar
        for a in (
            "dark_mode",
            "device_pixel_ratio",
            "language",
            "timezone",
            "timezone_offset",
            "webgl",
            "webdriver",
        )
    },
    # Set by BokehJS itself once a plot is laid out.
    **{
        k: {a: _check_size for a in ("inner_width", "inner_height", "outer_width", "outer_height")}
        for k in ("Plot", "Figure", "figure", "GMap", "GMapPlot")
    },
    # The data models of this app's own components and of Panel's toasts.
    "FramePlayer": {"hidden": _check_bool},
    "SectionPlaceholder": {"wanted": _check_bool},
    "Notification": {"_destroyed": _check_bool, "_rendered": _check_bool},
    "DataRange1d": {"start": _check_finite, "end": _check_finite},
    "Range1d": {"start": _check_finite, "end": _check_finite},
    "Selection": {"indices": _check_indices_any},
}

#: Events a page sends: event name -> the model type names it may come from (None: no model).
EVENTS: dict[str, tuple[str, ...] | None] = {
    "document_ready": None,
    "button_click": ("Button", "Toggle", "Dropdown"),
    "menu_item_click": ("Dropdown",),
    "value_submit": _TEXTS,
    "tap": ("Plot", "Figure", "figure"),
    "doubletap": ("Plot", "Figure", "figure"),
    "press": ("Plot", "Figure", "figure"),
    "selectiongeometry": ("Plot", "Figure", "figure"),
}


def _kind(model) -> str:
    # Panel names the data model of a custom component after it, with a number.
    return type(model).__name__.rstrip("0123456789")


def _is_ref(x) -> bool:
    return isinstance(x, dict) and set(x) == {"id"} and isinstance(x["id"], str)


def _has_object(x, depth: int = 0) -> bool:
    """True when ``x`` describes a model (a new reference) or nests too deep."""
    if depth > 6:
        return True
    if isinstance(x, dict):
        if x.get("type") == "object" or "attributes" in x:
            return True
        return any(_has_object(v, depth + 1) for v in x.values())
    if isinstance(x, list):
        return any(_has_object(v, depth + 1) for v in x)
    return False


class Refused(Exception):
    """A message that is dropped whole; ``kind`` is a short label for the log."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def check_events(doc, events: list) -> tuple[list, list[str]]:
    """Keep the events of one ``PATCH-DOC`` a reader could have caused.

    Parameters
    ----------
    doc : bokeh.document.Document
        The session's document (the server's own bounds and models).
    events : list of dict
        The message's events, as JSON.

    Returns
    -------
    kept : list of dict
        The events to apply, with values cleaned (numbers clamped into bounds).
    messages : list of str
        What the reader should be told (the same wording a link gets).

    Raises
    ------
    Refused
        When the message must be dropped whole (structural events, too many events).
    """
    if not isinstance(events, list) or not events:
        raise Refused("malformed patch")
    if len(events) > MAX_EVENTS:
        raise Refused("too many events")
    kept, messages = [], []
    for ev in events:
        if not isinstance(ev, dict):
            raise Refused("malformed event")
        kind = ev.get("kind")
        if kind in STRUCTURAL:
            raise Refused(f"structural event {kind}")
        if kind == "ModelChanged":
            out = _check_change(doc, ev, messages)
        elif kind == "MessageSent":
            out = _check_event(doc, ev)
        else:
            raise Refused(f"event kind {str(kind)[:24]}")
        if out is not None:
            kept.append(out)
    return kept, messages


def _check_change(doc, ev: dict, messages: list[str]) -> dict | None:
    ref, attr, new = ev.get("model"), ev.get("attr"), ev.get("new")
    if not _is_ref(ref) or not isinstance(attr, str):
        raise Refused("malformed change")
    if _has_object(new):
        raise Refused("new model reference")
    model = doc.get_model_by_id(ref["id"])
    if model is None:
        refusals.note("unknown model")
        return None
    check = CHANGES.get(_kind(model), {}).get(attr)
    if check is None:
        refusals.note(f"{_kind(model)}.{attr[:32]}")
        return None
    try:
        ok, value, msg = check(model, new)
    except Exception:  # a check must never let a traceback out
        ok, value, msg = False, None, None
    if msg:
        messages.append(msg)
    if not ok:
        refusals.note(f"bad {_kind(model)}.{attr}")
        return None
    return {**ev, "new": value}


def _check_event(doc, ev: dict) -> dict | None:
    data = ev.get("msg_data")
    if ev.get("msg_type") != "bokeh_event" or not isinstance(data, dict):
        raise Refused("message kind")
    name = data.get("name")
    allowed = EVENTS.get(name, ())
    if name not in EVENTS:
        refusals.note(f"event {str(name)[:32]}")
        return None
    values = data.get("values")
    if _has_object(values):
        raise Refused("new model reference")
    entries = values.get("entries", []) if isinstance(values, dict) else []
    ref = next((v for k, v in entries if k == "model"), None) if _entries_ok(entries) else 0
    if ref == 0:
        raise Refused("malformed event values")
    if allowed is None:
        return ev
    model = doc.get_model_by_id(ref["id"]) if _is_ref(ref) else None
    if model is None or _kind(model) not in allowed:
        refusals.note(f"event {name} on {_kind(model) if model is not None else 'nothing'}")
        return None
    return ev


def _entries_ok(entries) -> bool:
    return (
        isinstance(entries, list)
        and len(entries) <= 16
        and all(isinstance(e, list) and len(e) == 2 and isinstance(e[0], str) for e in entries)
    )


# -- budgets ---------------------------------------------------------------------------


class Bucket:
    """A token bucket: ``rate`` per second, holding at most ``burst``."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.level, self.stamp = burst, clock()

    def _refill(self) -> None:
        now = self.clock()
        self.level = min(self.burst, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, amount: float) -> bool:
        self._refill()
        if self.level >= amount:
            self.level -= amount
            return True
        return False

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` can be taken."""
        self._refill()
        return max(0.0, (amount - self.level) / self.rate)


# -- the handler -----------------------------------------------------------------------


def _handler_base():
    from panel.io.server import WSHandler

    return WSHandler


def _make_handler():
    base = _handler_base()

    class GuardedWSHandler(base):
        """Panel's websocket handler, with a gate in front of every message."""

        def open(self, *args, **kwargs):
            address = self.request.remote_ip or ""
            if not admission.SOCKETS.admit(address):
                admission.refusals.note("websocket opens over the per-address limit")
                self.close(1013, admission.SOCKET_REFUSED)
                return None
            self.explainer_address = address  # counted as open until on_close
            token = _offered_token(self.request.headers.get("Sec-WebSocket-Protocol", ""))
            if not token_acceptable(token, self.application.secret_key):
                refusals.note("bad session token")
                self.close(1008, "invalid session token")
                return None
            return super().open(*args, **kwargs)

        async def on_message(self, fragment):
            gate = getattr(self, "explainer_gate", None)
            if gate is None:
                gate = self.explainer_gate = Gate(self)
            await gate.feed(fragment)

        def on_close(self):
            gate = getattr(self, "explainer_gate", None)
            if gate is not None:
                gate.closed = True  # held changes have no one left to reach
            address = getattr(self, "explainer_address", None)
            if address is not None:
                self.explainer_address = None
                admission.SOCKETS.release(address)
            super().on_close()

        async def pass_on(self, fragments: list) -> None:
            base_on_message = super().on_message
            for fragment in fragments:
                await base_on_message(fragment)

    return GuardedWSHandler


def _offered_token(header: str) -> str | None:
    parts = [p.strip() for p in header.split(",")]
    return parts[1] if len(parts) == 2 and parts[0] == "bokeh" else None


class Gate:
    """One connection's gate: assembles, checks, budgets and passes on messages."""

    def __init__(self, handler):
        self.handler = handler
        self.header: dict | None = None  # the message being read (None: expecting a header)
        self.need = 0  # frames still to come for it
        self.dropping = False  # whether it is skipped unread
        self.fragments: list = []
        self.size = 0
        self.pulled = False
        self.closed = False
        self.messages = Bucket(MESSAGE_RATE, MESSAGE_BURST)
        self.bytes = Bucket(BYTE_RATE, BYTE_BURST)
        self.clicks = Bucket(CLICK_RATE, CLICK_BURST)
        self.abuse = Bucket(ABUSE_FACTOR * MESSAGE_RATE, ABUSE_FACTOR * MESSAGE_BURST)
        self.abuse_bytes = Bucket(ABUSE_FACTOR * BYTE_RATE, ABUSE_FACTOR * BYTE_BURST)
        self.pending: dict[tuple, dict] = {}  # latest event per (model, attr) or (event, model)
        self.flush_at: float | None = None
        self.last_notice = -math.inf
        self.ids = 0

    async def feed(self, fragment) -> None:
        """Take one websocket frame; act once a message (header, metadata, content and two
        frames per buffer) is whole.  Beyond :data:`ABUSE_FACTOR` times the budget, whole
        messages are skipped unread: a flood costs its sender, not the server's CPU."""
        if self.closed:
            return
        if self.header is None:
            self.start_message(fragment)
            return
        self.need -= 1
        if not self.dropping:
            self.fragments.append(fragment)
            self.size += len(fragment)
            if not self.abuse_bytes.take(len(fragment)):
                self.dropping, self.fragments = True, []
        if self.need > 0:
            return
        header, fragments, size, dropping = self.header, self.fragments, self.size, self.dropping
        self.header, self.fragments, self.size, self.dropping = None, [], 0, False
        if dropping:
            refusals.note("far over budget (skipped unread)")
            return
        try:
            await self.judge(header, fragments, size)
        except Refused as r:
            refusals.note(r.kind)

    def start_message(self, fragment) -> None:
        try:
            if not isinstance(fragment, str) or len(fragment) > MAX_HEADER_CHARS:
                raise ValueError("not a header")
            header = json.loads(fragment)
            buffers = int(header.get("num_buffers", 0) or 0)
            if not isinstance(header.get("msgtype"), str) or not 0 <= buffers <= MAX_BUFFERS:
                raise ValueError("not a header")
        except (ValueError, TypeError, AttributeError):
            refusals.note("malformed frames")
            self.closed = True
            self.handler.close(1003, "malformed message")
            return
        self.header, self.need = header, 2 + 2 * buffers
        self.fragments, self.size = [fragment], len(fragment)
        self.dropping = not self.abuse.take(1)

    async def judge(self, header: dict, fragments: list, size: int) -> None:
        msgtype = header["msgtype"]
        if header.get("num_buffers"):
            raise Refused("binary buffers")
        if msgtype == "PULL-DOC-REQ":
            if self.pulled:
                raise Refused("repeated PULL-DOC-REQ")
            self.pulled = True
            await self.forward(fragments)
            return
        if msgtype == "SERVER-INFO-REQ":
            if not self.messages.take(1):
                raise Refused("over budget")
            await self.forward(fragments)
            return
        if msgtype != "PATCH-DOC":
            raise Refused(f"message {str(msgtype)[:24]}")
        doc = self.document()
        if doc is None:
            raise Refused("patch before the session opened")
        content = _content(fragments[2])
        kept, notes = check_events(doc, content.get("events"))
        if notes:
            self.tell(doc, notes)
        if not kept:
            return
        if not self.pending and self.affordable(1, size, _clicks(kept)):
            if len(kept) == len(content["events"]) and not notes:
                await self.forward(fragments)
            else:
                await self.send_events(kept)
            return
        for ev in kept:  # over budget: keep the latest of each, deliver later
            self.pending[_event_key(ev)] = ev
        refusals.note("over budget (coalesced)")
        self.tell(doc, [CPU_NOTICE if _clicks(kept) and self.cpu_wait() else SLOW_NOTICE])
        self.schedule_flush(size)

    def document(self):
        connection = getattr(self.handler, "connection", None)
        return connection.session.document if connection is not None else None

    async def send_events(self, events: list) -> None:
        self.ids += 1
        header = json.dumps({"msgid": f"guard-{self.ids}", "msgtype": "PATCH-DOC"})
        content = json.dumps({"events": events}, allow_nan=False)
        await self.forward([header, "{}", content])

    async def forward(self, fragments: list) -> None:
        """Hand a message to Bokeh, charging the event loop's CPU time for applying it to
        the session's budget in the pool (Panel's processing of it comes later, and is
        charged too: see :mod:`explainers.meter`)."""
        with meter.span(self.document()):
            await self.handler.pass_on(fragments)

    def cpu_wait(self) -> float:
        """Seconds until this session's CPU budget allows new work (0: it does now)."""
        doc = self.document()
        return 0.0 if doc is None else pool.POOL.cpu_wait(doc)

    def affordable(self, messages: int, size: int, clicks: int) -> bool:
        """Take from every budget at once, or from none.  A click (it may start real work)
        also waits while the session is over its CPU budget."""
        ok = (
            (clicks == 0 or self.cpu_wait() == 0)
            and self.messages.wait_for(messages) == 0
            and self.bytes.wait_for(size) == 0
            and self.clicks.wait_for(clicks) == 0
        )
        if ok:
            self.messages.take(messages)
            self.bytes.take(size)
            self.clicks.take(clicks)
        return ok

    def schedule_flush(self, size: int) -> None:
        if self.flush_at is not None:
            return
        delay = max(
            self.messages.wait_for(1),
            self.bytes.wait_for(min(size, BYTE_BURST)),
            self.clicks.wait_for(min(_clicks(list(self.pending.values())), CLICK_BURST)),
            self.cpu_wait() if _clicks(list(self.pending.values())) else 0.0,
        )
        self.flush_at = time.monotonic() + delay
        self.handler.application.io_loop.call_later(delay, self._flush)

    async def _flush(self) -> None:
        self.flush_at = None
        if not self.pending or self.closed:
            self.pending.clear()
            return
        events = list(self.pending.values())
        size = len(json.dumps(events))
        if not self.affordable(1, min(size, BYTE_BURST), _clicks(events)):
            self.schedule_flush(size)
            return
        self.pending.clear()
        await self.send_events(events)

    def tell(self, doc, notes: list[str]) -> None:
        """Show ``notes`` on the sender's page, at most once per :data:`NOTICE_GAP_S` (each
        toast is a model added to the page: a flood of them would cost the server)."""
        from ..animation import notify

        now = time.monotonic()
        if now - self.last_notice < NOTICE_GAP_S:
            return
        self.last_notice = now
        text = notes[0] if len(notes) == 1 else " ".join(notes[:3])
        doc.add_next_tick_callback(lambda: notify(text))

    def tell_slow(self, doc) -> None:
        self.tell(doc, [SLOW_NOTICE])


def _clicks(events: list) -> int:
    return sum(1 for ev in events if ev.get("kind") == "MessageSent")


def _content(fragment) -> dict:
    if not isinstance(fragment, str):
        raise Refused("binary content")
    try:
        content = json.loads(fragment)
    except ValueError:
        raise Refused("content is not JSON") from None
    if not isinstance(content, dict):
        raise Refused("content is not a map")
    return content


def _event_key(ev: dict) -> tuple:
    if ev.get("kind") == "ModelChanged":
        return ("change", ev["model"]["id"], ev["attr"])
    data = ev["msg_data"]
    entries = data.get("values", {}).get("entries", [])
    ref = next((v for k, v in entries if k == "model"), None)
    return ("event", data.get("name"), ref["id"] if _is_ref(ref) else None)


_installed: list = []


def install() -> type:
    """Serve every application's ``/ws`` with :class:`GuardedWSHandler` (idempotent).

    Must run before the server is built (``pn.serve`` reads the route table then).
    """
    from bokeh.server.urls import per_app_patterns

    if not _installed:
        _installed.append(_make_handler())
    handler = _installed[0]
    for i, route in enumerate(per_app_patterns):
        if route[0] == r"/ws" and route[1] is not handler:
            per_app_patterns[i] = (route[0], handler, *route[2:])
    return handler


__all__ = [
    "CHANGES",
    "EVENTS",
    "MAX_EVENTS",
    "MAX_RAW_LENGTH",
    "Bucket",
    "Refused",
    "check_events",
    "install",
    "session_secret",
    "signing_kwargs",
    "token_acceptable",
]
