"""The story page as a reader meets it, in a real Chromium."""

from __future__ import annotations

import pytest

from explainers.page import SECTIONS

from .helpers import collect_console_errors, wait_for_bokeh

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


def test_story_page_renders_every_section_without_console_errors(page, app_url):
    errors = _open(page, app_url + "/")
    for key in SECTIONS:
        section = page.locator(f".explainer-{key}")
        section.first.wait_for(timeout=60_000)
        assert section.count() == 1, key
    # The table of contents lists every section.
    toc = page.locator("nav .toc li")
    assert toc.count() == len(SECTIONS)
    page.wait_for_timeout(1000)
    assert errors == []


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
        page.locator(f".explainer-{key}").first.wait_for(timeout=60_000)
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
    for _ in range(25):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(JS_DEEP_ACTIVE))
    assert any("noUi-handle" in s for s in seen), seen  # the sliders
    assert any("Embed" in s for s in seen), seen
