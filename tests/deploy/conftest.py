"""What the static checks of the Kubernetes manifests share: the pinned tools
(installed by scripts/install-tools.sh, which holds their versions), the
Kubernetes version the output is validated against, and each overlay's
`kustomize build`, made once per session.

No cluster, no network: kustomize renders, kubernetes-validate and the vendored
CRD schemas validate, kube-score lints, all on this machine in seconds."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
KUBERNETES_DIR = REPO / "deploy/kubernetes"
OVERLAYS_DIR = KUBERNETES_DIR / "overlays"
INSTALL_TOOLS = REPO / "scripts/install-tools.sh"
# The Kubernetes release the manifests are written for and validated against
# (kubernetes-validate's bundled schemas; kube-score's checks).
KUBERNETES_VERSION = "1.33.0"
BUILD_TIMEOUT_S = 60.0  # one `kustomize build` takes well under a second


def tool_cache() -> Path:
    """scripts/install-tools.sh's cache, the same rule as there."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "chartsnap"
    return Path(os.environ.get("CHARTSNAP_CACHE_DIR", default))


def pinned_version(variable: str) -> str:
    """A tool's version where it is pinned: `<VARIABLE>="v…"` in scripts/install-tools.sh."""
    found = re.search(rf'^{variable}="([^"]+)"$', INSTALL_TOOLS.read_text(), re.MULTILINE)
    assert found, f"{variable} is not pinned in {INSTALL_TOOLS.relative_to(REPO)}"
    return found.group(1)


def pinned_tool(name: str, version_variable: str) -> Path:
    """The pinned build of a tool (`<cache>/bin/<name>-<version>`); a clear
    failure naming the set-up when it is missing."""
    path = tool_cache() / "bin" / f"{name}-{pinned_version(version_variable)}"
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: run scripts/install-tools.sh (make test does)")
    return path


@dataclass(frozen=True)
class BuiltOverlay:
    name: str
    text: str                 # `kustomize build` output as it came
    objects: list[dict[str, Any]]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def one(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.name}: {len(found)} {kind} named {name!r}"
        return found[0]


def overlay_names() -> list[str]:
    return sorted(p.name for p in OVERLAYS_DIR.iterdir() if (p / "kustomization.yaml").is_file())


def kustomize_build(kustomize: Path, directory: Path) -> str:
    done = subprocess.run([str(kustomize), "build", str(directory)], capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT_S)
    assert done.returncode == 0, f"kustomize build {directory.relative_to(REPO)} failed:\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def kustomize() -> Path:
    return pinned_tool("kustomize", "KUSTOMIZE_VERSION")


@pytest.fixture(scope="session")
def kube_score() -> Path:
    return pinned_tool("kube-score", "KUBE_SCORE_VERSION")


@pytest.fixture(scope="session")
def built_overlays(kustomize: Path) -> dict[str, BuiltOverlay]:
    """Every overlay under deploy/kubernetes/overlays, built."""
    built = {}
    for name in overlay_names():
        text = kustomize_build(kustomize, OVERLAYS_DIR / name)
        built[name] = BuiltOverlay(name, text, [o for o in yaml.safe_load_all(text) if o])
    return built


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any attempt to open a connection fails the test: what runs under it is offline."""
    import socket

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network use in an offline check: {args!r}")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield
