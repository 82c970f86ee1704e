"""Simulated annealing: temperature schedules, many independent chains, and races.

A run starts from a uniformly random state and does one sweep per entry of a temperature
array; a sweep is ``n`` random-site heat-bath updates (the sign rule at ``T = 0``, with a
zero field keeping the unit). Every run owns one random stream, so a run's result depends
only on the seed and its index, never on how many threads ran or how runs were chunked.

Which network to race on (a teaching point): with plain Hebbian weights the 3×3 shapes
T, L and O make valleys of *unequal* depth (L is deeper, and has a flat floor), so even a
perfect anneal mostly lands near L and a tally of "memory / mirror / spurious" misleads.
The annealing section stores T, O and X instead (see ``explainers/annealing.py``).

A finished run is named by what it is (:func:`classify_outcomes`): a stored memory, its
mirror, a spurious valley (a T = 0 fixed point that is neither), or no valley at all (a
state a single flip would take downhill, as a run that ends warm usually is).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numba
import numpy as np

from ._jit import jit
from ._rng import make_streams
from .exact import MAX_UNITS, _energies
from .spins import (
    FIELD_TOL,
    TRACE_EACH_BLOCK,
    _as_pattern_matrix,
    _chain_kernel,
    _check_network,
    _field_scale,
    _fields_into,
    _random_spins,
    classify_states,
    settle,
)

__all__ = [
    "OUTCOMES",
    "STRATEGIES",
    "anneal",
    "SETTLED",
    "classify_outcomes",
    "race",
    "schedule",
    "strategy_temperatures",
]

OUTCOMES = ("memory", "mirror", "spurious", "no_valley")
"""Outcome classes of a finished run, in the order the race reports them.

``memory`` / ``mirror``: a stored pattern or its sign-flip (equally deep, since
``E(-s) = E(s)`` without biases). ``spurious``: a valley that is neither, i.e. a fixed point
of the T = 0 rule (no single flip lowers the energy). ``no_valley``: not a fixed point at
all, a state some single flip would take downhill (typical of a run that ends warm).
"""

SETTLED = OUTCOMES[:3]
"""Where a ``no_valley`` state ends when it is settled at T = 0 (a valley, by definition)."""


def classify_outcomes(W, b, S, patterns):
    """Name each final state by what it is: memory, mirror, spurious valley or no valley.

    Parameters
    ----------
    W : array_like, shape (n, n), symmetric, zero diagonal
    b : array_like, shape (n,), or None
    S : array_like of -1/+1, shape (R, n)
    patterns : array_like of -1/+1, shape (p, n)

    Returns
    -------
    kinds : ndarray of int64, shape (R,)
        Index into :data:`OUTCOMES`. A stored pattern (or mirror) is named so even if it is
        not a fixed point; any other state is ``spurious`` when no single flip lowers its
        energy (``s_i h_i >= 0`` for all i, zero up to ``FIELD_TOL``) and ``no_valley``
        otherwise.
    settled : ndarray of int64, shape (R,)
        For ``no_valley`` rows, the index into :data:`SETTLED` of the valley it reaches
        when settled at T = 0 with :func:`engine.spins.settle` (units visited 0, 1, ...,
        n-1, sweep after sweep); -1 for every other row.
    """
    W, b = _check_network(W, b)
    P = _as_pattern_matrix(patterns)
    A = np.atleast_2d(np.asarray(S))
    codes = classify_states(A, P)
    p = P.shape[0]
    tol = FIELD_TOL * float(_field_scale(W, b))
    fixed = np.all(A * (A @ W + b) >= -tol, axis=1)
    kinds = np.where(codes >= p, 1, 0)
    kinds = np.where(codes < 0, np.where(fixed, 2, 3), kinds).astype(np.int64)
    settled = np.full(A.shape[0], -1, dtype=np.int64)
    loose = kinds == 3
    if loose.any():
        c = classify_states(settle(W, b, A[loose]), P)
        settled[loose] = np.where(c < 0, 2, np.where(c >= p, 1, 0))
    return kinds, settled


def schedule(kind: str, n_sweeps: int, T_start: float = 2.0, T_end: float = 0.05) -> np.ndarray:
    """A temperature for each sweep.

    Parameters
    ----------
    kind : {"quench", "constant", "linear", "geometric"}
        ``quench``: all zeros (pure descent). ``constant``: ``T_start`` throughout.
        ``linear``: evenly spaced from ``T_start`` to ``T_end``. ``geometric``: a constant
        ratio from ``T_start`` to ``T_end`` (both > 0), spending more sweeps where it is cold.
    n_sweeps : int, >= 1
    T_start, T_end : float, >= 0

    Returns
    -------
    temperatures : ndarray of float64, shape (n_sweeps,)
    """
    n_sweeps = int(n_sweeps)
    if n_sweeps < 1:
        raise ValueError("n_sweeps must be >= 1")
    T_start, T_end = float(T_start), float(T_end)
    if not (np.isfinite(T_start) and np.isfinite(T_end) and T_start >= 0 and T_end >= 0):
        raise ValueError("temperatures must be finite and >= 0")
    if kind == "quench":
        return np.zeros(n_sweeps)
    if kind == "constant":
        return np.full(n_sweeps, T_start)
    if kind == "linear":
        return np.linspace(T_start, T_end, n_sweeps)
    if kind == "geometric":
        if T_start <= 0 or T_end <= 0:
            raise ValueError("a geometric schedule needs T_start > 0 and T_end > 0")
        return np.geomspace(T_start, T_end, n_sweeps)
    raise ValueError(f"unknown schedule kind {kind!r}; use quench, constant, linear, geometric")


STRATEGIES: dict[str, dict] = {
    "quench": {"kind": "quench", "n_sweeps": 500},
    "fixed": {"kind": "constant", "n_sweeps": 500, "T_start": 0.5},
    "fast": {"kind": "geometric", "n_sweeps": 500, "T_start": 2.0, "T_end": 0.05, "cool": 20},
    "slow": {"kind": "geometric", "n_sweeps": 500, "T_start": 2.0, "T_end": 0.05},
}
"""The race's named strategies: keyword arguments of :func:`strategy_temperatures`.

All last 500 sweeps so their traces line up. ``fixed`` stays at one moderate temperature;
``fast`` cools geometrically within its first ``cool`` sweeps and then stays at ``T_end``;
``slow`` cools geometrically over all 500 sweeps.
"""


def strategy_temperatures(
    kind: str, n_sweeps: int, T_start: float = 2.0, T_end: float = 0.05, cool: int | None = None
) -> np.ndarray:
    """Temperatures of a strategy: :func:`schedule` over the first ``cool`` sweeps
    (default: all of them), then held at the schedule's last temperature.

    Returns
    -------
    temperatures : ndarray of float64, shape (n_sweeps,)
    """
    n_sweeps = int(n_sweeps)
    cool = n_sweeps if cool is None else int(cool)
    if not 1 <= cool <= n_sweeps:
        raise ValueError(f"cool must be in [1, {n_sweeps}]")
    head = schedule(kind, cool, T_start, T_end)
    return np.concatenate([head, np.full(n_sweeps - cool, head[-1])])


def _check_temperatures(temperatures) -> np.ndarray:
    temps = np.ascontiguousarray(temperatures, dtype=np.float64)
    if temps.ndim != 1 or temps.size == 0:
        raise ValueError("temperatures must be a non-empty 1-D array")
    if not np.all(np.isfinite(temps)) or temps.min() < 0:
        raise ValueError("temperatures must be finite and >= 0")
    return temps


@jit(nogil=True)
def _anneal_one(W, b, temps, tol, streams, r, final, traces):
    """Run r: random start from stream r, one sweep per temperature, record energies."""
    n = W.shape[0]
    s = np.empty(n)
    h = np.empty(n)
    _random_spins(streams, r, s)
    E = _fields_into(W, b, s, h)
    _chain_kernel(W, s, h, E, temps, n, tol, streams, r, traces[r], TRACE_EACH_BLOCK)
    for i in range(n):
        final[r, i] = np.int8(s[i])


@jit(nogil=True)
def _anneal_serial(W, b, temps, tol, streams, final, traces):
    for r in range(streams.shape[0]):
        _anneal_one(W, b, temps, tol, streams, r, final, traces)


@jit(nogil=True, parallel=True)
def _anneal_parallel(W, b, temps, tol, streams, final, traces):
    for r in numba.prange(streams.shape[0]):
        _anneal_one(W, b, temps, tol, streams, r, final, traces)


def _run_chains(W, b, temps, streams, parallel):
    """Advance every stream's run; W, b, temps already checked. Streams are consumed."""
    R, n = streams.shape[0], W.shape[0]
    final = np.empty((R, n), dtype=np.int8)
    traces = np.empty((R, temps.shape[0]))
    tol = FIELD_TOL * float(_field_scale(W, b))
    kernel = _anneal_parallel if parallel else _anneal_serial
    kernel(W, b, temps, tol, streams, final, traces)
    return final, traces


def anneal(W, b, temperatures, n_runs, seed=None, parallel: bool = False):
    """Run ``n_runs`` independent annealing chains in one compiled call.

    Parameters
    ----------
    W : array_like, shape (n, n), symmetric, zero diagonal
    b : array_like, shape (n,), or None
    temperatures : array_like of float, shape (K,), each >= 0
        One sweep (n random-site heat-bath updates) per entry; see :func:`schedule`.
    n_runs : int, >= 1
    seed : int, numpy.random.Generator or None
        Run r uses stream r of ``make_streams(seed, n_runs)``, so results never depend on
        the thread count or on ``parallel``.
    parallel : bool
        Spread runs over numba's threads. Worth it for hundreds of runs of a larger net;
        calling it from several Python threads at once needs a thread-safe numba threading
        layer (omp or tbb), so the default is a single thread.

    Returns
    -------
    final_states : ndarray of int8, shape (n_runs, n)
    energy_traces : ndarray of float64, shape (n_runs, K)
        The energy after each sweep.
    """
    W, b = _check_network(W, b)
    temps = _check_temperatures(temperatures)
    n_runs = int(n_runs)
    if n_runs < 1:
        raise ValueError("n_runs must be >= 1")
    return _run_chains(W, b, temps, make_streams(seed, n_runs), parallel)


def race(
    W,
    b,
    patterns,
    strategies: Mapping[str, np.ndarray | Mapping],
    n_runs: int,
    seed=None,
    progress: Callable[[float], None] | None = None,
    chunk: int = 50,
    parallel: bool = False,
):
    """Race several temperature strategies on the same network and count the outcomes.

    Every strategy gets the same ``n_runs`` random streams, so run r starts from the same
    random state under every strategy (a fair race with common random numbers), and each
    strategy's result equals ``anneal(W, b, temperatures, n_runs, seed)``.

    Parameters
    ----------
    W, b : the network (b may be None)
    patterns : array_like of ±1, shape (p, n)
        Stored patterns used to name the final states.
    strategies : mapping of name -> temperature array, or name -> keyword arguments of
        :func:`strategy_temperatures` (so ``race(W, b, P, STRATEGIES, ...)`` works)
    n_runs : int, >= 1
    seed : int, numpy.random.Generator or None
    progress : callable, optional
        Called with the fraction of work done (0 < f <= 1) after each chunk of runs.
    chunk : int
        Runs per compiled call between progress reports.
    parallel : bool
        As in :func:`anneal`.

    Returns
    -------
    results : dict name -> dict with keys
        ``counts``: {outcome: int} for every name in :data:`OUTCOMES` (see
        :func:`classify_outcomes`);
        ``settled_counts``: {name: int} over :data:`SETTLED`, where the ``no_valley`` runs
        end when settled at T = 0; ``kinds``: int64 (n_runs,) indices into
        :data:`OUTCOMES`;
        ``memory_counts``, ``mirror_counts``: int64 arrays (p,) per stored pattern;
        ``codes``: int64 (n_runs,) from :func:`engine.spins.classify_states`;
        ``ground``: number of runs ending at the lowest energy of the network (computed
        by enumeration when n <= 20, else None); ``final_states`` int8 (n_runs, n);
        ``final_energies`` float64 (n_runs,); ``energy_traces`` float64 (n_runs, K);
        ``temperatures`` float64 (K,).
    """
    W, b = _check_network(W, b)
    P = _as_pattern_matrix(patterns)
    p, n = P.shape
    if n != W.shape[0]:
        raise ValueError(f"patterns have {n} units but the network has {W.shape[0]}")
    n_runs, chunk = int(n_runs), int(chunk)
    if n_runs < 1 or chunk < 1:
        raise ValueError("n_runs and chunk must be >= 1")
    schedules = {
        str(name): _check_temperatures(
            strategy_temperatures(**spec) if isinstance(spec, Mapping) else spec
        )
        for name, spec in strategies.items()
    }
    if not schedules:
        raise ValueError("give at least one strategy")
    ground_energy, ground_tol = None, 0.0
    if n <= MAX_UNITS:
        energies, ground_tol = _energies(W, b)
        ground_energy = float(energies.min())
    base = make_streams(seed, n_runs)
    total = sum(t.size for t in schedules.values()) * n_runs
    done = 0
    results = {}
    for name, temps in schedules.items():
        streams = base.copy()
        final = np.empty((n_runs, n), dtype=np.int8)
        traces = np.empty((n_runs, temps.size))
        for lo in range(0, n_runs, chunk):
            hi = min(lo + chunk, n_runs)
            final[lo:hi], traces[lo:hi] = _run_chains(W, b, temps, streams[lo:hi], parallel)
            done += (hi - lo) * temps.size
            if progress is not None:
                progress(done / total)
        codes = classify_states(final, P)
        kinds, settled = classify_outcomes(W, b, final, P)
        final_e = traces[:, -1].copy()
        results[name] = {
            "counts": {o: int(np.count_nonzero(kinds == k)) for k, o in enumerate(OUTCOMES)},
            "settled_counts": {
                o: int(np.count_nonzero(settled == k)) for k, o in enumerate(SETTLED)
            },
            "kinds": kinds,
            "memory_counts": np.bincount(codes[(codes >= 0) & (codes < p)], minlength=p),
            "mirror_counts": np.bincount(codes[codes >= p] - p, minlength=p),
            "codes": codes,
            "ground": None
            if ground_energy is None
            else int(np.count_nonzero(final_e <= ground_energy + ground_tol)),
            "final_states": final,
            "final_energies": final_e,
            "energy_traces": traces,
            "temperatures": temps,
        }
    return results
