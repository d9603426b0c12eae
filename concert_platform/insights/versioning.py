"""Model versions: a short string from the code that makes a model, the data it learned from, and its seed.

``model_version(code, data, seed)`` is "m-" and 12 hex digits of a SHA-256 over:

- ``code``: ``code_version(*modules)`` of the modules that define the model
  (say ``insights.forecast`` and ``insights.sellout``): their source and the
  source of every module of the same top-level package they import,
  transitively, found by reading their import statements, so a constant
  imported from elsewhere (``SOLD_OUT_AT``) counts as much as a function. Keyed
  by module name, not path: a checkout elsewhere gives the same version. Not
  the whole package, whose reports and gate change no forecast; not a declared
  CODE_VERSION constant, which someone forgets to bump.
- ``data``: ``data_fingerprint(frame)``, its row count and a SHA-256 over its
  column names, dtypes and every value in row order (pandas'
  ``hash_pandas_object``, which hashes with a fixed key: the same in every
  process and on every machine for one pandas version). The index is left out:
  relabelling rows teaches a model nothing new.
- ``seed``.

Same three inputs, same version; a change to any of them, a different one.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pandas as pd

VERSION_PREFIX = "m-"
VERSION_HEX_DIGITS = 12


def model_version(code: str, data: pd.DataFrame, seed: int) -> str:
    """``code`` from ``code_version``, ``data`` the training frame, ``seed`` the model's random seed."""
    digest = hashlib.sha256("\n".join([code, data_fingerprint(data), str(int(seed))]).encode())
    return VERSION_PREFIX + digest.hexdigest()[:VERSION_HEX_DIGITS]


def code_version(*modules: ModuleType) -> str:
    """A SHA-256 over the source of ``modules`` and of every module of their package they import, transitively."""
    digest = hashlib.sha256()
    for name, path in sorted(_closure(modules).items()):
        digest.update(f"{name}\0".encode() + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()


def code_modules(*modules: ModuleType) -> tuple[str, ...]:
    """The names of the modules ``code_version`` hashes, sorted: what a version covers, for metadata."""
    return tuple(sorted(_closure(modules)))


def data_fingerprint(frame: pd.DataFrame) -> str:
    """ "<rows>:<sha256>" of the frame's columns, dtypes and values, in row order."""
    digest = hashlib.sha256(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype="uint64").tobytes())
    return f"{len(frame)}:{digest.hexdigest()}"


def _closure(modules: tuple[ModuleType, ...]) -> dict[str, str]:
    """Module name -> source path, for ``modules`` and every module of their top-level packages they import."""
    if not modules:
        raise ValueError("name the modules that define the model")
    roots = {m.__name__.partition(".")[0] for m in modules}
    found: dict[str, str] = {}
    todo = [m.__name__ for m in modules]
    while todo:
        name = todo.pop()
        spec = None if name in found else importlib.util.find_spec(name)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            continue
        found[name] = spec.origin
        package = name if spec.submodule_search_locations is not None else name.rpartition(".")[0]
        todo.extend(_imports(Path(spec.origin), package, roots))
    return found


def _imports(path: Path, package: str, roots: set[str]) -> Iterator[str]:
    """The modules of ``roots`` a source file imports (anywhere in it); ``from p import m`` counts p.m when m is a module."""
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.partition(".")[0] in roots)
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            if base.partition(".")[0] not in roots:
                continue  # another package's: neither hashed nor looked up
            yield base
            spec = importlib.util.find_spec(base)
            if spec is not None and spec.submodule_search_locations is not None:  # a package: its names may be modules
                yield from (f"{base}.{a.name}" for a in node.names if importlib.util.find_spec(f"{base}.{a.name}"))
