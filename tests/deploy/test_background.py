"""run_in_background: a small job asked to run inline runs at once, even in a server session."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from panel.io.state import set_curdoc

from explainers.animation import run_in_background


def test_an_inline_job_runs_at_once_on_the_callers_thread():
    # A stand-in for a server session's document: all run_in_background reads of it.
    doc = SimpleNamespace(session_context=SimpleNamespace(session=None))
    seen = []
    with set_curdoc(doc):
        run_in_background(
            lambda progress: (progress(0.5), threading.get_ident())[1],
            lambda result: seen.append(("done", result)),
            on_progress=lambda f: seen.append(("progress", f)),
            inline=True,
        )
    # Delivered before the call returned, in order, from this very thread.
    assert seen == [("progress", 0.5), ("done", threading.get_ident())]
