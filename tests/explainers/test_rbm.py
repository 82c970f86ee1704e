"""The RBM section: every number on screen comes from engine.RBM, and the lesson is true.

Reference runs are made here with the engine's plain ``train_step`` on the section's
mini-batch, independently of the section's own (compiled, several-steps-per-call) path.
"""

from __future__ import annotations

import math

import numpy as np
import panel as pn
import param
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import RBM, SHAPES
from explainers.rbm import (
    BATCH,
    CEILING,
    DATA,
    FLOOR,
    N_DREAMS,
    PCD_CHAINS,
    RUN_FACTS,
    SHOWN_DREAMS,
    WEIGHT_LIMIT,
    RBMTrainer,
    bits_pattern,
    edge_widths,
    parameter_counts,
    pattern_bits,
    run_text_values,
    shape_name,
)

T = SHAPES["T"].ravel().astype(float)


def figure_with(s: RBMTrainer, source: str):
    figs = [p.object for p in s.__panel__().select(pn.pane.Bokeh)]
    return next(f for f in figs if f.select_one({"name": source}))


def peak_lines(s: RBMTrainer) -> list:
    figs = [p.object for p in s.__panel__().select(pn.pane.Bokeh)]
    return [line for f in figs for line in f.select({"name": "rbm-peak-line"})]


def visible(s: RBMTrainer) -> np.ndarray:
    return np.asarray(s.source("rbm-visible").data["state"], dtype=float)


def recon(s: RBMTrainer) -> np.ndarray:
    return np.asarray(s.source("rbm-reconstruction").data["state"], dtype=float)


def make(**params) -> RBMTrainer:
    s = RBMTrainer(**params)
    s.__panel__()
    return s


def curves(s: RBMTrainer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = s.source("rbm-error").data
    return np.asarray(d["step"]), np.asarray(d["error"]), np.asarray(d["loglik"])


def reference(seed: int, n_steps: int, lr: float = 0.3, k: int = 1) -> RBM:
    m = RBM(9, 4, seed=seed)
    for _ in range(n_steps):
        m.train_step(BATCH, lr, k=k)
    return m


def train_until_error_below(s: RBMTrainer, target: float, max_steps: int) -> int:
    while s.n_steps < max_steps:
        s.advance(10)
        if s.model.reconstruction_error(DATA) < target:
            return s.n_steps
    raise AssertionError(f"error still {s.model.reconstruction_error(DATA):.3f}")


# -- the data and the marks on the likelihood plot ------------------------------------------


def test_data_are_t_l_o_in_bits_and_the_marks_are_honest():
    assert DATA.shape == (3, 9)
    assert set(np.unique(DATA)) == {0.0, 1.0}
    for name, row in zip("TLO", DATA, strict=True):
        np.testing.assert_array_equal(row, SHAPES[name].ravel())
    # Ten copies of each shape: the same distribution over images as the three shapes.
    assert BATCH.shape == (30, 9)
    for row in DATA:
        assert (BATCH == row).all(axis=1).sum() == 10
    assert CEILING == pytest.approx(math.log(1 / 3))
    assert FLOOR == pytest.approx(-9 * math.log(2))
    # The floor is the likelihood of a model with every weight and bias 0 (uniform over
    # all 512 images), computed by the engine.
    m = RBM(9, 4, seed=0, init_std=0.0)
    assert m.log_likelihood(DATA) == pytest.approx(FLOOR, abs=1e-12)


def test_pattern_helpers_round_trip():
    assert bits_pattern(pattern_bits("111010010")) == "111010010"
    assert shape_name(pattern_bits("111010010")) == "T"
    assert shape_name(pattern_bits("111010110")) is None


# -- training reaches the sources with engine values --------------------------------------


def test_defaults_are_a_9_by_4_rbm_trained_by_cd1():
    s = make()
    assert (s.model.n_visible, s.model.n_hidden) == (9, 4)
    assert (s.method, s.k, s.lr, s.seed) == ("CD", 1, 0.3, 0)
    step, err, ll = curves(s)
    # Step 0 is plotted: near the uniform floor, since the weights start tiny.
    assert step.tolist() == [0]
    assert ll[0] == pytest.approx(RBM(9, 4, seed=0).log_likelihood(DATA))
    assert abs(ll[0] - FLOOR) < 0.05


def test_training_drives_the_error_below_005_within_500_steps():
    s = make()
    n = train_until_error_below(s, 0.05, 500)
    step, err, _ = curves(s)
    assert err[-1] < 0.05 and step[-1] == n
    assert err[0] > 0.15  # it really fell


def test_error_and_likelihood_curves_hold_engine_values():
    s = make()
    for _ in range(5):
        s.advance(10)
    s.step()
    step, err, ll = curves(s)
    assert step.tolist() == [0, 10, 20, 30, 40, 50, 51]
    ref = reference(0, 51)
    np.testing.assert_array_equal(s.model.W, ref.W)
    assert err[-1] == pytest.approx(ref.reconstruction_error(DATA), rel=1e-12)
    assert ll[-1] == pytest.approx(ref.log_likelihood(DATA), rel=1e-12)
    # An earlier point too: replay 30 steps.
    ref30 = reference(0, 30)
    assert err[3] == pytest.approx(ref30.reconstruction_error(DATA), rel=1e-12)
    assert ll[3] == pytest.approx(ref30.log_likelihood(DATA), rel=1e-12)
    # Readouts show the same numbers.
    assert s.readouts["Step"] == "51"
    assert s.readouts["Log-likelihood (exact)"] == f"{ll[-1]:.2f}".replace("-", "−")
    assert "51" in s.readouts.source.data["value"]


def test_the_likelihood_never_passes_the_ceiling():
    s = make()
    for _ in range(150):
        s.advance(10)
    _, _, ll = curves(s)
    assert ll.max() <= CEILING + 1e-12


def test_receptive_fields_are_the_columns_of_w():
    s = make()
    for _ in range(40):
        s.advance(10)
    W = s.model.W
    scale = float(np.abs(W).max())
    (image,) = s.source("rbm-fields").data["image"]
    image = np.asarray(image)[::-1]  # stored bottom-up (Bokeh's convention)
    for j in range(4):
        np.testing.assert_array_equal(image[:, 4 * j : 4 * j + 3].ravel(), W[:, j])
        if j < 3:
            assert np.isnan(image[:, 4 * j + 3]).all()
    # One fixed, symmetric colour scale, said on screen and next to the colour bar: it does
    # not grow with the weights (a colour means the same weight all run long).
    mapper = figure_with(s, "rbm-fields").renderers[0].glyph.color_mapper
    assert (mapper.low, mapper.high) == (-WEIGHT_LIMIT, WEIGHT_LIMIT)
    assert f"−{WEIGHT_LIMIT:g} to +{WEIGHT_LIMIT:g}" in s.shown_text()
    for _ in range(200):
        s.advance(10)
    assert np.abs(s.model.W).max() > WEIGHT_LIMIT > scale / 2
    assert (mapper.low, mapper.high) == (-WEIGHT_LIMIT, WEIGHT_LIMIT)
    assert s.readouts["Largest |w|"] == f"{np.abs(s.model.W).max():.2f}"


def test_method_and_k_reach_the_engine():
    s = make(k=3)
    for _ in range(4):
        s.advance(5)
    np.testing.assert_array_equal(s.model.W, reference(0, 20, k=3).W)
    assert s.model.persistent_chains is None
    s.method = "PCD"
    s.step()
    assert s.model.persistent_chains.shape == (PCD_CHAINS, 4)
    s.lr = 0.05
    before = s.model.W.copy()
    s.step()
    assert not np.array_equal(before, s.model.W)


# -- reset, seeds ---------------------------------------------------------------------------


def test_reset_replays_identical_numbers():
    s = make(seed=11)
    for _ in range(30):
        s.advance(10)
    s.dream()
    first = [c.copy() for c in curves(s)]
    W_first = s.model.W.copy()
    s.reset()
    assert curves(s)[0].tolist() == [0]
    for _ in range(30):
        s.advance(10)
    for a, b in zip(first, curves(s), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(W_first, s.model.W)


def test_new_seed_changes_seed_and_restarts():
    s = make()
    s.advance(50)
    old = s.seed
    s.new_seed()
    assert s.seed != old
    assert s.n_steps == 0
    assert curves(s)[0].tolist() == [0]
    np.testing.assert_array_equal(s.model.W, RBM(9, 4, seed=s.seed).W)


# -- the lesson the text states ------------------------------------------------------------


def test_with_the_defaults_error_keeps_falling_while_the_likelihood_peaks_then_falls():
    """The numbers in the section's text (RUN_FACTS), measured through the section itself."""
    f = RUN_FACTS
    s = make()
    for _ in range(600):
        s.advance(10)
    step, err, ll = curves(s)
    peak = int(np.argmax(ll))
    at = {int(t): i for i, t in enumerate(step)}
    # The peak: where and how high, far above the floor and below the ceiling.
    assert abs(step[peak] - f["peak_step"]) <= 10  # curves hold one point per 10 steps
    assert ll[peak] == pytest.approx(f["peak"], abs=0.005)
    # Then the slide, at steps 3000 and 6000 (one decimal in the text).
    assert ll[at[3000]] == pytest.approx(f["ll_3000"], abs=0.05)
    assert ll[at[6000]] == pytest.approx(f["ll_6000"], abs=0.05)
    # Meanwhile the error goes on shrinking.
    assert err[peak] == pytest.approx(f["err_peak"], abs=0.0005)
    assert err[at[6000]] == pytest.approx(f["err_6000"], rel=0.5)
    assert err[at[3000]] < err[at[1000]] < err[peak]
    # Where the probability went: O about 94 %, T under 1 %, yet T reconstructs.
    p = np.exp(s.exact_log_probs())
    assert p[2] == pytest.approx(f["p_O"], abs=0.005)
    assert p[0] < f["p_T"]
    # ... and the text on screen quotes exactly these figures
    lesson = s.text("lesson", **run_text_values())
    for shown in ("−1.54", "590", "−3.0", "−3.8", "0.003", "0.000001", "94 %", "1 %"):
        assert shown in lesson
    s.pattern = "111010010"
    assert shape_name(s.reconstruct() > 0.5) == "T"
    # The peak marker sits on the best point.
    assert s.source("rbm-peak").data["step"][0] == step[peak]
    assert all(span.location == step[peak] for span in peak_lines(s))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_other_seeds_tell_the_same_story(seed):
    s = make(seed=seed)
    for _ in range(600):
        s.advance(10)
    step, err, ll = curves(s)
    peak = int(np.argmax(ll))
    assert step[peak] < 2000
    assert ll[-1] < ll[peak] - 1.0
    assert err[-1] < err[peak] / 20


def _run(n_steps: int, **params) -> tuple[np.ndarray, np.ndarray]:
    s = make(**params)
    for _ in range(n_steps // 10):
        s.advance(10)
    step, _, ll = curves(s)
    return step, ll


@pytest.mark.slow
def test_the_text_about_cd10_and_pcd_is_true():
    step1, ll1 = _run(6000)
    step10, ll10 = _run(6000, k=10)
    # CD-10: a higher peak (about −1.2) and a slower slide than CD-1.
    assert ll10.max() == pytest.approx(RUN_FACTS["k10_peak"], abs=0.05)
    assert ll10.max() > ll1.max() + 0.2
    assert ll10[-1] > ll1[-1] + 1.0
    # PCD at η = 0.05: about −1.5 around step 6000 (mean over steps 5000–6000) ...
    step_p, ll_p = _run(6000, method="PCD", lr=0.05)
    late = ll_p[(step_p > 5000) & (step_p <= 6000)]
    assert late.mean() == pytest.approx(RUN_FACTS["pcd_6000"], abs=0.1)
    # ... while at η = 0.3 it lurches: swings of several nats after the first climb.
    step_f, ll_f = _run(6000, method="PCD")
    after = ll_f[step_f >= 1000]
    assert after.max() - after.min() > 2.0


# -- draw and reconstruct ------------------------------------------------------------------


def test_every_corrupted_t_is_reconstructed_as_t_once_trained():
    s = make()
    train_until_error_below(s, 0.05, 500)
    for cell in range(9):
        bits = T.copy()
        bits[cell] = 1 - bits[cell]
        s.pattern = bits_pattern(bits)
        recon = s.reconstruct()
        np.testing.assert_array_equal(recon > 0.5, T > 0.5)
    # Through the button path too: the reconstruction grid's source holds the grey levels.
    cell = s.load_corrupted("T")
    assert bits_pattern(visible(s)) == s.pattern
    assert np.sum(pattern_bits(s.pattern) != T) == 1 and pattern_bits(s.pattern)[cell] != T[cell]
    s.reconstruct()
    shown = np.asarray(s.source("rbm-reconstruction").data["state"])
    np.testing.assert_array_equal(shown > 0.5, T > 0.5)
    assert "is <b>T</b>" in s.shown_text()


def test_hidden_bars_and_grey_levels_are_the_engine_conditionals():
    s = make()
    for _ in range(20):
        s.advance(10)
    s.flip(4)
    s.flip(0)
    v = pattern_bits(s.pattern)
    s.reconstruct()
    hidden = s.source("rbm-hidden").data["prob"]
    np.testing.assert_allclose(hidden, s.model.hidden_probs(v), rtol=1e-12)
    np.testing.assert_allclose(recon(s), s.model.reconstruct(v), rtol=1e-12)
    assert np.all((recon(s) >= 0) & (recon(s) <= 1))


def test_flip_clear_and_the_visible_grid():
    s = make(pattern="000000000")
    s.flip(8)
    assert s.pattern == "000000001"
    np.testing.assert_array_equal(visible(s), pattern_bits("000000001"))
    s.clear()
    assert s.pattern == "000000000"
    s.flip(42)  # not a cell: refused with a notice, nothing changes
    assert s.pattern == "000000000"
    with pytest.raises(ValueError):
        s.load_corrupted("X")


def test_corruptions_follow_the_seed():
    a, b = make(seed=5), make(seed=5)
    cells_a = [a.load_corrupted(n) for n in "TLOT"]
    cells_b = [b.load_corrupted(n) for n in "TLOT"]
    assert cells_a == cells_b


# -- dreams --------------------------------------------------------------------------------


def test_dreams_show_model_samples_and_honest_fractions():
    s = make()
    for _ in range(300):
        s.advance(10)
    s.dream()  # without a server the job runs at once
    frac = s.dream_fractions
    assert sum(frac.values()) == pytest.approx(1.0)
    assert all(v * N_DREAMS == pytest.approx(round(v * N_DREAMS)) for v in frac.values())
    shown = np.asarray(s.source("rbm-dreams").data["state"]).reshape(SHOWN_DREAMS, 9)
    assert set(np.unique(shown)) <= {0.0, 1.0}
    # A trained model dreams almost only the three shapes (its chains land in their
    # valleys), whatever the exact split between them.
    assert frac["other"] < 0.1
    names = [shape_name(r) for r in shown]
    assert sum(n is not None for n in names) >= SHOWN_DREAMS - 3
    # The table shows the exact probabilities next to the dream fractions.
    p = np.exp(s.exact_log_probs())
    assert f"{100 * p[2]:.0f} %" in s.shown_text()
    # Dreaming uses the sampling stream only: training numbers are unchanged by it.
    W = s.model.W.copy()
    s.step()
    t = make()
    for _ in range(300):
        t.advance(10)
    t.step()
    np.testing.assert_array_equal(s.model.W, t.model.W)
    assert not np.array_equal(W, s.model.W)


def test_an_untrained_model_dreams_noise():
    s = make()
    s.dream()
    frac = s.dream_fractions
    # Near-uniform over 512 images: the three shapes are rare.
    assert frac["other"] > 0.9


# -- frames and the animator ---------------------------------------------------------------


def test_a_frame_makes_speed_steps_and_streams_one_point():
    s = make(speed=7)
    s.animator.tick()
    s.animator.tick()
    assert s.n_steps == 14
    assert curves(s)[0].tolist() == [0, 7, 14]
    assert s.animator.button.name == "Train"


def test_costly_methods_make_fewer_steps_per_frame():
    s = make(speed=50)
    assert s.steps_per_frame() == 50  # CD-1: 50 steps × 30 chains
    assert "step per frame" not in s.shown_text()
    s.k = 10
    assert s.steps_per_frame() == 10  # 10 × 30 chains × 10 round trips = the budget
    s.method = "PCD"
    assert s.steps_per_frame() == 1  # 300 chains × 10 round trips
    assert "1 step per frame" in s.shown_text()
    s.animator.tick()
    assert s.n_steps == 1
    s.k = 1
    assert s.steps_per_frame() == 10


def test_pausing_brings_readouts_and_fields_up_to_date():
    s = make()
    for _ in range(4):  # live frames may skip the readouts and the fields
        s.animator.tick()
    s.animator.running = True
    s.animator.running = False  # what a pause does
    assert s.readouts["Step"] == "40"
    (image,) = s.source("rbm-fields").data["image"]
    np.testing.assert_array_equal(np.asarray(image)[::-1][:, 0:3].ravel(), s.model.W[:, 0])
    assert "hidden unit 1" in s.shown_text()


# -- untrusted values ------------------------------------------------------------------------


def test_bad_url_values_are_clamped_or_refused_with_messages():
    s = make()
    msgs = s.apply_values(
        {
            "lr": "5",
            "k": "0",
            "speed": "nan",
            "method": "SGD",
            "seed": "-3",
            "pattern": "12<script>",
            "dream_steps": "1e9",
            "bogus": "1",
        }
    )
    assert s.lr == 1.0  # clamped
    assert s.k == 1  # clamped
    assert s.speed == 10  # refused
    assert s.method == "CD"  # refused
    assert s.seed == 0  # clamped
    assert s.pattern == "111010110"  # refused
    assert s.dream_steps == 1000  # clamped
    assert len(msgs) == 8
    assert any("pattern" in m and "&lt;script" in m for m in msgs)
    assert s.notice


def test_good_url_values_are_applied():
    s = make()
    msgs = s.apply_values(
        {"lr": "0.12", "method": "PCD", "k": "4", "seed": "42", "pattern": "100100111"}
    )
    assert msgs == []
    assert (s.lr, s.method, s.k, s.seed, s.pattern) == (0.12, "PCD", 4, 42, "100100111")
    np.testing.assert_array_equal(visible(s), pattern_bits("100100111"))
    np.testing.assert_array_equal(s.model.W, RBM(9, 4, seed=42).W)
    q = s.query()
    assert q["rbm.method"] == "PCD" and q["rbm.pattern"] == "100100111"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("lr", 0.0),
        ("lr", 2.0),
        ("k", 11),
        ("speed", 51),
        ("seed", -1),
        ("pattern", "11101001"),
        ("pattern", "x" * 9),
        ("method", "CD-1"),
        ("dream_steps", 0),
    ],
)
def test_out_of_range_values_set_directly_raise(name, value):
    s = RBMTrainer()
    with pytest.raises(ValueError):
        setattr(s, name, value)


# -- hostile input (issue 6): nothing escapes, every value ends valid ------------------------

_SHARED: list[RBMTrainer] = []

_HOSTILE_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**15), 10**15).map(str),
    st.text(max_size=80),
    st.sampled_from(
        ["", " ", "nan", "-inf", "1e309", "CD", "PCD", "cd", "111010010", "1110100101",
         "<script>alert(1)</script>", "0x10", "None", "[]", "1,2", "\x00", "٣"]
    ),
)  # fmt: skip
_HOSTILE_NAMES = st.sampled_from(
    [*RBMTrainer.url_params, "embed", "bogus", "__class__", "model", "x" * 70]
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_HOSTILE_NAMES, _HOSTILE_VALUES, max_size=4))
def test_hostile_values_never_escape_and_leave_a_valid_state(raw):
    if not _SHARED:
        _SHARED.append(make())
    s = _SHARED[0]
    messages = s.apply_values(raw)  # must not raise
    for name in RBMTrainer.url_params:
        p = s.param[name]
        value = getattr(s, name)
        if isinstance(p, param.Number):
            lo, hi = p.bounds
            assert lo <= value <= hi and math.isfinite(value)
    assert s.method in ("CD", "PCD")
    assert len(s.pattern) == 9 and set(s.pattern) <= {"0", "1"}
    # Unknown names and unparsable numbers are always mentioned.
    for name, value in raw.items():
        if name not in (*RBMTrainer.url_params, "embed"):
            assert messages, (name, value)
        elif isinstance(s.param[name], param.Number):
            try:
                ok = math.isfinite(float(value.strip())) and len(value) <= 64
            except ValueError:
                ok = False
            if not ok:
                assert any(f"“{name}”" in m for m in messages), (name, value, messages)
    # The section still works.
    before = s.n_steps
    s.step()
    assert s.n_steps == before + 1


@pytest.mark.parametrize("bad", ["", "12", "11101011x", "1" * 500, 123, None])
def test_a_malformed_pattern_in_a_link_is_refused_with_its_form_named(bad):
    s = make(pattern="000000000")
    msgs = s.apply_values({"pattern": bad, "lr": "0.1"})
    assert s.pattern == "000000000"
    assert s.lr == pytest.approx(0.1)  # the other values still apply
    assert len(msgs) == 1 and "nine 0/1 digits" in msgs[0]
    assert s.notice


def test_while_animating_the_peak_marker_follows_with_the_readouts_and_is_exact_on_pause():
    s = make()
    s.advance(1)  # a step: the marker is on the best point at once
    assert s.source("rbm-peak").data["step"][0] == s.best[1] == 1
    shown = []
    for _ in range(6):
        s.advance(1, live=True)
        shown.append(s.source("rbm-peak").data["step"][0])
    best = s.best[1]
    assert best == 7  # early on every step is the best so far
    assert shown != list(range(2, 8)) and max(shown) >= 4  # drawn some frames, not all
    s.animator.running = True
    s.animator.pause()  # paused: exact again
    assert s.source("rbm-peak").data["step"][0] == best
    assert all(span.location == best for span in peak_lines(s))


def test_the_machine_picture_draws_every_weight_live():
    s = make()
    src = s.source("rbm-machine")
    assert len(src.data["w"]) == 9 * 4
    for _ in range(30):
        s.advance(10)
    w = s.model.W
    np.testing.assert_array_equal(np.asarray(src.data["w"]), w.ravel())
    np.testing.assert_allclose(np.asarray(src.data["width"]), edge_widths(w.ravel()))
    i, j = 4, 2  # the line from v5 to h3 carries W[4, 2]
    assert src.data["pair"][i * 4 + j] == "v5 – h3"
    assert edge_widths([0.0, WEIGHT_LIMIT, 3 * WEIGHT_LIMIT]).tolist() == [0.5, 4.0, 4.0]


def test_parameter_count_comes_from_the_model():
    s = make()
    c = parameter_counts(s.model)
    assert c["n_params"] == 9 * 4 + 9 + 4 == 49
    assert c["n_full"] == 13 * 12 // 2 + 13
    text = s.text("machine", **c)
    assert "**49** numbers" in text and "would have 91" in text


def test_the_reconstruction_names_the_models_current_step():
    # After training, Draw and reconstruct shows the model as it is, not step 0.
    s = make()
    s.pattern = "111010010"
    for _ in range(20):
        s.advance(10)
    assert s.n_steps == 200 and "Through the model at step 200." in s.shown_text()
    assert "at step 0." not in s.shown_text()
    v = pattern_bits(s.pattern)
    expected = s.model.visible_probs(s.model.hidden_probs(v))
    shown = np.asarray(s.source("rbm-reconstruction").data["state"])
    np.testing.assert_allclose(shown, expected)
    s.step()
    assert "Through the model at step 201." in s.shown_text()


def test_reconstruction_error_is_defined_as_the_engine_computes_it():
    s = make()
    for _ in range(5):
        s.advance(10)
    recon = s.model.visible_probs(s.model.hidden_probs(DATA))
    assert s.model.reconstruction_error(DATA) == pytest.approx(np.mean((DATA - recon) ** 2))
    assert "mean squared difference" in s.text("recon_error")
