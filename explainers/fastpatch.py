"""Cheaper Bokeh ``PATCH-DOC`` messages: reuse each document's reference map between frames.

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
import logging

import bokeh
from bokeh.core.serialization import Serializer

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
