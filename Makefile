# ecr-scan-reporter — every command a user, a developer and CI need.
#   make test      the whole suite (lint, release-check, unit, package check, terraform test, example plans, checkov, compliance, e2e)
#   make demo      deploy to local emulators, run one sweep, show the notifications, tear down
#   make bench     benchmarks (not part of make test)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ROOT        := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD       := $(ROOT)/.build
VENV        := $(ROOT)/.venv
PY          := $(VENV)/bin/python
PYTHON      ?= python3
STAMP       := $(VENV)/.installed
# Some machines configure pip with local index folders that may not exist; their warnings are noise.
PIP_NOISE   := is ignored: it is neither a file nor a directory

export PYTHONPATH := $(ROOT)/lambda$(if $(PYTHONPATH),:$(PYTHONPATH))
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt lambda/pyproject.toml
	@echo "==> creating $(VENV) from pinned requirements"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip==25.3 2> >(grep -v "$(PIP_NOISE)" >&2)
	@$(PY) -m pip install --quiet -r requirements-dev.txt 2> >(grep -v "$(PIP_NOISE)" >&2)
	@$(PY) -m pip install --quiet --no-deps --no-build-isolation -e lambda 2> >(grep -v "$(PIP_NOISE)" >&2)
	@touch $@

.PHONY: venv
venv: $(STAMP) ## create the virtualenv from pinned requirements

.PHONY: lint
lint: $(STAMP) tf-rc ## ruff (lint + format check) and terraform fmt
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(TF_ENV) terraform fmt -check -recursive -diff .

.PHONY: fmt
fmt: $(STAMP) tf-rc ## format python and terraform
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .
	@$(TF_ENV) terraform fmt -recursive .

.PHONY: package
package: ## rebuild the committed Lambda zip (reproducible)
	@$(PYTHON) lambda/build_zip.py

.PHONY: package-check
package-check: ## fail when the committed Lambda zip does not match the sources
	@$(PYTHON) lambda/build_zip.py --check

.PHONY: unit
unit: $(STAMP) ## python unit tests (pure + moto in-process)
	@$(PY) -m pytest tests/unit -q

include $(wildcard mk/*.mk)

.PHONY: test
test: lint package-check release-check unit validate tf-test plan-examples security compliance e2e ## the whole suite, as CI runs it

.PHONY: clean
clean: ## remove the venv, build files and terraform working directories
	rm -rf $(VENV) $(BUILD) .pytest_cache .ruff_cache
	find . -name .terraform -type d -prune -exec rm -rf {} +
	find . -name '.terraform.lock.hcl' -delete
