"""`kustomize build` output → what Debian's podman 4.3.1 `podman kube play` can play.

    python -m tests.deploy_live.kube_play --pod-ip 127.0.0.1 --out-dir DIR < built.yaml

writes DIR/play.yaml (everything, for `podman kube down`), the stages to play
in order (DIR/stage-N.yaml, their pods in DIR/stage-N.pods), DIR/secrets/*.json,
and the names of the pods, volumes and host ports (DIR/pods, volumes, ports).

Each step exists because podman 4.3.1 cannot honour the object as a cluster
does (all measured on this project's machines, scripts/test-deploy.sh):

1. Kinds. `kube play` plays only Pod, Deployment, PersistentVolumeClaim and
   ConfigMap. A StatefulSet becomes a Deployment of the same pod template
   (`statefulset_as_deployment`): its volumeClaimTemplates become
   PersistentVolumeClaims (podman named volumes) mounted by claim name. Kinds
   that only a cluster acts on (Service, NetworkPolicy, PodDisruptionBudget,
   ServiceAccount, HPA, KEDA ScaledObject, ServiceMonitor, ...) are dropped and
   named on stderr: on one host network there is nothing for them to do.
2. Secrets. podman reads `secretKeyRef` and `envFrom: secretRef` from a podman
   secret of the same name whose data is a JSON object of base64 values
   (`{"KEY": "base64"}`; a whole Secret document is refused as "not valid
   JSON"). Each Secret is written as such a file into --secrets-dir, for
   `podman secret create NAME FILE`, and left out of the manifests.
3. The downward API. podman 4.3 refuses `fieldRef: status.podIP` ("not valid
   or not supported") and passes `$(VAR)` references through unexpanded. With
   hostNetwork the pod's address is the host's, so status.podIP/hostIP become
   the literal --pod-ip and every `$(VAR)` naming an earlier literal variable of
   the same container is expanded, as the kubelet would.
4. Ports. podman 4.3 turns every containerPort into a port mapping, which a
   host-network pod refuses ("PortMappings can only be used with Bridge or
   slirp4netns networking"): a hostNetwork pod's containers lose `ports` (the
   servers listen where their settings say; the probes below read the ports
   from the untranslated manifests).
5. Probes. podman turns a livenessProbe into a healthcheck run by a systemd
   timer (none here: "unable to get systemd connection") with `nc`/`curl`
   inside the image, and ignores startup, readiness and gRPC probes. They are
   removed; scripts/test-deploy.sh runs them itself from the untranslated
   manifests (tests/deploy_live/readiness.py).

6. Order. podman plays pods one after another, runs each pod's init
   containers to the end before the next pod, and a failed init container
   ends the whole play; it has no kubelet retrying an init container until
   what it needs is up. So the pods without init containers play first
   (stage 1: NATS, the S3 store, PostgreSQL, the services that wait for
   them by themselves) and, once they are ready, those with init
   containers (stage 2: snapshot-svc, whose migration needs PostgreSQL).
7. Init containers' restarts. podman 4.3 gives an init container the pod's
   restart policy: under `Always` a migration that has finished is started
   again, and podman then fails to remove the "once" init container while it
   runs ("cannot remove container ... as it is running"), ending the play. A
   pod with init containers plays with `OnFailure` instead: its init
   containers run once, its main container is still restarted when it fails.

Everything else (envFrom configMapRef, securityContext, resources — runc
accepts the limits —, emptyDir, hostNetwork, init containers) is passed through
unchanged. Note that podman backs an `emptyDir: {medium: Memory}` with an
anonymous disk volume, not tmpfs: a bigger /dev/shm for Chromium all the same."""

from __future__ import annotations

import argparse
import base64
import copy
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

PLAYABLE_KINDS = frozenset({"Pod", "Deployment", "PersistentVolumeClaim", "ConfigMap"})
POD_ADDRESS_FIELDS = frozenset({"status.podIP", "status.hostIP", "status.podIPs", "status.hostIPs"})
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
# Kubernetes' dependent variable syntax; `$$(X)` is an escaped literal `$(X)`.
VAR_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
# What a StatefulSet spec has that a Deployment spec does not.
STATEFULSET_ONLY_FIELDS = ("serviceName", "podManagementPolicy", "volumeClaimTemplates", "updateStrategy",
                           "persistentVolumeClaimRetentionPolicy", "ordinals")


@dataclass
class Translation:
    """What `translate` made: the manifests to play, the podman secrets to
    create first (name → JSON text), and what it dropped (kind/name)."""

    manifests: list[dict[str, Any]] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    host_ports: list[int] = field(default_factory=list)   # of hostNetwork pods: each must be free before play

    @property
    def pod_names(self) -> list[str]:
        """The pods `kube play` creates: `<deployment>-pod-0`, `<pod>` (one replica each, see `translate`)."""
        return pod_names(self.manifests)

    @property
    def volume_names(self) -> list[str]:
        """The podman volumes playing these makes, which `kube down` leaves: one per
        claim, and one per ConfigMap mounted as a volume (podman copies its
        data into a named volume once and reuses it: a changed ConfigMap would
        meet the old copy on the next play)."""
        names = [m["metadata"]["name"] for m in self.manifests if m["kind"] == "PersistentVolumeClaim"]
        for m in self.manifests:
            names += [v["configMap"]["name"] for v in pod_spec_of(m).get("volumes") or [] if "configMap" in v]
        return list(dict.fromkeys(names))

    @property
    def stages(self) -> list[list[dict[str, Any]]]:
        """Step 6: the workloads without init containers (with every claim), then
        those with; each stage with every ConfigMap (podman resolves
        configMapKeyRef only from the file it plays)."""
        config_maps = [m for m in self.manifests if m["kind"] == "ConfigMap"]
        claims = [m for m in self.manifests if m["kind"] == "PersistentVolumeClaim"]
        workloads = [m for m in self.manifests if m["kind"] in ("Deployment", "Pod")]
        first = [w for w in workloads if not pod_spec_of(w).get("initContainers")]
        later = [w for w in workloads if pod_spec_of(w).get("initContainers")]
        return [stage for stage in ([*config_maps, *claims, *first], [*config_maps, *later])
                if any(m["kind"] in ("Deployment", "Pod") for m in stage)]

    def yaml(self) -> str:
        return yaml.safe_dump_all(self.manifests, sort_keys=False)


def pod_spec_of(m: dict[str, Any]) -> dict[str, Any]:
    return m["spec"]["template"]["spec"] if m["kind"] == "Deployment" else m["spec"] if m["kind"] == "Pod" else {}


def pod_names(manifests: list[dict[str, Any]]) -> list[str]:
    """The pods `kube play` creates: `<deployment>-pod-0`, `<pod>` (one replica each, see `translate`)."""
    return [f"{m['metadata']['name']}-pod-0" if m["kind"] == "Deployment" else m["metadata"]["name"]
            for m in manifests if m["kind"] in ("Deployment", "Pod")]


def translate(documents: Iterable[dict[str, Any] | None], pod_ip: str) -> Translation:
    """Steps 1-5 and 7 of the module's story (6 is `Translation.stages`) over every document of a `kustomize build`."""
    out = Translation()
    for doc in documents:
        if not doc:
            continue
        kind, name = doc.get("kind"), doc.get("metadata", {}).get("name")
        if kind == "Secret":
            out.secrets[name] = podman_secret_json(doc)
        elif kind == "StatefulSet":
            deployment, claims = statefulset_as_deployment(doc)
            out.manifests.extend(claims)
            out.host_ports.extend(host_ports(deployment))
            out.manifests.append(playable_workload(deployment, pod_ip))
        elif kind in ("Deployment", "Pod"):
            out.host_ports.extend(host_ports(doc))
            out.manifests.append(playable_workload(doc, pod_ip))
        elif kind in PLAYABLE_KINDS:
            out.manifests.append(copy.deepcopy(doc))
        else:
            out.dropped.append(f"{kind}/{name}")
    return out


def host_ports(workload: dict[str, Any]) -> list[int]:
    """The containerPorts of a host-network Deployment or Pod."""
    pod_spec = pod_spec_of(workload)
    if not pod_spec.get("hostNetwork"):
        return []
    return [p["containerPort"] for c in pod_spec.get("containers") or [] for p in c.get("ports") or []]


def podman_secret_json(secret: dict[str, Any]) -> str:
    """A Secret as podman 4.3 reads a podman secret's data: {"KEY": base64 of the value}."""
    values = dict(secret.get("data") or {})
    for key, text in (secret.get("stringData") or {}).items():
        values[key] = base64.b64encode(str(text).encode()).decode()
    return json.dumps(values, sort_keys=True)


def statefulset_as_deployment(sts: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The same pod template as a Deployment, its claim templates as claims
    named `<template>-<statefulset>` and mounted by that name."""
    name = sts["metadata"]["name"]
    spec = copy.deepcopy(sts["spec"])
    claims = []
    volumes = spec["template"]["spec"].setdefault("volumes", [])
    for template in spec.get("volumeClaimTemplates") or []:
        claim_name = f"{template['metadata']['name']}-{name}"
        claims.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                       "metadata": {"name": claim_name, "labels": dict(sts["metadata"].get("labels") or {})},
                       "spec": copy.deepcopy(template["spec"])})
        volumes.append({"name": template["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim_name}})
    for key in STATEFULSET_ONLY_FIELDS:
        spec.pop(key, None)
    metadata = {k: copy.deepcopy(v) for k, v in sts["metadata"].items() if k in ("name", "namespace", "labels", "annotations")}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec}, claims


def playable_workload(doc: dict[str, Any], pod_ip: str) -> dict[str, Any]:
    """A Deployment or Pod with one replica (one pod per name on one host
    network: a second would meet the first's ports), no probes, no
    containerPorts on the host network, its pod-address variables resolved,
    and OnFailure when it has init containers (steps 3 to 5, 7)."""
    doc = copy.deepcopy(doc)
    if doc["kind"] == "Deployment":
        doc["spec"]["replicas"] = 1
        pod_spec = doc["spec"]["template"]["spec"]
    else:
        pod_spec = doc["spec"]
    if pod_spec.get("initContainers") and pod_spec.get("restartPolicy", "Always") == "Always":
        pod_spec["restartPolicy"] = "OnFailure"
    for container in [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]:
        for probe in PROBES:
            container.pop(probe, None)
        if pod_spec.get("hostNetwork"):
            container.pop("ports", None)
        if "env" in container:
            container["env"] = resolved_env(container["env"], pod_ip)
    return doc


def resolved_env(env: list[dict[str, Any]], pod_ip: str) -> list[dict[str, Any]]:
    """status.podIP (and hostIP) → pod_ip; `$(VAR)` of an earlier literal
    variable expanded (an unknown one is kept as written, as Kubernetes does)."""
    known: dict[str, str] = {}
    out = []
    for var in env:
        var = dict(var)
        field_path = (var.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
        if field_path in POD_ADDRESS_FIELDS:
            var.pop("valueFrom")
            var["value"] = pod_ip
        if "value" in var:
            var["value"] = expand(str(var["value"]), known)
            known[var["name"]] = var["value"]
        out.append(var)
    return out


def expand(value: str, known: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return known.get(match.group(1), match.group(0))
    return VAR_REFERENCE.sub(one, value)


def write_lines(path: Path, lines: Iterable[object]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pod-ip", required=True, help="the address status.podIP stands for (hostNetwork: the host's)")
    parser.add_argument("--out-dir", type=Path, required=True, help="where to write the files (module docstring)")
    args = parser.parse_args(argv)
    result = translate(yaml.safe_load_all(sys.stdin), args.pod_ip)
    out = args.out_dir
    (out / "secrets").mkdir(parents=True, exist_ok=True)
    for name, text in result.secrets.items():
        path = out / "secrets" / f"{name}.json"
        path.touch(mode=0o600)
        path.write_text(text)
    (out / "play.yaml").write_text(result.yaml())
    for number, stage in enumerate(result.stages, start=1):
        (out / f"stage-{number}.yaml").write_text(yaml.safe_dump_all(stage, sort_keys=False))
        write_lines(out / f"stage-{number}.pods", pod_names(stage))
    write_lines(out / "pods", result.pod_names)
    write_lines(out / "volumes", result.volume_names)
    write_lines(out / "ports", sorted(set(result.host_ports)))
    if result.dropped:
        print(f"    dropped (nothing for them to do on one host network): {', '.join(result.dropped)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
