"""The wake-and-sleep learning section in a real Chromium."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import BoltzmannLearner, data_moments
from explainers.learning import DATA, INIT_STD

from . import helpers
from .helpers import source_data, wait_until

pytestmark = pytest.mark.browser


def _open(page, url: str) -> list[str]:
    return helpers.open_section(page, url, "learning-kl", "learning")


def _curve(page) -> dict:
    return source_data(page, "learning-kl")


def test_train_makes_kl_fall_and_the_shapes_likely(page, app_url):
    errors = _open(page, app_url + "/learning")
    assert len(_curve(page)["step"]) == 1  # the starting point
    page.get_by_role("button", name="Train").click()
    wait_until(lambda: len(_curve(page)["step"]) >= 150, timeout=60)
    page.get_by_role("button", name="Pause").click()
    curve = _curve(page)
    kl = np.asarray(curve["kl_exact"], dtype=float)
    assert not np.isnan(kl).any()
    assert np.all(np.diff(kl) <= 1e-9)  # exact gradient, small steps: never rises
    assert kl[-1] < kl[0] / 10
    # the same numbers as the engine's own learner with the default settings
    np.testing.assert_array_equal(curve["step"], np.arange(len(kl)))
    ref = BoltzmannLearner(9, seed=1, init_std=INIT_STD)
    expected = [ref.step(DATA, lr=0.03).kl for _ in range(len(kl))]
    np.testing.assert_allclose(kl, expected, rtol=1e-9)
    probs = source_data(page, "learning-probs")["prob"]
    assert sum(probs) == pytest.approx(1.0)
    assert min(probs[:3]) > 0.2
    # the three correlation maps are on the page and the data map is the data's
    flat = np.asarray(source_data(page, "learning-data-corr")["image"][0], dtype=float)
    np.testing.assert_allclose(flat.reshape(9, 9)[::-1], data_moments(DATA)[1])
    assert errors == []


def test_step_takes_one_step(page, app_url):
    errors = _open(page, app_url + "/learning")
    page.get_by_role("button", name="Step").click()
    wait_until(lambda: len(_curve(page)["step"]) == 2)
    page.get_by_role("button", name="Step").click()
    wait_until(lambda: len(_curve(page)["step"]) == 3)
    page.get_by_role("button", name="Reset").click()
    wait_until(lambda: len(_curve(page)["step"]) == 1)
    assert errors == []


def test_a_link_restores_the_settings(page, app_url):
    errors = _open(
        page,
        app_url + "/learning?learning.lr=0.1&learning.negative=sampled&learning.n_samples=300"
        "&learning.seed=5",
    )
    page.get_by_text("0.100").first.wait_for()  # the learning-rate slider
    page.get_by_role("button", name="Step").click()
    page.get_by_role("button", name="Step").click()
    curve = wait_until(lambda: (c := _curve(page)) and len(c["step"]) == 3 and c)
    # a sampled sleep phase puts its points on the sampled curve
    sampled = [v for v in curve["kl_sampled"] if v is not None and not math.isnan(v)]
    assert len(sampled) == 3  # steps 0, 1, 2, all drawn as "sampled"
    ref = BoltzmannLearner(9, seed=5, init_std=INIT_STD)
    expected = [ref.step(DATA, lr=0.1, negative="sampled", n_samples=300).kl for _ in range(2)]
    np.testing.assert_allclose(sampled, [*expected, ref.kl(DATA)], rtol=1e-9)
    inputs = page.locator(".explainer-learning input.bk-input")
    values = [inputs.nth(i).input_value() for i in range(inputs.count())]
    assert "5" in values  # the seed box
    assert errors == []


def test_the_section_alone_at_its_own_url(page, app_url):
    errors = _open(page, app_url + "/learning")
    assert page.locator(".explainer-learning").count() == 1
    assert page.locator(".explainer-section").count() == 1
    assert errors == []
