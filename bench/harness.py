"""Timing helpers shared by every benchmark script (``python -m bench``, ``python -m bench.app``).

A benchmark is a list of :class:`Row` objects rendered as one markdown table.  Timings are
medians over several repeats taken after a warm-up call (so numba compilation and first-touch
page faults never land in the figure), reported with their spread.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Timing:
    """Seconds taken by each repeat of one call (wall clock unless measured otherwise),
    with summary statistics.

    Attributes
    ----------
    samples : tuple of float
        Seconds taken by each timed repeat, in the order they ran.
    """

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    @property
    def iqr(self) -> tuple[float, float]:
        """First and third quartiles (inclusive method, so defined from two samples on)."""
        if len(self.samples) < 2:
            return (self.samples[0], self.samples[0])
        q1, _, q3 = statistics.quantiles(self.samples, n=4, method="inclusive")
        return (q1, q3)

    def scaled(self, factor: float) -> Timing:
        """The same timing with every sample multiplied by ``factor`` (e.g. per item)."""
        return Timing(tuple(t * factor for t in self.samples))


def measure(
    fn: Callable[..., object],
    repeats: int = 5,
    warmup: int = 1,
    setup: Callable[[], tuple] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Timing:
    """Time ``fn`` ``repeats`` times after ``warmup`` untimed calls.

    Parameters
    ----------
    fn : callable
        The work to time.  Called as ``fn(*setup())`` when ``setup`` is given, else ``fn()``.
    repeats : int
        Number of timed calls (at least 1).
    warmup : int
        Untimed calls made first, so that compilation and caches are out of the figure.
    setup : callable returning a tuple, optional
        Builds fresh arguments before every call (untimed), for work that consumes or
        mutates its input.
    clock : callable returning seconds
        ``time.perf_counter`` (wall clock, the default) or ``time.process_time`` (CPU
        time of this process: less disturbed by other programs, but it adds up the time
        of every thread, so it only compares like with like for single-threaded code).

    Returns
    -------
    Timing
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")

    def call() -> float:
        args = setup() if setup is not None else ()
        t0 = clock()
        fn(*args)
        return clock() - t0

    for _ in range(max(int(warmup), 0)):
        call()
    return Timing(tuple(call() for _ in range(int(repeats))))


def _time_unit(t: float) -> tuple[float, str]:
    if t >= 1.0:
        return 1.0, "s"
    if t >= 1e-3:
        return 1e3, "ms"
    return 1e6, "µs"


def _rate_unit(r: float) -> tuple[float, str]:
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if r >= scale:
            return 1.0 / scale, prefix + " "
    return 1.0, ""


def _num(x: float) -> str:
    # three significant digits, but never scientific notation (a range may exceed 1000)
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.3g}"


def fmt_seconds(t: float) -> str:
    """A duration with a readable unit and three significant digits, e.g. ``12.1 ms``."""
    k, unit = _time_unit(t)
    return f"{_num(t * k)} {unit}"


def fmt_rate(r: float, unit: str = "/s") -> str:
    """A rate such as ``31.2 M/s`` (``unit`` is appended after the SI prefix)."""
    k, prefix = _rate_unit(r)
    return f"{_num(r * k)} {prefix.strip()}{unit}".replace("  ", " ")


def fmt_time_stats(t: Timing) -> str:
    """Median with the min–max range in the median's unit, e.g. ``12.1 ms [11.8–13]``."""
    k, unit = _time_unit(t.median)
    return f"{_num(t.median * k)} {unit} [{_num(t.min * k)}–{_num(t.max * k)}]"


def fmt_rate_stats(t: Timing, items: float, unit: str = "/s") -> str:
    """Median rate ``items / time`` with the range over repeats (slowest–fastest), e.g.
    ``31.2 M upd/s [29.8–32]``."""
    med, lo, hi = items / t.median, items / t.max, items / t.min
    k, prefix = _rate_unit(med)
    return f"{_num(med * k)} {prefix}{unit.strip()} [{_num(lo * k)}–{_num(hi * k)}]"


def fmt_ratio(x: float) -> str:
    return f"{x:.3g}×"


@dataclass
class Row:
    """One line of a benchmark table.

    ``passed`` is True/False against the target, or None when no verdict applies
    (informational rows, or ``--quick`` runs on sizes that are not the target's).
    """

    kernel: str
    measured: str
    reference: str = "—"
    ratio: str = "—"
    target: str = "—"
    passed: bool | None = None
    note: str = ""
    data: dict = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return self.note or "info"
        return "PASS" if self.passed else "MISS"


COLUMNS = ("kernel", "measured: median [min–max]", "reference (same run)", "ratio", "target", "")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Sequence[Row], columns: Sequence[str] = COLUMNS) -> str:
    """Render rows as a GitHub-flavoured markdown table."""
    lines = [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    for r in rows:
        cells = (r.kernel, r.measured, r.reference, r.ratio, r.target, r.verdict)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (falls back to :func:`platform.processor`)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_summary() -> str:
    """One line naming the CPU, core count and the versions that decide the figures."""
    import numba
    import numpy

    cores = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = cores
    try:
        load = "load avg {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = "load avg n/a"
    return (
        f"{cpu_model()}, {cores} logical cores ({usable} usable), {load}; "
        f"Python {platform.python_version()}, numpy {numpy.__version__}, "
        f"numba {numba.__version__} (threads {numba.get_num_threads()})"
    )


def report(title: str, rows: Sequence[Row], notes: Sequence[str] = ()) -> str:
    """The full markdown report: title, machine line, table, then notes."""
    parts = [f"## {title}", "", f"Machine: {machine_summary()}", "", markdown_table(rows)]
    if notes:
        parts += ["", *(f"- {n}" for n in notes)]
    return "\n".join(parts) + "\n"


def write_result(text: str, path: str | os.PathLike) -> Path:
    """Write a report, creating its folder (``bench/results/`` is git-ignored)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


PERFORMANCE_DOC = REPO_ROOT / "docs" / "performance.md"
_DOC_HEAD = """# Performance

Written by the benchmarks (`python -m bench`, `python -m bench.app`), never by hand: each
section below is replaced by the benchmark that owns it, with the date and commit it ran at.
Numbers from a shared or busy machine are noisy; each section names the machine and its load.
"""


def current_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT, capture_output=True,
            text=True, timeout=10, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def update_performance_doc(
    key: str, text: str, path: Path = PERFORMANCE_DOC, commit: str | None = None
) -> Path:
    """Put ``text`` (a report) into ``docs/performance.md`` as the section ``key``, stamped
    with today's date and ``commit`` (read at the run's start; default: now); the other
    sections are kept."""
    start, end = f"<!-- {key} -->", f"<!-- /{key} -->"
    when = time.strftime("%Y-%m-%d %H:%M %Z")
    stamp = f"Measured {when} at commit `{commit or current_commit()}`."
    block = f"{start}\n{text.rstrip()}\n\n{stamp}\n{end}"
    old = path.read_text(encoding="utf-8") if path.exists() else _DOC_HEAD
    if start in old and end in old:
        before, rest = old.split(start, 1)
        new = before + block + rest.split(end, 1)[1]
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new, encoding="utf-8")
    return path


def run_python(
    code: str, env: dict[str, str] | None = None, timeout: float = 900.0
) -> tuple[float, str]:
    """Run ``code`` in a fresh interpreter from the repository root.

    Returns the wall-clock seconds of the whole subprocess and its stdout.  Raises
    :class:`RuntimeError` with stderr when the child fails, so a broken kernel cannot pass
    for a fast one.
    """
    full_env = {**os.environ, **(env or {})}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"subprocess failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return elapsed, proc.stdout
