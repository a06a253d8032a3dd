#!/usr/bin/env bash
# Installs every Debian (and npm) dependency drover needs to build, test and benchmark.
# Idempotent: installs only what is missing, so `make up` / `make test` can call it every time.
set -euo pipefail

BUILD_PKGS=(
  build-essential meson ninja-build pkg-config clang
  libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev libjansson-dev libyaml-dev libsqlite3-dev
  libssl-dev libarchive-dev libzstd-dev libseccomp-dev libcap-dev libmnl-dev zlib1g-dev
)
TEST_PKGS=(
  libcmocka-dev python3-pytest python3-kubernetes python3-yaml python3-requests
  iproute2 iptables busybox-static procps psmisc curl ca-certificates openssl util-linux
  runc docker.io docker-registry skopeo umoci etcd-server wrk
)

want=("${BUILD_PKGS[@]}")
[ "${DROVER_DEPS:-all}" = build ] || want+=("${TEST_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # docker.io's postinst must not start a daemon nor fail on a machine without systemd
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
