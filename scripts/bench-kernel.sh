#!/bin/sh
# Kernel mode against the real tools on a kube-proxy-shaped ruleset
# (shared/tools/gen-kube-ruleset.py N services), all in one run, as root:
#   1. apply of the whole ruleset vs iptables-nft-restore (fresh namespaces)
#   2. a one-rule change: apply of the changed file vs a full
#      iptables-nft-restore of it (both on the loaded ruleset)
#   3. import vs iptables-nft-save, and iptables-nft-save of what we wrote
# Usage: scripts/bench-kernel.sh [IPTPLAY] [N]   (default: the release build, 10000)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/target/release/iptplay}
n=${2:-10000}
gen=$here/../shared/tools/gen-kube-ruleset.py
tmp=$(mktemp -d)
ours=bench-ours-$$
theirs=bench-theirs-$$
trap 'ip netns del $ours 2>/dev/null; ip netns del $theirs 2>/dev/null; rm -rf "$tmp"' EXIT
python3 "$gen" "$n" > "$tmp/rules"
# One rule changed: the first DNAT goes to another port.
awk 'BEGIN{d=0} /-j DNAT/ && !d {sub(/:8080$/, ":9090"); d=1} {print}' "$tmp/rules" > "$tmp/changed"
echo "$(grep -c '^-A' "$tmp/rules") rules, $(grep -c '^:' "$tmp/rules") chains"
ip netns add $ours
ip netns add $theirs
t() { /usr/bin/time -f "%e s (user %U, sys %S) exit %x" "$@" 2>&1 >/dev/null | tail -1; }
echo "full load:    iptplay apply         $(t "$bin" kernel apply --netns $ours "$tmp/rules")"
echo "full load:    iptables-nft-restore  $(t ip netns exec $theirs iptables-nft-restore "$tmp/rules")"
echo "one rule:     iptplay apply         $(t "$bin" kernel apply --netns $ours "$tmp/changed")"
echo "one rule:     iptables-nft-restore  $(t ip netns exec $theirs iptables-nft-restore "$tmp/changed")"
echo "read back:    iptplay import        $(t "$bin" kernel import --netns $ours)"
echo "read back:    iptables-nft-save     $(t ip netns exec $theirs iptables-nft-save)"
# What the real tools pay to read what we wrote (kube-proxy reads it back).
echo "read ours:    iptables-nft-save     $(t ip netns exec $ours iptables-nft-save)"
"$bin" kernel import --netns $ours | grep -v '^#' > "$tmp/a"
ip netns exec $theirs iptables-nft-save | grep -v '^#' > "$tmp/b"
if cmp -s "$tmp/a" "$tmp/b"; then echo "same rules in both namespaces"; else echo "RULES DIFFER"; exit 1; fi
