"""Database URLs as people type them: the credentials split off by one rule, and every spelling of a password to scrub.

People paste passwords into URLs without percent-encoding them. Standard
parsers (libpq's, urllib's) then end the user information at the first "@",
"/" or "?", and the rest of the password becomes the host or the database
name, which the next error message quotes. So the credentials are split off
here before any parser sees the URL, by one rule: the LAST "@" ends them, and
the first ":" before it separates user from password. A password may hold any
character typed as is; a "%" followed by two hex digits is read as an encoded
character (write a literal one as %25), and an "@" after the host (in a query
value) must be written %40.

Pure text handling, no driver: the definitions use it when they load.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, quote_plus, unquote

MASK = "***"
# Query parameters that carry a password (libpq keywords).
_SECRET_PARAMETERS = ("password", "sslpassword")


class Secrets:
    """Every spelling of the passwords in a URL, to scrub from messages; prints as ``Secrets(***)``."""

    __slots__ = ("_values",)

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        spellings = set()
        for value in values:
            if value:
                spellings.update({value, unquote(value), quote(value, safe=""), quote(value), quote_plus(value)})
        # Longest first: a spelling that contains another is replaced whole, not left half-masked.
        self._values = tuple(sorted(spellings, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._values)

    def __repr__(self) -> str:
        return f"Secrets({MASK})"


@dataclass(frozen=True)
class SplitURL:
    """``scheme://[user[:password]@]location``: ``location`` is host[:port][,…][/database][?query], without credentials."""

    scheme: str
    user: str | None
    password: str | None = field(repr=False)
    location: str
    secrets: Secrets = field(repr=False)


def split_url(url: str) -> SplitURL:
    """Split the credentials off a database URL (see the module's rule); user and password come back decoded.

    Errors never quote the URL: it may carry a password.
    """
    if not isinstance(url, str):
        raise TypeError(f"a database URL is a str, not a {type(url).__name__}")
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        raise ValueError("not a URL: expected scheme://user:password@host:port/database")
    userinfo, at, location = rest.rpartition("@")
    user = password = raw_password = None
    if at:
        raw_user, colon, raw = userinfo.partition(":")
        user = unquote(raw_user) or None
        if colon:
            raw_password, password = raw, unquote(raw)
    query = location.partition("?")[2].partition("#")[0]
    in_query = [value for name, value in _query_pairs(query) if name.lower() in _SECRET_PARAMETERS]
    raw_in_query = [raw.partition("=")[2] for raw in query.split("&") if raw.partition("=")[0].lower() in _SECRET_PARAMETERS]
    return SplitURL(scheme, user, password, location, Secrets([raw_password, password, *in_query, *raw_in_query]))


def _query_pairs(query: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(query, keep_blank_values=True)
    except ValueError:
        return []  # a malformed query is refused by whoever parses it for real
