"""views.ServerRange and LineChart: ranges fitted by the server, changed only when needed."""

from __future__ import annotations

import math

import pytest
from bokeh.models import DataRange1d

from explainers.views import LineChart, ServerRange


def _changes(r: ServerRange) -> list:
    seen = []
    r.range.on_change("start", lambda attr, old, new: seen.append(("start", new)))
    r.range.on_change("end", lambda attr, old, new: seen.append(("end", new)))
    return seen


def test_a_growing_x_axis_moves_rarely_and_always_holds_the_data():
    r = ServerRange(0.0, 10.0, min_span=10.0)
    seen = _changes(r)
    for x in range(1, 2001):
        r.fit(0, x)
        assert r.range.start <= 0 and r.range.end >= x
    # Growing by a quarter each time: about log(2000 / 10) / log(1.25) ≈ 24 moves, not 2000.
    assert 0 < len(seen) <= 2 * 30


def test_after_a_rollover_the_start_follows_the_data():
    r = ServerRange(0.0, 10.0, min_span=10.0)
    for x in range(1, 5001):
        first = max(0, x - 600)  # 600 points kept
        r.fit(first, x)
        assert r.range.start <= first and r.range.end >= x
        # never more than (1 + grow) / fill of the data width of empty axis
        assert r.range.end - r.range.start <= (x - first) / 0.4 + 1e-9 or x - first < 10


def test_a_fresh_start_shrinks_the_range_back():
    r = ServerRange(0.0, 10.0, min_span=10.0)
    r.fit(0, 5000)
    r.fit(0, 0)
    assert (r.range.start, r.range.end) == (0.0, 12.5)
    r.reset()
    assert (r.range.start, r.range.end) == (0.0, 10.0)


def test_a_log_range_fits_in_decades_and_ignores_non_positive_values():
    r = ServerRange(0.01, 1.0, log=True, pad=0.1, grow=0.1, min_span=0.5)
    r.include([0.5, 0.0, -1.0, math.nan])
    assert r.range.start < 0.5 < r.range.end
    for err in (0.1, 0.01, 1e-4, 1e-6):
        r.include([err])
        assert r.range.start <= err and r.range.end >= 0.5
    decades = math.log10(r.range.end / r.range.start)
    assert decades == pytest.approx(math.log10(0.5 / 1e-6) * 1.2, rel=1e-9)


def test_line_chart_uses_no_browser_fitted_range_and_fits_both_axes():
    c = LineChart("c", "t", {"y": ("y", "black")}, rollover=100)
    assert not isinstance(c.figure.x_range, DataRange1d)
    assert not isinstance(c.figure.y_range, DataRange1d)
    c.stream({"t": [1, 2, 3], "y": [5.0, -2.0, 7.0]})
    assert c.figure.y_range.start <= -2.0 and c.figure.y_range.end >= 7.0
    assert c.figure.x_range.start <= 1 and c.figure.x_range.end >= 3
    for t in range(4, 400):
        c.stream({"t": [t], "y": [0.0]})
    assert c.figure.x_range.start <= c.source.data["t"][0] == 300
    c.clear()
    assert (c.figure.x_range.start, c.figure.x_range.end) == (0.0, 10.0)


def test_fixed_ranges_stay_put():
    c = LineChart("c", "t", {"y": ("y", "black")}, x_range=(0, 50), y_range=(-1, 1))
    c.stream({"t": [100], "y": [9.0]})
    assert (c.figure.x_range.start, c.figure.x_range.end) == (0, 50)
    assert (c.figure.y_range.start, c.figure.y_range.end) == (-1, 1)
