# Sourced by scripts/build-images.sh and scripts/test-deploy.sh (not run alone):
# podman, runc (podman's default crun fails on these hosts' cgroups, see
# deploy/podman/containers.conf) and debootstrap (the local base image), from
# Debian's packages, installed only when missing. Needs $SUDO set ("" as root).
install_podman_tools() {
  local missing=()
  command -v podman >/dev/null 2>&1 || missing+=(podman)
  command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || missing+=(runc)
  command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing ${missing[*]} (Debian packages)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
      podman runc debootstrap uidmap fuse-overlayfs slirp4netns >/dev/null
  fi
}
