"""docs/course-page.html in Chromium: two sections embedded by iframe on another origin.

The course page is served from its own loopback port (a different origin from the app),
exactly as written except that its iframes point at the test's app server instead of
``http://localhost:5006``. One app allows that origin in EXPLAINER_FRAME_ANCESTORS; a
second app keeps the default (``'self'``), and the browser must refuse to frame it.
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

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


def test_course_page_shows_both_sections_in_embed_mode(page, course):
    errors = collect_console_errors(page)
    # A self-hosted page must not need the internet: name any request that failed.
    page.on("requestfailed", lambda r: errors.append(f"{r.failure}: {r.url[:120]}"))
    page.goto(course + "/course.html")
    for key in SECTIONS:
        frame = _frame(page, key)
        frame.locator(f".explainer-{key}").first.wait_for(timeout=120_000)
        # Embed mode: the explanation is hidden, the widget and the Embed control are not.
        frame.get_by_role("button", name="Embed").wait_for(timeout=60_000)
        assert frame.get_by_text("Try this:").filter(visible=True).count() == 0
    assert not errors, errors


def test_embedded_simulation_runs_inside_its_iframe(page, course):
    page.goto(course + "/course.html")
    _frame(page, "hopfield").locator(".explainer-hopfield").first.wait_for(timeout=120_000)
    (frame,) = [f for f in page.frames if "/hopfield?" in f.url]
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
