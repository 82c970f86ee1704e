"""Sections of the story page that are built only when the reader comes near them.

Building all eight sections for every visitor made the story page slow to open and heavy to
keep (each section is dozens of Bokeh models and its own numpy state).  A lazy section starts
as a :class:`SectionPlaceholder`: a light element about as tall as the section will be, with
its title, which tells the server when it comes within about a screen of the viewport (or
when the URL's #anchor names it).  The server then builds the section and puts it in the
placeholder's place in the page (:func:`lazy_section`, :func:`build_when_wanted`).

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
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

import panel as pn
import param
from panel.custom import JSComponent
from panel.io.state import set_curdoc

from ..animation import report_exception

# One thread builds sections for every session, one at a time: building is Python work that
# holds the GIL, so more threads would only take more of it from the event loop.
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
    """Stands in for a section until the reader comes near it (see the module docstring).

    The browser sets ``wanted`` once the placeholder comes within a screen of the viewport,
    or at once when the page's #anchor names ``key``.  ``failed`` makes it say the section
    could not be built.  ``key`` and ``title`` are only shown: the server keeps its own copy
    of the key, since a client can set any parameter.
    """

    key = param.String(default="", doc="The section's key; its title gets this id.")
    title = param.String(default="", doc="The section's title.")
    min_height = param.String(default="1200px", doc="CSS length: the section's likely height.")
    wanted = param.Boolean(default=False, doc="Set by the browser: build the section now.")
    failed = param.Boolean(default=False, doc="Set by the server when building failed.")

    _esm = """
export function render({ model, view }) {
  const box = document.createElement("section");
  box.className = "section-placeholder";
  box.style.minHeight = model.min_height;
  box.setAttribute("aria-busy", "true");
  const title = document.createElement("h2");
  title.id = model.key;
  title.className = "section-title";
  title.textContent = model.title;
  box.setAttribute("aria-labelledby", title.id);
  const note = document.createElement("p");
  note.className = "placeholder-note";
  const showStatus = () => {
    note.textContent = model.failed
      ? "This section could not be loaded. Reloading the page may help."
      : "Loading this part of the story\\u2026";
    box.classList.toggle("failed", model.failed);
    box.setAttribute("aria-busy", model.failed ? "false" : "true");
  };
  showStatus();
  model.on("failed", showStatus);
  box.append(title, note);

  const ask = () => { observer.disconnect(); if (!model.wanted) model.wanted = true; };
  // Near the viewport now? (The observer's reports can come late.)
  const near = () => {
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
    if (near()) ask();
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
    if (!doc || doc.is_idle || waits >= 50) observer.observe(box);  // at most ~10 s
    else { waits += 1; start = setTimeout(whenIdle, 200); }
  };
  let start = setTimeout(whenIdle, 300);
  let anchor = location.hash.slice(1);
  try { anchor = decodeURIComponent(anchor); } catch (e) { /* a mangled link */ }
  if (anchor === model.key) ask();
  model.on("remove", () => { clearTimeout(start); clearTimeout(timer); observer.disconnect(); });
  return box;
}
"""


def lazy_section(
    key: str,
    title: str,
    build: Callable[[], pn.viewable.Viewable],
    embed: bool = False,
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
    """
    wide, narrow = SECTION_HEIGHTS.get(key, DEFAULT_HEIGHTS)[bool(embed)]
    placeholder = SectionPlaceholder(
        key=key,
        title=title,
        min_height=height_css(wide, narrow),
        stylesheets=["assets/article.css"],
        sizing_mode="stretch_width",
        margin=(0, 0, 24, 0),  # as a section's layout
    )
    placeholder._build = build
    return placeholder


def _built(build: Callable[[], pn.viewable.Viewable]) -> pn.viewable.Viewable:
    """``build()``, with a section's layout made too (its plots and controls)."""
    section = build()
    panel = getattr(section, "__panel__", None)
    if callable(panel):
        panel()
    return section


# Putting a built section into its page is still event-loop work: Bokeh recounts the
# document's models and serialises the new ones for the browser.  So a section goes in a
# few dozen models at a time (CHUNK_MODELS), and of the loop's time at most ATTACH_SHARE goes
# to it: a burst of heavy links leaves every other session and /liveness their turns.
ATTACH_SHARE = 1 / 3
CHUNK_MODELS = 100
_attach_gate: asyncio.Semaphore | None = None


def _chunked(root) -> list[tuple[object, list]]:
    """Empty the ``children`` of every layout model under ``root`` (``root`` included) whose
    subtree has more than :data:`CHUNK_MODELS` models; returns ``(model, its children)``
    pairs, parents first, to give back one by one once ``root`` is in its document.

    Only for models no document holds yet (on the build thread).
    """
    emptied: list[tuple[object, list]] = []

    def walk(model) -> None:
        children = getattr(model, "children", None)
        if not isinstance(children, list) or not children:
            return
        if len(model.references()) <= CHUNK_MODELS:
            return
        emptied.append((model, list(children)))
        model.children = []
        for child in emptied[-1][1]:
            walk(child)

    walk(root)
    return emptied


async def _paced(steps: Iterable[Callable[[], None]]) -> None:
    """Run each step on the event loop, one section at a time process-wide, resting after
    each in proportion to what it took (its patch is serialised within it)."""
    global _attach_gate
    if _attach_gate is None:
        _attach_gate = asyncio.Semaphore(1)
    async with _attach_gate:
        for step in steps:
            t0 = time.perf_counter()
            step()
            busy = time.perf_counter() - t0
            await asyncio.sleep(busy * (1 / ATTACH_SHARE - 1))


def build_when_wanted(layout: pn.layout.ListLike, soon: Iterable[str] = ()) -> pn.layout.ListLike:
    """Put each section in its placeholder's place among ``layout``'s objects once the
    browser wants it; returns ``layout``.

    Parameters
    ----------
    layout : ListLike
        The page's column, holding :class:`SectionPlaceholder` objects among others.  The
        placeholders sit in it rather than each in a column of its own: a Panel layout per
        section costs every visitor about 10 KiB of server memory.
    soon : iterable of str
        Keys of the sections the server wants itself once the page is loaded (in a served
        page, when the browser says it has drawn it; elsewhere at once), in this order.

    In a served page the section and its Bokeh models (``get_root``) are made on the build
    thread while its session's document is locked (so no callback of that session touches
    it half-made); the event loop then puts the models in the placeholder's place, as a
    ``pn.pane.Bokeh``, a few dozen models at a time, paced by :data:`ATTACH_SHARE`.
    Elsewhere it is built at once.
    """
    doc = pn.state.curdoc
    served = doc is not None and doc.session_context is not None
    placeholders = [obj for obj in layout.objects if isinstance(obj, SectionPlaceholder)]
    started: set[int] = set()  # placeholders whose build has begun (each is built once)

    def swap(placeholder: SectionPlaceholder, section) -> None:
        if any(obj is placeholder for obj in layout.objects):
            layout.objects = [section if obj is placeholder else obj for obj in layout.objects]

    def failed(placeholder: SectionPlaceholder, exc: Exception) -> None:
        report_exception(exc, f"building the {placeholder.key} section")
        placeholder.failed = True

    def build_here(placeholder: SectionPlaceholder) -> None:
        try:
            section = placeholder._build()
        except Exception as exc:
            failed(placeholder, exc)
            return
        swap(placeholder, section)

    def on_thread(build):
        # The section and its Bokeh models are made here; the loop only puts them in place.
        with set_curdoc(doc):
            section = _built(build)
            model = pn.panel(section).get_root(doc)
            return section, model, _chunked(model)

    async def build_served(placeholder: SectionPlaceholder) -> None:
        # A coroutine given to add_next_tick_callback runs with the document locked until
        # it returns: the session waits for its section, nothing else of it runs (so the
        # emptied layouts stay as left), and the event loop is free.
        try:
            future = _BUILDER.submit(on_thread, placeholder._build)
            _section, model, emptied = await asyncio.wrap_future(future)
        except Exception as exc:
            with set_curdoc(doc):
                failed(placeholder, exc)
            return

        def attach() -> None:
            # A section's own pn.io.hold() on the build thread leaves the whole document
            # held until a later tick; release it first, or Bokeh folds this change into
            # the held ones and the browser may never get the new models.
            if doc.callbacks.hold_value is not None:
                doc.unhold()
            # Held and released here, Panel's change goes out with the later steps' ones,
            # when this coroutine ends: the browser gets the section whole, not emptied.
            doc.hold("collect")
            try:
                with set_curdoc(doc):
                    swap(placeholder, pn.pane.Bokeh(model))
            finally:
                doc.unhold()

        def give_back(layout_model, children) -> Callable[[], None]:
            def step() -> None:
                if not layout_model.children:  # as emptied: nothing has changed it since
                    layout_model.children = children

            return step

        await _paced([attach, *(give_back(m, c) for m, c in emptied)])

    def on_wanted(event) -> None:
        placeholder = event.obj
        here = any(obj is placeholder for obj in layout.objects)
        if not event.new or placeholder.failed or not here or id(placeholder) in started:
            return
        started.add(id(placeholder))
        if served:
            # Not before the browser has the page: until then Panel holds back what a build
            # sends, and the session's "document ready" would wait for the build's lock.
            def start() -> None:
                doc.add_next_tick_callback(lambda: build_served(placeholder))

            with set_curdoc(doc):
                pn.state.onload(start)
        else:
            build_here(placeholder)

    for obj in placeholders:
        obj.param.watch(on_wanted, "wanted")

    wanted_soon = [p for key in soon for p in placeholders if p.key == key]
    if wanted_soon:

        def want_soon() -> None:
            for placeholder in wanted_soon:
                placeholder.wanted = True

        pn.state.onload(want_soon)
    return layout
