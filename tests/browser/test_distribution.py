"""The Boltzmann-distribution section in a real Chromium."""

from __future__ import annotations

import numpy as np
import pytest

from engine import empirical_distribution, exact_boltzmann, sample_states
from explainers.distribution import BoltzmannDistribution

from . import helpers
from .helpers import source_data, wait_until

pytestmark = pytest.mark.browser


def _open(page, url: str) -> list[str]:
    return helpers.open_section(page, url, "distribution-bars", "distribution")


def _probs(page) -> np.ndarray:
    return np.asarray(source_data(page, "distribution-bars")["prob"], dtype=float)


def _network(**params):
    s = BoltzmannDistribution(**params)
    return s.W, s.b


def test_temperature_slider_moves_the_bars_and_they_still_sum_to_one(page, app_url):
    errors = _open(page, app_url + "/distribution")
    W, b = _network()
    start = _probs(page)
    np.testing.assert_allclose(start, exact_boltzmann(W, b, 1.0)[2], rtol=1e-9)
    handle = page.locator(".explainer-distribution .noUi-handle").first  # temperature
    handle.focus()
    for _ in range(4):
        handle.press("ArrowRight")
    hotter = exact_boltzmann(W, b, 1.2)[2]
    wait_until(lambda: np.allclose(_probs(page), hotter, rtol=1e-9))
    assert _probs(page).sum() == pytest.approx(1.0, abs=1e-9)
    assert _probs(page).max() < start.max()  # hotter is flatter
    for _ in range(8):
        handle.press("ArrowLeft")
    colder = exact_boltzmann(W, b, 0.8)[2]
    wait_until(lambda: np.allclose(_probs(page), colder, rtol=1e-9))
    assert _probs(page).sum() == pytest.approx(1.0, abs=1e-9)
    assert page.get_by_text("Temperature T:").first.is_visible()
    assert errors == []


def test_sample_overlays_the_samplers_frequencies(page, app_url):
    errors = _open(page, app_url + "/distribution")
    assert len(source_data(page, "distribution-samples")["freq"]) == 0
    page.get_by_role("button", name="Sample", exact=True).click()
    freq = wait_until(
        lambda: (d := source_data(page, "distribution-samples")) and len(d["freq"]) == 16 and d,
        timeout=30,
    )["freq"]
    W, b = _network()
    expected = empirical_distribution(sample_states(W, b, 1.0, 2000, seed=1), 4)
    np.testing.assert_allclose(freq, expected)
    assert sum(freq) == pytest.approx(1.0)
    tv = source_data(page, "distribution-tv")
    assert tv["n"][-1] == 2000 and tv["tv"][-1] < tv["tv"][0]
    page.get_by_text("total-variation distance").first.wait_for()
    assert errors == []


def test_a_link_restores_the_network_temperature_and_samples(page, app_url):
    query = (
        "distribution.temperature=0.3&distribution.w12=-1.5&distribution.b4=0.75"
        "&distribution.n_samples=5000&distribution.seed=7"
    )
    errors = _open(page, f"{app_url}/distribution?{query}")
    W, b = _network(w12=-1.5, b4=0.75)
    expected = exact_boltzmann(W, b, 0.3)[2]
    wait_until(lambda: np.allclose(_probs(page), expected, rtol=1e-9))
    page.get_by_text("0.30").first.wait_for()  # the slider shows the restored value
    page.get_by_role("button", name="Sample", exact=True).click()
    freq = wait_until(
        lambda: (d := source_data(page, "distribution-samples")) and len(d["freq"]) == 16 and d,
        timeout=30,
    )["freq"]
    np.testing.assert_allclose(
        freq, empirical_distribution(sample_states(W, b, 0.3, 5000, seed=7), 4)
    )
    assert errors == []


def test_the_section_alone_at_its_own_url(page, app_url):
    errors = _open(page, app_url + "/distribution")
    assert page.locator(".explainer-distribution").count() == 1
    assert page.locator(".explainer-section").count() == 1
    # the diagram's text alternative names every weight and bias
    assert page.locator(".explainer-distribution svg title").first.text_content().count("=") == 10
    assert errors == []
