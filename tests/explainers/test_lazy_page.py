"""Server side of the lazy story page: which sections are built at once, and the slot that
builds the others when the browser asks (no browser here)."""

from __future__ import annotations

import re

import panel as pn
import pytest

from explainers.site import lazy, page
from explainers.site.lazy import (
    SectionPlaceholder,
    build_when_wanted,
    eager_sections,
    height_css,
    lazy_section,
)

KEYS = list(page.SECTIONS)


@pytest.mark.parametrize(
    ("args", "eager"),
    [
        ({}, ["hopfield"]),
        ({"embed": [b"1"], "theme": [b"dark"], "bogus": [b"1"]}, ["hopfield"]),
        ({"rbm.lr": [b"0.1"]}, ["hopfield", "rbm"]),
        # Story order, whatever the order of the query string; each section once.
        ({"rbm.k": [b"2"], "ising.L": [b"8"], "rbm.lr": [b"0.1"]}, ["hopfield", "ising", "rbm"]),
        # A bad value or unknown name still means "show this section's message at once".
        (
            {"capacity.n": [b"\x00"], "learning.nonsense": [b"1"]},
            ["hopfield", "capacity", "learning"],
        ),
        # Names that only look like a section's are not one.
        ({"rbm": [b"1"], "rbms.lr": [b"1"], ".lr": [b"1"], "RBM.lr": [b"1"]}, ["hopfield"]),
        ({"hopfield.temperature": [b"1"]}, ["hopfield"]),
    ],
)
def test_eager_sections_are_the_first_and_those_the_link_names(args, eager):
    assert eager_sections(KEYS, args) == eager


def test_eager_sections_when_the_first_section_is_missing():
    # If the first module failed to import, the first available section leads instead.
    assert eager_sections(KEYS[1:], {}) == [KEYS[1]]
    assert eager_sections([], {"rbm.lr": [b"1"]}) == []


def _height_at(css: str, viewport_px: float) -> float:
    """Evaluate a ``clamp(lo, calc(A - Bvw), hi)`` length for a viewport width."""
    lo, a, b, hi = (
        float(x)
        for x in re.fullmatch(
            r"clamp\(([\d.]+)px, calc\(([\d.]+)px - ([\d.]+)vw\), ([\d.]+)px\)", css
        ).groups()
    )
    return min(max(a - b * viewport_px / 100, lo), hi)


def test_placeholder_height_is_the_measured_one_at_both_widths_and_between():
    css = height_css(1000, 1850)
    assert _height_at(css, lazy.WIDE_PX) == pytest.approx(1000, abs=1)
    assert _height_at(css, lazy.PHONE_PX) == pytest.approx(1850, abs=1)
    assert _height_at(css, 1600) == pytest.approx(1000, abs=1)  # clamped on wide screens
    assert _height_at(css, 320) == pytest.approx(1850, abs=1)  # and on tiny ones
    middle = (lazy.WIDE_PX + lazy.PHONE_PX) / 2
    assert _height_at(css, middle) == pytest.approx(1425, abs=1)


def test_every_section_has_height_estimates():
    assert set(lazy.SECTION_HEIGHTS) == set(page.SECTIONS)
    for heights in lazy.SECTION_HEIGHTS.values():
        for embed in (False, True):
            wide, narrow = heights[embed]
            assert 300 < wide <= narrow  # a narrow column wraps onto more lines
        assert heights[True][0] < heights[False][0]  # embed mode hides the prose


class _Built(pn.viewable.Viewer):
    def __panel__(self):
        return pn.pane.Markdown("built")


def test_a_lazy_section_is_built_once_when_the_browser_wants_it():
    calls = []

    def build():
        calls.append(1)
        return _Built()

    placeholder = lazy_section("rbm", "The restricted machine", build)
    slot = build_when_wanted(pn.Column("above", placeholder, "below"))
    assert isinstance(placeholder, SectionPlaceholder)
    assert (placeholder.key, placeholder.title) == ("rbm", "The restricted machine")
    assert calls == []
    placeholder.wanted = True  # what the browser sends when the reader comes near
    assert calls == [1]
    # The section's layout took the placeholder's place, and nothing else moved.
    assert [getattr(o, "object", None) for o in slot.objects] == ["above", "built", "below"]
    placeholder.wanted = False
    placeholder.wanted = True  # a client repeating itself builds nothing more
    assert calls == [1] and len(slot.objects) == 3


def test_a_section_that_fails_to_build_is_reported_and_the_placeholder_says_so(monkeypatch):
    reported = []
    monkeypatch.setattr(lazy, "report_exception", lambda exc, where: reported.append(where))

    def build():
        raise RuntimeError("boom")

    placeholder = lazy_section("ising", "A magnet", build)
    slot = build_when_wanted(pn.Column(placeholder))
    placeholder.wanted = True
    assert reported == ["building the ising section"]
    assert placeholder.failed and slot.objects == [placeholder]


def test_embed_mode_gives_shorter_placeholders():
    full = lazy_section("rbm", "t", _Built).heights[0]
    embedded = lazy_section("rbm", "t", _Built, embed=True).heights[0]
    assert _height_at(embedded, 1000) < _height_at(full, 1000)


def test_story_page_builds_the_first_section_and_those_in_the_link(monkeypatch):
    monkeypatch.setattr(page, "_session_args", lambda: {"rbm.lr": [b"0.2"]})
    built: list[str] = []
    real_build = page.build_section

    def counting_build(key):
        built.append(key)
        return real_build(key)

    monkeypatch.setattr(page, "build_section", counting_build)
    story = page.story_page()
    assert built == ["hopfield", "rbm"]
    placeholders = [obj for obj in story.objects if isinstance(obj, SectionPlaceholder)]
    # The run between them shares two placeholders: its upper half, built from the top as
    # the reader scrolls down, and its lower half, built from the bottom.
    rest = [k for k in KEYS if k not in ("hopfield", "rbm")]
    assert [p.keys for p in placeholders] == [rest[:4], rest[4:]]
    # The reader scrolls down to the run: its first section is built then, and only it.
    placeholders[0].wanted = True
    assert built == ["hopfield", "rbm", rest[0]]
    assert placeholders[0] not in story.objects
    # The reader scrolls up from rbm: the section just above it.
    placeholders[1].wanted = True
    assert built == ["hopfield", "rbm", rest[0], rest[-1]]
    left = [p.keys for p in story.objects if isinstance(p, SectionPlaceholder)]
    assert left == [rest[1:4], rest[4:-1]]


def _run_of(keys, calls):
    def build(key):
        calls.append(key)
        if key == "broken":
            raise RuntimeError("boom")
        return _Built()

    return lazy.lazy_sections([(k, k.title(), lambda k=k: build(k)) for k in keys])


def test_a_run_builds_the_section_its_anchor_names_and_keeps_the_rest(monkeypatch):
    calls: list[str] = []
    keys = ["a", "b", "c", "d", "e"]
    parts = _run_of(keys, calls)
    assert [p.keys for p in parts] == [["a", "b", "c"], ["d", "e"]]
    slot = build_when_wanted(pn.Column("top", *parts, "end"))
    monkeypatch.setattr(lazy, "_anchor", lambda: "b")  # a contents link or a link's #b
    parts[0].wanted = True
    assert calls == ["b"]
    shown = [o.keys if isinstance(o, SectionPlaceholder) else o.object for o in slot.objects]
    # "a" sits between two things a reader can come from: it keeps a placeholder of its own
    assert shown == ["top", ["a"], "built", ["c"], ["d", "e"], "end"]


def test_a_section_of_a_run_that_fails_says_so_alone(monkeypatch):
    monkeypatch.setattr(lazy, "report_exception", lambda exc, where: None)
    calls: list[str] = []
    parts = _run_of(["broken", "b", "c"], calls)
    slot = build_when_wanted(pn.Column(*parts))
    parts[0].wanted = True
    assert calls == ["broken"]
    after = [o for o in slot.objects if isinstance(o, SectionPlaceholder)]
    assert [(p.keys, p.failed) for p in after] == [
        (["broken"], True),
        (["b"], False),
        (["c"], False),
    ]
