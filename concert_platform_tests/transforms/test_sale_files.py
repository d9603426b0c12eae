"""The landing contract at the reader: gzip, JSON arrays, duplicate keys, encodings and delimiters.

Real files in a temporary landing zone, read through `load_sales_partition` as a run reads them.
"""

from __future__ import annotations

import codecs
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pajson
import pytest

import concert_platform.transforms.sale_files as sale_files
from concert_platform.sources.landing import LandingZone
from concert_platform.storage.filesystem import open_location
from concert_platform.transforms.ticket_sales import load_sales_partition
from concert_platform_tests.sale_records import sale_record

DAY = "2025-10-03"
LOADED = datetime(2025, 10, 4, 6, 0, tzinfo=UTC)
COLUMNS = ("sale_id", "concert_id", "sold_at", "quantity", "unit_price", "currency", "channel", "customer_id")


def sale(i: int, **changes) -> dict:
    """A sale with the COLUMNS only, so its CSV and JSON forms hold the same fields."""
    record = {k: v for k, v in sale_record(i, DAY).items() if k in COLUMNS}
    return {**record, **changes}


def jsonl(records) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def csv_text(records) -> bytes:
    rows = [",".join(COLUMNS)] + [",".join(str(r[c]) for c in COLUMNS) for r in records]
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def zone(landing: Path) -> LandingZone:
    return LandingZone(open_location(str(landing)))


def put(landing: Path, name: str, data: bytes) -> Path:
    path = landing / "ticket_sales" / DAY / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def load(zone: LandingZone, **kwargs):
    return load_sales_partition(zone, DAY, {"c1"}, loaded_at=LOADED, **kwargs)


def errors(part) -> list[str]:
    return part.rejects["error"].to_pylist()


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of about 1 KiB read 100 bytes at a time, so a small file crosses many chunk and read boundaries."""
    monkeypatch.setattr(sale_files, "_MIN_BLOCK", 1024)
    monkeypatch.setattr(sale_files, "_STREAM_READ", 100)


# -- gzip ---------------------------------------------------------------------------------------------


def test_gzipped_json_lines_ndjson_and_csv_load_like_their_plain_files(zone, landing):
    put(landing, "a.jsonl.gz", gzip.compress(jsonl(sale(i) for i in range(0, 300))))
    put(landing, "b.ndjson.gz", gzip.compress(jsonl(sale(i) for i in range(300, 400))))
    put(landing, "c.csv.gz", gzip.compress(csv_text(sale(i) for i in range(400, 450))))
    put(landing, "d.json.gz", gzip.compress(json.dumps([sale(i) for i in range(450, 460)]).encode()))
    part = load(zone)
    assert part.rejects.num_rows == 0 and part.stats["files"] == 4
    assert sorted(part.valid["sale_id"].to_pylist()) == [f"S-{i:06d}" for i in range(460)]


def test_a_gzipped_file_streams_in_chunks_with_the_plain_files_line_numbers(zone, landing, small_chunks):
    lines = [json.dumps(sale(i)) for i in range(1, 2001)]
    lines[1499] = "not json"  # line 1500, many chunks in
    lines[1799] = '{"sale_id": "S-x", "sale_id": "S-y"}'  # line 1800
    body = ("\n".join(lines) + "\n").encode()
    put(landing, "plain.jsonl", body)
    plain = load(zone, batch_rows=50)
    (landing / "ticket_sales" / DAY / "plain.jsonl").unlink()
    put(landing, "packed.jsonl.gz", gzip.compress(body))
    packed = load(zone, batch_rows=50)
    assert errors(packed) == [
        "line 1500 is not valid JSON",
        "packed.jsonl.gz line 1800: the key 'sale_id' appears more than once in one object",
    ]
    assert errors(plain)[0] == errors(packed)[0] and packed.valid.num_rows == plain.valid.num_rows == 1998
    assert packed.valid["sale_id"].to_pylist() == plain.valid["sale_id"].to_pylist()


def test_stream_chunks_cut_where_file_chunks_cut_and_read_as_they_go(small_chunks):
    data = b"".join(b'{"n": %d, "pad": "%s"}\n' % (i, b"x" * (i % 37)) for i in range(3000)) + b'{"last": 1}'
    size = 1000

    class Stream:  # a decompressing stream: read(n) only, counting what was asked of it
        def __init__(self):
            self.reader, self.read_bytes = pa.BufferReader(data), 0

        def read(self, n):  # never more than 300 bytes at a time, as a stream may
            piece = self.reader.read(min(n, 300))
            self.read_bytes += len(piece)
            return piece

    stream = Stream()
    streamed = sale_files._stream_chunks(stream, size)
    first_line, first = next(streamed)
    assert first_line == 1 and stream.read_bytes < len(data) // 4  # the first chunk came before the file was read
    chunks = [(first_line, first), *streamed]
    expected = list(sale_files._chunks(pa.BufferReader(data), size))
    assert [c for _, c in chunks] == [c for _, c in expected] and b"".join(c for _, c in chunks) == data
    lines = [1 + data.count(b"\n", 0, start) for start, _ in expected]
    assert [line for line, _ in chunks] == lines


def test_a_file_that_is_not_gzip_and_other_compressions_are_refused_by_name(zone, landing):
    put(landing, "a.jsonl", jsonl([sale(1)]))
    put(landing, "b.jsonl.gz", jsonl([sale(2)]))  # named .gz, not compressed
    put(landing, "c.csv.zst", b"\x28\xb5\x2f\xfd whatever")
    put(landing, "d.parquet.gz", gzip.compress(b"PAR1"))
    put(landing, "e.jsonl.gz", gzip.compress(jsonl(sale(i) for i in range(5, 500)))[:-100])  # cut off mid-upload
    part = load(zone)
    assert part.valid["sale_id"].to_pylist() == ["S-000001"]
    assert part.stats["unparseable_files"] == ["b.jsonl.gz", "c.csv.zst", "d.parquet.gz", "e.jsonl.gz"]
    b, c, d, e = errors(part)
    assert b.startswith("cannot parse b.jsonl.gz: b.jsonl.gz is not readable as gzip")
    assert c == "cannot parse c.csv.zst: c.csv.zst is compressed with zstd; only gzip (.gz) is read"
    assert "gzipped Parquet" in d and e.startswith("cannot parse e.jsonl.gz: ")


# -- duplicate keys -----------------------------------------------------------------------------------


def test_pyarrow_refuses_a_key_given_twice_so_the_fast_path_needs_no_check():
    # The reader relies on this: were pyarrow to keep one of the values, a duplicate would load silently.
    options = pajson.ParseOptions(explicit_schema=pa.schema([("sold_at", pa.string())]))
    for line in (b'{"a": 1, "a": 2}\n', b'{"sold_at": "x", "sold_at": "y"}\n', b'{"n": {"b": 1, "b": 1}}\n'):
        with pytest.raises(pa.ArrowInvalid, match="specified twice"):
            pajson.read_json(pa.BufferReader(b'{"a": 0}\n' * 1000 + line), parse_options=options)


def test_a_duplicate_key_rejects_its_row_with_file_line_and_key(zone, landing):
    lines = [json.dumps(sale(i)) for i in range(1, 5001)]
    lines[1233] = json.dumps(sale(1234))[:-1] + ', "quantity": 20}'  # last-one-wins would load quantity 20
    lines[3999] = json.dumps(sale(4000))[:-1] + ', "extra": {"k": 1, "k": 2}}'  # nested, in a field nobody reads
    put(landing, "big.jsonl", ("\n".join(lines) + "\n").encode())
    part = load(zone)
    assert errors(part) == [
        "big.jsonl line 1234: the key 'quantity' appears more than once in one object",
        "big.jsonl line 4000: the key 'k' appears more than once in one object",
    ]
    assert json.loads(part.rejects["record"][0].as_py()) == {"line": 1234, "text": lines[1233]}
    assert part.valid.num_rows == 4998 and "S-001234" not in part.valid["sale_id"].to_pylist()
    assert part.stats["rejected_by_reason"] == {"duplicate key": 2}


# -- JSON arrays --------------------------------------------------------------------------------------


def test_a_json_array_of_records_is_read_record_by_record(zone, landing, small_chunks):
    records = [sale(i) for i in range(1, 401)]
    text = "\ufeff[\n" + ",\n".join(json.dumps(r, indent=2) for r in records) + "\n]\n"  # pretty-printed, with a BOM
    put(landing, "export.json", text.encode())
    part = load(zone, batch_rows=64)
    assert part.rejects.num_rows == 0 and part.valid["sale_id"].to_pylist() == [r["sale_id"] for r in records]


def test_bad_records_of_an_array_are_rejected_alone_with_their_line(zone, landing, small_chunks):
    records = [json.dumps(sale(i)) for i in range(1, 101)]
    records[9] = "[1, 2]"  # line 11: not an object
    records[19] = json.dumps(sale(20))[:-1] + ', "channel": "web"}'  # line 21
    body = ("[\n" + ",\n".join(records) + "\n]").encode()
    body = body.replace(b'"C-30"', b'"C-3\xe9"')  # line 31: a byte that is not UTF-8
    put(landing, "export.json", body)
    part = load(zone, batch_rows=16)
    assert errors(part) == [
        "export.json line 11: the array element is not a JSON object",
        "export.json line 21: the key 'channel' appears more than once in one object",
        "export.json line 31: the record is not valid UTF-8",
    ]
    assert json.loads(part.rejects["record"][0].as_py()) == {"line": 11, "text": "[1, 2]"}
    assert part.valid.num_rows == 97


def test_an_array_that_is_not_valid_json_is_refused_with_where(zone, landing):
    put(landing, "a.json", b'[\n{"sale_id": "S-1"},\n{"sale_id": "S-2"}\n{"sale_id": "S-3"}\n]')
    put(landing, "b.json", b'[{"sale_id": "S-1"}] trailing')
    put(landing, "c.json", b'[{"sale_id": "S-1"},')
    put(landing, "d.json", b"[]")
    part = load(zone)
    assert part.stats["unparseable_files"] == ["a.json", "b.json", "c.json"]
    assert errors(part) == [
        "cannot parse a.json: a.json line 4: expected , or ] after a record",
        "cannot parse b.json: b.json line 1: text after the array's closing ]",
        "cannot parse c.json: c.json line 1: the array is not valid JSON (Expecting value)",
    ]


def test_a_json_file_of_lines_reads_as_json_lines(zone, landing):
    put(landing, "a.json", jsonl(sale(i) for i in range(1, 11)))
    assert load(zone).valid.num_rows == 10


# -- encodings and delimiters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "named"),
    [
        (
            "a.csv",
            codecs.BOM_UTF16_LE + "sale_id,concert_id\nS-1,c1\n".encode("utf-16-le"),
            "is UTF-16 (little-endian) text (byte-order mark FF FE)",
        ),
        (
            "a.jsonl",
            codecs.BOM_UTF16_BE + '{"sale_id": "S-1"}\n'.encode("utf-16-be"),
            "is UTF-16 (big-endian) text (byte-order mark FE FF)",
        ),
        (
            "a.jsonl",
            '{"sale_id": "S-1"}\n'.encode("utf-16-le"),
            "looks like UTF-16 (little-endian) text without a byte-order mark (NUL bytes between its first characters)",
        ),
        (
            "a.csv.gz",
            gzip.compress("sale_id\nS-1\n".encode("utf-32")),
            "is UTF-32 (little-endian) text (byte-order mark FF FE 00 00)",
        ),
    ],
)
def test_text_that_is_not_utf8_is_refused_naming_its_encoding(zone, landing, name, data, named):
    put(landing, name, data)
    [error] = errors(load(zone))
    assert error == f"cannot parse {name}: {name} {named}; sale files must be UTF-8"


def test_a_utf8_byte_order_mark_is_allowed(zone, landing):
    put(landing, "a.csv", codecs.BOM_UTF8 + csv_text([sale(1), sale(2)]))
    put(landing, "b.jsonl", codecs.BOM_UTF8 + jsonl([sale(3)]))
    put(landing, "c.jsonl", codecs.BOM_UTF8 + b'{"sale_id": "S-000004", "sale_id": "S-4"}\n' + jsonl([sale(5)]))
    part = load(zone)
    assert part.valid["sale_id"].to_pylist() == ["S-000001", "S-000002", "S-000003", "S-000005"]
    assert errors(part) == ["c.jsonl line 1: the key 'sale_id' appears more than once in one object"]


@pytest.mark.parametrize(
    ("delimiter", "named"), [(";", "semicolons (';')"), ("\t", "tabs ('\\t')"), ("|", "vertical bars ('|')")]
)
def test_a_csv_separated_by_something_else_names_its_delimiter(zone, landing, delimiter, named):
    put(landing, "a.csv", csv_text([sale(1)]).replace(b",", delimiter.encode()))
    [error] = errors(load(zone))
    assert error == f"cannot parse a.csv: a.csv is separated by {named}, not commas; only comma-separated CSV is read"


def test_a_csv_without_a_header_still_says_so(zone, landing):
    put(landing, "a.csv", csv_text([sale(1), sale(2)]).split(b"\n", 1)[1])
    [error] = errors(load(zone))
    assert error.startswith("cannot parse a.csv: no sale field among the columns") and "header" in error


@pytest.mark.parametrize("name", ["mobile.csv", "mobile.csv.gz"])
def test_a_bad_utf8_byte_in_a_csv_costs_its_row_not_the_file(zone, landing, name):
    rows = csv_text(sale(i) for i in range(1, 301)).split(b"\n")
    rows.insert(3, b"")  # an empty line (skipped) and a short row (rejected) before the bad byte: lines still count
    rows.insert(5, b"S-x,c1,too,few")
    rows[100] = rows[100].replace(b"C-", b"C-\xe9")  # line 101
    rows[250] = rows[250].replace(b"EUR", b"E\xffR")  # line 251, in a later batch
    body = b"\n".join(rows)
    put(landing, name, gzip.compress(body) if name.endswith(".gz") else body)
    part = load(zone, batch_rows=40)
    assert errors(part) == [
        "line 6 has 4 columns, the header 8",
        f"{name} line 101: customer_id is not valid UTF-8 (byte 0xE9 at position 3)",
        f"{name} line 251: currency is not valid UTF-8 (byte 0xFF at position 2)",
    ]
    assert part.stats["rejected_by_reason"] == {"invalid UTF-8": 2, "malformed CSV row": 1}
    assert part.valid.num_rows == 298 and part.stats["rows_read"] == 301
    assert json.loads(part.rejects["record"][1].as_py())["line"] == 101


def test_a_bad_utf8_byte_in_json_lines_costs_its_line_not_the_file(zone, landing):
    lines = jsonl(sale(i) for i in range(1, 5001)).split(b"\n")
    lines[9] = lines[9].replace(b"C-10", b"C-1\xe9")  # pyarrow reads it; validation rejects the value
    lines[2999] = lines[2999].replace(b"C-3000", b"C-300\xe9") + b" }"  # refused: the line-by-line path names the byte
    put(landing, "a.jsonl", b"\n".join(lines))
    part = load(zone)
    assert part.valid.num_rows == 4998 and part.rejects.num_rows == 2
    assert errors(part)[1].startswith("line 3000 is not valid JSON: byte 0xE9 at position ")


def test_csv_lines_count_empty_lines_and_read_again_when_asked_behind():
    data = b"h1,h2\n\na,b\r\n\r\nc,d\ne\nf,g\n"  # non-empty lines 1..5 are on lines 1, 3, 5, 6, 7
    opened = []
    lines = sale_files._CsvLines(lambda: opened.append(1) or pa.BufferReader(data))
    found = {}
    for number in (5, 3):  # the second is behind the first: the file is read again from the start
        bad = lines.later((sale_files.BadRow(None, "", "r", ""), lambda where, n=number: f"{n} at {where}"), number)
        lines.resolve()
        found[number] = (bad.line, bad.error)
    assert found == {5: (7, "5 at line 7"), 3: (5, "3 at line 5")} and len(opened) == 2
    assert lines.number_of(0) == 2 and lines.number_of(2) == 4
    lines.skipped += [3, 4]  # rows pyarrow skipped: the kept rows after them move on
    assert [lines.number_of(r) for r in range(3)] == [2, 5, 6]
