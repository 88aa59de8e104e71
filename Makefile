# HomeRack developer entry points. `make dev` runs HomeRack, `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Admin DSN of the real PostgreSQL the tests create their databases in (peer auth as root).
export HOMERACK_TEST_POSTGRES ?= postgresql:///postgres
export HOMERACK_TEST_REDIS ?= redis://127.0.0.1:6379/15

.PHONY: dev test lint services venv clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

## Run HomeRack: the dev server on SQLite (./var) with the catalog and a demo homelab.
dev: venv
	$(BIN)/homerack db upgrade
	-$(BIN)/homerack demo
	$(BIN)/homerack serve --host 127.0.0.1 --port 8000

## Run every test against real PostgreSQL and SQLite, after the linters.
test: venv services lint
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check .

services:
	bash scripts/test-services.sh

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
