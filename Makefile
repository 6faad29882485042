# Keyland's make targets: the contract the README, CI and the issues rely on.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: help venv infra up down status test lint bench demo browser

help:
	@echo "make up      start the whole local stack (Kafka, PostgreSQL + FerretDB, ...) and wait until ready"
	@echo "make test    lint, type-check and run every test against the real stack"
	@echo "make infra   start only Kafka and the database"
	@echo "make down    stop everything 'make up' started"
	@echo "make status  what runs and answers"
	@echo "make demo    a scripted user journey through the running stack, with timings"
	@echo "make bench   benchmarks against the local stack, figures and targets printed"

# The virtual environment, rebuilt when the dependencies change. pip keeps its wheel
# cache in ~/.cache/pip, so a second machine set-up is fast.
$(INSTALLED): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt \
		-e '.[dev]' --config-settings editable_mode=compat
	touch $@

venv: $(INSTALLED)

# BROKERS=3 formats a fresh state directory for a three-broker Kafka cluster (default: 1).
BROKERS_OPTION := $(if $(BROKERS),--brokers $(BROKERS))

infra: venv
	$(BIN)/keyland stack up --only-infra $(BROKERS_OPTION)

up: venv
	$(BIN)/keyland stack up $(BROKERS_OPTION)

down: venv
	$(BIN)/keyland stack down

status: venv
	$(BIN)/keyland stack status

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# Debian's Chromium and chromedriver for the browser tests, installed when missing (as
# root). A machine where they cannot be installed still runs the rest: the browser tests
# skip, saying why. Under CI (CI set) a failed install fails the run instead.
browser: venv
	$(if $(CI),,-)$(BIN)/keyland stack browser

# Three test processes, each taking a whole module at a time: every module has its own
# topics and database (tests/conftest.py), so they run side by side. Three on two cores:
# much of a module's time is spent waiting (paced sends, timers, a node kept down), not
# computing.
TEST_PROCESSES ?= 3
test: lint infra browser
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadfile

demo: up
	$(BIN)/keyland demo

# FAULT_PAYMENTS=0 leaves out the fault drill (about 15 minutes at 10,000 payments).
FAULT_PAYMENTS ?= 10000
bench: up
	$(BIN)/python -m bench --fault-payments $(FAULT_PAYMENTS)
