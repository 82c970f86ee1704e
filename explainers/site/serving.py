"""Serve the explainer's routes, configured by ``EXPLAINER_*`` environment variables.

The same variables work for ``make run``, ``python app.py`` and the Docker image:

========================================  ============================================
variable                                  default
========================================  ============================================
``EXPLAINER_PORT``                        ``5006``
``EXPLAINER_ADDRESS``                     ``127.0.0.1`` (the image sets ``0.0.0.0``)
``EXPLAINER_ALLOW_ORIGINS``               ``localhost:PORT,127.0.0.1:PORT``
``EXPLAINER_FRAME_ANCESTORS``             ``'self'``
``EXPLAINER_NUM_PROCS``                   ``1`` (``0``: one per CPU)
``EXPLAINER_SESSION_LIFETIME_MS``         ``5000``
``EXPLAINER_MAX_MESSAGE_BYTES``           ``262144`` (256 KiB)
``EXPLAINER_ADMIN``                       ``0`` (off)
``EXPLAINER_HEALTH_PORT``                 off (the image sets ``5007``; see :mod:`.health`)
========================================  ============================================

A bad value never stops the server with a traceback: it is reported in one readable line
and the safe default is used instead. :func:`server_options` is pure, so all of this is
unit-tested without a server.
"""

from __future__ import annotations

import gc
import ipaddress
import logging
import os
import re
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tornado.web import OutputTransform

log = logging.getLogger("explainers.site.serving")

TITLE = "Boltzmann machines, hands on"

#: Bokeh owns ``/static`` (its own JavaScript), so the project's top-level ``static/``
#: directory is served here instead.
STATIC_URL = "/assets"
#: ``static/`` beside the packages in a checkout; ``explainers/static`` once installed.
STATIC_DIR = next(
    (d for d in (Path(__file__).resolve().parents[i] / "static" for i in (2, 1)) if d.is_dir()),
    Path(__file__).resolve().parents[2] / "static",
)

DEFAULT_PORT = 5006
DEFAULT_ADDRESS = "127.0.0.1"
DEFAULT_SESSION_LIFETIME_MS = 5000
#: How often Bokeh looks for unused sessions; with the lifetime above a closed tab is
#: reaped 5-7 s after it closes.
CHECK_UNUSED_MS = 2000
#: Clients only send small parameter changes; Bokeh's own first messages are well under
#: 1 KiB. Bokeh's default (20 MiB) lets one client make the server buffer a lot.
DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024
MIN_MAX_MESSAGE_BYTES = 16 * 1024
MAX_MAX_MESSAGE_BYTES = 64 * 1024 * 1024

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^{_HOST_LABEL}(?:\.{_HOST_LABEL})*$")
# An allowed websocket origin as Bokeh compares it: host[:port], with Bokeh's wildcards
# (``*`` for a whole host, or for an IPv4 octet or a port).
_ORIGIN = re.compile(
    r"^(?P<host>[A-Za-z0-9*](?:[A-Za-z0-9.*-]*[A-Za-z0-9*])?)(?::(?P<port>\d+|\*))?$"
)
# CSP source expressions allowed in frame-ancestors (CSP level 3, without IPv6 literals).
# No quotes, commas, semicolons or whitespace can get through, so nothing can be injected
# into the header.
_CSP_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:$")
_CSP_HOST = re.compile(
    rf"^(?:[A-Za-z][A-Za-z0-9+.-]*://)?(?:\*\.)?{_HOST_LABEL}(?:\.{_HOST_LABEL})*"
    r"(?::(?:\d{1,5}|\*))?(?:/[A-Za-z0-9._~%!$&'()*+=:@/-]*)?$"
)


def _problem(name: str, value: str, why: str, default: Any) -> None:
    if default is None:
        log.warning("%s=%r %s; leaving it off.", name, value, why)
    else:
        log.warning("%s=%r %s; using %r instead.", name, value, why, default)


def _int(env: Mapping[str, str], name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip().replace("_", ""))
    except ValueError:
        _problem(name, raw, "is not a whole number", default)
        return default
    if not lo <= value <= hi:
        _problem(name, raw, f"is outside {lo}..{hi}", default)
        return default
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    _problem(name, raw, "is not one of 1/0, true/false, yes/no, on/off", default)
    return default


def _address(env: Mapping[str, str]) -> str:
    raw = env.get("EXPLAINER_ADDRESS")
    if raw is None or raw.strip() == "":
        return DEFAULT_ADDRESS
    value = raw.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if len(value) <= 253 and _HOSTNAME.match(value):
        return value
    _problem("EXPLAINER_ADDRESS", raw, "is neither an IP address nor a host name", DEFAULT_ADDRESS)
    return DEFAULT_ADDRESS


def _split(raw: str) -> list[str]:
    return [item for item in re.split(r"[\s,]+", raw.strip()) if item]


def _origins(env: Mapping[str, str], port: int) -> list[str]:
    default = [f"localhost:{port}", f"127.0.0.1:{port}"]
    raw = env.get("EXPLAINER_ALLOW_ORIGINS")
    if raw is None or raw.strip() == "":
        return default
    origins = []
    for item in _split(raw):
        # People paste page addresses; Bokeh compares only host[:port].
        host_port = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", item).rstrip("/").lower()
        match = _ORIGIN.match(host_port)
        if not match or (match["port"] not in (None, "*") and not 0 < int(match["port"]) < 65536):
            log.warning(
                "EXPLAINER_ALLOW_ORIGINS: ignoring %r (expected host or host:port, "
                "e.g. explainer.example.org or localhost:5006).",
                item,
            )
            continue
        if host_port == "*":
            log.warning(
                "EXPLAINER_ALLOW_ORIGINS='*': any web page may open websockets to this "
                "server. Only use this behind a proxy that checks origins itself."
            )
        if host_port not in origins:
            origins.append(host_port)
    if not origins:
        _problem("EXPLAINER_ALLOW_ORIGINS", raw, "has no usable entry", ",".join(default))
        return default
    return origins


def _frame_ancestors(env: Mapping[str, str]) -> list[str]:
    default = ["'self'"]
    raw = env.get("EXPLAINER_FRAME_ANCESTORS")
    if raw is None or raw.strip() == "":
        return default
    sources = []
    for item in _split(raw):
        keyword = item.strip("'").lower()
        if keyword in ("self", "none"):
            source = f"'{keyword}'"
        elif item == "*" or _CSP_SCHEME.match(item) or _CSP_HOST.match(item):
            source = item
        else:
            log.warning(
                "EXPLAINER_FRAME_ANCESTORS: ignoring %r (expected 'self', 'none', * or an "
                "origin such as https://course.example.org).",
                item,
            )
            continue
        if source not in sources:
            sources.append(source)
    if "'none'" in sources and len(sources) > 1:
        _problem("EXPLAINER_FRAME_ANCESTORS", raw, "mixes 'none' with other sources", "'self'")
        return default
    if not sources:
        _problem("EXPLAINER_FRAME_ANCESTORS", raw, "has no usable entry", "'self'")
        return default
    return sources


#: The running server's frame-ancestors (set by :func:`serve`); None outside a server.
_serving_frame_ancestors: list[str] | None = None


def frame_ancestors(env: Mapping[str, str] = os.environ) -> list[str]:
    """Who may show this server's pages in a frame, as CSP sources (``'self'`` alone: no
    other site): the running server's setting, else ``EXPLAINER_FRAME_ANCESTORS`` in
    ``env``.  The sections' Embed panel tells the reader from this."""
    if _serving_frame_ancestors is not None:
        return list(_serving_frame_ancestors)
    return _frame_ancestors(env)


def server_options(env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Read the server's configuration from ``EXPLAINER_*`` variables.

    Parameters
    ----------
    env : mapping of str to str
        Usually ``os.environ``.

    Returns
    -------
    dict
        ``port`` (int), ``address`` (str), ``allow_origins`` (list of ``host[:port]``),
        ``frame_ancestors`` (list of CSP sources), ``num_procs`` (int, 0 = one per CPU),
        ``session_lifetime_ms`` and ``check_unused_ms``
        (int), ``max_message_bytes`` (int), ``admin`` (bool) and ``health_port`` (int, or
        None for none: see :mod:`.health`). Bad values are logged
        as warnings and replaced by the defaults; this function never raises for them.
    """
    port = _int(env, "EXPLAINER_PORT", DEFAULT_PORT, 1, 65535)
    lifetime = _int(
        env, "EXPLAINER_SESSION_LIFETIME_MS", DEFAULT_SESSION_LIFETIME_MS, 1000, 86_400_000
    )
    return {
        "port": port,
        "address": _address(env),
        "allow_origins": _origins(env, port),
        "frame_ancestors": _frame_ancestors(env),
        "num_procs": _int(env, "EXPLAINER_NUM_PROCS", 1, 0, 64),
        "session_lifetime_ms": lifetime,
        "check_unused_ms": min(CHECK_UNUSED_MS, lifetime),
        "max_message_bytes": _int(
            env,
            "EXPLAINER_MAX_MESSAGE_BYTES",
            DEFAULT_MAX_MESSAGE_BYTES,
            MIN_MAX_MESSAGE_BYTES,
            MAX_MAX_MESSAGE_BYTES,
        ),
        "admin": _bool(env, "EXPLAINER_ADMIN", False),
        "pages_per_s": _int(env, "EXPLAINER_PAGES_PER_S", 10, 1, 10_000),
        "trust_proxy": _bool(env, "EXPLAINER_TRUST_PROXY", False),
        "health_port": _health_port(env, port),
    }


def _health_port(env: Mapping[str, str], port: int) -> int | None:
    health = _int(env, "EXPLAINER_HEALTH_PORT", None, 1, 65535)
    if health == port:
        _problem("EXPLAINER_HEALTH_PORT", str(health), "is the app's own port", None)
        return None
    return health


def security_headers(frame_ancestors: list[str]) -> dict[str, str]:
    """Response headers that say who may frame the pages.

    ``X-Frame-Options`` can only say "same origin" or "nobody"; it is sent when it agrees
    with the CSP and left out otherwise (browsers that know CSP ignore it anyway, and an
    old browser obeying ``SAMEORIGIN`` would block the configured course sites).
    """
    headers = {
        "Content-Security-Policy": "frame-ancestors " + " ".join(frame_ancestors),
        "X-Content-Type-Options": "nosniff",
    }
    if frame_ancestors == ["'self'"]:
        headers["X-Frame-Options"] = "SAMEORIGIN"
    elif frame_ancestors == ["'none'"]:
        headers["X-Frame-Options"] = "DENY"
    return headers


class _AddHeaders(OutputTransform):
    """Adds fixed headers to every HTTP response (tornado calls it once per request)."""

    headers: dict[str, str] = {}

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        for name, value in self.headers.items():
            headers[name] = value
        return status_code, headers, chunk


def serve_kwargs(
    options: Mapping[str, Any], title: str | Mapping[str, str] = TITLE
) -> dict[str, Any]:
    """Translate :func:`server_options` into keyword arguments for ``pn.serve``."""
    transform = type(
        "ExplainerHeaders",
        (_AddHeaders,),
        {"headers": security_headers(options["frame_ancestors"])},
    )
    kwargs = {
        "port": options["port"],
        "address": options["address"],
        "websocket_origin": list(options["allow_origins"]),
        "num_procs": options["num_procs"],
        "unused_session_lifetime_milliseconds": options["session_lifetime_ms"],
        "check_unused_sessions_milliseconds": options["check_unused_ms"],
        "websocket_max_message_size": options["max_message_bytes"],
        "admin": options["admin"],
        # Client addresses from the proxy's X-Forwarded-For / X-Real-Ip (per-address limits).
        "use_xheaders": options["trust_proxy"],
        "liveness": True,
        "title": title if isinstance(title, str) else dict(title),
        "show": False,
        # Bokeh hands unknown keywords on to tornado's Application.
        "transforms": [transform],
    }
    if STATIC_DIR.is_dir():
        kwargs["static_dirs"] = {STATIC_URL: str(STATIC_DIR)}
    return kwargs


def hardened_kwargs(kwargs: Mapping[str, Any], secret: str) -> dict[str, Any]:
    """``kwargs`` for ``pn.serve`` plus what keeps one hostile client from hurting others.

    Signed session ids (:mod:`.guard`), bounded time to send a request, static files that
    answer 400/404 rather than 500 (:mod:`.httpsafe`).  The websocket gate itself is put in
    place by :func:`.guard.install`.
    """
    from . import guard, httpsafe

    out = {**kwargs, **guard.signing_kwargs(secret)}
    out["http_server_kwargs"] = {
        **httpsafe.HTTP_SERVER_KWARGS,
        **dict(kwargs.get("http_server_kwargs") or {}),
    }
    out["transforms"] = [*kwargs.get("transforms", []), httpsafe.ClientFaultTransform]
    static = dict(out.pop("static_dirs", None) or {})
    patterns = list(out.get("extra_patterns", []))
    for url, path in static.items():
        route = rf"{url.rstrip('/')}/(.*)"
        patterns.append((route, httpsafe.SafeStaticFileHandler, {"path": path}))
    out["extra_patterns"] = patterns
    return out


def _session_secret(env: Mapping[str, str]) -> str:
    from . import guard

    secret, generated = guard.session_secret(env)
    if generated:
        log.info(
            "No EXPLAINER_SECRET_KEY set: signing session ids with a key generated for this "
            "run (give every process and machine of one site the same key)."
        )
    return secret


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    # One line per HTTP request drowns everything else.
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    _protect_log()


def _protect_log() -> None:
    """Clip, summarise and rate-limit every log handler (see :mod:`.logs`)."""
    import bokeh.server.server  # noqa: F401  (Bokeh adds its own handler on import)

    from . import logs

    logs.install()


def serve(
    routes: Mapping[str, Callable[[], Any]],
    env: Mapping[str, str] = os.environ,
    title: str | Mapping[str, str] = TITLE,
) -> None:
    """Serve ``routes`` (URL path -> function building a fresh page) until interrupted.

    ``title`` is the pages' ``<title>``, or a mapping from each route to its own.
    """
    import panel as pn

    global _serving_frame_ancestors
    _configure_logging()
    options = server_options(env)
    _serving_frame_ancestors = options["frame_ancestors"]
    if env.get("EXPLAINER_NUM_THREADS"):
        # Panel would run handlers on threads that change documents outside their locks;
        # heavy work already runs on the app's own fair pool (explainers/pool.py).
        log.warning("EXPLAINER_NUM_THREADS is no longer used: handlers run on the event loop.")
    log.info(
        "Serving %s on http://%s:%d (websocket origins %s; frame-ancestors %s; %s process(es))",
        ", ".join(routes),
        options["address"],
        options["port"],
        ",".join(options["allow_origins"]),
        " ".join(options["frame_ancestors"]),
        options["num_procs"] or "one per CPU",
    )
    # As PID 1 in a container, a process without a SIGTERM handler ignores `docker stop`.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if options["num_procs"] != 1:
        # Tornado forks the workers and leaves them running when the parent is stopped.
        os.register_at_fork(after_in_child=_terminate_with_parent)
    from . import admission, guard

    guard.install()
    admission.install()
    admission.configure(options["pages_per_s"])
    kwargs = hardened_kwargs(serve_kwargs(options, title), _session_secret(env))
    # Not started here, so that each process (after Bokeh forks the workers) can start its
    # own probe process, beating from its own event loop, first.
    server = pn.serve(dict(routes), verbose=False, start=False, **kwargs)
    if options["health_port"] is not None:
        from . import health

        global _probe  # kept for the life of the process
        _probe = health.start(options["address"], options["health_port"], server.io_loop, log)
    # Everything loaded so far (libraries, kernels, routes) lives as long as the process:
    # out of the collector's sight, each full collection has only the sessions to scan.
    gc.collect()
    gc.freeze()
    server.start()
    server.io_loop.start()


_probe = None


def _exit_on_sigterm(signum, frame):
    raise SystemExit(0)


def _terminate_with_parent() -> None:
    """In a forked worker: get SIGTERM when the parent process dies (Linux only)."""
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: workers outlive a killed parent
        pass
