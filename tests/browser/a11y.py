"""Reader checks shared by the accessibility tests and scripts/audit: axe-core (vendored),
sideways overflow, the smallest text, and where the keyboard focus is, across shadow roots."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"

# axe walks open shadow roots itself; Bokeh's canvases are drawings, labelled by the page.
JS_RUN_AXE = """
async () => {
  const result = await axe.run(document, {
    resultTypes: ["violations"],
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                     "best-practice"] },
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => ({ target: JSON.stringify(n.target),
                                           summary: n.failureSummary })),
    count: v.nodes.length,
  }));
}
"""


def axe_violations(page, impacts=("critical", "serious")) -> list[dict]:
    """axe-core's violations of the given impacts on the page as it is now."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(JS_RUN_AXE)
    return [v for v in found if v["impact"] in impacts]


# Elements with visible text, across shadow roots: widest right edge and smallest font.
JS_LAYOUT = """
() => {
  const out = { docWidth: document.documentElement.scrollWidth, viewport: innerWidth,
                overflow: [], small: [] };
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) walk(el.shadowRoot);
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const cs = getComputedStyle(el);
      if (cs.visibility === "hidden" || cs.display === "none") continue;
      // Tooltips float by design; KaTeX's MathML copy is clipped away (screen readers only),
      // and a formula too wide scrolls inside its own box (checked by its box).
      if (el.closest(".bk-Tooltip, .katex")) continue;
      // Only what can be seen: text, pictures and controls (Bokeh keeps empty placeholder
      // boxes for glyph renderers that may reach past a plot's edge).
      const shows = el.matches("canvas, svg, img, button, input, select, textarea") ||
        [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
      if (shows && r.right > innerWidth + 1 && cs.position !== "fixed")
        out.overflow.push(`${el.tagName}.${el.className} right=${Math.round(r.right)}`);
      // SVG text is scaled with its picture; its nominal size says little.
      const text = !(el instanceof SVGElement) &&
        [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
      if (text) out.small.push([parseFloat(cs.fontSize), el.tagName + "." + el.className,
                                el.textContent.trim().slice(0, 40)]);
    }
  };
  walk(document);
  out.small.sort((a, b) => a[0] - b[0]);
  return out;
}
"""


def layout(page) -> dict:
    """The document's width against the viewport, elements reaching past its right edge, and
    every text element's font size in px, smallest first."""
    return page.evaluate(JS_LAYOUT)


JS_ACTIVE = """
() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el) return null;
  return { tag: el.tagName, text: (el.textContent || "").trim().slice(0, 60),
           label: el.getAttribute("aria-label"), cls: String(el.className),
           value: el.getAttribute("aria-valuenow") };
}
"""


def active_element(page) -> dict | None:
    """The element that has the keyboard focus, followed into shadow roots."""
    return page.evaluate(JS_ACTIVE)


def deep_map(page, selector: str, fn: str) -> list:
    """``fn`` (a JavaScript function of one element) applied to every element matching
    ``selector``, in document order, across shadow roots."""
    return page.evaluate(
        "([selector, fn]) => { const f = eval(fn); const out = [];"
        " const walk = (r) => { for (const el of r.querySelectorAll('*')) {"
        " if (el.matches(selector)) out.push(f(el));"
        " if (el.shadowRoot) walk(el.shadowRoot); } };"
        " walk(document); return out; }",
        [selector, fn],
    )
