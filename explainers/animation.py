"""The one play/pause controller and the one way to run heavy work off the event loop.

``Animator`` drives a section's ``frame()`` from a periodic callback.  It starts paused, stops
by itself when the browser tab goes away (no connection left, or the session is destroyed),
pauses while the tab is hidden, gives up after a safety timeout, and turns an exception inside
a frame into a visible message instead of a dead loop.  In a served page its frames go to the
browser a few per message and are played there (:mod:`explainers.frames`).

``run_in_background`` runs a heavy, bounded job (a race, a capacity sweep) on the shared, fair
worker pool (:mod:`explainers.pool`) so other sessions stay responsive; the engine's kernels
release the GIL.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

import panel as pn
import param
from panel.io.state import set_curdoc

from . import frames as playback
from . import meter, pool

log = logging.getLogger("explainers")

FRAME_MS = 30  # ≈ 33 frames/s: as fast as it is useful to draw a small grid
SAFETY_TIMEOUT_S = 20 * 60  # an animation left running in a forgotten tab stops eventually
# When a whole class animates at once, the frames of all sessions share one event loop.
# Past this share of a core spent in frames, animations first send more frames per message
# (the cost is per message), then slow down a little (down to 1/MAX_STRETCH of their speed,
# 24 frames/s at the default), so that a click or a slider move of anyone still gets its
# turn quickly.
FRAME_LOAD_TARGET = 0.5
MAX_STRETCH = 1.4
# Frames per message: a few even alone (a tenth of a second of playback in the page), up to
# a third of a second for a crowd.
MIN_BATCH = 3
MAX_BATCH = 10

BUSY_NOTICE = (
    "The server has too much work queued right now, so {where} did not start; "
    "nothing changed. Please try again in a moment."
)
HELD_NOTICE = "This page has used its share of the server for now: {where} starts shortly."
#: Shortest gap between two "slows down" notices of one animation.
HELD_FRAMES_GAP_S = 60.0
FRAMES_HELD_NOTICE = (
    "This page has used its share of the server for now: {where} slows down for a moment."
)


def notify(message: str, kind: str = "warning", duration: int = 5000) -> None:
    """Show a toast in the current session if there is one; always log it."""
    log.info("notice: %s", message)
    notifications = pn.state.notifications
    if notifications is not None:
        getattr(notifications, kind)(message, duration=duration)


def report_exception(exc: BaseException, where: str = "") -> None:
    """Log an exception with its traceback and show the reader a short message."""
    text = str(exc)
    if (
        isinstance(exc, ValueError)
        and " parameter " in text
        and ("must be at" in text or "does not accept" in text)
    ):
        # A value outside a parameter's bounds (a widget pushed past its range, or a value
        # sent straight over the websocket): refused, and the previous value stays.
        log.warning("refused out-of-range value%s: %s", f" in {where}" if where else "", text)
        notify(f"That value is outside the allowed range and was refused: {text}", "warning")
        return
    log.exception("error in %s", where or "a callback", exc_info=exc)
    notify(f"Something went wrong{' in ' + where if where else ''}: {text}", "error", 8000)


def _session_alive() -> bool:
    """False once the tab that owns the current session has gone."""
    doc = pn.state.curdoc
    ctx = getattr(doc, "session_context", None)
    session = getattr(ctx, "session", None) if ctx is not None else None
    if session is None:  # notebook or a script: nothing to watch
        return True
    return not session.destroyed and session.connection_count > 0


class Pacer:
    """Process-wide frame pacing: frames per message, and how much to stretch frame periods.

    Each tick (one message of ``batch`` frames) reports how long it held the event loop;
    once a second the pacer compares the share of the loop the ticks took with ``target``.
    Over it, ``batch`` grows first (up to ``max_batch``), then ``stretch`` (up to
    ``max_stretch``); well under it, they shrink back in the opposite order.  One session
    never comes near the target; a class does.
    """

    def __init__(self, target: float = FRAME_LOAD_TARGET, max_stretch: float = MAX_STRETCH,
                 window_s: float = 1.0, min_batch: int = MIN_BATCH,
                 max_batch: int = MAX_BATCH):  # fmt: skip
        self.target, self.max_stretch, self.window_s = target, max_stretch, window_s
        self.min_batch, self.max_batch = min_batch, max_batch
        self.stretch = 1.0
        self.batch = min_batch
        self._busy = 0.0
        self._since: float | None = None  # start of the current window

    def record(self, busy_s: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self._since is None:
            self._since = now
        self._busy += busy_s
        elapsed = now - self._since
        if elapsed < self.window_s:
            return
        ratio = (self._busy / elapsed) / self.target
        if ratio > 1.0:
            if self.batch < self.max_batch:
                # Mostly per-message cost: the load falls about as 1/batch.
                self.batch = min(self.max_batch, math.ceil(self.batch * ratio))
            else:
                self.stretch = min(self.max_stretch, self.stretch * ratio)
        elif ratio < 0.5:  # with room to spare, so that it does not flip back and forth
            if self.stretch > 1.0:
                self.stretch = max(1.0, self.stretch * ratio)
            elif self.batch > self.min_batch:
                self.batch = max(self.min_batch, math.floor(self.batch * ratio * 2))
        self._busy, self._since = 0.0, now


PACER = Pacer()


class Ticker:
    """Calls ``fn()`` every ``period`` ms: through the session document's own periodic
    callback when served (Panel's adds bookkeeping to each tick that a whole class pays
    for), through Panel's otherwise (a notebook).  ``fn`` runs with the document current."""

    def __init__(self, fn: Callable[[], None], period: int):
        self.fn, self.period = fn, int(period)
        doc = pn.state.curdoc
        self.doc = doc if doc is not None and doc.session_context is not None else None
        self._handle = None  # Bokeh's callback while served and running
        self._panel = None

    @property
    def running(self) -> bool:
        return self._handle is not None or bool(self._panel is not None and self._panel.running)

    def _call(self) -> None:
        with set_curdoc(self.doc):
            self.fn()

    def start(self) -> None:
        if self.running:
            return
        if self.doc is not None:
            self._handle = self.doc.add_periodic_callback(self._call, self.period)
            return
        if self._panel is None:
            self._panel = pn.state.add_periodic_callback(self.fn, period=self.period, start=False)
            self._panel.log = False  # thirty log lines a second would drown the log
        self._panel.period = self.period
        self._panel.start()

    def stop(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            try:
                self.doc.remove_periodic_callback(handle)
            except ValueError:  # already removed with its session
                pass
        if self._panel is not None and self._panel.running:
            self._panel.stop()

    def set_period(self, period: int) -> None:
        """A new period; a running timer restarts with it (small changes are ignored)."""
        if abs(int(period) - self.period) < 2:
            return
        self.period = int(period)
        if self.running:
            self.stop()
            self.start()


class Animator(param.Parameterized):
    """Run ``frame()`` every ``period_ms`` while ``running`` is True.

    Parameters
    ----------
    frame : callable()
        Advances the simulation and updates the views for one frame.
    period_ms : int
        Milliseconds between frames.
    label_run, label_pause : str
        Labels of the toggle button in each state.
    where : str
        Named in the message shown if a frame fails.
    clock : callable() -> float
        Seconds on a monotonic clock (tests inject their own).
    """

    running = param.Boolean(default=False, doc="Whether frames are being produced.")

    def __init__(
        self,
        frame: Callable[[], None],
        period_ms: int = FRAME_MS,
        label_run: str = "Run",
        label_pause: str = "Pause",
        where: str = "animation",
        clock: Callable[[], float] = time.monotonic,
        **params,
    ):
        super().__init__(**params)
        self._frame = frame
        self._period = int(period_ms)
        self.labels = (label_run, label_pause)
        self._where = where
        self._clock = clock
        self._cb = None
        self._started_at = clock()
        self.frames = 0  # produced since creation; a plain int, read by tests and benchmarks
        # The class lets Space find this toggle in either state (static/reader.js).
        self.button = pn.widgets.Button(
            label=label_run, color="primary", width=90, css_classes=["explainer-run"]
        )
        self.button.on_click(lambda _e: self.toggle())
        self._resume_when_visible = False
        self._held_told = -math.inf
        sensor = playback.player()  # the page's player says whether the tab is hidden
        if sensor is not None:
            sensor.param.watch(self._on_visibility, "hidden")
        self._register_cleanup()

    def _on_visibility(self, event) -> None:
        if event.new and self.running:
            self._resume_when_visible = True
            self.pause()
        elif not event.new and self._resume_when_visible:
            self._resume_when_visible = False
            self.play()

    def _register_cleanup(self) -> None:
        if pn.state.curdoc is None or pn.state.curdoc.session_context is None:
            return
        # Bound through a closure: when this runs, the session's globals may be gone.
        stop = self.stop
        pn.state.on_session_destroyed(lambda _ctx: stop())

    # -- control -------------------------------------------------------------------------
    def play(self) -> None:
        if self.running:
            return
        self._started_at = self._clock()
        if self._cb is None:
            self._cb = Ticker(self.tick, self._period)
        self._cb.start()
        self.running = True

    def pause(self) -> None:
        # The page may still hold frames to play: it shows them all and the server's sources
        # catch up, before the button says "Run" again.
        playback.release()
        self._halt()

    def _halt(self) -> None:
        if self._cb is not None and self._cb.running:
            self._cb.stop()
        self.running = False

    def stop(self) -> None:
        """Halt and forget the periodic callback (session ending: nothing left to show)."""
        self._halt()
        self._cb = None

    @property
    def ticking(self) -> bool:
        """Whether this animator's timer is scheduled (for tests and server statistics)."""
        return self._cb is not None and bool(self._cb.running)

    def toggle(self) -> None:
        self.pause() if self.running else self.play()

    @param.depends("running", watch=True)
    def _relabel(self) -> None:
        self.button.label = self.labels[1] if self.running else self.labels[0]
        self.button.color = "warning" if self.running else "primary"

    # -- the loop ------------------------------------------------------------------------
    def _expired(self) -> bool:
        if _session_alive() and self._clock() - self._started_at <= SAFETY_TIMEOUT_S:
            return False
        self.stop()
        return True

    def tick(self) -> None:
        """A few frames, sent to the browser as one message (one frame without a player)."""
        if self._expired():
            return
        doc = self._cb.doc if self._cb is not None else None
        if doc is not None and pool.POOL.over_budget(doc):
            # This session's frames (charged below) and clicks have used its share of the
            # server: its animation waits, and no one else's does.
            now = self._clock()
            if now - self._held_told >= HELD_FRAMES_GAP_S and pool.POOL.may_notify(doc):
                self._held_told = now  # once in a while: a held animation is held often
                notify(FRAMES_HELD_NOTICE.format(where=self._where), "info")
            return
        with meter.span(doc):
            self._frames()

    def _frames(self) -> None:
        rec = playback.recorder()
        batch = PACER.batch if rec.playing else 1
        frame_ms = round(self._period * PACER.stretch)
        t0 = time.perf_counter()
        try:
            with pn.io.hold(), rec.record(self.name, frame_ms):
                for _ in range(batch):
                    rec.next_frame()
                    self._frame()
                    self.frames += 1
                    if not self.running:  # the frame paused the animation itself
                        break
        except Exception as exc:  # a bug must not leave a zombie loop or a silent page
            self.pause()
            report_exception(exc, self._where)
            return
        PACER.record(time.perf_counter() - t0, self._clock())
        period = frame_ms * batch
        if self._cb is not None:
            self._cb.set_period(period)


def run_in_background(
    job: Callable[[Callable[[float], None]], object],
    on_done: Callable[[object], None],
    on_progress: Callable[[float], None] | None = None,
    where: str = "background job",
    inline: bool = False,
    key: object = None,
) -> bool:
    """Run ``job(progress)`` on the shared fair pool and deliver its result to the session.

    ``job`` receives a ``progress(fraction)`` function it may call from the worker thread;
    ``on_progress`` and ``on_done`` are called back, in order, on the session's own event
    loop while nothing else uses the document, so they may update widgets and sources freely.
    With ``inline`` (a job known to be small) everything runs at once, on the caller's thread.

    Jobs of one session wait in that session's own queue (see :mod:`explainers.pool`): a
    job with the same ``key`` as one still waiting replaces it (the last one wins).  Returns
    False if the pool is full and the job was refused (the reader is told; nothing ran).
    Once the session has ended, its job and callbacks are dropped quietly.
    """
    doc = pn.state.curdoc
    deferred = doc is not None and doc.session_context is not None and not inline
    lock = threading.Lock()
    last = [0.0]

    def deliver(fn, *args):
        if not deferred:
            fn(*args)
            return
        if not pool.session_alive(doc):  # the tab has gone: no one to show it to
            return

        def call():
            if not pool.session_alive(doc):
                return
            with set_curdoc(doc), meter.span(doc), pn.io.hold():
                try:
                    fn(*args)
                except Exception as exc:
                    report_exception(exc, where)

        # Bokeh runs it on the session's loop under the document's lock, in order.
        try:
            doc.add_next_tick_callback(call)
        except Exception:
            if pool.session_alive(doc):
                raise
            # else the session ended between the check and the call: drop it quietly

    def progress(fraction: float) -> None:
        if on_progress is None:
            return
        now = time.monotonic()
        with lock:  # at most ~10 progress messages a second
            if now - last[0] < 0.1 and fraction < 1.0:
                return
            last[0] = now
        deliver(on_progress, float(fraction))

    def work():
        try:
            result = job(progress)
        except Exception as exc:
            deliver(report_exception, exc, where)
            return
        deliver(on_done, result)

    if not deferred:  # notebook/script, or a small job: simply run it
        work()
        return True
    scheduler = pool.POOL
    status = scheduler.submit(
        doc, work, slot=key, alive=lambda: pool.session_alive(doc), where=where
    )
    if status == pool.REFUSED:
        notify(BUSY_NOTICE.format(where=where), "warning")
        return False
    if status == pool.HELD and scheduler.may_notify(doc):
        notify(HELD_NOTICE.format(where=where), "info")
    return True
