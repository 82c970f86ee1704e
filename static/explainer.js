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

  window.explainerScrollTo = function (key) {
    const el = deepFind(document, "#" + CSS.escape(key)) || deepFind(document, ".explainer-" + key);
    if (!el) return true; // let the browser try the plain anchor
    el.scrollIntoView({ behavior: "smooth", block: "start" });
    history.replaceState(null, "", location.search + "#" + key);
    return false;
  };

  window.explainerSetTheme = function (theme) {
    const url = new URL(location.href);
    url.searchParams.set("theme", theme);
    location.href = url.toString();
    return false;
  };

  // Open at the anchor a shared link points to, once the sections have rendered.
  function scrollToHash(tries) {
    const key = decodeURIComponent(location.hash.slice(1));
    if (!key) return;
    const el = deepFind(document, "#" + CSS.escape(key));
    if (el) el.scrollIntoView({ block: "start" });
    else if (tries > 0) setTimeout(() => scrollToHash(tries - 1), 250);
  }
  window.addEventListener("load", () => scrollToHash(40));
})();
