"""A hundred sessions come and go: nothing keeps running and memory returns to where it was.

The server is the real app configuration (:mod:`tests.deploy.stats_server`, which adds a
read-only ``/_stats`` page) with a short unused-session lifetime.  Sessions are real Bokeh
sessions over the websocket (:class:`bench.app_clients.RawSession`): each one makes the
server build the page, says "document ready" like a browser, and in the animated sections
presses Run, so periodic callbacks really start.

"Settled" memory: the server's RSS after a warm-up batch of sessions has been opened,
animated, closed and reaped (every module imported, every kernel compiled, caches filled).
After 100 more sessions the RSS must be within 5 % of that.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import psutil
import pytest

from bench.app_clients import RawSession

from .apps import REPO, AppProcess, free_port, http_get

pytestmark = pytest.mark.deploy

LIFETIME_MS = 1000  # the smallest lifetime serving.py accepts; reaped within ~2 s
BATCH = 20
TOTAL = 100
WARMUP = 20
# Each batch opens one session of each of these (pressing the button that starts its
# animation, if any) and fills the rest with the cheapest page, so the test stays short
# even on a busy 2-core machine.
ROUTES = {"/hopfield": "Run", "/ising": "Run", "/rbm": "Train", "/distribution": None, "/": None}
FILLER = "/sigmoid"


class StatsApp(AppProcess):
    """``python -m tests.deploy.stats_server`` instead of ``python app.py``."""

    def __init__(self, log_dir, env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"stats-app-{self.port}.log"
        full_env = {**env, "EXPLAINER_PORT": str(self.port), "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.deploy.stats_server"],
                cwd=REPO,
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stats(self, collect: bool = False) -> dict:
        status, _, body = http_get(self.url + "/_stats" + ("?gc=1" if collect else ""))
        assert status == 200
        return json.loads(body)

    def rss(self) -> int:
        return psutil.Process(self.proc.pid).memory_info().rss


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    import os

    env = {**os.environ, "EXPLAINER_SESSION_LIFETIME_MS": str(LIFETIME_MS)}
    with StatsApp(tmp_path_factory.mktemp("sessions"), env) as server:
        yield server


async def _batch(app: StatsApp, n: int) -> int:
    """Open ``n`` sessions, start the animated ones, then close them all; returns how many
    animation timers were ticking just before the close."""
    paths = [*ROUTES, *[FILLER] * (n - len(ROUTES))]
    sessions = []
    for path in paths:
        s = await RawSession(app.url, path).open()
        if path == "/":  # the story page builds its first section after it has loaded
            await _until(lambda s=s: s.has_section("hopfield"))
        if ROUTES.get(path):
            await s.click(ROUTES[path])
        sessions.append(s)
    await asyncio.sleep(1.0)
    running = (await asyncio.to_thread(app.stats))["animators_ticking"]
    await asyncio.gather(*(s.close() for s in sessions))
    return running


async def _until(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not within the deadline"
        await asyncio.sleep(0.05)


def _wait_reaped(app: StatsApp, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        stats = app.stats()
        if stats["sessions"] == 0 and stats["animators_ticking"] == 0:
            return app.stats(collect=True)
        if time.monotonic() > deadline:
            raise AssertionError(f"sessions not reaped after {timeout} s: {stats}")
        time.sleep(0.25)


@pytest.mark.slow
@pytest.mark.timeout(1500)  # ~1 min on an idle machine; session builds crawl under load
def test_a_hundred_sessions_leave_nothing_running_and_memory_where_it_settled(app):
    animated = sum(1 for label in ROUTES.values() if label)
    assert animated == 3
    running = asyncio.run(_batch(app, WARMUP))
    assert running >= animated, "the warm-up batch never started an animation"
    warm = _wait_reaped(app)
    settled = app.rss()

    rss_after_batches = []
    for k in range(TOTAL // BATCH):
        running = asyncio.run(_batch(app, BATCH))
        assert running >= animated, f"batch {k}: animations did not start ({running})"
        final = _wait_reaped(app)
        rss_after_batches.append(app.rss())

    assert final["animators_running"] == final["animators_ticking"] == 0
    # Sections of closed sessions are freed: a few of the last ones may linger (held by
    # the server's last connection objects), but they must not pile up batch after batch.
    assert final["animators"] <= warm["animators"] + len(ROUTES), (warm, final)
    ratio = rss_after_batches[-1] / settled
    mib = [round(r / 2**20, 1) for r in rss_after_batches]
    assert abs(ratio - 1) <= 0.05, (
        f"RSS {ratio:.3f}× the settled {settled / 2**20:.1f} MiB after {TOTAL} sessions "
        f"(after each batch: {mib} MiB)"
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sections_built_after_the_page_loaded_go_with_their_session(app):
    """Sections are built after their page has loaded and put into it piece by piece
    (explainers/site/lazy.py); once the sessions close, none of them stays behind."""
    warm = _wait_reaped(app)

    async def run() -> None:
        sessions = []
        # The story page builds its first section and those its link names after loading.
        story = {"/": ["hopfield"], "/?ising.L=64": ["hopfield", "ising"]}
        for path in [*story, "/hopfield", "/ising"] * 3:
            s = await RawSession(app.url, path).open()
            for key in story.get(path, []):
                await _until(lambda s=s, key=key: s.has_section(key))
            sessions.append(s)
        await asyncio.gather(*(s.close() for s in sessions))

    asyncio.run(run())
    final = _wait_reaped(app)
    # 12 pages, 15 sections with an animator each: at most one page's worth may linger.
    assert final["animators"] <= warm["animators"] + 2, (warm, final)
