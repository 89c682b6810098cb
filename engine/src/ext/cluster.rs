//! `-m cluster`: shares connections among the nodes of a cluster by hashing
//! them; a node matches the hash buckets in its node mask.

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

impl Match for Cluster {
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
