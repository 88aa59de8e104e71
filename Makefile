# HomeRack developer entry points. `make dev` runs HomeRack, `make test` runs every test,
# `make lab` deploys the production stack with Ansible into a local container.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Admin DSN of the real PostgreSQL the tests create their databases in (peer auth as root).
export HOMERACK_TEST_POSTGRES ?= postgresql:///postgres
export HOMERACK_TEST_REDIS ?= redis://127.0.0.1:6379/15

.PHONY: dev controller test pytest unit lint lock ansible-lint alerts molecule lab lab-destroy services venv clean

# The release's lock for this machine's Python and architecture, when there is one: the
# venv gets the same pins the release ships (lock/, written by `make lock`).
LOCK := lock/cp$(shell $(PYTHON) -c 'import sys; print("%d%d" % sys.version_info[:2])')-$(shell uname -m).txt

# The app alone (editable, its [project] dependencies): all `make dev` needs.
$(BIN)/.installed: pyproject.toml $(wildcard $(LOCK))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(if $(wildcard $(LOCK)),$(BIN)/pip install -q --require-hashes -r $(LOCK))
	$(BIN)/pip install -q -e .
	touch $@

# A development-only dependency group of pyproject.toml (PEP 735) on top of the app:
# .installed-test, .installed-lint, .installed-deploy, .installed-bench.
$(BIN)/.installed-%: pyproject.toml $(BIN)/.installed
	$(BIN)/pip install -q --group $*
	touch $@

venv: $(BIN)/.installed

## The deployment controller: the app's venv plus Ansible (the deploy dependency group).
controller: $(BIN)/.installed-deploy

## Run HomeRack: the web UI and the API at http://127.0.0.1:8000/, on SQLite (./var), with the
## catalog and a demo homelab.
dev: venv
	$(BIN)/homerack db upgrade
	-$(BIN)/homerack demo
	$(BIN)/homerack serve --host 127.0.0.1 --port 8000

## Run every test: linters, the alert rules' unit tests, the Python tests against real
## PostgreSQL and SQLite, then the Ansible deployment in Molecule (site.yml on Debian 12 and 13
## systemd containers).
test: venv services lint ansible-lint alerts pytest molecule

pytest: $(BIN)/.installed-test services
	$(BIN)/pytest

## The pure domain tests (tests/domain) in seconds, with no service: no PostgreSQL, no Redis,
## and not the fixtures of tests/conftest.py. `make unit PYTEST_ARGS='-m "not slow"'` also
## skips the slow property tests.
unit: $(BIN)/.installed-test
	env -u HOMERACK_TEST_POSTGRES -u HOMERACK_TEST_REDIS \
		$(BIN)/pytest tests/domain --confcutdir=tests/domain $(PYTEST_ARGS)

## ruff (lint and format), mypy (app/homerack, configured in pyproject.toml) and the check
## that lock/ matches pyproject.toml's dependencies.
lint: $(BIN)/.installed-lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	UV=$(BIN)/uv PYTHON=$(BIN)/python bash scripts/lock.sh --check

## Re-lock the release's dependencies (lock/*.txt, one per target platform) after a change
## to pyproject.toml's [project] dependencies; `make lock LOCK_ARGS=--upgrade` takes the
## newest versions pyproject.toml allows.
lock: $(BIN)/.installed-lint
	UV=$(BIN)/uv PYTHON=$(BIN)/python bash scripts/lock.sh $(LOCK_ARGS)

## yamllint + ansible-lint (production profile) over the whole repository, and a check that
## the root group_vars/ load for playbooks under playbooks/.
ansible-lint: $(BIN)/.installed-lint $(BIN)/.installed-deploy
	$(BIN)/yamllint .
	$(BIN)/ansible-lint
	$(BIN)/ansible-playbook playbooks/show-settings.yml
	$(BIN)/ansible-playbook -i inventory/lab playbooks/show-settings.yml

## Prometheus alert rules: syntax check, then their promtool unit tests (promtool from PATH or
## from Debian's prometheus package, unpacked into ~/.cache; see scripts/promtool.sh).
alerts:
	bash scripts/promtool.sh check rules roles/prometheus/files/homerack-alerts.yml
	bash scripts/promtool.sh test rules tests/prometheus/homerack-alerts.test.yml

## Molecule, with timings: site.yml in the single-host shape on Debian 12, the same on Debian 13
## in a 1 GiB, 1 CPU host (the small-host profile), the cluster shape on Debian 12, then every
## role alone on Debian 12 (three at a time; MOLECULE_JOBS).
molecule: $(BIN)/.installed-deploy
	bash scripts/molecule.sh

## The lab: lampadas.local in a local container, deployed by site.yml (needs Docker or root).
lab: $(BIN)/.installed-deploy
	bash scripts/lab.sh

lab-destroy:
	bash scripts/lab.sh destroy

services:
	bash scripts/test-services.sh

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
