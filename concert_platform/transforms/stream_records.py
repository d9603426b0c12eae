"""Sale records as Kinesis entries: their bytes, partition keys, PutRecords batches and retries (no I/O).

Kinesis's PutRecords takes at most 500 records and 5 MiB a request, partition
keys included, and at most 1 MiB a record. Each record is one JSON line,
newline included, so the Firehose's concatenation of records is already the
JSON-lines file the loader reads (no delimiter processor needed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

MAX_RECORDS = 500
MAX_REQUEST_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
MAX_KEY_CHARS = 256
NO_CONCERT = "no-concert-id"  # the key of a record without one: Kinesis needs a key, and the loader will reject the record


@dataclass(frozen=True)
class Entry:
    data: bytes
    partition_key: str

    @property
    def size(self) -> int:
        """What the record counts against the request's and the record's limits."""
        return len(self.data) + len(self.partition_key.encode())


def entry(record: Mapping) -> Entry:
    """A sale record as it goes onto the stream, every field as given (sold_at with its offset, untouched).

    Partitioned by concert_id, so one concert's sales keep their order within a shard."""
    data = (json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=_text) + "\n").encode()
    concert = record.get("concert_id")
    key = concert if isinstance(concert, str) and concert else NO_CONCERT
    return Entry(data, key[:MAX_KEY_CHARS])


def _text(value) -> str:
    # Decimal prices (Parquet's decimal128) stay exact as text, which the contract accepts; dates as ISO text.
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def batches(
    entries: Iterable[Entry], max_records: int = MAX_RECORDS, max_bytes: int = MAX_REQUEST_BYTES
) -> Iterator[list[Entry]]:
    """Consecutive runs of entries, each within one PutRecords request's limits. Raises ValueError
    for an entry over Kinesis's 1 MiB: no request could take it."""
    batch: list[Entry] = []
    size = 0
    for item in entries:
        if item.size > MAX_RECORD_BYTES:
            raise ValueError(f"a record of {item.size} bytes (key {item.partition_key!r}) is over Kinesis's {MAX_RECORD_BYTES}")
        if batch and (len(batch) >= max_records or size + item.size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += item.size
    if batch:
        yield batch


def request(stream: str, batch: list[Entry]) -> dict:
    """The PutRecords arguments for a batch."""
    return {"StreamName": stream, "Records": [{"Data": e.data, "PartitionKey": e.partition_key} for e in batch]}


def failed(batch: list[Entry], answer: Mapping) -> list[tuple[Entry, str]]:
    """The entries a PutRecords answer reports as not written, with their error code.

    The answer's Records line up with the request's; a failed one carries ErrorCode
    (ProvisionedThroughputExceededException, InternalFailure) and no SequenceNumber."""
    if not answer.get("FailedRecordCount"):
        return []
    results = answer["Records"]
    if len(results) != len(batch):
        raise ValueError(f"PutRecords answered {len(results)} results for {len(batch)} records")
    return [(item, result["ErrorCode"]) for item, result in zip(batch, results, strict=True) if result.get("ErrorCode")]


def backoff(attempt: int, base: float = 0.1, cap: float = 5.0) -> float:
    """Seconds to wait before retry ``attempt`` (1, 2, ...): doubling from ``base``, at most ``cap``.

    Without jitter: one producer at a time, and a test can check the waits."""
    return min(cap, base * 2 ** (attempt - 1))
