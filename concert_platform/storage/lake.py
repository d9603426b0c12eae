"""The Parquet lake: one zstd Parquet file per asset, or per asset partition.

Layout under the location's root::

    {asset}/data.parquet                               unpartitioned
    {asset}/{partition_key}/data.parquet               partitioned
    _staging/{asset}[/{partition_key}]/{version}.parquet   a write not yet committed

``asset`` may be a slash path (``rejected_records/ticket_sales``). A file is
written under a version of its own in ``_staging`` (one prefix: Spark, Athena and Hive
skip names starting with ``_``, and one S3 lifecycle rule can expire what a crash left
there), and only moved to ``data.parquet`` once the warehouse committed the
same rows (``storage.commits``): readers see the old file or the new one, never
a half-written one, on a local folder and on S3 alike. A lake given the
warehouse's commit record (``committed``) reads a staged file the warehouse has
committed but that was never moved (the writer died in between), so it always
shows what the warehouse holds.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from concert_platform.storage.commits import (
    FINGERPRINT_KEY,
    VERSION_KEY,
    fingerprint,
    fingerprint_columns,
    format_fingerprint,
    new_version,
)
from concert_platform.storage.filesystem import Location, open_location

FILE_NAME = "data.parquet"
STAGING = "_staging"
STAGED_SUFFIX = ".parquet"
COMPRESSION = "zstd"  # as fast to write as snappy here, smaller, and reads about twice as fast
# Temporary files of the lake's earlier layout (written beside data.parquet, renamed over it).
_LEGACY_TEMPORARY = re.compile(r"^\.data\.parquet\.[0-9a-f]+\.tmp$")
_VERSION = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")
_READ_ATTEMPTS = 3  # a concurrent writer may move a staged file away between listing and opening

ArrowData = pa.Table | pa.RecordBatchReader
# asset -> {partition key ("" when unpartitioned) -> committed version}: the warehouse's lake_commits.
CommittedVersions = Callable[[str], Mapping[str, str]]


@dataclass(frozen=True)
class LakeWrite:
    path: str  # inside the location's filesystem
    uri: str  # for people: s3://… or an absolute file path
    rows: int
    bytes: int
    version: str = ""
    fingerprint: str = ""


class Lake:
    def __init__(self, location: Location, committed: CommittedVersions | None = None) -> None:
        self.location = location
        self.fs = location.filesystem
        self.committed = committed

    @classmethod
    def from_url(cls, url: str, endpoint_url: str | None = None) -> Lake:
        return cls(open_location(url, endpoint_url))

    def following(self, committed: CommittedVersions) -> Lake:
        """This lake, reading what ``committed`` (the warehouse's record) says each file is."""
        return Lake(self.location, committed)

    def __repr__(self) -> str:
        return f"<Lake {self.location.url}>"

    # -- paths -------------------------------------------------------------

    def file_path(self, asset: str, partition: str | None = None) -> str:
        return self.location.path(self._folder(asset, partition), FILE_NAME)

    def staged_path(self, asset: str, partition: str | None, version: str) -> str:
        if not isinstance(version, str) or not _VERSION.match(version):
            raise ValueError(f"invalid lake version {version!r}")
        return self.location.path(STAGING, self._folder(asset, partition), f"{version}{STAGED_SUFFIX}")

    def uri(self, asset: str, partition: str | None = None) -> str:
        return self.location.display(self.file_path(asset, partition))

    @staticmethod
    def _folder(asset: str, partition: str | None) -> str:
        return _asset_path(asset) + (f"/{_partition_key(partition)}" if partition is not None else "")

    # -- writing -----------------------------------------------------------

    def write(self, asset: str, data: ArrowData, partition: str | None = None) -> LakeWrite:
        """Stage ``data`` and move it in at once: for writes that no warehouse shares (publish stages and
        moves in two steps around the warehouse's commit)."""
        written = self.stage(asset, data, partition, new_version())
        self.switch(asset, partition, written.version)
        return LakeWrite(
            self.file_path(asset, partition),
            self.uri(asset, partition),
            written.rows,
            written.bytes,
            written.version,
            written.fingerprint,
        )

    def stage(self, asset: str, data: ArrowData, partition: str | None, version: str) -> LakeWrite:
        """Write ``data`` (a Table, or a RecordBatchReader streamed batch by batch) as the asset's
        version ``version``, where no reader looks until `switch` moves it in."""
        if not isinstance(data, (pa.Table, pa.RecordBatchReader)):
            raise TypeError(f"lake data must be a pyarrow Table or RecordBatchReader, got {type(data).__name__}")
        dest = self.staged_path(asset, partition, version)
        if self.location.is_s3:
            rows, size, digest = self._write_s3(dest, data, version)
        else:
            self.fs.create_dir(dest.rsplit("/", 1)[0], recursive=True)
            try:
                rows, digest = _write_parquet(self.fs, dest, data, version)
            except BaseException:
                _delete_quietly(self.fs, dest)
                raise
            size = self.fs.get_file_info(dest).size
        return LakeWrite(dest, self.location.display(dest), rows, size, version, digest)

    def _write_s3(self, dest: str, data: ArrowData, version: str) -> tuple[int, int, str]:
        # pyarrow cannot abort an S3 upload: closing the stream after a failure mid-write would
        # publish a truncated object. So the file is finished in a local spool, then uploaded whole.
        local = pafs.LocalFileSystem()
        with tempfile.TemporaryDirectory(prefix="concert-lake-") as spool:
            tmp = os.path.join(spool, FILE_NAME)
            rows, digest = _write_parquet(local, tmp, data, version)
            size = os.path.getsize(tmp)
            pafs.copy_files(tmp, dest, source_filesystem=local, destination_filesystem=self.fs)
        return rows, size, digest

    def switch(self, asset: str, partition: str | None, version: str) -> None:
        """Make staged ``version`` the asset's file: a rename on a folder; on S3 a copy (atomic per
        object) and then the staged key's deletion (a second switch after a crash in between is harmless)."""
        staged, final = self.staged_path(asset, partition, version), self.file_path(asset, partition)
        if not self.location.is_s3:
            self.fs.create_dir(final.rsplit("/", 1)[0], recursive=True)
            self.fs.move(staged, final)  # one filesystem, so a rename: atomic
            return
        self.fs.copy_file(staged, final)
        _delete_quietly(self.fs, staged)

    def staged_versions(self, asset: str, partition: str | None = None) -> list[str]:
        folder = self.location.path(STAGING, self._folder(asset, partition))
        infos = self.fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
        return sorted(v for info in infos if info.type == pafs.FileType.File and (v := _staged_version(info.base_name)))

    def discard(self, asset: str, partition: str | None, version: str) -> None:
        _delete_quietly(self.fs, self.staged_path(asset, partition, version))

    def reconcile(self, asset: str, partition: str | None, committed: str | None) -> list[str]:
        """Finish what a killed writer left: move in the staged version the warehouse committed, delete
        every other staged file and the earlier layout's temporaries. Returns what was done, for the log.

        Only a writer holding the partition's lock calls this: a staged file of a live writer would look
        like an orphan."""
        done = []
        for version in self.staged_versions(asset, partition):
            if version == committed:
                self.switch(asset, partition, version)
                done.append(f"moved in committed {version}")
            else:
                self.discard(asset, partition, version)
                done.append(f"deleted uncommitted {version}")
        if not self.location.is_s3:
            folder = self.location.path(self._folder(asset, partition))
            for info in self.fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True)):
                if info.type == pafs.FileType.File and _LEGACY_TEMPORARY.match(info.base_name):
                    _delete_quietly(self.fs, info.path)
                    done.append(f"deleted temporary {info.base_name}")
        return done

    # -- reading -----------------------------------------------------------

    def read(self, asset: str, partitions: list[str] | None = None, columns: list[str] | None = None) -> pa.Table:
        """The unpartitioned file (``partitions=None``) or the named partitions concatenated.

        Missing partitions are skipped; columns added in later partitions read
        as nulls in older ones. Raises FileNotFoundError for a missing
        unpartitioned file.
        """
        for attempt in range(_READ_ATTEMPTS):
            try:
                return self._read(asset, partitions, columns)
            except FileNotFoundError:
                if attempt == _READ_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _read(self, asset: str, partitions: list[str] | None, columns: list[str] | None) -> pa.Table:
        if partitions is None:
            path = self.current_path(asset)
            if path is None:
                raise FileNotFoundError(f"no lake file at {self.uri(asset)}")
            return self._read_file(path, columns)
        if len(partitions) == 1:  # a day of a backfill: two small lookups, not a listing of every day
            path = self.current_path(asset, partitions[0])
            current = {partitions[0]: path} if path is not None else {}
        else:
            current = self._current_paths(asset)
        tables = [self._read_file(current[key], columns) for key in partitions if key in current]
        if not tables:
            return self._empty_like(asset, columns)
        return pa.concat_tables(tables, promote_options="permissive")

    def current_path(self, asset: str, partition: str | None = None) -> str | None:
        """The file a reader should read: data.parquet, or the committed staged version; None if neither."""
        staged = self.staged_versions(asset, partition) if self.committed is not None else []
        if staged:
            version = self.committed(asset).get(partition or "")
            if version in staged:
                return self.staged_path(asset, partition, version)
        path = self.file_path(asset, partition)
        return path if self._is_file(path) else None

    def _current_paths(self, asset: str) -> dict[str, str]:
        """Partition key -> the file to read, from one recursive listing (a few LIST calls on S3)."""
        folder = self.location.path(_asset_path(asset))
        infos = self.fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True, recursive=True))
        finals = {}
        for info in infos:
            relative = info.path[len(folder) + 1 :].split("/")
            if info.type == pafs.FileType.File and len(relative) == 2 and relative[1] == FILE_NAME:
                finals[relative[0]] = info.path
        if self.committed is None:
            return finals
        staged: dict[str, dict[str, str]] = {}
        staging = self.location.path(STAGING, _asset_path(asset))
        for info in self.fs.get_file_info(pafs.FileSelector(staging, allow_not_found=True, recursive=True)):
            relative = info.path[len(staging) + 1 :].split("/")
            if info.type == pafs.FileType.File and len(relative) == 2 and (version := _staged_version(relative[1])):
                staged.setdefault(relative[0], {})[version] = info.path
        if staged:
            committed = self.committed(asset)
            for key, versions in staged.items():
                if committed.get(key) in versions:
                    finals[key] = versions[committed[key]]
        return finals

    def _read_file(self, path: str, columns: list[str] | None) -> pa.Table:
        with self.fs.open_input_file(path) as source:
            parquet = pq.ParquetFile(source)
            if columns is None:
                return _without_commit_metadata(parquet.read())
            # An older partition may lack a newer column: read what it has and let
            # concat_tables fill the rest with nulls.
            present = set(parquet.schema_arrow.names)
            return _without_commit_metadata(parquet.read(columns=[c for c in columns if c in present]))

    def file_commit(self, asset: str, partition: str | None = None) -> tuple[int, str, str] | None:
        """(rows, version, fingerprint) of the file a reader would read, from its footer alone; None if none."""
        path = self.current_path(asset, partition)
        if path is None:
            return None
        with self.fs.open_input_file(path) as source:
            meta = pq.ParquetFile(source).metadata
        kv = meta.metadata or {}
        return meta.num_rows, kv.get(VERSION_KEY, b"").decode(), kv.get(FINGERPRINT_KEY, b"").decode()

    def _empty_like(self, asset: str, columns: list[str] | None) -> pa.Table:
        """No requested partition exists: an empty table shaped like the asset's latest partition."""
        existing = self.partitions(asset)
        if not existing:
            return pa.table({})
        with self.fs.open_input_file(self.current_path(asset, existing[-1])) as source:
            schema = _without_commit_metadata(pq.ParquetFile(source).schema_arrow.empty_table()).schema
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns if c in schema.names])
        return schema.empty_table()

    def open_batches(self, asset: str, partition: str | None = None) -> pa.RecordBatchReader:
        """Stream the file's record batches without reading it whole (for loading big partitions)."""
        path = self.current_path(asset, partition)
        if path is None:
            raise FileNotFoundError(f"no lake file at {self.uri(asset, partition)}")
        source = self.fs.open_input_file(path)
        try:
            parquet = pq.ParquetFile(source)
        except BaseException:
            source.close()
            raise
        schema = _without_commit_metadata(parquet.schema_arrow.empty_table()).schema
        return pa.RecordBatchReader.from_batches(schema, _batches(parquet, source))

    # -- listing and deleting ----------------------------------------------

    def partitions(self, asset: str) -> list[str]:
        """Keys of the partitions that have a file to read, sorted."""
        return sorted(self._current_paths(asset))

    def exists(self, asset: str, partition: str | None = None) -> bool:
        return self.current_path(asset, partition) is not None

    def delete(self, asset: str, partition: str | None = None) -> None:
        """Remove the asset's (partition's) file; deleting what is not there is not an error."""
        # An emptied partition folder is left alone: partitions() ignores it, and removing it
        # could race with a writer that has just created it for its staged file.
        path = self.file_path(asset, partition)
        if self._is_file(path):
            self.fs.delete_file(path)

    def _is_file(self, path: str) -> bool:
        return self.fs.get_file_info(path).type == pafs.FileType.File


def _write_parquet(fs: pafs.FileSystem, path: str, data: ArrowData, version: str) -> tuple[int, str]:
    """Rows written and their fingerprint, which the file's footer carries beside its version."""
    rows = 0
    if isinstance(data, pa.RecordBatchReader):
        # The footer is written last, so a streamed file can carry its fingerprint: batches are
        # summed as they pass and the metadata is filled in before the writer closes.
        batches, sums = _summing(data)
    else:
        batches, sums = None, None
    schema = data.schema.with_metadata({**(data.schema.metadata or {}), VERSION_KEY: version.encode()})
    with pq.ParquetWriter(path, schema, filesystem=fs, compression=COMPRESSION) as writer:
        if batches is None:
            writer.write_table(data.replace_schema_metadata(schema.metadata))
            rows, digest = data.num_rows, fingerprint(data)
        else:
            for batch in batches:  # one batch in memory at a time
                writer.write_batch(batch)
                rows += batch.num_rows
            digest = sums.fingerprint(rows)
        writer.add_key_value_metadata({FINGERPRINT_KEY: digest.encode()})
    return rows, digest


class _Sums:
    def __init__(self, schema: pa.Schema) -> None:
        self.columns = fingerprint_columns(schema)
        self.totals: list = [None] * len(self.columns)

    def add(self, batch: pa.RecordBatch) -> None:
        for i, name in enumerate(self.columns):
            value = pc.sum(batch.column(name)).as_py()
            if value is not None:
                self.totals[i] = value if self.totals[i] is None else self.totals[i] + value

    def fingerprint(self, rows: int) -> str:
        return format_fingerprint(rows, self.totals, self.columns)


def _summing(reader: pa.RecordBatchReader) -> tuple[Iterator[pa.RecordBatch], _Sums]:
    sums = _Sums(reader.schema)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            sums.add(batch)
            yield batch

    return batches(), sums


def _staged_version(name: str) -> str | None:
    version = name[: -len(STAGED_SUFFIX)] if name.endswith(STAGED_SUFFIX) else ""
    return version if _VERSION.match(version) else None


def _without_commit_metadata(table: pa.Table) -> pa.Table:
    """The data as it was written: the version and fingerprint are the file's, not the table's."""
    metadata = table.schema.metadata
    if not metadata or (VERSION_KEY not in metadata and FINGERPRINT_KEY not in metadata):
        return table
    kept = {k: v for k, v in metadata.items() if k not in (VERSION_KEY, FINGERPRINT_KEY)}
    return table.replace_schema_metadata(kept or None)


def _batches(parquet: pq.ParquetFile, source: pa.NativeFile) -> Iterator[pa.RecordBatch]:
    try:
        yield from parquet.iter_batches()
    finally:
        source.close()


def _delete_quietly(fs: pafs.FileSystem, path: str) -> None:
    try:
        fs.delete_file(path)
    except (FileNotFoundError, OSError):
        pass


def _asset_path(asset: str) -> str:
    parts = asset.split("/") if isinstance(asset, str) else []
    if not parts or parts[0].startswith("_") or any(p in ("", ".", "..") or "\\" in p for p in parts):
        raise ValueError(f"invalid lake asset name {asset!r}: use names like 'artists' or 'rejected_records/ticket_sales'")
    return asset


def _partition_key(key: str) -> str:
    # One folder level per partition: a slash would nest it where partitions() never looks.
    if not isinstance(key, str) or key in ("", ".", "..") or "/" in key or "\\" in key:
        raise ValueError(f"invalid partition key {key!r}")
    return key
