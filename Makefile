# hexmesh — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP) ## Create the virtual environment and install hexmesh with its dev tools

demo: install ## Build, deploy and run the example podcast mesh into ./.hexmesh
	$(BIN)/hexmesh demo
	@echo "hexmesh is installed in $(VENV): run '. $(BIN)/activate' to type the commands above as they are"

test: install lint typecheck contracts pytest ## Run every check and every test

lint: install ## Ruff: the rules and the format
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install ## mypy --strict over src, tests and bench
	$(BIN)/mypy

contracts: install ## Import-linter: planes depend one way
	$(BIN)/lint-imports

pytest: install ## The test suite
	$(BIN)/pytest

bench: install ## Foundation benchmarks (publish, time travel, memory); results in bench/results/
	$(BIN)/python -m bench

bench-all: bench ## Every benchmark: also the SQL port, node, search, governance and lifecycle
	$(BIN)/python -m bench.sql.port
	$(BIN)/python -m bench.node.files
	$(BIN)/python -m bench.node.events
	$(BIN)/python -m bench.node.discovery
	$(BIN)/python -m bench.mesh.search
	$(BIN)/python -m bench.mesh.semantic
	$(BIN)/python -m bench.governance
	$(BIN)/python -m bench.governance.encryption
	$(BIN)/python -m bench.lifecycle.propagation
	$(BIN)/python -m bench.lifecycle.ingest
	$(BIN)/python -m bench.lifecycle.cdc
	$(BIN)/python -m bench.cluster.failover
	$(BIN)/python -m bench.cluster.scale
	$(BIN)/python -m bench.cluster.crossnode
	$(BIN)/python -m bench.storage

clean: ## Remove the environment, workspace and caches
	rm -rf $(VENV) .hexmesh .pytest_cache .mypy_cache .ruff_cache

.PHONY: help install demo test lint typecheck contracts pytest bench bench-all clean
