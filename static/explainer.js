// Small page helpers. Panel renders every component inside its own shadow root, so plain
// document.querySelector and #anchor links cannot reach a section: search through them.
(function () {
  function deepFind(root, selector) {
    const hit = root.querySelector(selector);
    if (hit) return hit;
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) {
        const inner = deepFind(el.shadowRoot, selector);
        if (inner) return inner;
      }
    }
    return null;
  }
  window.explainerDeepFind = (selector) => deepFind(document, selector);
  function deepFindAll(root, selector, out = []) {
    out.push(...root.querySelectorAll(selector));
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) deepFindAll(el.shadowRoot, selector, out);
    }
    return out;
  }

  // The title of section `key`: the real one, or its placeholder's (explainers/site/lazy.py)
  // while the section is not built yet.
  function titleOf(key) {
    return deepFind(document, "#" + CSS.escape(key));
  }
  const pending = (el) => el.closest(".section-placeholder") !== null;

  // While the page scrolls itself to a section, the placeholders it passes wait
  // (explainerJumping): only those near where it stops are built.
  let jumpCheck = null;
  function jumpTo(el, behavior) {
    window.explainerJumping = true;
    el.scrollIntoView({ behavior, block: "start" });
    clearTimeout(jumpCheck);
    let lastY = NaN;
    let checks = 0;
    const check = () => {
      checks += 1;
      if (window.scrollY === lastY || checks > 40) window.explainerJumping = false;
      else {
        lastY = window.scrollY;
        jumpCheck = setTimeout(check, 150);
      }
    };
    jumpCheck = setTimeout(check, 150);
  }

  // A section built after the page scrolled to its placeholder comes in at the same place,
  // but sections built above it at the same time can move it, and the page's layout moves
  // while Bokeh draws the plots: keep its title at the top until it exists and has stayed
  // put for a second with the page idle, unless the reader takes over the scrolling.
  let following = null;
  function stopFollowing() {
    if (following === null) return;
    clearTimeout(following.timer);
    for (const type of ["wheel", "touchstart", "keydown", "mousedown"]) {
      window.removeEventListener(type, stopFollowing, true);
    }
    following = null;
  }
  const idle = () => !window.Bokeh || Bokeh.documents.every((d) => d.is_idle);
  // Placeholders near the viewport are about to be built and will move what is below them.
  const buildingNear = () =>
    deepFindAll(document, "section.section-placeholder:not(.failed)").some((box) => {
      const r = box.getBoundingClientRect();
      return r.bottom > -1.25 * window.innerHeight && r.top < 2.25 * window.innerHeight;
    });
  function follow(key) {
    stopFollowing();
    following = { key, tries: 160, stable: 0, timer: null };
    for (const type of ["wheel", "touchstart", "keydown", "mousedown"]) {
      window.addEventListener(type, stopFollowing, { capture: true, passive: true });
    }
    const tick = () => {
      const el = titleOf(key);
      if (el && !pending(el)) {
        const top = el.getBoundingClientRect().top;
        const scroller = document.scrollingElement || document.documentElement;
        const atBottom = scroller.scrollTop + window.innerHeight >= scroller.scrollHeight - 1;
        const there = Math.abs(top) <= 2 || (top > 0 && atBottom);
        if (!there) jumpTo(el, "instant");
        // A page that never goes idle (an endless animation) is waited for 8 s at most.
        const settled = idle() || following.tries < 128;
        following.stable = there && settled && !buildingNear() ? following.stable + 1 : 0;
      }
      following.tries -= 1;
      if (following.stable >= 4 || following.tries <= 0) stopFollowing();
      else following.timer = setTimeout(tick, 250);
    };
    following.timer = setTimeout(tick, 250);
  }

  // Point the URL's #anchor at a section without the browser jumping. Panel's Location
  // model rewrites the URL from its own copy of the hash when the query string changes,
  // and only a hashchange event updates that copy: send one, or the anchor gets lost.
  function setHash(key) {
    const before = location.href;
    history.replaceState(history.state, "", location.pathname + location.search + "#" + key);
    window.dispatchEvent(new HashChangeEvent("hashchange", { oldURL: before, newURL: location.href }));
  }

  window.explainerScrollTo = function (key) {
    const el = titleOf(key) || deepFind(document, ".explainer-" + key);
    if (!el) return true; // let the browser try the plain anchor
    jumpTo(el, "smooth");
    setHash(key);
    if (pending(el)) follow(key);
    else stopFollowing();
    return false;
  };

  window.explainerSetTheme = function (theme) {
    const url = new URL(location.href);
    url.searchParams.set("theme", theme);
    location.href = url.toString();
    return false;
  };

  // On a first render Panel scrolls to any link whose href is the page's #anchor (not to
  // its target), when its document is ready: for a few seconds, bring the target back
  // whenever it drifts, unless the reader takes over the scrolling.
  function landAfterPanel(el, checks) {
    let timer = null;
    const stop = () => {
      clearTimeout(timer);
      for (const type of ["wheel", "touchstart", "keydown", "mousedown"]) {
        window.removeEventListener(type, stop, true);
      }
    };
    for (const type of ["wheel", "touchstart", "keydown", "mousedown"]) {
      window.addEventListener(type, stop, { capture: true, passive: true });
    }
    const tick = () => {
      if (Math.abs(el.getBoundingClientRect().top) > 4) jumpTo(el, "instant");
      checks -= 1;
      if (checks > 0) timer = setTimeout(tick, 150);
      else stop();
    };
    timer = setTimeout(tick, 150);
  }

  // Open at the anchor a shared link points to, once the sections have rendered.
  function scrollToHash(tries) {
    let key = location.hash.slice(1);
    try {
      key = decodeURIComponent(key);
    } catch (e) {
      return; // a mangled anchor names no section
    }
    if (!key) return;
    const el = titleOf(key);
    if (el) {
      if (el.tagName === "DETAILS") {
        el.open = true; // the conventions note
        landAfterPanel(el, 60);
      }
      jumpTo(el, "instant");
      follow(key);
    } else if (tries > 0) setTimeout(() => scrollToHash(tries - 1), 250);
  }
  window.addEventListener("load", () => scrollToHash(40));

  // A prose link to "#conventions" (or any in-page anchor) sits inside a shadow root, where
  // the browser cannot find its target: open and scroll to it ourselves.  On a page
  // without the note (one section alone, or embedded) open the story page's note instead.
  document.addEventListener("click", (event) => {
    const link = event
      .composedPath()
      .find((el) => el.tagName === "A" && (el.getAttribute("href") || "").startsWith("#"));
    if (!link || link.hasAttribute("onclick")) return;
    const key = link.getAttribute("href").slice(1);
    if (!key) return;
    const el = titleOf(key);
    event.preventDefault();
    if (!el) {
      if (key === "conventions") window.open(new URL("./#" + key, location.href), "_blank");
      return;
    }
    if (el.tagName === "DETAILS") el.open = true;
    jumpTo(el, "smooth");
    history.replaceState(null, "", location.search + "#" + key);
  });
})();
