"""A log that a client cannot flood.

:class:`FloodFilter` sits on every handler of the process's loggers (installed by
:func:`install`):

* no record carries more than :data:`MAX_CHARS` characters of message (a client's text ends
  up in messages: paths, session ids, whole websocket messages);
* a traceback is written the first time its kind (logger, exception type, place) is seen;
  repeats within a minute are counted and summarised in one line;
* records repeated with the same template from the same logger are summarised the same way;
* over everything, the log grows at most :data:`BYTES_PER_S` bytes per second; what is held
  back is counted and reported when the budget allows.

:class:`Summary` is the same idea for code that wants to count events itself (the websocket
gate counts refused messages by kind): one line when a kind first appears, then one line a
minute with the count.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable

MAX_CHARS = 240
WINDOW_S = 60.0
BYTES_PER_S = 8 * 1024.0
BURST_BYTES = 32 * 1024.0
_ESTIMATED_PREFIX = 60  # time stamp, level and logger name the formatter adds


def clip(text: str, limit: int = MAX_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"


class Summary:
    """Counts occurrences by kind; logs the first of a kind, then one line a minute."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        window: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.logger, self.what, self.window, self.clock = logger, what, window, clock
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.since: dict[str, float] = {}
        self.total: dict[str, int] = {}

    def note(self, kind: str) -> None:
        kind = clip(kind, 80)
        now = self.clock()
        with self.lock:
            self.total[kind] = self.total.get(kind, 0) + 1
            start = self.since.get(kind)
            if start is None:
                self.since[kind] = now
                self.counts[kind] = 0
                line = f"{self.what}: {kind} (further ones are counted, one line a minute)"
            else:
                self.counts[kind] += 1
                if now - start < self.window:
                    return
                line = f"{self.what}: {kind} ×{self.counts[kind]} in the last {now - start:.0f} s"
                self.since[kind] = now
                self.counts[kind] = 0
        self.logger.warning(line)


#: Exceptions Tornado or Bokeh log with a traceback although a client's request caused them
#: (see docs/upstream.md): (exception type name, text in its message).
CLIENT_FAULTS = (
    ("ValueError", "null byte"),
    ("KeyError", "Origin"),
    ("WebSocketClosedError", ""),  # a frame written just after the reader's tab closed
    ("StreamClosedError", ""),
)


def client_fault(record: logging.LogRecord) -> None:
    """Turn a known client-caused traceback into one plain line."""
    if not record.exc_info or record.exc_info[1] is None:
        return
    exc = record.exc_info[1]
    for name, text in CLIENT_FAULTS:
        if type(exc).__name__ == name and text in str(exc):
            what = f"{name}: {clip(str(exc), 60)}"
            record.msg = f"bad request refused ({what}): {record.getMessage()}"
            record.args, record.exc_info, record.exc_text = None, None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            return


#: Loggers whose lines describe what clients asked for; their texts vary with the request.
CLIENT_NOISE = ("tornado.", "bokeh.server.")


class FloodFilter(logging.Filter):
    """Clips, summarises and rate-limits log records (see the module docstring)."""

    def __init__(
        self,
        window: float = WINDOW_S,
        rate: float = BYTES_PER_S,
        burst: float = BURST_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__("explainer-flood")
        self.window, self.rate, self.burst, self.clock = window, rate, burst, clock
        self.lock = threading.RLock()
        self.seen: dict[tuple, list] = {}  # kind -> [window start, repeats]
        self.level, self.stamp = burst, clock()
        self.held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        with self.lock:
            verdict = getattr(record, "explainer_verdict", None)
            if verdict is not None:
                return verdict  # another handler of the same record already judged it
            record.explainer_verdict = False
            client_fault(record)
            kind = self._kind(record)
            now = self.clock()
            summary = self._repeat(kind, now)
            if summary is None:
                return False
            self._shrink(record, summary)
            size = len(record.getMessage()) + _ESTIMATED_PREFIX + len(record.exc_text or "")
            if not self._take(size, now):
                self.held += 1
                return False
            if self.held:
                record.msg = f"{record.msg} [{self.held} log lines held back to protect the log]"
                self.held = 0
            record.explainer_verdict = True
            return True

    def _kind(self, record: logging.LogRecord) -> tuple:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            tb = traceback.extract_tb(record.exc_info[2]) if record.exc_info[2] else []
            where = (tb[-1].filename, tb[-1].lineno) if tb else None
            return (record.name, type(exc).__name__, where)
        if record.name.startswith(CLIENT_NOISE):  # lines about requests: one kind per template
            return (record.name, str(record.msg)[:80])
        return (record.name, record.getMessage()[:120])

    def _repeat(self, kind: tuple, now: float) -> str | None:
        """ "" to log normally, a summary suffix, or None to swallow a repeat."""
        entry = self.seen.get(kind)
        if entry is None or now - entry[0] >= self.window:
            repeats = entry[1] if entry else 0
            self.seen[kind] = [now, 0]
            if len(self.seen) > 2048:  # many kinds: forget the oldest windows
                oldest = sorted(self.seen, key=lambda k: self.seen[k][0])[:1024]
                for k in oldest:
                    del self.seen[k]
            return f" [×{repeats} more like this in the last minute]" if repeats else ""
        entry[1] += 1
        return None

    def _shrink(self, record: logging.LogRecord, summary: str) -> None:
        text = clip(record.getMessage())
        record.msg, record.args = text + summary, None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            lines = traceback.format_exception(type(exc), exc, record.exc_info[2], limit=12)
            record.exc_text = clip("".join(lines).rstrip("\n"), 4000)
            record.exc_info = None

    def _take(self, size: int, now: float) -> bool:
        self.level = min(self.burst, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.level < size:
            return False
        self.level -= size
        return True


_filter: list[FloodFilter] = []


def install() -> FloodFilter:
    """Put one :class:`FloodFilter` on every handler of every logger that has one."""
    if not _filter:
        _filter.append(FloodFilter())
    flood = _filter[0]
    loggers = [logging.getLogger()] + [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for lg in loggers:
        for handler in lg.handlers:
            if flood not in handler.filters:
                handler.addFilter(flood)
    return flood
