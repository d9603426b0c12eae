"""The dialect-neutral warehouse interface and the factory that picks a dialect from a URL.

Every dialect promises the same thing: a `load` applies all its `Replace`
operations in one transaction, so a table is never seen half-loaded and a
failed load leaves the previous rows exactly as they were. Each dialect lives
in its own module exposing ``from_url(url, schema) -> Warehouse``; adding one
is that module plus one line in `_DIALECTS`.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from concert_platform.storage.commits import Commit

ArrowData = pa.Table | pa.RecordBatchReader


class MissingTableError(LookupError):
    """`read`/`count` of a table the warehouse does not have (yet)."""


class WarehouseLockTimeout(TimeoutError):
    """The warehouse stayed locked by someone else for longer than we were willing to wait."""


class WarehouseUnreachable(ConnectionError):
    """`Warehouse.probe` could not reach the warehouse; the message says where (never the password) and why."""


class SliceMismatch(ValueError):
    """A partial replace was handed rows that lie outside the slice it deletes.

    Such rows would survive the next replace of the same slice and pile up as
    duplicates, so the load is refused instead.
    """


@dataclass(frozen=True)
class Replace:
    """Replace a table (``where=None``) or the rows matching all ``where`` equalities with ``data``."""

    table: str  # unqualified; the schema comes from the warehouse
    data: ArrowData
    where: dict[str, object] | None = None
    # Columns that identify a row; dialects with constraints declare them when they create the table.
    primary_key: tuple[str, ...] = ()
    # The lake's Parquet of exactly these rows (s3://…), for dialects that load from the lake (Redshift COPY).
    source_uri: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.table, str) or not self.table:
            raise ValueError("Replace.table must be a non-empty table name")
        if not isinstance(self.data, (pa.Table, pa.RecordBatchReader)):
            raise TypeError(f"Replace.data must be a pyarrow Table or RecordBatchReader, got {type(self.data).__name__}")
        if self.where is not None and not self.where:
            # An empty filter would delete every row, which is what where=None says explicitly.
            raise ValueError("Replace.where must name at least one column; use where=None to replace the whole table")


class Warehouse(ABC):
    schema: str
    # True for dialects that read the lake's Parquet themselves (Redshift COPY):
    # the lake must be written before such a warehouse loads.
    loads_from_lake: bool = False

    @abstractmethod
    def load(
        self,
        operations: Sequence[Replace],
        commits: Sequence[Commit] | Callable[[], Sequence[Commit]] = (),
    ) -> None:
        """Apply all operations in ONE transaction; on any failure roll back so the old rows stay.

        ``commits`` are recorded in ``lake_commits`` in the same transaction: which lake file
        version these rows are. Given as a callable, it is called once the rows are loaded (publish
        waits there for the lake's staged files); a PostgreSQL day built aside is swapped in right
        after it, then the record is written and the transaction commits. If it raises, the load
        rolls back.
        """

    @abstractmethod
    def committed(self, asset: str) -> dict[str, Commit]:
        """The ``lake_commits`` of a lake asset: partition key ("" if unpartitioned) -> its commit."""

    def committed_versions(self, asset: str) -> dict[str, str]:
        """Partition key -> the lake version committed: what a lake reader follows (``Lake.following``)."""
        return {key: commit.version for key, commit in self.committed(asset).items()}

    @abstractmethod
    def summaries(
        self, table: str, columns: Sequence[str], group_by: str | None = None, where: Mapping[str, object] | None = None
    ) -> dict[str, str]:
        """The fingerprint (`storage.commits`) of the rows of ``table`` matching ``where``, per value of
        ``group_by`` as text (or under "" without it); slices without rows are absent."""

    @contextmanager
    def partition_lock(self, asset: str, partition: str | None) -> Iterator[None]:
        """Held by a publish from its clean-up of the lake to the move of its files, so two runs of one
        partition cannot interleave their commits and moves. Dialects whose ``session`` already keeps
        everyone else out (one DuckDB writer per file) need nothing more."""
        yield

    @contextmanager
    def session(self) -> Iterator[Warehouse]:
        """For many loads in a row (the days of a range run): a dialect may hold one connection for them.

        Each ``load`` is still its own transaction. By default nothing is held.
        """
        yield self

    @abstractmethod
    def read(self, table: str, where: Mapping[str, object] | None = None) -> pa.Table:
        """Rows of ``table`` (matching ``where``) as Arrow; raises MissingTableError if there is no such table."""

    @abstractmethod
    def count(self, table: str, where: Mapping[str, object] | None = None) -> int:
        """Number of rows of ``table`` (matching ``where``); raises MissingTableError if there is no such table."""

    @abstractmethod
    def tables(self) -> list[str]:
        """Names of the tables in the warehouse's schema, sorted."""

    @abstractmethod
    def describe(self) -> str:
        """Where the data lives, for people: never contains credentials."""

    @abstractmethod
    def probe(self) -> None:
        """Reach the warehouse once, cheaply, touching no table; raise `WarehouseUnreachable` if it cannot be.

        The warehouse resource calls it when a run starts, so a wrong host, a dead server or an
        unwritable file stops the run before any data is read, with a message that names where.
        """

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


class SliceCheck:
    """Verifies that data for a partial replace lies inside the slice ``where`` deletes.

    Tables are checked up front; readers are wrapped so each batch is checked as
    the warehouse pulls it, keeping the load streaming. The first failure is
    kept in ``error`` because drivers re-wrap exceptions raised inside a scan.
    """

    def __init__(self, where: Mapping[str, object]) -> None:
        self.where = dict(where)
        self.error: SliceMismatch | None = None

    def wrap(self, data: ArrowData) -> ArrowData:
        if isinstance(data, pa.Table):
            self.check(data)
            return data
        return pa.RecordBatchReader.from_batches(data.schema, self._checked(data))

    def _checked(self, reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        for batch in reader:
            self.check(batch)
            yield batch

    def check(self, data: pa.Table | pa.RecordBatch) -> None:
        for column, value in self.where.items():
            index = data.schema.get_field_index(column)
            if index < 0:
                self._fail(f"the data has no (unique) column {column!r}, so its rows cannot be matched to the slice")
            values = data.column(index)
            if value is None:
                inside = values.null_count == len(values)
            else:
                try:
                    scalar = pa.scalar(value).cast(values.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                    self._fail(f"{column}={value!r} cannot be compared with a {values.type} column ({exc})")
                # all() of no rows is null: an empty batch is inside any slice.
                inside = pc.all(pc.fill_null(pc.equal(values, scalar), False)).as_py() is not False
            if not inside:
                self._fail(f"some rows have {column} other than {value!r}")

    def _fail(self, reason: str) -> None:
        self.error = SliceMismatch(f"refusing partial replace where {self.where!r}: {reason}")
        raise self.error


# scheme -> module with from_url(url, schema); more dialects slot in here.
_DIALECTS: dict[str, str] = {
    "duckdb": "concert_platform.storage.duckdb_warehouse",
    "postgresql": "concert_platform.storage.postgres_warehouse",
    "postgres": "concert_platform.storage.postgres_warehouse",
    "redshift": "concert_platform.storage.redshift_warehouse",
}


def dialect_of(url: str) -> str:
    """The scheme of a ``CONCERT_WAREHOUSE_URL`` that picks its dialect (a key of `_DIALECTS`, driver suffix dropped).

    Pure text: the definitions check the setting with it when they load, without importing a driver.
    The error names only the scheme: the URL may carry a password.
    """
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    dialect = scheme.split("+", 1)[0]  # postgresql+psycopg2 style driver suffixes
    if dialect not in _DIALECTS:
        raise ValueError(
            f"unsupported warehouse URL scheme {scheme or '(none)'!r}: expected duckdb:///path.duckdb, "
            "postgresql://… or redshift://…"
        )
    return dialect


def make_warehouse(url: str, schema: str, *, redshift_iam_role: str | None = None) -> Warehouse:
    """The warehouse a ``CONCERT_WAREHOUSE_URL`` names, using ``schema`` for its tables.

    ``redshift_iam_role`` is the role Redshift's COPY assumes to read the lake.
    Error messages name only the scheme: the URL may carry a password.
    """
    dialect = dialect_of(url)
    options = {"iam_role": redshift_iam_role} if dialect == "redshift" else {}
    return importlib.import_module(_DIALECTS[dialect]).from_url(url, schema, **options)
