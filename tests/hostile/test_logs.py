"""The log a client cannot flood (explainers.site.logs), with a fake clock."""

from __future__ import annotations

import io
import logging

from explainers.site.logs import MAX_CHARS, FloodFilter, Summary, clip


def _logger(flood: FloodFilter) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(flood)
    lg = logging.getLogger(f"test-flood-{id(flood)}")
    lg.handlers[:] = [handler]
    lg.propagate = False
    lg.setLevel(logging.INFO)
    return lg, out


def test_long_messages_are_clipped():
    assert clip("a" * 10) == "a" * 10
    assert clip("a" * 1000).startswith("a" * MAX_CHARS)
    assert "760 more characters" in clip("a" * 1000)
    now = [0.0]
    lg, out = _logger(FloodFilter(clock=lambda: now[0]))
    lg.warning("value %s", "x" * 200_000)
    assert len(out.getvalue()) < MAX_CHARS + 100


def _fail(lg: logging.Logger, i) -> None:
    try:
        raise RecursionError(f"deep {i}")
    except RecursionError:
        lg.exception("callback failed")


def test_repeated_tracebacks_are_summarised_once_a_minute():
    now = [0.0]
    lg, out = _logger(FloodFilter(clock=lambda: now[0]))
    for i in range(1000):
        now[0] += 0.01  # 1000 in 10 s
        _fail(lg, i)
    assert out.getvalue().count("Traceback") == 1
    now[0] += 60
    _fail(lg, "again")
    text = out.getvalue()
    assert text.count("Traceback") == 2
    assert "×999 more like this in the last minute" in text


def test_distinct_lines_pass_but_growth_is_capped():
    now = [0.0]
    flood = FloodFilter(rate=1000, burst=5000, clock=lambda: now[0])
    lg, out = _logger(flood)
    for i in range(20_000):  # distinct lines, 100 s of them at 200 per second
        now[0] += 0.005
        lg.warning("line %d %s", i, "y" * 100)
    grown = len(out.getvalue())
    assert grown <= 5000 + 1000 * 100 * 1.5  # burst + rate × time (+ formatter's share)
    assert "held back to protect the log" in out.getvalue()


def test_summary_counts_by_kind():
    now = [0.0]
    out = io.StringIO()
    lg = logging.getLogger("test-summary")
    lg.handlers[:] = [logging.StreamHandler(out)]
    lg.propagate = False
    s = Summary(lg, "refused", clock=lambda: now[0])
    for _ in range(500):  # 50 s of them
        s.note("slider start")
        now[0] += 0.1
    s.note("labels")
    lines = out.getvalue().splitlines()
    assert lines == [
        "refused: slider start (further ones are counted, one line a minute)",
        "refused: labels (further ones are counted, one line a minute)",
    ]
    now[0] += 11
    s.note("slider start")
    assert out.getvalue().splitlines()[-1] == "refused: slider start ×500 in the last 61 s"
