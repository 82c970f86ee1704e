"""Section "ising": the Hopfield energy on a square lattice — magnet, spin glass, memory.

The lattice, its sweeps, energy, magnetisation and overlaps all come from
:class:`engine.Lattice`; the exact infinite-lattice energy from
:func:`engine.onsager_energy_per_spin`.  This module decides what to show.

Frames run off the event loop: each animation tick hands one batch of sweeps to the shared
background pool (:func:`~explainers.animation.run_in_background`) and the result — one image,
one trace point — is drawn when it comes back.  A tick that finds the previous batch still
running is skipped, so a slow lattice lowers the frame rate instead of piling up work, and
other sessions' events are never stuck behind a 256 × 256 sweep.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import Range1d, Span

from engine import SHAPES, T_CRITICAL, Lattice, onsager_energy_per_spin, to_spins

from . import palette as pal
from .animation import Animator, report_exception
from .jobs import LatestJob
from .readouts import Readouts
from .section import Section
from .views import SR_ONLY_CSS, HeatMap, LineChart, chart, fix_frame, ink, themed

SIDES = (32, 64, 128, 256)
MAX_SWEEPS_PER_FRAME = 20  # a real cap: a client can send any value
NAMES = ("T", "L", "O")  # the story's three shapes, drawn big and stored on the lattice
NOISE = 0.2  # fraction of spins flipped in the Hopfield start
TRACE_POINTS = 900  # about 30 s of history at 30 frames/s
IMAGE_PX = 512  # largest width of the lattice picture; it shrinks to fit a phone
THUMB_PX = 72
NUMBERS_EVERY_S = 0.5  # readouts refresh at most this often while animating (readable)
WORDS_EVERY_S = 2.0  # and the sentences for screen readers (nobody listens faster)
# Smaller batches run on the event loop: a trip to a worker and back would cost more.
INLINE_UPDATES = 64 * 1024
COUPLING_CHOICES = {"ferromagnet": "ferro", "±J glass": "pmJ", "Hopfield": "hopfield"}
METHOD_CHOICES = {"heat-bath": "heat-bath", "Metropolis": "metropolis"}


def big_shape(name: str, L: int) -> np.ndarray:
    """One of the story's 3×3 shapes blown up to an L×L ±1 picture with a margin.

    Returns int8 (L, L): +1 where the shape is on, -1 elsewhere.
    """
    margin = L // 8
    inner = L - 2 * margin
    idx = np.arange(L) - margin
    cell = np.clip(idx * 3 // inner, 0, 2)
    inside = (idx >= 0) & (idx < inner)
    bits = SHAPES[name][cell[:, None], cell[None, :]] * (inside[:, None] & inside[None, :])
    return to_spins(bits).astype(np.int8)


def stored_pictures(L: int) -> np.ndarray:
    """The three pictures (T, L, O) the Hopfield lattice stores: int8 (3, L, L)."""
    return np.stack([big_shape(k, L) for k in NAMES])


def _sweep_batch(lat, count, T, method, n_sweeps, overlaps, _report):
    """Sweep ``lat`` (worker thread) and return what :meth:`SpinLattice._publish` shows."""
    lat.sweep(T, n_sweeps, method)
    count[0] += n_sweeps  # one batch per lattice at a time: no race
    return count[0], lat.snapshot(), lat.energy_per_spin(), lat.magnetization(), overlaps(lat)


class SpinLattice(Section):
    """An L×L lattice of ±1 spins with nearest-neighbour couplings, animated at temperature T."""

    key = "ising"
    title = "A magnet, a glass and a memory on one lattice"

    def standard_part(self, name: str) -> str:
        if name != "intro":
            return super().standard_part(name)
        return self.text("intro", tc=f"{T_CRITICAL:.3f}")

    url_params = ("L", "temperature", "method", "couplings", "sweeps_per_frame", "cue", "seed")

    L = param.Selector(objects=list(SIDES), default=128, doc="Side of the lattice (L×L spins).")
    temperature = param.Number(default=2.0, bounds=(0.0, 5.0), doc="Temperature T (0: greedy).")
    method = param.Selector(
        objects=METHOD_CHOICES, default="heat-bath", doc="Update rule for each spin."
    )
    couplings = param.Selector(
        objects=COUPLING_CHOICES, default="ferro", doc="What the bonds between neighbours are."
    )
    sweeps_per_frame = param.Integer(
        default=2, bounds=(1, MAX_SWEEPS_PER_FRAME), doc="Full sweeps of the lattice per frame."
    )
    cue = param.Selector(
        objects=list(NAMES), default="T", doc="Hopfield: the picture the noisy start comes from."
    )
    seed = param.Integer(
        default=1, bounds=(0, 2**31 - 1), doc="Seed of the start, the ±J bonds and the sweeps."
    )

    def __init__(self, **params):
        super().__init__(**params)
        # One batch of sweeps at a time; a rebuild drops the result of an old lattice's.
        self.sweeper = LatestJob(
            _sweep_batch, self._publish, on_error=self._failed, where="the spin lattice",
            supersede=False,
        )  # fmt: skip
        self.sweeps = 0
        self._numbers_at = 0.0
        self._words_at = 0.0
        self.skipped = 0  # ticks that found the previous batch still running
        self._image = HeatMap(
            "ising-lattice", (self.L, self.L), [pal.SPIN_OFF, pal.SPIN_ON], -1.0, 1.0, IMAGE_PX
        )
        fig = self._image.figure
        fix_frame(fig)
        # Square at any width up to IMAGE_PX, shrinking to fit a phone.
        fig.sizing_mode, fig.aspect_ratio, fig.max_width = "scale_width", 1, IMAGE_PX
        self._image_pane = pn.pane.Bokeh(
            fig, sizing_mode="scale_width", max_width=IMAGE_PX, margin=(4, 0)
        )
        self._thumbs = [
            HeatMap(
                f"ising-stored-{k}",
                (self.L, self.L),
                [pal.SPIN_OFF, pal.SPIN_ON],
                -1.0,
                1.0,
                THUMB_PX,
                title=f"stored {k}",
            )
            for k in NAMES
        ]
        for t in self._thumbs:
            fix_frame(t.figure, THUMB_PX)
        self._overlap_text = pn.pane.HTML("", css_classes=["ising-overlaps"], margin=(0, 4))
        # The picture in words, for screen readers (16 384 cells are no use read one by one).
        self._alt = pn.pane.HTML("", stylesheets=[SR_ONLY_CSS], margin=0)
        self._traces = LineChart(
            "ising-traces",
            "sweep",
            {
                "energy": ("energy", ink()),
                "magnetization": ("magnetisation", pal.ACCENT_2),
                "temperature": ("T", pal.ACCENT_3),
            },
            title="energy and magnetisation per spin",
            x_label="sweeps",
            y_label="per spin",
            rollover=TRACE_POINTS,
            height=260,
            y_range=(-2.1, 1.1),
        )
        self._phase = pn.pane.HTML("", css_classes=["ising-phase"], margin=(4, 4))
        self._decorate_traces()
        self.readouts = Readouts("ising-readouts", ["Sweeps", "Energy per spin", "Magnetisation"])
        self.animator = Animator(self._frame, where="the spin lattice")
        self.animator.param.watch(self._on_running, "running")
        self.reset()

    # -- the lattice ---------------------------------------------------------------------
    @property
    def lattice(self) -> Lattice:
        return self._lattice

    def _build(self) -> Lattice:
        if self.couplings != "hopfield":
            return Lattice(self.L, self.couplings, seed=self.seed)
        pictures = stored_pictures(self.L)
        lat = Lattice(self.L, "hopfield", seed=self.seed, patterns=pictures)
        rng = np.random.default_rng([self.seed, 1])
        start = pictures[NAMES.index(self.cue)].copy()
        start[rng.random(start.shape) < NOISE] *= -1
        lat.spins = start
        return lat

    @param.depends("L", "couplings", "cue", "seed", watch=True)
    def reset(self, _event=None) -> None:
        """A fresh lattice from the current seed (the same seed gives the same start)."""
        self.sweeper.cancel()
        self._lattice = self._build()
        self._count = [0]  # sweeps done on this lattice, counted where they happen
        self.sweeps = 0  # sweeps shown
        lat = self._lattice
        with pn.io.hold():
            if self._image.shape != (self.L, self.L):
                self._image.resize(self.L, self.L, fill=0.0)
                for t in self._thumbs:
                    t.resize(self.L, self.L, fill=0.0)
            if lat.patterns is not None:
                for t, pic in zip(self._thumbs, lat.patterns, strict=True):
                    t.update(pic)
            self._traces.clear()
            self._show(lat.snapshot(), lat.energy_per_spin(), lat.magnetization(), self._ov(lat))

    @staticmethod
    def _ov(lat: Lattice):
        return lat.overlaps() if lat.patterns is not None else None

    def new_seed(self, _event=None) -> None:
        self.seed = self._other_seed()

    def set_critical(self, _event=None) -> None:
        self.temperature = round(T_CRITICAL, 3)

    # -- running ---------------------------------------------------------------------------
    def step(self, _event=None) -> None:
        """One full sweep (every spin gets one update)."""
        self.advance(1)

    def _frame(self) -> None:
        if self.sweeper.busy:
            self.skipped += 1
            return
        self.advance(self.sweeps_per_frame)

    def advance(self, n_sweeps: int) -> None:
        """Run ``n_sweeps`` sweeps off the event loop, then draw the result.

        At most one batch runs at a time (a call while one runs is ignored).  Outside a
        server (tests, notebooks) this runs at once.
        """
        n_sweeps = int(n_sweeps)
        if not 1 <= n_sweeps <= MAX_SWEEPS_PER_FRAME:
            raise ValueError(f"n_sweeps must be 1..{MAX_SWEEPS_PER_FRAME}, got {n_sweeps}")
        inline = self.L * self.L * n_sweeps <= INLINE_UPDATES
        self.sweeper.request(
            self._lattice, self._count, self.temperature, self.method, n_sweeps, self._ov,
            inline=inline,
        )  # fmt: skip

    def _failed(self, exc: Exception) -> None:
        self.animator.pause()
        report_exception(exc, "the spin lattice")

    def _publish(self, result) -> None:
        total, spins, energy, magnet, overlaps = result
        if total <= self.sweeps:  # an older batch delivered late: a newer one is shown
            return
        self.sweeps = total
        # While animating, the numbers change every frame but nobody reads them that fast:
        # refresh them a few times a second and save the server the property updates.
        now = self.clock()
        live = self.animator.running
        numbers = not live or now - self._numbers_at >= NUMBERS_EVERY_S
        words = not live or now - self._words_at >= WORDS_EVERY_S
        if numbers:
            self._numbers_at = now
        if words:
            self._words_at = now
        with pn.io.hold():
            self._show(spins, energy, magnet, overlaps, numbers, words)

    def _on_running(self, event) -> None:
        """Paused: the numbers and words of the picture on screen, whatever their cadence."""
        if event.new or self.sweeper.busy:  # a batch still out publishes them
            return
        lat = self._lattice
        with pn.io.hold():
            self._show_numbers(lat.energy_per_spin(), lat.magnetization(), self._ov(lat))

    def _show(self, spins, energy: float, magnet: float, overlaps, numbers: bool = True,
              words: bool = True) -> None:  # fmt: skip
        self._image.update(spins)
        # One point as plain lists: Bokeh would send each numpy array as its own binary
        # websocket frame, and five frames per point cost more server time than the whole
        # lattice picture.
        point = {
            "sweep": [int(self.sweeps)],
            "energy": [float(energy)],
            "magnetization": [float(magnet)],
            "temperature": [float(self.temperature)],
        }
        self._traces.stream(point)
        if numbers:
            self._show_numbers(energy, magnet, overlaps, words)

    def _show_numbers(self, energy: float, magnet: float, overlaps, words: bool = True) -> None:
        self.readouts.update(
            {
                "Sweeps": str(self.sweeps),
                "Energy per spin": f"{energy:+.3f}".replace("-", "−"),
                "Magnetisation": f"{magnet:+.3f}".replace("-", "−"),
            },
            announce=words,
        )
        if words:
            self._alt.object = (
                f"Spin lattice, {self.L} by {self.L}, after {self.sweeps} sweeps: "
                f"{50 * (1 + magnet):.0f}% of spins up, energy per spin {energy:.3f}."
            )
        if overlaps is not None:
            cells = " · ".join(
                f"{k}: m = {m:+.2f}".replace("-", "−") for k, m in zip(NAMES, overlaps, strict=True)
            )
            self._overlap_text.object = f"Overlap with each stored picture: {cells}"

    # -- temperature guides ----------------------------------------------------------------
    def _decorate_traces(self) -> None:
        fig = self._traces.figure
        # T gets its own strip below, on its own axis: on a second axis of the energy
        # chart its lines sat where energies of about −1 belong.
        t_line = next(r for r in fig.renderers if getattr(r.glyph, "y", None) == "temperature")
        fig.renderers = [r for r in fig.renderers if r is not t_line]
        legend = fig.legend[0]
        legend.items = [i for i in legend.items if t_line not in i.renderers]
        self._temp_fig = themed(
            chart(
                height=110,
                sizing_mode="stretch_width",
                x_range=fig.x_range,
                y_range=Range1d(0, 5.2),
                y_axis_label="T",
                title="temperature T (dotted: Tc)",
                min_border_left=fig.min_border_left,
            )
        )
        self._temp_fig.line(
            "sweep", "temperature", source=self._traces.source, line_width=2,
            color=pal.ACCENT_3,
        )  # fmt: skip
        self._tc_line = Span(
            name="ising-critical-temperature",
            location=T_CRITICAL,
            dimension="width",
            line_color=pal.ACCENT,
            line_dash="dotted",
            line_width=2,
        )
        self._temp_fig.add_layout(self._tc_line)
        # A wide translucent band under the trace: a settled trace runs along it, visibly.
        self._exact_line = Span(
            name="ising-exact-energy",
            location=onsager_energy_per_spin(self.temperature),
            dimension="width",
            line_color=pal.ACCENT,
            line_alpha=0.35,
            line_width=7,
            level="underlay",
        )
        fig.add_layout(self._exact_line)
        # Under the plot, in one row: inside it the legend hid the start of the traces.
        fig.center = [r for r in fig.center if r is not legend]
        legend.orientation = "horizontal"
        legend.location = "center"
        legend.label_text_font_size = "12px"
        legend.padding = 2
        fig.add_layout(legend, "below")
        self._guides()

    @param.depends("temperature", "couplings", watch=True)
    def _guides(self) -> None:
        ferro = self.couplings == "ferro"
        u = onsager_energy_per_spin(self.temperature)
        self._exact_line.location = u
        self._exact_line.visible = ferro
        self._tc_line.visible = ferro
        T = self.temperature
        if ferro:
            side = "below" if T < T_CRITICAL else "above"
            state = "ordered: patches grow" if T < T_CRITICAL else "disordered: no net order"
            if abs(T - T_CRITICAL) < 0.02:
                side, state = "at", "critical: patches of every size"
            text = self.text(
                "phase_ferro",
                T=f"{T:.2f}",
                side=side,
                tc=f"{T_CRITICAL:.3f}",
                state=state,
                u=f"{u:.3f}".replace("-", "−"),
            )
        elif self.couplings == "pmJ":
            text = self.text("phase_glass", T=f"{T:.2f}")
        else:
            text = self.text("phase_hopfield", T=f"{T:.2f}", cue=self.cue, noise=f"{NOISE:.0%}")
        self._phase.object = text

    # -- layout ----------------------------------------------------------------------------
    def body(self) -> pn.viewable.Viewable:
        buttons = pn.FlexBox(
            self.animator.button,
            self._button("Step", self.step, "One sweep of the whole lattice"),
            self._button("Reset", self.reset, "Back to the start, same seed"),
            self._button("New seed", self.new_seed, "Another seed: new start and bonds"),
            align_items="center",
        )
        temperature = pn.FlexBox(
            pn.widgets.FloatSlider.from_param(
                self.param.temperature, label="Temperature T", step=0.01, format="0.00", width=260
            ),
            self._button("T = Tc", self.set_critical, "Set T to the critical temperature"),
            pn.pane.HTML(self.text("tc_hint", tc=f"{T_CRITICAL:.3f}"), margin=(0, 4)),
            align_items="center",
        )
        choices = pn.FlexBox(
            pn.widgets.RadioButtonGroup.from_param(
                self.param.couplings, color="light", margin=(4, 4)
            ),
            pn.widgets.RadioButtonGroup.from_param(self.param.method, color="light", margin=(4, 4)),
            align_items="center",
        )
        sizes = pn.FlexBox(
            pn.widgets.Select.from_param(self.param.L, label="Side L", width=100),
            pn.widgets.IntSlider.from_param(
                self.param.sweeps_per_frame, label="Sweeps per frame", width=200
            ),
            cue := pn.widgets.Select.from_param(
                self.param.cue,
                label="Hopfield start",
                width=120,
                visible=self.couplings == "hopfield",
            ),
            pn.widgets.IntInput.from_param(self.param.seed, label="Seed", width=130),
            align_items="end",
        )
        thumbs = pn.Column(
            pn.Row(*(t.pane for t in self._thumbs)),
            self._overlap_text,
            visible=self.couplings == "hopfield",
            margin=0,
        )
        for view in (thumbs, cue):
            self.param.watch(
                lambda e, v=view: setattr(v, "visible", e.new == "hopfield"), "couplings"
            )
        readouts = self.readouts.pane
        return pn.Column(
            buttons,
            temperature,
            choices,
            sizes,
            self._phase,
            self._image_pane,
            self._alt,
            thumbs,
            readouts,
            self._traces.pane,
            pn.pane.Bokeh(self._temp_fig, sizing_mode="stretch_width", margin=(0, 0)),
            sizing_mode="stretch_width",
        )
