"""What every warehouse dialect promises, run against each (DuckDB file, real PostgreSQL)."""

import pyarrow as pa
import pytest

from concert_platform.storage.duckdb_warehouse import DuckDBWarehouse
from concert_platform.storage.postgres_warehouse import PostgresWarehouse
from concert_platform.storage.warehouse import MissingTableError, Replace


@pytest.fixture(params=["duckdb", "postgresql"])
def wh(request, tmp_path):
    if request.param == "duckdb":
        return DuckDBWarehouse(str(tmp_path / "wh" / "warehouse.duckdb"), "concert")
    return PostgresWarehouse(request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema"))


def test_reader_is_streamed_into_the_table(wh):
    batch_rows, batches = 250_000, 16  # 2 MB per batch, 32 MB in all
    schema = pa.schema([("n", pa.int64()), ("sale_date", pa.string())])
    peak = 0

    def generate():
        nonlocal peak
        for i in range(batches):
            peak = max(peak, pa.total_allocated_bytes())
            n = pa.array(range(i * batch_rows, (i + 1) * batch_rows), pa.int64())
            yield pa.record_batch([n, pa.array(["d"] * batch_rows)], schema=schema)

    baseline = pa.total_allocated_bytes()
    wh.load([Replace("big", pa.RecordBatchReader.from_batches(schema, generate()), {"sale_date": "d"})])
    assert wh.count("big") == batch_rows * batches
    assert peak - baseline < batch_rows * batches * 8 / 2


def test_missing_table(wh):
    with pytest.raises(MissingTableError, match="nope"):
        wh.read("nope")
    with pytest.raises(MissingTableError):
        wh.count("nope")
    assert wh.tables() == []
