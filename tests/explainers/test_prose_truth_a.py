"""Every claim in the prose of hopfield, capacity, sigmoid and distribution, against the engine.

Claims about runs are checked by running the engine (as the page does), so a change that
breaks a sentence breaks the build.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from engine import (
    SHAPES,
    GlauberChain,
    capacity_curve,
    describe_state,
    energy,
    exact_boltzmann,
    hebbian,
    local_fields,
    local_minima,
    max_patterns,
    p_on,
    settle,
    to_spins,
)
from engine.examples import (
    corruption_outcomes,
    first_crossing,
    four_unit_example,
    reachable_fixed_points,
)
from explainers import prose
from explainers.capacity import Capacity, load_grid, trials_for
from explainers.conventions import note_markdown
from explainers.distribution import TV_FLOOR, BoltzmannDistribution, glyph_text
from explainers.four_units import ORDERS, FourUnits, outcome_for
from explainers.hopfield import MAX_FLIPS, HopfieldGrid, basin_facts
from explainers.sigmoid import StochasticNeuron, p_turn_on
from explainers.site import page

PATTERNS = to_spins(np.array([SHAPES[k].ravel() for k in "TL"]))
W = hebbian(PATTERNS)
B = np.zeros(9)


def end_name(s) -> str:
    return describe_state(s, PATTERNS, ["T", "L"])[2]


# -- hopfield: "Corrupt a memory" and the basins ------------------------------------------
def random_site_orders(n_orders: int, seed: int) -> np.ndarray:
    """Update orders like the page's: every update picks a cell at random."""
    return np.random.default_rng(seed).integers(9, size=(n_orders, 400))


@pytest.mark.parametrize("mu", [0, 1])
def test_all_36_two_cell_corruptions_in_the_pages_update_order(mu):
    """3 of 36 end in the other memory's mirror whatever the order; 33 come back."""
    other = 1 - mu
    orders = random_site_orders(40, seed=mu)
    wrong, right = [], []
    for cells in itertools.combinations(range(9), 2):
        s = PATTERNS[mu].copy()
        s[list(cells)] *= -1
        ends = {end_name(settle(W, B, s, order=o)) for o in orders}
        # and the page's own process: the heat-bath chain at T = 0, random sites
        for seed in range(10):
            chain = GlauberChain(W, B, s, 0.0, seed=seed)
            chain.run(300)
            ends.add(end_name(chain.s))
        if ends == {f"mirror of {'TL'[other]}"}:
            wrong.append(cells)
        elif ends == {f"memory {'TL'[mu]}"}:
            right.append(cells)
        else:
            pytest.fail(f"{cells}: ends vary with the order: {ends}")
    facts = basin_facts()
    assert len(wrong) == facts["t_wrong" if mu == 0 else "l_wrong"] == 3
    assert len(right) == facts["t_right"] == 33
    # exactly the pairs among the cells where the memory and the other's mirror differ
    differ = np.flatnonzero(PATTERNS[mu] != -PATTERNS[other])
    assert sorted(wrong) == sorted(itertools.combinations(differ.tolist(), 2))
    assert facts["distance"] == differ.size == 3


def test_single_flips_always_come_back_and_the_press_percentage():
    for mu in range(2):
        for cells, ends in corruption_outcomes(W, B, PATTERNS[mu], 1):
            assert [end_name(e) for e in ends] == [f"memory {'TL'[mu]}"], cells
    facts = basin_facts()
    assert facts["single_wrong"] == 0
    # memory uniform, flips 1..MAX_FLIPS uniform, cells uniform: 1/2 · 1/2 · 3/36 · 2 / 2
    p = np.mean([np.mean([0 / 9, 3 / 36]) for _ in range(2)])
    assert MAX_FLIPS == 2
    assert facts["percent"] == f"{100 * p:.0f}" == "4"


def test_the_basins_paragraph_quotes_the_engine():
    h = HopfieldGrid()
    text = h.basins_text()
    assert "Of the 36 ways to flip two cells of T, 3 end in" in text
    assert "and so do 3 of L's 36" in text and "the other 33 come back" in text
    assert "differ in only\n3 cells" in text or "differ in only 3 cells" in text.replace("\n", " ")
    assert "row 1, column 1; row 2, column 3; row 3, column 2" in text.replace("\n", " ")
    assert "about\n4 %" in text or "about 4 %" in text.replace("\n", " ")


def test_a_wrong_basin_corruption_is_announced_and_the_status_says_so():
    h = HopfieldGrid(temperature=0.0, seed=3)
    h.__panel__()
    seen_wrong = seen_right = 0
    for _ in range(120):
        name, cells = h.corrupt()
        mu = "TL".index(name)
        predicted = reachable_fixed_points(W, B, h.state)
        wrong = len(predicted) == 1 and end_name(predicted[0]).startswith("mirror")
        h.advance(300)
        kind, words = h.status()
        if wrong:
            seen_wrong += 1
            other = "LT"[mu]
            assert "These are two of the" in h.shown_text()
            assert kind == "mirror"
            assert words.startswith(f"settled in inverted {other}") and name in words
        else:
            seen_right += 1
            assert "These are two of the" not in h.shown_text()
            assert (kind, words) == ("memory", f"settled in {name}")
    assert seen_wrong >= 1 and seen_right >= 50


def test_the_intro_claims():
    intro = prose.text("hopfield", "intro")
    # "With just two memories this little network has no other valleys"
    names = sorted(end_name(m) for m in local_minima(W, B))
    assert names == ["memory L", "memory T", "mirror of L", "mirror of T"]
    # "the annealing section stores three pictures (T, O and X)"
    from explainers.annealing import NAMES as ANNEALING_NAMES

    assert tuple(ANNEALING_NAMES) == ("T", "O", "X")
    assert "three pictures (T, O and X)" in intro.replace("\n", " ")
    # p(+1) = σ(2h/T) and p(obey) = σ(2|h|/T): exact heat-bath probabilities, both signs
    for h, T in [(0.7, 0.5), (-0.7, 0.5), (-2.0, 3.0)]:
        p_plus = p_on(2 * h, T)
        p_obey = p_plus if h > 0 else 1 - p_plus
        assert p_obey == pytest.approx(1 / (1 + math.exp(-2 * abs(h) / T)))
    assert "σ(2h/T)" in intro and "σ(2|h|/T)" in intro and "(#conventions)" in intro
    # the formula's w_ij = (1/9) Σ_μ ξ_i ξ_j, zero diagonal
    np.testing.assert_allclose(W * 9, PATTERNS.T @ PATTERNS - 2 * np.eye(9))
    assert r"w_{ij} = \tfrac{1}{9}\sum_{\mu}" in prose.text("hopfield", "formula")


def test_the_heat_bath_rule_is_sigma_2h_over_T_for_spins():
    """The factor 2: conditional of the exact Boltzmann distribution of a ±1 network."""
    states, _, probs = exact_boltzmann(W, B, 0.8)
    s = states[5]
    i = 4
    h = local_fields(W, B, s)[i]
    plus, minus = s.copy(), s.copy()
    plus[i], minus[i] = 1, -1
    p = {tuple(x): q for x, q in zip(states.tolist(), probs, strict=True)}
    cond = p[tuple(plus)] / (p[tuple(plus)] + p[tuple(minus)])
    assert cond == pytest.approx(1 / (1 + math.exp(-2 * h / 0.8)))
    # ΔE of turning on is −2h (the sigmoid section's convention)
    assert energy(W, B, plus) - energy(W, B, minus) == pytest.approx(-2 * h)
    assert p_turn_on(-2 * h, 0.8) == pytest.approx(cond)


def test_hopfield_try_this_cold_settles_hot_never_does():
    """'near 0 ... drops into T or L (or a mirror image) and stays'; 'drag the
    temperature to 2: the grid boils and never settles'."""
    for seed in range(4):
        cold = HopfieldGrid(temperature=0.0, seed=seed)
        cold.advance(200)
        assert cold.status()[0] in ("memory", "mirror")
        state = cold.state.copy()
        cold.advance(500)
        assert (cold.state == state).all()
        hot = HopfieldGrid(temperature=2.0, seed=seed)
        for _ in range(300):  # frames of 10 updates, as at speed 10
            hot.advance(10)
            assert hot.status()[0] == "exploring"


# -- the 4-unit example --------------------------------------------------------------------
def test_four_units_outcome_depends_on_who_moves_first():
    ex = four_unit_example()
    assert ex.patterns.tolist() == [[1, 1, -1, -1], [1, -1, 1, -1]]
    assert ex.start.tolist() == [1, 1, -1, 1]
    np.testing.assert_allclose(ex.W * 4, ex.patterns.T @ ex.patterns - 2 * np.eye(4))
    xi1, xi2 = ex.patterns
    for label, order in ORDERS.items():
        end = settle(ex.W, ex.b, ex.start, order=order)
        expected = xi1 if order.index(3) < order.index(0) else -xi2
        assert end.tolist() == expected.tolist(), label
        demo = FourUnits()
        demo.order_select.value = label
        assert demo.run_to_end() == ("ξ¹" if order.index(3) < order.index(0) else "−ξ²")
        assert demo.state.tolist() == end.tolist()
    assert outcome_for((3, 0, 1, 2)) == "ξ¹" and outcome_for((0, 1, 2, 3)) == "−ξ²"
    # both are reachable and nothing else is
    ends = reachable_fixed_points(ex.W, ex.b, ex.start)
    assert sorted(map(tuple, ends.tolist())) == sorted([tuple(xi1), tuple(-xi2)])


def test_four_units_intro_and_steps_quote_the_engine():
    demo = FourUnits()
    text = demo.intro_text()
    assert "only units 1 and 4 disagree" in text
    assert "Unit 4 first gives back **ξ¹**" in text and "unit 1 first ends in\n**−ξ²**" in text
    demo.order_select.value = "4 → 3 → 2 → 1"
    demo.step()  # unit 4: field −0.5, flips to −1
    assert "Unit 4: field h = −0.50, so it flips from +1 to −1." in demo.message.object
    assert demo.state.tolist() == [1, 1, -1, -1]
    demo.reset()
    assert demo.state.tolist() == [1, 1, -1, 1] and demo.position == 0


# -- sigmoid ------------------------------------------------------------------------------
def test_sigmoid_try_this_limits():
    s = StochasticNeuron(delta_e=-2.0)
    for T in (1.0, 0.2, 0.05):
        s.temperature = T
    assert s.p > 0.999  # "slide T down towards 0: p climbs to 1"
    s.temperature = 10.0
    for de in (-2.0, 3.0):
        s.delta_e = de
        assert abs(s.p - 0.5) < 0.1  # "push T up to 10: p sinks towards ½"


# -- distribution -------------------------------------------------------------------------
def test_distribution_default_staircase_claim():
    d = BoltzmannDistribution()
    levels = d.energy_levels()
    np.testing.assert_allclose(np.diff(levels), 0.5)
    text = d.ratio_text()
    assert "ΔE = 0.50 higher" in text
    assert f"1/{np.exp(0.5):.3g}" == "1/1.65" and "1/1.65" in text
    assert "e<sup>0.5</sup> ≈ 1.65" in prose.text("distribution", "ratio")
    assert f"{math.exp(0.5):.2f}" == "1.65"


def test_distribution_try_this_with_the_default_network():
    """'down to 0.2 ... one bar swallow almost everything'; 'up to 10 ... level out'."""
    d = BoltzmannDistribution(temperature=0.2)
    assert d.stats.probs.max() > 0.9
    d.temperature = 10.0
    assert d.stats.probs.max() - d.stats.probs.min() < 0.03  # all near 1/16 = 0.0625


@pytest.mark.parametrize(
    ("weights", "T"), [({"w12": 2.0, "w34": -1.3, "b2": 0.4}, 0.7), ({"w13": 3.0}, 2.5)]
)
def test_distribution_ratio_follows_edits(weights, T):
    d = BoltzmannDistribution()
    d.param.update(temperature=T, **weights)
    states, energies, probs = exact_boltzmann(d.W, d.b, T)
    levels = np.unique(np.round(energies, 9))
    gap = levels[1] - levels[0]
    text = d.shown_text()
    assert f"ΔE = {gap:.2f} higher" in text and f"T = {T:.2f}" in text
    assert f"1/{math.exp(gap / T):.3g}" in text


def test_distribution_ratio_at_large_odds_is_readable():
    d = BoltzmannDistribution(temperature=0.05)
    gap = d.energy_levels()[1] - d.energy_levels()[0]
    mant, exp = f"{math.exp(gap / 0.05):.1e}".split("e")
    assert int(exp) >= 4
    sup = str(int(exp)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    assert f"1/{mant} × 10{sup}" in d.shown_text()


def test_distribution_flat_and_tied_states():
    d = BoltzmannDistribution()
    d.param.update(**{n: 0.0 for n in ("w12", "w13", "w14", "w23", "w24", "w34", "b1")})
    assert "all 16 states have the same energy" in d.shown_text()
    assert d.readouts["most likely state"] == "16 tied: p = 0.062 each"
    d.param.update(**{n: 3.0 for n in ("w12", "w13", "w14", "w23", "w24", "w34")})
    top = d.most_likely()
    assert top.size == 2  # all on and all off
    assert d.readouts["most likely state"] == (
        f"{glyph_text(d.stats.states[top[0]])} = {glyph_text(d.stats.states[top[1]])}"
        ": p = 0.500 each"
    )


def test_distribution_tv_axis_is_floored_and_says_so():
    d = BoltzmannDistribution(temperature=0.05, n_samples=2000)
    extreme = ("w12", "w13", "w14", "w23", "w24", "w34", "b1", "b2", "b3", "b4")
    d.param.update(**dict.fromkeys(extreme, 3.0))
    d.__panel__()
    d.request_sample()  # outside a server session the job runs at once
    result = d.last_sample
    smallest = min(v for v in np.concatenate([result["tv"], result["guide"]]) if v > 0)
    assert smallest < TV_FLOOR  # the case the floor is for (was 10⁻²⁰⁸ on the axis)
    assert d.tv_range[0] >= TV_FLOOR / 1.6 - 1e-18
    assert "stops at 1.0 × 10⁻⁵" in d.shown_text()


def test_sampling_claims_cold_chains_stay_well_above_the_guide():
    """'shrinks roughly like 1/√N' at T = 1; at T ≈ 0.3 'several times above it, for most
    seeds' (default network)."""
    from explainers.distribution import _sample_job

    d = BoltzmannDistribution()
    ratios = {1.0: [], 0.3: []}
    for T in ratios:
        for n in (2000, 20000):
            for seed in (1, 2, 3):
                r = _sample_job(d.W, d.b, T, n, seed)
                ratios[T].append(r["tv"][-1] / r["guide"][-1])
    assert max(ratios[1.0]) < 2.0
    assert min(ratios[0.3]) > 2.0 and np.median(ratios[0.3]) > 4.0
    assert "several times above\nit, for most seeds" in prose.text("distribution", "sampling")


# -- capacity -----------------------------------------------------------------------------
def curve(n: int, noise: float = 0.1, seed: int = 1):
    alphas = load_grid(n) / n
    r, _ = capacity_curve(n, alphas, n_trials=trials_for(n), seed=seed, noise=noise)
    return alphas, r


def test_capacity_half_point_and_exercise_answer_are_read_off_the_engines_curve():
    c = Capacity()
    alphas, r = curve(100)
    key = (100, 0.1, 1, trials_for(100))
    half = first_crossing(alphas, r, 0.5)
    p90 = first_crossing(alphas, r, 0.9) * 100
    text = c.half_text(key, alphas, r)
    assert f"α ≈ <b>{half:.3f}</b>" in text and f"(p ≈ {half * 100:.0f})" in text
    assert ("above" if half > 0.138 + 0.01 else "close to") in text
    answer = c.exercise_answer(key, alphas, r)
    assert f"p = <b>{p90:.0f}</b>" in answer and f"p =\n<b>{half * 100:.0f}</b>" in answer
    assert max_patterns(100) == 14  # "0.138 × 100 ≈ 14"
    assert "≈ <b>14</b>" in prose.text("capacity", "exercise", rule=max_patterns(100))
    # not the n = 100 curve: no answer claimed
    assert c.exercise_answer((200, 0.1, 1, 1), alphas, r) == prose.text(
        "capacity", "exercise_pending"
    )


def test_capacity_success_threshold_is_the_engines():
    from engine import RETRIEVAL_THRESHOLD

    assert RETRIEVAL_THRESHOLD == 0.95
    assert "m > 0.95" in prose.text("capacity", "intro").replace("\n", " ")


def test_capacity_claims_about_n_100_and_400():
    """'a few hundred units ... crosses one half somewhere else' and 'at 400 the drop
    gets steeper', for the default noise and seed."""
    width = {}
    for n in (100, 400):
        alphas, r = curve(n)
        half = first_crossing(alphas, r, 0.5)
        assert abs(half - 0.138) > 0.01, n
        width[n] = first_crossing(alphas, r, 0.1) - first_crossing(alphas, r, 0.9)
    assert width[400] < width[100]


def test_first_crossing():
    assert first_crossing([0, 1, 2, 3], [1, 0.8, 0.4, 0.1], 0.5) == pytest.approx(1.75)
    assert np.isnan(first_crossing([0, 1], [1, 0.9], 0.5))
    assert first_crossing([0, 1], [0.2, 0.1], 0.5) == 0
    assert first_crossing([0, 1, 2], [1, np.nan, 0], 0.5) == pytest.approx(1.0)


# -- the conventions note -----------------------------------------------------------------
def test_conventions_note_has_the_anchor_and_every_convention():
    md = note_markdown()
    assert md.startswith('<details id="conventions">')
    for words in (
        "±1",
        "0 (off) or 1 (on)",
        "ΔE = E(after) − E(before)",
        "2h<sub>i</sub>",
        "σ(2|h<sub>i</sub>|/T)",
        "σ(h/T)",
        "T = 1",
        "weights\n4w<sub>ij</sub>",
    ):
        assert words in md, words
    assert md in page._header(["hopfield"]).object  # shown in the story's header pane


def test_every_formula_of_these_sections_links_to_the_conventions():
    for key, part in [
        ("hopfield", "intro"),
        ("sigmoid", "intro"),
        ("distribution", "intro"),
        ("capacity", "intro"),
    ]:
        assert "[conventions](#conventions)" in prose.text(key, part), key


def test_zero_one_units_have_no_factor_2():
    """The note's claim: with 0/1 units p(x_i = 1) = σ(h_i / T), and s = 2x − 1 maps the
    0/1 network to a ±1 one with weights × 4 (biases shifted)."""
    rng = np.random.default_rng(0)
    n, T = 4, 0.9
    J = np.triu(rng.normal(size=(n, n)), 1)
    J = J + J.T
    a = rng.normal(size=n)
    xs = np.array(list(itertools.product([0, 1], repeat=n)))
    e01 = -0.5 * np.einsum("ki,ij,kj->k", xs, J, xs) - xs @ a
    p01 = np.exp(-e01 / T)
    p01 /= p01.sum()
    # conditional of unit 0 given the others, from the joint
    x = xs[6].copy()
    on, off = x.copy(), x.copy()
    on[0], off[0] = 1, 0
    k_on = int("".join(map(str, on)), 2)
    k_off = int("".join(map(str, off)), 2)
    h = J[0] @ x + a[0]
    assert p01[k_on] / (p01[k_on] + p01[k_off]) == pytest.approx(1 / (1 + np.exp(-h / T)))
    # the same distribution as ±1 spins with W = J / 4 and b = a / 2 + row sums of J / 4
    Wpm = J / 4
    bpm = a / 2 + J.sum(axis=1) / 4
    states, _, probs = exact_boltzmann(Wpm, bpm, T)
    got = {
        tuple(((s + 1) // 2).astype(int).tolist()): q for s, q in zip(states, probs, strict=True)
    }
    for k, xk in enumerate(xs):
        assert got[tuple(xk.tolist())] == pytest.approx(p01[k])
