"""``python -m bench.app --quick`` runs end to end and produces every row of the table.

No timing is asserted (this machine is shared); the full run's figures are in
``bench/results/app.md``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.harness import REPO_ROOT

pytestmark = [pytest.mark.deploy, pytest.mark.slow, pytest.mark.appbench]

ROWS = [
    "server start → first 200 (/liveness)",
    "server start → first page 200 (/hopfield, builds a session)",
    "page interactive: story page /",
    "page interactive: /hopfield",
    "frames/s reaching Chromium: Hopfield grid (/hopfield)",
    "server CPU per frame: Hopfield grid (/hopfield)",
    "frames/s reaching Chromium: Hopfield grid on the story page /",
    "server CPU per frame: Hopfield grid on the story page /",
    "frames/s reaching Chromium: RBM trainer (/rbm)",
    "server CPU per frame: RBM trainer (/rbm)",
    "frames/s reaching Chromium: lattice 128×128 (/ising)",
    "server CPU per frame: lattice 128×128 (/ising)",
    "slider → redrawn bars, alone (/distribution)",
    "memory per additional idle session (/hopfield)",
    "memory per additional idle session (story page /)",
    "3 animating sessions: frames/s per session",
    "3 animating sessions: slider p95 in an extra browser session",
    "fairness: slider while 2 races of 20 runs run at once",
    "fairness: slider while 2 capacity sweeps (n = 400) and 2 256² lattices run",
    "capacity, one process: animating sessions held at ≥ 24 frames/s",
    "capacity, two processes: animating sessions held at ≥ 24 frames/s",
]


@pytest.mark.timeout(1200)
def test_quick_app_benchmark_produces_every_row(tmp_path):
    out = tmp_path / "app-quick.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.app", "--quick", "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1100,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    table = out.read_text(encoding="utf-8")
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(lines) == 2 + len(ROWS), table
    for name in ROWS:
        matching = [line for line in lines if line.startswith(f"| {name}")]
        assert len(matching) == 1, f"row {name!r} missing or repeated:\n{table}"
        cells = [c.strip() for c in matching[0].strip("|").split(" | ")]
        assert cells[1] and cells[1] != "—", f"row {name!r} has no measurement"
        assert "nan" not in cells[1], f"row {name!r}: {cells[1]}"
