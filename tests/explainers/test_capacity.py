"""The capacity section: every number on screen is the engine's, for the reader's own n and p."""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest

from engine import ALPHA_C, capacity_curve, max_patterns, recall_example
from explainers import capacity as cap
from explainers import jobs
from explainers.capacity import (
    Capacity,
    as_picture,
    load_grid,
    max_p,
    picture_shape,
    trials_for,
)


@pytest.fixture
def section():
    s = Capacity()
    s.__panel__()
    return s


def figures(s):
    return [pane.object for pane in s.__panel__().select(pn.pane.Bokeh)]


def curve(s: Capacity) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = s.source("capacity-curve").data
    return np.asarray(d["alpha"]), np.asarray(d["retrieved"]), np.asarray(d["overlap"])


def test_grid_loads_are_exact_pattern_counts():
    np.testing.assert_array_equal(load_grid(100), np.arange(1, 31))
    p = load_grid(50)  # p = round(k/2): 1, 1, 2, 2, ... -> distinct values only
    np.testing.assert_array_equal(p, np.arange(1, 16))
    p = load_grid(400)
    np.testing.assert_array_equal(p, 4 * np.arange(1, 31))
    assert max_p(100) == 30 and max_p(400) == 120


def test_work_per_curve_is_capped_by_the_trials_rule():
    assert trials_for(50) == trials_for(100) == cap.MAX_TRIALS
    assert trials_for(200) == trials_for(400) == 1
    ns = np.arange(cap.N_MIN, cap.N_MAX + 1)
    t = np.array([trials_for(int(n)) for n in ns])
    assert np.all(np.diff(t) <= 0) and t.min() >= 1
    # Extra sets only where they cost no more than one set at n = 200 (cost ~ trials n^3),
    # so the dearest request is the single set at n = 400.
    cost = t * ns.astype(float) ** 3
    assert np.max(cost[t > 1]) <= 200.0**3
    assert np.argmax(cost) == ns.size - 1


def test_curve_is_exactly_the_engines(section):
    s = section
    alphas, r, m = curve(s)
    np.testing.assert_allclose(alphas, np.arange(1, 31) / 100)
    want_r, want_m = capacity_curve(100, alphas, n_trials=trials_for(100), seed=1, noise=0.1)
    np.testing.assert_array_equal(r, want_r)
    np.testing.assert_array_equal(m, want_m)
    # The lesson is on screen: near-perfect recall at low load, collapse well past 0.138.
    assert r[alphas <= 0.05].min() == 1.0
    assert r[alphas >= 0.25].max() < 0.3
    assert s.curve_key == (100, 0.1, 1, trials_for(100))


def test_changing_n_noise_or_seed_recomputes_the_curve(section):
    s = section
    s.param.update(n=137, noise=0.05, seed=99)
    alphas, r, m = curve(s)
    np.testing.assert_allclose(alphas, load_grid(137) / 137)
    want = capacity_curve(137, alphas, n_trials=trials_for(137), seed=99, noise=0.05)
    np.testing.assert_array_equal(r, want[0])
    np.testing.assert_array_equal(m, want[1])
    assert s.curve_key == (137, 0.05, 99, trials_for(137))


def test_current_load_is_marked_on_both_curves(section):
    s = section
    s.p = 17
    cur = s.source("capacity-current").data
    assert cur["alpha"] == [0.17] and cur["p"] == [17]
    alphas, r, m = curve(s)
    k = int(np.flatnonzero(np.isclose(alphas, 0.17))[0])
    # On the grid, so the marker sits exactly on both lines.
    assert cur["retrieved"][0] == r[k]
    assert cur["overlap"][0] == m[k]
    assert s.readouts["Load α = p / n"] == "0.170"
    assert s.readouts["Mean overlap"] == f"{m[k]:.3f}"


def test_current_point_off_the_grid_is_computed_not_interpolated(section):
    s = section
    s.n = 150
    s.p = 20  # alpha = 0.1333, not a grid load for n = 150
    want_r, want_m = capacity_curve(150, [20 / 150], n_trials=trials_for(150), seed=1, noise=0.1)
    assert s.source("capacity-current").data["retrieved"] == [want_r[0]]
    assert s.source("capacity-current").data["overlap"] == [want_m[0]]


def test_exercise_button_sets_n_100_and_p_14(section):
    s = section
    s.n = 300
    s.p = 80
    s.exercise()
    assert (s.n, s.p) == (100, 14) == (100, max_patterns(100))
    assert s.source("capacity-current").data["alpha"] == [0.14]
    assert "14" in s.shown_text()


def test_recall_example_is_the_engines_and_drawn_as_pictures(section):
    s = section
    s.param.update(n=120, p=25, noise=0.2, seed=5)
    pattern, start, recalled, overlap = recall_example(120, 25, noise=0.2, seed=5, index=0)
    got = s.example
    for a, b in zip(got[:3], (pattern, start, recalled), strict=True):
        np.testing.assert_array_equal(a, b)
    assert got[3] == overlap
    shape = picture_shape(120)
    assert shape == (11, 11)
    pictures = {"stored": pattern, "start": start, "recalled": recalled}
    for name, want in pictures.items():
        # A HeatMap stores rows bottom-up.
        shown = np.asarray(s.source(f"capacity-{name}").data["image"][0])[::-1]
        np.testing.assert_array_equal(shown, as_picture(want, shape))
    assert f"m = {overlap:.2f}" in s.shown_text()
    assert f"{int(np.sum(pattern != recalled))} units wrong" in s.shown_text()
    assert "1 blank cells" in s.shown_text()  # 121 cells for 120 units


def test_picture_padding_is_blank_not_a_state():
    rows, cols = picture_shape(50)
    assert (rows, cols) == (7, 8)
    pic = as_picture(np.ones(50), (rows, cols))
    assert np.isnan(pic).sum() == 6 and np.nansum(pic) == 50
    assert picture_shape(100) == (10, 10) and picture_shape(400) == (20, 20)


def test_p_is_bounded_by_n_for_real(section):
    s = section
    assert s.param.p.bounds == (1, 30)
    with pytest.raises(ValueError):
        s.p = 31
    with pytest.raises(ValueError):
        s.n = 401
    with pytest.raises(ValueError):
        s.noise = 0.5
    s.p = 30
    s.n = 50  # p must follow: at most 0.30 * 50 = 15
    assert s.p == 15 and s.param.p.bounds == (1, 15)
    assert "at most 15" in s.shown_text()
    s.n = 400
    assert s.param.p.bounds == (1, 120) and s.p == 15


def test_bad_link_values_are_refused_or_clamped_with_a_message(section):
    s = section
    msgs = s.apply_values({"n": "4000", "p": "nan", "noise": "-1", "trials": "3"})
    assert s.n == 400 and s.p == 10 and s.noise == 0.0
    assert len(msgs) == 4
    assert any("above the largest" in m for m in msgs)
    assert any("finite" in m for m in msgs)
    assert any("trials" in m for m in msgs)  # not a setting of this section


def test_a_link_sets_n_before_p(section):
    s = section
    # p = 100 only fits once n = 400 has landed.
    assert s.apply_values({"p": "100", "n": "400"}) == []
    assert (s.n, s.p) == (400, 100)
    # Too many patterns for the n in the same link: clamped against that n.
    msgs = s.apply_values({"n": "60", "p": "50"})
    assert (s.n, s.p) == (60, 18) and len(msgs) == 1


def test_new_seed_changes_the_patterns_and_the_curve(section):
    s = section
    before = curve(s)[2].copy()
    s.new_seed()
    assert s.seed != 1
    assert s.curve_key[2] == s.seed
    assert not np.array_equal(before, curve(s)[2])


def test_the_limit_is_marked_at_alpha_c(section):
    from bokeh.models import Label, Span

    (fig,) = [f for f in figures(section) if f.select_one({"name": "capacity-curve"})]
    spans = [r for r in fig.center if isinstance(r, Span)]
    labels = [r for r in fig.center if isinstance(r, Label)]
    assert any(sp.location == ALPHA_C == 0.138 for sp in spans)
    assert any("0.138" in lb.text for lb in labels)


# -- the background machinery ------------------------------------------------------------


def test_an_engine_error_is_reported_and_the_section_keeps_working(monkeypatch, section):
    s = section
    reported = []
    monkeypatch.setattr(jobs, "report_exception", lambda exc, where="": reported.append(exc))

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cap, "capacity_curve", broken)
    s.n = 120
    assert len(reported) >= 1 and not s.curve_job.busy
    monkeypatch.undo()
    s.n = 110
    assert s.curve_key[0] == 110


def test_a_curve_the_pool_refuses_says_so_instead_of_computing_forever(section):
    section.curve_job.runner = lambda *args, **kwargs: False  # the shared pool is full
    section.noise = 0.2
    assert "Not computed" in section.shown_text()
    assert not section.curve_job.busy
