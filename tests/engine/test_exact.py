"""Tests for engine.exact: enumeration against brute force, limits, and Gibbs sampling."""

import itertools

import numpy as np
import pytest

from engine.exact import (
    _exp_nonpositive,
    empirical_distribution,
    entropy,
    exact_boltzmann,
    exact_moments,
    exact_stats,
    free_energy,
    log_partition,
    mean_energy,
    sample_states,
    state_index,
    tv_distance,
)
from engine.spins import SHAPES, energy, hebbian, to_spins


def random_network(rng, n, scale=1.0):
    W = rng.normal(size=(n, n)) * scale
    W = np.triu(W, 1)
    W = W + W.T
    return W, rng.normal(size=n) * scale


def brute(W, b, T):
    """Naive reference: list the states with itertools, energies by the textbook sum."""
    n = len(b)
    states = np.array(list(itertools.product([-1, 1], repeat=n)))
    E = np.array(
        [
            -sum(W[i, j] * s[i] * s[j] for i in range(n) for j in range(i + 1, n)) - b @ s
            for s in states
        ]
    )
    w = np.exp(-E / T)
    Z = w.sum()
    return states, E, w / Z, np.log(Z)


def tl_network():
    P = to_spins(np.array([SHAPES["T"].ravel(), SHAPES["L"].ravel()]))
    return hebbian(P), P


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_exact_boltzmann_matches_brute_force(n):
    rng = np.random.default_rng(n)
    W, b = random_network(rng, n)
    for T in (0.7, 2.0):
        states, E, p = exact_boltzmann(W, b, T)
        ref_states, ref_E, ref_p, _ = brute(W, b, T)
        assert states.dtype == np.int8 and states.shape == (2**n, n)
        np.testing.assert_array_equal(states, ref_states)
        np.testing.assert_allclose(E, ref_E, atol=1e-10)
        np.testing.assert_allclose(p, ref_p, rtol=1e-10, atol=1e-15)
        assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_state_order_convention():
    states, _, _ = exact_boltzmann(np.zeros((3, 3)), None, 1.0)
    assert states[0].tolist() == [-1, -1, -1]
    assert states[1].tolist() == [-1, -1, 1]  # the last unit is the least significant bit
    assert states[4].tolist() == [1, -1, -1]
    assert states[-1].tolist() == [1, 1, 1]
    np.testing.assert_array_equal(state_index(states), np.arange(8))
    assert state_index([1, -1, 1]) == 5


@pytest.mark.parametrize("n", [11, 13])
def test_block_enumeration_of_larger_networks(n):
    # above 10 units the energies come from the high/low block kernel: check every state
    rng = np.random.default_rng(n)
    W, b = random_network(rng, n)
    states, E, p = exact_boltzmann(W, b, 1.5)
    np.testing.assert_allclose(E, energy(W, b, states), atol=1e-9)
    w = np.exp(-(E - E.min()) / 1.5)
    np.testing.assert_allclose(p, w / w.sum(), rtol=1e-12, atol=1e-300)


def test_vectorised_exp_is_accurate():
    rng = np.random.default_rng(0)
    x = np.concatenate([-rng.random(200_000) * 708.0, [0.0, -1e-300, -708.0, -0.25, -2.0]])
    out = np.empty_like(x)
    _exp_nonpositive(x, out)
    np.testing.assert_allclose(out, np.exp(x), rtol=5e-16, atol=0)
    assert out[-5] == 1.0
    below = np.array([-708.5, -745.0, -1e6, -1.0])
    _exp_nonpositive(below, below)  # in place, as the engine calls it
    np.testing.assert_allclose(below, [0.0, 0.0, 0.0, np.exp(-1.0)], rtol=5e-16, atol=0)


def test_low_temperature_concentrates_on_ground_states():
    W, P = tl_network()
    states, E, p = exact_boltzmann(W, None, 0.0)
    ground = np.isclose(E, E.min())
    assert ground.sum() == 4  # T, L and both mirrors share the lowest energy
    np.testing.assert_allclose(p[ground], 0.25)
    assert np.all(p[~ground] == 0.0)
    _, _, p_cold = exact_boltzmann(W, None, 0.02)
    assert p_cold[ground].sum() > 1 - 1e-12
    found = {tuple(s) for s in states[ground]}
    assert found == {tuple(x) for x in np.vstack([P, -P])}


def test_high_temperature_tends_to_uniform():
    rng = np.random.default_rng(3)
    W, b = random_network(rng, 6)
    spread = np.ptp(exact_boltzmann(W, b, 1.0)[1])
    for T in (10.0, 1e3, 1e6):
        _, _, p = exact_boltzmann(W, b, T)
        # p_k / p_j = exp(-(E_k - E_j) / T), so every 64 p_k lies within exp(spread / T)
        # of 1, and the ratio between extremes reaches that bound
        assert np.abs(64 * p - 1).max() <= np.expm1(spread / T) * (1 + 1e-9)
        assert p.max() / p.min() == pytest.approx(np.exp(spread / T), rel=1e-9)
    assert entropy(W, b, 1e6) == pytest.approx(6 * np.log(2), abs=1e-8)


@pytest.mark.parametrize("T", [0.5, 1.0, 3.0])
def test_thermodynamics_match_brute_force(T):
    rng = np.random.default_rng(4)
    W, b = random_network(rng, 7)
    states, E, p, log_z = brute(W, b, T)
    mean_e = p @ E
    assert log_partition(W, b, T) == pytest.approx(log_z, rel=1e-12)
    assert free_energy(W, b, T) == pytest.approx(-T * log_z, rel=1e-12)
    assert mean_energy(W, b, T) == pytest.approx(mean_e, rel=1e-12)
    assert entropy(W, b, T) == pytest.approx(-np.sum(p * np.log(p)), rel=1e-10)
    stats = exact_stats(W, b, T)
    assert stats.entropy == pytest.approx((stats.mean_energy - stats.free_energy) / T)
    m, C = exact_moments(W, b, T)
    np.testing.assert_allclose(m, p @ states, atol=1e-12)
    np.testing.assert_allclose(C, (states * p[:, None]).T @ states, atol=1e-12)
    assert np.all(np.diag(C) == 1.0)


def test_zero_temperature_statistics():
    W, _ = tl_network()
    stats = exact_stats(W, None, 0.0)
    assert stats.free_energy == pytest.approx(-4.0)  # -1/2 (81/9 + 9/9 - 2) per memory
    assert stats.mean_energy == pytest.approx(-4.0)
    assert stats.entropy == pytest.approx(np.log(4))
    np.testing.assert_allclose(stats.m, 0.0, atol=1e-15)  # mirrors cancel
    with pytest.raises(ValueError):
        log_partition(W, None, 0.0)


def test_empirical_distribution_and_tv():
    S = np.array([[1, -1], [1, -1], [-1, -1], [1, 1]])
    q = empirical_distribution(S, 2)
    np.testing.assert_allclose(q, [0.25, 0.0, 0.5, 0.25])
    np.testing.assert_allclose(empirical_distribution(np.array([2, 2, 0, 3]), 2), q)
    assert tv_distance(q, [0.25, 0.25, 0.25, 0.25]) == pytest.approx(0.25)
    assert tv_distance(q, q) == 0.0
    with pytest.raises(ValueError):
        empirical_distribution(np.array([4]), 2)
    with pytest.raises(ValueError):
        tv_distance([1.0], [0.5, 0.5])


def test_sample_states_is_reproducible():
    rng = np.random.default_rng(5)
    W, b = random_network(rng, 5)
    a = sample_states(W, b, 1.0, 200, seed=9)
    c = sample_states(W, b, 1.0, 200, seed=9)
    d = sample_states(W, b, 1.0, 200, seed=10)
    assert a.dtype == np.int8 and a.shape == (200, 5)
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, d)
    # at T = 0 the chain stops in a fixed point of the sign rule and stays there
    cold = sample_states(W, b, 0.0, 20, seed=9, s0=np.ones(5))
    assert np.all(cold == cold[0])
    h = W @ cold[0] + b
    assert np.all(cold[0] * h >= 0)


def tv_bound(p, n_samples, tau=2.0, margin=3.0):
    """Bound on the TV distance between p and a histogram of n_samples chain samples.

    With N_eff independent samples, each frequency has standard deviation
    sqrt(p_k (1 - p_k) / N_eff), and E|x| <= sd for a zero-mean x, so
    E[TV] <= 1/2 sum_k sqrt(p_k (1 - p_k) / N_eff). Samples five sweeps apart are nearly
    independent at these temperatures; tau = 2 (N_eff = N / 2) covers what correlation is
    left, and the factor 3 covers the spread of TV around its mean.
    """
    return margin * 0.5 * np.sum(np.sqrt(p * (1 - p) * tau / n_samples))


@pytest.mark.parametrize("n", [4, 6])
@pytest.mark.parametrize("T", [0.5, 1.0, 2.0])
def test_gibbs_histogram_converges_to_the_exact_distribution(n, T):
    rng = np.random.default_rng(100 + n)
    W, b = random_network(rng, n, scale=0.5)
    _, _, p = exact_boltzmann(W, b, T)
    N = 100_000
    S = sample_states(W, b, T, N, seed=1, updates_between=5 * n)
    bound = tv_bound(p, N)
    assert tv_distance(p, empirical_distribution(S, n)) < bound
    # the bound has teeth: sampling at a 1.5x wrong temperature is caught
    wrong = sample_states(W, b, 1.5 * T, N, seed=1, updates_between=5 * n)
    assert tv_distance(p, empirical_distribution(wrong, n)) > bound
