"""The modern section in a real Chromium: recall, the β bars, the capacity curves."""

from __future__ import annotations

import numpy as np
import pytest

from engine import DENSE_KINDS, modern_retrieve
from explainers.modern import LETTERS, ModernHopfield

from . import helpers
from .helpers import source_data, wait_until

pytestmark = pytest.mark.browser


def open_section(page, url: str) -> list[str]:
    return helpers.open_section(page, url, "modern-attention", "modern", idle=True)


def weights(page) -> list[float]:
    return [float(w) for w in source_data(page, "modern-attention")["weight"]]


def test_recall_button_shows_four_results_and_beta_moves_the_bars(page, app_url):
    errors = open_section(page, app_url + "/modern")
    assert page.locator(".explainer-section").count() == 1
    expected = ModernHopfield()
    want = expected.recall()
    assert source_data(page, "modern-recall")["rule"] == []
    page.get_by_role("button", name="Recall").click()
    shown = wait_until(lambda: (d := source_data(page, "modern-recall"))["rule"] and d)
    assert shown["overlap"] == pytest.approx([want[k][3] for k in DENSE_KINDS])
    exp_img = np.asarray(source_data(page, "modern-result-exp")["image"][0], dtype=float)
    np.testing.assert_array_equal(exp_img.reshape(10, 10)[::-1].ravel(), LETTERS["M"])
    page.get_by_text("failed").first.wait_for(timeout=10_000)

    # The β slider (one step right by keyboard) changes the bars to the engine's weights.
    before = weights(page)
    handle = page.locator(".explainer-modern .noUi-handle").nth(2)
    handle.focus()
    page.keyboard.press("ArrowRight")
    _, patterns = expected.stored()
    start = expected.start().astype(float)
    _, _, w = modern_retrieve(patterns, start, 0.155, max_iter=500)
    wait_until(lambda: np.allclose(weights(page), w))
    assert not np.allclose(before, w)
    assert "modern.beta=0.155" in page.url
    page.get_by_text("Inverse temperature β: 0.155").first.wait_for(timeout=10_000)

    # The capacity curves arrive from the background job, one column per energy.
    cap = wait_until(lambda: (d := source_data(page, "modern-capacity"))["p"] and d, timeout=120)
    assert set(cap) >= {"p", "k2", "k3", "k5", "exp"} and cap["k2"][0] == 1.0
    assert errors == []


def test_link_state_is_restored(page, app_url):
    url = app_url + "/modern?modern.letter=E&modern.beta=0.5&modern.letters=5"
    errors = open_section(page, url)
    wait_until(lambda: len(weights(page)) == 5)
    s = ModernHopfield(letter="E", beta=0.5, letters=5)
    np.testing.assert_allclose(weights(page), s.source("modern-attention").data["weight"])
    page.get_by_role("button", name="Recall").click()
    wait_until(lambda: source_data(page, "modern-recall")["rule"])
    assert errors == []
