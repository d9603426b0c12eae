"""The stream COPY reads (binary where every column has an encoder, else CSV) against a real server.

The CSV path is the reference: for every type the binary encoder covers, the
same values loaded both ways must be the same rows in PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import decimal
import zoneinfo

import numpy as np
import psycopg
import pyarrow as pa
import pytest

from concert_platform.storage import postgres_binary, postgres_types
from concert_platform.storage.postgres_types import copy_format, key_order, pg_type
from concert_platform.storage.postgres_warehouse import PostgresWarehouse
from concert_platform.storage.sql import qualified
from concert_platform.storage.warehouse import Replace
from concert_platform.transforms.ticket_sales import SALES_SCHEMA

UTC, OSLO = dt.UTC, zoneinfo.ZoneInfo("Europe/Oslo")
D = decimal.Decimal
DAY = dt.date(2026, 11, 10)


@pytest.fixture
def wh(pg_url, pg_schema) -> PostgresWarehouse:
    return PostgresWarehouse(pg_url, pg_schema)


def _every_binary_type() -> pa.Table:
    """Five rows of each type the binary encoder covers, edge values and a NULL in each."""
    stamp = [dt.datetime(2026, 11, 10, 19, 30, 0, 123456), dt.datetime(1969, 12, 31, 23, 59, 59, 999999), None]
    stamp += [dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59)]
    text = ['Mötley "Crüe", live', "", None, "line\nbreak\r\\N back\\slash \\.", "NULL ✓ 日本 😀"]
    return pa.table(
        {
            "key": pa.array(["e", "a", "d", "b", "c"]),
            "flag": pa.array([True, False, None, True, False]),
            "i8": pa.array([-128, 127, None, 0, 1], pa.int8()),
            "i16": pa.array([-(2**15), 2**15 - 1, None, 0, 1], pa.int16()),
            "i32": pa.array([-(2**31), 2**31 - 1, None, 0, 1], pa.int32()),
            "i64": pa.array([-(2**63), 2**63 - 1, None, 0, 1], pa.int64()),
            "u8": pa.array([0, 255, None, 1, 2], pa.uint8()),
            "u16": pa.array([0, 2**16 - 1, None, 1, 2], pa.uint16()),
            "u32": pa.array([0, 2**32 - 1, None, 1, 2], pa.uint32()),
            "f16": pa.array(np.array([1.5, -0.0, 0, np.inf, np.nan], np.float16), mask=np.array([0, 0, 1, 0, 0], bool)),
            "f32": pa.array([1.1, float("-inf"), None, float("nan"), -0.0], pa.float32()),
            "f64": pa.array([0.1, 1e308, None, float("nan"), -5e-324], pa.float64()),
            "price": pa.array([D("218.3300"), D("-99999999999999.9999"), None, D("0"), D("0.0001")], pa.decimal128(18, 4)),
            "cents": pa.array([D("0.01"), D("-1234567890.12"), None, D("100"), D("-0.10")], pa.decimal128(12, 2)),
            "ratio": pa.array([D("0.12345"), D("-0.99999"), None, D("0"), D("0.00001")], pa.decimal128(5, 5)),
            "whole": pa.array([D("9999"), D("-1"), None, D("0"), D("1000")], pa.decimal128(4, 0)),
            "fine": pa.array(
                [D("0.123456789012345678"), D("-0.000000000000000001"), None, D("0"), D("0.9")], pa.decimal128(18, 18)
            ),
            "d64": pa.array([D("1234567.891"), D("-0.001"), None, D("0"), D("10")], pa.decimal64(10, 3)),
            "d32": pa.array([D("12345.67"), D("-0.01"), None, D("0"), D("1")], pa.decimal32(7, 2)),
            "d256": pa.array([D("123456789012.123456"), D("-1"), None, D("0"), D("0.5")], pa.decimal256(18, 6)),
            "name": pa.array(text),
            "large": pa.array(text, pa.large_string()),
            "view": pa.array(text, pa.string_view()),
            "coded": pa.array(text).dictionary_encode(),
            "raw": pa.array([b"\x00\xff", b"", None, b"\\x00", b'"q"'], pa.binary()),
            "fixed": pa.array([b"ab", b"\x00\x00", None, b"\xff\xfe", b"zz"], pa.binary(2)),
            "day": pa.array([DAY, dt.date(1999, 12, 31), None, dt.date(1, 1, 1), dt.date(9999, 12, 31)], pa.date32()),
            "day64": pa.array([DAY, dt.date(1970, 1, 1), None, dt.date(2000, 1, 1), dt.date(1900, 3, 1)], pa.date64()),
            "at_s": pa.array(stamp, pa.timestamp("us", tz="UTC")).cast(pa.timestamp("s", tz="UTC"), safe=False),
            "at_ms": pa.array(stamp, pa.timestamp("us", tz="UTC")).cast(pa.timestamp("ms", tz="UTC"), safe=False),
            "at_us": pa.array(stamp, pa.timestamp("us", tz="UTC")),
            "at_oslo": pa.array(stamp, pa.timestamp("us", tz="Europe/Oslo")),
            "at_ns": pa.array([1_600, -400, None, 2_400, 1_762_803_000_123_456_789], pa.timestamp("ns", tz="UTC")),
            "local": pa.array(stamp, pa.timestamp("us")),
            "local_ns": pa.array([1_499, -1_501, None, 0, 10**18], pa.timestamp("ns")),
            "doors": pa.array([dt.time(19, 30), dt.time(0), None, dt.time(23, 59, 59, 999999), dt.time(12)], pa.time64("us")),
            "doors_s": pa.array([0, 86_399, None, 3_600, 1], pa.time32("s")),
            "doors_ms": pa.array([0, 86_399_999, None, 1, 500], pa.time32("ms")),
            "doors_ns": pa.array([0, 86_399_999_999_000, None, 1_600, 2_400], pa.time64("ns")),
            "wait": pa.array(
                [dt.timedelta(days=-1), dt.timedelta(0), None, dt.timedelta(seconds=1.5), dt.timedelta(days=400)],
                pa.duration("us"),
            ),
            "wait_s": pa.array([-1, 0, None, 86_400 * 365, 1], pa.duration("s")),
            "wait_ns": pa.array([-1_500, 0, None, 2_999, 1], pa.duration("ns")),
            "nothing": pa.nulls(5),
        }
    )


def _load_csv(pg_url: str, target: str, data: pa.Table) -> None:
    """``data`` into ``target`` through the CSV encoder, the reference the binary one must agree with."""
    with psycopg.connect(pg_url) as conn, conn.cursor().copy(f"COPY {target} FROM STDIN (FORMAT csv)") as copy:
        for batch in data.to_batches():
            copy.write(postgres_types._csv_chunk(batch))


def _same_rows(admin, left: str, right: str) -> bool:
    query = f"SELECT count(*) FROM ((TABLE {left} EXCEPT ALL TABLE {right}) UNION ALL (TABLE {right} EXCEPT ALL TABLE {left})) d"
    return admin.execute(query).fetchone()[0] == 0


def test_binary_and_csv_store_the_same_values(wh, pg_url, pg_admin, pg_schema, monkeypatch):
    monkeypatch.setattr(postgres_types, "_COPY_ROWS", 2)  # several chunks, sliced arrays with offsets
    table = _every_binary_type()
    types = [pg_type(field.type) for field in table.schema]
    assert copy_format(table.schema, types) == "binary"
    wh.load([Replace("via_binary", table.slice(0, 0))])  # creates the table; then the partial replace streams binary
    wh.load([Replace("via_binary", table, {"nothing": None}, primary_key=("key",))])
    target, reference = qualified(pg_schema, "via_binary"), qualified(pg_schema, "via_csv")
    pg_admin.execute(f"CREATE TABLE {reference} (LIKE {target})")
    _load_csv(pg_url, reference, table)
    assert pg_admin.execute(f"SELECT count(*) FROM {target}").fetchone()[0] == 5
    assert _same_rows(pg_admin, target, reference)
    # A few values as PostgreSQL prints them, so both paths cannot be wrong the same way.
    row = pg_admin.execute(
        f"SELECT price::text, cents::text, fine::text, name, at_ns, local_ns::text, doors_ns::text, wait::text, wait_ns::text "
        f"FROM {target} WHERE key = 'e'"
    ).fetchone()
    assert row[:4] == ("218.3300", "0.01", "0.123456789012345678", 'Mötley "Crüe", live')
    assert row[4] == dt.datetime(1970, 1, 1, 0, 0, 0, 2, tzinfo=UTC)  # 1.6 µs: nanoseconds round to the nearest µs
    assert row[5:] == ("1970-01-01 00:00:00.000001", "00:00:00", "-24:00:00", "-00:00:00.000001")


def test_sales_round_trip_in_key_order(wh, pg_admin, pg_schema):
    loaded = dt.datetime(2026, 11, 25, 23, 11, 37, 769391, tzinfo=UTC)
    rows = [
        {
            "created_at": loaded,
            "updated_at": loaded,
            "sale_id": f"S-20261110-web-{i:07d}",
            "concert_id": "vvG1Jh1MzA5gnf",
            "sold_at": dt.datetime(2026, 11, 10, 23, 59, 59, i, tzinfo=UTC),
            "quantity": i % 4 + 1,
            "unit_price": D("73.5000") + i,
            "currency": "USD",
            "channel": "web",
            "customer_id": None if i % 3 else f"C-{i}",
            "section": "Floor A" if i % 2 else None,
            "sale_date": DAY,
            "source_file": "sales.jsonl",
        }
        for i in (5, 3, 9, 1, 7, 2)
    ]
    table = pa.Table.from_pylist(rows, SALES_SCHEMA)
    key = ("sale_date", "sale_id")
    assert key_order(table, key).to_pylist() == [3, 5, 1, 0, 4, 2]
    wh.load([Replace("ticket_sales", table, {"sale_date": DAY}, key)])
    wh.load([Replace("ticket_sales", table, {"sale_date": DAY}, key)])  # a reload replaces, keeps one copy
    back = wh.read("ticket_sales")
    assert back.cast(SALES_SCHEMA).sort_by("sale_id").equals(table.sort_by("sale_id"))
    # Physical order is key order: COPY wrote the rows sorted.
    ids = pg_admin.execute(f"SELECT sale_id FROM {qualified(pg_schema, 'ticket_sales')} ORDER BY ctid").fetchall()
    assert [i for (i,) in ids] == sorted(r["sale_id"] for r in rows)


def test_csv_is_sent_when_a_column_has_no_binary_encoder(wh, pg_admin, pg_schema):
    assert copy_format(pa.schema([("a", pa.list_(pa.int64()))]), ["bigint[]"]) == "csv"
    assert copy_format(pa.schema([("a", pa.uint64())]), ["numeric(20,0)"]) == "csv"
    assert copy_format(pa.schema([("a", pa.decimal128(19, 2))]), ["numeric(19,2)"]) == "csv"
    assert copy_format(pa.schema([("a", pa.struct([("x", pa.int8())]))]), ["jsonb"]) == "csv"
    assert copy_format(pa.schema([("a", pa.int64()), ("b", pa.null())]), ["bigint", "date"]) == "binary"
    # A partial replace keeps a column's type: int32 data into a bigint column goes as text, which PostgreSQL converts.
    wh.load([Replace("t", pa.table({"day": pa.array([DAY], pa.date32()), "n": pa.array([2**40], pa.int64())}))])
    small = pa.table({"day": pa.array([DAY], pa.date32()), "n": pa.array([7], pa.int32())})
    assert copy_format(small.schema, ["date", "bigint"]) == "csv"
    wh.load([Replace("t", small, {"day": DAY})])
    assert pg_admin.execute(f"SELECT n FROM {qualified(pg_schema, 't')}").fetchall() == [(7,)]


def test_bytes_under_a_null_slot_are_not_sent(wh):
    values = pa.array([b"hello", b"xyz", b"q"], pa.binary())
    # Arrow lets a null slot span bytes; they must not leak into the stream.
    spanning = pa.Array.from_buffers(pa.binary(), 3, [pa.py_buffer(bytes([0b101])), *values.buffers()[1:]])
    wh.load([Replace("t", pa.table({"day": pa.array([DAY] * 3, pa.date32()), "raw": spanning}), {"day": DAY})])
    assert wh.read("t").column("raw").to_pylist() == [b"hello", None, b"q"]


def test_values_beyond_what_postgres_holds_fail_clearly():
    too_wide = pa.Array.from_buffers(pa.decimal128(5, 2), 1, [None, pa.py_buffer((10**7).to_bytes(16, "little"))])
    with pytest.raises(ValueError, match="more than 5 digits"):
        postgres_binary.encode(pa.record_batch({"a": too_wide}), [postgres_binary.encoder(too_wide.type, "numeric(5,2)")])
    far = pa.array([10**13], pa.timestamp("s"))
    with pytest.raises(ValueError, match="timestamp out of range"):
        postgres_binary.encode(pa.record_batch({"a": far}), [postgres_binary.encoder(far.type, pg_type(far.type))])


def test_out_of_range_values_are_refused_by_the_server(wh):
    with pytest.raises(psycopg.errors.NumericValueOutOfRange):  # numeric(5,2) holds 3 whole digits, binary carries 4
        bad = pa.Array.from_buffers(pa.decimal128(5, 2), 1, [None, pa.py_buffer((10**5).to_bytes(16, "little"))])
        wh.load([Replace("t", pa.table({"day": pa.array([DAY], pa.date32()), "a": bad}), {"day": DAY})])
    with pytest.raises(psycopg.errors.DatetimeFieldOverflow):
        before_4713_bc = pa.array([-250_000 * 365 * 86_400 * 10**6], pa.timestamp("us"))
        wh.load([Replace("u", pa.table({"day": pa.array([DAY], pa.date32()), "at": before_4713_bc}), {"day": DAY})])
