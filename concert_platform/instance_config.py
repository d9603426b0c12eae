"""The Dagster instance config that `make run` and `make dev` install into $DAGSTER_HOME.

The project's top-level ``dagster.yaml`` is the only source of truth. With
``DAGSTER_PG_HOST`` set it is installed as it is (run, event-log and schedule
storage in PostgreSQL, read from the ``DAGSTER_PG_*`` variables when the
instance loads); otherwise the same file without its ``storage`` section, which
is Dagster's default: SQLite files in $DAGSTER_HOME, no database server.
Deriving one from the other means the two can never drift.

    python -m concert_platform.instance_config --local           # print the SQLite variant
    python -m concert_platform.instance_config --install DIR     # write DIR/dagster.yaml, chosen by environment
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values  # python-dotenv comes with dagster

SWITCH = "DAGSTER_PG_HOST"
HEADER = (
    "# Written by `python -m concert_platform.instance_config` from {source} ({variant}).\n"
    "# Edit {source}, not this copy: `make run` / `make dev` rewrite it.\n"
)


def local_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The same instance settings with Dagster's default storage (SQLite in $DAGSTER_HOME)."""
    return {key: value for key, value in config.items() if key != "storage"}


def env_vars(node: Any) -> Iterator[str]:
    """The variables a config section reads through ``{env: NAME}``."""
    if isinstance(node, Mapping):
        if set(node) == {"env"}:
            yield node["env"]
        else:
            for value in node.values():
                yield from env_vars(value)
    elif isinstance(node, list):
        for value in node:
            yield from env_vars(value)


def uses_postgres(environ: Mapping[str, str]) -> bool:
    return bool(environ.get(SWITCH))


def render(source: str | os.PathLike, environ: Mapping[str, str]) -> tuple[str, str]:
    """(text of $DAGSTER_HOME/dagster.yaml, one-line description) for this environment."""
    text = Path(source).read_text()
    config = yaml.safe_load(text) or {}
    name = Path(source).name
    if uses_postgres(environ):
        missing = [var for var in env_vars(config.get("storage")) if var not in environ]
        if missing:
            raise SystemExit(
                f"{SWITCH} is set, so {name} puts the instance in PostgreSQL, but these are not: {', '.join(missing)} "
                "(DAGSTER_PG_PASSWORD may be empty for trust auth). Set them, or unset "
                f"{SWITCH} for the SQLite default."
            )
        where = f"{environ[SWITCH]}/{environ.get('DAGSTER_PG_DB', '')}"
        return HEADER.format(source=name, variant="PostgreSQL storage") + text, f"PostgreSQL storage at {where}"
    body = yaml.safe_dump(local_config(config), sort_keys=False)
    header = HEADER.format(source=name, variant="storage removed: SQLite in $DAGSTER_HOME")
    return header + body, "SQLite storage in $DAGSTER_HOME"


def _notes(environ: Mapping[str, str]) -> list[str]:
    """Why a machine someone meant to point at PostgreSQL still gets SQLite."""
    if uses_postgres(environ):
        return []
    notes = []
    stray = sorted(var for var in environ if var.startswith("DAGSTER_PG_") and var != SWITCH)
    if stray:
        notes.append(f"{', '.join(stray)} set but {SWITCH} is not: using SQLite")
    if dotenv_values(".env").get(SWITCH):  # Dagster's CLI reads .env; make and `make run` do not
        notes.append(f"{SWITCH} is in .env, but make chooses the instance from the shell: export the DAGSTER_PG_* variables")
    return notes


def install(source: str | os.PathLike, home: str | os.PathLike, environ: Mapping[str, str] | None = None) -> str:
    """Write ``home/dagster.yaml`` for this environment; returns the one-line description."""
    environ = os.environ if environ is None else environ
    text, description = render(source, environ)
    target = Path(home) / "dagster.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".tmp")
    partial.write_text(text)
    os.replace(partial, target)  # a running daemon never reads half a file
    return description


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m concert_platform.instance_config", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default="dagster.yaml", help="the project's dagster.yaml (default: ./dagster.yaml)")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--local", action="store_true", help="print the SQLite variant (no storage section)")
    mode.add_argument(
        "--install", metavar="DAGSTER_HOME", help=f"write DAGSTER_HOME/dagster.yaml: PostgreSQL if {SWITCH} is set, else SQLite"
    )
    args = parser.parse_args(argv)
    if args.local:
        sys.stdout.write(render(args.source, {})[0])
        return
    for note in _notes(os.environ):
        print(f"note: {note}", file=sys.stderr)
    description = install(args.source, args.install)
    print(f"dagster instance: {description} -> {Path(args.install) / 'dagster.yaml'}", file=sys.stderr)


if __name__ == "__main__":
    main()
