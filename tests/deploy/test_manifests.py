"""The deployment files agree with the image and with each other (no cluster needed)."""

from __future__ import annotations

import re

import yaml

from .apps import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()
NGINX_CONF = (REPO / "deploy" / "nginx.conf").read_text()


def _dockerfile(instruction: str) -> str:
    return re.search(rf"^{instruction} (.+)$", DOCKERFILE, re.M).group(1)


def _dockerfile_env(name: str) -> str:
    return re.search(rf"^\s+(?:ENV )?{name}=(\S+?)(?: \\)?$", DOCKERFILE, re.M).group(1)


def _k8s():
    return {d["kind"]: d for d in yaml.safe_load_all((REPO / "deploy" / "k8s.yaml").read_text())}


def test_image_user_is_numeric_and_not_root():
    uid, gid = _dockerfile("USER").split(":")
    assert int(uid) > 0 and int(gid) > 0


def test_kubernetes_deployment_is_locked_down_and_probed():
    k8s = _k8s()
    pod = k8s["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert str(pod["securityContext"]["runAsUser"]) == _dockerfile("USER").split(":")[0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    (mount,) = container["volumeMounts"]
    assert mount["mountPath"] == "/tmp"
    assert {"name": mount["name"], "emptyDir": {"sizeLimit": "256Mi"}} in pod["volumes"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert sorted(ports.values()) == sorted(map(int, _dockerfile("EXPOSE").split()))
    assert ports["health"] == int(_dockerfile_env("EXPLAINER_HEALTH_PORT"))
    # Liveness asks the probe thread (a busy pod is not restarted); readiness the app itself.
    expected = {"startupProbe": "health", "readinessProbe": "http", "livenessProbe": "health"}
    for probe, port in expected.items():
        assert container[probe]["httpGet"] == {"path": "/liveness", "port": port}
    assert k8s["Deployment"]["spec"]["replicas"] >= 2


def test_kubernetes_routing_is_sticky():
    k8s = _k8s()
    assert k8s["Service"]["spec"]["sessionAffinity"] == "ClientIP"
    annotations = k8s["Ingress"]["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    backend = k8s["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == k8s["Service"]["metadata"]["name"]


def test_compose_runs_replicas_read_only_behind_nginx():
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())
    app, nginx = compose["services"]["app"], compose["services"]["nginx"]
    assert app["deploy"]["replicas"] >= 2
    assert app["read_only"] is True and app["tmpfs"] == ["/tmp"]
    assert "ports" not in app  # reachable through nginx only
    assert app["environment"]["EXPLAINER_TRUST_PROXY"] == "1"  # so each reader's address counts
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    # nginx's upstream names the app service on the image's port.
    upstream = re.search(r"upstream explainer \{(.*?)\}", NGINX_CONF, re.S).group(1)
    assert "ip_hash;" in upstream
    assert f"server app:{_dockerfile_env('EXPLAINER_PORT')};" in upstream


def test_nginx_passes_websocket_upgrades_and_the_host():
    for line in (
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header Host $http_host;",
        # the client's own address, which the app's per-address limits trust
        "proxy_set_header X-Real-IP $remote_addr;",
    ):
        assert line in NGINX_CONF
