"""Embedding without a browser: the self-sizing snippet, the framing note, the widget-only
embed mode (``prose_pane``, ``hide_when_embedded``, the link to the full story), and the
example course page's snippets being exactly what the Embed button writes."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlsplit

import panel as pn
import param
import pytest

from explainers.section import EMBED_RECEIVER, Section, framing_note
from explainers.site import lazy, serving
from explainers.site.page import available_sections, section_class
from tests.conftest import ROOT


class Toy(Section):
    key = "toy"
    title = "Toy"
    url_params = ("temperature",)
    prose = {"intro": "An intro.", "try_this": "press it."}  # a toy has no content file

    temperature = param.Number(default=1.0, bounds=(0.05, 10.0))

    def standard_part(self, name):
        return self.prose.get(name, "")

    def body(self):
        self.note = self.prose_pane("note", default="A note beside the widget.")
        self.picture = self.hide_when_embedded(pn.pane.HTML("<svg></svg>"))
        return pn.Column(self.note, pn.widgets.Button(label="Run"), self.picture)


def _visible_text(layout) -> str:
    out = []
    for obj in layout.objects:
        if obj.visible:
            out.append(str(getattr(obj, "object", "")) + str(getattr(obj, "label", "")))
    return " ".join(out)


def test_snippet_sizes_itself_and_falls_back_to_a_measured_height():
    snippet = Toy(temperature=0.3).embed_snippet("https://explainer.example.org")
    iframe, script = snippet.split("\n")
    assert iframe.startswith("<iframe") and iframe.endswith("</iframe>")
    src = html.unescape(re.search(r'src="([^"]+)"', iframe)[1])
    assert src.startswith("https://explainer.example.org/toy?")
    assert dict(parse_qsl(urlsplit(src).query, keep_blank_values=True)) == {
        "toy.temperature": "0.3",
        "embed": "1",
    }
    assert script == EMBED_RECEIVER
    # The receiver takes heights only from its own frame's window and the app's origin.
    assert "e.source===f.contentWindow" in script
    assert "e.origin===new URL(f.src,location.href).origin" in script
    assert "document.currentScript.previousElementSibling" in script


@pytest.mark.parametrize("key", available_sections())
def test_fallback_height_fits_each_section_in_embed_mode(key):
    height = section_class(key).embed_height()
    measured = lazy.SECTION_HEIGHTS.get(key, lazy.DEFAULT_HEIGHTS)[True][0]
    assert measured <= height < measured + 20


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("", "Other sites cannot show this yet"),
        ("'self'", "Other sites cannot show this yet"),
        ("'none'", "refuses to be shown in any frame"),
        ("*", "Any site may show"),
        ("'self' https://course.example.org", "https://course.example.org"),
    ],
)
def test_framing_note_follows_the_servers_setting(monkeypatch, setting, says):
    monkeypatch.setenv("EXPLAINER_FRAME_ANCESTORS", setting)
    monkeypatch.setattr(serving, "_serving_frame_ancestors", None)  # no server started here
    note = framing_note()
    assert says in note
    assert "EXPLAINER_FRAME_ANCESTORS" in note


def test_framing_note_reports_the_running_servers_setting(monkeypatch):
    monkeypatch.setenv("EXPLAINER_FRAME_ANCESTORS", "'self'")
    monkeypatch.setattr(serving, "_serving_frame_ancestors", ["https://lms.example.edu"])
    assert "https://lms.example.edu" in framing_note()


def test_embed_panel_shows_snippet_and_framing_note():
    toy = Toy()
    toy.__panel__()
    (button,) = [b for b in toy.__panel__().select(pn.widgets.Button) if b.label == "Embed"]
    button.clicks += 1  # as a click does
    shown = toy.shown_text()
    assert "&lt;iframe" in shown and "EXPLAINER_FRAME_ANCESTORS" in shown


def test_embed_mode_shows_the_widget_only_with_a_link_to_the_story():
    toy = Toy(temperature=0.5)
    layout = toy.__panel__()
    before = _visible_text(layout)
    assert "Toy" in before and "An intro." in before and "Embed" in before
    assert toy.note.visible and toy.picture.visible
    assert "A note beside the widget." in toy.note.object
    toy.embed = True
    after = _visible_text(layout)
    for gone in ("Toy</h2>", "An intro.", "press it.", "Embed"):
        assert gone not in after, gone
    assert not toy.note.visible and not toy.picture.visible
    assert "Open the full explanation" in after
    assert "./?toy.temperature=0.5#toy" in after
    toy.embed = False
    assert toy.note.visible and "Open the full explanation" not in _visible_text(layout)


def test_a_section_built_embedded_hides_its_prose_from_the_start():
    toy = Toy(embed=True)
    layout = toy.__panel__()
    assert not toy.note.visible
    text = _visible_text(layout)
    assert "An intro." not in text and "Open the full explanation" in text


def test_leaving_embed_mode_gives_back_each_panes_own_visibility():
    toy = Toy()
    toy.__panel__()
    answer = toy.hide_when_embedded(pn.pane.HTML("the answer", visible=False))
    assert not answer.visible  # not shown by being registered
    toy.embed = True
    assert not answer.visible and not toy.note.visible
    toy.embed = False
    assert not answer.visible  # still the section's to reveal
    assert toy.note.visible


def test_course_page_snippets_are_what_the_embed_button_writes():
    page = (ROOT / "docs" / "course-page.html").read_text()
    pairs = re.findall(r"(<iframe [^>]*></iframe>)\n(<script>.*?</script>)", page)
    assert len(pairs) == 2
    for iframe, script in pairs:
        src = html.unescape(re.search(r'src="([^"]+)"', iframe)[1])
        parts = urlsplit(src)
        key = parts.path.strip("/")
        values = {
            k.split(".", 1)[1]: v
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.startswith(f"{key}.")
        }
        section = section_class(key)()
        assert section.apply_values(values) == []
        origin = f"{parts.scheme}://{parts.netloc}"
        assert f"{iframe}\n{script}" == section.embed_snippet(origin)


def test_every_route_has_a_title_even_a_broken_sections(monkeypatch):
    from explainers.site import page

    monkeypatch.setitem(page.SECTIONS, "broken", "explainers.no_such_module:Nothing")
    titles = page.titles()
    assert set(titles) == set(page.routes())
    assert titles["/broken"] == page.TITLE
    assert titles["/hopfield"] == f"{section_class('hopfield').title} · {page.TITLE}"
