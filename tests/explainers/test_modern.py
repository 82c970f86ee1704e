"""The modern section: what it shows is the engine's, and its prose claims hold."""

from __future__ import annotations

import numpy as np
import pytest

from engine import (
    DENSE_KINDS,
    dense_capacity_curve,
    dense_settle,
    hebbian,
    modern_retrieve,
    settle,
    theory_capacity,
)
from explainers import prose
from explainers.modern import (
    CAP_COUNTS,
    CAP_MIN_RECALLS,
    CAP_SEED,
    LETTERS,
    N_UNITS,
    NAMES,
    ModernHopfield,
    blend_kind,
    corrupt,
    stored_names,
)


@pytest.fixture
def section():
    s = ModernHopfield()
    s.__panel__()
    return s


def exact(results, k, letter):
    return np.array_equal(results[k][0], LETTERS[letter])


def test_letters_are_26_distinct_pictures_on_100_cells():
    assert NAMES == tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    P = np.stack([LETTERS[c] for c in NAMES])
    assert P.shape == (26, N_UNITS) and len({p.tobytes() for p in P}) == 26
    assert stored_names("M", 3) == ["M", "A", "B"]


def test_defaults_classic_fails_and_every_dense_energy_recalls(section):
    """What "Try this" and the intro claim for the defaults (M, 26 letters, 0.2, seed 1)."""
    s = section
    assert (s.letter, s.letters, s.noise, s.seed) == ("M", 26, 0.2, 1)
    assert 26 > 0.138 * N_UNITS  # more letters than the classic rule of thumb
    r = s.recall()
    assert not exact(r, 2, "M") and r[2][3] < 0.95  # overlap with M
    for k in (3, 5, "exp"):
        assert exact(r, k, "M")
    # The pictures and the bars are those results.
    shown = s.source("modern-recall").data["overlap"]
    np.testing.assert_array_equal(shown, [r[k][3] for k in DENSE_KINDS])
    img = np.asarray(s.source("modern-result-k2").data["image"][0])[::-1].ravel()
    np.testing.assert_array_equal(img, r[2][0])
    assert s.shown_text().count("<b>failed</b>") == 1  # the classic line only


def test_classic_results_are_the_hebbian_networks(section):
    s = section
    r = s.recall()
    _, patterns = s.stored()
    np.testing.assert_array_equal(r[2][0], settle(hebbian(patterns), None, s.start()))


def test_try_this_e_only_exp_then_two_letters_all(section):
    s = section
    s.letter = "E"
    r = s.recall()
    assert [exact(r, k, "E") for k in DENSE_KINDS] == [False, False, False, True]
    s.letters = 2
    r = s.recall()
    assert all(exact(r, k, "E") for k in DENSE_KINDS)


def test_changing_the_start_clears_old_results(section):
    s = section
    s.recall()
    s.seed = 7
    assert s.recall_results is None and s.source("modern-recall").data["rule"] == []
    start = np.asarray(s.source("modern-start").data["image"][0])[::-1].ravel()
    np.testing.assert_array_equal(start, corrupt("M", 0.2, 7))
    assert np.count_nonzero(start != LETTERS["M"]) == 20


def test_beta_moves_from_average_through_blend_to_one_letter(section):
    s = section
    s.letter = "E"
    seen = {}
    for beta in (0.0, 0.01, 0.15, 0.5):
        s.beta = beta
        w = np.asarray(s.source("modern-attention").data["weight"])
        assert s.source("modern-attention").data["letter"] == list(stored_names("E", 26))
        assert w.sum() == pytest.approx(1.0)
        seen[beta] = blend_kind(w)
        if beta > 0:
            _, patterns = s.stored()
            _, _, want = modern_retrieve(patterns, s.start().astype(float), beta, max_iter=500)
            np.testing.assert_allclose(w, want)
        assert seen[beta] in s.shown_text()
        assert s.readouts["largest weight"].startswith(f"{w.max():.2f}")
    assert seen == {
        0.0: "the global average",
        0.01: "the global average",
        0.15: "a blend of a few",
        0.5: "one pattern",
    }


def test_capacity_curves_are_the_engines(section):
    s = section
    n, curves, _ = s.capacity_result
    assert n == s.cap_n == 24
    want = dense_capacity_curve(
        24, CAP_COUNTS, DENSE_KINDS, noise=0.0, seed=CAP_SEED, min_recalls=CAP_MIN_RECALLS
    )
    d = s.source("modern-capacity").data
    np.testing.assert_array_equal(d["p"], CAP_COUNTS)
    for k, col in zip(DENSE_KINDS, ("k2", "k3", "k5", "exp"), strict=True):
        np.testing.assert_array_equal(d[col], want[k][0])
    # Theory marks: computed, and only those inside the plot.
    marks = s.source("modern-theory").data["p"]
    assert marks == pytest.approx([theory_capacity(24, k) for k in DENSE_KINDS])
    s.cap_n = 40
    assert s.capacity_result[0] == 40
    assert len(s.source("modern-theory").data["p"]) == 3  # 2^20 is off the plot
    assert "n = 40" in s.shown_text()


def test_dense_results_agree_with_the_engine_for_every_letter(section):
    s = section
    for letter in ("A", "Q", "Z"):
        s.letter = letter
        r = s.recall()
        _, patterns = s.stored()
        for k in DENSE_KINDS:
            np.testing.assert_array_equal(r[k][0], dense_settle(patterns, s.start(), k))


def test_prose_parts_exist_and_fill():
    for part in ("intro", "formula", "try_this", "attention", "attention_intro"):
        assert prose.text("modern", part)
    assert "0.26" in prose.text("modern", "stored", p=26, n=100, classic=14, alpha=0.26)


def test_links_are_clamped_and_refused_with_messages(section):
    msgs = section.apply_values({"letter": "é", "beta": "9", "cap_n": "3", "letters": "x"})
    assert len(msgs) == 4
    assert section.beta == 0.5 and section.cap_n == 16 and section.letter == "M"


def test_curves_the_pool_refuses_say_so_instead_of_computing_forever(section):
    section.capacity_job.runner = lambda *args, **kwargs: False  # the shared pool is full
    section.cap_n = section.cap_n + 1
    assert "Not computed" in section.shown_text()
    assert not section.capacity_job.busy
