"""Section "learning": a fully visible Boltzmann machine learns T, L and O by wake and sleep.

Nine units (a 3x3 image) are trained so that the three shapes become likely.  Each step
measures the correlations ``<s_i s_j>`` under the data (wake) and under the model (sleep)
and moves every weight by their difference.  With only 2^9 = 512 states the sleep phase can
be computed exactly; a switch replaces it by heat-bath samples to show the noise sampling
brings.  Every number comes from :class:`engine.BoltzmannLearner`.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import panel as pn
import param
from bokeh.models import (
    ColumnDataSource,
    CustomJSHover,
    FactorRange,
    HoverTool,
    LinearColorMapper,
    LogScale,
    LogTicker,
    LogTickFormatter,
    Range1d,
)
from bokeh.plotting import figure

from engine import (
    SHAPES,
    BoltzmannLearner,
    data_moments,
    exact_gradient,
    exact_stats,
    state_index,
    to_spins,
)

from . import frames
from . import palette as pal
from .animation import Animator
from .readouts import Readouts
from .section import Section, tip
from .views import LineChart, bare_figure, chart, ink, legend, themed

N_UNITS = 9
SHAPE_NAMES = ("T", "L", "O")
#: The training set: the three shapes as rows of ±1 spins, shape (3, 9).
DATA = to_spins(np.array([SHAPES[k].ravel() for k in SHAPE_NAMES])).astype(np.float64)
CATEGORIES = [*SHAPE_NAMES, "everything else"]
INIT_STD = 0.1  # small random starting weights, so the seed matters from the first step
#: Sampled sleep phase: at most this many model samples per frame, whatever the settings,
#: so one session cannot hold the event loop for long.
SAMPLES_PER_FRAME = 4000
KL_ROLLOVER = 10_000
KL_X_STEPS = (100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000)
READOUT_EVERY = 6  # frames between updates of the numeric readouts while training
ALL_VIEWS = frozenset({"maps", "probs", "readouts"})
_DIFF_SCALES = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01)
#: What the step-size paragraph says about the default seed with the exact sleep phase,
#: measured with the engine; tests/explainers/test_learning.py runs it again to check.
STEP_SIZE_FACTS = {
    "seed": 1,
    "checked": "10 000",
    "stable": 0.115,
    "unstable": 0.12,
    "first_rise": 630,
    "kl_unstable": 0.03,
    "worse": 0.14,
    "kl_worse": 0.13,
}


def diff_scale(dW) -> float:
    """The smallest of 1, 0.5, 0.2, ..., 0.01 that covers max |dW| (colour scale ± this)."""
    peak = float(np.max(np.abs(dW)))
    fits = [s for s in _DIFF_SCALES if s >= peak]
    return min(fits) if fits else _DIFF_SCALES[0]


class _CorrelationMaps:
    """Three 9x9 maps side by side in ONE figure: data, model and their difference.

    One figure that scales with the column keeps the three maps in a row even on a phone
    (figures never go in a ``pn.FlexBox``: see ``views.wrap_row``). Each map has
    its own named source with an ``image`` column, updated in place by ``patch``.
    """

    GAP = 2.0  # empty cells between maps

    def __init__(self):
        self.mapper = LinearColorMapper(palette=pal.WEIGHT_PALETTE, low=-1.0, high=1.0)
        self.diff_mapper = LinearColorMapper(palette=pal.WEIGHT_PALETTE, low=-1.0, high=1.0)
        n = N_UNITS
        names = ("learning-data-corr", "learning-model-corr", "learning-diff")
        self.sources = [ColumnDataSource({"image": [np.zeros((n, n))]}, name=nm) for nm in names]
        x_range = Range1d(-1.2, 3 * n + 2 * self.GAP + 0.2)
        y_range = Range1d(-1.3, n + 2.2)
        fig = bare_figure(
            720,
            # square cells: the same data units per pixel on both axes
            round(720 * (y_range.end - y_range.start) / (x_range.end - x_range.start)),
            sizing_mode="scale_width",
            x_range=x_range,
            y_range=y_range,
        )
        self.titles = ColumnDataSource(
            {
                "x": [k * (n + self.GAP) + n / 2 for k in range(3)],
                "y": [n + 1.0] * 3,
                "text": ["data ⟨sᵢsⱼ⟩", "model ⟨sᵢsⱼ⟩", "data − model"],
            }
        )
        # Unit numbers along every map's columns (below) and the first map's rows (left):
        # unit k is cell k of the 3×3 image in reading order.
        ticks = [str(i + 1) for i in range(n)]
        self.ticks = ColumnDataSource(
            {
                "x": [k * (n + self.GAP) + i + 0.5 for k in range(3) for i in range(n)]
                + [-0.6] * n,
                "y": [-0.6] * (3 * n) + [n - i - 0.5 for i in range(n)],
                "text": ticks * 3 + ticks,
            }
        )
        renderers = []
        for k, src in enumerate(self.sources):
            renderers.append(
                fig.image(
                    "image",
                    x=k * (n + self.GAP),
                    y=0,
                    dw=n,
                    dh=n,
                    color_mapper=self.diff_mapper if k == 2 else self.mapper,
                    source=src,
                )
            )
        fig.text(
            "x",
            "y",
            text="text",
            source=self.titles,
            text_align="center",
            text_baseline="middle",
            text_font_size="10pt",
            text_color=ink(),
        )
        fig.text(
            "x",
            "y",
            text="text",
            source=self.ticks,
            text_align="center",
            text_baseline="middle",
            text_font_size="7.5pt",
            text_color=pal.MUTED,
        )
        # Hover names the pair: the map and unit j from x, unit i from y (row 1 on top).
        where = CustomJSHover(
            code=f"""
            const k = Math.floor(value), span = {n} + {self.GAP};
            if (format == "map") return ["data", "model", "data − model"][Math.floor(k / span)];
            if (format == "col") return String(k % span + 1);
            return String({n} - Math.floor(value));
            """
        )
        fig.add_tools(
            HoverTool(
                renderers=renderers,
                tooltips=[
                    ("map", "$x{map}"),
                    ("units i, j", "$y{row}, $x{col}"),
                    ("value", "@image{+0.000}"),
                ],
                formatters={"$x": where, "$y": where},
            )
        )
        self.figure = fig
        self.pane = pn.pane.Bokeh(fig, sizing_mode="stretch_width", margin=(4, 0))
        # changes only when the scale steps (a handful of times per run): a Panel pane is fine
        self.scale_note = pn.pane.HTML(self._note(1.0), margin=(0, 4))

    def update(self, data_C, model_C, dW) -> float:
        """Show the three matrices (row 0 at the top); returns the difference's scale."""
        for src, m in zip(self.sources, (data_C, model_C, dW), strict=True):
            frames.patch(
                src, {"image": [(0, np.ascontiguousarray(np.asarray(m, dtype=float)[::-1]))]}
            )
        scale = diff_scale(dW)
        if self.diff_mapper.high != scale:
            self.diff_mapper.update(low=-scale, high=scale)
            self.scale_note.object = self._note(scale)
        return scale

    @staticmethod
    def _note(scale: float) -> str:
        return BoltzmannLearning.text("scale_note", scale=f"{scale:g}")


class BoltzmannLearning(Section):
    """Wake minus sleep on 9 units, with the exact or a sampled sleep phase."""

    key = "learning"
    title = "Learning by wake and sleep"
    url_params = ("lr", "negative", "n_samples", "steps_per_frame", "seed")

    lr = param.Number(default=0.03, bounds=(0.005, 0.5), doc="Learning rate ε.")
    negative = param.Selector(
        default="exact",
        objects={"exact (512 states)": "exact", "sampled": "sampled"},
        doc="How the sleep phase is measured.",
    )
    n_samples = param.Integer(
        default=200, bounds=(10, 4000), doc="Model samples per step (sampled sleep phase)."
    )
    steps_per_frame = param.Integer(
        default=3, bounds=(1, 20), doc="Learning steps per animation frame (speed)."
    )
    seed = param.Integer(default=1, bounds=(0, 2**31 - 1), doc="Seed of the starting weights.")

    def __init__(self, **params):
        super().__init__(**params)
        self.learner = BoltzmannLearner(N_UNITS, seed=self.seed, init_std=INIT_STD)
        # the exact KL of the last KL_ROLLOVER steps drawn, and how many were drawn in all
        self.kl_history: deque[float] = deque(maxlen=KL_ROLLOVER)
        self._n_drawn = 0
        self.last = None  # the engine's LearningStep of the last step taken
        self.kl_chart = LineChart(
            "learning-kl",
            "step",
            {
                "kl_exact": ("exact sleep phase", ink()),
                "kl_sampled": ("sampled sleep phase", pal.ACCENT),
            },
            title="KL(data ‖ model), log scale",
            x_label="learning step",
            y_label="KL (nats)",
            rollover=KL_ROLLOVER,
            height=240,
            y_range=(1e-3, 20.0),  # fixed: a log axis cannot guess a range from no data
        )
        fig = self.kl_chart.figure
        # The x axis grows in steps, not every frame: re-measuring its tick labels on
        # every frame was a large part of the browser's work.
        fig.x_range = Range1d(0, KL_X_STEPS[0])
        fig.y_scale = LogScale()
        fig.yaxis.ticker = LogTicker()
        fig.yaxis.formatter = LogTickFormatter()
        fig.legend.visible = True
        self.maps = _CorrelationMaps()
        self.probs = ColumnDataSource(
            {
                "shape": CATEGORIES,
                "prob": [0.0] * 4,
                "color": [ink()] * 3 + [pal.MUTED],
            },
            name="learning-probs",
        )
        self.readouts = Readouts(
            "learning-readouts", ["step", "KL(data‖model)", "p(T)+p(L)+p(O)", "max |gap|"]
        )
        self.lr_note = pn.pane.HTML("", margin=(0, 4), css_classes=["learning-lr-note"])
        self.animator = Animator(self.frame, label_run="Train", where="the learning section")
        self._start_curve()
        self._show_state()

    # -- simulation ------------------------------------------------------------------------
    def steps_this_frame(self) -> int:
        """Learning steps per frame, capped for the (slower) sampled sleep phase."""
        if self.negative == "sampled":
            return max(1, min(self.steps_per_frame, SAMPLES_PER_FRAME // self.n_samples))
        return self.steps_per_frame

    def train(self, n_steps: int, views: frozenset[str] = ALL_VIEWS) -> None:
        """Take ``n_steps`` learning steps and show the result.

        The KL curve always gets the new points; ``views`` names which of "maps",
        "probs" and "readouts" to refresh too. Animation frames take turns (see
        :meth:`frame`) because each refreshed figure costs the browser a full repaint.
        """
        records = [
            self.learner.step(DATA, lr=self.lr, negative=self.negative, n_samples=self.n_samples)
            for _ in range(int(n_steps))
        ]
        self.last = records[-1]
        # Each record carries the exact KL *before* its update. A readout frame also
        # knows the KL *after* the last update, so the curve catches up to the present.
        fresh = [r for r in records if r.step >= self._n_drawn]
        steps, kl = [r.step for r in fresh], [r.kl for r in fresh]
        with pn.io.hold():
            kl_now = self._show_state(self.last, views)
            if kl_now is not None:
                steps.append(self.learner.n_steps)
                kl.append(kl_now)
            if steps:
                self._stream_kl(steps, kl)
            if "readouts" in views:
                self._show_rises()

    def _kl_columns(self, steps, kl) -> dict[str, list[float]]:
        """Curve columns for new points, coloured by the current sleep phase.

        Plain lists on purpose: a few numbers travel inside the JSON message, while
        numpy arrays would each become a separate binary websocket frame.
        """
        kl = [float(k) for k in kl]
        nan = [float("nan")] * len(kl)
        sampled = self.negative == "sampled"
        return {
            "step": [float(x) for x in steps],
            "kl_exact": nan if sampled else kl,
            "kl_sampled": kl if sampled else nan,
        }

    def _stream_kl(self, steps, kl) -> None:
        """Append exact KL values to the curve."""
        self.kl_history.extend(float(k) for k in kl)
        self._n_drawn += len(kl)
        frames.stream(self.kl_chart.source, self._kl_columns(steps, kl), KL_ROLLOVER)
        self._fit_x(steps[-1])

    def _fit_x(self, last_step: float) -> None:
        x_range = self.kl_chart.figure.x_range
        end = next((e for e in KL_X_STEPS if e >= last_step * 1.02), last_step * 1.5)
        # once old points scroll away (rollover), the start follows in coarse steps too
        start = max(0.0, (last_step - KL_ROLLOVER) // 1000 * 1000)
        if (x_range.start, x_range.end) != (start, end):
            x_range.update(start=start, end=end)

    def _start_curve(self) -> None:
        """The curve's first point, step 0. Assigned, not cleared then streamed: in one
        held frame the browser would get the new data *and* the stream, doubling it."""
        kl0 = self.learner.kl(DATA)
        self.kl_history.clear()
        self.kl_history.append(kl0)
        self._n_drawn = 1
        frames.replace(self.kl_chart.source, self._kl_columns([0], [kl0]))
        self.kl_chart.figure.x_range.update(start=0, end=KL_X_STEPS[0])

    def frame(self) -> None:
        """One animation frame: the curve every frame, maps and bars on alternate
        frames, the numbers every READOUT_EVERY frames (a browser repaints about two
        figures per frame comfortably; four made it fall behind)."""
        f = self.animator.frames
        views = {"maps"} if f % 2 == 0 else {"probs"}
        if f % READOUT_EVERY == 1:
            views.add("readouts")
        self.train(self.steps_this_frame(), frozenset(views))

    def step_once(self, _event=None) -> None:
        self.train(1)

    def reset(self, _event=None) -> None:
        """Back to the starting weights of the current seed; the KL curve starts again."""
        self.animator.pause()
        self.learner.reset(self.seed)
        self.last = None
        with pn.io.hold():
            self._start_curve()
            self._show_state()

    def new_seed(self, _event=None) -> None:
        self.seed = self._other_seed()  # the watcher resets

    @param.depends("seed", watch=True)
    def _on_seed(self) -> None:
        self.reset()

    # -- views -----------------------------------------------------------------------------
    def shape_probs(self) -> np.ndarray:
        """Exact model probability of T, L, O and of everything else, shape (4,)."""
        probs = exact_stats(self.learner.W, self.learner.b, self.learner.T).probs
        p = probs[state_index(DATA.astype(np.int8))]
        return np.append(p, max(0.0, 1.0 - float(p.sum())))

    def _show_state(self, record=None, views: frozenset[str] = ALL_VIEWS) -> float | None:
        """Refresh ``views`` (maps, probs, readouts) for the learner as it is now; returns
        the exact KL now when the readouts were refreshed (None otherwise).

        ``record`` (the last engine LearningStep) supplies the two phases' correlations as
        the step measured them, so a sampled sleep phase shows its noise; before any step
        the model's exact correlations are shown.
        """
        W, b = self.learner.W, self.learner.b
        if record is None:
            _, data_C = data_moments(DATA)
            model_C = exact_stats(W, b, self.learner.T).C
            dW, _ = exact_gradient(W, b, DATA, self.learner.T)
        else:
            data_C, model_C, dW = record.data_C, record.model_C, record.dW
        if "maps" in views:
            self.maps.update(data_C, model_C, dW)
        if not views & {"probs", "readouts"}:
            return None
        p = self.shape_probs()
        if "probs" in views:
            frames.patch(self.probs, {"prob": [(slice(0, 4), p.tolist())]})
        if "readouts" not in views:
            return None
        kl = self.learner.kl(DATA)
        if record is None:  # a reset: no step since; during training train() shows it
            self._show_rises()
        self.readouts.update(
            {
                "step": f"{self.learner.n_steps:,}",
                "KL(data‖model)": f"{kl:.4f}",
                "p(T)+p(L)+p(O)": f"{p[:3].sum():.3f}",
                "max |gap|": f"{np.max(np.abs(dW)):.3f}",
            },
            announce=not self.animator.running,
        )
        return kl

    def kl_rises(self) -> int:
        """Steps (of those still on the curve) after which the exact KL was higher."""
        kl = np.fromiter(self.kl_history, float)
        return int(np.count_nonzero(np.diff(kl) > 1e-12 * np.maximum(kl[:-1], 1.0)))

    def _show_rises(self) -> None:
        self.lr_note.object = self.text(
            "lr_live",
            lr=f"{self.lr:.3f}",
            rises=f"{self.kl_rises():,}",
            steps=f"{max(len(self.kl_history) - 1, 0):,}",
        )

    def _probs_figure(self) -> figure:
        fig = chart(
            height=220,
            sizing_mode="stretch_width",
            x_range=FactorRange(*CATEGORIES),
            y_range=Range1d(0, 1.0),
            title="the model's probability of each shape",
            y_axis_label="probability",
        )
        fig.vbar(x="shape", top="prob", width=0.7, source=self.probs, color="color")
        # The ceiling: three equally likely shapes can have at most 1/3 each.
        fig.segment(
            x0=[(s, -0.45) for s in SHAPE_NAMES],
            x1=[(s, 0.45) for s in SHAPE_NAMES],
            y0=[1 / 3] * 3,
            y1=[1 / 3] * 3,
            line_color=pal.ACCENT,
            line_dash="dashed",
            line_width=2,
            legend_label="ceiling 1/3 each",
        )
        fig.add_tools(HoverTool(tooltips=[("", "@shape"), ("p", "@prob{0.0000}")]))
        fig.legend.location = "top_right"
        fig.legend.background_fill_alpha = 0.7
        fig.xgrid.visible = False
        return themed(fig)

    def body(self) -> pn.viewable.Viewable:
        step = pn.widgets.Button(label="Step", width=80, description=tip("One learning step"))
        step.on_click(self.step_once)
        reset = pn.widgets.Button(label="Reset", width=80, description=tip("Same seed, step 0"))
        reset.on_click(self.reset)
        new_seed = pn.widgets.Button(label="New seed", width=100)
        new_seed.on_click(self.new_seed)
        seed = pn.widgets.IntInput.from_param(self.param.seed, label="Seed", width=130)
        lr = pn.widgets.FloatSlider.from_param(
            self.param.lr, label="Learning rate ε", step=0.005, format="0.000", width=220
        )
        speed = pn.widgets.IntSlider.from_param(
            self.param.steps_per_frame, label="Steps per frame", width=200
        )
        negative = pn.widgets.RadioButtonGroup.from_param(
            self.param.negative, color="default", variant="outline"
        )
        n_samples = pn.widgets.IntSlider.from_param(
            self.param.n_samples, label="Samples per sleep phase", step=10, width=220
        )
        n_samples.disabled = self.negative == "exact"
        self.param.watch(lambda e: setattr(n_samples, "disabled", e.new == "exact"), "negative")
        controls = pn.Column(
            pn.FlexBox(self.animator.button, step, reset, new_seed, seed, align_items="end"),
            pn.FlexBox(lr, speed, align_items="end"),
            self.lr_note,
            pn.FlexBox(
                pn.pane.HTML("<b>Sleep phase:</b>", margin=(8, 4)),
                negative,
                n_samples,
                align_items="center",
            ),
            sizing_mode="stretch_width",
        )
        why_exact = self.prose_pane("why_exact", **STEP_SIZE_FACTS)
        why_exact.margin = (8, 4, 0, 4)
        return pn.Column(
            controls,
            self.readouts.pane,
            self.maps.pane,
            pn.FlexBox(
                legend("−1 (disagree)", "+1 (agree)", pal.WEIGHT_PALETTE),
                self.maps.scale_note,
                align_items="center",
            ),
            pn.pane.HTML(self.text("maps_key"), margin=(0, 4)),
            self.kl_chart.pane,
            pn.pane.Bokeh(self._probs_figure(), sizing_mode="stretch_width", margin=(4, 0)),
            why_exact,
            sizing_mode="stretch_width",
        )
