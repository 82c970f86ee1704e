"""Cheaper Bokeh ``PATCH-DOC`` messages for animation frames.

Two savings, both measured with ``bench.app`` and both sending exactly what Bokeh would:

1. Reuse each document's reference map between frames (:func:`install`).
2. Send a frame's changes straight to the session's websockets in one socket write
   (:class:`FrameWriter`), instead of through Panel's hold/unlock machinery, Bokeh's
   document lock and one Tornado future per websocket frame.

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

import importlib
import json
import logging
import struct
from collections.abc import Iterator
from contextlib import contextmanager

import bokeh
import tornado
from bokeh.core.serialization import Serializer
from bokeh.document.events import DocumentPatchedEvent
from panel.io.state import state as _pn_state

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


def _swallow(future) -> None:
    future.exception()  # a write to a closed tab fails; the animator notices on its next tick


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
        try:
            yield
        finally:
            events = list(callbacks._held_events)
            callbacks._held_events = []
            callbacks._hold = None
            self._send(events)

    def _send(self, events) -> None:
        _monkeypatch_events(events)
        patches = [e for e in events if isinstance(e, DocumentPatchedEvent)]
        others = [e for e in events if not isinstance(e, DocumentPatchedEvent)]
        if patches:
            msg = _patch_doc.patch_doc.create(patches)
            data = message_bytes(msg)
            for conn in self._session._subscribed_connections:
                ws = conn._socket.ws_connection
                if ws is not None and not ws.is_closing():
                    ws.stream.write(data).add_done_callback(_swallow)
        for event in others:  # not for the wire (callbacks added, messages): Bokeh's way
            self.doc.callbacks.trigger_on_change(event)
