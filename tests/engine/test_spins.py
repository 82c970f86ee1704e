"""Tests for engine.spins: conventions, Hopfield dynamics and state naming."""

import itertools

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._rng import make_streams, next_u64
from engine.spins import (
    SHAPES,
    GlauberChain,
    _xoshiro_next,
    classify_states,
    describe_state,
    energy,
    glauber,
    hebbian,
    local_fields,
    local_minima,
    settle,
    settle_kernel,
    to_bits,
    to_spins,
)


def brute_energy(W, b, s):
    n = len(s)
    E = -sum(W[i, j] * s[i] * s[j] for i in range(n) for j in range(i + 1, n))
    return E - sum(b[i] * s[i] for i in range(n))


def random_network(rng, n, bias=True):
    W = rng.normal(size=(n, n))
    W = np.triu(W, 1)
    W = W + W.T
    b = rng.normal(size=n) if bias else np.zeros(n)
    return W, b


def shape_patterns(*names):
    return to_spins(np.array([SHAPES[k].ravel() for k in names]))


def test_shapes_are_the_documented_pictures():
    assert SHAPES["T"].tolist() == [[1, 1, 1], [0, 1, 0], [0, 1, 0]]
    assert SHAPES["L"].tolist() == [[1, 0, 0], [1, 0, 0], [1, 1, 1]]
    assert SHAPES["O"].tolist() == [[1, 1, 1], [1, 0, 1], [1, 1, 1]]
    assert all(a.dtype == np.int8 and a.shape == (3, 3) for a in SHAPES.values())


def test_spin_bit_conversions_round_trip():
    bits = np.array([[0, 1, 1], [1, 0, 0]])
    spins = to_spins(bits)
    assert spins.dtype == np.int8
    assert spins.tolist() == [[-1, 1, 1], [1, -1, -1]]
    assert to_bits(spins).tolist() == bits.tolist()
    assert to_bits(spins).dtype == np.int8
    with pytest.raises(ValueError):
        to_spins([0, 2])
    with pytest.raises(ValueError):
        to_bits([0, 1])


def test_hebbian_matches_the_formula():
    rng = np.random.default_rng(1)
    P = rng.choice([-1, 1], size=(3, 7))
    W = hebbian(P)
    expected = sum(np.outer(x, x) for x in P) / 7.0
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(W, expected, atol=1e-15)
    assert W.dtype == np.float64
    np.testing.assert_array_equal(hebbian(P[0]), hebbian(P[:1]))


def test_energy_and_fields_match_brute_force():
    rng = np.random.default_rng(2)
    W, b = random_network(rng, 6)
    S = rng.choice([-1, 1], size=(5, 6))
    E = energy(W, b, S)
    assert E.shape == (5,)
    for r in range(5):
        assert energy(W, b, S[r]) == pytest.approx(brute_energy(W, b, S[r]), abs=1e-12)
        assert E[r] == pytest.approx(brute_energy(W, b, S[r]), abs=1e-12)
    assert isinstance(energy(W, None, S[0]), float)
    assert energy(W, None, S[0]) == pytest.approx(brute_energy(W, np.zeros(6), S[0]))
    np.testing.assert_allclose(local_fields(W, b, S), S @ W + b)


def test_invalid_networks_are_rejected():
    with pytest.raises(ValueError, match="symmetric"):
        energy(np.array([[0.0, 1.0], [0.0, 0.0]]), None, [1, 1])
    with pytest.raises(ValueError, match="diagonal"):
        energy(np.eye(2), None, [1, 1])
    with pytest.raises(ValueError, match="-1/\\+1"):
        energy(np.zeros((2, 2)), None, [1, 0])
    with pytest.raises(ValueError, match="shape"):
        energy(np.zeros((2, 2)), np.zeros(3), [1, 1])


# The worked example of theory-notes.txt: store xi1 = (+1,+1,-1,-1) and xi2 = (+1,-1,+1,-1)
# and start from xi1 with its last bit flipped. The notes say asynchronous updates recover
# xi1, but that holds only for some update orders. Here w14 = w23 = -1/2 and all other
# weights are 0, so units 1 and 4 disagree with each other: whichever of the two is
# updated first decides the outcome. A teaching point worth keeping: a corrupted memory
# sits between basins, and the update order can pick a different attractor.
XI4 = np.array([[1, 1, -1, -1], [1, -1, 1, -1]])
START4 = np.array([1, 1, -1, 1], dtype=np.int8)


def test_four_neuron_example_unit_four_first_recovers_the_first_pattern():
    W = hebbian(XI4)
    out = settle(W, None, START4, order=[3, 0, 1, 2])
    np.testing.assert_array_equal(out, XI4[0])
    assert out.dtype == np.int8


def test_four_neuron_example_unit_one_first_lands_on_the_mirror_of_the_second():
    W = hebbian(XI4)
    out = settle(W, None, START4, order=[0, 1, 2, 3])
    np.testing.assert_array_equal(out, -XI4[1])
    np.testing.assert_array_equal(settle(W, None, START4), -XI4[1])  # default order
    assert describe_state(out, XI4) == ("mirror", 1, "mirror of 2")


def test_settle_keeps_dtype_and_handles_batches():
    W = hebbian(XI4)
    starts = np.array([START4, XI4[0], -XI4[0]])
    out = settle(W, None, starts.astype(np.float64), order=[3, 0, 1, 2])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [XI4[0], XI4[0], -XI4[0]])
    np.testing.assert_array_equal(starts[0], START4)  # input untouched


def test_zero_field_keeps_the_unit():
    # a single unit with no neighbours and no bias has a zero field: it must never move
    W = np.zeros((2, 2))
    for s in ([1, -1], [-1, 1], [1, 1]):
        np.testing.assert_array_equal(settle(W, None, s), s)
        s_final, trace = glauber(W, None, s, 0.0, 50, seed=0)
        np.testing.assert_array_equal(s_final, s)
        assert np.all(trace == 0.0)


def test_settle_kernel_is_callable_from_compiled_code():
    @numba.njit
    def settle_all(W, b, S):
        order = np.arange(W.shape[0])
        total = 0
        for r in range(S.shape[0]):
            total += settle_kernel(W, b, S[r], order, 100)
        return total

    W = hebbian(shape_patterns("T", "L"))
    S = np.random.default_rng(3).choice([-1.0, 1.0], size=(20, 9))
    expected = settle(W, None, S)
    sweeps = settle_all(W, np.zeros(9), S)
    np.testing.assert_array_equal(S, expected)
    assert sweeps >= 20  # every row needs at least the final quiet sweep


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 12), seed=st.integers(0, 2**32 - 1), bias=st.booleans())
def test_energy_never_rises_at_zero_temperature(n, seed, bias):
    rng = np.random.default_rng(seed)
    W, b = random_network(rng, n, bias)
    s = rng.choice([-1, 1], size=n)
    E0 = energy(W, b, s)
    s_final, trace = glauber(W, b, s, 0.0, 20 * n, seed=seed)
    steps = np.diff(np.concatenate([[E0], trace]))
    assert np.all(steps <= 1e-12)
    assert trace[-1] == pytest.approx(energy(W, b, s_final), abs=1e-9)
    fixed = settle(W, b, s)
    assert energy(W, b, fixed) <= E0 + 1e-12
    # a fixed point of the T = 0 rule: no single flip lowers the energy
    assert np.all(fixed * local_fields(W, b, fixed) >= -1e-12)


def test_zero_fields_stay_ties_despite_rounding():
    # 1/9 is not exact in binary, so in the T/L/O network a field that is zero on paper can
    # come out as ~1e-17. Compare every single-unit update against exact integer fields.
    P = shape_patterns("T", "L", "O")
    W = hebbian(P)
    W9 = P.T.astype(np.int64) @ P.astype(np.int64)  # 9 W in exact integers
    np.fill_diagonal(W9, 0)
    states = np.array(list(itertools.product([-1, 1], repeat=9)), dtype=np.int8)
    exact_h = states.astype(np.int64) @ W9
    assert np.any((exact_h == 0) & (np.abs(states @ W) > 0))  # rounding really bites here
    for s, h in zip(states, exact_h, strict=True):
        for i in range(9):
            expected = s.copy()
            if h[i] != 0:
                expected[i] = np.sign(h[i])
            np.testing.assert_array_equal(settle(W, None, s, order=[i]), expected)


def test_glauber_trace_and_seeds():
    rng = np.random.default_rng(4)
    W, b = random_network(rng, 8)
    s = rng.choice([-1, 1], size=8).astype(np.int8)
    s1, t1 = glauber(W, b, s, 1.3, 500, seed=7)
    s2, t2 = glauber(W, b, s, 1.3, 500, seed=7)
    s3, t3 = glauber(W, b, s, 1.3, 500, seed=8)
    assert s1.dtype == np.int8 and t1.shape == (500,) and t1.dtype == np.float64
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(t1, t2)
    assert not np.array_equal(t1, t3)
    assert t1[-1] == pytest.approx(energy(W, b, s1), abs=1e-9)
    # each update flips at most one unit, so the trace moves by one flip's worth at a time
    jumps = np.abs(np.diff(t1))
    assert np.all((jumps < 1e-12) | (jumps > 1e-6))


def test_glauber_strong_fields_are_deterministic():
    # |2h/T| > 40 takes the short cut that skips exp; the outcome must still be right
    W = np.zeros((3, 3))
    b = np.array([50.0, -50.0, 50.0])
    s_final, _ = glauber(W, b, [-1, 1, -1], 1.0, 200, seed=0)
    np.testing.assert_array_equal(s_final, [1, -1, 1])


def test_glauber_chain_in_chunks_equals_one_call():
    rng = np.random.default_rng(5)
    W, b = random_network(rng, 9)
    s = rng.choice([-1, 1], size=9)
    _, whole = glauber(W, b, s, 0.8, 300, seed=11)
    chain = GlauberChain(W, b, s, 0.8, seed=11)
    parts = [chain.run(k) for k in (5, 50, 9, 236)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert chain.n_updates == 300
    assert chain.energy == pytest.approx(energy(W, b, chain.s), abs=1e-9)
    assert chain.s.dtype == np.int8
    # changing T and s between chunks
    chain.T = 0.0
    chain.s = -chain.s
    assert chain.energy == pytest.approx(energy(W, b, chain.s), abs=1e-12)
    chain.run(200)
    assert np.all(chain.s * local_fields(W, b, chain.s) >= -1e-12)
    with pytest.raises(ValueError):
        chain.T = -1.0


def test_a_shared_stream_array_continues_the_sequence():
    rng = np.random.default_rng(6)
    W, b = random_network(rng, 5)
    s = np.ones(5)
    stream = make_streams(21, 1)
    _, whole = glauber(W, b, s, 1.0, 100, seed=make_streams(21, 1))
    s_mid, first = glauber(W, b, s, 1.0, 40, seed=stream)
    _, second = glauber(W, b, s_mid, 1.0, 60, seed=stream)
    np.testing.assert_array_equal(np.concatenate([first, second]), whole)


def test_register_xoshiro_matches_the_stream_module():
    @numba.njit
    def both(states, k):
        a = np.empty(k, dtype=np.uint64)
        b = np.empty(k, dtype=np.uint64)
        s0, s1, s2, s3 = states[1, 0], states[1, 1], states[1, 2], states[1, 3]
        for t in range(k):
            b[t], s0, s1, s2, s3 = _xoshiro_next(s0, s1, s2, s3)
        for t in range(k):
            a[t] = next_u64(states, 0)
        return a, b

    states = make_streams(5, 1)
    states = np.vstack([states, states])
    a, b = both(states, 50)
    np.testing.assert_array_equal(a, b)


def test_classify_and_describe():
    P = shape_patterns("T", "L", "O")
    S = np.array([P[0], -P[1], P[2], -P[0], P[0] * np.array([-1] + [1] * 8)])
    np.testing.assert_array_equal(classify_states(S, P), [0, 4, 2, 3, -1])
    assert int(classify_states(P[1], P)) == 1
    names = ["T", "L", "O"]
    assert describe_state(P[0], P, names) == ("memory", 0, "memory T")
    assert describe_state(-P[1], P, names) == ("mirror", 1, "mirror of L")
    assert describe_state(S[-1], P, names) == ("spurious", -1, "spurious")


def test_tl_network_has_exactly_four_local_minima():
    P = shape_patterns("T", "L")
    minima = local_minima(hebbian(P))
    assert minima.dtype == np.int8 and minima.shape == (4, 9)
    found = {tuple(m) for m in minima}
    assert found == {tuple(P[0]), tuple(P[1]), tuple(-P[0]), tuple(-P[1])}


def test_local_minima_match_brute_force():
    rng = np.random.default_rng(7)
    for n in (3, 5, 7):
        W, b = random_network(rng, n)
        expected = []
        for bits in itertools.product([-1, 1], repeat=n):
            s = np.array(bits)
            E = brute_energy(W, b, s)
            flips = [brute_energy(W, b, s * np.where(np.arange(n) == i, -1, 1)) for i in range(n)]
            if min(flips) >= E:
                expected.append(bits)
        # itertools.product with [-1, 1] enumerates in the documented state order
        assert [tuple(m) for m in local_minima(W, b)] == expected


def test_projection_rule_makes_tlo_equally_deep_and_reduces_to_hebb_when_orthogonal():
    from engine import SHAPES, energy, local_minima, projection_rule, settle, to_spins

    P = to_spins(np.stack([SHAPES[k].ravel() for k in "TLO"])).astype(float)
    W = projection_rule(P)
    b = np.zeros(9)
    np.testing.assert_allclose(W, W.T)
    assert np.all(np.diag(W) == 0)
    E = energy(W, b, P)
    np.testing.assert_allclose(E, E[0])  # equal depths (plain Hebb gives L deeper)
    for xi in P:  # each memory is a fixed point
        np.testing.assert_array_equal(settle(W, b, xi), xi)
    # Its lowest minima are exactly the three memories and their mirrors.
    mins = local_minima(W, b).astype(float)
    Emins = energy(W, b, mins)
    ground = mins[np.isclose(Emins, Emins.min())]
    expected = {tuple(x) for x in np.vstack([P, -P])}
    assert {tuple(x) for x in ground} == expected
    # Orthogonal patterns: identical to Hebb's rule.
    H = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1]], dtype=float)
    np.testing.assert_allclose(projection_rule(H), hebbian(H), atol=1e-12)
    with pytest.raises(ValueError):
        projection_rule(np.vstack([P[0], P[0]]))
