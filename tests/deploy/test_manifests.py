"""The Kubernetes manifests, checked without a cluster: every overlay builds;
every object of the output is valid, strictly, for the pinned Kubernetes
version (kubernetes-validate, offline) or its operator's pinned CRD schema
(deploy/kubernetes/schemas/); kube-score finds nothing beyond the skips that
deploy/kubernetes/kube-score.yaml justifies; and the deployment's own rules
(hardening, probes, addresses, scaling names, secrets) hold. Each checker is
also shown a defect, so a check that passes is one that can fail. What each
container's environment must be, and its termination grace against its drain
timeout, is test_manifest_env.py's."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from chartsnap import nats_authorization, queue
from tests.deploy.conftest import KUBERNETES_DIR, KUBERNETES_VERSION, REPO, BuiltOverlay, overlay_names, pinned_version

SCHEMAS_DIR = KUBERNETES_DIR / "schemas"
KUBE_SCORE_CONFIG = KUBERNETES_DIR / "kube-score.yaml"
# The custom resources the overlays use, and their vendored schemas (schemas/README.md).
CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh_scaledobject_v1alpha1.json",
    ("postgresql.cnpg.io/v1", "Cluster"): "postgresql.cnpg.io_cluster_v1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com_servicemonitor_v1.json",
}
SERVICES = ("gateway", "snapshot-svc", "render-svc", "notifier-svc")
SERVICE_IMAGES = {name: f"chartsnap/{name}" for name in SERVICES}
APP = "app.kubernetes.io/name"
UID = 10001  # the images' user (deploy/Dockerfile)
KUBE_SCORE_TIMEOUT_S = 60.0
VERSION_TIMEOUT_S = 30.0


# -- helpers --------------------------------------------------------------------

def workloads(built: BuiltOverlay) -> list[dict[str, Any]]:
    return built.of_kind("Deployment") + built.of_kind("StatefulSet")


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return spec.get("initContainers", []) + spec["containers"]


def main_container(workload: dict[str, Any]) -> dict[str, Any]:
    return pod_spec(workload)["containers"][0]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def port_named(container: dict[str, Any], name: str) -> int:
    return next(p["containerPort"] for p in container["ports"] if p["name"] == name)


def strict(schema: Any) -> Any:
    """An OpenAPI schema in which an object with declared properties accepts
    no others (as `kubectl apply --validate=strict` and the API server's strict
    field validation do), unless it says it keeps unknown fields."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def crd_validator(api_version: str, kind: str) -> jsonschema.Validator:
    schema = json.loads((SCHEMAS_DIR / CRD_SCHEMAS[(api_version, kind)]).read_text())
    # OpenAPI 3.0's schema dialect is JSON Schema draft 4's (boolean exclusiveMinimum).
    return jsonschema.Draft4Validator(strict(schema))


def schema_problems(obj: dict[str, Any]) -> list[str]:
    """Why `obj` is invalid (empty: it is valid), against Kubernetes' own schema
    or, for a custom resource, its operator's."""
    key = (obj["apiVersion"], obj["kind"])
    if key in CRD_SCHEMAS:
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in crd_validator(*key).iter_errors(obj)]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'/'.join(map(str, exc.path))}: {exc.message}"]
    return []


def kube_score_ignores(overlay: str) -> list[str]:
    config = yaml.safe_load(KUBE_SCORE_CONFIG.read_text())["ignore"]
    entries = config["all"] + (config.get(overlay) or [])
    for entry in entries:
        assert entry.get("why", "").strip(), f"kube-score.yaml: skipping {entry['test']} must say why"
    return [entry["test"] for entry in entries]


def run_kube_score(binary: Path, overlay: str, manifests: str) -> tuple[int, list[dict[str, Any]]]:
    """kube-score's exit code and its JSON report (one entry per object)."""
    major_minor = "v" + ".".join(KUBERNETES_VERSION.split(".")[:2])
    command = [str(binary), "score", "--kubernetes-version", major_minor, "--exit-one-on-warning",
               "--output-format", "json", "-"]
    for test in kube_score_ignores(overlay):
        command[2:2] = ["--ignore-test", test]
    done = subprocess.run(command, input=manifests, capture_output=True, text=True, timeout=KUBE_SCORE_TIMEOUT_S)
    assert done.stdout.strip(), f"kube-score printed nothing: {done.stderr}"
    return done.returncode, json.loads(done.stdout)


def kube_score_findings(report: list[dict[str, Any]]) -> list[str]:
    """Every check that is not OK or skipped: `kind/name: check: comments`."""
    found = []
    for scored in report:
        for check in scored["checks"]:
            if check["skipped"] or check["grade"] >= 10:  # 10: ALL OK
                continue
            comments = "; ".join(f"{c.get('path', '')} {c['summary']}".strip() for c in check.get("comments") or [])
            found.append(f"{scored['type_meta']['kind']}/{scored['object_meta']['name']}: "
                         f"{check['check']['id']}: {comments}")
    return found


# -- build, schemas, lint -------------------------------------------------------

def test_there_are_the_overlays_the_deployment_promises() -> None:
    assert {"dev", "prod"} <= set(overlay_names())


@pytest.mark.parametrize("overlay", overlay_names())
def test_every_object_is_valid_for_kubernetes_or_its_operator(built_overlays: dict[str, BuiltOverlay],
                                                              overlay: str, no_network: None) -> None:
    built = built_overlays[overlay]
    problems = {f"{o['kind']}/{o['metadata']['name']}": schema_problems(o) for o in built.objects}
    assert {k: v for k, v in problems.items() if v} == {}
    # Every object was checked against some schema: none skipped for want of one.
    assert len(problems) == len(built.objects) >= 15


def test_the_prod_overlay_uses_each_pinned_custom_resource(built_overlays: dict[str, BuiltOverlay]) -> None:
    used = {(o["apiVersion"], o["kind"]) for o in built_overlays["prod"].objects}
    assert set(CRD_SCHEMAS) <= used
    assert {path.name for path in SCHEMAS_DIR.glob("*.json")} == set(CRD_SCHEMAS.values())


def test_schema_validation_catches_defects(built_overlays: dict[str, BuiltOverlay], no_network: None) -> None:
    prod = built_overlays["prod"]
    render = copy.deepcopy(prod.one("Deployment", "render-svc"))
    main_container(render)["resources"]["limit"] = {"cpu": "2"}       # a misspelt field
    assert schema_problems(render)
    gateway = copy.deepcopy(prod.one("Deployment", "snapshot-svc"))
    gateway["spec"]["replicas"] = "two"                                 # a wrong type
    assert schema_problems(gateway)
    scaled = copy.deepcopy(prod.one("ScaledObject", "render-svc"))
    scaled["spec"]["minReplicas"] = 2                                   # HPA's word, not KEDA's
    assert schema_problems(scaled)
    cluster = copy.deepcopy(prod.one("Cluster", "chartsnap-db"))
    cluster["spec"]["instances"] = "3"
    assert schema_problems(cluster)
    monitor = copy.deepcopy(prod.one("ServiceMonitor", "gateway"))
    monitor["spec"]["endpoints"][0]["scrapeInterval"] = "30s"           # it is `interval`
    assert schema_problems(monitor)


@pytest.mark.parametrize("overlay", overlay_names())
def test_kube_score_finds_nothing_unexplained(built_overlays: dict[str, BuiltOverlay], kube_score: Path,
                                              overlay: str) -> None:
    built = built_overlays[overlay]
    code, report = run_kube_score(kube_score, overlay, built.text)
    assert kube_score_findings(report) == [] and code == 0
    # It looked at every workload (kube-score reports only the kinds it knows).
    scored = {(r["type_meta"]["kind"], r["object_meta"]["name"]) for r in report}
    assert {(w["kind"], w["metadata"]["name"]) for w in workloads(built)} <= scored


def test_kube_score_catches_a_missing_limit(built_overlays: dict[str, BuiltOverlay], kube_score: Path) -> None:
    prod = built_overlays["prod"]
    objects = copy.deepcopy(prod.objects)
    render = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "render-svc")
    del main_container(render)["resources"]["limits"]
    code, report = run_kube_score(kube_score, "prod", yaml.safe_dump_all(objects))
    assert code != 0
    assert any("render-svc: container-resources" in finding for finding in kube_score_findings(report))


# -- the deployment's own rules -------------------------------------------------

@pytest.mark.parametrize("overlay", overlay_names())
def test_every_pod_is_hardened_and_bounded(built_overlays: dict[str, BuiltOverlay], overlay: str) -> None:
    built = built_overlays[overlay]
    assert len(workloads(built)) >= 5
    for workload in workloads(built):
        name, spec = workload["metadata"]["name"], pod_spec(workload)
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["serviceAccountName"] == name
        pod_security = spec.get("securityContext", {})
        if not spec.get("hostNetwork"):  # podman-test plays as the invoking user
            assert pod_security["runAsNonRoot"] is True, name
            assert (pod_security["runAsUser"], pod_security["runAsGroup"]) == (UID, UID), name
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}, name
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in containers(workload):
            where = f"{name}/{container['name']}"
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[bound]), f"{where}: {bound}"
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
        for mount in main_container(workload).get("volumeMounts", []):
            volume = volumes.get(mount["name"])
            if volume is not None and "emptyDir" in volume:
                assert volume["emptyDir"].get("sizeLimit"), f"{name}: emptyDir {mount['name']} has no sizeLimit"


@pytest.mark.parametrize("overlay", overlay_names())
def test_every_service_writes_only_to_its_volumes(built_overlays: dict[str, BuiltOverlay], overlay: str) -> None:
    built = built_overlays[overlay]
    for service in SERVICES:
        workload = built.one("Deployment", service)
        volumes = {v["name"]: v for v in pod_spec(workload)["volumes"]}
        for container in containers(workload):
            mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
            # The images write only under /tmp (HOME too: deploy/Dockerfile).
            assert "emptyDir" in mounts["/tmp"], f"{service}/{container['name']}"
    render = built.one("Deployment", "render-svc")
    shm = {m["mountPath"]: m["name"] for m in main_container(render)["volumeMounts"]}["/dev/shm"]
    shm_volume = next(v for v in pod_spec(render)["volumes"] if v["name"] == shm)
    assert shm_volume["emptyDir"]["medium"] == "Memory" and shm_volume["emptyDir"]["sizeLimit"]


@pytest.mark.parametrize("overlay", overlay_names())
def test_the_render_service_starts_a_browser_per_core_of_its_limit(built_overlays: dict[str, BuiltOverlay],
                                                                    overlay: str) -> None:
    render = built_overlays[overlay].one("Deployment", "render-svc")
    browsers = env_of(main_container(render))["CHARTSNAP_RENDER_BROWSERS"]["valueFrom"]["resourceFieldRef"]
    assert browsers == {"containerName": "render-svc", "resource": "limits.cpu", "divisor": "1"}


HEALTH_PORTS = {"snapshot-svc": "CHARTSNAP_SNAPSHOT_ADDR", "render-svc": "CHARTSNAP_RENDER_HEALTH_ADDR",
                "notifier-svc": "CHARTSNAP_NOTIFIER_HEALTH_ADDR"}
METRICS_ADDRS = {"gateway": "CHARTSNAP_GATEWAY_METRICS_ADDR", "snapshot-svc": "CHARTSNAP_SNAPSHOT_METRICS_ADDR",
                 "render-svc": "CHARTSNAP_RENDER_METRICS_ADDR", "notifier-svc": "CHARTSNAP_NOTIFIER_METRICS_ADDR"}


def test_probes_ask_each_service_where_it_answers(built_overlays: dict[str, BuiltOverlay]) -> None:
    for built in (built_overlays["dev"], built_overlays["prod"]):
        for service in SERVICES:
            container = main_container(built.one("Deployment", service))
            probes = [container[p] for p in ("startupProbe", "readinessProbe", "livenessProbe")]
            if service == "gateway":
                assert all(p["httpGet"] == {"path": "/healthz", "port": "http"} for p in probes)
                assert port_named(container, "http") == 8080
                continue
            port = int(env_of(container)[HEALTH_PORTS[service]]["value"].rpartition(":")[2])
            assert all(p["grpc"] == {"port": port} for p in probes), service
            # The startup probe allows the wait for NATS (and S3); liveness then
            # restarts only a service that stopped answering for a minute.
            assert probes[0]["periodSeconds"] * probes[0]["failureThreshold"] >= 300, service
            assert probes[2]["periodSeconds"] * probes[2]["failureThreshold"] >= 60, service


def test_metrics_and_health_listen_on_the_pod_address(built_overlays: dict[str, BuiltOverlay]) -> None:
    for built in (built_overlays["dev"], built_overlays["prod"]):
        for service in SERVICES:
            container = main_container(built.one("Deployment", service))
            env = env_of(container)
            assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
            for variable in (METRICS_ADDRS[service], HEALTH_PORTS.get(service)):
                if variable is None:
                    continue
                host, _, port = env[variable]["value"].rpartition(":")
                assert host == "$(POD_IP)", variable
                assert int(port) in {p["containerPort"] for p in container["ports"]}, variable
            metrics_port = int(env[METRICS_ADDRS[service]]["value"].rpartition(":")[2])
            assert port_named(container, "metrics") == metrics_port


@pytest.mark.parametrize("overlay", overlay_names())
def test_migrations_run_before_the_snapshot_service(built_overlays: dict[str, BuiltOverlay], overlay: str) -> None:
    snapshot = built_overlays[overlay].one("Deployment", "snapshot-svc")
    (migrate,) = pod_spec(snapshot)["initContainers"]
    assert migrate["args"] == ["chartsnap", "db", "upgrade"] and "command" not in migrate
    assert migrate["image"] == main_container(snapshot)["image"]
    assert env_of(migrate)["CHARTSNAP_DATABASE_URL"] == env_of(main_container(snapshot))["CHARTSNAP_DATABASE_URL"]


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_the_gateway_balances_over_every_snapshot_pod(built_overlays: dict[str, BuiltOverlay], overlay: str) -> None:
    built = built_overlays[overlay]
    gateway = env_of(main_container(built.one("Deployment", "gateway")))
    assert gateway["CHARTSNAP_SNAPSHOT_ADDR"]["value"] == "dns:///snapshot-svc-headless:50051"
    headless = built.one("Service", "snapshot-svc-headless")
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"] == {APP: "snapshot-svc"}
    gateway_service = built.one("Service", "gateway")
    assert gateway_service["spec"]["type"] == "ClusterIP" and gateway_service["spec"]["ports"][0]["port"] == 8080


def test_images_are_the_services_and_pinned(built_overlays: dict[str, BuiltOverlay]) -> None:
    for built in (built_overlays["dev"], built_overlays["prod"]):
        for service, image in SERVICE_IMAGES.items():
            for container in containers(built.one("Deployment", service)):
                name, _, tag = container["image"].rpartition(":")
                assert name == image, container["image"]
                assert tag == ("dev" if built.name == "dev" else tag) and tag not in ("", "latest")
        for workload in workloads(built):
            for container in containers(workload):
                assert not container["image"].endswith(":latest") and ":" in container["image"], container["image"]
    # prod deploys the release: the project's version (pyproject.toml), the one home of it.
    import tomllib
    release = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    for service, image in SERVICE_IMAGES.items():
        assert main_container(built_overlays["prod"].one("Deployment", service))["image"] == f"{image}:{release}"
    assert main_container(built_overlays["prod"].one("StatefulSet", "nats"))["image"].startswith("nats:")
    assert main_container(built_overlays["prod"].one("StatefulSet", "nats"))["image"].endswith("-alpine")


# -- secrets --------------------------------------------------------------------

def secret_references(built: BuiltOverlay) -> set[str]:
    found = set()
    for workload in workloads(built):
        for container in containers(workload):
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    found.add(ref["name"])
            found |= {e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e}
    return found


def test_prod_commits_no_secret_and_dev_only_obvious_ones(built_overlays: dict[str, BuiltOverlay]) -> None:
    assert built_overlays["prod"].of_kind("Secret") == []
    dev = built_overlays["dev"]
    import base64
    for secret in dev.of_kind("Secret"):
        for key, value in secret["data"].items():
            assert "dev-only-" in base64.b64decode(value).decode(), f"{secret['metadata']['name']}/{key}"
    # Every Secret a dev pod needs is generated; its NATS passwords are one per user.
    assert secret_references(dev) <= {s["metadata"]["name"] for s in dev.of_kind("Secret")}
    nats_secret = next(s for s in dev.of_kind("Secret") if s["metadata"]["name"].startswith("chartsnap-nats"))
    assert set(nats_secret["data"]) == {nats_authorization.password_variable(u) for u in nats_authorization.USERS}


def test_each_service_logs_in_to_nats_as_itself(built_overlays: dict[str, BuiltOverlay]) -> None:
    users = {"snapshot-svc": nats_authorization.SNAPSHOT_USER, "render-svc": nats_authorization.RENDER_USER,
             "notifier-svc": nats_authorization.NOTIFIER_USER}
    for built in (built_overlays["dev"], built_overlays["prod"]):
        for service, user in users.items():
            env = env_of(main_container(built.one("Deployment", service)))
            assert env["CHARTSNAP_NATS_USER"]["value"] == user
            assert env["CHARTSNAP_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == \
                nats_authorization.password_variable(user)
        assert "CHARTSNAP_NATS_USER" not in env_of(main_container(built.one("Deployment", "gateway")))


# -- prod: scale, availability, isolation, monitoring ---------------------------

def settings_of(built: BuiltOverlay) -> dict[str, str]:
    (config,) = [c for c in built.of_kind("ConfigMap") if c["metadata"]["name"].startswith("chartsnap-settings")]
    return config["data"]


def test_prod_runs_a_three_node_jetstream_cluster(built_overlays: dict[str, BuiltOverlay]) -> None:
    prod = built_overlays["prod"]
    nats = prod.one("StatefulSet", "nats")
    assert nats["spec"]["replicas"] == 3 and nats["spec"]["podManagementPolicy"] == "Parallel"
    assert settings_of(prod)["CHARTSNAP_NATS_REPLICAS"] == "3"
    servers = settings_of(prod)["CHARTSNAP_NATS_URL"].split(",")
    assert servers == [f"nats://nats-{i}.{nats['spec']['serviceName']}:4222" for i in range(3)]
    config = next(c for c in prod.of_kind("ConfigMap") if c["metadata"]["name"].startswith("nats-config"))
    assert all(f"nats-{i}.nats-headless:6222" in config["data"]["nats.conf"] for i in range(3))
    assert config["data"]["authorization.conf"] == nats_authorization.authorization_block(
        nats_authorization.password_from_environment)


def test_prod_scales_render_and_notifier_on_their_consumers_lag(built_overlays: dict[str, BuiltOverlay]) -> None:
    prod = built_overlays["prod"]
    expected = {"render-svc": (queue.RENDER_STREAM, queue.RENDER_WORKERS),
                "notifier-svc": (queue.DELIVERY_STREAM, queue.NOTIFIER_WORKERS)}
    namespace = prod.one("Deployment", "gateway")["metadata"]["namespace"]
    for service, (stream, consumer) in expected.items():
        scaled = prod.one("ScaledObject", service)
        assert scaled["spec"]["scaleTargetRef"]["name"] == service
        assert scaled["spec"]["minReplicaCount"] >= 2
        (trigger,) = scaled["spec"]["triggers"]
        assert trigger["type"] == "nats-jetstream"
        assert (trigger["metadata"]["stream"], trigger["metadata"]["consumer"]) == (stream, consumer)
        # KEDA's operator runs elsewhere: the NATS nodes' Service by its full name, in our namespace.
        assert trigger["metadata"]["natsServerMonitoringEndpoint"] == \
            f"nats-headless.{namespace}.svc.cluster.local:8222"
        # The count is the ScaledObject's alone: no static one for `kubectl apply` to put back.
        assert "replicas" not in prod.one("Deployment", service)["spec"]
    hpa = prod.one("HorizontalPodAutoscaler", "gateway")
    assert hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["scaleTargetRef"]["name"] == "gateway"
    assert hpa["spec"]["minReplicas"] >= 2 and "replicas" not in prod.one("Deployment", "gateway")["spec"]


def test_prod_keeps_every_service_available_and_spread(built_overlays: dict[str, BuiltOverlay]) -> None:
    prod = built_overlays["prod"]
    budgets = {b["spec"]["selector"]["matchLabels"][APP] for b in prod.of_kind("PodDisruptionBudget")}
    assert budgets == {*SERVICES, "nats"}
    for service in SERVICES:
        spread = pod_spec(prod.one("Deployment", service))["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
        assert all(c["labelSelector"] == {"matchLabels": {APP: service}} for c in spread)
    assert prod.one("Deployment", "snapshot-svc")["spec"]["replicas"] >= 2


def test_prod_monitors_every_service(built_overlays: dict[str, BuiltOverlay]) -> None:
    prod = built_overlays["prod"]
    for service in SERVICES:
        monitor = prod.one("ServiceMonitor", service)
        selector = monitor["spec"]["selector"]["matchLabels"]
        (target,) = [s for s in prod.of_kind("Service")
                     if selector.items() <= s["metadata"].get("labels", {}).items()]
        assert target["spec"]["selector"] == {APP: service}
        assert [p["name"] for p in target["spec"]["ports"]] == ["metrics"]
        assert monitor["spec"]["endpoints"][0]["port"] == "metrics"


def test_prod_network_policies_deny_by_default_and_open_only_the_gateway(
        built_overlays: dict[str, BuiltOverlay]) -> None:
    prod = built_overlays["prod"]
    policies = {p["metadata"]["name"]: p["spec"] for p in prod.of_kind("NetworkPolicy")}
    deny = policies["default-deny"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    open_to_all = [name for name, spec in policies.items()
                   for rule in spec.get("ingress", []) if "from" not in rule]
    assert open_to_all == ["gateway"]
    # Each service has its own policy, and every egress except DNS names ports.
    for service in SERVICES:
        assert policies[service]["podSelector"] == {"matchLabels": {APP: service}}
    for name, spec in policies.items():
        for rule in spec.get("egress", []):
            assert rule.get("ports"), f"{name}: an egress rule without ports"
    notifier_ports = {p["port"] for rule in policies["notifier-svc"]["egress"] for p in rule["ports"]}
    assert {443, 587, 465, 25, 4222} <= notifier_ports


def test_prod_postgresql_is_a_pinned_cloudnativepg_cluster(built_overlays: dict[str, BuiltOverlay]) -> None:
    prod = built_overlays["prod"]
    cluster = prod.one("Cluster", "chartsnap-db")
    image = cluster["spec"]["imageName"]
    assert image.startswith("ghcr.io/cloudnative-pg/postgresql:15.") and not image.endswith(":15")
    assert cluster["spec"]["instances"] == 3
    assert cluster["spec"]["bootstrap"]["initdb"]["owner"] == "chartsnap"
    # The S3 store is external: its endpoint is set, over TLS; nothing in the namespace serves it.
    settings = settings_of(prod)
    assert settings["CHARTSNAP_S3_SECURE"] == "true" and settings["CHARTSNAP_S3_ENDPOINT"].endswith(":443")
    assert not [w for w in workloads(prod) if w["metadata"]["name"] in ("s3", "postgres")]


def test_the_kustomize_pin_is_the_one_that_ran(kustomize: Path) -> None:
    done = subprocess.run([str(kustomize), "version"], capture_output=True, text=True, timeout=VERSION_TIMEOUT_S)
    assert pinned_version("KUSTOMIZE_VERSION") in done.stdout



def test_prod_lives_in_one_namespace_that_enforces_restricted_pods(built_overlays: dict[str, BuiltOverlay]) -> None:
    prod = built_overlays["prod"]
    (namespace,) = prod.of_kind("Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {o["metadata"].get("namespace") for o in prod.objects if o["kind"] != "Namespace"} == \
        {namespace["metadata"]["name"]}


@pytest.mark.parametrize("overlay", overlay_names())
def test_every_referenced_setting_exists(built_overlays: dict[str, BuiltOverlay], overlay: str) -> None:
    """A configMapKeyRef to a missing key keeps the pod from starting
    (CreateContainerConfigError); so does a dev Secret key that is not generated."""
    built = built_overlays[overlay]
    config_maps = {c["metadata"]["name"]: set(c["data"]) for c in built.of_kind("ConfigMap")}
    secrets = {s["metadata"]["name"]: set(s["data"]) for s in built.of_kind("Secret")}
    missing = []
    for workload in workloads(built):
        for container in containers(workload):
            for entry in container.get("env", []):
                source = entry.get("valueFrom", {})
                if "configMapKeyRef" in source:
                    ref = source["configMapKeyRef"]
                    if ref["key"] not in config_maps.get(ref["name"], set()):
                        missing.append(f"{workload['metadata']['name']}: {entry['name']} ← {ref}")
                if "secretKeyRef" in source and overlay != "prod" and not source["secretKeyRef"].get("optional"):
                    ref = source["secretKeyRef"]
                    if ref["key"] not in secrets.get(ref["name"], set()):
                        missing.append(f"{workload['metadata']['name']}: {entry['name']} ← {ref}")
    assert missing == []
