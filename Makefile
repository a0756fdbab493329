# Two entry points for a fresh machine (see README): `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test test-fast lint benchmark

$(BIN)/gru-search: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

setup: $(BIN)/gru-search

# the main job: a 3-minute study on GunPoint (ships inside aeon), its 3 best trials then
# cross-validated to pick the refit (~4 minutes more), stored in SQLite under
# runs/GunPoint-default/, ending with the exported model's test accuracy
run: setup
	$(BIN)/gru-search run --data aeon:GunPoint --timeout 180

# the worker tests need PostgreSQL: .ci/postgres.sh installs (Debian) and starts one
test: setup
	$(BIN)/ruff check gru_search tests benchmarks examples notebooks
	GRU_SEARCH_TEST_POSTGRES_URL="$$(bash .ci/postgres.sh)" $(BIN)/python -m pytest -n 2 --durations=15

# the everyday loop: everything not marked slow (no PostgreSQL, notebooks, dashboard server,
# real trial processes or long searches); about 6 minutes on 2 cores
test-fast: setup
	$(BIN)/ruff check gru_search tests benchmarks examples notebooks
	$(BIN)/python -m pytest -n 2 -m "not slow" --durations=10

lint: setup
	$(BIN)/ruff check gru_search tests benchmarks examples notebooks
	$(BIN)/ruff format --check gru_search tests benchmarks examples notebooks

benchmark: setup
	$(BIN)/python benchmarks/throughput.py --markdown benchmarks/results-throughput.md
