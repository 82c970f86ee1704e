"""The frame recorder (explainers/frames.py): what the page is sent, and the server's shadow."""

from __future__ import annotations

import base64
import json
from contextlib import contextmanager

import numpy as np
from bokeh.document import Document
from bokeh.models import ColumnDataSource

from explainers.frames import FrameFeed, Recorder, encode, to_json


@contextmanager
def _one_frame(rec: Recorder, lane: str = "lane", period_ms: int = 30):
    """Record one frame (the body's changes) and send it."""
    with rec.record(lane, period_ms):
        rec.next_frame()
        yield


def _sources():
    line = ColumnDataSource({"x": [0, 1], "y": [1.0, 2.0]}, name="line")
    cells = ColumnDataSource({"v": [0.0] * 5}, name="cells")
    image = ColumnDataSource({"image": [np.zeros((2, 3))]}, name="image")
    return line, cells, image


def _ops(rng, k):
    """Frame ``k``'s changes, the same whichever way they are applied."""
    return [
        ("stream", "line", {"x": [k + 2], "y": [float(rng.normal())]}, 4),
        ("patch", "line", {"y": [(0, 10.0 + k)]}, None),
        ("patch", "cells", {"v": [(slice(1, 4), rng.normal(size=3))]}, None),
        ("patch", "image", {"image": [(0, rng.normal(size=(2, 3)))]}, None),
    ]


def _apply(target, ops, by_name):
    for op, name, changes, rollover in ops:
        if op == "stream":
            target.stream(by_name[name], changes, rollover)
        else:
            target.patch(by_name[name], changes)


class _Direct:
    def stream(self, src, data, rollover):
        src.stream(data, rollover)

    def patch(self, src, patches):
        src.patch(patches)


def _data(src) -> dict:
    return {k: np.asarray(v, dtype=float).tolist() for k, v in src.data.items()}


def test_recorded_frames_leave_the_sources_alone_until_released_then_match_bokeh():
    direct, recorded = _sources(), _sources()
    rec = Recorder(FrameFeed())
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    with rec.record("lane", 30):
        for k in range(5):
            rec.next_frame()
            _apply(rec, _ops(rng_a, k), {s.name: s for s in recorded})
            _apply(_Direct(), _ops(rng_b, k), {s.name: s for s in direct})
    # nothing sent yet: the sources are as before, the shadow is the truth
    assert recorded[0].data["x"] == [0, 1]
    assert rec.data(recorded[0])["x"] == direct[0].data["x"]
    rec.release()
    for a, b in zip(direct, recorded, strict=True):
        assert _data(a) == _data(b)
    assert rec.shadows == {}


def test_the_batch_is_json_with_slices_spelled_out_and_arrays_as_bytes():
    _, cells, image = _sources()
    feed = FrameFeed()
    rec = Recorder(feed)
    with _one_frame(rec, "lane-1", 40):
        rec.patch(cells, {"v": [(slice(0, 4, 2), [7.0, 8.0])]})
        rec.patch(image, {"image": [(0, np.arange(6, dtype=np.int64).reshape(2, 3))]})
    batch = json.loads(feed.batch)
    assert (batch["lane"], batch["period"]) == ("lane-1", 40)
    (frame,) = batch["frames"]
    assert frame[0] == ["cells", "patch", {"v": [[0, 7.0], [2, 8.0]]}, None]
    sent = frame[1][2]["image"][0][1]
    assert sent["shape"] == [2, 3] and sent["dtype"] == "float64"  # no 64-bit ints in JS
    values = np.frombuffer(base64.b64decode(sent["nd"]), dtype=np.float64)
    assert values.tolist() == [0, 1, 2, 3, 4, 5]


def test_non_finite_numbers_become_null_and_strings_are_kept():
    text = to_json(
        encode([[["s", "stream", {"y": [np.nan, np.inf, 1.0], "t": ["NaN"]}, None]]], {})
    )
    assert json.loads(text) == [[["s", "stream", {"y": [None, None, 1.0], "t": ["NaN"]}, None]]]


def test_pausing_inside_a_frame_sends_the_batch_first_then_the_flush_then_the_data():
    line, _, _ = _sources()
    doc = Document()
    feed = FrameFeed()
    doc.add_root(feed)
    doc.add_root(line)
    events = []
    doc.on_change(lambda event: events.append(getattr(event, "attr", type(event).__name__)))
    rec = Recorder(feed)
    with _one_frame(rec):
        rec.stream(line, {"x": [2], "y": [3.0]}, None)
        rec.release()  # a frame that pauses its animation
        assert events == []  # nothing before the batch
    assert events == ["batch", "flushes", "data"]
    assert line.data["x"] == [0, 1, 2]


def test_without_a_page_player_changes_go_straight_to_the_source():
    line, _, _ = _sources()
    rec = Recorder(None)
    with _one_frame(rec):
        rec.stream(line, {"x": [2], "y": [3.0]}, None)
    assert line.data["x"] == [0, 1, 2] and rec.shadows == {}


def test_a_patch_into_part_of_an_image_goes_straight_to_the_source():
    _, _, image = _sources()
    feed = FrameFeed()
    rec = Recorder(feed)
    with _one_frame(rec):
        rec.patch(image, {"image": [((0, slice(0, 1), slice(0, 3)), np.ones(3))]})
    assert image.data["image"][0][0].tolist() == [1.0, 1.0, 1.0]
    assert feed.batch == "" and rec.shadows == {}
