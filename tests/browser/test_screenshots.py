"""The README's screenshot script works against a live server (so pictures never go stale)."""

from __future__ import annotations

import pytest

from scripts.screenshots import shoot

pytestmark = pytest.mark.browser


def test_screenshot_script_writes_a_picture_per_section(app_url, tmp_path):
    paths = shoot(app_url, tmp_path, ["sigmoid", "hopfield"])
    assert [p.name for p in paths] == ["sigmoid.png", "hopfield.png"]
    for p in paths:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
