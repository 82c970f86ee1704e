"""Heavy but valid links never hold up the server: ``/liveness`` answers at once meanwhile.

Against a real ``python app.py``: 5 sessions open in parallel a story link carrying every
section's heaviest settings, and 8 more open ``/?ising.L=256``, each as a browser does (GET,
websocket, document pulled, "document ready", with :class:`bench.app_clients.RawSession`).
Meanwhile separate processes poll ``/liveness`` (separate, so that this process parsing the
sessions' messages cannot delay their clocks) until every linked section has arrived in its
session with the link's values: one on the probe process's port (``EXPLAINER_HEALTH_PORT``,
what the image's HEALTHCHECK and the Kubernetes liveness probe ask), one on the app's own.

What is asserted, and why:

* The probe port: saying the loop is alive, 99 % of answers within 100 ms and the slowest
  within 500 ms.  A process of its own answers there, whatever the app is doing (even
  collecting garbage); measured here: p95 3-8 ms, slowest 9-93 ms.  The slack is for the
  CPU: on a 2-core machine this test's clients and the app keep both cores busy, and the
  probe process must wait for one.
* The app's own port, answered by the event loop after whatever is queued before it: over
  at least 20 polls the median within 100 ms, the 95th percentile within 500 ms and the
  slowest within 2.5 s.  The old page built every linked section inside the GET and held the
  event loop for seconds (one such GET about 3.4 s; five kept ``/liveness`` waiting 15.7 s;
  this test measured a slowest poll of 13 s there), so it fails there by far.  Sections are
  now built off the event loop, but putting each piece of one into its page still costs the
  loop Panel's and Bokeh's work (making the pieces' models, recounting the document's
  models, serialising the new ones), Python's full garbage collections stop every thread
  for up to half a second with this many sessions in memory, and a burst of GETs is handled
  back to back; pacing (``lazy.ATTACH_SHARE``) and chunking (``lazy.CHUNK_MODELS``) keep
  those pieces short, not gone.  Measured here: median 2 ms, p95 120-150 ms, slowest
  0.55-0.75 s.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time

import pytest

from bench.app_clients import RawSession
from tests.deploy.apps import AppProcess

SECRET = "liveness-test-secret-" + "k" * 24

# Each section's heaviest valid settings (the bounds of its parameters).
HEAVY = {
    "hopfield": "hopfield.speed=500&hopfield.temperature=5",
    "capacity": "capacity.n=400&capacity.p=120&capacity.noise=0.3",
    "modern": "modern.cap_n=40&modern.letters=26&modern.noise=0.45&modern.beta=0.5",
    "sigmoid": "sigmoid.temperature=10",
    "distribution": "distribution.n_samples=100000&distribution.temperature=0.05",
    "ising": "ising.L=256&ising.sweeps_per_frame=20&ising.couplings=pmJ",
    "annealing": "annealing.n_runs=1000&annealing.strategy=slow",
    "learning": "learning.n_samples=4000&learning.negative=sampled&learning.steps_per_frame=20",
    "rbm": "rbm.k=10&rbm.dream_steps=1000&rbm.speed=50&rbm.method=PCD",
}
HEAVIEST_LINK = "/?" + "&".join(HEAVY.values())

# A control per section showing a linked value that differs from its default:
# (section, control title, value it must show).
LINKED = [
    ("hopfield", "Speed (updates per frame)", 500),
    ("capacity", "Units n", 400),
    ("modern", "Units n (capacity plot)", 40),
    ("sigmoid", "Temperature T", 10),
    ("distribution", "Samples N (10–100,000)", 100000),
    ("ising", "Sweeps per frame", 20),
    ("annealing", "Runs per strategy (10–1000)", 1000),
    ("learning", "Samples per sleep phase", 4000),
    ("rbm", "Round trips per chain", 1000),
]

ISING_LINKED = [("hopfield", "Temperature T", 0.2), ("ising", "Side L", "256")]

MEDIAN_MS, P95_MS, MAX_MS, MIN_POLLS = 100, 500, 2500, 20
PROBE_P99_MS, PROBE_MAX_MS = 100, 500
BUILT_DEADLINE_S = 240

POLLER = """
import json, sys, time, urllib.request
url, stop = sys.argv[1], sys.argv[2]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
times = []
while True:
    t0 = time.perf_counter()
    with opener.open(url, timeout=60) as r:
        assert r.status == 200
        body = json.loads(r.read())
    times.append(time.perf_counter() - t0)
    assert body.get("alive", True) is True, body
    try:
        open(stop).close()
        break
    except OSError:
        time.sleep(0.05)
print(json.dumps(times))
"""


class Session(RawSession):
    """A headless session that can say whether a control shows a value."""

    def shows(self, title: str, value) -> bool:
        return any(
            m.attributes.get("title") == title and m.attributes.get("value") == value
            for m in self.models.values()
        )


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    env = {"EXPLAINER_SECRET_KEY": SECRET}
    with AppProcess(tmp_path_factory.mktemp("liveness"), env) as server:
        yield server


async def _all_built(sessions: list[Session], wanted: list[tuple[str, str, object]]) -> None:
    deadline = time.monotonic() + BUILT_DEADLINE_S
    while True:
        missing = [
            (i, key, title)
            for i, s in enumerate(sessions)
            for key, title, value in wanted
            if not (s.has_section(key) and s.shows(title, value))
        ]
        if not missing:
            return
        assert time.monotonic() < deadline, f"not built with the link's values: {missing[:5]}"
        await asyncio.sleep(0.2)


def test_heavy_links_in_parallel_leave_liveness_answering(app, tmp_path):
    stop = tmp_path / "stop"
    pollers = {
        name: subprocess.Popen(
            [sys.executable, "-c", POLLER, url + "/liveness", str(stop)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for name, url in (("app", app.url), ("probe", app.health_url))
    }

    async def run() -> None:
        heavy = [Session(app.url, HEAVIEST_LINK) for _ in range(5)]
        ising = [Session(app.url, "/?ising.L=256") for _ in range(8)]
        await asyncio.gather(*(s.open() for s in heavy + ising))
        try:
            await _all_built(heavy, LINKED)
            await _all_built(
                ising, [("hopfield", "Temperature T", 0.2), ("ising", "Side L", "256")]
            )
        finally:
            await asyncio.gather(*(s.close() for s in heavy + ising))

    try:
        asyncio.run(run())
    finally:
        stop.touch()
        outs = {name: p.communicate(timeout=120)[0] for name, p in pollers.items()}
    summaries = {}
    for name, out in outs.items():
        times_ms = sorted(1000 * t for t in json.loads(out))
        p95 = times_ms[int(0.95 * (len(times_ms) - 1))]
        summaries[name] = (
            times_ms,
            (
                f"{name} port, {len(times_ms)} polls: median {statistics.median(times_ms):.0f} ms, "
                f"p95 {p95:.0f} ms, max {times_ms[-1]:.0f} ms"
            ),
        )
        print(summaries[name][1])
    times_ms, summary = summaries["probe"]
    p99 = times_ms[int(0.99 * (len(times_ms) - 1))]
    assert len(times_ms) >= MIN_POLLS and p99 <= PROBE_P99_MS, summary
    assert times_ms[-1] <= PROBE_MAX_MS, summary
    times_ms, summary = summaries["app"]
    p95 = times_ms[int(0.95 * (len(times_ms) - 1))]
    assert len(times_ms) >= MIN_POLLS, summary
    assert statistics.median(times_ms) <= MEDIAN_MS, summary
    assert p95 <= P95_MS and times_ms[-1] <= MAX_MS, summary
    assert "Traceback" not in app.log()


def test_a_section_page_is_built_after_its_page_has_loaded(app):
    """The GET of ``/<key>`` makes only the page's frame (a cheap placeholder for the
    section); the section, with the link's values, arrives once the page has loaded."""

    async def run() -> None:
        s = await Session(app.url, "/ising?ising.L=256").open(wait_for_section=False)
        try:
            assert not s.has_section("ising")
            placeholders = [
                m.attributes for m in s.models.values() if m.kind.startswith("SectionPlaceholder")
            ]
            assert [(p["keys"], p["heading"]) for p in placeholders] == [(["ising"], "h1")]
            deadline = time.monotonic() + BUILT_DEADLINE_S
            while not (s.has_section("ising") and s.shows("Side L", "256")):
                assert time.monotonic() < deadline, "the section never arrived"
                await asyncio.sleep(0.1)
        finally:
            await s.close()

    asyncio.run(run())
    assert "Traceback" not in app.log()
