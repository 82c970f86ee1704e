"""Mangled links: a pasted URL full of junk still opens a working page, with a message.

Each link below is opened in Chromium against the real app server.  The page must load
(HTTP 200, no script errors), every section it should show must render, the bad values must
be named in a visible message, and the simulation must still run when clicked.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from explainers.site.page import SECTIONS

from .helpers import (
    changes,
    collect_console_errors,
    scroll_to_section,
    start_counting_changes,
    wait_until,
)

pytestmark = pytest.mark.browser

OVERLONG = "9" * 4000

# (link, sections that must render, {section: words its message must contain},
#  (section, Run-button label, source streamed every frame) to check the page still runs)
LINKS = [
    (
        "/?hopfield.temperature=NaN&rbm.lr=-1e999&capacity.n=%00&bogus=1",
        list(SECTIONS),
        {"hopfield": ["temperature"], "rbm": ["lr"], "capacity": ["n"]},
        ("hopfield", "Run", "hopfield-energy"),
    ),
    (
        "/hopfield?hopfield.speed=999999999&hopfield.start=2222&hopfield.seed=-1",
        ["hopfield"],
        {"hopfield": ["speed", "start", "seed"]},
        ("hopfield", "Run", "hopfield-energy"),
    ),
    (
        "/ising?ising.L=1000000&ising.sweeps_per_frame=1e9&ising.method=%3Cscript%3E",
        ["ising"],
        {"ising": ["L", "sweeps_per_frame", "method"]},
        ("ising", "Run", "ising-lattice"),
    ),
    (
        f"/distribution?distribution.temperature={OVERLONG}&distribution.n_samples=-7",
        ["distribution"],
        {"distribution": ["temperature", "n_samples"]},
        None,
    ),
    (
        "/rbm?rbm.pattern=%27%20OR%201%3D1&rbm.speed=inf&"
        + quote("rbm.\u202e\U0001f4a5")
        + "=1&rbm.k="
        + quote("\u0663\u0663\u0663"),
        ["rbm"],
        {"rbm": ["pattern", "speed", "k"]},
        ("rbm", "Train", "rbm-error"),
    ),
    (
        "/annealing?annealing.n_runs=-5&annealing.strategy=%F0%9F%94%A5&embed=maybe",
        ["annealing"],
        {"annealing": ["n_runs", "strategy"]},
        None,
    ),
]


@pytest.mark.parametrize(("link", "sections", "messages", "run"), LINKS)
def test_a_mangled_link_opens_a_working_page(page, app_url, link, sections, messages, run):
    errors = collect_console_errors(page)
    response = page.goto(app_url + link, timeout=120_000)
    assert response is not None and response.status == 200
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=120_000)
    for key in sections:
        # The story page builds a section as the reader comes near it: go there.
        scroll_to_section(page, key)
        page.locator(f".explainer-{key}").first.wait_for(timeout=90_000)
    for key, words in messages.items():
        notice = page.locator(f".explainer-{key} .alert").first
        notice.wait_for(state="visible", timeout=30_000)
        for word in words:  # the message (inside the alert's shadow root) names the value
            named = notice.get_by_text(re.compile(re.escape(f"“{word}”")))
            assert named.count() >= 1 and named.first.is_visible(), f"{key}: no message on {word}"
    if run is not None:
        key, label, source = run
        start_counting_changes(page, source)
        section = page.locator(f".explainer-{key}")
        section.get_by_role("button", name=label, exact=True).first.click()
        wait_until(lambda: changes(page, source) >= 5, timeout=30)
        section.get_by_role("button", name="Pause", exact=True).first.click()
    assert [e for e in errors if "Traceback" in e or "Error" in e] == [], errors
