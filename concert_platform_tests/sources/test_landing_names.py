"""Which names in the landing zone are sale files: formats, compressions, and the temporary names never listed."""

from __future__ import annotations

import boto3
import pytest

from concert_platform.sources.landing import LandingZone, is_temporary, sale_file_kind
from concert_platform.storage.filesystem import open_location

DAY = "2026-10-01"
SALE_FILES = {
    "web.jsonl": ("jsonl", None),
    "app.NDJSON": ("jsonl", None),
    "export.json": ("json", None),
    "box.csv": ("csv", None),
    "partner.parquet": ("parquet", None),
    "web.jsonl.gz": ("jsonl", "gzip"),
    "app.ndjson.gz": ("jsonl", "gzip"),
    "box.CSV.GZ": ("csv", "gzip"),
    "export.json.gz": ("json", "gzip"),
    "box.csv.zst": ("csv", "zstd"),  # listed so the reader can refuse it by name
    "web.jsonl.bz2": ("jsonl", "bz2"),
}
TEMPORARY = [
    "_SUCCESS",
    "_web.jsonl",
    ".web.jsonl",
    ".part-00000.jsonl.crc",
    "web.jsonl.tmp",
    "web.csv.part",
    "web.jsonl.gz.TMP",
    "_temporary/0/_temporary/attempt_1/part-00000.jsonl",
    ".spark-staging/part-00000.jsonl",
]
NOT_SALES = ["README.md", "notes.txt", "web.gz", "sub/web.jsonl", "data.avro"]


@pytest.mark.parametrize(("name", "kind"), SALE_FILES.items())
def test_a_sale_files_name_says_its_format_and_compression(name, kind):
    assert sale_file_kind(name) == kind


@pytest.mark.parametrize(
    "parts",
    [
        ["ticket_sales", DAY, "_SUCCESS"],
        ["ticket_sales", DAY, "a.jsonl.part"],
        ["ticket_sales", DAY, "_temporary", "0", "a.jsonl"],
        ["_temporary", "ticket_sales", DAY, "a.jsonl"],
        ["ticket_sales", ".staging", "a.jsonl"],
    ],
)
def test_temporary_names_anywhere_in_the_path(parts):
    assert is_temporary(parts)
    assert not is_temporary(["ticket_sales", DAY, "a.jsonl"])


def _write(zone: LandingZone, names) -> None:
    for name in names:
        zone.write_bytes(zone.location.path("ticket_sales", DAY, name), b'{"sale_id": "1"}\n')


def test_a_folder_lists_sale_files_and_never_temporary_ones(tmp_path):
    zone = LandingZone(open_location(str(tmp_path / "landing")))
    _write(zone, [*SALE_FILES, *TEMPORARY, *NOT_SALES])
    zone.write_bytes(zone.location.path("ticket_sales", "_temporary", "a.jsonl"), b"{}\n")  # not a day folder
    for day in (None, DAY):  # the whole zone (recursive) and one day
        files = zone.sale_files(day)
        assert sorted(f.name for f in files) == sorted(SALE_FILES)
        assert {f.name: (f.format, f.compression) for f in files} == SALE_FILES


def test_s3_lists_sale_files_and_never_temporary_ones(s3_bucket, aws_env):
    client = boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")
    for name in [*SALE_FILES, *TEMPORARY, *NOT_SALES]:
        client.put_object(Bucket=s3_bucket, Key=f"landing/ticket_sales/{DAY}/{name}", Body=b"{}\n")
    zone = LandingZone(open_location(f"s3://{s3_bucket}/landing", aws_env), endpoint_url=aws_env)
    for day in (None, DAY):
        assert sorted(f.name for f in zone.sale_files(day)) == sorted(SALE_FILES)
