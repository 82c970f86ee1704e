"""The one "latest job wins" mechanism: one background job per kind, stale results dropped.

Every section that runs heavy work off the event loop (a capacity sweep, a sampler run, a
batch of lattice sweeps, a race, a dream) holds one :class:`LatestJob` per kind of work.
"""

from __future__ import annotations

from collections.abc import Callable

import param

from .animation import report_exception, run_in_background


class Superseded(Exception):
    """Raised inside a running job (at its next ``report``) once its request is stale."""


class LatestJob(param.Parameterized):
    """Run ``compute`` in the background, at most one at a time; the newest request wins.

    With ``supersede`` (the default) a request made while a job runs only records its
    arguments: the running job stops at its next ``report`` call (or runs to its end, its
    result dropped) and then the newest arguments start, so a storm of slider moves costs
    one job, not a queue.  Without it, a request made while a job runs is refused.

    Parameters
    ----------
    compute : callable(*args, report) -> object
        The work.  It may call ``report(fraction, partial=None)`` now and then; ``partial``
        (if given) is handed to ``on_progress`` with the fraction.
    on_done : callable(object)
        Receives the result of the newest request, on the session's event loop.
    on_progress : callable(float, object) or None
        Receives ``(fraction, latest partial result or None)``, on the event loop.
    on_error : callable(Exception) or None
        Receives a failure of the newest request (default: shown to the reader).
    where : str
        Names the work in messages.
    supersede : bool
        Whether a new request replaces a running one (True) or is refused (False).
    runner : callable
        ``run_in_background`` or a stand-in with its signature (tests pass their own); a
        runner returning False refused the job (it tells the reader), and the request is
        forgotten.
    """

    busy = param.Boolean(default=False, doc="Whether a job is running.")
    launched = param.Integer(default=0, doc="Jobs actually started.")

    def __init__(
        self,
        compute: Callable,
        on_done: Callable[[object], None],
        on_progress: Callable[[float, object], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        where: str = "a background computation",
        supersede: bool = True,
        runner: Callable = run_in_background,
        on_refused: Callable[[], None] | None = None,
    ):
        super().__init__()
        self._compute = compute
        self._on_done = on_done
        self._on_progress = on_progress
        self._on_error = on_error or (lambda exc: report_exception(exc, where))
        self._where = where
        self._supersede = supersede
        self._on_refused = on_refused
        self.runner = runner  # public: tests put a stand-in here
        self._wanted = 0  # generation of the newest request
        self._pending: tuple | None = None  # arguments waiting for the running job to end
        self._inline = False
        self._partial: tuple[int, object] = (0, None)
        # Deliveries queued before the browser connects can arrive out of order: progress
        # older than what is on screen, or after its job's result, is dropped.
        self._shown: tuple[int, float] = (0, -1.0)
        self._finished = 0

    def request(self, *args, inline: bool = False) -> bool:
        """Ask for ``compute(*args)``; returns False if refused (busy, no ``supersede``).

        ``inline`` runs a job known to be small at once on the caller's thread.
        """
        if self.busy and not self._supersede:
            return False
        self._wanted += 1
        self._pending, self._inline = args, inline
        if not self.busy:
            self._launch()
        return True

    def cancel(self) -> None:
        """Drop the result of a running job and any request waiting for it."""
        self._wanted += 1
        self._pending = None

    def _launch(self) -> None:
        gen, args, inline = self._wanted, self._pending, self._inline
        self._pending = None
        self.busy = True
        self.launched += 1

        def job(progress):
            def report(fraction: float, partial=None) -> None:
                if self._wanted != gen and self._supersede:
                    raise Superseded
                if partial is not None:
                    self._partial = (gen, partial)
                progress(fraction)

            try:
                return gen, self._compute(*args, report), None
            except Superseded:
                return gen, None, None
            except Exception as exc:  # delivered to the loop, where it is shown
                return gen, None, exc

        def progressed(fraction: float) -> None:
            if gen != self._wanted or gen == self._finished:
                return
            if self._shown[0] == gen and fraction <= self._shown[1]:
                return
            self._shown = (gen, fraction)
            pgen, partial = self._partial
            self._on_progress(fraction, partial if pgen == gen else None)

        on_progress = progressed if self._on_progress else None
        kwargs = {"inline": True} if inline else {}
        if self.runner(job, self._done, on_progress, self._where, **kwargs) is False:
            self._refused()

    def _refused(self) -> None:
        # The pool was full: nothing ran and nothing will; what is on screen stays, and the
        # runner has told the reader.  The next request starts afresh.
        self._pending = None
        self.launched -= 1
        self.busy = False
        if self._on_refused is not None:
            self._on_refused()

    def _done(self, result) -> None:
        gen, value, exc = result
        self._finished = gen
        if self._pending is not None:  # a newer request waited for this one
            self._launch()
            return
        self.busy = False
        if gen != self._wanted:  # cancelled meanwhile
            return
        if exc is not None:
            self._on_error(exc)
        else:
            self._on_done(value)
