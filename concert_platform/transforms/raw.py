"""The shape every raw source asset shares: one row per API object, kept whole.

Keeping the payload as fetched lets the model assets be rebuilt (new parsing
rules, a fixed bug) without calling the APIs again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import pyarrow as pa

from concert_platform.validation.warehouse_safe import storable_text

RAW_SCHEMA = pa.schema(
    [
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # what the object is: event, artist, url, search_hit
        pa.field("lookup", pa.string(), nullable=False),  # the request that produced it, e.g. "id:<id>", "search:<name>"
        pa.field("name", pa.string()),
        pa.field("fetched_at", pa.timestamp("us", "UTC"), nullable=False),
        pa.field("payload", pa.string(), nullable=False),
    ]
)


def raw_row(
    source_id: str, kind: str, lookup: str, payload: dict, name: str | None = None, fetched_at: datetime | None = None
) -> dict:
    return {
        "source_id": source_id,
        "kind": kind,
        "lookup": lookup,
        "name": _storable_name(name if name is not None else payload.get("name")),
        "fetched_at": fetched_at or datetime.now(UTC),
        "payload": _payload_text(payload),
    }


def _payload_text(payload: dict) -> str:
    """The payload as JSON text every warehouse stores: an API that sends a NUL or a lone surrogate
    gets them as \\u escapes, which decode back to the same payload."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    if "\x00" in text or not _encodable(text):
        text = json.dumps(payload, sort_keys=True, ensure_ascii=True)
    return text


def _storable_name(name) -> str | None:
    return storable_text(name) if isinstance(name, str) else name


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def raw_table(rows: Iterable[dict]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=RAW_SCHEMA)


def payloads(table: pa.Table, kind: str | None = None) -> Iterator[tuple[dict, dict]]:
    """(row without payload, decoded payload) pairs, optionally only one kind."""
    for row in table.to_pylist():
        if kind is None or row["kind"] == kind:
            yield row, json.loads(row["payload"])
