"""A page whose server goes away says so, stops its controls, and comes back by itself.

The test starts its own app process, opens a section, changes a setting (which lands in
the URL), stops the server under the open page, then starts a new server on the same port:
the page must show the banner and disable its controls while the server is gone, and then
reopen the same URL, with the same setting, once the server answers again.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import free_port, start_app, stop_app, wait_http

from .helpers import open_section, wait_for_bokeh, wait_until

pytestmark = pytest.mark.browser

JS_TEMPERATURE = """
() => {
  for (const m of Bokeh.documents[0].all_models)
    if (m.title === "Temperature T" && m.value !== undefined) return m.value;
  return null;
}
"""

JS_OFFLINE = """
() => {
  const page = document.querySelector(".explainer-page");
  return page !== null && page.inert && page.getAttribute("aria-disabled") === "true";
}
"""


def _quiet_evaluate(page, script: str):
    """``page.evaluate`` that answers None while the page is between two documents."""
    try:
        return page.evaluate(script)
    except Exception:  # the page is reloading: its old context is gone
        return None


def test_page_comes_back_after_the_server_restarts(page):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = start_app(port, log_name="reconnect-first")
    try:
        wait_http(base + "/liveness")
        open_section(page, base + "/hopfield?hopfield.seed=11", "hopfield-grid", "hopfield", True)
        assert page.evaluate(JS_TEMPERATURE) == pytest.approx(0.20)
        handle = page.locator(".explainer-hopfield .noUi-handle").first
        handle.focus()
        for _ in range(5):
            handle.press("ArrowRight")
        # Five steps of 0.01 from the default 0.20; the URL follows the slider.
        wait_until(
            lambda: "hopfield.temperature=0.25" in page.evaluate("location.href"), timeout=30
        )
        url = page.evaluate("location.href")
        page.evaluate("window.beforeRestart = true")

        stop_app(app)
        banner = page.get_by_role("alert").filter(has_text="Lost the connection")
        banner.wait_for(timeout=60_000)
        assert banner.get_by_role("button", name="Reload").is_visible()
        assert page.evaluate(JS_OFFLINE)
        # One message, not two: Panel's own "connection lost" toast is left out.
        assert page.get_by_text("Server connection lost").count() == 0
        # The controls are out of reach: a click on Run lands nowhere.
        run = page.get_by_role("button", name="Run", exact=True)
        with pytest.raises(PlaywrightTimeout):
            run.click(timeout=2_000)

        app = start_app(port, log_name="reconnect-second")
        # The page reloads by itself (the marker set before the restart is gone) ...
        wait_until(lambda: _quiet_evaluate(page, "window.beforeRestart === undefined"), timeout=120)
        wait_for_bokeh(page, "hopfield-grid", timeout=180)
        # ... at the same address, with the same state, and live again.
        assert page.evaluate("location.href") == url
        wait_until(lambda: page.evaluate(JS_TEMPERATURE) == pytest.approx(0.25), timeout=30)
        assert not page.evaluate(JS_OFFLINE)
        assert page.get_by_role("alert").filter(has_text="Lost the connection").count() == 0
    finally:
        stop_app(app)
