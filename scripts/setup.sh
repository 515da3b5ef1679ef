#!/usr/bin/env bash
# One-time set-up on a fresh machine (Node, npm, Go, Debian): Node 24 when the machine's node is
# older than 22 (scripts/node.sh), etcd (and shells for the completion tests) from Debian, the
# npm dependencies, the build, and kube-apiserver + kubectl compiled once from the published Go
# modules into ~/.cache/vmsnap (reused afterwards). Safe to run again: it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node.sh
vmsnap_use_node
echo "==> node $(node --version) ($(command -v node))"

# Debian packages: etcd for the control plane; zsh, fish and bash-completion (which kubectl's
# bash completion needs), for the tests of the completion scripts.
debs=""
if [ -z "${KUBEBUILDER_ASSETS:-}" ] && ! command -v etcd >/dev/null 2>&1 && [ ! -x /usr/bin/etcd ]; then
  debs="etcd-server"
fi
for shell in zsh fish; do
  if ! command -v "$shell" >/dev/null 2>&1; then debs="$debs $shell"; fi
done
if [ ! -f /usr/share/bash-completion/bash_completion ]; then debs="$debs bash-completion"; fi
if [ -n "$debs" ]; then
  echo "==> installing Debian packages:$debs"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $debs >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm dependencies"
  npm ci --no-audit --no-fund
fi
# npm ci recreates node_modules: link the node again for npm's scripts.
vmsnap_use_node

echo "==> building vmsnap"
npm run --silent build

echo "==> control-plane binaries"
node dist/cli/main.js playground setup
