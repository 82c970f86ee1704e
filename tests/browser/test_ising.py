"""The spin lattice in a real Chromium: it animates, the traces grow, links and caps hold."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Lattice
from explainers.ising import MAX_SWEEPS_PER_FRAME

from . import helpers
from .helpers import source_data, wait_for_bokeh, wait_until

pytestmark = pytest.mark.browser


def open_section(page, url: str) -> list[str]:
    return helpers.open_section(page, url, "ising-lattice", "ising")


def lattice(page) -> np.ndarray:
    flat = np.asarray(source_data(page, "ising-lattice")["image"][0], dtype=float)
    side = int(round(np.sqrt(flat.size)))
    return flat.reshape(side, side)[::-1]  # stored bottom-up


def traces(page) -> dict:
    return source_data(page, "ising-traces")


def test_section_alone_renders_the_lattice(page, app_url):
    errors = open_section(page, app_url + "/ising")
    assert page.locator(".explainer-section").count() == 1
    spins = lattice(page)
    assert spins.shape == (128, 128) and set(np.unique(spins)) <= {-1.0, 1.0}
    np.testing.assert_array_equal(spins, Lattice(128, "ferro", seed=1).spins)
    for name in ("Run", "Step", "Reset", "New seed", "T = Tc"):
        assert page.get_by_role("button", name=name).count() == 1, name
    assert traces(page)["sweep"] == [0]
    page.wait_for_timeout(500)
    assert errors == []


def test_run_animates_the_lattice_and_the_energy_trace_grows(page, app_url):
    errors = open_section(page, app_url + "/ising")
    first = lattice(page)
    helpers.start_counting_changes(page, "ising-lattice")
    page.get_by_role("button", name="Run").click()
    page.wait_for_timeout(2000)
    frames = helpers.changes(page, "ising-lattice")
    assert frames >= 5  # it animates (the rate itself is measured in bench, not here)
    wait_until(lambda: len(traces(page)["energy"]) > 10, timeout=30)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Run").wait_for(timeout=10_000)
    page.wait_for_timeout(500)
    t = traces(page)
    assert not np.array_equal(lattice(page), first)
    # Ordering below T_c: energy per spin falls from the random start's ~0.
    assert t["energy"][0] > -0.2 and t["energy"][-1] < -1.0
    assert np.all(np.diff(t["sweep"]) == 2)  # default: 2 sweeps per frame, none lost
    stopped = len(t["sweep"])
    page.wait_for_timeout(600)
    assert len(traces(page)["sweep"]) == stopped
    assert errors == []


def test_link_parameters_are_restored_and_step_is_the_engines(page, app_url):
    url = (
        app_url + "/ising?ising.L=64&ising.temperature=3.1&ising.method=metropolis"
        "&ising.couplings=pmJ&ising.sweeps_per_frame=5&ising.seed=9"
    )
    errors = open_section(page, url)
    ref = Lattice(64, "pmJ", seed=9)
    np.testing.assert_array_equal(lattice(page), ref.spins)
    assert page.get_by_text("Temperature T: 3.10").count() == 1
    assert page.get_by_text("Sweeps per frame: 5").count() == 1
    assert page.get_by_role("textbox", name="Seed").input_value() == "9"
    page.get_by_role("button", name="Step").click()
    wait_until(lambda: traces(page)["sweep"] == [0, 1], timeout=20)
    ref.sweep(3.1, 1, "metropolis")
    np.testing.assert_array_equal(lattice(page), ref.spins)
    assert traces(page)["energy"][-1] == pytest.approx(ref.energy_per_spin())
    assert traces(page)["magnetization"][-1] == pytest.approx(ref.magnetization())
    assert errors == []


def test_hopfield_lattice_shows_its_stored_pictures(page, app_url):
    open_section(page, app_url + "/ising?ising.couplings=hopfield&ising.L=32&ising.cue=O")
    page.get_by_text("Overlap with each stored picture").first.wait_for(timeout=20_000)
    wait_for_bokeh(page, "ising-stored-O")
    assert page.get_by_text("The start was picture O").count() == 1


def test_critical_temperature_button(page, app_url):
    open_section(page, app_url + "/ising")
    page.get_by_role("button", name="T = Tc").click()
    page.get_by_text("Temperature T: 2.27").first.wait_for(timeout=20_000)
    page.get_by_text("critical: patches of every size").first.wait_for(timeout=20_000)


def test_caps_hold_against_values_sent_straight_to_the_model(page, app_url):
    errors = open_section(page, app_url + "/ising?ising.L=32")
    assert helpers.set_widget(page, "Sweeps per frame", 1000)
    assert helpers.set_widget(page, "Side L", "1024")
    page.wait_for_timeout(1000)
    assert lattice(page).shape == (32, 32)
    page.get_by_role("button", name="Run").click()
    wait_until(lambda: len(traces(page)["sweep"]) > 5, timeout=30)
    page.get_by_role("button", name="Pause").click()
    # The server clamps the 1000 the client sent into its own bounds, as it does for a link.
    assert set(np.diff(traces(page)["sweep"])) == {MAX_SWEEPS_PER_FRAME}
    assert [e for e in errors if "1024" not in e and "1000" not in e] == []


def test_mangled_link_is_refused_with_a_message(page, app_url):
    url = app_url + "/ising?ising.L=100000&ising.temperature=-3&ising.method=%3Cb%3E&ising.x=1"
    errors = open_section(page, url)
    page.get_by_text("must be one of").first.wait_for(timeout=20_000)
    assert lattice(page).shape == (128, 128)
    assert page.get_by_text("Temperature T: 0.00").count() == 1
    page.get_by_role("button", name="Step").click()
    wait_until(lambda: traces(page)["sweep"] == [0, 1], timeout=20)
    assert errors == []
