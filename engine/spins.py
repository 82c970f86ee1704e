"""Spins, Hopfield storage and single-site dynamics.

Conventions (also in docs/architecture.md): units are spins ``s_i`` in {-1, +1}; ``W`` is
symmetric with a zero diagonal; ``E(s) = -sum_{i<j} w_ij s_i s_j - sum_i b_i s_i``; the
local field is ``h_i = sum_j w_ij s_j + b_i``; a heat-bath (Glauber) update at temperature
``T > 0`` sets ``s_i = +1`` with probability ``sigmoid(2 h_i / T)``; at ``T = 0`` it sets
``s_i = sign(h_i)`` and a unit whose field is zero keeps its value, so energy never rises.

Zero fields and rounding
------------------------
Hebbian weights are multiples of ``1/n``, which floating point cannot represent exactly,
so a field that is zero in exact arithmetic may come out as ``1e-17``. Every T = 0 rule in
the engine therefore treats ``|h_i| <= FIELD_TOL * scale`` as zero, where
``scale = max_i sum_j |w_ij| + max_i |b_i|`` bounds every field. With ``FIELD_TOL = 1e-9``
this only merges fields that are zero up to rounding; genuine fields are never that small
relative to the weights in any network the explainer builds.

Numba kernels
-------------
:func:`settle_kernel` is a public ``numba.njit`` function so other compiled code (for
example ``engine.capacity``) can call it directly. Random kernels use one xoshiro256**
stream per chain from :mod:`engine._rng` (the same sequence as ``_rng.next_u64``, with the
state held in registers inside loops); one 64-bit draw per update gives both the site (high
32 bits) and the uniform number of the heat-bath test (low 32 bits).

The heat-bath test ``h > (T/2) logit(u)`` is decided exactly but mostly without a
logarithm: a small table brackets ``logit(u)`` for each range of the random number, and
``math.log`` is only evaluated when the field falls inside the bracket (about one update
in 2000). Applying flips to the fields can be deferred by up to two flips and then done
in one pass over the fields (see :func:`_chain_kernel`); the additions happen in the same
order as one pass per flip, so the states, fields and energies are bit for bit those of
the plain one-flip-at-a-time loop.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import temperature as check_temperature
from ._jit import jit
from ._rng import make_streams
from ._rng import xoshiro_next as _xoshiro_next

__all__ = [
    "FIELD_TOL",
    "SHAPES",
    "GlauberChain",
    "as_stream",
    "classify_states",
    "describe_state",
    "energy",
    "glauber",
    "hebbian",
    "local_fields",
    "local_minima",
    "projection_rule",
    "settle",
    "settle_kernel",
    "to_bits",
    "to_spins",
]

FIELD_TOL = 1e-9
"""Relative size below which a local field counts as exactly zero (see module notes)."""


def _shape(rows: str) -> np.ndarray:
    grid = np.array([[int(c) for c in row] for row in rows.split("/")], dtype=np.int8)
    grid.flags.writeable = False
    return grid


SHAPES: dict[str, np.ndarray] = {
    "T": _shape("111/010/010"),
    "L": _shape("100/100/111"),
    "O": _shape("111/101/111"),
}
"""The three 3x3 pictures, row-major, 1 = on (read-only int8 arrays of 0/1)."""


# ----------------------------------------------------------------------------------------
# conversions and validation
# ----------------------------------------------------------------------------------------


def to_spins(bits) -> np.ndarray:
    """Map bits 0/1 to spins -1/+1.

    Parameters
    ----------
    bits : array_like of 0/1, any shape

    Returns
    -------
    spins : ndarray of int8, same shape
    """
    a = np.asarray(bits)
    if a.size and not np.all((a == 0) | (a == 1)):
        raise ValueError("to_spins expects an array of 0/1 values")
    return (2 * a.astype(np.int8) - 1).astype(np.int8)


def to_bits(spins) -> np.ndarray:
    """Map spins -1/+1 to bits 0/1.

    Parameters
    ----------
    spins : array_like of -1/+1, any shape

    Returns
    -------
    bits : ndarray of int8, same shape
    """
    a = np.asarray(spins)
    if a.size and not np.all(np.abs(a) == 1):
        raise ValueError("to_bits expects an array of -1/+1 values")
    return (a > 0).astype(np.int8)


def _as_pattern_matrix(patterns) -> np.ndarray:
    P = np.asarray(patterns)
    if P.ndim == 1:
        P = P[None, :]
    if P.ndim != 2 or P.shape[1] == 0:
        raise ValueError(f"patterns must have shape (p, n) or (n,), got {np.shape(patterns)}")
    if not np.all(np.abs(P) == 1):
        raise ValueError("patterns must contain only -1/+1 values")
    return P.astype(np.int8)


@jit(nogil=True)
def _matrix_summary(W):
    """(all finite, max |w_ij|, max |w_ij - w_ji|, max |w_ii|) in one pass, no temporaries.

    Tiles of 32 x 32 keep the transposed reads in cache.
    """
    n = W.shape[0]
    finite = True
    big = 0.0
    asym = 0.0
    diag = 0.0
    for i0 in range(0, n, 32):
        for j0 in range(i0, n, 32):
            for i in range(i0, min(i0 + 32, n)):
                for j in range(max(j0, i), min(j0 + 32, n)):
                    a = W[i, j]
                    c = W[j, i]
                    if not (np.isfinite(a) and np.isfinite(c)):
                        finite = False
                    big = max(big, abs(a), abs(c))
                    asym = max(asym, abs(a - c))
    for i in range(n):
        diag = max(diag, abs(W[i, i]))
    return finite, big, asym, diag


def _check_network(W, b=None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(W, b)`` as C-contiguous float64 after checking the conventions."""
    W = np.ascontiguousarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValueError(f"W must be a non-empty square matrix, got shape {W.shape}")
    n = W.shape[0]
    finite, scale, asym, diag = _matrix_summary(W)
    if not finite:
        raise ValueError("W must be finite")
    if asym > 1e-12 * max(scale, 1.0):
        raise ValueError("W must be symmetric")
    if diag > 0.0:
        raise ValueError("W must have a zero diagonal")
    if b is None:
        b = np.zeros(n)
    else:
        b = np.ascontiguousarray(b, dtype=np.float64)
        if b.shape != (n,):
            raise ValueError(f"b must have shape ({n},), got {b.shape}")
        if not np.all(np.isfinite(b)):
            raise ValueError("b must be finite")
    return W, b


def _check_states(s, n: int, name: str = "s") -> np.ndarray:
    """Return ``s`` as an array of shape (n,) or (R, n) holding only -1/+1."""
    a = np.asarray(s)
    if a.ndim not in (1, 2) or a.shape[-1] != n:
        raise ValueError(f"{name} must have shape ({n},) or (R, {n}), got {a.shape}")
    if not np.all(np.abs(a) == 1):
        raise ValueError(f"{name} must contain only -1/+1 values")
    return a


def as_stream(seed) -> np.ndarray:
    """Return a single random stream, shape (1, 4) uint64, for the compiled kernels.

    Parameters
    ----------
    seed : int, numpy.random.Generator, None, or ndarray of uint64 with shape (4,) or (1, 4)
        An existing stream array is used as is (a view, advanced in place by the kernels),
        so a caller can continue one random sequence across calls without reseeding.
    """
    if isinstance(seed, np.ndarray):
        if seed.dtype != np.uint64 or seed.size != 4:
            raise ValueError("a stream array must be uint64 with 4 words")
        if not seed.flags.c_contiguous:
            raise ValueError("a stream array must be C-contiguous (it is advanced in place)")
        return seed.reshape(1, 4)
    if seed is not None and not isinstance(seed, int | np.integer | np.random.Generator):
        raise TypeError(f"seed must be an int, a numpy Generator or None, not {type(seed)}")
    return make_streams(seed, 1)


# ----------------------------------------------------------------------------------------
# storage, energy, fields
# ----------------------------------------------------------------------------------------


def hebbian(patterns) -> np.ndarray:
    """Hebbian weights ``W = (1/n) sum_mu xi^mu xi^mu^T`` with the diagonal set to zero.

    Parameters
    ----------
    patterns : array_like of -1/+1, shape (p, n) or (n,)

    Returns
    -------
    W : ndarray of float64, shape (n, n), symmetric, zero diagonal
    """
    P = _as_pattern_matrix(patterns).astype(np.float64)
    n = P.shape[1]
    W = (P.T @ P) / n
    np.fill_diagonal(W, 0.0)
    return W


def projection_rule(patterns) -> np.ndarray:
    """Projection (pseudo-inverse) weights: every stored pattern an equally deep valley.

    ``W = (1/n) Xi^T C^{-1} Xi`` with ``C = Xi Xi^T / n`` (the patterns' overlap matrix),
    diagonal set to zero. For orthogonal patterns this is Hebb's rule; for correlated ones
    (like the 3×3 shapes) it removes the cross-talk that makes Hebb's valleys unequal, so
    each pattern is a fixed point and all of them have the same energy.

    Parameters
    ----------
    patterns : array_like of -1/+1, shape (p, n) or (n,), linearly independent

    Returns
    -------
    W : ndarray of float64, shape (n, n), symmetric, zero diagonal
    """
    P = _as_pattern_matrix(patterns).astype(np.float64)
    n = P.shape[1]
    C = P @ P.T / n
    if np.linalg.matrix_rank(C) < C.shape[0]:
        raise ValueError("projection_rule needs linearly independent patterns")
    W = P.T @ np.linalg.solve(C, P) / n
    W = 0.5 * (W + W.T)  # exact symmetry despite rounding in the solve
    np.fill_diagonal(W, 0.0)
    return W


def energy(W, b, s):
    """Energy ``E(s) = -sum_{i<j} w_ij s_i s_j - sum_i b_i s_i``.

    Parameters
    ----------
    W : array_like, shape (n, n), symmetric with zero diagonal
    b : array_like, shape (n,), or None (no biases)
    s : array_like of -1/+1, shape (n,) or (R, n)

    Returns
    -------
    float for a single state, ndarray of float64 with shape (R,) for a batch
    """
    W, b = _check_network(W, b)
    S = _check_states(s, W.shape[0]).astype(np.float64)
    E = -0.5 * np.einsum("...i,...i->...", S @ W, S) - S @ b
    return float(E) if S.ndim == 1 else E


def local_fields(W, b, s) -> np.ndarray:
    """Local fields ``h = W s + b``.

    Parameters
    ----------
    W : array_like, shape (n, n)
    b : array_like, shape (n,), or None
    s : array_like of -1/+1, shape (n,) or (R, n)

    Returns
    -------
    h : ndarray of float64, same shape as ``s``
    """
    W, b = _check_network(W, b)
    S = _check_states(s, W.shape[0]).astype(np.float64)
    return S @ W + b


# ----------------------------------------------------------------------------------------
# compiled building blocks (shared by spins, exact and annealing)
# ----------------------------------------------------------------------------------------


# reassoc lets LLVM vectorise the row sums (about 5x faster; only the order of the
# additions changes): settle_kernel spends most of its time here, e.g. in engine.capacity.
@jit(nogil=True, fastmath={"reassoc"})
def _field_scale(W, b):
    """Largest possible |h_i|: max_i sum_j |w_ij| + max_i |b_i|."""
    n = W.shape[0]
    worst = 0.0
    bmax = 0.0
    for i in range(n):
        row = 0.0
        for j in range(n):
            row += abs(W[i, j])
        worst = max(worst, row)
        bmax = max(bmax, abs(b[i]))
    return worst + bmax


@jit(nogil=True, fastmath={"reassoc"})
def _fields_into(W, b, s, h):
    """h = W s + b for a float64 spin vector s; returns the energy of s."""
    n = W.shape[0]
    E = 0.0
    for i in range(n):
        acc = b[i]
        for j in range(n):
            acc += W[i, j] * s[j]
        h[i] = acc
        # E = -1/2 s.(h - b) - b.s = -1/2 s.(h + b)
        E -= 0.5 * s[i] * (acc + b[i])
    return E


@jit(inline="always", nogil=True)
def _site(word, n):
    """Site index in [0, n) from the high 32 bits of a random word (bias < n / 2^32)."""
    return np.int64(((word >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))


@jit(inline="always", nogil=True)
def _zero_temperature_spin(hi, si, tol):
    if hi > tol:
        return 1.0
    if hi < -tol:
        return -1.0
    return si


def _logit_brackets(bits: int) -> np.ndarray:
    """Bracket ``[lo_k, hi_k]`` of ``logit(u)`` for every uniform the heat-bath test can use
    whose low 32-bit word starts with the ``bits``-bit prefix k; shape (2^bits, 2) float64.

    The uniforms are ``u = (w + 0.5) / 2^32`` for 32-bit words w, so prefix k covers
    ``w`` in ``[k 2^(32-bits), (k+1) 2^(32-bits) - 1]`` and, logit being increasing,
    ``logit(u)`` lies between the logits of the two extreme uniforms. The bracket is widened
    by ``1e-9 (1 + |logit|)``, millions of times the rounding error of either the table
    (numpy's log) or the kernel's ``half_T * log(u / (1 - u))``, so a field outside
    ``half_T * [lo_k, hi_k]`` is on the same side of the kernel's rounded threshold too.
    """
    k = np.arange(1 << bits, dtype=np.float64)
    width = float(1 << (32 - bits))
    u_lo = (k * width + 0.5) / 2.0**32
    u_hi = ((k + 1.0) * width - 0.5) / 2.0**32
    out = np.empty((1 << bits, 2))
    for col, u in enumerate((u_lo, u_hi)):
        logit = np.log(u / (1.0 - u))
        out[:, col] = logit + (2 * col - 1) * 1e-9 * (1.0 + np.abs(logit))
    out.flags.writeable = False
    return out


# 2^11 brackets (32 KB, read at random but mostly from cache): the exact logarithm is
# needed for a fraction 2^-11 of the updates, whatever the fields.
_LOGIT_BITS = 11
_LOGIT_BRACKETS = _logit_brackets(_LOGIT_BITS)
_LOGIT_SHIFT = np.uint64(32 - _LOGIT_BITS)
_LOW32 = np.uint64(0xFFFFFFFF)


@jit(inline="always", nogil=True)
def _heat_bath_spin(hi, si, half_T, tol, word):
    """New value of a unit with field ``hi`` after one heat-bath update at T = 2 half_T.

    With u uniform, ``u < sigmoid(2h/T)`` exactly when ``h > (T/2) logit(u)``; the
    result is always that of ``hi > half_T * math.log(u / (1 - u))``. Only the low 32 bits
    of ``word`` are used (the caller takes the site from the high bits): a uniform of
    resolution 2^-32 strictly inside (0, 1), ample for a probability.

    The logarithm costs more than the rest of an update, so it is skipped whenever the
    bracket of ``logit(u)`` from ``_LOGIT_BRACKETS`` already settles the comparison (see
    :func:`_logit_brackets`). The bracket argument relies on relative rounding bounds,
    which hold while ``half_T`` times the table entries stays a normal, finite number:
    outside ``1e-250 < half_T < 1e250`` the logarithm is always taken. Scalars only:
    helpers that take arrays make numba emit reference counting in the loop.
    """
    if half_T == 0.0:
        return _zero_temperature_spin(hi, si, tol)
    w = word & _LOW32
    if 1e-250 < half_T < 1e250:
        k = w >> _LOGIT_SHIFT
        if hi > half_T * _LOGIT_BRACKETS[k, 1]:
            return 1.0
        if hi < half_T * _LOGIT_BRACKETS[k, 0]:
            return -1.0
    u = (w + 0.5) * (1.0 / 4294967296.0)
    return 1.0 if hi > half_T * math.log(u / (1.0 - u)) else -1.0


@jit(nogil=True)
def _random_spins(streams, r, s):
    """Fill s (float64) with independent uniform ±1 spins drawn from stream r."""
    s0, s1, s2, s3 = streams[r, 0], streams[r, 1], streams[r, 2], streams[r, 3]
    for i in range(s.shape[0]):
        word, s0, s1, s2, s3 = _xoshiro_next(s0, s1, s2, s3)
        s[i] = 1.0 if word >> np.uint64(63) else -1.0
    streams[r, 0], streams[r, 1], streams[r, 2], streams[r, 3] = s0, s1, s2, s3


NO_TRACE, TRACE_EACH_UPDATE, TRACE_EACH_BLOCK = 0, 1, 2

# Deferred flips per chain (see _chain_kernel), by network size; measured on the 2-core
# Zen 3 of bench/: from n ~ 100 one pass over the fields per two or three flips beats a
# pass per flip, and once W no longer fits in L2 three rows at once read it fastest.
_DEFER_ONE_FROM_N = 64
_DEFER_TWO_FROM_N = 512


@jit(inline="always", nogil=True)
def _add_rows(W, h, p, cp, q, cq, i, c):
    """Apply the flips ``p`` (coefficient cp), then ``q`` (cq), then ``i`` (c) to ``h`` in
    one pass; ``p`` and ``q`` may be -1 (no flip), ``q >= 0`` only if ``p >= 0``.

    Each element gets ``((h_j + cp W_pj) + cq W_qj) + c W_ij``: the same additions in the
    same order as three separate passes, so the result is bit for bit identical; reading
    the rows side by side just keeps more memory requests in flight. W is symmetric, so
    row i is column i, and rows are contiguous.
    """
    n = h.shape[0]
    if p < 0:
        for j in range(n):
            h[j] += c * W[i, j]
    elif q < 0:
        for j in range(n):
            h[j] = (h[j] + cp * W[p, j]) + c * W[i, j]
    else:
        for j in range(n):
            h[j] = ((h[j] + cp * W[p, j]) + cq * W[q, j]) + c * W[i, j]


@jit(nogil=True)
def _chain_kernel(W, s, h, E, temps, block, tol, streams, r, trace, mode):
    """Random-site heat-bath updates of one chain using stream r: ``block`` updates at
    each temperature of ``temps`` in turn (an anneal passes one sweep, n, per temperature;
    a plain run passes one temperature and its whole length).

    ``s`` (float64 ±1) and its fields ``h`` are updated in place. ``mode`` says what goes
    to ``trace``: nothing (NO_TRACE), the energy after every update (TRACE_EACH_UPDATE,
    len(temps) * block values) or after every block (TRACE_EACH_BLOCK, len(temps) values).
    Returns the final energy. This is the one hot loop behind glauber, GlauberChain,
    sample_states and anneal.

    Notes
    -----
    For large n each accepted flip costs far more than a decision: it streams a row of W
    (8 KB at n = 1000) through the field update. So up to ``depth`` flips (0, 1 or 2 by n)
    are held back as pending rows ``p``, ``q``; a decision adds their terms to the one
    field it reads, exactly as the field update would have (same additions, same order),
    and the next flip applies all of them in a single pass (:func:`_add_rows`). States,
    fields and energies are therefore bit for bit those of applying each flip at once, and
    on return no flip is pending.
    """
    n = s.shape[0]
    depth = 2 if n >= _DEFER_TWO_FROM_N else (1 if n >= _DEFER_ONE_FROM_N else 0)
    p = -1
    q = -1
    cp = 0.0
    cq = 0.0
    s0 = streams[r, 0]
    s1 = streams[r, 1]
    s2 = streams[r, 2]
    s3 = streams[r, 3]
    t = 0
    for k in range(temps.shape[0]):
        half_T = 0.5 * temps[k]
        for _ in range(block):
            word, s0, s1, s2, s3 = _xoshiro_next(s0, s1, s2, s3)
            i = _site(word, n)
            si = s[i]
            hi = h[i]
            if p >= 0:
                hi += cp * W[p, i]
                if q >= 0:
                    hi += cq * W[q, i]
            new = _heat_bath_spin(hi, si, half_T, tol, word)
            if new != si:
                E += 2.0 * si * hi
                s[i] = new
                c = 2.0 * new
                if p < 0 and depth >= 1:
                    p = i
                    cp = c
                elif q < 0 and depth >= 2:
                    q = i
                    cq = c
                else:
                    _add_rows(W, h, p, cp, q, cq, i, c)
                    p = -1
                    q = -1
            if mode == TRACE_EACH_UPDATE:
                trace[t] = E
            t += 1
        if mode == TRACE_EACH_BLOCK:
            trace[k] = E
    if q >= 0:
        _add_rows(W, h, p, cp, -1, 0.0, q, cq)
    elif p >= 0:
        _add_rows(W, h, -1, 0.0, -1, 0.0, p, cp)
    streams[r, 0] = s0
    streams[r, 1] = s1
    streams[r, 2] = s2
    streams[r, 3] = s3
    return E


@jit(nogil=True)
def settle_kernel(W, b, s, order, max_sweeps):
    """Deterministic asynchronous T = 0 updates of ``s`` in place until nothing changes.

    Parameters
    ----------
    W : float64[:, ::1], shape (n, n), symmetric, zero diagonal
    b : float64[::1], shape (n,)
    s : float64[::1], shape (n,), entries -1.0/+1.0; overwritten with the fixed point
    order : int64[::1]
        Units visited in this order in every sweep (usually a permutation of 0..n-1).
    max_sweeps : int
        Safety bound on the number of sweeps.

    Returns
    -------
    sweeps : int
        Number of sweeps done, the last of which changed nothing; -1 if ``max_sweeps``
        sweeps were done and the last one still changed a unit.

    Notes
    -----
    Fields are computed once (O(n^2)) and then kept up to date in O(n) per flip, so a
    quiet sweep costs O(n). A unit whose field is zero (up to ``FIELD_TOL``, see the
    module notes) keeps its value. For symmetric W with zero diagonal every flip lowers
    the energy, so the loop always ends at a fixed point.
    """
    n = s.shape[0]
    h = np.empty(n)
    _fields_into(W, b, s, h)
    tol = FIELD_TOL * _field_scale(W, b)
    for sweep in range(max_sweeps):
        changed = False
        for k in range(order.shape[0]):
            i = order[k]
            new = _zero_temperature_spin(h[i], s[i], tol)
            if new != s[i]:
                s[i] = new
                c = 2.0 * new
                for j in range(n):
                    h[j] += c * W[i, j]
                changed = True
        if not changed:
            return sweep + 1
    return -1


@jit(nogil=True)
def _settle_rows(W, b, S, order, max_sweeps):
    converged = True
    for r in range(S.shape[0]):
        if settle_kernel(W, b, S[r], order, max_sweeps) < 0:
            converged = False
    return converged


# ----------------------------------------------------------------------------------------
# public dynamics
# ----------------------------------------------------------------------------------------


def settle(W, b, s, order=None, max_sweeps: int = 10_000) -> np.ndarray:
    """Run deterministic asynchronous updates (T = 0) to a fixed point.

    Units are visited in ``order`` sweep after sweep until a whole sweep changes nothing.
    Each unit takes the sign of its local field; a zero field keeps the unit's value.

    Parameters
    ----------
    W : array_like, shape (n, n), symmetric, zero diagonal
    b : array_like, shape (n,), or None
    s : array_like of -1/+1, shape (n,) or (R, n)
        Starting state(s); not modified. Each row of a batch settles independently.
    order : sequence of int, optional
        Visiting order within a sweep (default ``0, 1, ..., n-1``). Units missing from
        ``order`` are never updated; repeats are allowed.
    max_sweeps : int
        Safety bound; a RuntimeError is raised if it is reached without convergence.

    Returns
    -------
    fixed_point : ndarray, same shape as ``s`` and the dtype of ``np.asarray(s)`` (so an
        int8 state stays int8 and a float64 state stays float64); a new array.
    """
    W, b = _check_network(W, b)
    n = W.shape[0]
    a = _check_states(s, n)
    if order is None:
        order = np.arange(n, dtype=np.int64)
    else:
        order = np.ascontiguousarray(order, dtype=np.int64)
        if order.ndim != 1 or order.size == 0 or order.min() < 0 or order.max() >= n:
            raise ValueError(f"order must be a non-empty 1-D sequence of units in [0, {n})")
    max_sweeps = int(max_sweeps)
    if max_sweeps < 1:
        raise ValueError("max_sweeps must be >= 1")
    S = np.array(a, dtype=np.float64, ndmin=2, order="C")
    if not _settle_rows(W, b, S, order, max_sweeps):
        raise RuntimeError(f"settle did not converge within {max_sweeps} sweeps")
    out = S[0] if a.ndim == 1 else S
    dtype = a.dtype if a.dtype.kind in "if" else np.int8
    return out.astype(dtype)


class GlauberChain:
    """A single heat-bath chain that can be advanced cheaply in small chunks.

    Made for animation: the network is checked once, the fields and the energy are
    carried between calls, and the random stream continues where it stopped, so calling
    ``run(5)`` ten times gives exactly the same states and energies as ``run(50)`` once.

    Parameters
    ----------
    W : array_like, shape (n, n), symmetric, zero diagonal
    b : array_like, shape (n,), or None
    s : array_like of -1/+1, shape (n,)
        Starting state (copied).
    T : float
        Temperature, >= 0 (0 gives the deterministic sign rule).
    seed : int, numpy.random.Generator, None, or uint64 stream array (see
        :func:`as_stream`; a stream array is shared and advanced in place).

    Attributes
    ----------
    s : ndarray of int8, shape (n,)
        Current state (a copy; assigning a new ±1 vector restarts from it).
    energy : float
        Energy of the current state.
    T : float
        Temperature; may be changed between calls.
    n_updates : int
        Total number of single-site updates done so far.
    """

    # Fields and energy are updated incrementally; recomputing them after this many
    # updates keeps rounding drift far below FIELD_TOL on arbitrarily long runs.
    _REFRESH_EVERY = 1 << 22

    def __init__(self, W, b, s, T, seed=None):
        self._W, self._b = _check_network(W, b)
        self._tol = FIELD_TOL * float(_field_scale(self._W, self._b))
        self._h = np.empty(self._W.shape[0])
        self._streams = as_stream(seed)
        self.T = T
        self.s = s
        self.n_updates = 0

    @property
    def W(self) -> np.ndarray:
        return self._W

    @property
    def b(self) -> np.ndarray:
        return self._b

    @property
    def s(self) -> np.ndarray:
        return self._s.astype(np.int8)

    @s.setter
    def s(self, value) -> None:
        a = _check_states(value, self._W.shape[0])
        if a.ndim != 1:
            raise ValueError("a chain holds a single state of shape (n,)")
        self._s = a.astype(np.float64)
        self._refresh()

    @property
    def T(self) -> float:
        return self._T

    @T.setter
    def T(self, value) -> None:
        self._T = check_temperature(value)
        self._temps = np.array([self._T])

    @property
    def energy(self) -> float:
        return self._E

    def _refresh(self) -> None:
        self._E = float(_fields_into(self._W, self._b, self._s, self._h))
        self._since_refresh = 0

    def run(self, n_updates: int) -> np.ndarray:
        """Do ``n_updates`` random-site updates; return the energy after each one.

        Returns
        -------
        energy_trace : ndarray of float64, shape (n_updates,)
        """
        n_updates = int(n_updates)
        if n_updates < 0:
            raise ValueError("n_updates must be >= 0")
        trace = np.empty(n_updates)
        self._E = _chain_kernel(
            self._W,
            self._s,
            self._h,
            self._E,
            self._temps,
            n_updates,
            self._tol,
            self._streams,
            0,
            trace,
            TRACE_EACH_UPDATE,
        )
        self.n_updates += n_updates
        self._since_refresh += n_updates
        if self._since_refresh >= self._REFRESH_EVERY:
            self._refresh()
        return trace


def glauber(W, b, s, T, n_updates, seed=None):
    """Random-site heat-bath (Glauber) dynamics.

    At each update a unit ``i`` is picked uniformly at random and set to +1 with
    probability ``sigmoid(2 h_i / T)``; at ``T = 0`` it takes ``sign(h_i)`` and keeps its
    value when the field is zero. For many small calls on one chain use
    :class:`GlauberChain`, which checks the network once and continues its random stream.

    Parameters
    ----------
    W : array_like, shape (n, n), symmetric, zero diagonal
    b : array_like, shape (n,), or None
    s : array_like of -1/+1, shape (n,)
        Starting state (not modified).
    T : float, >= 0
    n_updates : int, >= 0
    seed : int, numpy.random.Generator, None, or uint64 stream array (see :func:`as_stream`)

    Returns
    -------
    s_final : ndarray, shape (n,), dtype of ``s`` if it is an integer or float array
    energy_trace : ndarray of float64, shape (n_updates,)
        Energy after each update.
    """
    chain = GlauberChain(W, b, s, T, seed)
    trace = chain.run(n_updates)
    a = np.asarray(s)
    dtype = a.dtype if a.dtype.kind in "if" else np.int8
    return chain._s.astype(dtype), trace


# ----------------------------------------------------------------------------------------
# naming states and listing minima
# ----------------------------------------------------------------------------------------


def classify_states(S, patterns) -> np.ndarray:
    """Name each state against the stored patterns.

    Parameters
    ----------
    S : array_like of -1/+1, shape (R, n) or (n,)
    patterns : array_like of -1/+1, shape (p, n) or (n,)

    Returns
    -------
    codes : ndarray of int64, shape (R,), or an int for a single state of shape (n,)
        ``k`` if the state equals pattern ``k`` ("memory k"), ``p + k`` if it equals
        ``-pattern k`` ("mirror of memory k"), ``-1`` otherwise ("spurious"). When two
        patterns coincide the lowest index wins, and a memory beats a mirror.
    """
    P = _as_pattern_matrix(patterns).astype(np.int64)
    p, n = P.shape
    A = _check_states(S, n, "S").astype(np.int64)
    overlaps = np.atleast_2d(A) @ P.T  # (R, p), equals +n / -n exactly on a match
    is_mem = overlaps == n
    is_mir = overlaps == -n
    codes = np.full(overlaps.shape[0], -1, dtype=np.int64)
    has_mir = is_mir.any(axis=1)
    codes[has_mir] = p + is_mir.argmax(axis=1)[has_mir]
    has_mem = is_mem.any(axis=1)
    codes[has_mem] = is_mem.argmax(axis=1)[has_mem]
    return int(codes[0]) if A.ndim == 1 else codes


def describe_state(s, patterns, names=None) -> tuple[str, int, str]:
    """Describe one state in words.

    Parameters
    ----------
    s : array_like of -1/+1, shape (n,)
    patterns : array_like of -1/+1, shape (p, n) or (n,)
    names : sequence of str, optional
        One name per pattern (default ``"1"``, ``"2"``, ...).

    Returns
    -------
    kind : {"memory", "mirror", "spurious"}
    k : int
        Index of the pattern (-1 for spurious).
    text : str
        For example ``"memory T"``, ``"mirror of L"`` or ``"spurious"``.
    """
    P = _as_pattern_matrix(patterns)
    p = P.shape[0]
    if np.ndim(s) != 1:
        raise ValueError("describe_state takes a single state of shape (n,)")
    if names is None:
        names = [str(k + 1) for k in range(p)]
    elif len(names) != p:
        raise ValueError(f"need {p} names, got {len(names)}")
    code = int(classify_states(s, P))
    if code < 0:
        return "spurious", -1, "spurious"
    if code < p:
        return "memory", code, f"memory {names[code]}"
    return "mirror", code - p, f"mirror of {names[code - p]}"


@jit(nogil=True)
def _gray_enumerate(W, b, energies, is_min):
    """Energy of every state, walking the states in Gray-code order.

    Fills ``energies[k]`` for state k, whose unit i is +1 iff bit (n-1-i) of k is set.
    If ``is_min`` has 2^n entries it also flags the single-flip local minima: states where
    no flip lowers the energy, i.e. ``s_i h_i >= -tol`` for every unit (pass an empty
    array to skip that O(n) check per state). Successive Gray codes differ in one unit,
    so each step costs O(n) with incrementally kept fields.
    """
    n = W.shape[0]
    N = 1 << n
    s = -np.ones(n)
    h = np.empty(n)
    E = _fields_into(W, b, s, h)
    tol = FIELD_TOL * _field_scale(W, b)
    check = is_min.shape[0] == N
    for t in range(N):
        if t > 0:
            bit = 0
            while not (t >> bit) & 1:
                bit += 1
            i = n - 1 - bit
            E += 2.0 * s[i] * h[i]
            s[i] = -s[i]
            c = 2.0 * s[i]
            for j in range(n):
                h[j] += c * W[i, j]
        g = t ^ (t >> 1)
        energies[g] = E
        if check:
            ok = True
            for j in range(n):
                if s[j] * h[j] < -tol:
                    ok = False
                    break
            is_min[g] = ok
    return tol


def local_minima(W, b=None) -> np.ndarray:
    """Every single-flip local minimum of a small network, found by enumeration.

    A state is a local minimum when no single flip lowers its energy. Flipping unit i
    changes the energy by ``2 s_i h_i``, so the condition is ``s_i h_i >= 0`` for every i
    (fields zero up to ``FIELD_TOL`` count as zero). These are exactly the fixed points of
    the T = 0 rule "take the sign of the field, keep the value on a zero field", i.e. the
    states where :func:`settle` can stop. A flat direction (a zero field) is allowed, so a
    plateau of equal-energy states would be listed in full.

    Parameters
    ----------
    W : array_like, shape (n, n), symmetric, zero diagonal, n <= 20
    b : array_like, shape (n,), or None

    Returns
    -------
    minima : ndarray of int8, shape (m, n)
        In the state-index order of :func:`engine.exact.exact_boltzmann` (state k has
        ``s_i = +1`` iff bit ``n-1-i`` of k is set).
    """
    W, b = _check_network(W, b)
    n = W.shape[0]
    if n > 20:
        raise ValueError(f"local_minima enumerates 2^n states; n must be <= 20, got {n}")
    energies = np.empty(1 << n)
    is_min = np.zeros(1 << n, dtype=np.bool_)
    _gray_enumerate(W, b, energies, is_min)
    idx = np.flatnonzero(is_min)
    bits = (idx[:, None] >> np.arange(n - 1, -1, -1)) & 1
    return (2 * bits - 1).astype(np.int8)
