# newsmon — the two commands:
#   make run    set up and start everything locally (Elasticsearch + Airflow standalone)
#   make test   set up and run every test (lint, types, unit, integration, DAG)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.9.30
# The compiled finder is part of the install: a change to it installs again.
NATIVE := setup.py pipeline/ingest/_scan.c
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml $(NATIVE) | sha1sum | cut -c1-12)

.PHONY: venv es-start es-stop setup run stop test lint lock browser cluster-deps cluster

venv: $(STAMP)

# Bytecode is compiled at install: with PYTHONDONTWRITEBYTECODE set (as on CI machines)
# Python never writes .pyc files, and every process (each Airflow task, each CLI call)
# would compile all of Airflow, the Elasticsearch client and trafilatura from source.
$(STAMP): requirements.lock pyproject.toml $(NATIVE)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync -q --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

# Starts the local Elasticsearch unless NEWSMON_ES_URL points at a cluster (then a no-op).
es-start: venv
	$(BIN)/newsmon es start

es-stop: venv
	$(BIN)/newsmon es stop

setup: es-start
	$(BIN)/newsmon setup

run: setup
	$(BIN)/python scripts/local_airflow.py start

stop: venv
	$(BIN)/python scripts/local_airflow.py stop
	$(BIN)/python scripts/local_cluster.py stop
	$(BIN)/newsmon es stop

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

# The browser tests drive Debian's chromium (browser downloads are impossible here).
browser:
	@command -v chromium >/dev/null || { \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); export DEBIAN_FRONTEND=noninteractive; \
	  $$sudo apt-get install -y -q chromium || \
	  { $$sudo apt-get update -q && $$sudo apt-get install -y -q chromium; }; }

# The distributed mode's parts from Debian: Redis (Celery's broker; politeness shared by
# workers on several machines) and PostgreSQL (Airflow's metadata database).
cluster-deps:
	@{ command -v redis-server >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || { \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); export DEBIAN_FRONTEND=noninteractive; \
	  $$sudo apt-get install -y -q redis-server postgresql || \
	  { $$sudo apt-get update -q && $$sudo apt-get install -y -q redis-server postgresql; }; }

# Airflow with the CeleryExecutor, PostgreSQL, Redis and two workers (scripts/local_cluster.py).
cluster: setup cluster-deps
	$(BIN)/python scripts/local_cluster.py start

test: es-start lint browser cluster-deps
	$(BIN)/python -m pytest

# Re-pin requirements.lock from requirements.in (needs uv; run after editing requirements.in).
lock: venv
	$(BIN)/uv pip compile -q requirements.in --python-version 3.11 -o requirements.lock
