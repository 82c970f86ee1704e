"""The page-wide conventions note: ±1 vs 0/1 units, the factor 2, T and the sign of ΔE.

Shown once on the story page, in the header's pane (site/page.py), as a closed
``<details>`` element with the id ``conventions``; every section's prose links to it with
``[conventions](#conventions)`` (static/explainer.js opens and scrolls to it, through
Panel's shadow roots).
"""

from __future__ import annotations

import html

from . import prose

KEY = "conventions"
ANCHOR = "conventions"

NOTE_CSS = """
details { border: 1px solid var(--explainer-muted, #888); border-radius: 4px;
          padding: .3em .9em; margin: .4em 0; }
summary { cursor: pointer; font-family: var(--explainer-sans); font-size: .95rem;
          color: var(--explainer-ink, inherit); }
"""


def note_markdown() -> str:
    """The note as Markdown: the ``note`` part inside a closed ``<details>``."""
    summary = html.escape(prose.text(KEY, "summary"))
    return (
        f'<details id="{ANCHOR}"><summary>{summary}</summary>\n\n'
        f"{prose.text(KEY, 'note')}\n\n</details>"
    )
