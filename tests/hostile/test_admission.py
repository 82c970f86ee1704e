"""Bursts of page loads and websocket opens are bounded per client address.

The turn-taking itself is checked against a clock the test moves; a real ``python app.py``
(at one page load a second per address, so that the burst is six) then shows the three
answers a reader's browser can get: the page at once, the page after a wait, or a 429 page
that says why and tries again by itself; and websocket opens over the limit are closed with
1013 ("try again later") before their token is even read.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.app_clients import RawSession
from explainers.site import admission
from tests.deploy.apps import AppProcess, http_get

SECRET = "admission-test-secret-" + "k" * 24
HOG_PAGES = 20


def test_a_burst_goes_at_once_then_turns_come_at_the_rate_then_loads_are_refused():
    now = [100.0]
    rate = admission.PageRate(rate=2.0, burst=4, max_wait=3.0, clock=lambda: now[0])
    waits = [rate.reserve("a") for _ in range(12)]
    assert waits[:4] == [0.0] * 4  # the burst
    # then one every half second, up to three seconds' wait
    assert waits[4:10] == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    assert waits[10:] == [None, None]  # refused, and nothing taken
    assert rate.reserve("b") == 0.0  # another address is not held up
    now[0] += 3.0 + 4 * 0.5  # the taken turns have passed, and the burst has come back
    assert [rate.reserve("a") for _ in range(4)] == [0.0] * 4
    assert rate.reserve("a") == pytest.approx(0.5)


def test_only_so_many_addresses_are_remembered():
    rate = admission.PageRate(rate=1.0, burst=1, max_wait=10.0, clock=lambda: 0.0, max_keys=3)
    for key in "abcd":
        assert rate.reserve(key) == 0.0
    assert rate.reserve("a") == 0.0  # forgotten (least recently seen): a fresh burst
    assert rate.reserve("d") == 1.0  # remembered


def test_open_websockets_per_address_are_counted_and_capped():
    now = [0.0]
    sockets = admission.Sockets(rate=100.0, burst=100, max_open=3, clock=lambda: now[0])
    assert [sockets.admit("a") for _ in range(4)] == [True, True, True, False]
    assert sockets.admit("b")
    sockets.release("a")
    assert sockets.admit("a") and not sockets.admit("a")
    for _ in range(3):
        sockets.release("a")
    assert "a" not in sockets.open  # nothing kept for an address with nothing open


def test_bad_limits_are_refused():
    with pytest.raises(ValueError):
        admission.PageRate(rate=0.0, burst=1, max_wait=1.0)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with AppProcess(
        tmp_path_factory.mktemp("admission"),
        {"EXPLAINER_SECRET_KEY": SECRET, "EXPLAINER_PAGES_PER_S": "1"},
    ) as server:
        yield server


def test_page_loads_over_the_limit_wait_their_turn_then_get_a_page_that_retries(app):
    # Burst 6, then one a second for up to 15 s: 21 of 30 loads at once get the page.
    def load(_i):
        t0 = time.monotonic()
        status, headers, body = http_get(app.url + "/sigmoid", timeout=60)
        return status, body, time.monotonic() - t0, headers

    with ThreadPoolExecutor(30) as ex:
        results = list(ex.map(load, range(30)))
    statuses = [r[0] for r in results]
    served = sorted(r[2] for r in results if r[0] == 200)
    refused = [r for r in results if r[0] == 429]
    assert statuses.count(200) + len(refused) == 30, statuses
    assert 19 <= len(served) <= 22, statuses  # 6 + 15 (a turn may pass while they arrive)
    assert served[-1] >= 10.0  # the last ones waited their turn
    assert refused and all(r[2] < 5.0 for r in refused)  # refused at once, not held
    body = " ".join(refused[0][1].decode().split())
    assert 'http-equiv="refresh"' in body and "tries again by itself" in body
    assert refused[0][3]["Retry-After"] == "15"
    log = app.log()
    assert "Traceback" not in log
    assert log.count("page loads over the per-address limit") == 1  # summarised


def test_websocket_opens_over_the_limit_are_closed_with_try_again_later(app):
    time.sleep(7.0)  # the socket burst (6) is whole again

    async def open_one() -> int | None:
        uri = app.url.replace("http", "ws", 1) + "/sigmoid/ws"
        try:
            async with connect(uri, subprotocols=["bokeh", "not-a-token"]) as ws:
                await asyncio.wait_for(ws.recv(), 10)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        except Exception:
            return None
        return 1000

    async def run() -> list:
        return [await open_one() for _ in range(10)]

    codes = asyncio.run(run())
    assert codes[:6] == [1008] * 6, codes  # let in, then refused for the token
    assert codes[6:] == [1013] * 4, codes  # over the limit: not even read


@pytest.fixture(scope="module")
def proxied_app(tmp_path_factory):
    """An app behind a (pretend) proxy: each client's address comes from X-Real-IP."""
    with AppProcess(
        tmp_path_factory.mktemp("proxied"),
        {"EXPLAINER_SECRET_KEY": SECRET, "EXPLAINER_TRUST_PROXY": "1"},
    ) as server:
        yield server


def test_a_client_that_opens_many_heavy_pages_delays_another_clients_page_by_turns(proxied_app):
    """Building sections and putting them into pages are done one at a time process-wide,
    with clients (by address) taking turns: one address with twenty of the heaviest links
    open at once (180 sections) does not make another reader wait for them.  First come,
    first served (each session one section at a time), the reader's /hopfield waited for
    one section of each of the twenty: 23 s here; taking turns, about one: 2 s."""
    from tests.hostile.test_liveness import HEAVIEST_LINK

    url = proxied_app.url

    async def run() -> float:
        hog = [
            RawSession(url, HEAVIEST_LINK, headers={"X-Real-IP": "10.0.0.66"})
            for _ in range(HOG_PAGES)
        ]
        await asyncio.gather(*(s.open() for s in hog))
        await asyncio.sleep(1.0)  # their sections are queued and being built
        t0 = time.monotonic()
        reader = await RawSession(url, "/hopfield", headers={"X-Real-IP": "10.0.0.7"}).open(
            timeout=120
        )
        waited = time.monotonic() - t0
        print(f"the reader waited {waited:.1f} s")
        await reader.close()
        await asyncio.gather(*(s.close() for s in hog))
        return waited

    waited = asyncio.run(run())
    assert waited < 10.0, waited
    assert "Traceback" not in proxied_app.log()
