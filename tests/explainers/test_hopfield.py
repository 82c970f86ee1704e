"""The Hopfield grid section: what it shows is what the engine computes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine import (
    SHAPES,
    GlauberChain,
    describe_state,
    energy,
    glauber,
    hebbian,
    local_minima,
    to_spins,
)
from explainers.hopfield import (
    MAX_SPEED,
    POINTS_PER_FRAME,
    SETTLE_UPDATES,
    HopfieldGrid,
    bits_text,
)

T = to_spins(SHAPES["T"].ravel())
L = to_spins(SHAPES["L"].ravel())
PATTERNS = np.array([T, L])
W = hebbian(PATTERNS)
B = np.zeros(9)


@pytest.fixture
def h():
    grid = HopfieldGrid()
    grid.__panel__()
    return grid


def shown_state(h) -> np.ndarray:
    return np.asarray(h.source("hopfield-grid").data["state"], dtype=int)


def test_grid_source_is_the_named_test_hook(h):
    src = h.source("hopfield-grid")
    assert src.name == "hopfield-grid"
    assert len(src.data["state"]) == 9
    assert set(np.abs(shown_state(h))) == {1}
    assert "explainer-hopfield" in h.__panel__().css_classes
    assert h.readouts.source.name == "hopfield-readouts"
    assert list(h.readouts.source.data["label"]) == ["Energy", "Updates"]


def test_start_state_and_readouts_come_from_the_engine(h):
    rng = np.random.default_rng(h.seed)
    start = rng.choice(np.array([-1, 1]), size=9)
    np.testing.assert_array_equal(h.state, start)
    np.testing.assert_array_equal(shown_state(h), start)
    assert h.readouts["Updates"] == "0"
    assert h.readouts["Energy"] == f"{energy(W, B, start):+.2f}".replace("-", "−")


def test_updates_match_an_engine_chain_with_the_same_seed(h):
    # Frames of a few updates each must reproduce one engine run of the same length.
    h.temperature = 0.7
    start = h.state
    h.speed = 7
    for _ in range(5):
        h.animator.tick()
    h.step()  # one sweep = 9 updates
    n = 5 * 7 + 9
    expected, trace = glauber(W, B, start, 0.7, n, seed=h.seed)
    np.testing.assert_array_equal(h.state, expected)
    np.testing.assert_array_equal(shown_state(h), expected)
    assert h.n_updates == n
    assert h.readouts["Updates"] == str(n)
    assert list(h.readouts.source.data["value"]) == [h.readouts["Energy"], str(n)]
    assert h.energy == pytest.approx(trace[-1])
    assert h.source("hopfield-energy").data["update"][-1] == n
    assert h.source("hopfield-energy").data["energy"][-1] == pytest.approx(trace[-1])


def test_temperature_param_reaches_the_chain(h):
    h.temperature = 0.0
    assert h.chain.T == 0.0
    h.temperature = 3.5
    assert h.chain.T == 3.5


def test_high_speed_sends_a_bounded_number_of_points(h):
    h.speed = MAX_SPEED
    before = len(h.source("hopfield-energy").data["update"])
    h.animator.tick()
    sent = len(h.source("hopfield-energy").data["update"]) - before
    assert sent == POINTS_PER_FRAME
    assert h.n_updates == MAX_SPEED
    assert h.source("hopfield-energy").data["update"][-1] == MAX_SPEED


def test_run_changes_the_grid():
    # At T = 2 a random grid keeps changing: 200 updates leave a trace with flips.
    h = HopfieldGrid(temperature=2.0, speed=200)
    h.__panel__()
    first = h.state
    seen = {tuple(first)}
    for _ in range(5):
        h.animator.tick()
        seen.add(tuple(h.state))
    assert len(seen) > 1
    assert h.n_updates == 1000


def test_status_agrees_with_the_engine_on_every_state_at_zero_temperature(h):
    h.temperature = 0.0
    minima = {tuple(m) for m in local_minima(W, B)}
    kinds = set()
    for bits in itertools.product([-1, 1], repeat=9):
        s = np.array(bits, dtype=np.int8)
        h.set_state(s)
        kind, text = h.status()
        if tuple(bits) in minima:
            expected, k, _ = describe_state(s, PATTERNS, ["T", "L"])
            assert kind == expected
            assert (("TL"[k]) in text) if kind != "spurious" else True
        else:
            assert (kind, text) == ("exploring", "exploring")
        kinds.add(kind)
    # Two Hebbian memories on nine cells leave no spurious valley (the text says so).
    assert kinds == {"exploring", "memory", "mirror"}


@pytest.mark.parametrize(
    ("state", "text"),
    [
        (T, "settled in T"),
        (L, "settled in L"),
        (-T, "settled in a mirror image (inverted T)"),
        (-L, "settled in a mirror image (inverted L)"),
    ],
)
def test_status_line_for_memories_and_mirrors(h, state, text):
    h.temperature = 0.0
    h.set_state(state)
    assert h.status()[1] == text
    assert text in h.shown_text()


def test_spurious_wording(h):
    # No spurious minimum exists in this network; check the wording on a fake one.
    h.temperature = 0.0
    odd = np.array([1, -1, 1, -1, 1, -1, 1, -1, 1], dtype=np.int8)
    h.minima.add(odd.tobytes())
    h.set_state(odd)
    assert h.status() == ("spurious", "stuck in a spurious state")


def test_settled_at_positive_temperature_needs_quiet_updates(h):
    h.temperature = 0.05
    h.set_state(T)
    assert h.status()[0] == "exploring"  # a local minimum, but only just arrived
    h.advance(SETTLE_UPDATES - 1)
    np.testing.assert_array_equal(h.state, T)  # at T = 0.05 a flip has p < 1e-11
    assert h.status()[0] == "exploring"
    h.advance(1)
    assert h.status() == ("memory", "settled in T")


def test_one_flipped_cell_settles_back_at_low_temperature():
    h = HopfieldGrid(temperature=0.05, speed=5)
    h.__panel__()
    s = T.copy()
    s[4] = -s[4]
    h.set_state(s)
    for _ in range(40):
        h.animator.tick()
    np.testing.assert_array_equal(h.state, T)
    assert h.status() == ("memory", "settled in T")


def test_corrupt_loads_a_memory_with_k_flips(h):
    name, cells = h.corrupt()
    memory = {"T": T, "L": L}[name]
    assert 1 <= len(cells) <= 2
    differs = np.flatnonzero(h.state != memory)
    np.testing.assert_array_equal(differs, cells)
    assert f"Loaded <b>{name}</b> with {len(cells)} cell" in h.shown_text()
    assert h.start == bits_text(h.state)
    # The same seed gives the same corruptions, and Reset starts the sequence again.
    other = HopfieldGrid()
    assert other.corrupt() == (name, cells)
    h.reset()
    assert h.corrupt() == (name, cells)


def test_flip_and_keyboard_flip_edit_the_start_picture(h):
    before = h.state
    h.flip(4)
    after = h.state
    assert after[4] == -before[4]
    np.testing.assert_array_equal(np.delete(after, 4), np.delete(before, 4))
    np.testing.assert_array_equal(shown_state(h), after)
    assert h.start == bits_text(after)
    h.step()
    h.reset()  # Reset returns to the edited picture, with the seed's random numbers
    np.testing.assert_array_equal(h.state, after)
    assert h.n_updates == 0
    h.flip(99)  # no such cell: refused, nothing changes
    np.testing.assert_array_equal(h.state, after)


def test_reset_and_new_seed(h):
    start = h.state
    h.step()
    h.step()
    h.reset()
    np.testing.assert_array_equal(h.state, start)
    assert h.n_updates == 0
    assert list(h.source("hopfield-energy").data["update"]) == [0]
    seed = h.seed
    h.flip(0)
    h.new_seed()
    assert h.seed != seed
    assert h.start == ""
    rng = np.random.default_rng(h.seed)
    np.testing.assert_array_equal(h.state, rng.choice(np.array([-1, 1]), size=9))


def test_same_seed_same_run():
    a, b = HopfieldGrid(seed=123), HopfieldGrid(seed=123)
    for g in (a, b):
        g.speed = 13
        for _ in range(10):
            g.animator.tick()
    np.testing.assert_array_equal(a.state, b.state)
    chain = GlauberChain(W, B, HopfieldGrid(seed=123).state, 0.2, seed=123)
    chain.run(130)
    np.testing.assert_array_equal(a.state, chain.s)


def test_link_values_restore_state(h):
    msgs = h.apply_values({"temperature": "0.05", "speed": "3", "seed": "42", "start": "111010010"})
    assert msgs == []
    assert (h.temperature, h.speed, h.seed) == (0.05, 3, 42)
    np.testing.assert_array_equal(h.state, T)
    assert h.query() == {
        "hopfield.temperature": "0.05",
        "hopfield.speed": "3",
        "hopfield.seed": "42",
        "hopfield.start": "111010010",
    }


def test_bad_values_are_clamped_or_refused_with_a_message(h):
    msgs = h.apply_values(
        {"temperature": "9", "speed": "1e9", "seed": "-5", "start": "12x", "bogus": "1"}
    )
    assert h.temperature == 5.0
    assert h.speed == MAX_SPEED
    assert h.seed == 0
    assert h.start == ""
    assert len(msgs) == 5
    assert any("nine 0/1 digits" in m for m in msgs)
    assert "nine 0/1 digits" in h.shown_text()
    msgs = h.apply_values({"temperature": "nan", "start": "1" * 500})
    assert h.temperature == 5.0
    assert len(msgs) == 2
    assert all(len(m) < 200 for m in msgs)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("temperature", -0.1),
        ("temperature", 5.1),
        ("speed", 0),
        ("speed", MAX_SPEED + 1),
        ("seed", -1),
        ("seed", 2**31),
        ("start", "2"),
        ("start", "11101001"),
    ],
)
def test_out_of_range_sets_raise(h, name, value):
    with pytest.raises(ValueError):
        setattr(h, name, value)


def test_screen_reader_text_is_throttled_while_running_and_exact_when_stopped(h):
    def rows(s):
        cells = ["■" if v > 0 else "□" for v in s]
        return " / ".join("".join(cells[r * 3 : r * 3 + 3]) for r in range(3))

    now = [100.0]
    h.clock = lambda: now[0]
    pane = h.grid.alt.pane
    h.temperature = 3.0
    h.speed = 20
    h.step()  # sends the text at t = 100 s
    shown = pane.object
    for _ in range(20):
        now[0] += 0.01  # twenty frames within the next second
        h.animator.tick()
    assert pane.object == shown  # held back while animating
    assert h.grid.alt.object.endswith(rows(h.state))  # but the latest text is kept
    h.animator.running = True
    h.animator.running = False  # pausing sends it
    assert pane.object.endswith(rows(h.state))
    h.step()
    assert pane.object.endswith(rows(h.state))


def test_live_frames_redraw_the_readouts_at_most_ten_times_a_second(h):
    now = [100.0]
    h.clock = lambda: now[0]
    h.advance(1)  # a step always shows them
    assert h.readouts["Updates"] == "1"
    h.advance(3, live=True)  # a frame within 0.1 s of that: left for a later frame
    assert h.readouts["Updates"] == "1" and h.n_updates == 4
    now[0] += 0.11
    h.advance(4, live=True)  # later: shown
    assert h.readouts["Updates"] == "8"
    h.advance(2, live=True)
    assert h.readouts["Updates"] == "8"
    h.animator.running = True
    h.animator.pause()  # pausing makes every number exact
    assert h.readouts["Updates"] == "10"
    assert h.readouts["Energy"] == f"{h.energy:+.2f}".replace("-", "−")
