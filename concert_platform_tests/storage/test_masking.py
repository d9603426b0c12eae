"""No piece of a warehouse password survives into a description, a repr or an error, however it is typed.

Every password of `password_fragments` goes into PostgreSQL and Redshift URLs
both percent-encoded and pasted as is; failures come from real sockets: a port
nobody listens on, and the real local PostgreSQL refusing a database, a role,
or an authentication it cannot complete (it trusts every local login, so it
never rejects a password as such).
"""

from __future__ import annotations

import socket
import uuid

import psycopg
import pytest
from psycopg import sql as pgsql

from concert_platform.settings import Settings
from concert_platform.storage.postgres_warehouse import PostgresWarehouse
from concert_platform.storage.redshift_warehouse import RedshiftWarehouse
from concert_platform.storage.sql import quote_ident
from concert_platform.storage.urls import Secrets, split_url
from concert_platform.storage.warehouse import WarehouseUnreachable, make_warehouse

from ..password_fragments import PASSWORDS, leaked, spellings, typed

ROLE = "arn:aws:iam::123456789012:role/concert-lake-read"
CASES = [
    pytest.param(password, encoded, id=f"{i}-{'encoded' if encoded else 'as-typed'}")
    for i, password in enumerate(PASSWORDS)
    for encoded in (True, False)
]


def _closed_port() -> int:
    with socket.socket() as s:  # nobody listens on it once this socket is closed
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _decoded(password: str, encoded: bool) -> str:
    # Pasted as is, "%41" reads as an encoded "A" (the documented rule); every other password arrives whole.
    return password if encoded else password.replace("%41", "A")


def _everything_said(exc: BaseException) -> str:
    chained = [exc, exc.__cause__, None if exc.__suppress_context__ else exc.__context__]
    return "\n".join(f"{type(e).__name__}: {e!s} {e!r}" for e in chained if e is not None)


# -- the rule ------------------------------------------------------------------


@pytest.mark.parametrize(("password", "encoded"), CASES)
def test_the_last_at_ends_the_credentials(password, encoded):
    split = split_url(f"postgresql://loader:{typed(password, encoded)}@db.example:5432/dw?sslmode=require")
    assert (split.user, split.password) == ("loader", _decoded(password, encoded))
    assert split.location == "db.example:5432/dw?sslmode=require"
    assert not leaked(repr(split), password)


def test_without_credentials_the_url_is_all_location():
    split = split_url("postgresql://db.example/dw")
    assert (split.user, split.password, split.location, bool(split.secrets)) == (None, None, "db.example/dw", False)
    assert split_url("redshift://loader@h/db").user == "loader" and split_url("redshift://loader@h/db").password is None
    with pytest.raises(ValueError, match="not a URL"):
        split_url("loader:pw@db.example/dw")


@pytest.mark.parametrize("password", PASSWORDS)
def test_secrets_scrub_every_spelling_and_print_as_stars(password):
    secrets = split_url(f"postgresql://u:{password}@h/db?sslpassword={typed(password, True)}").secrets
    text = " | ".join(sorted(spellings(password)))
    assert not leaked(secrets.scrub(text), password) and "***" in secrets.scrub(text)
    assert repr(secrets) == "Secrets(***)" and not leaked(repr(Secrets([password])), password)


# -- descriptions --------------------------------------------------------------


@pytest.mark.parametrize(("password", "encoded"), CASES)
def test_postgres_describes_where_without_the_password(password, encoded):
    wh = make_warehouse(f"postgresql://loader:{typed(password, encoded)}@db.example:5432/dw?sslmode=require", "concert")
    assert wh.describe() == "postgresql://loader:***@db.example:5432/dw (schema concert)"
    assert not leaked(repr(wh), password) and not leaked(repr(wh._secrets), password)
    assert wh._params["password"] == _decoded(password, encoded) and wh._params["sslmode"] == "require"


@pytest.mark.parametrize(("password", "encoded"), CASES)
def test_redshift_describes_where_without_the_password(password, encoded):
    wh = make_warehouse(
        f"redshift://loader:{typed(password, encoded)}@cluster.example:5439/dev", "concert", redshift_iam_role=ROLE
    )
    assert wh.describe() == "redshift://loader@cluster.example:5439/dev (schema concert)"
    assert not leaked(repr(wh), password) and not leaked(repr(vars(wh)), password)


def test_a_password_in_the_query_wins_as_in_libpq_and_is_masked_too():
    wh = make_warehouse("postgresql://loader:Fb3wQ9@db.example/dw?password=Zt8pL4%40x", "concert")
    assert wh._params["password"] == "Zt8pL4@x" and "Zt8pL4" not in wh._secrets.scrub("Zt8pL4@x Zt8pL4%40x")


def test_malformed_urls_are_refused_without_quoting_them():
    # libpq's own message quotes the token it cannot read, which here is the password.
    with pytest.raises(ValueError, match="malformed") as info:
        PostgresWarehouse("postgresql://u:Gq2%zzWv7@127.0.0.1/db?nosuchoption=1", "concert")
    assert "Gq2" not in str(info.value)
    with pytest.raises(ValueError, match="host or port is malformed") as info:
        make_warehouse("redshift://u:Mk5r@h:Pz7q/db", "concert", redshift_iam_role=ROLE)
    assert "Pz7q" not in str(info.value) and "Mk5r" not in str(info.value)


# -- failures from real sockets ------------------------------------------------


@pytest.mark.parametrize(("password", "encoded"), CASES)
def test_postgres_unreachable_port_names_where_and_nothing_of_the_password(password, encoded):
    port = _closed_port()
    wh = make_warehouse(f"postgresql://loader:{typed(password, encoded)}@127.0.0.1:{port}/dw", "concert")
    with pytest.raises(WarehouseUnreachable) as info:
        wh.probe()
    said = _everything_said(info.value)
    assert f"cannot connect to postgresql://loader:***@127.0.0.1:{port}/dw (schema concert)" in said
    assert "Connection refused" in said and not leaked(said, password)
    with pytest.raises(psycopg.OperationalError) as info:
        wh.tables()
    assert not leaked(_everything_said(info.value), password)


@pytest.mark.parametrize(("password", "encoded"), CASES)
def test_redshift_unreachable_port_names_where_and_nothing_of_the_password(password, encoded):
    port = _closed_port()
    wh = make_warehouse(f"redshift://loader:{typed(password, encoded)}@127.0.0.1:{port}/dev", "concert", redshift_iam_role=ROLE)
    with pytest.raises(WarehouseUnreachable) as info:
        wh.probe()
    said = _everything_said(info.value)
    assert f"cannot connect to redshift://loader@127.0.0.1:{port}/dev (schema concert)" in said
    assert "Connection refused" in said and not leaked(said, password)
    assert info.value.__cause__ is None and info.value.__context__ is None


@pytest.fixture
def role_with_password(pg_admin):
    """A real login role with the hardest password; the server trusts local logins, so any password gets in."""
    name = f"masking_{uuid.uuid4().hex[:10]}"
    # A utility statement takes no parameters: the password goes in as a quoted literal.
    pg_admin.execute(pgsql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(pgsql.Identifier(name), pgsql.Literal(PASSWORDS[0])))
    yield name, PASSWORDS[0]
    pg_admin.execute(f"DROP ROLE IF EXISTS {quote_ident(name)}")


@pytest.mark.parametrize("encoded", [True, False], ids=["encoded", "as-typed"])
@pytest.mark.parametrize("scheme", ["postgresql", "redshift"])
def test_real_server_errors_quote_the_right_database_and_role_never_the_password(role_with_password, scheme, encoded):
    role, password = role_with_password
    credentials = f"{role}:{typed(password, encoded)}"
    iam = {"redshift_iam_role": ROLE} if scheme == "redshift" else {}

    # Reached: the password (parsed, not cut at its "@") goes with the right user to the right database.
    make_warehouse(f"{scheme}://{credentials}@127.0.0.1:5432/postgres", "concert", **iam).probe()

    failures = {
        "no_such_db": 'database "no_such_db" does not exist',
        "postgres?require_auth=scram-sha-256": "server did not complete authentication",
    }
    for target, expected in failures.items():
        wh = make_warehouse(f"{scheme}://{credentials}@127.0.0.1:5432/{target}", "concert", **iam)
        with pytest.raises(WarehouseUnreachable) as info:
            wh.probe()
        said = _everything_said(info.value)
        assert expected in said and not leaked(said, password), said

    wh = make_warehouse(f"{scheme}://nobody_{role}:{typed(password, encoded)}@127.0.0.1:5432/postgres", "concert", **iam)
    with pytest.raises(WarehouseUnreachable, match=f'role "nobody_{role}" does not exist') as info:
        wh.probe()
    assert not leaked(_everything_said(info.value), password)


def test_settings_never_show_the_url_nor_quote_it_when_refusing_it():
    password = PASSWORDS[0]
    settings = Settings(_env_file=None, warehouse_url=f"postgresql://loader:{password}@db.example/dw")
    assert not leaked(repr(settings), password) and not leaked(str(settings), password)
    for url in (
        f"mysql://loader:{password}@db/dw",
        f"postgresql://loader:{password}@db:54x/dw",
        f"redshift://loader:{password}@h/dw",
    ):
        with pytest.raises(ValueError) as info:
            Settings(_env_file=None, warehouse_url=url)
        assert "CONCERT_WAREHOUSE_URL" in str(info.value) or "CONCERT_REDSHIFT_IAM_ROLE" in str(info.value)
        assert not leaked(str(info.value), password), str(info.value)
    for variable in ("lake_url", "landing_url"):
        with pytest.raises(ValueError, match="carries credentials") as info:
            Settings(_env_file=None, **{variable: f"s3://AKIAEXAMPLE:{password}@bucket/lake"})
        assert not leaked(str(info.value), password)


def test_a_redshift_warehouse_made_in_code_still_scrubs_a_plain_secret():
    wh = RedshiftWarehouse(
        lambda: (_ for _ in ()).throw(OSError("auth failed for Qv8mT3#x")), "concert", iam_role=ROLE, secret="Qv8mT3#x"
    )
    with pytest.raises(WarehouseUnreachable) as info:
        wh.probe()
    assert "Qv8mT3" not in str(info.value) and "auth failed for ***" in str(info.value)
