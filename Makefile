# Two commands set everything up: `make run` and `make test`; `make test-fast` for a quick run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast lint check clean

$(BIN)/signoff: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/signoff

run: $(BIN)/signoff
	$(BIN)/signoff db upgrade
	$(BIN)/signoff serve

test: $(BIN)/signoff
	$(BIN)/python -m pytest -q

# SQLite only, without the slow tier (drills, real processes, long property runs): tests/conftest.py.
test-fast: $(BIN)/signoff
	$(BIN)/python -m pytest -q -m "not slow and not postgresql"

lint: $(BIN)/signoff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy workflows bot adapters tests bench

check: test lint

clean:
	rm -rf $(VENV) signoff.db signoff.db-wal signoff.db-shm
