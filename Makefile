# Everything a fresh machine needs is installed by these targets.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# `make run PORT=8000` and `PORT=8000 make run` set EXPLAINER_PORT; unset, EXPLAINER_PORT
# (or its default, 5006) stands. Every other EXPLAINER_* variable passes through as is.
PORT ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint format bench bench-app bench-app-smoke warmup screenshots docker-smoke system-deps clean clean-cache

$(VENV)/.run-installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt $(VENV)/.run-installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Debian's Chromium drives the browser tests (Playwright never downloads a browser here);
# nginx fronts two app processes in the sticky-routing test.
system-deps:
	@command -v chromium >/dev/null && command -v nginx >/dev/null || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium nginx >/dev/null)

run: $(VENV)/.run-installed
	$(if $(PORT),EXPLAINER_PORT=$(PORT) )$(PY) app.py

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Two runs: pytest-playwright keeps an asyncio loop running in the main thread once a browser
# test has started, so tests that drive asyncio themselves (websocket clients) go first.
# Only real-browser tests are retried (twice: a busy machine can upset a browser's timing);
# a failure anywhere else is a bug to fix, not to retry.
test: $(VENV)/.dev-installed system-deps lint
	$(PY) -m pytest -m "not browser and not appbench"
	$(PY) -m pytest -m browser --reruns 2 --reruns-delay 2

bench: $(VENV)/.dev-installed
	$(PY) -m bench

bench-app: $(VENV)/.dev-installed system-deps
	$(PY) -m bench.app

# The app benchmark end to end in its quick form (several minutes, so not part of `make test`).
bench-app-smoke: $(VENV)/.dev-installed system-deps
	$(PY) -m pytest -m appbench

warmup: $(VENV)/.run-installed
	$(PY) -m engine.warmup

screenshots: $(VENV)/.dev-installed system-deps
	$(PY) scripts/screenshots.py

docker-smoke:
	bash scripts/docker-smoke

# numba's on-disk cache does not notice edits to kernels it inlined from another module.
clean-cache:
	find engine -name '*.nbi' -delete -o -name '*.nbc' -delete

clean: clean-cache
	rm -rf $(VENV) .pytest_cache .ruff_cache test-results
