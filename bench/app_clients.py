"""Headless clients for the app benchmark: real Bokeh sessions over a raw websocket.

A browser tab costs a whole renderer process; on a 2-core machine thirty of them would eat
the CPU the server is being measured on.  :class:`RawSession` speaks Bokeh's websocket
protocol itself, as BokehJS does: it fetches the page (which makes the server build the
session's document), opens ``/<route>/ws`` with the session token, pulls the document, says
"document ready" (Panel only starts periodic work for a loaded page), and then clicks
buttons and moves sliders by sending the same ``PATCH-DOC`` messages a browser sends.  It
never renders: it only notes when a patch for a watched data source arrives, so the server
does all the work it would do for a real tab while the client costs almost nothing.

Protocol notes (Bokeh 3.9): a message is three text frames (header, metadata, content)
followed by two frames (a JSON ref and the bytes) per binary buffer announced in the header's
``num_buffers``; the subprotocol list is ``["bokeh", token]``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field

from websockets.asyncio.client import connect

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_TOKEN = re.compile(r'"token"\s*:\s*"([^"]+)"')
_ids = itertools.count(1)


def http_get(url: str, timeout: float = 900.0, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    with _OPENER.open(request, timeout=timeout) as r:
        return r.status, r.read()


@dataclass
class Model:
    """One model of the pulled document: its id, Bokeh type name and attributes."""

    id: str
    type: str
    attributes: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The type name without its module (``panel.models.widgets.Button`` → ``Button``)."""
        return self.type.rsplit(".", 1)[-1]


def _walk(node, out: dict[str, Model]) -> None:
    if isinstance(node, dict):
        if node.get("type") == "object" and "id" in node and "name" in node:
            m = out.setdefault(node["id"], Model(node["id"], node["name"]))
            if node.get("attributes"):
                m.attributes.update(node["attributes"])
        for v in node.values():
            _walk(v, out)
    elif isinstance(node, list):
        for v in node:
            _walk(v, out)


def bokeh_event(name: str, model_id: str | None = None) -> dict:
    """A ``MessageSent`` event as a page sends it (a button click, document ready...)."""
    entries = [["model", {"id": model_id}]] if model_id is not None else []
    return {
        "kind": "MessageSent",
        "msg_type": "bokeh_event",
        "msg_data": {
            "type": "event",
            "name": name,
            "values": {"type": "map", "entries": entries},
        },
    }


class RawSession:
    """One headless session of ``base_url + path`` (see the module docstring).

    After :meth:`open`, ``models`` maps ids to :class:`Model`; :meth:`watch` a data source
    by name, then ``updates[name]`` lists the arrival times (``time.perf_counter()``) of the
    patches that touched it; ``patches`` lists the arrival times of every animation frame (a patch
    message, or each frame of a batch for the page's frame player).
    """

    def __init__(self, base_url: str, path: str, headers: dict | None = None):
        self.base_url = base_url.rstrip("/")
        self.path = path
        self.headers = dict(headers or {})  # sent with the page's GET and the websocket
        self.models: dict[str, Model] = {}
        self.updates: dict[str, list[float]] = defaultdict(list)
        self.patches: list[float] = []  # arrival times of every frame
        self._watched: dict[str, str] = {}  # model id -> source name
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._replies: dict[str, asyncio.Future] = {}
        self.build_seconds = float("nan")  # GET of the page: the server builds the session
        self.closed = False

    # -- connection ------------------------------------------------------------------
    async def open(self, timeout: float = 300.0, wait_for_section: bool = True) -> RawSession:
        """Load the page as a browser does; for a section's own page (``/<key>``) also wait
        until the server has put the section in it (sections are built after the page
        loads, see explainers/site/lazy.py)."""
        t0 = time.perf_counter()
        url = self.base_url + self.path
        status, body = await asyncio.to_thread(http_get, url, 900.0, self.headers)
        self.build_seconds = time.perf_counter() - t0
        if status != 200:
            raise RuntimeError(f"GET {self.path} answered {status}")
        match = _TOKEN.search(body.decode("utf-8", "replace"))
        if match is None:
            raise RuntimeError(f"no session token in {self.path}")
        host = self.base_url.split("://", 1)[1]
        route = self.path.split("?", 1)[0].rstrip("/")
        self._ws = await connect(
            f"ws://{host}{route}/ws",
            subprotocols=["bokeh", match.group(1)],
            origin=self.base_url,
            additional_headers=self.headers,
            max_size=None,
            ping_interval=None,
            compression=None,
            open_timeout=120,  # a busy server builds other sessions first
        )
        header, _ = await self._read_message()  # ACK
        if header.get("msgtype") != "ACK":
            raise RuntimeError(f"expected ACK, got {header}")
        await self._send("PULL-DOC-REQ", {})
        header, content = await self._read_message()
        if header.get("msgtype") != "PULL-DOC-REPLY":
            raise RuntimeError(f"expected PULL-DOC-REPLY, got {header.get('msgtype')}")
        _walk(content.get("doc", content), self.models)
        self._reader = asyncio.create_task(self._read_forever())
        await self.patch([bokeh_event("document_ready")])
        key = self.path.split("?", 1)[0].strip("/")
        if key and wait_for_section:
            deadline = time.perf_counter() + timeout
            while not self.has_section(key):
                if self.closed or time.perf_counter() > deadline:
                    raise RuntimeError(f"section {key!r} never arrived in {self.path}")
                await asyncio.sleep(0.02)
        return self

    async def close(self) -> None:
        self.closed = True
        if self._reader is not None:
            self._reader.cancel()
        if self._ws is not None:
            await self._ws.close()

    # -- finding models ----------------------------------------------------------------
    def find(self, type_name: str | None = None, **attrs) -> Model:
        """The one model of this type whose attributes contain ``attrs`` (substring for
        strings); raises if there is none or more than one."""
        found = [
            m
            for m in self.models.values()
            if (type_name is None or m.kind == type_name)
            and all(_matches(m.attributes.get(k), v) for k, v in attrs.items())
        ]
        if len(found) != 1:
            raise LookupError(f"{len(found)} models match {type_name} {attrs} in {self.path}")
        return found[0]

    def has_section(self, key: str) -> bool:
        """Whether section ``key`` is in the page whole (not its placeholder, nor only some
        of its pieces: see ``LOADING_CLASS`` in explainers/site/lazy.py)."""
        for m in self.models.values():
            classes = m.attributes.get("css_classes") or []
            if f"explainer-{key}" in classes:
                return "explainer-loading" not in classes
        return False

    def by_name(self, name: str) -> Model:
        return self.find(None, name=name)

    def watch(self, source_name: str) -> None:
        self._watched[self.by_name(source_name).id] = source_name

    # -- acting ------------------------------------------------------------------------
    async def click(self, label: str, nth: int | None = None) -> None:
        """Press the button labelled ``label`` (exactly).

        With ``nth`` the ``nth`` such button in document order (the story page has one
        "Run" per animated section, in story order); without it there must be one.
        """
        buttons = [
            m
            for m in self.models.values()
            if m.kind == "Button" and m.attributes.get("label") == label
        ]
        if nth is None and len(buttons) != 1 or nth is not None and nth >= len(buttons):
            raise LookupError(f"{len(buttons)} buttons labelled {label!r} in {self.path}")
        await self.patch([bokeh_event("button_click", buttons[nth or 0].id)])

    async def set(self, model: Model, attr: str, value) -> None:
        """Set a property of a model, as a widget in the browser does."""
        await self.patch(
            [{"kind": "ModelChanged", "model": {"id": model.id}, "attr": attr, "new": value}]
        )

    async def patch(self, events: list[dict]) -> None:
        await self._send("PATCH-DOC", {"events": events})

    async def wait_update(self, source_name: str, after: int, timeout: float = 10.0) -> float:
        """Wait until ``updates[source_name]`` has more than ``after`` entries; returns the
        arrival time of the first new one."""
        deadline = time.perf_counter() + timeout
        times = self.updates[source_name]
        while len(times) <= after:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no update of {source_name} within {timeout} s")
            await asyncio.sleep(0.002)
        return times[after]

    # -- protocol ----------------------------------------------------------------------
    async def _send(self, msgtype: str, content: dict) -> None:
        header = {"msgid": str(next(_ids)), "msgtype": msgtype}
        await self._ws.send(json.dumps(header))
        await self._ws.send("{}")
        await self._ws.send(json.dumps(content))

    async def _read_message(self) -> tuple[dict, dict | bytes]:
        recv = self._ws.recv
        header = json.loads(await recv(decode=False))
        await recv(decode=False)  # metadata
        content = await recv(decode=False)  # bytes: no UTF-8 decoding unless needed
        for _ in range(2 * header.get("num_buffers", 0)):
            await recv(decode=False)  # buffer ref, buffer bytes
        if header.get("msgtype") == "PATCH-DOC":
            return header, content  # parsed lazily: only if it may touch a watched source
        return header, json.loads(content)

    async def _read_forever(self) -> None:
        try:
            while True:
                header, content = await self._read_message()
                if header.get("msgtype") != "PATCH-DOC":
                    continue
                now = time.perf_counter()
                if b'"batch"' in content and self._played(json.loads(content), now):
                    continue
                if b'"object"' in content or b'"css_classes"' in content:
                    self._follow(json.loads(content))  # a section put into the page
                self.patches.append(now)
                hit = {sid for sid in self._watched if f'"{sid}"'.encode() in content}
                if not hit:
                    continue
                for ev in json.loads(content).get("events", []):
                    sid = (ev.get("model") or {}).get("id")
                    if sid in hit and (
                        ev.get("kind") in ("ColumnsPatched", "ColumnsStreamed", "ColumnDataChanged")
                        or ev.get("attr") == "data"
                    ):
                        self.updates[self._watched[sid]].append(now)
                        hit.discard(sid)
        except asyncio.CancelledError:
            raise
        except Exception:  # connection closed
            self.closed = True

    def _follow(self, content: dict) -> None:
        """Keep ``models`` up to date with new models and changed CSS classes."""
        _walk(content, self.models)
        for ev in content.get("events", []):
            model = self.models.get((ev.get("model") or {}).get("id"))
            if model is not None and ev.get("kind") == "ModelChanged":
                if ev.get("attr") == "css_classes":
                    model.attributes["css_classes"] = ev.get("new")

    def _played(self, content: dict, now: float) -> bool:
        """Count the frames of a batch for the page's frame feed (explainers/frames.py),
        as if each had arrived on its own; False if the message carries no batch."""
        for ev in content.get("events", []):
            if ev.get("kind") != "ModelChanged" or ev.get("attr") != "batch":
                continue
            new = ev.get("new")
            frames = (json.loads(new) if isinstance(new, str) and new else {}).get("frames", [])
            names = set(self._watched.values())
            for frame in frames:
                self.patches.append(now)
                for name in {op[0] for op in frame} & names:
                    self.updates[name].append(now)
            return True
        return False


def _matches(actual, wanted) -> bool:
    if isinstance(wanted, str) and isinstance(actual, str):
        return wanted in actual
    return actual == wanted
