# HomeRack developer entry points. `make dev` runs HomeRack, `make test` runs every test,
# `make lab` deploys the production stack with Ansible into a local container.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Admin DSN of the real PostgreSQL the tests create their databases in (peer auth as root).
export HOMERACK_TEST_POSTGRES ?= postgresql:///postgres
export HOMERACK_TEST_REDIS ?= redis://127.0.0.1:6379/15

.PHONY: dev test pytest lint ansible-lint alerts molecule lab lab-destroy services venv clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,deploy]'
	touch $@

venv: $(BIN)/.installed

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

pytest: venv services
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## yamllint + ansible-lint (production profile) over the whole repository, and a check that
## the root group_vars/ load for playbooks under playbooks/.
ansible-lint: venv
	$(BIN)/yamllint .
	$(BIN)/ansible-lint
	$(BIN)/ansible-playbook playbooks/show-settings.yml
	$(BIN)/ansible-playbook -i inventory/lab playbooks/show-settings.yml

## Prometheus alert rules: syntax check, then their promtool unit tests (promtool from PATH or
## from Debian's prometheus package, unpacked into ~/.cache; see scripts/promtool.sh).
alerts:
	bash scripts/promtool.sh check rules roles/prometheus/files/homerack-alerts.yml
	bash scripts/promtool.sh test rules tests/prometheus/homerack-alerts.test.yml

## Molecule, with timings: site.yml in the single-host shape on Debian 12 and 13 and the cluster
## shape on Debian 12, then every role alone on Debian 12 (three at a time; MOLECULE_JOBS).
molecule: venv
	bash scripts/molecule.sh

## The lab: lampadas.local in a local container, deployed by site.yml (needs Docker or root).
lab: venv
	bash scripts/lab.sh

lab-destroy:
	bash scripts/lab.sh destroy

services:
	bash scripts/test-services.sh

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
