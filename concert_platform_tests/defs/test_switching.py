"""Changing two settings moves the platform: the same materialisation on
DuckDB + a local folder and on PostgreSQL + S3 (moto) gives the same tables."""

import math
import uuid

import dagster as dg
import psycopg
import pytest

from concert_platform.defs.build import build_definitions
from concert_platform.storage.sql import quote_ident
from concert_platform.storage.warehouse import make_warehouse

from .conftest import demo_settings, seed

PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
# The clock, and where the landing zone is: not the data.
VOLATILE = {"created_at", "updated_at", "fetched_at", "rejected_at", "capacity_source"}
TABLES = (
    "ticketmaster_events_raw",
    "artists",
    "venues",
    "concerts",
    "ticket_sales",
    "ticket_sales_daily",
    "rejected_records",
    "concert_demand_features",
    "artist_features",
    "venue_features",
)


@pytest.fixture
def pg_schema():
    name = f"switch_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {quote_ident(name)} CASCADE")


def _materialise(settings, days):
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    jobs = [("catalog_job", None), *(("ticket_sales_job", d) for d in days), ("features_job", None)]
    for job, partition in jobs:
        assert defs.resolve_job_def(job).execute_in_process(instance=instance, partition_key=partition, run_config=QUIET).success
    return make_warehouse(settings.warehouse_url, settings.warehouse_schema)


def _rows(warehouse, table):
    def clean(value):
        return None if isinstance(value, float) and math.isnan(value) else value

    rows = [{k: clean(v) for k, v in row.items() if k not in VOLATILE} for row in warehouse.read(table).to_pylist()]
    return sorted(rows, key=lambda r: repr(sorted(r.items())))


def test_duckdb_and_local_equals_postgres_and_s3(tmp_path, s3_bucket, aws_env, pg_schema):
    local = demo_settings(tmp_path / "local")
    _, days = seed(local, days=2, per_day=1000)
    production = demo_settings(
        tmp_path / "prod",
        lake_url=f"s3://{s3_bucket}/lake",
        landing_url=f"s3://{s3_bucket}/landing",
        aws_endpoint_url=aws_env,
        warehouse_url=PG_URL,
        warehouse_schema=pg_schema,
    )
    seed(production, days=2, per_day=1000)

    duck = _materialise(local, days)
    pg = _materialise(production, days)
    assert sorted(pg.tables()) == sorted(duck.tables())
    for table in TABLES:
        expected = _rows(duck, table)
        assert expected, table
        assert _rows(pg, table) == expected, table
