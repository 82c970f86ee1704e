"""deploy/nginx.conf, for real: Debian's nginx in front of two app processes on loopback.

The shipped configuration is used with only its addresses changed (upstream servers, listen
port) plus test-only logging of which backend served each request. ip_hash keys on the
first three octets of the client's IPv4 address, and all of 127.0.0.0/8 is loopback on
Linux, so clients bound to 127.<k>.0.1 act as different visitors.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .apps import REPO, free_port, http_get

pytestmark = pytest.mark.deploy

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CLIENTS = [f"127.{k}.0.1" for k in range(1, 17)]


def _nginx_conf(backends: list[int], port: int, prefix: Path) -> str:
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    servers = "".join(f"server 127.0.0.1:{p};\n        " for p in backends)
    conf, n_servers = re.subn(r"server app:5006;\n\s*", servers, conf)
    conf, n_listen = re.subn(r"listen 8080;", f"listen 127.0.0.1:{port};", conf)
    assert n_servers == 1 and n_listen == 1, "deploy/nginx.conf changed shape; update this test"
    test_only = f"""
    # test only: temp files under the prefix, and which backend served what
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    log_format backend '$remote_addr "$request" $status $upstream_addr';
    access_log {prefix}/access.log backend;
    add_header X-Test-Backend $upstream_addr always;
"""
    return conf.replace("http {\n", "http {\n" + test_only, 1)


@pytest.fixture(scope="module")
def stack(start_app, tmp_path_factory):
    if not Path(NGINX).exists():
        pytest.fail(f"nginx not found (looked for {NGINX}); `make system-deps` installs it")
    proxy_port = free_port()
    origins = f"127.0.0.1:{proxy_port},localhost:{proxy_port}"
    apps = [start_app({"EXPLAINER_ALLOW_ORIGINS": origins}, wait=False) for _ in range(2)]
    for app in apps:
        app.wait_ready()
    prefix = tmp_path_factory.mktemp("nginx")
    (prefix / "tmp").mkdir()
    (prefix / "nginx.conf").write_text(_nginx_conf([a.port for a in apps], proxy_port, prefix))
    # master_process off: one process, as this user, so no privileges are needed.
    error_log = str(prefix / "error.log")
    globals_ = f"daemon off; master_process off; pid {prefix}/nginx.pid; error_log {error_log};"
    cmd = [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", error_log]
    check = subprocess.run([*cmd, "-t", "-g", globals_], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([*cmd, "-g", globals_], stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{proxy_port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if http_get(url + "/liveness", timeout=5)[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("nginx did not answer: " + (prefix / "error.log").read_text())
    yield {"url": url, "port": proxy_port, "apps": apps, "prefix": prefix}
    proc.terminate()
    proc.wait(timeout=10)


def _backend_for(stack, client_ip: str, path: str = "/liveness") -> str:
    conn = http.client.HTTPConnection(
        "127.0.0.1", stack["port"], timeout=30, source_address=(client_ip, 0)
    )
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, (client_ip, path, response.status)
        return response.getheader("X-Test-Backend")
    finally:
        conn.close()


def test_each_visitor_sticks_to_one_backend_and_both_backends_serve(stack):
    backend_ports = {f"127.0.0.1:{a.port}" for a in stack["apps"]}
    chosen = {}
    for client in CLIENTS:
        # Cheap requests only: every GET of a page builds a whole session.
        seen = {_backend_for(stack, client, path) for path in ("/liveness", "/favicon.ico") * 3}
        assert len(seen) == 1, f"{client} was sent to {seen}"
        chosen[client] = seen.pop()
    assert set(chosen.values()) == backend_ports, chosen


def test_the_page_is_proxied_with_its_headers(stack):
    status, headers, body = http_get(stack["url"] + "/")
    assert status == 200
    assert b"<title>Boltzmann machines, hands on</title>" in body
    assert headers["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_a_browser_session_through_nginx_keeps_working(stack):
    # A section alone loads faster than the whole story; without sections, the story.
    path = "/hopfield" if http_get(stack["url"] + "/hopfield")[0] == 200 else "/"
    run = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "smoke_browser.py"), stack["url"], "--path", path],
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["ws_frames_in"] > 0
    # The page and its websocket were served by the same backend (nginx logs a websocket
    # when it closes, which it has: the browser is gone).
    log = (stack["prefix"] / "access.log").read_text()
    page = re.findall(rf'^127\.0\.0\.1 "GET {re.escape(path)} HTTP/1\.1" 200 (\S+)$', log, re.M)
    ws = re.findall(r'^127\.0\.0\.1 "GET /[\w/]*ws HTTP/1\.1" 101 (\S+)$', log, re.M)
    assert page and ws, log
    assert ws[-1] == page[-1]
