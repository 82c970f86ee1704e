"""``python -m tests.deploy.stats_server``: the app exactly as ``app.py`` serves it, plus a
read-only ``/_stats`` endpoint for tests.

The session tests need to see inside the server process (how many sessions Bokeh holds, how
many periodic callbacks are still running).  This script builds the same routes with the
same ``EXPLAINER_*`` configuration (:func:`explainers.site.serving.serve_kwargs`) and adds one
JSON endpoint.  It is test tooling only: the real app never exposes such a page.
"""

from __future__ import annotations

import gc
import json
import os

import panel as pn
from tornado.web import RequestHandler

from explainers.animation import Animator
from explainers.site.page import routes
from explainers.site.serving import _configure_logging, serve_kwargs, server_options

SERVER = None


class StatsHandler(RequestHandler):
    def get(self):
        if self.get_argument("gc", "0") == "1":
            gc.collect()
        animators = [o for o in gc.get_objects() if isinstance(o, Animator)]
        sessions = SERVER.get_sessions() if SERVER is not None else []
        self.set_header("Content-Type", "application/json")
        self.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "sessions": len(sessions),
                    "session_callbacks": sum(len(s.document.session_callbacks) for s in sessions),
                    "animators": len(animators),
                    "animators_running": sum(bool(a.running) for a in animators),
                    "animators_ticking": sum(a.ticking for a in animators),
                }
            )
        )


def main() -> None:
    global SERVER
    _configure_logging()
    options = server_options(os.environ)
    kwargs = serve_kwargs(options)
    kwargs["start"] = False
    SERVER = pn.serve(
        dict(routes()), verbose=False, extra_patterns=[("/_stats", StatsHandler)], **kwargs
    )
    SERVER.start()
    SERVER.io_loop.start()


if __name__ == "__main__":
    main()
