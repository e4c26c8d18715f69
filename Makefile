# One venv, made on first use; every target works from a clean clone with only Python
# (plus node/npm and apt-get for the contract tools: buf and the Go plugins, see below).
# `make help` lists the targets: the text after `## ` on each target's line.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PY := $(BIN)/python

.DEFAULT_GOAL := help
.PHONY: help install proto proto-go proto-tools lint lint-proto breaking typecheck test \
	test-unit test-integration test-e2e diagram spec run clean bench chaos client-proto test-client

help: ## list the targets and what each does
	@grep -E '^[a-z][a-z0-9-]*:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "}; {printf "  make %-17s %s\n", $$1, $$2}'

# The client (clients/python) goes into .venv too, editable: for ruff and mypy, and for the
# test processes that run it (tests/reliability/payment_consumer.py). Its own tests run in its
# own venv (test-client, below).
$(STAMP): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/pip install --quiet -e clients/python
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the service with its dev tools
	@true

proto: $(STAMP) ## regenerate the Python stubs in service/gen from proto/
	$(PY) -m service.gen.build

# --- The Python client (clients/python, package aftersale-client) -----------------------------
# Its tests run in a venv of their own holding only the client and pytest, installed from the
# source as a client team installs it (not editable), so they prove it needs nothing of the
# server; the server under test is `python -m service serve` from .venv, a subprocess.
CLIENT := clients/python
CLIENT_BIN := $(CLIENT)/.venv/bin
CLIENT_STAMP := $(CLIENT)/.venv/.installed

$(CLIENT_STAMP): $(CLIENT)/pyproject.toml
	$(PYTHON) -m venv $(CLIENT)/.venv
	$(CLIENT_BIN)/pip install --quiet --upgrade pip 'setuptools>=77'
	$(CLIENT_BIN)/pip install --quiet '$(CLIENT)[test]'
	touch $(CLIENT_STAMP)

client-proto: $(STAMP) ## regenerate the client's stubs, typed methods and retry policy copy
	$(PY) $(CLIENT)/tools/build.py

test-client: $(STAMP) $(CLIENT_STAMP) ## the client's tests, in its own venv, on a server subprocess
	$(CLIENT_BIN)/pip install --quiet --no-deps --no-build-isolation --force-reinstall ./$(CLIENT)
	cd $(CLIENT) && SERVER_PYTHON=$(CURDIR)/$(PY) .venv/bin/pytest -q

# --- The contract's tools, installed into .tools/ on first use (no root needed) -------------
# buf is a Node tool (npm). protoc-gen-go and protoc-gen-go-grpc are Debian packages: their
# .debs are fetched with apt-get through a private package index under .tools/apt (so neither
# root nor the system's apt state is needed) and unpacked with dpkg-deb; the binaries are
# static Go programs. Neither PyPI nor npm ships protoc-gen-go.
BUF_VERSION ?= 1.75.0
BUF := .tools/node_modules/.bin/buf
GO_PLUGINS := protoc-gen-go protoc-gen-go-grpc
PROTOC_GEN_GO := .tools/bin/protoc-gen-go
APT_PRIVATE := -o Dir::State::Lists=$(CURDIR)/.tools/apt/lists \
	-o Dir::Cache=$(CURDIR)/.tools/apt/cache -o Debug::NoLocking=1
GO_OUT ?= build

$(BUF):
	npm install --prefix .tools --no-audit --no-fund --loglevel=error @bufbuild/buf@$(BUF_VERSION)

$(PROTOC_GEN_GO):
	rm -rf .tools/apt .tools/deb .tools/root
	mkdir -p .tools/apt/lists/partial .tools/apt/cache/archives/partial .tools/deb .tools/bin
	apt-get -qq $(APT_PRIVATE) update
	cd .tools/deb && apt-get -qq $(APT_PRIVATE) download $(GO_PLUGINS)
	for deb in .tools/deb/*.deb; do dpkg-deb -x "$$deb" .tools/root; done
	for plugin in $(GO_PLUGINS); do ln -sf ../root/usr/bin/$$plugin .tools/bin/$$plugin; done
	rm -rf .tools/apt

proto-tools: $(BUF) $(PROTOC_GEN_GO) ## install buf and the Go plugins into .tools/

proto-go: proto-tools ## generate Go code from proto/ into build/gen/go (buf, unmanaged)
	rm -rf $(GO_OUT)/gen/go
	PATH="$(CURDIR)/.tools/bin:$$PATH" $(BUF) generate proto \
		--template proto/buf.gen.yaml -o $(GO_OUT)

lint-proto: proto-tools breaking ## buf lint, buf format, buf breaking against HEAD~1
	$(BUF) lint proto
	$(BUF) format --diff --exit-code proto

# buf breaking against the contract as it was one commit ago (on main: the previous merge);
# BREAKING_AGAINST=<commit> compares with another one. The old tree comes from `git archive`,
# so only the local object store is read; a shallow clone is deepened by one commit first,
# and a clone with no parent commit says it skipped.
BREAKING_AGAINST ?= HEAD~1

breaking: $(BUF) ## buf breaking: the contract against the previous commit
	@if [ "$$(git rev-parse --is-shallow-repository)" = true ]; then \
		git fetch --quiet --deepen=1 2>/dev/null || true; fi
	@if git rev-parse --verify --quiet '$(BREAKING_AGAINST)^{commit}' >/dev/null; then \
		rm -rf build/against && mkdir -p build/against && \
		git archive $(BREAKING_AGAINST) proto | tar -x -C build/against && \
		echo "buf breaking proto --against $(BREAKING_AGAINST) ($$(git rev-parse --short $(BREAKING_AGAINST)))" && \
		$(BUF) breaking proto --against build/against/proto; \
	else echo "buf breaking: SKIPPED, $(BREAKING_AGAINST) is not in this clone"; fi

# --- Checks ----------------------------------------------------------------------------------
# The deployment files too, statically (no container engine runs on the build machines):
# hadolint, yamllint, and compose.yaml against the Compose Specification schema.
# tests/unit/test_deploy_files.py checks the rest (PromQL, metric names, how files connect).
lint: $(STAMP) ## ruff, and the deployment files (hadolint, yamllint, Compose schema)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint --no-color Dockerfile
	$(BIN)/yamllint --strict deploy .yamllint.yaml
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec deploy/compose.yaml

typecheck: $(STAMP) ## mypy --strict (the service, then the client with its own config)
	$(BIN)/mypy
	cd $(CLIENT) && $(CURDIR)/$(BIN)/mypy

# The Go generation test (tests/unit/test_proto_languages.py) needs buf and protoc-gen-go: installed
# here first, and required (a missing tool fails the test instead of skipping it; the name
# has no AFTERSALE_ prefix: the service refuses unknown AFTERSALE_* variables).
test: lint typecheck proto-tools ## lint, typecheck and every test but the long runs
	PROTO_TOOLS_REQUIRED=1 $(BIN)/pytest -q
	$(MAKE) test-client

test-unit: $(STAMP) ## the unit tests (no I/O; seconds)
	$(BIN)/pytest -q tests/unit

test-integration: $(STAMP) ## the integration tests (real redis-server processes)
	$(BIN)/pytest -q tests/integration

test-e2e: $(STAMP) ## the end-to-end tests (a real gRPC server on real Redis)
	$(BIN)/pytest -q tests/e2e

diagram: $(STAMP) ## regenerate statemachine/README.md from the machine
	$(PY) -m aftersale.diagram > statemachine/README.md

spec: $(STAMP) ## regenerate the tables of SPEC.md (the rules) from the machine
	$(PY) -m aftersale.specdoc --write SPEC.md

run: $(STAMP) ## start the server on 127.0.0.1:50051 with its own Redis (./var)
	$(PY) -m service serve

bench: $(STAMP) ## the benchmarks, about 8 minutes (BENCHMARKS.md, bench/results)
	$(PY) -m bench.run

# Sizes: RELIABILITY_* (tests/reliability).
chaos: $(STAMP) ## the long reliability runs, about 11 minutes (kill -9, Redis restarts, fuzz)
	$(BIN)/pytest -q -m chaos tests/reliability

clean: ## remove the venv, caches and build output (not .tools/ nor var/)
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build *.egg-info
	rm -rf $(CLIENT)/.venv $(CLIENT)/build $(CLIENT)/src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
