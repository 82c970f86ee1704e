"""Sections of the story page that are built only when the reader comes near them.

Building all eight sections for every visitor made the story page slow to open and heavy to
keep (each section is dozens of Bokeh models and its own numpy state).  A lazy section starts
as a :class:`SectionPlaceholder`: a light element about as tall as the section will be, with
its title, which tells the server when it comes within about a screen of the viewport (or
when the URL's #anchor names it).  The server then builds the section and puts it in the
placeholder's place in the page (:func:`lazy_section`, :func:`build_when_wanted`).

A placeholder is many models in every session, so sections not built yet one after another
share one: the sections above a run are entered from its top, and those below from its
bottom, so a run has two placeholders (its halves), each building the section at its
reader's side, or the one the page's #anchor names (a contents link, a shared link), as the
browser last told the server.  What is left of a run stays in placeholders
(:func:`lazy_sections`).

Every section of the story page starts so, even the first and those a link carries state for:
the page a GET returns is only the frame and the placeholders, and those sections are wanted
by the server itself once the browser has the page.  In a served page a section is built on a
thread of its own (its objects, plots and first numbers), with its session's document locked
so that nothing of that session runs meanwhile, and only put into the page on the event loop:
a reader's link, however heavy, never holds up the other readers' sessions for long.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

import panel as pn
import param
from panel.custom import JSComponent
from panel.io.state import set_curdoc

from ..animation import report_exception
from .turns import Turns

# One thread builds sections for every session, one at a time: building is Python work that
# holds the GIL, so more threads would only take more of it from the event loop.  Clients
# (by address) take turns at it, and at putting sections into pages (see _turns).
_BUILDER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explainer-build")

# Rendered heights in px of each section in Chromium (measured 2025, panel 1.9.4): in the
# 780 px column and on a 375 px phone, with its prose and in embed mode (prose hidden).
# Only estimates, so that the scrollbar and anchors stay sensible before a section exists;
# tests/browser/test_page.py checks they stay within a third of the real heights.
SECTION_HEIGHTS: dict[str, dict[bool, tuple[int, int]]] = {
    "hopfield": {False: (1145, 1786), True: (668, 957)},
    "capacity": {False: (1353, 2088), True: (947, 1329)},
    "modern": {False: (2292, 3187), True: (1743, 2195)},
    "sigmoid": {False: (812, 1139), True: (568, 733)},
    "distribution": {False: (1874, 2867), True: (1576, 2379)},
    "ising": {False: (1978, 2681), True: (1215, 1373)},
    "annealing": {False: (1599, 2294), True: (1122, 1356)},
    "learning": {False: (1671, 2170), True: (1335, 1536)},
    "rbm": {False: (2566, 4049), True: (2113, 3243)},
}
DEFAULT_HEIGHTS = {False: (1500, 2200), True: (1100, 1500)}
# The column is 780 px wide from a viewport of about this width up; heights are measured
# there and at PHONE_PX and interpolated in between.
WIDE_PX, PHONE_PX = 800, 375


def height_css(wide: int, narrow: int) -> str:
    """A CSS length that is ``wide`` px on wide screens, ``narrow`` px on a 375 px phone.

    Linear in the viewport width in between, clamped outside: a section's prose and
    controls wrap onto more lines as the column narrows.
    """
    per_px = (narrow - wide) / (WIDE_PX - PHONE_PX)  # px of height per px of width lost
    at_zero = wide + per_px * WIDE_PX
    lo, hi = sorted((wide, narrow))
    return f"clamp({lo}px, calc({at_zero:.0f}px - {per_px * 100:.3f}vw), {hi}px)"


def eager_sections(keys: Iterable[str], args: Mapping[str, object]) -> list[str]:
    """The sections to build as soon as the page is loaded, in story order.

    The first section (what a reader sees on opening the page) and every section the
    link's query string carries state for (``?<key>.<param>=...``, see
    ``Section.bind_url``), so a shared link restores its state and shows its messages
    without the reader scrolling there.  (The #anchor never reaches the server; the
    placeholder handles it in the browser.)
    """
    keys = list(keys)
    named = {name.split(".", 1)[0] for name in args if isinstance(name, str) and "." in name}
    return [k for i, k in enumerate(keys) if i == 0 or k in named]


class SectionPlaceholder(JSComponent):
    """Stands in for one section, or for a run of sections one after another, until the
    reader comes near them (see the module docstring).

    Each section shows as a box about as tall as it will be, with its title (whose id is
    its key, so #anchors land there).  The browser sets ``wanted`` once a box comes within a
    screen of the viewport, or at once when the page's #anchor names one of ``keys``; the
    server then builds one of them (:func:`build_when_wanted`).  ``failed`` makes it say
    the section could not be built.  ``keys`` and ``titles`` are only shown: the server keeps
    its own copy, since a client can set any parameter.
    """

    keys = param.List(default=[], item_type=str, doc="The sections' keys, in page order.")
    titles = param.List(default=[], item_type=str, doc="The sections' titles.")
    heights = param.List(default=[], item_type=str, doc="CSS length: each one's likely height.")
    heading = param.Selector(default="h2", objects=["h1", "h2"], doc="The titles' element.")
    wanted = param.Boolean(default=False, doc="Set by the browser: build a section now.")
    failed = param.Boolean(default=False, doc="Set by the server when building failed.")

    @property
    def key(self) -> str:
        """The (first) section's key."""
        return self.keys[0] if self.keys else ""

    @property
    def title(self) -> str:
        """The (first) section's title."""
        return self.titles[0] if self.titles else ""

    _esm = """
export function render({ model, view }) {
  const root = document.createElement("div");
  const boxes = model.keys.map((key, i) => {
    const box = document.createElement("section");
    box.className = "section-placeholder";
    box.style.minHeight = model.heights[i];
    // the gap a built section leaves below itself
    if (i < model.keys.length - 1) box.style.marginBottom = "24px";
    const title = document.createElement(model.heading === "h1" ? "h1" : "h2");
    title.id = key;
    title.className = "section-title";
    title.textContent = model.titles[i];
    box.setAttribute("aria-labelledby", title.id);
    const note = document.createElement("p");
    note.className = "placeholder-note";
    box.append(title, note);
    return box;
  });
  const showStatus = () => {
    for (const box of boxes) {
      box.querySelector(".placeholder-note").textContent = model.failed
        ? "This section could not be loaded. Reloading the page may help."
        : "Loading this part of the story\u2026";
      box.classList.toggle("failed", model.failed);
      box.setAttribute("aria-busy", model.failed ? "false" : "true");
    }
  };
  showStatus();
  model.on("failed", showStatus);
  root.append(...boxes);

  const ask = () => { observer.disconnect(); if (!model.wanted) model.wanted = true; };
  // Near the viewport now? (The observer's reports can come late.)
  const near = (box) => {
    const r = box.getBoundingClientRect();
    const h = window.innerHeight;
    return r.bottom > -1.25 * h && r.top < 2.25 * h;  // a little beyond the margin
  };
  // A placeholder only passed over (a quick scroll) is not built: it must still be near
  // the viewport a moment later.
  // Nor while the page scrolls itself to an anchor (static/explainer.js).
  let timer = null;
  const check = () => {
    if (window.explainerJumping) { timer = setTimeout(check, 200); return; }
    timer = null;
    if (boxes.some(near)) ask();
  };
  const seen = (entries) => {
    if (timer === null && entries.some((e) => e.isIntersecting)) timer = setTimeout(check, 200);
  };
  // root: document makes the margin count inside an iframe too (embed=1).
  const options = { rootMargin: "100% 0px 100% 0px" };
  let observer;
  try { observer = new IntersectionObserver(seen, { ...options, root: document }); }
  catch (e) { observer = new IntersectionObserver(seen, options); }
  // Until the sections above it are laid out, every placeholder sits near the top; and
  // the first screen comes first. So watch once the page is drawn and idle.
  let waits = 0;
  const whenIdle = () => {
    const doc = view.model.document;
    if (!doc || doc.is_idle || waits >= 50) boxes.forEach((box) => observer.observe(box));
    else { waits += 1; start = setTimeout(whenIdle, 200); }  // at most ~10 s
  };
  let start = setTimeout(whenIdle, 300);
  let anchor = location.hash.slice(1);
  try { anchor = decodeURIComponent(anchor); } catch (e) { /* a mangled link */ }
  if (model.keys.includes(anchor)) ask();
  model.on("remove", () => { clearTimeout(start); clearTimeout(timer); observer.disconnect(); });
  return root;
}
"""


# One section a placeholder stands for: key, title, likely height (CSS), how to build it.
Item = tuple[str, str, str, Callable[[], pn.viewable.Viewable]]


def _placeholder(
    items: list[Item], from_end: bool = False, heading: str = "h2"
) -> SectionPlaceholder:
    """One placeholder for ``items``; unless the #anchor names another, it builds the last
    of them when wanted if ``from_end`` (the reader comes from below), else the first."""
    placeholder = SectionPlaceholder(
        keys=[i[0] for i in items],
        titles=[i[1] for i in items],
        heights=[i[2] for i in items],
        heading=heading,
        stylesheets=["assets/article.css"],
        sizing_mode="stretch_width",
        margin=(0, 0, 24, 0),  # as a section's layout
    )
    placeholder._items = list(items)
    placeholder._from_end = from_end
    return placeholder


def _run(items: list[Item], above: bool, below: bool) -> list[SectionPlaceholder]:
    """Placeholders for a run of sections not built yet, which a reader can enter from above
    (``above``: what is above it is not a placeholder) and from below (``below``).

    Each placeholder is many models in every session, so a run shares them: one for a run
    entered from one side, building from that side; two halves for a run entered from both.
    """
    if not items:
        return []
    if len(items) > 1 and above and below:
        half = (len(items) + 1) // 2
        return [_placeholder(items[:half]), _placeholder(items[half:], from_end=True)]
    return [_placeholder(items, from_end=below and not above)]


def lazy_section(
    key: str,
    title: str,
    build: Callable[[], pn.viewable.Viewable],
    embed: bool = False,
    heading: str = "h2",
) -> SectionPlaceholder:
    """A placeholder for section ``key``, to put in a layout that :func:`build_when_wanted`
    watches.

    Parameters
    ----------
    key, title : str
        The section's key (its anchor) and title.
    build : callable() -> Viewable
        Builds the section; called at most once, on the session's event loop.  If it
        raises, the error is reported (``report_exception``) and the placeholder says so.
    embed : bool
        Whether the page is in embed mode (the section will be shorter).
    heading : {"h2", "h1"}
        The title's element: ``"h1"`` where the section is the whole page.
    """
    return _placeholder([_item(key, title, build, embed)], heading=heading)


def _item(key: str, title: str, build, embed: bool) -> Item:
    wide, narrow = SECTION_HEIGHTS.get(key, DEFAULT_HEIGHTS)[bool(embed)]
    return (key, title, height_css(wide, narrow), build)


def lazy_sections(
    sections: Iterable[tuple[str, str, Callable[[], pn.viewable.Viewable]]],
    embed: bool = False,
    soon: Iterable[str] = (),
) -> list[SectionPlaceholder]:
    """Placeholders for ``sections`` (key, title, build), in page order, to put in a layout
    that :func:`build_when_wanted` watches: one of its own for each section in ``soon``
    (built once the page is loaded) and, between those, a run's placeholders (see
    :func:`_run`).  Building one section of a run leaves the rest of it in placeholders."""
    soon = set(soon)
    out: list[SectionPlaceholder] = []
    run: list[Item] = []
    for key, title, build in sections:
        if key in soon:
            out += [*_run(run, True, True), lazy_section(key, title, build, embed)]
            run = []
        else:
            run.append(_item(key, title, build, embed))
    return out + _run(run, True, True)


def _anchor() -> str:
    """The section the page's #anchor names, as the browser last told it ("" if none)."""
    loc = pn.state.location
    return unquote((loc.hash if loc is not None else "") or "").lstrip("#")


def _built(build: Callable[[], pn.viewable.Viewable]) -> pn.viewable.Viewable:
    """``build()``, with a section's layout made too (its plots and controls)."""
    section = build()
    panel = getattr(section, "__panel__", None)
    if callable(panel):
        panel()
    return section


# Putting a built section into its page is event-loop work: Panel makes the Bokeh models of
# what it shows and Bokeh serialises them for the browser; and Bokeh recounts the page's
# models each time (Document.models.recompute walks every model of the page: about 75 µs per
# model here, so 0.12 s a step once a story page holds 1,600 models; docs/upstream.md).
# So a section goes in a few pieces at a time (about CHUNK_MODELS Bokeh models per step: a
# layout making more gets its children back in groups; smaller steps would be more steps of
# that same recount), and of the loop's time at most ATTACH_SHARE goes to it.  Clients take
# turns step by step, so one that opened many heavy pages at once delays the others' pages
# by a step at a time, not by all of its own.  (Page building is not charged to a session's
# CPU budget: a reader who opened a heavy link would find their first clicks held.)
# (Making the models on the build thread instead needs get_root, whose registration only a
# session's own root ever removes: docs/upstream.md.)
ATTACH_SHARE = 1 / 3
CHUNK_MODELS = 40
#: On a section's root while its pieces are still arriving (for styling and for tests).
LOADING_CLASS = "explainer-loading"
# Per event loop (a test process may run several servers): (building, attaching) turns.
_LOOP_TURNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# The served pages of this process whose sessions are open: pacing is for the others' sake.
_OPEN_PAGES: weakref.WeakSet = weakref.WeakSet()


def _position(objects: list, target) -> int | None:
    """The index of ``target`` itself (not an equal object) in ``objects``, or None."""
    return next((i for i, obj in enumerate(objects) if obj is target), None)


def _size(obj) -> int:
    """About how many Bokeh models ``obj`` makes: one per Panel object in it (itself
    included), and a figure's own models for each Bokeh pane."""
    if not isinstance(obj, pn.viewable.Viewable):
        return 1
    return sum(_models(o) for o in obj.select())


def _models(obj) -> int:
    figure = obj.object if isinstance(obj, pn.pane.Bokeh) else None
    return len(figure.references()) if figure is not None else 1


def _chunked(root: pn.layout.ListLike) -> list[tuple[pn.layout.ListLike, list, list[int]]]:
    """Empty every Panel layout under ``root`` (``root`` included) that makes more than
    :data:`CHUNK_MODELS` models in all; returns ``(layout, its objects, ends)``, parents
    first, to give back a few at a time (``objects[:end]`` for each of ``ends``, see
    :func:`_groups`) once ``root`` is in its page.

    Only for objects no page shows yet (on the build thread), so emptying sends nothing.
    """
    emptied: list[tuple[pn.layout.ListLike, list, list[int]]] = []

    def walk(layout) -> None:
        if not isinstance(layout, pn.layout.ListLike) or not layout.objects:
            return
        if _size(layout) <= CHUNK_MODELS:
            return
        emptied.append((layout, list(layout.objects), _groups(layout.objects)))
        layout.objects = []
        for child in emptied[-1][1]:
            walk(child)

    walk(root)
    return emptied


def _groups(objects: list) -> list[int]:
    """Where to cut ``objects`` so that each step gives back about :data:`CHUNK_MODELS`
    models (at least one child): the end index of each step."""
    ends, size = [], 0
    for i, obj in enumerate(objects):
        size += _size(obj)
        if size >= CHUNK_MODELS:
            ends.append(i + 1)
            size = 0
    if not ends or ends[-1] < len(objects):
        ends.append(len(objects))
    return ends


def _turns() -> tuple[Turns, Turns]:
    """This event loop's turns at building sections and at putting them into pages."""
    loop = asyncio.get_running_loop()
    turns = _LOOP_TURNS.get(loop)
    if turns is None:
        turns = _LOOP_TURNS[loop] = (Turns(), Turns())
    return turns


def _client(doc) -> object:
    """Whose turn a session's work takes: the address its page was asked from (behind a
    trusted proxy, the reader's own: ``EXPLAINER_TRUST_PROXY``), else the session itself."""
    try:
        address = doc.session_context.request.remote_ip
    except AttributeError:
        address = None
    return address if isinstance(address, str) and address else doc


async def _paced(client: object, steps: Iterable[Callable[[], None]]) -> None:
    """Run each step on the event loop, one step at a time process-wide, clients taking
    turns (:class:`.turns.Turns`); while other readers are on the server, rest after each
    step in proportion to what it took (its patch is serialised within it), still holding
    the turn.  A reader alone gets the section at full speed."""
    attaching = _turns()[1]
    for step in steps:
        async with attaching.turn(client):
            t0 = time.perf_counter()
            step()
            busy = time.perf_counter() - t0
            others = len(_OPEN_PAGES) > 1
            await asyncio.sleep(busy * (1 / ATTACH_SHARE - 1) if others else 0)


def build_when_wanted(layout: pn.layout.ListLike, soon: Iterable[str] = ()) -> pn.layout.ListLike:
    """Put each section in its placeholder's place among ``layout``'s objects once the
    browser wants it; returns ``layout``.

    A placeholder standing for several sections builds one of them when wanted (see the
    module docstring), and the rest of them take new placeholders around it.

    Parameters
    ----------
    layout : ListLike
        The page's column, holding :class:`SectionPlaceholder` objects among others.  The
        placeholders sit in it rather than each in a column of its own: a Panel layout per
        section costs every visitor about 10 KiB of server memory.
    soon : iterable of str
        Keys of the sections the server wants itself once the page is loaded (in a served
        page, when the browser says it has drawn it; elsewhere at once), in this order.

    In a served page the section (its state, first numbers, Panel objects and figures) is
    made on the build thread while its session's document is locked (so no callback of that
    session touches it half-made).  The event loop then puts it into the page beside its
    placeholder, hidden, a few Panel objects at a time paced by :data:`ATTACH_SHARE` (Panel
    makes their models there, under the page's own root, so they go when the session ends
    like the rest of the page), and at last shows it in the placeholder's place.
    Elsewhere it is built at once.
    """
    doc = pn.state.curdoc
    served = doc is not None and doc.session_context is not None
    if served:
        client = _client(doc)
        _OPEN_PAGES.add(doc)
        doc.on_session_destroyed(lambda _context: _OPEN_PAGES.discard(doc))
    placeholders = [obj for obj in layout.objects if isinstance(obj, SectionPlaceholder)]
    started: set[int] = set()  # placeholders whose build has begun (each is built once)

    def chosen(placeholder: SectionPlaceholder) -> int:
        # The section the #anchor names, else the one at the side the reader comes from.
        keys = [item[0] for item in placeholder._items]
        if _anchor() in keys:
            return keys.index(_anchor())
        return len(keys) - 1 if placeholder._from_end else 0

    def swap(placeholder: SectionPlaceholder, j: int, section) -> None:
        # The section takes its place among the rest of the placeholder's run (if it is in
        # the page already, it moves there and keeps its models).
        objects = [obj for obj in layout.objects if obj is not section]
        at = _position(objects, placeholder)
        if at is None:
            return
        items = placeholder._items
        above = at == 0 or not isinstance(objects[at - 1], SectionPlaceholder)
        below = at == len(objects) - 1 or not isinstance(objects[at + 1], SectionPlaceholder)
        before, after = _run(items[:j], above, True), _run(items[j + 1 :], True, below)
        for obj in (*before, *after):
            obj.param.watch(on_wanted, "wanted")
        layout.objects = [*objects[:at], *before, section, *after, *objects[at + 1 :]]

    def failed(placeholder: SectionPlaceholder, j: int, exc: Exception) -> None:
        report_exception(exc, f"building the {placeholder._items[j][0]} section")
        if len(placeholder._items) == 1:
            placeholder.failed = True
        else:
            alone = _placeholder([placeholder._items[j]])
            alone.failed = True
            swap(placeholder, j, alone)

    def build_here(placeholder: SectionPlaceholder, j: int) -> None:
        try:
            section = placeholder._items[j][3]()
        except Exception as exc:
            failed(placeholder, j, exc)
            return
        swap(placeholder, j, section)

    def on_thread(build):
        # The section is made here; the loop only puts it in place.
        with set_curdoc(doc):
            section = _built(build)
            root = pn.panel(section)
            # Hidden until whole: the browser gets its pieces as they are made, and a section
            # growing piece by piece would move everything below it, again and again.
            root.visible = False
            root.css_classes = [*root.css_classes, LOADING_CLASS]
            return root, _chunked(root)

    async def build_served(placeholder: SectionPlaceholder, j: int) -> None:
        # A coroutine given to add_next_tick_callback runs with the document locked until
        # it returns: the session waits for its section, nothing else of it runs (so the
        # emptied layouts stay as left), and the event loop is free.
        try:
            async with _turns()[0].turn(client):
                future = _BUILDER.submit(on_thread, placeholder._items[j][3])
                root, emptied = await asyncio.wrap_future(future)
        except Exception as exc:
            with set_curdoc(doc):
                failed(placeholder, j, exc)
            return

        def step(action: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                # A section's own pn.io.hold() on the build thread leaves the document held
                # until a later tick; release it, or Bokeh folds these changes into the held
                # ones and the browser may never get them.
                if doc.callbacks.hold_value is not None:
                    doc.unhold()
                with set_curdoc(doc):
                    action()

            return run

        def put_beside() -> None:
            at = _position(layout.objects, placeholder)
            if at is not None:
                layout.insert(at + 1, root)

        def give_back(box, objects, end) -> Callable[[], None]:
            return step(lambda: setattr(box, "objects", objects[:end]))

        def loaded() -> None:
            # In one message: the section appears as its placeholder goes.
            with pn.io.hold(doc):
                root.css_classes = [c for c in root.css_classes if c != LOADING_CLASS]
                root.visible = True
                swap(placeholder, j, root)

        await _paced(
            client,
            [
                step(put_beside),
                *(give_back(box, objs, end) for box, objs, ends in emptied for end in ends),
                step(loaded),
            ],
        )

    def on_wanted(event) -> None:
        placeholder = event.obj
        here = _position(layout.objects, placeholder) is not None
        if not event.new or placeholder.failed or not here or id(placeholder) in started:
            return
        started.add(id(placeholder))
        j = chosen(placeholder)
        if served:
            # Not before the browser has the page: until then Panel holds back what a build
            # sends, and the session's "document ready" would wait for the build's lock.
            def start() -> None:
                doc.add_next_tick_callback(lambda: build_served(placeholder, j))

            with set_curdoc(doc):
                pn.state.onload(start)
        else:
            build_here(placeholder, j)

    for obj in placeholders:
        obj.param.watch(on_wanted, "wanted")

    wanted_soon = [p for key in soon for p in placeholders if p.keys == [key]]
    if wanted_soon:

        def want_soon() -> None:
            for placeholder in wanted_soon:
                placeholder.wanted = True

        pn.state.onload(want_soon)
    return layout
