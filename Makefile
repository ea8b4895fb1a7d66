# CivicGrid. `make demo` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
RESIDENTS ?= 20000

.PHONY: demo serve test lint bench venv clean messages

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "CivicGrid needs Python 3.11 or newer")'
	@echo "==> [1/3] creating $(VENV) and installing CivicGrid"
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@echo "==> [2/3] building the Yuquan demo district (SQLite: var/civicgrid.sqlite3)"
	@$(VENV)/bin/civicgrid demo --residents $(RESIDENTS) --host $(HOST) --port $(PORT)

serve: $(STAMP)
	@$(VENV)/bin/civicgrid serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	@$(PY) tools/run_tests.py $(PYTEST_ARGS)

lint: $(STAMP)
	@$(VENV)/bin/ruff check src tools bench
	@$(VENV)/bin/ruff format --check src tools bench
	@$(VENV)/bin/mypy src/civicgrid

bench: $(STAMP)
	@$(PY) bench/run.py $(BENCH_ARGS)

messages: $(STAMP)
	@cd src/civicgrid && ../../$(VENV)/bin/civicgrid compilemessages

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
