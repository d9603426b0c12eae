"""Does the lake hold what the warehouse holds? Per partition: rows, fingerprint and commit version.

The lake's side comes from each file's footer (its rows, and the version and
fingerprint written with it); the warehouse's from one GROUP BY over the table
and its ``lake_commits``. Cheap enough to run daily over years of partitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from concert_platform.storage.lake import Lake
from concert_platform.storage.warehouse import MissingTableError, Warehouse


@dataclass
class Report:
    compared: int = 0
    differences: dict[str, str] = field(default_factory=dict)  # partition ("" if none) -> what differs

    @property
    def agree(self) -> bool:
        return not self.differences


def parse_fingerprint(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split(";") if "=" in part)


def difference(
    lake_file: tuple[int, str, str] | None, warehouse_fingerprint: str | None, committed_version: str | None
) -> str | None:
    """What differs between one partition's lake file and warehouse rows, or None when they agree.

    A missing side counts as no rows. Columns the lake file lacks (added to the table later) must be
    all null in the warehouse. A file written before commits were recorded carries no version.
    """
    lake_rows, version, lake_fp = lake_file if lake_file is not None else (0, "", "")
    lake_sums, warehouse_sums = parse_fingerprint(lake_fp), parse_fingerprint(warehouse_fingerprint or "")
    warehouse_rows = int(warehouse_sums.pop("rows", 0))
    lake_sums.pop("rows", None)
    if lake_rows != warehouse_rows:
        return f"the lake has {lake_rows} rows, the warehouse {warehouse_rows}"
    for column, value in lake_sums.items():
        if lake_rows and warehouse_sums.get(column, "null") != value:
            return f"sum({column}) is {value} in the lake, {warehouse_sums.get(column, 'null')} in the warehouse"
    extra = [c for c, v in warehouse_sums.items() if c not in lake_sums and v != "null"]
    if extra:
        return f"the warehouse has values in {', '.join(extra)}, which the lake file lacks"
    if version and committed_version and version != committed_version:
        return f"the lake file is version {version}, the warehouse committed {committed_version}"
    if version and lake_file is not None and committed_version is None:
        return f"the lake file is version {version}, which the warehouse never committed"
    return None


def compare(lake: Lake, warehouse: Warehouse, asset: str, partition_column: str | None = None) -> Report:
    """Compare every partition (or the one table) of ``asset``, reading the lake as the warehouse's record says."""
    lake = lake.following(warehouse.committed_versions)
    if partition_column is None:
        keys = [""] if lake.exists(asset) else []
    else:
        keys = lake.partitions(asset)
    files = {key: lake.file_commit(asset, key or None) for key in keys}
    columns = sorted({c for f in files.values() if f is not None for c in parse_fingerprint(f[2]) if c != "rows"})
    try:
        summaries = warehouse.summaries(asset, columns, partition_column)
    except MissingTableError:
        summaries = {}
    committed = {key: commit.version for key, commit in warehouse.committed(asset).items()}
    report = Report()
    for key in sorted(set(files) | set(summaries)):
        report.compared += 1
        found = difference(files.get(key), summaries.get(key), committed.get(key))
        if found is not None:
            report.differences[key] = found
    return report
