"""The landing zone: where partners drop ticket-sale files, one folder per sale date.

Layout (an outside contract): ``{root}/ticket_sales/{YYYY-MM-DD}/{name}.jsonl|ndjson|json|csv|parquet``,
the text formats optionally gzipped (``.jsonl.gz``), plus reference data under ``{root}/reference/``.
Names that mark a file as unfinished (see `is_temporary`) are never listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.fs as pafs

from concert_platform.storage.filesystem import Location

SALES_DIR = "ticket_sales"
REFERENCE_DIR = "reference"
VENUE_CAPACITIES = "venue_capacities.csv"
SALE_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
# Compressions a sale file's name may end with. Only gzip is read; the others are listed anyway,
# so the reader refuses them by name instead of a partner's files silently not counting.
COMPRESSIONS = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zst": "zstd", ".xz": "xz", ".zip": "zip"}
# Spark/Hadoop and upload tools mark unfinished output like this; such files are never listed.
TEMPORARY_PREFIXES = ("_", ".")  # _SUCCESS, _temporary/, .part-0000.crc, .~lock
TEMPORARY_SUFFIXES = (".tmp", ".part")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class LandingFile:
    path: str  # inside the location's filesystem
    day: str  # YYYY-MM-DD, the folder's date
    name: str
    format: str  # jsonl | json | csv | parquet
    size: int
    modified: str | None  # ISO timestamp or None when the store does not say
    etag: str | None = None  # S3's content hash, when listed through boto3
    compression: str | None = None  # gzip (read), or another named by its file suffix (refused by the reader)

    @property
    def fingerprint(self) -> str:
        """Changes whenever the file is replaced or rewritten."""
        return f"{self.size}:{self.modified}:{self.etag or ''}"


class LandingZone:
    """Sale files and reference data under a location (a folder or S3).

    On S3, listings go through boto3's paginated ``list_objects_v2``: every key
    is seen however many there are, and each carries its ETag, so a re-upload
    is noticed even when size and second-resolution mtime stay the same. The
    client is ``s3_client`` if given, else made at the first listing with
    ``endpoint_url`` (None: boto3's own configuration, ``AWS_ENDPOINT_URL``
    included). Local folders list through pyarrow.
    """

    def __init__(self, location: Location, s3_client=None, *, endpoint_url: str | None = None):
        self.location = location
        self.s3_client = s3_client
        self.endpoint_url = endpoint_url

    def sales_folder(self, day: str) -> str:
        return self.location.path(SALES_DIR, day)

    def sale_files(self, day: str | None = None) -> list[LandingFile]:
        """Every sale file, or those of one day, sorted by day then name.

        Files in folders that are not dates, in sub-folders of a day, with
        temporary names (`is_temporary`) or unknown extensions are ignored:
        partners upload temporaries and README files. Files still being
        written under their final name are listed: whether to wait for them
        is the caller's choice (`transforms.landing_state.unsettled`).
        """
        base = self.sales_folder(day) if day else self.location.path(SALES_DIR)
        listed = self._list_s3(base) if self.location.is_s3 else self._list(base, recursive=day is None)
        files = [f for f in (self._landing_file(*entry) for entry in listed) if f is not None]
        return sorted(files, key=lambda f: (f.day, f.name))

    def _list(self, base: str, recursive: bool) -> Iterator[tuple]:
        selector = pafs.FileSelector(base, recursive=recursive, allow_not_found=True)
        for info in self.location.filesystem.get_file_info(selector):
            if info.type == pafs.FileType.File:
                yield info.path, info.size or 0, info.mtime.isoformat() if info.mtime else None, None

    def _list_s3(self, base: str) -> Iterator[tuple]:
        bucket, _, prefix = base.partition("/")
        pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/")
        for page in pages:
            for item in page.get("Contents") or []:
                yield f"{bucket}/{item['Key']}", item["Size"], item["LastModified"].isoformat(), item.get("ETag", "").strip('"')

    def _s3(self):
        if self.s3_client is None:
            # Imported at the first S3 listing: loading the definitions and local runs never pay for boto3.
            import boto3
            from botocore.config import Config

            retries = Config(retries={"max_attempts": 5, "mode": "standard"})
            self.s3_client = boto3.session.Session().client("s3", endpoint_url=self.endpoint_url, config=retries)
        return self.s3_client

    def _landing_file(self, path: str, size: int, modified: str | None, etag: str | None) -> LandingFile | None:
        rel = path[len(self.location.root) :].strip("/").split("/")
        if len(rel) != 3 or rel[0] != SALES_DIR or not _DAY.match(rel[1]) or is_temporary(rel):
            return None
        kind = sale_file_kind(rel[2])
        if kind is None or not _is_real_day(rel[1]):
            return None
        return LandingFile(path, rel[1], rel[2], kind[0], size, modified, etag, kind[1])

    def reference_path(self, name: str) -> str:
        return self.location.path(REFERENCE_DIR, name)

    def exists(self, path: str) -> bool:
        return self.location.filesystem.get_file_info(path).type == pafs.FileType.File

    def write_bytes(self, path: str, data: bytes) -> None:
        self.location.filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
        with self.location.filesystem.open_output_stream(path) as out:
            out.write(data)

    def open(self, path: str, compression: str | None = "detect"):
        """A forward-only stream; ``compression`` as pyarrow takes it ("detect": from the name's suffix)."""
        return self.location.filesystem.open_input_stream(path, compression=compression)


def is_temporary(parts: list[str]) -> bool:
    """Whether a path (its parts below the landing root) names unfinished or bookkeeping output:
    any part starting with ``_`` or ``.`` (``_temporary/``, ``_SUCCESS``, hidden files), or a
    name ending in ``.tmp`` or ``.part``."""
    return any(part.startswith(TEMPORARY_PREFIXES) for part in parts) or parts[-1].lower().endswith(TEMPORARY_SUFFIXES)


def sale_file_kind(name: str) -> tuple[str, str | None] | None:
    """(format, compression) a sale file's name declares, or None when it is not a sale file."""
    stem, dot, suffix = name.lower().rpartition(".")
    compression = COMPRESSIONS.get(dot + suffix) if stem else None
    if compression:
        stem, dot, suffix = stem.rpartition(".")
    fmt = SALE_FORMATS.get(dot + suffix) if stem else None
    return (fmt, compression) if fmt else None


def _is_real_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def read_reference_csv(zone: LandingZone, name: str):
    """A reference CSV with every column as text (the caller parses and reports bad rows), or None."""
    import pyarrow.csv as pacsv

    path = zone.reference_path(name)
    if not zone.exists(path):
        return None
    # Text only: inference would turn ids like "00123" into numbers.
    with zone.open(path) as stream:
        names = pacsv.open_csv(stream).schema.names
    with zone.open(path) as stream:
        return pacsv.read_csv(stream, convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in names}))
