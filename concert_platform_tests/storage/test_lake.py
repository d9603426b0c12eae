"""The lake on a local folder and on S3 (moto's server over HTTP): same tests, same results."""

from __future__ import annotations

import datetime as dt
import decimal

import boto3
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from concert_platform.storage.filesystem import open_location
from concert_platform.storage.lake import Lake, LakeWrite


@pytest.fixture(params=["local", "s3"])
def lake(request, tmp_path) -> Lake:
    if request.param == "local":
        return Lake(open_location(str(tmp_path / "lake")))
    bucket = request.getfixturevalue("s3_bucket")
    endpoint = request.getfixturevalue("aws_env")
    return Lake(open_location(f"s3://{bucket}/lake", endpoint_url=endpoint))


def _all_files(lake: Lake) -> list[str]:
    infos = lake.fs.get_file_info(pafs.FileSelector(lake.location.root, allow_not_found=True, recursive=True))
    return sorted(i.path[len(lake.location.root) + 1 :] for i in infos if i.type == pafs.FileType.File)


def _sales(day: str, n: int = 3, **extra) -> pa.Table:
    columns = {"sale_id": [f"{day}-{i}" for i in range(n)], "sale_date": [day] * n, "qty": list(range(n))}
    columns.update(extra)
    return pa.table(columns)


def test_unpartitioned_roundtrip_reports_where_it_wrote(lake):
    table = pa.table(
        {
            "id": ["a", "b"],
            "price": pa.array([decimal.Decimal("12.50"), None], pa.decimal128(10, 2)),
            "at": pa.array([dt.datetime(2026, 5, 1, 20, tzinfo=dt.UTC), None], pa.timestamp("us", tz="UTC")),
            "day": pa.array([dt.date(2026, 5, 1), None], pa.date32()),
            "genres": pa.array([["rock", "pop"], []], pa.list_(pa.string())),
        }
    )
    result = lake.write("artists", table)

    assert isinstance(result, LakeWrite)
    assert result.path == lake.location.path("artists", "data.parquet")
    assert result.uri == lake.location.display(result.path)
    assert result.uri.startswith("s3://" if lake.location.is_s3 else "/")
    assert result.rows == 2 and result.bytes == lake.fs.get_file_info(result.path).size > 0
    assert lake.read("artists").equals(table)
    assert lake.exists("artists") and not lake.exists("artists", "2026-05-01")
    with lake.fs.open_input_file(result.path) as f:
        assert pq.ParquetFile(f).metadata.row_group(0).column(0).compression == "ZSTD"


def test_overwrite_replaces_and_leaves_no_temp_files(lake):
    lake.write("venues", pa.table({"id": [1, 2, 3]}))
    lake.write("venues", pa.table({"id": [9]}))
    assert lake.read("venues").column("id").to_pylist() == [9]
    assert _all_files(lake) == ["venues/data.parquet"]


def test_empty_table_writes_a_valid_file_with_the_schema(lake):
    schema = pa.schema([("id", pa.string()), ("qty", pa.int32())])
    result = lake.write("concerts", schema.empty_table())
    assert result.rows == 0
    back = lake.read("concerts")
    assert back.num_rows == 0 and back.schema.equals(schema)


def test_partitions_read_concatenated_missing_skipped_and_new_columns_null(lake):
    lake.write("ticket_sales", _sales("2026-01-02"), partition="2026-01-02")
    lake.write("ticket_sales", _sales("2026-01-01", 2), partition="2026-01-01")
    lake.write("ticket_sales", _sales("2026-01-03", 1, channel=["web"]), partition="2026-01-03")

    assert lake.partitions("ticket_sales") == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert lake.exists("ticket_sales", "2026-01-02") and not lake.exists("ticket_sales", "2026-01-09")

    table = lake.read("ticket_sales", ["2026-01-03", "2026-01-01", "2026-01-09"])
    assert table.column("sale_date").to_pylist() == ["2026-01-03", "2026-01-01", "2026-01-01"]
    assert table.column("channel").to_pylist() == ["web", None, None]

    only = lake.read("ticket_sales", ["2026-01-01", "2026-01-03"], columns=["sale_id", "channel"])
    assert only.column_names == ["sale_id", "channel"]
    assert only.column("channel").to_pylist() == [None, None, "web"]


def test_reading_no_existing_partition_gives_an_empty_table_of_the_asset_shape(lake):
    assert lake.read("ticket_sales", ["2026-01-01"]).num_rows == 0  # nothing written at all
    lake.write("ticket_sales", _sales("2026-01-01"), partition="2026-01-01")
    empty = lake.read("ticket_sales", ["2030-01-01"], columns=["qty"])
    assert empty.num_rows == 0 and empty.column_names == ["qty"]
    assert lake.read("ticket_sales", []).column_names == ["sale_id", "sale_date", "qty"]


def test_sub_key_asset_for_rejected_records(lake):
    rejects = pa.table({"record": ['{"x": 1}'], "error": ["bad"]})
    lake.write("rejected_records/ticket_sales", rejects, partition="2026-01-01")
    lake.write("rejected_records/artists", rejects)

    assert lake.partitions("rejected_records/ticket_sales") == ["2026-01-01"]
    assert lake.read("rejected_records/ticket_sales", ["2026-01-01"]).equals(rejects)
    assert lake.read("rejected_records/artists").equals(rejects)
    # The deeper partitioned sub-asset is not mistaken for partitions of the parent.
    assert "ticket_sales" not in lake.partitions("rejected_records")


def test_reader_is_streamed_not_materialised(lake):
    batch_rows, batches = 250_000, 16  # 2 MB of int64 per batch, 32 MB in all
    schema = pa.schema([("n", pa.int64())])
    peak = 0

    def generate():
        nonlocal peak
        for i in range(batches):
            peak = max(peak, pa.total_allocated_bytes())
            yield pa.record_batch([pa.array(range(i * batch_rows, (i + 1) * batch_rows), pa.int64())], schema=schema)

    baseline = pa.total_allocated_bytes()
    result = lake.write("big", pa.RecordBatchReader.from_batches(schema, generate()), partition="p")
    assert result.rows == batch_rows * batches
    assert peak - baseline < batch_rows * batches * 8 / 4  # a few batches in flight at most

    reader = lake.open_batches("big", "p")
    assert isinstance(reader, pa.RecordBatchReader)
    total = 0
    for batch in reader:
        assert batch.num_rows <= 131_072
        total += batch.num_rows
    assert total == batch_rows * batches


def test_failing_reader_keeps_the_old_file_and_leaves_nothing_behind(lake):
    lake.write("ticket_sales", _sales("2026-01-01"), partition="2026-01-01")
    schema = _sales("x").schema

    def broken():
        yield _sales("2026-01-01", 5).to_batches()[0]
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError, match="source went away"):
        lake.write("ticket_sales", pa.RecordBatchReader.from_batches(schema, broken()), partition="2026-01-01")
    assert lake.read("ticket_sales", ["2026-01-01"]).num_rows == 3
    assert _all_files(lake) == ["ticket_sales/2026-01-01/data.parquet"]


def test_open_batches_roundtrip(lake):
    table = _sales("2026-02-01", 10)
    lake.write("ticket_sales", table, partition="2026-02-01")
    assert lake.open_batches("ticket_sales", "2026-02-01").read_all().equals(table)
    with pytest.raises(FileNotFoundError):
        lake.open_batches("ticket_sales", "1999-01-01")


def test_delete(lake):
    lake.write("ticket_sales", _sales("2026-01-01"), partition="2026-01-01")
    lake.write("ticket_sales", _sales("2026-01-02"), partition="2026-01-02")
    lake.write("artists", pa.table({"id": [1]}))

    lake.delete("ticket_sales", "2026-01-01")
    lake.delete("ticket_sales", "2026-01-01")  # twice is fine
    lake.delete("artists")

    assert lake.partitions("ticket_sales") == ["2026-01-02"]
    assert not lake.exists("artists")
    with pytest.raises(FileNotFoundError, match="artists"):
        lake.read("artists")


@pytest.mark.parametrize("asset, partition", [("../escape", None), ("a//b", None), ("", None), ("ok", "a/b"), ("ok", "..")])
def test_bad_names_are_refused(lake, asset, partition):
    with pytest.raises(ValueError):
        lake.write(asset, pa.table({"x": [1]}), partition=partition)


def test_non_arrow_data_is_refused(lake):
    with pytest.raises(TypeError):
        lake.write("x", [{"a": 1}])  # type: ignore[arg-type]


def test_s3_objects_are_where_the_contract_says(s3_bucket, aws_env):
    lake = Lake.from_url(f"s3://{s3_bucket}/lake", endpoint_url=aws_env)
    result = lake.write("ticket_sales", _sales("2026-03-01"), partition="2026-03-01")
    assert result.uri == f"s3://{s3_bucket}/lake/ticket_sales/2026-03-01/data.parquet"
    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=aws_env).list_objects_v2(Bucket=s3_bucket)["Contents"]]
    # pyarrow leaves an empty "folder" marker where it deleted the staged file; no data stays there.
    assert [k for k in keys if not k.startswith("lake/_staging/")] == ["lake/ticket_sales/2026-03-01/data.parquet"]
    assert all(k.endswith("/") for k in keys if k.startswith("lake/_staging/"))
