"""Section "annealing": quench, fixed heat, fast and slow cooling, raced on one landscape.

The network stores three 3×3 pictures, T, O and X, with the Hebbian rule.  Why not T, L and
O, the shapes used elsewhere?  The engine says that with T, L and O two spurious states are
exactly as deep as L (E = -4) and deeper than T and O, so even a perfect anneal ends in a
spurious state about half the time: the race would teach something false.  With T, O and X
every memory and mirror image sits at E = -28/9 while all eight spurious valleys are
shallower (-24/9 and -16/9); a quench stalls in one about a fifth of the time, a slow anneal
about one run in two hundred.  Those figures come from :func:`engine.race` and are checked
in ``tests/explainers/test_annealing.py``.

"Run one descent" animates one chain of the chosen strategy with
:class:`engine.GlauberChain` (one sweep = nine random-site heat-bath updates, temperature
set sweep by sweep from the strategy's schedule).  "Race" runs :func:`engine.race` for every
strategy on the shared background pool, with a progress bar.
"""

from __future__ import annotations

import html

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, Label, Range1d
from bokeh.plotting import figure

from engine import (
    OUTCOMES,
    SHAPES,
    STRATEGIES,
    GlauberChain,
    classify_outcomes,
    describe_state,
    energy,
    exact_boltzmann,
    hebbian,
    local_minima,
    race,
    settle,
    strategy_temperatures,
    to_spins,
)

from . import palette as pal
from .animation import Animator, notify
from .jobs import LatestJob
from .section import Section, WorkProgress, tip
from .views import LineChart, PixelGrid, chart, grid_view, ink, themed, wrap_row

N_CELLS = 9
MIN_RUNS, MAX_RUNS = 10, 1000  # a real server-side cap on one race's work
SWEEPS_PER_FRAME = 12  # a 500-sweep descent plays in about 1.3 s
# X is not one of the engine's shapes; it is data, not maths (see the module notes).
X_SHAPE = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.int8)
NAMES = ("T", "O", "X")
PICTURES = {"T": SHAPES["T"], "O": SHAPES["O"], "X": X_SHAPE}

LABELS = {
    "quench": "Quench (T = 0)",
    "fixed": "Fixed T",
    "fast": "Fast anneal",
    "slow": "Slow anneal",
}
STRATEGY_COLORS = {
    "quench": pal.MUTED,
    "fixed": pal.ACCENT_3,
    "fast": pal.ACCENT_2,
    "slow": pal.ACCENT,
}
SHORT = {"quench": "quench", "fixed": "fixed", "fast": "fast", "slow": "slow"}
# quench and fast both sit near T = 0 for most sweeps: dashes tell them apart
STRATEGY_DASH = {"quench": "dashed", "fixed": "solid", "fast": "dotdash", "slow": "solid"}
OUTCOME_LABELS = {
    "memory": "memory",
    "mirror": "mirror",
    "spurious": "spurious valley",
    "no_valley": "no valley",
}


def _num(x: float) -> str:
    """A number with a real minus sign, for prose."""
    return f"{x:.2f}".replace("-", "\u2212")


def _legend_below(fig: figure) -> None:
    """Move a figure's legend under the plot, in one row (no lines hidden behind it)."""
    legend = fig.legend[0]
    legend.orientation = "horizontal"
    legend.label_text_font_size = "9pt"
    legend.spacing = 6
    legend.padding = 2
    legend.margin = 2
    fig.add_layout(legend, "below")


def _network():
    patterns = to_spins(np.array([PICTURES[k].ravel() for k in NAMES]))
    return patterns, hebbian(patterns), np.zeros(N_CELLS)


def strategy_label(key: str) -> str:
    spec = STRATEGIES[key]
    if spec.get("kind") == "constant":
        return f"{LABELS.get(key, key)} = {spec.get('T_start', 0):g}"
    return LABELS.get(key, key)


def _held_text(key: str, temps: np.ndarray) -> str:
    """A short label for a schedule's flat tail: where it starts and its temperature."""
    start = int(np.flatnonzero(temps != temps[-1])[-1]) + 2 if np.any(temps != temps[-1]) else 1
    return f"{SHORT.get(key, key)}: T = {temps[-1]:g} from sweep {start}"


def _schedule(key: str) -> np.ndarray:
    return strategy_temperatures(**STRATEGIES[key])


def _valley_depths() -> tuple[float, float]:
    """Energy of the memories and of the deepest spurious valley, from the engine."""
    patterns, W, b = _network()
    minima = local_minima(W, b)
    kinds = [describe_state(m, patterns)[0] for m in minima]
    e = energy(W, b, minima)
    mem = max(float(v) for v, k in zip(e, kinds, strict=True) if k != "spurious")
    spur = min(float(v) for v, k in zip(e, kinds, strict=True) if k == "spurious")
    return mem, spur


def _race(W, b, patterns, n_runs: int, seed: int, report):
    """Every strategy ``n_runs`` times (worker thread); what ``show_race`` shows."""
    return race(W, b, patterns, STRATEGIES, n_runs, seed=seed, progress=report), n_runs, seed


class Annealing(Section):
    """Four temperature strategies on a T/O/X Hopfield network: one descent, or a race."""

    key = "annealing"
    title = "Simulated annealing: start hot, cool slowly, land deep"
    url_params = ("strategy", "n_runs", "seed")

    strategy = param.Selector(
        default="slow", objects=list(STRATEGIES), doc="Temperature strategy of one descent."
    )
    n_runs = param.Integer(
        default=200, bounds=(MIN_RUNS, MAX_RUNS), doc="Runs of each strategy in a race."
    )
    seed = param.Integer(default=1, bounds=(0, 2**31 - 1), doc="Seed of the descents and race.")

    def standard_part(self, name: str) -> str:
        if name != "intro":
            return super().standard_part(name)
        mem, spur = _valley_depths()
        return self.text("intro", mem=_num(mem), spur=_num(spur))

    def __init__(self, **params):
        super().__init__(**params)
        self._patterns, self._W, self._b = _network()
        self._schedules = {k: _schedule(k) for k in STRATEGIES}
        self._n_sweeps = max(t.size for t in self._schedules.values())
        _, energies, _ = exact_boltzmann(self._W, self._b, 1.0)
        self._e_range = (float(energies.min()) - 0.3, float(energies.max()) + 0.3)
        self._descents = 0
        self._chain: GlauberChain | None = None
        self._temps = self._schedules[self.strategy]
        self._sweep = 0
        self._descent_strategy = self.strategy
        self.racer = LatestJob(
            _race, lambda out: self.show_race(*out), self._race_progress,
            where="the annealing race", supersede=False,
        )  # fmt: skip
        self.racer.param.watch(self._on_racing, "busy")
        self.race_results: dict[str, dict[str, int]] | None = None  # counts of the last race
        #: where the last race's no-valley runs settle at T = 0, per strategy
        self.race_settled: dict[str, dict[str, int]] | None = None

        self._grid = PixelGrid(
            (3, 3), "annealing-final", -np.ones(N_CELLS), size=150, label="annealing grid"
        )
        self._grid_view, self._alt = grid_view(self._grid)
        self._thumbs = [
            PixelGrid((3, 3), f"annealing-stored-{k}", p, size=56, label=f"stored {k}", title=k)
            for k, p in zip(NAMES, self._patterns, strict=True)
        ]
        self._energy_chart = LineChart(
            "annealing-energy",
            "sweep",
            {"energy": ("energy", ink())},
            title="energy",
            x_label="sweep",
            rollover=self._n_sweeps + 1,
            height=170,
            x_range=(0, self._n_sweeps),
            y_range=self._e_range,
        )
        self._temp_chart = LineChart(
            "annealing-temperature",
            "sweep",
            {"temperature": ("temperature", pal.ACCENT)},
            title="temperature",
            x_label="sweep",
            rollover=self._n_sweeps + 1,
            height=130,
            x_range=(0, self._n_sweeps),
            y_range=(0.0, self._t_max() * 1.08),
        )
        self._outcome = pn.pane.HTML(
            self.text("descent_idle"), css_classes=["annealing-outcome"], margin=(4, 8)
        )
        self._race_source = ColumnDataSource(
            {
                "strategy": list(STRATEGIES),
                "label": [strategy_label(k) for k in STRATEGIES],
                **{o: [0] * len(STRATEGIES) for o in OUTCOMES},
            },
            name="annealing-race",
        )
        self._race_caption = pn.pane.HTML(
            self.text("no_race"), css_classes=["annealing-race-caption"], margin=(4, 0)
        )
        self._race_table = pn.pane.HTML("", margin=(0, 0), sizing_mode="stretch_width")
        self._progress = WorkProgress("Racing every strategy")
        self._race_button = pn.widgets.Button(
            label="Race",
            color="primary",
            description=tip("Race every strategy, many runs", "below"),
        )
        self._race_button.on_click(self.start_race)
        self._descent_button = pn.widgets.Button(
            label="Run one descent", description=tip("Run one chain of the chosen strategy")
        )
        self._descent_button.on_click(self.start_descent)
        self.animator = Animator(self._frame, where="the annealing descent")
        self._schedule_fig = self._schedule_figure()
        self._race_fig = self._race_figure()

    @property
    def network(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(W, b, patterns)``: the weights (9, 9), biases (9,) and stored ±1 pictures."""
        return self._W, self._b, self._patterns

    @property
    def chain(self) -> GlauberChain | None:
        """The current descent's chain (None before the first)."""
        return self._chain

    @property
    def descents(self) -> int:
        """Descents run since the seed was last set."""
        return self._descents

    def _t_max(self) -> float:
        return max(float(t.max()) for t in self._schedules.values()) or 1.0

    # -- one descent ---------------------------------------------------------------------
    @param.depends("seed", watch=True)
    def _on_seed(self) -> None:
        self._descents = 0

    @param.depends("strategy", watch=True)
    def _on_strategy(self) -> None:
        for key, renderer in self._schedule_lines.items():
            chosen = key == self.strategy
            renderer.glyph.line_width = 4 if chosen else 1.5
            renderer.glyph.line_alpha = 1.0 if chosen else 0.45

    def start_descent(self, _event=None, animate: bool = True) -> None:
        """Start a new chain of the chosen strategy from a random grid (seeded).

        Descent number k (counted from 0 since the seed was set) starts from the grid and
        random numbers of ``numpy.random.default_rng([seed, k])``, so it can be replayed.
        With ``animate`` it then plays over about 1.3 s; otherwise it is left at sweep 0
        (see :meth:`advance` and :meth:`finish_descent`).
        """
        rng = np.random.default_rng([self.seed, self._descents])
        self._descents += 1
        self._temps = self._schedules[self.strategy]
        start = rng.choice(np.array([-1, 1], dtype=np.int8), size=N_CELLS)
        self._chain = GlauberChain(self._W, self._b, start, float(self._temps[0]), seed=rng)
        self._sweep = 0
        self._descent_strategy = self.strategy
        with pn.io.hold():
            self._energy_chart.clear()
            self._temp_chart.clear()
            self._energy_chart.stream({"sweep": [0], "energy": [self._chain.energy]})
            self._grid.update(self._chain.s)
            self._outcome.object = self.text(
                "descent_running",
                number=self._descents,
                strategy=html.escape(strategy_label(self.strategy)),
            )
        if animate:
            self.animator.play()

    def advance(self, n_sweeps: int) -> bool:
        """Advance the current descent by up to ``n_sweeps`` sweeps; True when finished."""
        chain = self._chain
        if chain is None:
            return True
        stop = min(self._sweep + int(n_sweeps), self._temps.size)
        ks, es, ts = [], [], []
        for k in range(self._sweep, stop):
            chain.T = float(self._temps[k])
            chain.run(N_CELLS)
            ks.append(k + 1)
            es.append(chain.energy)
            ts.append(chain.T)
        self._sweep = stop
        if ks:
            self._energy_chart.stream({"sweep": ks, "energy": es})
            self._temp_chart.stream({"sweep": ks, "temperature": ts})
            self._grid.update(chain.s)
        done = self._sweep >= self._temps.size
        if done:
            self._show_outcome()
        return done

    def finish_descent(self) -> None:
        """Run the current descent to its end at once (no animation)."""
        self.animator.pause()
        with pn.io.hold():
            self.advance(self._temps.size)

    def _frame(self) -> None:
        if self.advance(SWEEPS_PER_FRAME):
            self.animator.pause()

    def _name_valley(self, s) -> tuple[str, str]:
        kind, k, _ = describe_state(s, self._patterns, NAMES)
        return kind, self.text(kind, shape=NAMES[k] if k >= 0 else "")

    def descent_outcome(self) -> tuple[str, str]:
        """``(kind, text)`` for the current grid, named by the engine: one of
        :data:`engine.OUTCOMES`; a grid in no valley also says where it settles at T = 0."""
        s = self._chain.s
        kinds, _ = classify_outcomes(self._W, self._b, s[None, :], self._patterns)
        kind = OUTCOMES[int(kinds[0])]
        if kind != "no_valley":
            return self._name_valley(s)
        _, where = self._name_valley(settle(self._W, self._b, s))
        return kind, self.text("no_valley", settled=where)

    def _show_outcome(self) -> None:
        self._alt.flush()
        kind, text = self.descent_outcome()
        self._outcome.object = self.text(
            "descent_end",
            number=self._descents,
            strategy=html.escape(strategy_label(self._descent_strategy)),
            color=pal.OUTCOME_COLORS[kind],
            what=text,
            energy=_num(self._chain.energy),
        )

    # -- the race ------------------------------------------------------------------------
    def start_race(self, _event=None) -> None:
        """Race every strategy ``n_runs`` times in the background (seeded)."""
        n_runs, seed = int(self.n_runs), int(self.seed)
        if not MIN_RUNS <= n_runs <= MAX_RUNS:  # param bounds already ensure it
            notify(f"A race has {MIN_RUNS} to {MAX_RUNS} runs.")
            return
        # A disabled button can still be clicked by a hostile client.
        if not self.racer.request(self._W, self._b, self._patterns, n_runs, seed):
            notify("A race is already running.")

    def _on_racing(self, event) -> None:
        self._race_button.disabled = event.new
        self._progress.visible = event.new
        if event.new:
            self._progress.value = 0

    def _race_progress(self, fraction: float, _partial) -> None:
        self._progress.value = int(round(100 * fraction))

    def show_race(self, results: dict, n_runs: int, seed: int) -> None:
        """Show a race's counts in the source, the bars and the table."""
        # Keep only the counts: the full results hold every run's energy trace (16 MB for
        # 1000 runs), too much to leave in each session.
        self.race_results = {k: dict(v["counts"]) for k, v in results.items()}
        self.race_settled = {k: dict(v["settled_counts"]) for k, v in results.items()}
        keys = list(self._race_source.data["strategy"])
        with pn.io.hold():
            self._race_source.patch(
                {
                    o: [(i, int(results[k]["counts"][o])) for i, k in enumerate(keys)]
                    for o in OUTCOMES
                }
            )
            self._race_fig.x_range.end = n_runs
            settled = [
                self.text(
                    "race_settled",
                    loose=results[k]["counts"]["no_valley"],
                    strategy=html.escape(strategy_label(k)),
                    **results[k]["settled_counts"],
                )
                for k in keys
                if results[k]["counts"]["no_valley"]
            ]
            self._race_caption.object = " ".join(
                [self.text("race_caption", n_runs=n_runs, seed=seed), *settled]
            )
            self._race_table.object = self._table(results, keys, n_runs)

    @staticmethod
    def _table(results: dict, keys: list[str], n_runs: int) -> str:
        head = "".join(
            f'<th style="color:{pal.OUTCOME_COLORS[o]};text-align:right">{OUTCOME_LABELS[o]}</th>'
            for o in OUTCOMES
        )
        rows = []
        for k in keys:
            c = results[k]["counts"]
            cells = "".join(f'<td style="text-align:right">{c[o]}</td>' for o in OUTCOMES)
            rows.append(
                f"<tr><td>{html.escape(strategy_label(k))}</td>{cells}"
                f'<td style="text-align:right">{sum(c.values())}</td></tr>'
            )
        return (
            '<table class="annealing-race-table" style="border-collapse:collapse;'
            'font-size:.9em;width:100%;max-width:460px">'
            f'<tr><th style="text-align:left">strategy</th>{head}'
            f'<th style="text-align:right">of {n_runs}</th></tr>{"".join(rows)}</table>'
        )

    # -- figures -------------------------------------------------------------------------
    def _schedule_figure(self) -> figure:
        data = {"sweep": np.arange(1, self._n_sweeps + 1)}
        for key, temps in self._schedules.items():
            data[key] = np.pad(temps, (0, self._n_sweeps - temps.size), mode="edge")
        source = ColumnDataSource(data, name="annealing-schedules")
        fig = chart(
            height=170,
            sizing_mode="stretch_width",
            title="temperature schedules",
            x_axis_label="sweep",
            y_axis_label="T",
            x_range=Range1d(0, self._n_sweeps),
            y_range=Range1d(-0.45, self._t_max() * 1.08),
        )
        self._schedule_lines = {}
        for key in self._schedules:
            self._schedule_lines[key] = fig.line(
                "sweep",
                key,
                source=source,
                color=STRATEGY_COLORS.get(key, pal.MUTED),
                line_dash=STRATEGY_DASH.get(key, "solid"),
                legend_label=SHORT.get(key, key),
                name=key,
            )
        fig.add_tools(
            HoverTool(
                tooltips=[
                    ("sweep", "@sweep"),
                    *((SHORT.get(k, k), f"@{k}{{0.00}}") for k in self._schedules),
                ],
                mode="vline",
                renderers=[self._schedule_lines["slow"]]
                if "slow" in self._schedule_lines
                else list(self._schedule_lines.values())[:1],
            )
        )
        # Quench (T = 0) and the held end of the fast anneal (T_end) lie a hair apart:
        # name each where it runs, one just above and one just below.
        for key, above in (("fast", True), ("quench", False)):
            if key in self._schedules:
                temps = self._schedules[key]
                fig.add_layout(
                    Label(
                        x=self._n_sweeps * 0.06,
                        y=float(temps[-1]),
                        y_offset=4 if above else -14,
                        text=_held_text(key, temps),
                        text_font_size="8pt",
                        text_color=STRATEGY_COLORS.get(key, pal.MUTED),
                    )
                )
        _legend_below(fig)
        self._on_strategy()
        return themed(fig)

    def _race_figure(self) -> figure:
        labels = list(self._race_source.data["label"])
        fig = chart(
            height=190,
            sizing_mode="stretch_width",
            title="where the runs ended",
            y_range=FactorRange(*reversed(labels)),
            x_range=Range1d(0, self.n_runs),
            x_axis_label="runs",
        )
        fig.hbar_stack(
            list(OUTCOMES),
            y="label",
            height=0.7,
            source=self._race_source,
            color=[pal.OUTCOME_COLORS[o] for o in OUTCOMES],
            legend_label=[OUTCOME_LABELS[o] for o in OUTCOMES],
        )
        fig.add_tools(
            HoverTool(tooltips=[("", "@label"), *((OUTCOME_LABELS[o], f"@{o}") for o in OUTCOMES)])
        )
        _legend_below(fig)
        fig.ygrid.grid_line_color = None
        return themed(fig)

    # -- layout --------------------------------------------------------------------------
    def body(self) -> pn.viewable.Viewable:
        options = {strategy_label(k): k for k in STRATEGIES}
        chooser = pn.widgets.Select.from_param(
            self.param.strategy, options=options, label="Strategy", width=220
        )
        runs = pn.widgets.IntInput.from_param(
            self.param.n_runs, label=f"Runs per strategy ({MIN_RUNS}–{MAX_RUNS})", width=170
        )
        seed = pn.widgets.IntInput.from_param(self.param.seed, label="Seed", width=130)
        thumbs = pn.Column(
            pn.pane.HTML("<small>stored:</small>", margin=(0, 4)),
            pn.Row(*(t.pane for t in self._thumbs), margin=0),
            margin=0,
        )
        descent = pn.Column(
            wrap_row(
                pn.Column(*self._grid_view, margin=0), pn.Column(thumbs, self._outcome, width=260)
            ),
            self._energy_chart.pane,
            self._temp_chart.pane,
            sizing_mode="stretch_width",
        )
        race_box = pn.Column(
            pn.FlexBox(self._race_button, runs, seed, align_items="end"),
            self._progress,
            self._race_caption,
            pn.pane.Bokeh(self._race_fig, sizing_mode="stretch_width"),
            self._race_table,
            self.hide_when_embedded(pn.pane.HTML(self.text("race_key"), margin=(4, 0))),
            sizing_mode="stretch_width",
        )
        return pn.Column(
            pn.FlexBox(chooser, self._descent_button, align_items="end"),
            pn.pane.Bokeh(self._schedule_fig, sizing_mode="stretch_width"),
            descent,
            pn.pane.HTML("<h3 style='margin:.6em 0 .2em'>The race</h3>", margin=(4, 4)),
            race_box,
            sizing_mode="stretch_width",
        )
