# The explainer as a self-contained web server: every route of app.py on port 5006.
#
#   docker build -t explainer .
#   docker run --rm -p 5006:5006 --read-only --tmpfs /tmp explainer
#
# BASE can be any Debian-like image with Python 3.11+ and the venv module; CI builds on a
# local debootstrap stand-in (see scripts/docker-smoke), whose python is /usr/bin/python3.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

# Handed to pip only: a CA bundle, where HTTPS goes through an intercepting proxy.
ARG PIP_CERT

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    NUMBA_CACHE_DIR=/opt/numba-cache \
    HOME=/tmp \
    EXPLAINER_ADDRESS=0.0.0.0 \
    EXPLAINER_PORT=5006 \
    EXPLAINER_HEALTH_PORT=5007

WORKDIR /app

# Dependencies first: this layer is reused until requirements.txt changes.
COPY requirements.txt .
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/python -m pip install --no-cache-dir -r requirements.txt

COPY . .

# Compile the app's bytecode and every numba kernel now, so that a container with a
# read-only root starts with both. The kernel cache is world-readable; the entrypoint
# copies it to /tmp when it cannot be written (numba refuses a read-only cache dir).
RUN /opt/venv/bin/python -m compileall -q app.py engine explainers \
    && /opt/venv/bin/python -m engine.warmup \
    && chmod -R a+rX /opt/numba-cache /app \
    && install -m 0755 deploy/entrypoint.sh /usr/local/bin/explainer-entrypoint \
    && groupadd --system --gid 10001 explainer \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp \
        --shell /usr/sbin/nologin explainer

# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001

# 5007 answers /liveness from a thread of its own, however busy the app's event loop is.
EXPOSE 5006 5007

HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/opt/venv/bin/python", "-c", "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:%s/liveness' % (os.environ.get('EXPLAINER_HEALTH_PORT') or os.environ.get('EXPLAINER_PORT', '5006')), timeout=4)"]

ENTRYPOINT ["/usr/local/bin/explainer-entrypoint"]
CMD ["/opt/venv/bin/python", "app.py"]
