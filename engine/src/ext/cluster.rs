//! `-m cluster`: shares connections among the nodes of a cluster by hashing
//! them; a node matches the hash buckets in its node mask.

use super::EvalCx;
use super::{xtopt, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext::bit;
use crate::ext_boilerplate;

const O_TOTAL: u8 = 0;
const O_NODE: u8 = 1;
const O_NODEMASK: u8 = 2;
const O_SEED: u8 = 3;

/// Most nodes a cluster can have.
const NODES_MAX: u64 = 32;

pub static INFO: ExtInfo = ExtInfo {
    name: "cluster",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("cluster-total-nodes", O_TOTAL).mand(),
        OptSpec::arg("cluster-local-node", O_NODE)
            .inv()
            .excl(bit(O_NODEMASK)),
        OptSpec::arg("cluster-local-nodemask", O_NODEMASK)
            .inv()
            .excl(bit(O_NODE)),
        OptSpec::arg("cluster-hash-seed", O_SEED).mand(),
    ],
    guided: true,
    help: concat!(
        "cluster match options:\n",
        "  --cluster-total-nodes <num>\t\tHow many nodes the cluster has\n",
        "  [!] --cluster-local-node <num>\tNumber of this node (1 = first)\n",
        "  [!] --cluster-local-nodemask <num>\tMask of the nodes this one stands for\n",
        "  --cluster-hash-seed <num>\t\tSeed of the Jenkins hash, the same on all nodes\n",
    ),
    new_match: Some(|| Box::new(Cluster::default())),
    new_target: None,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cluster {
    pub total_nodes: u32,
    pub node_mask: u32,
    pub hash_seed: u32,
    pub inv: bool,
}

/// Bob Jenkins' hash of one word (the kernel's `jhash_1word`).
fn jhash_1word(a: u32, seed: u32) -> u32 {
    let init = seed.wrapping_add(0xdead_beef).wrapping_add(1 << 2);
    let (mut a, mut b, mut c) = (a.wrapping_add(init), init, init);
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(14));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(11));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(25));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(16));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(4));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(14));
    c ^= b;
    c.wrapping_sub(b.rotate_left(24))
}

impl Cluster {
    /// The node (0-based) the packet's connection belongs to: a hash of the
    /// original source address of the connection (or of its master).
    fn node(&self, cx: &EvalCx) -> Option<u32> {
        let e = cx.ct_entry()?;
        let src = match e.master {
            Some(m) => {
                cx.conntrack
                    .iter()
                    .find(|x| x.id == m)
                    .unwrap_or(e)
                    .orig
                    .src
            }
            None => e.orig.src,
        };
        // The address as the kernel holds it (network order in memory on a
        // little-endian machine).
        let h = jhash_1word(u32::from_le_bytes(src.octets()), self.hash_seed);
        Some(((h as u64 * self.total_nodes as u64) >> 32) as u32)
    }
}

impl Match for Cluster {
    fn needs_conntrack(&self) -> bool {
        true
    }
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_TOTAL => {
                self.total_nodes =
                    xtopt::uint("cluster", "cluster-total-nodes", arg, 1, NODES_MAX)? as u32
            }
            O_NODE => {
                let n = xtopt::uint("cluster", "cluster-local-node", arg, 1, NODES_MAX)?;
                self.node_mask = 1u32 << (n - 1);
                self.inv |= inv;
            }
            O_NODEMASK => {
                self.node_mask =
                    xtopt::uint("cluster", "cluster-local-nodemask", arg, 1, NODES_MAX)? as u32;
                self.inv |= inv;
            }
            O_SEED => {
                self.hash_seed =
                    xtopt::uint("cluster", "cluster-hash-seed", arg, 0, u32::MAX as u64)? as u32
            }
            _ => {}
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        let too_big = (self.node_mask as u64) >= (1u64 << self.total_nodes);
        let base = bit(O_TOTAL) | bit(O_SEED);
        if seen & (base | bit(O_NODE)) == base | bit(O_NODE) {
            if too_big {
                return Err(XtError::new(
                    "cluster match: `--cluster-local-node' must be <= `--cluster-total-nodes'",
                ));
            }
            return Ok(());
        }
        if seen & (base | bit(O_NODEMASK)) == base | bit(O_NODEMASK) {
            if too_big {
                return Err(XtError::new(
                    "cluster match: `--cluster-local-nodemask' too big for `--cluster-total-nodes'",
                ));
            }
            return Ok(());
        }
        if seen & (bit(O_NODE) | bit(O_NODEMASK)) == 0 {
            return Err(XtError::new(
                "cluster match: `--cluster-local-node' or`--cluster-local-nodemask' is missing",
            ));
        }
        Ok(())
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(match self.node(cx) {
            Some(n) => (self.node_mask & (1 << n) != 0) != self.inv,
            None => false,
        })
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        match self.node(cx) {
            Some(n) => format!(
                "`{}` did not match: the connection hashes to node {}",
                opt.trim_start(),
                n + 1
            ),
            None => format!(
                "`{}` did not match: the packet has no connection",
                opt.trim_start()
            ),
        }
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(&format!(
            " --cluster-local-nodemask 0x{:08x} --cluster-total-nodes {} --cluster-hash-seed 0x{:08x}",
            self.node_mask, self.total_nodes, self.hash_seed
        ));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(
            " cluster {}node_mask=0x{:08x} total_nodes={} hash_seed=0x{:08x}",
            if self.inv { "!" } else { "" },
            self.node_mask,
            self.total_nodes,
            self.hash_seed
        ));
    }

    fn explain(&self) -> String {
        let nodes: Vec<String> = (0..32)
            .filter(|i| self.node_mask & (1 << i) != 0)
            .map(|i| (i + 1).to_string())
            .collect();
        format!(
            "Matches connections that hash (seed 0x{:08x}) to {}node {} of a {}-node cluster",
            self.hash_seed,
            if self.inv { "any but " } else { "" },
            nodes.join(" or "),
            self.total_nodes
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, udp};

    #[test]
    fn nodes_share_the_sources() {
        let mut w = lab::world();
        for node in 1..=3 {
            sh(
                &mut w,
                0,
                &format!(
                    "iptables -t mangle -A PREROUTING -m cluster --cluster-total-nodes 3 \
                     --cluster-local-node {node} --cluster-hash-seed 0xdeadbeef"
                ),
            );
        }
        for i in 2..32 {
            inject(&mut w, udp(&format!("10.0.0.{i}"), 1, "10.0.0.1", 2, 0));
        }
        let c = lab::counts(&w, "mangle", "PREROUTING");
        // Each source belongs to exactly one node, and every node gets some.
        assert_eq!(c.iter().sum::<u64>(), 30, "{c:?}");
        assert!(c.iter().all(|n| *n > 3), "{c:?}");
        assert_eq!(super::jhash_1word(0, 0), 0x049396b8);
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn node_becomes_mask() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -t mangle -A PREROUTING -m cluster --cluster-total-nodes 4 ! --cluster-local-node 3 --cluster-hash-seed 1",
        );
        assert_eq!(out.exit, 0, "{}", out.stderr);
        assert_eq!(
            run(&mut h, "iptables -t mangle -S PREROUTING").stdout,
            "-P PREROUTING ACCEPT\n-A PREROUTING -m cluster ! --cluster-local-nodemask 0x00000004 --cluster-total-nodes 4 --cluster-hash-seed 0x00000001\n"
        );
        let l = run(&mut h, "iptables -t mangle -L PREROUTING -n").stdout;
        assert!(l.contains(" cluster !node_mask=0x00000004 total_nodes=4 hash_seed=0x00000001\n"));
    }

    #[test]
    fn checks_in_order() {
        let mut h = Host::new("h");
        let e = |h: &mut Host, a: &str| {
            run(
                h,
                format!("iptables -t mangle -A PREROUTING -m cluster {a}").trim_end(),
            )
            .stderr
        };
        assert!(e(&mut h, "").contains("is missing\n"));
        assert!(e(
            &mut h,
            "--cluster-total-nodes 2 --cluster-local-node 3 --cluster-hash-seed 1"
        )
        .contains("must be <= `--cluster-total-nodes'\n"));
        assert!(e(&mut h, "--cluster-total-nodes 2 --cluster-local-node 2")
            .contains("cluster: option \"--cluster-hash-seed\" must be specified\n\n"));
    }
}
