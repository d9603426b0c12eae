"""Where streamed sales land: the Firehose's partitioning rule, and a local stand-in for the Firehose.

In production a Kinesis Data Stream feeds a Firehose delivery stream whose
dynamic partitioning writes each record under ``ticket_sales/<sale date>/``
of the landing zone, the sale date being the UTC date of the record's
``sold_at``. `FIREHOSE_PARTITION_QUERY` is that rule as the Firehose runs it
(jq 1.6); `landing_prefix` is the same rule in Python, and the two must stay
the same rule: a test runs both on the same records.

The rule, for a record's ``sold_at``:

1. text in the contract's form (``YYYY-MM-DDTHH:MM:SS[.ffffff]`` then ``Z`` or
   ``±HH:MM``, a real day, years 1000-9899): the UTC date of that instant, so
   ``2026-11-20T23:30:00-05:00`` lands under ``ticket_sales/2026-11-21/`` (a UTC
   date outside those years falls through to 2.);
2. other text that starts with a real day (a sold_at without its offset, say):
   that day, where the loader rejects the record with its reason, in the
   day's rejects, instead of it vanishing into the Firehose's error output;
3. anything else (no sold_at, not text, not JSON): no partition. The Firehose
   sends the record to its error output prefix; `drain` writes it under
   `FAILED_DIR`. The loader never reads those.

A late sale lands by its sale date, not its arrival: a sale sold at 23:59:59
UTC that reaches the stream after midnight is written, in a new object, under
the previous day's folder. That day's partition must then be loaded again,
and it is: the landing sensor (``defs/sensors.py``) compares each day's files
with what was loaded, sees the new object once it has settled, and reloads
that day. The loader de-duplicates sale_ids over the day, so a record the
Firehose (or a re-drain) delivers twice counts once.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concert_platform.sources.landing import LandingZone

# The standard library only, at import: a CDK app imports this module for the Firehose's settings
# and should not need pyarrow or boto3 for that. So sources.landing's SALES_DIR is repeated (a test holds them equal).
SALES_DIR = "ticket_sales"
PARTITION_KEY = "sale_date"
# Pieces shared by the jq text and the Python rule, so both read the same form (the loader's, validation/convert.py).
_DAY = r"(?:1[0-9]{3}|[2-8][0-9]{3}|9[0-8][0-9]{2})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
_OFFSET = r"(?:Z|(?<sign>[+-])(?<hh>[01][0-9]|2[0-3]):(?<mm>[0-5][0-9]))"
_SOLD_AT = rf"(?<local>(?<day>{_DAY})T{_CLOCK})(?:\.[0-9]{{1,6}})?{_OFFSET}"
# \A and \z: a JSON string may hold a newline, and Oniguruma's ^ and $ would match around it.
_JQ_SOLD_AT, _JQ_DAY, _JQ_WHOLE_DAY = (rf"\A{_SOLD_AT}\z", rf"\A(?<day>{_DAY})", rf"\A{_DAY}\z")


def _jq_string(pattern: str) -> str:
    return json.dumps(pattern)  # a jq string literal is a JSON string


# The partitioning expression of the Firehose's MetadataExtraction processor (JsonParsingEngine JQ-1.6):
# one value, in parentheses so it can stand as the value of an object key as CDK's
# MetadataExtractionProcessor.jq16({sale_date: FIREHOSE_PARTITION_QUERY}) writes it.
# A real day is one that survives a round trip through fromdateiso8601 (30 February does not); a UTC
# date outside the loader's years (1 January 1000 at 00:30+01:00) falls back to the local day,
# where the loader rejects the sale, rather than to a folder it would never list.
FIREHOSE_PARTITION_QUERY = (
    "(.sold_at"
    ' | if type == "string" then . else error("sold_at is not text") end'
    ' | def real_day: (. + "T00:00:00Z" | fromdateiso8601 | strftime("%Y-%m-%d")) == .;'
    f" def utc_day: capture({_jq_string(_JQ_SOLD_AT)}) | select(.day | real_day)"
    ' | (.local + "Z" | fromdateiso8601)'
    " - (if .sign == null then 0 else ((.hh | tonumber) * 3600 + (.mm | tonumber) * 60)"
    ' * (if .sign == "-" then -1 else 1 end) end)'
    f' | strftime("%Y-%m-%d") | select(test({_jq_string(_JQ_WHOLE_DAY)}));'
    f" def local_day: capture({_jq_string(_JQ_DAY)}) | .day | select(real_day);"
    ' first(utc_day, local_day, error("sold_at does not start with a real day")))'
)
# The whole MetadataExtractionQuery parameter, for a stack that writes the processor's parameters itself.
FIREHOSE_METADATA_EXTRACTION_QUERY = f"{{{PARTITION_KEY}:{FIREHOSE_PARTITION_QUERY}}}"
# Relative to the landing zone's root: the stack prefixes the landing URL's key prefix, if it has one.
# The trailing slash matters: without it the Firehose glues its object name onto the date.
FIREHOSE_S3_PREFIX = f"{SALES_DIR}/!{{partitionKeyFromQuery:{PARTITION_KEY}}}/"
# The loader lists only names with a sale-file suffix: a Firehose object without one is never read.
# With GZIP compression on the Firehose, use ".jsonl.gz" (the loader reads gzip).
FIREHOSE_FILE_EXTENSION = ".jsonl"
FAILED_DIR = "_firehose_errors"  # a leading "_": the landing zone never lists it, so the loader never reads it
FIREHOSE_ERROR_OUTPUT_PREFIX = f"{FAILED_DIR}/!{{firehose:error-output-type}}/!{{timestamp:yyyy-MM-dd}}/"

_PY_SOLD_AT = re.compile(_JQ_SOLD_AT.replace("(?<", "(?P<").replace(r"\z", r"\Z"))
_PY_DAY = re.compile(_JQ_DAY.replace("(?<", "(?P<"))
_PY_WHOLE_DAY = re.compile(_JQ_WHOLE_DAY.replace(r"\z", r"\Z"))


class NoPartition(ValueError):
    """A record the Firehose cannot partition; it goes to the error output, not the landing zone."""


def sale_date(record: object) -> str:
    """The UTC sale date (YYYY-MM-DD) of a record's sold_at, by the Firehose's rule (see the module's doc).

    Raises NoPartition where `FIREHOSE_PARTITION_QUERY` raises a jq error."""
    if not isinstance(record, Mapping):
        raise NoPartition("the record is not a JSON object")
    sold_at = record.get("sold_at")
    if not isinstance(sold_at, str):
        raise NoPartition("sold_at is not text")
    found = _PY_SOLD_AT.match(sold_at)
    if found and _real_day(found["day"]):
        local = datetime.strptime(found["local"], "%Y-%m-%dT%H:%M:%S")
        offset = 0 if found["sign"] is None else (int(found["hh"]) * 3600 + int(found["mm"]) * 60)
        utc = (local - timedelta(seconds=-offset if found["sign"] == "-" else offset)).date().isoformat()
        if _PY_WHOLE_DAY.match(utc):
            return utc
    day = _PY_DAY.match(sold_at)
    if day and _real_day(day["day"]):
        return day["day"]
    raise NoPartition("sold_at does not start with a real day")


def landing_prefix(record: object) -> str:
    """The key prefix, below the landing root, the Firehose writes a record under: ``ticket_sales/{YYYY-MM-DD}/``.

    `FIREHOSE_S3_PREFIX` with `sale_date` in place of the partition key: the same rule as
    `FIREHOSE_PARTITION_QUERY`. A sale after midnight for the previous day gets the previous day's prefix."""
    return FIREHOSE_S3_PREFIX.replace(f"!{{partitionKeyFromQuery:{PARTITION_KEY}}}", sale_date(record))


def _real_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


# ---- a local Firehose, for development and tests ---------------------------------------------


@dataclass
class Drained:
    objects: list[str] = field(default_factory=list)  # paths written, inside the zone's filesystem
    days: Counter = field(default_factory=Counter)  # records landed per sale date
    failed: int = 0  # records with no partition, written under FAILED_DIR
    positions: dict[str, str] = field(default_factory=dict)  # shard id -> last sequence number read


def drain(
    stream: str,
    zone: LandingZone,
    *,
    client=None,
    endpoint_url: str | None = None,
    after: Mapping[str, str] | None = None,
    limit: int = 1000,
) -> Drained:
    """Read every shard of ``stream`` to its end and land the records as the Firehose would.

    Each GetRecords answer is one delivery: its records are split by `landing_prefix`
    and each day's share is written as one object, ``stream-<shard>-<first sequence
    number>.jsonl``, one JSON line per record, so the platform's loader reads them as
    it reads partners' files. A sale arriving after midnight for the previous day is
    written into the previous day's folder (its sold_at's UTC date); the landing sensor
    sees that day's files change and reloads the day (see the module's doc).

    ``after`` (shard id -> sequence number, e.g. a previous call's ``positions``)
    starts each shard past what was already landed; otherwise shards are read from
    their oldest record, and draining again writes the same records again under the
    same names when GetRecords cuts the same batches (the loader de-duplicates sale_ids
    either way). ``client`` is a boto3 Kinesis client; without one it is made with
    ``endpoint_url`` (None: boto3's own configuration).
    """
    client = client or _kinesis(endpoint_url)
    drained = Drained()
    for shard in _shards(client, stream):
        start = {"ShardIteratorType": "TRIM_HORIZON"}
        if after and shard in after:
            start = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after[shard]}
        iterator = client.get_shard_iterator(StreamName=stream, ShardId=shard, **start)["ShardIterator"]
        while iterator:
            answer = client.get_records(ShardIterator=iterator, Limit=limit)
            records = answer["Records"]
            if records:
                _deliver(zone, shard, records, drained)
                drained.positions[shard] = records[-1]["SequenceNumber"]
            elif answer.get("MillisBehindLatest", 0) == 0:
                break  # caught up: an open shard would hand out empty answers forever
            iterator = answer.get("NextShardIterator")  # None once a closed shard is read to its end
    return drained


def _deliver(zone: LandingZone, shard: str, records: list[dict], drained: Drained) -> None:
    by_prefix: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        try:
            prefix = landing_prefix(json.loads(record["Data"]))
        except (NoPartition, ValueError):  # ValueError: not JSON, or not UTF-8
            prefix = None
        by_prefix[prefix].append(record)
    for prefix, group in by_prefix.items():
        name = f"stream-{shard}-{group[0]['SequenceNumber']}"
        if prefix is None:
            # The Firehose's error output carries the raw bytes, base64, with why they failed.
            lines = [json.dumps({"errorCode": "DynamicPartitioning.MetadataExtractionFailed", "rawData": _b64(r)}) for r in group]
            path = zone.location.path(FAILED_DIR, "partitioning-failed", f"{name}.jsonl")
            zone.write_bytes(path, ("\n".join(lines) + "\n").encode())
            drained.failed += len(group)
        else:
            path = zone.location.path(prefix, f"{name}{FIREHOSE_FILE_EXTENSION}")
            zone.write_bytes(path, b"".join(_line(r["Data"]) for r in group))
            drained.days[prefix.strip("/").rsplit("/", 1)[-1]] += len(group)
        drained.objects.append(path)


def _line(data: bytes) -> bytes:
    # The producer ends every record with a newline; a record from elsewhere may not, and two
    # records on one line would make one bad line of two sales.
    return data if data.endswith(b"\n") else data + b"\n"


def _b64(record: dict) -> str:
    return base64.b64encode(record["Data"]).decode()


def _shards(client, stream: str) -> list[str]:
    shards, token = [], None
    while True:
        # ListShards refuses StreamName together with NextToken.
        page = client.list_shards(NextToken=token) if token else client.list_shards(StreamName=stream)
        shards += [s["ShardId"] for s in page["Shards"]]
        token = page.get("NextToken")
        if not token:
            return shards


def _kinesis(endpoint_url: str | None):
    # Imported here: the CDK stack imports this module for FIREHOSE_PARTITION_QUERY and needs no boto3.
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "kinesis", endpoint_url=endpoint_url, config=Config(retries={"max_attempts": 5, "mode": "standard"})
    )
