"""Server configuration: option parsing, and the real server checked by real requests."""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
import time

import psutil
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from explainers.site.serving import (
    DEFAULT_MAX_MESSAGE_BYTES,
    security_headers,
    serve_kwargs,
    server_options,
)

from .apps import http_get

# ---------------------------------------------------------------- option parsing (pure)


def test_defaults_are_local_and_locked_down():
    assert server_options({}) == {
        "port": 5006,
        "address": "127.0.0.1",
        "allow_origins": ["localhost:5006", "127.0.0.1:5006"],
        "frame_ancestors": ["'self'"],
        "num_procs": 1,
        "session_lifetime_ms": 5000,
        "check_unused_ms": 2000,
        "max_message_bytes": 256 * 1024,
        "admin": False,
        "health_port": None,
        "pages_per_s": 10,
        "trust_proxy": False,
    }


def test_default_origins_follow_the_port():
    options = server_options({"EXPLAINER_PORT": "8123"})
    assert options["port"] == 8123
    assert options["allow_origins"] == ["localhost:8123", "127.0.0.1:8123"]


@pytest.mark.parametrize(
    ("name", "value", "key", "default"),
    [
        ("EXPLAINER_PORT", "http", "port", 5006),
        ("EXPLAINER_PORT", "0", "port", 5006),
        ("EXPLAINER_PORT", "70000", "port", 5006),
        ("EXPLAINER_PORT", "5006.5", "port", 5006),
        ("EXPLAINER_ADDRESS", "not an address!", "address", "127.0.0.1"),
        ("EXPLAINER_ADDRESS", "999.1.1.1;rm", "address", "127.0.0.1"),
        ("EXPLAINER_NUM_PROCS", "-1", "num_procs", 1),
        ("EXPLAINER_NUM_PROCS", "many", "num_procs", 1),
        ("EXPLAINER_SESSION_LIFETIME_MS", "10", "session_lifetime_ms", 5000),
        ("EXPLAINER_SESSION_LIFETIME_MS", "5s", "session_lifetime_ms", 5000),
        ("EXPLAINER_MAX_MESSAGE_BYTES", "1024", "max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES),
        ("EXPLAINER_MAX_MESSAGE_BYTES", "256k", "max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES),
        ("EXPLAINER_ADMIN", "maybe", "admin", False),
        ("EXPLAINER_PAGES_PER_S", "0", "pages_per_s", 10),
        ("EXPLAINER_PAGES_PER_S", "lots", "pages_per_s", 10),
        ("EXPLAINER_TRUST_PROXY", "perhaps", "trust_proxy", False),
    ],
)
def test_bad_value_is_reported_and_replaced_by_the_default(caplog, name, value, key, default):
    with caplog.at_level(logging.WARNING, logger="explainers.site.serving"):
        options = server_options({name: value})
    assert options[key] == default
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert name in messages[0] and repr(value) in messages[0] and repr(default) in messages[0]


@pytest.mark.parametrize(
    ("name", "value", "key", "expected"),
    [
        ("EXPLAINER_PORT", " 8080 ", "port", 8080),
        ("EXPLAINER_ADDRESS", "0.0.0.0", "address", "0.0.0.0"),
        ("EXPLAINER_ADDRESS", "::", "address", "::"),
        ("EXPLAINER_ADDRESS", "explainer.internal", "address", "explainer.internal"),
        ("EXPLAINER_NUM_PROCS", "0", "num_procs", 0),
        ("EXPLAINER_NUM_PROCS", "4", "num_procs", 4),
        ("EXPLAINER_SESSION_LIFETIME_MS", "60_000", "session_lifetime_ms", 60000),
        ("EXPLAINER_MAX_MESSAGE_BYTES", "1048576", "max_message_bytes", 1048576),
        ("EXPLAINER_ADMIN", "Yes", "admin", True),
        ("EXPLAINER_ADMIN", "off", "admin", False),
        ("EXPLAINER_HEALTH_PORT", "5007", "health_port", 5007),
        ("EXPLAINER_PAGES_PER_S", "40", "pages_per_s", 40),
        ("EXPLAINER_TRUST_PROXY", "1", "trust_proxy", True),
    ],
)
def test_good_values_are_taken(caplog, name, value, key, expected):
    with caplog.at_level(logging.WARNING, logger="explainers.site.serving"):
        assert server_options({name: value})[key] == expected
    assert caplog.records == []


@pytest.mark.parametrize("value", ["5006", "http", "0", "99999"])
def test_an_unusable_health_port_is_left_off(caplog, value):
    with caplog.at_level(logging.WARNING, logger="explainers.site.serving"):
        assert server_options({"EXPLAINER_HEALTH_PORT": value})["health_port"] is None
    (message,) = [r.getMessage() for r in caplog.records]
    assert message.startswith(f"EXPLAINER_HEALTH_PORT={value!r} ") and "leaving it off" in message


def test_unused_sessions_are_checked_at_least_as_often_as_they_expire():
    assert server_options({"EXPLAINER_SESSION_LIFETIME_MS": "60000"})["check_unused_ms"] == 2000
    assert server_options({"EXPLAINER_SESSION_LIFETIME_MS": "1500"})["check_unused_ms"] == 1500


def test_origins_are_normalised_to_host_and_port(caplog):
    env = {"EXPLAINER_ALLOW_ORIGINS": "https://Course.Example.org/, localhost:8080  x.org:99999"}
    with caplog.at_level(logging.WARNING, logger="explainers.site.serving"):
        options = server_options(env)
    assert options["allow_origins"] == ["course.example.org", "localhost:8080"]
    assert "'x.org:99999'" in caplog.text


def test_unusable_origins_fall_back_to_the_default(caplog):
    env = {"EXPLAINER_PORT": "7000", "EXPLAINER_ALLOW_ORIGINS": "a b;c, <script>"}
    with caplog.at_level(logging.WARNING, logger="explainers.site.serving"):
        options = server_options(env)
    # "a" is a valid host name, so it is kept; the other two are refused.
    assert options["allow_origins"] == ["a"]
    assert "'b;c'" in caplog.text and "'<script>'" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="explainers.site.serving"):
        options = server_options({"EXPLAINER_PORT": "7000", "EXPLAINER_ALLOW_ORIGINS": "b;c"})
    assert options["allow_origins"] == ["localhost:7000", "127.0.0.1:7000"]
    assert "no usable entry" in caplog.text


def test_wildcard_origin_is_allowed_only_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="explainers.site.serving"):
        options = server_options({"EXPLAINER_ALLOW_ORIGINS": "*"})
    assert options["allow_origins"] == ["*"]
    assert "any web page" in caplog.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("self", ["'self'"]),
        ("'none'", ["'none'"]),
        ("https://course.example.org self", ["https://course.example.org", "'self'"]),
        ("https://*.school.example:8443, http://localhost:8000", None),
        ("*", ["*"]),
        ("https:", ["https:"]),
    ],
)
def test_frame_ancestors_accepts_csp_sources(value, expected):
    got = server_options({"EXPLAINER_FRAME_ANCESTORS": value})["frame_ancestors"]
    assert got == (expected or value.replace(",", "").split())


@pytest.mark.parametrize(
    "value",
    [
        "https://a.example; script-src 'unsafe-inline'",
        "https://a.example\r\nSet-Cookie: x=1",
        "'none' https://a.example",
        '"self"',
    ],
)
def test_frame_ancestors_never_lets_anything_into_the_header(caplog, value):
    with caplog.at_level(logging.WARNING, logger="explainers.site.serving"):
        sources = server_options({"EXPLAINER_FRAME_ANCESTORS": value})["frame_ancestors"]
    header = security_headers(sources)["Content-Security-Policy"]
    assert caplog.records, "a refused source must be reported"
    assert re.fullmatch(r"frame-ancestors( [^\s;,\"]+)+", header), header


def test_x_frame_options_agrees_with_the_csp():
    assert security_headers(["'self'"])["X-Frame-Options"] == "SAMEORIGIN"
    assert security_headers(["'none'"])["X-Frame-Options"] == "DENY"
    assert "X-Frame-Options" not in security_headers(["'self'", "https://course.example"])


def test_serve_kwargs_carry_every_option():
    options = server_options({"EXPLAINER_NUM_PROCS": "3", "EXPLAINER_ADMIN": "1"})
    kwargs = serve_kwargs(options)
    assert kwargs["port"] == 5006 and kwargs["address"] == "127.0.0.1"
    assert kwargs["websocket_origin"] == ["localhost:5006", "127.0.0.1:5006"]
    assert kwargs["num_procs"] == 3 and kwargs["admin"] is True
    assert kwargs["unused_session_lifetime_milliseconds"] == 5000
    assert kwargs["check_unused_sessions_milliseconds"] == 2000
    assert kwargs["websocket_max_message_size"] == 256 * 1024
    assert kwargs["liveness"] is True and kwargs["show"] is False
    assert kwargs["use_xheaders"] is False
    assert kwargs["transforms"][0].headers == security_headers(["'self'"])


# ---------------------------------------------------------------- the real server


@pytest.fixture(scope="module")
def app(start_app):
    return start_app()


@pytest.fixture(scope="module")
def configured_app(start_app):
    """A server started with non-default (and two bad) values."""
    return start_app(
        {
            "EXPLAINER_FRAME_ANCESTORS": "https://course.example.org",
            "EXPLAINER_ALLOW_ORIGINS": "course.example.org",
            "EXPLAINER_ADMIN": "1",
            "EXPLAINER_NUM_PROCS": "banana",
            "EXPLAINER_MAX_MESSAGE_BYTES": "lots",
        }
    )


def _session_token(app) -> str:
    status, _, body = http_get(app.url + "/")
    assert status == 200
    return re.search(rb'"token":\s*"([^"]+)"', body).group(1).decode()


def _ws(app, origin: str, token: str = "x", uri: str | None = None, **kwargs):
    return connect(
        uri or app.url.replace("http", "ws") + "/ws",
        origin=origin,
        subprotocols=["bokeh", token],
        proxy=None,
        open_timeout=30,
        **kwargs,
    )


def test_page_is_served_with_title_and_frame_headers(app):
    status, headers, body = http_get(app.url + "/")
    assert status == 200
    assert b"<title>Boltzmann machines, hands on</title>" in body
    assert headers["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_liveness_endpoint(app):
    status, headers, body = http_get(app.url + "/liveness")
    assert status == 200
    assert json.loads(body) == {"/liveness": True}


def test_admin_is_off_by_default(app):
    assert http_get(app.url + "/admin")[0] == 404


def test_websocket_from_a_foreign_origin_is_refused(app):
    with pytest.raises(InvalidStatus) as refused:
        _ws(app, "http://evil.example", _session_token(app))
    assert refused.value.response.status_code == 403


def _server_info_request(ws, padding: int) -> None:
    """Send Bokeh's SERVER-INFO-REQ, padded to about ``padding`` bytes in its metadata part."""
    ws.send(json.dumps({"msgid": "probe", "msgtype": "SERVER-INFO-REQ"}))
    ws.send(json.dumps({"padding": "x" * padding}))
    ws.send("{}")


def _next_header(ws) -> dict:
    """Skip frames until the next Bokeh message header (every message has three parts)."""
    while True:
        part = json.loads(ws.recv(timeout=30))
        if "msgtype" in part and part.get("msgtype") != "ACK":
            return part


def test_websocket_messages_are_capped_in_size(app):
    with _ws(app, app.url, _session_token(app)) as ws:
        assert '"ACK"' in ws.recv(timeout=30).replace(" ", "")
        # Just under the cap: the server answers normally.
        _server_info_request(ws, DEFAULT_MAX_MESSAGE_BYTES - 1024)
        assert _next_header(ws)["msgtype"] == "SERVER-INFO-REPLY"
        # Just over it: the server drops the connection (sending the last part may
        # already find the socket reset).
        with pytest.raises((ConnectionClosed, ConnectionResetError)) as closed:
            _server_info_request(ws, DEFAULT_MAX_MESSAGE_BYTES + 1)
            while True:
                ws.recv(timeout=30)
    # Tornado sends close code 1009 ("message too big") and aborts; the close frame is
    # sometimes lost in the abort.
    if isinstance(closed.value, ConnectionClosed) and closed.value.rcvd is not None:
        assert closed.value.rcvd.code == 1009


def test_configured_server_follows_its_variables(configured_app):
    status, headers, _ = http_get(configured_app.url + "/")
    assert status == 200
    assert headers["Content-Security-Policy"] == "frame-ancestors https://course.example.org"
    assert "X-Frame-Options" not in headers
    assert http_get(configured_app.url + "/admin")[0] == 200


def test_configured_origins_are_allowed_and_others_still_refused(configured_app):
    token = _session_token(configured_app)
    with _ws(configured_app, "https://course.example.org", token) as ws:
        assert '"ACK"' in ws.recv(timeout=30).replace(" ", "")
    with pytest.raises(InvalidStatus) as refused:
        _ws(configured_app, "http://localhost:1", token)
    assert refused.value.response.status_code == 403


def test_the_servers_own_origin_is_allowed_under_any_host_name(app):
    # Tornado lets a page talk to the host that served it (Origin == Host), so the image
    # works under any name or mapped port without setting EXPLAINER_ALLOW_ORIGINS.
    token = _session_token(app)
    host = f"explainer.test:{app.port}"
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        with _ws(app, f"http://{host}", token, uri=f"ws://{host}/ws", sock=sock) as ws:
            assert '"ACK"' in ws.recv(timeout=30).replace(" ", "")
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        with pytest.raises(InvalidStatus) as refused:
            _ws(app, "http://evil.example", token, uri=f"ws://{host}/ws", sock=sock)
    assert refused.value.response.status_code == 403


def test_bad_values_give_a_readable_line_not_a_traceback(configured_app):
    log = configured_app.log()
    assert "EXPLAINER_NUM_PROCS='banana' is not a whole number; using 1 instead." in log
    assert "EXPLAINER_MAX_MESSAGE_BYTES='lots' is not a whole number" in log
    assert "Traceback" not in log


@pytest.mark.deploy
def test_several_processes_serve_and_stop_with_their_parent(start_app):
    app = start_app({"EXPLAINER_NUM_PROCS": "2"})
    workers = psutil.Process(app.proc.pid).children()
    assert len(workers) == 2
    # The app's port answers as soon as either worker listens; each worker then starts
    # a probe process of its own, which on a busy machine can take a few seconds more.
    deadline = time.monotonic() + 60
    while app.log().count("Answering /liveness on") < 2:
        assert time.monotonic() < deadline, f"a worker never started its probe:\n{app.log()}"
        time.sleep(0.2)
    assert app.log().count("Answering /liveness on") == 2
    for _ in range(4):
        assert http_get(app.url + "/liveness")[0] == 200
        # Both probes bind the port.  One whose worker's event loop has not turned yet
        # answers 503 (as documented).
        deadline = time.monotonic() + 15
        while http_get(app.health_url + "/liveness")[0] != 200:
            assert time.monotonic() < deadline, "a worker's probe never answered 200"
            time.sleep(0.2)
    app.proc.send_signal(signal.SIGTERM)  # the parent only, as `docker stop` would
    assert app.proc.wait(timeout=30) == 0
    gone, alive = psutil.wait_procs(workers, timeout=30)
    for orphan in alive:
        orphan.kill()
    assert not alive, f"workers outlived their parent: {alive}"
