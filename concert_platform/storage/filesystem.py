"""Turn a location setting (a folder or ``s3://bucket/prefix``) into a pyarrow filesystem.

The lake and the landing zone both take such URLs; this is the one place that
knows how to reach either kind, so local and S3 code paths stay the same.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pyarrow.fs as pafs


@dataclass(frozen=True)
class Location:
    """A filesystem and the root path inside it (no scheme, no trailing slash)."""

    filesystem: pafs.FileSystem
    root: str
    url: str

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *(p.strip("/") for p in parts if p)])

    def display(self, path: str) -> str:
        """The user-facing address of ``path`` (``s3://…`` or an absolute folder)."""
        return f"s3://{path}" if self.is_s3 else path


def open_location(url: str, endpoint_url: str | None = None, region: str | None = None) -> Location:
    if url.startswith("s3://"):
        bucket_and_prefix = url[len("s3://") :].strip("/")
        if not bucket_and_prefix:
            raise ValueError(f"{url!r} names no bucket")
        kwargs = {"region": region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"}
        if endpoint_url:
            scheme, _, host = endpoint_url.partition("://")
            kwargs.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
        return Location(pafs.S3FileSystem(**kwargs), bucket_and_prefix, url.rstrip("/"))
    if "://" in url and not url.startswith("file://"):
        raise ValueError(f"unsupported location {url!r}: use a folder path or s3://bucket/prefix")
    folder = os.path.abspath(url[len("file://") :] if url.startswith("file://") else url)
    return Location(pafs.LocalFileSystem(), folder, folder)
