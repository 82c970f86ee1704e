"""Section "capacity": how many random patterns a Hopfield network can hold before recall fails.

The retrieval curve (fraction of recalls that land on their pattern, and the mean overlap,
against the load α = p / n) comes straight from :func:`engine.capacity_curve`; the marked
point at the reader's own p and the stored/start/recalled pictures come from the same
function and :func:`engine.recall_example`, with the same seed, so they agree with the curve.

The curve is heavy (about n³ work), so it runs on the shared background pool, block by block,
drawing itself from the left as it goes.  While it runs, a newer request does not queue
behind it: it supersedes it, and the old job stops at its next progress report.
"""

from __future__ import annotations

import math
import time

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool, Label, Range1d, Span
from bokeh.plotting import figure

from engine import ALPHA_C, RETRIEVAL_THRESHOLD, capacity_curve, max_patterns, recall_example
from engine.examples import first_crossing

from . import palette as pal
from .jobs import LatestJob
from .readouts import Readouts
from .section import PROSE_CSS, Section, WorkProgress
from .views import HeatMap, chart, fix_frame, ink, themed, wrap_row

N_MIN, N_MAX = 50, 400
ALPHA_TOP = 0.30  # the curve and the reader's p both stop at this load
N_LOADS = 30  # loads on the curve: p = round(k n / 100), k = 1..30
MAX_TRIALS = 8  # independent pattern sets per load, for small n (see trials_for)
N_BLOCKS = 5  # the curve arrives in this many pieces, low loads first
WORKERS = 2  # threads per computation (the engine's result does not depend on it)
EXAMPLE_PX = 100  # width of each of the three small pictures
PAD_COLOR = "#00000000"  # padding cells of a non-square picture: no colour at all
EXERCISE_N = 100  # the theory notes' exercise: how many patterns do 100 units hold?
RELIABLE = 0.9  # "holds" in the exercise's stricter sense: this fraction comes back


def load_grid(n: int) -> np.ndarray:
    """Pattern counts on the curve for ``n`` units: distinct ``max(1, round(k n / 100))``.

    Returns int64 (≤ 30,), increasing; the loads plotted are exactly ``p / n``.
    """
    k = np.arange(1, N_LOADS + 1)
    return np.unique(np.maximum(1, np.floor(k * n / 100 + 0.5)).astype(np.int64))


def trials_for(n: int) -> int:
    """Pattern sets per load for ``n`` units: 8 for n ≤ 100, falling as 1/n³ to 1 from n = 160.

    One curve costs about trials·n³: small networks get extra sets (which smooth their
    noisy curves) only while they cost no more than one set at n = 200, so the dearest
    request is always the single set at n = 400.
    """
    return int(min(MAX_TRIALS, max(1, math.floor(MAX_TRIALS * (100 / n) ** 3 + 1e-9))))


def max_p(n: int) -> int:
    """Largest p the reader may pick for ``n`` units (load ``ALPHA_TOP``)."""
    return int(math.floor(ALPHA_TOP * n + 0.5))


def picture_shape(n: int) -> tuple[int, int]:
    """A near-square (rows, cols) with rows·cols ≥ n, for drawing n units as a picture."""
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def as_picture(s, shape: tuple[int, int]) -> np.ndarray:
    """±1 units (n,) laid out row by row in ``shape``; cells past n are NaN (drawn blank)."""
    rows, cols = shape
    out = np.full(rows * cols, np.nan)
    s = np.asarray(s, dtype=float).ravel()
    out[: s.size] = s
    return out.reshape(rows, cols)


def _compute_curve(n, noise, seed, trials, report):
    """The retrieval curve on :func:`load_grid`, block by block (see ``jobs.LatestJob``).

    Returns ``(key, alphas, retrieved, overlap, seconds)``; every point equals what one
    call ``capacity_curve(n, alphas, trials, seed, noise)`` gives, because the engine draws
    each (n, p, trial) from its own random stream.
    """
    t0 = time.perf_counter()
    counts = load_grid(n)
    alphas = counts / n
    retrieved = np.full(counts.size, np.nan)
    overlap = np.full(counts.size, np.nan)
    total = float(counts.sum())
    done = 0.0
    report(0.0, (alphas, retrieved.copy(), overlap.copy()))
    for block in np.array_split(np.arange(counts.size), min(N_BLOCKS, counts.size)):
        weight = float(counts[block].sum())
        r, m = capacity_curve(
            n,
            alphas[block],
            n_trials=trials,
            seed=seed,
            noise=noise,
            progress=lambda f, d=done, w=weight: report((d + f * w) / total),
            n_workers=WORKERS,
        )
        retrieved[block], overlap[block] = r, m
        done += weight
        report(done / total, (alphas, retrieved.copy(), overlap.copy()))
    return (n, noise, seed, trials), alphas, retrieved, overlap, time.perf_counter() - t0


def _compute_current(n, p, noise, seed, trials, report):
    """The curve's value at the reader's p, and one recall drawn from the same numbers."""
    r, m = capacity_curve(n, [p / n], n_trials=trials, seed=seed, noise=noise, n_workers=WORKERS)
    report(0.5)
    example = recall_example(n, p, noise=noise, seed=seed, index=0)
    return (n, p, noise, seed, trials), float(r[0]), float(m[0]), example


class Capacity(Section):
    """Retrieval against load for random patterns, with the reader's own (n, p) marked."""

    key = "capacity"
    title = "How much can a Hopfield network remember?"
    url_params = ("n", "p", "noise", "seed")

    n = param.Integer(default=100, bounds=(N_MIN, N_MAX), doc="Number of units n.")
    p = param.Integer(
        default=10,
        bounds=(1, max_p(N_MAX)),
        doc="Number of stored random patterns p (at most 0.30 n).",
    )
    noise = param.Number(
        default=0.1, bounds=(0.0, 0.3), doc="Fraction of units flipped before each recall."
    )
    seed = param.Integer(default=1, bounds=(0, 2**31 - 1), doc="Seed of patterns and noise.")

    def __init__(self, **params):
        super().__init__(**params)
        self._curve_src = ColumnDataSource(
            {"alpha": [], "retrieved": [], "overlap": []}, name="capacity-curve"
        )
        self._current_src = ColumnDataSource(
            {"alpha": [np.nan], "p": [0], "retrieved": [np.nan], "overlap": [np.nan]},
            name="capacity-current",
        )
        self.curve_key: tuple | None = None  # (n, noise, seed, trials) of the curve shown
        self.curve_seconds = float("nan")  # wall time of the last full curve
        self.current_key: tuple | None = None
        self.example: tuple | None = None  # (pattern, start, recalled, overlap) as shown
        self._progress = WorkProgress("Computing the curve")
        self._status = pn.pane.HTML("", css_classes=["capacity-status"], margin=(4, 4))
        self.readouts = Readouts(
            "capacity-readouts", ["Load α = p / n", "Recalled (m > 0.95)", "Mean overlap"]
        )
        self._rule_out = pn.pane.HTML("", css_classes=["capacity-rule"], margin=(0, 4))
        self._half_out = pn.pane.HTML("", css_classes=["capacity-half"], margin=(0, 4))
        self._exercise_answer = pn.pane.HTML(
            self.text("exercise_pending"),
            css_classes=["capacity-exercise-answer"],
            stylesheets=[PROSE_CSS],
            margin=(0, 4),
        )
        shape = picture_shape(self.n)
        self._pictures = [
            HeatMap(
                f"capacity-{name}",
                shape,
                [pal.SPIN_OFF, pal.SPIN_ON],
                -1.0,
                1.0,
                width=EXAMPLE_PX,
                title=title,
            )
            for name, title in (
                ("stored", "stored pattern"),
                ("start", "corrupted start"),
                ("recalled", "recalled"),
            )
        ]
        for hm in self._pictures:
            hm.mapper.nan_color = PAD_COLOR
            fix_frame(hm.figure, EXAMPLE_PX)
            hm.resize(*shape)
        self._example_text = pn.pane.HTML("", css_classes=["capacity-example"], margin=(0, 4))
        self.curve_job = LatestJob(
            _compute_curve,
            self._show_curve,
            self._curve_progress,
            where="the capacity curve",
            on_refused=self._curve_refused,
        )
        self.current_job = LatestJob(_compute_current, self._show_current, where="the recall")
        msg = self._sync_p_bounds()
        if msg:
            self.show_messages([msg])
        self._show_rule()
        # In a served page, start computing once the browser has drawn the section: results
        # that arrive earlier are queued by Bokeh and replayed in any order on connection,
        # and an early change of the progress bar throws in Panel's not-yet-drawn view,
        # which drops the rest of that update (the curve).
        doc = pn.state.curdoc
        self._loaded = doc is None or doc.session_context is None
        if not self._loaded:
            pn.state.onload(self._on_load)
        self.recompute_curve()
        self.recompute_current()

    def _on_load(self) -> None:
        self._loaded = True
        self.recompute_curve()
        self.recompute_current()

    # -- requests ------------------------------------------------------------------------
    def _sync_p_bounds(self) -> str | None:
        """Keep p ≤ 0.30 n (a real bound); returns a message if p had to be lowered."""
        top = max_p(self.n)
        self.param.p.bounds = (1, top)
        if self.p > top:
            old = self.p
            self.p = top
            return self.text("p_lowered", n=self.n, top=top, old=old)
        return None

    @param.depends("n", watch=True)
    def _on_n(self) -> None:
        msg = self._sync_p_bounds()
        if msg:
            self.show_messages([msg])
        self._show_rule()
        self.recompute_curve()
        self.recompute_current()

    @param.depends("noise", "seed", watch=True)
    def _on_curve_inputs(self) -> None:
        self.recompute_curve()
        self.recompute_current()

    @param.depends("p", watch=True)
    def _on_p(self) -> None:
        self.recompute_current()

    def recompute_curve(self) -> None:
        self._progress.value = 0
        self._status.object = self.text("computing")
        if self._loaded:
            self._progress.visible = True
            self.curve_job.request(self.n, self.noise, self.seed, trials_for(self.n))

    def _curve_refused(self) -> None:
        self._progress.visible = False
        self._status.object = self.text("not_computed")

    def recompute_current(self) -> None:
        if self._loaded:
            self.current_job.request(self.n, self.p, self.noise, self.seed, trials_for(self.n))

    # -- actions -------------------------------------------------------------------------
    def exercise(self, _event=None) -> None:
        """The theory notes' exercise: n = 100 units, p = 14 ≈ 0.138 × 100 patterns."""
        self.n = EXERCISE_N
        self.p = max_patterns(EXERCISE_N)

    def new_seed(self, _event=None) -> None:
        self.seed = self._other_seed()

    def apply_values(self, raw, source: str = "link") -> list[str]:
        # p's upper bound follows n, so n must land first or a link's p would be clamped
        # against the old n.
        if "n" not in raw or len(raw) == 1:
            return super().apply_values(raw, source)
        first = super().apply_values({"n": raw["n"]}, source)
        rest = super().apply_values({k: v for k, v in raw.items() if k != "n"}, source)
        if first and rest:
            self._notice.object = "<br>".join([*first, *rest])
        return [*first, *rest]

    # -- showing results -----------------------------------------------------------------
    def _curve_progress(self, fraction: float, partial) -> None:
        with pn.io.hold():
            self._progress.value = int(round(100 * fraction))
            if partial is not None:
                alphas, r, m = partial
                self._curve_src.data = {"alpha": alphas, "retrieved": r, "overlap": m}

    def _show_curve(self, result) -> None:
        key, alphas, r, m, seconds = result
        self.curve_key, self.curve_seconds = key, seconds
        n, _, _, trials = key
        with pn.io.hold():
            self._curve_src.data = {"alpha": alphas, "retrieved": r, "overlap": m}
            self._progress.visible = False
            self._status.object = self.text(
                "curve_status",
                n=n,
                loads=alphas.size,
                sets=f"{trials} {'set' if trials == 1 else 'sets'} of patterns",
                seconds=f"{seconds:.2f}",
            )
            self._half_out.object = self.half_text(key, alphas, r)
            self._exercise_answer.object = self.exercise_answer(key, alphas, r)

    def _show_current(self, result) -> None:
        key, r, m, example = result
        n, p, noise, _, _ = key
        self.current_key, self.example = key, example
        pattern, start, recalled, overlap = example
        shape = picture_shape(n)
        with pn.io.hold():
            self._current_src.data = {
                "alpha": [p / n],
                "p": [p],
                "retrieved": [r],
                "overlap": [m],
            }
            self.readouts.update(
                {
                    "Load α = p / n": f"{p / n:.3f}",
                    "Recalled (m > 0.95)": f"{100 * r:.0f} %",
                    "Mean overlap": f"{m:.3f}",
                }
            )
            for hm, s in zip(self._pictures, (pattern, start, recalled), strict=True):
                if hm.shape != shape:
                    hm.resize(*shape)
                hm.update(as_picture(s, shape))
            verdict = self.text("verdict_yes" if overlap > RETRIEVAL_THRESHOLD else "verdict_no")
            pad = shape[0] * shape[1] - n
            pad_note = self.text("pad_note", pad=pad, rows=shape[0], cols=shape[1])
            self._example_text.object = self.text(
                "example",
                p=p,
                flipped=int(np.count_nonzero(pattern != start)),
                n=n,
                wrong=int(np.count_nonzero(pattern != recalled)),
                overlap=f"{overlap:.2f}",
                verdict=verdict,
                pad_note=f" {pad_note}" if pad else "",
            )

    def _show_rule(self) -> None:
        self._rule_out.object = self.text("rule", n=self.n, p=max_patterns(self.n))

    def half_text(self, key: tuple, alphas, retrieved) -> str:
        """Where the curve on screen first falls below one half, against 0.138."""
        n = key[0]
        alpha = first_crossing(alphas, retrieved, 0.5)
        if np.isnan(alpha):
            return self.text("half_none", n=n)
        if abs(alpha - ALPHA_C) < 0.01:
            relation = "close to"
        else:
            relation = "above" if alpha > ALPHA_C else "below"
        return self.text("half", n=n, alpha=f"{alpha:.3f}", p=f"{alpha * n:.0f}", relation=relation)

    def exercise_answer(self, key: tuple, alphas, retrieved) -> str:
        """The exercise read off the curve when it is the n = 100 curve, else a prompt."""
        n, noise, seed, _ = key
        if n != EXERCISE_N:
            return self.text("exercise_pending")
        p90 = first_crossing(alphas, retrieved, RELIABLE) * n
        p_half = first_crossing(alphas, retrieved, 0.5) * n
        if np.isnan(p90) or np.isnan(p_half):
            return self.text("half_none", n=n)
        return self.text(
            "exercise_answer",
            noise=f"{noise:.2f}",
            seed=seed,
            at_least=f"{100 * RELIABLE:.0f}",
            p90=f"{p90:.0f}",
            p_half=f"{p_half:.0f}",
        )

    # -- layout --------------------------------------------------------------------------
    def _figure(self) -> figure:
        fig = chart(
            height=300,
            sizing_mode="stretch_width",
            x_range=Range1d(0, ALPHA_TOP + 0.01),
            y_range=Range1d(-0.03, 1.08),
            x_axis_label="load α = p / n",
            y_axis_label="fraction recalled / mean overlap",
        )
        fig.add_layout(
            Span(location=ALPHA_C, dimension="height", line_color=pal.MUTED, line_dash="dashed")
        )
        fig.add_layout(
            Label(
                x=ALPHA_C,
                y=0.02,
                x_offset=4,
                text="0.138: the large-n limit",
                text_font_size="11px",
                text_color=pal.MUTED,
            )
        )
        curve = self._curve_src
        r1 = fig.line(
            "alpha", "retrieved", source=curve, line_width=3, color=ink(), legend_label="recalled"
        )
        fig.scatter("alpha", "retrieved", source=curve, size=4, color=ink())
        fig.line(
            "alpha",
            "overlap",
            source=curve,
            line_width=2,
            color=pal.ACCENT_2,
            legend_label="mean overlap",
        )
        fig.scatter("alpha", "overlap", source=curve, size=4, color=pal.ACCENT_2)
        for col in ("retrieved", "overlap"):
            fig.scatter(
                "alpha",
                col,
                source=self._current_src,
                size=13,
                color=pal.ACCENT,
                line_color="white",
            )
        fig.add_tools(
            HoverTool(
                renderers=[r1],
                mode="vline",
                tooltips=[
                    ("α", "@alpha{0.000}"),
                    ("recalled", "@retrieved{0.00}"),
                    ("overlap", "@overlap{0.000}"),
                ],
            )
        )
        fig.legend.location = "top_right"
        fig.legend.background_fill_alpha = 0.7
        return themed(fig)

    def body(self) -> pn.viewable.Viewable:
        controls = pn.FlexBox(
            pn.widgets.IntSlider.from_param(
                self.param.n, label="Units n", throttled=True, width=220
            ),
            pn.widgets.IntSlider.from_param(self.param.p, label="Patterns p", width=220),
            pn.widgets.FloatSlider.from_param(
                self.param.noise,
                label="Noise (fraction flipped)",
                step=0.01,
                format="0.00",
                throttled=True,
                width=220,
            ),
            pn.widgets.IntInput.from_param(self.param.seed, label="Seed", width=130),
            self._button("New seed", self.new_seed, "Draw new random patterns"),
            align_items="end",
        )
        exercise = pn.Column(
            self.hide_when_embedded(
                pn.pane.HTML(
                    '<p class="try" style="margin:0">'
                    + self.text("exercise", rule=max_patterns(EXERCISE_N))
                    + "</p>",
                    stylesheets=[PROSE_CSS],
                    sizing_mode="stretch_width",
                    margin=(4, 4),
                )
            ),
            self._button(
                f"Check it: n = {EXERCISE_N}, p = {max_patterns(EXERCISE_N)}",
                self.exercise,
                f"Set n = {EXERCISE_N} and p = {max_patterns(EXERCISE_N)}",
            ),
            self.hide_when_embedded(self._exercise_answer),
            sizing_mode="stretch_width",
        )
        readouts = self.readouts.pane
        pictures = wrap_row(*(hm.pane for hm in self._pictures))
        return pn.Column(
            controls,
            exercise,
            self._rule_out,
            pn.FlexBox(self._progress, self._status, align_items="center"),
            pn.pane.Bokeh(self._figure(), sizing_mode="stretch_width"),
            self._half_out,
            readouts,
            pictures,
            self._example_text,
            sizing_mode="stretch_width",
        )
