"""The stochastic-neuron section: numbers on screen come from engine.p_on."""

from __future__ import annotations

import numpy as np
import pytest

from engine import p_on
from explainers.sigmoid import StochasticNeuron


def test_defaults_show_088():
    s = StochasticNeuron()
    s.__panel__()
    assert s.readouts["p(turn on)"] == "0.88"
    assert s.p == pytest.approx(1 / (1 + np.exp(-2.0)))


def test_params_reach_curve_marker_and_readout():
    s = StochasticNeuron()
    s.__panel__()
    s.temperature, s.delta_e = 0.5, -1.0
    x = np.asarray(s.source("sigmoid-curve").data["de"])
    # ΔE is the cost of turning on (page-wide convention), the engine takes the saving
    np.testing.assert_allclose(s.source("sigmoid-curve").data["p"], p_on(-x, 0.5))
    assert s.source("sigmoid-point").data["p"][0] == pytest.approx(p_on(1.0, 0.5))
    assert s.readouts["p(turn on)"] == f"{p_on(1.0, 0.5):.2f}"


def test_limits_of_the_engine_function():
    x = np.array([-3.0, 0.0, 3.0])
    np.testing.assert_array_equal(p_on(x, 0.0), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(p_on(x, np.inf), [0.5, 0.5, 0.5])
    # No overflow far in the tails, and symmetry p(-x) = 1 - p(x).
    big = np.array([-1e6, 1e6])
    np.testing.assert_allclose(p_on(big, 0.05), [0.0, 1.0])
    np.testing.assert_allclose(p_on(-x, 1.3), 1 - p_on(x, 1.3))
    with pytest.raises(ValueError):
        p_on(1.0, -1.0)


def test_bad_url_values_are_clamped_or_refused():
    s = StochasticNeuron()
    msgs = s.apply_values({"temperature": "0", "delta_e": "oops"})
    assert s.temperature == 0.05  # clamped to the smallest allowed T
    assert s.delta_e == -2.0  # refused
    assert len(msgs) == 2


@pytest.mark.parametrize(("T", "de"), [(1.0, -2.0), (0.5, 1.0), (0.05, 8.0), (10.0, -8.0)])
def test_the_odds_sentence_is_the_boltzmann_factor_of_the_current_state(T, de):
    s = StochasticNeuron(temperature=T, delta_e=de)
    s.__panel__()
    s.temperature, s.delta_e = T, de  # also through the watcher, not only __init__
    p = 1.0 / (1.0 + np.exp(de / T))  # σ(−ΔE/T), written out independently
    text = s.shown_text()
    assert f"p(on) = {p:.3g}" in text
    assert f"p(off) = {1.0 / (1.0 + np.exp(-de / T)):.3g}" in text
    assert f"= {np.exp(-de / T):.3g}" in text


def test_the_curve_falls_the_cost_of_turning_on_is_uphill():
    s = StochasticNeuron()
    p = np.asarray(s.source("sigmoid-curve").data["p"])
    assert np.all(np.diff(p) < 0)
    assert s.delta_e < 0 and s.p > 0.5  # the default: on is downhill, so on is likelier
