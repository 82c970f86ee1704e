"""The probe process (explainers/site/health.py): it answers while the app is busy or stalled,
says so once the app's event loop has stopped turning, and ends with the app."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time

import pytest
from tornado.ioloop import IOLoop

from explainers.site import health

from .apps import free_port, http_get


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_heartbeat_says_alive_until_the_loop_stalls():
    clock = Clock()
    beat = health.Heartbeat(clock)
    status, body = beat.status()
    assert status == 503 and body["alive"] is False and "not started" in body["why"]
    beat.beat()
    clock.now += health.STALL_S - 0.5
    status, body = beat.status()
    assert status == 200 and body == {"alive": True, "event_loop_last_turned_s": 29.5}
    clock.now += 1.0
    status, body = beat.status()
    assert status == 503 and body["alive"] is False
    assert body["why"] == "the event loop has not turned for 30 s"
    beat.beat()
    assert beat.status()[0] == 200


@pytest.fixture
def loop_thread():
    """A tornado IOLoop running on a thread of its own, stopped afterwards."""
    ready = threading.Event()
    holder: dict[str, IOLoop] = {}

    def run() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        holder["loop"] = IOLoop.current()
        ready.set()
        holder["loop"].start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    yield holder["loop"]
    holder["loop"].add_callback(holder["loop"].stop)
    thread.join(10)


def _probe(url: str) -> tuple[int, dict]:
    status, _, body = http_get(url, timeout=10)
    return status, json.loads(body)


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.05)


def test_probe_server_answers_from_the_heartbeat():
    clock = Clock()
    beat = health.Heartbeat(clock)
    server = health.probe_server("127.0.0.1", 0, beat)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert _probe(url + "/liveness")[0] == 503  # no beat yet
        beat.beat()
        assert _probe(url + "/liveness") == (200, {"alive": True, "event_loop_last_turned_s": 0})
        clock.now += 31
        status, body = _probe(url + "/liveness")
        assert status == 503 and body["why"] == "the event loop has not turned for 31 s"
        assert _probe(url + "/elsewhere")[0] == 404
        with socket.create_connection(server.server_address) as sock:
            sock.sendall(b"GET /liveness HTTP/1.1\r\n")  # and never the rest
            sock.settimeout(health.REQUEST_TIMEOUT_S + 5)
            assert sock.recv(1024) == b""  # dropped after the request timeout
    finally:
        server.shutdown()
        server.server_close()


def test_probe_process_answers_while_the_app_is_stalled_and_ends_with_it(loop_thread):
    log = logging.getLogger("test-health")
    port = free_port()
    probe = health.start("127.0.0.1", port, loop_thread, log)
    assert probe is not None
    url = f"http://127.0.0.1:{port}/liveness"
    try:
        _wait_for(lambda: _probe(url)[0] == 200)  # after the loop's first beat
        # This whole process stalls (as in a long garbage collection): the probe answers.
        stalled = threading.Event()

        def hold_the_gil() -> None:
            stalled.set()
            t_end = time.monotonic() + 1.5
            while time.monotonic() < t_end:
                sum(range(10_000))

        loop_thread.add_callback(hold_the_gil)
        stalled.wait(5)
        status, body = _probe(url)
        assert status == 200 and body["alive"] is True
    finally:
        probe.stop()
    assert probe.child.returncode == 0  # it read end-of-file and left
    with pytest.raises(OSError):
        http_get(url, timeout=2)


def test_a_port_in_use_is_reported_in_one_line(loop_thread, caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.WARNING, logger="test-health"):
            probe = health.start("127.0.0.1", port, loop_thread, logging.getLogger("test-health"))
    assert probe is None
    (message,) = [r.getMessage() for r in caplog.records]
    assert message.startswith(f"EXPLAINER_HEALTH_PORT={port} cannot be used (")
    assert "Address already in use" in message


def test_the_app_answers_on_its_health_port(start_app):
    app = start_app()
    status, body = _probe(app.health_url + "/liveness")
    assert status == 200 and body["alive"] is True
    assert f"Answering /liveness on http://127.0.0.1:{app.health_port}" in app.log()


def test_a_health_port_in_use_leaves_the_app_serving(start_app):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = start_app({"EXPLAINER_HEALTH_PORT": str(port)})
        assert http_get(app.url + "/liveness")[0] == 200
        assert f"EXPLAINER_HEALTH_PORT={port} cannot be used" in app.log()
        assert app.log().count("EXPLAINER_HEALTH_PORT") == 1
        assert "Traceback" not in app.log()
