# AI call center on Asterisk: the commands a newcomer needs.
#   make demo   - bring up the lab (Asterisk + PostgreSQL), the app, and a simulated debtor phone; place a call
#   make test   - everything CI runs: unit tests and integration tests against the real lab
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help setup packages lab lab-down lab-status run demo call campaign carrier test test-unit test-lab bench lint clean

help:
	@grep -E '^[a-z-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-11s %s\n", $$1, $$2}'

packages: ## install the system packages (Debian/Ubuntu) the lab and tests need
	bash asterisk/lab/packages.sh

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python >= 3.11 needed" >&2; exit 1; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || bash asterisk/lab/packages.sh python3-venv
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

setup: packages $(STAMP) ## system packages + Python virtualenv

lab: packages ## start the real Asterisk 22 + PostgreSQL lab (builds the cached Asterisk root on first run)
	bash asterisk/lab/lab.sh up

lab-down: ## stop the lab
	bash asterisk/lab/lab.sh down

lab-status:
	bash asterisk/lab/lab.sh status

run: setup lab ## run the Stasis app in the foreground (Ctrl-C to stop)
	$(PY) -m ari_app run

call: setup lab ## place one outbound call: make call NUMBER=5551234
	$(PY) -m ari_app call $(NUMBER)

# make campaign: a wave now for CAMPAIGN, importing FILE for COMPANY first when given; progress until the
# wave's calls are done. SCHEDULE=1 keeps running and fires the waves at their times instead.
# With no CAMPAIGN, the lab demo: the sample debtors of a demo company.
CAMPAIGN ?= Demo temprana
ifeq ($(CAMPAIGN),Demo temprana)
COMPANY ?= Demo Cobranzas
FILE ?= campaigns/samples/deudores_demo.csv
endif
CAMPAIGN_ARGS ?=
campaign: setup lab ## launch a campaign wave now and watch it (CAMPAIGN=, FILE=, COMPANY=, SCHEDULE=1, CAMPAIGN_ARGS=)
	$(PY) -m ari_app campaign "$(CAMPAIGN)" $(if $(FILE),--file "$(FILE)") $(if $(COMPANY),--company "$(COMPANY)") \
		$(if $(filter 1,$(SCHEDULE)),--schedule) $(CAMPAIGN_ARGS)

carrier: setup lab ## lab only: a sipp carrier that answers campaign calls (numbers ending 7 busy, 8 no answer)
	$(PY) -m tests.phones.carrier by_number

demo: setup lab ## the main job on its embedded defaults: a simulated debtor phone answers an agent call
	$(PY) -m tests.phones.demo

test: setup lab ## all tests: unit + integration against the real lab (what CI runs)
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: setup ## unit tests only: no Asterisk, no PostgreSQL, no Docker
	$(PY) -m pytest -m "not lab and not db and not compose" $(PYTEST_ARGS)

test-lab: setup lab ## integration tests only
	$(PY) -m pytest -m "lab" $(PYTEST_ARGS)

bench: setup lab ## benchmarks (print their figures)
	$(PY) -m bench.originate_latency

lint: setup
	$(PY) -m pip install --quiet ruff
	$(PY) -m ruff check ari_app media campaigns tests bench

clean: lab-down
	rm -rf $(VENV) *.egg-info
