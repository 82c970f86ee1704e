"""Real app processes (``python app.py``) on free loopback ports, for the deploy tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120

# Loopback requests must never go through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 30):
    """GET ``url``; returns ``(status, headers, body bytes)`` for any status code."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class AppProcess:
    """One ``python app.py`` child process, with its output kept in a log file."""

    def __init__(self, log_dir: Path, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The probe process's own port (explainers/site/health.py), as in the image.
        self.health_port = int((env or {}).get("EXPLAINER_HEALTH_PORT") or free_port())
        self.health_url = f"http://127.0.0.1:{self.health_port}"
        self.log_path = log_dir / f"app-{self.port}.log"
        full_env = {
            **os.environ,
            "EXPLAINER_PORT": str(self.port),
            "EXPLAINER_HEALTH_PORT": str(self.health_port),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "app.py"],
                cwd=REPO,
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.proc.returncode}:\n{self.log()}")
            try:
                status, _, body = http_get(self.url + "/liveness", timeout=5)
                if status == 200 and json.loads(body) == {"/liveness": True}:
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"app.py not live after {timeout} s:\n{self.log()}")

    def __enter__(self) -> AppProcess:
        """Wait until it is live (and stop it if it never gets there)."""
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class AppStarter:
    """Starts app processes and stops every one of them at teardown."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[AppProcess] = []

    def __call__(self, env: dict[str, str] | None = None, wait: bool = True) -> AppProcess:
        app = AppProcess(self.log_dir, env)
        self.started.append(app)
        if wait:
            app.wait_ready()
        return app

    def close(self) -> None:
        for app in self.started:
            app.stop()
