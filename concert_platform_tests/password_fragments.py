"""Passwords with the characters that break URLs, as people type them, and what must never be seen of them.

A password leaks not only whole: a parser that ends it at its "@" or "/"
turns the rest into a host or a database name, which error messages quote.
So what is searched for is every piece between those characters (long enough
not to match by chance), besides every spelling of the whole.
"""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus

SPECIALS = "@:/%#?"
# One password with every special character, one per character, and one whose "%" is followed by hex digits.
PASSWORDS = [
    "zq7K@wx8M:yv9N/ku1P%pm2Q#tr3R?ns4S",
    *(f"Vb6r{char}Jm3t{char}Qx5w" for char in SPECIALS),
    "Hd4k%41Lp7s@@Wn2c",
]
MIN_FRAGMENT = 4


def spellings(password: str) -> set[str]:
    return {password, quote(password, safe=""), quote(password), quote_plus(password)}


def fragments(password: str) -> set[str]:
    """Every spelling of the password, and every piece of it between special characters."""
    pieces = {piece for piece in re.split(f"[{re.escape(SPECIALS)}]", password) if len(piece) >= MIN_FRAGMENT}
    return spellings(password) | pieces


def typed(password: str, encoded: bool) -> str:
    """The password as it goes into a URL: percent-encoded, or pasted as is."""
    return quote(password, safe="") if encoded else password


def leaked(text: str | bytes, password: str) -> list[str]:
    """The fragments of ``password`` found in ``text`` (empty: nothing leaked)."""
    if isinstance(text, bytes):
        return sorted(f for f in fragments(password) if f.encode() in text)
    return sorted(f for f in fragments(password) if f in text)
