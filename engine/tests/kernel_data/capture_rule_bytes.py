#!/usr/bin/env python3
"""Records how the real iptables-nft 1.8.9 encodes rules, for the kernel
module's byte-exact tests (engine/src/kernel/tests.rs reads the output).

Run as root: python3 capture_rule_bytes.py specs.txt > rule_bytes.tsv
Each line of specs.txt is `TABLE<TAB>iptables arguments`. For each spec the
script runs `iptables-nft -t TABLE ARGS` under strace in a throwaway network
namespace (with nfacct object ct_x, chain MYCHAIN in filter, and ipsets s1
hash:ip, s2 hash:ip,port, s3 hash:ip at indexes 0, 1, 2) and prints TABLE, the spec, the hex of NFTA_RULE_EXPRESSIONS and of
NFTA_RULE_COMPAT as sent, and the rule line of `iptables-nft-save`.
"""
import re
import subprocess
import sys

NS = "kernel-capture"


def sh(*args, check=True):
    return subprocess.run(args, capture_output=True, text=True, check=check)


def unhex(s):
    return bytes.fromhex(s.replace("\\x", ""))


def main():
    specs = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
    sh("ip", "netns", "add", NS, check=False)
    try:
        for line in specs:
            table, args = line.split("\t", 1)
            sh("ip", "netns", "exec", NS, "nft", "flush", "ruleset")
            sh("ip", "netns", "exec", NS, "sh", "-c", "nfacct add ct_x 2>/dev/null", check=False)
            # The sets rule specs name, at kernel indexes 0, 1 and 2.
            sh("ip", "netns", "exec", NS, "sh", "-c",
               "ipset destroy 2>/dev/null; ipset create s1 hash:ip; "
               "ipset create s2 hash:ip,port timeout 10; ipset create s3 hash:ip skbinfo")
            if table == "filter":
                sh("ip", "netns", "exec", NS, "iptables-nft", "-N", "MYCHAIN")
            r = subprocess.run(
                ["ip", "netns", "exec", NS, "strace", "-f", "-xx", "-s", "65535", "-e", "trace=sendmsg",
                 "-o", "/tmp/capture.strace", "sh", "-c", f"iptables-nft -t {table} {args}"],
                capture_output=True, text=True)
            if r.returncode != 0:
                print(f"# {table}\t{args}\tFAILED {r.stderr.strip()}", file=sys.stderr)
                continue
            text = open("/tmp/capture.strace").read()
            batch = [l for l in text.splitlines() if "NFT_MSG_NEWRULE" in l]
            msgs = re.split(r"\], \[\{nlmsg_len", batch[-1]) if batch else []
            rule = [m for m in msgs if "NFT_MSG_NEWRULE" in m]
            if not rule:
                print(f"# {table}\t{args}\tno NEWRULE", file=sys.stderr)
                continue
            m = rule[-1]
            exprs = re.search(r'nla_type=NLA_F_NESTED\|0x4\}, "([^"]*)"', m).group(1)
            compat = re.search(r'nla_type=NLA_F_NESTED\|0x5\}, "([^"]*)"', m).group(1)
            save = sh("ip", "netns", "exec", NS, "iptables-nft-save", "-t", table).stdout
            rules = [l for l in save.splitlines() if l.startswith("-A ") and not l.startswith("-A MYCHAIN")]
            print("\t".join([table, args, unhex(exprs).hex(), unhex(compat).hex(), rules[-1] if rules else ""]))
    finally:
        sh("ip", "netns", "del", NS, check=False)


main()
