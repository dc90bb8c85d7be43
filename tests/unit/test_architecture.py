"""The import rules and the module table of docs/ARCHITECTURE.md, checked against the tree.

Only the source is parsed (ast); no module is imported, so the check needs no
service dependency and sees the code exactly as written. The table in
docs/ARCHITECTURE.md is the single source: add a module, add its row.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "snapshot_svc", "render_svc", "notifier_svc")
RUNS_EVERYTHING = "devstack"
CLIENT = "chartsnap_cli"  # the `chartsnap` command: it may import a service's admin module; none imports it
CHECKED = ("chartsnap", *SERVICES, RUNS_EVERYTHING, CLIENT)
# What makes a module an adapter: it talks to the network, a browser or a store.
ADAPTER_LIBRARIES = frozenset({"grpc", "nats", "minio", "selenium", "aiohttp"})
GENERATED = ("chartsnap", "v1")
# One file per schema change, each the same kind of thing: the table names the folder once.
MIGRATION_VERSIONS = Path("snapshot_svc/migrations/versions")
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
ROW = re.compile(r"^\|\s*`(?P<path>[\w/]+\.py)`\s*\|\s*(?P<kind>domain|adapter)\s*\|")
LINK = re.compile(r"\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _source_files() -> dict[str, Path]:
    files = {}
    for package in CHECKED:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.relative_to(ROOT).parts[:2] == GENERATED or MIGRATION_VERSIONS in path.relative_to(ROOT).parents:
                continue
            files[path.relative_to(ROOT).as_posix()] = path
    return files


def _imports(path: Path) -> set[str]:
    """Every module a file imports, absolute; `from a import b` yields a and a.b
    (b may be a submodule: that is how `from chartsnap import queue` is seen)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


FILES = _source_files()
IMPORTS = {relative: _imports(path) for relative, path in FILES.items()}
MODULE_FILES = {_module_name(path): relative for relative, path in FILES.items()}


def _table() -> dict[str, str]:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("## Domain and adapters", 1)
    assert len(section) == 2, "docs/ARCHITECTURE.md has no '## Domain and adapters' section"
    rows = {}
    for line in section[1].splitlines():
        if line.startswith("## "):
            break
        match = ROW.match(line)
        if match:
            rows[match["path"]] = match["kind"]
    return rows


TABLE = _table()


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def test_chartsnap_imports_no_service_package() -> None:
    offences = [
        f"{relative} imports {module}"
        for relative, modules in IMPORTS.items()
        if relative.startswith("chartsnap/")
        for module in sorted(modules)
        if _top(module) in (*SERVICES, RUNS_EVERYTHING, CLIENT)
    ]
    assert not offences, "chartsnap/ is shared code and must not import a service:\n" + "\n".join(offences)


def test_no_service_imports_another_service() -> None:
    offences = [
        f"{relative} imports {module}"
        for relative, modules in IMPORTS.items()
        if _top(relative.replace("/", ".")) in SERVICES
        for module in sorted(modules)
        if _top(module) in (*SERVICES, RUNS_EVERYTHING, CLIENT) and _top(module) != relative.split("/")[0]
    ]
    assert not offences, "a service imports another service's package:\n" + "\n".join(offences)


def _adapter_libraries(relative: str) -> set[str]:
    return {_top(m) for m in IMPORTS.get(relative, ()) if _top(m) in ADAPTER_LIBRARIES}


def test_domain_modules_import_no_adapter_library() -> None:
    offences = []
    for relative, kind in sorted(TABLE.items()):
        if kind != "domain" or relative not in IMPORTS:
            continue
        for library in sorted(_adapter_libraries(relative)):
            offences.append(f"{relative} imports {library}")
        # One step further: a domain module that imports a project module which
        # imports an adapter library loads that library all the same.
        for module in sorted(IMPORTS[relative]):
            through = MODULE_FILES.get(module)
            if through and through != relative:
                for library in sorted(_adapter_libraries(through)):
                    offences.append(f"{relative} imports {module}, which imports {library}")
    assert not offences, (
        "modules listed as domain in docs/ARCHITECTURE.md import an adapter library:\n"
        + "\n".join(offences)
    )


def test_every_module_has_a_row_and_every_row_a_module() -> None:
    missing = sorted(set(FILES) - set(TABLE))
    stale = sorted(set(TABLE) - set(FILES))
    assert not missing and not stale, (
        "docs/ARCHITECTURE.md's 'Domain and adapters' table is out of date:\n"
        + "".join(f"no row for {m}\n" for m in missing)
        + "".join(f"row for a module that does not exist: {m}\n" for m in stale)
    )


def _links(document: Path):
    for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), 1):
        for match in LINK.finditer(line):
            target = match["target"]
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue
            yield number, target


@pytest.mark.parametrize("document", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve_inside_the_repository(document: Path) -> None:
    offences = []
    for number, target in _links(document):
        path = target.split("#", 1)[0]
        resolved = (document.parent / path).resolve()
        where = f"{document.relative_to(ROOT)}:{number}: {target}"
        if "shared/" in path:
            offences.append(f"{where} points outside the repository (shared/)")
        elif not resolved.is_relative_to(ROOT):
            offences.append(f"{where} points outside the repository")
        elif not resolved.exists():
            offences.append(f"{where} does not exist")
    assert not offences, "links that a clone cannot follow:\n" + "\n".join(offences)
