"""What is wrong with the storage settings, found from their text alone when the definitions load.

A warehouse URL with an unknown scheme or a bad port, a schema name PostgreSQL
would refuse or truncate, a Redshift without the role its COPY needs: each
would otherwise surface at a run's first write, after the landing zone was
read and every record validated. These checks touch nothing and import no
driver (the code location loads in every CLI call, code server and run
worker); whether the places are reachable is `Warehouse.probe`'s question,
asked when a run starts.

Each check returns the problems it found, as sentences that name the setting
and never quote a URL, which may carry a password.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from concert_platform.storage.urls import split_url
from concert_platform.storage.warehouse import dialect_of

# One rule for every dialect: PostgreSQL truncates names past 63 bytes, Redshift folds quoted names to
# lower case, and a name outside [a-z0-9_] must be quoted in every query people write by hand.
SCHEMA_PATTERN = re.compile(r"[a-z_][a-z0-9_]*")
MAX_SCHEMA_LENGTH = 63
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_URL_SHAPES = {
    "duckdb": "duckdb:///path.duckdb",
    "postgresql": "postgresql://user:password@host:5432/database",
    "redshift": "redshift://user:password@host:5439/database",
}


def warehouse_problems(url: str, schema: str, *, redshift_iam_role: str | None = None, lake_url: str | None = None) -> list[str]:
    """Problems of ``CONCERT_WAREHOUSE_URL`` and ``CONCERT_WAREHOUSE_SCHEMA`` (and, for Redshift, of what it needs)."""
    problems = schema_problems(schema)
    try:
        dialect = dialect_of(url)
    except ValueError as exc:
        return [f"CONCERT_WAREHOUSE_URL: {exc}", *problems]
    if dialect == "duckdb":
        return problems
    dialect = "postgresql" if dialect == "postgres" else dialect
    shape = _URL_SHAPES[dialect]
    location = split_url(url).location
    try:
        parts = urlsplit(f"{dialect}://{location}")
    except ValueError:  # an unclosed [ of an IPv6 address
        return [*problems, f"CONCERT_WAREHOUSE_URL: malformed host ({shape})"]
    if _BAD_ESCAPE.search(location):
        problems.append(
            f"CONCERT_WAREHOUSE_URL: a % after the password is not followed by two hex digits (write % as %25; {shape})"
        )
    for host in parts.netloc.split(","):
        port = host.rpartition("]")[2].partition(":")[2] if host.startswith("[") else host.partition(":")[2]
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            problems.append(f"CONCERT_WAREHOUSE_URL: a port must be a number from 1 to 65535 ({shape})")
            break
    fields = parts.query.split("&") if parts.query else []
    if fields and not fields[-1]:
        fields.pop()  # a trailing & is harmless
    if any("=" not in field for field in fields):
        problems.append(f"CONCERT_WAREHOUSE_URL: the query after ? must be name=value pairs joined by & ({shape})")
    if dialect == "redshift":
        if not parts.hostname:
            problems.append(f"CONCERT_WAREHOUSE_URL names no Redshift host ({shape})")
        if not redshift_iam_role:
            problems.append(
                "CONCERT_REDSHIFT_IAM_ROLE is not set: Redshift loads the lake's Parquet with COPY, which needs "
                "a role that can read the lake"
            )
        if lake_url is not None and not lake_url.startswith("s3://"):
            problems.append("CONCERT_LAKE_URL is not on S3 (s3://bucket/prefix): Redshift's COPY reads the lake's files from S3")
    return problems


def schema_problems(schema: str) -> list[str]:
    if len(schema.encode()) > MAX_SCHEMA_LENGTH:
        return [
            f"CONCERT_WAREHOUSE_SCHEMA is {len(schema.encode())} bytes long: PostgreSQL cuts names at "
            f"{MAX_SCHEMA_LENGTH}, so the tables would land in another schema than the one named"
        ]
    if not SCHEMA_PATTERN.fullmatch(schema):
        return [
            f"CONCERT_WAREHOUSE_SCHEMA {schema!r} is not a plain name: use lower-case letters, digits and _, "
            "starting with a letter or _ (e.g. concert), so it means the same in every warehouse and needs no quotes"
        ]
    return []


def location_problems(variable: str, url: str) -> list[str]:
    """Problems of a lake or landing location: a folder, ``file://…`` or ``s3://bucket/prefix``, without credentials."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme == "file":
        return [] if url.strip() else [f"{variable} is empty: give a folder or s3://bucket/prefix"]
    if scheme != "s3":
        return [f"{variable}: unsupported scheme {scheme!r}: use a folder path or s3://bucket/prefix"]
    bucket = rest.partition("/")[0]
    if "@" in bucket:
        # Never echoed: it holds a secret. S3 credentials come from the AWS chain (AWS_ACCESS_KEY_ID…).
        return [
            f"{variable} carries credentials before its bucket: remove them; S3 credentials come from "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or an instance role"
        ]
    if not bucket:
        return [f"{variable} names no bucket: use s3://bucket/prefix"]
    return []


def endpoint_problems(endpoint_url: str | None) -> list[str]:
    """``AWS_ENDPOINT_URL`` is shown in the resources' config, so it must carry no credentials."""
    if endpoint_url is None:
        return []
    scheme, sep, rest = endpoint_url.partition("://")
    if "@" in (rest if sep else scheme).partition("/")[0]:
        return [
            "AWS_ENDPOINT_URL carries credentials: remove them; S3 credentials come from "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or an instance role"
        ]
    return []
