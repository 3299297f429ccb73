# ckbiz: `make run` installs and starts everything; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
FLASK = $(BIN)/flask --app app
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

.PHONY: run install install-test test test-sqlite test-postgres demo-million screenshots bench bench-short load load-short

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

## The first command: install, create the database and the demo merchant, start web + worker.
run: install
	$(FLASK) init-db
	$(FLASK) demo
	scripts/run.sh

## The second command: every test, on SQLite and then on PostgreSQL + Redis.
test: install-test
	scripts/test.sh

test-sqlite: install-test
	$(BIN)/python -m pytest

test-postgres: install-test
	CKBIZ_TEST_DATABASE_URL=$(PG_TEST_URL) CKBIZ_HUEY_URL=$(REDIS_TEST_URL) $(BIN)/python -m pytest

## A million invoices over ten merchants, timed (see README).
demo-million: install
	$(FLASK) init-db
	time $(FLASK) demo --merchants 10 --invoices 1000000

## The key screens as PNGs in docs/screenshots/ (headless Debian Chromium).
screenshots: install-test
	$(BIN)/python scripts/screenshots.py

## Every hot path against a bare Flask app, at a million invoices, SQLite then PostgreSQL + Redis (needs wrk).
bench: install-test
	command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python bench/run.py

bench-short: install-test
	command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python bench/run.py --short

## Load: 50 merchants issue, 200 payers pay, on SQLite and on PostgreSQL + Redis; nothing lost (see README).
load: install-test
	scripts/services.sh
	$(BIN)/python bench/load.py --backend both

load-short: install-test
	scripts/services.sh
	$(BIN)/python bench/load.py --short --backend both
