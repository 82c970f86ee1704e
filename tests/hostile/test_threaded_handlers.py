"""Clicks handled on Panel's threads must not change a document outside its lock.

With ``EXPLAINER_NUM_THREADS`` set, Panel runs event handlers on a thread pool.  A handler
that changes a Bokeh model directly (a data source's ``patch``, as every section's drawing
does) then changes the document while no one holds its lock, and Bokeh's ServerSession
raises ``RuntimeError: _pending_writes should be non-None ...`` (reported from
``rbm.load_corrupted`` and ``hopfield._show_readouts``).  The variable is no longer passed
to Panel (handlers run on the event loop; heavy work runs on the app's own pool), and the
server says so in one line: checked here against a real ``python app.py`` given it.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bench.app_clients import RawSession
from tests.deploy.apps import AppProcess

SECRET = "threads-test-secret-" + "k" * 24


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with AppProcess(
        tmp_path_factory.mktemp("threads"),
        {"EXPLAINER_SECRET_KEY": SECRET, "EXPLAINER_NUM_THREADS": "2"},
    ) as server:
        yield server


def test_clicks_on_handler_threads_change_documents_under_their_lock(app):
    async def run() -> None:
        rbm = await RawSession(app.url, "/rbm").open()
        for shape in "TLOTLO":
            seen = len(rbm.patches)
            await rbm.click(f"Corrupted {shape}")
            # Wait (bounded) for the click's patch: its handler has run on its thread.
            deadline = time.monotonic() + 15
            while len(rbm.patches) == seen and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        await rbm.close()

    asyncio.run(run())
    log = app.log()
    assert "_pending_writes" not in log, log[-2000:]
    assert "Traceback" not in log
    assert "EXPLAINER_NUM_THREADS is no longer used" in log
