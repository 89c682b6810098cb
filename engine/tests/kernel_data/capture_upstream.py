#!/usr/bin/env python3
"""Records how the real iptables-nft 1.8.9 encodes every rule of the
upstream extension tests that it accepts (shared/data/upstream-t), for the
kernel module's byte-exact tests (engine/src/kernel/tests.rs).

Run as root: python3 capture_upstream.py upstream_bytes.tsv
Columns: extension test file, table, `-A CHAIN RULE`, hex of
NFTA_RULE_EXPRESSIONS and of NFTA_RULE_COMPAT as sent, and the saved rule
text after `-A CHAIN ` (the reference's actual_save). Each distinct
(table, rule) is recorded once, run in a throwaway namespace after the
row's prerequisite commands.
"""
import csv
import re
import subprocess
import sys
NS = "kernel-capup"
DATA = sys.argv[2] if len(sys.argv) > 2 else "/work/shared/data/upstream-t/"
def sh(*a, check=True):
    return subprocess.run(a, capture_output=True, text=True, check=check)
def unhex(s): return bytes.fromhex(s.replace("\\x", ""))
rows = list(csv.DictReader(open(DATA + 't-cases-nft-1.8.9.tsv'), delimiter='\t'))
pre = {}
for r in csv.DictReader(open(DATA + 'iptables-t-cases.tsv'), delimiter='\t'):
    if r['prereq_cmds']:
        pre[(r['ext_file'], r['line'])] = r['prereq_cmds'].split(' | ')
seen = set()
sh("ip", "netns", "add", NS, check=False)
out = open(sys.argv[1], "w")
try:
    for r in rows:
        if r['actual_exit'] != '0': continue
        key = (r['table'], r['rule'])
        if key in seen: continue
        seen.add(key)
        sh("ip", "netns", "exec", NS, "nft", "flush", "ruleset")
        for p in pre.get((r['ext_file'], r['line']), []):
            sh("ip", "netns", "exec", NS, "sh", "-c", p.replace("iptables ", "iptables-nft ") + " 2>/dev/null", check=False)
        cmd = f"iptables-nft -t {r['table']} -A {r['chain']} {r['rule']}"
        p = subprocess.run(["ip", "netns", "exec", NS, "strace", "-f", "-xx", "-s", "65535", "-e", "trace=sendmsg",
                            "-o", "/tmp/capture_upstream.strace", "sh", "-c", cmd], capture_output=True, text=True)
        if p.returncode != 0:
            print("FAIL", cmd, p.stderr.strip(), file=sys.stderr); continue
        text = open("/tmp/capture_upstream.strace").read()
        batch = [l for l in text.splitlines() if "NFT_MSG_NEWRULE" in l]
        msgs = re.split(r"\], \[\{nlmsg_len", batch[-1]) if batch else []
        rule = [m for m in msgs if "NFT_MSG_NEWRULE" in m]
        if not rule:
            print("NORULE", cmd, file=sys.stderr); continue
        m = rule[-1]
        exprs = re.search(r'nla_type=NLA_F_NESTED\|0x4\}, "([^"]*)"', m).group(1)
        compat = re.search(r'nla_type=NLA_F_NESTED\|0x5\}, "([^"]*)"', m).group(1)
        out.write("\t".join([r['ext_file'], r['table'], f"-A {r['chain']} {r['rule']}", unhex(exprs).hex(), unhex(compat).hex(), r['actual_save']]) + "\n")
        out.flush()
finally:
    sh("ip", "netns", "del", NS, check=False)
