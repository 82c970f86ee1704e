"""A session's CPU budget at the websocket gate: the event loop's time for its messages is
charged to it (explainers.pool), and once it is over budget its clicks wait (the latest is
kept, the page is told) while another session's click goes through at once.

No server: the gate is fed frames as Tornado would feed them, with a stand-in handler whose
``pass_on`` (Bokeh's handling of the message) burns a known amount of thread CPU time.
"""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

import pytest
from bokeh.document import Document
from bokeh.models import Button

from bench.app_clients import bokeh_event
from explainers import pool
from explainers.site import guard

BURN_S = 0.05  # CPU time the stand-in spends handling each message


class StandInHandler:
    def __init__(self, doc: Document):
        self.connection = SimpleNamespace(session=SimpleNamespace(document=doc))
        self.application = SimpleNamespace(io_loop=SimpleNamespace(call_later=self.call_later))
        self.sent: list[list] = []
        self.later: list[tuple[float, object]] = []

    def call_later(self, delay, callback):
        self.later.append((delay, callback))

    async def pass_on(self, fragments: list) -> None:
        self.sent.append(fragments)
        end = time.thread_time() + BURN_S
        while time.thread_time() < end:
            pass

    def close(self, *args) -> None:
        raise AssertionError("the gate closed a well-formed connection")


def page():
    doc, button = Document(), Button(label="Step")
    doc.add_root(button)
    gate = guard.Gate(StandInHandler(doc))
    return doc, button, gate


def click(gate: guard.Gate, button: Button) -> None:
    header = json.dumps({"msgid": "1", "msgtype": "PATCH-DOC", "num_buffers": 0})
    content = json.dumps({"events": [bokeh_event("button_click", button.id)]})

    async def feed():
        for frame in (header, "{}", content):
            await gate.feed(frame)

    asyncio.run(feed())


@pytest.fixture
def clock(monkeypatch):
    now = [0.0]
    scheduler = pool.Scheduler(cpu_rate=0.5, cpu_burst=BURN_S / 2, clock=lambda: now[0])
    monkeypatch.setattr(pool, "POOL", scheduler)
    yield now
    scheduler.stop()


def test_the_loops_time_for_a_message_is_charged_to_its_session(clock):
    doc, button, gate = page()
    other, _, _ = page()
    click(gate, button)
    assert len(gate.handler.sent) == 1
    wait = pool.POOL.cpu_wait(doc)
    # burst - spent < 0: in debt by at least BURN_S / 2, refilled at 0.5 per second
    assert wait >= (BURN_S / 2) / 0.5 * 0.99
    assert pool.POOL.cpu_wait(other) == 0


def test_over_budget_a_sessions_clicks_wait_while_another_sessions_go_at_once(clock):
    doc, button, gate = page()
    other_doc, other_button, other_gate = page()
    told = []
    gate.tell = lambda doc, notes: told.extend(notes)
    click(gate, button)  # puts this session in debt
    click(gate, button)  # held: kept, delivered later, and the page is told why
    assert len(gate.handler.sent) == 1 and len(gate.pending) == 1
    assert told == [guard.CPU_NOTICE]
    (delay, flush), *_ = gate.handler.later
    assert delay == pytest.approx(pool.POOL.cpu_wait(doc))
    click(other_gate, other_button)  # the neighbour is not held
    assert len(other_gate.handler.sent) == 1 and not other_gate.pending
    clock[0] += delay + 0.01  # the budget has refilled
    asyncio.run(flush())
    assert len(gate.handler.sent) == 2 and not gate.pending
    sent = json.loads(gate.handler.sent[1][2])["events"]
    assert [e["msg_data"]["name"] for e in sent] == ["button_click"]
