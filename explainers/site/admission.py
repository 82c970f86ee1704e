"""Bursts of page loads and websocket opens, bounded per client address.

Each page load builds a session (event-loop time and about 2 MiB) and each websocket open
attaches one, so a single address loading pages in a loop could crowd out everyone else.
Per client address (``request.remote_ip``):

* **page loads** (the app's pages and ``autoload.js``): :data:`RATE` a second, bursts of
  :data:`BURST_S` seconds' worth at once.  A load over that waits its turn, for up to
  :data:`MAX_WAIT_S`; past that it gets a 429 page that says why and tries again by itself.
  A classroom behind one NAT address (common in schools) is delayed a few seconds when
  everyone opens the page at once, not refused;
* **websocket opens**: the same rate and burst, not waited for (a page opens its websocket
  right after it loads, so a reader's arrive paced already); over it the socket is closed
  with code 1013 ("try again later") and the page's reconnect script tries again;
* **open websockets**: at most :data:`SOCKETS_PER_RATE` × the rate at once.

Behind a reverse proxy every client has the proxy's address unless the app trusts the
proxy's ``X-Forwarded-For`` / ``X-Real-Ip`` headers (``EXPLAINER_TRUST_PROXY=1``); the
shipped nginx configuration sets them and has its own per-address limits.

:func:`install` puts the page handlers into Bokeh's public per-application route table,
as :func:`.guard.install` does for the websocket.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from .logs import Summary

#: Page loads (and websocket opens) per second per address, by default.
RATE = 10.0
#: A burst of this many seconds' worth is let through at once.
BURST_S = 6.0
#: Longest a page load waits for its turn before it gets a 429.
MAX_WAIT_S = 15.0
#: Open websockets per address: this many times the rate.
SOCKETS_PER_RATE = 30
#: Addresses remembered at once (the least recently seen are forgotten first).
MAX_ADDRESSES = 10_000

BUSY_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="{retry}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>One moment</title></head>
<body style="font: 17px/1.5 system-ui, sans-serif; max-width: 36em; margin: 3em auto;
padding: 0 1em;">
<h1>One moment, please</h1>
<p>Very many pages are being opened from your network right now. This page tries again by
itself in {retry} seconds.</p></body></html>
"""
SOCKET_REFUSED = "too many connections from one address; try again shortly"

refusals = Summary(logging.getLogger("explainers.site.admission"), "refused")


class PageRate:
    """When each client address may next load a page: ``rate`` a second, bursts of
    ``burst`` at once (a generic cell-rate algorithm: one timestamp per address).

    Parameters
    ----------
    rate : float
        Sustained admissions per second per address.
    burst : float
        Admissions let through at once after a quiet spell (at least 1).
    max_wait : float
        Longest wait :meth:`reserve` hands out; a request that would wait longer is refused.
    clock : callable() -> float
        Seconds on a monotonic clock (tests inject their own).
    max_keys : int
        Addresses remembered at once; the least recently seen are forgotten first.
    """

    def __init__(self, rate: float, burst: float, max_wait: float,
                 clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_ADDRESSES):  # fmt: skip
        if rate <= 0 or burst < 1 or max_wait < 0:
            raise ValueError(f"need rate > 0, burst >= 1, max_wait >= 0: {rate}, {burst}")
        self.interval = 1.0 / rate
        self.tolerance = (burst - 1) * self.interval
        self.max_wait, self.clock, self.max_keys = max_wait, clock, max_keys
        self._due: OrderedDict[str, float] = OrderedDict()  # address -> theoretical arrival

    def reserve(self, key: str) -> float | None:
        """Seconds the caller must wait before going ahead (0: at once), its turn taken;
        or None: refused (it would wait longer than ``max_wait``), nothing taken."""
        now = self.clock()
        due = max(self._due.get(key, now), now)
        wait = max(0.0, due - now - self.tolerance)
        if wait > self.max_wait:
            return None
        self._due[key] = due + self.interval
        self._due.move_to_end(key)
        while len(self._due) > self.max_keys:
            self._due.popitem(last=False)
        return wait


class Sockets:
    """Websocket opens per address (:class:`PageRate`, no waiting) and how many are open."""

    def __init__(self, rate: float, burst: float, max_open: int,
                 clock: Callable[[], float] = time.monotonic):  # fmt: skip
        self.rate = PageRate(rate, burst, 0.0, clock)
        self.max_open = max_open
        self.open: dict[str, int] = {}

    def admit(self, key: str) -> bool:
        """Whether a websocket from ``key`` may open now; if so it is counted as open until
        :meth:`release`."""
        if self.open.get(key, 0) >= self.max_open or self.rate.reserve(key) is None:
            return False
        self.open[key] = self.open.get(key, 0) + 1
        return True

    def release(self, key: str) -> None:
        left = self.open.get(key, 0) - 1
        if left > 0:
            self.open[key] = left
        else:
            self.open.pop(key, None)


def limits(rate: float = RATE) -> tuple[PageRate, Sockets]:
    """Page-load turns and websocket bounds for ``rate`` page loads a second per address."""
    burst = max(1.0, rate * BURST_S)
    return (
        PageRate(rate, burst, MAX_WAIT_S),
        Sockets(rate, burst, max(1, round(rate * SOCKETS_PER_RATE))),
    )


PAGES, SOCKETS = limits()


def configure(rate: float) -> None:
    """Set the per-address rate (from ``EXPLAINER_PAGES_PER_S``); before serving."""
    global PAGES, SOCKETS
    PAGES, SOCKETS = limits(rate)


def _admitted(base: type) -> type:
    """``base`` (a page handler of Panel's) taking its turn before it builds a session."""

    class Admitted(base):
        async def prepare(self):
            wait = PAGES.reserve(self.request.remote_ip or "")
            if wait is None:
                refusals.note("page loads over the per-address limit")
                retry = round(MAX_WAIT_S)
                self.set_status(429)
                self.set_header("Retry-After", str(retry))
                self.set_header("Content-Type", "text/html; charset=utf-8")
                self.finish(BUSY_PAGE.format(retry=retry))
                return
            if wait:
                await asyncio.sleep(wait)
            await super().prepare()

    Admitted.__name__ = Admitted.__qualname__ = f"Admitted{base.__name__}"
    return Admitted


_installed: dict[type, type] = {}


def install() -> None:
    """Serve every application's pages (and ``autoload.js``) through :func:`_admitted`
    handlers (idempotent).  Must run before the server is built."""
    from bokeh.server.urls import per_app_patterns
    from panel.io.server import AutoloadJsHandler, DocHandler

    for base in (DocHandler, AutoloadJsHandler):
        if base not in _installed:
            _installed[base] = _admitted(base)
    for i, route in enumerate(per_app_patterns):
        handler = _installed.get(route[1])
        if handler is not None:
            per_app_patterns[i] = (route[0], handler, *route[2:])


__all__ = ["MAX_WAIT_S", "RATE", "Sockets", "PageRate", "configure", "install", "limits"]
