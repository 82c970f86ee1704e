"""Exact Boltzmann statistics of small networks, by enumerating every state.

For ``n <= 20`` units there are at most 2^20 (about a million) states, few enough to list.
The probability of a state is ``p(s) = exp(-E(s)/T) / Z``.

State order (used by every function here and by :func:`engine.spins.local_minima`):
state index ``k`` has ``s_i = +1`` exactly when bit ``n-1-i`` of ``k`` is set, so unit 0
is the most significant bit, index 0 is all -1 and index ``2^n - 1`` is all +1. This is
the order of ``itertools.product([-1, 1], repeat=n)``.

Temperature ``T = 0`` is accepted as the limit ``T -> 0+``: the distribution is uniform
over the ground states (energies within a rounding tolerance of the minimum), the free
energy and mean energy equal the ground energy, and the entropy is ``log(#ground states)``.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from numba.core import types
from numba.extending import intrinsic

from ._checks import temperature as check_temperature
from ._jit import jit
from .spins import (
    FIELD_TOL,
    NO_TRACE,
    _chain_kernel,
    _check_network,
    _field_scale,
    _fields_into,
    _gray_enumerate,
    _random_spins,
    as_stream,
)

__all__ = [
    "BoltzmannStats",
    "empirical_distribution",
    "entropy",
    "exact_boltzmann",
    "exact_moments",
    "exact_stats",
    "free_energy",
    "log_partition",
    "mean_energy",
    "sample_states",
    "state_index",
    "tv_distance",
]

MAX_UNITS = 20


@jit(nogil=True)
def _fill_states(out):
    """out[k] = state k in the documented order (int8 ±1)."""
    N, n = out.shape
    for k in range(N):
        for i in range(n):
            out[k, i] = 1 if (k >> (n - 1 - i)) & 1 else -1


def _all_states(n: int) -> np.ndarray:
    out = np.empty((1 << n, n), dtype=np.int8)
    _fill_states(out)
    out.flags.writeable = False
    return out


_small_states = functools.lru_cache(maxsize=None)(_all_states)  # n <= 16: <= 1 MiB each
_large_states = functools.lru_cache(maxsize=1)(_all_states)  # n = 17..20: up to 20 MiB


def _states(n: int) -> np.ndarray:
    """The read-only table of all 2^n states, built once per n and then shared."""
    return _small_states(n) if n <= 16 else _large_states(n)


def _check_small(W, b):
    W, b = _check_network(W, b)
    n = W.shape[0]
    if n > MAX_UNITS:
        raise ValueError(f"exact enumeration needs n <= {MAX_UNITS} units, got {n}")
    return W, b


_LOW_BITS = 10  # the low block's 2^10 energies (8 KiB) stay in L1 while a row is filled


@jit(nogil=True)
def _block_energies(W, b, e_low, out):
    """Energies of all states, split into high units 0..nh-1 and low units nh..n-1.

    ``e_low`` holds the energies of the low block alone (its couplings and biases), in
    index order. The high block is walked in Gray-code order, keeping its own fields ``g``
    and the fields ``f`` it puts on the low units up to date in O(n) per step. For each
    high state, ``E = E_high - sum_j f_j s_j + e_low`` is written for the whole row of low
    states with vectorisable loops. Each energy is a short sum, so there is no drift
    along the walk.
    """
    n = W.shape[0]
    m = 0
    while (1 << m) < e_low.shape[0]:
        m += 1
    nh = n - m
    L = 1 << m
    slo = np.empty((m, L))  # slo[j, lo] = spin of low unit j in low state lo
    for j in range(m):
        for lo in range(L):
            slo[j, lo] = 1.0 if (lo >> (m - 1 - j)) & 1 else -1.0
    s = -np.ones(nh)
    g = np.empty(nh)
    f = np.zeros(m)
    e_high = 0.0
    for i in range(nh):
        acc = b[i]
        for k in range(nh):
            acc += W[i, k] * s[k]
        g[i] = acc
        e_high -= 0.5 * s[i] * (acc + b[i])
        for j in range(m):
            f[j] += W[i, nh + j] * s[i]
    for t in range(1 << nh):
        if t > 0:
            bit = 0
            while not (t >> bit) & 1:
                bit += 1
            i = nh - 1 - bit
            e_high += 2.0 * s[i] * g[i]
            s[i] = -s[i]
            c = 2.0 * s[i]
            for k in range(nh):
                g[k] += c * W[i, k]
            for j in range(m):
                f[j] += c * W[i, nh + j]
        base = (t ^ (t >> 1)) << m
        row = out[base : base + L]
        for lo in range(L):
            row[lo] = e_high + e_low[lo]
        for j in range(m):
            fj = f[j]
            for lo in range(L):
                row[lo] -= fj * slo[j, lo]


def _energies(W, b):
    """Energy of every state (documented order) and the tolerance for energy ties."""
    n = W.shape[0]
    m = min(n, _LOW_BITS)
    e_low = np.empty(1 << m)
    tol = _gray_enumerate(W[n - m :, n - m :].copy(), b[n - m :].copy(), e_low, _NO_FLAGS)
    if m == n:
        energies = e_low
    else:
        energies = np.empty(1 << n)
        _block_energies(W, b, e_low, energies)
        tol = FIELD_TOL * float(_field_scale(W, b))
    # every field is below scale and every energy below n * scale: ties are within n * tol
    return energies, n * tol


_NO_FLAGS = np.empty(0, dtype=np.bool_)


# exp(x) for x <= 0 as 2^k * exp(r), |r| <= ln2 / 2, written so LLVM vectorises it: the
# libm exp that numpy and numba call costs about 5 ns a value, most of the n = 20 budget.
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split in two so k * ln2 stays exact
_LN2_LO = 1.90821492927058770002e-10
_SHIFTER = 6755399441055744.0  # 1.5 * 2^52: adding it rounds to an integer in the low bits
_SHIFTER_BITS = 0x4338000000000000
_EXP_FLOOR = -708.0  # exp(-708) ~ 3e-308 is still a normal double
_INV_FACT = tuple(1.0 / math.factorial(k) for k in range(14))


@intrinsic
def _f64_bits(typingctx, x):
    """The IEEE bits of a float64 as an int64 (a free reinterpretation)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return types.int64(types.float64), codegen


@intrinsic
def _bits_f64(typingctx, x):
    """The float64 whose IEEE bits are the int64 x."""
    if x != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.int64), codegen


@jit(inline="always", nogil=True, fastmath={"contract"})
def _exp_nonpositive_scalar(x):
    """exp(x) for x <= 0 (x < -708 gives 0), relative error about 1e-16.

    A degree-13 Taylor polynomial on |r| <= ln2 / 2 (truncation error < 1e-17) times 2^k
    built from the exponent bits, branch-free so loops calling it run on SIMD lanes.
    (``contract`` only lets the compiler fuse multiply-adds.)
    """
    c = _INV_FACT
    keep = 1.0 if x >= _EXP_FLOOR else 0.0
    x = max(x, _EXP_FLOOR)
    kk = x * _LOG2E + _SHIFTER
    k = kk - _SHIFTER
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = c[13]
    p = p * r + c[12]
    p = p * r + c[11]
    p = p * r + c[10]
    p = p * r + c[9]
    p = p * r + c[8]
    p = p * r + c[7]
    p = p * r + c[6]
    p = p * r + c[5]
    p = p * r + c[4]
    p = p * r + c[3]
    p = p * r + c[2]
    p = p * r + c[1]
    p = p * r + c[0]
    return p * _bits_f64((_f64_bits(kk) - _SHIFTER_BITS + 1023) << 52) * keep


@jit(nogil=True, fastmath={"contract"})
def _boltzmann_weights(energies, e_min, T, out):
    """out[k] = exp(-(E_k - e_min) / T) for T > 0 (out may be energies itself)."""
    neg_beta = -1.0 / T
    for k in range(energies.shape[0]):
        out[k] = _exp_nonpositive_scalar((energies[k] - e_min) * neg_beta)


def _exp_nonpositive(x, out):
    """out = exp(x) for x <= 0, through the same compiled code (used by the tests)."""
    _boltzmann_weights(x, 0.0, -1.0, out)


def _weights(energies, T, tie_tol):
    """Unnormalised weights exp(-(E - Emin)/T) (all <= 1, max exactly 1; new array), Emin.

    At T = 0 the weights are 1 on the ground states and 0 elsewhere.
    """
    e_min = float(energies.min())
    if T == 0.0:
        return (energies <= e_min + tie_tol).astype(np.float64), e_min
    w = np.empty_like(energies)
    _boltzmann_weights(energies, e_min, T, w)
    return w, e_min


def exact_boltzmann(W, b, T):
    """Every state of a small network with its energy and exact Boltzmann probability.

    Parameters
    ----------
    W : array_like, shape (n, n), symmetric, zero diagonal, n <= 20
    b : array_like, shape (n,), or None
    T : float, >= 0 (0 means the limit T -> 0+: uniform over the ground states)

    Returns
    -------
    states : ndarray of int8, shape (2^n, n)
        All ±1 states in the documented order (see the module notes). This is a shared,
        read-only table (built once per n and cached); copy it before writing to it.
    energies : ndarray of float64, shape (2^n,)
    probs : ndarray of float64, shape (2^n,), summing to 1

    Notes
    -----
    The energies come from a compiled Gray-code walk (each step flips one unit and costs
    O(n)), and the normalisation subtracts the minimum energy first, so no weight
    overflows and the largest weight is exactly 1 whatever the temperature.
    """
    W, b = _check_small(W, b)
    T = check_temperature(T)
    energies, tie_tol = _energies(W, b)
    probs, _ = _weights(energies, T, tie_tol)
    probs *= 1.0 / probs.sum()
    return _states(W.shape[0]), energies, probs


@jit(nogil=True)
def _moments(states, probs):
    """m_i = sum_k p_k s_ki and C_ij = sum_k p_k s_ki s_kj (diagonal 1)."""
    N, n = states.shape
    m = np.zeros(n)
    C = np.zeros((n, n))
    for k in range(N):
        pk = probs[k]
        if pk == 0.0:
            continue
        for i in range(n):
            ps = pk * states[k, i]
            m[i] += ps
            for j in range(i + 1, n):
                C[i, j] += ps * states[k, j]
    for i in range(n):
        C[i, i] = 1.0
        for j in range(i + 1, n):
            C[j, i] = C[i, j]
    return m, C


class BoltzmannStats(NamedTuple):
    """Everything :func:`exact_stats` computes in one enumeration.

    ``states`` (2^n, n) int8 is the shared read-only state table (copy before writing);
    ``energies`` and ``probs`` are (2^n,) float64; ``m`` is (n,) with
    ``m_i = <s_i>``; ``C`` is (n, n) with ``C_ij = <s_i s_j>`` (diagonal 1).
    """

    states: np.ndarray
    energies: np.ndarray
    probs: np.ndarray
    log_z: float
    free_energy: float
    mean_energy: float
    entropy: float
    m: np.ndarray
    C: np.ndarray


def exact_stats(W, b, T) -> BoltzmannStats:
    """All exact equilibrium statistics at once (one enumeration; cheap for n around 9).

    Parameters
    ----------
    W : array_like, shape (n, n), symmetric, zero diagonal, n <= 20
    b : array_like, shape (n,), or None
    T : float, >= 0

    Returns
    -------
    BoltzmannStats
        ``log_z = log Z``, ``free_energy = -T log Z``, ``mean_energy = <E>``,
        ``entropy = (<E> - F) / T = -sum p log p`` (natural log), moments ``m`` and ``C``.
        At ``T = 0``: ``log_z`` is ``-E_min * inf`` (``+inf`` below zero, ``-inf`` above,
        ``log g`` when ``E_min = 0``), ``free_energy = mean_energy = E_min`` and
        ``entropy = log g`` with ``g`` the number of ground states.
    """
    W, b = _check_small(W, b)
    T = check_temperature(T)
    n = W.shape[0]
    energies, tie_tol = _energies(W, b)
    w, e_min = _weights(energies, T, tie_tol)
    z_rel = float(w.sum())
    probs = w / z_rel
    mean_e = float(probs @ energies)
    states = _states(n)
    m, C = _moments(states, probs)
    if T == 0.0:
        log_z = np.log(z_rel) if e_min == 0.0 else float(-np.sign(e_min) * np.inf)
        return BoltzmannStats(states, energies, probs, log_z, e_min, e_min, np.log(z_rel), m, C)
    log_z = -e_min / T + np.log(z_rel)
    # -sum p log p with log p = -(E - Emin)/T - log z_rel: no log(0) for tiny probabilities
    ent = (mean_e - e_min) / T + np.log(z_rel)
    return BoltzmannStats(states, energies, probs, log_z, -T * log_z, mean_e, ent, m, C)


def log_partition(W, b, T) -> float:
    """``log Z`` at temperature ``T > 0`` (natural log), computed stably."""
    if check_temperature(T) == 0.0:
        raise ValueError("log Z diverges at T = 0; use free_energy (= ground energy) instead")
    return float(exact_stats(W, b, T).log_z)


def free_energy(W, b, T) -> float:
    """Free energy ``F = -T log Z`` (the ground energy at ``T = 0``)."""
    return float(exact_stats(W, b, T).free_energy)


def mean_energy(W, b, T) -> float:
    """Exact mean energy ``<E>`` under the Boltzmann distribution."""
    return float(exact_stats(W, b, T).mean_energy)


def entropy(W, b, T) -> float:
    """Entropy ``S = (<E> - F) / T = -sum_s p(s) log p(s)`` in nats (``log g`` at T = 0)."""
    return float(exact_stats(W, b, T).entropy)


def exact_moments(W, b, T):
    """Exact moments ``m_i = <s_i>`` (shape (n,)) and ``C_ij = <s_i s_j>`` (shape (n, n)).

    ``C`` has ones on the diagonal. Both are float64. For several statistics at once call
    :func:`exact_stats`, which enumerates the states only once.
    """
    stats = exact_stats(W, b, T)
    return stats.m, stats.C


# ----------------------------------------------------------------------------------------
# indices, histograms, distances
# ----------------------------------------------------------------------------------------


def state_index(S):
    """Index of each ±1 state in the documented order.

    Parameters
    ----------
    S : array_like of -1/+1, shape (n,) or (R, n), n <= 62

    Returns
    -------
    int for a single state, ndarray of int64 with shape (R,) for a batch
    """
    a = np.asarray(S)
    if a.ndim not in (1, 2) or a.shape[-1] == 0 or a.shape[-1] > 62:
        raise ValueError(f"S must have shape (n,) or (R, n) with 1 <= n <= 62, got {a.shape}")
    if not np.all(np.abs(a) == 1):
        raise ValueError("S must contain only -1/+1 values")
    n = a.shape[-1]
    weights = np.left_shift(np.int64(1), np.arange(n - 1, -1, -1, dtype=np.int64))
    idx = (a > 0).astype(np.int64) @ weights
    return int(idx) if a.ndim == 1 else idx


def empirical_distribution(S_or_indices, n: int) -> np.ndarray:
    """Relative frequency of each of the 2^n states.

    Parameters
    ----------
    S_or_indices : array_like
        Either states, shape (R, n) of ±1, or state indices, shape (R,) of integers in
        ``[0, 2^n)``.
    n : int, number of units (<= 20)

    Returns
    -------
    freq : ndarray of float64, shape (2^n,), summing to 1 (all zeros if R = 0)
    """
    n = int(n)
    if not 1 <= n <= MAX_UNITS:
        raise ValueError(f"n must be in [1, {MAX_UNITS}], got {n}")
    a = np.asarray(S_or_indices)
    if a.ndim == 2:
        if a.shape[1] != n:
            raise ValueError(f"states must have {n} columns, got {a.shape[1]}")
        idx = state_index(a) if a.shape[0] else np.zeros(0, dtype=np.int64)
    elif a.ndim == 1:
        if a.size and (a.dtype.kind not in "iu" or a.min() < 0 or a.max() >= 1 << n):
            raise ValueError(f"indices must be integers in [0, 2^{n})")
        idx = a.astype(np.int64)
    else:
        raise ValueError("pass states (R, n) or indices (R,)")
    counts = np.bincount(idx, minlength=1 << n).astype(np.float64)
    return counts / counts.sum() if idx.size else counts


def tv_distance(p, q) -> float:
    """Total-variation distance ``1/2 sum |p - q|`` between two distributions (same shape)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"distributions differ in shape: {p.shape} vs {q.shape}")
    return 0.5 * float(np.abs(p - q).sum())


# ----------------------------------------------------------------------------------------
# sampling
# ----------------------------------------------------------------------------------------


@jit(nogil=True)
def _sample_kernel(W, b, s, T, tol, burn_in, between, streams, out):
    h = np.empty(s.shape[0])
    E = _fields_into(W, b, s, h)
    no_trace = np.empty(0)
    temps = np.array([T])
    E = _chain_kernel(W, s, h, E, temps, burn_in, tol, streams, 0, no_trace, NO_TRACE)
    for k in range(out.shape[0]):
        E = _chain_kernel(W, s, h, E, temps, between, tol, streams, 0, no_trace, NO_TRACE)
        for i in range(s.shape[0]):
            out[k, i] = np.int8(s[i])


def sample_states(
    W, b, T, n_samples, seed=None, updates_between=None, burn_in=None, s0=None
) -> np.ndarray:
    """Draw states from one random-site heat-bath chain (Gibbs sampling).

    Parameters
    ----------
    W : array_like, shape (n, n), symmetric, zero diagonal
    b : array_like, shape (n,), or None
    T : float, >= 0
    n_samples : int, >= 0
    seed : int, numpy.random.Generator, None, or uint64 stream array
    updates_between : int, optional
        Single-site updates between recorded samples (default ``n``: one sweep's worth).
    burn_in : int, optional
        Updates before the first sample is taken (default ``100 n``).
    s0 : array_like of ±1, shape (n,), optional
        Starting state (default: uniformly random, drawn from the same stream).

    Returns
    -------
    samples : ndarray of int8, shape (n_samples, n)
        Successive samples are correlated; for a histogram that converges to the exact
        distribution, compare with :func:`exact_boltzmann` via :func:`tv_distance`.
    """
    W, b = _check_network(W, b)
    n = W.shape[0]
    T = check_temperature(T)
    n_samples = int(n_samples)
    between = n if updates_between is None else int(updates_between)
    burn = 100 * n if burn_in is None else int(burn_in)
    if n_samples < 0 or between < 1 or burn < 0:
        raise ValueError("need n_samples >= 0, updates_between >= 1 and burn_in >= 0")
    streams = as_stream(seed)
    if s0 is None:
        s = np.empty(n)
        _random_spins(streams, 0, s)
    else:
        s = np.asarray(s0)
        if s.shape != (n,) or not np.all(np.abs(s) == 1):
            raise ValueError(f"s0 must be a ±1 vector of shape ({n},)")
        s = s.astype(np.float64)
    tol = FIELD_TOL * float(_field_scale(W, b))
    out = np.empty((n_samples, n), dtype=np.int8)
    _sample_kernel(W, b, s, T, tol, burn, between, streams, out)
    return out
