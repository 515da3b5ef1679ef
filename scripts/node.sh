#!/usr/bin/env bash
# The Node.js that vmsnap's scripts run on. Node 20 is end-of-life: the supported lines are 22 and
# 24. When the machine's `node` is older than 22, Node 24 comes from the npm registry's
# node-linux-<arch> package (it ships the binary), unpacked once into
# ~/.cache/vmsnap/node-v<version>-linux-<arch> (never into the repository).
#
#   source scripts/node.sh && vmsnap_use_node   # put a supported node first on PATH (installs it)
#   bash scripts/node.sh path [x64|arm64]        # ensure Node 24 for that arch; print its binary
#   bash scripts/node.sh bin-dir                 # the directory to put first on PATH ("" if none)

VMSNAP_NODE_VERSION="24.22.3"
VMSNAP_NODE_MIN_MAJOR=22

vmsnap_node_arch() {
  case "$(uname -m)" in
    x86_64 | amd64) echo x64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) echo "unsupported machine $(uname -m)" >&2; return 1 ;;
  esac
}

vmsnap_node_dir() { # arch
  echo "${XDG_CACHE_HOME:-$HOME/.cache}/vmsnap/node-v$VMSNAP_NODE_VERSION-linux-$1"
}

# Unpacks bin/node of node-linux-<arch>@VERSION from the npm registry (npm's cache and integrity
# check) into the cache, once; prints the binary's path.
vmsnap_ensure_node() { # [arch]
  local arch="${1:-$(vmsnap_node_arch)}" dir tmp tgz
  dir="$(vmsnap_node_dir "$arch")"
  if [ ! -x "$dir/bin/node" ]; then
    echo "==> Node $VMSNAP_NODE_VERSION (linux-$arch) from the npm package node-linux-$arch, into $dir" >&2
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$VMSNAP_NODE_VERSION" >/dev/null) || {
      rm -rf "$tmp"; return 1; }
    tgz="$(ls "$tmp"/node-linux-"$arch"-*.tgz)"
    mkdir -p "$tmp/out" && tar -xzf "$tgz" -C "$tmp/out" --strip-components=1 package/bin/node package/LICENSE
    mkdir -p "$(dirname "$dir")" && rm -rf "$dir" && mv "$tmp/out" "$dir"
    rm -rf "$tmp"
  fi
  echo "$dir/bin/node"
}

# The machine's own node (not ours from the cache, which npm scripts and this script may have put
# first on PATH) is new enough: nothing to install.
vmsnap_system_node_ok() {
  local node_path major
  node_path="$(command -v node 2>/dev/null)" || return 1
  case "$(readlink -f "$node_path")" in */vmsnap/node-v*) return 1 ;; esac
  major="$("$node_path" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" || return 1
  [ "${major:-0}" -ge "$VMSNAP_NODE_MIN_MAJOR" ]
}

# Puts a supported node first on PATH for the rest of the calling script (installing Node 24 if
# the machine's node is older), and links it as node_modules/.bin/node, which npm puts first on
# PATH for `npm test`, `npm run …` — so they use it from any shell after setup.
vmsnap_use_node() {
  local node_bin link=node_modules/.bin/node
  if vmsnap_system_node_ok; then
    # A link left from when the machine's node was older is not needed any more.
    if [ -L "$link" ] && [[ "$(readlink "$link")" == */vmsnap/node-v* ]]; then rm -f "$link"; fi
    return 0
  fi
  node_bin="$(vmsnap_ensure_node)" || return 1
  export PATH="$(dirname "$node_bin"):$PATH"
  if [ -d node_modules/.bin ]; then ln -sfn "$node_bin" "$link"; fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    path) vmsnap_ensure_node "${2:-$(vmsnap_node_arch)}" ;;
    bin-dir) if ! vmsnap_system_node_ok; then dirname "$(vmsnap_ensure_node)"; fi ;;
    *) echo "usage: bash scripts/node.sh path [x64|arm64] | bin-dir" >&2; exit 2 ;;
  esac
fi
