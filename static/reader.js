// What Bokeh's and Panel's widgets leave out for keyboard and screen-reader users, added in
// the browser (every widget renders inside its own shadow root, so this walks them):
// names for sliders and spinner arrows, toggle state on segmented buttons, no tab stops on
// plot canvases, a `main` landmark, focus that stays on a button whose label changes, Space
// to run or pause the section in view, and presentation mode.
(function () {
  "use strict";

  function* shadowRoots(root) {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) {
        yield el.shadowRoot;
        yield* shadowRoots(el.shadowRoot);
      }
    }
  }

  const text = (el) => (el ? el.textContent.replace(/\s+/g, " ").trim() : "");

  // A slider's visible title without its value ("Temperature T: 0.20" -> "Temperature T").
  function sliderTitle(root) {
    const title = root.querySelector(".bk-slider-title");
    if (!title) return "";
    const copy = title.cloneNode(true);
    for (const value of copy.querySelectorAll(".bk-slider-value")) value.remove();
    return text(copy).replace(/[:\s]+$/, "");
  }

  function label(el, name) {
    if (name && el.getAttribute("aria-label") !== name) el.setAttribute("aria-label", name);
  }

  function patchRoot(root) {
    const host = root.host;
    syncToggle(root);
    // Sliders: noUiSlider's handles carry role="slider" but no name.
    const handles = root.querySelectorAll(".noUi-handle");
    if (handles.length) {
      const name = sliderTitle(root);
      handles.forEach((h, i) => label(h, handles.length > 1 ? `${name} (${i + 1})` : name));
    }
    // Number inputs: the arrows are buttons with no text.
    const spin = root.querySelectorAll(".bk-spin-btn");
    if (spin.length) {
      const field = text(root.querySelector("label")) || "value";
      for (const b of spin) {
        label(b, `${b.classList.contains("bk-spin-btn-up") ? "Increase" : "Decrease"} ${field}`);
        b.tabIndex = -1; // the field itself takes the arrow keys
      }
    }
    // Segmented toggles (radio button groups): say which option is chosen.
    const group = root.querySelector(".bk-btn-group");
    if (group && host && host.matches("[class*='RadioButtonGroup']")) {
      group.setAttribute("role", "group");
      for (const b of group.querySelectorAll(".bk-btn")) {
        const pressed = b.classList.contains("bk-active") ? "true" : "false";
        if (b.getAttribute("aria-pressed") !== pressed) b.setAttribute("aria-pressed", pressed);
      }
    }
    // Plot canvases: Bokeh makes their event layer focusable, but no keyboard tool is
    // configured, so each was a tab stop that did nothing.
    for (const layer of root.querySelectorAll(".bk-events[tabindex='0']")) layer.tabIndex = -1;
    // A formula wider than a phone scrolls in its box: the keyboard must reach it too.
    for (const box of root.querySelectorAll(".katex-display")) {
      const wide = box.scrollWidth > box.clientWidth + 1;
      if (wide && box.tabIndex !== 0) {
        box.tabIndex = 0;
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", "Formula (scrolls sideways)");
      } else if (!wide && box.hasAttribute("tabindex")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    }
  }

  function patch() {
    const page = document.querySelector(".explainer-page");
    if (page && page.getAttribute("role") !== "main") page.setAttribute("role", "main");
    for (const root of shadowRoots(document)) patchRoot(root);
    document.documentElement.dataset.readerPatched = String(++patch.count);
  }
  patch.count = 0;

  window.explainerReader = { patch };

  // -- focus that survives a re-render ---------------------------------------------------
  // When a button's label changes (Run -> Pause) Bokeh rebuilds the button, and the focus
  // would fall back to <body>: put it on the new button in the same place.
  let last = null; // { model, host, index, el } of the focused control
  const FOCUSABLE = "button, input, select, textarea, [tabindex]:not([tabindex='-1'])";
  function* views() {
    if (window.Bokeh && Bokeh.index && Bokeh.index.all_views) yield* Bokeh.index.all_views();
  }
  // Remembered when the control is pressed (focusin does not reach the document when focus
  // moves between two shadow trees inside the same host).
  function remember(target) {
    const root = target && target.getRootNode && target.getRootNode();
    if (!root || !root.host) return;
    const index = [...root.querySelectorAll(FOCUSABLE)].indexOf(target);
    if (index < 0) return;
    let model = null;
    for (const view of views()) if (view.el === root.host) { model = view.model; break; }
    last = { model, host: root.host, index, el: target };
  }
  function restoreFocus() {
    if (!last) return false;
    const active = document.activeElement;
    if (active && active !== document.body) return false;
    let target = last.el.isConnected ? last.el : null;
    if (!target) {
      let root = last.host.isConnected ? last.host.shadowRoot : null;
      // The view itself may be rebuilt: find the one now drawing the same model.
      if (!root && last.model) {
        for (const view of views()) {
          if (view.model === last.model && view.el.isConnected && view.el.shadowRoot) {
            root = view.el.shadowRoot;
            break;
          }
        }
      }
      target = root && root.querySelectorAll(FOCUSABLE)[last.index];
    }
    // A button disabled while its work runs lost the focus: it gets it back once enabled.
    if (!target || target.disabled) return false;
    target.focus({ preventScroll: true });
    return true;
  }
  let watching = 0;
  function watchFocus() {
    const until = performance.now() + 30000;
    const token = ++watching;
    const tick = () => {
      if (token !== watching) return;
      restoreFocus();
      if (performance.now() < until) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  // -- Space runs or pauses the section in view -------------------------------------------
  const TYPING = "input, textarea, select, button, a, [contenteditable], [role='slider'], " +
    "[role='button'], [tabindex]:not([tabindex='-1'])";
  function sectionInView() {
    let best = null;
    let bestShown = 0;
    for (const root of [document, ...shadowRoots(document)]) {
      for (const s of root.querySelectorAll(".explainer-section")) {
        const r = s.getBoundingClientRect();
        const shown = Math.min(r.bottom, innerHeight) - Math.max(r.top, 0);
        if (shown > bestShown) { best = s; bestShown = shown; }
      }
    }
    return best;
  }
  // The section's Run/Pause toggle (whatever its label now), else its first main button.
  function mainButton(section) {
    if (!section.shadowRoot) return null;
    const roots = [section.shadowRoot, ...shadowRoots(section.shadowRoot)];
    for (const root of roots) {
      const host = root.querySelector(".explainer-run");
      const b = host && host.shadowRoot && host.shadowRoot.querySelector("button:not([disabled])");
      if (b) return b;
    }
    for (const root of roots) {
      const b = root.querySelector("button.bk-btn-primary:not([disabled])");
      if (b) return b;
    }
    return null;
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      const target = event.composedPath()[0];
      if (target && target.matches && target.matches("button")) {
        remember(target);
        watchFocus();
      }
    }
    if (event.key !== " " || event.ctrlKey || event.altKey || event.metaKey) return;
    const target = event.composedPath()[0];
    if (target && target.matches && target.matches(TYPING)) return; // theirs, not ours
    const section = sectionInView();
    const button = section && mainButton(section);
    if (!button) return;
    event.preventDefault();
    button.click();
  }, true);
  document.addEventListener("click", (event) => {
    const target = event.composedPath()[0];
    const button = target && target.closest && target.closest("button");
    if (button && event.detail === 0) {
      remember(button); // a click from the keyboard (or a script), not the mouse
      watchFocus();
    }
  }, true);

  // -- presentation mode --------------------------------------------------------------------
  const presenting = () => document.documentElement.classList.contains("present");
  function syncToggle(root) {
    const on = presenting();
    for (const b of root.querySelectorAll(".present-toggle")) {
      if (b.getAttribute("aria-pressed") === String(on)) continue;
      b.setAttribute("aria-pressed", String(on));
      b.textContent = on ? "Leave presentation mode" : "Presentation mode";
    }
  }
  function setPresent(on) {
    document.documentElement.classList.toggle("present", on);
    for (const root of shadowRoots(document)) syncToggle(root);
    const url = new URL(location.href);
    if (on) url.searchParams.set("present", "1");
    else url.searchParams.delete("present");
    history.replaceState(history.state, "", url.toString());
    window.dispatchEvent(new Event("resize")); // plots measure their new width
  }
  window.explainerPresent = function (on) {
    setPresent(on === undefined ? !presenting() : on);
    return false;
  };
  const asked = new URLSearchParams(location.search).get("present");
  if (asked === "1" || asked === "true") document.documentElement.classList.add("present");

  function start() {
    patch();
    // Bokeh renders and re-renders views at any time (sections built lazily, labels that
    // change): patch again every half second; a walk of the page is cheap next to a frame.
    setInterval(patch, 500);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
