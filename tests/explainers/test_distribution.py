"""The Boltzmann-distribution section: every bar, readout and sample comes from the engine."""

from __future__ import annotations

import numpy as np
import pytest

from engine import (
    empirical_distribution,
    exact_boltzmann,
    log_partition,
    sample_states,
    state_index,
    tv_distance,
)
from explainers.distribution import (
    DEFAULT_BIASES,
    DEFAULT_WEIGHTS,
    N_STATES,
    BoltzmannDistribution,
    checkpoints,
    glyph_text,
    iid_tv_scale,
)

from .deferred import DeferredPool


def make(**params) -> BoltzmannDistribution:
    s = BoltzmannDistribution(**params)
    s.__panel__()
    return s


def bars(s):
    return np.asarray(s.bars.data["prob"]), np.asarray(s.bars.data["energy"])


def test_bars_are_the_engines_exact_probabilities_in_state_order():
    s = make()
    states, energies, probs = exact_boltzmann(s.W, s.b, 1.0)
    p, e = bars(s)
    assert len(p) == N_STATES == 16
    np.testing.assert_allclose(p, probs, rtol=1e-12)
    np.testing.assert_allclose(e, energies, rtol=1e-12)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    # The engine's order: unit 0 is the most significant bit, so index 12 = (+,+,-,-).
    np.testing.assert_array_equal(states[12], [1, 1, -1, -1])
    assert s.bars.data["state"][12] == "■■/□□" == glyph_text(states[12])


def test_default_network_is_instructive():
    """One clear winner when cold, several competitive states around T = 1."""
    s = make()
    cold = exact_boltzmann(s.W, s.b, 0.2)[2]
    assert cold.max() > 0.9
    warm = np.sort(bars(s)[0])[::-1]
    assert warm[0] < 0.35 and (warm > 0.05).sum() >= 4
    hot = exact_boltzmann(s.W, s.b, 10.0)[2]
    assert hot.max() - hot.min() < 0.1  # nearly flat


def test_temperature_changes_bars_and_readouts():
    s = make()
    before = bars(s)[0].copy()
    s.temperature = 3.0
    p, _ = bars(s)
    assert not np.allclose(p, before)
    np.testing.assert_allclose(p, exact_boltzmann(s.W, s.b, 3.0)[2], rtol=1e-12)
    assert p.sum() == pytest.approx(1.0)
    log_z = log_partition(s.W, s.b, 3.0)
    assert float(s.readouts["log Z"]) == pytest.approx(log_z, abs=1e-3)
    assert float(s.readouts["Z"]) == pytest.approx(np.exp(log_z), rel=1e-3)
    top = int(np.argmax(p))
    states = exact_boltzmann(s.W, s.b, 3.0)[0]
    assert s.readouts["most likely state"].startswith(glyph_text(states[top]))
    assert f"{p[top]:.3f}" in s.readouts["most likely state"]


def test_editing_a_weight_or_bias_changes_bars_and_diagram():
    s = make()
    before = bars(s)[0].copy()
    s.w12 = -2.0
    W = s.W
    assert W[0, 1] == W[1, 0] == -2.0
    p = bars(s)[0]
    assert not np.allclose(p, before)
    np.testing.assert_allclose(p, exact_boltzmann(W, s.b, 1.0)[2], rtol=1e-12)
    assert "-2.00" in s.shown_text()
    s.b4 = 1.5
    np.testing.assert_allclose(bars(s)[0], exact_boltzmann(s.W, s.b, 1.0)[2], rtol=1e-12)
    assert "b4 = +1.50" in s.shown_text()  # the text alternative
    s.reset_network()
    assert {k: getattr(s, k) for k in DEFAULT_WEIGHTS} == DEFAULT_WEIGHTS
    assert {k: getattr(s, k) for k in DEFAULT_BIASES} == DEFAULT_BIASES
    np.testing.assert_allclose(bars(s)[0], before)


def test_energy_colours_run_from_low_to_high():
    s = make()
    _, e = bars(s)
    colors = s.bars.data["color"]
    from explainers.palette import ENERGY_PALETTE

    assert colors[int(np.argmin(e))] == ENERGY_PALETTE[0]
    assert colors[int(np.argmax(e))] == ENERGY_PALETTE[-1]


def test_iid_guide_matches_multinomial_draws():
    """The dashed guide is the mean TV distance of N independent draws."""
    p = exact_boltzmann(make().W, make().b, 1.0)[2]
    rng = np.random.default_rng(0)
    n, reps = 2000, 400
    tv = [tv_distance(rng.multinomial(n, p) / n, p) for _ in range(reps)]
    # standard error of the mean of 400 draws is about 1.5 % of the mean
    assert np.mean(tv) == pytest.approx(iid_tv_scale(p) / np.sqrt(n), rel=0.06)


def test_checkpoints_are_log_spaced_and_end_at_n():
    c = checkpoints(20_000)
    assert c[0] == 10 and c[-1] == 20_000
    assert np.all(np.diff(c) > 0)
    np.testing.assert_array_equal(checkpoints(10), [10])


def test_sample_overlays_the_engines_sampler_and_tv_falls_like_one_over_root_n():
    n, seed = 50_000, 3
    s = make(n_samples=n, seed=seed)
    s.request_sample()
    freq = np.asarray(s.samples.data["freq"])
    # exactly what the engine's sampler gives for this seed
    ref = empirical_distribution(sample_states(s.W, s.b, 1.0, n, seed=seed), 4)
    np.testing.assert_allclose(freq, ref)
    assert len(freq) == 16 and freq.sum() == pytest.approx(1.0)
    p = bars(s)[0]
    marks = np.asarray(s.tv.data["n"])
    tv = np.asarray(s.tv.data["tv"])
    guide = np.asarray(s.tv_guide.data["guide"])
    assert marks[-1] == n and tv[-1] == pytest.approx(tv_distance(freq, p))
    # Successive samples are one sweep apart and nearly independent at T = 1, so the
    # distance stays within a small factor of the independent-draw value c / sqrt(N) ...
    assert tv[-1] < 3.0 * guide[-1]
    # ... and falls with N: from 10 to 50,000 samples the guide drops by sqrt(5000) ~ 70.
    assert tv[-1] < tv[0] / 10
    first, last = tv[: len(tv) // 3].mean(), tv[-(len(tv) // 3) :].mean()
    assert last < first / 5
    assert "50,000" in s.shown_text()


def test_samples_follow_edits_while_shown_and_clear_stops_them():
    s = make(n_samples=2000, seed=5)
    s.request_sample()
    s.temperature = 0.5
    ref = empirical_distribution(sample_states(s.W, s.b, 0.5, 2000, seed=5), 4)
    np.testing.assert_allclose(s.samples.data["freq"], ref)
    s.clear_samples()
    assert len(s.samples.data["freq"]) == 0 and len(s.tv.data["tv"]) == 0
    s.w34 = -1.0  # no longer re-sampled
    assert len(s.samples.data["freq"]) == 0


def test_new_seed_draws_a_different_run():
    s = make(n_samples=500)
    s.request_sample()
    old_seed, old = s.seed, np.asarray(s.samples.data["freq"]).copy()
    s.new_seed()
    assert s.seed != old_seed
    ref = empirical_distribution(sample_states(s.W, s.b, 1.0, 500, seed=s.seed), 4)
    np.testing.assert_allclose(s.samples.data["freq"], ref)
    assert not np.allclose(ref, old)


def test_a_stale_run_is_discarded_and_redone():
    """A run that finishes after the settings moved on is never drawn."""
    pool = DeferredPool()
    s = make(n_samples=300, seed=1)
    s.sampler.runner = pool
    s.request_sample()
    s.seed = 2  # the settings move on while the first run is out
    pool.run_next()  # the first run ends: dropped, and the newest starts
    assert len(s.samples.data["freq"]) == 0 and len(pool.jobs) == 1
    pool.run_next()
    ref = empirical_distribution(state_index(sample_states(s.W, s.b, 1.0, 300, seed=2)), 4)
    np.testing.assert_allclose(s.samples.data["freq"], ref)
    assert not s.sampler.busy


def test_a_run_finishing_after_clear_is_not_drawn():
    pool = DeferredPool()
    s = make(n_samples=300)
    s.sampler.runner = pool
    s.request_sample()
    s.clear_samples()  # while that run is still going
    pool.run_next()
    assert not s.sampler.busy
    assert len(s.samples.data["freq"]) == 0 and s.last_sample is None


def test_a_failing_sampler_unlocks_and_reports(monkeypatch):
    import explainers.distribution as mod

    def boom(*_a, **_k):
        raise RuntimeError("injected")

    monkeypatch.setattr(mod, "sample_states", boom)
    s = make()
    s.request_sample()  # must not raise
    assert not s.sampler.busy
    assert len(s.samples.data["freq"]) == 0


def test_bad_values_are_clamped_or_refused_with_a_message():
    s = make()
    msgs = s.apply_values(
        {
            "temperature": "0",
            "w12": "99",
            "b3": "nan",
            "n_samples": "1e9",
            "seed": "-4",
            "w13": "abc",
            "nonsense": "1",
        }
    )
    assert s.temperature == 0.05
    assert s.w12 == 3.0
    assert s.b3 == DEFAULT_BIASES["b3"]
    assert s.n_samples == 100_000
    assert s.seed == 0
    assert s.w13 == DEFAULT_WEIGHTS["w13"]
    assert len(msgs) == 7
    assert s.notice
    np.testing.assert_allclose(bars(s)[0], exact_boltzmann(s.W, s.b, 0.05)[2], rtol=1e-12)


def test_out_of_range_values_set_directly_are_refused_server_side():
    s = make()
    for name, value in [("temperature", 0.0), ("w23", 3.5), ("n_samples", 10**6), ("seed", -1)]:
        with pytest.raises(ValueError):
            setattr(s, name, value)


def test_state_round_trips_through_the_url():
    s = make(temperature=0.35, w12=-1.25, b2=0.5, n_samples=777, seed=9)
    args = {k: [v.encode()] for k, v in s.query().items()}
    fresh = BoltzmannDistribution()
    fresh.bind_url(args)
    for name in ("temperature", "w12", "b2", "n_samples", "seed"):
        assert getattr(fresh, name) == getattr(s, name)
    np.testing.assert_allclose(fresh.bars.data["prob"], s.bars.data["prob"])
