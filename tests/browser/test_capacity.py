"""The capacity section in a real Chromium: the engine's curve, the reader's n and p, links."""

from __future__ import annotations

import numpy as np
import pytest

from engine import capacity_curve, recall_example
from explainers.capacity import load_grid, trials_for

from . import helpers
from .helpers import source_data, wait_until

pytestmark = pytest.mark.browser


def open_section(page, url: str) -> list[str]:
    return helpers.open_section(page, url, "capacity-curve", "capacity")


def curve(page) -> dict:
    return source_data(page, "capacity-curve")


def current(page) -> dict:
    return source_data(page, "capacity-current")


def wait_for_curve(page, n: int, seed: int = 1, noise: float = 0.1) -> dict:
    """Wait until the curve on screen is the engine's curve for these settings."""
    alphas = load_grid(n) / n
    want_r, want_m = capacity_curve(n, alphas, trials_for(n), seed=seed, noise=noise)

    def shown():
        d = curve(page)
        same = (
            len(d["alpha"]) == alphas.size
            and np.allclose(d["alpha"], alphas)
            and np.allclose(np.asarray(d["retrieved"], dtype=float), want_r)
            and np.allclose(np.asarray(d["overlap"], dtype=float), want_m)
        )
        return d if same else None

    return wait_until(shown, timeout=120)


def wait_for_current(page, p: int, timeout: float = 120) -> dict:
    return wait_until(lambda: (c := current(page))["p"] == [p] and c, timeout=timeout)


def test_section_alone_shows_the_engines_curve_and_the_readers_point(page, app_url):
    errors = open_section(page, app_url + "/capacity")
    assert page.locator(".explainer-section").count() == 1
    d = wait_for_curve(page, 100)
    assert wait_for_current(page, 10)["alpha"] == [0.1]
    # n = 100 puts p = 10 on the grid: the red markers sit on both lines.
    k = 9
    assert current(page)["retrieved"][0] == pytest.approx(d["retrieved"][k])
    assert current(page)["overlap"][0] == pytest.approx(d["overlap"][k])
    pattern, _, recalled, overlap = recall_example(100, 10, noise=0.1, seed=1)
    stored = np.asarray(source_data(page, "capacity-stored")["image"][0], dtype=float)
    np.testing.assert_array_equal(stored.reshape(10, 10)[::-1].ravel(), pattern)
    shown = np.asarray(source_data(page, "capacity-recalled")["image"][0], dtype=float)
    np.testing.assert_array_equal(shown.reshape(10, 10)[::-1].ravel(), recalled)
    page.get_by_text(f"m = {overlap:.2f}").first.wait_for(timeout=10_000)
    assert page.get_by_role("button", name="Check it: n = 100, p = 14").count() == 1
    assert errors == []


def test_changing_n_recomputes_the_curve(page, app_url):
    open_section(page, app_url + "/capacity")
    wait_for_curve(page, 100)
    # The first slider is n: one step to the right by keyboard.
    handle = page.locator(".explainer-capacity .noUi-handle").first
    handle.focus()
    page.keyboard.press("ArrowRight")
    wait_for_curve(page, 101)
    page.get_by_text("Units n: 101").first.wait_for(timeout=10_000)


def test_exercise_button_sets_n_100_and_p_14(page, app_url):
    open_section(page, app_url + "/capacity?capacity.n=200&capacity.p=40")
    wait_for_curve(page, 200)
    assert wait_for_current(page, 40)["alpha"] == [0.2]
    page.get_by_role("button", name="Check it: n = 100, p = 14").click()
    wait_for_curve(page, 100)
    assert wait_for_current(page, 14)["alpha"] == [0.14]
    assert "capacity.n=100" in page.url and "capacity.p=14" in page.url


def test_link_parameters_are_restored(page, app_url):
    # n = 400 also makes the first results arrive while the page is still settling.
    url = app_url + "/capacity?capacity.n=400&capacity.p=55&capacity.noise=0.2&capacity.seed=5"
    errors = open_section(page, url)
    wait_for_curve(page, 400, seed=5, noise=0.2)
    wait_for_current(page, 55)
    assert page.get_by_text("Units n: 400").count() == 1
    assert page.get_by_text("Patterns p: 55").count() == 1
    assert page.get_by_role("textbox", name="Seed").input_value() == "5"
    assert errors == []


def test_mangled_link_is_refused_with_a_message_and_the_section_works(page, app_url):
    url = app_url + "/capacity?capacity.n=abc&capacity.p=99999&capacity.noise=inf&capacity.zz=1"
    errors = open_section(page, url)
    page.get_by_text("must be a number").first.wait_for(timeout=20_000)
    wait_for_curve(page, 100)
    wait_for_current(page, 30)  # clamped to 0.30 n
    assert errors == []


def test_an_out_of_range_value_sent_to_the_model_is_refused(page, app_url):
    open_section(page, app_url + "/capacity")
    wait_for_curve(page, 100)
    assert helpers.set_widget(page, "Units n", 100000)
    page.wait_for_timeout(1500)
    # The server kept n = 100: same curve, and the section still answers.
    wait_for_curve(page, 100)
    page.get_by_role("button", name="Check it: n = 100, p = 14").click()
    wait_for_current(page, 14)
