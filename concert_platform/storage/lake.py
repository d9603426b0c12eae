"""The Parquet lake: one zstd Parquet file per asset, or per asset partition.

Layout under the location's root::

    {asset}/data.parquet                    unpartitioned
    {asset}/{partition_key}/data.parquet    partitioned

``asset`` may be a slash path (``rejected_records/ticket_sales``). A file is
only ever replaced whole: readers see the old file or the new one, never a
half-written one, on a local folder and on S3 alike.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from concert_platform.storage.filesystem import Location, open_location

FILE_NAME = "data.parquet"
COMPRESSION = "zstd"  # as fast to write as snappy here, smaller, and reads about twice as fast

ArrowData = pa.Table | pa.RecordBatchReader


@dataclass(frozen=True)
class LakeWrite:
    path: str  # inside the location's filesystem
    uri: str  # for people: s3://… or an absolute file path
    rows: int
    bytes: int


class Lake:
    def __init__(self, location: Location) -> None:
        self.location = location
        self.fs = location.filesystem

    @classmethod
    def from_url(cls, url: str, endpoint_url: str | None = None) -> Lake:
        return cls(open_location(url, endpoint_url))

    def __repr__(self) -> str:
        return f"<Lake {self.location.url}>"

    # -- paths -------------------------------------------------------------

    def file_path(self, asset: str, partition: str | None = None) -> str:
        key = _partition_key(partition) if partition is not None else ""
        return self.location.path(_asset_path(asset), key, FILE_NAME)

    def uri(self, asset: str, partition: str | None = None) -> str:
        return self.location.display(self.file_path(asset, partition))

    # -- writing -----------------------------------------------------------

    def write(self, asset: str, data: ArrowData, partition: str | None = None) -> LakeWrite:
        """Write ``data`` (a Table, or a RecordBatchReader streamed batch by batch) as the asset's file."""
        if not isinstance(data, (pa.Table, pa.RecordBatchReader)):
            raise TypeError(f"lake data must be a pyarrow Table or RecordBatchReader, got {type(data).__name__}")
        dest = self.file_path(asset, partition)
        if self.location.is_s3:
            rows, size = self._write_s3(dest, data)
        else:
            rows, size = self._write_local(dest, data)
        return LakeWrite(path=dest, uri=self.location.display(dest), rows=rows, bytes=size)

    def _write_local(self, dest: str, data: ArrowData) -> tuple[int, int]:
        folder = dest.rsplit("/", 1)[0]
        self.fs.create_dir(folder, recursive=True)
        # Same folder, so the final move is a rename: atomic, and never across devices.
        tmp = f"{folder}/.{FILE_NAME}.{uuid.uuid4().hex}.tmp"
        try:
            rows = _write_parquet(self.fs, tmp, data)
            size = self.fs.get_file_info(tmp).size
            self.fs.move(tmp, dest)
        except BaseException:
            _delete_quietly(self.fs, tmp)
            raise
        return rows, size

    def _write_s3(self, dest: str, data: ArrowData) -> tuple[int, int]:
        # An S3 object appears atomically when its upload completes, but pyarrow cannot abort an
        # upload: closing the stream after a failure mid-write (a reader raising, a bad type)
        # would publish a truncated file over the good one. So the Parquet file is finished in a
        # local spool first and only a complete file is uploaded to the final key.
        local = pafs.LocalFileSystem()
        with tempfile.TemporaryDirectory(prefix="concert-lake-") as spool:
            tmp = os.path.join(spool, FILE_NAME)
            rows = _write_parquet(local, tmp, data)
            size = os.path.getsize(tmp)
            pafs.copy_files(tmp, dest, source_filesystem=local, destination_filesystem=self.fs)
        return rows, size

    # -- reading -----------------------------------------------------------

    def read(self, asset: str, partitions: list[str] | None = None, columns: list[str] | None = None) -> pa.Table:
        """The unpartitioned file (``partitions=None``) or the named partitions concatenated.

        Missing partitions are skipped; columns added in later partitions read
        as nulls in older ones. Raises FileNotFoundError for a missing
        unpartitioned file.
        """
        if partitions is None:
            path = self.file_path(asset)
            if not self._is_file(path):
                raise FileNotFoundError(f"no lake file at {self.location.display(path)}")
            return self._read_file(path, columns)
        # One existence check for one key (a day of a backfill), else one listing rather than a check per key.
        present = {k for k in partitions if self.exists(asset, k)} if len(partitions) == 1 else set(self.partitions(asset))
        tables = [self._read_file(self.file_path(asset, key), columns) for key in partitions if key in present]
        if not tables:
            return self._empty_like(asset, columns)
        return pa.concat_tables(tables, promote_options="permissive")

    def _read_file(self, path: str, columns: list[str] | None) -> pa.Table:
        with self.fs.open_input_file(path) as source:
            parquet = pq.ParquetFile(source)
            if columns is None:
                return parquet.read()
            # An older partition may lack a newer column: read what it has and let
            # concat_tables fill the rest with nulls.
            present = set(parquet.schema_arrow.names)
            return parquet.read(columns=[c for c in columns if c in present])

    def _empty_like(self, asset: str, columns: list[str] | None) -> pa.Table:
        """No requested partition exists: an empty table shaped like the asset's latest partition."""
        existing = self.partitions(asset)
        if not existing:
            return pa.table({})
        with self.fs.open_input_file(self.file_path(asset, existing[-1])) as source:
            schema = pq.ParquetFile(source).schema_arrow
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns if c in schema.names])
        return schema.empty_table()

    def open_batches(self, asset: str, partition: str | None = None) -> pa.RecordBatchReader:
        """Stream the file's record batches without reading it whole (for loading big partitions)."""
        path = self.file_path(asset, partition)
        if not self._is_file(path):
            raise FileNotFoundError(f"no lake file at {self.location.display(path)}")
        source = self.fs.open_input_file(path)
        try:
            parquet = pq.ParquetFile(source)
        except BaseException:
            source.close()
            raise
        return pa.RecordBatchReader.from_batches(parquet.schema_arrow, _batches(parquet, source))

    # -- listing and deleting ----------------------------------------------

    def partitions(self, asset: str) -> list[str]:
        """Keys of the partitions that have a file, sorted."""
        folder = self.location.path(_asset_path(asset))
        # One recursive listing: on S3 that is a few LIST calls instead of one HEAD per partition.
        infos = self.fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True, recursive=True))
        keys = set()
        for info in infos:
            relative = info.path[len(folder) + 1 :].split("/")
            if info.type == pafs.FileType.File and len(relative) == 2 and relative[1] == FILE_NAME:
                keys.add(relative[0])
        return sorted(keys)

    def exists(self, asset: str, partition: str | None = None) -> bool:
        return self._is_file(self.file_path(asset, partition))

    def delete(self, asset: str, partition: str | None = None) -> None:
        """Remove the asset's (partition's) file; deleting what is not there is not an error."""
        # An emptied partition folder is left alone: partitions() ignores it, and removing it
        # could race with a writer that has just created it for its temp file.
        path = self.file_path(asset, partition)
        if self._is_file(path):
            self.fs.delete_file(path)

    def _is_file(self, path: str) -> bool:
        return self.fs.get_file_info(path).type == pafs.FileType.File


def _write_parquet(fs: pafs.FileSystem, path: str, data: ArrowData) -> int:
    rows = 0
    with pq.ParquetWriter(path, data.schema, filesystem=fs, compression=COMPRESSION) as writer:
        if isinstance(data, pa.Table):
            writer.write_table(data)
            rows = data.num_rows
        else:
            for batch in data:  # one batch in memory at a time
                writer.write_batch(batch)
                rows += batch.num_rows
    return rows


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
    if not parts or any(p in ("", ".", "..") or "\\" in p for p in parts):
        raise ValueError(f"invalid lake asset name {asset!r}: use names like 'artists' or 'rejected_records/ticket_sales'")
    return asset


def _partition_key(key: str) -> str:
    # One folder level per partition: a slash would nest it where partitions() never looks.
    if not isinstance(key, str) or key in ("", ".", "..") or "/" in key or "\\" in key:
        raise ValueError(f"invalid partition key {key!r}")
    return key
