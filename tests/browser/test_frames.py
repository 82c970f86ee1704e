"""Frames played in the page (explainers/frames.py) in a real Chromium.

Each animation sends its frames a few per message; the page plays them one by one.  The
measure of correctness: the page shows many distinct frames while running, and once the
animation pauses, every named data source in the page holds exactly the server's data.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from bokeh.models import ColumnDataSource

from ..serve_inprocess import InProcessServer
from . import helpers
from .helpers import wait_until

pytestmark = pytest.mark.browser

# section -> (button that starts it, button that pauses it or None, a source every frame changes)
CASES = {
    "hopfield": ("Run", "Pause", "hopfield-energy"),
    "ising": ("Run", "Pause", "ising-lattice"),
    "rbm": ("Train", "Pause", "rbm-error"),
    "learning": ("Train", "Pause", "learning-probs"),
    # one descent stops by itself: the frame that ends it pauses the animation
    "annealing": ("Run one descent", None, None),
}


# A slow display: frames arrive faster than the page plays them, so it always holds some
# unplayed ones, also when the final data arrive after Pause.
SLOW_DISPLAY = """
window.requestAnimationFrame = (cb) => setTimeout(() => cb(performance.now()), 120);
window.cancelAnimationFrame = (id) => clearTimeout(id);
"""


def _flat(value) -> list:
    if isinstance(value, np.ndarray):
        return value.ravel().tolist()
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            out.extend(_flat(v) if isinstance(v, (list, tuple, np.ndarray)) else [v])
        return out
    return [value]


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _mismatches(page, doc) -> list[str]:
    """Named sources whose page data differ from the server's."""
    bad = []
    for src in doc.select({"type": ColumnDataSource}):
        if not src.name:
            continue
        shown = helpers.source_data(page, src.name)
        if shown is None:
            continue
        for column, values in src.data.items():
            mine, theirs = _flat(values), _flat(shown.get(column, []))
            if len(mine) != len(theirs) or not all(map(_same, mine, theirs)):
                bad.append(f"{src.name}.{column}")
    return bad


@pytest.mark.parametrize("key", list(CASES))
def test_played_frames_end_exactly_where_the_server_is(browser, key):
    start, pause, watched = CASES[key]
    with InProcessServer([key]) as srv:
        page = browser.new_page()
        page.add_init_script(SLOW_DISPLAY)
        page.goto(f"{srv.url}/{key}")
        page.locator(f".explainer-{key}").first.wait_for(timeout=90_000)
        built = srv.latest()
        animator = built.section.animator
        if watched:
            helpers.wait_for_bokeh(page, watched, timeout=60)
            helpers.start_counting_changes(page, watched)
        page.get_by_role("button", name=start, exact=True).first.click()
        wait_until(lambda: animator.frames > 30, timeout=60)
        if watched:
            # many separate frames reached the page, not one jump per message
            wait_until(lambda: helpers.changes(page, watched) >= 10, timeout=30)
        if pause:
            page.get_by_role("button", name=pause, exact=True).first.click()
        wait_until(lambda: not animator.running, timeout=60)
        wait_until(lambda: not _mismatches(page, built.doc), timeout=30)
        page.close()
