"""Every reader, every screen (issue 12): axe-core on every page in both themes, phone and
projector layouts, keyboard-only use of every section, typeset maths, toggles, tooltips."""

from __future__ import annotations

import pytest

from explainers.site.page import SECTIONS

from .a11y import active_element, axe_violations, deep_map, layout
from .helpers import changes, collect_console_errors, start_counting_changes, wait_until

pytestmark = pytest.mark.browser

PAGES = ["/", *(f"/{key}" for key in SECTIONS)]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
PROJECTOR = {"viewport": {"width": 1920, "height": 1080}}

# What a keyboard user presses first in each section, and how its label reads afterwards
# (None: the label stays; the test then watches the named source change instead).
MAIN_BUTTONS: dict[str, tuple[str, str | None, str | None]] = {
    "hopfield": ("Run", "Pause", None),
    "distribution": ("Sample", None, "distribution-samples"),
    "ising": ("Run", "Pause", None),
    "annealing": ("Run one descent", None, None),
    "learning": ("Train", "Pause", None),
    "rbm": ("Train", "Pause", None),
}


def _wait_ready(page) -> None:
    """Until every Bokeh document is idle and static/reader.js has patched the page twice
    (the second pass sees views that rendered after the first)."""
    page.wait_for_function(
        "() => window.Bokeh && Bokeh.documents.length > 0 && "
        "Bokeh.documents.every(d => d.is_idle) && "
        "Number(document.documentElement.dataset.readerPatched || 0) >= 2",
        timeout=90_000,
    )
    page.evaluate("() => explainerReader.patch()")


def _open(page, url: str) -> list[str]:
    errors = collect_console_errors(page)
    page.goto(url)
    page.locator(".explainer-section").first.wait_for(timeout=90_000)
    _wait_ready(page)
    return errors


def _prose_sizes(page) -> list[float]:
    """Font sizes in px of the paragraphs of the sections' Markdown prose (0 for others)."""
    return deep_map(
        page,
        "p",
        "(el) => el.getRootNode().host && el.getRootNode().host.classList.contains('markdown')"
        " ? parseFloat(getComputedStyle(el).fontSize) : 0",
    )


def _describe(violations: list[dict]) -> str:
    return "\n".join(
        f"{v['impact']} {v['id']} ({v['count']}): {v['help']}; e.g. {v['nodes'][0]['target']}"
        for v in violations
    )


@pytest.mark.parametrize("theme", ["default", "dark"])
@pytest.mark.parametrize("path", PAGES)
def test_axe_finds_no_critical_or_serious_violation(page, app_url, path, theme):
    errors = _open(page, f"{app_url}{path}?theme={theme}")
    violations = axe_violations(page)
    assert not violations, _describe(violations)
    # A main landmark and exactly one top-level heading (axe rates these "moderate").
    assert page.get_by_role("main").count() == 1
    assert page.get_by_role("heading", level=1).count() == 1
    assert not errors


def _text_problems(info: dict, min_px: float) -> list:
    """Text elements smaller than ``min_px`` (sub- and superscripts and text meant only for
    screen readers aside)."""
    return [
        s
        for s in info["small"]
        if s[0] < min_px and not s[1].startswith(("SUB", "SUP")) and "sr-only" not in s[1]
    ]


@pytest.mark.parametrize("path", PAGES)
def test_phone_layout_fits_and_reads(browser, app_url, path):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        _open(page, app_url + path)
        info = layout(page)
        assert info["viewport"] == 390, "the page must declare a viewport"
        assert not info["overflow"], info["overflow"][:5]
        assert not _text_problems(info, 12), _text_problems(info, 12)[:5]
        prose = [size for size in _prose_sizes(page) if size]
        assert prose and min(prose) >= 16, prose
        # Touch targets: every button at least 44 px tall.
        heights = deep_map(
            page,
            "button.bk-btn",
            "(el) => [Math.round(el.getBoundingClientRect().height), el.textContent.trim()]",
        )
        heights = [h for h in heights if h[0] > 0]  # hidden ones aside
        assert heights and min(h for h, _ in heights) >= 44, sorted(heights)[:3]
    finally:
        context.close()


@pytest.mark.parametrize("path", PAGES)
def test_projector_presentation_mode_is_wide_and_large(browser, app_url, path):
    context = browser.new_context(**PROJECTOR)
    page = context.new_page()
    try:
        _open(page, f"{app_url}{path}?present=1")
        assert page.evaluate("() => document.documentElement.classList.contains('present')")
        info = layout(page)
        assert not info["overflow"], info["overflow"][:5]
        assert not _text_problems(info, 12), _text_problems(info, 12)[:5]
        column = page.locator(".explainer-page").first.bounding_box()
        assert column["width"] >= 1600
        # Controls big enough to hit from a lectern: buttons at least 48 px tall.
        button = page.locator(".explainer-section button.bk-btn").first.bounding_box()
        assert button["height"] >= 48
    finally:
        context.close()


def test_presentation_switch_toggles_the_mode_and_the_link(page, app_url):
    _open(page, app_url + "/hopfield")
    switch = page.get_by_role("button", name="Presentation mode")
    assert switch.get_attribute("aria-pressed") == "false"
    switch.click()
    assert page.evaluate("() => document.documentElement.classList.contains('present')")
    assert "present=1" in page.url
    leave = page.get_by_role("button", name="Leave presentation mode")
    assert leave.get_attribute("aria-pressed") == "true"
    leave.click()
    assert "present=1" not in page.url


def _tab_to(page, label: str, limit: int = 80) -> dict:
    for _ in range(limit):
        page.keyboard.press("Tab")
        active = active_element(page)
        assert active["tag"] != "CANVAS" and "bk-events" not in active["cls"]
        if active["tag"] == "BUTTON" and active["text"] == label:
            return active
    raise AssertionError(f"Tab never reached the {label!r} button")


@pytest.mark.parametrize("key", list(MAIN_BUTTONS))
def test_keyboard_alone_runs_the_section_and_focus_stays(page, app_url, key):
    label, after, source = MAIN_BUTTONS[key]
    _open(page, f"{app_url}/{key}")
    if source:
        start_counting_changes(page, source)
    _tab_to(page, label)
    page.keyboard.press("Enter")
    if after:
        wait_until(lambda: active_element(page)["text"] == after, timeout=30)
        # A second Enter reaches the same control: it pauses.
        page.keyboard.press("Enter")
        wait_until(lambda: active_element(page)["text"] == label, timeout=30)
    else:
        if source:
            wait_until(lambda: changes(page, source) > 0, timeout=60)
        wait_until(lambda: active_element(page)["text"] == label, timeout=60)


@pytest.mark.parametrize("key", ["capacity", "sigmoid", "modern"])
def test_keyboard_alone_moves_a_slider(page, app_url, key):
    _open(page, f"{app_url}/{key}")
    for _ in range(40):
        page.keyboard.press("Tab")
        active = active_element(page)
        if "noUi-handle" in active["cls"]:
            break
    else:
        raise AssertionError("no slider reachable with Tab")
    assert active["label"], "the slider has no accessible name"
    # Home, then one step right: both move it, wherever it started.
    limits = page.evaluate(
        "() => { let el = document.activeElement;"
        " while (el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;"
        " return [el.getAttribute('aria-valuenow'), el.getAttribute('aria-valuemax')]; }"
    )
    before = float(limits[0])
    key = "ArrowLeft" if before >= float(limits[1]) else "ArrowRight"  # a step it can take
    page.keyboard.press(key)
    wait_until(lambda: float(active_element(page)["value"]) != before, timeout=20)


def test_space_runs_and_pauses_the_section_in_view(page, app_url):
    _open(page, app_url + "/hopfield")
    page.locator(".explainer-hopfield p").first.click()  # focus on nothing in particular
    page.keyboard.press(" ")
    run = page.get_by_role("button", name="Pause", exact=True)
    run.wait_for(timeout=30_000)
    # Focus elsewhere again (a reader clicking the text while it runs): Space still pauses.
    page.locator(".explainer-hopfield p").first.click()
    page.keyboard.press(" ")
    page.get_by_role("button", name="Run", exact=True).wait_for(timeout=30_000)


@pytest.mark.parametrize("theme", ["default", "dark"])
def test_focus_ring_is_clearly_visible(page, app_url, theme):
    _open(page, f"{app_url}/hopfield?theme={theme}")
    _tab_to(page, "Run")
    ring = page.evaluate(
        """() => { let el = document.activeElement;
             while (el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
             const cs = getComputedStyle(el);
             return [cs.outlineStyle, parseFloat(cs.outlineWidth), cs.outlineColor]; }"""
    )
    assert ring[0] == "solid" and ring[1] >= 3, ring


@pytest.mark.parametrize("theme", ["default", "dark"])
def test_toggles_are_segmented_buttons_with_a_clear_selected_state(page, app_url, theme):
    _open(page, f"{app_url}/ising?theme={theme}")
    glass = page.get_by_role("button", name="±J glass")
    ferro = page.get_by_role("button", name="ferromagnet")
    assert ferro.get_attribute("aria-pressed") == "true"
    assert glass.get_attribute("aria-pressed") == "false"

    def luminance(loc) -> float:
        rgb = loc.evaluate("(el) => getComputedStyle(el).backgroundColor")
        r, g, b = (int(x) / 255 for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    def contrast() -> float:
        hi, lo = sorted((luminance(ferro), luminance(glass)), reverse=True)
        return (hi + 0.05) / (lo + 0.05)

    # Polled: the stylesheets load after the buttons render, and colours ease in.
    wait_until(lambda: contrast() >= 3, timeout=10)
    glass.click()
    wait_until(lambda: glass.get_attribute("aria-pressed") == "true", timeout=20)
    assert ferro.get_attribute("aria-pressed") == "false"


@pytest.mark.parametrize("key", ["hopfield", "ising"])
def test_formulas_are_typeset_in_katex_fonts_at_prose_size(page, app_url, key):
    errors = _open(page, f"{app_url}/{key}")
    page.evaluate("() => document.fonts.ready.then(() => true)")
    families = deep_map(page, ".katex-html .mord", "(el) => getComputedStyle(el).fontFamily")
    size = "(el) => parseFloat(getComputedStyle(el).fontSize)"
    sizes = deep_map(page, ".katex-display > .katex", size)
    prose = [p for p in _prose_sizes(page) if p]
    loaded = page.evaluate(
        "() => [...document.fonts].filter(f => f.family.includes('KaTeXApp_Main')"
        " && f.status === 'loaded').length"
    )
    found = {"families": families, "sizes": sizes, "prose": prose[0], "loaded": loaded}
    assert found["families"] and all("KaTeXApp_" in f for f in found["families"])
    assert found["loaded"] >= 1, "KaTeX's main font never loaded"
    assert found["sizes"] and min(found["sizes"]) >= found["prose"]
    assert not errors  # no font fetched from anywhere but the app


def _rects_overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


JS_CONTROL_RECTS = """
() => { const out = []; const walk = (r) => { for (const el of r.querySelectorAll('*')) {
    if (el.shadowRoot) walk(el.shadowRoot);
    if (el.matches('button, input, select, .noUi-handle, .bk-slider-title, label')) {
      const b = el.getBoundingClientRect();
      if (b.width && b.height) out.push({x: b.x, y: b.y, width: b.width, height: b.height,
                                         text: el.textContent.trim().slice(0, 30)});
    } } }; walk(document); return out; }
"""

JS_TOOLTIP_RECT = """
() => { const walk = (r) => { for (const el of r.querySelectorAll('*')) {
    if (el.matches('.bk-Tooltip') ) { const b = el.getBoundingClientRect();
      if (b.width && b.height) return {x: b.x, y: b.y, width: b.width, height: b.height}; }
    if (el.shadowRoot) { const hit = walk(el.shadowRoot); if (hit) return hit; } }
  return null; }; return walk(document); }
"""


@pytest.mark.parametrize(
    "key, labels",
    [
        ("hopfield", ["Step", "Reset", "Corrupt a memory"]),
        ("annealing", ["Race", "Run one descent"]),
        ("rbm", ["Dream", "Reset"]),
    ],
)
def test_tooltips_cover_neither_their_control_nor_its_neighbours(page, app_url, key, labels):
    _open(page, f"{app_url}/{key}")
    for label in labels:
        button = page.get_by_role("button", name=label, exact=True)
        button.scroll_into_view_if_needed()
        button.hover()
        rect = wait_until(lambda: page.evaluate(JS_TOOLTIP_RECT), timeout=10)
        covered = [c["text"] for c in page.evaluate(JS_CONTROL_RECTS) if _rects_overlap(rect, c)]
        assert not covered, f"{label}'s tooltip covers {covered}"
        page.mouse.move(0, 0)
        wait_until(lambda: page.evaluate(JS_TOOLTIP_RECT) is None, timeout=10)


def test_capacity_progress_shows_only_while_computing_and_says_what(page, app_url):
    _open(page, app_url + "/capacity")
    page.get_by_role("button", name="New seed").click()
    # While the curve is computed the bar shows, named by what it does; once done it is gone.
    page.get_by_role("progressbar", name="Computing the curve").wait_for(timeout=30_000)
    wait_until(lambda: page.get_by_role("progressbar").count() == 0, timeout=120)
    bars = deep_map(page, "progress", "(el) => el.getBoundingClientRect().width")
    assert all(width == 0 for width in bars), bars
