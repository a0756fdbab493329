# Two entry points for a fresh machine (see README): `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint benchmark

$(BIN)/gru-search: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

setup: $(BIN)/gru-search

# the main job: train the default GRUClassifier on GunPoint (ships inside aeon)
run: setup
	$(BIN)/gru-search fit --data aeon:GunPoint

test: setup
	$(BIN)/ruff check gru_search tests benchmarks
	$(BIN)/python -m pytest -n 2

lint: setup
	$(BIN)/ruff check gru_search tests benchmarks
	$(BIN)/ruff format --check gru_search tests benchmarks

benchmark: setup
	$(BIN)/python benchmarks/throughput.py --markdown benchmarks/results-throughput.md
