"""explainers.pool: the fair worker pool (round-robin between sessions, bounded queues,
coalescing, ended sessions dropped, a CPU budget per session), alone and behind
``run_in_background`` and ``LatestJob``.

Every test drives real worker threads with events: a "blocker" job holds the one worker
until the test has queued what it wants; clocks are injected; waits poll with a deadline.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from types import SimpleNamespace

import pytest
from bokeh.document import Document

from explainers import animation, pool
from explainers.jobs import LatestJob
from explainers.pool import HELD, QUEUED, REFUSED, REPLACED, Scheduler

DEADLINE_S = 20.0


def wait_until(condition, what: str) -> None:
    end = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


class Session:
    """A session key (the pool keys sessions by their document; any object will do)."""

    def __init__(self, name: str):
        self.name = name
        self.ended = False

    def alive(self) -> bool:
        return not self.ended

    def __repr__(self) -> str:
        return self.name


class Blocker:
    """A job that holds its worker until released."""

    def __init__(self):
        self.started, self.release = threading.Event(), threading.Event()

    def __call__(self):
        self.started.set()
        assert self.release.wait(DEADLINE_S)


@pytest.fixture
def make():
    made = []

    def make_scheduler(**kwargs):
        kwargs.setdefault("workers", 1)
        s = Scheduler(**kwargs)
        made.append(s)
        return s

    yield make_scheduler
    for s in made:
        s.stop()


def hold_worker(s: Scheduler, session=None) -> Blocker:
    blocker = Blocker()
    s.submit(session or Session("blocker"), blocker)
    assert blocker.started.wait(DEADLINE_S)
    return blocker


def test_a_single_job_runs_within_two_slots_of_a_session_with_twenty(make):
    s = make(max_per_session=20)
    order = []
    hog, other = Session("hog"), Session("other")
    blocker = hold_worker(s)
    for i in range(20):
        assert s.submit(hog, lambda i=i: order.append(("hog", i))) == QUEUED
    assert s.submit(other, lambda: order.append(("other", 0))) == QUEUED
    blocker.release.set()
    wait_until(lambda: len(order) == 21, "all jobs")
    assert order.index(("other", 0)) <= 1
    assert [i for who, i in order if who == "hog"] == list(range(20))  # in order


def test_three_sessions_take_turns(make):
    s = make()
    order = []
    sessions = [Session(n) for n in "abc"]
    blocker = hold_worker(s)
    for session in sessions:
        for _ in range(3):
            s.submit(session, lambda n=session.name: order.append(n))
    blocker.release.set()
    wait_until(lambda: len(order) == 9, "all jobs")
    assert "".join(order) == "abcabcabc"


def test_over_a_bound_a_job_is_refused_and_never_runs(make):
    s = make(max_queued=3, max_per_session=2)
    ran = []
    a, b, c = Session("a"), Session("b"), Session("c")
    blocker = hold_worker(s)
    assert s.submit(a, lambda: ran.append("a1")) == QUEUED
    assert s.submit(a, lambda: ran.append("a2")) == QUEUED
    assert s.submit(a, lambda: ran.append("a3")) == REFUSED  # a's own bound
    assert s.submit(b, lambda: ran.append("b1")) == QUEUED
    assert s.submit(c, lambda: ran.append("c1")) == REFUSED  # the bound in all
    assert s.waiting() == 3 and s.refused == 2
    blocker.release.set()
    wait_until(lambda: s.ran == 4, "the queued jobs")
    assert sorted(ran) == ["a1", "a2", "b1"]


def test_a_newer_job_in_the_same_slot_replaces_the_waiting_one(make):
    s = make()
    shown = []
    a = Session("a")
    blocker = hold_worker(s, a)
    statuses = [s.submit(a, lambda v=v: shown.append(v), slot="sweep") for v in range(1, 11)]
    assert statuses == [QUEUED] + [REPLACED] * 9
    blocker.release.set()
    wait_until(lambda: s.ran == 2, "the blocker and the newest job")
    assert shown == [10] and s.replaced == 9


def test_a_job_whose_session_ended_is_dropped_before_it_runs(make, caplog):
    s = make()
    ran = []
    a = Session("a")
    blocker = hold_worker(s)
    s.submit(a, lambda: ran.append(1), alive=a.alive)
    a.ended = True
    blocker.release.set()
    wait_until(lambda: s.dropped == 1 and s.ran == 1, "the drop")
    assert ran == [] and s.waiting() == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_session_over_its_cpu_budget_waits_while_another_runs_at_once(make):
    now, cpu = [0.0], [0.0]
    s = make(cpu_rate=0.5, cpu_burst=4.0, clock=lambda: now[0], cpu_clock=lambda: cpu[0])
    hog, other = Session("hog"), Session("other")
    ran = []

    def heavy():  # ten CPU seconds, by the injected CPU clock
        cpu[0] += 10.0
        ran.append("heavy")

    assert s.submit(hog, heavy) == QUEUED
    wait_until(lambda: s.ran == 1, "the heavy job")
    assert s.over_budget(hog) and not s.over_budget(other)
    assert s.submit(hog, lambda: ran.append("hog again")) == HELD
    assert s.submit(other, lambda: ran.append("other")) == QUEUED
    wait_until(lambda: "other" in ran, "the other session's job")
    s.wake()  # the clock has not moved: the hog is still in debt (4 - 10 = -6 s)
    assert ran == ["heavy", "other"] and s.waiting(hog) == 1
    now[0] += 11.0  # refilled to -0.5: still held
    s.wake()
    assert s.over_budget(hog) and s.waiting(hog) == 1
    now[0] += 1.5  # refilled past zero
    s.wake()
    wait_until(lambda: ran == ["heavy", "other", "hog again"], "the hog's job")


def test_cpu_time_charged_from_elsewhere_counts_too(make):
    now = [0.0]
    s = make(cpu_rate=0.5, cpu_burst=4.0, clock=lambda: now[0])
    a = Session("a")
    s.charge(a, 5.0)  # e.g. its messages' work on the event loop
    assert s.over_budget(a)
    assert s.submit(a, lambda: None) == HELD
    now[0] += 3.0
    s.wake()
    wait_until(lambda: s.ran == 1, "the job, once refilled")


# -- behind run_in_background and LatestJob ------------------------------------------


class FakeSessionDoc(Document):
    """A real Bokeh document standing in for a server session's: it has a session context
    that can end, and keeps the callbacks Bokeh would run on the session's loop."""

    def __init__(self):
        super().__init__()
        self.context = SimpleNamespace(destroyed=False, request=SimpleNamespace(arguments={}))
        self.ticks: queue.Queue = queue.Queue()

    @property
    def session_context(self):
        return self.context

    def add_next_tick_callback(self, callback):
        if self.context.destroyed:  # what a torn-down session may do
            raise KeyError("session gone")
        self.ticks.put(callback)

    def pump(self, until, what: str) -> None:
        """Run the delivered callbacks on this thread, as the session's loop would."""
        end = time.monotonic() + DEADLINE_S
        while not until():
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}")
            try:
                self.ticks.get(timeout=0.01)()
            except queue.Empty:
                pass


@pytest.fixture
def shared(make, monkeypatch):
    s = make()
    monkeypatch.setattr(pool, "POOL", s)
    return s


def in_session(doc, fn):
    from panel.io.state import set_curdoc

    with set_curdoc(doc):
        return fn()


def test_clicks_while_a_job_runs_end_with_the_last_value_in_few_jobs(shared):
    doc = FakeSessionDoc()
    gate, shown, computed = threading.Event(), [], []

    def compute(x, report):
        computed.append(x)
        if x == 1:
            assert gate.wait(DEADLINE_S)
        report(1.0)
        return x

    latest = in_session(doc, lambda: LatestJob(compute, shown.append))
    in_session(doc, lambda: latest.request(1))
    wait_until(lambda: computed == [1], "the first job to start")
    for x in range(2, 11):
        in_session(doc, lambda x=x: latest.request(x))
    gate.set()
    doc.pump(lambda: shown, "a result")
    doc.pump(lambda: not latest.busy, "the end")
    assert shown == [10] and computed == [1, 10] and latest.launched == 2


def test_a_result_after_the_tab_closed_is_dropped_without_a_traceback(shared, caplog):
    doc = FakeSessionDoc()
    gate, shown = threading.Event(), []

    def compute(report):
        assert gate.wait(DEADLINE_S)
        report(0.5)
        return 1

    latest = in_session(doc, lambda: LatestJob(compute, shown.append, lambda f, p: shown.append(f)))
    in_session(doc, latest.request)
    wait_until(lambda: shared.waiting() == 0, "the job to start")
    doc.context.destroyed = True  # the tab closes while the job runs
    gate.set()
    wait_until(lambda: shared.ran == 1, "the job to end")
    assert doc.ticks.empty() and shown == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_refused_job_changes_nothing_and_the_page_is_told(make, monkeypatch, caplog):
    s = make(max_queued=1)
    monkeypatch.setattr(pool, "POOL", s)
    doc, shown = FakeSessionDoc(), []
    blocker = hold_worker(s)
    s.submit(Session("neighbour"), lambda: None)  # the queue is now full
    latest = in_session(doc, lambda: LatestJob(lambda x, report: x, shown.append))
    with caplog.at_level(logging.INFO, logger="explainers"):
        assert in_session(doc, lambda: latest.request(5))  # accepted by LatestJob...
    assert not latest.busy and latest.launched == 0  # ...but the pool refused: nothing runs
    assert any("did not start" in r.getMessage() for r in caplog.records)
    blocker.release.set()
    wait_until(lambda: s.ran == 2, "the other jobs")
    assert doc.ticks.empty() and shown == []
    in_session(doc, lambda: latest.request(6))  # room again: the next click works
    doc.pump(lambda: shown, "the result")
    assert shown == [6]


def test_a_held_job_tells_the_page_once(make, monkeypatch, caplog):
    now = [0.0]
    s = make(clock=lambda: now[0])
    monkeypatch.setattr(pool, "POOL", s)
    doc = FakeSessionDoc()
    s.charge(doc, 100.0)
    with caplog.at_level(logging.INFO, logger="explainers"):
        for _ in range(3):
            in_session(doc, lambda: animation.run_in_background(lambda p: 1, lambda r: None))
    notices = [r for r in caplog.records if "share of the server" in r.getMessage()]
    assert len(notices) == 1 and s.waiting(doc) == 3


def test_jobs_submitted_from_many_threads_at_once_all_run_once(make):
    s = make(workers=3, max_per_session=40, max_queued=1000)
    sessions = [Session(str(i)) for i in range(8)]
    counts, lock = dict.fromkeys(range(8), 0), threading.Lock()

    def count(i):
        with lock:
            counts[i] += 1

    def submit_all(i):
        for _ in range(40):
            assert s.submit(sessions[i], lambda: count(i)) == QUEUED

    threads = [threading.Thread(target=submit_all, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S)
    wait_until(lambda: s.ran == 320, "every job")
    assert counts == dict.fromkeys(range(8), 40) and s.waiting() == 0
