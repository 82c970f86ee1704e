"""A stand-in for ``run_in_background`` that keeps jobs until the test runs them."""

from __future__ import annotations


class DeferredPool:
    """Stand-in for run_in_background that keeps jobs until the test runs them."""

    def __init__(self):
        self.jobs = []

    def __call__(self, job, on_done, on_progress=None, where="", inline=False):
        self.jobs.append((job, on_done, on_progress))

    def run_next(self):
        job, on_done, on_progress = self.jobs.pop(0)
        seen = []

        def progress(f):
            seen.append(f)
            if on_progress is not None:
                on_progress(f)

        on_done(job(progress))
        return seen
