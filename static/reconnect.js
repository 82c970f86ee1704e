// A lost connection made plain, and mended. When the websocket to the server drops (a
// restart, a network hiccup), the page says so, stops its controls (the server no longer
// hears them), asks the server whether it is back, and then reopens the same URL: the
// URL holds the page's whole state, so the reader comes back where they were.
(function () {
  let lost = false;
  // Leaving the page (a link, the theme toggle) closes the websocket too: not a loss.
  let leaving = false;
  window.addEventListener("beforeunload", () => {
    leaving = true;
  });

  function disableControls() {
    for (const page of document.querySelectorAll(".explainer-page")) {
      page.inert = true; // no clicks, no focus, no typing, inside the shadow roots too
      page.setAttribute("aria-disabled", "true");
      page.classList.add("explainer-offline");
      page.style.opacity = "0.55";
      page.style.filter = "grayscale(0.6)";
    }
  }

  function showBanner() {
    const banner = document.createElement("div");
    banner.className = "explainer-reconnect";
    banner.setAttribute("role", "alert");
    banner.style.cssText =
      "position:fixed;left:50%;top:12px;transform:translateX(-50%);z-index:10000;" +
      "max-width:min(620px,calc(100vw - 24px));box-sizing:border-box;padding:12px 16px;" +
      "border-radius:8px;background:#1f2330;color:#f4f1ea;box-shadow:0 4px 16px rgba(0,0,0,.3);" +
      "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;" +
      "display:flex;gap:12px;align-items:center;flex-wrap:wrap";
    const text = document.createElement("span");
    text.className = "explainer-reconnect-text";
    text.textContent =
      "Lost the connection to the server (it may be restarting). The controls are paused; " +
      "this page reopens where you were as soon as the server answers.";
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Reload";
    button.style.cssText =
      "font:inherit;font-weight:600;padding:6px 16px;min-height:36px;border-radius:6px;" +
      "border:0;background:#f4f1ea;color:#1f2330;cursor:pointer";
    button.addEventListener("click", () => location.reload());
    banner.append(text, button);
    document.body.append(banner);
  }

  // /liveness is cheap (no session is built); reopen only once the server answers it.
  function poll(delay) {
    setTimeout(async () => {
      if (leaving) return;
      try {
        const reply = await fetch(new URL("./liveness", location.href), { cache: "no-store" });
        if (reply.ok) {
          location.reload();
          return;
        }
      } catch (e) {
        // still down
      }
      poll(Math.min(delay * 1.5, 5000));
    }, delay);
  }

  function onLost() {
    if (lost || leaving) return;
    lost = true;
    disableControls();
    showBanner();
    poll(1000);
  }

  // Every websocket the page opens (Bokeh's, when it connects) reports its own closing: this
  // does not depend on Bokeh publishing its "connection_lost" event, which it did not always
  // do when a server stopped.
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("close", onLost);
    }
  };

  // Bokeh's document reports "connection_lost" when its websocket closes.
  function attach(tries) {
    const docs = window.Bokeh && window.Bokeh.documents;
    if (docs && docs.length > 0) {
      for (const doc of docs) doc.on_event("connection_lost", onLost);
    } else if (tries > 0) {
      setTimeout(() => attach(tries - 1), 250);
    }
  }
  attach(600);
})();
