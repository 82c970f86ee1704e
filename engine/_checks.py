"""Argument checks shared by the engine's modules: one message per kind of bad input."""

from __future__ import annotations

import math

import numpy as np


def seed_sequence(seed) -> np.random.SeedSequence:
    """``seed`` (a non-negative int, a ``Generator``, a ``SeedSequence`` or None) as a
    ``SeedSequence``; a ``Generator`` is advanced by one draw."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(0, 2**63 - 1)))
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise TypeError(f"seed must be an int, a numpy Generator or None, got {type(seed)!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return np.random.SeedSequence(None if seed is None else int(seed))


def temperature(T, positive: bool = False, allow_inf: bool = False) -> float:
    """``T`` as a float, checked: a real number, ``>= 0`` (``> 0`` with ``positive``),
    finite unless ``allow_inf``."""
    try:
        T = float(T)
    except (TypeError, ValueError):
        raise TypeError(f"the temperature T must be a real number, got {T!r}") from None
    if math.isnan(T) or (math.isinf(T) and not allow_inf):
        raise ValueError(f"the temperature T must be finite, got {T}")
    if T < 0.0 or (positive and T == 0.0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"the temperature T must be {bound}, got {T}")
    return T
