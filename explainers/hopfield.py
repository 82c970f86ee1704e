"""Section "hopfield": nine cells remember a T and an L, and temperature shakes them.

Every number on screen comes from the engine: the Hebbian weights, the heat-bath chain
(:class:`engine.GlauberChain`), the energy, the list of single-flip local minima and the
naming of states.  This module only decides what to show and when.

When is the grid "settled"?
---------------------------
A state is *settled* when

1. it is a single-flip local minimum of the energy (no single flip lowers it; equivalently
   a fixed point of the T = 0 rule), checked against :func:`engine.local_minima`, and
2. at T > 0, no cell has changed during the last :data:`SETTLE_UPDATES` updates.  Changes
   are seen at frame boundaries and in the energy trace, and a frame that contained a
   change counts as changing at its last update, so the rule errs towards "exploring".

At T = 0 condition 1 is enough: the cold rule can never leave a fixed point.  A settled
state is then named by :func:`engine.describe_state`: memory T, memory L, a mirror image
(the negative of a memory, which Hebbian weights store for free) or a spurious state.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import panel as pn
import param

from engine import (
    SHAPES,
    GlauberChain,
    describe_state,
    exact_boltzmann,
    hebbian,
    local_minima,
    to_bits,
    to_spins,
)
from engine.examples import corruption_outcomes, reachable_fixed_points

from . import palette as pal
from .animation import Animator, notify
from .four_units import FourUnits
from .readouts import Readouts
from .section import Section
from .views import (
    SR_ONLY_CLASS_CSS,
    LineChart,
    PixelGrid,
    control_row,
    grid_view,
    ink,
    picture_html,
    wrap_row,
)

NAMES = ("T", "L")
N_CELLS = 9
SETTLE_UPDATES = 3 * N_CELLS  # three sweeps' worth of updates without a change
MAX_SPEED = 500  # updates per frame: a real cap, a client can send any value
SWEEP = N_CELLS  # "Step" does one sweep: nine single-cell updates
MAX_FLIPS = 2  # "Corrupt a memory" flips 1 or 2 cells (3 can land on a mirror image)
POINTS_PER_FRAME = 10  # energy points sent per frame at most, whatever the speed
# While animating, the energy and update readouts are redrawn at most this often: ten
# times a second is as fast as anyone reads a number, and it keeps most frames smaller.
READOUTS_EVERY_S = 0.1
TRACE_POINTS = 600  # history kept on the energy chart

STATUS_COLORS = {
    "exploring": pal.MUTED,
    "memory": pal.OUTCOME_COLORS["memory"],
    "mirror": pal.OUTCOME_COLORS["mirror"],
    "spurious": pal.OUTCOME_COLORS["spurious"],
}


def _cell_name(i: int) -> str:
    return f"row {i // 3 + 1}, column {i % 3 + 1}"


def bits_text(s) -> str:
    """A ±1 state as nine 0/1 digits, row by row (the form used in links)."""
    return "".join(str(int(v)) for v in to_bits(np.asarray(s)))


@functools.cache
def basin_facts() -> dict[str, object]:
    """What every one- and two-cell corruption of T and L ends in, from the engine.

    A corruption "ends wrong" when the only fixed point the T = 0 rule can reach from it,
    in any update order, is the other memory's mirror (:func:`corruption_outcomes`).
    """
    patterns = to_spins(np.array([SHAPES[k].ravel() for k in NAMES]))
    W, b = hebbian(patterns), np.zeros(N_CELLS)
    wrong = {}
    for mu in range(len(NAMES)):
        mirror = -patterns[1 - mu]
        for k in range(1, MAX_FLIPS + 1):
            outs = corruption_outcomes(W, b, patterns[mu], k)
            wrong[mu, k] = sum(len(e) == 1 and (e[0] == mirror).all() for _, e in outs)
    pairs = math.comb(N_CELLS, 2)
    differ = np.flatnonzero(patterns[0] != -patterns[1])
    # "Corrupt a memory": memory and flip count (1..MAX_FLIPS) uniform, then the cells
    p_wrong = np.mean(
        [
            np.mean([wrong[mu, k] / math.comb(N_CELLS, k) for k in range(1, MAX_FLIPS + 1)])
            for mu in range(len(NAMES))
        ]
    )
    return {
        "pairs": pairs,
        "t_wrong": wrong[0, 2],
        "l_wrong": wrong[1, 2],
        "t_right": pairs - wrong[0, 2],
        "single_wrong": wrong[0, 1] + wrong[1, 1],
        "distance": int(differ.size),
        "distance_minus_one": int(differ.size) - 1,
        "where": "; ".join(_cell_name(int(c)) for c in differ),
        "percent": f"{100 * p_wrong:.0f}",
    }


class HopfieldGrid(Section):
    """A 3×3 Hopfield network storing T and L, run by heat-bath updates at temperature T."""

    key = "hopfield"
    title = "A memory that rolls downhill"
    url_params = ("temperature", "speed", "seed", "start")
    text_formats = {"start": "nine 0/1 digits (the grid row by row)"}

    temperature = param.Number(
        default=0.20, bounds=(0.0, 5.0), doc="Temperature T of the updates (0: cold rule)."
    )
    speed = param.Integer(
        default=1, bounds=(1, MAX_SPEED), doc="Single-cell updates per animation frame."
    )
    seed = param.Integer(
        default=7, bounds=(0, 2**31 - 1), doc="Seed of the start picture, updates, corruption."
    )
    start = param.String(
        default="",
        regex=r"^([01]{9})?$",
        doc="Start picture as nine 0/1 digits row by row; empty: a random one from the seed.",
    )

    def __init__(self, **params):
        super().__init__(**params)
        self._patterns = to_spins(np.array([SHAPES[k].ravel() for k in NAMES]))
        self._W = hebbian(self._patterns)
        self._b = np.zeros(N_CELLS)
        # Keyed by the bytes of the int8 state: a cheap lookup in every frame.
        self.minima = {m.astype(np.int8).tobytes() for m in local_minima(self._W, self._b)}
        self._names: dict[bytes, tuple[str, int]] = {}
        self._editing = False  # an edit writes `start` without restarting the run
        self._grid = PixelGrid(
            (3, 3),
            "hopfield-grid",
            np.ones(N_CELLS),
            on_click=self.flip,
            size=180,
            label="Hopfield grid",
        )
        self._grid_view, self._alt = grid_view(self._grid, clock=lambda: self.clock())
        # The stored pictures never change: plain HTML, not two more figures.
        self._thumbs = pn.pane.HTML(
            "".join(
                picture_html(p, (3, 3), f"stored picture {k}", f"stored: {k}")
                for k, p in zip(NAMES, self._patterns, strict=True)
            ),
            stylesheets=[SR_ONLY_CLASS_CSS],
            margin=(0, 8),
        )
        self._trace = LineChart(
            "hopfield-energy",
            "update",
            {"energy": ("energy", ink())},
            title="energy over time",
            x_label="updates",
            y_label="energy",
            rollover=TRACE_POINTS,
            height=200,
            y_range=self._energy_range(),
        )
        self.readouts = Readouts("hopfield-readouts", ["Energy", "Updates"], width=250)
        self._status = pn.pane.HTML(
            "", css_classes=["hopfield-status"], margin=(4, 4), styles={"max-width": "220px"}
        )
        # What the last edit did, under the buttons: made with the first note (most readers
        # never edit), since every pane is a model each session holds.
        self._note: pn.pane.HTML | None = None
        self._body: pn.Column | None = None
        self._buttons: pn.Row | None = None
        self._status_kind = ("", "")
        self._wrong_basin: tuple[str, bytes] | None = None
        self._settled_note = (
            '<div style="margin-top:.6em"><small>'
            + self.text("settled_note", updates=SETTLE_UPDATES)
            + "</small></div>"
        )
        self.four_units = FourUnits()
        self._readouts_at = -float("inf")
        self.animator = Animator(self._frame, where="the Hopfield grid", clock=lambda: self.clock())
        self.animator.param.watch(self._on_running, "running")
        self.reset()

    def _energy_range(self) -> tuple[float, float]:
        # Fixed to the lowest and highest energy of any grid, so the axis never jumps.
        _, energies, _ = exact_boltzmann(self._W, self._b, 1.0)
        return float(energies.min()) - 0.3, float(energies.max()) + 0.3

    # -- the state ---------------------------------------------------------------------
    @property
    def state(self) -> np.ndarray:
        """Current grid as ±1 int8, shape (9,), row-major."""
        return self._chain.s

    @property
    def chain(self) -> GlauberChain:
        """The running chain (its state, temperature and update count)."""
        return self._chain

    @property
    def grid(self) -> PixelGrid:
        """The clickable grid; ``grid.alt`` is its screen-reader text."""
        return self._grid

    @property
    def energy(self) -> float:
        return self._chain.energy

    @property
    def n_updates(self) -> int:
        return self._chain.n_updates

    def _start_state(self) -> np.ndarray:
        if self.start:
            return to_spins(np.array([int(c) for c in self.start]))
        rng = np.random.default_rng(self.seed)
        return rng.choice(np.array([-1, 1], dtype=np.int8), size=N_CELLS)

    def is_settled(self, _state: bytes | None = None) -> bool:
        """The rule in the module docstring: a local minimum that has stopped changing."""
        state = self._chain.s.tobytes() if _state is None else _state
        if state not in self.minima:
            return False
        if self.temperature == 0.0:
            return True
        return self._chain.n_updates - self._last_change >= SETTLE_UPDATES

    def status(self, _state: bytes | None = None) -> tuple[str, str]:
        """``(kind, text)``: kind is "exploring", "memory", "mirror" or "spurious"."""
        state = self._chain.s.tobytes() if _state is None else _state
        if not self.is_settled(state):
            return "exploring", self.text("status_exploring")
        kind, k = self._name_state(state)
        if kind == "memory":
            return kind, self.text("status_memory", memory=NAMES[k])
        if kind == "mirror":
            if self._wrong_basin is not None and self._wrong_basin[1] == state:
                source = self._wrong_basin[0]
                return kind, self.text("status_wrong_basin", memory=NAMES[k], source=source)
            return kind, self.text("status_mirror", memory=NAMES[k])
        return kind, self.text("status_spurious")

    def _name_state(self, s: bytes) -> tuple[str, int]:
        # Only local minima are named, and there are few: remember the engine's answers.
        if s not in self._names:
            state = np.frombuffer(s, dtype=np.int8)
            kind, k, _ = describe_state(state, self._patterns, NAMES)
            self._names[s] = (kind, k)
        return self._names[s]

    # -- actions -----------------------------------------------------------------------
    @param.depends("seed", "start", watch=True)
    def _on_seed_or_start(self) -> None:
        if not self._editing:
            self.reset()

    @param.depends("temperature", watch=True)
    def _on_temperature(self) -> None:
        self._chain.T = self.temperature

    def reset(self, _event=None) -> None:
        """Back to the start picture with the random numbers of the current seed."""
        self._chain = GlauberChain(
            self._W, self._b, self._start_state(), self.temperature, seed=self.seed
        )
        self._corrupt_rng = np.random.default_rng([self.seed, 1])
        self._last_change = 0
        self._set_note("")
        self._wrong_basin = None
        with pn.io.hold():
            self._trace.clear()
            self._stream([0], [self._chain.energy])
            self._show()
            self._alt.flush()

    def new_seed(self, _event=None) -> None:
        """Another seed, and a fresh random start picture from it."""
        self.param.update(seed=self._other_seed(), start="")

    def _on_running(self, event) -> None:
        if not event.new:  # paused: every number exact again
            self._alt.flush()
            self._show_readouts()
            self.readouts.flush()

    def advance(self, n_updates: int, live: bool = False) -> None:
        """Do ``n_updates`` single-cell updates and show the result (``live``: an animation
        frame, which may leave the readouts for a later frame)."""
        chain = self._chain
        before, e0 = chain.s, chain.energy
        trace = chain.run(n_updates)
        after = chain.s
        key = after.tobytes()
        moved = key != before.tobytes()
        if moved or (trace.size and (trace != e0).any()):  # also a flip undone in the batch
            self._last_change = chain.n_updates
        u = chain.n_updates
        if trace.size > POINTS_PER_FRAME:
            idx = np.linspace(0, trace.size - 1, POINTS_PER_FRAME).round().astype(int)
            self._stream((u - trace.size + 1 + idx).tolist(), trace[idx].tolist())
        else:
            self._stream(list(range(u - trace.size + 1, u + 1)), trace.tolist())
        self._show(grid_changed=moved, state=after, live=live)

    def step(self, _event=None) -> None:
        """One sweep: nine single-cell updates (each cell gets one chance on average)."""
        with pn.io.hold():
            self.advance(SWEEP)
            self._alt.flush()

    def _frame(self) -> None:
        self.advance(self.speed, live=True)

    def set_state(self, s, note: str = "", wrong_basin: tuple[str, bytes] | None = None) -> None:
        """Put a picture on the grid (an edit): the run continues from it, and it becomes
        the start picture that Reset and a copied link return to.  ``wrong_basin``: (the
        corrupted memory, the mirror it is bound to end in) when a corruption crossed over."""
        s = np.asarray(s, dtype=np.int8)
        self._chain.s = s
        self._last_change = self._chain.n_updates
        self._editing = True
        try:
            self.start = bits_text(s)
        finally:
            self._editing = False
        self._set_note(note)
        self._wrong_basin = wrong_basin
        with pn.io.hold():
            self._stream([self._chain.n_updates], [self.energy])
            self._show()
            self._alt.flush()

    def flip(self, i: int) -> None:
        """Flip cell ``i`` (row-major, 0..8)."""
        i = int(i)
        if not 0 <= i < N_CELLS:
            notify(self.text("msg_no_cell", cell=i, last=N_CELLS - 1))
            return
        s = self._chain.s
        s[i] = -s[i]
        self.set_state(s, self.text("note_flip", cell=_cell_name(i)))

    def corrupt(self, _event=None) -> tuple[str, list[int]]:
        """Load T or L with one or two cells flipped, both chosen by the seeded RNG.

        Returns the memory's name and the flipped cells.
        """
        rng = self._corrupt_rng
        mu = int(rng.integers(len(NAMES)))
        k = int(rng.integers(1, MAX_FLIPS + 1))
        cells = sorted(int(c) for c in rng.choice(N_CELLS, size=k, replace=False))
        s = self._patterns[mu].copy()
        s[cells] = -s[cells]
        where = " and ".join(_cell_name(c) for c in cells)
        count = f"{k} cell" if k == 1 else f"{k} cells"
        ends = reachable_fixed_points(self._W, self._b, s)
        other = 1 - mu
        if len(ends) == 1 and (ends[0] == -self._patterns[other]).all():
            # this corruption can only end in the other memory's mirror: say so now
            facts = basin_facts()
            left = int(np.count_nonzero(s != -self._patterns[other]))
            note = self.text(
                "note_wrong_basin",
                memory=NAMES[mu],
                other=NAMES[other],
                count=count,
                cells=where,
                distance=facts["distance"],
                left=left,
                left_s="" if left == 1 else "s",
            )
            self.set_state(s, note, (NAMES[mu], ends[0].tobytes()))
        else:
            self.set_state(s, self.text("note_corrupt", memory=NAMES[mu], count=count, cells=where))
        return NAMES[mu], cells

    def _set_note(self, text: str) -> None:
        if self._note is not None:
            self._note.object = text
        elif text:
            self._note = pn.pane.HTML(text, css_classes=["hopfield-note"], margin=(0, 4))
            if self._body is not None:
                at = next(i for i, o in enumerate(self._body.objects) if o is self._buttons)
                self._body.insert(at + 1, self._note)

    def basins_text(self) -> str:
        """The "Repair has limits" paragraph, every number from :func:`basin_facts`."""
        return self.text("basins", **basin_facts())

    # -- drawing -----------------------------------------------------------------------
    def _stream(self, updates: list[int], energies: list[float]) -> None:
        # Plain lists: Bokeh extends them in place; numpy columns are copied on every stream.
        self._trace.stream({"update": updates, "energy": energies})

    def _show_readouts(self, live: bool = False) -> None:
        self._readouts_at = self.clock()
        text = f"{self._chain.energy:+.2f}".replace("-", "−")
        self.readouts.update(
            {"Energy": text, "Updates": str(self._chain.n_updates)}, announce=not live
        )

    def _show(
        self,
        grid_changed: bool = True,
        state: np.ndarray | None = None,
        live: bool = False,
    ) -> None:
        state = self._chain.s if state is None else state
        if grid_changed:
            self._grid.update(state)
        if not live or self.clock() - self._readouts_at >= READOUTS_EVERY_S:
            self._show_readouts(live)
        kind, words = self.status(state.tobytes())
        if (kind, words) != self._status_kind:
            self._status_kind = (kind, words)
            self._status.object = (
                f'<div role="status" aria-live="polite" style="font-size:1.15em">'
                f'<span style="display:inline-block;width:.8em;height:.8em;border-radius:50%;'
                f'background:{STATUS_COLORS[kind]};margin-right:.4em"></span>'
                f"<b>{words}</b></div>{self._settled_note}"
            )

    def body(self) -> pn.viewable.Viewable:
        buttons = control_row(
            self.animator.button,
            self._button("Step", self.step, "One sweep: nine single-cell updates"),
            self._button("Reset", self.reset, "Back to the start picture, same seed"),
            self._button(
                "Corrupt a memory", self.corrupt, "Load T or L with one or two cells flipped"
            ),
            self._button("New seed", self.new_seed, "Another seed and a new random start"),
            align_items="center",
        )
        # The sliders and the keyboard's way to flip a cell share one wrapping row.
        controls = control_row(
            pn.widgets.FloatSlider.from_param(
                self.param.temperature, label="Temperature T", step=0.01, format="0.00", width=230
            ),
            pn.widgets.IntSlider.from_param(
                self.param.speed, label="Speed (updates per frame)", width=230
            ),
            pn.widgets.IntInput.from_param(self.param.seed, label="Seed", width=130),
            align_items="end",
        )
        cell = pn.widgets.Select(
            label="Cell",
            options={_cell_name(i): i for i in range(N_CELLS)},
            width=170,
            description="Choose a cell to flip with the keyboard",
        )
        flip = self._button(
            "Flip cell", lambda _e: self.flip(cell.value), "Flip the chosen cell", width=90
        )
        controls.extend([cell, flip])
        readouts = self.readouts.pane
        readouts.margin = (0, 8)
        readouts.append(self._status)
        self._buttons = buttons
        self._body = pn.Column(
            wrap_row(*self._grid_view, self._thumbs, readouts),
            buttons,
            *([self._note] if self._note is not None else []),
            controls,
            self._trace.pane,
            # "Repair has limits" leads into the four units: one prose pane for both.
            self.hide_when_embedded(self.four_units.view(lead=self.basins_text())),
            sizing_mode="stretch_width",
        )
        return self._body
