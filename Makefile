# Anxin (安心) — two commands: `make demo` runs the service, `make test` runs every test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two installs: the service's own dependencies (what `make demo` needs), and everything
# (the test and benchmark tool chains as well) for `make test`, `make lint` and the benches.
SERVICE_STAMP := $(VENV)/.installed-service
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast install install-service lint bench-solomon bench-help clean

$(SERVICE_STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(SERVICE_STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $(SERVICE_STAMP) $(STAMP)

install-service: $(SERVICE_STAMP)

install: $(STAMP)

## Set up and run the service on http://127.0.0.1:8080 (SQLite, in-process bus, demo station);
## installs only what the service needs.
demo: $(SERVICE_STAMP)
	$(BIN)/anxin demo --host 127.0.0.1 --port 8080

## Set up and run the whole test suite (provisions PostgreSQL, Redis and Chromium where missing).
test: $(STAMP)
	bash scripts/provision.sh
	ANXIN_REQUIRE_BACKENDS=1 $(BIN)/pytest -q -p no:cacheprovider

## Quick local loop: skip slow fault and browser tests.
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow and not browser"

## The style the machine keeps: lint, format, strict types everywhere, and what the change
## repeats (duplicates is this workplace's tool; it only prints, where it is installed).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@if command -v duplicates >/dev/null; then duplicates --change --base $${LINT_BASE:-$$(git merge-base HEAD origin/main 2>/dev/null || echo HEAD)}; fi

bench-solomon: $(STAMP)
	$(BIN)/anxin bench solomon ../shared/benchmarks/solomon/*.vrp --time-limit 5

bench-help: $(STAMP)
	$(BIN)/python -m bench.help_calls

clean:
	rm -rf $(VENV) var .pytest_cache

## The deployment checks: the restore drill (SQLite and PostgreSQL), Debian's nginx in front
## of two servers, the serve/backup/restore refusals (provisions PostgreSQL, Redis, nginx).
.PHONY: test-deploy
test-deploy: $(STAMP)
	bash scripts/provision.sh
	ANXIN_REQUIRE_BACKENDS=1 $(BIN)/pytest -q -p no:cacheprovider tests/deploy
