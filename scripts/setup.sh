#!/usr/bin/env bash
# One-time set-up on a fresh machine (Node 20, npm, Go, Debian): etcd from Debian, the npm
# dependencies, the build, and kube-apiserver + kubectl compiled once from the published Go
# modules into ~/.cache/vmsnap (reused afterwards). Safe to run again: it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${KUBEBUILDER_ASSETS:-}" ] && ! command -v etcd >/dev/null 2>&1 && [ ! -x /usr/bin/etcd ]; then
  echo "==> installing etcd (Debian package etcd-server)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq etcd-server >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm dependencies"
  npm ci --no-audit --no-fund
fi

echo "==> building vmsnap"
npm run --silent build

echo "==> control-plane binaries"
node dist/cli/main.js playground setup
