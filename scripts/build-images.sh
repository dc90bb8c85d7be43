#!/usr/bin/env bash
# Builds chartsnap's container images with podman (`make images` runs this).
#
#   scripts/build-images.sh                  # every image
#   scripts/build-images.sh --only render-svc dev-nats   # just these (the base is always ensured)
#   scripts/build-images.sh --list           # the image names this script builds
#
# Images (each tagged localhost/chartsnap/<name>:$CHARTSNAP_IMAGE_TAG):
#   gateway snapshot-svc render-svc notifier-svc   targets of deploy/Dockerfile
#   dev-nats dev-s3 dev-postgres                   deploy/images/{nats,s3,postgres}/Dockerfile
# See deploy/images/README.md for their ports, variables and writable paths.
#
# Environment:
#   CHARTSNAP_IMAGE_TAG   tag of every image built (default: dev)
#   CHARTSNAP_CACHE_DIR   cache outside the repository (default: ~/.cache/chartsnap);
#                         the base root filesystem tarball is kept under its images/ dir
#
# No registry is reachable on the project's machines, so the base image every
# Dockerfile names (docker.io/library/debian:bookworm-20250520-slim; Docker users
# pull the real one) is made here once with `debootstrap --variant=minbase` and
# `podman import` under exactly that name, and every build runs with
# --pull=never. podman's own storage keeps the built layers: a second run
# rebuilds only what changed, and skips an image whose sources and base are
# those of its last build. Timings (2 cores): the first run about 10 minutes
# (the Go builds of nats-server and versitygw are half of it), a run after a
# code change about a minute, a run with nothing changed a few seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CHARTSNAP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chartsnap}"
TAG="${CHARTSNAP_IMAGE_TAG:-dev}"
export CONTAINERS_CONF="$ROOT/deploy/podman/containers.conf"

BASE_IMAGE="docker.io/library/debian:bookworm-20250520-slim"
BASE_SUITE="bookworm"
BASE_MIRROR="http://deb.debian.org/debian"
# Bump BASE_RECIPE when make_base_rootfs changes: an image or tarball of an
# older recipe (or one imported by hand) is then made again.
BASE_RECIPE=1
BASE_TARBALL="$CACHE/images/debian-bookworm-20250520-slim.recipe-$BASE_RECIPE.rootfs.tar"

SERVICE_IMAGES=(gateway snapshot-svc render-svc notifier-svc)
INFRA_IMAGES=(dev-nats dev-s3 dev-postgres)
ALL_IMAGES=("${SERVICE_IMAGES[@]}" "${INFRA_IMAGES[@]}")

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

selected=()
while [ $# -gt 0 ]; do
  case "$1" in
    --only) shift; while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do selected+=("$1"); shift; done ;;
    --list) printf '%s\n' "${ALL_IMAGES[@]}"; exit 0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[ ${#selected[@]} -gt 0 ] || selected=("${ALL_IMAGES[@]}")
for name in "${selected[@]}"; do
  case " ${ALL_IMAGES[*]} " in *" $name "*) ;; *) echo "unknown image: $name (one of: ${ALL_IMAGES[*]})" >&2; exit 2 ;; esac
done

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi

# Temporary directories of this run, removed however it ends.
TEMP_DIRS=()
trap 'if [ ${#TEMP_DIRS[@]} -gt 0 ]; then $SUDO rm -rf "${TEMP_DIRS[@]}"; fi' EXIT

# shellcheck source=scripts/podman-tools.sh
source "$ROOT/scripts/podman-tools.sh"

# Debian's minbase plus what the official slim image configures: the same apt
# sources (with security updates), no docs/man pages/locales, no apt caches.
make_base_rootfs() {
  local rootfs
  rootfs="$(mktemp -d "$CACHE/images/rootfs.XXXXXX")"
  TEMP_DIRS+=("$rootfs")
  echo "==> debootstrap --variant=minbase $BASE_SUITE (about a minute, once; kept in $BASE_TARBALL)"
  PATH="/usr/sbin:/sbin:$PATH" $SUDO debootstrap --variant=minbase "$BASE_SUITE" "$rootfs" "$BASE_MIRROR" >/dev/null
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  echo 'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
  find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
  rm -rf "$rootfs/usr/share/man/"* "$rootfs/usr/share/info/"* "$rootfs/usr/share/locale/"* \
         "$rootfs/var/lib/apt/lists/"* "$rootfs/var/cache/apt/"*.bin "$rootfs/var/cache/apt/archives/"*.deb \
         "$rootfs/var/log/"*.log "$rootfs/tmp/"*
  $SUDO tar --numeric-owner -C "$rootfs" -cf "$BASE_TARBALL.partial" .
  mv "$BASE_TARBALL.partial" "$BASE_TARBALL"
}

ensure_base_image() {
  if podman image exists "$BASE_IMAGE" && [ "$(podman image inspect --format \
       '{{index .Config.Labels "org.chartsnap.base-recipe"}}' "$BASE_IMAGE")" = "$BASE_RECIPE" ]; then
    echo "==> base image $BASE_IMAGE (recipe $BASE_RECIPE) is there"
    return
  fi
  mkdir -p "$CACHE/images"
  [ -s "$BASE_TARBALL" ] || make_base_rootfs
  echo "==> podman import $BASE_TARBALL as $BASE_IMAGE"
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --change "LABEL org.chartsnap.base-recipe=$BASE_RECIPE" \
    "$BASE_TARBALL" "$BASE_IMAGE" >/dev/null
}

# The project's machines reach PyPI and the Go module proxy through a proxy
# with its own CA; the builds get the host's CA bundle as a build secret (never
# a layer). Where the host has the stock bundle this is harmless.
HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
build_args=(--pull=never --network host --layers)
[ -s "$HOST_CA_BUNDLE" ] && build_args+=(--secret "id=ca-bundle,src=$HOST_CA_BUNDLE")

# The four service images are built from one copy of the sources, taken once
# per run (the paths deploy/Dockerfile COPYs), so they hold the same code even
# when the working tree changes while they build. Each run has its own copy.
SERVICE_CONTEXT=
stage_service_context() {
  local sources
  sources=$(sed -n 's/^COPY \([^-][^ ]*\) .*/\1/p' "$ROOT/deploy/Dockerfile" | sort -u)
  mkdir -p "$CACHE/images"
  SERVICE_CONTEXT="$(mktemp -d "$CACHE/images/service-context.XXXXXX")"
  TEMP_DIRS+=("$SERVICE_CONTEXT")
  echo "==> copying the service images' sources ($(echo $sources)) to $SERVICE_CONTEXT"
  mkdir -p "$SERVICE_CONTEXT/deploy"
  cp "$ROOT/deploy/Dockerfile" "$SERVICE_CONTEXT/deploy/Dockerfile"
  # shellcheck disable=SC2086 # one word per path
  tar -C "$ROOT" --exclude=__pycache__ --exclude='*.pyc' -cf - $sources | tar -C "$SERVICE_CONTEXT" -xf -
}

# What an image is built from: its build context's files and the base image.
# When an image is still the one last built from the same digest
# ($CACHE/images/<name>-<tag>.inputs holds "digest image-id"), it is not built
# again: podman's layer cache would find every layer, but only after hashing
# the venv and Chromium layers again, a minute per run.
inputs_digest() {
  local context="$1"
  { podman image inspect --format '{{.Id}}' "$BASE_IMAGE"
    (cd "$context" && find . -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z |
       xargs -0 sha256sum)
  } | sha256sum | cut -c1-64
}

build_one() {
  local name="$1" image="localhost/chartsnap/$1:$TAG" started elapsed context dockerfile target=()
  local digest record="$CACHE/images/$1-$TAG.inputs"
  case "$name" in
    dev-*) context="$ROOT/deploy/images/${name#dev-}"; dockerfile="$context/Dockerfile" ;;
    *)     context="$SERVICE_CONTEXT"; dockerfile="$context/deploy/Dockerfile"; target=(--target "$name") ;;
  esac
  digest="$(inputs_digest "$context")"
  if [ -s "$record" ] && podman image exists "$image" &&
     [ "$(cat "$record")" = "$digest $(podman image inspect --format '{{.Id}}' "$image")" ]; then
    echo "==> $image is up to date (same sources and base as its last build)"
    return
  fi
  started=$(date +%s)
  echo "==> building $image"
  podman build "${build_args[@]}" "${target[@]}" -t "$image" -f "$dockerfile" "$context"
  echo "$digest $(podman image inspect --format '{{.Id}}' "$image")" >"$record"
  elapsed=$(( $(date +%s) - started ))
  echo "==> built $image in ${elapsed} s"
}

# Everything runs from main, read whole before it starts: bash reads a script
# as it goes, and an edit of this file during a run would otherwise break it.
main() {
  started_all=$(date +%s)
  install_podman_tools
  ensure_base_image
  case " ${selected[*]} " in *" gateway "*|*" snapshot-svc "*|*" render-svc "*|*" notifier-svc "*) stage_service_context ;; esac
  for name in "${selected[@]}"; do
    build_one "$name"
  done
  echo "==> done in $(( $(date +%s) - started_all )) s:"
  for name in "${selected[@]}"; do
    podman images --format '    {{.Repository}}:{{.Tag}}  {{.Size}}' "localhost/chartsnap/$name:$TAG"
  done
}
main "$@"; exit
