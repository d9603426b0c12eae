# Two commands set up a fresh machine: `make run` (demo data, end to end) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# The instance config installed into $(DAGSTER_HOME): the embedded default (SQLite), or
# deploy/dagster.yaml for PostgreSQL storage (needs the DAGSTER_PG_* variables).
INSTANCE ?= dagster.yaml
DEMO_DAYS ?= 300

.PHONY: install run dev test test-accuracy test-topology test-chaos test-demo-world bench seed clean

# Installs take the exact versions in the lock files (Python 3.11, Linux x86_64), so every machine, CI and
# the Docker image get the same packages; `make lock` re-resolves them after pyproject.toml changes.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
UV_VERSION := 0.13.9
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	--custom-compile-command "make lock" $(LOCK_FLAGS)

.PHONY: lock lint

# The dev lock holds everything already resolved, so pip has nothing left to decide; the project itself
# goes in last with --no-deps so nothing outside the lock can slip in.
$(VENV)/.installed: pyproject.toml $(LOCK) $(DEV_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r $(DEV_LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

## lock: re-resolve both lock files from pyproject.toml, keeping current pins that still fit
##       (`make lock LOCK_FLAGS=--upgrade` moves everything to the newest allowed)
# The dev lock is constrained by the runtime one, so the packages they share have the same versions.
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==$(UV_VERSION)
	$(UV_COMPILE) pyproject.toml -o $(LOCK)
	$(UV_COMPILE) pyproject.toml --all-extras -c $(LOCK) -o $(DEV_LOCK)

## lint: ruff (rules and formatting), then deptry: every import declared and every declaration used
##       (all code), and runtime code importing nothing from the test/bench/deploy/dev extras
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/deptry concert_platform concert_platform_tests bench
	$(VENV)/bin/deptry concert_platform --optional-dependencies-dev-groups test,bench,deploy,dev

# Installs $(INSTANCE) as $(DAGSTER_HOME)/dagster.yaml and records DAGSTER_HOME in .env, which the
# dagster CLI reads: `dagster asset materialize`, `dagster-webserver` and `dagster-daemon run` typed
# in this folder then use the same instance as `make run` and `make dev`, with nothing exported.
.PHONY: instance
instance: install
	$(PY) -m concert_platform.instance_config --source $(INSTANCE) --install $(DAGSTER_HOME)

## run: seed the demo landing zone, materialise every asset and partition, print a summary
run: install instance
	$(PY) -m concert_platform.demo_run --days $(DEMO_DAYS)

## seed: only write demo ticket-sale files into the landing zone
seed: install
	$(PY) -m concert_platform.demo_run --days $(DEMO_DAYS) --seed-only

## dev: the Dagster UI (and daemon: schedules, sensors, backfills) on http://127.0.0.1:3000
dev: install instance
	$(VENV)/bin/dagster dev -m concert_platform.definitions -h 127.0.0.1 -p 3000

## test: the whole suite, against real parts (moto's S3 server, DuckDB files, HTTP stubs)
test: install
	$(PY) -m pytest

## test-accuracy: the forecaster and the sell-out model held to the issue's bars on a 5,400-show generated world
##                with known truth (a couple of minutes: the fits)
test-accuracy: install
	$(PY) -m pytest -m accuracy

## test-topology: code server, webserver and daemon on PostgreSQL, driven through GraphQL (minutes)
test-topology: install
	$(PY) -m pytest -m topology

## test-chaos: CLI runs killed inside a publish (DuckDB, PostgreSQL), unreachable warehouse, full and
##             read-only lake disk (mounts a tmpfs: run as root, as CI does; a few minutes)
test-chaos: install
	$(PY) -m pytest -m chaos

## test-demo-world: `make run`'s 300-day demo world in a fresh clone's root, the forecaster promoted through its
##                  gate, then insights_job launched through GraphQL and run by the daemon (several minutes)
test-demo-world: install
	$(PY) -m pytest -m demo_world

## bench: one 1M-sale day, validate -> lake -> warehouse, against the naive path
bench: install
	$(PY) -m bench.ticket_sales

## bench-orchestration: a run's start-up cost and 30/365-day backfills through the webserver and daemon
##       (about an hour; `make bench-orchestration BENCH_ARGS=--skip-slow` leaves out the half-hour case)
.PHONY: bench-orchestration
bench-orchestration: install
	$(PY) -m bench.orchestration $(BENCH_ARGS)

## bench-warehouse: replace a 1M-sale day in a table holding other days, with its primary key: PostgreSQL
##       (day partitions built aside; beside it the plain-table path and the one before binary COPY) and
##       DuckDB; rows/s, CPU, peak memory (~8 minutes)
.PHONY: bench-warehouse
bench-warehouse: install
	$(PY) -m bench.warehouse_replace $(BENCH_ARGS)

## bench-big-day: one 10M-sale day through `dagster asset materialize` (DuckDB and PostgreSQL), wall time
##       and peak RSS of the process tree, beside a 1M day (~20 min; writes 2.5 GB of landing files once)
.PHONY: bench-big-day
bench-big-day: install
	$(PY) -m bench.big_day --warehouses duckdb,postgresql --stages $(BENCH_ARGS)

## bench-insights: the insights engine on the 5,400-show demo world (curves, 6-fold backtest, fits, scoring;
##       target 60 s) and 100k upcoming shows scored (target 10 s), with OMP_NUM_THREADS=1 and 2
##       (~3 min; a case is stopped after 300 s)
.PHONY: bench-insights
bench-insights: install
	$(PY) -m bench.insights $(BENCH_ARGS)

clean:
	rm -rf .concert_data $(DAGSTER_HOME) bench/.data

# The AWS deployment (infra/, a CDK app) has its own venv and lock: aws-cdk-lib runs on Node through jsii,
# and none of it belongs in the platform's image. Node (any version jsii accepts) must be on PATH.
INFRA_VENV := infra/.venv
INFRA_PY := $(INFRA_VENV)/bin/python
# jsii prints a banner for Node 20 on every call; the machines here have Node 20.
INFRA_ENV := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
INFRA_ENV_NAME ?= dev

.PHONY: infra-install infra-synth infra-test infra-lock

$(INFRA_VENV)/.installed: infra/requirements.lock
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_PY) -m pip install --quiet --upgrade pip
	$(INFRA_PY) -m pip install --quiet -r infra/requirements.lock
	# The platform's package without its dependencies: the stack imports concert_platform.stream_landing (standard
	# library only), so the Firehose partitions by the very rule the platform's tests hold it to.
	$(INFRA_PY) -m pip install --quiet --no-deps -e .
	touch $@

## infra-install: infra/.venv from infra/requirements.lock (aws-cdk-lib, cdk-nag, pytest)
infra-install: $(INFRA_VENV)/.installed

## infra-synth: every stack of one environment into infra/cdk.out, each with its resource count; no AWS
##              credentials needed (`make infra-synth INFRA_ENV_NAME=prod` for prod)
infra-synth: infra-install
	cd infra && $(INFRA_ENV) .venv/bin/python app.py --env $(INFRA_ENV_NAME)

## infra-test: the CDK app's offline tests (templates, IAM, cdk-nag, snapshots; the instance file is checked
##             against Dagster's schemas in the platform's venv, hence `install`)
infra-test: infra-install install
	cd infra && $(INFRA_ENV) .venv/bin/python -m pytest $(PYTEST_ARGS)

## infra-lock: re-resolve infra/requirements.lock from infra/requirements.txt
infra-lock: infra-install
	$(INFRA_VENV)/bin/pip install --quiet uv==$(UV_VERSION)
	cd infra && .venv/bin/uv pip compile --quiet --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
		--custom-compile-command "make infra-lock" requirements.txt -o requirements.lock
