"""The random-site heat-bath kernel against straightforward references.

``engine.spins._chain_kernel`` decides most updates from a table that brackets
``logit(u)`` and defers up to two flips before updating the fields in one pass. Both are
meant to change nothing: these tests replay the engine's random stream through plain
loops (fields recomputed from scratch at every update, the acceptance written as
``u < sigmoid(2h/T)``) and check the decision rule at and around its exact thresholds.
"""

import math

import numba
import numpy as np
import pytest

from engine._rng import make_streams, next_u64
from engine.spins import (
    _LOGIT_BITS,
    _LOGIT_BRACKETS,
    FIELD_TOL,
    TRACE_EACH_BLOCK,
    GlauberChain,
    _chain_kernel,
    _heat_bath_spin,
    energy,
    glauber,
)


def _random_network(n, seed, bias=0.3):
    """SK-like couplings: Gaussian, variance 1/n, symmetric, zero diagonal."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    W = np.triu(A, 1)
    W = W + W.T
    return W, bias * rng.standard_normal(n)


def _random_state(n, seed):
    return np.where(np.random.default_rng(seed).random(n) < 0.5, -1, 1).astype(np.int8)


# Helpers that call engine kernels are not cached: numba's cache is keyed on this file
# alone, so a cached copy would keep testing an old engine.spins after it changes.
@numba.njit
def _reference_run(W, b, s, temps, block, streams):
    """One update per random word, the plainest way: the field from scratch, then
    ``u < sigmoid(2h/T)`` (or the sign rule at T = 0). Returns the energy after every
    update (each flip changes it by ``2 s_i h_i``, with that from-scratch field)."""
    n = s.shape[0]
    scale = 0.0
    for i in range(n):
        scale = max(scale, np.sum(np.abs(W[i])))
    tol = FIELD_TOL * (scale + np.max(np.abs(b)))
    trace = np.empty(temps.shape[0] * block)
    E = -0.5 * np.sum(s * (W @ s)) - np.sum(b * s)
    t = 0
    for T in temps:
        for _ in range(block):
            word = next_u64(streams, 0)
            i = np.int64(((word >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))
            u = ((word & np.uint64(0xFFFFFFFF)) + 0.5) / 4294967296.0
            h = b[i]
            for j in range(n):
                h += W[i, j] * s[j]
            new = s[i]
            if T > 0.0:
                new = 1.0 if u < 1.0 / (1.0 + math.exp(-2.0 * h / T)) else -1.0
            elif h > tol:
                new = 1.0
            elif h < -tol:
                new = -1.0
            if new != s[i]:
                E += 2.0 * s[i] * h
                s[i] = new
            trace[t] = E
            t += 1
    return trace


@pytest.mark.parametrize("n", [40, 300, 700])  # no, one and two deferred flips
@pytest.mark.parametrize("T", [1.0, 0.3, 0.0])
def test_glauber_replays_a_plain_reference_loop(n, T):
    W, b = _random_network(n, seed=n)
    s0 = _random_state(n, 1)
    n_updates = 20_000
    s_e, trace_e = glauber(W, b, s0, T, n_updates, 7)
    s_r = s0.astype(np.float64)
    trace_r = _reference_run(W, b, s_r, np.array([T]), n_updates, make_streams(7, 1))
    assert np.array_equal(s_e, s_r.astype(np.int8))
    np.testing.assert_allclose(trace_e, trace_r, rtol=0, atol=1e-9 * np.abs(trace_r).max())
    assert np.count_nonzero(np.diff(trace_r)) > (0 if T == 0 else 200)  # flips happened


def test_a_temperature_schedule_replays_the_reference():
    # Several temperatures in one call (as anneal does), energies after each block only.
    n, block = 600, 600
    W, b = _random_network(n, seed=3)
    temps = np.array([3.0, 2.0, 1.0, 0.5, 0.2, 0.05, 0.0])
    s = _random_state(n, 2).astype(np.float64)
    h = W @ s + b
    E0 = energy(W, b, s)
    trace = np.empty(temps.size)
    tol = FIELD_TOL * (np.abs(W).sum(axis=1).max() + np.abs(b).max())
    E = _chain_kernel(W, s, h, E0, temps, block, tol, make_streams(11, 1), 0, trace, 2)
    assert TRACE_EACH_BLOCK == 2
    s_r = _random_state(n, 2).astype(np.float64)
    trace_r = _reference_run(W, b, s_r, temps, block, make_streams(11, 1))
    assert np.array_equal(s, s_r)
    np.testing.assert_allclose(trace, trace_r[block - 1 :: block], rtol=0, atol=1e-9 * abs(E0))
    assert E == trace[-1]
    # no flip is left pending: the fields on return are those of the final state
    np.testing.assert_allclose(h, W @ s + b, rtol=0, atol=1e-12 * n)


@pytest.mark.parametrize("n", [300, 1000])
@pytest.mark.parametrize("T", [1.0, 0.3])
def test_long_run_energy_trace_matches_a_fresh_energy(n, T):
    W, b = _random_network(n, seed=5 + n)
    chain = GlauberChain(W, b, _random_state(n, 4), T, seed=9)
    for chunk in (1, 2, 3, 99_994, 100_000):  # 200k updates, chunks of odd lengths
        trace = chain.run(chunk)
        E = energy(W, b, chain.s)
        assert trace[-1] == chain.energy
        assert abs(chain.energy - E) <= 1e-9 * abs(E)
        np.testing.assert_allclose(chain._h, W @ chain.s + b, rtol=0, atol=1e-9)
    assert chain.n_updates == 200_000
    # the trace moved: a share of the last chunk's updates were flips
    assert np.count_nonzero(np.diff(trace)) > 1000


@numba.njit
def _decisions(h, half_T, words):
    """(kernel rule, exact rule ``h > half_T logit(u)``) for every pair h[k], words[k]."""
    fast = np.empty(h.shape[0], np.bool_)
    exact = np.empty(h.shape[0], np.bool_)
    for k in range(h.shape[0]):
        fast[k] = _heat_bath_spin(h[k], -1.0, half_T, 0.0, words[k]) > 0.0
        u = ((words[k] & np.uint64(0xFFFFFFFF)) + 0.5) * (1.0 / 4294967296.0)
        exact[k] = h[k] > half_T * math.log(u / (1.0 - u))
    return fast, exact


@numba.njit(cache=True)
def _thresholds(half_T, words):
    out = np.empty(words.shape[0])
    for k in range(words.shape[0]):
        u = ((words[k] & np.uint64(0xFFFFFFFF)) + 0.5) * (1.0 / 4294967296.0)
        out[k] = half_T * math.log(u / (1.0 - u))
    return out


@pytest.mark.parametrize("half_T", [1e-300, 1e-250, 3e-7, 0.15, 0.5, 1.0, 17.0, 1e249, 1e280])
def test_bracketed_decision_equals_the_exact_rule_at_its_thresholds(half_T):
    # The 32-bit words at both ends of every bracket, plus random ones; the fields at the
    # kernel's rounded threshold, one ulp either side, and a bracket's width either side.
    width = 1 << (32 - _LOGIT_BITS)
    k = np.arange(1 << _LOGIT_BITS, dtype=np.uint64)
    rng = np.random.default_rng(0)
    low = np.concatenate(
        [k * np.uint64(width), (k + np.uint64(1)) * np.uint64(width) - np.uint64(1)]
    )
    low = np.concatenate([low, rng.integers(0, 2**32, 4000, dtype=np.uint64)])
    words = low | (rng.integers(0, 2**32, low.size, dtype=np.uint64) << np.uint64(32))
    thr = _thresholds(half_T, words)
    step = half_T * np.diff(_LOGIT_BRACKETS, axis=1)[:, 0].min()
    fields = [
        thr,
        np.nextafter(thr, np.inf),
        np.nextafter(thr, -np.inf),
        thr + step,
        thr - step,
        thr * (1 + 1e-12),
        thr * (1 - 1e-12),
    ]
    for h in fields:
        fast, exact = _decisions(h, half_T, words)
        assert np.array_equal(fast, exact)
    # the fields straddle the rounded thresholds: the rule is strict (h > threshold)
    assert not _decisions(fields[0], half_T, words)[1].any()
    assert _decisions(fields[1], half_T, words)[1].all()


def test_brackets_hold_the_logit_of_every_word_they_cover():
    width = 1 << (32 - _LOGIT_BITS)
    k = np.arange(1 << _LOGIT_BITS, dtype=np.uint64)
    first = _thresholds(1.0, k * np.uint64(width))
    last = _thresholds(1.0, (k + np.uint64(1)) * np.uint64(width) - np.uint64(1))
    lo, hi = _LOGIT_BRACKETS[:, 0], _LOGIT_BRACKETS[:, 1]
    assert np.all(lo < first) and np.all(last < hi)
    # tight: wider than the true range only by the documented 1e-9 (1 + |logit|) margin
    assert np.all(first - lo <= 1.01e-9 * (1 + np.abs(first)))
    assert np.all(hi - last <= 1.01e-9 * (1 + np.abs(last)))
    assert np.all(np.diff(lo) > 0) and np.all(np.diff(hi) > 0)
