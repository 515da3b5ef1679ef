#!/usr/bin/env bash
# The playground demo, from a fresh clone: set up, start the playground, and take a VM snapshot
# the way the KubeVirt documentation does it (kubectl apply), against a real kube-apiserver.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "==> starting the playground"
node dist/cli/main.js playground up
eval "$(node dist/cli/main.js playground env)"
KUBECTL="$(node dist/cli/main.js playground setup 2>/dev/null | awk '/^kubectl/ {print $2}')"

echo
echo "==> VMs in the playground"
"$KUBECTL" get virtualmachines.kubevirt.io -A

SNAP="web-demo-$(date +%Y%m%d-%H%M%S)"
echo
echo "==> snapshot demo/web as the KubeVirt docs do: kubectl apply a VirtualMachineSnapshot"
"$KUBECTL" apply -f - <<YAML
apiVersion: snapshot.kubevirt.io/v1beta1
kind: VirtualMachineSnapshot
metadata:
  name: $SNAP
  namespace: demo
spec:
  source:
    apiGroup: kubevirt.io
    kind: VirtualMachine
    name: web
YAML
"$KUBECTL" wait -n demo "virtualmachinesnapshots.snapshot.kubevirt.io/$SNAP" --for=jsonpath='{.status.readyToUse}'=true --timeout=60s
"$KUBECTL" get -n demo virtualmachinesnapshots.snapshot.kubevirt.io "$SNAP"
echo "indications: $("$KUBECTL" get -n demo virtualmachinesnapshots.snapshot.kubevirt.io "$SNAP" -o jsonpath='{.status.indications}')"

echo
echo "The playground keeps running. Point your shell at it with:"
echo "  $(node dist/cli/main.js playground env)"
echo "Stop it with: node dist/cli/main.js playground down"
