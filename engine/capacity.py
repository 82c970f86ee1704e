"""How many patterns a Hopfield network can store: retrieval against the load alpha = p / n.

Store p random +-1 patterns in n units with the Hebbian rule, start the network at each
pattern (optionally with a few bits flipped), let deterministic asynchronous updates run
to a fixed point, and ask how close the fixed point is to the pattern (the overlap
``m = mean(s * xi)``; 1 = perfect recall). A pattern counts as retrieved when m > 0.95.

For large n, retrieval collapses near alpha_c ~ 0.138 (Amit, Gutfreund and Sompolinsky);
below it each stored pattern sits next to a fixed point with a few per cent of bits wrong,
above it the fixed points wander far away. Finite networks blur the edge: with n = 100
the curve falls from about alpha = 0.1 to 0.2 rather than at one point.

Worked example (the theory notes' exercise): a network of n = 100 units holds about
``0.138 * 100 ~ 14`` random patterns (see :func:`max_patterns`).

Random streams: the patterns and noise for p patterns in n units, trial t, come from
``SeedSequence(seed, spawn_key=(n, p, t))``, so a point of the curve does not depend on
which other alphas were asked for, the thread that ran it, or the order of the work, and
:func:`recall_example` shows exactly the first recall of trial 0 of the curve.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._jit import jit
from .spins import hebbian, settle_kernel

__all__ = [
    "ALPHA_C",
    "RETRIEVAL_THRESHOLD",
    "capacity_curve",
    "max_patterns",
    "pattern_counts",
    "recall_example",
]

#: Large-n storage limit of the Hebbian Hopfield network (replica theory, AGS 1985).
ALPHA_C = 0.138
#: A recall with overlap above this counts as retrieved.
RETRIEVAL_THRESHOLD = 0.95

_N_MAX = 2000
_ALPHA_MAX = 2.0
_MAX_SWEEPS = 10_000  # never reached: T = 0 updates on symmetric W always stop


@jit(nogil=True)
def _recall_overlaps(W, patterns, starts, order):
    """Settle every row of ``starts`` in place and return its overlap with its pattern.

    W (n, n) float64; patterns, starts (p, n) float64 of +-1. Returns float64 (p,), or
    raises if a row did not reach a fixed point (impossible for symmetric zero-diagonal W).
    """
    p, n = starts.shape
    b = np.zeros(n)
    out = np.empty(p)
    for mu in range(p):
        if settle_kernel(W, b, starts[mu], order, _MAX_SWEEPS) < 0:
            raise RuntimeError("settle did not reach a fixed point")
        acc = 0.0
        for i in range(n):
            acc += starts[mu, i] * patterns[mu, i]
        out[mu] = acc / n
    return out


# --------------------------------------------------------------------------- helpers


def _entropy(seed) -> int:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise TypeError(f"seed must be a non-negative int, a numpy Generator or None: {seed!r}")
    return int(seed)


def _check_int(value, name, lo, hi) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}, got {value}")
    return int(value)


def _check_noise(noise) -> float:
    noise = float(noise)
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"noise must be a fraction in [0, 1], got {noise}")
    return noise


def pattern_counts(n, alphas) -> np.ndarray:
    """Number of stored patterns for each load: ``max(1, round(alpha * n))`` (halves up).

    Parameters
    ----------
    n : int
        Number of units, 2..2000.
    alphas : array_like of float, shape (k,), each in (0, 2]

    Returns
    -------
    p : ndarray of int64, shape (k,)
    """
    n = _check_int(n, "n", 2, _N_MAX)
    a = np.asarray(alphas, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError("alphas must be a non-empty 1-D sequence")
    if not np.all(np.isfinite(a)) or np.any(a <= 0) or np.any(a > _ALPHA_MAX):
        raise ValueError(f"every alpha must be in (0, {_ALPHA_MAX}]")
    return np.maximum(1, np.floor(a * n + 0.5)).astype(np.int64)


def max_patterns(n, alpha_c=ALPHA_C) -> int:
    """Rule-of-thumb capacity ``round(alpha_c * n)``: ``max_patterns(100) == 14``."""
    n = _check_int(n, "n", 1, 10**9)
    return int(math.floor(alpha_c * n + 0.5))


def _trial(n, p, trial, entropy, noise):
    """Patterns and noisy starts of one (n, p, trial): float64 arrays of shape (p, n)."""
    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(n, p, trial)))
    patterns = np.where(rng.random((p, n)) < 0.5, -1.0, 1.0)
    starts = patterns.copy()
    k = int(math.floor(noise * n + 0.5))
    if k:
        # k distinct units per pattern: the first k of a random permutation of each row.
        flip = np.argsort(rng.random((p, n)), axis=1)[:, :k]
        np.negative.at(starts, (np.arange(p)[:, None], flip))
    return patterns, starts


def _trial_overlaps(n, p, trial, entropy, noise):
    """Overlap of each of the p recalls of one (n, p, trial): float64 (p,)."""
    patterns, starts = _trial(n, p, trial, entropy, noise)
    return _recall_overlaps(hebbian(patterns), patterns, starts, np.arange(n, dtype=np.int64))


# ----------------------------------------------------------------------------- public


def capacity_curve(n, alphas, n_trials=1, seed=None, noise=0.0, progress=None, n_workers=1):
    """Fraction of stored patterns retrieved, and mean overlap, against the load alpha.

    For each alpha, ``p = round(alpha n)`` random patterns are stored (Hebbian, zero
    diagonal, no biases) and each is recalled from itself with ``round(noise n)`` bits
    flipped, by deterministic asynchronous updates in the order 0..n-1 until a sweep
    changes nothing. Averages run over all p recalls of all ``n_trials`` pattern sets.

    Parameters
    ----------
    n : int
        Number of units, 2..2000.
    alphas : array_like of float, shape (k,)
        Loads p / n, each in (0, 2]; see :func:`pattern_counts` for the rounding.
    n_trials : int
        Independent pattern sets per alpha (>= 1).
    seed : int, numpy.random.Generator or None
    noise : float
        Fraction of bits flipped in each starting state, in [0, 1].
    progress : callable(float) or None
        Called with the fraction of work done (in (0, 1], ending at 1.0) after each
        (alpha, trial) chunk, always from the calling thread; useful for a progress bar.
    n_workers : int
        Threads that settle chunks side by side (the kernels release the GIL). Every
        chunk has its own random stream, so the result is the same for any value.

    Returns
    -------
    fraction_retrieved : ndarray of float64, shape (k,)
        Fraction of recalls with overlap > 0.95.
    mean_overlap : ndarray of float64, shape (k,)

    Notes
    -----
    Cost is about ``2 n^2`` operations per recall, so ``n^3 * sum(alphas) * n_trials``
    in all: n = 200 with 21 alphas up to 0.4 takes tens of milliseconds.
    """
    counts = pattern_counts(n, alphas)
    n = int(n)
    n_trials = _check_int(n_trials, "n_trials", 1, 10_000)
    noise = _check_noise(noise)
    if progress is not None and not callable(progress):
        raise TypeError("progress must be callable or None")
    n_workers = _check_int(n_workers, "n_workers", 1, 64)
    entropy = _entropy(seed)
    jobs = [(a, int(p), t) for a, p in enumerate(counts) for t in range(n_trials)]
    retrieved = np.zeros(counts.size)
    overlap = np.zeros(counts.size)
    total = float(counts.sum() * n_trials)  # work is proportional to the number of recalls
    done = 0

    def run(job):
        return _trial_overlaps(n, job[1], job[2], entropy, noise)

    with ThreadPoolExecutor(n_workers) if n_workers > 1 else _Serial() as pool:
        # map() yields in job order, so progress rises monotonically on this thread.
        for (a, p, _), m in zip(jobs, pool.map(run, jobs), strict=True):
            retrieved[a] += np.count_nonzero(m > RETRIEVAL_THRESHOLD)
            overlap[a] += m.sum()
            done += p
            if progress is not None:
                progress(done / total)
    recalls = counts * n_trials
    return retrieved / recalls, overlap / recalls


class _Serial:
    """Stand-in for an executor that runs jobs lazily on the calling thread."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def map(fn, items):
        return map(fn, items)


def recall_example(n, p, noise=0.0, seed=None, index=0):
    """One stored pattern, the noisy start made from it, and what the network recalls.

    Uses the same random numbers as trial 0 of :func:`capacity_curve` with the same
    ``n``, ``seed`` and ``noise`` at ``alpha = p / n``.

    Parameters
    ----------
    n : int
        Number of units, 2..2000.
    p : int
        Number of stored patterns, 1..2n.
    noise : float
        Fraction of bits flipped in the start, in [0, 1].
    seed : int, numpy.random.Generator or None
    index : int
        Which stored pattern to show, 0..p-1.

    Returns
    -------
    pattern, start, recalled : ndarray of int8, shape (n,), entries -1/+1
    overlap : float
        ``mean(recalled * pattern)``.
    """
    n = _check_int(n, "n", 2, _N_MAX)
    p = _check_int(p, "p", 1, int(_ALPHA_MAX * n))
    index = _check_int(index, "index", 0, p - 1)
    noise = _check_noise(noise)
    patterns, starts = _trial(n, p, 0, _entropy(seed), noise)
    W = hebbian(patterns)
    recalled = starts[index : index + 1].copy()
    m = _recall_overlaps(W, patterns[index : index + 1], recalled, np.arange(n, dtype=np.int64))
    as_int8 = (patterns[index], starts[index], recalled[0])
    return (*(x.astype(np.int8) for x in as_int8), float(m[0]))
