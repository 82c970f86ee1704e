"""While a simulation animates, the browser sends the server nothing.

Bokeh's automatic ranges refit in the browser and send their new bounds back after every
redraw, which cost the server more CPU per frame than the frame itself; the charts now use
server-fitted ranges (``views.ServerRange``).  This test watches the websocket: a client
message during an animation would mean some model is echoing again.
"""

from __future__ import annotations

import json

import pytest

from .helpers import wait_for_bokeh

pytestmark = pytest.mark.browser

CASES = [
    ("hopfield?hopfield.speed=20", "hopfield-grid", "Run"),
    ("rbm", "rbm-error", "Train"),
    ("ising?ising.L=32", "ising-traces", "Run"),
]


@pytest.mark.parametrize(("route", "source", "button"), CASES, ids=[c[0][:8] for c in CASES])
def test_an_animation_gets_no_messages_back_from_the_browser(page, app_url, route, source, button):
    sent: list[str] = []
    received: list[int] = []

    def watch(ws):
        ws.on("framesent", lambda payload: sent.append(payload))
        ws.on("framereceived", lambda payload: received.append(len(payload)))

    page.on("websocket", watch)
    page.goto(f"{app_url}/{route}")
    wait_for_bokeh(page, source, timeout=90)
    run = page.get_by_role("button", name=button, exact=True).first
    run.click()
    page.get_by_role("button", name="Pause", exact=True).first.wait_for(timeout=20_000)
    page.wait_for_timeout(1000)  # past the click's own message and the first frames
    sent.clear()
    received.clear()
    page.wait_for_timeout(3000)
    frames = len(received)
    echoed = list(sent)
    page.get_by_role("button", name="Pause", exact=True).first.click()
    assert frames >= 20, f"the animation sent only {frames} websocket frames in 3 s"
    events = []
    for payload in echoed:
        if isinstance(payload, str) and payload.startswith("{"):
            body = json.loads(payload)
            events += [(e.get("kind"), e.get("attr")) for e in body.get("events", [])]
    assert echoed == [], f"the browser sent {len(echoed)} frames while animating: {events[:6]}"
