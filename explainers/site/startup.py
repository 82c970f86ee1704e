"""Start-up checks that must run before the engine (and numba) is imported."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

log = logging.getLogger("explainers.site.startup")

ENGINE_DIR = Path(__file__).resolve().parents[2] / "engine"


def _writable(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=directory).close()
        return True
    except OSError:
        return False


def numba_cache(env: MutableMapping[str, str] = os.environ) -> str | None:
    """Make sure numba has somewhere to write its cache; returns a line to log, or None.

    numba refuses to compile a ``cache=True`` kernel (``cannot cache function``) when
    neither ``NUMBA_CACHE_DIR``, the code's own ``__pycache__`` nor the user's cache folder
    is writable.  Then a fresh temporary folder (or one in ``/dev/shm``, memory-backed on
    Linux) becomes ``NUMBA_CACHE_DIR`` for this run: kernels compile at start as usual and
    are simply not kept for the next start.
    """
    given = env.get("NUMBA_CACHE_DIR")
    if given and _writable(Path(given)):
        return None
    if not given and _writable(ENGINE_DIR / "__pycache__"):
        return None
    for base in (None, "/dev/shm"):
        try:
            where = tempfile.mkdtemp(prefix="explainer-numba-", dir=base)
        except OSError:
            continue
        env["NUMBA_CACHE_DIR"] = where
        return (
            f"numba: no writable cache folder{' at ' + given if given else ''}; "
            f"kernels compile at start and are cached for this run only, in {where}."
        )
    return (
        "numba: nowhere writable for its cache (not even a temporary folder); "
        "set NUMBA_CACHE_DIR to a writable folder such as a tmpfs."
    )
