"""A day's validated rows on local disk: written batch by batch as they are checked, read back as batches.

A day of 10M sales held as one Arrow table takes gigabytes; spooled to local
disk it takes a file and a batch of memory. So each validated batch is written
out as soon as it is checked, rows found to be duplicates only at the end are
dropped by position as the rows are read back, and the day is published by
streaming it: `SpooledTable.open` can be called once per reader (the lake's
staging and the warehouse load read it side by side).

The parts are Arrow IPC files with LZ4-compressed buffers, not Parquet: the spool
is written once and read three or four times, and IPC writes 2x and reads 5x
faster than zstd Parquet here (Parquet's encodings are what cost, not the codec),
for files about twice the size (about 50 bytes a sale: 480 MB for the 10M-sale day).

The folder lives in the system's temporary directory (``TMPDIR``): it should be
a disk, not a memory filesystem, or the spool is memory again. It is deleted by
`SpooledTable.close`, or when the last object using it is collected; the folder
of a process that was killed (SIGKILL, the OOM killer) is deleted by the next
spool made there once that process is gone and the folder has been left alone
for `STALE_AFTER_S`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from concert_platform.transforms.key_hashes import take_rows

COMPRESSION = "lz4"
PREFIX = "concert-spool-"  # then the writing process's id
STALE_AFTER_S = 6 * 3600  # far longer than any day takes to load and publish
_OWNER = re.compile(rf"^{PREFIX}(\d+)-")


class SpoolError(RuntimeError):
    """The local spool could not be written (a full or read-only temporary disk): not the landing file's fault."""


class _Folder:
    def __init__(self) -> None:
        sweep_stale(tempfile.gettempdir())
        self.path = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
        self.remove = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)


def sweep_stale(root: str, now: float | None = None) -> list[str]:
    """Delete the spools in ``root`` of processes that are gone, untouched for STALE_AFTER_S; returns them."""
    now = time.time() if now is None else now
    swept = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return swept
    for entry in entries:
        owner = _OWNER.match(entry.name)
        if owner is None or not entry.is_dir(follow_symlinks=False) or _alive(int(owner[1])):
            continue
        if now - _last_touched(entry.path) > STALE_AFTER_S:
            shutil.rmtree(entry.path, ignore_errors=True)
            swept.append(entry.path)
    return swept


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process
    return True


def _last_touched(folder: str) -> float:
    try:
        return max([os.stat(folder).st_mtime] + [e.stat().st_mtime for e in os.scandir(folder)])
    except OSError:
        return time.time()  # changing under us: in use


@dataclass(frozen=True)
class _Part:
    path: str
    rows: int
    tag: int  # the caller's name for where the rows came from (the landing file's index)


class Spool:
    """Parts written one after another; a part is kept only once committed."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self._folder = _Folder()
        self.parts: list[_Part] = []

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.parts)

    def part(self, tag: int) -> PartWriter:
        return PartWriter(self, tag)

    def tags(self, positions: np.ndarray) -> np.ndarray:
        """The tag of the part holding each of ``positions`` (counted over every part, in order)."""
        starts = np.cumsum([0] + [p.rows for p in self.parts])[:-1]
        return np.array([p.tag for p in self.parts], dtype=np.int64)[np.searchsorted(starts, positions, side="right") - 1]

    def take(self, positions: np.ndarray, columns: Sequence[str]) -> pa.Table:
        """The rows at sorted ``positions``: reads the parts once, holding only those rows."""
        schema = _select(self.schema, columns)
        return pa.Table.from_batches(list(take_rows(_batches(self.parts, columns, schema), positions)), schema)

    def table(self, keep: np.ndarray | None = None) -> SpooledTable:
        """The rows written, less those ``keep`` (a mask over every row) leaves out."""
        return SpooledTable(self.schema, self._folder, tuple(self.parts), keep)


class PartWriter:
    def __init__(self, spool: Spool, tag: int) -> None:
        self.spool, self.tag = spool, tag
        self.path = f"{spool._folder.path}/part-{len(spool.parts):05d}-{tag}.arrow"
        self.rows = 0
        self._writer: ipc.RecordBatchFileWriter | None = None

    def write(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        try:
            if self._writer is None:
                options = ipc.IpcWriteOptions(compression=COMPRESSION)
                self._writer = ipc.new_file(self.path, self.spool.schema, options=options)
            # A batch per chunk (a validated batch is one): what a reader holds at a time.
            self._writer.write_table(table)
        except (OSError, pa.ArrowException) as exc:
            raise SpoolError(f"cannot write the local spool of validated rows in {self.spool._folder.path}: {exc}") from exc
        self.rows += table.num_rows

    def commit(self) -> None:
        if self._writer is None:
            return
        try:
            self._writer.close()
        except (OSError, pa.ArrowException) as exc:
            raise SpoolError(f"cannot write the local spool of validated rows in {self.spool._folder.path}: {exc}") from exc
        self.spool.parts.append(_Part(self.path, self.rows, self.tag))

    def discard(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except (OSError, pa.ArrowException):
                pass  # the part is being thrown away; the error that got us here matters
            _remove(self.path)


class SpooledTable:
    """The spooled rows as a table that is never held whole.

    ``open()`` streams them (each call a reader of its own), ``table[column]`` reads
    one column, ``read()`` the whole table (for small days and tests), ``head(n)``
    the first rows.
    """

    def __init__(self, schema: pa.Schema, folder: _Folder, parts: tuple[_Part, ...], keep: np.ndarray | None) -> None:
        self.schema, self._folder, self._parts, self._keep = schema, folder, parts, keep
        total = sum(p.rows for p in parts)
        if keep is not None and len(keep) != total:
            raise ValueError(f"keep has {len(keep)} entries for {total} spooled rows")
        self.num_rows = total if keep is None else int(np.count_nonzero(keep))

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        schema = self.schema if columns is None else _select(self.schema, columns)
        offset = 0
        for batch in _batches(self._parts, columns, schema):
            start, offset = offset, offset + batch.num_rows
            if self._keep is not None:
                mask = self._keep[start:offset]
                if not mask.all():
                    batch = batch.filter(pa.array(mask))
            if batch.num_rows:
                yield batch

    def open(self, columns: Sequence[str] | None = None) -> pa.RecordBatchReader:
        schema = self.schema if columns is None else _select(self.schema, columns)
        return pa.RecordBatchReader.from_batches(schema, self.batches(columns))

    def read(self, columns: Sequence[str] | None = None) -> pa.Table:
        schema = self.schema if columns is None else _select(self.schema, columns)
        return pa.Table.from_batches(list(self.batches(columns)), schema)

    def column(self, name: str) -> pa.ChunkedArray:
        return self.read([name]).column(0)

    __getitem__ = column

    def head(self, rows: int) -> pa.Table:
        taken, kept = [], 0
        for batch in self.batches():
            if kept >= rows:
                break
            taken.append(batch.slice(0, rows - kept))
            kept += taken[-1].num_rows
        return pa.Table.from_batches(taken, self.schema)

    def close(self) -> None:
        """Delete the spool now (readers still open fail)."""
        self._folder.remove()

    def __repr__(self) -> str:
        return f"<SpooledTable {self.num_rows} rows in {len(self._parts)} parts at {self._folder.path}>"


def _select(schema: pa.Schema, columns: Sequence[str]) -> pa.Schema:
    return pa.schema([schema.field(name) for name in columns])


def _batches(parts: Sequence[_Part], columns: Sequence[str] | None, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    for part in parts:
        # Read, not memory-mapped: mapped pages would count as the process's memory while they are cached.
        with pa.OSFile(part.path) as source:
            reader = ipc.open_file(source)
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)
                yield batch if columns is None else pa.RecordBatch.from_arrays([batch.column(c) for c in columns], schema=schema)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
