"""Section "rbm": a restricted Boltzmann machine learns T, L and O, and what CD-1 hides.

Every number on screen comes from :class:`engine.RBM`: training (``fit``, one compiled call
per frame), the mean-field reconstruction error, the exact log-likelihood (a sum over the
16 hidden states), the hidden activations, the reconstructions and the dreams (the model's
own Gibbs chains).  This module decides what to show and when.

The training set
----------------
Each update sees one mini-batch holding ten copies of each shape (30 rows).  That is the
same data distribution as the three shapes alone, but CD then averages its negative phase
over 30 chains instead of 3, so the learning curves are smooth enough to read and the
lesson below shows for every seed we tried (20 of 20), not only a lucky one.

The lesson, measured with the defaults (CD-1, η = 0.3, seed 0)
--------------------------------------------------------------
The figures the text quotes live in :data:`RUN_FACTS` (the prose in ``content/rbm.md``
fills them in), and ``tests/explainers/test_rbm.py`` re-runs the engine against exactly
those values, so the text cannot drift away from the engine.

Cost per frame
--------------
One frame is one ``fit`` call (10 updates at the default speed, capped by
:data:`MAX_WORK` for PCD and large k), one exact likelihood and one reconstruction error;
it streams one point to the curves, and alternately refreshes the receptive fields and the
readouts.  The likelihood is therefore plotted once per frame, not once per update.
"""

from __future__ import annotations

import math

import numpy as np
import panel as pn
import param
from bokeh.models import (
    ColumnDataSource,
    FactorRange,
    HoverTool,
    Label,
    LinearColorMapper,
    Range1d,
    Span,
)
from bokeh.plotting import figure

from engine import RBM, SHAPES

from . import frames
from . import palette as pal
from .animation import Animator, notify
from .jobs import LatestJob
from .readouts import Readouts
from .section import Section
from .views import SR_ONLY_CSS, PixelGrid, ServerRange, chart, ink, legend, themed

N_VISIBLE, N_HIDDEN = 9, 4
SHAPE_NAMES = ("T", "L", "O")
#: The three shapes as rows of 9 bits, row-major (3, 9) float64.
DATA = np.array([SHAPES[s].ravel() for s in SHAPE_NAMES], dtype=np.float64)
COPIES = 10  # copies of each shape per mini-batch: 30 negative chains per update
#: PCD keeps this many persistent chains.  With only 30 they get stuck in the deep valleys
#: and the likelihood lurches even at small rates; with 300 it climbs steadily at η = 0.05
#: (to about −1.5 by step 6000) before it, too, starts to wander.
PCD_CHAINS = 300
BATCH = np.repeat(DATA, COPIES, axis=0)
#: Best possible mean log-likelihood of three distinct images: p = 1/3 each.
CEILING = math.log(1.0 / 3.0)
#: Mean log-likelihood of a model spreading its mass evenly over all 512 images.
FLOOR = -N_VISIBLE * math.log(2.0)
HISTORY = 5000  # points kept on the learning curves (one per frame: 50 000 steps at default)
N_DREAMS = 240  # chains per Dream; the fractions are over all of them
SHOWN_DREAMS = 12  # ... and this many are drawn
DREAM_COLS = 6
MAX_SPEED = 50  # training steps per frame: a real cap, a client can send any value
#: Gibbs round trips (summed over chains) one frame may spend: PCD or a large k get fewer
#: steps per frame rather than slow frames.
MAX_WORK = 3000
#: Colour limits of the weights (receptive fields and the machine's lines): fixed, and
#: said on screen, so a colour means the same weight all run long.
WEIGHT_LIMIT = 6.0
#: What the text says about a run with the defaults (CD-1, η = 0.3, seed 0), as measured
#: with the engine; tests/explainers/test_rbm.py re-measures every one.
RUN_FACTS = {
    "peak": -1.54,  # best mean log-likelihood ...
    "peak_step": 590,  # ... and where
    "ll_3000": -3.0,
    "ll_6000": -3.8,
    "err_peak": 0.003,  # reconstruction error at the peak ...
    "err_6000": 0.000001,  # ... and at step 6000
    "p_O": 0.94,  # exact p(O) at step 6000
    "p_T": 0.01,  # exact p(T) at step 6000 is below this
    "k10_peak": -1.2,  # CD-10's peak
    "pcd_6000": -1.5,  # PCD at η = 0.05, mean over steps 5000-6000
}


def _minus(text: str) -> str:
    return text.replace("-", "\u2212")


def run_text_values() -> dict[str, str]:
    """:data:`RUN_FACTS` as the text shows them."""
    f = RUN_FACTS
    return {
        "peak": _minus(f"{f['peak']:.2f}"),
        **{k: _minus(f"{f[k]:.1f}") for k in ("ll_3000", "ll_6000", "k10_peak", "pcd_6000")},
        "peak_step": str(f["peak_step"]),
        "err_peak": f"{f['err_peak']:g}",
        "err_6000": f"{f['err_6000']:.6f}",
        "p_O": f"{100 * f['p_O']:.0f} %",
        "p_T": f"{100 * f['p_T']:.0f} %",
        "pcd_chains": str(PCD_CHAINS),
    }


TABLE_CSS = """
table { border-collapse: collapse; font-size: .9em; margin-bottom: .3em; }
th, td { padding: .15em .6em; text-align: right; font-variant-numeric: tabular-nums; }
th.row { text-align: left; padding-left: 0; }
tr + tr { border-top: 1px solid color-mix(in srgb, currentColor 20%, transparent); }
"""

FIELDS_WIDTH = 4 * N_HIDDEN - 1  # four 3×3 fields side by side, one empty column between


def _dream(snapshot, steps: int, at_step: int, seed: int, _report):
    """N_DREAMS Gibbs chains of a copy of the weights (worker thread); what ``_show_dreams``
    shows."""
    model = RBM(N_VISIBLE, N_HIDDEN, seed=0)
    model.W, model.a, model.b = snapshot
    samples = model.dream(N_DREAMS, steps, seed=seed)
    return samples, model.log_probs(DATA), steps, at_step


def fields_image(W) -> np.ndarray:
    """The receptive fields (columns of W, shape (9, 4)) as one (3, 15) image for Bokeh.

    Field j occupies columns 4j..4j+2; the gaps are NaN (drawn transparent).  Rows are
    flipped because Bokeh draws images bottom-up.
    """
    img = np.full((3, FIELDS_WIDTH), np.nan)
    for j in range(N_HIDDEN):
        img[:, 4 * j : 4 * j + 3] = W[:, j].reshape(3, 3)
    return img[::-1].copy()


def edge_widths(w) -> np.ndarray:
    """Line widths (px) of the machine's edges: 0.5 px for w = 0, 4 px at |w| >= the limit."""
    return 0.5 + 3.5 * np.minimum(np.abs(np.asarray(w, dtype=float)) / WEIGHT_LIMIT, 1.0)


def parameter_counts(model: RBM) -> dict[str, int]:
    """The text's parameter count, from the model's own arrays."""
    n_v, n_h = model.W.shape
    n = n_v + n_h
    return {
        "n_v": n_v,
        "n_h": n_h,
        "n_w": model.W.size,
        "n_params": model.W.size + model.a.size + model.b.size,
        "n_units": n,
        "n_full": n * (n - 1) // 2 + n,
    }


def _cell_name(i: int) -> str:
    return f"row {i // 3 + 1}, column {i % 3 + 1}"


def pattern_bits(text: str) -> np.ndarray:
    """Nine 0/1 digits (row by row) -> float64 bits, shape (9,)."""
    return np.array([float(c == "1") for c in text])


def bits_pattern(bits) -> str:
    return "".join("1" if v > 0.5 else "0" for v in np.asarray(bits).ravel())


def shape_name(bits) -> str | None:
    """The name of the shape a 0/1 image equals exactly, or None."""
    b = np.asarray(bits, dtype=np.float64).ravel()
    for name, row in zip(SHAPE_NAMES, DATA, strict=True):
        if np.array_equal(b, row):
            return name
    return None


def _pct(p: float) -> str:
    if p < 0.001:
        return "< 0.1 %"
    if p < 0.01:
        return f"{100 * p:.1f} %"
    return f"{100 * p:.0f} %"


class RBMTrainer(Section):
    """Nine visible and four hidden bits learn T, L and O by contrastive divergence."""

    key = "rbm"
    title = "The restricted machine: cheap sampling, and what it costs"

    def standard_part(self, name: str) -> str:
        if name != "try_this":
            return super().standard_part(name)
        return self.text("try_this", **run_text_values())

    url_params = ("lr", "method", "k", "speed", "seed", "pattern", "dream_steps")
    text_formats = {"pattern": "nine 0/1 digits (the grid row by row)"}

    lr = param.Number(default=0.3, bounds=(0.01, 1.0), doc="Learning rate η.")
    method = param.Selector(
        default="CD",
        objects=["CD", "PCD"],
        doc="CD: negative chains restart at the data every update; PCD: they persist.",
    )
    k = param.Integer(default=1, bounds=(1, 10), doc="Gibbs round trips per update.")
    speed = param.Integer(
        default=10, bounds=(1, MAX_SPEED), doc="Training steps (updates) per animation frame."
    )
    seed = param.Integer(
        default=0, bounds=(0, 2**31 - 1), doc="Seed of the initial weights and all sampling."
    )
    pattern = param.String(
        default="111010110",
        regex=r"^[01]{9}$",
        doc="The visible image to reconstruct, nine 0/1 digits row by row.",
    )
    dream_steps = param.Integer(
        default=100, bounds=(1, 1000), doc="Gibbs round trips each dream chain runs."
    )

    def __init__(self, **params):
        super().__init__(**params)
        self.model = RBM(N_VISIBLE, N_HIDDEN, seed=self.seed)
        self._curves = ColumnDataSource({"step": [], "error": [], "loglik": []}, name="rbm-error")
        self._peak = ColumnDataSource({"step": [0], "loglik": [FLOOR]}, name="rbm-peak")
        # The best point so far is marked on both curves by a dotted line.
        self._peak_spans = [
            Span(
                name="rbm-peak-line",
                location=0,
                dimension="height",
                line_color=pal.ACCENT,
                line_dash="dotted",
                line_width=1.5,
            )
            for _ in range(2)
        ]
        self._ll_range = Range1d(FLOOR - 0.8, CEILING + 0.8)
        # Server-fitted: an automatic range's refits would come back from the browser on
        # every frame (see views.ServerRange).
        self._step_range = ServerRange(0.0, 10.0, min_span=10.0)
        self._err_range = ServerRange(0.01, 1.0, log=True, pad=0.15, grow=0.15, min_span=0.5)
        self._best = (-math.inf, 0)
        self._peak_shown = True
        self.readouts = Readouts(
            "rbm-readouts",
            [
                "Step",
                "Reconstruction error",
                "Log-likelihood (exact)",
                "Exact p(T) · p(L) · p(O)",
                "Largest |w|",
            ],
            per_row=3,
        )
        # The four receptive fields are one 3×15 image (3×3 blocks with NaN gaps between
        # them): a frame then sends one small image for all four.
        self._fields = ColumnDataSource(
            {"image": [np.full((3, FIELDS_WIDTH), np.nan)]}, name="rbm-fields"
        )
        self._field_labels = ColumnDataSource(
            {
                "label": [f"h{j + 1}" for j in range(N_HIDDEN)],
                "x": [4.0 * j + 1.5 for j in range(N_HIDDEN)],
            }
        )
        self._field_colors = LinearColorMapper(
            palette=pal.WEIGHT_PALETTE,
            low=-WEIGHT_LIMIT,
            high=WEIGHT_LIMIT,
            nan_color="rgba(0, 0, 0, 0)",
        )
        self._fields_scale = pn.pane.HTML(
            self.text("fields_scale", limit=WEIGHT_LIMIT),
            margin=(0, 4),
            css_classes=["rbm-field-scale"],
        )
        self._edges = self._edge_source()
        self._fields_alt = pn.pane.HTML("", stylesheets=[SR_ONLY_CSS], margin=0)
        self._visible = PixelGrid(
            (3, 3),
            "rbm-visible",
            pattern_bits(self.pattern),
            on_click=self.flip,
            size=132,
            label="visible layer",
            title="visible v (click)",
        )
        self._hidden = ColumnDataSource(
            {"unit": [f"h{j + 1}" for j in range(N_HIDDEN)], "prob": np.zeros(N_HIDDEN)},
            name="rbm-hidden",
        )
        self._hidden_alt = pn.pane.HTML("", stylesheets=[SR_ONLY_CSS], margin=0)
        self._recon = PixelGrid(
            (3, 3),
            "rbm-reconstruction",
            np.zeros(N_VISIBLE),
            mode="grey",
            size=132,
            label="reconstruction",
            title="reconstruction v′",
        )
        self._recon_note = pn.pane.HTML("", margin=(0, 4), css_classes=["rbm-recon-note"])
        self._draw_note = pn.pane.HTML("", margin=(0, 4), css_classes=["rbm-draw-note"])
        self._dreams = self._dream_source()
        self._dream_table = pn.pane.HTML(
            "", margin=(0, 4), css_classes=["rbm-dream-table"], stylesheets=[TABLE_CSS]
        )
        self._dream_alt = pn.pane.HTML("", stylesheets=[SR_ONLY_CSS], margin=0)
        self._editing = False
        self.dreamer = LatestJob(
            _dream, lambda result: self._show_dreams(*result), where="dreaming", supersede=False
        )
        self._speed_note = pn.pane.HTML("", margin=(0, 4), css_classes=["rbm-speed-note"])
        self._explain_speed()
        self.animator = Animator(
            self._frame, label_run="Train", label_pause="Pause", where="the RBM trainer"
        )
        self.animator.param.watch(self._on_running, "running")
        self.reset()

    # -- the numbers ---------------------------------------------------------------------
    @property
    def n_steps(self) -> int:
        """Training updates made since the last reset."""
        return self.model.n_updates

    def exact_log_probs(self) -> np.ndarray:
        """Exact log p(T), log p(L), log p(O) under the current model, shape (3,)."""
        return self.model.log_probs(DATA)

    # -- actions -------------------------------------------------------------------------
    @param.depends("seed", watch=True)
    def _on_seed(self) -> None:
        self.reset()

    @param.depends("pattern", watch=True)
    def _on_pattern(self) -> None:
        self._visible.update(pattern_bits(self.pattern))
        if not self._editing:
            self._draw_note.object = ""

    def reset(self, _event=None) -> None:
        """Fresh weights from the current seed: the same seed replays the same run."""
        self.model.reset(self.seed)
        self._corrupt_rng = np.random.default_rng([self.seed, 1])
        self._dream_rng = np.random.default_rng([self.seed, 2])
        self.dream_fractions: dict[str, float] | None = None
        self._best = (-math.inf, 0)
        self._peak_shown = True
        self._n_records = 0
        self._ll_low = FLOOR - 0.8
        with pn.io.hold():
            self._ll_range.start = self._ll_low
            self._record(live=False)
            self.reconstruct()
            self._clear_dreams()

    def new_seed(self, _event=None) -> None:
        """Another seed (and so a new run)."""
        self.seed = self._other_seed()

    def advance(self, n_steps: int, live: bool = False) -> None:
        """Make ``n_steps`` training updates with the current method and show the result."""
        self.model.fit(
            BATCH,
            epochs=int(n_steps),
            batch_size=BATCH.shape[0],
            lr=self.lr,
            k=self.k,
            persistent=self.method == "PCD",
            n_chains=PCD_CHAINS,
            shuffle=False,
            track_error=False,
        )
        self._record(live=live)

    def step(self, _event=None) -> None:
        """One training update."""
        with pn.io.hold():
            self.advance(1)

    def steps_per_frame(self) -> int:
        """The speed, reduced when one step is costly (PCD's many chains, large k)."""
        chains = PCD_CHAINS if self.method == "PCD" else BATCH.shape[0]
        return max(1, min(self.speed, MAX_WORK // (self.k * chains)))

    @param.depends("speed", "k", "method", watch=True)
    def _explain_speed(self) -> None:
        n = self.steps_per_frame()
        self._speed_note.object = (
            ""
            if n == self.speed
            else self.text(
                "speed_note", method=self.method, k=self.k, n=n, steps="steps" if n > 1 else "step"
            )
        )

    def _frame(self) -> None:
        self.advance(self.steps_per_frame(), live=True)

    def _on_running(self, event) -> None:
        if not event.new:  # paused: show everything as it is now
            with pn.io.hold():
                self._record_extras()

    def _record_extras(self) -> None:
        """The parts a live frame may skip: readouts, fields and their text alternative."""
        lp = self.exact_log_probs()
        err = self.model.reconstruction_error(DATA)
        self._update_readouts(self.n_steps, err, float(lp.mean()), lp)
        self._update_fields(live=False)
        if not self._peak_shown:
            self._show_peak()

    # -- recording one point -------------------------------------------------------------
    def _record(self, live: bool) -> None:
        m = self.model
        lp = self.exact_log_probs()
        ll = float(lp.mean())
        err = m.reconstruction_error(DATA)
        step = m.n_updates
        point = {"step": [int(step)], "error": [float(err)], "loglik": [ll]}
        if step == 0:
            # A fresh run replaces the curves outright.  (Clearing and then streaming in
            # one held frame would show the first point twice: the replacement is
            # serialised when the frame is sent, after the stream has been applied.)
            frames.replace(self._curves, point)
        else:
            frames.stream(self._curves, point, HISTORY)
        steps = frames.data(self._curves)["step"]
        self._step_range.fit(steps[0], steps[-1])
        if step == 0:
            self._err_range.reset()
        self._err_range.include([err])
        if ll > self._best[0]:
            self._best = (ll, step)
            self._peak_shown = False
        # The best-so-far marker moves on most frames early in training: while animating it
        # is redrawn with the readouts (10 times a second), and always on a step or pause.
        if not self._peak_shown and (not live or self._n_records % 3 == 2):
            self._show_peak()
        if ll < self._ll_low + 0.3:
            self._ll_low = math.floor(ll) - 1.0
            self._ll_range.start = self._ll_low
        self._n_records += 1
        # While animating, the numbers and the fields are each redrawn every third frame
        # (10 times a second, as fast as anyone reads), never in the same frame, to keep
        # every frame's message small; a step or a pause always shows everything.
        if not live or self._n_records % 3 == 0:
            self._update_readouts(step, err, ll, lp)
        if not live or self._n_records % 3 == 1:
            self._update_fields(live)

    def _show_peak(self) -> None:
        ll, step = self._best
        frames.patch(self._peak, {"step": [(0, int(step))], "loglik": [(0, float(ll))]})
        for span in self._peak_spans:
            span.location = step
        self._peak_shown = True

    @property
    def best(self) -> tuple[float, int]:
        """``(log-likelihood, step)`` of the best point of this run so far."""
        return self._best

    def _update_readouts(self, step: int, err: float, ll: float, lp: np.ndarray) -> None:
        p = np.exp(lp)
        self.readouts.update(
            {
                "Step": str(step),
                "Reconstruction error": f"{err:.2e}" if err < 0.01 else f"{err:.3f}",
                "Log-likelihood (exact)": f"{ll:.2f}".replace("-", "−"),
                "Exact p(T) · p(L) · p(O)": " · ".join(_pct(x) for x in p),
                "Largest |w|": f"{np.abs(self.model.W).max():.2f}",
            },
            announce=not self.animator.running,
        )

    def _update_fields(self, live: bool) -> None:
        W = self.model.W
        frames.patch(self._fields, {"image": [(0, fields_image(W))]})
        w = W.ravel()  # row-major (visible i, hidden j): the order of the edge source
        frames.patch(
            self._edges,
            {"w": [(slice(0, w.size), w)], "width": [(slice(0, w.size), edge_widths(w))]},
        )
        # The reconstruction names a step: keep it the model's step, not a stale one.
        self.reconstruct()
        if not live:
            self._update_fields_alt()

    def _update_fields_alt(self) -> None:
        W = self.model.W
        parts = [
            f"hidden unit {j + 1}: "
            + " / ".join(" ".join(f"{w:+.1f}" for w in W[r * 3 : r * 3 + 3, j]) for r in range(3))
            for j in range(N_HIDDEN)
        ]
        self._fields_alt.object = "Receptive fields, weights row by row. " + "; ".join(parts)

    # -- draw and reconstruct ------------------------------------------------------------
    def _set_pattern(self, bits, note: str) -> None:
        self._editing = True
        try:
            self.pattern = bits_pattern(bits)
        finally:
            self._editing = False
        self._draw_note.object = note

    def flip(self, i: int) -> None:
        """Flip visible cell ``i`` (row-major, 0..8)."""
        i = int(i)
        if not 0 <= i < N_VISIBLE:
            notify(f"There is no cell {i}; cells are numbered 0 to 8.")
            return
        bits = pattern_bits(self.pattern)
        bits[i] = 1.0 - bits[i]
        self._set_pattern(bits, self.text("flipped", cell=_cell_name(i)))

    def clear(self, _event=None) -> None:
        self._set_pattern(np.zeros(N_VISIBLE), self.text("cleared"))

    def load_corrupted(self, name: str) -> int:
        """Put shape ``name`` on the visible grid with one cell flipped (seeded choice).

        Returns the flipped cell.
        """
        if name not in SHAPE_NAMES:
            raise ValueError(f"unknown shape {name!r}; expected one of {SHAPE_NAMES}")
        bits = DATA[SHAPE_NAMES.index(name)].copy()
        cell = int(self._corrupt_rng.integers(N_VISIBLE))
        bits[cell] = 1.0 - bits[cell]
        self._set_pattern(bits, self.text("loaded", shape=name, cell=_cell_name(cell)))
        return cell

    def reconstruct(self, _event=None) -> np.ndarray:
        """Push the visible image once through: v → p(h | v) → p(v′ | p(h | v)).

        Returns the reconstruction, shape (9,) float64 in [0, 1].
        """
        v = pattern_bits(self.pattern)
        ph = self.model.hidden_probs(v)
        recon = self.model.visible_probs(ph)
        with pn.io.hold():
            frames.patch(self._hidden, {"prob": [(slice(0, N_HIDDEN), ph)]})
            self._hidden_alt.object = "Hidden activations p(h=1|v): " + ", ".join(
                f"h{j + 1} {p:.2f}" for j, p in enumerate(ph)
            )
            self._recon.update(recon)
            name = shape_name(recon > 0.5)
            what = f"<b>{name}</b>" if name else "none of the three shapes"
            self._recon_note.object = self.text("recon_note", step=self.n_steps, what=what)
        return recon

    # -- dreams --------------------------------------------------------------------------
    def _dream_source(self) -> ColumnDataSource:
        xs, ys, samples = [], [], []
        for s in range(SHOWN_DREAMS):
            r, c = divmod(s, DREAM_COLS)
            for i in range(N_VISIBLE):
                row, col = divmod(i, 3)
                xs.append(c * 4 + col + 0.5)
                ys.append((SHOWN_DREAMS // DREAM_COLS - 1 - r) * 4 + (2 - row) + 0.5)
                samples.append(s)
        n = len(xs)
        return ColumnDataSource(
            {
                "x": xs,
                "y": ys,
                "sample": samples,
                "state": np.zeros(n),
                "color": pal.spin_colors(np.zeros(n)),
            },
            name="rbm-dreams",
        )

    def _clear_dreams(self) -> None:
        n = SHOWN_DREAMS * N_VISIBLE
        frames.patch(
            self._dreams,
            {
                "state": [(slice(0, n), np.zeros(n))],
                "color": [(slice(0, n), pal.spin_colors(np.zeros(n)))],
            },
        )
        self._dream_table.object = self.text("no_dreams")
        self._dream_alt.object = "No dreams yet."

    def dream(self, _event=None) -> None:
        """Run N_DREAMS Gibbs chains of the model from random images; show 12 of them.

        The chains run on the shared worker pool (up to 1000 round trips each takes a
        fraction of a second) on a snapshot of the weights, so training may go on
        meanwhile.  The result lands in :attr:`dream_fractions` and on screen.
        """
        m = self.model
        snapshot = (m.W.copy(), m.a.copy(), m.b.copy())
        seed = int(self._dream_rng.integers(2**62))
        if not self.dreamer.request(snapshot, self.dream_steps, self.n_steps, seed):
            notify("Still dreaming: one dream at a time.")

    def _show_dreams(self, samples, log_probs, steps: int, at_step: int) -> None:
        names = [shape_name(row) for row in samples]
        frac = {s: names.count(s) / N_DREAMS for s in SHAPE_NAMES}
        frac["other"] = 1.0 - sum(frac.values())
        self.dream_fractions = frac
        p = np.exp(log_probs)
        exact = {s: float(x) for s, x in zip(SHAPE_NAMES, p, strict=True)}
        exact["other"] = max(0.0, 1.0 - float(p.sum()))
        shown = samples[:SHOWN_DREAMS].ravel()
        cols = ["T", "L", "O", "other"]
        head = "".join(f"<th>{c if c != 'other' else 'anything else'}</th>" for c in cols)
        row_d = "".join(f"<td>{_pct(frac[c])}</td>" for c in cols)
        row_e = "".join(f"<td>{_pct(exact[c])}</td>" for c in cols)
        with pn.io.hold():
            frames.patch(
                self._dreams,
                {
                    "state": [(slice(0, shown.size), shown)],
                    "color": [(slice(0, shown.size), pal.spin_colors(shown))],
                },
            )
            self._dream_table.object = (
                '<table class="rbm-dream-fractions">'
                f"<tr><th></th>{head}</tr>"
                f'<tr><th class="row">{N_DREAMS} dreams</th>{row_d}</tr>'
                f'<tr><th class="row">exact p(v)</th>{row_e}</tr></table>'
                + self.text("dream_caption", step=at_step, steps=steps)
            )
            self._dream_alt.object = "Dreams: " + ", ".join(
                n or "other" for n in names[:SHOWN_DREAMS]
            )

    # -- figures -------------------------------------------------------------------------
    def _edge_source(self) -> ColumnDataSource:
        """One row per weight, row-major (visible i, hidden j), as drawn by the machine."""
        xv = np.arange(N_VISIBLE, dtype=float)
        xh = np.linspace(1.0, N_VISIBLE - 2.0, N_HIDDEN)
        i, j = np.divmod(np.arange(N_VISIBLE * N_HIDDEN), N_HIDDEN)
        w = self.model.W.ravel()
        return ColumnDataSource(
            {
                "x0": xv[i],
                "y0": np.zeros(i.size),
                "x1": xh[j],
                "y1": np.ones(i.size),
                "pair": [f"v{a + 1} – h{b + 1}" for a, b in zip(i, j, strict=True)],
                "w": w,
                "width": edge_widths(w),
            },
            name="rbm-machine",
        )

    def _machine_figure(self) -> figure:
        """The bipartite machine: 9 visible units below, 4 hidden above, one line per weight."""
        fig = chart(
            height=170,
            sizing_mode="stretch_width",
            max_width=520,
            x_range=Range1d(-0.8, N_VISIBLE - 0.2),
            y_range=Range1d(-0.35, 1.35),
            x_axis_location=None,
            y_axis_location=None,
            min_border=2,
        )
        edges = fig.segment(
            "x0", "y0", "x1", "y1", source=self._edges, line_width="width",
            line_color={"field": "w", "transform": self._field_colors},
        )  # fmt: skip
        xv = np.arange(N_VISIBLE, dtype=float)
        xh = np.linspace(1.0, N_VISIBLE - 2.0, N_HIDDEN)
        nodes = ColumnDataSource(
            {
                "x": [*xv, *xh],
                "y": [0.0] * N_VISIBLE + [1.0] * N_HIDDEN,
                "label": [f"v{i + 1}" for i in range(N_VISIBLE)]
                + [f"h{j + 1}" for j in range(N_HIDDEN)],
                "color": [pal.SPIN_OFF] * (N_VISIBLE + N_HIDDEN),
            }
        )
        fig.scatter("x", "y", source=nodes, size=22, fill_color="color", line_color=ink())
        fig.text(
            "x", "y", text="label", source=nodes, text_align="center",
            text_baseline="middle", text_font_size="8pt", text_color=ink(),
        )  # fmt: skip
        for y, text in ((-0.3, "visible v (9 bits)"), (1.3, "hidden h (4 bits)")):
            fig.add_layout(
                Label(x=-0.7, y=y, text=text, text_font_size="8pt", text_color=pal.MUTED,
                      text_baseline="middle")
            )  # fmt: skip
        fig.add_tools(HoverTool(renderers=[edges], tooltips=[("", "@pair"), ("w", "@w{+0.00}")]))
        fig.axis.visible = False
        fig.grid.visible = False
        return themed(fig)

    def _curve_figures(self) -> pn.Column:
        x_range = self._step_range.range
        common = dict(
            sizing_mode="stretch_width",
            x_range=x_range,
            min_border_left=64,
        )
        err = chart(
            height=190,
            y_axis_type="log",
            y_range=self._err_range.range,
            y_axis_label="recon. error",
            title="Reconstruction error (log scale)",
            **common,
        )
        err.line("step", "error", source=self._curves, line_width=2, color=ink())
        ll = chart(
            height=230,
            y_range=self._ll_range,
            x_axis_label="training steps",
            y_axis_label="mean log p",
            title="Exact log-likelihood of T, L and O",
            **common,
        )
        for y, text in (
            (CEILING, "ceiling log(1/3) ≈ −1.10"),
            (FLOOR, "uniform floor −9 log 2 ≈ −6.24"),
        ):
            ll.add_layout(
                Span(location=y, dimension="width", line_color=pal.MUTED, line_dash="dashed")
            )
            ll.add_layout(
                Label(
                    x=6,
                    x_units="screen",
                    y=y,
                    y_offset=3,
                    text=text,
                    text_font_size="9pt",
                    text_color=pal.MUTED,
                )
            )
        ll.line("step", "loglik", source=self._curves, line_width=2, color=pal.ACCENT_2)
        ll.scatter("step", "loglik", source=self._peak, size=9, color=pal.ACCENT)
        for fig, span in zip((err, ll), self._peak_spans, strict=True):
            fig.add_layout(span)
            themed(fig)
        # Every figure of this section sits in a FlexBox, none beside one (docs/upstream.md).
        return pn.Column(
            pn.FlexBox(
                pn.pane.Bokeh(err, sizing_mode="stretch_width", margin=(4, 0)),
                sizing_mode="stretch_width",
            ),
            pn.FlexBox(
                pn.pane.Bokeh(ll, sizing_mode="stretch_width", margin=(0, 0)),
                sizing_mode="stretch_width",
            ),
            sizing_mode="stretch_width",
            margin=0,
        )

    def _fields_figure(self) -> figure:
        cell = 26
        fig = chart(
            width=FIELDS_WIDTH * cell + 4,
            height=3 * cell + 26,
            x_range=Range1d(0, FIELDS_WIDTH),
            y_range=Range1d(0, 3.9),
            min_border=2,
            x_axis_location=None,
            y_axis_location=None,
        )
        fig.image(
            "image",
            x=0,
            y=0,
            dw=FIELDS_WIDTH,
            dh=3,
            color_mapper=self._field_colors,
            source=self._fields,
        )
        fig.text(
            "x",
            3.15,
            text="label",
            source=self._field_labels,
            text_align="center",
            text_font_size="10pt",
            text_color=pal.MUTED,
        )
        fig.add_tools(HoverTool(tooltips=[("weight", "@image{0.00}")]))
        fig.axis.visible = False
        fig.grid.visible = False
        return themed(fig)

    def _hidden_figure(self) -> figure:
        fig = chart(
            width=170,
            height=150,
            x_range=FactorRange(*self._hidden.data["unit"]),
            y_range=Range1d(0, 1),
            title="hidden p(h=1|v)",
            min_border_left=30,
        )
        fig.vbar(x="unit", top="prob", width=0.7, source=self._hidden, color=pal.ACCENT_2)
        fig.yaxis.ticker = [0, 0.5, 1]
        return themed(fig)

    def _dream_figure(self) -> figure:
        rows = SHOWN_DREAMS // DREAM_COLS
        width_units, height_units = DREAM_COLS * 4 - 1, rows * 4 - 1
        cell = 14
        fig = chart(
            width=width_units * cell + 4,
            height=height_units * cell + 4,
            x_range=Range1d(0, width_units),
            y_range=Range1d(0, height_units),
            min_border=2,
            x_axis_location=None,
            y_axis_location=None,
        )
        fig.rect(
            "x",
            "y",
            width=0.92,
            height=0.92,
            source=self._dreams,
            fill_color="color",
            line_color=pal.CELL_LINE,
        )
        fig.axis.visible = False
        fig.grid.visible = False
        return themed(fig)

    # -- layout --------------------------------------------------------------------------
    def body(self) -> pn.viewable.Viewable:
        buttons = pn.FlexBox(
            self.animator.button,
            self._button("Step", self.step),
            self._button("Reset", self.reset, "Start again from the same random weights"),
            self._button("New seed", self.new_seed, "Other random weights, a new run"),
            pn.widgets.IntInput.from_param(self.param.seed, name="Seed", width=130),
            align_items="end",
        )
        controls = pn.FlexBox(
            pn.widgets.FloatSlider.from_param(
                self.param.lr, name="Learning rate η", step=0.01, format="0.00", width=200
            ),
            pn.widgets.RadioButtonGroup.from_param(
                self.param.method, name="Method", color="light", width=130
            ),
            pn.widgets.IntSlider.from_param(self.param.k, name="Round trips k", width=160),
            pn.widgets.IntSlider.from_param(
                self.param.speed, name="Speed (steps per frame)", width=200
            ),
            align_items="end",
        )
        controls.append(self._speed_note)
        readouts = pn.FlexBox(self.readouts.pane, sizing_mode="stretch_width")
        machine = pn.Column(
            pn.FlexBox(
                pn.pane.Bokeh(self._machine_figure(), sizing_mode="stretch_width", margin=(4, 0)),
                sizing_mode="stretch_width",
            ),
            self.prose_pane("machine", **parameter_counts(self.model)),
            sizing_mode="stretch_width",
            margin=0,
        )
        lesson = self.prose_pane("lesson", **run_text_values())
        recon_error = self.hide_when_embedded(pn.pane.HTML(self.text("recon_error"), margin=(0, 4)))
        fields = pn.Column(
            self.prose_pane("fields"),
            pn.FlexBox(pn.pane.Bokeh(self._fields_figure(), margin=(2, 4))),
            pn.FlexBox(
                legend(f"−{WEIGHT_LIMIT:g}", f"+{WEIGHT_LIMIT:g}", pal.WEIGHT_PALETTE),
                self._fields_scale,
                align_items="center",
            ),
            self._fields_alt,
            sizing_mode="stretch_width",
            margin=0,
        )
        cell = pn.widgets.Select(
            label="Cell",
            options={_cell_name(i): i for i in range(N_VISIBLE)},
            width=160,
            description="Choose a cell to flip with the keyboard",
        )
        flip = self._button("Flip cell", lambda _e: self.flip(cell.value), width=90)
        corrupt = [
            self._button(f"Corrupted {s}", lambda _e, s=s: self.load_corrupted(s))
            for s in SHAPE_NAMES
        ]
        draw = pn.Column(
            self.prose_pane("draw"),
            pn.FlexBox(*corrupt, self._button("Clear", self.clear)),
            pn.FlexBox(cell, flip, align_items="end"),
            self._draw_note,
            pn.FlexBox(
                self._visible.view(),
                pn.Column(
                    self._button(
                        "Reconstruct",
                        self.reconstruct,
                        "Push the image once through the hidden layer and back",
                        color="primary",
                    ),
                    pn.pane.HTML("<div style='font-size:1.4em'>→ h →</div>", margin=(4, 8)),
                    margin=(20, 4),
                ),
                pn.pane.Bokeh(self._hidden_figure(), margin=(2, 4)),
                self._recon.view(),
                align_items="center",
            ),
            self._hidden_alt,
            self._recon_note,
            sizing_mode="stretch_width",
            margin=0,
        )
        dreams = pn.Column(
            self.prose_pane("dreams", n_dreams=N_DREAMS, shown=SHOWN_DREAMS),
            pn.FlexBox(
                self._button("Dream", self.dream, "Run the model's own Gibbs chains"),
                pn.widgets.IntSlider.from_param(
                    self.param.dream_steps, name="Round trips per chain", width=220
                ),
                align_items="end",
            ),
            pn.FlexBox(
                pn.pane.Bokeh(self._dream_figure(), margin=(2, 4)),
                self._dream_table,
                align_items="center",
            ),
            self._dream_alt,
            sizing_mode="stretch_width",
            margin=0,
        )
        return pn.Column(
            machine,
            buttons,
            controls,
            readouts,
            self._curve_figures(),
            recon_error,
            lesson,
            fields,
            draw,
            dreams,
            sizing_mode="stretch_width",
        )
