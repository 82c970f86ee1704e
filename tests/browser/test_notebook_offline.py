"""A section from a notebook renders with the network cut off: the executed notebook's
output (what JupyterLab shows) and ``panel serve`` of the notebook, in Chromium, with every
request that would leave the machine refused and recorded."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests import notebooks
from tests.conftest import free_port, wait_http

from .helpers import source_data, wait_for_bokeh, wait_until

pytestmark = pytest.mark.browser


def _cut_off(page, allowed: tuple[str, ...]) -> list[str]:
    """Refuse every request whose URL does not start with one of ``allowed``; returns the
    live list of refused URLs."""
    refused: list[str] = []

    def route(r):
        if r.request.url.startswith(allowed):
            r.continue_()
        else:
            refused.append(r.request.url[:120])
            r.abort()

    page.route("**/*", route)
    return refused


def _section_is_drawn(page) -> None:
    page.locator(".explainer-sigmoid").first.wait_for(timeout=90_000)
    wait_for_bokeh(page, "sigmoid-curve")
    assert len(source_data(page, "sigmoid-curve")["p"]) > 100
    page.locator(".explainer-sigmoid .katex").first.wait_for(timeout=30_000)  # the formula


def test_notebook_output_renders_offline(page, tmp_path):
    nb = notebooks.execute(tmp_path / "executed.ipynb", tmp_path)
    html = tmp_path / "notebook.html"
    html.write_text(notebooks.as_page(nb), encoding="utf-8")
    refused = _cut_off(page, ("file://",))
    page.goto(html.as_uri())
    _section_is_drawn(page)
    assert refused == []


def test_panel_serve_of_the_notebook_works_offline(page):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable, "-m", "panel", "serve", str(notebooks.NOTEBOOK),
            "--port", str(port), "--address", "127.0.0.1",
            f"--allow-websocket-origin=127.0.0.1:{port}",
        ],
        env=notebooks.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_http(base + "/notebook")
        refused = _cut_off(page, (base, "ws://127.0.0.1"))
        page.goto(base + "/notebook")
        _section_is_drawn(page)
        # It is live: a slider moved by keyboard redraws the curve on the server.
        first = source_data(page, "sigmoid-curve")["p"]
        handle = page.locator(".explainer-sigmoid .noUi-handle").first
        handle.focus()
        for _ in range(5):
            handle.press("ArrowRight")
        wait_until(lambda: source_data(page, "sigmoid-curve")["p"] != first, timeout=60)
        assert refused == []
    finally:
        server.terminate()
        server.wait(timeout=30)
