"""In Chromium: the conventions note and its links, and the 4-unit order example."""

from __future__ import annotations

import pytest

from engine.examples import four_unit_example
from explainers.four_units import outcome_for

from .helpers import collect_console_errors, open_section, wait_until

pytestmark = pytest.mark.browser

JS_NOTE_STATE = """
() => {
  const d = window.explainerDeepFind("details#conventions");
  if (!d) return null;
  const r = d.getBoundingClientRect();
  return {open: d.open, top: r.top, height: window.innerHeight};
}
"""


def test_a_conventions_link_opens_the_note_and_scrolls_to_it(page, app_url):
    errors = collect_console_errors(page)
    page.goto(app_url + "/")
    page.locator(".explainer-hopfield").first.wait_for(timeout=90_000)
    note = page.evaluate(JS_NOTE_STATE)
    assert note is not None and note["open"] is False  # there once, closed
    assert page.locator("details#conventions").count() == 1
    link = page.locator(".explainer-hopfield a[href='#conventions']").first
    link.scroll_into_view_if_needed()
    link.click()
    state = wait_until(
        lambda: (s := page.evaluate(JS_NOTE_STATE)) and s["open"] and abs(s["top"]) < 200 and s,
        timeout=20,
    )
    assert state["open"]
    assert page.get_by_text("Where the 2 comes from").first.is_visible()
    assert errors == []


def test_a_shared_link_to_the_note_opens_it_and_stays_there(page, app_url):
    # Panel itself scrolls to the first *link* naming the page's anchor once the document is
    # ready; the page must end on the note, not on the Hopfield section's link to it.
    page.goto(app_url + "/#conventions")
    page.locator(".explainer-hopfield").first.wait_for(timeout=90_000)
    page.wait_for_function("() => Bokeh.documents.every(d => d.is_idle)", timeout=60_000)

    def settled_on_note():
        s = page.evaluate(JS_NOTE_STATE)
        return s and s["open"] and abs(s["top"]) < 50 and s

    wait_until(settled_on_note, timeout=30)
    # Panel's scroll comes late, so watch for a while: the page must come back to the note
    # (quickly) every time, and be there at the end.
    away = 0
    for _ in range(20):
        page.wait_for_timeout(100)
        away = 0 if settled_on_note() else away + 1
        assert away < 5, "the page left the note and did not come back"
    wait_until(settled_on_note, timeout=5)


@pytest.mark.parametrize(("order", "first"), [("4 → 1 → 2 → 3", 3), ("1 → 2 → 3 → 4", 0)])
def test_the_four_units_end_where_the_engine_says_for_the_chosen_order(page, app_url, order, first):
    open_section(page, app_url + "/hopfield", "hopfield-grid", "hopfield", idle=True)
    box = page.locator(".four-units")
    box.locator("select").select_option(label=order)
    expected = outcome_for([first, *(u for u in range(4) if u != first)])
    step = box.get_by_role("button", name="Update next unit")
    status = box.locator(".four-units-status [role=status]")
    for _ in range(12):  # at most three passes of four units
        if "settled in" in status.inner_text():
            break
        before = status.inner_text()
        step.click()
        wait_until(lambda before=before: status.inner_text() != before, timeout=20)
    assert f"settled in {expected}" in status.inner_text()
    # unit 4 first recovers ξ¹; unit 1 first ends in −ξ² (the theory notes' example)
    assert expected == ("ξ¹" if first == 3 else "−ξ²")
    assert four_unit_example().start.tolist() == [1, 1, -1, 1]


def test_on_a_section_page_the_link_opens_the_story_pages_note(page, app_url):
    open_section(page, app_url + "/sigmoid", "sigmoid-curve", "sigmoid")
    with page.expect_popup() as popup_info:
        page.locator(".explainer-sigmoid a[href='#conventions']").first.click()
    popup = popup_info.value
    assert popup.url == app_url + "/#conventions"
    assert page.url == app_url + "/sigmoid"  # the section page stays where it was
    popup.close()
