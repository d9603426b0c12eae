"""Install a Dagster instance config where every command from the repo root finds it.

Dagster reads its instance config only from ``$DAGSTER_HOME/dagster.yaml``, and
its command-line tools (``dagster``, ``dagster-webserver``, ``dagster-daemon``)
load ``.env`` from the current folder before they look for ``$DAGSTER_HOME``.
So installing an instance is two steps:

- copy the chosen config (the top-level ``dagster.yaml``: the embedded default,
  SQLite in ``$DAGSTER_HOME``; or ``deploy/dagster.yaml``: PostgreSQL) there,
  refusing one that reads variables which are not set;
- record ``DAGSTER_HOME`` in ``.env``, so `make run`, `make dev` and a plain
  ``dagster asset materialize`` typed in the repo root all share that instance.

    python -m concert_platform.instance_config --install DAGSTER_HOME [--source dagster.yaml] [--env-file .env]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values, set_key

HOME_VARIABLE = "DAGSTER_HOME"


def env_vars(node: Any) -> Iterator[str]:
    """The variables a config reads through ``{env: NAME}``."""
    if isinstance(node, Mapping):
        if set(node) == {"env"}:
            yield node["env"]
        else:
            for value in node.values():
                yield from env_vars(value)
    elif isinstance(node, list):
        for value in node:
            yield from env_vars(value)


def describe(config: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    """Where this config keeps runs, event logs and schedules, in one line."""
    storage = config.get("storage") or {}
    if "postgres" in storage:
        db = storage["postgres"].get("postgres_db", {})
        where = [environ.get(db[k]["env"], "?") if isinstance(db.get(k), Mapping) else db.get(k) for k in ("hostname", "db_name")]
        return f"PostgreSQL storage at {where[0]}/{where[1]}"
    return "SQLite storage in $DAGSTER_HOME"


def install(
    source: str | os.PathLike,
    home: str | os.PathLike,
    environ: Mapping[str, str] | None = None,
    env_file: str | os.PathLike | None = ".env",
) -> str:
    """Write ``home/dagster.yaml`` from ``source`` and point ``env_file``'s DAGSTER_HOME at ``home``.

    Returns a one-line description of the instance.
    """
    environ = os.environ if environ is None else environ
    text = Path(source).read_text()
    config = yaml.safe_load(text) or {}
    missing = [var for var in dict.fromkeys(env_vars(config)) if var not in environ]
    if missing:
        raise SystemExit(
            f"{source} reads {', '.join(missing)} from the environment, and they are not set "
            "(an empty value is fine where the server allows it, e.g. DAGSTER_PG_PASSWORD with trust auth)"
        )
    home = Path(home).resolve()
    target = home / "dagster.yaml"
    home.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".tmp")
    partial.write_text(f"# Installed from {Path(source).resolve()} by `python -m concert_platform.instance_config`.\n{text}")
    os.replace(partial, target)  # a running daemon never reads half a file
    if env_file is not None:
        _record_home(Path(env_file), home)
    return describe(config, environ)


def _record_home(env_file: Path, home: Path) -> None:
    previous = dotenv_values(env_file).get(HOME_VARIABLE) if env_file.exists() else None
    if previous != str(home):
        set_key(env_file, HOME_VARIABLE, str(home), quote_mode="never")  # the file's other lines stay as they are
        if previous:
            print(f"note: {env_file} had {HOME_VARIABLE}={previous}; now {home}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m concert_platform.instance_config", description=__doc__.split("\n\n")[0])
    parser.add_argument("--install", metavar="DAGSTER_HOME", required=True, help="the folder to install dagster.yaml into")
    parser.add_argument(
        "--source", default="dagster.yaml", help="the instance config (default: ./dagster.yaml, the embedded one)"
    )
    parser.add_argument("--env-file", default=".env", help="where DAGSTER_HOME is recorded for the CLI (default: ./.env)")
    args = parser.parse_args(argv)
    description = install(args.source, args.install, env_file=args.env_file)
    print(f"dagster instance: {description} -> {Path(args.install).resolve() / 'dagster.yaml'}", file=sys.stderr)


if __name__ == "__main__":
    main()
