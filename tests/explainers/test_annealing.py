"""The annealing section: schedules, one descent and the race all come from the engine."""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest

import explainers.annealing as mod
from engine import (
    OUTCOMES,
    SHAPES,
    STRATEGIES,
    describe_state,
    energy,
    hebbian,
    local_minima,
    race,
    strategy_temperatures,
    to_spins,
)
from explainers import jobs
from explainers.annealing import MAX_RUNS, MIN_RUNS, Annealing


@pytest.fixture
def a():
    section = Annealing()
    section.__panel__()
    return section


def figures(s):
    return [pane.object for pane in s.__panel__().select(pn.pane.Bokeh)]


def race_button(s) -> pn.widgets.Button:
    (button,) = [b for b in s.__panel__().select(pn.widgets.Button) if b.label == "Race"]
    return button


def progress_bar(s) -> pn.pane.HTML:
    """The race's labelled progress bar (explainers.section.WorkProgress)."""
    (bar,) = [p for p in s.__panel__().select(pn.pane.HTML) if "work-progress" in p.css_classes]
    return bar


def schedule_widths(s) -> dict[str, float]:
    (fig,) = [f for f in figures(s) if f.select_one({"name": "annealing-schedules"})]
    return {r.name: r.glyph.line_width for r in fig.renderers}


def race_rows(a) -> dict[str, dict[str, int]]:
    data = a.source("annealing-race").data
    return {k: {o: int(data[o][i]) for o in OUTCOMES} for i, k in enumerate(data["strategy"])}


def test_network_is_t_o_x_hebbian(a):
    expected = to_spins(np.array([SHAPES["T"].ravel(), SHAPES["O"].ravel(), mod.X_SHAPE.ravel()]))
    np.testing.assert_array_equal(a.network[2], expected)
    np.testing.assert_allclose(a.network[0], hebbian(expected))


def test_spurious_valleys_are_shallower_than_every_memory(a):
    # The text's claim, checked on the engine's list of local minima.
    minima = local_minima(*a.network[:2])
    kinds = np.array([describe_state(m, a.network[2])[0] for m in minima])
    e = energy(*a.network[:2], minima)
    assert (kinds == "spurious").sum() > 0
    assert e[kinds == "spurious"].min() > e[kinds != "spurious"].max() + 0.4
    intro = a.shown_text()
    assert f"{e[kinds != 'spurious'].max():.2f}".replace("-", "−") in intro
    assert f"{e[kinds == 'spurious'].min():.2f}".replace("-", "−") in intro


def test_t_l_o_would_teach_something_false():
    # Why the module does not store T, L and O: a spurious valley is as deep as the deepest
    # memory there, so a perfect anneal would end in spurious states about half the time.
    P = to_spins(np.array([SHAPES[k].ravel() for k in "TLO"]))
    W = hebbian(P)
    minima = local_minima(W, None)
    kinds = np.array([describe_state(m, P)[0] for m in minima])
    e = energy(W, None, minima)
    assert e[kinds == "spurious"].min() == pytest.approx(e.min())


def test_schedules_source_and_highlight(a):
    data = a.source("annealing-schedules").data
    for key in STRATEGIES:
        np.testing.assert_allclose(data[key], strategy_temperatures(**STRATEGIES[key]))
    a.strategy = "quench"
    widths = schedule_widths(a)
    assert widths["quench"] > max(w for k, w in widths.items() if k != "quench")
    a.strategy = "fast"
    widths = schedule_widths(a)
    assert widths["fast"] > widths["quench"]


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_one_descent_shows_engine_energies_temperatures_and_outcome(strategy):
    a = Annealing(strategy=strategy)
    a.__panel__()
    a.start_descent(animate=False)
    assert len(a.source("annealing-energy").data["sweep"]) == 1
    a.advance(mod.SWEEPS_PER_FRAME)  # one animation frame
    assert list(a.source("annealing-temperature").data["sweep"]) == list(
        range(1, mod.SWEEPS_PER_FRAME + 1)
    )
    a.finish_descent()
    temps = strategy_temperatures(**STRATEGIES[strategy])
    np.testing.assert_allclose(a.source("annealing-temperature").data["temperature"], temps)
    energies = np.asarray(a.source("annealing-energy").data["energy"])
    assert energies.size == temps.size + 1
    final = a.chain.s
    W, b, patterns = a.network
    np.testing.assert_array_equal(a.source("annealing-final").data["state"], final)
    assert energies[-1] == pytest.approx(energy(W, b, final))
    kind, k, _ = describe_state(final, patterns, list(mod.NAMES))
    shown = a.descent_outcome()[0]
    if kind != "spurious":
        assert shown == kind
    else:  # a valley exactly when no single flip lowers the energy
        flips = [energy(W, b, final * np.where(np.arange(9) == i, -1, 1)) for i in range(9)]
        assert shown == ("spurious" if min(flips) >= energy(W, b, final) - 1e-9 else "no_valley")
    assert "ended in" in a.shown_text()
    if strategy == "quench":  # T = 0 never raises the energy
        assert np.all(np.diff(energies) <= 1e-12)


def test_descents_are_seeded_and_numbered():
    runs = []
    for _ in range(2):
        a = Annealing(seed=5, strategy="quench")
        finals = []
        for _ in range(3):
            a.start_descent(animate=False)
            a.finish_descent()
            finals.append(tuple(a.chain.s))
        runs.append(finals)
    assert runs[0] == runs[1]
    assert len(set(runs[0])) > 1  # successive descents start from different grids
    a.seed = 6
    assert a.descents == 0


def test_race_counts_sum_to_n_and_match_the_engine(a):
    a.n_runs = 60
    a.seed = 11
    a.start_race()  # without a server the job runs at once
    rows = race_rows(a)
    direct = race(*a.network[:2], a.network[2], STRATEGIES, 60, seed=11)
    assert set(rows) == set(STRATEGIES)
    for key, counts in rows.items():
        assert sum(counts.values()) == 60
        assert counts == direct[key]["counts"]
    assert not race_button(a).disabled
    assert not progress_bar(a).visible
    assert "<b>60</b> runs per strategy, seed 11" in a.shown_text()
    (race_fig,) = [f for f in figures(a) if f.select_one({"name": "annealing-race"})]
    assert race_fig.x_range.end == 60
    assert a.race_results == {k: direct[k]["counts"] for k in STRATEGIES}
    for key in STRATEGIES:
        assert mod.strategy_label(key) in a.shown_text()


def test_same_seed_same_race():
    results = []
    for _ in range(2):
        a = Annealing(n_runs=40, seed=3)
        a.start_race()
        results.append(race_rows(a))
    assert results[0] == results[1]


def test_default_race_teaches_the_lesson(a):
    # Quench stalls in spurious valleys often, a slow anneal almost never.
    a.start_race()
    rows = race_rows(a)
    n = a.n_runs
    assert rows["quench"]["spurious"] >= 0.10 * n
    assert rows["slow"]["spurious"] <= 0.02 * n
    assert rows["fast"]["spurious"] < rows["quench"]["spurious"]


def test_race_button_is_guarded_while_a_race_runs(a, monkeypatch):
    queued = []
    a.racer.runner = lambda job, done, prog, where: queued.append((job, done, prog))
    a.n_runs = 10
    a.start_race()
    assert race_button(a).disabled and progress_bar(a).visible
    a.start_race()  # a second click while running starts nothing
    assert len(queued) == 1
    job, done, prog = queued[0]
    seen = []
    result = job(seen.append)
    assert seen and seen[-1] == pytest.approx(1.0)
    prog(0.5)
    assert 'value="50"' in progress_bar(a).object
    done(result)
    assert not race_button(a).disabled and not progress_bar(a).visible
    assert sum(race_rows(a)["slow"].values()) == 10


def test_a_failing_race_reenables_the_button(a, monkeypatch):
    def boom(*args, **kw):
        raise RuntimeError("injected")

    monkeypatch.setattr(mod, "race", boom)
    reported = []
    monkeypatch.setattr(jobs, "report_exception", lambda exc, where: reported.append(exc))
    a.start_race()
    assert len(reported) == 1 and str(reported[0]) == "injected"
    assert not race_button(a).disabled
    assert a.race_results is None


def test_link_values_restore_and_bad_values_are_clamped_or_refused(a):
    assert a.apply_values({"strategy": "fast", "n_runs": "300", "seed": "9"}) == []
    assert (a.strategy, a.n_runs, a.seed) == ("fast", 300, 9)
    assert a.query() == {
        "annealing.strategy": "fast",
        "annealing.n_runs": "300",
        "annealing.seed": "9",
    }
    msgs = a.apply_values({"strategy": "warp", "n_runs": "100000", "seed": "x", "hack": "1"})
    assert a.strategy == "fast"
    assert a.n_runs == MAX_RUNS
    assert a.seed == 9
    assert len(msgs) == 4
    a.apply_values({"n_runs": "-inf"})
    assert a.n_runs == MAX_RUNS
    a.apply_values({"n_runs": "3"})
    assert a.n_runs == MIN_RUNS


@pytest.mark.parametrize(
    ("name", "value"),
    [("n_runs", MAX_RUNS + 1), ("n_runs", MIN_RUNS - 1), ("strategy", "warp"), ("seed", -1)],
)
def test_out_of_range_sets_raise(a, name, value):
    with pytest.raises(ValueError):
        setattr(a, name, value)


def test_race_names_states_honestly(a):
    # Fixed T ends warm: most of its non-memories are in no valley at all, and the caption
    # says where those settle at T = 0 (numbers from the engine's race, same seed).
    a.start_race()
    rows = race_rows(a)
    assert set(OUTCOMES) == {"memory", "mirror", "spurious", "no_valley"}
    fixed = rows["fixed"]
    assert fixed["no_valley"] > fixed["spurious"]
    assert rows["quench"]["no_valley"] == rows["slow"]["no_valley"] == 0
    settled = a.race_settled["fixed"]
    assert sum(settled.values()) == fixed["no_valley"]
    caption = a.shown_text()
    assert f"Of the {fixed['no_valley']} “Fixed T = 0.5” runs" in caption
    assert f"{settled['memory']} to a memory" in caption


def test_a_warm_descent_says_where_it_would_settle():
    a = Annealing(strategy="fixed", seed=1)
    a.__panel__()
    for _ in range(20):
        a.start_descent(animate=False)
        a.finish_descent()
        if a.descent_outcome()[0] == "no_valley":
            break
    kind, text = a.descent_outcome()
    assert kind == "no_valley" and "Settled at T = 0 it would end in" in text
    assert any(w in text for w in ("stored memory", "mirror image", "spurious valley"))
