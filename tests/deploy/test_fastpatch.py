"""explainers.fastpatch: the cached reference map gives byte-identical PATCH-DOC messages,
and the FrameWriter sends a frame as exactly those websocket frames, in one write, only when
nothing else is using the document or its socket."""

from __future__ import annotations

import asyncio
import json
import struct
from concurrent.futures import Future
from types import SimpleNamespace

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.models import ColumnDataSource, Span
from bokeh.plotting import figure
from bokeh.protocol import Protocol
from tornado.iostream import IOStream
from tornado.locks import Lock

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


# -- FrameWriter: one socket write per frame ---------------------------------------------------
def _read_frames(data: bytes) -> list[tuple[int, bytes]]:
    """Split server-to-client websocket frames (RFC 6455: final, unmasked)."""
    frames, i = [], 0
    while i < len(data):
        b0, b1 = data[i], data[i + 1]
        assert b0 & 0x80 and not b1 & 0x80, "final and unmasked"
        n, i = b1 & 0x7F, i + 2
        if n == 126:
            n, i = struct.unpack("!H", data[i : i + 2])[0], i + 2
        elif n == 127:
            n, i = struct.unpack("!Q", data[i : i + 8])[0], i + 8
        frames.append((b0 & 0x0F, data[i : i + n]))
        i += n
    return frames


def test_message_bytes_are_the_frames_bokeh_sends(doc):
    d, fig, src, img, events = doc
    src.stream({"x": [2.0], "y": [0.5]})
    img.data = {"image": [np.arange(70_000.0).reshape(350, 200)]}  # a 560 kB buffer
    fig.title.text = "x" * 200  # a text frame over 125 bytes
    msg = PROTOCOL.create("PATCH-DOC", events)
    frames = _read_frames(fastpatch.message_bytes(msg))
    expected = [(1, msg.header_json.encode()), (1, msg.metadata_json.encode())]
    expected.append((1, msg.content_json.encode()))
    for buffer in msg.buffers:
        expected += [(1, json.dumps(buffer.ref).encode()), (2, buffer.to_bytes())]
    assert frames == expected
    assert len(frames) == 5 and len(frames[-1][1]) == 560_000


class _Socket:
    def __init__(self, stream):
        self.stream = stream
        self.takes: int | None = None  # bytes the socket accepts per send (None: all)

    def send(self, data):
        n = len(data) if self.takes is None else self.takes
        if n == 0:
            raise BlockingIOError
        self.stream.sent.append(bytes(data[:n]))
        self.stream.written.append(bytes(data[:n]))
        return n


class _Stream(IOStream):
    """Stands in for Tornado's stream of one websocket (no real socket)."""

    def __init__(self):  # IOStream.__init__ would want a socket
        self.written: list[bytes] = []  # every piece that went out, in order
        self.sent: list[bytes] = []  # straight to the socket
        self.queued: list[bytes] = []  # through Tornado's write()
        self.pending = False
        self.socket = _Socket(self)

    def writing(self):
        return self.pending

    def write(self, data):
        self.queued.append(bytes(data))
        self.written.append(bytes(data))
        future = Future()
        future.set_result(None)
        return future


class _WS:
    def __init__(self):
        self.stream = _Stream()
        self._compressor = None
        self.mask_outgoing = False

    def is_closing(self):
        return False


class _Conn:
    def __init__(self):
        self._socket = SimpleNamespace(ws_connection=_WS(), write_lock=Lock())


@pytest.fixture
def session_doc(doc):
    """The test document as if a server session with one open websocket held it."""
    d, fig, src, img, events = doc
    conn = _Conn()
    session = SimpleNamespace(_lock=Lock(), _subscribed_connections={conn})
    context = SimpleNamespace(session=session)
    d._session_context = lambda: context  # Bokeh keeps a weak reference
    fastpatch.install()
    yield d, src, session, conn._socket
    fastpatch.uninstall()


def test_a_frame_goes_out_in_one_write(session_doc):
    d, src, session, handler = session_doc
    writer = fastpatch.FrameWriter(d)
    assert writer.status() == "go"
    with writer.frame():
        src.stream({"x": [2.0], "y": [0.5]})
        src.patch({"y": [(0, 9.0)]})
        assert d.callbacks.hold_value == "combine"  # held while the frame runs
    assert d.callbacks.hold_value is None
    [data] = handler.ws_connection.stream.written
    header, _meta, content = (json.loads(p) for _op, p in _read_frames(data))
    assert header["msgtype"] == "PATCH-DOC"
    kinds = [e["kind"] for e in content["events"]]
    assert kinds == ["ColumnsStreamed", "ColumnsPatched"]
    with writer.frame():
        pass  # nothing changed: nothing written
    assert len(handler.ws_connection.stream.written) == 1


def test_an_error_in_the_frame_still_sends_what_changed(session_doc):
    d, src, session, handler = session_doc
    writer = fastpatch.FrameWriter(d)
    with pytest.raises(RuntimeError), writer.frame():
        src.stream({"x": [2.0], "y": [0.5]})
        raise RuntimeError("boom")
    assert d.callbacks.hold_value is None
    assert len(handler.ws_connection.stream.written) == 1


def test_a_frame_goes_straight_to_the_socket_and_the_rest_through_tornado(session_doc):
    d, src, session, handler = session_doc
    stream = handler.ws_connection.stream
    writer = fastpatch.FrameWriter(d)
    with writer.frame():
        src.stream({"x": [2.0], "y": [0.5]})
    assert len(stream.sent) == 1 and not stream.queued  # the whole frame in one send
    whole = stream.sent[0]
    stream.socket.takes = 10  # a full socket buffer: only part is taken
    with writer.frame():
        src.stream({"x": [3.0], "y": [0.5]})
    assert len(stream.sent[1]) == 10 and len(stream.queued) == 1
    assert len(stream.sent[1] + stream.queued[0]) == len(whole)  # same size, nothing lost
    assert [op for op, _ in _read_frames(stream.sent[1] + stream.queued[0])] == [1, 1, 1]
    stream.socket.takes = 0  # the socket takes nothing now: Tornado sends it all
    with writer.frame():
        src.stream({"x": [4.0], "y": [0.5]})
    assert len(stream.sent) == 2 and len(stream.queued) == 2
    stream.socket.takes = None
    stream.pending = True  # Tornado still writing an earlier frame: queue behind it
    with writer.frame():
        src.stream({"x": [5.0], "y": [0.5]})
    assert len(stream.sent) == 2 and len(stream.queued) == 3


async def _status_while_held(lock, writer) -> str:
    async with lock:
        return writer.status()


def test_busy_or_never_when_the_direct_path_must_not_write(session_doc):
    d, src, session, handler = session_doc
    writer = fastpatch.FrameWriter(d)
    ws = handler.ws_connection
    # Something else holds the document, the session or the socket: skip this tick.
    assert asyncio.run(_status_while_held(session._lock, writer)) == "busy"
    assert asyncio.run(_status_while_held(handler.write_lock, writer)) == "busy"
    ws.stream.pending = True  # the client has not read the last frame yet
    assert writer.status() == "busy"
    ws.stream.pending = False
    d.callbacks.hold("combine")
    assert writer.status() == "busy"
    d.callbacks.unhold()
    assert writer.status() == "go"
    # The direct path does not apply: compression, or no server session at all.
    ws._compressor = object()
    assert writer.status() == "never"
    assert fastpatch.FrameWriter(Document()).status() == "never"


# -- stream() and patch(): Bokeh's change and Bokeh's JSON, without Bokeh's machinery ----------
def _frame_content(writer, handler, body) -> str:
    """Run ``body`` in a frame; the content JSON of the one message it wrote."""
    written = handler.ws_connection.stream.written
    n = len(written)
    with writer.frame():
        body()
    [data] = written[n:]
    return _read_frames(data)[2][1].decode()


def _bokeh_content(d, src, events, body) -> tuple[str, dict]:
    """What Bokeh's own stream()/patch() give: the message content and the data after;
    then the source is put back as it was."""
    before = {k: list(v) for k, v in src.data.items()}
    events.clear()
    body()
    content = PROTOCOL.create("PATCH-DOC", list(events)).content_json
    after = {k: list(v) for k, v in src.data.items()}
    src.data = before
    events.clear()
    return content, after


@pytest.mark.parametrize(
    "ops",
    [
        [("stream", {"x": [2.0], "y": [0.5]}, None)],
        [("stream", {"x": [2.0, 3.0, 4.0], "y": [-1.5, 7, 1e300]}, 3)],  # rollover trims
        [("patch", {"y": [(0, 9.0), (1, -2)]}, None)],
        [("stream", {"x": [2.0], "y": [0.5]}, 10), ("patch", {"x": [(0, "−0.25")]}, None)],
    ],
)
def test_stream_and_patch_in_a_frame_match_bokeh(session_doc, ops):
    d, src, session, handler = session_doc
    events = []
    d.on_change(events.append)

    def run(bokeh: bool):
        for kind, data, rollover in ops:
            if kind == "stream":
                (src.stream if bokeh else lambda a, r: fastpatch.stream(src, a, r))(data, rollover)
            else:
                src.patch(data) if bokeh else fastpatch.patch(src, data)

    expected, after = _bokeh_content(d, src, events, lambda: run(True))
    writer = fastpatch.FrameWriter(d)
    assert _frame_content(writer, handler, lambda: run(False)) == expected
    assert {k: list(v) for k, v in src.data.items()} == after
    assert all(type(v) is list for v in dict.values(src.data))  # still Bokeh's own lists


def test_mixed_frames_keep_the_order_of_events(session_doc):
    """Bokeh's events and ours in one frame go out in the order they happened."""
    d, src, session, handler = session_doc
    writer = fastpatch.FrameWriter(d)
    title = next(iter(d.roots)).title

    def body():
        fastpatch.stream(src, {"x": [2.0], "y": [0.5]})
        title.text = "between"  # a Bokeh event in the middle
        fastpatch.patch(src, {"y": [(0, 3.0)]})

    content = json.loads(_frame_content(writer, handler, body))
    kinds = [e["kind"] for e in content["events"]]
    assert kinds == ["ColumnsStreamed", "ModelChanged", "ColumnsPatched"]
    assert content["events"][1]["new"] == "between"

    # With a binary buffer among Bokeh's events, the buffer still follows the message.
    img = d.select_one({"name": "image"})
    with writer.frame():
        fastpatch.stream(src, {"x": [3.0], "y": [0.5]})
        img.data = {"image": [np.arange(16.0).reshape(4, 4)]}
    frames = _read_frames(handler.ws_connection.stream.written[-1])
    assert [op for op, _ in frames] == [1, 1, 1, 1, 2]
    header, content = json.loads(frames[0][1]), json.loads(frames[2][1])
    assert header["num_buffers"] == 1
    assert [e["kind"] for e in content["events"]] == ["ColumnsStreamed", "ColumnDataChanged"]
    assert json.loads(frames[3][1])["id"] in frames[2][1].decode()
    assert frames[4][1] == np.arange(16.0).tobytes()


@pytest.mark.parametrize(
    "call",
    [
        lambda src: fastpatch.stream(src, {"x": [float("nan")], "y": [1.0]}),  # Bokeh's NaN
        lambda src: fastpatch.stream(src, {"x": np.array([2.0]), "y": np.array([1.0])}),
        lambda src: fastpatch.stream(src, {"x": [np.float32(2.0)], "y": [1.0]}),
        lambda src: fastpatch.stream(src, {"x": [2**60], "y": [1.0]}),  # beyond 2**53
        lambda src: fastpatch.patch(src, {"y": [(slice(0, 2), [5.0, 6.0])]}),
    ],
)
def test_anything_unusual_goes_through_bokeh(session_doc, call, monkeypatch):
    d, src, session, handler = session_doc
    used = []
    for name in ("stream", "patch"):
        original = getattr(ColumnDataSource, name)
        monkeypatch.setattr(
            ColumnDataSource,
            name,
            lambda *a, _o=original, _n=name, **k: (used.append(_n), _o(*a, **k)),
        )
    with fastpatch.FrameWriter(d).frame():
        call(src)
    assert len(used) == 1
    assert len(handler.ws_connection.stream.written) == 1  # and it still goes out


def test_outside_a_frame_it_is_bokehs_stream(doc):
    d, fig, src, img, events = doc
    fastpatch.stream(src, {"x": [2.0], "y": [0.5]})
    fastpatch.patch(src, {"y": [(0, 4.0)]})
    assert [type(e).__name__ for e in events] == ["ColumnsStreamedEvent", "ColumnsPatchedEvent"]
    assert src.data["x"] == [0.0, 1.0, 2.0] and src.data["y"] == [4.0, 2.0, 0.5]


def test_a_source_watched_in_python_goes_through_bokeh(session_doc, monkeypatch):
    """Bokeh's stream() records the change for Python callbacks on ``data``; ours would not."""
    d, src, session, handler = session_doc
    src.on_change("data", lambda attr, old, new: None)
    used = []
    original = ColumnDataSource.stream
    monkeypatch.setattr(
        ColumnDataSource, "stream", lambda *a, **k: (used.append(1), original(*a, **k))
    )
    with fastpatch.FrameWriter(d).frame():
        fastpatch.stream(src, {"x": [2.0], "y": [0.5]})
    assert used == [1]


def test_a_frame_of_our_events_is_a_whole_bokeh_message(session_doc):
    d, src, session, handler = session_doc
    writer = fastpatch.FrameWriter(d)
    for x in (2.0, 3.0):
        with writer.frame():
            fastpatch.stream(src, {"x": [x], "y": [0.5]})
    headers = []
    for data in handler.ws_connection.stream.written:
        frames = _read_frames(data)
        assert [op for op, _ in frames] == [1, 1, 1]
        header, metadata, content = (json.loads(p) for _op, p in frames)
        assert header["msgtype"] == "PATCH-DOC" and "num_buffers" not in header
        assert metadata == {} and content["events"][0]["kind"] == "ColumnsStreamed"
        headers.append(header["msgid"])
    assert len(set(headers)) == 2  # ids differ from message to message


@pytest.mark.parametrize(
    "array", [np.arange(16, dtype=np.int8).reshape(4, 4), np.linspace(-1, 1, 12).reshape(3, 4)]
)
def test_a_whole_array_in_a_frame_matches_bokeh(session_doc, array):
    """patch_array: Bokeh's event JSON (buffer ids aside) and the same bytes in the buffer."""
    d, src, session, handler = session_doc
    img = d.select_one({"name": "image"})
    events = []
    d.on_change(events.append)
    img.patch({"image": [(0, array)]})
    expected, expected_buffers = _content(list(events))
    img.data = {"image": [np.zeros((4, 4))]}
    writer = fastpatch.FrameWriter(d)
    with writer.frame():
        fastpatch.patch_array(img, "image", 0, array)
    frames = _read_frames(handler.ws_connection.stream.written[-1])
    header = json.loads(frames[0][1])
    assert header["num_buffers"] == 1 and [op for op, _ in frames] == [1, 1, 1, 1, 2]
    buffer_id = json.loads(frames[3][1])["id"]
    content = frames[2][1].decode().replace(f'"id":"{buffer_id}"', '"id":"b0"')
    assert content == expected
    assert [frames[4][1]] == expected_buffers
    assert img.data["image"][0] is array


def test_unusual_arrays_go_through_bokeh(session_doc):
    d, src, session, handler = session_doc
    img = d.select_one({"name": "image"})
    with fastpatch.FrameWriter(d).frame():
        fastpatch.patch_array(img, "image", 0, np.arange(16).reshape(4, 4)[::-1])  # a view
    content = json.loads(_read_frames(handler.ws_connection.stream.written[-1])[2][1])
    assert content["events"][0]["kind"] == "ColumnsPatched"
    assert np.array_equal(img.data["image"][0], np.arange(16).reshape(4, 4)[::-1])
