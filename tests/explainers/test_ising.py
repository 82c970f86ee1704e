"""The spin-lattice section: the picture and the traces are the engine's lattice, caps hold."""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest

from engine import SHAPES, T_CRITICAL, Lattice, onsager_energy_per_spin
from explainers import ising as mod
from explainers.ising import NAMES, NOISE, SpinLattice, big_shape, stored_pictures

from .deferred import DeferredPool


@pytest.fixture
def section():
    s = SpinLattice(L=32)
    s.__panel__()
    return s


def shown_image(s: SpinLattice) -> np.ndarray:
    return np.asarray(s.source("ising-lattice").data["image"][0])[::-1]  # stored bottom-up


def figure_with(s: SpinLattice, source: str):
    figs = [p.object for p in s.__panel__().select(pn.pane.Bokeh)]
    (fig,) = [f for f in figs if f.select_one({"name": source})]
    return fig


def model_named(s: SpinLattice, name: str):
    """The one Bokeh model called ``name`` in any of the section's figures."""
    figs = [p.object for p in s.__panel__().select(pn.pane.Bokeh)]
    (found,) = [m for f in figs for m in f.select({"name": name})]
    return found


def figures_using(s: SpinLattice, source: str) -> list:
    figs = [p.object for p in s.__panel__().select(pn.pane.Bokeh)]
    return [f for f in figs if f.select_one({"name": source})]


def traces(s: SpinLattice) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in s.source("ising-traces").data.items()}


def test_big_shapes_are_the_story_shapes_blown_up():
    L = 64
    for name in NAMES:
        pic = big_shape(name, L)
        assert pic.shape == (L, L) and pic.dtype == np.int8
        assert set(np.unique(pic)) <= {-1, 1}
        margin, cell = L // 8, (L - 2 * (L // 8)) / 3
        centres = (margin + (np.arange(3) + 0.5) * cell).astype(int)
        np.testing.assert_array_equal(pic[np.ix_(centres, centres)] > 0, SHAPES[name] == 1)
        assert np.all(pic[:margin] == -1) and np.all(pic[:, -margin:] == -1)
    assert stored_pictures(32).shape == (3, 32, 32)


def test_sweeps_change_the_lattice_and_the_picture(section):
    s = section
    before = s.lattice.snapshot()
    np.testing.assert_array_equal(shown_image(s), before)
    s.advance(3)
    after = s.lattice.snapshot()
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(shown_image(s), after)
    assert s.sweeps == 3 and s.readouts["Sweeps"] == "3"
    up = 100 * np.mean(after == 1)
    assert f"after 3 sweeps: {up:.0f}% of spins up" in s.shown_text()


def test_the_section_runs_the_engines_dynamics(section):
    s = section
    s.param.update(temperature=1.7, method="metropolis")
    ref = Lattice(32, "ferro", seed=s.seed)
    np.testing.assert_array_equal(ref.spins, s.lattice.spins)
    for _ in range(4):
        s.advance(5)
        ref.sweep(1.7, 5, "metropolis")
    np.testing.assert_array_equal(ref.spins, s.lattice.spins)


def test_traces_carry_the_engines_energy_and_magnetisation(section):
    s = section
    s.temperature = 1.5
    for _ in range(5):
        s.advance(2)
    t = traces(s)
    np.testing.assert_array_equal(t["sweep"], [0, 2, 4, 6, 8, 10])
    assert t["energy"][-1] == s.lattice.energy_per_spin()
    assert t["magnetization"][-1] == s.lattice.magnetization()
    assert np.all(t["temperature"][1:] == 1.5)
    # Cooling a ferromagnet well below T_c lowers the energy from the random start's ~0.
    assert t["energy"][0] > -0.3 and t["energy"][-1] < -1.2
    assert s.readouts["Energy per spin"] == f"{s.lattice.energy_per_spin():+.3f}".replace("-", "−")


def test_reset_keeps_the_seed_and_reproduces_the_run(section):
    s = section
    start = s.lattice.snapshot()
    s.advance(4)
    first = s.lattice.snapshot()
    s.reset()
    assert s.seed == 1 and s.sweeps == 0 and len(traces(s)["sweep"]) == 1
    np.testing.assert_array_equal(s.lattice.spins, start)
    s.advance(4)
    np.testing.assert_array_equal(s.lattice.spins, first)


def test_new_seed_gives_a_new_start(section):
    s = section
    start = s.lattice.snapshot()
    s.new_seed()
    assert s.seed != 1
    assert not np.array_equal(start, s.lattice.spins)


def test_L_and_couplings_rebuild_the_lattice(section):
    s = section
    s.advance(2)
    s.L = 64
    assert s.lattice.L == 64 and s.sweeps == 0
    assert shown_image(s).shape == (64, 64)
    fig = figure_with(s, "ising-lattice")
    assert fig.x_range.end == 64
    assert fig.renderers[0].glyph.dw == 64
    assert len(traces(s)["sweep"]) == 1
    s.couplings = "pmJ"
    assert s.lattice.couplings == "pmJ"
    assert set(np.unique(s.lattice.Jright)) == {-1.0, 1.0}
    s.couplings = "ferro"
    assert np.all(s.lattice.Jright == 1.0)


def test_hopfield_starts_noisy_and_recalls_its_picture_when_cold(section):
    s = section
    s.param.update(couplings="hopfield", cue="L", temperature=0.5)
    lat = s.lattice
    np.testing.assert_array_equal(lat.patterns, stored_pictures(32))
    m0 = lat.overlaps()[NAMES.index("L")]
    # NOISE of the spins flipped: overlap 1 - 2 NOISE, give or take the binomial spread.
    assert abs(m0 - (1 - 2 * NOISE)) < 4 * 2 * np.sqrt(NOISE * (1 - NOISE) / 32**2)
    for name, pic in zip(NAMES, stored_pictures(32), strict=True):
        shown = np.asarray(s.source(f"ising-stored-{name}").data["image"][0])[::-1]
        np.testing.assert_array_equal(shown, pic)
    for _ in range(5):
        s.advance(20)
    m = s.lattice.overlaps()
    assert m[NAMES.index("L")] > 0.95
    assert "L: m = +" in s.shown_text()
    assert f"{m[NAMES.index('L')]:+.2f}" in s.shown_text()


def test_caps_are_enforced_in_the_params(section):
    s = section
    with pytest.raises(ValueError):
        s.L = 512
    with pytest.raises(ValueError):
        s.L = 100
    with pytest.raises(ValueError):
        s.sweeps_per_frame = mod.MAX_SWEEPS_PER_FRAME + 1
    with pytest.raises(ValueError):
        s.sweeps_per_frame = 0
    with pytest.raises(ValueError):
        s.temperature = 5.5
    with pytest.raises(ValueError):
        s.couplings = "antiferro"
    with pytest.raises(ValueError):
        s.advance(1000)  # the one way in that takes a count checks it too
    assert s.lattice.L == 32 and s.sweeps == 0


def test_bad_link_values_are_refused_or_clamped_with_a_message(section):
    s = section
    msgs = s.apply_values(
        {
            "L": "512",
            "sweeps_per_frame": "1000",
            "temperature": "nan",
            "method": "gibbs",
            "couplings": "pmJ",
            "seed": "-4",
        }
    )
    assert s.L == 32 and s.lattice.L == 32  # refused
    assert s.sweeps_per_frame == mod.MAX_SWEEPS_PER_FRAME  # clamped
    assert s.temperature == 2.0 and s.method == "heat-bath"
    assert s.couplings == "pmJ" and s.lattice.couplings == "pmJ"
    assert s.seed == 0
    assert len(msgs) == 5 and s.notice


def test_a_busy_tick_is_skipped_not_queued(section):
    s = section
    pool = DeferredPool()
    s.sweeper.runner = pool
    s.animator.tick()
    s.animator.tick()  # the first batch is still out: skipped
    assert s.skipped == 1 and len(pool.jobs) == 1 and s.sweeps == 0
    pool.run_next()
    assert s.sweeps == s.sweeps_per_frame


def test_results_of_a_replaced_lattice_are_dropped(section):
    s = section
    pool = DeferredPool()
    s.sweeper.runner = pool
    s.advance(3)
    s.advance(3)  # still in flight: ignored
    assert len(pool.jobs) == 1
    s.reset()
    pool.run_next()
    assert s.sweeps == 0 and len(traces(s)["sweep"]) == 1
    s.advance(2)
    pool.run_next()
    s.advance(5)
    pool.run_next()
    assert s.sweeps == 7 and list(traces(s)["sweep"]) == [0, 2, 7]


def test_an_error_in_a_frame_pauses_and_is_reported(monkeypatch, section):
    s = section
    reported = []
    monkeypatch.setattr(mod, "report_exception", lambda exc, where="": reported.append(exc))

    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(s.lattice, "sweep", broken)
    s.advance(1)
    assert len(reported) == 1 and not s.sweeper.busy and not s.animator.running
    monkeypatch.undo()
    s.reset()
    s.advance(1)
    assert s.sweeps == 1


def test_critical_temperature_guides(section):
    s = section
    s.set_critical()
    assert s.temperature == pytest.approx(T_CRITICAL, abs=1e-3)
    assert "critical" in s.shown_text()
    tc = model_named(s, "ising-critical-temperature")
    exact = model_named(s, "ising-exact-energy")
    assert tc.location == T_CRITICAL and tc.visible
    s.temperature = 1.0
    assert exact.location == onsager_energy_per_spin(1.0) and exact.visible
    assert "below" in s.shown_text()
    s.couplings = "pmJ"
    assert not exact.visible and not tc.visible


def test_live_frames_thin_the_readouts_and_a_pause_makes_them_exact(section):
    s = section
    s.animator.running = True  # as while animating (outside a server nothing ticks)
    s.advance(1)
    s.advance(1)  # within half a second of the first: numbers left for later
    assert s.sweeps == 2 and s.readouts["Sweeps"] != "2"
    s.animator.pause()
    lat = s.lattice
    assert s.readouts["Sweeps"] == "2"
    assert s.readouts["Energy per spin"] == f"{lat.energy_per_spin():+.3f}".replace("-", "−")
    assert "after 2 sweeps" in s.shown_text()


def test_temperature_has_its_own_axis_and_the_exact_energy_shows(section):
    # T on a second axis of the energy chart sat where energies near −1 belong: it has its
    # own strip now, and the exact energy is a band under the trace, not hidden by it.
    s = section
    energy_fig, t_fig = figures_using(s, "ising-traces")
    assert not energy_fig.extra_y_ranges and len(energy_fig.yaxis) == 1
    assert all(getattr(r.glyph, "y", None) != "temperature" for r in energy_fig.renderers)
    assert [r.glyph.y for r in t_fig.renderers] == ["temperature"]
    assert t_fig.x_range is energy_fig.x_range
    tc, exact = model_named(s, "ising-critical-temperature"), model_named(s, "ising-exact-energy")
    assert tc in t_fig.center and exact in energy_fig.center
    assert exact.level == "underlay" and exact.line_width > 2
    assert "ΔE = E<sub>after</sub> −" in s.shown_text()
