# Two commands set up a fresh machine: `make run` (demo data, end to end) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
DEMO_DAYS ?= 14

.PHONY: install run dev test bench seed clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The instance config, derived from dagster.yaml on every run: with DAGSTER_PG_HOST set, that
# file as it is (PostgreSQL storage); unset, the same file without `storage` (SQLite in $(DAGSTER_HOME)).
.PHONY: $(DAGSTER_HOME)/dagster.yaml
$(DAGSTER_HOME)/dagster.yaml: dagster.yaml install
	$(PY) -m concert_platform.instance_config --source dagster.yaml --install $(DAGSTER_HOME)

## run: seed the demo landing zone, materialise every asset and partition, print a summary
run: install $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m concert_platform.demo_run --days $(DEMO_DAYS)

## seed: only write demo ticket-sale files into the landing zone
seed: install
	$(PY) -m concert_platform.demo_run --days $(DEMO_DAYS) --seed-only

## dev: the Dagster UI (and daemon: schedules, sensors, backfills) on http://127.0.0.1:3000
dev: install $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/dagster dev -m concert_platform.definitions -h 127.0.0.1 -p 3000

## test: the whole suite, against real parts (moto's S3 server, DuckDB files, HTTP stubs)
test: install
	$(PY) -m pytest

## bench: one 1M-sale day, validate -> lake -> warehouse, against the naive path
bench: install
	$(PY) -m bench.ticket_sales

clean:
	rm -rf .concert_data $(DAGSTER_HOME) bench/.data
