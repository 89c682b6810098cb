//! What the simulator needs to walk a table fast, built from the table once
//! per change ([`super::Table::generation`]): the chain each rule jumps or
//! goes to, and for long chains an index of the rules that ask for one exact
//! destination address (`-d A/32`, not inverted).
//!
//! The kernel walks a chain rule by rule; a rule asking for destination A
//! fails its first address test for every packet to another address, so it
//! matches nothing, counts nothing and runs no match. Skipping it changes no
//! verdict, counter, rewrite or match state. Only a trace shows the rules a
//! packet passed, so a traced walk looks at every rule.

use super::{Chain, Table};
use crate::fasthash::FastMap;
use std::net::Ipv4Addr;

/// Chains shorter than this are walked rule by rule.
const MIN_RULES: usize = 16;

/// No jump target, or a target chain that does not exist.
const NONE: u32 = u32::MAX;

/// One chain as the walk sees it.
#[derive(Debug, Clone, Default)]
pub struct ChainWalk {
    /// Position in the table of the chain each rule jumps or goes to.
    targets: Vec<u32>,
    /// Rules by exact destination, for a long chain.
    dispatch: Option<Dispatch>,
}

#[derive(Debug, Clone, Default)]
struct Dispatch {
    /// Rule numbers asking for each destination address, in rule order.
    exact: FastMap<u32, Vec<u32>>,
    /// The other rules, in rule order.
    wild: Vec<u32>,
}

impl ChainWalk {
    fn new(table: &Table, chain: &Chain) -> ChainWalk {
        let targets = chain
            .rules
            .iter()
            .map(|r| {
                r.target
                    .chain()
                    .and_then(|t| table.chain_index(t))
                    .map_or(NONE, |i| i as u32)
            })
            .collect();
        let exact_dst = |r: &super::Rule| r.ip.dst.mask == u32::MAX && !r.ip.dst_inv;
        let keyed = chain.rules.iter().filter(|r| exact_dst(r)).count();
        let dispatch =
            (chain.rules.len() >= MIN_RULES && keyed * 2 >= chain.rules.len()).then(|| {
                let mut d = Dispatch::default();
                for (i, r) in chain.rules.iter().enumerate() {
                    if exact_dst(r) {
                        d.exact
                            .entry(u32::from(r.ip.dst.addr))
                            .or_default()
                            .push(i as u32);
                    } else {
                        d.wild.push(i as u32);
                    }
                }
                d
            });
        ChainWalk { targets, dispatch }
    }

    /// The chain rule `rule` jumps or goes to (`None`: no such chain).
    pub fn target(&self, rule: usize) -> Option<usize> {
        self.targets
            .get(rule)
            .filter(|t| **t != NONE)
            .map(|t| *t as usize)
    }

    /// The first rule from `from` on that a packet to `dst` may match; the
    /// number of rules when none may.
    pub fn next(&self, from: usize, dst: Ipv4Addr) -> usize {
        let Some(d) = &self.dispatch else {
            return from;
        };
        let first_from = |v: &[u32]| {
            let i = v.partition_point(|r| (*r as usize) < from);
            v.get(i).map_or(usize::MAX, |r| *r as usize)
        };
        let wild = first_from(&d.wild);
        let exact = d
            .exact
            .get(&u32::from(dst))
            .map_or(usize::MAX, |v| first_from(v));
        wild.min(exact).min(self.targets.len())
    }

    /// Whether this walk was made for a chain of `rules` rules.
    pub fn fits(&self, rules: usize) -> bool {
        self.targets.len() == rules
    }
}

/// The walk of every chain of a table, in table order.
#[derive(Debug, Default)]
pub struct WalkIndex {
    pub chains: Vec<ChainWalk>,
}

impl WalkIndex {
    pub fn new(table: &Table) -> WalkIndex {
        WalkIndex {
            chains: table
                .chains
                .iter()
                .map(|c| ChainWalk::new(table, c))
                .collect(),
        }
    }
}

/// The walk index of a table, made on first use after each change. A copy
/// of the table starts without one.
#[derive(Debug, Default)]
pub(super) struct WalkCache {
    /// The index and the generation of the table it was made for.
    pub(super) built: Option<(u64, WalkIndex)>,
}

impl Clone for WalkCache {
    fn clone(&self) -> WalkCache {
        WalkCache::default()
    }
}
