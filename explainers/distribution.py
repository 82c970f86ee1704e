"""Section "distribution": the exact Boltzmann distribution of a 4-unit network, and sampling.

Sixteen bars, one per state, show ``p(s) = exp(-E(s)/T) / Z`` computed exactly by the engine
at the temperature on the slider.  "Sample" runs the stochastic network itself and lays the
frequencies it visited over the exact bars, with the total-variation distance against the
number of samples on a log-log plot.  The reader can edit all six weights and four biases.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool, Range1d
from bokeh.plotting import figure

from engine import (
    empirical_distribution,
    exact_stats,
    sample_states,
    state_index,
    tv_distance,
)

from . import palette as pal
from . import prose
from .jobs import LatestJob
from .readouts import Readouts
from .section import PROSE_CSS, Section, tip
from .views import chart, ink, legend, themed

N_UNITS = 4
N_STATES = 1 << N_UNITS
#: The six couplings, as (i, j) unit pairs (0-based); their params are named w12 ... w34.
PAIRS = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
WEIGHT_NAMES = tuple(f"w{i + 1}{j + 1}" for i, j in PAIRS)
BIAS_NAMES = tuple(f"b{i + 1}" for i in range(N_UNITS))
W_MAX = 3.0

# The default network tells a small story.  The top pair (units 1, 2) likes to agree
# strongly, the bottom pair (3, 4) mildly, and each column mildly disagrees; a small bias
# tips unit 1 on.  Cold, "top on, bottom off" wins outright (p > 0.9 at T = 0.2); at T = 1
# its mirror image and the "all on" / "all off" compromises stay in the game
# (0.28, 0.17, 0.10, 0.06), and the energies form an even staircase.
DEFAULT_WEIGHTS = {"w12": 0.75, "w13": -0.25, "w14": 0.0, "w23": 0.0, "w24": -0.25, "w34": 0.5}
DEFAULT_BIASES = {"b1": 0.25, "b2": 0.0, "b3": 0.0, "b4": 0.0}

# Where each unit sits, in the 2x2 glyph and in the diagram (SVG pixels): 1 2 / 3 4.
NODE_XY = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0], [100.0, 100.0]])
# Edge-label positions: sides outside the square, clear of the thickest stroke; diagonals
# on their own line, well apart, with a halo (below) so a thick stroke cannot hide them.
EDGE_LABEL_XY = {
    (0, 1): (50, -14),
    (2, 3): (50, 116),
    (0, 2): (-24, 50),
    (1, 3): (124, 50),
    (0, 3): (29, 29),
    (1, 2): (71, 29),
}
HALO = "paint-order:stroke;stroke:var(--explainer-paper, #fff);stroke-width:3px"
NAME_XY = np.array([[-24.0, -22.0], [124.0, -22.0], [-24.0, 128.0], [124.0, 128.0]])

# The glyph band under the bars lives on its own fixed y range, so it keeps its size while
# the probability axis changes scale.
GLYPH_RANGE = 10.0
BAND = 0.3  # the probability axis reaches down to -BAND * top, making room for the glyphs
_CELL = 0.38  # glyph cell width in bar units

TV_FLOOR = 1e-5  # the TV chart's lowest value: near-certain networks give 1e-200 and less
TIE_RTOL = 1e-9  # probabilities this close count as a tie for "most likely state"
SAMPLE_CHECKPOINTS = 14  # TV is measured after this many (log-spaced) prefixes of one run


def network_svg(W, b) -> str:
    """The 4-unit network as a small SVG: edges coloured and thickened by weight on the
    weight palette, nodes filled by bias, every number written out (and in the title, for
    screen readers)."""
    w = np.array([W[i, j] for i, j in PAIRS])
    b = np.asarray(b, dtype=float)
    edge_colors = pal.colors_for(w, pal.WEIGHT_PALETTE, -W_MAX, W_MAX)
    node_colors = pal.colors_for(b, pal.WEIGHT_PALETTE, -W_MAX, W_MAX)
    text = ink()
    parts = []
    for (i, j), wij, color in zip(PAIRS, w, edge_colors, strict=True):
        (x0, y0), (x1, y1) = NODE_XY[i], NODE_XY[j]
        # a faint dashed skeleton, so a zero weight still shows where an edge would be;
        # the coloured stroke only for a real weight (zero is near-white on the palette)
        parts.append(
            f'<line x1="{x0:g}" y1="{y0:g}" x2="{x1:g}" y2="{y1:g}" stroke="{pal.MUTED}" '
            f'stroke-opacity="0.5" stroke-width="1" stroke-dasharray="3 3"/>'
        )
        if abs(wij) > 1e-9:
            parts.append(
                f'<line x1="{x0:g}" y1="{y0:g}" x2="{x1:g}" y2="{y1:g}" stroke="{color}" '
                f'stroke-width="{1.5 + 3.0 * abs(wij):.2f}" stroke-linecap="round"/>'
            )
    for (i, j), wij in zip(PAIRS, w, strict=True):
        lx, ly = EDGE_LABEL_XY[(i, j)]
        parts.append(
            f'<text x="{lx}" y="{ly}" fill="{text}" font-size="10" style="{HALO}">{wij:+.2f}</text>'
        )
    for k in range(N_UNITS):
        x, y = NODE_XY[k]
        # dark fills (|b| large) get light text and light fills dark text, for contrast
        fg = pal.SPIN_OFF if abs(b[k]) > 0.45 * W_MAX else pal.SPIN_ON
        nx, ny = NAME_XY[k]
        parts.append(
            f'<circle cx="{x:g}" cy="{y:g}" r="18" fill="{node_colors[k]}" '
            f'stroke="{pal.CELL_LINE}" stroke-width="1.5"/>'
            f'<text x="{x:g}" y="{y:g}" fill="{fg}" font-size="9.5">{b[k]:+.2f}</text>'
            f'<text x="{nx:g}" y="{ny:g}" fill="{text}" font-size="9" '
            f'fill-opacity="0.8">unit {k + 1}</text>'
        )
    described = (
        "; ".join(f"w{i + 1}{j + 1} = {wij:+.2f}" for (i, j), wij in zip(PAIRS, w, strict=True))
        + "; "
        + "; ".join(f"b{k + 1} = {b[k]:+.2f}" for k in range(N_UNITS))
    )
    return (
        '<svg viewBox="-48 -44 196 190" width="230" height="223" role="img" '
        'style="font-family: var(--explainer-sans, sans-serif)" '
        'text-anchor="middle" dominant-baseline="central">'
        f"<title>The network: {described}</title>"
        + "".join(parts)
        + f'<text x="50" y="140" fill="{text}" font-size="9" fill-opacity="0.8">'
        f"{prose.text('distribution', 'diagram_caption')}</text></svg>"
    )


def glyph_text(s) -> str:
    """A state as two rows of squares, e.g. ``■■/□□`` (unit 1 top-left, 4 bottom-right)."""
    cells = ["■" if v > 0 else "□" for v in np.asarray(s).ravel()]
    return "".join(cells[:2]) + "/" + "".join(cells[2:])


def iid_tv_scale(probs) -> float:
    """``c`` such that ``c / sqrt(N)`` is the expected TV distance of N independent draws.

    For large N each frequency is nearly normal with standard deviation
    ``sqrt(p (1 - p) / N)``, whose mean absolute deviation is ``sqrt(2/pi)`` times that;
    half the sum over states gives ``sum_k sqrt(p_k (1 - p_k)) / sqrt(2 pi)``.
    """
    p = np.asarray(probs, dtype=float)
    return float(np.sum(np.sqrt(p * (1.0 - p))) / np.sqrt(2.0 * np.pi))


def checkpoints(n: int, k: int = SAMPLE_CHECKPOINTS) -> np.ndarray:
    """Log-spaced sample counts from 10 (or fewer) up to ``n`` inclusive, distinct."""
    lo = min(10, n)
    return np.unique(np.round(np.geomspace(lo, n, k)).astype(np.int64))


def _nice_top(peak: float) -> float:
    """Probability-axis top in steps (0.25, 0.5, 1), so bars are comparable across T."""
    for top in (0.25, 0.5):
        if peak * 1.08 <= top:
            return top
    return 1.05


class BoltzmannDistribution(Section):
    """Sixteen states, their exact probabilities, and a sampler that chases them."""

    key = "distribution"
    title = "Energy becomes probability: the Boltzmann distribution"
    url_params = (
        "temperature",
        *WEIGHT_NAMES,
        *BIAS_NAMES,
        "n_samples",
        "seed",
    )

    temperature = param.Number(default=1.0, bounds=(0.05, 10.0), doc="Temperature T (> 0).")
    w12 = param.Number(default=DEFAULT_WEIGHTS["w12"], bounds=(-W_MAX, W_MAX))
    w13 = param.Number(default=DEFAULT_WEIGHTS["w13"], bounds=(-W_MAX, W_MAX))
    w14 = param.Number(default=DEFAULT_WEIGHTS["w14"], bounds=(-W_MAX, W_MAX))
    w23 = param.Number(default=DEFAULT_WEIGHTS["w23"], bounds=(-W_MAX, W_MAX))
    w24 = param.Number(default=DEFAULT_WEIGHTS["w24"], bounds=(-W_MAX, W_MAX))
    w34 = param.Number(default=DEFAULT_WEIGHTS["w34"], bounds=(-W_MAX, W_MAX))
    b1 = param.Number(default=DEFAULT_BIASES["b1"], bounds=(-W_MAX, W_MAX))
    b2 = param.Number(default=DEFAULT_BIASES["b2"], bounds=(-W_MAX, W_MAX))
    b3 = param.Number(default=DEFAULT_BIASES["b3"], bounds=(-W_MAX, W_MAX))
    b4 = param.Number(default=DEFAULT_BIASES["b4"], bounds=(-W_MAX, W_MAX))
    n_samples = param.Integer(
        default=2000, bounds=(10, 100_000), doc="Samples drawn from the stochastic network."
    )
    seed = param.Integer(default=1, bounds=(0, 2**31 - 1), doc="Seed of the sampler.")

    def __init__(self, **params):
        super().__init__(**params)
        self.stats = None  # engine.BoltzmannStats of the current network
        self.last_sample: dict | None = None  # the run on screen (see _sample_job)
        self._showing_samples = False
        self.sampler = LatestJob(
            lambda *args: _sample_job(*args[:-1]),  # drops `report`: one run is short
            self._sample_done,
            where="the distribution sampler",
        )
        self.sampler.param.watch(self._on_sampler_busy, "busy")
        self._make_sources()
        self._make_readouts()
        self._recompute()

    # -- the network -----------------------------------------------------------------------
    @property
    def W(self) -> np.ndarray:
        """The coupling matrix, shape (4, 4) float64, symmetric with zero diagonal."""
        W = np.zeros((N_UNITS, N_UNITS))
        for (i, j), name in zip(PAIRS, WEIGHT_NAMES, strict=True):
            W[i, j] = W[j, i] = getattr(self, name)
        return W

    @property
    def b(self) -> np.ndarray:
        """The biases, shape (4,) float64."""
        return np.array([getattr(self, name) for name in BIAS_NAMES], dtype=float)

    def reset_network(self, _event=None) -> None:
        """Back to the default weights and biases."""
        self.param.update(**DEFAULT_WEIGHTS, **DEFAULT_BIASES)

    # -- sources ---------------------------------------------------------------------------
    def _make_sources(self) -> None:
        x = np.arange(N_STATES, dtype=float)
        zeros = np.zeros(N_STATES)
        self.bars = ColumnDataSource(
            {
                "x": x,
                "prob": zeros.copy(),
                "energy": zeros.copy(),
                "color": [pal.ENERGY_PALETTE[0]] * N_STATES,
                "state": [""] * N_STATES,
            },
            name="distribution-bars",
        )
        self.samples = ColumnDataSource({"x": [], "freq": []}, name="distribution-samples")
        # 4 cells under each bar: the state drawn as the 2x2 glyph.
        k, unit = np.divmod(np.arange(N_STATES * N_UNITS), N_UNITS)
        cols, rows = unit % 2, unit // 2
        self._glyph_on = np.array(
            [(kk >> (N_UNITS - 1 - u)) & 1 for kk, u in zip(k, unit, strict=True)]
        )
        self.glyphs = ColumnDataSource(
            {
                "x": k + (cols - 0.5) * (_CELL + 0.04),
                "y": 1.6 - rows * 1.05,
                "color": [pal.SPIN_ON if on else pal.SPIN_OFF for on in self._glyph_on],
            },
            name="distribution-glyphs",
        )
        self.tv = ColumnDataSource({"n": [], "tv": []}, name="distribution-tv")
        self.tv_guide = ColumnDataSource({"n": [], "guide": []}, name="distribution-tv-guide")
        self._diagram_pane = pn.pane.HTML("", width=236, height=236, margin=(0, 8, 0, 0))

    def _make_readouts(self) -> None:
        self.readouts = Readouts(
            # the most likely state last, in the right column: a tie makes its text long
            "distribution-readouts",
            ["Z", "log Z", "energy range", "most likely state"],
            2,
        )
        self._tv_text = pn.pane.Markdown(
            self.text("no_samples"), stylesheets=[PROSE_CSS], margin=(0, 4)
        )
        self._ratio_text = pn.pane.HTML("", css_classes=["distribution-ratio"], margin=(0, 4))

    # -- exact part ------------------------------------------------------------------------
    @param.depends("temperature", *WEIGHT_NAMES, *BIAS_NAMES, watch=True)
    def _on_network_change(self) -> None:
        self._recompute()
        if self._showing_samples:
            self.request_sample()

    def _recompute(self) -> None:
        """Exact statistics from the engine into the bars, diagram and readouts."""
        W, b = self.W, self.b
        stats = exact_stats(W, b, self.temperature)
        self.stats = stats
        probs, energies = stats.probs, stats.energies
        e_lo, e_hi = float(energies.min()), float(energies.max())
        colors = pal.colors_for(energies, pal.ENERGY_PALETTE, e_lo, e_hi)
        with pn.io.hold():
            all_rows = slice(0, N_STATES)
            self.bars.patch(
                {
                    "prob": [(all_rows, probs)],
                    "energy": [(all_rows, energies)],
                    "color": [(all_rows, colors)],
                    "state": [(all_rows, [glyph_text(s) for s in stats.states])],
                }
            )
            self._update_diagram(W, b)
            self._rescale()
            self.readouts.update(
                {
                    "Z": f"{np.exp(stats.log_z):.4g}",
                    "log Z": f"{stats.log_z:.3f}",
                    "most likely state": self.most_likely_text(),
                    "energy range": f"{e_lo:+.2f} … {e_hi:+.2f}",
                }
            )
            self._ratio_text.object = self.ratio_text()

    def most_likely(self) -> np.ndarray:
        """Indices of every state tied for the highest probability (ties: TIE_RTOL)."""
        probs = self.stats.probs
        return np.flatnonzero(np.isclose(probs, probs.max(), rtol=TIE_RTOL, atol=0.0))

    def most_likely_text(self) -> str:
        """The "most likely state" readout: every tied state, or how many tie."""
        top = self.most_likely()
        p = f"{self.stats.probs[top[0]]:.3f}"
        if top.size == 1:
            return self.text("top_one", state=glyph_text(self.stats.states[top[0]]), p=p)
        if top.size <= 3:
            states = " = ".join(glyph_text(self.stats.states[k]) for k in top)
            return self.text("top_tied", states=states, p=p)
        return self.text("top_many", count=top.size, p=p)

    def energy_levels(self) -> np.ndarray:
        """The distinct energies of the 16 states, increasing (equal up to rounding: one)."""
        e = np.sort(self.stats.energies)
        keep = np.concatenate([[True], np.diff(e) > 1e-9 * max(1.0, float(np.abs(e).max()))])
        return e[keep]

    def ratio_text(self) -> str:
        """The live odds sentence: the two lowest energy levels and their probability ratio,
        both from the engine's exact distribution."""
        levels = self.energy_levels()
        if levels.size < 2:
            return self.text("ratio_flat")
        stats = self.stats
        low = int(np.argmin(np.abs(stats.energies - levels[0])))
        nxt = int(np.argmin(np.abs(stats.energies - levels[1])))
        ratio = stats.probs[low] / stats.probs[nxt] if stats.probs[nxt] > 0 else np.inf
        return self.text(
            "ratio",
            e_low=_signed(levels[0]),
            e_next=_signed(levels[1]),
            gap=f"{levels[1] - levels[0]:.2f}",
            t=f"{self.temperature:.2f}",
            ratio=_big(ratio),
        )

    def _update_diagram(self, W, b) -> None:
        self._diagram_pane.object = network_svg(W, b)

    def _rescale(self) -> None:
        if not hasattr(self, "_y_range"):
            return
        peak = float(np.max(self.bars.data["prob"]))
        if len(self.samples.data["freq"]):
            peak = max(peak, float(np.max(self.samples.data["freq"])))
        top = _nice_top(peak)
        if self._y_range.end != top:
            self._y_range.update(start=-BAND * top, end=top)

    # -- sampling --------------------------------------------------------------------------
    @param.depends("seed", watch=True)
    def _on_seed_change(self) -> None:
        if self._showing_samples:
            self.request_sample()

    @param.depends("n_samples", watch=True)
    def _on_n_change(self) -> None:
        if self._showing_samples:
            self.request_sample()

    def new_seed(self, _event=None) -> None:
        """Pick a different seed and draw a fresh run with it."""
        seed = self._other_seed()
        self._showing_samples = True
        self.seed = seed  # the seed watcher starts the run

    def request_sample(self, _event=None) -> None:
        """Run the sampler for the current network, off the event loop.

        One run per session at a time: requests made while a run is going are merged
        into one follow-up run with the newest settings, so dragging a slider with the
        samples on screen never piles up work.
        """
        self._showing_samples = True
        self.sampler.request(self.W, self.b, self.temperature, self.n_samples, self.seed)

    def _on_sampler_busy(self, event) -> None:
        if hasattr(self, "_sample_button"):
            self._sample_button.loading = event.new

    def _sample_done(self, result: dict) -> None:
        """Show a finished run (the sampler drops runs whose settings moved on)."""
        self.last_sample = result
        with pn.io.hold():
            self.samples.data = {"x": np.arange(N_STATES, dtype=float), "freq": result["freq"]}
            self.tv.data = {"n": result["checkpoints"], "tv": result["tv"]}
            self.tv_guide.data = {"n": result["checkpoints"], "guide": result["guide"]}
            self._rescale()
            n, tv, guide = result["n"], result["tv"][-1], result["guide"][-1]
            text = self.text("tv", n=f"{n:,}", tv=_small(tv), guide=_small(guide))
            smallest = self._fit_tv_ranges(result)
            if smallest is not None:
                text += " " + self.text(
                    "tv_clamped", floor=_small(TV_FLOOR), smallest=_small(smallest)
                )
            self._tv_text.object = text

    def _fit_tv_ranges(self, result: dict) -> float | None:
        """Fit the TV chart to the run, never below :data:`TV_FLOOR`; returns the smallest
        value left off the chart, or None if all of it shows."""
        values = np.concatenate([result["tv"], result["guide"]])
        values = values[values > 0]  # a log axis drops zeros anyway
        lo, hi = (values.min(), values.max()) if values.size else (1e-3, 1.0)
        hidden = float(lo) if lo < TV_FLOOR else None
        lo = max(lo, TV_FLOOR)
        if hasattr(self, "_tv_x"):
            self._tv_x.update(start=8, end=result["n"] * 1.3)
            self._tv_y.update(start=lo / 1.6, end=min(max(hi, lo) * 1.6, 2.0))
        return hidden

    @property
    def tv_range(self) -> tuple[float, float]:
        """(start, end) of the TV chart's distance axis as drawn."""
        return (self._tv_y.start, self._tv_y.end)

    def clear_samples(self, _event=None) -> None:
        """Remove the sampled overlay and stop re-sampling on every change."""
        self._showing_samples = False
        self.sampler.cancel()
        self.last_sample = None
        with pn.io.hold():
            self.samples.data = {"x": [], "freq": []}
            self.tv.data = {"n": [], "tv": []}
            self.tv_guide.data = {"n": [], "guide": []}
            self._tv_text.object = self.text("no_samples")
            self._rescale()

    # -- figures ---------------------------------------------------------------------------
    def _bars_figure(self) -> figure:
        top = _nice_top(float(np.max(self.bars.data["prob"])))
        self._y_range = Range1d(-BAND * top, top)
        fig = chart(
            height=300,
            sizing_mode="stretch_width",
            x_range=Range1d(-0.6, N_STATES - 0.4),
            y_range=self._y_range,
            y_axis_label="probability",
        )
        fig.extra_y_ranges = {"glyphs": Range1d(0, GLYPH_RANGE)}
        bars = fig.vbar(
            x="x", top="prob", width=0.8, source=self.bars, fill_color="color", line_color=None
        )
        fig.rect(
            "x",
            "y",
            width=_CELL,
            height=0.95,
            source=self.glyphs,
            fill_color="color",
            line_color=pal.CELL_LINE,
            line_width=0.6,
            y_range_name="glyphs",
        )
        fig.scatter(
            "x",
            "freq",
            source=self.samples,
            marker="dash",
            size=24,
            line_width=3,
            line_color=pal.ACCENT,
            legend_label="sampled frequency",
        )
        # Above the plot, where no bar can be: the tallest bar may be anywhere.
        fig.legend.orientation = "horizontal"
        fig.legend.location = "top_left"
        fig.add_layout(fig.legend[0], "above")
        fig.add_tools(
            HoverTool(
                renderers=[bars],
                tooltips=[("state", "@state"), ("p", "@prob{0.0000}"), ("E", "@energy{+0.00}")],
            )
        )
        fig.xaxis.visible = False
        fig.xgrid.visible = False
        fig.yaxis.bounds = (0, 1)
        fig.ygrid.bounds = (0, 1)
        return themed(fig)

    def _tv_figure(self) -> figure:
        # Explicit ranges (set again after each run): a log axis cannot guess from no data.
        self._tv_x = Range1d(8, max(self.n_samples, 100) * 1.3)
        self._tv_y = Range1d(1e-3, 1.0)
        fig = chart(
            height=240,
            sizing_mode="stretch_width",
            x_axis_type="log",
            y_axis_type="log",
            x_range=self._tv_x,
            y_range=self._tv_y,
            x_axis_label="number of samples N",
            y_axis_label="TV distance to exact",
        )
        fig.line(
            "n",
            "guide",
            source=self.tv_guide,
            line_dash="dashed",
            color=pal.MUTED,
            line_width=2,
            legend_label="∝ 1/√N (independent draws)",
        )
        fig.line("n", "tv", source=self.tv, color=pal.ACCENT, line_width=2, legend_label="sampler")
        dots = fig.scatter("n", "tv", source=self.tv, color=pal.ACCENT, size=6)
        fig.add_tools(HoverTool(renderers=[dots], tooltips=[("N", "@n"), ("TV", "@tv{0.0000}")]))
        fig.legend.location = "bottom_left"
        fig.legend.background_fill_alpha = 0.7
        return themed(fig)

    # -- layout ----------------------------------------------------------------------------
    def _slider(self, name: str, label: str, width: int = 170) -> pn.widgets.FloatSlider:
        return pn.widgets.FloatSlider.from_param(
            self.param[name], label=label, step=0.05, format="+0.00", width=width
        )

    def body(self) -> pn.viewable.Viewable:
        temperature = pn.widgets.FloatSlider.from_param(
            self.param.temperature, label="Temperature T", step=0.05, format="0.00", width=300
        )
        self._sample_button = pn.widgets.Button(
            label="Sample", color="primary", width=100, description=tip("Run the network")
        )
        self._sample_button.on_click(self.request_sample)
        new_seed = pn.widgets.Button(label="New seed", width=100)
        new_seed.on_click(self.new_seed)
        clear = pn.widgets.Button(label="Clear samples", width=120)
        clear.on_click(self.clear_samples)
        n_input = pn.widgets.IntInput.from_param(
            self.param.n_samples, label="Samples N (10–100,000)", step=1000, width=170
        )
        seed_input = pn.widgets.IntInput.from_param(self.param.seed, label="Seed", width=130)
        reset = pn.widgets.Button(label="Default network", width=140)
        reset.on_click(self.reset_network)

        readouts = self.readouts.pane
        top_row = pn.FlexBox(
            self._diagram_pane,
            pn.Column(temperature, margin=0, styles={"flex": "1 1 300px"}),
            align_items="center",
        )
        editor = pn.Card(
            self.prose_pane("editor_help"),
            pn.FlexBox(*(self._slider(n, n) for n in WEIGHT_NAMES)),
            pn.FlexBox(*(self._slider(n, n) for n in BIAS_NAMES), reset),
            title=self.text("editor_title"),
            collapsed=False,
            sizing_mode="stretch_width",
            margin=(8, 0),
        )
        cold_hot = self.prose_pane("cold_hot")
        sampling = self.prose_pane("sampling")
        return pn.Column(
            top_row,
            readouts,
            pn.pane.Bokeh(self._bars_figure(), sizing_mode="stretch_width", margin=(4, 0)),
            legend("low energy (likely)", "high energy (rare)", pal.ENERGY_PALETTE),
            cold_hot,
            self.hide_when_embedded(self._ratio_text),
            sampling,
            pn.FlexBox(
                self._sample_button, new_seed, clear, n_input, seed_input, align_items="end"
            ),
            self._tv_text,
            pn.pane.Bokeh(self._tv_figure(), sizing_mode="stretch_width", margin=(4, 0)),
            editor,
            sizing_mode="stretch_width",
        )


def _signed(x: float) -> str:
    return f"{x:+.2f}".replace("-", "−")


def _big(x: float) -> str:
    """1.65 as 1.65, 22026.5 as 2.2 × 10⁴ (readable at any size)."""
    if not np.isfinite(x):
        return "∞"
    if x < 1e4:
        return f"{x:.3g}"
    mant, exp = f"{x:.1e}".split("e")
    return f"{mant} × 10{_superscript(int(exp))}"


def _superscript(k: int) -> str:
    return str(k).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _small(x: float) -> str:
    """0.0123 as 0.0123, 3e-7 as 3.0 × 10⁻⁷ (readable at any size)."""
    if x >= 1e-4:
        return f"{x:.4f}"
    mant, exp = f"{x:.1e}".split("e")
    return f"{mant} × 10{_superscript(int(exp))}"


def _sample_job(W, b, T, n, seed) -> dict:
    """Run the sampler and measure it against the exact distribution (worker thread).

    Returns
    -------
    dict with ``n`` (int), ``freq`` (16,) frequencies over all n samples, ``checkpoints``
    (k,) int64 prefix lengths, ``tv`` (k,) TV distance of each prefix's frequencies from
    the exact probabilities and ``guide`` (k,) the typical TV distance of that many
    independent draws.
    """
    probs = exact_stats(W, b, T).probs
    idx = state_index(sample_states(W, b, T, n, seed=seed))
    marks = checkpoints(n)
    tv = np.array([tv_distance(empirical_distribution(idx[:m], N_UNITS), probs) for m in marks])
    return {
        "n": int(n),
        "freq": empirical_distribution(idx, N_UNITS),
        "checkpoints": marks,
        "tv": tv,
        "guide": iid_tv_scale(probs) / np.sqrt(marks),
    }
