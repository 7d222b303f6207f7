# Företagslotsen. `make run` starts the portal with demo data; `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT
export PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: install run test lint format messages bench-routing clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_norrtalje
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Företagslotsen: http://127.0.0.1:$(PORT)/   (Ctrl-C stoppar allt)"
	@echo ""
	$(BIN)/honcho -f Procfile.dev start

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: install
	$(BIN)/python manage.py makemessages -l en --no-obsolete --ignore=.venv --ignore=var --ignore=bench
	$(BIN)/python manage.py compilemessages -l en --ignore=.venv

bench-routing: install
	$(BIN)/python bench/bench_routing.py

clean:
	rm -rf $(VENV) var db.sqlite3
