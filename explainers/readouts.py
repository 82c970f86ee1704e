"""The one readout component: labelled live numbers (energy, step, Z, p ...) of a section."""

from __future__ import annotations

import html

import panel as pn
from bokeh.models import ColumnDataSource, Range1d

from . import frames
from . import palette as pal
from .views import SR_ONLY_CSS, bare_figure, ink, lean


class Readouts:
    """Labelled live numbers drawn as text glyphs on one small canvas, plus a text copy.

    A changing number is one small ``patch`` of a named source: the browser repaints this
    canvas only, where a changing HTML pane would make it lay out the whole page again.
    The visually hidden text copy is for screen readers; it follows the numbers when
    ``update(..., announce=True)`` (pass False for live frames nobody could listen to).

    Parameters
    ----------
    name : str
        Name of the source (a test hook, ``"<key>-readouts"``); columns ``label``, ``value``.
    labels : sequence of str
        One readout per label, in reading order.
    per_row : int or None
        Readouts per line (default: all on one line).
    width : int or None
        Pixel width; None stretches to the column's width.
    """

    def __init__(self, name: str, labels, per_row: int | None = None, width: int | None = None):
        labels = list(labels)
        per_row = max(1, min(per_row or len(labels), len(labels)))
        rows = -(-len(labels) // per_row)
        self.values: dict[str, str] = dict.fromkeys(labels, "–")
        self.source = ColumnDataSource(
            {
                "x": [float(i % per_row) + 0.02 for i in range(len(labels))],
                "y_label": [rows - i // per_row - 0.05 for i in range(len(labels))],
                "y_value": [rows - 1 - i // per_row + 0.05 for i in range(len(labels))],
                "label": labels,
                "value": ["–"] * len(labels),
            },
            name=name,
        )
        sizing = {} if width is not None else {"sizing_mode": "stretch_width"}
        fig = bare_figure(
            width,
            56 * rows,
            min_border=0,
            x_range=Range1d(0, per_row),
            y_range=Range1d(0, rows),
            **sizing,
        )
        fig.background_fill_alpha = 0.0
        fig.border_fill_alpha = 0.0
        common = {"source": self.source, "text_align": "left"}
        lean(
            fig.text(
                "x", "y_label", text="label", text_baseline="top", text_font_size="10pt",
                text_color=pal.MUTED, **common,
            )
        )  # fmt: skip
        values = lean(
            fig.text(
                "x", "y_value", text="value", text_baseline="bottom", text_font_size="16pt",
                text_color=ink(), **common,
            )
        )  # fmt: skip
        # Both show every row of the one source: one view (and filter) serves the two.
        values.view = fig.renderers[0].view
        self.figure = fig
        self.alt = pn.pane.HTML(self._alt_html(), stylesheets=[SR_ONLY_CSS], margin=0)
        self.pane = pn.Column(
            pn.pane.Bokeh(fig, margin=(4, 4), **sizing), self.alt, margin=0, **sizing
        )

    def __getitem__(self, label: str) -> str:
        return self.values[label]

    def text(self) -> str:
        """The readouts as one line of text (what screen readers get)."""
        return "; ".join(f"{k}: {v}" for k, v in self.values.items())

    def update(self, values: dict[str, str], announce: bool = True) -> None:
        """Set several readouts in one patch (one event in the frame's message)."""
        labels = list(self.values)
        changes = []
        for label, value in values.items():
            if label not in self.values:
                raise KeyError(f"no readout labelled {label!r}")
            if value != self.values[label]:
                self.values[label] = value
                changes.append((labels.index(label), value))
        if changes:
            frames.patch(self.source, {"value": changes})
        if announce:
            self.flush()

    def _alt_html(self) -> str:
        # A polite live region: screen readers read the numbers out when they settle.
        return f'<div role="status" aria-live="polite">{html.escape(self.text())}</div>'

    def flush(self) -> None:
        """Bring the screen-reader copy up to date (after live frames, on pause)."""
        text = self._alt_html()
        if self.alt.object != text:
            self.alt.object = text
