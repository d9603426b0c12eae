"""pyproject.toml and the lock files agree: what pyproject asks for is what the locks pin.

`make install` (hence CI and the Docker image) installs from the locks alone, so a requirement added to
pyproject without `make lock` would never be installed, and one dropped from pyproject would stay.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
PROJECT = canonicalize_name(PYPROJECT["project"]["name"])

# The platform the locks are resolved for (`make lock`); markers are judged for it, not for this machine.
TARGET = default_environment() | {
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
}

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)\s*$")
_VIA = re.compile(r"^\s+#\s+(?:via\s+)?(\S+) \(pyproject\.toml\)")


def _read_lock(path: Path) -> tuple[dict[str, Version], set[str]]:
    """The pins of a lock file, and which of them it says pyproject asked for."""
    pins: dict[str, Version] = {}
    direct: set[str] = set()
    current = None
    for line in path.read_text().splitlines():
        if pin := _PIN.match(line):
            current = canonicalize_name(pin[1])
            assert current not in pins, f"{path.name} pins {current} twice"
            pins[current] = Version(pin[2])
        elif (via := _VIA.match(line)) and current and canonicalize_name(via[1]) == PROJECT:
            direct.add(current)
        elif line.strip() and not line.lstrip().startswith("#"):
            raise AssertionError(f"{path.name}: not a pin or a comment: {line!r}")
    return pins, direct


def _applies(req: Requirement, extra: str = "") -> bool:
    return req.marker is None or req.marker.evaluate(TARGET | {"extra": extra})


def _runtime() -> list[Requirement]:
    return [r for r in map(Requirement, PYPROJECT["project"]["dependencies"]) if _applies(r)]


def _extras() -> dict[str, list[Requirement]]:
    return {
        extra: [r for r in map(Requirement, reqs) if _applies(r, extra)]
        for extra, reqs in PYPROJECT["project"]["optional-dependencies"].items()
    }


def _unmet(reqs: list[Requirement], pins: dict[str, Version]) -> list[str]:
    unmet = []
    for req in reqs:
        pinned = pins.get(canonicalize_name(req.name))
        if pinned is None or not req.specifier.contains(pinned, prereleases=True):
            unmet.append(f"{req} (lock: {pinned or 'absent'})")
        for extra in sorted(req.extras):
            # What `psycopg[binary]` adds: read from the installed distribution, judged for the target platform.
            for dep in map(Requirement, importlib.metadata.requires(req.name) or []):
                if dep.marker is not None and "extra" in str(dep.marker) and _applies(dep, extra):
                    if canonicalize_name(dep.name) not in pins:
                        unmet.append(f"{dep.name} (needed by {req.name}[{extra}], absent from the lock)")
    return unmet


def test_the_runtime_lock_pins_every_runtime_requirement():
    pins, _ = _read_lock(LOCK)
    assert _unmet(_runtime(), pins) == [], "pyproject.toml changed without `make lock`"


def test_the_dev_lock_pins_every_requirement_of_every_extra():
    pins, _ = _read_lock(DEV_LOCK)
    wanted = _runtime() + [req for reqs in _extras().values() for req in reqs]
    assert _unmet(wanted, pins) == [], "pyproject.toml changed without `make lock`"


@pytest.mark.parametrize(
    ("lock", "with_extras"),
    [(LOCK, False), (DEV_LOCK, True)],
    ids=["requirements.lock", "requirements-dev.lock"],
)
def test_a_lock_holds_no_requirement_that_pyproject_dropped(lock, with_extras):
    # uv marks what pyproject asked for directly; a name pyproject no longer has means a stale lock.
    declared = {canonicalize_name(r.name) for r in _runtime()}
    if with_extras:
        declared |= {canonicalize_name(r.name) for reqs in _extras().values() for r in reqs}
    _, direct = _read_lock(lock)
    assert direct, f"{lock.name} names nothing as coming from pyproject.toml: not written by `make lock`?"
    assert sorted(direct - declared) == []


def test_the_locks_agree_on_every_package_they_share():
    # The Docker image installs one, CI the other: the shared packages must be the versions tested.
    runtime, _ = _read_lock(LOCK)
    dev, _ = _read_lock(DEV_LOCK)
    assert set(runtime) <= set(dev)
    assert {name: (v, dev[name]) for name, v in runtime.items() if dev[name] != v} == {}


def test_the_dagster_family_is_one_release_everywhere():
    # dagster X.Y.Z ships its libraries as 0.(Y+16).Z; one of each, in pyproject and both locks.
    core = next(r for r in _runtime() if canonicalize_name(r.name) == "dagster")
    (spec,) = core.specifier
    assert spec.operator == "==", "pyproject pins dagster exactly"
    release = Version(spec.version)
    family = {release, Version(f"0.{release.minor + 16}.{release.micro}")}

    declared = _runtime() + [r for reqs in _extras().values() for r in reqs]
    loose = [str(r) for r in declared if r.name.startswith("dagster") and {s.operator for s in r.specifier} != {"=="}]
    assert loose == [], "every dagster package in pyproject is pinned exactly"
    off = [str(r) for r in declared if r.name.startswith("dagster") and Version(next(iter(r.specifier)).version) not in family]
    assert off == []

    for lock in (LOCK, DEV_LOCK):
        pins, _ = _read_lock(lock)
        members = {name: v for name, v in pins.items() if name == "dagster" or name.startswith("dagster-")}
        assert len(members) >= 5, f"{lock.name} lost the dagster packages"
        assert {name: str(v) for name, v in members.items() if v not in family} == {}, lock.name


@pytest.mark.parametrize("lock", [LOCK, DEV_LOCK], ids=lambda p: p.name)
def test_a_lock_says_how_it_is_made(lock):
    header = [line for line in lock.read_text().splitlines()[:5] if line.startswith("#")]
    assert any("make lock" in line for line in header), f"{lock.name} should name `make lock` in its header"
