"""Every CHARTSNAP_* variable a manifest sets is one its program reads, every
variable a deployment must set is set, the values parse as the program's
own settings, and each pod's terminationGracePeriodSeconds outlasts its
service's drain timeout.

What a program reads is known without running it: its settings are built
inside chartsnap.settings.names_asked(), which records every name an
EnvReader is asked for (service_main.variables_read adds the log settings
every service reads). So a variable set in a manifest that no reader asks
for is stale or misspelled, and the test says which and what it resembles.
The one grep-level check below keeps that true: every CHARTSNAP_* name in
the source is asked by some program's settings, or listed here as read
elsewhere.

The overlays are built by tests/deploy/conftest.py (`kustomize build`, the
pinned kustomize); each container's environment is resolved as the kubelet
would: `env` in order with `$(VAR)` expanded from the entries before it,
`envFrom` ConfigMaps and Secrets by their keys, ConfigMap values looked up,
Secret values (absent from prod's output by design) stood in for by a
placeholder, the pod address and the CPU limit from the downward API."""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from chartsnap import queue
from chartsnap.service_main import variables_read
from chartsnap.settings import SettingsError, names_asked
from chartsnap_cli import job_wait
from chartsnap_cli.settings import client_settings
from devstack.settings import DevstackSettings
from gateway.settings import GatewaySettings
from notifier_svc.settings import NotifierSettings
from render_svc.settings import RenderSettings
from snapshot_svc.settings import SnapshotSettings
from tests.deploy.conftest import BuiltOverlay, overlay_names

REPO = Path(__file__).resolve().parents[2]
PREFIX = "CHARTSNAP_"
POD_IP = "10.42.7.19"   # stands in for status.podIP
# Seconds between the service's own bound on its exit (its drain timeout,
# enforced by chartsnap.service_main) and the kubelet's SIGKILL: the
# interpreter's exit and tini's.
TERMINATION_MARGIN_S = 5.0


@dataclass(frozen=True)
class Program:
    """One program a container runs: what it is called, how it reads its
    settings (raising SettingsError on bad values), and the variables a
    deployment must set for it (a tuple: any one of them)."""

    name: str
    read: Callable[[dict[str, str]], Any]
    reads_log_settings: bool
    required: tuple[str | tuple[str, ...], ...]
    listens_on: tuple[str, ...] = ()      # addresses it binds: not the loopback, off hostNetwork

    def variables(self, environ: dict[str, str]) -> frozenset[str]:
        """Every variable it reads, with `environ` and with nothing set (a
        value may make a reader ask for more)."""
        if self.reads_log_settings:
            return variables_read(self.read, environ) | variables_read(self.read, {})
        with names_asked() as names:
            for tried in (environ, {}):
                try:
                    self.read(dict(tried))
                except SettingsError:
                    pass
        return frozenset(names)


NATS_LOGIN = ("CHARTSNAP_NATS_URL", "CHARTSNAP_NATS_USER", ("CHARTSNAP_NATS_PASSWORD", "CHARTSNAP_NATS_PASSWORD_FILE"))
S3_BUCKET = ("CHARTSNAP_S3_ENDPOINT", "CHARTSNAP_S3_BUCKET", "CHARTSNAP_S3_ACCESS_KEY", "CHARTSNAP_S3_SECRET_KEY")

# Each service's Deployment runs the service of its name (the image's CMD).
SERVICES = {
    "gateway": Program(
        "gateway", GatewaySettings.from_env, True,
        required=("CHARTSNAP_GATEWAY_ADDR", "CHARTSNAP_GATEWAY_METRICS_ADDR", "CHARTSNAP_SNAPSHOT_ADDR",
                  "CHARTSNAP_PUBLIC_URL"),
        listens_on=("CHARTSNAP_GATEWAY_ADDR", "CHARTSNAP_GATEWAY_METRICS_ADDR")),
    "snapshot-svc": Program(
        "snapshot-svc", SnapshotSettings.from_env, True,
        required=("CHARTSNAP_SNAPSHOT_ADDR", "CHARTSNAP_SNAPSHOT_METRICS_ADDR", "CHARTSNAP_DATABASE_URL",
                  "CHARTSNAP_IMAGE_BASE_URL", "CHARTSNAP_PUBLIC_URL", *NATS_LOGIN),
        listens_on=("CHARTSNAP_SNAPSHOT_ADDR", "CHARTSNAP_SNAPSHOT_METRICS_ADDR")),
    "render-svc": Program(
        "render-svc", RenderSettings.from_env, True,
        required=("CHARTSNAP_RENDER_HEALTH_ADDR", "CHARTSNAP_RENDER_METRICS_ADDR", "CHARTSNAP_RENDER_BROWSERS",
                  *NATS_LOGIN, *S3_BUCKET),
        listens_on=("CHARTSNAP_RENDER_HEALTH_ADDR", "CHARTSNAP_RENDER_METRICS_ADDR")),
    "notifier-svc": Program(
        "notifier-svc", NotifierSettings.from_env, True,
        required=("CHARTSNAP_NOTIFIER_HEALTH_ADDR", "CHARTSNAP_NOTIFIER_METRICS_ADDR", "CHARTSNAP_SMTP_HOST",
                  *NATS_LOGIN, *S3_BUCKET),
        listens_on=("CHARTSNAP_NOTIFIER_HEALTH_ADDR", "CHARTSNAP_NOTIFIER_METRICS_ADDR")),
}
# `chartsnap db …` / `chartsnap user …` (snapshot_svc.admin_cli): the snapshot
# service's settings, no log settings (it prints, it does not log).
ADMIN = Program("chartsnap db/user", SnapshotSettings.from_env, False, required=("CHARTSNAP_DATABASE_URL",))
# Not deployed, but reading CHARTSNAP_* too: the API commands of `chartsnap`
# and `make run`. Listed so that every name in the source has a reader.


def cli_settings(environ: dict[str, str]) -> None:
    """What the API commands of `chartsnap` read: the gateway and the
    credentials, and the job wait's bound (each read even if the other fails)."""
    refused = []
    for read in (lambda: client_settings(None, None, None, environ), lambda: job_wait.default_timeout(environ)):
        try:
            read()
        except SettingsError as exc:
            refused.append(exc)
    if refused:
        raise refused[0]


CLI = Program("chartsnap (API commands)", cli_settings, False, ())
DEVSTACK = Program("make run (devstack)", DevstackSettings.from_env, False, ())
PROGRAMS = (*SERVICES.values(), ADMIN, CLI, DEVSTACK)

# CHARTSNAP_* names in the source that no EnvReader is asked for, and why.
NOT_READ_BY_SETTINGS = {
    **{stream: "a JetStream stream's name (chartsnap.queue)"
       for stream in (queue.RENDER_STREAM, queue.DELIVERY_STREAM, queue.RESULTS_STREAM)},
    "CHARTSNAP_CACHE_DIR": "devstack/processes.py: the tool cache, the rule scripts/install-tools.sh shares",
}
SOURCE_DIRS = ("chartsnap", "gateway", "snapshot_svc", "render_svc", "notifier_svc", "chartsnap_cli", "devstack")
# A whole name: not a prefix such as CHARTSNAP_NATS_* or CHARTSNAP_<SERVICE>_DRAIN_TIMEOUT.
NAME_IN_SOURCE = re.compile(r"\bCHARTSNAP_[A-Z0-9_]*[A-Z0-9](?![A-Za-z0-9_*<{])")
# What an EnvReader method is asked for in the source: env.int("NAME", ...).
ASKED_IN_SOURCE = re.compile(r"\benv\.(?:str|int|float|bool|address|addresses|url|path|choice|drain_timeout)"
                             r"\(\s*\"([A-Z0-9_]+)\"")
# Stale variables the manifests still set, awaiting their fix in deploy/ (not
# this file's): `chartsnap db upgrade` does not log, so the migrate init
# container's CHARTSNAP_LOG_* do nothing. Each entry is checked to be still
# needed: once the manifest drops them, the test says to delete the entry.
UNEXPANDED = re.compile(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


# -- a container's environment, as the kubelet makes it -------------------------

@dataclass(frozen=True)
class ContainerEnv:
    values: dict[str, str]           # every variable, resolved (secrets as placeholders)
    sources: dict[str, str]          # where each came from, for messages and comparisons
    problems: list[str]


def secret_placeholder(name: str, key: str) -> str:
    return f"secret-{name}-{key}".lower()


def cpu_cores(quantity: str) -> float:
    """A Kubernetes CPU quantity ("2", "1500m", "0.5") in cores."""
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def resource_field(ref: dict[str, Any], container: dict[str, Any]) -> str:
    """A resourceFieldRef as the kubelet gives it: the quantity over the
    divisor, rounded up (limits.cpu 1500m, divisor 1 → "2")."""
    group, _, resource = ref["resource"].partition(".")
    quantity = container.get("resources", {}).get(group, {}).get(resource)
    assert resource == "cpu" and quantity is not None, f"resourceFieldRef {ref} is not a CPU limit or request"
    return str(math.ceil(cpu_cores(str(quantity)) / cpu_cores(str(ref.get("divisor", "1")))))


def field_value(path: str) -> str:
    return {"status.podIP": POD_IP, "metadata.name": "pod-0", "metadata.namespace": "chartsnap",
            "spec.nodeName": "node-0", "status.hostIP": "10.0.0.2"}[path]


def expand(value: str, defined: dict[str, str]) -> str:
    """$(VAR) as Kubernetes expands it: only from variables defined before;
    others are left as they are, $$( is a literal $(."""
    expanded = UNEXPANDED.sub(lambda m: defined.get(m.group(1), m.group(0)), value)
    return expanded.replace("$$(", "$(")


def container_env(built: BuiltOverlay, container: dict[str, Any]) -> ContainerEnv:
    config_maps = {c["metadata"]["name"]: c.get("data", {}) for c in built.of_kind("ConfigMap")}
    secrets = {s["metadata"]["name"]: {**s.get("data", {}), **s.get("stringData", {})} for s in built.of_kind("Secret")}
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    for source in container.get("envFrom", []):
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            name = source["configMapRef"]["name"]
            for key, value in config_maps.get(name, {}).items():
                values[prefix + key], sources[prefix + key] = str(value), f"configmap {name}"
        elif "secretRef" in source:
            name = source["secretRef"]["name"]
            if name not in secrets:
                problems.append(f"envFrom Secret {name!r} is not in the output: its variables cannot be checked "
                                "(name each with env[].valueFrom.secretKeyRef)")
            for key in secrets.get(name, {}):
                values[prefix + key], sources[prefix + key] = secret_placeholder(name, key), f"secret {name}/{key}"
    for entry in container.get("env", []):
        name, source = entry["name"], entry.get("valueFrom")
        if source is None:
            values[name], sources[name] = expand(str(entry.get("value", "")), values), f"value {entry.get('value')!r}"
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            found = config_maps.get(ref["name"], {}).get(ref["key"])
            if found is None:
                if not ref.get("optional"):
                    problems.append(f"{name}: ConfigMap {ref['name']!r} has no key {ref['key']!r}")
                continue
            values[name], sources[name] = str(found), f"configmap {ref['name']}/{ref['key']}"
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            values[name] = secret_placeholder(ref["name"], ref["key"])
            sources[name] = f"secret {ref['name']}/{ref['key']}"
        elif "fieldRef" in source:
            values[name], sources[name] = field_value(source["fieldRef"]["fieldPath"]), source["fieldRef"]["fieldPath"]
        elif "resourceFieldRef" in source:
            values[name] = resource_field(source["resourceFieldRef"], container)
            sources[name] = source["resourceFieldRef"]["resource"]
    for name, value in values.items():
        if name.startswith(PREFIX) and (unexpanded := UNEXPANDED.search(value)):
            problems.append(f"{name}={value!r}: $({unexpanded.group(1)}) is not expanded "
                            f"({unexpanded.group(1)} is not defined before {name})")
    return ContainerEnv(values, sources, problems)


# -- the checks -------------------------------------------------------------------

def program_of(workload: dict[str, Any], container: dict[str, Any]) -> Program | None:
    """What a container of one of the services' Deployments runs."""
    command = [*container.get("command", []), *container.get("args", [])]
    if command[:2] in (["chartsnap", "db"], ["chartsnap", "user"]):
        return ADMIN
    if not command and container["name"] == workload["metadata"]["name"]:
        return SERVICES.get(container["name"])
    modules = {f"python -m {module}": program for module, program in (
        ("gateway", SERVICES["gateway"]), ("snapshot_svc", SERVICES["snapshot-svc"]),
        ("render_svc", SERVICES["render-svc"]), ("notifier_svc", SERVICES["notifier-svc"]))}
    return modules.get(" ".join(command[:3]))


def is_loopback(address: str) -> bool:
    host = address.rpartition(":")[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def with_files_for(values: dict[str, str], tmp_dir: Path) -> dict[str, str]:
    """*_FILE variables (a mounted Secret's path) pointed at a file holding
    the placeholder, so the settings can read them here."""
    resolved = dict(values)
    for name, value in values.items():
        if name.startswith(PREFIX) and name.endswith("_FILE"):
            stand_in = tmp_dir / name
            stand_in.write_text(f"placeholder-of-{value}")
            resolved[name] = str(stand_in)
    return resolved


def container_problems(built: BuiltOverlay, workload: dict[str, Any], container: dict[str, Any],
                       tmp_dir: Path) -> list[str]:
    """Everything wrong with one container's CHARTSNAP_* environment."""
    program = program_of(workload, container)
    where = f"{built.name}: {workload['metadata']['name']}/{container['name']}"
    env = container_env(built, container)
    problems = [f"{where}: {p}" for p in env.problems]
    chartsnap_set = sorted(name for name in env.values if name.startswith(PREFIX))
    if program is None:
        return problems + [f"{where}: sets {name} but runs no chartsnap program" for name in chartsnap_set]
    values = with_files_for({n: env.values[n] for n in chartsnap_set}, tmp_dir)
    read = program.variables(values)
    for name in chartsnap_set:
        if name not in read:
            close = difflib.get_close_matches(name, sorted(read), n=1, cutoff=0.8)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{where}: {name} ({env.sources[name]}) is not read by {program.name}: "
                            f"stale or misspelled{hint}")
    for required in program.required:
        one_of = (required,) if isinstance(required, str) else required
        if not any(name in env.values for name in one_of):
            problems.append(f"{where}: {' or '.join(one_of)} must be set for {program.name} "
                            "(its default is the developer machine's)")
    host_network = bool(pod_spec(workload).get("hostNetwork"))
    for name in program.listens_on:
        if name in env.values and is_loopback(env.values[name]) and not host_network:
            problems.append(f"{where}: {name}={env.values[name]!r} listens on the loopback: "
                            "no probe, Service or scraper reaches it (use $(POD_IP) or 0.0.0.0)")
    try:
        program.read(values)
    except SettingsError as exc:
        problems.append(f"{where}: {program.name} refuses its settings: {exc}")
    return problems


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def pre_stop_seconds(container: dict[str, Any]) -> float:
    """How long a preStop hook delays SIGTERM, when it is a sleep."""
    hook = container.get("lifecycle", {}).get("preStop", {})
    if "sleep" in hook:
        return float(hook["sleep"]["seconds"])
    command = hook.get("exec", {}).get("command", [])
    return float(command[1]) if command[:1] == ["sleep"] and len(command) == 2 else 0.0


def grace_problems(built: BuiltOverlay, workload: dict[str, Any], tmp_dir: Path) -> list[str]:
    """terminationGracePeriodSeconds must outlast the service's drain timeout
    (from its own settings, read from the container's environment), any
    preStop sleep before it, and the process's exit."""
    name = workload["metadata"]["name"]
    program = SERVICES[name]
    [container] = [c for c in pod_spec(workload)["containers"] if c["name"] == name]
    env = container_env(built, container)
    values = with_files_for({n: v for n, v in env.values.items() if n.startswith(PREFIX)}, tmp_dir)
    try:
        drain = program.read(values).drain_timeout
    except SettingsError:
        return []   # container_problems names what the settings refuse
    grace = pod_spec(workload).get("terminationGracePeriodSeconds", 30)   # Kubernetes' default
    needed = pre_stop_seconds(container) + drain + TERMINATION_MARGIN_S
    if grace < needed:
        return [f"{built.name}: {name}: terminationGracePeriodSeconds {grace} does not outlast its preStop "
                f"({pre_stop_seconds(container):g} s), its drain timeout ({drain:g} s, "
                f"{name.upper().replace('-SVC', '').replace('-', '_')}_DRAIN_TIMEOUT) and "
                f"{TERMINATION_MARGIN_S:g} s to exit"]
    return []


SHARED_VALUES = ("CHARTSNAP_NATS_URL", "CHARTSNAP_NATS_REPLICAS", "CHARTSNAP_S3_ENDPOINT", "CHARTSNAP_S3_BUCKET",
                 "CHARTSNAP_S3_SECURE", "CHARTSNAP_PUBLIC_URL", "CHARTSNAP_RENDER_TIMEOUT",
                 "CHARTSNAP_RENDER_MAX_ATTEMPTS", "CHARTSNAP_RENDER_TOTAL_BUDGET", "CHARTSNAP_NOTIFY_ATTEMPT_TIMEOUT",
                 "CHARTSNAP_NOTIFY_MAX_TOTAL_SECONDS", "CHARTSNAP_DATABASE_URL")


def agreement_problems(built: BuiltOverlay) -> list[str]:
    """Settings several services must agree on (one NATS cluster and its
    replicas, one bucket, one public URL, the budgets the snapshot service
    derives its job deadline from) have one value across the overlay's
    service containers that set them."""
    seen: dict[str, dict[str, str]] = {}
    for workload in service_deployments(built):
        for container in [*pod_spec(workload).get("initContainers", []), *pod_spec(workload)["containers"]]:
            env = container_env(built, container)
            for name in SHARED_VALUES:
                if name in env.values:
                    seen.setdefault(name, {})[f"{workload['metadata']['name']}/{container['name']}"] = \
                        env.values[name]
    return [f"{built.name}: {name} differs: {by}" for name, by in seen.items() if len(set(by.values())) > 1]


def service_deployments(built: BuiltOverlay) -> list[dict[str, Any]]:
    return [d for d in built.of_kind("Deployment") if d["metadata"]["name"] in SERVICES]


def overlay_problems(built: BuiltOverlay, tmp_dir: Path) -> list[str]:
    problems = [f"{built.name}: no Deployment {name}" for name in SERVICES
                if name not in {d["metadata"]["name"] for d in built.of_kind("Deployment")}]
    for workload in service_deployments(built):
        for container in [*pod_spec(workload).get("initContainers", []), *pod_spec(workload)["containers"]]:
            problems += container_problems(built, workload, container, tmp_dir)
        problems += grace_problems(built, workload, tmp_dir)
    return problems + agreement_problems(built)


# -- the overlays -----------------------------------------------------------------

@pytest.mark.parametrize("overlay", overlay_names())
def test_each_overlay_sets_what_its_services_read_and_nothing_else(built_overlays: dict[str, BuiltOverlay],
                                                                   overlay: str, tmp_path: Path) -> None:
    assert overlay_problems(built_overlays[overlay], tmp_path) == []


# -- the checker, shown defects ---------------------------------------------------

RENDER_DEPLOYMENT = """
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data:
  CHARTSNAP_NATS_URL: nats://nats:4222
  CHARTSNAP_S3_ENDPOINT: s3:9000
  CHARTSNAP_S3_BUCKET: chartsnap
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: render-svc}
spec:
  template:
    spec:
      terminationGracePeriodSeconds: 60
      containers:
        - name: render-svc
          resources: {limits: {cpu: 1500m}}
          env:
            - name: POD_IP
              valueFrom: {fieldRef: {fieldPath: status.podIP}}
            - {name: CHARTSNAP_RENDER_HEALTH_ADDR, value: "$(POD_IP):50052"}
            - {name: CHARTSNAP_RENDER_METRICS_ADDR, value: "$(POD_IP):9102"}
            - name: CHARTSNAP_RENDER_BROWSERS
              valueFrom: {resourceFieldRef: {containerName: render-svc, resource: limits.cpu, divisor: "1"}}
            - {name: CHARTSNAP_NATS_USER, value: render_svc}
            - name: CHARTSNAP_NATS_PASSWORD
              valueFrom: {secretKeyRef: {name: chartsnap-nats, key: NATS_PASSWORD_RENDER_SVC}}
            - name: CHARTSNAP_NATS_URL
              valueFrom: {configMapKeyRef: {name: settings, key: CHARTSNAP_NATS_URL}}
            - name: CHARTSNAP_S3_ACCESS_KEY
              valueFrom: {secretKeyRef: {name: chartsnap-s3, key: CHARTSNAP_S3_ACCESS_KEY}}
            - name: CHARTSNAP_S3_SECRET_KEY
              valueFrom: {secretKeyRef: {name: chartsnap-s3, key: CHARTSNAP_S3_SECRET_KEY}}
          envFrom:
            - configMapRef: {name: settings}
"""


def overlay_of(text: str) -> BuiltOverlay:
    return BuiltOverlay("shown", text, [o for o in yaml.safe_load_all(text) if o])


def render_problems(tmp_path: Path, edit: Callable[[dict[str, Any]], None] | None = None) -> list[str]:
    built = overlay_of(RENDER_DEPLOYMENT)
    workload = built.one("Deployment", "render-svc")
    if edit is not None:
        edit(pod_spec(workload))
    return container_problems(built, workload, pod_spec(workload)["containers"][0], tmp_path) + \
        grace_problems(built, workload, tmp_path)


def env_list(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec["containers"][0]["env"]


def test_a_well_set_render_deployment_has_no_problem_and_its_browsers_follow_the_cpu_limit(tmp_path):
    assert render_problems(tmp_path) == []
    built = overlay_of(RENDER_DEPLOYMENT)
    env = container_env(built, pod_spec(built.one("Deployment", "render-svc"))["containers"][0])
    assert env.values["CHARTSNAP_RENDER_BROWSERS"] == "2"          # 1500m, rounded up
    assert env.values["CHARTSNAP_RENDER_HEALTH_ADDR"] == f"{POD_IP}:50052"


def test_a_misspelled_variable_is_named_with_what_it_resembles(tmp_path):
    problems = render_problems(tmp_path, lambda spec: env_list(spec).append(
        {"name": "CHARTSNAP_RENDER_BROWSER", "value": "2"}))
    assert problems == ["shown: render-svc/render-svc: CHARTSNAP_RENDER_BROWSER (value '2') is not read by "
                        "render-svc: stale or misspelled (did you mean CHARTSNAP_RENDER_BROWSERS?)"]


def test_a_variable_of_another_service_is_stale_here(tmp_path):
    problems = render_problems(tmp_path, lambda spec: env_list(spec).append(
        {"name": "CHARTSNAP_DATABASE_URL", "value": "postgresql+psycopg://db/chartsnap"}))
    assert len(problems) == 1 and "CHARTSNAP_DATABASE_URL" in problems[0] and "not read by render-svc" in problems[0]


def test_a_missing_required_variable_is_named(tmp_path):
    def drop_password(spec: dict[str, Any]) -> None:
        spec["containers"][0]["env"] = [e for e in env_list(spec) if e["name"] != "CHARTSNAP_NATS_PASSWORD"]
    problems = render_problems(tmp_path, drop_password)
    assert "shown: render-svc/render-svc: CHARTSNAP_NATS_PASSWORD or CHARTSNAP_NATS_PASSWORD_FILE must be set " \
           "for render-svc (its default is the developer machine's)" in problems
    # The settings themselves refuse a user without a password, too.
    assert any("refuses its settings" in p and "CHARTSNAP_NATS_USER and its password" in p for p in problems)


def test_a_loopback_listen_address_off_host_network_is_refused(tmp_path):
    def loopback(spec: dict[str, Any]) -> None:
        env_list(spec)[2]["value"] = "127.0.0.1:9102"
    [problem] = render_problems(tmp_path, loopback)
    assert "CHARTSNAP_RENDER_METRICS_ADDR='127.0.0.1:9102' listens on the loopback" in problem
    assert render_problems(tmp_path, lambda spec: (loopback(spec), spec.update(hostNetwork=True))) == []


def test_a_pod_address_used_before_it_is_defined_is_left_unexpanded(tmp_path):
    def late_pod_ip(spec: dict[str, Any]) -> None:
        env = env_list(spec)
        env.append(env.pop(0))    # POD_IP after the addresses that use it
    problems = render_problems(tmp_path, late_pod_ip)
    assert any("CHARTSNAP_RENDER_HEALTH_ADDR='$(POD_IP):50052': $(POD_IP) is not expanded" in p for p in problems)


def test_a_bad_value_is_refused_as_the_service_would(tmp_path):
    problems = render_problems(tmp_path, lambda spec: env_list(spec).append(
        {"name": "CHARTSNAP_RENDER_TIMEOUT", "value": "ten"}))
    assert problems == ["shown: render-svc/render-svc: render-svc refuses its settings: invalid configuration:\n"
                        "  CHARTSNAP_RENDER_TIMEOUT='ten' is not a number"]


def test_a_missing_configmap_key_is_named(tmp_path):
    problems = render_problems(tmp_path, lambda spec: env_list(spec).append(
        {"name": "CHARTSNAP_S3_SECURE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "CHARTSNAP_S3_TLS"}}}))
    assert problems == ["shown: render-svc/render-svc: CHARTSNAP_S3_SECURE: ConfigMap 'settings' has no key "
                        "'CHARTSNAP_S3_TLS'"]


def test_a_termination_grace_shorter_than_the_drain_is_refused(tmp_path):
    # The render service's default drain timeout: 2 renders of 10 s and the close (25 s).
    problems = render_problems(tmp_path, lambda spec: spec.update(terminationGracePeriodSeconds=25))
    assert problems == ["shown: render-svc: terminationGracePeriodSeconds 25 does not outlast its preStop (0 s), "
                        "its drain timeout (25 s, RENDER_DRAIN_TIMEOUT) and 5 s to exit"]
    # A longer drain set in the manifest needs a longer grace; a preStop sleep adds its own.
    longer = render_problems(tmp_path, lambda spec: env_list(spec).append(
        {"name": "CHARTSNAP_RENDER_DRAIN_TIMEOUT", "value": "90"}))
    assert len(longer) == 1 and "drain timeout (90 s" in longer[0]
    slept = render_problems(tmp_path, lambda spec: spec["containers"][0].update(
        lifecycle={"preStop": {"sleep": {"seconds": 40}}}))
    assert len(slept) == 1 and "its preStop (40 s)" in slept[0]


def test_an_envfrom_secret_missing_from_the_output_cannot_be_checked(tmp_path):
    problems = render_problems(tmp_path, lambda spec: spec["containers"][0]["envFrom"].append(
        {"secretRef": {"name": "chartsnap-extra"}}))
    assert problems == ["shown: render-svc/render-svc: envFrom Secret 'chartsnap-extra' is not in the output: its "
                        "variables cannot be checked (name each with env[].valueFrom.secretKeyRef)"]


def test_services_disagreeing_on_a_shared_setting_are_named():
    text = RENDER_DEPLOYMENT + "---" + RENDER_DEPLOYMENT.split("---", 1)[1].replace("render-svc", "notifier-svc").replace(
        "configMapKeyRef: {name: settings, key: CHARTSNAP_NATS_URL}", "configMapKeyRef: {name: other, key: URL}")
    text += "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {URL: 'nats://elsewhere:4222'}\n"
    problems = agreement_problems(overlay_of(text))
    assert problems == ["shown: CHARTSNAP_NATS_URL differs: {'render-svc/render-svc': 'nats://nats:4222', "
                        "'notifier-svc/notifier-svc': 'nats://elsewhere:4222'}"]


# -- every name in the source has a reader ------------------------------------------

def names_in_source() -> dict[str, set[str]]:
    """Every CHARTSNAP_* name the services' and tools' source spells, and
    every name an EnvReader method is asked for there, with where."""
    found: dict[str, set[str]] = {}
    for directory in SOURCE_DIRS:
        for path in sorted((REPO / directory).rglob("*.py")):
            text = path.read_text()
            names = set(NAME_IN_SOURCE.findall(text)) | {PREFIX + n for n in ASKED_IN_SOURCE.findall(text)}
            for name in names:
                found.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_chartsnap_variable_in_the_source_is_asked_by_a_programs_settings():
    read_by_some = frozenset().union(*(program.variables({}) for program in PROGRAMS))
    unknown = {name: sorted(where) for name, where in names_in_source().items()
               if name not in read_by_some and name not in NOT_READ_BY_SETTINGS}
    assert unknown == {}, "read outside an EnvReader (make it one, or list it in NOT_READ_BY_SETTINGS with why)"
    assert set(NOT_READ_BY_SETTINGS) <= set(names_in_source()), "a NOT_READ_BY_SETTINGS name no longer in the source"


def test_the_services_read_what_they_are_known_to():
    """A few names per service, so a recorder that records nothing fails here."""
    assert {"CHARTSNAP_LOG_LEVEL", "CHARTSNAP_NATS_PASSWORD_FILE", "CHARTSNAP_RENDER_BROWSERS",
            "CHARTSNAP_RENDER_DRAIN_TIMEOUT"} <= SERVICES["render-svc"].variables({})
    assert "CHARTSNAP_DATABASE_URL" in SERVICES["snapshot-svc"].variables({})
    assert "CHARTSNAP_DATABASE_URL" not in SERVICES["gateway"].variables({})
    assert "CHARTSNAP_LOG_LEVEL" not in ADMIN.variables({})
    assert {"CHARTSNAP_URL", "CHARTSNAP_TOKEN", "CHARTSNAP_JOB_DEADLINE"} <= CLI.variables({})
