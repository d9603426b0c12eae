"""The landing zone: where partners drop ticket-sale files, one folder per sale date.

Layout (an outside contract): ``{root}/ticket_sales/{YYYY-MM-DD}/{name}.jsonl|csv|parquet``,
plus reference data under ``{root}/reference/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Optional

import pyarrow as pa
import pyarrow.fs as pafs

from concert_platform.storage.filesystem import Location

SALES_DIR = "ticket_sales"
REFERENCE_DIR = "reference"
VENUE_CAPACITIES = "venue_capacities.csv"
SALE_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class LandingFile:
    path: str  # inside the location's filesystem
    day: str  # YYYY-MM-DD, the folder's date
    name: str
    format: str  # jsonl | csv | parquet
    size: int
    modified: Optional[str]  # ISO timestamp or None when the store does not say

    @property
    def fingerprint(self) -> str:
        """Changes whenever the file is replaced or rewritten."""
        return f"{self.size}:{self.modified}"


class LandingZone:
    def __init__(self, location: Location):
        self.location = location

    def sales_folder(self, day: str) -> str:
        return self.location.path(SALES_DIR, day)

    def sale_files(self, day: Optional[str] = None) -> list[LandingFile]:
        """Every sale file, or those of one day, sorted by day then name.

        Files in folders that are not dates, hidden files and unknown
        extensions are ignored: partners upload temporaries and README files.
        """
        base = self.sales_folder(day) if day else self.location.path(SALES_DIR)
        selector = pafs.FileSelector(base, recursive=day is None, allow_not_found=True)
        files = []
        for info in self.location.filesystem.get_file_info(selector):
            if info.type != pafs.FileType.File:
                continue
            rel = info.path[len(self.location.root) :].strip("/").split("/")
            if len(rel) != 3 or rel[0] != SALES_DIR or not _DAY.match(rel[1]) or rel[2].startswith("."):
                continue
            fmt = next((f for ext, f in SALE_FORMATS.items() if rel[2].lower().endswith(ext)), None)
            if fmt is None or not _is_real_day(rel[1]):
                continue
            modified = info.mtime.isoformat() if info.mtime else None
            files.append(LandingFile(info.path, rel[1], rel[2], fmt, info.size or 0, modified))
        return sorted(files, key=lambda f: (f.day, f.name))

    def reference_path(self, name: str) -> str:
        return self.location.path(REFERENCE_DIR, name)

    def exists(self, path: str) -> bool:
        return self.location.filesystem.get_file_info(path).type == pafs.FileType.File

    def write_bytes(self, path: str, data: bytes) -> None:
        self.location.filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
        with self.location.filesystem.open_output_stream(path) as out:
            out.write(data)

    def open(self, path: str):
        return self.location.filesystem.open_input_stream(path)


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
