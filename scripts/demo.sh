#!/usr/bin/env bash
# The demo: labs/two-sites in network namespaces — two agents, one WireGuard
# tunnel, BGP across it — then the operator's view from both nodes, pings
# between the announced LANs, and teardown (also when something fails).
set -euo pipefail
cd "$(dirname "$0")/.."
lab=labs/two-sites
wgbgp=./bin/wgbgp
trap '$wgbgp lab down $lab >/dev/null 2>&1 || true' EXIT
$wgbgp lab down $lab >/dev/null 2>&1 || true
$wgbgp lab up $lab
$wgbgp lab test $lab
for node in site-a site-b; do
  sock=/run/wgbgp/two-sites-$node.sock
  echo; echo "== $node: wgbgp neighbors"; $wgbgp neighbors --socket "$sock"
  echo; echo "== $node: wgbgp routes";    $wgbgp routes --socket "$sock"
  echo; echo "== $node: wgbgp tunnels";   $wgbgp tunnels --socket "$sock"
done
echo; echo "== ping across the tunnel, LAN to LAN"
ip netns exec wgbgp-two-sites-site-a ping -c 3 -I 10.1.0.1 10.2.0.1
ip netns exec wgbgp-two-sites-site-a ping -6 -c 3 -I 2001:db8:1::1 2001:db8:2::1
echo; $wgbgp lab down $lab
trap - EXIT
