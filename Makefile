# Företagslotsen. `make run` starts the portal with demo data; `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT
export PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: install run test lint format messages bench-routing mutation clean

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

# Mutation testing (pyproject.toml [tool.mutmut]: which modules, which fast tests). A subset:
# make mutation MUTANTS='cases.deadlines*'. Results stay in mutants/ (`mutmut browse`).
MUTATION_JOBS ?= 2
MUTANTS ?=
mutation: install
	$(BIN)/mutmut run --max-children $(MUTATION_JOBS) $(MUTANTS)
	$(BIN)/mutmut export-cicd-stats
	@$(BIN)/python -c 'import json; s = json.load(open("mutants/mutmut-cicd-stats.json")); caught = s["killed"] + s["timeout"]; tried = caught + s["survived"] + s["no_tests"]; print(f"Mutation kill rate: {caught}/{tried} = {caught / max(tried, 1):.1%} (goal: 90 %)")'

bench-routing: install
	$(BIN)/python bench/bench_routing.py

clean:
	rm -rf $(VENV) var db.sqlite3 mutants
