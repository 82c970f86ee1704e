"""Start-up checks that must run before the engine (and numba) is imported."""

from __future__ import annotations

import importlib.util
import logging
import os
import tempfile
from collections.abc import MutableMapping, Sequence
from pathlib import Path

log = logging.getLogger("explainers.site.startup")

# Read by engine._jit when the engine is imported: "0" compiles the kernels in memory only.
CACHE_ENV = "EXPLAINER_NUMBA_CACHE"


def _engine_dir() -> Path:
    """The folder of the ``engine`` package Python will import (found, not imported)."""
    spec = importlib.util.find_spec("engine")
    if spec is not None and spec.origin:
        return Path(spec.origin).resolve().parent
    return Path(__file__).resolve().parents[2] / "engine"


ENGINE_DIR = _engine_dir()
# Where a run-only cache may go: the temporary folder, then memory-backed /dev/shm (Linux).
TEMP_BASES: tuple[str | None, ...] = (None, "/dev/shm")


def _writable(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=directory).close()
        return True
    except OSError:
        return False


def numba_cache(
    env: MutableMapping[str, str] = os.environ, temp_bases: Sequence[str | None] = TEMP_BASES
) -> str | None:
    """Make sure numba can compile the engine's kernels; returns a line to log, or None.

    numba refuses to compile a ``cache=True`` kernel (``cannot cache function``) when
    neither ``NUMBA_CACHE_DIR``, the code's own ``__pycache__`` nor the user's cache folder
    is writable.  Then a fresh temporary folder (one in each of ``temp_bases`` is tried;
    None is Python's temporary folder) becomes ``NUMBA_CACHE_DIR`` for this run: kernels
    compile at start as usual and are simply not kept for the next start.  With none of
    those writable either, ``EXPLAINER_NUMBA_CACHE=0`` makes the engine compile its kernels
    in memory (see ``engine._jit``).  Call it before the engine is imported.
    """
    given = env.get("NUMBA_CACHE_DIR")
    if given and _writable(Path(given)):
        return None
    if not given and _writable(ENGINE_DIR / "__pycache__"):
        return None
    for base in temp_bases:
        try:
            where = tempfile.mkdtemp(prefix="explainer-numba-", dir=base)
        except OSError:
            continue
        env["NUMBA_CACHE_DIR"] = where
        return (
            f"numba: no writable cache folder{' at ' + given if given else ''}; "
            f"kernels compile at start and are cached for this run only, in {where}."
        )
    env[CACHE_ENV] = "0"
    return (
        "numba: nowhere writable for its cache (not even a temporary folder); kernels "
        "compile in memory at every start (set NUMBA_CACHE_DIR to a writable folder to keep "
        "them)."
    )
