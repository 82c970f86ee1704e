"""Every piece of a session's work on the event loop is paid from its own CPU budget.

Panel processes a slider's change a debounce after Bokeh applied the message, so the gate's
own measure (``site.guard``) never sees a section's reaction; ``explainers.meter`` charges it
from Panel's public ``busy`` flag.  A session's animation frames are charged too, and a
session over its budget sees its own animation slow down while its neighbour's does not.

Served in this process (:mod:`tests.serve_inprocess`), so the live sections and the pool's
budgets are in reach; the pool is replaced by one whose budgets refill slowly and known.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bench.app_clients import RawSession
from explainers import animation, meter, pool
from tests.serve_inprocess import InProcessServer, messages

BURN_S = 0.2  # thread CPU a tampered reaction or frame spends


def burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def charged(doc, burst: float) -> float:
    """CPU seconds taken from ``doc``'s budget (the pool's clock is frozen: no refill)."""
    return burst - pool.POOL.level(doc)


@pytest.fixture
def frozen_pool(monkeypatch):
    """A pool whose budgets never refill, holding ``burst`` CPU seconds each."""
    burst = 10.0
    scheduler = pool.Scheduler(cpu_rate=0.5, cpu_burst=burst, clock=lambda: 0.0)
    monkeypatch.setattr(pool, "POOL", scheduler)
    yield burst
    scheduler.stop()


@pytest.mark.parametrize("act", ["slider", "click"])
def test_a_reaction_is_charged_to_the_session_that_caused_it(frozen_pool, act):
    """A slider's change (processed by Panel a debounce later) and a button's click (processed
    at once, inside the message) each cost their own session, and only it."""
    burst = frozen_pool
    burned = []

    def tamper(section):
        def react(_event):
            burn(BURN_S)
            burned.append(1)

        section.param.watch(react, "temperature" if act == "slider" else "seed")

    with InProcessServer(["distribution"], tamper=tamper) as server:

        async def run():
            mover = await RawSession(server.url, "/distribution").open()
            mover_doc = server.latest().doc
            bystander = await RawSession(server.url, "/distribution").open()
            bystander_doc = server.latest().doc
            assert bystander_doc is not mover_doc
            before = charged(mover_doc, burst), charged(bystander_doc, burst)
            if act == "slider":
                await mover.set(mover.find("Slider", title="Temperature"), "value", 2.5)
            else:
                await mover.click("New seed")
            deadline = time.monotonic() + 20
            while not burned and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # the rest of the reaction (redrawing)
            after = charged(mover_doc, burst), charged(bystander_doc, burst)
            await mover.close()
            await bystander.close()
            return before, after

        before, after = asyncio.run(run())
    assert len(burned) == 1
    assert after[0] - before[0] >= BURN_S * 0.95
    assert after[1] - before[1] < BURN_S / 4  # the bystander paid nothing of it


def test_spans_inside_spans_are_charged_once(frozen_pool):
    burst = frozen_pool

    class Doc:  # a stand-in document: the pool only needs a hashable, weak-referable key
        pass

    outer, inner = Doc(), Doc()
    with meter.span(outer):
        burn(0.05)
        with meter.span(inner):
            burn(0.1)
    assert charged(inner, burst) == pytest.approx(0.1, abs=0.02)
    assert charged(outer, burst) == pytest.approx(0.05, abs=0.02)
    with meter.span(None):  # not served: nothing to charge
        burn(0.01)


def test_a_session_over_budget_has_its_own_animation_slowed_not_its_neighbours(monkeypatch):
    rate, burst = 0.1, 0.3
    scheduler = pool.Scheduler(cpu_rate=rate, cpu_burst=burst)
    monkeypatch.setattr(pool, "POOL", scheduler)
    heavy_frames = []

    def tamper(section):
        if heavy_frames:  # only the first session's frames are heavy
            return
        heavy_frames.append(section)
        light = section.animator._frame

        def heavy():
            burn(BURN_S / 4)
            light()

        section.animator._frame = heavy

    window = 4.0
    with InProcessServer(["ising"], tamper=tamper) as server:

        async def run():
            hog = await RawSession(server.url, "/ising").open()
            hog_built = server.latest()
            neighbour = await RawSession(server.url, "/ising").open()
            neighbour_built = server.latest()
            for s in (hog, neighbour):
                await s.click("Run")
            await asyncio.sleep(1.0)  # the hog spends its burst
            both = (hog_built, neighbour_built)
            counts = [b.section.animator.frames for b in both]
            await asyncio.sleep(window)
            done = [b.section.animator.frames - c for b, c in zip(both, counts, strict=True)]
            await hog.close()
            await neighbour.close()
            return done, hog_built

        (hog_frames, neighbour_frames), hog_built = asyncio.run(run())
    scheduler.stop()
    # Held to its budget: rate / cost frames per second (plus one batch of slack).
    allowed = window * rate / (BURN_S / 4) + animation.MAX_BATCH
    assert hog_frames <= allowed, (hog_frames, allowed)
    # The neighbour's frames cost little: it keeps (most of) its speed.
    assert neighbour_frames >= 0.6 * window * 1000 / animation.FRAME_MS / animation.MAX_STRETCH
    assert any("slows down" in m for m in messages(hog_built))
