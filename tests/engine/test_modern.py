"""Dense associative memory and the modern Hopfield network, against brute force and theory."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from engine import (
    DENSE_KINDS,
    attention,
    dense_capacity_curve,
    dense_energy,
    dense_settle,
    double_factorial,
    energy,
    half_capacity,
    hebbian,
    modern_energy,
    modern_retrieve,
    modern_update,
    settle,
    softmax_weights,
    theory_capacity,
)


def random_patterns(p, n, seed):
    return np.where(np.random.default_rng(seed).random((p, n)) < 0.5, -1, 1).astype(np.int8)


def all_states(n):
    return np.array(list(itertools.product((-1, 1), repeat=n)), dtype=np.int8)


def brute_energy(P, s, k, beta=1.0):
    """-Σ_μ F(ξ^μ·s) term by term in Python (exp scaled by exp(-β n), as documented)."""
    n = len(s)
    total = 0.0
    for xi in P:
        x = sum(int(a) * int(b) for a, b in zip(xi, s, strict=True))
        total += math.exp(beta * (x - n)) if k == "exp" else float(x**k)
    return -total


# ------------------------------------------------------------------------- energy


@pytest.mark.parametrize("k", [2, 3, 4, 5, "exp"])
def test_energy_equals_brute_force_on_every_state(k):
    P = random_patterns(3, 7, seed=1)
    S = all_states(7)
    got = dense_energy(P, S, k, beta=0.7)
    want = [brute_energy(P, s, k, beta=0.7) for s in S]
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
    assert dense_energy(P, S[5], k, beta=0.7) == pytest.approx(want[5], rel=1e-13)


def test_k2_energy_is_the_hebbian_energy_rescaled():
    # Σ_μ (ξ^μ·s)² = n sᵀWs + p n with W = (1/n) Σ ξξᵀ, zero diagonal: E_2 = 2n E_hop − p n.
    p, n = 4, 9
    P = random_patterns(p, n, seed=2)
    S = all_states(n)
    E_hop = energy(hebbian(P), np.zeros(n), S.astype(float))
    np.testing.assert_allclose(dense_energy(P, S, 2), 2 * n * E_hop - p * n, atol=1e-9)


# ----------------------------------------------------------------------- dynamics


def single_flip_minimal(P, S, k):
    """For each state: does no single flip lower the energy (brute force)?"""
    E = dense_energy(P, S, k)
    out = []
    for s, e in zip(S, E, strict=True):
        flips = np.repeat(s[None, :], len(s), axis=0)
        flips[np.arange(len(s)), np.arange(len(s))] *= -1
        # exp energies are floats: differences below rounding count as ties (kept).
        out.append(np.all(dense_energy(P, flips, k) >= e - 1e-12 * abs(e)))
    return np.array(out)


@pytest.mark.parametrize("k", [2, 3, 5, "exp"])
def test_fixed_points_are_exactly_the_single_flip_minima(k):
    P = random_patterns(4, 8, seed=3)
    S = all_states(8)
    settled = dense_settle(P, S, k)
    is_fixed = np.all(settled == S, axis=1)
    np.testing.assert_array_equal(is_fixed, single_flip_minimal(P, S, k))
    # Every run ends at a fixed point, lower than (or as low as) where it started.
    np.testing.assert_array_equal(dense_settle(P, settled, k), settled)
    assert np.all(dense_energy(P, settled, k) <= dense_energy(P, S, k))


@pytest.mark.parametrize("k", [3, 5, "exp"])
def test_stored_patterns_are_fixed_points_when_few(k):
    P = random_patterns(5, 60, seed=4)
    np.testing.assert_array_equal(dense_settle(P, P, k), P)


@pytest.mark.parametrize(("p", "n"), [(3, 9), (6, 20), (20, 50), (30, 40), (2, 40), (4, 16)])
def test_k2_makes_the_classic_networks_decisions(p, n):
    # Same fixed point as engine.settle on the Hebbian weights, from every start and in
    # every order: loads beyond capacity (spurious states) and even n and p (ties) too.
    rng = np.random.default_rng(p * 1000 + n)
    for trial in range(20):
        P = random_patterns(p, n, seed=int(rng.integers(1 << 30)))
        starts = np.where(rng.random((8, n)) < 0.5, -1, 1).astype(np.int8)
        order = rng.permutation(n) if trial % 2 else None
        want = settle(hebbian(P), None, starts, order=order)
        np.testing.assert_array_equal(dense_settle(P, starts, 2, order=order), want)


def test_order_is_respected():
    P = random_patterns(12, 30, seed=5)
    s = random_patterns(1, 30, seed=6)[0]
    forward = dense_settle(P, s, 2)
    backward = dense_settle(P, s, 2, order=np.arange(30)[::-1])
    np.testing.assert_array_equal(backward, settle(hebbian(P), None, s, np.arange(30)[::-1]))
    assert forward.shape == backward.shape == (30,) and forward.dtype == np.int8


def test_bad_input_is_refused_with_clear_messages():
    P = random_patterns(2, 5, seed=0)
    with pytest.raises(ValueError, match="k must"):
        dense_settle(P, P[0], k=1)
    with pytest.raises(ValueError, match="k must"):
        dense_energy(P, P[0], k="cosh")
    with pytest.raises(ValueError, match="-1 and \\+1"):
        dense_settle(P, np.zeros(5), 3)
    with pytest.raises(ValueError, match="shape"):
        dense_settle(P, np.ones(4), 3)
    with pytest.raises(ValueError, match="beta"):
        dense_settle(P, P[0], "exp", beta=-1)
    with pytest.raises(ValueError, match="too large"):
        dense_settle(random_patterns(4, 400, 0), np.ones(400), k=7)


# ----------------------------------------------------------------- modern Hopfield


@pytest.mark.parametrize("beta", [0.01, 0.1, 0.5, 2.0, 10.0])
@pytest.mark.parametrize("kind", ["spins", "gauss"])
def test_continuous_energy_never_rises_and_stops_at_a_fixed_point(beta, kind):
    rng = np.random.default_rng(int(beta * 100) + len(kind))
    for _ in range(10):
        if kind == "spins":
            X = random_patterns(12, 30, seed=int(rng.integers(1 << 30))).astype(float)
        else:
            X = rng.normal(size=(12, 30)) / math.sqrt(30) * 3
        xi = rng.normal(size=30)
        fixed, E, w = modern_retrieve(X, xi, beta, max_iter=2000, tol=1e-12)
        assert np.all(np.diff(E) <= 1e-9 * max(1.0, np.abs(E).max()))
        np.testing.assert_allclose(modern_update(X, fixed, beta), fixed, atol=1e-9)
        np.testing.assert_allclose(w, softmax_weights(X, fixed, beta))


def test_continuous_energy_equals_its_formula():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(5, 4))
    xi = rng.normal(size=4)
    beta = 0.8
    lse = math.log(sum(math.exp(beta * float(x @ xi)) for x in X))
    M2 = max(float(x @ x) for x in X)
    want = -lse / beta + 0.5 * float(xi @ xi) + math.log(5) / beta + 0.5 * M2
    assert modern_energy(X, xi, beta) == pytest.approx(want, rel=1e-12)
    # Large overlaps: the log-sum-exp form does not overflow.
    assert math.isfinite(modern_energy(1000 * X, 1000 * xi, 50.0))


def test_attention_with_keys_and_values_the_patterns_is_the_update():
    rng = np.random.default_rng(8)
    X = random_patterns(7, 25, seed=9).astype(float)
    queries = rng.normal(size=(6, 25))
    for beta in (0.0, 0.05, 0.3, 3.0):
        got = attention(queries, X, X, beta)
        want = np.stack([modern_update(X, q, beta) for q in queries])
        np.testing.assert_allclose(got, want, atol=1e-12)
        np.testing.assert_allclose(attention(queries[0], X, X, beta), want[0], atol=1e-12)
    # softmax(β q Kᵀ) V written out, with separate values.
    V = rng.normal(size=(7, 3))
    q = queries[0]
    z = 0.3 * (X @ q)
    w = np.exp(z - z.max())
    np.testing.assert_allclose(attention(q, X, V, 0.3), (w / w.sum()) @ V, atol=1e-12)


def test_three_kinds_of_fixed_point_chosen_by_beta():
    X = random_patterns(8, 64, seed=10).astype(float)
    xi = X[3].copy()
    xi[:12] *= -1  # a corrupted pattern 3
    # β = 0: equal weights; tiny β: the fixed point is the global average.
    np.testing.assert_allclose(softmax_weights(X, xi, 0.0), np.full(8, 1 / 8))
    fixed, _, w = modern_retrieve(X, xi, 1e-4)
    np.testing.assert_allclose(fixed, X.mean(axis=0), atol=1e-2)
    assert 1 / np.sum(w**2) > 7.9
    # Large β: pattern 3 itself.
    fixed, _, w = modern_retrieve(X, xi, 1.0)
    np.testing.assert_allclose(fixed, X[3], atol=1e-9)
    assert w[3] > 1 - 1e-9
    # In between, two near-twins share the weight (a metastable blend).
    Y = np.vstack([X, X[3]])
    Y[-1, 40:44] *= -1
    _, _, w = modern_retrieve(Y, xi, 0.1)
    assert 1.5 < 1 / np.sum(w**2) < 2.5 and w[3] + w[-1] > 0.95


# ------------------------------------------------------------------------ capacity


COUNTS = np.unique(np.round(2.0 ** (np.arange(0, 49) / 4)).astype(np.int64))
RECALLS = 1024


def test_theory_capacity_formulas():
    assert double_factorial(7) == 105 and double_factorial(1) == double_factorial(-1) == 1
    assert theory_capacity(100, 2) == pytest.approx(13.8)
    assert theory_capacity(20, 3) == pytest.approx(400 / (6 * math.log(20)))
    assert theory_capacity(24, 5) == pytest.approx(24**4 / (210 * math.log(24)))
    assert theory_capacity(24, "exp") == pytest.approx(2**12)
    assert theory_capacity(24, "exp", noise=0.1) < theory_capacity(24, "exp")
    assert half_capacity([1, 2, 4], [1.0, 1.0, 0.0]) == pytest.approx(2 * math.sqrt(2))
    assert half_capacity([1, 2], [1.0, 0.9]) == math.inf


def test_curves_are_seeded_and_share_their_patterns():
    counts = np.array([1, 3, 9, 40])
    a = dense_capacity_curve(20, counts, seed=5, noise=0.1)
    b = dense_capacity_curve(20, counts[::-1].copy(), kinds=(5, 2), seed=5, noise=0.1)
    for k in (2, 5):
        np.testing.assert_array_equal(a[k][0], b[k][0][::-1])
        np.testing.assert_array_equal(a[k][1], b[k][1][::-1])
    assert np.all(a["recalls"] >= 64)
    # Threads change nothing; progress rises to 1 on the calling thread.
    seen = []
    c = dense_capacity_curve(20, counts, seed=5, noise=0.1, n_workers=2, progress=seen.append)
    for k in DENSE_KINDS:
        np.testing.assert_array_equal(a[k][0], c[k][0])
        np.testing.assert_array_equal(a[k][1], c[k][1])
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    # One pattern is always recalled from itself.
    assert all(a[k][0][0] == 1.0 for k in DENSE_KINDS)


def test_the_reference_in_the_benchmark_computes_the_same_curves():
    from bench.reference import dense_capacity_curve_ref

    counts = np.array([1, 2, 5, 11, 23, 50])
    got = dense_capacity_curve(14, counts, DENSE_KINDS, noise=0.1, seed=3)
    want = dense_capacity_curve_ref(14, counts, DENSE_KINDS, noise=0.1, seed=3)
    for k in DENSE_KINDS:
        np.testing.assert_array_equal(got[k][0], want[k][0])
        np.testing.assert_allclose(got[k][1], want[k][1], rtol=1e-12)


def _crossings(n, k):
    """Half-capacity of energy k at n units, and its range when the curve is moved by three
    standard errors of a fraction estimated from RECALLS recalls (0.5 ± 3·sqrt(0.25/N))."""
    counts = COUNTS[COUNTS <= 4 * theory_capacity(n, k)]
    f = dense_capacity_curve(n, counts, kinds=(k,), seed=0, min_recalls=RECALLS)[k][0]
    band = 3 * math.sqrt(0.25 / RECALLS)
    return tuple(half_capacity(counts, f, 0.5 + d) for d in (-band, 0.0, band))


@pytest.mark.parametrize(("k", "n1", "n2"), [(2, 40, 120), (3, 16, 48), (5, 16, 32)])
def test_capacity_grows_with_the_theorys_power_of_n(k, n1, n2):
    """The measured capacity grows from n1 to n2 as n^(k-1) / ln n (classic: as n), not with
    the power one below or one above.

    The growth log(p_half(n2) / p_half(n1)) must lie nearer the theory's exponent than half
    the gap to either neighbour, with room for sampling: each p_half is uncertain by half
    its 3-standard-error band (see _crossings), and the two (independent) combine in
    quadrature.
    """
    lo1, mid1, hi1 = _crossings(n1, k)
    lo2, mid2, hi2 = _crossings(n2, k)
    measured = math.log(mid2 / mid1)
    sampling = math.hypot(math.log(lo1 / hi1) / 2, math.log(lo2 / hi2) / 2)
    log_factor = 0.0 if k == 2 else math.log(math.log(n1) / math.log(n2))
    theory = (k - 1) * math.log(n2 / n1) + log_factor
    half_gap = math.log(n2 / n1) / 2
    assert abs(measured - theory) + sampling < half_gap, (measured, theory, sampling)
    # At these small n, each measured half-point lies above the theory's count.
    assert mid1 > theory_capacity(n1, k) and mid2 > theory_capacity(n2, k)


def test_steeper_energies_store_more_on_the_same_patterns():
    counts = COUNTS[COUNTS <= 4096]
    curves = dense_capacity_curve(24, counts, seed=0)
    halves = [half_capacity(counts, curves[k][0]) for k in DENSE_KINDS]
    assert halves == sorted(halves) and len(set(halves)) == 4
    # exp: still (almost) all recalled up to its theory count 2^(n/2), the end of the plot.
    assert math.isinf(halves[-1])
    assert np.all(curves["exp"][0][counts <= theory_capacity(24, "exp")] >= 0.95)
