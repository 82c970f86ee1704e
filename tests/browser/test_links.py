"""Links keep the reader's place: the #anchor survives state changes, a story link with
state and an anchor opens at its section and stays there, and every page has its own title
and a way to the story and the neighbouring sections."""

from __future__ import annotations

import pytest

from explainers.site.page import available_sections, page_title, section_class

from .helpers import wait_for_bokeh, wait_until

pytestmark = pytest.mark.browser


def _title_top(page, key: str) -> float:
    return page.locator(f".explainer-{key} #{key}").first.bounding_box()["y"]


def _href(page) -> str:
    return page.evaluate("location.href")


def test_a_story_link_with_state_and_anchor_stays_at_its_section(page, app_url):
    page.goto(app_url + "/?rbm.lr=0.5#rbm")
    page.locator(".explainer-rbm").first.wait_for(timeout=90_000)
    wait_until(lambda: abs(_title_top(page, "rbm")) < 40, timeout=30)
    # It stays there while the rest of the page settles (sections near it get built and
    # laid out, which can move it for a moment): there for the last 2 s of 8 s.
    tops = []
    for _ in range(16):
        page.wait_for_timeout(500)
        tops.append(_title_top(page, "rbm"))
    assert all(abs(top) < 40 for top in tops[-4:]), tops
    assert _href(page).endswith("?rbm.lr=0.5#rbm")


def test_moving_a_control_keeps_the_anchor_and_points_it_at_the_section(page, app_url):
    page.goto(app_url + "/#hopfield")
    wait_for_bokeh(page, "hopfield-grid")
    page.locator(".explainer-hopfield").first.wait_for(timeout=90_000)
    handle = page.locator(".explainer-hopfield .noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    wait_until(lambda: "hopfield.temperature=0.21" in _href(page), timeout=30)
    assert _href(page).endswith("#hopfield")
    # A contents link moves the anchor; the next control change keeps the new one ...
    page.evaluate("explainerScrollTo('sigmoid')")
    wait_until(lambda: _href(page).endswith("#sigmoid"), timeout=10)
    handle.focus()
    handle.press("ArrowRight")
    wait_until(lambda: "hopfield.temperature=0.22" in _href(page), timeout=30)
    # ... pointed at the section whose control moved, so the link reopens there.
    assert _href(page).endswith("#hopfield"), _href(page)


def test_section_pages_have_titles_and_a_way_around(page, app_url):
    keys = available_sections()
    page.goto(app_url + "/")
    wait_until(lambda: page.title() == page_title(), timeout=60)
    assert page_title() == "Boltzmann machines, hands on"
    key = keys[1]
    page.goto(f"{app_url}/{key}")
    page.locator(f".explainer-{key}").first.wait_for(timeout=90_000)
    assert page.title() == page_title(key)
    assert page.title().startswith(section_class(key).title)
    nav = page.get_by_role("navigation", name="Pages")
    assert nav.get_by_role("link", name="Dark page").count() == 1
    nav.get_by_role("link", name=f"Next section: {section_class(keys[2]).title}").click()
    page.locator(f".explainer-{keys[2]}").first.wait_for(timeout=90_000)
    assert page.title() == page_title(keys[2])
    nav = page.get_by_role("navigation", name="Pages")
    nav.get_by_role("link", name=f"Previous section: {section_class(key).title}").click()
    page.locator(f".explainer-{key}").first.wait_for(timeout=90_000)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="The whole story").click()
    page.locator(f".explainer-{key}").first.wait_for(timeout=90_000)
    assert _href(page) == f"{app_url}/#{key}"
    wait_until(lambda: abs(_title_top(page, key)) < 40, timeout=30)


def test_first_and_last_sections_have_one_neighbour(page, app_url):
    first, last = available_sections()[0], available_sections()[-1]
    for key, absent in ((first, "Previous"), (last, "Next")):
        page.goto(f"{app_url}/{key}")
        page.locator(f".explainer-{key}").first.wait_for(timeout=90_000)
        nav = page.get_by_role("navigation", name="Pages")
        assert nav.get_by_role("link", name=f"{absent} section").count() == 0
        assert nav.get_by_role("link", name="The whole story").count() == 1
