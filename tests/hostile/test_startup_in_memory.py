"""With nothing writable for numba's cache, the engine compiles its kernels in memory.

A fresh Python process gets ``HOME``, ``XDG_CACHE_HOME``, ``NUMBA_CACHE_DIR`` and ``TMPDIR``
in /proc (which refuses new folders, even to root) and a copy of the engine whose
``__pycache__`` is a plain file (so nothing can be written there either, even by root).  It
runs the app's start-up check, imports that engine and runs a kernel: it must exit cleanly and
the start-up must say so in one line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOWHERE = "/proc/explainer-no-such-dir"

SCRIPT = f"""
import sys, tempfile
tempfile.tempdir = {NOWHERE!r}  # Python's own fallbacks (/tmp, the cwd) are writable here
from explainers.site import startup
assert startup.ENGINE_DIR.parent.as_posix() == sys.argv[1], startup.ENGINE_DIR
note = startup.numba_cache(temp_bases=(None,))
print(note)
import numpy as np
import engine
from engine import _jit
assert not _jit.cache_enabled()
W = engine.hebbian(np.array([[1, -1, 1, -1], [1, 1, -1, -1]], dtype=np.int8))
state, trace = engine.glauber(W, np.zeros(4), np.ones(4), 0.5, 50, seed=3)
print("energies", len(trace))
"""


def test_kernels_compile_in_memory_when_nothing_is_writable(tmp_path):
    code = tmp_path / "code"
    shutil.copytree(REPO / "engine", code / "engine", ignore=shutil.ignore_patterns("__pycache__"))
    (code / "engine" / "__pycache__").write_text("not a folder\n")
    env = {
        **os.environ,
        "HOME": NOWHERE,
        "XDG_CACHE_HOME": NOWHERE,
        "NUMBA_CACHE_DIR": NOWHERE,
        "TMPDIR": NOWHERE,
        # The copied engine first, the app's code after it.
        "PYTHONPATH": os.pathsep.join([str(code), str(REPO)]),
    }
    env.pop("EXPLAINER_NUMBA_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(code)],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    notes = [line for line in lines if line.startswith("numba:")]
    assert len(notes) == 1 and "compile in memory" in notes[0], done.stdout
    assert "energies 50" in lines
    assert "cannot cache" not in done.stderr


def test_kernels_are_still_cached_on_disk_by_default(tmp_path):
    from engine import _jit

    assert _jit.cache_enabled()
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    env.pop("EXPLAINER_NUMBA_CACHE", None)
    script = (
        "import numpy as np, engine; "
        "engine.glauber(np.zeros((3, 3)), np.zeros(3), np.ones(3), 0.5, 10, seed=1)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert list(tmp_path.rglob("*.nbi")), "no kernel was cached on disk"
