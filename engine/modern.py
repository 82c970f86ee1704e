"""Dense associative memory and the modern (continuous) Hopfield network.

Dense associative memory (Krotov & Hopfield 2016; Demircigil et al. 2017). Patterns
``xi^mu`` (p, n) of +-1 are stored as they are, with no weight matrix; a state ``s`` of
+-1 units has the energy

    E(s) = - sum_mu F(xi^mu . s)

with ``F(x) = x^k`` (k >= 2, "polynomial") or ``F(x) = exp(beta x)`` ("exp"). The
asynchronous update of unit i compares the energy with ``s_i = +1`` and ``s_i = -1``:

    s_i <- sign( sum_mu [F(r_mu + xi_i^mu) - F(r_mu - xi_i^mu)] ),  r_mu = xi^mu.s - xi_i^mu s_i

(a zero keeps the unit's value, as in :func:`engine.settle`). Each change lowers E, so
updates stop at a fixed point. Since ``F(r + x) - F(r - x) = x (F(r + 1) - F(r - 1))`` for
``x = +-1``, the sum is ``sum_mu xi_i^mu g(r_mu)`` with ``g(r) = F(r + 1) - F(r - 1)``.
For k = 2, ``g(r) = 4 r`` and the sum is ``4 n h_i`` with ``h_i`` the Hebbian local field
(``W = (1/n) sum xi xi^T``, zero diagonal): exactly the classic network's decisions.

Storage (p random patterns, n units, the patterns themselves as starts): the classic rule
holds about ``0.138 n`` (large n); ``F = x^k`` holds about ``n^(k-1) / (2 (2k-3)!! ln n)``
with no bit wrong (Krotov & Hopfield), and ``F = exp`` an exponential number, ``exp(a n)``
for ``a < I(1 - 2 rho) / 2`` when a fraction rho of bits starts wrong, with
``I(x) = ((1 + x) ln(1 + x) + (1 - x) ln(1 - x)) / 2`` (Demircigil et al.; ``2^(n/2)``
at rho = 0). See :func:`theory_capacity`.

The exp energy is reported as ``- sum_mu exp(beta (xi^mu . s - n))``: the textbook energy
times the positive constant ``exp(-beta n)``, so it has the same minima and the same
updates but never overflows (each term is at most 1).

Modern Hopfield network (Ramsauer et al. 2020). A continuous state ``xi`` (n,) is updated
by ``xi_new = X^T softmax(beta X xi)`` with X the (p, n) pattern matrix, which is the
attention ``softmax(beta q K^T) V`` with query ``q = xi`` and keys = values = the stored
patterns. Iterated, it never raises

    E(xi) = -(1/beta) log sum_mu exp(beta x_mu . xi) + xi.xi / 2 + (1/beta) log p + M^2 / 2

(``M`` the largest pattern norm) and stops at a fixed point: one pattern (large beta), a
metastable average of a few similar ones, or the global average (small beta).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._checks import seed_sequence
from ._jit import jit

__all__ = [
    "DENSE_KINDS",
    "attention",
    "dense_capacity_curve",
    "dense_energy",
    "dense_settle",
    "double_factorial",
    "half_capacity",
    "modern_energy",
    "modern_retrieve",
    "modern_update",
    "softmax_weights",
    "theory_capacity",
]

#: The energies compared in the section: classic (k = 2), polynomial k = 3 and 5, exp.
DENSE_KINDS = (2, 3, 5, "exp")

_N_MAX = 1000
_K_MAX = 12
_P_MAX = 1 << 20
_MAX_SWEEPS = 10_000  # never reached: every change lowers the energy
_EXP_TIE = 1e-12  # exp sums this small relative to their terms count as ties (rounding)


# ----------------------------------------------------------------------------- checks


def _kind(k) -> int | str:
    """``k`` as an int 2..12 or the string "exp"; ValueError otherwise."""
    if isinstance(k, str):
        if k == "exp":
            return k
        raise ValueError(f'k must be an int >= 2 or "exp", got {k!r}')
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ValueError(f'k must be an int >= 2 or "exp", got {k!r}')
    if not 2 <= k <= _K_MAX:
        raise ValueError(f"k must be between 2 and {_K_MAX}, got {k}")
    return int(k)


def _beta(beta, allow_zero=False) -> float:
    beta = float(beta)
    if not math.isfinite(beta) or beta < 0 or (beta == 0 and not allow_zero):
        raise ValueError(f"beta must be a finite number > 0, got {beta}")
    return beta


def _patterns(patterns) -> np.ndarray:
    """+-1 patterns as int8 (p, n); ValueError for anything else."""
    P = np.asarray(patterns)
    if P.ndim == 1:
        P = P[None, :]
    if P.ndim != 2 or P.size == 0:
        raise ValueError("patterns must be a non-empty (p, n) array of -1/+1")
    if not np.all((P == 1) | (P == -1)):
        raise ValueError("patterns must hold only -1 and +1")
    if P.shape[1] > _N_MAX or P.shape[0] > _P_MAX:
        raise ValueError(f"at most {_P_MAX} patterns of at most {_N_MAX} units")
    return P.astype(np.int8)


def _states(s, n: int) -> np.ndarray:
    a = np.asarray(s)
    if a.ndim not in (1, 2) or a.shape[-1] != n:
        raise ValueError(f"s must have shape ({n},) or (R, {n})")
    if not np.all((a == 1) | (a == -1)):
        raise ValueError("s must hold only -1 and +1")
    return a


# -------------------------------------------------------------------------- energies


def _poly_g(n: int, k: int) -> np.ndarray:
    """``g(r) = (r + 1)^k - (r - 1)^k`` for r = -n..n, int64 (2n + 1,), index r + n."""
    r = np.arange(-n, n + 1, dtype=object)
    return np.array([(x + 1) ** k - (x - 1) ** k for x in r], dtype=np.int64)


def _check_exact(n: int, p: int, k: int) -> None:
    # Sums of p terms g(r) must stay exact in int64, so ties are decided exactly.
    if k * math.log2(n + 1) + 1 + math.log2(p) >= 62:
        raise ValueError(f"n = {n}, p = {p}, k = {k} is too large for exact integer sums")


def dense_energy(patterns, s, k=3, beta=1.0):
    """Energy ``-sum_mu F(xi^mu . s)`` of one or many states.

    Parameters
    ----------
    patterns : array_like of -1/+1, shape (p, n)
    s : array_like of -1/+1, shape (n,) or (R, n)
    k : int >= 2 or "exp"
        ``F(x) = x^k``, or ``F(x) = exp(beta (x - n))`` for "exp" (the exp energy scaled by
        the constant ``exp(-beta n)``; see the module notes).
    beta : float > 0
        Only used by "exp".

    Returns
    -------
    float for one state, ndarray of float64 (R,) for many.
    """
    P = _patterns(patterns)
    kind = _kind(k)
    a = _states(s, P.shape[1])
    S = np.array(a, dtype=np.int64, ndmin=2)
    x = S @ P.T.astype(np.int64)  # (R, p) overlaps, exact
    if kind == "exp":
        e = -np.exp(_beta(beta) * (x - P.shape[1])).sum(axis=1)
    else:
        # Python ints: x^k summed exactly, then one rounding to float.
        e = np.array([-float(sum(int(v) ** kind for v in row)) for row in x])
    return float(e[0]) if a.ndim == 1 else e


# -------------------------------------------------------------------------- dynamics


@jit(nogil=True)
def _dense_settle_rows(PT, S, order, table, exp_kind, max_sweeps):
    """Asynchronous dense-memory updates of every row of ``S`` in place.

    PT (n, p) int8 patterns, transposed; S (R, n) int8 states; order int64 (m,).
    table: for polynomial F (``exp_kind`` False), int64 (2n + 1,) with ``g(r)`` at index
    ``r + n``; for exp, float64 (2n + 3,) with ``exp(beta d)`` at index ``d + 2n + 1`` for
    ``d = r - max_mu x_mu`` in [-2n - 1, 1]. Returns False if a row hit ``max_sweeps``.
    """
    n, p = PT.shape
    R = S.shape[0]
    x = np.empty(p, dtype=np.int64)
    ok = True
    for row in range(R):
        s = S[row]
        for mu in range(p):
            acc = 0
            for i in range(n):
                acc += PT[i, mu] * s[i]
            x[mu] = acc
        xmax = x.max()
        done = False
        for _ in range(max_sweeps):
            changed = False
            for t in range(order.shape[0]):
                i = order[t]
                si = s[i]
                if exp_kind:
                    tot = 0.0
                    mag = 0.0
                    base = 2 * n + 1 - xmax
                    for mu in range(p):
                        xi = PT[i, mu]
                        v = table[x[mu] - xi * si + base]
                        tot += xi * v
                        mag += v
                    if tot > _EXP_TIE * mag:
                        new = 1
                    elif tot < -_EXP_TIE * mag:
                        new = -1
                    else:
                        new = si
                else:
                    itot = 0
                    for mu in range(p):
                        xi = PT[i, mu]
                        itot += xi * table[x[mu] - xi * si + n]
                    new = 1 if itot > 0 else (-1 if itot < 0 else si)
                if new != si:
                    s[i] = new
                    for mu in range(p):
                        x[mu] += 2 * new * PT[i, mu]
                    if exp_kind:
                        xmax = x.max()
                    changed = True
            if not changed:
                done = True
                break
        if not done:
            ok = False
    return ok


def _table(kind, n: int, p: int, beta: float):
    if kind == "exp":
        return np.exp(beta * np.arange(-2 * n - 1, 2, dtype=np.float64)), True
    _check_exact(n, p, kind)
    return _poly_g(n, kind), False


def _order(order, n: int) -> np.ndarray:
    if order is None:
        return np.arange(n, dtype=np.int64)
    order = np.ascontiguousarray(order, dtype=np.int64)
    if order.ndim != 1 or order.size == 0 or order.min() < 0 or order.max() >= n:
        raise ValueError(f"order must be a non-empty 1-D sequence of units in [0, {n})")
    return order


def dense_settle(patterns, s, k=3, beta=1.0, order=None, max_sweeps: int = 10_000):
    """Deterministic asynchronous updates of the dense memory until nothing changes.

    Units are visited in ``order`` sweep after sweep; each takes the sign that gives the
    lower energy (see the module notes), and keeps its value on a tie, as in
    :func:`engine.settle`. With ``k = 2`` the result equals
    ``settle(hebbian(patterns), None, s, order)``.

    Parameters
    ----------
    patterns : array_like of -1/+1, shape (p, n)
    s : array_like of -1/+1, shape (n,) or (R, n)
        Starting state(s), not modified; rows settle independently.
    k : int >= 2 or "exp"
    beta : float > 0
        Steepness of "exp" (ignored for polynomial F).
    order : sequence of int, optional
        Visiting order within a sweep (default ``0..n-1``).
    max_sweeps : int
        Safety bound; RuntimeError if reached.

    Returns
    -------
    fixed_point : ndarray of int8, same shape as ``s``
    """
    P = _patterns(patterns)
    kind = _kind(k)
    p, n = P.shape
    a = _states(s, n)
    table, is_exp = _table(kind, n, p, _beta(beta))
    S = np.array(a, dtype=np.int8, ndmin=2, order="C")
    max_sweeps = int(max_sweeps)
    if max_sweeps < 1:
        raise ValueError("max_sweeps must be >= 1")
    PT = np.ascontiguousarray(P.T)
    if not _dense_settle_rows(PT, S, _order(order, n), table, is_exp, max_sweeps):
        raise RuntimeError(f"dense_settle did not converge within {max_sweeps} sweeps")
    return S[0].copy() if a.ndim == 1 else S


# ------------------------------------------------------------------------- capacity


def double_factorial(m: int) -> int:
    """``m!! = m (m - 2) (m - 4) ... 1`` for odd m >= -1 (``(-1)!! = 1``)."""
    return math.prod(range(m, 0, -2)) if m > 0 else 1


def _info(x: float) -> float:
    """``I(x) = ((1 + x) ln(1 + x) + (1 - x) ln(1 - x)) / 2`` for x in [0, 1]."""
    a = (1 + x) * math.log1p(x)
    b = (1 - x) * math.log1p(-x) if x < 1 else 0.0
    return 0.5 * (a + b)


def theory_capacity(n, k, noise=0.0, alpha_c=0.138):
    """The theory's number of patterns ``n`` units can store with each energy.

    Parameters
    ----------
    n : int >= 2
    k : int >= 2 or "exp"
        k = 2: ``alpha_c n`` (the classic large-n limit); k >= 3: Krotov & Hopfield's
        ``n^(k-1) / (2 (2k-3)!! ln n)``; "exp": Demircigil et al.'s ``exp(n I(1-2 rho)/2)``
        with rho = ``noise`` (``2^(n/2)`` at rho = 0).
    noise : float in [0, 0.5)
        Fraction of bits wrong at the start (only "exp" uses it).

    Returns
    -------
    float
    """
    kind = _kind(k)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    if kind == 2:
        return alpha_c * n
    if kind == "exp":
        noise = float(noise)
        if not 0.0 <= noise < 0.5:
            raise ValueError(f"noise must be in [0, 0.5), got {noise}")
        return math.exp(n * _info(1.0 - 2.0 * noise) / 2.0)
    return n ** (kind - 1) / (2.0 * double_factorial(2 * kind - 3) * math.log(n))


def _sets(entropy: int, n: int, p: int, trial: int, recalls: int, noise: float):
    """Patterns (p, n) int8 and ``min(p, recalls)`` noisy starts of the first patterns."""
    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(n, p, trial)))
    P = np.where(rng.random((p, n)) < 0.5, -1, 1).astype(np.int8)
    m = min(p, recalls)
    starts = P[:m].copy()
    flips = int(math.floor(noise * n + 0.5))
    if flips:
        idx = np.argsort(rng.random((m, n)), axis=1)[:, :flips]
        np.negative.at(starts, (np.arange(m)[:, None], idx))
    return P, starts


def dense_capacity_curve(
    n, counts, kinds=DENSE_KINDS, noise=0.0, seed=None, min_recalls=64, recalls=16,
    beta=1.0, progress=None, n_workers=1,
):  # fmt: skip
    """Fraction of recalls retrieved against the number of stored patterns, per energy.

    For each count p, random +-1 pattern sets are drawn (the same sets for every kind);
    from each set the first ``min(p, recalls)`` patterns are recalled from a copy with
    ``round(noise n)`` bits flipped, by :func:`dense_settle` with units in order 0..n-1.
    Sets are drawn until at least ``min_recalls`` recalls are made per count. A recall
    counts as retrieved when its overlap ``xi . s / n`` exceeds 0.95.

    Parameters
    ----------
    n : int, 2..1000
    counts : array_like of int >= 1, shape (c,)
        Numbers of stored patterns.
    kinds : sequence of (int >= 2 or "exp")
    noise : float in [0, 1]
    seed : int >= 0, numpy Generator or None
        Set ``t`` of count ``p`` comes from ``SeedSequence(seed, spawn_key=(n, p, t))``, so
        a point does not depend on the other counts asked for.
    min_recalls, recalls : int >= 1
    beta : float > 0
        Steepness of "exp".
    progress : callable(float) or None
        Called with the fraction of work done after each pattern set (ends at 1.0),
        always from the calling thread.
    n_workers : int, 1..64
        Threads settling pattern sets side by side (the kernel releases the GIL); the
        result is the same for any value.

    Returns
    -------
    dict kind -> (fraction_retrieved (c,) float64, mean_overlap (c,) float64), and the key
    ``"recalls"`` -> int64 (c,): recalls made per count.
    """
    from .capacity import RETRIEVAL_THRESHOLD

    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 2 <= n <= _N_MAX:
        raise ValueError(f"n must be an int in [2, {_N_MAX}], got {n!r}")
    n = int(n)
    counts = np.asarray(counts)
    if counts.ndim != 1 or counts.size == 0 or counts.dtype.kind not in "iu":
        raise ValueError("counts must be a non-empty 1-D array of ints")
    if counts.min() < 1 or counts.max() > _P_MAX:
        raise ValueError(f"every count must be in [1, {_P_MAX}]")
    kinds = [_kind(k) for k in kinds]
    noise = float(noise)
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"noise must be in [0, 1], got {noise}")
    beta = _beta(beta)
    min_recalls, recalls = int(min_recalls), int(recalls)
    if min_recalls < 1 or recalls < 1:
        raise ValueError("min_recalls and recalls must be >= 1")
    entropy = int(seed_sequence(seed).entropy)
    n_workers = int(n_workers)
    if not 1 <= n_workers <= 64:
        raise ValueError(f"n_workers must be between 1 and 64, got {n_workers}")
    order = np.arange(n, dtype=np.int64)
    # One job per pattern set; a count gets ceil(min_recalls / recalls per set) sets.
    jobs = [
        (c, int(p), t)
        for c, p in enumerate(counts.tolist())
        for t in range(math.ceil(min_recalls / min(int(p), recalls)))
    ]
    tables = {(p, k): _table(k, n, p, beta) for _, p, t in jobs if t == 0 for k in kinds}

    def run(job):
        _, p, t = job
        P, starts = _sets(entropy, n, p, t, recalls, noise)
        PT = np.ascontiguousarray(P.T)
        target = P[: starts.shape[0]].astype(np.int64)
        overlaps = {}
        for k in kinds:
            S = starts.copy()
            if not _dense_settle_rows(PT, S, order, *tables[p, k], _MAX_SWEEPS):
                raise RuntimeError("dense_settle did not converge")
            overlaps[k] = (S * target).sum(axis=1) / n
        return overlaps

    out = {k: (np.zeros(counts.size), np.zeros(counts.size)) for k in kinds}
    made = np.zeros(counts.size, dtype=np.int64)
    total = float(sum(p * min(p, recalls) for _, p, _ in jobs))  # work ~ p x recalls
    done = 0.0
    pool = ThreadPoolExecutor(n_workers) if n_workers > 1 else None
    try:
        # map() yields in job order, so sums and progress do not depend on n_workers.
        results = pool.map(run, jobs) if pool is not None else map(run, jobs)
        for (c, p, _), overlaps in zip(jobs, results, strict=True):
            for k, m in overlaps.items():
                out[k][0][c] += np.count_nonzero(m > RETRIEVAL_THRESHOLD)
                out[k][1][c] += m.sum()
            made[c] += min(p, recalls)
            done += p * min(p, recalls)
            if progress is not None:
                progress(done / total)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    result: dict = {k: (r / made, m / made) for k, (r, m) in out.items()}
    result["recalls"] = made
    return result


def half_capacity(counts, fraction, level=0.5):
    """The number of patterns where a capacity curve first falls to ``level``.

    Interpolated linearly in log p between the two grid counts around the crossing.

    Parameters
    ----------
    counts : array_like of int, shape (c,), increasing
    fraction : array_like of float, shape (c,)
        Fraction recalled at each count (as from :func:`dense_capacity_curve`).
    level : float in (0, 1)

    Returns
    -------
    float
        ``counts[0]`` if the curve starts at or below ``level``; ``inf`` if it never gets
        there.
    """
    c = np.asarray(counts, dtype=np.float64)
    f = np.asarray(fraction, dtype=np.float64)
    if c.ndim != 1 or c.shape != f.shape or c.size == 0 or np.any(c <= 0):
        raise ValueError("counts and fraction must be 1-D, of equal length, counts > 0")
    below = np.flatnonzero(f <= level)
    if below.size == 0:
        return math.inf
    j = int(below[0])
    if j == 0:
        return float(c[0])
    f0, f1 = f[j - 1], f[j]
    t = (f0 - level) / (f0 - f1)
    return float(np.exp(np.log(c[j - 1]) + t * np.log(c[j] / c[j - 1])))


# ---------------------------------------------------------------- modern (continuous)


def _lse(z: np.ndarray) -> float:
    zmax = float(z.max())
    return zmax + math.log(float(np.exp(z - zmax).sum()))


def _continuous(patterns, xi):
    X = np.asarray(patterns, dtype=np.float64)
    if X.ndim != 2 or X.size == 0 or not np.all(np.isfinite(X)):
        raise ValueError("patterns must be a non-empty finite (p, n) array")
    q = np.asarray(xi, dtype=np.float64)
    if q.shape != (X.shape[1],) or not np.all(np.isfinite(q)):
        raise ValueError(f"xi must be a finite vector of shape ({X.shape[1]},)")
    return X, q


def softmax_weights(patterns, xi, beta):
    """``softmax(beta X xi)``: how much each stored pattern counts for state ``xi``.

    Parameters
    ----------
    patterns : array_like, shape (p, n)
    xi : array_like, shape (n,)
    beta : float >= 0 (0 gives equal weights)

    Returns
    -------
    ndarray of float64, shape (p,), non-negative, summing to 1
    """
    X, q = _continuous(patterns, xi)
    z = _beta(beta, allow_zero=True) * (X @ q)
    w = np.exp(z - z.max())
    return w / w.sum()


def modern_update(patterns, xi, beta):
    """One update ``xi_new = X^T softmax(beta X xi)`` (shapes as :func:`softmax_weights`).

    Returns ndarray of float64, shape (n,): a weighted average of the stored patterns.
    """
    X, _ = _continuous(patterns, xi)
    return softmax_weights(X, xi, beta) @ X


def modern_energy(patterns, xi, beta):
    """``-(1/beta) lse(beta X xi) + xi.xi/2 + (1/beta) log p + M^2/2``, M = max pattern norm.

    Parameters as :func:`softmax_weights` (beta > 0). Returns float; it is >= 0 for xi
    in the patterns' convex hull, and the update never raises it.
    """
    X, q = _continuous(patterns, xi)
    beta = _beta(beta)
    M2 = float((X * X).sum(axis=1).max())
    return -_lse(beta * (X @ q)) / beta + 0.5 * float(q @ q) + math.log(X.shape[0]) / beta + M2 / 2


def modern_retrieve(patterns, xi, beta, max_iter=100, tol=1e-9):
    """Iterate :func:`modern_update` from ``xi`` until it moves by less than ``tol``.

    Parameters
    ----------
    patterns : array_like, shape (p, n)
    xi : array_like, shape (n,)
        The query (for instance a corrupted +-1 picture).
    beta : float > 0
    max_iter : int >= 1
    tol : float > 0
        Stop when ``max |xi_new - xi| <= tol``.

    Returns
    -------
    fixed_point : ndarray of float64, shape (n,)
    energies : ndarray of float64, shape (t + 1,)
        :func:`modern_energy` of the start and after each of the t updates made.
    weights : ndarray of float64, shape (p,)
        ``softmax(beta X fixed_point)``.
    """
    X, q = _continuous(patterns, xi)
    beta = _beta(beta)
    max_iter = int(max_iter)
    if max_iter < 1 or not tol > 0:
        raise ValueError("max_iter must be >= 1 and tol > 0")
    energies = [modern_energy(X, q, beta)]
    for _ in range(max_iter):
        new = modern_update(X, q, beta)
        energies.append(modern_energy(X, new, beta))
        moved = float(np.abs(new - q).max())
        q = new
        if moved <= tol:
            break
    return q, np.array(energies), softmax_weights(X, q, beta)


def attention(q, K, V, beta):
    """Scaled dot-product attention ``softmax(beta q K^T) V``, row by row.

    Parameters
    ----------
    q : array_like, shape (d,) or (m, d)
        Queries.
    K : array_like, shape (N, d)
        Keys.
    V : array_like, shape (N, d_v)
        Values.
    beta : float >= 0
        Inverse temperature (a transformer uses ``1 / sqrt(d)``).

    Returns
    -------
    ndarray of float64, shape (d_v,) or (m, d_v)
    """
    Q = np.array(q, dtype=np.float64, ndmin=2)
    K = np.asarray(K, dtype=np.float64)
    V = np.asarray(V, dtype=np.float64)
    if K.ndim != 2 or V.ndim != 2 or K.shape[0] != V.shape[0] or Q.shape[1] != K.shape[1]:
        raise ValueError("need q (m, d), K (N, d) and V (N, d_v)")
    z = _beta(beta, allow_zero=True) * (Q @ K.T)
    w = np.exp(z - z.max(axis=1, keepdims=True))
    out = (w / w.sum(axis=1, keepdims=True)) @ V
    return out[0] if np.ndim(q) == 1 else out
