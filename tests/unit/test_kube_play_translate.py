"""tests/deploy_live/kube_play.py: kustomize output → what podman 4.3.1's
`kube play` plays (each step's reason is in that module's docstring)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import yaml

from tests.conftest import repo_root
from tests.deploy_live.kube_play import translate

POD_IP = "127.0.0.1"


def container(**extra):
    return {"name": "app", "image": "localhost/chartsnap/app:dev", **extra}


def deployment(name="app", **pod_spec):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [container()], **pod_spec}}}}


def test_only_the_kinds_kube_play_plays_are_kept_and_the_others_are_named():
    docs = [deployment(), {"kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"A": "1"}},
            {"kind": "Service", "metadata": {"name": "app"}}, {"kind": "NetworkPolicy", "metadata": {"name": "np"}},
            {"kind": "PodDisruptionBudget", "metadata": {"name": "pdb"}},
            {"kind": "ServiceAccount", "metadata": {"name": "sa"}}, None]
    out = translate(docs, POD_IP)
    assert [m["kind"] for m in out.manifests] == ["Deployment", "ConfigMap"]
    assert out.dropped == ["Service/app", "NetworkPolicy/np", "PodDisruptionBudget/pdb", "ServiceAccount/sa"]
    assert out.pod_names == ["app-pod-0"]


def test_host_network_pods_lose_their_container_ports_which_must_be_free():
    host = deployment("host", hostNetwork=True)
    host["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 48080}, {"containerPort": 49100}]
    bridged = deployment("bridged")
    bridged["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 8080}]
    out = translate([host, bridged], POD_IP)
    assert out.host_ports == [48080, 49100]
    played_host, played_bridged = (m["spec"]["template"]["spec"]["containers"][0] for m in out.manifests)
    assert "ports" not in played_host, "podman refuses port mappings on the host network"
    assert played_bridged["ports"] == [{"containerPort": 8080}]


def test_a_deployment_plays_one_replica_without_probes():
    dep = deployment()
    dep["spec"]["template"]["spec"]["containers"] = [container(
        startupProbe={"grpc": {"port": 50051}}, readinessProbe={"httpGet": {"port": 8080}},
        livenessProbe={"tcpSocket": {"port": 1}}, resources={"limits": {"cpu": "1"}})]
    dep["spec"]["template"]["spec"]["initContainers"] = [container(name="migrate", readinessProbe={})]
    [played] = translate([dep], POD_IP).manifests
    spec = played["spec"]["template"]["spec"]
    assert played["spec"]["replicas"] == 1
    assert spec["containers"] == [container(resources={"limits": {"cpu": "1"}})]
    assert spec["initContainers"] == [container(name="migrate")]
    assert spec["restartPolicy"] == "OnFailure", "podman would start a finished init container again"
    [plain] = translate([deployment()], POD_IP).manifests
    assert "restartPolicy" not in plain["spec"]["template"]["spec"]
    assert dep["spec"]["replicas"] == 3, "the input is left as it was"


def test_a_statefulset_becomes_a_deployment_with_its_claims():
    sts = deployment("nats", volumes=[{"name": "config", "configMap": {"name": "nats"}}])
    sts["kind"] = "StatefulSet"
    sts["metadata"]["labels"] = {"app": "nats"}
    sts["spec"].update(serviceName="nats-headless", podManagementPolicy="Parallel",
                       updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                       volumeClaimTemplates=[{"metadata": {"name": "data"},
                                              "spec": {"accessModes": ["ReadWriteOnce"],
                                                       "resources": {"requests": {"storage": "1Gi"}}}}])
    out = translate([sts], POD_IP)
    claim, played = out.manifests
    assert claim == {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "metadata": {"name": "data-nats", "labels": {"app": "nats"}},
                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    assert played["kind"] == "Deployment" and played["apiVersion"] == "apps/v1"
    assert set(played["spec"]) == {"replicas", "selector", "template"}
    assert played["spec"]["template"]["spec"]["volumes"] == [
        {"name": "config", "configMap": {"name": "nats"}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "data-nats"}}]
    assert out.pod_names == ["nats-pod-0"] and out.volume_names == ["data-nats", "nats"]


def test_secrets_become_podman_secret_data_and_leave_the_manifests():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "chartsnap-nats-abc123"},
              "data": {"A": base64.b64encode(b"from data").decode()}, "stringData": {"B": "from stringData"}}
    out = translate([secret], POD_IP)
    assert out.manifests == [] and out.dropped == []
    values = json.loads(out.secrets["chartsnap-nats-abc123"])
    assert {k: base64.b64decode(v).decode() for k, v in values.items()} == {"A": "from data", "B": "from stringData"}


def test_the_pod_address_is_the_given_one_and_dependent_variables_are_expanded():
    env = [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
           {"name": "ADDR", "value": "$(POD_IP):50051"},
           {"name": "LATER", "value": "$(DEFINED_AFTER) $(FROM_SECRET) $$(ESCAPED)"},
           {"name": "DEFINED_AFTER", "value": "x"},
           {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
           {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    [played] = translate([deployment(containers=[container(env=env)])], "127.0.0.9").manifests
    assert played["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "POD_IP", "value": "127.0.0.9"},
        {"name": "ADDR", "value": "127.0.0.9:50051"},
        {"name": "LATER", "value": "$(DEFINED_AFTER) $(FROM_SECRET) $(ESCAPED)"},
        {"name": "DEFINED_AFTER", "value": "x"},
        env[4], env[5]]


def test_pods_with_init_containers_play_after_the_others():
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {}}
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data-db"}, "spec": {}}
    migrating = deployment("snapshot-svc", initContainers=[container(name="migrate")])
    out = translate([migrating, config, claim, deployment("db"), deployment("gateway")], POD_IP)
    first, second = out.stages
    assert [(m["kind"], m["metadata"]["name"]) for m in first] == [
        ("ConfigMap", "settings"), ("PersistentVolumeClaim", "data-db"), ("Deployment", "db"), ("Deployment", "gateway")]
    assert [(m["kind"], m["metadata"]["name"]) for m in second] == [("ConfigMap", "settings"), ("Deployment", "snapshot-svc")]
    assert translate([deployment("db")], POD_IP).stages == [translate([deployment("db")], POD_IP).manifests]


def test_the_command_writes_the_stages_the_secret_files_and_the_names(tmp_path):
    host = deployment("gateway", hostNetwork=True)
    host["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 48080}]
    docs = [host, deployment("snapshot-svc", initContainers=[container(name="migrate")]),
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"K": "v"}},
            {"kind": "Service", "metadata": {"name": "gateway"}}]
    done = subprocess.run(
        [sys.executable, "-m", "tests.deploy_live.kube_play", "--pod-ip", POD_IP, "--out-dir", str(tmp_path)],
        input=yaml.safe_dump_all(docs), capture_output=True, text=True, cwd=repo_root(), timeout=60, check=True)
    kinds = lambda name: [d["metadata"]["name"] for d in yaml.safe_load_all((tmp_path / name).read_text())]  # noqa: E731
    assert kinds("play.yaml") == ["gateway", "snapshot-svc"]
    assert kinds("stage-1.yaml") == ["gateway"] and kinds("stage-2.yaml") == ["snapshot-svc"]
    assert (tmp_path / "stage-1.pods").read_text() == "gateway-pod-0\n"
    assert (tmp_path / "stage-2.pods").read_text() == "snapshot-svc-pod-0\n"
    assert (tmp_path / "pods").read_text() == "gateway-pod-0\nsnapshot-svc-pod-0\n"
    assert (tmp_path / "ports").read_text() == "48080\n"
    assert "dropped (nothing for them to do on one host network): Service/gateway" in done.stderr
    secret = tmp_path / "secrets" / "s.json"
    assert json.loads(secret.read_text()) == {"K": base64.b64encode(b"v").decode()}
    assert secret.stat().st_mode & 0o077 == 0
