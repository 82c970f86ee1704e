"""The benchmark's references are proven against the engine, and ``--quick`` runs end to end.

A ratio in the benchmark table only means something if the plain-numpy reference computes
the same thing as the engine kernel.  Deterministic references are compared number for
number; sampled ones either replay the engine's own random stream or are compared in
distribution with tolerances that follow from the sample size.  No timing is asserted.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine
from bench import reference as ref
from bench.engine_bench import ORDER, race_strategies, random_network, tlo_network
from bench.harness import Row, Timing, fmt_rate_stats, fmt_time_stats, markdown_table, measure
from engine._rng import make_streams, next_u64, randint, uniform


def _all_states(n):
    k = np.arange(1 << n)
    return ((k[:, None] >> np.arange(n)) & 1) * 2.0 - 1.0


def _brute_energies(W, b):
    S = _all_states(W.shape[0])
    return np.array([-0.5 * s @ W @ s - b @ s for s in S])


def _tv(p, q):
    return 0.5 * np.abs(np.asarray(p) - np.asarray(q)).sum()


# ------------------------------------------------------------------------ harness


def test_timing_statistics_and_formatting():
    t = Timing((0.004, 0.002, 0.003, 0.001, 0.005))
    assert t.median == 0.003 and t.min == 0.001 and t.max == 0.005
    assert t.iqr == (0.002, 0.004)
    assert fmt_time_stats(t) == "3 ms [1–5]"
    assert fmt_rate_stats(t, 3e6, " upd/s") == "1 G upd/s [0.6–3]"
    table = markdown_table([Row("k", "1 ms", passed=True), Row("j", "2 ms", passed=False)])
    lines = table.splitlines()
    assert len(lines) == 4 and lines[2].endswith("| PASS |") and lines[3].endswith("| MISS |")


def test_measure_makes_warmup_and_repeat_calls():
    calls = []
    t = measure(lambda x: calls.append(x), repeats=4, warmup=2, setup=lambda: (len(calls),))
    assert calls == [0, 1, 2, 3, 4, 5] and len(t.samples) == 4


# -------------------------------------------------------------------- exact


def test_exact_reference_equals_brute_force():
    W, b = random_network(7, seed=3, bias=0.5)
    states, energies, probs = ref.exact_boltzmann_ref(W, b, 0.7)
    assert np.array_equal(states, _all_states(7))
    brute = _brute_energies(W, b)
    np.testing.assert_allclose(energies, brute, rtol=0, atol=1e-12)
    w = np.exp(-(brute - brute.min()) / 0.7)
    np.testing.assert_allclose(probs, w / w.sum(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("T", [0.3, 1.0, 4.0])
def test_exact_reference_equals_engine(T):
    W, b = random_network(11, seed=5, bias=0.3)
    S_e, E_e, P_e = engine.exact_boltzmann(W, b, T)
    S_r, E_r, P_r = ref.exact_boltzmann_ref(W, b, T)
    # The two enumerations may list states in different orders: align them by state.
    k = ref.state_index(S_e)
    assert np.array_equal(np.sort(k), np.arange(1 << 11))
    np.testing.assert_allclose(E_e, E_r[k], rtol=0, atol=1e-12)
    np.testing.assert_allclose(P_e, P_r[k], rtol=0, atol=1e-12)


# ----------------------------------------------------------------- random streams


def test_python_xoshiro_replays_engine_streams():
    streams = make_streams(123, 3)
    replicas = [ref.XoshiroRef(row) for row in streams]
    for r, rep in enumerate(replicas):
        for _ in range(50):
            assert int(next_u64(streams, r)) == rep.next_u64()
        for _ in range(50):
            assert uniform(streams, r) == rep.uniform()
            assert randint(streams, r, 9) == rep.randint(9)


# ----------------------------------------------------------------------- Glauber


def _engine_glauber_draws(seed, n, n_updates):
    """Sites and uniforms of ``engine.glauber``: one 64-bit word per update, site from the
    high 32 bits, acceptance uniform ``(low 32 bits + 0.5) / 2^32`` (engine/spins.py)."""
    rep = ref.XoshiroRef(make_streams(seed, 1)[0])
    words = [rep.next_u64() for _ in range(n_updates)]
    sites = np.array([((w >> 32) * n) >> 32 for w in words])
    uniforms = np.array([((w & 0xFFFFFFFF) + 0.5) / 2.0**32 for w in words])
    return sites, uniforms


@pytest.mark.parametrize(("n", "T"), [(9, 1.0), (30, 0.5), (30, 0.0)])
def test_glauber_reference_replays_engine_stream(n, T):
    if n == 9:
        _, W, b = tlo_network()
    else:
        W, b = random_network(n, seed=n, bias=0.2)
    s0 = np.where(np.random.default_rng(1).random(n) < 0.5, -1, 1).astype(np.int8)
    s_e, tr_e = engine.glauber(W, b, s0, T, 3000, 42)
    sites, uniforms = _engine_glauber_draws(42, n, 3000)
    s_r, tr_r = ref.glauber_ref(W, b, s0, T, sites, uniforms)
    assert np.array_equal(s_e, s_r)
    np.testing.assert_allclose(tr_e, tr_r, rtol=0, atol=1e-9)


def test_glauber_reference_samples_the_boltzmann_distribution():
    # Independent of any stream layout: a long numpy-driven run visits the 16 states of a
    # 4-unit network with the exact probabilities.  With 200k correlated samples the TV
    # distance is a few 1e-3; 0.02 is far above that and far below any real bug.
    W, b = random_network(4, seed=9, bias=0.4)
    _, _, probs = ref.exact_boltzmann_ref(W, b, 1.0)
    rng = np.random.default_rng(0)
    n_upd = 200_000
    sites, uniforms = rng.integers(0, 4, n_upd), rng.random(n_upd)
    _, trace, states = ref.glauber_ref(W, b, np.ones(4), 1.0, sites, uniforms, record=True)
    np.testing.assert_allclose(trace, ref.energy_ref(W, b, states), rtol=0, atol=1e-12)
    counts = np.bincount(ref.state_index(states), minlength=16)
    assert _tv(counts / n_upd, probs) < 0.02


# ---------------------------------------------------------------------- annealing


def test_classify_reference_equals_engine():
    patterns, _, _ = tlo_network()
    rng = np.random.default_rng(4)
    S = np.concatenate([patterns, -patterns, rng.choice(np.array([-1, 1]), size=(200, 9))])
    codes = ref.classify_ref(S, patterns)
    np.testing.assert_array_equal(codes, engine.classify_states(S, patterns))
    assert list(codes[:6]) == [0, 1, 2, 3, 4, 5]


def test_anneal_reference_at_constant_temperature_reaches_boltzmann():
    # 400 runs × 150 recorded sweeps at T = 1: the mean energy has a standard error of a
    # few 1e-3 (energy s.d. ~1, short autocorrelation), so 0.05 cannot hide a wrong rule.
    _, W, b = tlo_network()
    _, E, P = ref.exact_boltzmann_ref(W, b, 1.0)
    _, traces = ref.anneal_ref(W, b, np.ones(200), 400, seed=2)
    assert traces[:, 50:].mean() == pytest.approx(E @ P, abs=0.05)
    # and at T = 0 every run ends in a single-flip local minimum
    final, traces = ref.anneal_ref(W, b, np.zeros(30), 100, seed=3)
    fields = final @ W + b
    assert np.all(final * fields >= -1e-12)
    np.testing.assert_allclose(traces[:, -1], ref.energy_ref(W, b, final), atol=1e-12)


def test_race_reference_agrees_with_engine():
    # Outcome fractions of two independent 400-run samples differ by a binomial s.d. of
    # at most 0.035; 0.15 is over 4 s.d.  Strategies shortened to 100 sweeps for speed.
    patterns, W, b = tlo_network()
    strategies = race_strategies(100)
    strategies["fixed"] = engine.strategy_temperatures(
        **{**engine.STRATEGIES["fixed"], "n_sweeps": 100}
    )
    n_runs = 400
    r_ref = ref.race_ref(W, b, patterns, strategies, n_runs, seed=1)
    r_eng = engine.race(W, b, patterns, strategies, n_runs, seed=2)
    for name in strategies:
        for outcome in ("memory", "mirror", "spurious", "no_valley"):
            f_ref = r_ref[name]["counts"][outcome] / n_runs
            f_eng = r_eng[name]["counts"][outcome] / n_runs
            assert f_ref == pytest.approx(f_eng, abs=0.15), (name, outcome)
        assert r_ref[name]["ground"] / n_runs == pytest.approx(
            r_eng[name]["ground"] / n_runs, abs=0.15
        )
        assert r_ref[name]["final_energies"].mean() == pytest.approx(
            r_eng[name]["final_energies"].mean(), abs=0.15
        )
    # the slow anneal finds the ground state more often than the quench, in both
    for r in (r_ref, r_eng):
        assert r["slow"]["ground"] > r["quench"]["ground"]


# ---------------------------------------------------------------- settle/capacity


def test_settle_reference_equals_engine_settle():
    rng = np.random.default_rng(7)
    n = 60
    patterns = rng.choice(np.array([-1.0, 1.0]), size=(12, n))
    W = ref.hebbian_ref(patterns)
    np.testing.assert_array_equal(W, engine.hebbian(patterns))
    starts = rng.choice(np.array([-1.0, 1.0]), size=(20, n))
    fixed = ref.settle_ref(W, starts)
    for s0, s_ref in zip(starts, fixed, strict=True):
        np.testing.assert_array_equal(engine.settle(W, None, s0), s_ref)
    # The 3×3 T/L/O net has many exactly-zero fields (multiples of 1/9): every start agrees.
    _, W, b = tlo_network()
    starts = _all_states(9)
    fixed = ref.settle_ref(W, starts, b)
    for s0, s_ref in zip(starts, fixed, strict=True):
        np.testing.assert_array_equal(engine.settle(W, b, s0), s_ref)


def test_capacity_reference_agrees_with_engine():
    # Retrieval is near-certain well below capacity and rare far above it, for both; the
    # mean overlap of two independent samples of 3×50+ recalls differs by far less than 0.1.
    alphas = np.array([0.05, 0.3])
    f_r, m_r = ref.capacity_curve_ref(100, alphas, 3, seed=1)
    f_e, m_e = engine.capacity_curve(100, alphas, 3, seed=1)
    assert f_r[0] >= 0.95 and f_e[0] >= 0.95
    assert f_r[1] <= 0.6 and f_e[1] <= 0.6
    np.testing.assert_allclose(m_r, m_e, atol=0.1)


# ------------------------------------------------------------------------ lattice


@pytest.mark.parametrize("couplings", ["ferro", "pmJ"])
def test_lattice_reference_shares_the_engine_conventions(couplings):
    lat = engine.Lattice(12, couplings, seed=4)
    r = ref.LatticeRef(lat.spins, lat.Jright, lat.Jdown)
    assert r.energy_per_spin() == pytest.approx(lat.energy_per_spin(), abs=1e-12)
    assert r.magnetization() == pytest.approx(lat.magnetization(), abs=1e-12)
    # Flipping one spin changes the energy by 2 s h: checks the field's bond bookkeeping.
    h = r.field()
    for i, j in [(0, 0), (5, 11), (11, 3)]:
        e0 = r.energy_per_spin() * 144
        r.spins[i, j] *= -1
        assert r.energy_per_spin() * 144 - e0 == pytest.approx(-2 * r.spins[i, j] * h[i, j])
        r.spins[i, j] *= -1


@pytest.mark.parametrize("method", ["heat-bath", "metropolis"])
def test_lattice_reference_equilibrium_matches_engine(method):
    # Above T_c (T = 3) correlations are short.  On L = 32 the energy per spin fluctuates by
    # about 0.06 from sweep to sweep, so a 1000-sweep mean has a standard error near 0.003
    # per implementation (autocorrelation ~2 sweeps); 0.02 is over 4 standard errors of the
    # difference, and also covers the finite-size gap to Onsager's infinite-lattice value.
    T, L = 3.0, 32
    lat = engine.Lattice(L, "ferro", seed=0)
    r = ref.LatticeRef(lat.spins, lat.Jright, lat.Jdown, seed=0)
    lat.sweep(T, 50, method)
    r.sweep(T, 50, method)
    e_eng, e_ref = [], []
    for _ in range(1000):
        lat.sweep(T, 1, method)
        r.sweep(T, 1, method)
        e_eng.append(lat.energy_per_spin())
        e_ref.append(r.energy_per_spin())
    onsager = engine.onsager_energy_per_spin(T)
    assert np.mean(e_ref) == pytest.approx(onsager, abs=0.02)
    assert np.mean(e_eng) == pytest.approx(np.mean(e_ref), abs=0.02)
    # and the ordered phase: T = 1.5 keeps an all-up start magnetised
    r.spins[...] = 1.0
    r.sweep(1.5, 100, method)
    assert r.magnetization() > 0.9


# ---------------------------------------------------------------------------- RBM


def test_rbm_reference_log_likelihood_equals_brute_force_and_engine():
    rng = np.random.default_rng(2)
    nv, nh = 5, 3
    W, a, b = rng.normal(size=(nv, nh)), rng.normal(size=nv), rng.normal(size=nh)
    V = ((np.arange(1 << nv)[:, None] >> np.arange(nv)) & 1).astype(float)
    H = ((np.arange(1 << nh)[:, None] >> np.arange(nh)) & 1).astype(float)
    logw = V @ W @ H.T + (V @ a)[:, None] + (H @ b)[None, :]  # -E(v, h)
    log_pv = np.logaddexp.reduce(logw, axis=1) - np.logaddexp.reduce(logw.ravel())
    data = V[rng.integers(0, 1 << nv, 40)]
    expected = float(np.mean(log_pv[ref.state_index(2 * data - 1)]))
    assert ref.rbm_log_likelihood_ref(W, a, b, data) == pytest.approx(expected, abs=1e-12)
    # the other layer is the smaller one when the shapes are swapped
    assert ref.rbm_log_likelihood_ref(W.T, b, a, H) == pytest.approx(
        float(np.mean(np.logaddexp.reduce(logw, axis=0) - np.logaddexp.reduce(logw.ravel()))),
        abs=1e-12,
    )
    model = engine.RBM(64, 16, seed=0)
    model.W, model.a, model.b = rng.normal(size=(64, 16)), rng.normal(size=64), rng.normal(size=16)
    X = ref.digits_binary()[:200]
    assert model.log_likelihood(X) == pytest.approx(
        ref.rbm_log_likelihood_ref(model.W, model.a, model.b, X), abs=1e-9
    )


def test_sklearn_parameters_copy_into_the_engine_layout():
    X = ref.digits_binary()[:100]
    sk = ref.sklearn_rbm(n_hidden=6, lr=0.1, batch_size=10, epochs=2, seed=0).fit(X)
    model = engine.RBM(64, 6, seed=0)
    model.W, model.a, model.b = ref.sklearn_params(sk)
    np.testing.assert_allclose(model.hidden_probs(X), sk.transform(X), rtol=0, atol=1e-12)
    assert X.shape == (100, 64) and set(np.unique(X)) == {0.0, 1.0}


# --------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_quick_run_produces_every_row(tmp_path):
    from bench.engine_bench import main

    out = tmp_path / "engine.md"
    rows = main(["--quick", "--out", str(out)])
    broken = [(r.kernel, r.measured) for r in rows if r.verdict in ("missing", "error")]
    assert not broken, f"benchmarks that could not run: {broken}"
    text = out.read_text()
    for key in (
        "`exact_boltzmann`",
        "Glauber updates/s, n = 9",
        "Glauber updates/s, n = 100",
        "Glauber updates/s, n = 1000",
        "race:",
        "RBM PCD-1 on digits",
        "capacity sweep",
        "dense capacity curves",
        "lattice heat-bath",
        "lattice metropolis",
        "import engine + warm-cache",
        "cold compile",
    ):
        assert key in text, key
    assert "Machine: " in text and len(ORDER) == 8
    rbm = next(r for r in rows if r.kernel.startswith("RBM"))
    # both models were evaluated with the exact likelihood: finite and below log 1 = 0
    for key in ("ll_engine", "ll_sklearn"):
        assert math.isfinite(rbm.data[key]) and rbm.data[key] < 0


def test_only_selects_one_benchmark_and_writes_the_table(tmp_path):
    from bench.engine_bench import main

    out = tmp_path / "only.md"
    rows = main(["--quick", "--only", "exact", "--repeats", "1", "--out", str(out)])
    assert [r.kernel for r in rows] == ["`exact_boltzmann`, n = 12"]
    assert rows[0].verdict == "quick"
    text = out.read_text()
    assert text.count("\n| ") == 3 and "`exact_boltzmann`, n = 12" in text
