"""The closing summary of the story page: the whole story in one breath.

The words are in ``content/summary.md``; this module picks the lines for the sections the
page shows (a section that is switched off leaves no line pointing at nothing).
"""

from __future__ import annotations

import re

import panel as pn

from . import prose
from .section import PROSE_CSS

KEY = "summary"
#: One line per section that opens a step of the story, in story order.
LINES = ("hopfield", "modern", "sigmoid", "distribution", "annealing", "learning", "rbm")
# The bullets read like the rest of the prose (PROSE_CSS styles paragraphs only).
_LIST_CSS = "li { font-family: var(--explainer-serif); font-size: 1.06rem; line-height: 1.6; }"
_LINK = re.compile(r"\[([^\]]+)\]\(#(\w+)\)")


def _keep_links(line: str, keys: set[str]) -> str:
    """Drop links to sections the page does not show, and the brackets left empty."""
    line = _LINK.sub(lambda m: m.group(0) if m.group(2) in keys else "", line)
    line = re.sub(r"\(\s*,\s*", "(", line)
    line = re.sub(r",\s*\)", ")", line)
    return re.sub(r"\s*\(\s*\)", "", line)


def summary_markdown(keys: list[str]) -> str:
    """The summary as Markdown, one bullet per story step whose section is on the page."""
    shown = set(keys)
    bullets = [f"- {_keep_links(prose.text(KEY, k), shown)}" for k in LINES if k in shown]
    return (
        f"### {prose.text(KEY, 'title')}\n\n" + "\n".join(bullets) + "\n\n"
        + prose.text(KEY, "closing")
    )  # fmt: skip


def summary(keys: list[str], embed: bool = False) -> pn.pane.Markdown:
    """The summary pane for the end of the story page (hidden in embed mode)."""
    return pn.pane.Markdown(
        summary_markdown(keys),
        css_classes=["story-summary"],
        stylesheets=[PROSE_CSS, _LIST_CSS],
        sizing_mode="stretch_width",
        margin=(24, 0, 16, 0),
        visible=not embed,
    )
