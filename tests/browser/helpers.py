"""Helpers for reading Bokeh state out of the page in Playwright tests."""

from __future__ import annotations

import time
from collections.abc import Callable

JS_SOURCE_DATA = """
(name) => {
  for (const doc of Bokeh.documents) {
    const m = doc.get_model_by_name(name);
    if (m) {
      const out = {};
      for (const [k, v] of Object.entries(m.data)) out[k] = Array.from(v, x =>
        (x && typeof x === 'object' && 'length' in x) ? Array.from(x) : x);
      return out;
    }
  }
  return null;
}
"""

JS_COUNT_CHANGES = """
(name) => {
  window.__changes = window.__changes || {};
  window.__changes[name] = 0;
  for (const doc of Bokeh.documents) {
    const m = doc.get_model_by_name(name);
    if (m) {
      const bump = () => { window.__changes[name] += 1; };
      // In Bokeh 3.9 data.change fires on assignment only; stream and patch have their own
      // signals.
      m.properties.data.change.connect(bump);
      m.streaming.connect(bump);
      m.patching.connect(bump);
      return true;
    }
  }
  return false;
}
"""


def wait_until(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.1):
    """Call ``predicate`` until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s (last value: {last!r})")


def wait_for_bokeh(page, name: str, timeout: float = 60.0) -> None:
    """Wait until the page's Bokeh document holds a model called ``name``."""
    page.wait_for_function(
        "(n) => window.Bokeh && Bokeh.documents.length > 0 && "
        "Bokeh.documents.some(d => d.get_model_by_name(n))",
        arg=name,
        timeout=timeout * 1000,
    )


def source_data(page, name: str) -> dict | None:
    """The columns of the named ColumnDataSource as plain lists."""
    return page.evaluate(JS_SOURCE_DATA, name)


def start_counting_changes(page, name: str) -> None:
    assert page.evaluate(JS_COUNT_CHANGES, name), f"no source named {name}"


def changes(page, name: str) -> int:
    return page.evaluate("(n) => window.__changes[n]", name)


JS_SET_WIDGET = """
([title, value]) => {
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      if (m.title === title && 'value' in m.properties) { m.value = value; return true; }
    }
  }
  return false;
}
"""


def set_widget(page, title: str, value) -> bool:
    """Set the ``value`` of the widget titled ``title`` in the browser, as a client could
    over the websocket, bypassing the widget's own bounds.  False if there is none."""
    return page.evaluate(JS_SET_WIDGET, [title, value])


def collect_console_errors(page) -> list[str]:
    """Start collecting console errors and page errors; returns the live list."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def open_section(page, url: str, source: str, key: str, idle: bool = False) -> list[str]:
    """Open ``url`` and wait until section ``key`` is drawn (its model named ``source``
    exists, then its rendered element); with ``idle``, also until every Bokeh document is
    idle, since clicks sent earlier can be lost.  Returns the console-error list to check."""
    errors = collect_console_errors(page)
    page.goto(url)
    wait_for_bokeh(page, source, timeout=90)
    # The model exists before its view is in the page.
    page.locator(f".explainer-{key}").first.wait_for(timeout=60_000)
    if idle:
        page.wait_for_function("() => Bokeh.documents.every(d => d.is_idle)", timeout=60_000)
    return errors


def scroll_to_section(page, key: str, timeout: float = 90.0) -> None:
    """Scroll to section ``key``'s title: its placeholder's until the section replaces it
    (which can happen mid-scroll, so a scroll onto a title that has just gone is retried)."""
    from playwright.sync_api import Error

    def attempt() -> bool:
        try:
            page.locator(f"#{key}").first.scroll_into_view_if_needed(timeout=5_000)
        except Error:
            return False
        return True

    wait_until(attempt, timeout=timeout)
