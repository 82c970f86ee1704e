"""``pip install .`` gives a working package: ``engine`` and ``explainers`` with their prose,
static files and run-time dependencies declared, and ``python -m explainers`` serving the
app from the installed copy (not from this checkout)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, wait_http

pytestmark = pytest.mark.slow

RUNTIME = ("panel", "bokeh", "param", "numpy", "numba")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built by pip from a copy of the checkout (the build leaves files behind)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc", "*.pyc")
    for name in ("engine", "explainers", "static"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        check=True,
        timeout=600,
    )
    (found,) = out.glob("*.whl")
    return found


def test_wheel_holds_both_packages_their_data_and_dependencies(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("engine", "explainers", "explainers/site"):
        assert f"{package}/__init__.py" in names
    assert "explainers/__main__.py" in names
    for path in (ROOT / "static").rglob("*"):
        if path.is_file():
            assert f"explainers/static/{path.relative_to(ROOT / 'static')}" in names, path
    for path in (ROOT / "explainers" / "content").glob("*.md"):
        assert f"explainers/content/{path.name}" in names, path
    assert not any(n.startswith(("tests/", "bench/", "deploy/")) for n in names)
    dist = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
    with zipfile.ZipFile(wheel) as z:
        metadata = z.read(f"{dist}/METADATA").decode()
        entry_points = z.read(f"{dist}/entry_points.txt").decode()
    required = {
        line.split(":", 1)[1].strip().split("<")[0].split(">")[0].split("=")[0].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    }
    assert required == set(RUNTIME)
    assert "boltzmann-explainer = explainers.__main__:main" in entry_points


def test_installed_package_serves_the_app_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), wheel],
        check=True,
        timeout=300,
    )
    # The run-time dependencies come from this interpreter; the packages only from `site`.
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import engine, explainers, numpy as np; "
            "from explainers.site.serving import STATIC_DIR; "
            "print(engine.__file__); print(STATIC_DIR); "
            "print(engine.settle(np.zeros((2, 2)), np.zeros(2), np.ones(2)))",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout.splitlines()
    assert Path(where[0]).is_relative_to(site)
    assert Path(where[1]) == site / "explainers" / "static"
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "explainers"],
        cwd=tmp_path,
        env={**env, "EXPLAINER_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/liveness")
        for path in ("/assets/embed.js", "/assets/reconnect.js", "/sigmoid"):
            wait_http(base + path, timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=30)
