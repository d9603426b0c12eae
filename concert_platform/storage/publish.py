"""Publish one asset (or partition): its Parquet to the lake, its rows to the warehouse, as one state.

The protocol (`storage.commits` says why it is one state whatever dies when):

1. take the partition's lock (`Warehouse.partition_lock`), so runs of one partition go one at a time;
2. finish what a killed writer left there (`Lake.reconcile`);
3. stage each lake file under a new version while the warehouse replaces the rows in one
   transaction, which also records the version; the transaction commits only once every file
   is staged (Redshift's COPY reads the staged file, so there staging comes first);
4. move the staged files in.

`storage.faults` names the points between these steps where the chaos suite kills the process.

The rows may be a table, or a `Reopenable` source too big to hold (a day spooled on local disk): then
the lake's staging and the warehouse's load each open a stream of their own and read it side by side,
each checking as the batches pass that they lie inside the slice being replaced.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pyarrow as pa

from concert_platform.storage import faults
from concert_platform.storage.commits import Commit, new_version
from concert_platform.storage.lake import Lake, LakeWrite
from concert_platform.storage.warehouse import Replace, SliceCheck, Warehouse

REJECTS_TABLE = "rejected_records"


@runtime_checkable
class Reopenable(Protocol):
    """Rows that can be read more than once, each time as a fresh stream."""

    @property
    def schema(self) -> pa.Schema: ...

    def open(self) -> pa.RecordBatchReader: ...


Rows = pa.Table | Reopenable


@dataclass(frozen=True)
class _File:
    asset: str  # the lake's name for it
    data: Rows
    table: str  # the warehouse's
    where: dict | None
    primary_key: tuple[str, ...] = ()


def publish(
    lake: Lake,
    warehouse: Warehouse,
    name: str,
    valid: Rows,
    *,
    partition: str | None = None,
    where: dict | None = None,
    rejects: pa.Table | None = None,
    primary_key: tuple[str, ...] = (),
) -> LakeWrite:
    """Replace exactly what ``name`` (and ``partition``) covers, plus its rejects when given.

    Rows outside ``where`` are refused before anything is committed, so neither
    the lake nor the warehouse ever holds them: a table is checked up front, a
    stream as it is read (the load fails, its staged files are deleted).
    Returns the asset's lake file.
    """
    if not isinstance(valid, (pa.Table, Reopenable)):
        raise TypeError(f"publish takes a pyarrow Table or a Reopenable source, got {type(valid).__name__}")
    if where is not None and isinstance(valid, pa.Table):
        SliceCheck(where).check(valid)
    version = new_version()
    files = [_File(name, valid, name, where, primary_key)]
    if rejects is not None:
        files.append(_File(f"{REJECTS_TABLE}/{name}", rejects, REJECTS_TABLE, {"entity": name, "partition_key": partition or ""}))
    # The staged file is what Redshift's COPY reads. A stream is opened here, for the warehouse alone;
    # its batches are read (and its file opened) only once the load scans it.
    operations = [
        Replace(
            f.table,
            _opened(f.data),
            f.where,
            primary_key=f.primary_key,
            source_uri=lake.location.display(lake.staged_path(f.asset, partition, version)),
        )
        for f in files
    ]
    with warehouse.session(), warehouse.partition_lock(name, partition):
        for f in files:
            lake.reconcile(f.asset, partition, _committed_version(warehouse, f.asset, partition))
        try:
            written = _stage_and_load(lake, warehouse, files, operations, partition, version)
        except BaseException:
            for f in files:  # best effort: the next write of the partition deletes what is left
                _discard_quietly(lake, f.asset, partition, version)
            raise
        faults.reach(faults.AFTER_COMMIT)
        for f in files:
            lake.switch(f.asset, partition, version)
    main = written[0]
    return LakeWrite(lake.file_path(name, partition), lake.uri(name, partition), main.rows, main.bytes, version, main.fingerprint)


def _stage_and_load(
    lake: Lake, warehouse: Warehouse, files: list[_File], operations: list[Replace], partition: str | None, version: str
) -> list[LakeWrite]:
    def stage() -> list[LakeWrite]:
        staged = [lake.stage(f.asset, _opened(f.data, f.where), partition, version) for f in files]
        faults.reach(faults.AFTER_STAGE)
        return staged

    def commits(staged: list[LakeWrite]) -> list[Commit]:
        faults.reach(faults.IN_TRANSACTION)
        return [Commit(f.asset, partition or "", version, w.rows, w.fingerprint) for f, w in zip(files, staged, strict=True)]

    if warehouse.loads_from_lake:
        staged = stage()
        warehouse.load(operations, lambda: commits(staged))
        return staged
    # Staging (zstd) and the warehouse's insert both release the GIL: side by side they take the
    # time of the slower one. The commit record needs the staged files' fingerprints, so the
    # warehouse asks for it last inside its transaction, and waits there for staging to finish.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lake-stage") as pool:
        staging = pool.submit(stage)
        warehouse.load(operations, lambda: commits(staging.result()))
        return staging.result()


def _opened(data: Rows, where: dict | None = None) -> pa.Table | pa.RecordBatchReader:
    """A table as it is; a reopenable source as a new stream, checked against ``where`` batch by batch."""
    if isinstance(data, pa.Table):
        return data
    reader = data.open()
    return SliceCheck(where).wrap(reader) if where is not None else reader


def _committed_version(warehouse: Warehouse, asset: str, partition: str | None) -> str | None:
    commit = warehouse.committed(asset).get(partition or "")
    return commit.version if commit is not None else None


def _discard_quietly(lake: Lake, asset: str, partition: str | None, version: str) -> None:
    try:
        lake.discard(asset, partition, version)
    except OSError:
        pass
