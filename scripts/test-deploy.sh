#!/usr/bin/env bash
# `make test-deploy`: chartsnap on real containers on this machine.
#
#   1. the images (scripts/build-images.sh: podman, a local Debian base, cached layers);
#   2. `kustomize build deploy/kubernetes/overlays/podman-test` (dev on the host
#      network, every address on 127.0.0.1), translated for podman 4.3.1 by
#      tests/deploy_live/kube_play.py (each step's reason is in its docstring);
#   3. `podman kube play`, then every pod's readiness by the manifests' own probes,
#      each within its start budget (tests/deploy_live/readiness.py);
#   4. the README's curl walk: an account (`chartsnap user add` in the snapshot-svc
#      container), a space, a chart, a measurement, a snapshot through the gateway,
#      its job to `complete`, its PNG fetched from the S3 container and decoded
#      (tests/deploy_live/snapshot_walk.py);
#   5. the integration tier once with `--infra=containers`: testcontainers against
#      podman's Docker-compatible API, the dev-nats/dev-s3/dev-postgres images;
#   6. everything torn down (pods, volumes, podman secrets), on failure too.
#
# Measured on 2 cores (noisy, 2026-12-02): the first run, from an empty podman
# storage and image cache, 16 min (images 10 min, of which the S3 store's Go
# build 5; pods to a stored PNG 25 s; the tier 5.5 min); a second run 5 min 43 s
# (images 39 s, pods to a stored PNG 15 s, the tier 4 min 50 s).
#
# Environment:
#   CHARTSNAP_CACHE_DIR        tools cache (kustomize, from scripts/install-tools.sh)
#   CHARTSNAP_DEPLOY_SKIP_IMAGES=1 use the images already built (iterating on the manifests)
#   CHARTSNAP_DEPLOY_SKIP_TIER=1   no integration tier (step 5)
#   CHARTSNAP_DEPLOY_KEEP=1    leave the pods running at the end (debugging; on success only)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CHARTSNAP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chartsnap}"
PY="$ROOT/.venv/bin/python"
OVERLAY="$ROOT/deploy/kubernetes/overlays/podman-test"
POD_IP=127.0.0.1               # hostNetwork: the pods' address is the host's loopback
GATEWAY_URL="http://$POD_IP:48080"   # overlays/podman-test (its port table)
ADMIN_CONTAINER=snapshot-svc-pod-0-snapshot-svc   # <deployment>-pod-0-<container>, as kube play names it
TIER_TIMEOUT_S=3600            # the tier takes 5-10 min on 2 cores with containers; a hung run ends here
export CONTAINERS_CONF="$ROOT/deploy/podman/containers.conf"
cd "$ROOT"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/chartsnap-deploy.XXXXXX")"
started_all=$(date +%s)
phase_started=$started_all
phase() {   # phase NAME: close the previous phase (its duration), open the next
  local now; now=$(date +%s)
  [ -z "${PHASE:-}" ] || echo "==> $PHASE: done in $(( now - phase_started )) s"
  PHASE="$1"; phase_started=$now
  echo "==> $PHASE"
}

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
# shellcheck source=scripts/podman-tools.sh
source "$ROOT/scripts/podman-tools.sh"
install_podman_tools
KUSTOMIZE="$CACHE/bin/kustomize"
[ -x "$KUSTOMIZE" ] || KUSTOMIZE="$(command -v kustomize || true)"
[ -n "$KUSTOMIZE" ] || { echo "!!! kustomize not found in $CACHE/bin: run scripts/install-tools.sh (make tools)"; exit 1; }

# --- teardown: what a play made, by the names the translation wrote ------------
tear_down() {
  [ -s "$WORK/play.yaml" ] || return 0
  podman kube down "$WORK/play.yaml" >/dev/null 2>&1 || true
  while read -r pod; do podman pod rm -f --ignore "$pod" >/dev/null 2>&1 || true; done <"$WORK/pods"
  # kube down leaves the claims' volumes and the ConfigMap copies podman made.
  while read -r volume; do podman volume rm -f "$volume" >/dev/null 2>&1 || true; done <"$WORK/volumes"
  for file in "$WORK"/secrets/*.json; do
    [ -e "$file" ] && podman secret rm "$(basename "$file" .json)" >/dev/null 2>&1 || true
  done
}

print_logs() {
  echo "!!! pods and containers:"
  podman ps -a --pod --format '    {{.Names}}  {{.Status}}  {{.PodName}}' 2>/dev/null || true
  [ -s "$WORK/pods" ] || return 0
  while read -r pod; do
    for ctr in $(podman ps -a --filter "pod=$pod" --format '{{.Names}}' 2>/dev/null); do
      case "$ctr" in *-infra) continue ;; esac
      echo "!!! logs of $ctr (last 60 lines):"
      podman logs --tail 60 "$ctr" 2>&1 | sed 's/^/    /' || true
    done
  done <"$WORK/pods"
}

on_exit() {
  local status=$?
  if [ $status -ne 0 ]; then
    echo "!!! test-deploy failed in phase: ${PHASE:-set-up} (exit $status)"
    print_logs
  fi
  if [ $status -eq 0 ] && [ "${CHARTSNAP_DEPLOY_KEEP:-}" = 1 ]; then
    echo "==> keeping the pods (CHARTSNAP_DEPLOY_KEEP=1); tear down with: podman kube down $WORK/play.yaml"
  else
    echo "==> tearing down (pods, volumes, podman secrets)"
    tear_down
    rm -rf "$WORK"
  fi
  echo "==> test-deploy: $([ $status -eq 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - started_all )) s"
  exit $status
}
trap on_exit EXIT

# --- 1. images ------------------------------------------------------------------
if [ "${CHARTSNAP_DEPLOY_SKIP_IMAGES:-}" = 1 ]; then
  echo "==> images: not built (CHARTSNAP_DEPLOY_SKIP_IMAGES=1), using:"
  scripts/build-images.sh --list | while read -r name; do
    podman image exists "localhost/chartsnap/$name:dev" || { echo "!!! localhost/chartsnap/$name:dev is not built"; exit 1; }
    echo "    localhost/chartsnap/$name:dev"
  done
else
  phase "images (scripts/build-images.sh; first run builds for minutes, later runs reuse podman's layers)"
  scripts/build-images.sh
fi

# --- 2. manifests ----------------------------------------------------------------
phase "kustomize build overlays/podman-test, translated for podman kube play"
"$KUSTOMIZE" build "$OVERLAY" >"$WORK/built.yaml"
"$PY" -m tests.deploy_live.kube_play --pod-ip "$POD_IP" --out-dir "$WORK" <"$WORK/built.yaml"
echo "    pods: $(tr '\n' ' ' <"$WORK/pods")"

# A previous run that was killed before its teardown: the same names, gone first.
tear_down
busy=()
while read -r port; do
  if ss -Hltn "sport = :$port" | grep -q .; then busy+=("$port"); fi
done <"$WORK/ports"
if [ ${#busy[@]} -gt 0 ]; then
  echo "!!! ports of overlays/podman-test already taken on this machine: ${busy[*]}"
  ss -Hltnp | grep -E ":($(IFS='|'; echo "${busy[*]}"))\b" | sed 's/^/    /' || true
  exit 1
fi

# --- 3. play and readiness -------------------------------------------------------
for file in "$WORK"/secrets/*.json; do
  podman secret create "$(basename "$file" .json)" "$file" >/dev/null
done
# In stages (kube_play.py, step 6): podman runs a pod's init containers to the
# end while it plays, and does not retry one whose dependency is not up yet.
for stage in "$WORK"/stage-*.yaml; do
  pods="${stage%.yaml}.pods"
  phase "podman kube play $(basename "$stage"): $(tr '\n' ' ' <"$pods")"
  podman kube play "$stage" >"${stage%.yaml}.out"
  while read -r pod; do podman pod ps --filter "name=^$pod\$" --format '    {{.Name}}  {{.Status}}'; done <"$pods"
  phase "readiness of $(tr '\n' ' ' <"$pods")(the manifests' probes, within their start budgets)"
  "$PY" -m tests.deploy_live.readiness --pod-ip "$POD_IP" --pods "$pods" <"$WORK/built.yaml"
done

# --- 4. a snapshot end to end ----------------------------------------------------
phase "a snapshot through the gateway's container, its PNG from the S3 container"
"$PY" -m tests.deploy_live.snapshot_walk --gateway "$GATEWAY_URL" --admin-container "$ADMIN_CONTAINER"

# The pods are not needed by the tier below (it starts its own containers): gone
# now, so the two never compete for the 2 cores.
if [ "${CHARTSNAP_DEPLOY_KEEP:-}" != 1 ]; then
  phase "tearing down the played pods"
  tear_down
fi

# --- 5. the integration tier on testcontainers -----------------------------------
if [ "${CHARTSNAP_DEPLOY_SKIP_TIER:-}" = 1 ]; then
  echo "==> integration tier with --infra=containers: skipped (CHARTSNAP_DEPLOY_SKIP_TIER=1)"
else
  phase "integration tier with --infra=containers (podman's Docker API, dev-nats/dev-s3/dev-postgres)"
  timeout "$TIER_TIMEOUT_S" "$PY" -m pytest -q tests/integration --infra=containers -p no:cacheprovider
fi
phase "finished"
