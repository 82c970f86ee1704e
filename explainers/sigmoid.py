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
from .views import ink, themed

DE_RANGE = 8.0  # the plot's ΔE axis runs from -8 to +8


class StochasticNeuron(Section):
    """p(turn on) = σ(ΔE / T), with the two limits it interpolates between."""

    key = "sigmoid"
    title = "Why a sigmoid? A thermostat that can gamble"
    intro = (
        "A stochastic unit looks at how much energy it would save by switching on, "
        "ΔE = 2h, and then flips a biased coin. The bias is a sigmoid of ΔE divided by the "
        "temperature. Cold, the coin is loaded all the way: the unit simply does whatever "
        "lowers the energy, exactly like a Hopfield update. Hot, the coin is fair and the "
        "unit ignores the energy altogether. Everything in between is a trade-off between "
        "settling down and looking around."
    )
    formula = (
        r"p(s_i = +1) = \sigma\!\left(\frac{\Delta E_i}{T}\right)"
        r" = \frac{1}{1 + e^{-\Delta E_i / T}}"
    )
    try_this = (
        "keep ΔE at +2 and slide T down towards 0: p climbs to 1, the step. "
        "Now push T up to 10: p sinks towards ½ whatever ΔE is."
    )
    url_params = ("temperature", "delta_e")

    temperature = param.Number(
        default=1.0, bounds=(0.05, 10.0), doc="Temperature T of the unit (> 0)."
    )
    delta_e = param.Number(
        default=2.0, bounds=(-DE_RANGE, DE_RANGE), doc="Energy saved by turning on, ΔE."
    )

    def __init__(self, **params):
        super().__init__(**params)
        x = np.linspace(-DE_RANGE, DE_RANGE, 321)
        self._curve = ColumnDataSource(
            {"de": x, "p": p_on(x, self.temperature)}, name="sigmoid-curve"
        )
        self._point = ColumnDataSource({"de": [self.delta_e], "p": [self.p]}, name="sigmoid-point")
        self.readouts = Readouts("sigmoid-readouts", ["p(turn on)"], width=140)
        self.readouts.update({"p(turn on)": f"{self.p:.2f}"})

    @property
    def p(self) -> float:
        """The probability shown: computed by the engine from the current state."""
        return p_on(self.delta_e, self.temperature)

    @param.depends("temperature", "delta_e", watch=True)
    def _redraw(self) -> None:
        x = self._curve.data["de"]
        with pn.io.hold():
            self._curve.patch({"p": [(slice(0, len(x)), p_on(x, self.temperature))]})
            self._point.patch({"de": [(0, self.delta_e)], "p": [(0, self.p)]})
            self.readouts.update({"p(turn on)": f"{self.p:.2f}"})

    def _figure(self) -> figure:
        fig = figure(
            height=280,
            sizing_mode="stretch_width",
            toolbar_location=None,
            tools="",
            x_range=Range1d(-DE_RANGE, DE_RANGE),
            y_range=Range1d(-0.03, 1.03),
            x_axis_label="ΔE: energy saved by turning on",
            y_axis_label="p(turn on)",
        )
        # The two limits, faint: T → 0 is a step, T → ∞ is a fair coin.
        x_lim = np.array([-DE_RANGE, 0, 0, DE_RANGE])
        fig.line(
            x_lim, [0, 0, 1, 1], color=pal.MUTED, line_dash="dashed", legend_label="T → 0 (step)"
        )
        fig.line(
            [-DE_RANGE, DE_RANGE],
            [0.5, 0.5],
            color=pal.MUTED,
            line_dash="dotted",
            legend_label="T → ∞ (coin)",
        )
        fig.add_layout(Span(location=0, dimension="height", line_color=pal.MUTED, line_alpha=0.3))
        fig.line("de", "p", source=self._curve, line_width=3, color=ink(), legend_label="σ(ΔE/T)")
        fig.scatter("de", "p", source=self._point, size=13, color=pal.ACCENT, line_color="white")
        fig.legend.location = "top_left"
        fig.legend.background_fill_alpha = 0.7
        return themed(fig)

    def body(self) -> pn.viewable.Viewable:
        sliders = pn.FlexBox(
            pn.widgets.FloatSlider.from_param(
                self.param.temperature, label="Temperature T", step=0.05, format="0.00", width=240
            ),
            pn.widgets.FloatSlider.from_param(
                self.param.delta_e, label="ΔE", step=0.1, format="+0.0", width=240
            ),
            self.readouts.pane,
            align_items="center",
        )
        limits = pn.pane.Markdown(
            "**T → 0 (cold):** the curve becomes a step, so the unit always takes the "
            "downhill choice — a deterministic thermostat, great at locking in, hopeless at "
            "escaping.  \n**T → ∞ (hot):** the curve flattens to ½ and the unit flips a fair "
            "coin — all exploration, no memory.",
            margin=(0, 0),
        )
        return pn.Column(
            sliders,
            pn.pane.Bokeh(self._figure(), sizing_mode="stretch_width"),
            limits,
            sizing_mode="stretch_width",
        )
