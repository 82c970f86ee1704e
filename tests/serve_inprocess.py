"""An app server inside the test process, so tests can look at the live section objects.

``python app.py`` in a subprocess is the real thing, but its sections are out of reach.  The
tests of faults, caps and session clean-up need to inspect (or sabotage) the very section
objects a browser session drives, so they serve the same pages with ``pn.serve(...,
threaded=True)`` and keep a record of what each session built.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import panel as pn

from explainers.site.page import _page, build_section, configure
from explainers.site.serving import STATIC_DIR, STATIC_URL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Built:
    """What one session built: its section, its notification area, its Bokeh document."""

    section: object
    notifications: object
    doc: object
    errors: list[str] = field(default_factory=list)


class InProcessServer:
    """Serve ``/<key>`` for the given section keys on a free port, in a thread.

    Parameters
    ----------
    keys : iterable of str
        Section keys (from :data:`explainers.site.page.SECTIONS`).
    tamper : callable(section) or None
        Called on every freshly built section before the page is made (to inject faults).
    lifetime_ms : int
        Unused-session lifetime (the app's default is 5000).
    """

    def __init__(self, keys, tamper: Callable | None = None, lifetime_ms: int = 5000):
        configure()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.built: list[Built] = []
        routes = {key: self._factory(key, tamper) for key in keys}
        self._thread = pn.serve(
            routes,
            port=self.port,
            address="127.0.0.1",
            websocket_origin=[f"127.0.0.1:{self.port}", f"localhost:{self.port}"],
            threaded=True,
            show=False,
            verbose=False,
            unused_session_lifetime_milliseconds=lifetime_ms,
            check_unused_sessions_milliseconds=min(1000, lifetime_ms),
            static_dirs={STATIC_URL: str(STATIC_DIR)},
        )
        self._wait_up()

    def _factory(self, key: str, tamper):
        def make():
            section = build_section(key)
            if tamper is not None:
                tamper(section)
            self.built.append(Built(section, pn.state.notifications, pn.state.curdoc))
            return _page(section)

        return make

    def _wait_up(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"in-process server on {self.port} did not start")

    def latest(self, timeout: float = 60.0) -> Built:
        """The most recently built session (waits until one exists)."""
        deadline = time.monotonic() + timeout
        while not self.built:
            if time.monotonic() > deadline:
                raise AssertionError("no session was built")
            time.sleep(0.05)
        return self.built[-1]

    def stop(self) -> None:
        self._thread.stop()

    def __enter__(self) -> InProcessServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def messages(built: Built) -> list[str]:
    """Texts of the toasts the session was shown."""
    area = built.notifications
    return [n.message for n in getattr(area, "notifications", [])] if area is not None else []
