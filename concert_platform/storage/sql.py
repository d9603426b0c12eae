"""The one place SQL identifiers are turned into text.

Values never go through here: every dialect binds them as parameters. Only
names (schemas, tables, columns) are spliced into statements, and only after
`quote_ident` has made them inert.
"""

from __future__ import annotations

from collections.abc import Mapping


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (standard SQL: PostgreSQL, Redshift and DuckDB agree).

    Embedded quotes are doubled so a name can never close the quoting early;
    empty names and NUL are refused because no dialect can store them and
    some drivers truncate at NUL, which would change the statement.
    """
    if not isinstance(name, str):
        raise TypeError(f"SQL identifier must be a str, got {type(name).__name__}")
    if not name:
        raise ValueError("SQL identifier must not be empty")
    if "\x00" in name:
        raise ValueError(f"SQL identifier {name!r} contains a NUL character")
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    """``"schema"."table"``."""
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def where_clause(where: Mapping[str, object] | None, placeholder: str = "?") -> tuple[str, list[object]]:
    """``(" WHERE "a" = ? AND "b" IS NULL", [value_a])`` for column equalities, or ``("", [])``.

    ``None`` compares with IS NULL because ``col = NULL`` matches nothing, which
    would make a partition replace silently keep the old rows. ``placeholder``
    is the driver's paramstyle marker (``?`` for DuckDB, ``%s`` for psycopg).
    """
    if not where:
        return "", []
    terms: list[str] = []
    params: list[object] = []
    for column, value in where.items():
        if value is None:
            terms.append(f"{quote_ident(column)} IS NULL")
        else:
            terms.append(f"{quote_ident(column)} = {placeholder}")
            params.append(value)
    return " WHERE " + " AND ".join(terms), params


# psycopg and psycopg2 read "%" in a statement as a placeholder marker, so names
# spliced into their statements must carry "%" doubled.
_MARK = "\x00"  # stands in for placeholders; quote_ident refuses NUL, so no name holds it


def pyformat_ident(name: str) -> str:
    """`quote_ident` for a statement a psycopg driver will bind ``%s`` parameters into."""
    return quote_ident(name).replace("%", "%%")


def pyformat_qualified(schema: str, table: str) -> str:
    return f"{pyformat_ident(schema)}.{pyformat_ident(table)}"


def pyformat_where(where: Mapping[str, object] | None) -> tuple[str, list[object]]:
    """`where_clause` with ``%s`` placeholders and "%" in the names doubled."""
    clause, params = where_clause(where, _MARK)
    return clause.replace("%", "%%").replace(_MARK, "%s"), params
