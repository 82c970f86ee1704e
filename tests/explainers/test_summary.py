"""The closing summary: one line per story step on the page, links only to shown sections."""

from __future__ import annotations

import re

from explainers import prose
from explainers.site.page import SECTIONS
from explainers.summary import LINES, summary, summary_markdown


def test_every_line_and_link_of_the_full_page():
    md = summary_markdown(list(SECTIONS))
    assert md.startswith("### The whole story in one breath")
    assert md.count("\n- ") == len(LINES)
    linked = set(re.findall(r"\]\(#(\w+)\)", md))
    assert linked == set(SECTIONS)  # every section is reached from the summary
    assert prose.text("summary", "closing") in md


def test_sections_that_are_off_leave_no_line_or_dead_link():
    md = summary_markdown(["sigmoid", "rbm"])
    assert md.count("\n- ") == 2
    assert set(re.findall(r"\]\(#(\w+)\)", md)) == {"sigmoid", "rbm"}
    # the distribution line is gone; the Hopfield line without its links has no "()"
    assert "Boltzmann probability" not in md
    md = summary_markdown(["hopfield", "sigmoid"])
    assert "([memory](#hopfield))." in md and "()" not in md


def test_summary_hides_when_embedded():
    assert summary(list(SECTIONS)).visible
    assert not summary(list(SECTIONS), embed=True).visible
