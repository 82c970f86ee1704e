"""``/liveness`` on a port of its own, answered by a small process: a probe never waits.

The app's own ``/liveness`` (on the main port) is answered by the event loop, after whatever
is queued before it there; and every thread of the app stops while Python collects garbage,
which with a class's sessions in memory takes a good part of a second.  An orchestrator whose
probe times out restarts a pod that is only busy, losing every reader's session.

So :func:`start` runs this file as a child process (standard library only, a few MiB) that
answers ``GET /liveness`` on ``EXPLAINER_HEALTH_PORT`` at once.  The app's event loop writes
a byte to the child's stdin every :data:`BEAT_S`; the child answers 200 while the last byte
is under :data:`STALL_S` old and 503 once it is older (a loop stuck that long is worth a
restart).  When the app exits, the child reads end-of-file and exits too.  With several
processes (``EXPLAINER_NUM_PROCS``) each has its own child, all bound to the port with
``SO_REUSEPORT``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer

BEAT_S = 0.5
#: A loop that has not turned for this long answers 503: well beyond any page build or
#: garbage collection, well under what a reader would wait for.
STALL_S = 30.0
#: A probe that does not finish sending its request within this long is dropped.
REQUEST_TIMEOUT_S = 2.0
#: How long :func:`start` waits for the child to say it is listening.
START_TIMEOUT_S = 15.0
PATH = "/liveness"


class Heartbeat:
    """When the app's event loop last beat (``clock`` seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.last: float | None = None  # None until the loop has turned once

    def beat(self) -> None:
        self.last = self.clock()

    def status(self) -> tuple[int, dict[str, object]]:
        """``(HTTP status, JSON body)`` of a probe now."""
        if self.last is None:
            return 503, {"alive": False, "why": "the event loop has not started yet"}
        behind = self.clock() - self.last
        alive = behind <= STALL_S
        body: dict[str, object] = {"alive": alive, "event_loop_last_turned_s": round(behind, 3)}
        if not alive:
            body["why"] = f"the event loop has not turned for {behind:.0f} s"
        return (200 if alive else 503), body


def probe_server(address: str, port: int, heartbeat: Heartbeat) -> HTTPServer:
    """An HTTP server (not yet serving) that answers :data:`PATH` from ``heartbeat``."""

    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT_S  # the socket's: a half-sent request is dropped

        def _answer(self, with_body: bool) -> None:
            if self.path.split("?", 1)[0] != PATH:
                status, body = 404, {"error": f"only {PATH} is answered here"}
            else:
                status, body = heartbeat.status()
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if with_body:
                self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer(True)

        def do_HEAD(self) -> None:
            self._answer(False)

        def log_message(self, format, *args) -> None:
            pass  # a probe every few seconds would fill the log

    class Server(HTTPServer):
        allow_reuse_port = True  # one socket per worker process on the same port

    return Server((address, port), Handler)


def _child(address: str, port: int) -> int:
    """The child process: listen, say so on stdout, answer until stdin closes."""
    heartbeat = Heartbeat()
    try:
        server = probe_server(address, port, heartbeat)
    except OSError as exc:
        print(f"error {exc.strerror or exc}", flush=True)
        return 1
    print("ready", flush=True)

    def read_beats() -> None:
        stdin = sys.stdin.buffer.raw
        while stdin.read(64):  # each read: the loop has turned
            heartbeat.beat()
        server.shutdown()  # the app has gone

    threading.Thread(target=read_beats, daemon=True).start()
    server.serve_forever(poll_interval=0.5)
    server.server_close()
    return 0


class ProbeProcess:
    """The parent's side: the child process and the heartbeat written to it."""

    def __init__(self, child, io_loop, log):
        from tornado.ioloop import PeriodicCallback

        self.child = child
        self.log = log
        self._fd = child.stdin.fileno()
        os.set_blocking(self._fd, False)  # a child that does not read never stalls the loop
        self._beats = PeriodicCallback(self.beat, BEAT_S * 1000)
        io_loop.add_callback(self._start_beating)

    def _start_beating(self) -> None:
        self.beat()
        self._beats.start()

    def beat(self) -> None:
        try:
            os.write(self._fd, b".")
        except BlockingIOError:
            pass  # its pipe is full of beats already
        except OSError:  # it has gone: say so once, and stop
            self._beats.stop()
            self.log.warning("The /liveness probe process stopped (exit %s).", self.child.poll())

    def stop(self) -> None:
        self._beats.stop()
        self.child.stdin.close()
        self.child.wait(timeout=5)


def start(address: str, port: int, io_loop, log) -> ProbeProcess | None:
    """Start the probe process on ``address:port`` and beat to it from ``io_loop``.

    Returns None (and logs one line) when it cannot listen there.
    """
    import select
    import subprocess

    # -I: only the standard library, not the app's modules beside this file.
    child = subprocess.Popen(
        [sys.executable, "-I", os.path.abspath(__file__), address, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        close_fds=True,
    )
    answer = b""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not answer.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([child.stdout], [], [], left)[0]:
            break
        chunk = os.read(child.stdout.fileno(), 256)
        if not chunk:
            break
        answer += chunk
    said = answer.decode(errors="replace").strip()
    if said != "ready":
        child.kill()
        child.wait()
        log.warning(
            "EXPLAINER_HEALTH_PORT=%d cannot be used (%s); /liveness is answered on the app's "
            "port only.",
            port,
            said.removeprefix("error ") or "the probe process did not start",
        )
        return None
    child.stdout.close()
    log.info("Answering %s on http://%s:%d from a process of its own", PATH, address, port)
    return ProbeProcess(child, io_loop, log)


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], int(sys.argv[2])))
