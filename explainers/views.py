"""Small reusable views: a clickable pixel grid, a streaming line chart, a heat map, legends.

Each view owns one Bokeh figure and one named ``ColumnDataSource`` and only ever updates it in
place (``patch`` / ``stream``), so a frame of animation is a few bytes on the wire and figures
are never rebuilt.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import panel as pn
from bokeh.events import Tap
from bokeh.models import (
    BasicTickFormatter,
    ColumnDataSource,
    GlyphRenderer,
    HoverTool,
    LinearColorMapper,
    LinearScale,
    Range1d,
)
from bokeh.plotting import figure

from . import frames
from . import palette as pal

# Visually hidden but read by screen readers.
SR_ONLY_CSS = """
:host { position: absolute !important; width: 1px; height: 1px; overflow: hidden;
        clip: rect(0 0 0 0); white-space: nowrap; margin: -1px; padding: 0; border: 0; }
"""
# The same, for one element inside a pane (class "sr-only").
SR_ONLY_CLASS_CSS = SR_ONLY_CSS.replace(":host", ".sr-only")


def is_dark() -> bool:
    return pn.config.theme == "dark"


def ink() -> str:
    """The colour of a main line or marker on the current theme's plot background."""
    return pal.INK_ON_DARK if is_dark() else pal.SPIN_ON


def themed(fig: figure) -> figure:
    """Give a figure the page's look (fonts, colours) for the light or the dark theme.

    Call it on every figure a section makes, so all plots match the article.
    """
    dark = is_dark()
    paper, text, grid = (
        ("#15171c", "#d9d6cf", "#2e323b") if dark else ("#fbf9f4", "#3a3d46", "#e6e1d6")
    )
    fig.background_fill_color = paper
    fig.border_fill_color = paper
    fig.outline_line_color = None
    if fig.title is not None:
        fig.title.text_color = text
        fig.title.text_font_style = "normal"
    for axis in fig.axis:
        axis.axis_label_text_color = text
        axis.major_label_text_color = text
        axis.axis_line_color = grid
        axis.major_tick_line_color = grid
        axis.minor_tick_line_color = None
        axis.axis_label_text_font_style = "normal"
        # Readable on a phone held at arm's length and from the back of a lecture hall.
        axis.axis_label_text_font_size = "13px"
        axis.major_label_text_font_size = "12px"
    for g in fig.grid:
        g.grid_line_color = grid
    for leg in fig.legend:
        leg.background_fill_color = paper
        leg.label_text_color = text
        leg.border_line_color = None
        leg.label_text_font_size = "12px"
    return fig


def chart(**kw) -> figure:
    """A figure for a chart: no toolbar and no tools (nothing to pan or zoom on a teaching
    plot, and each tool is one more model for every session to hold).

    Where both axes are plain linear ones they share one scale, one tick formatter and one
    label policy: these models only describe how to draw, and each is held by every session.
    """
    fig = figure(toolbar_location=None, tools="", **kw)
    if type(fig.x_scale) is LinearScale and type(fig.y_scale) is LinearScale:
        fig.y_scale = fig.x_scale
    axes = [*fig.xaxis, *fig.yaxis]
    if len(axes) == 2 and all(type(a.formatter) is BasicTickFormatter for a in axes):
        axes[1].formatter = axes[0].formatter
        axes[1].major_label_policy = axes[0].major_label_policy
    return fig


def bare_figure(width: int | None, height: int, min_border: int = 2, **kw) -> figure:
    """A figure with no axes, grid or toolbar: the frame is the picture (a grid, an image,
    a row of readouts).  ``width`` None leaves the width to ``sizing_mode``."""
    if width is not None:
        kw["width"] = width
    kw.setdefault("title", None)  # a Title model only where there is a title
    fig = figure(
        height=height,
        toolbar_location=None,
        tools="",
        min_border=min_border,
        outline_line_color=None,
        # Bokeh lines up the plot areas of figures in one column; a picture must keep its own
        # shape instead of taking a neighbouring chart's axis width.
        frame_align=False,
        # No axes at all rather than hidden ones: each axis brings a ticker, a formatter
        # and a grid, models that every session would hold for nothing.
        x_axis_type=None,
        y_axis_type=None,
        **kw,
    )
    # One scale for both axes: the browser derives each axis's own scale from it, so the
    # second model would be one more for every session to hold.
    fig.x_scale = fig.y_scale = LinearScale()
    return themed(fig)


def lean(renderer: GlyphRenderer) -> GlyphRenderer:
    """Drop a renderer's copies of its glyph for the selected and muted looks.

    ``figure.rect(...)`` and friends make three glyph models per renderer; on a plot where
    nothing is ever selected or muted the browser's automatic ones ("auto") look the same,
    and the copies are models every session would hold for nothing.
    """
    renderer.nonselection_glyph = "auto"
    renderer.muted_glyph = "auto"
    return renderer


def wrap_row(*objects, **kw) -> pn.Row:
    """The layout helper for a row of figures: a ``pn.Row`` that wraps when narrow.

    Within one section, figures sit either all in ``pn.FlexBox`` rows or none: a figure in a
    FlexBox beside one outside it can stay blank (docs/upstream.md).  Widgets go in
    :func:`control_row`.
    """
    return pn.Row(*objects, styles={"flex-wrap": "wrap"}, sizing_mode="stretch_width", **kw)


def control_row(*objects, align_items: str = "end", **kw) -> pn.Row:
    """A row of controls (and text) that wraps when narrow, its items lined up by
    ``align_items`` (CSS: "center", "end"...): one model per session where a FlexBox is two.

    Sized by CSS, not by Panel: Panel gives a stretching row the summed width of its items
    as its minimum width (and passes it up), which would make a phone scroll sideways.
    """
    styles = {"flex-wrap": "wrap", "width": "100%", "align-items": align_items}
    return pn.Row(*objects, styles=styles, **kw)


def fix_frame(fig, width: int | None = None) -> None:
    """Keep a picture's frame its own: not lined up with other plots' axes, and with
    ``width`` a fixed square frame so its cells stay square."""
    fig.frame_align = False
    fig.outline_line_color = pal.CELL_LINE
    if width is not None:
        fig.frame_width = width
        fig.frame_height = width


class ThrottledText:
    """Stands in for a pane's ``object`` and passes changes on at most once per interval.

    For a picture's screen-reader text while it animates: nobody can listen to thirty
    descriptions a second.  Call :meth:`flush` when the animation stops.

    Parameters
    ----------
    pane : pn.pane.HTML
    interval_s : float
    clock : callable() -> float
        Seconds on a monotonic clock (tests inject their own).
    """

    def __init__(self, pane, interval_s: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.pane = pane
        self.interval_s = interval_s
        self.clock = clock
        self._pending: str | None = None
        self._last = -float("inf")

    @property
    def object(self) -> str:
        return self.pane.object if self._pending is None else self._pending

    @object.setter
    def object(self, text: str) -> None:
        self._pending = text
        if self.clock() - self._last >= self.interval_s:
            self.flush()

    def flush(self) -> None:
        if self._pending is not None and self._pending != self.pane.object:
            self.pane.object = self._pending
            self._last = self.clock()
        self._pending = None


class PixelGrid:
    """A rows × cols grid of square cells drawn from one named source.

    The source has one row per cell (row-major, top-left first) with columns ``x``, ``y``,
    ``state`` (the value shown) and ``color``.

    Parameters
    ----------
    shape : (int, int)
        Rows and columns.
    name : str
        Name of the ``ColumnDataSource`` (a stable test hook, e.g. ``"hopfield-grid"``).
    values : array_like, shape (rows*cols,)
        Initial values.
    mode : {"spin", "grey", "diverging"}
        ``"spin"``: ±1 or 0/1 drawn as ink/paper; ``"grey"``: probabilities in [0, 1];
        ``"diverging"``: signed weights on the weight palette, symmetric about 0.
    on_click : callable(int) or None
        Called with the clicked cell's flat index.
    size : int
        Width and height of the figure in pixels.
    label : str
        Spoken name of the grid for the text alternative.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        name: str,
        values,
        mode: str = "spin",
        on_click: Callable[[int], None] | None = None,
        size: int = 150,
        label: str = "grid",
        title: str | None = None,
    ):
        self.shape = (int(shape[0]), int(shape[1]))
        self.mode = mode
        self.label = label
        self.scale = 1.0
        rows, cols = self.shape
        values = np.asarray(values, dtype=float).ravel()
        ys, xs = np.divmod(np.arange(rows * cols), cols)
        self.source = ColumnDataSource(
            {
                "x": xs.astype(float) + 0.5,
                "y": (rows - 1 - ys).astype(float) + 0.5,
                "state": values.copy(),
                "color": self._colors(values),
            },
            name=name,
        )
        x_range = Range1d(0, cols)
        fig = bare_figure(
            size,
            int(size * rows / cols),
            x_range=x_range,
            # The shape never changes and nothing pans or zooms: a square grid can use one
            # range for both axes.
            y_range=x_range if rows == cols else Range1d(0, rows),
            title=title,
        )
        renderer = fig.rect(
            "x",
            "y",
            width=0.94,
            height=0.94,
            source=self.source,
            fill_color="color",
            line_color=pal.CELL_LINE,
            line_width=1,
        )
        lean(renderer)
        self._on_click = on_click
        if on_click is not None:
            fig.on_event(Tap, self._tap)
        self.figure = fig
        self.alt = pn.pane.HTML(self._alt_text(values), stylesheets=[SR_ONLY_CSS], margin=0)
        self.pane = pn.pane.Bokeh(fig, margin=(2, 4))

    def _colors(self, values) -> list[str]:
        if self.mode == "spin":
            return pal.spin_colors(values)
        if self.mode == "grey":
            return pal.colors_for(values, pal.GREY_PALETTE, 0.0, 1.0)
        return pal.colors_for(values, pal.WEIGHT_PALETTE, -self.scale, self.scale)

    def _alt_text(self, values) -> str:
        rows, cols = self.shape
        if self.mode == "spin":
            cells = ["■" if v > 0 else "□" for v in values]
            lines = ["".join(cells[r * cols : (r + 1) * cols]) for r in range(rows)]
        else:
            lines = [
                " ".join(f"{v:+.2f}" for v in values[r * cols : (r + 1) * cols])
                for r in range(rows)
            ]
        return f"{self.label}, row by row: " + " / ".join(lines)

    def _tap(self, event) -> None:
        rows, cols = self.shape
        c, r = int(np.floor(event.x)), rows - 1 - int(np.floor(event.y))
        if 0 <= r < rows and 0 <= c < cols:
            self._on_click(r * cols + c)

    @property
    def values(self) -> np.ndarray:
        return np.asarray(frames.data(self.source)["state"], dtype=float)

    def update(self, values, scale: float | None = None) -> None:
        """Show new values, sending only the cells that changed."""
        values = np.asarray(values, dtype=float).ravel()
        if scale is not None and scale != self.scale:
            self.scale = float(scale)
            changed = np.arange(values.size)
        else:
            changed = np.flatnonzero(values != self.values)
        if changed.size == 0:
            return
        colors = self._colors(values[changed])
        frames.patch(
            self.source,
            {
                "state": [(int(i), float(values[i])) for i in changed],
                "color": [(int(i), str(c)) for i, c in zip(changed, colors, strict=True)],
            },
        )
        self.alt.object = self._alt_text(values)

    def view(self) -> pn.Column:
        return pn.Column(self.pane, self.alt, margin=0)


def grid_view(
    grid: PixelGrid, clock: Callable[[], float] = time.monotonic
) -> tuple[tuple[pn.pane.Bokeh, pn.pane.HTML], ThrottledText]:
    """The grid's pane and its screen-reader text, to put side by side in a row (the text is
    out of the flow: no column of their own, one model fewer per session); the text is
    throttled (see :class:`ThrottledText`), and the grid's ``alt`` becomes the throttle, so
    call its ``flush()`` on pause."""
    alt = ThrottledText(grid.alt, clock=clock)
    grid.alt = alt
    return (grid.pane, alt.pane), alt


class ServerRange:
    """A plot range that the server fits to streamed data, moving it only when needed.

    Bokeh's automatic ``DataRange1d`` refits itself in the browser after every redraw and
    sends its new start and end back to the server: one incoming message per range per
    frame, which the server must parse and apply.  This range is set by the server, and
    only when the data leave it or fill less than ``fill`` of it, so most frames carry no
    range change at all and nothing comes back.

    Parameters
    ----------
    start, end : float
        The range before any data arrive (and after :meth:`reset`).
    log : bool
        Fit in log10 space (for a log axis); data must then be positive.
    pad : float
        Room left below the data, as a fraction of their span.
    grow : float
        Room left above the data, as a fraction of their span: a streaming x axis grows
        by this much at a time instead of at every point.
    fill : float
        Refit when the data span less than this fraction of the range.
    min_span : float
        Smallest span fitted (in log10 units for a log range).
    """

    def __init__(
        self,
        start: float,
        end: float,
        *,
        log: bool = False,
        pad: float = 0.0,
        grow: float = 0.25,
        fill: float = 0.4,
        min_span: float = 1e-9,
    ):
        self.range = Range1d(start, end)
        self._initial = (start, end)
        self.log, self.pad, self.grow, self.fill, self.min_span = log, pad, grow, fill, min_span
        self._lo = self._hi = math.nan
        self._shown = self._transformed(start, end)  # kept here: Bokeh property reads are slow

    def _transformed(self, a: float, b: float) -> tuple[float, float]:
        return (math.log10(a), math.log10(b)) if self.log else (float(a), float(b))

    def _show(self, start: float, end: float) -> None:
        self._shown = self._transformed(start, end)
        self.range.update(start=start, end=end)

    def reset(self) -> None:
        """Forget the data seen so far and show the initial range."""
        self._lo = self._hi = math.nan
        self._show(*self._initial)

    def include(self, values: Sequence[float]) -> None:
        """Widen the tracked extent by new data points (NaN and, on a log range, values
        ≤ 0 are ignored) and refit if the range no longer suits it."""
        # Plain Python: a frame brings a handful of points, for which numpy's per-call cost
        # is most of the work.
        kept = [x for x in map(float, values) if math.isfinite(x) and (x > 0.0 or not self.log)]
        if kept:
            lo, hi = min(kept), max(kept)
            self.fit(
                lo if math.isnan(self._lo) else min(self._lo, lo),
                hi if math.isnan(self._hi) else max(self._hi, hi),
            )

    def fit(self, lo: float, hi: float) -> None:
        """Make the data extent exactly ``[lo, hi]`` (for example, the x values still kept
        after a rollover) and refit if the range no longer suits it."""
        self._lo, self._hi = float(lo), float(hi)
        a, b = self._transformed(self._lo, self._hi)
        start, end = self._shown
        span = max(b - a, self.min_span)
        if a >= start and b <= end and span >= self.fill * (end - start):
            return
        start, end = a - self.pad * span, a + span + self.grow * span
        if self.log:
            start, end = 10.0**start, 10.0**end
        self._show(start, end)


class LineChart:
    """A streaming line chart: one source, one line per y column, bounded history.

    Parameters
    ----------
    name : str
        Name of the source (test hook).
    x : str
        Name of the x column.
    lines : dict
        y column -> (legend label, colour).
    rollover : int
        Points kept; older ones scroll away.
    x_range, y_range : (float, float) or None
        A fixed range; None fits the axis to the data (see :class:`ServerRange`). A fitted
        x axis needs x values that increase from one point to the next.
    x_span : float
        Width of a fitted x axis before data arrive, and its smallest width.
    """

    def __init__(
        self,
        name: str,
        x: str,
        lines: dict[str, tuple[str, str]],
        title: str = "",
        x_label: str = "",
        y_label: str = "",
        rollover: int = 1000,
        height: int = 220,
        width: int = 600,
        x_range: tuple[float, float] | None = None,
        y_range: tuple[float, float] | None = None,
        x_span: float = 10.0,
    ):
        self.x = x
        self.columns = [x, *lines]
        self.rollover = rollover
        self.source = ColumnDataSource({c: [] for c in self.columns}, name=name)
        # Fitted ranges (None where fixed): never DataRange1d, whose browser-side refits
        # come back to the server on every frame.
        self.x_range = None if x_range else ServerRange(0.0, x_span, min_span=x_span)
        self.y_range = None if y_range else ServerRange(0.0, 1.0, pad=0.1, grow=0.1)
        fig = chart(
            height=height,
            width=width,
            title=title,
            sizing_mode="stretch_width",
            x_axis_label=x_label,
            y_axis_label=y_label,
            x_range=Range1d(*x_range) if x_range else self.x_range.range,
            y_range=Range1d(*y_range) if y_range else self.y_range.range,
        )
        # A legend only where it tells lines apart: its models would be held for nothing.
        labelled = len(lines) > 1
        for col, (label, color) in lines.items():
            named = {"legend_label": label} if labelled else {}
            lean(fig.line(x, col, source=self.source, line_width=2, color=color, **named))
        if labelled:
            fig.legend.location = "top_right"
            fig.legend.background_fill_alpha = 0.6
        themed(fig)
        fig.add_tools(HoverTool(tooltips=[(c, f"@{{{c}}}{{0.000}}") for c in self.columns]))
        self.figure = fig
        self.pane = pn.pane.Bokeh(fig, sizing_mode="stretch_width", margin=(4, 0))

    def stream(self, data: dict) -> None:
        """Append points: ``data`` maps every column to a sequence of equal length."""
        # Plain lists: a few points travel in the message itself, whereas each numpy column
        # would be sent as a separate binary frame; Bokeh extends them in place.
        columns = {
            c: v if isinstance(v, list) else np.asarray(v).tolist()
            for c, v in ((c, data[c]) for c in self.columns)
        }
        frames.stream(self.source, columns, self.rollover)
        xs = frames.data(self.source)[self.x]
        if self.x_range is not None and len(xs):
            self.x_range.fit(xs[0], xs[-1])
        if self.y_range is not None:
            self.y_range.include([v for c in self.columns[1:] for v in columns[c]])

    def clear(self) -> None:
        frames.replace(self.source, {c: [] for c in self.columns})
        for r in (self.x_range, self.y_range):
            if r is not None:
                r.reset()


class HeatMap:
    """A 2-D array drawn as one ``image`` glyph (one binary buffer per update).

    Parameters
    ----------
    name : str
        Name of the source; the array sits in column ``image``.
    shape : (int, int)
        Array shape (rows, cols).
    palette : list of str
    vmin, vmax : float
        Colour limits.
    """

    def __init__(
        self,
        name: str,
        shape: tuple[int, int],
        palette: list[str],
        vmin: float,
        vmax: float,
        width: int = 160,
        title: str | None = None,
        hover: bool = False,
    ):
        rows, cols = shape
        self.mapper = LinearColorMapper(palette=palette, low=vmin, high=vmax)
        self.source = ColumnDataSource({"image": [np.zeros(shape)]}, name=name)
        fig = bare_figure(
            width,
            max(int(width * rows / cols), 40),
            x_range=Range1d(0, cols),
            y_range=Range1d(0, rows),
            title=title,
        )
        lean(
            fig.image(
                "image", x=0, y=0, dw=cols, dh=rows, color_mapper=self.mapper, source=self.source
            )
        )
        if hover:
            fig.add_tools(HoverTool(tooltips=[("value", "@image{0.000}")]))
        self.figure = fig
        self.pane = pn.pane.Bokeh(fig, margin=(2, 4))

    def resize(self, rows: int, cols: int, fill: float = np.nan) -> None:
        """A new array shape, in the same figure."""
        fig = self.figure
        fig.x_range.end, fig.y_range.end = cols, rows
        glyph = fig.renderers[0].glyph
        glyph.dw, glyph.dh = cols, rows
        if fig.frame_width:
            fig.frame_height = max(int(fig.frame_width * rows / cols), 8)
        frames.replace(self.source, {"image": [np.full((rows, cols), fill)]})

    @property
    def shape(self) -> tuple[int, int]:
        """The shape of the array shown."""
        return frames.data(self.source)["image"][0].shape

    def update(self, array, vmin: float | None = None, vmax: float | None = None) -> None:
        # Bokeh draws images bottom-up; flip so row 0 is at the top like the pixel grids.
        frames.patch(self.source, {"image": [(0, np.ascontiguousarray(np.asarray(array)[::-1]))]})
        if vmin is not None:
            self.mapper.low = vmin
        if vmax is not None:
            self.mapper.high = vmax


def legend(low: str, high: str, palette: list[str], width: int = 220) -> pn.pane.HTML:
    """A small horizontal colour bar with a label at each end."""
    html = (
        f'<div class="legend" style="display:flex;align-items:center;gap:.5em;font-size:.8125rem">'
        f"<span>{low}</span>"
        f'<span style="display:inline-block;width:{width // 2}px;height:.8em;border-radius:3px;'
        f'background:{pal.gradient_css(palette)}"></span>'
        f"<span>{high}</span></div>"
    )
    return pn.pane.HTML(html, margin=(0, 4))


def picture_html(
    values, shape: tuple[int, int], label: str, title: str = "", size: int = 64
) -> str:
    """A small fixed grid of ±1 (or 0/1) cells as plain HTML, for pictures that never change.

    Looks like a :class:`PixelGrid` in ``"spin"`` mode (same colours and cell outlines) but
    costs no figure, source or glyph models.  ``label`` is read to screen readers with the
    cells row by row (put :data:`SR_ONLY_CLASS_CSS` in the pane's stylesheets).
    """
    rows, cols = int(shape[0]), int(shape[1])
    values = np.asarray(values, dtype=float).ravel()
    cells = "".join(
        f'<span style="background:{c};border:1px solid {pal.CELL_LINE}"></span>'
        for c in pal.spin_colors(values)
    )
    text = [
        "".join("■" if v > 0 else "□" for v in values[r * cols : (r + 1) * cols])
        for r in range(rows)
    ]
    caption = f'<div style="font-size:13px;margin:0 0 4px">{title}</div>' if title else ""
    return (
        f'<div class="picture" style="margin:2px 4px">{caption}'
        f'<div aria-hidden="true" style="display:grid;grid-template-columns:repeat({cols},1fr);'
        f"gap:{max(size // (cols * 16), 1)}px;width:{size}px;height:{size * rows // cols}px;"
        f'box-sizing:border-box">{cells}</div>'
        f'<span class="sr-only">{label}, row by row: {" / ".join(text)}</span></div>'
    )
