"""``?embed=1`` shows the widget only, for every section: no title, no paragraph of prose,
no Embed button; a small link leads to the section's place in the full story."""

from __future__ import annotations

import pytest

from explainers.site.page import SECTIONS

from .helpers import collect_console_errors

pytestmark = pytest.mark.browser

# Visible paragraphs and list items longer than this many words, anywhere in the page
# (through the shadow roots). Captions beside a widget stay well under it.
JS_PARAGRAPHS = """
(limit) => {
  const found = [];
  function walk(root) {
    for (const el of root.querySelectorAll("p, li")) {
      const words = (el.innerText || "").trim().split(/\\s+/).length;
      if (el.getBoundingClientRect().height > 0 && words > limit) {
        found.push(`${words} words: ${el.innerText.slice(0, 60)}`);
      }
    }
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) walk(el.shadowRoot);
  }
  walk(document);
  return found;
}
"""


@pytest.mark.parametrize("key", list(SECTIONS))
def test_embed_mode_shows_the_widget_only(page, app_url, key):
    errors = collect_console_errors(page)
    page.goto(f"{app_url}/{key}?embed=1")
    section = page.locator(f".explainer-{key}").first
    section.wait_for(timeout=90_000)
    link = page.get_by_role("link", name="Open the full explanation")
    link.wait_for(timeout=60_000)
    assert link.get_attribute("href").endswith(f"#{key}")
    assert page.locator(f"#{key}").filter(visible=True).count() == 0  # the title
    assert page.get_by_role("button", name="Embed").filter(visible=True).count() == 0
    assert page.get_by_text("Try this:").filter(visible=True).count() == 0
    page.wait_for_timeout(1000)  # let late panes render before reading the page
    assert page.evaluate(JS_PARAGRAPHS, 30) == []
    # The same page without embed=1 has its prose (so the check above can see prose).
    page.goto(f"{app_url}/{key}")
    page.locator(f".explainer-{key}").first.wait_for(timeout=90_000)
    page.get_by_text("Try this:").filter(visible=True).first.wait_for(timeout=60_000)
    assert page.evaluate(JS_PARAGRAPHS, 30) != []
    assert errors == []
