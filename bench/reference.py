"""Plain-numpy reference implementations that the benchmarks time against the engine.

Each function computes the same quantity as an engine kernel with ordinary numpy (or a plain
Python loop where the algorithm is inherently sequential), written the way a careful
numpy user would, without numba.  ``tests/bench`` checks every one of them against the
engine, so a ratio in the benchmark table compares two correct implementations.

Nothing here imports the engine: the references must stand on their own.
"""

from __future__ import annotations

import math

import numpy as np

MASK64 = (1 << 64) - 1


# ------------------------------------------------------------------- exact enumeration


def _all_spins(n: int) -> np.ndarray:
    """Every state of n spins, (2^n, n) float64; row k has s_j = +1 iff bit j of k is set."""
    k = np.arange(1 << n, dtype=np.int64)
    return ((k[:, None] >> np.arange(n)) & 1).astype(np.float64) * 2.0 - 1.0


def exact_boltzmann_ref(W, b, T):
    """Exact Boltzmann distribution by vectorised enumeration of all 2^n spin states.

    The n units are split into a low half (bits 0..m-1 of the state index) and a high half;
    ``E(s) = E_lo + E_hi - s_hiᵀ W_hl s_lo`` so the whole energy table is one
    (2^(n-m), 2^m) matrix product plus two broadcasts, instead of 2^n·n² work.

    Parameters
    ----------
    W : ndarray of float64, shape (n, n)
        Symmetric, zero diagonal.
    b : ndarray of float64, shape (n,)
    T : float > 0

    Returns
    -------
    states : ndarray of int8, shape (2^n, n)
        Row k holds ``s_j = +1`` iff bit j of k is set.
    energies : ndarray of float64, shape (2^n,)
    probs : ndarray of float64, shape (2^n,)
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n = W.shape[0]
    if T <= 0:
        raise ValueError("T must be > 0")
    m = n // 2
    lo, hi = _all_spins(m), _all_spins(n - m)
    W_ll, W_hh, W_hl = W[:m, :m], W[m:, m:], W[m:, :m]
    e_lo = -0.5 * np.einsum("ki,ij,kj->k", lo, W_ll, lo) - lo @ b[:m]
    e_hi = -0.5 * np.einsum("ki,ij,kj->k", hi, W_hh, hi) - hi @ b[m:]
    energies = (e_hi[:, None] + e_lo[None, :] - (hi @ W_hl) @ lo.T).ravel()
    logw = -energies / T
    w = np.exp(logw - logw.max())
    probs = w / w.sum()
    states = np.empty((1 << (n - m), 1 << m, n), dtype=np.int8)
    states[:, :, :m] = lo[None, :, :]
    states[:, :, m:] = hi[:, None, :]
    return states.reshape(-1, n), energies, probs


def state_index(states) -> np.ndarray:
    """Index k of each ±1 row in :func:`exact_boltzmann_ref`'s order (bit j set iff s_j = +1)."""
    s = np.asarray(states)
    return ((s > 0).astype(np.int64) << np.arange(s.shape[1])).sum(axis=1)


def energy_ref(W, b, s):
    """E(s) = -½ sᵀ W s - bᵀ s for s of shape (n,) (float) or (R, n) ((R,) float64)."""
    s = np.asarray(s, dtype=np.float64)
    return -0.5 * np.einsum("...i,ij,...j->...", s, W, s) - s @ b


# ----------------------------------------------------------------- xoshiro256** replica


class XoshiroRef:
    """Pure-Python xoshiro256** with the engine's conversions (``engine/_rng.py``).

    Built from one row of a ``make_streams`` array, it yields exactly the numbers an engine
    kernel draws from that stream, so a reference fed by it can be compared with the engine
    number for number.
    """

    def __init__(self, state):
        self.s = [int(x) for x in np.asarray(state, dtype=np.uint64)]

    @staticmethod
    def _rotl(x: int, k: int) -> int:
        return ((x << k) | (x >> (64 - k))) & MASK64

    def next_u64(self) -> int:
        s0, s1, s2, s3 = self.s
        result = (self._rotl((s1 * 5) & MASK64, 7) * 9) & MASK64
        t = (s1 << 17) & MASK64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = self._rotl(s3, 45)
        self.s = [s0, s1, s2, s3]
        return result

    def uniform(self) -> float:
        return (self.next_u64() >> 11) * (1.0 / 9007199254740992.0)

    def randint(self, n: int) -> int:
        return ((self.next_u64() >> 32) * n) >> 32


# ------------------------------------------------------------------------------ Glauber


def glauber_ref(W, b, s, T, sites, uniforms, record=False):
    """Random-site heat-bath updates, one Python-loop iteration per update.

    The random numbers come in as arrays so the same loop can replay a numpy generator's
    draws (for timing) or an engine stream's (for an exact comparison).

    Parameters
    ----------
    W : ndarray (n, n), b : ndarray (n,), s : array of ±1 (n,)
    T : float >= 0
        ``T = 0`` is the deterministic rule (a zero field keeps the spin; as in the engine,
        fields at the rounding level of the weights count as zero).
    sites : int array (n_updates,)
        Unit visited at each update.
    uniforms : float array (n_updates,)
        Uniform [0, 1) number of each update; the unit turns on iff ``u < σ(2h/T)``.
    record : bool
        Also return the state after every update (for histogram checks).

    Returns
    -------
    s_final : ndarray of float64, shape (n,)
    energy_trace : ndarray of float64, shape (n_updates,)
        Energy after each update.
    states : ndarray of int8, shape (n_updates, n)
        Only with ``record=True``: the state after each update.
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    s = np.array(s, dtype=np.float64)
    e = float(energy_ref(W, b, s))
    tol = _field_tol(W, b)
    trace = np.empty(len(sites))
    states = np.empty((len(sites), len(s)), dtype=np.int8) if record else None
    for t, (i, u) in enumerate(zip(sites.tolist(), uniforms.tolist(), strict=True)):
        h = float(W[i] @ s) + b[i]
        if T > 0:
            new = 1.0 if u < 0.5 * (1.0 + math.tanh(h / T)) else -1.0
        else:
            new = 1.0 if h > tol else (-1.0 if h < -tol else s[i])
        if new != s[i]:
            e -= (new - s[i]) * h
            s[i] = new
        trace[t] = e
        if record:
            states[t] = s
    return (s, trace, states) if record else (s, trace)


def glauber_ref_numpy(W, b, s, T, n_updates, seed):
    """:func:`glauber_ref` driven by a numpy generator (the timed reference)."""
    rng = np.random.default_rng(seed)
    n = len(s)
    return glauber_ref(W, b, s, T, rng.integers(0, n, n_updates), rng.random(n_updates))


# ------------------------------------------------------------------------ annealing


def _field_tol(W, b, rel_tol=1e-9) -> float:
    """Fields within this of 0 count as zero at T = 0 (rounding of Hebbian weights)."""
    return rel_tol * (np.abs(W).sum(axis=1).max() + np.abs(b).max())


def anneal_ref(W, b, temperatures, n_runs, seed):
    """Many annealing chains at once: numpy vectorised over runs, looping over updates.

    Each run starts from a uniformly random state and does one sweep (n random-site
    heat-bath updates; the sign rule at T = 0, a zero field keeping the unit) per
    temperature.

    Returns
    -------
    final_states : ndarray of int8, shape (n_runs, n)
    energy_traces : ndarray of float64, shape (n_runs, K)
        Energy after each sweep.
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.zeros(W.shape[0]) if b is None else np.asarray(b, dtype=np.float64)
    n = W.shape[0]
    temps = np.asarray(temperatures, dtype=np.float64)
    rng = np.random.default_rng(seed)
    S = np.where(rng.random((n_runs, n)) < 0.5, -1.0, 1.0)
    rows = np.arange(n_runs)
    tol = _field_tol(W, b)
    traces = np.empty((n_runs, temps.size))
    for k, T in enumerate(temps.tolist()):
        sites = rng.integers(0, n, size=(n, n_runs))
        uniforms = rng.random((n, n_runs))
        for i, u in zip(sites, uniforms, strict=True):
            h = np.einsum("rj,rj->r", W[i], S) + b[i]
            if T > 0:
                new = np.where(u < 0.5 * (1.0 + np.tanh(h / T)), 1.0, -1.0)
            else:
                new = np.where(h > tol, 1.0, np.where(h < -tol, -1.0, S[rows, i]))
            S[rows, i] = new
        traces[:, k] = energy_ref(W, b, S)
    return S.astype(np.int8), traces


def classify_ref(S, patterns) -> np.ndarray:
    """Outcome of each final state: ``k`` = memory k, ``p + k`` = mirror of memory k,
    ``-1`` = spurious (lowest k wins, memory before mirror), int64 (R,)."""
    S = np.asarray(S, dtype=np.int64)
    P = np.asarray(patterns, dtype=np.int64)
    p, n = P.shape
    codes = np.full(S.shape[0], -1, dtype=np.int64)
    for k in range(p - 1, -1, -1):  # descending, so the lowest index is written last
        codes[(S @ P[k]) == -n] = p + k
    for k in range(p - 1, -1, -1):
        codes[(S @ P[k]) == n] = k
    return codes


def race_ref(W, b, patterns, strategies, n_runs, seed):
    """Run :func:`anneal_ref` for each strategy (name → temperatures) and count outcomes.

    Returns
    -------
    dict name -> {"counts": {"memory", "mirror", "spurious", "no_valley"}, "ground": int,
    "final_energies": (n_runs,) float64}
        A final state that is neither a memory nor a mirror is ``spurious`` when no single
        flip lowers its energy (a T = 0 fixed point) and ``no_valley`` otherwise. ``ground``
        counts runs ending at the network's lowest energy (by enumeration).
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.zeros(W.shape[0]) if b is None else np.asarray(b, dtype=np.float64)
    p = np.asarray(patterns).shape[0]
    _, energies, _ = exact_boltzmann_ref(W, b, 1.0)
    e_min = energies.min()
    tie = W.shape[0] * _field_tol(W, b)
    out = {}
    for name, temps in strategies.items():
        final, traces = anneal_ref(W, b, temps, n_runs, seed)
        codes = classify_ref(final, patterns)
        S = final.astype(np.float64)
        fixed = np.all(S * (S @ W + b) >= -_field_tol(W, b), axis=1)
        out[name] = {
            "counts": {
                "memory": int(np.count_nonzero((codes >= 0) & (codes < p))),
                "mirror": int(np.count_nonzero(codes >= p)),
                "spurious": int(np.count_nonzero((codes < 0) & fixed)),
                "no_valley": int(np.count_nonzero((codes < 0) & ~fixed)),
            },
            "ground": int(np.count_nonzero(traces[:, -1] <= e_min + tie)),
            "final_energies": traces[:, -1],
        }
    return out


# ------------------------------------------------------------------ Hopfield capacity


def settle_ref(W, states, b=None, max_sweeps=10_000, rel_tol=1e-9):
    """Deterministic asynchronous updates of many states at once, units in order 0…n−1.

    Every row is one network state; the loop over units is sequential (that is what makes
    the dynamics asynchronous) but each step updates all rows together.  A unit whose field
    is zero keeps its value.  Hebbian fields that are zero in exact arithmetic come out as
    ±1e-17 in floating point, so, like the engine, fields within ``rel_tol`` times the
    largest possible field ``max_i Σ_j |w_ij| + max_i |b_i|`` count as zero.

    Parameters
    ----------
    W : ndarray (n, n), states : ±1 array (R, n), b : ndarray (n,) or None

    Returns
    -------
    ndarray of float64, shape (R, n)
        The fixed point reached from each row.
    """
    S = np.array(states, dtype=np.float64, ndmin=2)
    n = S.shape[1]
    bias = np.zeros(n) if b is None else np.asarray(b, dtype=np.float64)
    WT = np.ascontiguousarray(W.T)
    tol = rel_tol * (np.abs(W).sum(axis=1).max() + np.abs(bias).max())
    for _ in range(max_sweeps):
        changed = False
        for i in range(n):
            h = S @ WT[i] + bias[i]
            new = np.where(h > tol, 1.0, np.where(h < -tol, -1.0, S[:, i]))
            if not changed and np.any(new != S[:, i]):
                changed = True
            S[:, i] = new
        if not changed:
            return S
    raise RuntimeError("settle_ref did not converge")


def hebbian_ref(patterns) -> np.ndarray:
    """W = (1/n) Σ_μ ξ^μ ξ^μᵀ with the diagonal zeroed; patterns (p, n) ±1."""
    P = np.asarray(patterns, dtype=np.float64)
    W = P.T @ P / P.shape[1]
    np.fill_diagonal(W, 0.0)
    return W


def recall_ref(patterns, noise, rng):
    """Store ``patterns`` (p, n), start from each with ``round(noise·n)`` bits flipped, settle.

    Returns the overlap ``ξ·s/n`` of each fixed point with its own pattern, (p,) float64.
    """
    P = np.asarray(patterns, dtype=np.float64)
    p, n = P.shape
    start = P.copy()
    n_flip = int(math.floor(noise * n + 0.5))
    if n_flip:
        for row in start:
            row[rng.choice(n, n_flip, replace=False)] *= -1.0
    final = settle_ref(hebbian_ref(P), start)
    return (final * P).sum(axis=1) / n


def capacity_curve_ref(n, alphas, n_trials, seed, noise=0.0):
    """Fraction of patterns retrieved (overlap > 0.95) and mean overlap for each α = p/n.

    Returns
    -------
    fraction_retrieved, mean_overlap : ndarray of float64, shape (len(alphas),)
        Each α stores ``max(1, round(α·n))`` patterns (at least one, as the engine does).
    """
    rng = np.random.default_rng(seed)
    frac = np.empty(len(alphas))
    mean = np.empty(len(alphas))
    for a, alpha in enumerate(alphas):
        p = max(1, int(math.floor(alpha * n + 0.5)))
        overlaps = np.concatenate(
            [
                recall_ref(rng.choice(np.array([-1.0, 1.0]), size=(p, n)), noise, rng)
                for _ in range(n_trials)
            ]
        )
        frac[a] = np.mean(overlaps > 0.95)
        mean[a] = overlaps.mean()
    return frac, mean


# ------------------------------------------------------------------------- lattice


class LatticeRef:
    """Checkerboard heat-bath / Metropolis sweeps of an L×L periodic lattice in numpy.

    ``Jright[i, j]`` couples (i, j) to (i, j+1) and ``Jdown[i, j]`` couples (i, j) to
    (i+1, j), indices modulo L (the engine's convention).  Each half-sweep updates every
    site of one colour at once from its four neighbours, which is exact because same-colour
    sites never touch.
    """

    def __init__(self, spins, Jright, Jdown, seed=0):
        self.spins = np.array(spins, dtype=np.float64)
        self.Jright = np.asarray(Jright, dtype=np.float64)
        self.Jdown = np.asarray(Jdown, dtype=np.float64)
        L = self.spins.shape[0]
        ii, jj = np.indices((L, L))
        self._masks = [((ii + jj) % 2) == c for c in (0, 1)]
        self._rng = np.random.default_rng(seed)
        # couplings seen from the other end of each bond
        self._Jleft = np.roll(self.Jright, 1, axis=1)
        self._Jup = np.roll(self.Jdown, 1, axis=0)

    def field(self) -> np.ndarray:
        s = self.spins
        return (
            self.Jright * np.roll(s, -1, axis=1)
            + self._Jleft * np.roll(s, 1, axis=1)
            + self.Jdown * np.roll(s, -1, axis=0)
            + self._Jup * np.roll(s, 1, axis=0)
        )

    def sweep(self, T, n_sweeps=1, method="heat-bath"):
        if T <= 0:
            raise ValueError("LatticeRef needs T > 0")
        metropolis = method == "metropolis"
        s = self.spins
        for _ in range(n_sweeps):
            for mask in self._masks:
                h = self.field()[mask]
                u = self._rng.random(h.shape)
                if metropolis:
                    si = s[mask]
                    flip = u < np.exp(-2.0 * np.maximum(si * h, 0.0) / T)
                    s[mask] = np.where(flip, -si, si)
                else:
                    s[mask] = np.where(u < 0.5 * (1.0 + np.tanh(h / T)), 1.0, -1.0)

    def energy_per_spin(self) -> float:
        s = self.spins
        e = -(
            self.Jright * s * np.roll(s, -1, axis=1) + self.Jdown * s * np.roll(s, -1, axis=0)
        ).sum()
        return float(e) / s.size

    def magnetization(self) -> float:
        return float(self.spins.mean())


# --------------------------------------------------------------------------------- RBM


def _softplus(x):
    return np.logaddexp(0.0, x)


def _log_sum_layer(W_so, b_s, b_o, chunk=1 << 14):
    """log Σ_{s∈{0,1}^ns} exp(b_s·s + Σ_k softplus(b_o,k + (sᵀ W_so)_k)), chunked."""
    ns = W_so.shape[0]
    total = 1 << ns
    logs = []
    for start in range(0, total, chunk):
        k = np.arange(start, min(start + chunk, total), dtype=np.int64)
        S = ((k[:, None] >> np.arange(ns)) & 1).astype(np.float64)
        x = S @ b_s + _softplus(S @ W_so + b_o).sum(axis=1)
        mx = x.max()
        logs.append(mx + np.log(np.exp(x - mx).sum()))
    logs = np.array(logs)
    mx = logs.max()
    return float(mx + np.log(np.exp(logs - mx).sum()))


def rbm_log_likelihood_ref(W, a, b, data) -> float:
    """Exact mean log p(v) of binary rows ``data`` under an RBM (W (nv, nh), a (nv,), b (nh,)).

    ``log p(v) = a·v + Σ_j softplus(b_j + (vW)_j) − log Z`` with log Z summed by brute
    force over the smaller layer (at most 20 units).
    """
    W = np.asarray(W, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    V = np.asarray(data, dtype=np.float64)
    nv, nh = W.shape
    if min(nv, nh) > 20:
        raise ValueError("both layers have more than 20 units")
    log_z = _log_sum_layer(W.T, b, a) if nh <= nv else _log_sum_layer(W, a, b)
    unnorm = V @ a + _softplus(V @ W + b).sum(axis=1)
    return float(unnorm.mean() - log_z)


def digits_binary() -> np.ndarray:
    """scikit-learn's 8×8 digits (1797 rows, shipped with scikit-learn), scaled to [0, 1]
    by dividing by 16 and binarised at 0.5 (pixel > 0.5 → 1): (1797, 64) float64 of 0/1."""
    from sklearn.datasets import load_digits

    X = load_digits().data / 16.0
    return (X > 0.5).astype(np.float64)


def sklearn_rbm(n_hidden, lr, batch_size, epochs, seed):
    """An unfitted ``sklearn.neural_network.BernoulliRBM`` with the benchmark's settings."""
    from sklearn.neural_network import BernoulliRBM

    return BernoulliRBM(
        n_components=n_hidden,
        learning_rate=lr,
        batch_size=batch_size,
        n_iter=epochs,
        random_state=seed,
        verbose=0,
    )


def sklearn_params(model):
    """(W (n_visible, n_hidden), a (n_visible,), b (n_hidden,)) of a fitted BernoulliRBM,
    in the engine's layout (scikit-learn stores ``components_`` as (n_hidden, n_visible))."""
    return (
        np.ascontiguousarray(model.components_.T, dtype=np.float64),
        np.asarray(model.intercept_visible_, dtype=np.float64).copy(),
        np.asarray(model.intercept_hidden_, dtype=np.float64).copy(),
    )


# ------------------------------------------------------------ dense associative memory


def dense_settle_ref(patterns, states, k, beta=1.0, max_sweeps=10_000):
    """Asynchronous dense-memory updates (units 0…n−1) of many states at once, in numpy.

    Each unit step updates every row together: the overlaps without unit i, ``r``, give
    ``Σ_μ ξ_i^μ g(r_μ)`` with ``g(r) = F(r+1) − F(r−1)`` (``F = x^k``), or for ``k="exp"``
    ``Σ_μ ξ_i^μ exp(β (r_μ − max_μ x_μ))``; its sign is the new value, a zero (exp: below
    1e-12 of the terms' sum) keeps the old one.  Returns the fixed points, int8 (R, n).
    """
    P = np.asarray(patterns, dtype=np.int64)
    S = np.array(states, dtype=np.int64, ndmin=2)
    n = P.shape[1]
    X = S @ P.T  # (R, p) overlaps
    r_all = np.arange(-n, n + 1, dtype=object)
    g = None if k == "exp" else np.array([(x + 1) ** k - (x - 1) ** k for x in r_all], np.int64)
    for _ in range(max_sweeps):
        changed = False
        for i in range(n):
            xi = P[:, i]  # (p,)
            r = X - xi[None, :] * S[:, i : i + 1]
            if g is None:
                v = np.exp(beta * (r - X.max(axis=1, keepdims=True)))
                tot, mag = v @ xi, v.sum(axis=1)
                new = np.where(tot > 1e-12 * mag, 1, np.where(tot < -1e-12 * mag, -1, S[:, i]))
            else:
                tot = g[r + n] @ xi
                new = np.where(tot > 0, 1, np.where(tot < 0, -1, S[:, i]))
            moved = new != S[:, i]
            if moved.any():
                changed = True
                X += 2 * (new * moved)[:, None] * xi[None, :]
                S[:, i] = new
        if not changed:
            return S.astype(np.int8)
    raise RuntimeError("dense_settle_ref did not converge")


def dense_capacity_curve_ref(n, counts, kinds, noise, seed, min_recalls=64, recalls=16):
    """:func:`engine.dense_capacity_curve` in numpy, on the engine's own pattern sets
    (drawn by ``engine.modern._sets``, so the two agree number for number)."""
    from engine.modern import _sets

    out = {k: (np.zeros(len(counts)), np.zeros(len(counts))) for k in kinds}
    made = np.zeros(len(counts), dtype=np.int64)
    for c, p in enumerate(int(x) for x in counts):
        t = 0
        while made[c] < min_recalls:
            P, starts = _sets(seed, n, p, t, recalls, noise)
            target = P[: starts.shape[0]].astype(np.int64)
            for k in kinds:
                m = (dense_settle_ref(P, starts, k) * target).sum(axis=1) / n
                out[k][0][c] += np.count_nonzero(m > 0.95)
                out[k][1][c] += m.sum()
            made[c] += starts.shape[0]
            t += 1
    return {k: (r / made, m / made) for k, (r, m) in out.items()}
