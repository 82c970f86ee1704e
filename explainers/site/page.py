"""The story page (every section in order) and one page per section, for iframes.

Every visitor gets freshly built objects: serving a shared object would share its state
across the whole class.  The story page a GET returns holds placeholders only; its first
section and those its link carries state for are built once the browser has it, the others
as the reader comes near them (see lazy.py).
"""

from __future__ import annotations

import html
import importlib
import logging
from collections.abc import Callable

import panel as pn

from .. import frames, meter
from ..animation import report_exception
from ..conventions import NOTE_CSS, note_markdown
from ..section import PROSE_CSS, Section
from ..summary import summary
from .lazy import build_when_wanted, eager_sections, lazy_section, lazy_sections
from .serving import STATIC_DIR as STATIC  # noqa: F401 (kept for callers of page.STATIC)
from .serving import TITLE

log = logging.getLogger("explainers")


# Story order: memory, how much fits, temperature, probability, the physics, annealing,
# learning, and the restricted machine that makes learning cheap.
SECTIONS: dict[str, str] = {
    "hopfield": "explainers.hopfield:HopfieldGrid",
    "capacity": "explainers.capacity:Capacity",
    "modern": "explainers.modern:ModernHopfield",
    "sigmoid": "explainers.sigmoid:StochasticNeuron",
    "distribution": "explainers.distribution:BoltzmannDistribution",
    "ising": "explainers.ising:SpinLattice",
    "annealing": "explainers.annealing:Annealing",
    "learning": "explainers.learning:BoltzmannLearning",
    "rbm": "explainers.rbm:RBMTrainer",
}

THEMES = {
    "default": {
        "--explainer-ink": "#1f2330",
        "--explainer-paper": "#fbf9f4",
        "--explainer-muted": "#5d6270",
        "--explainer-link": "#1d5a8f",
        "--explainer-accent": "#d1495b",
        "--explainer-tint": "rgba(209, 73, 91, 0.07)",
        "--explainer-focus": "#1d5a8f",
    },
    "dark": {
        "--explainer-ink": "#e8e6e1",
        "--explainer-paper": "#15171c",
        "--explainer-muted": "#a5a9b3",
        "--explainer-link": "#8cc4f2",
        "--explainer-accent": "#ef7a88",
        "--explainer-tint": "rgba(239, 122, 136, 0.10)",
        "--explainer-focus": "#ffd166",
    },
}

_configured = False

# Every page declares a viewport, so a phone lays it out at its own width instead of showing
# a 980 px desktop page shrunk to fit.  Set as Bokeh's public ``Document.template``; Panel
# makes a template given as text extend its own page template.
PAGE_TEMPLATE = """{% block postamble %}
<meta name="viewport" content="width=device-width, initial-scale=1">
{% endblock %}"""


class ReaderDesign(pn.theme.Native):
    """Panel's native design plus static/reader.css in every component's shadow root: focus
    ring, touch-sized controls, toggles that show their state, presentation mode."""

    modifiers = {
        pn.viewable.Viewable: {"stylesheets": [pn.theme.Inherit, "assets/reader.css"]},
        # Widgets are laid out in px by Panel: presentation mode scales them as a whole.
        pn.widgets.Widget: {"stylesheets": [pn.theme.Inherit, "assets/controls.css"]},
    }


def configure() -> None:
    """Load Panel's extensions once per process, route errors to the reader, and add our
    stylesheet and script to the current page."""
    global _configured
    if not _configured:
        pn.extension("katex", notifications=True, design=ReaderDesign)
        pn.config.exception_handler = lambda exc: report_exception(exc)
        meter.install()  # a session's callbacks are paid from its own CPU budget
        _configured = True
    # Set inside a session, Panel keeps these for that session only: add them to each page.
    extra_css = [c for c in PAGE_CSS if c not in pn.config.css_files]
    if extra_css:
        pn.config.css_files = [*pn.config.css_files, *extra_css]
    # The frame's height for the embed snippet; a lost connection made plain, and mended;
    # what widgets leave out for keyboard and screen-reader users (reader.js).
    pn.config.js_files = {
        **pn.config.js_files,
        "explainer": "assets/explainer.js",
        "embed": "assets/embed.js",
        "reconnect": "assets/reconnect.js",
        "reader": "assets/reader.js",
    }
    # reconnect.js's banner says what happened and what comes next; Panel's toast would only
    # repeat its first half.
    pn.config.disconnect_notification = ""


# Document-level stylesheets: the page's own rules and KaTeX's fonts (Chromium ignores
# @font-face rules inside shadow roots, but the family names reach into them).
PAGE_CSS = ["assets/style.css", "assets/katex/katex-fonts.css"]


def section_class(key: str) -> type[Section]:
    module, name = SECTIONS[key].split(":")
    return getattr(importlib.import_module(module), name)


def available_sections() -> list[str]:
    """Keys of the sections whose modules import (all of them, in a finished build)."""
    keys = []
    for key in SECTIONS:
        try:
            section_class(key)
        except (ImportError, AttributeError) as exc:
            log.warning("section %s unavailable: %s", key, exc)
            continue
        keys.append(key)
    return keys


def _theme() -> str:
    return "dark" if pn.config.theme == "dark" else "default"


def _theme_css() -> str:
    variables = {
        "--explainer-serif": "'Iowan Old Style', 'Palatino Linotype', Palatino, Georgia, serif",
        "--explainer-sans": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        **THEMES[_theme()],
    }
    body = "; ".join(f"{k}: {v}" for k, v in variables.items())
    return f":host {{ {body}; }}"


def _session_args() -> dict[str, list[bytes]]:
    return (pn.state.session_args or {}) if pn.state.curdoc is not None else {}


def _embed_requested() -> bool:
    values = _session_args().get("embed") or [b"0"]
    return values[-1] in (b"1", b"true", b"yes")


def _theme_link() -> str:
    other = "default" if _theme() == "dark" else "dark"
    label = "Light page" if other == "default" else "Dark page"
    return (
        f'<a class="theme-toggle" href="?theme={other}" '
        f"onclick=\"return explainerSetTheme('{other}')\">{label}</a>"
    )


NAV_CSS = """
.page-nav { display: flex; flex-wrap: wrap; gap: .3em 1.2em; align-items: baseline;
            font-family: var(--explainer-sans); font-size: .9rem; margin: .2em 0; }
.page-nav a { color: var(--explainer-link); }
.page-nav .theme-toggle { margin-left: auto; }
"""


def page_title(key: str | None = None) -> str:
    """The ``<title>`` of the story page (``key`` None) or of section ``key``'s page."""
    if key is None:
        return TITLE
    return f"{section_class(key).title} · {TITLE}"


def titles() -> dict[str, str]:
    """Route -> ``<title>`` for every route of :func:`routes`, for
    :func:`explainers.site.serving.serve` (a section that fails to import keeps the story's
    title: its page says what went wrong)."""
    available = set(available_sections())
    out = {"/": page_title()}
    for key in SECTIONS:
        out[f"/{key}"] = page_title(key) if key in available else TITLE
    return out


def _section_nav(key: str) -> pn.pane.HTML:
    """The top of a section's own page, in one pane: the presentation-mode switch, and links
    to the story (at this section), the sections before and after it, and the theme."""
    keys = available_sections()
    i = keys.index(key)
    links = [f'<a href="./#{key}">↑ The whole story</a>']
    for label, other, rel in (("Previous", i - 1, "prev"), ("Next", i + 1, "next")):
        if 0 <= other < len(keys):
            name = html.escape(section_class(keys[other]).title)
            shown = "‹ Previous" if rel == "prev" else "Next ›"
            links.append(
                f'<a class="{rel}" href="./{keys[other]}" rel="{rel}" title="{name}" '
                f'aria-label="{label} section: {name}">{shown}</a>'
            )
    links.append(_theme_link())
    return pn.pane.HTML(
        f'{PRESENT_CONTROL}<nav class="page-nav" aria-label="Pages">{"".join(links)}</nav>',
        stylesheets=[NAV_CSS, "assets/article.css"],
        sizing_mode="stretch_width",
        margin=(4, 0, 0, 0),
    )


def _header(keys: list[str], embed: bool = False) -> pn.pane.Markdown:
    """The top of the story page, in one pane (each pane is a model every session holds):
    the presentation-mode switch, the title and contents, and the conventions note."""
    toc = "".join(
        f'<li><a href="#{k}" onclick="return explainerScrollTo(\'{k}\')">'
        f"{html.escape(section_class(k).title)}</a></li>"
        for k in keys
    )
    header = f"""<header class="story-header">
  <div class="kicker">An interactive explainer · {_theme_link()}</div>
  <h1>Boltzmann machines, hands on</h1>
  <p class="dek">From a Hopfield network that remembers by rolling downhill, to neurons
  that gamble, to machines that learn a probability distribution. Every number you see is
  computed live from the state on your screen.</p>
  <nav aria-label="Contents"><ol class="toc">{toc}</ol></nav>
</header>"""
    return pn.pane.Markdown(
        "\n\n".join([*([] if embed else [PRESENT_CONTROL]), header, note_markdown()]),
        stylesheets=["assets/article.css", PROSE_CSS, NOTE_CSS],
        sizing_mode="stretch_width",
        margin=(4, 0, 8, 0),
    )


# The switch into presentation mode (static/reader.js does the switching, and keeps
# ``?present=1`` in the address so the mode survives a reload or a shared link).
PRESENT_CONTROL = (
    '<div class="present-control" style="text-align:right">'
    '<button type="button" class="present-toggle" aria-pressed="false" '
    'onclick="explainerPresent()">Presentation mode</button></div>'
)


def _page(*objects, embed: bool = False) -> pn.Column:
    doc = pn.state.curdoc
    if doc is not None:
        doc.template = PAGE_TEMPLATE
    player = frames.player()  # also the tab-visibility sensor the animators watch
    return pn.Column(
        *objects,
        *([player] if player is not None else []),
        css_classes=["explainer-page", *(["embedded"] if embed else [])],
        stylesheets=[_theme_css(), "assets/article.css"],
        sizing_mode="stretch_width",
        # The column's width and padding follow the screen and presentation mode
        # (static/style.css sets the variables on the document).
        styles={
            "max-width": "var(--explainer-column, 780px)",
            "margin": "0 auto",
            "padding": "0 var(--explainer-gutter, 12px)",
            "box-sizing": "border-box",
        },
    )


def build_section(key: str) -> Section:
    """A fresh section bound to the current session's URL."""
    section = section_class(key)()
    section.bind_url()
    return section


def story_page() -> pn.Column:
    configure()
    keys = available_sections()
    embed = _embed_requested()

    def build(key: str) -> Section:
        section = build_section(key)
        section.embed = embed
        section.in_story = True
        return section

    # Every section starts as a placeholder: the GET that builds this document must stay
    # cheap whatever its link asks for.  The first section and those the link names are
    # built as soon as the browser has the page (lazy.py); the others share placeholders.
    soon = eager_sections(keys, _session_args())
    parts = lazy_sections(
        [(key, section_class(key).title, lambda key=key: build(key)) for key in keys],
        embed=embed,
        soon=soon,
    )
    return build_when_wanted(
        _page(_header(keys, embed), *parts, summary(keys, embed), embed=embed), soon=soon
    )


def section_page(key: str) -> pn.Column:
    configure()
    embed = _embed_requested()

    def build() -> Section:
        section = build_section(key)
        section.heading = "h1"  # the page's one top-level heading
        section.embed = embed
        return section

    # Built after the page loads, off the event loop, as on the story page: however heavy
    # the link's settings, this GET stays cheap for everyone else.
    part = lazy_section(key, section_class(key).title, build, embed=embed, heading="h1")
    return build_when_wanted(
        _page(*([] if embed else [_section_nav(key)]), part, embed=embed), soon=[key]
    )


def routes() -> dict[str, Callable[[], pn.viewable.Viewable]]:
    """Map URL path -> function building a fresh page for each visitor."""
    # Outside any session, so the settings are the process's: set inside a session, Panel
    # keeps most of them (notifications, exception handler, script files) for that session.
    configure()
    out: dict[str, Callable[[], pn.viewable.Viewable]] = {"/": story_page}
    for key in SECTIONS:
        out[f"/{key}"] = lambda key=key: section_page(key)
    return out
