"""What a session costs the event loop, charged to its CPU budget in the shared pool.

Everything a session asks of the server is paid from one budget (:mod:`explainers.pool`):
its jobs on the workers, and its work on the event loop, which is:

* a message from its page, as Bokeh applies it (``site.guard`` hands it over in a
  :func:`span`);
* Panel's processing of the changes and clicks in that message: Panel does it a tick or a
  debounce later, between setting and clearing its public ``pn.state.busy`` flag, which
  :func:`install` watches.  This is where a section's own callbacks run: a slider's reaction
  usually costs far more than applying the message;
* the session's own animation frames and the results its pool jobs hand back
  (``explainers.animation``, each in a :func:`span`).

Spans may nest, and a message's span may wait (``await``) while other sessions' spans
run: each span charges its own time less what spans inside it charged, so no time is counted
twice.  Only the event loop's thread is metered here; the pool charges its workers' time
itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from . import pool

#: A busy flag raised for longer than this (wall seconds) is not charged: Panel's clean-up
#: lowers a forgotten flag after 30 s, and that time was everyone's.
STALE_S = 10.0

_local = threading.local()


def _charged() -> float:
    """CPU seconds charged by spans on this thread so far."""
    return getattr(_local, "charged", 0.0)


def _charge(doc, start: float, inner: float) -> None:
    own = max(0.0, time.thread_time() - start - (_charged() - inner))
    _local.charged = _charged() + own
    pool.POOL.charge(doc, own)


@contextmanager
def span(doc) -> Iterator[None]:
    """Charge the CPU time this thread spends inside the block to ``doc``'s session
    (nothing if ``doc`` is None: not served).  The block may ``await``."""
    if doc is None:
        yield
        return
    start, inner = time.thread_time(), _charged()
    try:
        yield
    finally:
        _charge(doc, start, inner)


def _on_busy(event) -> None:
    import panel as pn

    if event.new:
        _local.busy = (pn.state.curdoc, time.thread_time(), _charged(), time.monotonic())
        return
    busy = getattr(_local, "busy", None)
    _local.busy = None
    if busy is None or time.monotonic() - busy[3] > STALE_S:
        return
    doc, start, inner, _ = busy
    # Panel raises the flag for a click before it makes the session's document current.
    doc = doc if doc is not None else pn.state.curdoc
    if doc is not None:
        _charge(doc, start, inner)


_installed: list = []


def install() -> None:
    """Watch Panel's ``busy`` flag (once per process)."""
    import panel as pn

    if not _installed:
        _installed.append(pn.state.param.watch(_on_busy, "busy"))


__all__ = ["STALE_S", "install", "span"]
