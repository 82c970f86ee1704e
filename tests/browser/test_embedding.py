"""docs/course-page.html in Chromium: two sections embedded by iframe on another origin.

The course page is served from its own loopback port (a different origin from the app),
exactly as written except that its iframes point at the test's app server instead of
``http://localhost:5006``. One app allows that origin in EXPLAINER_FRAME_ANCESTORS (as the
README tells a lecturer to); a second app keeps the default (``'self'``), and the browser
must refuse to frame it. Each embedded section must show whole (the snippet's script sizes
its frame; nothing scrolls inside) and run.
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from explainers.site.page import section_class
from tests.conftest import ROOT, free_port, start_app, stop_app, wait_http

from .helpers import collect_console_errors, source_data, wait_for_bokeh, wait_until

pytestmark = pytest.mark.browser

DEFAULT_SERVER = "http://localhost:5006/"
SECTIONS = ("hopfield", "sigmoid")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course_port = free_port()
    course_origin = f"http://127.0.0.1:{course_port}"
    allowing_port, refusing_port = free_port(), free_port()
    apps = [
        start_app(
            allowing_port,
            {"EXPLAINER_FRAME_ANCESTORS": f"'self' {course_origin}"},
            log_name="embed-allowing",
        ),
        start_app(refusing_port, log_name="embed-refusing"),
    ]
    html = (ROOT / "docs" / "course-page.html").read_text()
    assert html.count(f'src="{DEFAULT_SERVER}') == len(SECTIONS)
    site = tmp_path_factory.mktemp("course-site")
    for name, port in (("course.html", allowing_port), ("refused.html", refusing_port)):
        (site / name).write_text(html.replace(DEFAULT_SERVER, f"http://127.0.0.1:{port}/"))
    server = ThreadingHTTPServer(
        ("127.0.0.1", course_port), functools.partial(_QuietHandler, directory=str(site))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for port in (allowing_port, refusing_port):
            wait_http(f"http://127.0.0.1:{port}/liveness")
        yield course_origin
    finally:
        server.shutdown()
        server.server_close()
        for app in apps:
            stop_app(app)


def _frame(page, key: str):
    selector = f'iframe[src*="/{key}?"]'
    page.locator(selector).scroll_into_view_if_needed()  # the iframes load lazily
    return page.frame_locator(selector)


def _live_frame(page, key: str):
    """The Playwright frame of section ``key``'s iframe, once its section is drawn."""
    _frame(page, key).locator(f".explainer-{key}").first.wait_for(timeout=120_000)
    (frame,) = [f for f in page.frames if f"/{key}?" in f.url]
    return frame


JS_FRAME_FIT = """
(key) => {
  const frame = document.querySelector(`iframe[src*="/${key}?"]`);
  const doc = frame.contentDocument;  // null: another origin (read it from inside instead)
  return { height: frame.getBoundingClientRect().height, sameOrigin: doc !== null };
}
"""

JS_INSIDE = """
() => {
  const page = document.querySelector(".explainer-page");
  const scroller = document.scrollingElement;
  const body = document.body;
  return {
    content: page.getBoundingClientRect().height,
    overflow: Math.max(scroller.scrollHeight - scroller.clientHeight,
                       body.scrollHeight - body.clientHeight),
    viewport: window.innerHeight,
  };
}
"""


def test_course_page_shows_each_section_whole_in_embed_mode(page, course):
    errors = collect_console_errors(page)
    # A self-hosted page must not need the internet: name any request that failed.
    page.on("requestfailed", lambda r: errors.append(f"{r.failure}: {r.url[:120]}"))
    page.goto(course + "/course.html")
    for key in SECTIONS:
        frame = _live_frame(page, key)
        wait_for_bokeh(frame, f"{key}-" + ("grid" if key == "hopfield" else "curve"))
        # Embed mode: the widget only, and a way to the full explanation.
        section = frame.locator(f".explainer-{key}").first
        assert frame.get_by_role("link", name="Open the full explanation").count() == 1
        for hidden in ("Try this:", section_class(key).title):
            assert section.get_by_text(hidden).filter(visible=True).count() == 0, hidden
        assert frame.get_by_role("button", name="Embed").filter(visible=True).count() == 0
        # The snippet's script sized the frame to the section: all of it shows, and the
        # page inside has nothing to scroll.
        fit = {}

        def fits(frame=frame, key=key, fit=fit):
            fit.update(page.evaluate(JS_FRAME_FIT, key), inside=frame.evaluate(JS_INSIDE))
            inside = fit["inside"]
            return (
                not fit["sameOrigin"]
                and fit["height"] >= inside["content"] - 0.5
                and inside["overflow"] <= 0
                and fit["height"] != section_class(key).embed_height()
            )

        wait_until(fits, timeout=60)
        assert fit["inside"]["viewport"] == pytest.approx(fit["height"], abs=1)
    assert not errors, errors


def test_embedded_simulations_run_inside_their_iframes(page, course):
    page.goto(course + "/course.html")
    frame = _live_frame(page, "hopfield")
    wait_for_bokeh(frame, "hopfield-readouts")

    def updates() -> int:
        readouts = source_data(frame, "hopfield-readouts")
        return int(readouts["value"][readouts["label"].index("Updates")])

    before = updates()
    frame.get_by_role("button", name="Run", exact=True).click()
    wait_until(lambda: updates() >= before + 20, timeout=60)
    grown = updates()
    wait_until(lambda: updates() >= grown + 20, timeout=60)  # and keeps running
    frame.get_by_role("button", name="Pause", exact=True).click()

    # The second frame: a slider moved by keyboard redraws the named curve.
    frame = _live_frame(page, "sigmoid")
    wait_for_bokeh(frame, "sigmoid-curve")
    first = source_data(frame, "sigmoid-curve")["p"]
    handle = frame.locator(".explainer-sigmoid .noUi-handle").first
    handle.focus()
    for _ in range(10):
        handle.press("ArrowRight")
    wait_until(lambda: source_data(frame, "sigmoid-curve")["p"] != first, timeout=60)


def test_default_frame_ancestors_refuse_another_site(page, course):
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    page.goto(course + "/refused.html")
    frame = _frame(page, "hopfield")
    refusal: list[str] = []
    for _ in range(300):  # up to 60 s; Playwright delivers console events while it waits
        refusal = [m for m in messages if "frame-ancestors 'self'" in m]
        if refusal:
            break
        page.wait_for_timeout(200)
    assert refusal, messages
    assert "Content Security Policy" in refusal[0] and "blocked" in refusal[0]
    assert frame.locator(".explainer-hopfield").count() == 0
