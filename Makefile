# Företagslotsen. `make help` lists the targets; `make run` starts the portal with demo data.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT
export PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: help install run migrate demo prepare-prod run-prod start-prod stop-prod test lint format messages \
	bench-routing mutation clean
.DEFAULT_GOAL := help

help: ## list the targets
	@echo "Företagslotsen – make targets (PORT=$(PORT)):"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed ## create .venv and install the requirements

run: install ## development: SQLite, demo data, web + worker + beat in one terminal (Ctrl-C stops)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_norrtalje
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Företagslotsen: http://127.0.0.1:$(PORT)/   (Ctrl-C stoppar allt)"
	@echo "  Inloggning för personal: http://127.0.0.1:$(PORT)/konto/logga-in/"
	@echo ""
	$(BIN)/honcho -f Procfile.dev start

migrate: install ## migrate the database (DATABASE_URL) and load Norrtälje's units and areas
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_norrtalje

demo: install ## optional: demo users (password lotsdemo-2026) and demo cases
	$(BIN)/python manage.py seed_demo

prepare-prod: install
	$(BIN)/python manage.py check
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo ""
	@echo "  Företagslotsen: http://127.0.0.1:$(PORT)/"
	@echo "  Inloggning för personal: http://127.0.0.1:$(PORT)/konto/logga-in/"
	@echo ""

run-prod: prepare-prod ## gunicorn + Celery worker + beat on DATABASE_URL and Redis (Ctrl-C stops)
	$(BIN)/honcho -f Procfile start

start-prod: prepare-prod ## run-prod in the background, surviving the terminal (var/log/portal.log)
	@mkdir -p var/log
	@if [ -f var/portal.pid ] && kill -0 "$$(cat var/portal.pid)" 2>/dev/null; then \
		echo "Already running (pid $$(cat var/portal.pid)); make stop-prod first."; exit 1; fi
	nohup $(BIN)/honcho -f Procfile start >> var/log/portal.log 2>&1 < /dev/null & \
		echo $$! > var/portal.pid
	@echo "Started (pid $$(cat var/portal.pid)); log in var/log/portal.log; stop: make stop-prod"

stop-prod: ## stop what start-prod started (honcho stops web, worker and beat)
	@if [ -f var/portal.pid ]; then kill -TERM "$$(cat var/portal.pid)" 2>/dev/null; \
		rm -f var/portal.pid; echo "Stopped."; else echo "Not running."; fi

test: install ## run every test (PostgreSQL/Redis/browser tests skip without them, except in CI)
	$(BIN)/python -m pytest

lint: install ## ruff, formatting and missing migrations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install ## ruff fix and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: install ## update and compile the English catalogue
	$(BIN)/python manage.py makemessages -l en --no-obsolete --ignore=.venv --ignore=var --ignore=bench
	$(BIN)/python manage.py compilemessages -l en --ignore=.venv

bench-routing: install ## routing benchmark
	$(BIN)/python bench/bench_routing.py

# Mutation testing (pyproject.toml [tool.mutmut]: which modules, which fast tests). A subset:
# make mutation MUTANTS='cases.deadlines*'. Results stay in mutants/ (`mutmut browse`).
MUTATION_JOBS ?= 2
MUTANTS ?=
mutation: install ## mutation testing (mutmut) over the case rules; prints the kill rate
	$(BIN)/mutmut run --max-children $(MUTATION_JOBS) $(MUTANTS)
	$(BIN)/mutmut export-cicd-stats
	@$(BIN)/python -c 'import json; s = json.load(open("mutants/mutmut-cicd-stats.json")); caught = s["killed"] + s["timeout"]; tried = caught + s["survived"] + s["no_tests"]; print(f"Mutation kill rate: {caught}/{tried} = {caught / max(tried, 1):.1%} (goal: 90 %)")'

clean: ## remove .venv, var/, mutants/ and the SQLite database
	rm -rf $(VENV) var db.sqlite3 mutants
