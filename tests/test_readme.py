"""The README cannot rot: its Python blocks run (outside the checkout's directory, as after
``pip install .``), the make targets, settings and files it names exist, and ``make run``
takes the port the way it says."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^ *```{language}\n(.*?)^ *```", README, flags=re.S | re.M)


PYTHON = _blocks("python")
BASH = _blocks("bash")


def test_readme_has_code_to_check():
    assert len(PYTHON) >= 2 and len(BASH) >= 4


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_python_block_runs(code, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_make_targets_in_the_readme_exist():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.M))
    named = set(re.findall(r"`make ([a-z][\w-]*)", README))
    for block in BASH:
        named |= set(re.findall(r"\bmake ([a-z][\w-]*)", block))
    assert named and named <= targets, named - targets


def test_settings_in_the_readme_are_read_by_the_server():
    serving = "".join(p.read_text() for p in (ROOT / "explainers" / "site").glob("*.py"))
    named = set(re.findall(r"EXPLAINER_[A-Z_]+[A-Z]", README))
    assert "EXPLAINER_FRAME_ANCESTORS" in named
    assert {n for n in named if f'"{n}"' not in serving} == set()


def test_files_the_readme_links_or_runs_exist():
    paths = set(re.findall(r"\]\(((?:docs|deploy|static|scripts)/[\w./-]+\w)\)", README))
    for block in BASH:
        paths |= set(re.findall(r"(?<![\w/.])((?:docs|deploy|scripts)/[\w./-]+\w)", block))
    assert "docs/course-page.html" in paths
    assert [p for p in sorted(paths) if not (ROOT / p).exists()] == []


@pytest.mark.parametrize(
    "env, port",
    [({}, None), ({"PORT": "8000"}, "8000"), ({"EXPLAINER_PORT": "8000"}, None)],
)
def test_make_run_takes_the_port_as_the_readme_says(env, port):
    # Run under `make test`, the outer make's variables would reach this one.
    outer = ("PORT", "EXPLAINER_PORT", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")
    clean = {k: v for k, v in os.environ.items() if k not in outer}
    for args in ([], [f"PORT={port}"] if port else []):
        done = subprocess.run(
            ["make", "--no-print-directory", "-n", "run", *args],
            cwd=ROOT,
            env={**clean, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        command = done.stdout.strip().splitlines()[-1]
        assert command.endswith("app.py"), command
        # PORT= sets EXPLAINER_PORT; otherwise the environment's EXPLAINER_PORT stands.
        assert ("EXPLAINER_PORT=" in command) == (port is not None), command
        if port:
            assert f"EXPLAINER_PORT={port} " in command
