# The two commands a newcomer needs: `make run` and `make test`. Each bootstraps .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(PY) -m services

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "# $$b"; $(PY) $$b || exit 1; done

bench-%: $(STAMP)
	$(PY) bench/bench_$*.py

clean:
	rm -rf .data .pytest_cache

# Browser tests (tests/browser): Debian's chromium + python playwright, then run them.
.PHONY: browser-deps test-browser
browser-deps: $(STAMP)
	PYTHON=$(PY) sh tests/browser/install.sh

test-browser: browser-deps
	$(PY) -m pytest tests/browser
