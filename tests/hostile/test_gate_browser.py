"""A real reader in Chromium is never refused by the websocket gate.

The gate (explainers.site.guard) accepts only the property changes and events its tables
name; a control or page feature missing from them would silently stop working.  Here a
reader uses every kind of control on several pages (buttons, sliders by keyboard, selects,
spinners, button groups, taps on plots, help tips, scrolling the story page so sections are
built lazily), and the server's log must not mention a single refusal.
"""

from __future__ import annotations

import pytest

from tests.deploy.apps import AppProcess

pytestmark = pytest.mark.browser

ROUTES = ["/hopfield", "/learning", "/ising", "/rbm", "/distribution", "/annealing"]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with AppProcess(tmp_path_factory.mktemp("gate-browser")) as server:
        yield server


def _use_controls(page) -> int:
    """Touch every kind of control on the page once; returns how many were touched."""
    used = 0
    for button in page.get_by_role("button").all()[:10]:
        try:
            label = button.inner_text(timeout=500).strip()
            if label in ("", "Embed", "Race"):  # a race takes long; clicking it adds nothing
                continue
            button.click(timeout=2000)
            used += 1
            page.wait_for_timeout(200)
        except Exception:  # hidden or detached meanwhile
            continue
    for handle in page.locator(".noUi-handle").all()[:3]:
        handle.focus()
        handle.press("ArrowRight")
        handle.press("ArrowLeft")
        used += 1
    for select in page.locator("select").all()[:2]:
        options = select.locator("option").all_inner_texts()
        if len(options) > 1:
            select.select_option(label=options[1])
            used += 1
    for spinner in page.locator("input[type='number'], .bk-spin-wrapper input").all()[:1]:
        spinner.focus()
        spinner.press("ArrowUp")
        used += 1
    for canvas in page.locator("canvas").all()[:2]:
        try:
            canvas.click(timeout=1000, position={"x": 40, "y": 40})
            used += 1
        except Exception:
            continue
    for tip in page.locator(".bk-TooltipIcon, .bk-description").all()[:1]:
        tip.hover()
        used += 1
    page.wait_for_timeout(1500)
    return used


def test_a_reader_using_every_control_is_never_refused(app, page):
    used = 0
    for route in ROUTES:
        page.goto(app.url + route)
        page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=60_000)
        page.wait_for_timeout(1500)
        used += _use_controls(page)
    page.goto(app.url + "/")
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=60_000)
    for _ in range(30):
        page.mouse.wheel(0, 1500)
        page.wait_for_timeout(250)
    page.wait_for_timeout(3000)
    assert used >= 20, "too few controls were touched for this test to mean anything"
    log = app.log()
    refused = [line for line in log.splitlines() if "refused from a browser" in line]
    assert not refused, refused
