"""The RBM section in a real Chromium: training, reconstruction, dreams, links."""

from __future__ import annotations

import math
from urllib.parse import parse_qs

import pytest

from engine import SHAPES

from . import helpers
from .helpers import source_data, wait_until

pytestmark = pytest.mark.browser

T_BITS = [int(v) for v in SHAPES["T"].ravel()]

# Every figure's laid-out size, so a blank (unsized) figure fails the test.
JS_FIGURE_SIZES = """
() => {
  const out = [];
  const walk = (view) => {
    if (view.model.constructor.__name__ === 'Figure' && view.layout) {
      out.push([view.layout.bbox.width, view.layout.bbox.height]);
    }
    for (const c of (view.child_views || [])) walk(c);
  };
  for (const v of Object.values(Bokeh.index)) walk(v);
  return out;
}
"""

# Widget values by title (sliders, inputs) and the active index of button groups.
JS_WIDGETS = """
() => {
  const out = {};
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      if (typeof m.title === 'string' && m.value !== undefined) out[m.title] = m.value;
      if (Array.isArray(m.labels) && m.active !== undefined) out[m.labels.join('|')] = m.active;
    }
  }
  return out;
}
"""


def _open(page, url: str) -> list[str]:
    return helpers.open_section(page, url, "rbm-error", "rbm", idle=True)


def _query(page) -> dict[str, list[str]]:
    # Read the live location: Playwright's page.url only catches up with replaceState
    # when it next talks to the browser.
    return parse_qs(page.evaluate("location.search").lstrip("?"))


def _steps(page) -> list[int]:
    return source_data(page, "rbm-error")["step"]


def test_the_section_alone_at_its_own_url(page, app_url):
    errors = _open(page, app_url + "/rbm")
    assert page.locator(".explainer-section").count() == 1
    data = source_data(page, "rbm-error")
    assert data["step"] == [0]
    # An untrained model sits at the uniform floor, −9 log 2.
    assert data["loglik"][0] == pytest.approx(-9 * math.log(2), abs=0.05)
    # Every figure (curves, fields, grids, bars, dreams) was laid out with a real size.
    wait_until(lambda: len(page.evaluate(JS_FIGURE_SIZES)) >= 7, timeout=30)
    sizes = page.evaluate(JS_FIGURE_SIZES)
    assert all(w > 0 and h > 0 for w, h in sizes), sizes
    assert page.get_by_text("switches from ±1 spins to").count() == 1
    assert errors == []


def test_training_drives_the_error_below_005_and_a_corrupted_t_comes_back_as_t(page, app_url):
    errors = _open(page, app_url + "/rbm")
    page.get_by_role("button", name="Train").click()
    wait_until(lambda: min(source_data(page, "rbm-error")["error"]) < 0.05, timeout=90)
    page.get_by_role("button", name="Pause").click()
    data = source_data(page, "rbm-error")
    assert data["step"][-1] >= 100 and data["error"][0] > 0.15
    assert max(data["loglik"]) > data["loglik"][0] + 2.0  # the likelihood rose too

    page.get_by_role("button", name="Corrupted T").click()
    wait_until(
        lambda: (
            sum(
                int(v > 0.5) != t
                for v, t in zip(source_data(page, "rbm-visible")["state"], T_BITS, strict=True)
            )
            == 1
        )
    )
    before = source_data(page, "rbm-reconstruction")["state"]
    page.get_by_role("button", name="Reconstruct").click()
    wait_until(lambda: source_data(page, "rbm-reconstruction")["state"] != before)
    recon = source_data(page, "rbm-reconstruction")["state"]
    assert [int(v > 0.5) for v in recon] == T_BITS
    hidden = source_data(page, "rbm-hidden")["prob"]
    assert len(hidden) == 4 and all(0.0 <= p <= 1.0 for p in hidden)
    assert page.get_by_text("the reconstruction is T").count() == 1
    assert errors == []


def test_step_reset_and_dream(page, app_url):
    errors = _open(page, app_url + "/rbm?rbm.seed=3")
    step = page.get_by_role("button", name="Step")
    for _ in range(3):
        step.click()
    wait_until(lambda: _steps(page) == [0, 1, 2, 3])
    first = source_data(page, "rbm-error")["error"]
    page.get_by_role("button", name="Reset").click()
    wait_until(lambda: _steps(page) == [0])
    for _ in range(3):
        step.click()
    wait_until(lambda: _steps(page) == [0, 1, 2, 3])
    assert source_data(page, "rbm-error")["error"] == first  # same seed, same numbers

    page.get_by_role("button", name="Dream").click()
    wait_until(lambda: page.get_by_text("240 dreams").count() == 1)
    shown = source_data(page, "rbm-dreams")["state"]
    assert len(shown) == 12 * 9 and set(shown) <= {0.0, 1.0}
    assert errors == []


def test_a_link_with_parameters_restores_them(page, app_url):
    query = (
        "rbm.lr=0.12&rbm.method=PCD&rbm.k=4&rbm.seed=42&rbm.speed=5"
        "&rbm.dream_steps=300&rbm.pattern=100100111"
    )
    errors = _open(page, f"{app_url}/rbm?{query}")
    widgets = wait_until(
        lambda: page.evaluate(JS_WIDGETS).get("Seed") == 42 and page.evaluate(JS_WIDGETS)
    )
    assert widgets["Learning rate η"] == pytest.approx(0.12)
    assert widgets["Round trips k"] == 4
    assert widgets["Speed (steps per frame)"] == 5
    assert widgets["Round trips per chain"] == 300
    assert widgets["CD|PCD"] == 1
    assert source_data(page, "rbm-visible")["state"] == [1, 0, 0, 1, 0, 0, 1, 1, 1]
    # Moving a control rewrites the link.
    page.get_by_role("button", name="CD", exact=True).click()
    wait_until(lambda: _query(page).get("rbm.method") == ["CD"])
    assert _query(page)["rbm.seed"] == ["42"]
    assert errors == []


def test_a_mangled_link_is_refused_with_a_message_and_the_section_works(page, app_url):
    errors = _open(page, app_url + "/rbm?rbm.lr=abc&rbm.k=99&rbm.pattern=%3Cb%3Ex&rbm.nope=1")
    page.get_by_text("must be a number").first.wait_for(timeout=30_000)
    assert page.get_by_text("nine 0/1 digits").count() >= 1
    widgets = page.evaluate(JS_WIDGETS)
    assert widgets["Round trips k"] == 10  # clamped
    assert widgets["Learning rate η"] == pytest.approx(0.3)  # refused: default kept
    page.get_by_role("button", name="Step").click()
    wait_until(lambda: _steps(page) == [0, 1])
    assert errors == []


def test_cells_flip_by_keyboard(page, app_url):
    errors = _open(page, app_url + "/rbm?rbm.pattern=000000000")
    page.locator("select").first.select_option(label="row 3, column 3")
    page.get_by_role("button", name="Flip cell").focus()
    # As a person would: Enter a moment after choosing.  Pressed within the same
    # millisecond as Playwright's select_option, the flip's update sometimes never showed
    # (Chromium 156, Panel 1.9.4; a mouse click or a short pause never lost it).
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    wait_until(lambda: source_data(page, "rbm-visible")["state"][8] == 1)
    assert sum(source_data(page, "rbm-visible")["state"]) == 1
    assert errors == []


JS_CELL_CENTRE = """
([title, row, col]) => {
  let found = null;
  const walk = (view) => {
    const m = view.model;
    if (m.constructor.__name__ === 'Figure' && m.title && m.title.text === title) found = view;
    for (const c of (view.child_views || [])) walk(c);
  };
  for (const v of Object.values(Bokeh.index)) walk(v);
  found.el.scrollIntoView({block: 'center', behavior: 'instant'});
  const r = found.el.getBoundingClientRect();
  const f = found.frame.bbox;
  return {x: r.left + f.left + f.width * (col + 0.5) / 3,
          y: r.top + f.top + f.height * (row + 0.5) / 3};
}
"""


def test_clicking_a_visible_cell_flips_it(page, app_url):
    errors = _open(page, app_url + "/rbm?rbm.pattern=000000000")
    at = page.evaluate(JS_CELL_CENTRE, ["visible v (click)", 1, 2])
    page.mouse.click(at["x"], at["y"])
    wait_until(lambda: source_data(page, "rbm-visible")["state"][5] == 1)
    assert sum(source_data(page, "rbm-visible")["state"]) == 1
    assert "rbm.pattern=000001000" in page.evaluate("location.search")
    assert errors == []
