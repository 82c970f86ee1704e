"""The fair worker pool: heavy jobs of every session share a few threads, fairly.

A plain thread pool serves jobs first come, first served, so one session re-clicking an
expensive button fills its queue and every other reader waits behind it.  Here jobs wait in
one queue per session (a session is keyed by its Bokeh document) and the workers take them
round-robin across sessions: whatever one session has queued, another session's job is
among the next few to run.

Bounds:

- per session and per ``slot`` (one caller, e.g. one kind of work) at most one job waits;
  a newer job for the same slot replaces the waiting one (the last one wins);
- at most :data:`MAX_PER_SESSION` waiting jobs per session and :data:`MAX_QUEUED` in all;
  beyond that a job is refused (:data:`REFUSED`) and its caller tells the reader;
- each session has a CPU budget (:class:`CpuBudget`, a token bucket of core-seconds): the
  thread CPU time of its jobs (and whatever else the server charges to it with
  :meth:`Scheduler.charge`) is taken from it; a session in debt waits until it has refilled,
  however idle the workers are, so a session can never hold the machine's cores for long.

A job whose session has ended is dropped before it runs.  This module knows nothing of
Panel; ``explainers.animation.run_in_background`` is its one user.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

log = logging.getLogger("explainers.pool")

#: Worker threads: the engine's kernels release the GIL, and this machine class has 2 cores.
WORKERS = 2
#: Jobs waiting in all sessions together; beyond it new ones are refused (bounded memory/wait).
MAX_QUEUED = 64
#: Jobs waiting for one session (a page has about this many kinds of heavy work).
MAX_PER_SESSION = 8
#: A session's CPU budget refills at this many core-seconds per second: one session can use
#: at most a quarter of a 2-core machine for long, whatever it clicks.
CPU_RATE = 0.5
#: ... and holds at most this much, so a few heavy clicks in a row still run at once.
CPU_BURST = 4.0
#: Shortest gap between two notices from the pool on one page.
NOTICE_GAP_S = 5.0
#: Longest a worker sleeps before looking again for a session that has refilled its budget.
MAX_NAP_S = 1.0

QUEUED, REPLACED, HELD, REFUSED = "queued", "replaced", "held", "refused"


class CpuBudget:
    """A token bucket of CPU seconds that may go into debt: work is charged after it ran
    (its cost is only known then), and a session may start work only while not in debt."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.level, self.stamp = burst, clock()

    def _refill(self) -> None:
        now = self.clock()
        self.level = min(self.burst, self.level + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now

    def charge(self, seconds: float) -> None:
        self._refill()
        self.level -= max(0.0, seconds)

    def wait(self) -> float:
        """Seconds (of ``clock``) until the budget allows new work; 0 if it does now."""
        self._refill()
        return 0.0 if self.level > 0 else (1e-9 - self.level) / self.rate

    def full(self) -> bool:
        self._refill()
        return self.level >= self.burst


@dataclass(eq=False)
class Job:
    """One piece of work for one session."""

    run: Callable[[], object]
    session: Hashable
    slot: Hashable
    alive: Callable[[], bool]
    where: str = "background job"
    state: str = field(default="waiting")  # waiting → running → done, or dropped/replaced


class Scheduler:
    """Round-robin between sessions, bounded queues, a CPU budget per session.

    Parameters
    ----------
    workers : int
        Worker threads (started on the first submitted job).
    max_queued, max_per_session : int
        Bounds on waiting jobs, in all and per session.
    cpu_rate, cpu_burst : float
        Each session's CPU budget (core-seconds per second, and at most this many).
    clock, cpu_clock : callable() -> float
        Wall clock for refilling budgets; the running thread's CPU clock for charging jobs.
        Tests inject their own.
    """

    def __init__(
        self,
        workers: int = WORKERS,
        max_queued: int = MAX_QUEUED,
        max_per_session: int = MAX_PER_SESSION,
        cpu_rate: float = CPU_RATE,
        cpu_burst: float = CPU_BURST,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.thread_time,
        name: str = "explainer-work",
    ):
        self.workers, self.max_queued, self.max_per_session = workers, max_queued, max_per_session
        self.cpu_rate, self.cpu_burst = cpu_rate, cpu_burst
        self.clock, self.cpu_clock, self.name = clock, cpu_clock, name
        self._cond = threading.Condition()
        self._queues: dict[Hashable, OrderedDict[Hashable, Job]] = {}
        self._ring: deque[Hashable] = deque()  # sessions with waiting jobs, in turn order
        # Weak keys: a session's records go with its document, whatever charged it.
        self._budgets: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._running: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._notices: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        #: Counters, for tests and the bench: jobs run, dropped (session gone), replaced
        #: by a newer one, refused (over a bound).
        self.ran = self.dropped = self.replaced = self.refused = 0

    # -- the caller's side -------------------------------------------------------------

    def submit(
        self,
        session: Hashable,
        run: Callable[[], object],
        slot: Hashable = None,
        alive: Callable[[], bool] = lambda: True,
        where: str = "background job",
    ) -> str:
        """Queue ``run()`` for ``session`` (any object that can be weakly referenced, e.g. the
        session's document); returns :data:`QUEUED`, :data:`HELD` (queued, but
        the session is over its CPU budget, so it waits), :data:`REPLACED` (it took the
        place of the waiting job of the same ``slot``, which will not run) or
        :data:`REFUSED` (over a bound: nothing was queued).

        ``slot`` None gives the job a slot of its own.  ``alive()`` False (the session has
        ended) drops the job before it runs.
        """
        job = Job(run, session, slot if slot is not None else object(), alive, where)
        with self._cond:
            queue = self._queues.get(session)
            if queue is not None and job.slot in queue:
                queue[job.slot].state = "replaced"
                queue[job.slot] = job  # keeps the older job's place in the line
                self.replaced += 1
                return REPLACED
            waiting = sum(len(q) for q in self._queues.values())
            if waiting >= self.max_queued or len(queue or ()) >= self.max_per_session:
                self.refused += 1
                return REFUSED
            if queue is None:
                queue = self._queues[session] = OrderedDict()
                self._ring.append(session)
            queue[job.slot] = job
            self._forget_idle()
            held = self._budget(session).wait() > 0
            self._start_workers()
            self._cond.notify()
        return HELD if held else QUEUED

    def charge(self, session: Hashable, seconds: float) -> None:
        """Take ``seconds`` of CPU time from ``session``'s budget (work done elsewhere on its
        behalf, e.g. on the event loop)."""
        with self._cond:
            self._budget(session).charge(seconds)

    def cpu_wait(self, session: Hashable) -> float:
        """Seconds (of ``clock``) until ``session`` may start new work; 0 if it may now."""
        with self._cond:
            budget = self._budgets.get(session)
            return 0.0 if budget is None else budget.wait()

    def level(self, session: Hashable) -> float:
        """CPU seconds left in ``session``'s budget now (negative: in debt)."""
        with self._cond:
            budget = self._budgets.get(session)
            if budget is None:
                return self.cpu_burst
            budget.charge(0.0)  # refills it to now
            return budget.level

    def over_budget(self, session: Hashable) -> bool:
        return self.cpu_wait(session) > 0

    def may_notify(self, session: Hashable) -> bool:
        """Whether the page of ``session`` may be told something now (at most one notice per
        :data:`NOTICE_GAP_S`: each notice is work for the server too)."""
        with self._cond:
            now = self.clock()
            if now - self._notices.get(session, -float("inf")) < NOTICE_GAP_S:
                return False
            self._notices[session] = now
            return True

    def waiting(self, session: Hashable | None = None) -> int:
        """Jobs waiting (not yet running), for one session or in all."""
        with self._cond:
            if session is not None:
                return len(self._queues.get(session, ()))
            return sum(len(q) for q in self._queues.values())

    def wake(self) -> None:
        """Let idle workers look again (a test's clock moved on)."""
        with self._cond:
            self._cond.notify_all()

    def stop(self) -> None:
        """Stop the workers once they finish their current job (tests)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=10)

    # -- the workers' side -------------------------------------------------------------

    def _budget(self, session: Hashable) -> CpuBudget:
        budget = self._budgets.get(session)
        if budget is None:
            budget = self._budgets[session] = CpuBudget(self.cpu_rate, self.cpu_burst, self.clock)
        return budget

    def _forget_idle(self) -> None:
        # A session with nothing waiting or running and a full budget needs no record.
        for session in [
            s
            for s, b in self._budgets.items()
            if s not in self._queues and not self._running.get(s) and b.full()
        ]:
            del self._budgets[session]
            self._notices.pop(session, None)
            self._running.pop(session, None)

    def _start_workers(self) -> None:
        while len(self._threads) < self.workers:
            thread = threading.Thread(
                target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _pick(self) -> tuple[Job | None, float | None]:
        """The next job, round-robin over sessions within their budget; else how long to
        wait (None: until a job is submitted)."""
        nap = None
        for session in list(self._ring):
            queue = self._queues[session]
            for slot in [k for k, j in queue.items() if not _still_alive(j)]:
                queue.pop(slot).state = "dropped"
                self.dropped += 1
            wait = self._budget(session).wait() if queue else 0.0
            if queue and wait > 0:
                nap = wait if nap is None else min(nap, wait)
                continue
            self._ring.remove(session)
            if not queue:
                del self._queues[session]
                continue
            _, job = queue.popitem(last=False)
            if queue:
                self._ring.append(session)  # its next job waits for everyone else's turn
            else:
                del self._queues[session]
            return job, None
        return None, nap

    def _work(self) -> None:
        while True:
            with self._cond:
                job, nap = self._pick()
                while job is None:
                    if self._stopping:
                        return
                    self._cond.wait(None if nap is None else min(nap, MAX_NAP_S))
                    job, nap = self._pick()
                job.state = "running"
                self._running[job.session] = self._running.get(job.session, 0) + 1
            start = self.cpu_clock()
            try:
                job.run()
            except Exception:  # the job's own errors are its caller's; this is a last guard
                log.exception("error in %s", job.where)
            finally:
                spent = self.cpu_clock() - start
                with self._cond:
                    job.state = "done"
                    self.ran += 1
                    self._running[job.session] -= 1
                    self._budget(job.session).charge(spent)


def _still_alive(job: Job) -> bool:
    try:
        return bool(job.alive())
    except Exception:  # a session torn down while we look counts as gone
        return False


def session_alive(doc) -> bool:
    """False once the server session that owns ``doc`` has been destroyed (its tab has gone
    and Bokeh cleaned up).  A document outside a server is always alive."""
    ctx = getattr(doc, "session_context", None)
    if ctx is None:
        return True
    try:
        return not ctx.destroyed
    except Exception:  # a context without a session yet: being built, so alive
        return True


#: The one pool of the server process.
POOL = Scheduler()

__all__ = [
    "CPU_BURST",
    "CPU_RATE",
    "HELD",
    "MAX_PER_SESSION",
    "MAX_QUEUED",
    "POOL",
    "QUEUED",
    "REFUSED",
    "REPLACED",
    "WORKERS",
    "CpuBudget",
    "Job",
    "Scheduler",
    "session_alive",
]
