"""Worked examples the explainer's prose makes claims about, computed rather than asserted.

* :func:`four_unit_example`: the theory notes' 4-neuron Hopfield network (two stored
  patterns, a start one bit away from the first) whose outcome depends on the update order.
* :func:`reachable_fixed_points`: every fixed point the T = 0 asynchronous rule can reach
  from a state under *some* update order, found exactly by following every downhill flip.
  A state "always" ends in X when X is the only one.
* :func:`corruption_outcomes`: that set for every way of flipping k cells of a pattern.
* :func:`first_crossing`: where a sampled curve first falls through a level (the capacity
  curve's half point).
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from .spins import FIELD_TOL, _check_network, _check_states, hebbian

__all__ = [
    "FourUnitExample",
    "corruption_outcomes",
    "first_crossing",
    "four_unit_example",
    "reachable_fixed_points",
]


class FourUnitExample(NamedTuple):
    """The theory notes' example: ``patterns`` (2, 4) ±1 int8, Hebbian ``W`` (4, 4) with
    ``w_ij = (1/4) Σ_μ ξ^μ_i ξ^μ_j``, zero biases ``b`` (4,), and ``start`` (4,) int8,
    the first pattern with its last unit flipped."""

    patterns: np.ndarray
    W: np.ndarray
    b: np.ndarray
    start: np.ndarray


def four_unit_example() -> FourUnitExample:
    """ξ¹ = (+1, +1, −1, −1), ξ² = (+1, −1, +1, −1), start (+1, +1, −1, +1).

    Only units 1 and 4 disagree with their fields at the start, and fixing either one
    satisfies the other: unit 4 first gives ξ¹, unit 1 first gives −ξ².
    """
    patterns = np.array([[1, 1, -1, -1], [1, -1, 1, -1]], dtype=np.int8)
    start = patterns[0].copy()
    start[3] = -start[3]
    return FourUnitExample(patterns, hebbian(patterns), np.zeros(4), start)


def _tol(W: np.ndarray, b: np.ndarray) -> float:
    # the same "zero up to rounding" rule as every T = 0 update in engine.spins
    return FIELD_TOL * (float(np.abs(W).sum(axis=1).max()) + float(np.abs(b).max(initial=0.0)))


def reachable_fixed_points(W, b, s, max_states: int = 1 << 16) -> np.ndarray:
    """Every fixed point the T = 0 asynchronous rule reaches from ``s`` for some order.

    At T = 0 a visited unit flips exactly when its field disagrees with it (a zero field
    keeps the value), and any sequence of visits has positive probability under random-site
    updates. So the states the dynamics can pass through are those joined to ``s`` by
    downhill single flips, and the possible end points are those among them with no such
    flip left. Every flip lowers the energy, so the search ends.

    Parameters
    ----------
    W : array_like, shape (n, n), symmetric, zero diagonal
    b : array_like, shape (n,), or None
    s : array_like of -1/+1, shape (n,)
    max_states : int
        Safety bound on the number of states visited (ValueError when exceeded).

    Returns
    -------
    fixed_points : ndarray of int8, shape (m, n), m >= 1, sorted (lexicographically)
    """
    W, b = _check_network(W, b)
    n = W.shape[0]
    start = _check_states(s, n)
    if start.ndim != 1:
        raise ValueError("reachable_fixed_points takes a single state of shape (n,)")
    tol = _tol(W, b)
    seen = {start.astype(np.int8).tobytes()}
    todo = [start.astype(np.int8)]
    ends = []
    while todo:
        x = todo.pop()
        h = W @ x + b
        unhappy = np.flatnonzero(x * h < -tol)
        if unhappy.size == 0:
            ends.append(x)
            continue
        for i in unhappy:
            y = x.copy()
            y[i] = -y[i]
            key = y.tobytes()
            if key not in seen:
                if len(seen) >= max_states:
                    raise ValueError(f"more than {max_states} states reachable; n too large")
                seen.add(key)
                todo.append(y)
    return np.array(sorted(ends, key=lambda e: e.tolist()), dtype=np.int8)


def corruption_outcomes(W, b, pattern, k: int) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """For every way of flipping ``k`` units of ``pattern``: the reachable fixed points.

    Returns
    -------
    list of ``(cells, fixed_points)``, one per k-subset of units in lexicographic order;
    ``fixed_points`` as from :func:`reachable_fixed_points`.
    """
    pattern = np.asarray(pattern, dtype=np.int8)
    n = pattern.size
    if not 0 <= int(k) <= n:
        raise ValueError(f"k must be in [0, {n}], got {k}")
    out = []
    for cells in itertools.combinations(range(n), int(k)):
        s = pattern.copy()
        s[list(cells)] *= -1
        out.append((cells, reachable_fixed_points(W, b, s)))
    return out


def first_crossing(x, y, level: float) -> float:
    """The first x at which the sampled curve y(x) falls to ``level`` or below.

    Linear interpolation between the last sample above ``level`` and the first at or
    below it; NaN samples are skipped. Returns NaN if the curve never gets that low, and
    ``x[0]`` if it starts there.

    Parameters
    ----------
    x, y : array_like, shape (k,), x increasing
    level : float
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = ~np.isnan(y)
    x, y = x[ok], y[ok]
    below = np.flatnonzero(y <= level)
    if below.size == 0:
        return float("nan")
    j = int(below[0])
    if j == 0:
        return float(x[0])
    x0, x1, y0, y1 = x[j - 1], x[j], y[j - 1], y[j]
    return float(x0 + (y0 - level) * (x1 - x0) / (y0 - y1))
