"""The one decorator of the engine's compiled kernels: ``numba.njit``, cached on disk or not.

numba refuses to compile a ``cache=True`` kernel ("cannot cache function") when it finds
nowhere writable for its cache.  The server's start-up (``explainers.site.startup``) then sets
``EXPLAINER_NUMBA_CACHE=0`` before the engine is imported, and the kernels compile in memory
for that run.  Anything else (unset, ``1``) keeps numba's on-disk cache.
"""

from __future__ import annotations

import os

import numba

CACHE_ENV = "EXPLAINER_NUMBA_CACHE"
_OFF = {"0", "false", "no", "off"}


def cache_enabled() -> bool:
    """Whether kernels are cached on disk (read once per kernel, when it is defined)."""
    return os.environ.get(CACHE_ENV, "1").strip().lower() not in _OFF


def jit(**options):
    """``numba.njit(**options)``, with ``cache`` set by :func:`cache_enabled`."""
    return numba.njit(cache=cache_enabled(), **options)
