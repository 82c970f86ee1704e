"""Shared fixtures: a real app server for browser tests, and Chromium from Debian."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", CHROMIUM),
        "args": CHROMIUM_ARGS,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 180.0) -> None:
    """Poll ``url`` until it answers 200 (the first start compiles numba kernels)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s: {last}")


def start_app(port: int, extra_env: dict[str, str] | None = None, log_name: str = "app"):
    """Start ``python app.py`` on ``port``; returns the Popen (caller terminates it)."""
    log_dir = ROOT / "test-results"
    log_dir.mkdir(exist_ok=True)
    log = open(log_dir / f"{log_name}-{port}.log", "w")  # closed by stop_app
    env = {
        **os.environ,
        "EXPLAINER_PORT": str(port),
        "EXPLAINER_ADDRESS": "127.0.0.1",
        **(extra_env or {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    proc.log_file = log  # type: ignore[attr-defined]
    return proc


def stop_app(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.log_file.close()


@pytest.fixture(scope="session")
def app_url():
    """Base URL of one real app server shared by the browser tests."""
    port = free_port()
    proc = start_app(port)
    try:
        wait_http(f"http://127.0.0.1:{port}/liveness")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_app(proc)
