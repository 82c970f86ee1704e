"""Section "modern": dense associative memory and the modern Hopfield network (attention).

Three parts, every number from :mod:`engine.modern`:

1. Recall. The 26 capital letters, drawn on a 10 × 10 grid (n = 100 units), are stored; one
   is corrupted (a seeded fraction of its cells flipped) and settled by the classic rule
   (F(x) = x², the Hebbian network) and by the dense energies x³, x⁵ and exp, side by side.
2. Attention. The corrupted letter is the query of the continuous update
   ξ ← Xᵀ softmax(β X ξ), iterated to its fixed point; the bars are the softmax weights
   over the stored letters there.
3. Capacity. Fraction of random patterns recalled against their number, for the four
   energies on the same patterns, with the theory's counts marked.  Heavy, so it runs on
   the background pool (:class:`explainers.jobs.LatestJob`) and a newer request supersedes
   a running one.
"""

from __future__ import annotations

import math
import time

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, LogScale, Range1d
from bokeh.plotting import figure

from engine import (
    DENSE_KINDS,
    dense_capacity_curve,
    dense_settle,
    half_capacity,
    modern_retrieve,
    theory_capacity,
)
from engine.capacity import ALPHA_C, RETRIEVAL_THRESHOLD

from . import palette as pal
from .jobs import LatestJob
from .readouts import Readouts
from .section import FORMULA_CSS, KATEX_CSS, Section, WorkProgress
from .views import HeatMap, chart, fix_frame, ink, lean, themed, wrap_row

SIDE = 10  # letters are SIDE × SIDE cells
N_UNITS = SIDE * SIDE
PICTURE_PX = 70
KIND_NAMES = {2: "classic x²", 3: "dense x³", 5: "dense x⁵", "exp": "dense exp"}
KIND_KEYS = {2: "k2", 3: "k3", 5: "k5", "exp": "exp"}  # column / source-name suffixes
KIND_COLORS = {2: pal.MUTED, 3: pal.ACCENT_3, 5: pal.ACCENT_2, "exp": pal.ACCENT}
CAP_N_MIN, CAP_N_MAX = 16, 40
CAP_P_MAX = 4096  # the capacity plot's largest number of patterns
CAP_COUNTS = np.unique(np.round(2.0 ** (np.arange(0, 25) / 2)).astype(np.int64))
CAP_SEED = 2016  # the capacity plot's patterns are fixed: one seed, not the reader's
CAP_MIN_RECALLS = 64  # recalls per point of the curve (at least)
BETA_MAX = 0.5
WORKERS = 2  # threads per capacity computation (the engine's result does not depend on it)
MAX_ITER = 500  # continuous updates before the fixed-point search gives up
BLEND_LABEL, TOP_LABEL, ITER_LABEL = "letters in the blend, 1/Σw²", "largest weight", "updates"

# Bold capitals, '#' = on.  Drawn here so the section needs no data files.
_LETTER_ART = """
A ...####... ..##..##.. .##....##. .##....##. .##....##. .########. .##....##. .##....##. .##....##.
B .#######.. .##....##. .##....##. .##...##.. .######... .##...##.. .##....##. .##....##. .#######..
C ...#####.. ..##...##. .##....... .##....... .##....... .##....... .##....... ..##...##. ...#####..
D .######... .##...##.. .##....##. .##....##. .##....##. .##....##. .##....##. .##...##.. .######...
E .########. .##....... .##....... .##....... .######... .##....... .##....... .##....... .########.
F .########. .##....... .##....... .##....... .######... .##....... .##....... .##....... .##.......
G ...#####.. ..##...##. .##....... .##....... .##..####. .##....##. .##....##. ..##...##. ...#####..
H .##....##. .##....##. .##....##. .##....##. .########. .##....##. .##....##. .##....##. .##....##.
I ..######.. ....##.... ....##.... ....##.... ....##.... ....##.... ....##.... ....##.... ..######..
J .....####. .......##. .......##. .......##. .......##. .......##. .##....##. ..##..##.. ...####...
K .##....##. .##...##.. .##..##... .##.##.... .####..... .##.##.... .##..##... .##...##.. .##....##.
L .##....... .##....... .##....... .##....... .##....... .##....... .##....... .##....... .########.
M ##......## ###....### ####..#### ##.####.## ##..##..## ##......## ##......## ##......## ##......##
N .##....##. .###...##. .####..##. .##.##.##. .##..####. .##...###. .##....##. .##....##. .##....##.
O ...####... ..##..##.. .##....##. .##....##. .##....##. .##....##. .##....##. ..##..##.. ...####...
P .#######.. .##....##. .##....##. .##....##. .#######.. .##....... .##....... .##....... .##.......
Q ...####... ..##..##.. .##....##. .##....##. .##....##. .##.##.##. .##..####. ..##..##.. ...####.##
R .#######.. .##....##. .##....##. .##....##. .#######.. .##.##.... .##..##... .##...##.. .##....##.
S ..######.. .##....##. .##....... ..##...... ...####... ......##.. .......##. .##....##. ..######..
T .########. ....##.... ....##.... ....##.... ....##.... ....##.... ....##.... ....##.... ....##....
U .##....##. .##....##. .##....##. .##....##. .##....##. .##....##. .##....##. ..##..##.. ...####...
V .##....##. .##....##. .##....##. .##....##. ..##..##.. ..##..##.. ...####... ...####... ....##....
W ##......## ##......## ##......## ##......## ##..##..## ##.####.## ####..#### ###....### ##......##
X .##....##. .##....##. ..##..##.. ...####... ....##.... ...####... ..##..##.. .##....##. .##....##.
Y .##....##. .##....##. ..##..##.. ...####... ....##.... ....##.... ....##.... ....##.... ....##....
Z .########. .......##. ......##.. .....##... ....##.... ...##..... ..##...... .##....... .########.
"""


def _letters() -> dict[str, np.ndarray]:
    """Each letter as ±1 int8 (100,), row by row; the tenth row is blank."""
    out = {}
    for line in _LETTER_ART.strip().splitlines():
        name, *rows = line.split()
        rows.append("." * SIDE)
        assert len(rows) == SIDE and all(len(r) == SIDE for r in rows), name
        out[name] = np.array([1 if c == "#" else -1 for c in "".join(rows)], dtype=np.int8)
    return out


LETTERS = _letters()
NAMES = tuple(LETTERS)


def stored_names(letter: str, count: int) -> list[str]:
    """The stored letters: ``letter`` first, then the others in alphabetical order."""
    return [letter, *[c for c in NAMES if c != letter]][:count]


def corrupt(letter: str, noise: float, seed: int) -> np.ndarray:
    """``letter`` with ``round(noise · 100)`` distinct cells flipped, chosen by ``seed``."""
    s = LETTERS[letter].copy()
    k = int(math.floor(noise * N_UNITS + 0.5))
    flip = np.random.default_rng(seed).permutation(N_UNITS)[:k]
    s[flip] *= -1
    return s


def describe(state: np.ndarray, names: list[str], patterns: np.ndarray) -> tuple[str, float]:
    """The stored letter nearest to ``state`` (largest overlap) and that overlap m."""
    m = patterns.astype(np.int64) @ state.astype(np.int64) / N_UNITS
    i = int(np.argmax(m))
    return names[i], float(m[i])


def blend_size(weights: np.ndarray) -> float:
    """``1 / Σ w²``: how many patterns the softmax weights spread over (1 … p)."""
    return float(1.0 / np.sum(np.square(weights)))


def blend_kind(weights: np.ndarray) -> str:
    """ "one pattern", "a blend of a few" or "the global average", from :func:`blend_size`."""
    size, p = blend_size(weights), weights.size
    if size < 1.5:
        return "one pattern"
    if size > 0.75 * p:
        return "the global average"
    return "a blend of a few"


def _compute_capacity(n: int, report):
    """The capacity curves for ``n`` units (see :func:`engine.dense_capacity_curve`)."""
    t0 = time.perf_counter()
    curves = dense_capacity_curve(
        n,
        CAP_COUNTS,
        DENSE_KINDS,
        noise=0.0,
        seed=CAP_SEED,
        min_recalls=CAP_MIN_RECALLS,
        progress=lambda f: report(f),
        n_workers=WORKERS,
    )
    return n, curves, time.perf_counter() - t0


class ModernHopfield(Section):
    """Classic versus dense recall of letters, attention bars, and capacity curves."""

    key = "modern"
    title = "Beyond 0.138 n: dense memories and attention"
    url_params = ("letter", "letters", "noise", "seed", "beta", "cap_n")

    letter = param.Selector(objects=list(NAMES), default="M", doc="The letter to corrupt.")
    letters = param.Integer(default=26, bounds=(1, len(NAMES)), doc="How many letters are stored.")
    noise = param.Number(default=0.2, bounds=(0.0, 0.45), doc="Fraction of cells flipped.")
    seed = param.Integer(default=1, bounds=(0, 2**31 - 1), doc="Seed of the corruption.")
    beta = param.Number(
        default=0.15, bounds=(0.0, BETA_MAX), doc="Inverse temperature β of the update."
    )
    cap_n = param.Integer(
        default=24, bounds=(CAP_N_MIN, CAP_N_MAX), doc="Units in the capacity plot."
    )

    def __init__(self, **params):
        super().__init__(**params)
        self.recall_results: dict | None = None  # kind -> (state, nearest, m) once recalled
        self.attention_result: tuple | None = None  # (fixed point, energies, weights)
        self.capacity_result: tuple | None = None  # (n, curves, seconds)
        self._recall_src = ColumnDataSource(
            {"rule": [], "overlap": [], "nearest": [], "color": []}, name="modern-recall"
        )
        self._attention_src = ColumnDataSource(
            {"letter": [], "weight": []}, name="modern-attention"
        )
        cols = {"p": []} | {KIND_KEYS[k]: [] for k in DENSE_KINDS}
        self._capacity_src = ColumnDataSource(cols, name="modern-capacity")
        self._theory_src = ColumnDataSource(
            {"p": [], "y0": [], "y1": [], "label": [], "color": []}, name="modern-theory"
        )
        self._pictures = {
            name: self._picture(f"modern-{name}", title)
            for name, title in (("stored", "stored letter"), ("start", "corrupted"))
        }
        for k in DENSE_KINDS:
            self._pictures[KIND_KEYS[k]] = self._picture(
                f"modern-result-{KIND_KEYS[k]}", KIND_NAMES[k]
            )
        self._fixed = self._picture("modern-fixed", "fixed point ξ*", grey=True)
        self._recall_text = pn.pane.HTML("", css_classes=["modern-recall-text"], margin=(0, 4))
        self._store_text = pn.pane.HTML("", margin=(0, 4))
        self._beta_text = pn.pane.HTML("", css_classes=["modern-beta-text"], margin=(0, 4))
        self._cap_text = pn.pane.HTML("", css_classes=["modern-capacity-text"], margin=(0, 4))
        self.readouts = Readouts("modern-readouts", (BLEND_LABEL, TOP_LABEL, ITER_LABEL), per_row=3)
        self._progress = WorkProgress("Computing the curves")
        self.capacity_job = LatestJob(
            _compute_capacity,
            self._show_capacity,
            self._cap_progress,
            where="the capacity curves",
            on_refused=self._capacity_refused,
        )
        self._show_start()
        self._update_attention()
        doc = pn.state.curdoc
        self._loaded = doc is None or doc.session_context is None
        if self._loaded:
            self.recompute_capacity()
        else:
            # As in the capacity section: start the heavy job once the browser has drawn us.
            pn.state.onload(self._on_load)

    def _on_load(self) -> None:
        self._loaded = True
        self.recompute_capacity()

    @staticmethod
    def _draw(hm: HeatMap, values) -> None:
        hm.update(np.asarray(values, dtype=np.float64).reshape(SIDE, SIDE))

    @staticmethod
    def _picture(name: str, title: str, grey: bool = False) -> HeatMap:
        palette = pal.GREY_PALETTE if grey else [pal.SPIN_OFF, pal.SPIN_ON]
        hm = HeatMap(name, (SIDE, SIDE), palette, -1.0, 1.0, width=PICTURE_PX, title=title)
        hm.mapper.nan_color = "#00000000"  # a result not yet computed: no colour at all
        fix_frame(hm.figure, PICTURE_PX)
        # The frame alone sets the size (a fixed width as well clipped the frame's edge).
        hm.figure.width = hm.figure.height = None
        return hm

    # -- state ---------------------------------------------------------------------------
    def stored(self) -> tuple[list[str], np.ndarray]:
        """Names and ±1 patterns (p, 100) int8 of the stored letters."""
        names = stored_names(self.letter, self.letters)
        return names, np.stack([LETTERS[c] for c in names])

    def start(self) -> np.ndarray:
        return corrupt(self.letter, self.noise, self.seed)

    # -- recall --------------------------------------------------------------------------
    def recall(self, _event=None) -> dict:
        """Settle the corrupted letter under each energy and show the four results."""
        names, patterns = self.stored()
        start = self.start()
        target = LETTERS[self.letter]
        results = {}
        for k in DENSE_KINDS:
            s = dense_settle(patterns, start, k)
            nearest, m = describe(s, names, patterns)
            results[k] = (s, nearest, m, float(target.astype(int) @ s.astype(int) / N_UNITS))
        self.recall_results = results
        with pn.io.hold():
            for k, (s, *_rest) in results.items():
                self._draw(self._pictures[KIND_KEYS[k]], s)
            self._recall_src.data = {
                "rule": [KIND_NAMES[k] for k in DENSE_KINDS],
                "overlap": [results[k][3] for k in DENSE_KINDS],
                "nearest": [results[k][1] for k in DENSE_KINDS],
                "color": [KIND_COLORS[k] for k in DENSE_KINDS],
            }
            self._recall_text.object = self._recall_summary(results)
        return results

    def _recall_summary(self, results: dict) -> str:
        lines = []
        for k in DENSE_KINDS:
            s, nearest, m, m_target = results[k]
            if np.array_equal(s, LETTERS[self.letter]):
                verdict = f"recalled {self.letter} exactly"
            elif nearest == self.letter and m_target > RETRIEVAL_THRESHOLD:
                wrong = int(np.count_nonzero(s != LETTERS[self.letter]))
                verdict = f"recalled {self.letter} with {wrong} cells wrong"
            elif nearest == self.letter:
                verdict = (
                    f"<b>failed</b>: a spurious state, overlap only {m_target:.2f} with "
                    f"{self.letter}"
                )
            else:
                verdict = (
                    f"<b>failed</b>: drifted towards {nearest} (overlap {m:.2f}; "
                    f"{m_target:.2f} with {self.letter})"
                )
            lines.append(f"<b>{KIND_NAMES[k]}</b>: {verdict}.")
        return "<br>".join(lines)

    def _show_start(self) -> None:
        """Show the stored letter and its corrupted start; clear the four results."""
        names, _ = self.stored()
        start = self.start()
        self.recall_results = None
        blank = np.full((SIDE, SIDE), np.nan)
        with pn.io.hold():
            self._draw(self._pictures["stored"], LETTERS[self.letter])
            self._draw(self._pictures["start"], start)
            for k in DENSE_KINDS:
                self._draw(self._pictures[KIND_KEYS[k]], blank)
            self._recall_src.data = {"rule": [], "overlap": [], "nearest": [], "color": []}
            flipped = int(np.count_nonzero(start != LETTERS[self.letter]))
            self._recall_text.object = (
                f"{flipped} of {N_UNITS} cells of {self.letter} flipped. Press <b>Recall</b>."
            )
            self._store_text.object = self.text(
                "stored",
                p=len(names),
                n=N_UNITS,
                classic=int(math.floor(ALPHA_C * N_UNITS + 0.5)),
                alpha=len(names) / N_UNITS,
            )

    @param.depends("letter", "letters", "noise", "seed", watch=True)
    def _on_inputs(self) -> None:
        self._show_start()
        self._update_attention()

    def new_noise(self, _event=None) -> None:
        self.seed = self._other_seed()

    # -- attention -----------------------------------------------------------------------
    @param.depends("beta", watch=True)
    def _update_attention(self) -> None:
        names, patterns = self.stored()
        start = self.start().astype(np.float64)
        if self.beta > 0:
            fixed, energies, weights = modern_retrieve(
                patterns, start, self.beta, max_iter=MAX_ITER
            )
        else:  # β = 0: equal weights, and the first update lands on the average for good
            weights = np.full(len(names), 1.0 / len(names))
            fixed, energies = weights @ patterns, np.array([np.nan, np.nan])
        self.attention_result = (fixed, energies, weights)
        top = int(np.argmax(weights))
        with pn.io.hold():
            self._attention_src.data = {"letter": list(names), "weight": weights}
            self._draw(self._fixed, fixed)
            iterations = energies.size - 1
            self.readouts.update(
                {
                    BLEND_LABEL: f"{blend_size(weights):.2f}",
                    TOP_LABEL: f"{weights[top]:.2f} ({names[top]})",
                    ITER_LABEL: f"{iterations}" if iterations < MAX_ITER else f"> {MAX_ITER}",
                }
            )
            self._beta_text.object = self.text(
                "beta_state",
                beta=f"{self.beta:.3f}",
                kind=blend_kind(weights),
                size=f"{blend_size(weights):.1f}",
                top=names[top],
                weight=f"{weights[top]:.2f}",
            )

    # -- capacity ------------------------------------------------------------------------
    @param.depends("cap_n", watch=True)
    def recompute_capacity(self) -> None:
        self._progress.value = 0
        self._cap_text.object = "<i>computing the curves…</i>"
        if self._loaded:
            self._progress.visible = True
            self.capacity_job.request(self.cap_n)

    def _capacity_refused(self) -> None:
        self._progress.visible = False
        self._cap_text.object = self.text("capacity_refused")

    def _cap_progress(self, fraction: float, _partial) -> None:
        self._progress.value = int(round(100 * fraction))

    def _show_capacity(self, result) -> None:
        n, curves, seconds = result
        self.capacity_result = result
        theory = {k: theory_capacity(n, k) for k in DENSE_KINDS}
        shown = [k for k in DENSE_KINDS if 1 <= theory[k] <= CAP_P_MAX]
        halves = {k: half_capacity(CAP_COUNTS, curves[k][0]) for k in DENSE_KINDS}
        with pn.io.hold():
            self._capacity_src.data = {"p": CAP_COUNTS} | {
                KIND_KEYS[k]: curves[k][0] for k in DENSE_KINDS
            }
            self._theory_src.data = {
                "p": [theory[k] for k in shown],
                "y0": [0.0] * len(shown),
                "y1": [1.0] * len(shown),
                "label": [KIND_NAMES[k] for k in shown],
                "color": [KIND_COLORS[k] for k in shown],
            }
            self._progress.visible = False

            def fmt(x: float) -> str:
                return f"more than {CAP_P_MAX:,}" if math.isinf(x) else f"{x:,.0f}"

            self._cap_text.object = self.text(
                "capacity_state",
                n=n,
                recalls=CAP_MIN_RECALLS,
                seconds=f"{seconds:.2f}",
                half2=fmt(halves[2]),
                half3=fmt(halves[3]),
                half5=fmt(halves[5]),
                halfexp=fmt(halves["exp"]),
                th2=f"{theory[2]:.1f}",
                th3=f"{theory[3]:,.0f}",
                th5=f"{theory[5]:,.0f}",
                thexp=f"{theory['exp']:,.0f}",
            )

    # -- layout --------------------------------------------------------------------------
    def _recall_figure(self) -> figure:
        fig = chart(
            height=170,
            width=330,
            y_range=FactorRange(factors=[KIND_NAMES[k] for k in DENSE_KINDS][::-1]),
            x_range=Range1d(-1.05, 1.05),
            x_axis_label="overlap with the stored letter",
        )
        lean(
            fig.hbar(y="rule", right="overlap", height=0.6, color="color", source=self._recall_src)
        )
        fig.add_tools(HoverTool(tooltips=[("overlap", "@overlap{0.00}"), ("nearest", "@nearest")]))
        return themed(fig)

    def _attention_figure(self) -> figure:
        fig = chart(
            height=220,
            sizing_mode="stretch_width",
            x_range=FactorRange(factors=list(NAMES)),
            y_range=Range1d(0, 1.02),
            y_axis_label="softmax weight",
        )
        lean(fig.vbar(x="letter", top="weight", width=0.8, color=ink(), source=self._attention_src))
        fig.add_tools(HoverTool(tooltips=[("letter", "@letter"), ("weight", "@weight{0.000}")]))
        return themed(fig)

    def _capacity_figure(self) -> figure:
        fig = chart(
            height=300,
            sizing_mode="stretch_width",
            x_axis_type="log",
            x_range=Range1d(0.8, CAP_P_MAX * 1.25),
            y_range=Range1d(-0.03, 1.08),
            x_axis_label="number of stored random patterns p",
            y_axis_label="fraction recalled",
        )
        fig.x_scale = LogScale()
        for k in DENSE_KINDS:
            col = KIND_KEYS[k]
            color = ink() if k == 2 else KIND_COLORS[k]
            lean(
                fig.line(
                    "p",
                    col,
                    source=self._capacity_src,
                    line_width=2.5,
                    color=color,
                    legend_label=KIND_NAMES[k],
                )
            )
        lean(
            fig.segment(
                "p",
                "y0",
                "p",
                "y1",
                source=self._theory_src,
                line_dash="dashed",
                line_width=1.5,
                color="color",
            )
        )
        fig.legend.location = "bottom_left"
        fig.legend.background_fill_alpha = 0.7
        return themed(fig)

    def body(self) -> pn.viewable.Viewable:
        recall_controls = pn.FlexBox(
            pn.widgets.Select.from_param(self.param.letter, label="Letter", width=80),
            pn.widgets.IntSlider.from_param(self.param.letters, label="Letters stored", width=200),
            pn.widgets.FloatSlider.from_param(
                self.param.noise, label="Noise (fraction flipped)", step=0.01, width=200
            ),
            pn.widgets.IntInput.from_param(self.param.seed, label="Seed", width=130),
            self._button("New noise", self.new_noise, "Flip other cells"),
            self._button("Recall", self.recall, "Settle the start with each energy"),
            align_items="end",
        )
        # Plain rows: in a wrapping row these fixed-frame pictures were drawn clipped. Two
        # rows, so that the four results still fit across a phone.
        panes = [hm.pane for hm in self._pictures.values()]
        pictures = pn.Column(pn.Row(*panes[:2]), pn.Row(*panes[2:]), margin=0)
        attention = pn.Column(
            pn.widgets.FloatSlider.from_param(
                self.param.beta,
                label="Inverse temperature β",
                step=0.005,
                format="0.000",
                width=260,
            ),
            pn.pane.LaTeX(
                f"$${self.text('attention')}$$",
                renderer="katex",
                sizing_mode="stretch_width",
                styles={"font-size": "1.05em", "overflow-x": "auto"},
                stylesheets=[KATEX_CSS, FORMULA_CSS],
            ),
            self._fixed.pane,
            pn.pane.Bokeh(self._attention_figure(), sizing_mode="stretch_width"),
            self.readouts.pane,
            self._beta_text,
            sizing_mode="stretch_width",
        )
        capacity = pn.Column(
            self.prose_pane("capacity_intro"),
            pn.widgets.IntSlider.from_param(
                self.param.cap_n, label="Units n (capacity plot)", throttled=True, width=260
            ),
            pn.FlexBox(self._progress, align_items="center"),
            pn.pane.Bokeh(self._capacity_figure(), sizing_mode="stretch_width"),
            self._cap_text,
            sizing_mode="stretch_width",
        )
        return pn.Column(
            recall_controls,
            self._store_text,
            pictures,
            wrap_row(pn.pane.Bokeh(self._recall_figure()), self._recall_text),
            self.prose_pane("attention_intro"),
            attention,
            capacity,
            sizing_mode="stretch_width",
        )
