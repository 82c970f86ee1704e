"""The story page as a reader meets it, in a real Chromium."""

from __future__ import annotations

import pytest

from explainers.site.page import SECTIONS, section_class

from .helpers import (
    collect_console_errors,
    scroll_to_section,
    source_data,
    wait_for_bokeh,
    wait_until,
)
from .test_rbm import JS_WIDGETS  # widget values by title (belongs in helpers)

pytestmark = pytest.mark.browser

JS_DEEP_ACTIVE = """
() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  return el ? (el.innerText || el.getAttribute('aria-label') || el.className || el.tagName) : '';
}
"""


def _open(page, url: str) -> list[str]:
    errors = collect_console_errors(page)
    page.goto(url)
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=90_000)
    page.locator(".explainer-section").first.wait_for(timeout=90_000)
    return errors


def _scroll_to(page, key: str):
    """Scroll section ``key`` (or its placeholder) into view as a reader would, and wait
    until the section is built; returns its locator."""
    scroll_to_section(page, key)
    section = page.locator(f".explainer-{key}")
    section.first.wait_for(timeout=90_000)
    return section


def _title_top(page, key: str) -> float:
    """Where section ``key``'s title sits in the viewport (px from its top)."""
    return page.locator(f".explainer-{key} #{key}").first.bounding_box()["y"]


def test_story_page_builds_sections_as_the_reader_reaches_them(page, app_url):
    errors = _open(page, app_url + "/")
    page.locator(".explainer-hopfield").first.wait_for(timeout=60_000)
    # The table of contents lists every section.
    toc = page.locator("nav .toc li")
    assert toc.count() == len(SECTIONS)
    # Far down the page the sections are placeholders: a titled region, busy, not built.
    rbm_title = section_class("rbm").title
    placeholder = page.get_by_role("region", name=rbm_title)
    assert placeholder.get_attribute("aria-busy") == "true"
    assert page.locator(".explainer-rbm").count() == 0
    pending = {
        key: page.locator(f".section-placeholder:has(#{key})").last.bounding_box()["height"]
        for key in SECTIONS
        if page.locator(f".explainer-{key}").count() == 0
    }
    assert "rbm" in pending and "hopfield" not in pending
    for key in SECTIONS:
        section = _scroll_to(page, key)
        assert section.count() == 1, key
        if key in pending:  # the placeholder was about as tall as the section it stood for
            height = section.first.bounding_box()["height"]
            assert abs(pending[key] - height) < height / 3, (key, pending[key], height)
    assert page.locator(".section-placeholder").count() == 0
    page.wait_for_timeout(1000)
    assert errors == []


def test_a_far_section_works_once_scrolled_to(page, app_url):
    _open(page, app_url + "/")
    assert page.locator(".explainer-rbm").count() == 0
    section = _scroll_to(page, "rbm")
    wait_for_bokeh(page, "rbm-error")
    page.wait_for_function("() => Bokeh.documents.every(d => d.is_idle)", timeout=60_000)
    assert source_data(page, "rbm-error")["step"] == [0]
    # One training step at a time: a running animation would leave a loaded test machine's
    # browser too busy to answer.
    step = section.get_by_role("button", name="Step", exact=True)
    step.click()
    wait_until(lambda: source_data(page, "rbm-error")["step"] == [0, 1], timeout=60)
    step.click()
    wait_until(lambda: source_data(page, "rbm-error")["step"] == [0, 1, 2], timeout=60)


def test_a_shared_link_builds_its_sections_at_once_with_their_state(page, app_url):
    errors = _open(page, app_url + "/?rbm.lr=0.12&rbm.k=4&capacity.n=40")
    # Built without scrolling: the link carries state for them.
    for key in ("rbm", "capacity"):
        page.locator(f".explainer-{key}").first.wait_for(state="attached", timeout=90_000)
    widgets = wait_until(
        lambda: (w := page.evaluate(JS_WIDGETS)).get("Round trips k") == 4 and w, timeout=60
    )
    assert widgets["Learning rate η"] == pytest.approx(0.12)
    # Sections the link says nothing about still wait for the reader.
    assert page.locator(".explainer-sigmoid").count() == 0
    assert errors == []


def test_contents_link_lands_on_a_section_not_built_yet(page, app_url):
    _open(page, app_url + "/")
    page.locator("nav .toc a", has_text=section_class("rbm").title).click()
    page.locator(".explainer-rbm").first.wait_for(timeout=90_000)
    # The page follows the placeholder until the section is built and laid out.
    wait_until(lambda: abs(_title_top(page, "rbm")) < 40, timeout=30)
    assert page.evaluate("location.hash") == "#rbm"
    # Sections the page only passed on its way down are not built.
    assert page.locator(".explainer-sigmoid").count() == 0


def test_an_anchor_in_a_link_opens_at_its_section(page, app_url):
    _open(page, app_url + "/#learning")
    page.locator(".explainer-learning").first.wait_for(timeout=90_000)
    wait_until(lambda: abs(_title_top(page, "learning")) < 40, timeout=30)
    assert page.locator(".explainer-sigmoid").count() == 0


@pytest.mark.parametrize("key", list(SECTIONS))
def test_each_section_alone_at_its_own_url(page, app_url, key):
    errors = _open(page, f"{app_url}/{key}")
    page.locator(f".explainer-{key}").first.wait_for(timeout=60_000)
    assert page.locator(".explainer-section").count() == 1
    assert page.locator("nav .toc").count() == 0
    assert errors == []


def test_no_horizontal_scrolling_on_a_phone(page, app_url):
    page.set_viewport_size({"width": 375, "height": 800})
    _open(page, app_url + "/")
    for key in SECTIONS:
        _scroll_to(page, key)
    page.wait_for_timeout(1500)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"page is {width}px wide on a 375px screen"


def test_dark_theme_link_switches_theme(page, app_url):
    _open(page, app_url + "/sigmoid")
    _open(page, app_url + "/?theme=dark")
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    # Panel's dark theme paints the page dark: every channel well below mid-grey.
    channels = [int(c) for c in bg[bg.index("(") + 1 : bg.index(")")].split(",")[:3]]
    assert max(channels) < 100, bg
    assert page.get_by_text("Light page").count() == 1


def test_embed_mode_on_the_story_page_reaches_the_sections_built_later(page, app_url):
    _open(page, app_url + "/?embed=1")
    section = _scroll_to(page, "sigmoid")
    wait_for_bokeh(page, "sigmoid-curve")
    assert section.get_by_text("p(turn on)").filter(visible=True).count() >= 1
    assert page.get_by_text("Try this:").filter(visible=True).count() == 0


def test_embed_mode_hides_prose_and_keeps_the_widget(page, app_url):
    _open(page, app_url + "/sigmoid?embed=1")
    wait_for_bokeh(page, "sigmoid-curve")
    assert page.get_by_text("Try this:").filter(visible=True).count() == 0
    assert page.get_by_text("p(turn on)").filter(visible=True).count() >= 1
    # Without embed=1 the same text is there.
    page.goto(app_url + "/sigmoid")
    page.get_by_text("Try this:").filter(visible=True).first.wait_for(timeout=60_000)


def test_controls_are_reachable_by_keyboard(page, app_url):
    _open(page, app_url + "/sigmoid")
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(JS_DEEP_ACTIVE))
    assert "Temperature T" in seen, seen  # a slider, by its name (static/reader.js)
    assert any("Embed" in s for s in seen), seen
