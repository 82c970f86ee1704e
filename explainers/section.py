"""The frame every section shares: prose, formula, controls, URL state, messages, embedding.

A section is a ``pn.viewable.Viewer`` whose ``param``s are its whole user-visible state.
Subclasses declare class attributes (``key``, ``title``, ``url_params``), keep their prose
in ``explainers/content/<key>.md`` and implement :meth:`Section.body`.  This module gives every
section, once:

* a layout with the CSS class ``explainer-<key>`` (a stable test hook) and an ``id`` anchor;
* URL round-tripping of the ``url_params``: ``?<key>.<param>=value`` restores them, moving a
  control rewrites the query string, and every incoming value is validated — clamped into
  its bounds or refused — with a visible message, never a traceback;
* an "Embed" control that shows an iframe snippet for the section's own URL and state (the
  snippet sizes the frame to its content, see ``static/embed.js``), and an ``embed=1`` mode
  that shows only the widget: no title, no prose (:meth:`Section.prose_pane` makes prose
  panes that hide with it), no Embed button, and a small link to the full explanation;
* a message area for refusals and errors.
"""

from __future__ import annotations

import html
import math
import re
import secrets
import time
from typing import Any, ClassVar
from urllib.parse import urlencode

import numpy as np
import panel as pn
import param
from bokeh.models import Tooltip

from . import prose as _prose
from .animation import notify, report_exception

MAX_RAW_LENGTH = 64  # no legitimate value in a link is longer than this
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

PROSE_CSS = """
:host, .markdown, p { font-family: var(--explainer-serif); font-size: 1.06rem;
        line-height: 1.6; color: var(--explainer-ink, inherit); max-width: 100%; }
p { margin: .45em 0; }
code { font-size: .9em; }
a { color: var(--explainer-link); }
.try { border-left: 3px solid var(--explainer-accent); padding: .2em .8em;
       background: var(--explainer-tint); border-radius: 0 4px 4px 0; }
"""


TIP_CSS = ":host { white-space: initial; max-width: 240px; font-size: 14px; }"

# KaTeX's own stylesheet (static/katex, its fonts declared by the page): given to each
# formula pane so it reaches the pane's shadow root; formulas at the prose's size.
KATEX_CSS = "assets/katex/katex.min.css"
FORMULA_CSS = """
:host { font-size: 1.06rem; color: var(--explainer-ink, inherit); max-width: 100%; }
.katex { font-size: 1.1em; }
.katex-display { overflow-x: auto; overflow-y: hidden; padding: .2em 0; }
"""

# In presentation mode the section's controls and plots flow in two columns, so the main
# plot sits beside its simulation (the variables are set by static/style.css).
BODY_CSS = """
:host { columns: var(--explainer-body-columns, auto); column-gap: 40px;
        display: var(--explainer-body-display, flex) !important; }
:host > * { break-inside: avoid; }
"""

FULL_LINK_CSS = """
.full-story { margin: .2em 0; font-family: var(--explainer-sans); font-size: .85rem; }
.full-story a { color: var(--explainer-link); }
"""

# The receiving half of the embed snippet: sizes the frame before it (the iframe) to the
# height its page posts, accepting messages only from that frame and the app's origin.
EMBED_RECEIVER = (
    "<script>(function(f){addEventListener('message',function(e){"
    "var h=e.data&&e.data.explainerHeight;"
    "if(e.source===f.contentWindow&&e.origin===new URL(f.src,location.href).origin"
    "&&h>0&&h<100000)f.style.height=Math.ceil(h)+'px'})})"
    "(document.currentScript.previousElementSibling)</script>"
)


def framing_note() -> str:
    """One sentence (HTML) saying whether other sites may show this server's pages in a
    frame, and which setting decides it (``EXPLAINER_FRAME_ANCESTORS``)."""
    from .site.serving import frame_ancestors

    sources = frame_ancestors()
    setting = "<code>EXPLAINER_FRAME_ANCESTORS</code>"
    example = f"{setting}=\"'self' https://course.example.org\""
    if sources == ["'none'"]:
        return (
            f"This server refuses to be shown in any frame ({setting} is 'none'). To allow "
            f"your course site, restart it with {example}."
        )
    others = [html.escape(s) for s in sources if s != "'self'"]
    if not others:
        return (
            "<b>Other sites cannot show this yet:</b> this server lets only its own pages "
            f"frame it. To allow your course site, restart it with {example}."
        )
    if "*" in others:
        return f"Any site may show this server's pages in a frame ({setting} is *)."
    listed = ", ".join(others)
    return f"These sites may show this server's pages in a frame: {listed} (set by {setting})."


def tip(text: str, attachment: str = "above") -> Tooltip:
    """A button's hover text as a plain-text tooltip.

    Panel turns a description string into a tooltip holding a separate HTML model (for
    Markdown); plain text needs none, and each model costs memory in every session.  It
    opens above the button (beside it, it covered the next control in the row); "below"
    where the controls above or beside it would be covered.
    """
    position = "bottom_center" if attachment == "below" else "top_center"
    return Tooltip(content=text, position=position, attachment=attachment, stylesheets=[TIP_CSS])


class WorkProgress(pn.viewable.Viewer):
    """A progress bar named by what it does, shown only while that work runs.

    Set ``visible`` when the work starts and stops, ``value`` (0-100) as it goes.  Plain HTML
    (a ``<progress>`` inside its ``<label>``), so screen readers hear the name too.
    """

    value = param.Integer(default=0, bounds=(0, 100), doc="Percent done.")
    visible = param.Boolean(default=False, doc="Whether the work is running.")

    def __init__(self, label: str, **params):
        super().__init__(**params)
        self.label = label
        self._pane = pn.pane.HTML(
            self._html(), visible=self.visible, css_classes=["work-progress"], margin=(4, 8)
        )
        self.param.watch(self._show, ["value", "visible"])

    def _html(self) -> str:
        return (
            f'<label class="progress-label">{html.escape(self.label)} '
            f'<progress max="100" value="{self.value}">{self.value} %</progress></label>'
        )

    def _show(self, *_events) -> None:
        with pn.io.hold():
            self._pane.object = self._html()
            self._pane.visible = self.visible

    def __panel__(self) -> pn.pane.HTML:
        return self._pane


def _bounds(p: param.Parameter) -> tuple[float | None, float | None]:
    return getattr(p, "bounds", None) or (None, None)


UNPRINTABLE = "\ufffd"


def as_text(raw: Any) -> str:
    """``str(raw)`` for an untrusted value, never raising.

    A value whose ``str()`` fails (a 5000-digit int raises ValueError) gives
    :data:`UNPRINTABLE`, which matches no number, choice or pattern.  Subclasses that check
    a value's text themselves should use this rather than ``str()``.
    """
    if isinstance(raw, str):
        return raw
    try:
        return str(raw)
    except Exception:
        return UNPRINTABLE


def coerce(p: param.Parameter, raw: Any) -> tuple[Any, str | None, bool]:
    """Turn an untrusted value for parameter ``p`` into a safe one.

    Returns
    -------
    value : object
        The value to set (meaningful only when ``ok``).
    message : str or None
        What was changed or why the value was refused, for the reader.
    ok : bool
        False when the value is refused (the current value stays).
    """
    name = p.name
    text = as_text(raw)
    if text == UNPRINTABLE:
        return None, f"“{name}” is not a usable value; ignored.", False
    if len(text) > MAX_RAW_LENGTH:
        return None, f"“{name}” was too long to be a real value; ignored.", False
    text = text.strip()
    shown = html.escape(text[:24])
    if isinstance(p, param.Boolean):
        low = text.lower()
        if low in _TRUE:
            return True, None, True
        if low in _FALSE:
            return False, None, True
        return None, f"“{name}” must be yes/no, not “{shown}”; ignored.", False
    if isinstance(p, param.Number):  # Integer is a Number too
        try:
            value = float(text)
        except ValueError:
            return None, f"“{name}” must be a number, not “{shown}”; ignored.", False
        if not math.isfinite(value):
            return None, f"“{name}” must be a finite number, not “{shown}”; ignored.", False
        msg = None
        if isinstance(p, param.Integer):
            value = round(value)
        lo, hi = _bounds(p)
        if lo is not None and value < lo:
            value, msg = lo, f"“{name}” = {shown} is below the smallest allowed value; using {lo}."
        elif hi is not None and value > hi:
            value, msg = hi, f"“{name}” = {shown} is above the largest allowed value; using {hi}."
        return (int(value) if isinstance(p, param.Integer) else value), msg, True
    if isinstance(p, param.Selector):
        objects = list(p.objects.values()) if isinstance(p.objects, dict) else list(p.objects)
        for obj in objects:
            if str(obj) == text:
                return obj, None, True
        choices = ", ".join(str(o) for o in objects)
        return None, f"“{name}” must be one of {choices}, not “{shown}”; ignored.", False
    if isinstance(p, param.String):
        return text, None, True
    return None, f"“{name}” cannot be set from a link; ignored.", False


class Section(pn.viewable.Viewer):
    """Base class of every section (see the module docstring)."""

    key: ClassVar[str] = "section"
    title: ClassVar[str] = ""
    url_params: ClassVar[tuple[str, ...]] = ()
    # For text parameters with a ``regex``: how to describe the expected form to a reader
    # whose link gets it wrong ("nine 0/1 digits ...").
    text_formats: ClassVar[dict[str, str]] = {}

    @staticmethod
    def clock() -> float:
        """Seconds on a monotonic clock, for every cadence a section keeps (tests set
        ``section.clock`` to a clock of their own instead of sleeping)."""
        return time.monotonic()

    embed = param.Boolean(default=False, doc="Hide the prose and show only the widget.")

    def __init__(self, **params):
        super().__init__(**params)
        self.heading = "h2"  # "h1" where the section is the whole page
        self._layout: pn.Column | None = None
        # Made only when first needed (most readers never see either): every pane is a model
        # each session holds.
        self._notice_pane: pn.pane.Alert | None = None
        self._embed_code_pane: pn.pane.HTML | None = None
        self._body: Any = None
        # Everything embed mode hides (title, prose, Embed button) and the link it shows.
        self._embed_hidden: list[list] = []
        self._full_link: pn.pane.HTML | None = None
        #: Set by the story page: moving a control then also points the URL's #anchor here.
        self.in_story = False

    # -- public hooks (tests, notebooks) ------------------------------------------------
    def source(self, name: str):
        """The section's Bokeh data source called ``name`` (the names browser tests use)."""
        for pane in self.__panel__().select(pn.pane.Bokeh):
            found = pane.object.select_one({"name": name}) if pane.object is not None else None
            if found is not None:
                return found
        raise KeyError(f"{self.key} has no data source named {name!r}")

    @property
    def notice(self) -> str:
        """The messages about refused or clamped values now shown ("" when none)."""
        pane = self._notice_pane
        return pane.object if pane is not None and pane.visible else ""

    def _insert(self, obj: Any, before: Any) -> None:
        """Put ``obj`` into the built layout just before ``before`` (at the end if absent)."""
        if self._layout is None:
            return
        objects = list(self._layout.objects)
        at = next((i for i, o in enumerate(objects) if o is before), len(objects))
        self._layout.insert(at, obj)

    @property
    def _notice(self) -> pn.pane.Alert:
        """The message area, above the body, made with the first message."""
        if self._notice_pane is None:
            self._notice_pane = pn.pane.Alert(
                "", alert_type="warning", visible=False, margin=(4, 0)
            )
            self._insert(self._notice_pane, self._body)
        return self._notice_pane

    @property
    def _embed_code(self) -> pn.pane.HTML:
        """The iframe snippet's pane, after the Embed button, made on its first press."""
        if self._embed_code_pane is None:
            pane = pn.pane.HTML("", visible=False, margin=(4, 0))
            self._embed_code_pane = self.hide_when_embedded(pane)
            self._insert(pane, self._full_link)
        return self._embed_code_pane

    def shown_text(self) -> str:
        """The text of every visible text pane, in layout order: what a reader can read."""
        kinds = (pn.pane.HTML, pn.pane.Markdown, pn.pane.Alert, pn.pane.LaTeX)
        panes = self.__panel__().select(lambda o: isinstance(o, kinds) and o.visible)
        return "\n".join(str(pane.object) for pane in panes)

    # -- to implement ------------------------------------------------------------------
    @staticmethod
    def _button(label: str, action, description: str | None = None, **kw) -> pn.widgets.Button:
        """A button that calls ``action(event)`` when pressed.

        Give a ``description`` only where the label needs one: each adds a tooltip model to
        the page, and every model in the document costs a little in each session.
        """
        tooltip = tip(description) if description else None
        b = pn.widgets.Button(label=label, description=tooltip, **kw)
        b.on_click(action)
        return b

    def _other_seed(self) -> int:
        """A random seed in [0, 2^31) other than the current ``seed``, for the "New seed"
        buttons: a click must always change something."""
        seed = self.seed
        while seed == self.seed:
            seed = secrets.randbelow(2**31)
        return seed

    def body(self) -> pn.viewable.Viewable:
        """The interactive part: controls, plots, readouts."""
        raise NotImplementedError

    # -- validation and the URL ----------------------------------------------------------
    def apply_values(self, raw: dict[str, Any], source: str = "link") -> list[str]:
        """Validate and apply untrusted values (from a URL, a test, a script).

        Unknown names and bad values are refused, out-of-range numbers clamped; every such
        case gives one message, shown to the reader and returned.  Never raises.
        """
        messages: list[str] = []
        good: dict[str, Any] = {}
        allowed = set(self.url_params) | {"embed"}
        for name, value in raw.items():
            if name not in allowed:
                shown = html.escape(str(name)[:24])
                messages.append(f"The {source} mentions “{shown}”, which this section lacks.")
                continue
            problem = self._text_form_problem(name, value)
            if problem:
                messages.append(problem)
                continue
            value, msg, ok = coerce(self.param[name], value)
            if msg:
                messages.append(msg)
            if ok:
                good[name] = value
        if good:
            try:
                self.param.update(**good)
            except Exception as exc:  # a value that passed coercion but a watcher refused
                report_exception(exc, f"the {self.key} section")
                messages.append(f"Some values from the {source} could not be applied.")
        self.show_messages(messages)
        return messages

    def _text_form_problem(self, name: str, value: Any) -> str:
        """A clear message when a text parameter's value lacks its required form, else "".

        Checked before :func:`coerce` so the reader learns what the form is, not merely
        that the value was refused.
        """
        p = self.param[name]
        if not isinstance(p, param.String) or not p.regex:
            return ""
        text = as_text(value)[: MAX_RAW_LENGTH + 1].strip()
        if re.fullmatch(p.regex, text):
            return ""
        what = self.text_formats.get(name, f"text of the form {p.regex}")
        return f"“{name}” must be {what}, not “{html.escape(text[:24])}”; ignored."

    def show_messages(self, messages: list[str]) -> None:
        if not messages:
            return
        self._notice.object = "<br>".join(messages)
        self._notice.visible = True
        for m in messages:
            notify(m)

    def query(self) -> dict[str, str]:
        """The section's state as query-string pairs (``<key>.<param>`` → text)."""
        out = {}
        for name in self.url_params:
            v = getattr(self, name)
            if isinstance(v, float | np.floating):
                v = f"{float(v):.6g}"
            elif isinstance(v, bool):
                v = "1" if v else "0"
            out[f"{self.key}.{name}"] = str(v)
        return out

    def bind_url(self, args: dict[str, list[bytes]] | None = None) -> None:
        """Restore state from the page's query string and keep the query string in step."""
        if args is None:
            args = pn.state.session_args if pn.state.curdoc is not None else {}
        prefix = f"{self.key}."
        raw = {}
        for k, values in (args or {}).items():
            if k.startswith(prefix) and values:
                v = values[-1]
                raw[k[len(prefix) :]] = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
        if raw:
            self.apply_values(raw)
        if pn.state.location is not None and self.url_params:
            self.param.watch(self._push_query, list(self.url_params))

    def _push_query(self, *_events) -> None:
        loc = pn.state.location
        if loc is None:
            return
        with pn.io.hold():
            loc.update_query(**self.query())
            # On the story page a shared link should open where the reader was working.
            if self.in_story and not self.embed:
                loc.hash = f"#{self.key}"

    # -- embedding -----------------------------------------------------------------------
    def embed_snippet(self, origin: str = "") -> str:
        """An iframe snippet showing this section alone, in its current state.

        The page in the frame posts its content height (``static/embed.js``); the snippet's
        few lines of script take it only from that frame's window and the app's origin and
        size the frame to fit, so the reader sees the whole widget without an inner
        scrollbar.  Where a course site strips scripts, the frame keeps a height measured
        for this section.
        """
        qs = urlencode({**self.query(), "embed": "1"})
        src = f"{origin}/{self.key}?{qs}"
        return (
            f'<iframe src="{html.escape(src)}" title="{html.escape(self.title)}" '
            f'width="100%" height="{self.embed_height()}" style="border:0;display:block" '
            'loading="lazy"></iframe>\n' + EMBED_RECEIVER
        )

    @classmethod
    def embed_height(cls) -> int:
        """The frame height (px) the snippet falls back to without script: this section's
        measured height in embed mode in a wide column, rounded up."""
        from .site.lazy import DEFAULT_HEIGHTS, SECTION_HEIGHTS

        wide = SECTION_HEIGHTS.get(cls.key, DEFAULT_HEIGHTS)[True][0]
        return -(-wide // 20) * 20

    def _origin(self) -> str:
        loc = pn.state.location
        if loc is None or not loc.hostname:
            return "http://localhost:5006"
        port = f":{loc.port}" if loc.port else ""
        return f"{loc.protocol}//{loc.hostname}{port}"

    def _toggle_embed_code(self, _event=None) -> None:
        if self._embed_code_pane is not None and self._embed_code_pane.visible:
            self._embed_code.visible = False
            return
        snippet = self.embed_snippet(self._origin())
        self._embed_code.object = (
            "<p style='margin:.2em 0'>Copy this into a course page to show this section, "
            "as it is now, without the text around it. The frame grows to fit the "
            "section.</p>"
            f"<textarea readonly rows='5' style='width:100%;font-family:monospace'"
            f" aria-label='iframe snippet'>{html.escape(snippet)}</textarea>"
            f"<p class='framing' style='margin:.2em 0'>{framing_note()}</p>"
        )
        self._embed_code.visible = True

    def _full_link_pane(self) -> pn.pane.HTML:
        """The small link an embedded section shows to its place in the full story."""
        href = f"./?{urlencode(self.query())}#{self.key}"
        return pn.pane.HTML(
            f'<p class="full-story"><a href="{html.escape(href)}" target="_blank" '
            f'rel="noopener" onclick="return explainerFullStory(this, \'{self.key}\')">'
            "Open the full explanation ↗</a></p>",
            stylesheets=[FULL_LINK_CSS],
            align="end",
            margin=(0, 4),
        )

    def _show_embedded(self, *_events) -> None:
        for entry in self._embed_hidden:
            self._embed_one(entry)
        if self.embed and self._full_link is None and self._layout is not None:
            self._full_link = self._full_link_pane()
            self._layout.append(self._full_link)
        if self._full_link is not None:
            self._full_link.visible = self.embed

    def _embed_one(self, entry: list) -> None:
        # entry = [obj, its own visibility while hidden by embed mode, or None]
        obj, kept = entry
        if self.embed and kept is None:
            entry[1] = obj.visible
            obj.visible = False
        elif not self.embed and kept is not None:
            obj.visible = kept
            entry[1] = None

    def hide_when_embedded(self, obj: Any) -> Any:
        """Hide ``obj`` while the section is embedded (``?embed=1``); returns ``obj``.

        For prose, pictures and notes a section puts inside :meth:`body`: embed mode shows
        the widget only.  Leaving embed mode gives ``obj`` back the visibility it had.
        """
        entry = [obj, None]
        self._embed_hidden.append(entry)
        self._embed_one(entry)
        return obj

    def prose_pane(self, part: str, default: str | None = None, **values: object):
        """A Markdown pane showing part ``part`` of ``explainers/content/<key>.md`` (with
        ``{name}`` placeholders filled from ``values``), hidden in embed mode.

        Update its text later with ``pane.object = self.text(part, **new_values)``.
        """
        pane = pn.pane.Markdown(
            self.text(part, default, **values), stylesheets=[PROSE_CSS], margin=(0, 0)
        )
        return self.hide_when_embedded(pane)

    # -- layout --------------------------------------------------------------------------
    @classmethod
    def text(cls, name: str, default: str | None = None, **values: object) -> str:
        """Part ``name`` of this section's prose file, ``explainers/content/<key>.md``."""
        return _prose.text(cls.key, name, default, **values)

    def standard_part(self, name: str) -> str:
        """The text of ``intro``, ``formula`` or ``try_this`` shown above the section;
        a section whose part quotes live values overrides this to fill them in."""
        return self.text(name, "")

    def prose_parts(self, title: str = "") -> list[pn.viewable.Viewable]:
        """The title (HTML, if given), intro, formula and "Try this" in as few panes as they
        allow: the title and the intro in one Markdown pane; the formula and "Try this" in one
        KaTeX pane, which renders the HTML after its ``$$`` too."""
        intro, formula, try_this = (self.standard_part(n) for n in ("intro", "formula", "try_this"))
        try_html = f'<p class="try"><b>Try this:</b> {try_this}</p>' if try_this else ""
        head = f"{title}\n\n{intro}" if title else intro
        if try_html and not formula:
            head = f"{head}\n\n{try_html}"
        css = ["assets/article.css", PROSE_CSS] if title else [PROSE_CSS]
        margin = (16, 0, 0, 0) if title else (0, 0)
        parts: list[Any] = [pn.pane.Markdown(head, stylesheets=css, margin=margin)]
        if formula:
            parts.append(
                pn.pane.LaTeX(
                    f"$${formula}$${try_html}",
                    renderer="katex",
                    sizing_mode="stretch_width",
                    stylesheets=[KATEX_CSS, FORMULA_CSS, PROSE_CSS],
                )
            )
        return parts

    def prose(self) -> pn.Column:
        return pn.Column(*self.prose_parts(), sizing_mode="stretch_width", margin=0)

    def __panel__(self) -> pn.Column:
        if self._layout is not None:
            return self._layout
        try:
            body = self.body()
        except Exception as exc:  # a broken section must not take the page down
            report_exception(exc, f"building the {self.key} section")
            body = pn.pane.Alert(f"This section failed to load: {exc}", alert_type="danger")
        if isinstance(body, pn.Column):
            body.stylesheets = [*body.stylesheets, BODY_CSS]
            body.css_classes = [*body.css_classes, "explainer-body"]
        self._body = body
        # The title and prose sit directly in the section's column (no column of their own:
        # one model fewer per session) and hide together in embed mode, with the Embed button.
        title = (
            f'<{self.heading} id="{self.key}" class="section-title">'
            f"{html.escape(self.title)}</{self.heading}>"
        )
        prose = self.prose_parts(title)
        embed_button = self._button(
            "Embed",
            self._toggle_embed_code,
            "Show an iframe snippet",
            color="light",
            width=80,
            align="end",
        )
        for obj in (*prose, embed_button):
            self.hide_when_embedded(obj)
        self._full_link = self._full_link_pane() if self.embed else None
        self.param.watch(self._show_embedded, "embed")
        self._layout = pn.Column(
            *prose,
            *([self._notice_pane] if self._notice_pane is not None else []),
            body,
            embed_button,
            *([self._embed_code_pane] if self._embed_code_pane is not None else []),
            *([self._full_link] if self._full_link is not None else []),
            css_classes=["explainer-section", f"explainer-{self.key}"],
            sizing_mode="stretch_width",
            margin=(0, 0, 24, 0),
        )
        return self._layout
