"""engine._gcpause: the collector is paused in the block, restored after, and the start-up
objects end up in the permanent generation."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine._gcpause import permanent_objects

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def restore_gc():
    was = gc.isenabled()
    yield
    gc.unfreeze()
    if was:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_off_in_the_block_and_restored_after(restore_gc, enabled):
    gc.enable() if enabled else gc.disable()
    with permanent_objects():
        assert not gc.isenabled()
    assert gc.isenabled() is enabled


def test_restored_and_frozen_when_the_block_raises(restore_gc):
    gc.enable()
    gc.unfreeze()
    keep = []
    with pytest.raises(RuntimeError), permanent_objects():
        keep.append([[] for _ in range(1000)])  # tracked containers
        raise RuntimeError("boom")
    assert gc.isenabled()
    assert gc.get_freeze_count() >= 1000


def _fresh(code: str) -> list[str]:
    env = {**os.environ}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()


def test_importing_the_engine_leaves_the_collector_on_and_freezes_nothing():
    enabled, frozen = _fresh("import gc, engine; print(gc.isenabled(), gc.get_freeze_count())")
    assert enabled == "True" and int(frozen) == 0  # an importer's objects are not ours


def test_the_servers_warm_up_freezes_numbas_objects():
    code = (
        "import gc, engine, engine.warmup; engine.warmup.run(); "
        "print(gc.isenabled(), gc.get_freeze_count(), len(gc.get_objects()))"
    )
    enabled, frozen, tracked = _fresh(code)
    assert enabled == "True"
    # numba's import leaves ~90 000 objects frozen and next to none left to walk
    assert int(frozen) > 50_000 and int(tracked) < 5_000
