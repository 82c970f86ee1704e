"""Section "sigmoid": one stochastic neuron, and how temperature reshapes its coin."""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, Range1d, Span
from bokeh.plotting import figure

from engine import p_on

from . import palette as pal
from .readouts import Readouts
from .section import Section
from .views import chart, ink, themed

DE_RANGE = 8.0  # the plot's ΔE axis runs from -8 to +8


def p_turn_on(cost, T):
    """p(on) for a unit whose turning on costs ``cost`` = E(on) − E(off): σ(−cost / T).

    The page measures ΔE as an energy increase (see content/conventions.md); the engine's
    :func:`engine.p_on` takes the energy saved, hence the minus sign.
    """
    return p_on(-np.asarray(cost, dtype=float), T)


class StochasticNeuron(Section):
    """p(turn on) = σ(−ΔE / T) with ΔE = E(on) − E(off), and the two limits around it."""

    key = "sigmoid"
    title = "Why a sigmoid? A thermostat that can gamble"
    url_params = ("temperature", "delta_e")

    temperature = param.Number(
        default=1.0, bounds=(0.05, 10.0), doc="Temperature T of the unit (> 0)."
    )
    delta_e = param.Number(
        default=-2.0,
        bounds=(-DE_RANGE, DE_RANGE),
        doc="Cost of turning on, ΔE = E(on) − E(off) (negative: on is downhill).",
    )

    def __init__(self, **params):
        super().__init__(**params)
        x = np.linspace(-DE_RANGE, DE_RANGE, 321)
        self._curve = ColumnDataSource(
            {"de": x, "p": p_turn_on(x, self.temperature)}, name="sigmoid-curve"
        )
        self._point = ColumnDataSource({"de": [self.delta_e], "p": [self.p]}, name="sigmoid-point")
        self.readouts = Readouts("sigmoid-readouts", ["p(turn on)"], width=140)
        self.readouts.update({"p(turn on)": f"{self.p:.2f}"})
        self._odds = pn.pane.HTML(self.odds_text(), css_classes=["sigmoid-odds"], margin=(0, 4))

    def odds_text(self) -> str:
        """The live sentence under the plot: p(on), p(off) and their ratio e^(−ΔE/T)."""
        p = self.p
        q = float(p_turn_on(-self.delta_e, self.temperature))  # p(off) = σ(+ΔE/T)
        return self.text(
            "odds",
            de=f"{self.delta_e:+.1f}".replace("-", "−"),
            t=f"{self.temperature:.2f}",
            p_on=f"{p:.3g}",
            p_off=f"{q:.3g}",
            odds=f"{p / q:.3g}" if q > 0 else "∞",
        )

    @property
    def p(self) -> float:
        """The probability shown: computed by the engine from the current state."""
        return p_turn_on(self.delta_e, self.temperature)

    @param.depends("temperature", "delta_e", watch=True)
    def _redraw(self) -> None:
        x = self._curve.data["de"]
        with pn.io.hold():
            self._curve.patch({"p": [(slice(0, len(x)), p_turn_on(x, self.temperature))]})
            self._point.patch({"de": [(0, self.delta_e)], "p": [(0, self.p)]})
            self.readouts.update({"p(turn on)": f"{self.p:.2f}"})
            self._odds.object = self.odds_text()

    def _figure(self) -> figure:
        fig = chart(
            height=280,
            sizing_mode="stretch_width",
            x_range=Range1d(-DE_RANGE, DE_RANGE),
            y_range=Range1d(-0.03, 1.03),
            x_axis_label="ΔE = E(on) − E(off): the cost of turning on",
            y_axis_label="p(turn on)",
        )
        # The two limits, faint: T → 0 is a step, T → ∞ is a fair coin.
        x_lim = np.array([-DE_RANGE, 0, 0, DE_RANGE])
        fig.line(
            x_lim, [1, 1, 0, 0], color=pal.MUTED, line_dash="dashed", legend_label="T → 0 (step)"
        )
        fig.line(
            [-DE_RANGE, DE_RANGE],
            [0.5, 0.5],
            color=pal.MUTED,
            line_dash="dotted",
            legend_label="T → ∞ (coin)",
        )
        fig.add_layout(Span(location=0, dimension="height", line_color=pal.MUTED, line_alpha=0.3))
        fig.line("de", "p", source=self._curve, line_width=3, color=ink(), legend_label="σ(−ΔE/T)")
        fig.scatter("de", "p", source=self._point, size=13, color=pal.ACCENT, line_color="white")
        fig.legend.location = "top_right"
        fig.legend.background_fill_alpha = 0.7
        return themed(fig)

    def body(self) -> pn.viewable.Viewable:
        sliders = pn.FlexBox(
            pn.widgets.FloatSlider.from_param(
                self.param.temperature, label="Temperature T", step=0.05, format="0.00", width=240
            ),
            pn.widgets.FloatSlider.from_param(
                self.param.delta_e, label="ΔE = E(on) − E(off)", step=0.1, format="+0.0", width=240
            ),
            align_items="center",
        )
        limits = self.prose_pane("limits")
        return pn.Column(
            sliders,
            self.readouts.pane,
            pn.pane.Bokeh(self._figure(), sizing_mode="stretch_width"),
            self.hide_when_embedded(self._odds),
            limits,
            sizing_mode="stretch_width",
        )
