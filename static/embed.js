// Embedding. In an iframe, the page tells the page around it how tall the section is, so
// the Embed snippet's few lines of script can size the frame to fit (no inner scrollbar).
// The height is no secret, so any parent may read it; the snippet checks who sent it.
(function () {
  // The embedded section's link to its place in the whole story, with its current state.
  window.explainerFullStory = function (link, key) {
    const params = new URLSearchParams(location.search);
    params.delete("embed");
    const url = new URL("./", location.href);
    url.search = params.toString();
    url.hash = key;
    link.href = url.toString();
    return true;
  };

  if (window.parent === window) return;

  let page = null;
  let last = 0;
  function contentHeight() {
    const box = page.getBoundingClientRect();
    const scrolled = (document.scrollingElement || document.documentElement).scrollTop;
    const below = parseFloat(getComputedStyle(page).marginBottom) || 0;
    return Math.ceil(box.top + scrolled + document.body.scrollTop + box.height + below);
  }
  function post() {
    const height = contentHeight();
    if (height > 0 && height !== last) {
      last = height;
      window.parent.postMessage({ explainerHeight: height }, "*");
    }
  }
  // The page's column is rendered by Bokeh after load: wait for it, then follow its size.
  function start() {
    page = document.querySelector(".explainer-page");
    if (!page) {
      setTimeout(start, 200);
      return;
    }
    new ResizeObserver(post).observe(page);
    post();
  }
  start();
})();
