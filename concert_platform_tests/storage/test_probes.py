"""`Warehouse.probe` and `probe_location`: reach the place once, touch no table, say where and why when it fails."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import boto3
import pytest

from concert_platform.storage.duckdb_warehouse import DuckDBWarehouse
from concert_platform.storage.filesystem import open_location
from concert_platform.storage.location_probe import LocationUnreachable, probe_location
from concert_platform.storage.warehouse import WarehouseUnreachable, make_warehouse

ROLE = "arn:aws:iam::123456789012:role/concert-lake-read"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- DuckDB --------------------------------------------------------------------


def test_duckdb_probe_makes_the_folder_and_leaves_no_file(tmp_path):
    wh = make_warehouse(f"duckdb:///{tmp_path}/deep/er/w.duckdb", "concert")
    wh.probe()
    assert sorted(p.name for p in (tmp_path / "deep" / "er").iterdir()) == []  # the database is made by the first load
    make_warehouse("duckdb:///:memory:", "concert").probe()


@contextmanager
def _held(path):
    """Another process with the DuckDB file open for writing (DuckDB's one writer)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        yield
    finally:
        holder.kill()
        holder.wait()


def test_duckdb_probe_does_not_wait_for_a_file_another_process_holds(tmp_path):
    path = tmp_path / "w.duckdb"
    with _held(path):
        started = time.monotonic()
        DuckDBWarehouse(str(path), "concert", lock_timeout_s=60).probe()  # the lock is the load's business
        assert time.monotonic() - started < 5


@pytest.mark.parametrize("obstacle", ["a folder where the file goes", "a file where the folder goes"])
def test_duckdb_probe_fails_when_the_path_cannot_hold_the_database(tmp_path, obstacle):
    if obstacle == "a folder where the file goes":
        (tmp_path / "w.duckdb").mkdir()
        url = f"duckdb:///{tmp_path}/w.duckdb"
    else:
        (tmp_path / "taken").write_text("")
        url = f"duckdb:///{tmp_path}/taken/w.duckdb"
    wh = make_warehouse(url, "concert")
    with pytest.raises(WarehouseUnreachable, match="cannot use duckdb:///") as info:
        wh.probe()
    assert wh.describe() in str(info.value)


# -- PostgreSQL and Redshift (its code path against the real PostgreSQL) -------


def test_postgres_probe_reaches_the_server_and_creates_nothing(pg_url, pg_admin, pg_schema):
    make_warehouse(pg_url, pg_schema).probe()
    assert pg_admin.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (pg_schema,)).fetchone()[0] == 0


def test_redshift_probe_reaches_the_server_over_its_driver():
    make_warehouse("redshift://postgres@127.0.0.1:5432/postgres", "concert", redshift_iam_role=ROLE).probe()


@pytest.mark.parametrize("scheme", ["postgresql", "redshift"])
def test_probe_of_a_closed_port_fails_at_once_naming_host_port_and_database(scheme):
    port = _closed_port()
    wh = make_warehouse(f"{scheme}://loader@127.0.0.1:{port}/dw", "concert", redshift_iam_role=ROLE)
    with pytest.raises(WarehouseUnreachable, match=f"cannot connect to {scheme}://loader@127.0.0.1:{port}/dw"):
        wh.probe()


# -- the lake ------------------------------------------------------------------


def test_a_local_lake_is_created_and_left_without_the_probe_object(tmp_path):
    probe_location(open_location(str(tmp_path / "lake")))
    assert [p.name for p in (tmp_path / "lake").rglob("*") if p.is_file()] == []


def test_a_local_lake_that_cannot_be_a_folder_fails_naming_it(tmp_path):
    (tmp_path / "lake").write_text("a file, not a folder")
    with pytest.raises(LocationUnreachable, match=f"the lake at {tmp_path / 'lake'} cannot be written"):
        probe_location(open_location(str(tmp_path / "lake")))


def test_an_s3_lake_is_written_once_and_left_with_no_object_but_the_staging_marker(s3_bucket, aws_env):
    probe_location(open_location(f"s3://{s3_bucket}/lake", aws_env))
    listed = boto3.client("s3", endpoint_url=aws_env).list_objects_v2(Bucket=s3_bucket).get("Contents", [])
    # pyarrow keeps the emptied "folder" as a zero-byte marker, as after any of the lake's own moves.
    assert [(o["Key"], o["Size"]) for o in listed] == [("lake/_staging/", 0)]


def test_an_s3_lake_in_a_missing_bucket_fails_naming_it(s3_bucket, aws_env):
    with pytest.raises(LocationUnreachable, match=f"the lake at s3://{s3_bucket}-missing/lake cannot be written"):
        probe_location(open_location(f"s3://{s3_bucket}-missing/lake", aws_env))


def test_an_unreachable_s3_endpoint_fails_and_never_shows_the_secret_key(aws_env, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "Wk8sPq3Lm2Xz")
    with pytest.raises(LocationUnreachable, match="the lake at s3://bucket/lake cannot be written") as info:
        probe_location(open_location("s3://bucket/lake", f"http://127.0.0.1:{_closed_port()}"))
    assert "Wk8sPq3Lm2Xz" not in str(info.value)
