"""ticket_sales: real files in a temporary landing zone, every rule of the issue."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import concert_platform.transforms.ticket_sales as ticket_sales
from concert_platform.models import TicketSale
from concert_platform.sources.landing import LandingZone
from concert_platform.storage.filesystem import open_location
from concert_platform.transforms.landing_state import files_digest
from concert_platform.transforms.ticket_sales import SALES_SCHEMA, load_sales_partition
from concert_platform.validation import REJECTS_SCHEMA, arrow_schema
from concert_platform_tests.sale_records import sale_record

DAY = "2025-10-03"
KNOWN = {"c1", "c2"}
LOADED = datetime(2025, 10, 4, 6, 0, tzinfo=UTC)


@pytest.fixture
def landing(tmp_path: Path):
    return tmp_path / "landing"


@pytest.fixture
def zone(landing: Path) -> LandingZone:
    return LandingZone(open_location(str(landing)))


def sale(i: int = 1, **changes) -> dict:
    return sale_record(i, DAY, **changes)


def put(landing: Path, name: str, content, day: str = DAY) -> Path:
    path = landing / "ticket_sales" / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, list) and name.endswith(".jsonl"):
        content = "".join(json.dumps(r) + "\n" for r in content)
    elif isinstance(content, list) and name.endswith(".csv"):
        pacsv.write_csv(pa.Table.from_pylist([{k: None if v is None else str(v) for k, v in r.items()} for r in content]), path)
        return path
    elif isinstance(content, list):
        pq.write_table(pa.Table.from_pylist(content), path)
        return path
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def load(zone: LandingZone, **kwargs):
    return load_sales_partition(zone, DAY, kwargs.pop("known", KNOWN), loaded_at=LOADED, **kwargs)


def errors(part) -> list[str]:
    return part.rejects["error"].to_pylist()


def test_mixed_formats_load_into_one_partition(zone, landing):
    put(landing, "a.jsonl", [sale(i) for i in range(1, 6)])
    put(landing, "b.csv", [sale(i) for i in range(6, 9)])
    put(
        landing,
        "c.parquet",
        [
            {**sale(i), "sold_at": datetime(2025, 10, 3, 12, i, tzinfo=UTC), "unit_price": Decimal("12.3400")}
            for i in range(9, 11)
        ],
    )
    put(landing, "README.txt", "ignored")
    part = load(zone)
    assert part.valid.schema == SALES_SCHEMA and part.rejects.schema == REJECTS_SCHEMA
    assert SALES_SCHEMA.names == arrow_schema(TicketSale).names + ["sale_date", "source_file"]
    assert part.valid["sale_id"].to_pylist() == [f"S-{i:06d}" for i in range(1, 11)]
    assert part.valid["source_file"].to_pylist() == ["a.jsonl"] * 5 + ["b.csv"] * 3 + ["c.parquet"] * 2
    assert set(part.valid["sale_date"].to_pylist()) == {date(2025, 10, 3)}
    assert set(part.valid["created_at"].to_pylist()) == set(part.valid["updated_at"].to_pylist()) == {LOADED}
    assert part.valid["unit_price"].to_pylist()[-1] == Decimal("12.34")
    assert part.stats == {
        "files": 3,
        "landing_digest": files_digest(zone.sale_files("2025-10-03")),
        "unparseable_files": [],
        "rows_read": 10,
        "valid": 10,
        "rejected": 0,
        "rejected_by_reason": {},
        "duplicates_dropped": 0,
    }


def test_values_are_normalised_and_load_fields_are_ours(zone, landing):
    put(
        landing,
        "a.jsonl",
        [sale(1, sold_at=f"{DAY}T14:22:05.5+02:00", unit_price=89.5, customer_id=None, created_at="1999-01-01T00:00:00Z")],
    )
    row = load(zone).valid.to_pylist()[0]
    assert row["sold_at"] == datetime(2025, 10, 3, 12, 22, 5, 500000, tzinfo=UTC)
    assert row["unit_price"] == Decimal("89.5") and row["customer_id"] is None
    assert row["created_at"] == row["updated_at"] == LOADED


def test_invalid_records_are_rejected_with_pydantics_reason_and_raw_record(zone, landing):
    bad = sale(2, quantity=25, currency="XYZ")
    put(landing, "a.jsonl", [sale(1), bad, sale(3, channel="fax")])
    part = load(zone)
    assert part.valid["sale_id"].to_pylist() == ["S-000001"]
    reject = part.rejects.to_pylist()[0]
    assert reject["error"] == (
        "quantity: Input should be less than or equal to 20; currency: Value error, 'XYZ' is not a valid ISO-4217 currency code"
    )
    assert json.loads(reject["record"]) == bad
    assert (reject["source"], reject["partition_key"], reject["entity"]) == ("a.jsonl", DAY, "ticket_sales")
    assert reject["rejected_at"] == LOADED
    assert part.stats["rejected_by_reason"] == {"invalid currency, quantity": 1, "invalid channel": 1}


def test_unknown_concerts_and_sales_of_another_day_are_rejected(zone, landing):
    put(landing, "a.csv", [sale(1), sale(2, concert_id="c-unknown"), sale(3, sold_at="2025-10-03T23:30:00-02:00")])
    part = load(zone, known=pa.array(["c1", "c2"]))
    assert part.valid["sale_id"].to_pylist() == ["S-000001"]
    assert errors(part) == [
        "concert_id 'c-unknown' is not a known concert",
        "sold_at 2025-10-04T01:30:00+00:00 falls on 2025-10-04 in UTC, not on 2025-10-03",
    ]
    assert json.loads(part.rejects["record"][1].as_py())["sold_at"] == "2025-10-03T23:30:00-02:00"
    assert part.stats["rejected_by_reason"] == {"sold_at outside partition day": 1, "unknown concert_id": 1}


def test_exact_duplicates_are_dropped_and_counted(zone, landing):
    put(landing, "a.jsonl", [sale(1), sale(2), sale(1)])
    put(landing, "b.csv", [sale(1, sold_at=f"{DAY}T03:01:05+02:00", unit_price="89.5000")])  # same sale
    part = load(zone)
    assert part.valid["sale_id"].to_pylist() == ["S-000001", "S-000002"]
    assert part.valid["source_file"].to_pylist() == ["a.jsonl", "a.jsonl"]
    assert part.stats["duplicates_dropped"] == 2 and part.stats["rejected"] == 0


def test_different_records_sharing_a_sale_id_are_all_rejected(zone, landing):
    put(landing, "a.jsonl", [sale(1), sale(7, quantity=2), sale(2)])
    put(landing, "b.csv", [sale(7, quantity=3), sale(7, quantity=2)])
    part = load(zone)
    assert part.valid["sale_id"].to_pylist() == ["S-000001", "S-000002"]
    assert errors(part) == ["sale_id 'S-000007' has 2 different records in this partition"] * 2
    assert part.rejects["source"].to_pylist() == ["a.jsonl", "b.csv"]
    # The validated record stands in for the raw line (no second parse of the files).
    first = json.loads(part.rejects["record"][0].as_py())
    assert first == {**sale(7, quantity=2), "sold_at": first["sold_at"], "unit_price": "89.5000"}
    assert json.loads(part.rejects["record"][1].as_py())["quantity"] == 3
    assert part.stats["duplicates_dropped"] == 1
    assert part.stats["rejected_by_reason"] == {"conflicting sale_id": 2}


def test_json_the_typed_reader_refuses_falls_back_to_lines(zone, landing):
    lines = [json.dumps(sale(i)) for i in range(1, 400)]
    lines[100] = '{"sale_id": "S-broken", '  # not JSON
    lines[200] = "[1, 2]"  # JSON, not an object
    lines += [json.dumps(sale(i, quantity=str(1 + i % 5), unit_price=89.5)) for i in range(400, 450)]  # types change
    put(landing, "a.jsonl", "\n".join(lines) + "\n\n")
    part = load(zone, batch_rows=64)
    assert part.valid.num_rows == 447
    assert errors(part) == ["line 101 is not valid JSON", "line 201 is not a JSON object"]
    assert json.loads(part.rejects["record"][0].as_py()) == {"line": 101, "text": lines[100]}
    assert part.stats["rows_read"] == 449 and part.stats["rejected_by_reason"] == {"invalid JSON line": 2}


def test_unparseable_files_are_reported_and_the_rest_loads(zone, landing):
    put(landing, "a.jsonl", [sale(1)])
    put(landing, "b.parquet", b"PAR1 this is not parquet at all")
    put(landing, "c.csv", "S-9,c1,2025-10-03T01:00:00Z,1,10,EUR,web\nS-10,c1,2025-10-03T01:00:00Z,1,10,EUR,web\n")
    put(landing, "d.jsonl", bytes(range(256)) * 4)
    part = load(zone)
    assert part.valid["sale_id"].to_pylist() == ["S-000001"]
    assert part.stats["unparseable_files"] == ["b.parquet", "c.csv", "d.jsonl"]
    assert part.rejects["source"].to_pylist() == ["b.parquet", "c.csv", "d.jsonl"]
    assert [json.loads(r) for r in part.rejects["record"].to_pylist()] == [{"file": n} for n in ("b.parquet", "c.csv", "d.jsonl")]
    assert all(e.startswith(f"cannot parse {n}: ") for e, n in zip(errors(part), ("b.parquet", "c.csv", "d.jsonl"), strict=True))
    assert "header" in errors(part)[1]
    assert part.stats["rejected_by_reason"] == {"unparseable file": 3}


def test_malformed_csv_rows_are_rejected_alone(zone, landing):
    header = ",".join(sale(1))
    rows = [",".join(str(v) for v in sale(i).values()) for i in (1, 2)]
    put(landing, "a.csv", "\n".join([header, rows[0], "S-x,c1,too,few", rows[1]]) + "\n")
    part = load(zone)
    assert part.valid["sale_id"].to_pylist() == ["S-000001", "S-000002"]
    assert errors(part) == ["line 3 has 4 columns, the header 9"]
    assert part.stats["rejected_by_reason"] == {"malformed CSV row": 1} and part.stats["rows_read"] == 3


def test_files_are_read_in_bounded_batches(zone, landing, monkeypatch):
    sizes = []
    real = ticket_sales.validate_table
    monkeypatch.setattr(ticket_sales, "validate_table", lambda m, t, **kw: sizes.append(t.num_rows) or real(m, t, **kw))
    put(landing, "a.jsonl", [sale(i) for i in range(1000)])
    put(landing, "b.csv", [sale(i) for i in range(1000, 1500)])
    put(landing, "c.parquet", [sale(i) for i in range(1500, 1800)])
    part = load(zone, batch_rows=100)
    assert part.valid.num_rows == 1800 and max(sizes) <= 100 and sum(sizes) == 1800


def test_reloading_gives_identical_output(zone, landing):
    put(landing, "a.jsonl", [sale(i) for i in range(300)] + [sale(5, quantity=9), sale(6)])
    put(landing, "b.jsonl", "\n".join([json.dumps(sale(i)) for i in range(300, 350)] + ["oops"]))
    put(landing, "c.csv", [sale(i, concert_id="c9" if i % 7 == 0 else "c2") for i in range(350, 420)])
    put(landing, "d.parquet", b"garbage")
    first, again = load(zone), load(zone)
    assert first.valid.equals(again.valid) and first.rejects.equals(again.rejects)
    assert first.stats == again.stats
    small = load(zone, batch_rows=7)
    assert small.valid.equals(first.valid) and small.stats == first.stats
    assert sorted(small.rejects.to_pylist(), key=str) == sorted(first.rejects.to_pylist(), key=str)


def test_an_empty_day_is_an_empty_partition(zone):
    part = load(zone)
    assert part.valid.num_rows == 0 and part.valid.schema == SALES_SCHEMA and part.rejects.num_rows == 0
    assert part.stats["files"] == 0 and part.stats["valid"] == 0


def test_json_keys_that_change_between_chunks_keep_the_fast_path(zone, landing, monkeypatch):
    per_record = []
    real = ticket_sales.validate_records
    monkeypatch.setattr(ticket_sales, "validate_records", lambda *a, **kw: per_record.append(1) or real(*a, **kw))
    early = [sale(i, section=None, customer_id=None) for i in range(1500)]  # null-typed in the first chunks
    late = [sale(i, unit_price=12.5, quantity=float(2)) for i in range(1500, 3000)]  # numbers where text was
    put(landing, "a.jsonl", early + late)
    part = load(zone, batch_rows=200)
    assert part.valid.num_rows == 3000 and part.rejects.num_rows == 0 and not per_record
    assert part.valid["section"].to_pylist()[-1] == "Floor A"


def test_a_landing_zone_on_s3(s3_bucket, aws_env, tmp_path):
    import boto3

    s3 = boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")
    local = tmp_path / "src"
    for name, rows in (("a.jsonl", [sale(1), sale(2)]), ("b.parquet", [sale(3)]), ("c.csv", [sale(4, quantity=99)])):
        path = put(local, name, rows)
        s3.put_object(Bucket=s3_bucket, Key=f"landing/ticket_sales/{DAY}/{name}", Body=path.read_bytes())
    zone = LandingZone(open_location(f"s3://{s3_bucket}/landing", endpoint_url=aws_env))
    part = load(zone)
    assert part.valid["sale_id"].to_pylist() == ["S-000001", "S-000002", "S-000003"]
    assert part.rejects["source"].to_pylist() == ["c.csv"] and "quantity" in part.rejects["error"][0].as_py()


def test_one_bad_line_costs_a_few_lines_of_slow_parsing_not_the_file(zone, landing, monkeypatch):
    import concert_platform.transforms.sale_files as sale_files

    lines = [json.dumps(sale(i)) for i in range(1, 5001)]
    lines[2500] = "not json"
    put(landing, "big.jsonl", "\n".join(lines) + "\n")
    calls = []
    real_parse = sale_files.parse_line
    monkeypatch.setattr(sale_files, "parse_line", lambda line: calls.append(1) or real_parse(line))
    part = load(zone)
    assert part.valid.num_rows == 4999 and errors(part) == ["line 2501 is not valid JSON"]
    assert len(calls) <= 2 * sale_files._LINE_BY_LINE
