# One venv, made on first use; every target works from a clean clone with only Python.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PY := $(BIN)/python

.PHONY: install proto lint typecheck test test-unit test-integration test-e2e diagram run clean bench chaos

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

proto: $(STAMP)
	$(PY) -m service.gen.build

# buf is a Node tool, installed into .tools/ on first use; `make test` does not depend on it.
BUF_VERSION ?= 1.75.0
BUF := .tools/node_modules/.bin/buf

.PHONY: lint-proto
lint-proto: $(BUF)
	$(BUF) lint proto
	$(BUF) format --diff --exit-code proto

$(BUF):
	npm install --prefix .tools --no-audit --no-fund --loglevel=error @bufbuild/buf@$(BUF_VERSION)

# The deployment files too, statically (no container engine runs on the build machines):
# hadolint, yamllint, and compose.yaml against the Compose Specification schema.
# tests/unit/test_deploy_files.py checks the rest (PromQL, metric names, how files connect).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint --no-color Dockerfile
	$(BIN)/yamllint --strict deploy .yamllint.yaml
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec deploy/compose.yaml

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -q

test-unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

diagram: $(STAMP)
	$(PY) -m aftersale.diagram > statemachine/README.md

run: $(STAMP)
	$(PY) -m service serve

# About 8 minutes: writes bench/results/latest.json and the table in BENCHMARKS.md.
bench: $(STAMP)
	$(PY) -m bench.run

# The long reliability runs (about 11 minutes): kill -9 under load, Redis restarts, the
# model-based test and the bad-input fuzz at full size. Sizes: RELIABILITY_* (tests/reliability).
chaos: $(STAMP)
	$(BIN)/pytest -q -m chaos tests/reliability

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
