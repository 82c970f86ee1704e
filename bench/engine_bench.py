"""Engine benchmarks: every kernel timed against a plain-numpy reference in the same run.

``python -m bench`` prints one markdown table and writes it to ``bench/results/engine.md``.
Targets are the ones of issue 2 (2-core machines).  ``--quick`` shrinks sizes and repeats
so the whole run takes seconds (the smoke test uses it); its rows carry no PASS/MISS.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import reference as ref
from .harness import (
    RESULTS_DIR,
    Row,
    Timing,
    fmt_rate_stats,
    fmt_ratio,
    fmt_seconds,
    fmt_time_stats,
    measure,
    report,
    run_python,
    update_performance_doc,
    write_result,
)


@dataclass(frozen=True)
class Config:
    """Run settings: ``quick`` picks small sizes; ``repeats`` timed calls per figure."""

    quick: bool = False
    repeats: int = 5
    cpu_clock: bool = False

    @property
    def clock(self) -> Callable[[], float]:
        return time.process_time if self.cpu_clock else time.perf_counter

    def measure(self, fn, repeats: int | None = None, **kw) -> Timing:
        """:func:`bench.harness.measure` with this run's repeats and clock."""
        return measure(fn, self.repeats if repeats is None else repeats, clock=self.clock, **kw)

    @property
    def ref_repeats(self) -> int:
        # references are slow and only set the ratio: fewer repeats, but at least 3
        return max(3, self.repeats // 2)

    def verdict(self, ok: bool) -> bool | None:
        # Quick runs use sizes that are not the target's, so no verdict applies.
        return None if self.quick else bool(ok)


class Missing(Exception):
    """An engine name a benchmark needs has not landed yet."""


def engine_attr(name: str):
    """``engine.<name>``, or :class:`Missing` when the engine does not provide it (yet)."""
    import engine

    try:
        return getattr(engine, name)
    except AttributeError:
        raise Missing(f"engine.{name} not available") from None


def random_network(n: int, seed: int, bias: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """A Sherrington–Kirkpatrick-style network: w_ij ~ N(0, 1/n), zero diagonal,
    b_i ~ N(0, bias²).  Returns (W (n, n) float64, b (n,) float64)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(0.0, 1.0 / math.sqrt(n), size=(n, n))
    W = (A + A.T) / math.sqrt(2.0)
    np.fill_diagonal(W, 0.0)
    return W, rng.normal(0.0, bias, size=n)


def tlo_network() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 3×3 explainer network storing T, L and O: (patterns (3, 9) ±1, W, b = 0)."""
    shapes = engine_attr("SHAPES")
    patterns = np.array([2.0 * shapes[k].ravel() - 1.0 for k in ("T", "L", "O")])
    return patterns, ref.hebbian_ref(patterns), np.zeros(9)


BENCHES: dict[str, Callable[[Config], list[Row]]] = {}


def bench(name: str):
    """Register a benchmark under ``name`` (the ``--only`` key)."""

    def register(fn):
        BENCHES[name] = fn
        return fn

    return register


# ------------------------------------------------------------------------ exact


@bench("exact")
def bench_exact(cfg: Config) -> list[Row]:
    exact_boltzmann = engine_attr("exact_boltzmann")
    n = 12 if cfg.quick else 20
    W, b = random_network(n, seed=1)
    t_eng = cfg.measure(lambda: exact_boltzmann(W, b, 1.0))
    t_ref = cfg.measure(lambda: ref.exact_boltzmann_ref(W, b, 1.0), cfg.ref_repeats)
    return [
        Row(
            f"`exact_boltzmann`, n = {n}",
            fmt_time_stats(t_eng),
            fmt_time_stats(t_ref) + " (numpy enumeration)",
            fmt_ratio(t_ref.median / t_eng.median),
            "≤ 15 ms",
            cfg.verdict(t_eng.median <= 15e-3),
        )
    ]


# ---------------------------------------------------------------------- Glauber


@bench("glauber")
def bench_glauber(cfg: Config) -> list[Row]:
    glauber = engine_attr("glauber")
    rows = []
    cases = [(9, 25e6), (100, 25e6), (1000, 15e6)]
    for n, target in cases:
        if n == 9:
            _, W, b = tlo_network()
            label = "9-unit T/L/O net"
        else:
            W, b = random_network(n, seed=n)
            label = "SK couplings"
        s0 = np.where(np.random.default_rng(n).random(n) < 0.5, -1, 1).astype(np.int8)
        n_upd = 50_000 if cfg.quick else (2_000_000 if n == 1000 else 5_000_000)
        n_ref = 2_000 if cfg.quick else 20_000
        t_eng = cfg.measure(lambda W=W, b=b, s0=s0, k=n_upd: glauber(W, b, s0, 1.0, k, 0))
        t_ref = cfg.measure(
            lambda W=W, b=b, s0=s0, k=n_ref: ref.glauber_ref_numpy(W, b, s0, 1.0, k, 0),
            cfg.ref_repeats,
        )
        rate, rate_ref = n_upd / t_eng.median, n_ref / t_ref.median
        rows.append(
            Row(
                f"Glauber updates/s, n = {n}, T = 1 ({label})",
                fmt_rate_stats(t_eng, n_upd, " upd/s"),
                fmt_rate_stats(t_ref, n_ref, " upd/s") + f" (Python loop, {n_ref:,} upd)",
                fmt_ratio(rate / rate_ref),
                f"≥ {target / 1e6:.0f} M/s",
                cfg.verdict(rate >= target),
            )
        )
    return rows


# ---------------------------------------------------------------------------- RBM


def _timed_fits(fit: Callable[[int], tuple[object, float]], cfg: Config) -> list:
    """Call ``fit(seed)`` once untimed, then ``cfg.repeats`` times with seeds 1, 2, …;
    ``fit`` returns ``(model, seconds spent in training)`` so that model construction stays
    out of the figure.  Returns the timed calls' ``(model, seconds)`` pairs."""
    fit(0)
    return [fit(seed) for seed in range(1, cfg.repeats + 1)]


@bench("rbm")
def bench_rbm(cfg: Config) -> list[Row]:
    RBM = engine_attr("RBM")
    X = ref.digits_binary()
    n_hidden, lr, batch, epochs = 16, 0.1, 10, 20
    if cfg.quick:
        X, n_hidden, epochs = X[:300], 8, 2
    n_samples, n_visible = X.shape

    def engine_fit(seed):
        model = RBM(n_visible, n_hidden, seed=seed)
        t0 = cfg.clock()
        model.fit(X, epochs=epochs, batch_size=batch, lr=lr, k=1, persistent=True, shuffle=False)
        return model, cfg.clock() - t0

    def sklearn_fit(seed):
        model = ref.sklearn_rbm(n_hidden, lr, batch, epochs, seed)
        t0 = cfg.clock()
        model.fit(X)
        return model, cfg.clock() - t0

    t_eng_models = _timed_fits(engine_fit, cfg)
    t_sk_models = _timed_fits(sklearn_fit, cfg)
    t_eng = Timing(tuple(dt for _, dt in t_eng_models))
    t_sk = Timing(tuple(dt for _, dt in t_sk_models))

    evaluator = RBM(n_visible, n_hidden, seed=0)

    def ll_of(W, a, b):
        evaluator.W, evaluator.a, evaluator.b = W, a, b
        return evaluator.log_likelihood(X)

    ll_eng = float(np.median([ll_of(m.W, m.a, m.b) for m, _ in t_eng_models]))
    ll_sk = float(np.median([ll_of(*ref.sklearn_params(m)) for m, _ in t_sk_models]))
    items = n_samples * epochs
    ratio = t_sk.median / t_eng.median
    return [
        Row(
            f"RBM PCD-1 on digits ({n_samples}×{n_visible}, {n_hidden} hidden, "
            f"lr {lr}, batch {batch}, {epochs} epochs, no shuffle)",
            f"{fmt_rate_stats(t_eng, items, ' samples/s')}; exact LL {ll_eng:.3f}",
            f"scikit-learn BernoulliRBM {fmt_rate_stats(t_sk, items, ' samples/s')}; "
            f"exact LL {ll_sk:.3f}",
            fmt_ratio(ratio),
            "≥ 2.5× sklearn, LL ≥ sklearn's",
            cfg.verdict(ratio >= 2.5 and ll_eng >= ll_sk),
            data={"ll_engine": ll_eng, "ll_sklearn": ll_sk},
        )
    ]


# ------------------------------------------------------------------------ lattice


@bench("lattice")
def bench_lattice(cfg: Config) -> list[Row]:
    Lattice = engine_attr("Lattice")
    T = 2.0 / math.log(1.0 + math.sqrt(2.0))  # critical point: the app's most-watched T
    rows = []
    sizes = (16, 32) if cfg.quick else (128, 256)
    for L in sizes:
        n_sweeps = 5 if cfg.quick else max(1, 10_000_000 // (L * L))
        n_ref = 2 if cfg.quick else max(1, 400_000 // (L * L))
        for method in ("heat-bath", "metropolis"):
            lat = Lattice(L, "ferro", seed=0)
            lat_ref = ref.LatticeRef(lat.spins, lat.Jright, lat.Jdown, seed=0)
            t_eng = cfg.measure(lambda lat=lat, m=method, k=n_sweeps: lat.sweep(T, k, m))
            t_ref = cfg.measure(
                lambda r=lat_ref, m=method, k=n_ref: r.sweep(T, k, m), cfg.ref_repeats
            )
            items, items_ref = L * L * n_sweeps, L * L * n_ref
            rate, rate_ref = items / t_eng.median, items_ref / t_ref.median
            primary = L == sizes[0]
            rows.append(
                Row(
                    f"lattice {method} sweeps, {L}×{L} ferro, T = T_c",
                    fmt_rate_stats(t_eng, items, " spin upd/s"),
                    fmt_rate_stats(t_ref, items_ref, " spin upd/s") + " (numpy checkerboard)",
                    fmt_ratio(rate / rate_ref),
                    "≥ 50 M/s" if primary else "(≥ 50 M/s at 128)",
                    cfg.verdict(rate >= 50e6) if primary else None,
                )
            )
    return rows


# ------------------------------------------------------------------------ capacity


@bench("capacity")
def bench_capacity(cfg: Config) -> list[Row]:
    capacity_curve = engine_attr("capacity_curve")
    n, n_alphas, n_trials = (50, 6, 1) if cfg.quick else (200, 21, 1)
    alphas = np.linspace(0.02, 0.4, n_alphas)  # around alpha_c = 0.138
    t_eng = cfg.measure(lambda: capacity_curve(n, alphas, n_trials, 0))
    t_ref = cfg.measure(lambda: ref.capacity_curve_ref(n, alphas, n_trials, 0), cfg.ref_repeats)
    return [
        Row(
            f"capacity sweep, n = {n}, {n_alphas} α in [{alphas[0]:g}, {alphas[-1]:g}], "
            f"{n_trials} trial",
            fmt_time_stats(t_eng),
            fmt_time_stats(t_ref) + " (numpy, rows settled together)",
            fmt_ratio(t_ref.median / t_eng.median),
            "≤ 150 ms",
            cfg.verdict(t_eng.median <= 0.150),
        )
    ]


# ------------------------------------------------------------------ dense memory


@bench("modern")
def bench_modern(cfg: Config) -> list[Row]:
    curve = engine_attr("dense_capacity_curve")
    kinds = engine_attr("DENSE_KINDS")
    # The section's default plot: n = 24, p = 1 … 4096 (24 counts), 64 recalls per count.
    n, top = (16, 256) if cfg.quick else (24, 4096)
    counts = np.unique(np.round(2.0 ** (np.arange(0, 25) / 2)).astype(np.int64))
    counts = counts[counts <= top]
    t_ref = cfg.measure(
        lambda: ref.dense_capacity_curve_ref(n, counts, kinds, 0.0, 2016), cfg.ref_repeats
    )
    rows = []
    for workers in (1, 2):  # the section uses 2 threads
        t_eng = cfg.measure(lambda w=workers: curve(n, counts, kinds, 0.0, 2016, n_workers=w))
        rows.append(
            Row(
                f"dense capacity curves (x², x³, x⁵, exp), n = {n}, {counts.size} counts "
                f"p ≤ {counts[-1]}, 64 recalls each, {workers} thread{'s' * (workers > 1)}",
                fmt_time_stats(t_eng),
                fmt_time_stats(t_ref) + " (numpy, rows settled together)",
                fmt_ratio(t_ref.median / t_eng.median),
                "≤ 1 s",
                cfg.verdict(t_eng.median <= 1.0),
            )
        )
    return rows


# --------------------------------------------------------------------------- race


RACE_STRATEGIES = ("quench", "fast", "slow")


def race_strategies(n_sweeps: int | None = None) -> dict[str, np.ndarray]:
    """Temperature arrays of the three raced strategies (engine defaults; ``n_sweeps``
    shortens them for ``--quick``)."""
    presets = engine_attr("STRATEGIES")
    strategy_temperatures = engine_attr("strategy_temperatures")
    out = {}
    for name in RACE_STRATEGIES:
        kw = dict(presets[name])
        if n_sweeps is not None:
            kw["n_sweeps"] = n_sweeps
        out[name] = strategy_temperatures(**kw)
    return out


@bench("race")
def bench_race(cfg: Config) -> list[Row]:
    race = engine_attr("race")
    import numba

    patterns, W, b = tlo_network()
    n_runs = 20 if cfg.quick else 200
    strategies = race_strategies(50 if cfg.quick else None)
    n_sweeps = {t.size for t in strategies.values()}
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        t_eng = cfg.measure(lambda: race(W, b, patterns, strategies, n_runs, 0))
    finally:
        numba.set_num_threads(previous)
    t_ref = cfg.measure(
        lambda: ref.race_ref(W, b, patterns, strategies, n_runs, 0), cfg.ref_repeats
    )
    return [
        Row(
            f"race: {n_runs} runs × {len(strategies)} strategies ({', '.join(strategies)}) × "
            f"{'/'.join(map(str, sorted(n_sweeps)))} sweeps, 9-unit T/L/O net, 1 thread",
            fmt_time_stats(t_eng),
            fmt_time_stats(t_ref) + " (numpy, runs vectorised)",
            fmt_ratio(t_ref.median / t_eng.median),
            "≤ 70 ms",
            cfg.verdict(t_eng.median <= 0.070),
        )
    ]


# ------------------------------------------------------------------ start-up costs

# Timed inside a fresh interpreter: importing the engine (numpy and numba included), then
# engine.warmup.run(), exactly what app.py does before serving: it calls every public
# function of the engine once on tiny inputs, with the argument types the pages use, so
# every kernel the app runs is loaded from numba's cache.  (Variants no page uses, such as
# parallel=True anneals, are left to `python -m engine.warmup`, which puts them in the
# cache; see engine.warmup.)  The served app installs only requirements.txt, where SciPy is
# absent; numba imports it when it is there (about 0.4 s), so the probe hides the test-only
# SciPy to time what the app pays.  As in the Docker image (compileall at build time), the
# engine's bytecode is compiled beforehand: this machine sets PYTHONDONTWRITEBYTECODE, and
# without the .pyc files every probe would also recompile the engine's source (~35 ms).
_STARTUP_CODE = """
import json, sys, time
sys.modules["scipy"] = None  # as in the runtime install (requirements.txt): no SciPy
t0 = time.perf_counter()
import engine
t1 = time.perf_counter()
from engine import warmup
report = warmup.run()
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "calls": t2 - t1, "ok": report.ok,
                  "errors": report.errors, "missed": report.missed}))
"""


def _startup_probe(env: dict[str, str] | None = None) -> dict:
    wall, out = run_python(_STARTUP_CODE, env=env)
    result = json.loads(out.strip().splitlines()[-1])
    if result["errors"]:
        raise RuntimeError(f"engine.warmup.run() failed: {result['errors']}")
    result["process"] = wall
    return result


@bench("startup")
def bench_startup(cfg: Config) -> list[Row]:
    import importlib.util

    if importlib.util.find_spec("engine.warmup") is None:
        raise Missing("engine.warmup not available")
    run_python("import compileall, sys; sys.exit(not compileall.compile_dir('engine', quiet=1))")
    if not cfg.quick:  # quick runs give no verdict, so they skip the extra process
        # make sure the cache is warm (with every variant, as the Docker build leaves it)
        run_python("import engine.warmup; engine.warmup.run(extras=True)")
    samples = [_startup_probe() for _ in range(1 if cfg.quick else cfg.repeats)]
    total = Timing(tuple(s["import"] + s["calls"] for s in samples))
    imp = float(np.median([s["import"] for s in samples]))
    proc = float(np.median([s["process"] for s in samples]))
    missed = sorted({f"{m}.{n}" for m, names in samples[0]["missed"].items() for n in names})
    rows = [
        Row(
            "import engine + warm-cache first call of every kernel the app uses (fresh process, "
            "run-time deps; engine.warmup.run() as app.py calls it)",
            f"{fmt_time_stats(total)}; import alone {fmt_seconds(imp)}; "
            f"whole process {fmt_seconds(proc)}"
            + (f"; NOT warmed by engine.warmup: {', '.join(missed)}" if missed else ""),
            "—",
            "—",
            "≤ 1 s",
            cfg.verdict(total.median <= 1.0),
        )
    ]
    if cfg.quick:
        rows.append(Row("cold compile of the whole engine (empty cache)", "skipped", note="quick"))
        return rows
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
        cold = _startup_probe(env={"NUMBA_CACHE_DIR": cache})
    rows.append(
        Row(
            "cold compile of the whole engine (fresh process, empty NUMBA_CACHE_DIR)",
            f"{fmt_seconds(cold['import'] + cold['calls'])} (import {fmt_seconds(cold['import'])}"
            f" + compile/first calls {fmt_seconds(cold['calls'])}); "
            f"whole process {fmt_seconds(cold['process'])}",
            note="info",
        )
    )
    return rows


# ---------------------------------------------------------------------------- main

ORDER = ("exact", "glauber", "race", "rbm", "capacity", "modern", "lattice", "startup")


def run(names, cfg: Config, log=None) -> list[Row]:
    """Run the named benchmarks in table order; a missing kernel gives a 'missing' row."""
    rows: list[Row] = []
    for name in ORDER:
        if name not in names:
            continue
        t0 = time.perf_counter()
        try:
            new = BENCHES[name](cfg)
        except Missing as exc:
            new = [Row(name, str(exc), note="missing")]
        except Exception as exc:  # one broken kernel must not hide the other figures
            new = [Row(name, f"{type(exc).__name__}: {exc}", note="error")]
        if cfg.quick:
            for row in new:
                if row.passed is None and not row.note:
                    row.note = "quick"
        rows.extend(new)
        if log is not None:
            print(f"[bench] {name}: {time.perf_counter() - t0:.1f} s", file=log, flush=True)
    return rows


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes, few repeats (smoke test)")
    p.add_argument("--only", action="append", choices=ORDER, metavar="NAME",
                   help=f"run only this benchmark (repeatable): {', '.join(ORDER)}")  # fmt: skip
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per figure")
    p.add_argument("--out", default=None, help="where to write the markdown table")
    p.add_argument(
        "--cpu-clock",
        action="store_true",
        help="time in-process figures with process CPU time instead of wall time: steadier "
        "on a busy machine, but it sums all threads (start-up rows stay wall time)",
    )
    return p.parse_args(argv)


def main(argv=None) -> list[Row]:
    args = parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 5)
    cfg = Config(quick=args.quick, repeats=repeats, cpu_clock=args.cpu_clock)
    names = set(args.only or ORDER)
    rows = run(names, cfg, log=sys.stderr)
    notes = [
        f"Timings are medians of {cfg.repeats} repeats (references: at least 3) after one "
        "untimed warm-up call; brackets give the min–max range.",
        "Ratios compare engine and reference measured in this run (higher = engine faster).",
    ]
    if cfg.cpu_clock:
        notes.append(
            "--cpu-clock: in-process figures are CPU seconds of this process (all threads "
            "summed), not wall time; start-up rows are wall time."
        )
    if cfg.quick:
        notes.append("--quick: reduced sizes, so no PASS/MISS verdicts.")
    title = "Engine benchmarks" + (" (quick)" if cfg.quick else "")
    text = report(title, rows, notes)
    out = args.out or os.path.join(RESULTS_DIR, "engine-quick.md" if cfg.quick else "engine.md")
    write_result(text, out)
    if not cfg.quick and not args.only and args.out is None:  # a full run is the record
        update_performance_doc("engine", text)
    print(text)
    return rows


__all__ = ["BENCHES", "ORDER", "Config", "Missing", "main", "run"]
