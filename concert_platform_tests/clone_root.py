"""A folder laid out like a fresh clone's root, and the plain CLI run in it with nothing exported.

The folder holds what the commands read from the current directory: dagster.yaml,
workspace.yaml, pyproject.toml, the package (a link to this checkout's, so `dg` finds
it where a clone has it) and, once the instance is installed, .env. The rest comes
from the installed environment, as after `make install`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ROOT_FILES = ("dagster.yaml", "workspace.yaml", "pyproject.toml")
PACKAGE = "concert_platform"


def make_clone_root(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ROOT_FILES:
        shutil.copy(ROOT / name, folder / name)
    (folder / PACKAGE).symlink_to(ROOT / PACKAGE, target_is_directory=True)
    return folder


def bare_environment(home: Path) -> dict[str, str]:
    """What a new shell has: a PATH with the venv (as `make` uses it), a HOME, a locale; no DAGSTER_* or CONCERT_*."""
    return {"PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}


def run(folder: Path, *argv: str, timeout: float = 300, exported: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a command in ``folder`` with a bare environment (plus ``exported``); fail with its output when it fails."""
    done = subprocess.run(
        [str(BIN / argv[0]) if (BIN / argv[0]).exists() else argv[0], *argv[1:]],
        cwd=folder,
        env={**bare_environment(folder / ".home"), **(exported or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def install_instance(folder: Path) -> Path:
    """What `make run` / `make dev` do first: the embedded instance in .dagster_home, recorded in .env."""
    run(folder, "python", "-m", "concert_platform.instance_config", "--install", ".dagster_home")
    assert (folder / ".env").read_text().strip() == f"DAGSTER_HOME={folder.resolve() / '.dagster_home'}"
    return folder / ".dagster_home"
