# The two set-up commands of the README: `make demo` and `make test`.
# Both build everything they need from scratch on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_DIR := node_tools
NODE_STAMP := $(NODE_DIR)/node_modules/.installed
CHROMIUM := /usr/bin/chromium

.PHONY: demo test lint typecheck pytest pytest-postgres setup node contracts chromium clean

setup: $(STAMP) $(NODE_STAMP) chromium

# Headless Chromium for the dashboard tests (Debian's package, driven by Playwright
# through executable_path; `playwright install` is never used). About 1.5 min once.
chromium:
	@test -x $(CHROMIUM) || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# anvil (local EVM node) and solcjs (Solidity compiler), pinned by package-lock.json.
$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	# `npm ci` refuses this lock: npm 11 records only the host platform of anvil's
	# optional per-platform packages. `npm install` honours the lock (exact pins).
	cd $(NODE_DIR) && npm install --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

node: $(NODE_STAMP)

# Recompile the Solidity test contracts into the one committed artifacts file, package
# data of hedgebot.devnet (the anvil tests also compile the sources in their set-up and
# fail if it is stale).
contracts:
	node tests/contracts/compile.js src/hedgebot/devnet/artifacts.json

demo: $(STAMP) $(NODE_STAMP)
	$(BIN)/hedgebot demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

# The PostgreSQL tests create and drop their own databases (hedgebot_test_<pid>_<random>)
# on HEDGEBOT_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres.
# Server unreachable: they fail when CI=true and are skipped otherwise.
pytest: setup
	$(BIN)/pytest

pytest-postgres: setup
	$(BIN)/pytest -m postgres

test: setup lint typecheck pytest

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules .pytest_cache .mypy_cache .ruff_cache
