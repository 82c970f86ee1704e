"""The spin-lattice section: the picture and the traces are the engine's lattice, caps hold."""

from __future__ import annotations

import numpy as np
import pytest

from engine import SHAPES, T_CRITICAL, Lattice, onsager_energy_per_spin
from explainers import ising as mod
from explainers.ising import NAMES, NOISE, SpinLattice, big_shape, stored_pictures


@pytest.fixture
def section():
    s = SpinLattice(L=32)
    s.__panel__()
    return s


def shown_image(s: SpinLattice) -> np.ndarray:
    return np.asarray(s._image.source.data["image"][0])[::-1]  # stored bottom-up


def traces(s: SpinLattice) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in s._traces.source.data.items()}


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
    assert s.sweeps == 3 and s._sweeps_out.value == "3"
    up = 100 * np.mean(after == 1)
    assert f"after 3 sweeps: {up:.0f}% of spins up" in s._alt.object


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
    assert s._energy_out.value == f"{s.lattice.energy_per_spin():+.3f}".replace("-", "−")


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
    assert s._image.figure.x_range.end == 64
    assert s._image.figure.renderers[0].glyph.dw == 64
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
    for t, pic in zip(s._thumbs, stored_pictures(32), strict=True):
        np.testing.assert_array_equal(np.asarray(t.source.data["image"][0])[::-1], pic)
    for _ in range(5):
        s.advance(20)
    m = s.lattice.overlaps()
    assert m[NAMES.index("L")] > 0.95
    assert "L: m = +" in s._overlap_text.object
    assert f"{m[NAMES.index('L')]:+.2f}" in s._overlap_text.object


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
    assert len(msgs) == 5 and s._notice.visible


def test_a_busy_tick_is_skipped_not_queued(section):
    s = section
    s._inflight = object()
    s._frame()
    assert s.skipped == 1 and s.sweeps == 0
    s._inflight = None
    s.sweeps_per_frame = 4
    s._frame()
    assert s.sweeps == 4


def test_results_of_a_replaced_lattice_are_dropped(monkeypatch, section):
    s = section
    jobs = []
    monkeypatch.setattr(
        mod, "run_in_background", lambda job, done, *a, **k: jobs.append((job, done))
    )
    s.advance(3)
    s.advance(3)  # still in flight: ignored
    assert len(jobs) == 1
    s.reset()
    job, done = jobs.pop()
    done(job(lambda f: None))
    assert s.sweeps == 0 and len(traces(s)["sweep"]) == 1
    # Batches of the current lattice drawn out of order: the older one is dropped.
    s.advance(2)
    job1, done1 = jobs.pop()
    r1 = job1(None)  # swept, but its drawing is still queued
    s.advance(5)  # the slot is free again
    job2, done2 = jobs.pop()
    r2 = job2(None)
    done2(r2)
    done1(r1)
    assert s.sweeps == 7 and list(traces(s)["sweep"]) == [0, 7]


def test_an_error_in_a_frame_pauses_and_is_reported(monkeypatch, section):
    s = section
    reported = []
    monkeypatch.setattr(mod, "report_exception", lambda exc, where="": reported.append(exc))

    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(s.lattice, "sweep", broken)
    s.advance(1)
    assert len(reported) == 1 and s._inflight is None and not s.animator.running
    monkeypatch.undo()
    s.reset()
    s.advance(1)
    assert s.sweeps == 1


def test_critical_temperature_guides(section):
    s = section
    s.set_critical()
    assert s.temperature == pytest.approx(T_CRITICAL, abs=1e-3)
    assert "critical" in s._phase.object
    assert s._tc_line.location == T_CRITICAL and s._tc_line.visible
    s.temperature = 1.0
    assert s._exact_line.location == onsager_energy_per_spin(1.0) and s._exact_line.visible
    assert "below" in s._phase.object
    s.couplings = "pmJ"
    assert not s._exact_line.visible and not s._tc_line.visible


def test_live_frames_thin_the_readouts_and_a_pause_makes_them_exact(section):
    s = section
    s.animator.running = True  # as while animating (outside a server nothing ticks)
    s.advance(1)
    s.advance(1)  # within half a second of the first: numbers left for later
    assert s.sweeps == 2 and s._sweeps_out.value != "2"
    s.animator.pause()
    lat = s._lattice
    assert s._sweeps_out.value == "2"
    assert s._energy_out.value == f"{lat.energy_per_spin():+.3f}".replace("-", "−")
    assert "after 2 sweeps" in s._alt.object


def test_temperature_has_its_own_axis_and_the_exact_energy_shows(section):
    # T on a second axis of the energy chart sat where energies near −1 belong: it has its
    # own strip now, and the exact energy is a band under the trace, not hidden by it.
    s = section
    energy_fig = s._traces.figure
    assert not energy_fig.extra_y_ranges and len(energy_fig.yaxis) == 1
    assert all(getattr(r.glyph, "y", None) != "temperature" for r in energy_fig.renderers)
    t_fig = s._temp_fig
    assert [r.glyph.y for r in t_fig.renderers] == ["temperature"]
    assert t_fig.renderers[0].data_source is s._traces.source
    assert t_fig.x_range is energy_fig.x_range
    assert s._tc_line in t_fig.center and s._exact_line.level == "underlay"
    assert s._exact_line.line_width > 2
    assert "ΔE = E<sub>after</sub> −" in s.shown_text()
