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


def test_the_host_ports_are_those_of_host_network_pods():
    host = deployment("host", hostNetwork=True)
    host["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 48080}, {"containerPort": 49100}]
    bridged = deployment("bridged")
    bridged["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 8080}]
    assert translate([host, bridged], POD_IP).host_ports == [48080, 49100]


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


def test_the_command_writes_the_manifests_the_secret_files_and_the_names(tmp_path):
    docs = [deployment("gateway"), {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                                    "stringData": {"K": "v"}}, {"kind": "Service", "metadata": {"name": "gateway"}}]
    done = subprocess.run(
        [sys.executable, "-m", "tests.deploy_live.kube_play", "--pod-ip", POD_IP, "--secrets-dir",
         str(tmp_path / "secrets"), "--pods-file", str(tmp_path / "pods")],
        input=yaml.safe_dump_all(docs), capture_output=True, text=True, cwd=repo_root(), timeout=60, check=True)
    assert [d["kind"] for d in yaml.safe_load_all(done.stdout)] == ["Deployment"]
    assert "dropped Service/gateway" in done.stderr
    assert json.loads((tmp_path / "secrets" / "s.json").read_text()) == {"K": base64.b64encode(b"v").decode()}
    assert (tmp_path / "secrets" / "s.json").stat().st_mode & 0o077 == 0
    assert (tmp_path / "pods").read_text() == "gateway-pod-0\n"
