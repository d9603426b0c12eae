"""Fuzz: landing files of valid and hostile rows in every format, through ticket_sales into DuckDB
and PostgreSQL. Every row read is either valid or rejected, every hostile row is rejected, nothing
raises, and both warehouses hold exactly the valid rows, text unchanged.

Deterministic (derandomize) and bounded (max_examples) so it runs in the default suite and never flakes.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from concert_platform.sources.landing import LandingZone
from concert_platform.storage.filesystem import open_location
from concert_platform.transforms.ticket_sales import load_sales_partition
from concert_platform.validation.warehouse_safe import FIRST_US, LAST_US
from concert_platform_tests.warehouse_pair import (
    SALE_COLUMNS,
    publish_day,
    raw_text,
    stored_rejects,
    stored_sales,
    warehouse_pair,
)

DAY = "2025-10-03"
LOADED = datetime(2025, 10, 4, 6, 0, tzinfo=UTC)
TEXT_FIELDS = ("sale_id", "customer_id", "section")
_MARK = "@"  # never drawn: where a poison goes in a value

# Any character but NUL and lone surrogates; CSV (pyarrow reads no newline inside a value) also without \r and \n.
_ANY = st.characters(exclude_categories=("Cs",), exclude_characters="\x00" + _MARK)
_CSV = st.characters(exclude_categories=("Cs",), exclude_characters="\x00\r\n" + _MARK)
_BAD_BYTES = [
    b"\xff",
    b"\xfe\xfe",
    b"\x80",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xe2\x82",
    b"\xf4\x90\x80\x80",
    b"\xf8\x88\x80\x80\x80",
]
_SURROGATE_ESCAPES = [b"\\ud800", b"\\udbff", b"\\udc00", b"\\udfff"]
_FAR_TEXT = ["0001-01-01T00:00:00+00:01", "0001-01-01T00:30:00+01:00"]  # valid ISO, but the UTC instant is in the year 0
_FAR_US = [2**63 - 1, -(2**63), LAST_US + 1, FIRST_US - 1]


@dataclass
class Row:
    values: dict  # sale_id, customer_id, section: text or None
    poison: tuple | None = None  # (kind, payload, field): what makes the row hostile


@st.composite
def rows(draw, alphabet, kinds: tuple[str, ...], first: int) -> list[Row]:
    text = st.text(alphabet, max_size=12)
    out = []
    for k in range(draw(st.integers(1, 10))):
        values = {
            "sale_id": f"S{first + k}-" + draw(text),
            "customer_id": draw(st.none() | text),
            "section": draw(st.none() | text),
        }
        kind = draw(st.sampled_from((None, None, *kinds)))
        if kind is None:
            out.append(Row(values))
            continue
        payload = {
            "nul": b"\x00",
            "bytes": draw(st.sampled_from(_BAD_BYTES)),
            "surrogate": draw(st.sampled_from(_SURROGATE_ESCAPES)),
            "far": draw(st.sampled_from(_FAR_US if "far_us" in kinds else _FAR_TEXT)),
        }[kind if kind != "far_us" else "far"]
        field = "sold_at" if kind in ("far", "far_us") else draw(st.sampled_from(TEXT_FIELDS))
        if field != "sold_at":
            values[field] = (values[field] or "") + _MARK + draw(text)
        out.append(Row(values, (kind, payload, field)))
    return out


def _sale(row: Row) -> dict:
    return {
        "sale_id": row.values["sale_id"],
        "concert_id": "c1",
        "sold_at": f"{DAY}T10:00:05Z",
        "quantity": 2,
        "unit_price": "89.50",
        "currency": "EUR",
        "channel": "web",
        "customer_id": row.values["customer_id"],
        "section": row.values["section"],
    }


def _spliced(row: Row, text: str, json_escapes: bool = False) -> bytes:
    """``text`` as the file holds it: the poison in place of the mark (only a poisoned value has one)."""
    if row.poison is None or row.poison[2] == "sold_at":
        return text.encode()
    kind, payload, _ = row.poison
    return text.encode().replace(_MARK.encode(), b"\\u0000" if json_escapes and kind == "nul" else payload)


def _with_instant(row: Row, sale: dict) -> dict:
    return {**sale, "sold_at": row.poison[1]} if row.poison and row.poison[2] == "sold_at" else sale


def write_jsonl(path: Path, batch: list[Row]) -> None:
    lines = [_spliced(row, json.dumps(_with_instant(row, _sale(row)), ensure_ascii=False), True) for row in batch]
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def write_csv(path: Path, batch: list[Row]) -> None:
    header = list(_sale(batch[0]))
    out = [",".join(header)]
    for row in batch:
        sale = _with_instant(row, _sale(row))
        # Quoted, so text is text ("" is empty); an unquoted empty cell is an absent value.
        out.append(",".join("" if sale[n] is None else '"' + str(sale[n]).replace('"', '""') + '"' for n in header))
    path.write_bytes(b"".join(_spliced(row, line) + b"\n" for row, line in zip([Row({}), *batch], out, strict=True)))


def write_parquet(path: Path, batch: list[Row], typed_instants: bool) -> None:
    sales = [_sale(row) for row in batch]
    columns = {name: [s[name] for s in sales] for name in sales[0]}
    for field in TEXT_FIELDS:
        columns[field] = raw_text([None if r.values[field] is None else _spliced(r, r.values[field]) for r in batch])
    if typed_instants:
        base = int(datetime.fromisoformat(f"{DAY}T10:00:05+00:00").timestamp()) * 10**6
        stamps = [r.poison[1] if r.poison and r.poison[2] == "sold_at" else base for r in batch]
        columns["sold_at"] = pa.array(stamps, pa.int64()).view(pa.timestamp("us", "UTC"))
    else:
        columns["sold_at"] = [
            r.poison[1] if r.poison and r.poison[2] == "sold_at" else s["sold_at"] for r, s in zip(batch, sales, strict=True)
        ]
    pq.write_table(pa.table(columns), path)


@st.composite
def landings(draw) -> tuple[list[Row], list[Row], list[Row], bool]:
    typed = draw(st.booleans())
    jsonl = draw(rows(_ANY, ("nul", "bytes", "surrogate", "far"), 0))
    csv = draw(rows(_CSV, ("nul", "bytes", "far"), 100))
    parquet = draw(rows(_ANY, ("nul", "bytes", "far_us" if typed else "far"), 200))
    return jsonl, csv, parquet, typed


@settings(max_examples=12, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(landings())
def test_hostile_rows_never_block_a_day_and_both_warehouses_agree(landing):
    jsonl, csv, parquet, typed = landing
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "landing" / "ticket_sales" / DAY
        folder.mkdir(parents=True)
        write_jsonl(folder / "a.jsonl", jsonl)
        write_csv(folder / "b.csv", csv)
        write_parquet(folder / "c.parquet", parquet, typed)
        part = load_sales_partition(LandingZone(open_location(str(Path(tmp) / "landing"))), DAY, {"c1"}, loaded_at=LOADED)

        everything = jsonl + csv + parquet
        valid = sorted((_sale(r) for r in everything if r.poison is None), key=lambda s: s["sale_id"])
        assert part.stats["unparseable_files"] == []
        assert part.stats["rows_read"] == part.valid.num_rows + part.rejects.num_rows == len(everything)
        assert part.rejects.num_rows == len(everything) - len(valid), part.rejects["error"].to_pylist()

        with warehouse_pair(Path(tmp) / "warehouses") as (duck, pg):
            for target in (duck, pg):
                publish_day(target, DAY, part.valid, part.rejects)
            stored = stored_sales(duck)
            assert stored == stored_sales(pg)
            assert [{f: s[f] for f in TEXT_FIELDS} for s in stored] == [{f: s[f] for f in TEXT_FIELDS} for s in valid]
            assert stored_rejects(duck) == stored_rejects(pg)
            for target in (duck, pg):  # the lake holds what the warehouse holds, and reads back
                assert (
                    target.lake.read("ticket_sales", partitions=[DAY]).select(SALE_COLUMNS).to_pylist()
                    == part.valid.select(SALE_COLUMNS).to_pylist()
                )
                assert len(target.lake.read("rejected_records/ticket_sales", partitions=[DAY]).to_pylist()) == len(
                    everything
                ) - len(valid)
