# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint check clean

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

lint: $(BIN)/signoff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy workflows bot

check: test lint

clean:
	rm -rf $(VENV) signoff.db signoff.db-wal signoff.db-shm
