#!/usr/bin/env bash
# Installs the Debian packages of the scale-out engines (`reasonlake up --profile cluster`): Redis (Feast's online
# store) and PostgreSQL (the Iceberg catalog). As root, with apt-get; idempotent. The reasonlake commands never
# install OS packages themselves: they say which package is missing (services/packages.py).
set -euo pipefail
packages=()
command -v redis-server >/dev/null || packages+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql)
if [ ${#packages[@]} -eq 0 ]; then
  echo "[setup-engines] redis-server and postgresql are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "[setup-engines] install as root with apt-get: ${packages[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 install -y -q "${packages[@]}" \
  || { apt-get -o DPkg::Lock::Timeout=600 update -q && apt-get -o DPkg::Lock::Timeout=600 install -y -q "${packages[@]}"; }
echo "[setup-engines] installed ${packages[*]}"
