#!/usr/bin/env bash
# The playground demo, from a fresh clone: set up, start a fresh playground (a real kube-apiserver
# with simulated platforms), and run vmsnap's own story on the VM demo/db — inventory, preflight,
# a snapshot before an "upgrade", the upgrade breaking the disk and the configuration, the restore
# with its preview, the data back (read with kubectl), and the undo of the restore.
#
#   bash scripts/demo.sh              # everything, from a fresh clone
#   bash scripts/demo.sh --no-setup   # setup has run already (the test of this script)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--no-setup" ]; then bash scripts/setup.sh; fi
source scripts/node.sh && vmsnap_use_node

vmsnap() { node dist/cli/main.js "$@"; }
KUBECTL="$(vmsnap playground setup 2>/dev/null | awk '/^kubectl/ {print $2}')"
kubectl() { "$KUBECTL" "$@"; }
step() {
  if [ -t 1 ]; then printf '\n\033[1m==> %s\033[0m\n' "$*"; else printf '\n==> %s\n' "$*"; fi
}
# Shows a command as one would type it (quoted where the shell needs it), then runs it.
run() {
  local arg shown="$"
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then shown+=" $arg"; else shown+=" '$arg'"; fi
  done
  printf '%s\n' "$shown"
  "$@"
}
# The claim that holds the VM's root disk now, and its data (in the playground, a disk's data is
# its sim.vmsnap.io/data fingerprint).
claim_of_db() {
  kubectl -n demo get virtualmachines.kubevirt.io db \
    -o jsonpath='{.spec.template.spec.volumes[?(@.name=="rootdisk")].persistentVolumeClaim.claimName}'
}
show_data() {
  run kubectl -n demo get pvc "$(claim_of_db)" \
    -o 'custom-columns=CLAIM:.metadata.name,DATA:.metadata.annotations.sim\.vmsnap\.io/data'
}

step "a fresh playground (the same story on every run)"
vmsnap playground down >/dev/null 2>&1 || true
vmsnap playground up >/dev/null
eval "$(vmsnap playground env)"
echo "kube-apiserver up; KUBECONFIG=$KUBECONFIG"

step "every VM the playground serves, on the three platforms"
run vmsnap vms -A

step "before an upgrade of demo/db: can it be snapshotted, and what will the snapshot hold?"
run vmsnap -n demo check db

step "the disk's data now"
show_data

SNAP="db-before-upgrade"
step "snapshot it (--yes: this is a script; on a terminal vmsnap asks)"
run vmsnap -n demo create db --name "$SNAP" --yes

step "the upgrade goes wrong: the disk is overwritten and the VM got more memory"
run kubectl -n demo annotate pvc "$(claim_of_db)" sim.vmsnap.io/data=CORRUPTED --overwrite
run kubectl -n demo patch virtualmachines.kubevirt.io db --type merge \
  -p '{"spec":{"template":{"spec":{"domain":{"memory":{"guest":"8Gi"}}}}}}'
show_data

step "restore: the preview says what is lost and what changes back; a safety snapshot comes first"
echo "(on a terminal vmsnap asks for the snapshot name and a final yes; a script passes --confirm)"
restore_out="$(mktemp)"
run vmsnap -n demo restore db "$SNAP" --stop --confirm "$SNAP" 2>&1 | tee "$restore_out"
SAFETY="$(grep -o 'db-pre-restore-[0-9-]*' "$restore_out" | head -n 1)"
rm -f "$restore_out"

step "the data came back: the VM's disk is a claim restored from the snapshot"
show_data
run kubectl -n demo get virtualmachines.kubevirt.io db -o 'jsonpath={.spec.template.spec.domain.memory.guest}{"\n"}'

step "a restore can itself be undone: the safety snapshot holds the state before it"
run vmsnap -n demo list db
run vmsnap -n demo restore db "$SAFETY" --stop --confirm "$SAFETY" -q
show_data
echo "(the broken state of a minute ago is back: the restore itself lost nothing)"

step "next: try it yourself"
echo "The playground keeps running. In this shell or another one:"
echo
suggest() { printf '  %-52s # %s\n' "$1" "$2"; }
suggest 'eval "$(node dist/cli/main.js playground env)"' "KUBECONFIG for kubectl and vmsnap"
suggest "alias vmsnap='node $(pwd)/dist/cli/main.js'" "or npm link: vmsnap and kubectl-vmsnap on PATH"
echo
suggest "vmsnap -n demo restore db $SNAP --stop" "on a terminal: type the name, then yes"
suggest "vmsnap -n demo describe $SNAP" "a snapshot in detail"
suggest "vmsnap -n demo check web" "with a guest agent: application-consistent"
suggest "vmsnap -n deckhouse check db" "Deckhouse: why it would refuse, and the fix"
suggest "vmsnap -n vsphere list --tree" "VM Operator's snapshot tree"
suggest "source <(vmsnap completion bash)" "TAB completes commands, VMs, snapshots"
suggest "vmsnap mcp --help" "the MCP server for AI agents"
echo
suggest "node dist/cli/main.js playground down" "stop it; nothing is left running"
