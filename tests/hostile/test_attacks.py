"""Attacks on a real ``python app.py``, each beside an innocent session.

The attacker speaks Bokeh's websocket protocol with the app benchmark's headless client
(:mod:`bench.app_clients`), at full speed but bounded in count, against 127.0.0.1 only.
Beside it an innocent reader animates /ising.  After each attack: the innocent session
still gets frames and its clicks still work, ``/liveness`` answers, the log holds no
traceback and grew at most 10 KB/s, and (where the attack could hold memory) the server's
memory came back.  Frame rates and latencies under attack are measured by ``bench.app``
("hostile neighbour"), not asserted here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
import zlib

import psutil
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.app_clients import RawSession, http_get
from explainers.site.httpsafe import HEADER_TIMEOUT_S
from tests.deploy.apps import AppProcess

SECRET = "hostile-test-secret-" + "k" * 24
LOG_BYTES_PER_S = 10 * 1024
BURST = 300  # messages per attack


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with AppProcess(
        tmp_path_factory.mktemp("hostile"),
        {"EXPLAINER_SECRET_KEY": SECRET, "EXPLAINER_SESSION_LIFETIME_MS": "2000"},
    ) as server:
        yield server


def _log_size(app) -> int:
    return app.log_path.stat().st_size


def _rss(app) -> int:
    return psutil.Process(app.proc.pid).memory_info().rss


class Innocent:
    """A reader animating /ising (it never settles); ``frames()`` counts frames reaching it."""

    async def open(self, url: str) -> Innocent:
        self.s = await RawSession(url, "/ising").open()
        self.s.watch("ising-lattice")
        await self.s.click("Run")
        await self.s.wait_update("ising-lattice", 0, timeout=30)
        return self

    def frames(self) -> int:
        return len(self.s.updates["ising-lattice"])

    async def still_served(self) -> None:
        n = self.frames()
        await self.s.wait_update("ising-lattice", n + 3, timeout=30)

    async def close(self) -> None:
        await self.s.close()


async def _beside_innocent(app, attack) -> None:
    """Run ``attack(url)`` beside an innocent reader; check what every attack must leave."""
    innocent = await Innocent().open(app.url)
    log_before, t0 = _log_size(app), time.monotonic()
    try:
        await attack(app.url)
        status, _ = await asyncio.to_thread(http_get, app.url + "/liveness", 30)
        assert status == 200
        await innocent.still_served()
    finally:
        await innocent.close()
    elapsed = time.monotonic() - t0
    grown = _log_size(app) - log_before
    assert grown <= LOG_BYTES_PER_S * max(elapsed, 1.0), f"log grew {grown} B in {elapsed:.1f} s"
    assert "Traceback" not in app.log()


def _change(model, attr, new) -> dict:
    return {"kind": "ModelChanged", "model": {"id": model.id}, "attr": attr, "new": new}


async def _flood(session: RawSession, events: list[dict], n: int = BURST) -> bool:
    """Send ``events`` ``n`` times; False once the server has closed the connection (it
    closes one sending far more messages than a page does)."""
    try:
        for _ in range(n):
            await session.patch(events)
    except ConnectionClosed:
        return False
    return True


def test_property_changes_no_control_makes_are_refused(app):
    async def attack(url):
        s = await RawSession(url, "/learning").open()
        group = s.find("RadioButtonGroup")
        await _flood(s, [_change(group, "labels", [f"x{i}" for i in range(50)])], 50)
        await _flood(s, [_change(group, "active", None), _change(group, "active", -1)], 100)
        slider = next(m for m in s.models.values() if m.kind == "Slider")
        await _flood(s, [_change(slider, "start", -1e12), _change(slider, "end", 1e12)], 100)
        await _flood(s, [_change(slider, "value", {"type": "number", "value": "nan"})], 100)
        await _flood(s, [_change(slider, "value", "9" * 200_000)], 20)
        await _flood(s, [_change(slider, "tags", [{"type": "object", "name": "Div", "id": "x"}])])
        await s.close()
        # Far beyond what a page sends: skipped unread, and the connection stays usable.
        s = await RawSession(url, "/learning").open()
        assert await _flood(s, [_change(slider, "value", 0.1)], 5000)
        await s.close()

    asyncio.run(_beside_innocent(app, attack))


def test_structural_events_and_data_are_refused_and_memory_returns(app):
    async def attack(url):
        s = await RawSession(url, "/hopfield").open()
        src = s.by_name("hopfield-energy")
        root_added = [
            {"kind": "RootAdded", "model": {"type": "object", "name": "Div", "id": f"r{i}"}}
            for i in range(100)
        ]
        await _flood(s, root_added, 100)
        column = {"type": "ndarray", "array": list(range(20_000)), "shape": [20_000]}
        stream = {"kind": "ColumnsStreamed", "model": {"id": src.id}, "data": {"x": column}}
        await _flood(s, [stream], 100)
        for _ in range(50):
            await s._send("PULL-DOC-REQ", {})
            await s._send("PUSH-DOC", {"doc": {"roots": []}})
        await s.close()

    async def run():
        warm = await RawSession(app.url, "/hopfield").open()  # the route's first build
        await warm.close()
        await asyncio.sleep(3)
        before = _rss(app)
        await _beside_innocent(app, attack)
        deadline = time.monotonic() + 30
        while _rss(app) > 1.1 * before and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        assert _rss(app) <= 1.1 * before, (before, _rss(app))

    asyncio.run(run())


def test_a_flood_of_clicks_is_coalesced(app):
    async def attack(url):
        s = await RawSession(url, "/hopfield").open()
        button = s.find("Button", label="Corrupt a memory")
        await _flood(s, [_event_click(button)])
        await s.close()

    asyncio.run(_beside_innocent(app, attack))


def _event_click(model) -> dict:
    return {
        "kind": "MessageSent",
        "msg_type": "bokeh_event",
        "msg_data": {
            "type": "event",
            "name": "button_click",
            "values": {"type": "map", "entries": [["model", {"id": model.id}]]},
        },
    }


def _bomb_token() -> str:
    bomb = zlib.compress(b'{"x": "' + b"a" * (50 * 1024 * 1024) + b'"}', 9)
    body = {"session_id": "forged", "session_expiry": 2**40}
    body["__bk__zlib_"] = base64.urlsafe_b64encode(bomb).decode().rstrip("=")
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


async def _try_token(url: str, route: str, token: str) -> str:
    """Open ``route``'s websocket with ``token``; returns how it ended."""
    host = url.split("://", 1)[1]
    try:
        async with connect(
            f"ws://{host}{route}/ws",
            subprotocols=["bokeh", token],
            origin=url,
            max_size=None,
            open_timeout=30,
        ) as ws:
            first = await asyncio.wait_for(ws.recv(), 30)
            return f"answered {str(first)[:40]}"
    except Exception as exc:  # closed by the server
        return f"closed: {type(exc).__name__}"


def test_forged_and_inflated_tokens_are_refused(app):
    async def attack(url):
        victim = await RawSession(url, "/sigmoid").open()
        victim_id = victim.models and victim.path  # the victim's own token stays private
        forged = base64.urlsafe_b64encode(
            json.dumps({"session_id": "mine", "session_expiry": 2**40}).encode()
        ).decode()
        bomb = _bomb_token()
        before = _rss(app)
        results = await asyncio.gather(
            *[_try_token(url, "/sigmoid", bomb + ".sig") for _ in range(40)],
            *[_try_token(url, "/sigmoid", forged) for _ in range(20)],
            _try_token(url, "/sigmoid", forged + ".bad"),
        )
        assert all(r.startswith("closed") for r in results), results
        assert _rss(app) - before < 50 * 1024 * 1024
        assert victim_id
        await victim.close()

    asyncio.run(_beside_innocent(app, attack))


def test_half_sent_requests_are_dropped(app):
    socks = []
    for _ in range(100):
        s = socket.create_connection(("127.0.0.1", app.port), timeout=5)
        s.sendall(b"GET /hopfield HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        socks.append(s)
    deadline = time.monotonic() + HEADER_TIMEOUT_S + 30
    open_ = list(socks)
    while open_ and time.monotonic() < deadline:
        for s in list(open_):
            s.settimeout(0.05)
            try:
                if s.recv(1) == b"":
                    open_.remove(s)
            except TimeoutError:
                pass
            except OSError:
                open_.remove(s)
    for s in socks:
        s.close()
    assert not open_, f"{len(open_)} half-sent requests still open"
    assert http_get(app.url + "/liveness", 30)[0] == 200


PATHS = [
    "/assets/style.css%00.html",
    "/assets/%00",
    "/static/%00",
    "/hopfield/static/%00",
    "/assets/..%2f..%2fetc%2fpasswd",
    "/assets/" + "a" * 5000,
    "/" + "b" * 9000,
    "/assets/%ff%fe",
    "/assets/%c0%af",
    "/hopfield/autoload.js",
    "/hopfield?bokeh-session-id=" + "c" * 3000,
    "/?bokeh-session-id=forged",
]
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "FOO"]


def _status(port: int, method: str, path: str) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        head = s.recv(64)
    return int(head.split()[1])


def test_no_path_or_method_gives_a_500(app):
    log_before = _log_size(app)
    statuses = {(m, p[:40]): _status(app.port, m, p) for p in PATHS for m in METHODS}
    bad = {k: v for k, v in statuses.items() if v >= 500}
    assert not bad
    assert statuses[("GET", "/assets/style.css%00.html")] in (400, 404)
    assert _status(app.port, "GET", "/assets/style.css") == 200
    assert "Traceback" not in app.log()
    assert _log_size(app) - log_before < 20 * 1024
