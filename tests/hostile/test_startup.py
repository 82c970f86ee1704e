"""Start-up with nowhere writable for numba's cache (explainers.site.startup)."""

from __future__ import annotations

import os
from pathlib import Path

from explainers.site import startup

NOWHERE = "/proc/explainer-no-such-dir"  # /proc refuses new folders, even to root


def test_a_writable_cache_is_left_alone(tmp_path):
    env = {"NUMBA_CACHE_DIR": str(tmp_path)}
    assert startup.numba_cache(env) is None
    assert env == {"NUMBA_CACHE_DIR": str(tmp_path)}


def test_an_unwritable_cache_falls_back_to_a_fresh_temporary_folder(monkeypatch):
    monkeypatch.setattr(startup, "ENGINE_DIR", Path(NOWHERE) / "engine")
    for env in ({}, {"NUMBA_CACHE_DIR": NOWHERE}):
        note = startup.numba_cache(env)
        where = Path(env["NUMBA_CACHE_DIR"])
        assert where.is_dir() and os.access(where, os.W_OK)
        assert note.startswith("numba: no writable cache folder") and str(where) in note
        assert "\n" not in note  # one line
        where.rmdir()


def test_with_nothing_writable_it_says_so_in_one_line(monkeypatch):
    monkeypatch.setattr(startup, "ENGINE_DIR", Path(NOWHERE) / "engine")

    def no_temp(*args, **kwargs):
        raise OSError("read-only file system")

    monkeypatch.setattr(startup.tempfile, "mkdtemp", no_temp)
    env: dict[str, str] = {}
    note = startup.numba_cache(env)
    assert note.startswith("numba: nowhere writable") and "\n" not in note
    assert "compile in memory" in note
    assert "NUMBA_CACHE_DIR" not in env
    assert env[startup.CACHE_ENV] == "0"  # what engine._jit reads
