"""explainers.fastpatch: the cached reference map gives byte-identical PATCH-DOC messages."""

from __future__ import annotations

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.models import ColumnDataSource, Span
from bokeh.plotting import figure
from bokeh.protocol import Protocol

from explainers import fastpatch

PROTOCOL = Protocol()


@pytest.fixture
def doc():
    fastpatch.uninstall()
    d = Document()
    src = ColumnDataSource({"x": [0.0, 1.0], "y": [1.0, 2.0]}, name="line")
    img = ColumnDataSource({"image": [np.zeros((4, 4))]}, name="image")
    fig = figure(width=200, height=200)
    fig.line("x", "y", source=src)
    fig.image("image", x=0, y=0, dw=1, dh=1, source=img)
    d.add_root(fig)
    d.to_json()  # as when the page is sent: every model is now known to the browser
    events = []
    d.on_change(events.append)
    yield d, fig, src, img, events
    fastpatch.uninstall()


def _content(events) -> tuple[str, list[bytes]]:
    """The message's content and buffers; buffer ids (a global counter) renamed b0, b1..."""
    msg = PROTOCOL.create("PATCH-DOC", events)
    text = msg.content_json
    for k, buffer in enumerate(msg.buffers):
        text = text.replace(f'"id":"{buffer.id}"', f'"id":"b{k}"')
    return text, [b.to_bytes() for b in msg.buffers]


def _both(events) -> tuple:
    fastpatch.install()
    fast = _content(events)
    fastpatch.uninstall()
    return fast, _content(events)


def test_frames_give_the_same_messages_as_bokeh(doc):
    d, fig, src, img, events = doc
    src.stream({"x": [2.0], "y": [0.5]}, rollover=10)
    src.patch({"y": [(0, 9.0)]})
    img.data = {"image": [np.arange(16.0).reshape(4, 4)]}  # a binary buffer
    fig.title.text = "changed"
    assert len(events) == 4
    fast, original = _both(events)
    assert fast == original
    assert '"id"' in fast[0] and len(fast[1]) == 1


def test_the_map_follows_new_models(doc):
    d, fig, src, img, events = doc
    fastpatch.install()
    assert fastpatch.synced_refs(d) is not None
    span = Span(location=0.5, dimension="height")
    fig.add_layout(span)  # a new model: not yet known to the browser
    assert fastpatch.synced_refs(d) is None  # so Bokeh's own path runs
    first = PROTOCOL.create("PATCH-DOC", events)
    assert '"type":"object","name":"Span"' in first.content_json.replace(" ", "")
    refs = fastpatch.synced_refs(d)  # after that message the span is known
    assert refs is not None and id(span) in refs
    events.clear()
    span.location = 0.75
    fast, original = _both(events)
    assert fast == original
    assert "Span" not in fast[0]  # sent as a reference, not redefined


def test_install_is_idempotent_and_reversible():
    original = PROTOCOL._messages["PATCH-DOC"].create
    assert fastpatch.install() and fastpatch.install()
    assert PROTOCOL._messages["PATCH-DOC"].create.__func__ is fastpatch._create
    fastpatch.uninstall()
    assert PROTOCOL._messages["PATCH-DOC"].create.__func__ is original.__func__


def test_the_cache_dies_with_its_document():
    """A closed session's document must be freed: the cache may not keep it alive."""
    import gc
    import weakref

    fastpatch.install()
    try:
        d = Document()
        src = ColumnDataSource({"x": [0.0]})
        fig = figure(width=100, height=100)
        fig.scatter("x", "x", source=src)
        d.add_root(fig)
        d.to_json()
        assert fastpatch.synced_refs(d) is not None  # the cache now holds the models
        alive = weakref.ref(d)
        del d, src, fig
        gc.collect()
        assert alive() is None
    finally:
        fastpatch.uninstall()
