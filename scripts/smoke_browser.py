"""Open the explainer in Chromium and check that it really works, end to end.

    python scripts/smoke_browser.py http://127.0.0.1:5006 [--path /] [--timeout 90]

Checks, in order: the page loads with the expected title; Bokeh's document arrives over
the websocket; if the page has the Hopfield section, pressing its "Run" button makes the
"Updates" readout grow (the server is simulating and the frames reach the browser), and
it keeps growing; the websocket is still open at the end; no console or page errors.
Without a Hopfield section (an early page) it checks the document and the websocket only.

Prints one JSON line of findings and timings; exit status 0 only if every check passed.
Used by scripts/docker-smoke and tests/deploy/test_nginx_sticky.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from tests.chromium import CHROMIUM, CHROMIUM_ARGS

TITLE = "Boltzmann machines, hands on"
# Updates seen before we call the simulation running, then again to call it still running.
GROWTH = 20

_DOC_READY = """() => window.Bokeh !== undefined && Bokeh.documents.length > 0
    && Bokeh.documents[0].roots().length > 0"""


# The Hopfield "Updates" readout: a source named hopfield-readouts (columns label, value),
# or, in earlier versions of the section, a text widget with the class hopfield-updates.
_JS_UPDATES = """() => {
  for (const doc of Bokeh.documents) {
    const m = doc.get_model_by_name("hopfield-readouts");
    if (m) {
      const i = Array.from(m.data.label).indexOf("Updates");
      return i < 0 ? null : String(m.data.value[i]);
    }
  }
  return null;
}"""
_JS_SHADOW_TEXT = """e => Array.from((e.shadowRoot || e).children)
    .filter(c => c.tagName !== "STYLE" && c.tagName !== "LINK")
    .map(c => c.innerText).join(" ")"""


def _updates(page) -> int | None:
    """The number in the Hopfield "Updates" readout (``page``: a Page or a Frame)."""
    text = page.evaluate(_JS_UPDATES)
    if text is None:
        widget = page.locator(".explainer-hopfield .hopfield-updates")
        text = widget.first.evaluate(_JS_SHADOW_TEXT) if widget.count() else ""
    numbers = re.findall(r"\d+", text.replace(",", ""))
    return int(numbers[-1]) if numbers else None


def _has_route(base_url: str, path: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(base_url.rstrip("/") + path, timeout=60) as response:
            return response.status == 200
    except urllib.error.HTTPError:
        return False


def _wait_for_updates(page, at_least: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = _updates(page)
        if value is not None and value >= at_least:
            return value
        time.sleep(0.2)
    raise AssertionError(f"Updates readout stuck at {value} (waited for {at_least})")


def check(base_url: str, path: str = "/", timeout_s: float = 90) -> dict:
    """Run every check; returns findings, raises AssertionError on the first failure."""
    found: dict = {"url": base_url.rstrip("/") + path}
    errors: list[str] = []
    sockets: list[dict] = []

    def on_websocket(ws):
        info = {"url": ws.url, "frames_in": 0, "closed": False}

        def frame(_payload):
            info["frames_in"] += 1

        def closed(_ws):
            info["closed"] = True

        ws.on("framereceived", frame)
        ws.on("close", closed)
        sockets.append(info)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", CHROMIUM),
            args=CHROMIUM_ARGS,
        )
        try:
            page = browser.new_page()
            page.on("websocket", on_websocket)
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            page.on(
                "console",
                lambda msg: (
                    errors.append(f"console {msg.type}: {msg.text}")
                    if msg.type == "error"
                    else None
                ),
            )
            t0 = time.monotonic()
            response = page.goto(found["url"], timeout=timeout_s * 1000)
            assert response is not None and response.status == 200, f"HTTP {response.status}"
            page.wait_for_function(_DOC_READY, timeout=timeout_s * 1000)
            found["document_s"] = round(time.monotonic() - t0, 2)
            found["title"] = page.title()
            if path == "/":
                assert found["title"] == TITLE, f"title {found['title']!r}"
            else:
                assert found["title"], "the page has no title"

            hopfield = page.locator(".explainer-hopfield")
            # Once the app has a Hopfield section (its own route answers), the page must
            # show it and it must run: a section that failed to build is a failure here.
            # The document is ready before its views are drawn, so wait for the section.
            if _has_route(base_url, "/hopfield"):
                try:
                    hopfield.first.wait_for(timeout=timeout_s * 1000)
                except PlaywrightTimeout:
                    raise AssertionError(f"{found['url']} lacks the Hopfield section") from None
            found["hopfield"] = hopfield.count() > 0
            if found["hopfield"]:
                hopfield.first.scroll_into_view_if_needed(timeout=timeout_s * 1000)
                before = _wait_for_updates(page, 0, timeout_s)
                t1 = time.monotonic()
                hopfield.first.get_by_role("button", name="Run", exact=True).click()
                running = _wait_for_updates(page, before + GROWTH, timeout_s)
                found["first_updates_s"] = round(time.monotonic() - t1, 2)
                later = _wait_for_updates(page, running + GROWTH, timeout_s)
                found["updates"] = [before, running, later]
                hopfield.first.get_by_role("button", name="Pause", exact=True).click()
            else:
                # An early page without sections: let the connection sit for a moment.
                page.wait_for_timeout(3000)

            ws = [s for s in sockets if s["url"].endswith("/ws")]
            assert ws, f"no Bokeh websocket opened (saw {[s['url'] for s in sockets]})"
            assert ws[-1]["frames_in"] > 0, "the websocket never delivered a message"
            assert not ws[-1]["closed"], "the websocket closed"
            found["ws_frames_in"] = ws[-1]["frames_in"]
            assert not errors, "errors in the page:\n" + "\n".join(errors)
            found["total_s"] = round(time.monotonic() - t0, 2)
        finally:
            browser.close()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("--path", default="/", help="page to open (default: the story, /)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds per wait")
    args = parser.parse_args(argv)
    try:
        found = check(args.base_url, args.path, args.timeout)
    except Exception as exc:  # every failure becomes one readable line and status 1
        print(f"smoke_browser: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
