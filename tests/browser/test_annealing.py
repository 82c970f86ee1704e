"""The annealing section in a real Chromium: one descent, a race, links."""

from __future__ import annotations

import pytest

from engine import OUTCOMES, STRATEGIES, race
from explainers.annealing import _network

from . import helpers
from .helpers import source_data, wait_until

pytestmark = pytest.mark.browser


def open_section(page, url: str) -> list[str]:
    return helpers.open_section(page, url, "annealing-race", "annealing")


def race_counts(page) -> dict[str, dict[str, int]]:
    data = source_data(page, "annealing-race")
    return {k: {o: int(data[o][i]) for o in OUTCOMES} for i, k in enumerate(data["strategy"])}


def race_done(page, n: int):
    counts = race_counts(page)
    return counts if all(sum(c.values()) == n for c in counts.values()) else None


def test_section_alone_renders_without_console_errors(page, app_url):
    errors = open_section(page, app_url + "/annealing")
    assert page.locator(".explainer-section").count() == 1
    schedules = source_data(page, "annealing-schedules")
    assert set(STRATEGIES) <= set(schedules)
    assert page.get_by_role("button", name="Race").count() == 1
    assert page.get_by_role("button", name="Run one descent").count() == 1
    page.wait_for_timeout(500)
    assert errors == []


def test_a_race_of_200_shows_every_strategy_adding_up_to_200(page, app_url):
    errors = open_section(page, app_url + "/annealing")
    page.get_by_role("button", name="Race").click()
    counts = wait_until(lambda: race_done(page, 200), timeout=60)
    assert set(counts) == set(STRATEGIES)
    # The same numbers as the engine's race with the section's default seed (1).
    patterns, W, b = _network()
    expected = race(W, b, patterns, STRATEGIES, 200, seed=1)
    assert counts == {k: expected[k]["counts"] for k in STRATEGIES}
    page.get_by_text("runs per strategy, seed 1").first.wait_for(timeout=10_000)
    assert page.get_by_role("button", name="Race").is_enabled()
    assert errors == []


def test_one_descent_draws_its_traces_and_final_grid(page, app_url):
    errors = open_section(page, app_url + "/annealing?annealing.strategy=quench")
    page.get_by_role("button", name="Run one descent").click()
    n_sweeps = STRATEGIES["quench"]["n_sweeps"]
    wait_until(
        lambda: len(source_data(page, "annealing-temperature")["sweep"]) == n_sweeps, timeout=30
    )
    energies = source_data(page, "annealing-energy")["energy"]
    assert len(energies) == n_sweeps + 1
    assert all(b <= a + 1e-9 for a, b in zip(energies, energies[1:], strict=False))  # T = 0
    page.get_by_text("ended in").first.wait_for(timeout=10_000)
    final = source_data(page, "annealing-final")["state"]
    assert len(final) == 9 and set(final) <= {-1, 1}
    assert errors == []


def test_link_parameters_are_restored(page, app_url):
    url = app_url + "/annealing?annealing.strategy=fast&annealing.n_runs=50&annealing.seed=4"
    errors = open_section(page, url)
    assert page.get_by_role("combobox", name="Strategy").input_value() == "Fast anneal"
    assert page.get_by_role("textbox", name="Seed").input_value() == "4"
    page.get_by_role("button", name="Race").click()
    counts = wait_until(lambda: race_done(page, 50), timeout=60)
    patterns, W, b = _network()
    expected = race(W, b, patterns, STRATEGIES, 50, seed=4)
    assert counts == {k: expected[k]["counts"] for k in STRATEGIES}
    assert errors == []


def test_mangled_link_is_refused_and_the_race_stays_capped(page, app_url):
    url = app_url + "/annealing?annealing.n_runs=1e12&annealing.strategy=%22%3E%3Cb%3E"
    errors = open_section(page, url)
    page.get_by_text("above the largest allowed value").first.wait_for(timeout=20_000)
    assert page.get_by_role("textbox", name="Runs per strategy (10–1000)").input_value() == "1000"
    assert errors == []
