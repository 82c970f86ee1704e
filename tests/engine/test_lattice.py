"""The lattice spin models: exact small cases, Onsager's solution, phases, recall, seeds."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from engine.lattice import T_CRITICAL, Lattice, onsager_energy_per_spin

METHODS = ("heat-bath", "metropolis")


def energy_by_hand(spins, Jr, Jd):
    """E = -sum over right and down bonds, written independently of the kernels."""
    s = spins.astype(float)
    return -float(np.sum(Jr * s * np.roll(s, -1, axis=1) + Jd * s * np.roll(s, -1, axis=0)))


# ---------------------------------------------------------------- construction, validation


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"L": 1}, ValueError),
        ({"L": 1025}, ValueError),
        ({"L": 4.0}, TypeError),
        ({"L": True}, TypeError),
        ({"L": 4, "couplings": "glass"}, ValueError),
        ({"L": 4, "couplings": "hopfield"}, ValueError),
        ({"L": 4, "patterns": np.ones((1, 4, 4))}, ValueError),
        ({"L": 4, "couplings": "hopfield", "patterns": np.ones((1, 3, 3))}, ValueError),
        ({"L": 4, "couplings": "hopfield", "patterns": np.zeros((1, 4, 4))}, ValueError),
        ({"L": 4, "seed": "abc"}, TypeError),
        ({"L": 4, "start": "sideways"}, ValueError),
    ],
)
def test_bad_arguments_are_rejected(kwargs, error):
    with pytest.raises(error):
        Lattice(**kwargs)


def test_sweep_and_spins_validation():
    lat = Lattice(4)
    for bad_T in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            lat.sweep(bad_T)
    with pytest.raises(TypeError):
        lat.sweep("hot")
    with pytest.raises(ValueError):
        lat.sweep(1.0, method="gibbs")
    with pytest.raises(ValueError):
        lat.sweep(1.0, n_sweeps=-1)
    with pytest.raises(TypeError):
        lat.sweep(1.0, n_sweeps=1.5)
    with pytest.raises(ValueError):
        lat.spins = np.zeros((4, 4))
    with pytest.raises(ValueError):
        lat.spins = np.ones((3, 3))
    with pytest.raises(ValueError):
        lat.set_uniform(0)
    # Assigning copies into the same buffer, so a view held by the UI stays live.
    view = lat.spins
    lat.spins = [[1, -1, 1, -1]] * 4
    assert view is lat.spins and view.dtype == np.int8 and view[0, 1] == -1
    # Couplings are frozen because the kernels' lookup tables assume their values.
    with pytest.raises(ValueError):
        lat.Jright[0, 0] = 2.0


def test_pmJ_couplings_are_pm1_and_balanced():
    lat = Lattice(64, "pmJ", seed=3)
    J = np.concatenate([lat.Jright.ravel(), lat.Jdown.ravel()])
    assert set(np.unique(J)) == {-1.0, 1.0}
    # 8192 fair coins: the fraction of +1 is 1/2 within 4 standard deviations (0.022).
    assert abs(np.mean(J == 1.0) - 0.5) < 4 * math.sqrt(0.25 / J.size)
    # Right and down bonds are not copies of each other.
    assert not np.array_equal(lat.Jright, lat.Jdown)


def test_hopfield_couplings_follow_the_local_hebb_rule():
    rng = np.random.default_rng(0)
    pats = np.where(rng.random((3, 5, 5)) < 0.5, -1, 1)
    lat = Lattice(5, "hopfield", patterns=pats)
    for i, j in itertools.product(range(5), range(5)):
        assert lat.Jright[i, j] == pytest.approx(np.mean(pats[:, i, j] * pats[:, i, (j + 1) % 5]))
        assert lat.Jdown[i, j] == pytest.approx(np.mean(pats[:, i, j] * pats[:, (i + 1) % 5, j]))
    # One image: the Mattis model, whose two ground states are the image and its mirror.
    mattis = Lattice(5, "hopfield", patterns=pats[0])
    for sign in (1, -1):
        mattis.spins = sign * pats[0]
        assert mattis.energy_per_spin() == -2.0
        assert mattis.overlap(pats[0]) == sign


# ------------------------------------------------------------------------- observables


def test_energy_and_magnetization_of_simple_states():
    lat = Lattice(8, start="up")
    assert lat.energy_per_spin() == -2.0 and lat.magnetization() == 1.0
    lat.set_uniform(-1)
    assert lat.energy_per_spin() == -2.0 and lat.magnetization() == -1.0
    # The Neel (checkerboard) state: every bond unsatisfied.
    i, j = np.indices((8, 8))
    lat.spins = np.where((i + j) % 2 == 0, 1, -1)
    assert lat.energy_per_spin() == 2.0 and lat.magnetization() == 0.0
    assert lat.overlap(np.ones((8, 8))) == 0.0


@pytest.mark.parametrize("couplings", ["ferro", "pmJ", "hopfield"])
@pytest.mark.parametrize("L", [2, 3, 7, 16])
def test_energy_matches_an_independent_formula(couplings, L):
    rng = np.random.default_rng(L)
    pats = np.where(rng.random((2, L, L)) < 0.5, -1, 1) if couplings == "hopfield" else None
    lat = Lattice(L, couplings, seed=L, patterns=pats)
    for _ in range(3):
        lat.randomize()
        expected = energy_by_hand(lat.spins, lat.Jright, lat.Jdown)
        assert lat.energy() == pytest.approx(expected, abs=1e-9)
        assert lat.energy_per_spin() == pytest.approx(expected / L**2, abs=1e-12)
        assert lat.magnetization() == pytest.approx(lat.spins.mean())
    if pats is not None:
        np.testing.assert_allclose(lat.overlaps(), (pats * lat.spins).mean(axis=(1, 2)))


def test_onsager_formula_against_scipy_and_limits():
    special = pytest.importorskip("scipy.special")
    for T in (0.5, 1.0, 2.0, 2.2, 2.3, 3.0, 10.0):
        b = 2.0 / T
        k = 2 * math.sinh(b) / math.cosh(b) ** 2
        ref = -(1 / math.tanh(b)) * (
            1 + 2 / math.pi * (2 * math.tanh(b) ** 2 - 1) * special.ellipk(k * k)
        )
        assert onsager_energy_per_spin(T) == pytest.approx(ref, rel=1e-12)
    assert onsager_energy_per_spin(T_CRITICAL) == pytest.approx(-math.sqrt(2), rel=1e-9)
    assert onsager_energy_per_spin(2.0) == pytest.approx(-1.745564575, abs=1e-9)
    assert onsager_energy_per_spin(0.0) == -2.0


# ----------------------------------------------------------------- exactness on tiny lattices


def exact_distribution(lat, T):
    """Boltzmann probability and energy of every state of a tiny lattice, indexed by the
    row-major bits of the state (1 = +1)."""
    L = lat.L
    codes = np.arange(2 ** (L * L))
    bits = (codes[:, None] >> np.arange(L * L)) & 1
    states = (2 * bits - 1).reshape(-1, L, L)
    E = np.array([energy_by_hand(s, lat.Jright, lat.Jdown) for s in states])
    w = np.exp(-(E - E.min()) / T)
    return w / w.sum(), E


def sampled_codes(lat, T, method, n_samples, thin):
    """Index (row-major bits, 1 = +1) of the state seen every ``thin`` sweeps."""
    weights = 1 << np.arange(lat.L * lat.L)
    codes = np.empty(n_samples, dtype=np.int64)
    lat.sweep(T, 50, method)
    for k in range(n_samples):
        lat.sweep(T, thin, method)
        codes[k] = ((lat.spins.ravel() > 0) * weights).sum()
    return codes


@pytest.mark.parametrize(
    ("L", "couplings", "T", "method"),
    [
        # L = 2 only with heat-bath: see test_metropolis_on_2x2_is_not_ergodic.
        (2, "ferro", 3.0, "heat-bath"),
        *[
            (3, c, T, m)
            for c, T in [("ferro", 2.5), ("pmJ", 1.5), ("hopfield", 1.0)]
            for m in METHODS
        ],
    ],
)
def test_sampled_states_follow_the_exact_boltzmann_distribution(L, couplings, T, method):
    """Checkerboard sweeps leave the Boltzmann distribution invariant (also for odd L, where
    two same-coloured sites touch across the boundary: they are still updated one at a time).

    For n independent samples, E|f_k - p_k| <= sqrt(p_k (1 - p_k) / n), so the expected
    total-variation distance is at most B = 1/2 sum_k sqrt(p_k (1 - p_k) / n). Successive
    samples are correlated; we measure the lag-1 autocorrelation rho of their energy and use
    the effective size n (1 - rho) / (1 + rho), then allow 1.5 B. The same histogram is
    checked against the distribution at a 30 % higher temperature, which it must miss.
    """
    rng = np.random.default_rng(7)
    pats = np.where(rng.random((2, L, L)) < 0.5, -1, 1) if couplings == "hopfield" else None
    lat = Lattice(L, couplings, seed=11, patterns=pats)
    n = 20_000
    codes = sampled_codes(lat, T, method, n, thin=4)
    p, E = exact_distribution(lat, T)
    e = E[codes]
    rho = max(0.0, np.corrcoef(e[:-1], e[1:])[0, 1])
    assert rho < 0.5  # thinning keeps the samples informative
    n_eff = n * (1 - rho) / (1 + rho)
    bound = 0.5 * np.sum(np.sqrt(p * (1 - p) / n_eff))
    freq = np.bincount(codes, minlength=p.size) / n
    tv = 0.5 * np.abs(freq - p).sum()
    assert tv < 1.5 * bound, (tv, bound, rho)
    wrong, _ = exact_distribution(lat, 1.3 * T)
    assert 0.5 * np.abs(freq - wrong).sum() > 1.5 * bound


def test_metropolis_on_2x2_is_not_ergodic():
    """Why the 2 x 2 lattice is sampled with heat-bath only: on it a site whose two
    neighbours disagree feels zero field, and Metropolis always accepts a zero-cost flip.
    The striped state [[+, +], [-, -]] then turns into its mirror and back, sweep after
    sweep, forever: a closed cycle the chain never enters from outside, so the sampled
    histogram misses states that carry 10 % of the Boltzmann weight at T = 3."""
    lat = Lattice(2, start="up")
    stripe = np.array([[1, 1], [-1, -1]])
    lat.spins = stripe
    for k in range(1, 9):
        lat.sweep(3.0, 1, "metropolis")
        np.testing.assert_array_equal(lat.spins, stripe * (-1) ** k)
    lat.set_uniform(1)
    seen = set()
    for _ in range(2000):
        lat.sweep(3.0, 1, "metropolis")
        seen.add(tuple(lat.spins.ravel()))
    assert tuple(stripe.ravel()) not in seen and len(seen) == 12


def test_exp_path_gives_the_same_trajectory_as_the_lookup_table():
    """Hopfield couplings with p images are multiples of 1/p: the kernel looks up exact
    probabilities. Forcing the generic exp path must reproduce the same spins (the two
    differ only by rounding, far below the resolution of a uniform draw)."""
    rng = np.random.default_rng(1)
    pats = np.where(rng.random((3, 16, 16)) < 0.5, -1, 1)
    for method in METHODS:
        a = Lattice(16, "hopfield", seed=5, patterns=pats)
        b = Lattice(16, "hopfield", seed=5, patterns=pats)
        b._q = 0  # generic path, used when p exceeds the table limit
        a.sweep(0.8, 20, method)
        b.sweep(0.8, 20, method)
        np.testing.assert_array_equal(a.spins, b.spins)
    many = np.where(rng.random((300, 4, 4)) < 0.5, -1, 1)  # beyond the table limit
    lat = Lattice(4, "hopfield", patterns=many)
    assert lat._q == 0
    lat.sweep(1.0, 5)


# ------------------------------------------------------------------------------ T = 0


@pytest.mark.parametrize("method", METHODS)
def test_zero_temperature_is_greedy_and_keeps_spins_in_zero_field(method):
    lat = Lattice(16, "pmJ", seed=2)
    energies = [lat.energy()]
    for _ in range(20):
        lat.sweep(0.0, 1, method)
        energies.append(lat.energy())
    assert all(b <= a for a, b in zip(energies, energies[1:], strict=False))
    # Site (1, 1) is visited first (black) and sees two up and two down neighbours.
    for value in (1, -1):
        ferro = Lattice(4, start="up")
        s = ferro.snapshot()
        s[1, 0] = s[1, 2] = -1
        s[1, 1] = value
        ferro.spins = s
        ferro.sweep(0.0, 1, method)
        assert ferro.spins[1, 1] == value


def test_zero_field_keeps_the_spin_with_hopfield_couplings():
    """Couplings k/p are inexact in binary: with p = 5, 0.2 + 0.2 + 0.2 - 0.6 comes out as
    1e-16. Such fields are 0 and must keep the spin. Black sites are visited first, so
    their fields are those of the start; we pick a start that has such a site."""
    L, p = 8, 5
    i, j = np.indices((L, L))
    black = (i + j) % 2 == 0
    for seed in range(50):
        rng = np.random.default_rng(seed)
        pats = np.where(rng.random((p, L, L)) < 0.5, -1, 1)
        lat = Lattice(L, "hopfield", patterns=pats, seed=seed)
        start = lat.snapshot()
        s = start.astype(np.int64)
        # p * h exactly, in integers, and h in floating point summed in the kernel's order.
        ph = np.zeros((L, L), dtype=np.int64)
        for axis in (0, 1):
            for shift in (1, -1):
                ph += (pats * np.roll(pats, shift, axis=axis + 1)).sum(axis=0) * np.roll(
                    s, shift, axis
                )
        Jr, Jd = lat.Jright, lat.Jdown
        h = Jr * np.roll(s, -1, 1) + np.roll(Jr, 1, 1) * np.roll(s, 1, 1)
        h = h + Jd * np.roll(s, -1, 0)
        h = h + np.roll(Jd, 1, 0) * np.roll(s, 1, 0)
        inexact = black & (ph == 0) & (h != 0)
        if inexact.any():
            break
    assert inexact.any()
    lat.sweep(0.0, 1)
    np.testing.assert_array_equal(lat.spins[black & (ph == 0)], start[black & (ph == 0)])
    np.testing.assert_array_equal(lat.spins[black & (ph > 0)], 1)
    np.testing.assert_array_equal(lat.spins[black & (ph < 0)], -1)


def test_both_methods_agree_at_zero_temperature():
    a = Lattice(32, "pmJ", seed=4)
    b = Lattice(32, "pmJ", seed=4)
    a.sweep(0.0, 5, "heat-bath")
    b.sweep(0.0, 5, "metropolis")
    np.testing.assert_array_equal(a.spins, b.spins)


# ------------------------------------------------------------------- phases of the ferromagnet


@pytest.mark.parametrize("method", METHODS)
def test_ferromagnet_is_ordered_below_tc_from_an_ordered_start(method):
    """Onsager's spontaneous magnetisation at T = 1.5 is (1 - sinh(2/T)^-4)^(1/8) = 0.986."""
    lat = Lattice(32, seed=1, start="up")
    ms = []
    for _ in range(200):
        lat.sweep(1.5, 5, method)
        ms.append(lat.magnetization())
    assert min(abs(m) for m in ms) > 0.9
    m0 = (1 - math.sinh(2 / 1.5) ** -4) ** 0.125
    assert np.mean(ms) == pytest.approx(m0, abs=0.01)


@pytest.mark.parametrize("method", METHODS)
def test_ferromagnet_orders_under_a_slow_anneal_from_a_random_start(method):
    """A quench from a random start often freezes into stripes (two domains wrapping the
    torus, |m| far below 1) that live for a very long time; cooling slowly through T_c
    lets one domain win. Fixed seeds: for these four every run ends ordered."""
    schedule = np.linspace(4.0, 1.5, 250)
    for seed in range(4):
        lat = Lattice(32, seed=seed)
        assert abs(lat.magnetization()) < 0.2
        for T in schedule:
            lat.sweep(T, 8, method)
        lat.sweep(1.5, 200, method)
        assert abs(lat.magnetization()) > 0.9, seed


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("start", ["up", "random"])
def test_ferromagnet_is_disordered_at_T4(method, start):
    lat = Lattice(32, seed=2, start=start)
    lat.sweep(4.0, 100, method)
    ms = []
    for _ in range(200):
        lat.sweep(4.0, 2, method)
        ms.append(abs(lat.magnetization()))
    assert np.mean(ms) < 0.2 and ms[-1] < 0.2


def test_energy_tends_to_zero_at_infinite_temperature():
    """Heat-bath at T = 1000: each bond averages tanh(1/T) = 0.001; 200 sweeps of 1024
    nearly independent spins give a standard error near 0.003 on the energy per spin."""
    lat = Lattice(32, seed=3, start="up")
    lat.sweep(1000.0, 10)
    es = []
    for _ in range(200):
        lat.sweep(1000.0, 1)
        es.append(lat.energy_per_spin())
    assert abs(np.mean(es) - (-2 * math.tanh(1e-3))) < 0.015


def test_metropolis_sweeps_barely_mix_at_huge_temperature():
    """A teaching point, not a bug: at T -> infinity Metropolis accepts every flip, so a
    checkerboard sweep turns the whole lattice over (s -> -s) and the energy hardly moves.
    Heat-bath draws each spin afresh and forgets the start in one sweep."""
    lat = Lattice(32, seed=3, start="up")
    lat.sweep(1e6, 1, "metropolis")
    assert lat.magnetization() < -0.99
    lat.sweep(1e6, 1, "heat-bath")
    assert abs(lat.magnetization()) < 0.2


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("T", [2.0, 3.0])
def test_energy_matches_onsager(method, T):
    """L = 64 at T = 2 and 3 (correlation length of a few sites, so finite-size effects are
    far below the noise). The tolerance is four standard errors from 20 batch means."""
    lat = Lattice(64, seed=8, start="up")
    lat.sweep(T, 300, method)
    es = np.empty(2000)
    for k in range(es.size):
        lat.sweep(T, 1, method)
        es[k] = lat.energy_per_spin()
    batches = es.reshape(20, -1).mean(axis=1)
    se = batches.std(ddof=1) / math.sqrt(batches.size)
    assert se < 0.004  # the test has resolving power
    assert abs(es.mean() - onsager_energy_per_spin(T)) < 4 * se + 1e-4, (es.mean(), se)


# ----------------------------------------------------------------------- Hopfield on a lattice


def disc_and_bar_images(L):
    """Two quite different images: a filled disc and vertical bars."""
    i, j = np.indices((L, L))
    disc = np.where((i - L / 2) ** 2 + (j - L / 2) ** 2 < (L / 3) ** 2, 1, -1)
    bars = np.where((j // 4) % 2 == 0, 1, -1)
    return np.stack([disc, bars])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n_images", [1, 2])
def test_hopfield_lattice_recalls_a_stored_image_from_noise(method, n_images):
    L = 32
    images = disc_and_bar_images(L)[:n_images]
    lat = Lattice(L, "hopfield", seed=4, patterns=images)
    rng = np.random.default_rng(0)
    noisy = images[0] * np.where(rng.random((L, L)) < 0.2, -1, 1)  # 20 % of pixels flipped
    lat.spins = noisy
    assert lat.overlap(images[0]) < 0.7
    lat.sweep(0.5, 30, method)
    assert lat.overlap(images[0]) > 0.9
    if n_images == 2:
        assert abs(lat.overlaps()[1]) < 0.5


# ------------------------------------------------------------------------- reproducibility


@pytest.mark.parametrize("couplings", ["ferro", "pmJ"])
@pytest.mark.parametrize("method", METHODS)
def test_same_seed_same_results_and_different_seed_differs(couplings, method):
    def run(seed):
        lat = Lattice(24, couplings, seed=seed)
        lat.sweep(2.5, 10, method)
        lat.randomize()
        lat.sweep(2.0, 5, method)
        return lat.snapshot(), lat.Jright.copy()

    a, Ja = run(42)
    b, Jb = run(42)
    c, _ = run(43)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(Ja, Jb)
    assert not np.array_equal(a, c)
    # A Generator seed works and is consumed (two lattices from one generator differ).
    g = np.random.default_rng(0)
    assert not np.array_equal(Lattice(24, seed=g).spins, Lattice(24, seed=g).spins)
    # randomize(seed) is reproducible on its own.
    lat = Lattice(24)
    lat.randomize(seed=9)
    first = lat.snapshot()
    lat.randomize(seed=9)
    np.testing.assert_array_equal(first, lat.spins)


def test_sizes_up_to_256_and_odd_sizes_run():
    for L in (2, 3, 5, 255, 256):
        lat = Lattice(L, "pmJ", seed=L)
        lat.sweep(1.0, 2, "metropolis")
        lat.sweep(1.0, 2, "heat-bath")
        assert set(np.unique(lat.spins)) <= {-1, 1}
