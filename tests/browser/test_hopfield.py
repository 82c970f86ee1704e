"""The Hopfield grid in a real Chromium: running, repairing a memory, links."""

from __future__ import annotations

import numpy as np
import pytest

from engine import SHAPES, to_spins

from . import helpers
from .helpers import source_data, wait_until

pytestmark = pytest.mark.browser

T_SPINS = to_spins(SHAPES["T"].ravel()).tolist()


def open_section(page, url: str) -> list[str]:
    return helpers.open_section(page, url, "hopfield-grid", "hopfield")


def grid(page) -> list[int]:
    return [int(v) for v in source_data(page, "hopfield-grid")["state"]]


def updates(page) -> int:
    readouts = source_data(page, "hopfield-readouts")
    return int(readouts["value"][readouts["label"].index("Updates")])


def status(page) -> str:
    return page.locator(".hopfield-status [role=status]").first.inner_text().strip()


def test_section_alone_renders_without_console_errors(page, app_url):
    errors = open_section(page, app_url + "/hopfield")
    assert page.locator(".explainer-section").count() == 1
    state = grid(page)
    assert len(state) == 9 and set(state) <= {-1, 1}
    for name in ("Run", "Step", "Reset", "Corrupt a memory", "New seed", "Flip cell"):
        assert page.get_by_role("button", name=name).count() == 1, name
    assert updates(page) == 0
    page.wait_for_timeout(500)
    assert errors == []


def test_run_makes_the_counter_grow_and_the_grid_change(page, app_url):
    # Hot and fast, so the grid is sure to change within a second or two.
    errors = open_section(page, app_url + "/hopfield?hopfield.temperature=2&hopfield.speed=20")
    first = grid(page)
    page.get_by_role("button", name="Run").click()
    wait_until(lambda: updates(page) >= 200, timeout=30)
    wait_until(lambda: grid(page) != first, timeout=30)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Run").wait_for(timeout=10_000)
    stopped = updates(page)
    page.wait_for_timeout(600)
    assert updates(page) == stopped
    energies = source_data(page, "hopfield-energy")["energy"]
    assert len(energies) > 10
    assert errors == []


def test_a_memory_with_one_flipped_cell_settles_back_at_low_temperature(page, app_url):
    # Start from T itself, flip the bottom-right cell with the keyboard control, and run.
    open_section(page, app_url + "/hopfield?hopfield.temperature=0.05&hopfield.start=111010010")
    assert grid(page) == T_SPINS
    page.get_by_role("combobox", name="Cell").select_option(label="row 3, column 3")
    page.get_by_role("button", name="Flip cell").click()
    wait_until(lambda: grid(page)[8] == 1, timeout=20)
    assert "exploring" in status(page)
    page.get_by_role("button", name="Run").click()
    wait_until(lambda: grid(page) == T_SPINS, timeout=30)
    wait_until(lambda: status(page) == "settled in T", timeout=30)
    page.get_by_role("button", name="Pause").click()
    # The edit went into the link: the copied URL starts from the corrupted picture.
    assert "hopfield.start=111010011" in page.url


def test_clicking_a_cell_flips_it(page, app_url):
    open_section(page, app_url + "/hopfield?hopfield.start=000000000")
    canvas = page.locator(".explainer-hopfield canvas").first
    canvas.scroll_into_view_if_needed()  # below the fold of a 720 px window
    box = canvas.bounding_box()
    # The middle of the grid is cell 4 (row 2, column 2).
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    wait_until(lambda: grid(page)[4] == 1, timeout=20)
    assert grid(page).count(1) == 1


def test_link_parameters_are_restored(page, app_url):
    url = app_url + "/hopfield?hopfield.temperature=0.7&hopfield.speed=12&hopfield.seed=99"
    errors = open_section(page, url)
    rng = np.random.default_rng(99)
    assert grid(page) == rng.choice(np.array([-1, 1]), size=9).tolist()
    assert page.get_by_text("Temperature T: 0.70").count() == 1
    assert page.get_by_text("Speed (updates per frame): 12").count() == 1
    assert page.get_by_role("textbox", name="Seed").input_value() == "99"
    assert errors == []


def test_mangled_link_is_refused_with_a_message_and_the_section_works(page, app_url):
    url = (
        app_url + "/hopfield?hopfield.temperature=nan&hopfield.speed=99999"
        "&hopfield.start=%3Cscript%3Ealert(1)%3C/script%3E&hopfield.bogus=1"
    )
    errors = open_section(page, url)
    page.get_by_text("nine 0/1 digits").first.wait_for(timeout=20_000)
    assert page.get_by_text("Speed (updates per frame): 500").count() == 1
    page.get_by_role("button", name="Step").click()
    wait_until(lambda: updates(page) == 9, timeout=20)
    assert errors == []
