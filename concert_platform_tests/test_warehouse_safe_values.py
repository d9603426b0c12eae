"""A bad value is a rejected row, never a blocked day: values some warehouse refuses are rejected at
validation, with the file, the row and the field, and DuckDB and PostgreSQL then take exactly the same rows."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import duckdb
import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import AwareDatetime, BaseModel, Field

from concert_platform.sources.landing import LandingZone
from concert_platform.storage import redshift_sql
from concert_platform.storage.filesystem import open_location
from concert_platform.storage.warehouse import Replace
from concert_platform.transforms.ticket_sales import load_sales_partition
from concert_platform.validation import (
    record_json,
    reject_reason,
    rejects_table,
    table_records,
    validate_records,
    validate_table,
    warehouse_safe,
)
from concert_platform.validation.warehouse_safe import (
    FIRST_DAY,
    FIRST_US,
    LAST_DAY,
    LAST_US,
    MAX_TEXT_BYTES,
    storable_text,
    unreadable,
    unstorable,
)
from concert_platform_tests.sale_records import sale_record
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


def ints(values: list[int], type_: pa.DataType) -> pa.Array:
    return pa.array(values, pa.int64() if type_.bit_width == 64 else pa.int32()).view(type_)


# -- the rules are what the warehouses do -------------------------------------

_TS = pa.timestamp("us", "UTC")
_EDGES = {
    "plain text": pa.array(["plain", "é😀", "\x01\x7f", "\ufffe", ""]),
    "NUL": pa.array(["a\x00b"]),
    "byte 0xff": raw_text([b"ab\xff"]),
    "encoded surrogate": raw_text([b"\xed\xa0\x80"]),
    "overlong NUL": raw_text([b"\xc0\x80"]),
    "cut sequence": raw_text([b"a\xc3"]),
    "first and last instant": ints([FIRST_US, LAST_US], _TS),
    "year 0": ints([FIRST_US - 1], _TS),
    "year 10000": ints([LAST_US + 1], _TS),
    "int64 max instant": ints([2**63 - 1], _TS),
    "int64 min instant": ints([-(2**63)], _TS),
    "first and last day": ints([FIRST_DAY, LAST_DAY], pa.date32()),
    "day before the first": ints([FIRST_DAY - 1], pa.date32()),
    "day after the last": ints([LAST_DAY + 1], pa.date32()),
    "int32 max day": ints([2**31 - 1], pa.date32()),
    "times of day": pa.array([0, 86_400_000_000 - 1], pa.int64()).cast(pa.time64("us")),
    "24:00": pa.array([86_400_000_000], pa.int64()).cast(pa.time64("us")),
    "negative time": pa.array([-1], pa.int64()).cast(pa.time64("us")),
    "18 digits": pa.array([Decimal("99999999999999.9999"), Decimal("-99999999999999.9999")], pa.decimal128(18, 4)),
    "19 digits": pa.Array.from_buffers(pa.decimal128(18, 4), 1, [None, pa.py_buffer(np.array([10**18, 0], np.int64).tobytes())]),
    "non-finite floats": pa.array([math.nan, math.inf, -math.inf, -0.0, 1.7976931348623157e308, 5e-324]),
    "int64 extremes": pa.array([-(2**63), 2**63 - 1]),
    "list of text": pa.array([["a", "é"], [], None]),
    "list item with NUL": pa.array([["a", "b\x00"]]),
}


def _flagged(values: pa.Array) -> bool:
    return bool(unreadable(values) or unstorable(values))


def _same_back(target, name: str, values: pa.Array) -> bool:
    """Loads, reads back, and returns the same Python values (no reader fails on them)."""
    try:
        target.warehouse.load([Replace(name, pa.table({"v": values}))])
        back = target.warehouse.read(name)["v"].to_pylist()
        return _comparable(back) == _comparable(values.to_pylist())
    except (duckdb.Error, psycopg.Error, pa.ArrowException, ValueError, OverflowError):
        return False


def _comparable(values: list) -> list:
    return ["NaN" if isinstance(v, float) and math.isnan(v) else v for v in values]


def test_the_rules_are_what_duckdb_and_postgresql_do(tmp_path: Path):
    """Every value the rules let through loads into both and reads back unchanged; every value they
    flag fails (or comes back wrong, or unreadable) in at least one. Measured, so a new engine version
    that changes its limits fails here."""
    with warehouse_pair(tmp_path) as targets:
        for i, (label, values) in enumerate(_EDGES.items()):
            outcomes = {t.name: _same_back(t, f"edge_{i}", values) for t in targets}
            if _flagged(values):
                assert not all(outcomes.values()), f"{label}: flagged, yet both warehouses take it"
            else:
                assert all(outcomes.values()), f"{label}: allowed, yet {outcomes}"


def test_the_text_length_limit_is_redshifts_column():
    assert redshift_sql.VARCHAR == f"VARCHAR({MAX_TEXT_BYTES})"
    assert redshift_sql.column_type(pa.string()) == redshift_sql.VARCHAR
    assert not unstorable(pa.array(["x" * MAX_TEXT_BYTES, "é" * (MAX_TEXT_BYTES // 2)]))
    assert list(unstorable(pa.array(["ok", "x" * (MAX_TEXT_BYTES + 1), "é" * (MAX_TEXT_BYTES // 2 + 1)]))) == [1, 2]


# -- the column-wise checks ---------------------------------------------------


@pytest.mark.parametrize("type_", [pa.string(), pa.large_string()])
def test_bad_utf8_is_found_row_by_row_in_a_big_column(type_):
    values: list[bytes | str | None] = [f"row {i} é" for i in range(10_000)]
    for i in (0, 4095, 4096, 9999):
        values[i] = b"bad \xff" + str(i).encode()
    values[17] = None
    column = raw_text(values, type_)
    problems = unreadable(column)
    assert sorted(problems) == [0, 4095, 4096, 9999]
    assert problems[4096] == "not valid UTF-8 (byte 0xFF at position 5 in b'bad \\xff4096')"
    # Slices, chunks and dictionaries keep row numbers as the caller sees them.
    assert sorted(unreadable(column.slice(4000, 200))) == [95, 96]
    assert sorted(unreadable(pa.chunked_array([column.slice(0, 5000), column.slice(5000)]))) == [0, 4095, 4096, 9999]
    small = raw_text([b"a", b"\xfe", b"a"])
    assert list(unreadable(small.dictionary_encode())) == [1]
    assert list(unreadable(small.cast(pa.string_view()))) == [1]


def test_list_items_are_checked_and_named():
    items = raw_text([b"ok", b"\xff", b"fine", b"x\x00"])
    lists = pa.ListArray.from_arrays(pa.array([0, 2, 2, 4], pa.int32()), items)  # [[ok, \xff], [], [fine, x\0]]
    assert unreadable(lists) == {0: "item 1: not valid UTF-8 (byte 0xFF at position 1 in b'\\xff')"}
    clean = pa.array([["ok"], [], ["fine", "x\x00"]])
    assert unstorable(clean) == {
        2: "item 1: holds a NUL character (at position 2 in 'x\\x00'), which PostgreSQL and Redshift cannot store"
    }


def test_clean_columns_cost_no_python_per_row(monkeypatch):
    """The common case is a few vectorised passes: no value is looked at on its own."""
    looked_at = []
    for helper in ("_not_utf8", "_text_problem", "_temporal_text"):
        real = getattr(warehouse_safe, helper)
        monkeypatch.setattr(warehouse_safe, helper, lambda *a, real=real: looked_at.append(a) or real(*a))
    text = pa.array([f"Floor {i % 97} é" for i in range(50_000)])
    assert not unreadable(text) and not unstorable(text) and not unstorable(pa.array([["a", "é"]] * 1000))
    assert not unreadable(pa.array(np.arange(50_000) * 10**9, _TS)) and not unstorable(
        pa.array([Decimal("1.5")] * 9, pa.decimal128(18, 4))
    )
    assert looked_at == []
    assert list(unstorable(pa.array(["x", "y\x00"]))) == [1] and len(looked_at) == 1  # only the suspect


def test_storable_text_escapes_what_no_warehouse_takes_and_fits_a_varchar():
    assert storable_text("plain é") == "plain é"
    assert storable_text("a\ud800b\x00c") == "a\\ud800b\\x00c"
    cut = storable_text("é" * 40_000)
    assert len(cut.encode()) <= MAX_TEXT_BYTES and cut.startswith("é" * 30_000) and "80000 bytes in all" in cut
    assert storable_text(cut) == cut


def test_a_rejects_record_is_json_any_warehouse_stores():
    text = record_json({"a": b"Floor \xff\xfe", "b": "x\ud800", "c": "n\x00l", "d": b"ok"})
    assert json.loads(text) == {"a": "Floor \\xff\\xfe", "b": "x\ud800", "c": "n\x00l", "d": "ok"}
    text.encode("utf-8")  # no lone surrogate left in the text itself
    assert "\x00" not in text


# -- both validation paths ----------------------------------------------------


class Note(BaseModel):
    """Every kind of field a warehouse has limits for."""

    id: Annotated[str, Field(min_length=1, max_length=10)]
    text: str | None = None
    tags: list[str] = Field(default_factory=list)
    at: AwareDatetime | None = None
    day: date | None = None
    clock: time | None = None
    price: Annotated[Decimal, Field(decimal_places=2)] | None = None
    ratio: float | None = None


_NOTES = [  # (id, text, tags, at, ratio, expected problem or None)
    ("ok", "fine é", ["a"], "2025-10-03T10:00:00Z", 1.5, None),
    ("bytes", b"Floor \xff\xfe", [], None, None, "text: not valid UTF-8 (byte 0xFF at position 7 in b'Floor \\xff\\xfe')"),
    ("nul", "a\x00b", [], None, None, "text: holds a NUL character (at position 2 in 'a\\x00b')"),
    ("tag-nul", None, ["x", "\x00"], None, None, "tags: item 1: holds a NUL character"),
    ("long", "x" * 70_000, [], None, None, "text: 70000 bytes of UTF-8, more than the 65535 a Redshift VARCHAR holds"),
    ("year0", None, [], "0001-01-01T00:00:00+01:00", None, "at: 0000-12-31T23:00:00.000000Z is outside the years 1-9999"),
    ("nan", None, [], None, math.nan, None),  # both warehouses store NaN
    ("id\x00", None, [], None, None, "id: holds a NUL character"),
    ("bad-and-nul", b"\xc0\x80", ["\x00"], None, None, "text: not valid UTF-8 (byte 0xC0 at position 1 in b'\\xc0\\x80')"),
]


def _notes_table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([n[0] for n in _NOTES]),
            "text": raw_text([n[1] for n in _NOTES]),
            "tags": pa.array([n[2] for n in _NOTES], pa.list_(pa.string())),
            "at": pa.array([n[3] for n in _NOTES], pa.string()),
            "ratio": pa.array([n[4] for n in _NOTES], pa.float64()),
        }
    )


def test_both_paths_reject_what_a_warehouse_refuses_naming_file_row_and_field(tmp_path: Path):
    table = _notes_table()
    rows = np.arange(len(_NOTES)) + 41  # as a reader numbers them: lines 41, 42, ...
    fast = validate_table(Note, table, entity="notes", source="notes.jsonl", rows=rows)
    slow = validate_records(Note, table_records(Note, table), entity="notes", source="notes.jsonl", rows=rows)
    assert repr(fast.valid.to_pylist()) == repr(slow.valid.to_pylist())  # repr: NaN equals itself
    assert fast.source_rows.tolist() == slow.source_rows.tolist()
    assert fast.rejects.drop_columns(["rejected_at"]).equals(slow.rejects.drop_columns(["rejected_at"]))
    assert fast.valid["id"].to_pylist() == ["ok", "nan"]
    assert fast.per_record < len(_NOTES)  # the fast path decided some of these itself

    expected = [(i, problem) for i, (*_, problem) in enumerate(_NOTES) if problem]
    errors = fast.rejects["error"].to_pylist()
    assert len(errors) == len(expected)
    for error, (i, problem) in zip(errors, expected, strict=True):
        assert error.startswith(problem) and error.endswith(f"(row {41 + i} of notes.jsonl)"), error
    assert reject_reason(errors[0]) == "invalid text"
    assert fast.rejects["source"].to_pylist() == ["notes.jsonl"] * len(expected)
    assert json.loads(fast.rejects["record"][0].as_py())["text"] == "Floor \\xff\\xfe"

    # What remains, and the rejects themselves, load into both warehouses alike.
    with warehouse_pair(tmp_path) as targets:
        for target in targets:
            target.warehouse.load([Replace("notes", fast.valid), Replace("rejects", fast.rejects)])
        back = [t.warehouse.read("rejects").sort_by("error").drop_columns(["rejected_at"]) for t in targets]
        assert (
            back[0].to_pylist() == back[1].to_pylist() == fast.rejects.sort_by("error").drop_columns(["rejected_at"]).to_pylist()
        )


def test_input_python_cannot_hold_is_rejected_alike_by_both_paths():
    """Dates, times and instants Arrow holds but no warehouse reads back; table_records shows their text."""
    table = pa.table(
        {
            "id": ["a", "b", "c", "d"],
            "at": ints([0, 2**63 - 1, 0, 0], _TS),
            "day": ints([0, 0, LAST_DAY + 1, 0], pa.date32()),
            "clock": pa.array([0, 0, 0, 86_400_000_000], pa.int64()).cast(pa.time64("us")),
        }
    )
    fast = validate_table(Note, table, entity="notes", source="n.parquet")
    slow = validate_records(Note, table_records(Note, table), entity="notes", source="n.parquet")
    assert fast.valid["id"].to_pylist() == slow.valid["id"].to_pylist() == ["a"]
    assert (
        fast.rejects["error"].to_pylist()
        == slow.rejects["error"].to_pylist()
        == [
            "at: 294247-01-10T04:00:54.775807Z is outside the years 1-9999 that every warehouse stores and reads back (row 2 of n.parquet)",
            "day: 10000-01-01 is outside the years 1-9999 that every warehouse stores and reads back (row 3 of n.parquet)",
            "clock: 24:00:00 is not a time of day (00:00 to 23:59:59.999999) (row 4 of n.parquet)",
        ]
    )


def test_python_records_with_lone_surrogates_or_bad_bytes_are_rejected_not_crashed():
    records = [
        {"id": "ok"},
        {"id": "a\ud800"},  # json.loads('"a\\ud800"') gives this
        {"id": "b", "text": bytearray(b"\xff")},
        {"id": "c", "tags": ["fine", "\udc80"]},
        {"id": "d", "price": Decimal("1e30")},  # Arrow cannot hold it either
    ]
    result = validate_records(Note, records, entity="notes", source="api")
    assert result.valid["id"].to_pylist() == ["ok"]
    assert result.rejects["error"].to_pylist() == [
        "id: not valid Unicode (lone surrogate \\ud800 at position 2 in 'a\\ud800') (row 2 of api)",
        "text: not valid UTF-8 (byte 0xFF at position 1 in b'\\xff') (row 3 of api)",
        "tags: item 1: not valid Unicode (lone surrogate \\udc80 at position 1 in '\\udc80') (row 4 of api)",
        result.rejects["error"][3].as_py(),
    ]
    assert result.rejects["error"][3].as_py().startswith("price: cannot be stored as decimal128(18, 2): ")
    assert result.rejects["error"][3].as_py().endswith(" (row 5 of api)")
    assert json.loads(result.rejects["record"][0].as_py()) == {"id": "a\ud800"}
    rejects_table(result.rejects.to_pylist()).validate(full=True)


# -- end to end: landing files through ticket_sales into both warehouses -------


def _sale(i: int, **changes) -> dict:
    return sale_record(i, DAY, **{"sold_at": f"{DAY}T10:{i % 60:02d}:05Z", **changes})


def _jsonl(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def _line(record: dict, **raw: bytes) -> bytes:
    """A JSON line whose fields in ``raw`` are spliced in as raw bytes (inside the quotes)."""
    text = json.dumps({**record, **{k: f"@{k}@" for k in raw}}, ensure_ascii=False).encode()
    for key, value in raw.items():
        text = text.replace(f"@{key}@".encode(), value)
    return text


def _landing(tmp_path: Path) -> tuple[LandingZone, dict[str, tuple[str, int, str]]]:
    """Files with hostile rows among valid ones: the zone, and per hostile sale_id (as printed)
    its file, its row (or line) there and the field its reject must name."""
    folder = tmp_path / "landing" / "ticket_sales" / DAY
    folder.mkdir(parents=True)
    lines = [json.dumps(_sale(i)).encode() for i in range(1, 9)]
    lines[1] = json.dumps(_sale(2, sold_at="0001-01-01T00:30:00+01:00")).encode()  # in UTC: the year 0
    lines[3] = json.dumps(_sale(4, sale_id="S-000004\x00")).encode()  # "\u0000" in the JSON text
    lines[4] = json.dumps(_sale(5, section="\ud800")).encode()  # a lone surrogate escape
    lines[5] = _line(_sale(6), customer_id=b"C-\xed\xa0\x80")  # a surrogate as raw (CESU-8) bytes
    # Last: the reader numbers the rows after a line it refuses by record, not by line.
    lines[6] = _line(_sale(7), section=b"Floor \xff\xfe")
    (folder / "a.jsonl").write_bytes(_jsonl(lines))
    hostile = {f"S-00000{i}": ("a.jsonl", i, f) for i, f in [(2, "sold_at"), (4, "sale_id"), (5, "section"), (6, "customer_id")]}
    hostile["S-000007"] = ("a.jsonl", 7, "section")

    sales = [_sale(i) for i in range(11, 17)]
    sales[3]["customer_id"] = "C\x00"
    sections = [s["section"].encode() for s in sales]
    sections[1] = b"\xff"  # pyarrow's Parquet reader does not check UTF-8 either
    stamps = [int(datetime.fromisoformat(s["sold_at"]).timestamp()) * 10**6 for s in sales]
    stamps[4] = 2**63 - 1
    table = pa.Table.from_pylist(sales).set_column(8, "section", raw_text(sections)).set_column(2, "sold_at", ints(stamps, _TS))
    pq.write_table(table, folder / "b.parquet")
    hostile |= {f"S-0000{i}": ("b.parquet", i - 10, f) for i, f in [(12, "section"), (14, "customer_id"), (15, "sold_at")]}

    rows = [",".join(str(v) for v in _sale(i).values()).encode() for i in range(21, 25)]
    rows[1] = rows[1].replace(b"Floor A", b"Floor \x00A")
    rows[2] = rows[2].replace(b"Floor A", b"Floor \xffA")
    (folder / "c.csv").write_bytes(_jsonl([",".join(_sale(0)).encode(), *rows]))
    hostile["S-000022"] = ("c.csv", 2, "section")  # the reader's count of data rows
    hostile["S-000023"] = ("c.csv", 4, "section")  # a line: the CSV reader rejects bytes that are not UTF-8 itself
    return LandingZone(open_location(str(tmp_path / "landing"))), hostile


def test_hostile_landing_rows_are_rejected_and_both_warehouses_load_the_same_rest(tmp_path: Path):
    zone, hostile = _landing(tmp_path)
    part = load_sales_partition(zone, DAY, {"c1"}, loaded_at=LOADED)
    assert part.stats["unparseable_files"] == []
    assert part.stats["rows_read"] == part.valid.num_rows + part.rejects.num_rows == 8 + 6 + 4
    assert part.rejects.num_rows == len(hostile)
    for reject in part.rejects.to_pylist():
        (sale_id,) = [s for s in hostile if f'"{s}' in reject["record"]]
        file, number, field = hostile[sale_id]
        error = reject["error"]
        assert reject["source"] == file, reject
        # Validation says "field: what (row N of file)"; a reader refusing the line itself says "line N".
        assert (error.startswith(f"{field}: ") and error.endswith(f"(row {number} of {file})")) or f"line {number}" in error, (
            reject
        )
    assert sorted(part.valid["sale_id"].to_pylist()) == sorted(
        s["sale_id"] for s in [_sale(i) for i in [*range(1, 9), *range(11, 17), *range(21, 25)]] if s["sale_id"] not in hostile
    )

    with warehouse_pair(tmp_path / "warehouses") as (duck, pg):
        for target in (duck, pg):
            publish_day(target, DAY, part.valid, part.rejects)
        expected = sorted(part.valid.select(SALE_COLUMNS).to_pylist(), key=lambda r: r["sale_id"])
        assert stored_sales(duck) == stored_sales(pg) == expected
        assert stored_rejects(duck) == stored_rejects(pg) and len(stored_rejects(pg)) == len(hostile)
        for target in (duck, pg):  # the lake holds only what a warehouse holds, and reads back
            assert target.lake.read("ticket_sales", partitions=[DAY]).to_pylist() == part.valid.to_pylist()
            assert len(target.lake.read("rejected_records/ticket_sales", partitions=[DAY]).to_pylist()) == len(hostile)
