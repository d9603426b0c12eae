"""Model versions: the same code, data and seed give one version; a change to any gives another."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from concert_platform.insights import baselines
from concert_platform.insights.versioning import code_modules, code_version, data_fingerprint, model_version


def _train() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "concert_id": pd.Series(["C1", "C2", "C3"], dtype=str),
            "as_of": [date(2026, 3, 1), date(2026, 3, 2), None],
            "capacity": pd.array([100, None, 3000], dtype="Int64"),
            "tickets_sold_to_date": [10, 20, 30],
            "sell_through_to_date": pd.array([0.1, None, 0.01], dtype="Float64"),
            "censored": pd.array([False, None, True], dtype="boolean"),
        }
    )


def test_same_inputs_same_version_and_its_shape():
    code = code_version(baselines)
    version = model_version(code, _train(), 7)
    assert re.fullmatch(r"m-[0-9a-f]{12}", version)
    assert model_version(code_version(baselines), _train(), 7) == version
    # Relabelled rows teach nothing new: the index is not part of the data.
    assert model_version(code, _train().set_axis([5, 6, 7]), 7) == version


def _changed(frame: pd.DataFrame, how: str) -> pd.DataFrame:
    out = frame.copy()
    if how == "value":
        out.loc[1, "tickets_sold_to_date"] = 21
    elif how == "missing to known":
        out.loc[1, "capacity"] = 100
    elif how == "row added":
        out = pd.concat([out, out.iloc[[0]]], ignore_index=True)
    elif how == "row dropped":
        out = out.iloc[:2]
    elif how == "rows reordered":
        out = out.iloc[[1, 0, 2]].reset_index(drop=True)
    elif how == "column renamed":
        out = out.rename(columns={"tickets_sold_to_date": "tickets"})
    elif how == "dtype":
        out["tickets_sold_to_date"] = out["tickets_sold_to_date"].astype("float64")
    elif how == "date":
        out.loc[0, "as_of"] = date(2026, 3, 2)
    return out


@pytest.mark.parametrize(
    "how", ["value", "missing to known", "row added", "row dropped", "rows reordered", "column renamed", "dtype", "date"]
)
def test_any_change_to_the_data_changes_the_version(how):
    code = code_version(baselines)
    assert model_version(code, _changed(_train(), how), 7) != model_version(code, _train(), 7)


def test_the_seed_and_the_code_change_the_version():
    code = code_version(baselines)
    assert model_version(code, _train(), 8) != model_version(code, _train(), 7)
    assert model_version(code + "x", _train(), 7) != model_version(code, _train(), 7)


def test_data_fingerprint_counts_rows():
    fingerprint = data_fingerprint(_train())
    assert re.fullmatch(r"3:[0-9a-f]{64}", fingerprint)
    assert data_fingerprint(_train().iloc[:0]).startswith("0:")


def test_code_version_covers_what_the_model_imports_transitively():
    """baselines imports bounds, horizons, and SOLD_OUT_AT from transforms.features: a constant counts too."""
    assert code_modules(baselines) == (
        "concert_platform.insights.baselines",
        "concert_platform.insights.bounds",
        "concert_platform.insights.horizons",
        "concert_platform.transforms.features",
    )
    with pytest.raises(ValueError, match="name the modules"):
        code_version()


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package of its own on sys.path: model imports helper (relatively) and util (absolutely); unrelated stands apart."""
    name = f"pkg_{tmp_path.name.replace('-', '_')}"
    root = tmp_path / name
    root.mkdir()
    files = {
        "__init__.py": "",
        "model.py": f"from .helper import SCALE\n\n\ndef fit():\n    from {name} import util\n    return util.go(SCALE)\n",
        "helper.py": "SCALE = 2\n",
        "util.py": "import json\n\n\ndef go(x):\n    return json.dumps(x)\n",
        "unrelated.py": "X = 1\n",
    }
    for file, text in files.items():
        (root / file).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, root
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


def test_a_change_to_an_imported_module_changes_the_code_version(package):
    name, root = package
    model = importlib.import_module(f"{name}.model")
    # `from pkg import util` reads the package's __init__ too: a name imported from it could live there.
    assert code_modules(model) == (name, f"{name}.helper", f"{name}.model", f"{name}.util")
    before = code_version(model)
    (root / "unrelated.py").write_text("X = 2\n")
    assert code_version(model) == before  # a module the model does not import
    (root / "helper.py").write_text("SCALE = 3\n")
    after_helper = code_version(model)
    assert after_helper != before
    (root / "util.py").write_text("import json\n\n\ndef go(x):\n    return json.dumps([x])\n")  # imported inside a function
    assert code_version(model) not in (before, after_helper)


def test_the_version_is_the_same_in_another_process():
    """No per-process salt: a fresh interpreter with another hash seed computes the same version."""
    script = (
        "from concert_platform.insights import baselines\n"
        "from concert_platform.insights.versioning import code_version, model_version\n"
        "from concert_platform_tests.insights.test_versioning import _train\n"
        "print(model_version(code_version(baselines), _train(), 7))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True, cwd=Path.cwd())
    assert out.stdout.strip() == model_version(code_version(baselines), _train(), 7)
