"""Compile (or load from numba's on-disk cache) every kernel of the engine once.

Run ``python -m engine.warmup`` after installing (the Docker build does) so that the
first visitor does not wait for the compiler. It calls each public function of every
engine module on tiny inputs, with the argument types the app uses (numba compiles one
machine-code version per combination of argument types), and prints the time taken.

Two uses, two scopes. The command line also makes the *extra* calls: variants no page of
the app makes (``parallel=True`` anneals and races, exact enumeration above 2^10 states,
``settle_kernel`` called from Python, an RBM dream without a seed), so that the cache
holds them too. The app calls :func:`run` at start-up without them: with the cache
filled, an extra variant costs a few milliseconds of cache loading when first used, and
loading it up front (the parallel kernel also starts numba's thread pool) would delay
every start for calls that never come.

``python -m engine.warmup --check`` measures, each in a fresh interpreter, the cold
start (empty ``NUMBA_CACHE_DIR``: everything compiled) and the warm start (cache
filled), and lists any kernel the cold run left uncompiled (dead code, or a missing call).

Keeping it complete: every module in :data:`MODULES` needs an entry in ``_WARMERS``
that touches each of its public callables; a module may also define its own
``warm_up()``, which is called first. The run fails (exit status 1) when a module or a
public name is missed, or when another engine module defines kernels without being
listed, so a new public function cannot silently skip the warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._gcpause import permanent_objects

__all__ = ["MODULES", "WarmupReport", "main", "run", "uncompiled_kernels"]

#: The engine modules whose kernels the warm-up must cover.
MODULES = ("spins", "exact", "annealing", "rbm", "learning", "capacity", "lattice", "modern")


class _Tracked:
    """Wraps a module and records which attributes the warm-up used."""

    def __init__(self, module):
        self._module = module
        self.used: set[str] = set()

    def __getattr__(self, name):
        self.used.add(name)
        return getattr(self._module, name)


def _tiny_network(n, seed=0):
    """A random symmetric zero-diagonal W (n, n) and biases b (n,), float64."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    W = (A + A.T) / 2
    np.fill_diagonal(W, 0.0)
    return W, rng.normal(size=n)


def _tlo(m):
    """T, L and O as +-1 patterns (3, 9) int8 and their Hebbian network."""
    patterns = m.to_spins(np.stack([m.SHAPES[k].ravel() for k in "TLO"]))
    return patterns, m.hebbian(patterns)


# ----------------------------------------------------------------------- per module


def _warm_spins(m, extras):
    patterns, W = _tlo(m)
    b = np.zeros(9)
    m.to_bits(patterns)
    m.projection_rule(patterns)
    m.energy(W, b, patterns[0])
    m.energy(W, b, patterns)
    m.local_fields(W, b, patterns)
    m.settle(W, b, patterns[0])
    m.settle(W, None, patterns, order=np.arange(9)[::-1])
    kernel = m.settle_kernel  # for compiled callers (engine.capacity); compiled with them
    if extras:
        kernel(W, b, patterns[0].astype(np.float64), np.arange(9, dtype=np.int64), 100)
    for T in (0.0, 1.0):
        m.glauber(W, b, patterns[0], T, 20, seed=0)
    chain = m.GlauberChain(W, b, patterns[0], 1.0, seed=0)
    chain.run(10)
    m.classify_states(patterns, patterns)
    m.describe_state(patterns[1], patterns)
    m.local_minima(W, b)
    m.as_stream(0)
    _ = m.FIELD_TOL


def _warm_exact(m, extras):
    W, b = _tiny_network(4)
    if extras:  # n > 10 takes the blocked enumeration; the app's networks are smaller
        m.exact_boltzmann(*_tiny_network(11), 1.0)
    for fn in (
        m.exact_boltzmann,
        m.exact_stats,
        m.exact_moments,
        m.log_partition,
        m.free_energy,
        m.mean_energy,
        m.entropy,
    ):
        fn(W, b, 1.0)
    S = m.sample_states(W, b, 1.0, 8, seed=0)
    freq = m.empirical_distribution(S, 4)
    m.empirical_distribution(m.state_index(S), 4)
    m.tv_distance(freq, freq)
    _ = m.BoltzmannStats


def _warm_annealing(m, extras):
    from engine import spins

    patterns, W = _tlo(spins)
    b = np.zeros(9)
    for kind in ("quench", "constant", "linear", "geometric"):
        m.schedule(kind, 4)
    # the app's own strategies (a few hundred sweeps of 9 units: still cheap)
    temps = {name: m.strategy_temperatures(**cfg) for name, cfg in m.STRATEGIES.items()}
    first = next(iter(temps.values()))
    # the parallel kernels are separate compilations, and the app never asks for them
    for parallel in (False, True) if extras else (False,):
        m.anneal(W, b, first, 4, seed=0, parallel=parallel)
        m.race(W, b, patterns, temps, 4, seed=0, parallel=parallel)
    m.classify_outcomes(W, b, np.vstack([patterns, -patterns[:1]]), patterns)
    _ = m.OUTCOMES


def _warm_rbm(m, extras):
    rbm = m.RBM(4, 2, seed=0)
    v = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0]])
    ph = rbm.hidden_probs(v)
    rbm.visible_probs(ph)
    rbm.reconstruct(v)
    rbm.reconstruction_error(v)
    rbm.free_energy(v)
    rbm.log_probs(v)
    rbm.receptive_fields()
    rbm.train_step(v, 0.1, k=2)
    rbm.reset_chains()
    rbm.dream(2, 1, seed=0)
    if extras:
        rbm.dream(2, 1)  # no seed: draws one from the model's stream (_rng.next_u64)
    rbm.reset(seed=1)


def _warm_learning(m, extras):
    data = np.array([[1, -1, 1], [-1, -1, 1]])
    W, b = _tiny_network(3)
    m.data_moments(data)
    m.exact_gradient(W, b, data)
    m.kl_divergence(data, W, b)
    m.log_likelihood(data, W, b)
    m.sampled_gradient(W, b, data, 8, seed=0)
    learner = m.BoltzmannLearner(3, seed=0)
    learner.step(data, 0.1)
    learner.kl(data)
    learner.log_likelihood(data)
    learner.energy(data)
    _ = m.LearningStep


def _warm_capacity(m, extras):
    m.capacity_curve(20, [0.05, 0.2], n_trials=1, seed=0, noise=0.1)
    m.recall_example(20, 2, 0.1, seed=0)
    m.pattern_counts(20, [0.1])
    m.max_patterns(100)
    _ = m.ALPHA_C, m.RETRIEVAL_THRESHOLD


def _warm_lattice(m, extras):
    images = np.where(np.indices((2, 4, 4))[2] < 2, 1, -1)
    for couplings in m.COUPLINGS:
        lat = m.Lattice(4, couplings, seed=0, patterns=images if couplings == "hopfield" else None)
        for method in m.METHODS:
            lat.sweep(1.0, 1, method)
        lat.sweep(0.0, 1)
        lat.energy_per_spin()
        lat.magnetization()
        lat.overlap(images[0])
        if couplings == "hopfield":
            lat.overlaps()
    m.onsager_energy_per_spin(2.0)
    _ = m.T_CRITICAL


def _warm_modern(m, extras):
    patterns = np.array([[1, -1, 1, -1, 1, 1], [-1, -1, 1, 1, 1, -1], [1, 1, -1, -1, 1, 1]])
    for k in m.DENSE_KINDS:
        m.dense_energy(patterns, patterns[0], k)
        m.dense_settle(patterns, patterns, k)
    m.dense_capacity_curve(6, np.array([1, 2]), seed=0, min_recalls=2)
    xi = patterns[0].astype(float)
    m.softmax_weights(patterns, xi, 1.0)
    m.modern_update(patterns, xi, 1.0)
    m.modern_energy(patterns, xi, 1.0)
    m.modern_retrieve(patterns, xi, 1.0)
    m.attention(xi, patterns, patterns, 1.0)
    m.theory_capacity(20, 3)
    m.double_factorial(5)
    m.half_capacity([1, 2], [1.0, 0.0])


_WARMERS = {
    "spins": _warm_spins,
    "exact": _warm_exact,
    "annealing": _warm_annealing,
    "rbm": _warm_rbm,
    "learning": _warm_learning,
    "capacity": _warm_capacity,
    "lattice": _warm_lattice,
    "modern": _warm_modern,
}


# --------------------------------------------------------------------------- running


@dataclass
class WarmupReport:
    """What a warm-up run did.

    Attributes
    ----------
    seconds : dict module -> float, wall time of its calls
    empty : list of modules with no public names yet
    missed : dict module -> sorted public callables the warm-up did not touch
    errors : dict module -> error message
    """

    seconds: dict = field(default_factory=dict)
    empty: list = field(default_factory=list)
    missed: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)

    @property
    def total(self) -> float:
        return float(sum(self.seconds.values()))

    @property
    def ok(self) -> bool:
        return not self.errors and not self.missed


def _public_callables(module) -> set[str]:
    names = set()
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name)
        if callable(obj):
            names.add(name)
    return names


def _kernels_of(module):
    """Names of the numba kernels defined in ``module`` (inline-only helpers excluded)."""
    from numba.core.registry import CPUDispatcher

    return {
        attr: obj
        for attr, obj in vars(module).items()
        if isinstance(obj, CPUDispatcher)
        and obj.py_func.__module__ == module.__name__
        and obj.targetoptions.get("inline") != "always"
    }


def _unlisted_modules() -> list[str]:
    """Public engine modules that define kernels but are missing from MODULES."""
    import importlib
    import pkgutil

    import engine

    out = []
    for info in pkgutil.iter_modules(engine.__path__):
        name = info.name
        if name.startswith("_") or name == "warmup" or name in MODULES:
            continue
        if _kernels_of(importlib.import_module(f"engine.{name}")):
            out.append(name)
    return out


def run(extras: bool = False) -> WarmupReport:
    """Call every public function of every engine module once; see :class:`WarmupReport`.

    ``extras`` also makes the calls no page of the app makes (see the module notes); the
    command line does, so that the on-disk cache holds every variant. Meant for process
    start-up: the objects alive when it ends are frozen out of the cyclic garbage
    collector's passes (:func:`engine._gcpause.permanent_objects`).
    """
    with permanent_objects():  # the loaded kernels stay for good: see engine._gcpause
        return _run(extras)


def _run(extras: bool) -> WarmupReport:
    import importlib

    report = WarmupReport()
    for name in _unlisted_modules():
        report.errors[name] = "defines numba kernels but is not in engine.warmup.MODULES"
    for name in MODULES:
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"engine.{name}")
            own = getattr(module, "warm_up", None)
            if own is not None:
                own()
            tracked = _Tracked(module)
            warmer = _WARMERS.get(name)
            if warmer is None:
                raise LookupError(f"engine/warmup.py has no entry for engine.{name}")
            warmer(tracked, extras)
        except Exception as exc:  # report every failure, then fail the run
            report.errors[name] = f"{type(exc).__name__}: {exc}"
        else:
            if not module.__all__:
                report.empty.append(name)
            missed = _public_callables(module) - tracked.used
            if missed:
                report.missed[name] = sorted(missed)
        report.seconds[name] = time.perf_counter() - t0
    return report


def uncompiled_kernels() -> list[str]:
    """Numba kernels of the engine modules that hold no compiled version.

    Meaningful after :func:`run` with an empty cache: a kernel loaded from the on-disk
    cache as part of a caller is not recorded on its own dispatcher. Kernels marked
    ``inline="always"`` are skipped (they only exist inside their callers).
    """
    import importlib

    out = []
    for name in MODULES:
        module = importlib.import_module(f"engine.{name}")
        for attr, kernel in _kernels_of(module).items():
            if not kernel.signatures:
                out.append(f"engine.{name}.{attr}")
    return out


# ------------------------------------------------------------------ fresh processes

_PROBE = """
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import engine
t1 = time.perf_counter()
from engine import warmup
report = warmup.run(extras=sys.argv[1] == "extras")
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import": t1 - t0, "calls": t2 - t1, "cpu": c2 - c0, "ok": report.ok,
                  "uncompiled": warmup.uncompiled_kernels()}))
"""


def _probe(cache_dir: str | None, extras: bool) -> dict:
    """Import the engine and warm it up in a fresh interpreter; its timings as a dict."""
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, "extras" if extras else "app"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"warm-up probe failed:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process"] = wall
    return result


def _check() -> int:
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as empty:
        cold = _probe(empty, extras=True)  # compiles every variant
    _probe(os.environ.get("NUMBA_CACHE_DIR"), extras=True)  # make sure the real cache is filled
    warm = _probe(os.environ.get("NUMBA_CACHE_DIR"), extras=False)  # as the app starts
    for label, r in (("cold (empty cache)", cold), ("warm (cache filled)", warm)):
        print(
            f"{label:20s} import engine {r['import']:6.2f} s + first calls {r['calls']:6.2f} s"
            f" = {r['import'] + r['calls']:6.2f} s   (CPU {r['cpu']:.2f} s;"
            f" whole process {r['process']:.2f} s)"
        )
    if cold["uncompiled"]:
        # Not an error: such a kernel is dead code or reached only by inputs the app never
        # gives; either way no visitor waits for it. Worth a look, though.
        print("kernels no warm-up call compiled: " + ", ".join(cold["uncompiled"]))
    return 0 if cold["ok"] and warm["ok"] else 1


def main(argv=None) -> int:
    """Command line entry point; returns the exit status (0 = every module warmed)."""
    parser = argparse.ArgumentParser(prog="python -m engine.warmup", description=__doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="time a cold start (empty numba cache) and a warm start, each in a fresh process",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="time of each module")
    args = parser.parse_args(argv)
    if args.check:
        return _check()
    report = run(extras=True)
    if args.verbose:
        for name, seconds in report.seconds.items():
            print(f"  engine.{name:10s} {seconds:7.3f} s")
    for name in report.empty:
        print(f"engine.{name}: no public names yet (nothing to warm)")
    for name, names in report.missed.items():
        print(f"engine.{name}: the warm-up does not call {', '.join(names)} (add to warmup.py)")
    for name, message in report.errors.items():
        print(f"engine.{name}: FAILED: {message}")
    done = len(MODULES) - len(report.errors)
    print(f"engine warm-up: {done}/{len(MODULES)} modules in {report.total:.2f} s")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
