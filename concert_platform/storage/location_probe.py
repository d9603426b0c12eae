"""Is a location (the lake: a folder or ``s3://bucket/prefix``) there and writable? Asked when a run starts.

A run that cannot write the lake would otherwise find out after reading the
landing zone and validating every record, at its first output. One small
object is written and removed: that is the only proof of write access S3
offers, and it needs nothing the lake's own writes do not.
"""

from __future__ import annotations

import uuid

import pyarrow as pa

from concert_platform.storage.filesystem import Location
from concert_platform.storage.lake import STAGING


class LocationUnreachable(ConnectionError):
    """The location cannot be reached or written; the message says which location and why."""


def probe_location(location: Location, what: str = "lake") -> None:
    """Create the location's root if it is a folder that does not exist yet, then write and remove one object in it.

    The object goes under ``_staging/``, where the lake keeps unfinished writes, so a probe interrupted
    between its write and its removal leaves nothing a reader sees.
    """
    where = location.display(location.root)
    probe = location.path(STAGING, f".probe-{uuid.uuid4().hex}")
    try:
        if not location.is_s3:
            location.filesystem.create_dir(location.path(STAGING), recursive=True)
        with location.filesystem.open_output_stream(probe) as stream:
            stream.write(b"")
        location.filesystem.delete_file(probe)
    except (OSError, pa.ArrowException) as exc:
        raise LocationUnreachable(f"the {what} at {where} cannot be written: {exc}") from None
