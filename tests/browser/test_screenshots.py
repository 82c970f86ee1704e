"""The README's screenshot script works against a live server (so pictures never go stale)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from scripts.screenshots import shoot

pytestmark = pytest.mark.browser


def test_screenshot_script_writes_a_picture_per_section(app_url, tmp_path):
    # Playwright's sync API refuses to start inside the asyncio loop pytest-playwright keeps
    # running in this thread, so the script runs in a thread of its own, as it would alone.
    with ThreadPoolExecutor(1) as pool:
        paths = pool.submit(shoot, app_url, tmp_path, ["sigmoid", "hopfield"]).result()
    assert [p.name for p in paths] == ["sigmoid.png", "hopfield.png"]
    for p in paths:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
