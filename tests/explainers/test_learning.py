"""The wake-and-sleep section: every map, bar and number comes from engine.BoltzmannLearner."""

from __future__ import annotations

import numpy as np
import pytest

from engine import (
    SHAPES,
    BoltzmannLearner,
    data_moments,
    exact_gradient,
    exact_stats,
    kl_divergence,
    to_spins,
)
from explainers.learning import (
    DATA,
    INIT_STD,
    READOUT_EVERY,
    SAMPLES_PER_FRAME,
    STEP_SIZE_FACTS,
    BoltzmannLearning,
    diff_scale,
)


def make(**params) -> BoltzmannLearning:
    s = BoltzmannLearning(**params)
    s.__panel__()
    return s


def maps(s):
    """The three matrices as drawn, turned back to row 0 at the top."""
    return [np.asarray(src.data["image"][0])[::-1] for src in s.maps.sources]


def twin(s, n_steps: int) -> BoltzmannLearner:
    """An independent learner replaying the section's first ``n_steps`` steps."""
    ref = BoltzmannLearner(9, seed=s.seed, init_std=INIT_STD)
    for _ in range(n_steps):
        ref.step(DATA, lr=s.lr, negative=s.negative, n_samples=s.n_samples)
    return ref


def test_data_are_the_three_shapes_as_spins():
    assert DATA.shape == (3, 9)
    for row, name in zip(DATA, "TLO", strict=True):
        np.testing.assert_array_equal(row, to_spins(SHAPES[name].ravel()))


def test_before_training_everything_matches_the_engine():
    s = make()
    W, b = s.learner.W, s.learner.b
    data_C, model_C, diff = maps(s)
    np.testing.assert_allclose(data_C, data_moments(DATA)[1])
    np.testing.assert_allclose(model_C, exact_stats(W, b, 1.0).C, atol=1e-12)
    np.testing.assert_allclose(diff, exact_gradient(W, b, DATA)[0], atol=1e-12)
    p = np.asarray(s.probs.data["prob"])
    np.testing.assert_allclose(p[:3], s.learner.model_probs(DATA), rtol=1e-9)
    assert p.sum() == pytest.approx(1.0)
    kl = kl_divergence(DATA, W, b)
    assert kl == pytest.approx(np.log(512 / 3), abs=0.2)  # near-uniform start
    assert s.readouts.values["KL(data‖model)"] == f"{kl:.4f}"
    assert list(s.kl_history) == [pytest.approx(kl)]


def test_training_reduces_kl_steadily_with_the_exact_sleep_phase():
    s = make()
    s.train(300)
    kl = np.asarray(s.kl_history)  # steps 0, 1, ..., 300
    assert len(kl) == 301 and s.learner.n_steps == 300
    assert kl[-1] == pytest.approx(s.learner.kl(DATA))
    # Exact gradient ascent on the likelihood with a small step: KL never rises.
    assert np.all(np.diff(kl) <= 1e-12)
    assert kl[-1] < 0.1 and kl[-1] < kl[0] / 50
    p = np.asarray(s.probs.data["prob"])
    assert np.all(p[:3] > 0.28) and np.all(p[:3] <= 1 / 3 + 1e-12)
    # the curve on screen holds the same numbers
    np.testing.assert_allclose(s.kl_chart.source.data["kl_exact"], kl)
    np.testing.assert_array_equal(s.kl_chart.source.data["step"], np.arange(301))


def test_maps_bars_and_readouts_are_the_engines_after_steps():
    s = make()
    s.train(25)
    before_last = twin(s, 24)  # the last step measured these weights
    data_C, model_C, diff = maps(s)
    stats = exact_stats(before_last.W, before_last.b, 1.0)
    np.testing.assert_allclose(data_C, data_moments(DATA)[1])
    np.testing.assert_allclose(model_C, stats.C, atol=1e-12)
    np.testing.assert_allclose(diff, exact_gradient(before_last.W, before_last.b, DATA)[0])
    now = twin(s, 25)
    np.testing.assert_allclose(s.learner.W, now.W)
    np.testing.assert_allclose(
        np.asarray(s.probs.data["prob"])[:3], now.model_probs(DATA), rtol=1e-9
    )
    assert s.readouts.values["step"] == "25"
    assert s.readouts.values["KL(data‖model)"] == f"{now.kl(DATA):.4f}"
    assert s.readouts.values["max |gap|"] == f"{np.abs(diff).max():.3f}"
    assert s.readouts.source.data["value"] == list(s.readouts.values.values())
    assert f"KL(data‖model): {now.kl(DATA):.4f}" in s.readouts.alt.object  # screen readers
    assert s.maps.diff_mapper.high == diff_scale(diff) == -s.maps.diff_mapper.low


def test_frames_take_steps_per_frame_and_share_out_the_views():
    s = make(steps_per_frame=4)
    probs0 = list(s.probs.data["prob"])
    s.animator.frames = 2  # a maps frame
    s.frame()
    assert s.learner.n_steps == 4
    np.testing.assert_allclose(maps(s)[1], exact_stats(twin(s, 3).W, twin(s, 3).b, 1.0).C)
    assert list(s.probs.data["prob"]) == probs0  # bars wait for their turn
    assert s.readouts.values["step"] == "0"
    np.testing.assert_array_equal(s.kl_chart.source.data["step"], [0, 1, 2, 3])
    s.animator.frames = 3  # a bars frame
    s.frame()
    np.testing.assert_allclose(
        np.asarray(s.probs.data["prob"])[:3], twin(s, 8).model_probs(DATA), rtol=1e-9
    )
    assert s.readouts.values["step"] == "0"
    s.animator.frames = READOUT_EVERY + 1  # bars and numbers; the curve catches up
    s.frame()
    assert s.readouts.values["step"] == "12"
    np.testing.assert_array_equal(s.kl_chart.source.data["step"], np.arange(13))


def test_sampled_sleep_phase_is_noisy_and_capped_per_frame():
    s = make(negative="sampled", n_samples=50, seed=4)
    s.train(1)
    _, model_C, _ = maps(s)
    exact_C = exact_stats(twin(s, 0).W, twin(s, 0).b, 1.0).C
    # 50 correlated samples: clearly off the exact correlations, but still correlations
    assert np.abs(model_C - exact_C).max() > 0.05
    assert np.all(np.abs(model_C) <= 1.0)
    np.testing.assert_allclose(np.diag(model_C), 1.0)
    # the KL point goes to the sampled curve (and is still the exact KL)
    assert np.isnan(s.kl_chart.source.data["kl_exact"][-1])
    assert s.kl_chart.source.data["kl_sampled"][-1] == pytest.approx(s.kl_history[-1])
    s.param.update(n_samples=4000, steps_per_frame=20)
    assert s.steps_this_frame() == SAMPLES_PER_FRAME // 4000 == 1
    s.negative = "exact"
    assert s.steps_this_frame() == 20


def test_sampled_learning_is_reproducible_for_a_seed():
    a = make(negative="sampled", n_samples=100, seed=11)
    b = make(negative="sampled", n_samples=100, seed=11)
    a.train(5)
    b.train(5)
    np.testing.assert_array_equal(a.learner.W, b.learner.W)


def test_reset_keeps_the_seed_and_new_seed_changes_it():
    s = make(seed=3)
    w0 = s.learner.W.copy()
    s.train(10)
    w10 = s.learner.W.copy()
    s.reset()
    assert s.seed == 3 and s.learner.n_steps == 0
    np.testing.assert_array_equal(s.learner.W, w0)
    assert len(s.kl_history) == 1 and len(s.kl_chart.source.data["step"]) == 1
    s.train(10)
    np.testing.assert_array_equal(s.learner.W, w10)
    s.new_seed()
    assert s.seed != 3 and s.learner.n_steps == 0
    assert not np.allclose(s.learner.W, w0)
    np.testing.assert_array_equal(s.learner.W, twin(s, 0).W)


def test_step_button_takes_exactly_one_step():
    s = make()
    s.step_once()
    s.step_once()
    assert s.learner.n_steps == 2
    np.testing.assert_array_equal(s.kl_chart.source.data["step"], [0, 1, 2])
    np.testing.assert_allclose(s.kl_history, [twin(s, k).kl(DATA) for k in range(3)])


def test_diff_scale_steps():
    assert diff_scale(np.array([[0.0, 0.7]])) == 1.0
    assert diff_scale(np.array([[0.0, -0.3]])) == 0.5
    assert diff_scale(np.array([[0.004]])) == 0.01
    assert diff_scale(np.array([[3.0]])) == 1.0


def test_bad_values_are_clamped_or_refused_with_a_message():
    s = make()
    msgs = s.apply_values(
        {
            "lr": "5",
            "negative": "bogus",
            "n_samples": "-3",
            "steps_per_frame": "1e6",
            "seed": "seed",
            "__class__": "x",
        }
    )
    assert s.lr == 0.5
    assert s.negative == "exact"
    assert s.n_samples == 10
    assert s.steps_per_frame == 20
    assert s.seed == 1
    assert len(msgs) == 6 and s.notice


def test_out_of_range_values_set_directly_are_refused_server_side():
    s = make()
    for name, value in [
        ("lr", 0.0),
        ("lr", float("nan")),
        ("negative", "cd"),
        ("n_samples", 10**7),
        ("steps_per_frame", 0),
    ]:
        with pytest.raises(ValueError):
            setattr(s, name, value)


def test_state_round_trips_through_the_url():
    s = make(lr=0.1, negative="sampled", n_samples=300, steps_per_frame=7, seed=42)
    args = {k: [v.encode()] for k, v in s.query().items()}
    fresh = BoltzmannLearning()
    fresh.bind_url(args)
    for name in ("lr", "negative", "n_samples", "steps_per_frame", "seed"):
        assert getattr(fresh, name) == getattr(s, name)
    np.testing.assert_array_equal(fresh.learner.W, twin(s, 0).W)  # reset to the new seed


def _kl_run(lr: float, n_steps: int) -> np.ndarray:
    """Exact KL before each of ``n_steps`` steps and after the last, default seed."""
    ref = BoltzmannLearner(9, seed=STEP_SIZE_FACTS["seed"], init_std=INIT_STD)
    kl = [ref.step(DATA, lr=lr, negative="exact").kl for _ in range(n_steps)]
    return np.array([*kl, ref.kl(DATA)])


def test_step_size_paragraph_matches_the_engine():
    # Every number of the "Ceiling and step size" paragraph, re-measured with the engine.
    f = STEP_SIZE_FACTS
    assert BoltzmannLearning.param.seed.default == f["seed"]
    n = int(f["checked"].replace(" ", ""))
    stable = _kl_run(f["stable"], n)
    assert np.all(np.diff(stable) <= 0)  # KL falls at every step
    unstable = _kl_run(f["unstable"], 3000)
    first = int(np.argmax(np.diff(unstable) > 0)) + 1
    assert abs(first - f["first_rise"]) <= 10
    assert round(unstable[-1], 2) == f["kl_unstable"]
    worse = _kl_run(f["worse"], 3000)
    assert round(worse[-1], 2) == f["kl_worse"]
    # the paragraph on screen quotes these figures
    text = make().text("why_exact", **f)
    for key in ("stable", "unstable", "first_rise", "kl_unstable", "kl_worse"):
        assert str(f[key]) in text


def test_live_line_counts_the_steps_where_kl_rose():
    s = make(lr=0.3)
    s.train(60)
    kl = np.array(s.kl_history)
    rises = int(np.sum(np.diff(kl) > 0))
    assert rises > 0 and s.kl_rises() == rises
    assert f"KL went up on {rises} of its {kl.size - 1} steps" in s.lr_note.object
    calm = make()
    calm.train(60)
    assert "KL went up on 0 of its 60 steps" in calm.lr_note.object


def test_correlation_maps_are_keyed_and_hoverable():
    s = make()
    ticks = s.maps.ticks.data
    assert ticks["text"][:9] == [str(i) for i in range(1, 10)]
    hover = [t for t in s.maps.figure.tools if type(t).__name__ == "HoverTool"][0]
    assert ("units i, j", "$y{row}, $x{col}") in hover.tooltips
    assert "max |gap|" in s.text("maps_key")
