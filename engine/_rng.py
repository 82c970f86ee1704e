"""Counter-free, per-stream random numbers usable inside numba kernels.

Every kernel that runs several independent chains gets one xoshiro256** stream per
chain, derived from a single seed with :class:`numpy.random.SeedSequence`.  Because each
chain owns its stream, the numbers a chain sees never depend on how many threads ran the
kernel or in which order the chains were scheduled.

A stream is a row of four ``uint64`` words; a batch of streams is an array of shape
``(n_streams, 4)``.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def make_streams(seed, n_streams: int) -> np.ndarray:
    """Return ``n_streams`` independent xoshiro256** states.

    Parameters
    ----------
    seed : int, numpy.random.Generator, numpy.random.SeedSequence or None
        Source of entropy.  A ``Generator`` is consumed (one draw) so that successive
        calls with the same generator give different streams.
    n_streams : int
        Number of streams.

    Returns
    -------
    states : ndarray of uint64, shape (n_streams, 4)
    """
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(0, 2**63 - 1))
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    words = ss.generate_state(4 * max(int(n_streams), 1), dtype=np.uint64)
    states = words.reshape(-1, 4)[: int(n_streams)].copy()
    # An all-zero state would be a fixed point of xoshiro; SeedSequence never gives one
    # in practice, but guard anyway because a zero stream would silently repeat forever.
    zero = ~states.any(axis=1)
    states[zero, 0] = np.uint64(0x9E3779B97F4A7C15)
    return states


@jit(inline="always", nogil=True)
def xoshiro_next(s0, s1, s2, s3):
    """One xoshiro256** step on a state held in four scalars; returns the word and the new
    state. Hot loops call this directly so that the state stays in registers instead of
    being read from and written to the stream array on every draw."""
    m = s1 * np.uint64(5)
    result = ((m << np.uint64(7)) | (m >> np.uint64(57))) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
    return result, s0, s1, s2, s3


@jit()
def next_u64(states, r):
    """Advance stream ``r`` of ``states`` and return the next 64-bit word."""
    result, s0, s1, s2, s3 = xoshiro_next(states[r, 0], states[r, 1], states[r, 2], states[r, 3])
    states[r, 0] = s0
    states[r, 1] = s1
    states[r, 2] = s2
    states[r, 3] = s3
    return result


@jit()
def uniform(states, r):
    """Next double in [0, 1) from stream ``r`` (53 random bits)."""
    return (next_u64(states, r) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@jit()
def randint(states, r, n):
    """Next integer in [0, n) from stream ``r`` (Lemire's multiply-shift, bias < 2^-32)."""
    return np.int64(((next_u64(states, r) >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))
