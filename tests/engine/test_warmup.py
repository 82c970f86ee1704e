"""``python -m engine.warmup``: runs, covers every module and public name, and says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

import engine
from engine import warmup

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args, env=None):
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
    )
    return subprocess.run(
        [sys.executable, "-m", "engine.warmup", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_command_line_warms_every_module_and_exits_zero():
    proc = run_cli("--verbose")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"engine warm-up: {len(warmup.MODULES)}/{len(warmup.MODULES)} modules" in proc.stdout
    for name in warmup.MODULES:
        assert f"engine.{name}" in proc.stdout
    assert "FAILED" not in proc.stdout and "does not call" not in proc.stdout
    # A second process finds the cache filled and still succeeds (no timing asserted).
    assert run_cli().returncode == 0


def test_every_public_callable_of_every_module_is_called():
    report = warmup.run()
    assert report.errors == {}
    assert report.missed == {}, "add calls for these names to engine/warmup.py"
    assert list(report.seconds) == list(warmup.MODULES)
    # MODULES is exactly the set of engine modules the package re-exports.
    assert set(warmup.MODULES) <= set(dir(engine))


def test_a_public_name_without_a_call_fails_the_run(monkeypatch):
    from engine import lattice

    monkeypatch.setattr(lattice, "brand_new", lambda: None, raising=False)
    monkeypatch.setattr(lattice, "__all__", [*lattice.__all__, "brand_new"])
    report = warmup.run()
    assert report.missed == {"lattice": ["brand_new"]} and not report.ok


def test_a_kernel_module_missing_from_the_list_fails_the_run(monkeypatch):
    monkeypatch.setattr(warmup, "MODULES", tuple(m for m in warmup.MODULES if m != "capacity"))
    report = warmup.run()
    assert "capacity" in report.errors and not report.ok


def test_uncompiled_kernels_finds_a_kernel_nobody_called(monkeypatch):
    from engine import capacity

    def never_called(x):
        return x + 1

    never_called.__module__ = capacity.__name__
    kernel = numba.njit(never_called)
    monkeypatch.setattr(capacity, "_never_called", kernel, raising=False)
    assert "engine.capacity._never_called" in warmup.uncompiled_kernels()
    kernel(np.int64(1))
    assert "engine.capacity._never_called" not in warmup.uncompiled_kernels()


@pytest.mark.slow
def test_check_reports_cold_and_warm_starts():
    """Compiles the whole engine from an empty cache in a subprocess (tens of seconds)."""
    proc = run_cli("--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cold (empty cache)" in proc.stdout and "warm (cache filled)" in proc.stdout


_LOADED = """
import json, sys
from engine import annealing, exact, spins, warmup
report = warmup.run(extras=sys.argv[1] == "extras")
kernels = {
    "parallel": annealing._anneal_parallel,
    "serial": annealing._anneal_serial,
    "blocked": exact._block_energies,
    "settle_kernel": spins.settle_kernel,
}
print(json.dumps({"ok": report.ok, **{k: len(v.signatures) for k, v in kernels.items()}}))
"""


@pytest.mark.parametrize("extras", [False, True])
def test_the_app_start_leaves_out_the_extra_variants(extras):
    """run() (what app.py calls) loads no kernel only an extra call needs; the command
    line's run(extras=True) loads them too. Fresh processes: this one has run them all."""
    env = {**os.environ}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", _LOADED, "extras" if extras else "app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded.pop("ok")
    assert loaded.pop("serial") == 1
    assert loaded == {k: int(extras) for k in ("parallel", "blocked", "settle_kernel")}
