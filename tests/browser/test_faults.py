"""Faults: a crash inside a callback is shown, logged and survived; a closed tab stops.

The server runs inside the test process (:mod:`tests.serve_inprocess`) so the test can
sabotage the very section a Chromium tab drives and watch its animation from the inside.
"""

from __future__ import annotations

import logging
import time

import pytest

from explainers.site.page import SECTIONS, section_class

from ..serve_inprocess import InProcessServer, messages
from .helpers import wait_for_bokeh, wait_until

pytestmark = pytest.mark.browser

FAULT = "injected fault for the test"
# The button that starts each animated section (default: the animator's own Run button).
# The annealing descent is short (about 1.3 s) and stops by itself, so its case is weak.
START_LABEL = {"annealing": "Run one descent"}


def _fail_once(section, method: str) -> list[int]:
    """Make ``section.<method>`` raise once, then behave; returns a list counting calls."""
    original = getattr(section, method)
    calls = []

    def sabotaged(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError(FAULT)
        return original(*args, **kwargs)

    setattr(section, method, sabotaged)
    return calls


def _open(page, url: str, source: str) -> None:
    page.goto(url)
    wait_for_bokeh(page, source, timeout=90)


@pytest.fixture
def error_log(caplog):
    caplog.set_level(logging.ERROR, logger="explainers")
    return caplog


def _logged(caplog) -> bool:
    return any(
        r.exc_info is not None and FAULT in str(r.exc_info[1])
        for r in caplog.records
        if r.name == "explainers"
    )


def test_a_crash_inside_an_animation_frame_is_shown_logged_and_survived(page, error_log):
    with InProcessServer(["hopfield"], tamper=lambda s: _fail_once(s, "advance")) as srv:
        _open(page, srv.url + "/hopfield", "hopfield-grid")
        built = srv.latest()
        hop = built.section
        page.get_by_role("button", name="Run", exact=True).click()
        # The reader sees a message, the log has the traceback, the loop paused itself.
        page.get_by_text(FAULT).first.wait_for(timeout=20_000)
        assert any(FAULT in m for m in messages(built))
        wait_until(lambda: _logged(error_log), timeout=10)
        wait_until(lambda: not hop.animator.running, timeout=10)
        # The session keeps working: Step moves the chain, Run animates again.
        before = hop.n_updates
        page.get_by_role("button", name="Step", exact=True).click()
        wait_until(lambda: hop.n_updates > before, timeout=20)
        page.get_by_role("button", name="Run", exact=True).click()
        frames = hop.animator.frames
        wait_until(lambda: hop.animator.frames > frames + 10, timeout=20)
        page.get_by_role("button", name="Pause", exact=True).click()


def test_a_crash_inside_a_button_callback_is_shown_logged_and_survived(page, error_log):
    with InProcessServer(["hopfield"], tamper=lambda s: _fail_once(s, "corrupt")) as srv:
        _open(page, srv.url + "/hopfield", "hopfield-grid")
        built = srv.latest()
        hop = built.section
        button = page.get_by_role("button", name="Corrupt a memory", exact=True)
        button.click()  # raises inside the click handler, on the server
        page.get_by_text(FAULT).first.wait_for(timeout=20_000)
        wait_until(lambda: _logged(error_log), timeout=10)
        start = hop.start
        button.click()  # the second click works
        wait_until(lambda: hop.start != start and hop.start != "", timeout=20)


def _animated_keys() -> list[str]:
    keys = []
    for key in SECTIONS:
        try:
            cls = section_class(key)
        except (ImportError, AttributeError):
            continue
        if "self.animator = Animator(" in _source(cls):
            keys.append(key)
    return keys


def _source(cls) -> str:
    import inspect

    return inspect.getsource(cls)


def _running_callbacks(doc) -> int:
    return len(doc.session_callbacks)


@pytest.mark.parametrize("key", _animated_keys())
def test_a_closed_tabs_animation_stops_within_five_seconds(browser, key):
    with InProcessServer([key]) as srv:
        page = browser.new_page()
        page.goto(f"{srv.url}/{key}")
        page.locator(f".explainer-{key}").first.wait_for(timeout=90_000)
        built = srv.latest()
        animator = built.section.animator
        label = START_LABEL.get(key, animator.labels[0])
        page.get_by_role("button", name=label, exact=True).first.click()
        wait_until(lambda: animator.frames > 5, timeout=30)
        assert animator.ticking
        page.close()
        closed = time.monotonic()
        wait_until(
            lambda: not (animator.running or animator.ticking or _running_callbacks(built.doc)), 10
        )
        stopped_after = time.monotonic() - closed
        frames = animator.frames
        time.sleep(1.0)
        assert animator.frames == frames, "frames still produced after the tab closed"
        assert stopped_after < 5.0, f"{key}: stopped {stopped_after:.1f} s after the tab closed"
