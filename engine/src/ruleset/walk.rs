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
use crate::ext::tcp::NativeTest;
use std::net::Ipv4Addr;

/// Chains shorter than this are walked rule by rule.
const MIN_RULES: usize = 16;

/// No jump target, or a target chain that does not exist.
const NONE: u32 = u32::MAX;

/// The rules of one long chain by exact destination.
#[derive(Debug, Clone, Default)]
struct Dispatch {
    /// Where the rule numbers asking for each destination address are in
    /// `keyed`: (start, count), and the first of them with the chain it
    /// jumps or goes to (most addresses have one rule: `keyed` is then not
    /// read, and the walk can load the chain ahead before it reads the rule).
    exact: AddrTable,
    /// Rule numbers by destination address, each address's in rule order.
    keyed: Vec<u32>,
    /// The other rules, in rule order.
    wild: Vec<u32>,
}

/// The rules of one destination address in a [`Dispatch`] (`count` 0:
/// an empty slot of an [`AddrTable`]).
#[derive(Debug, Clone, Copy, Default)]
struct Keyed {
    start: u32,
    count: u32,
    first: u32,
    /// The chain the first rule jumps or goes to ([`NONE`]: none).
    first_target: u32,
    /// Where that chain's index entries start, and how many there are
    /// ([`NONE`]: no such chain, or one with a dispatch): the walk loads
    /// them ahead with the slot, not after reading where they are.
    target_hot: u32,
    target_len: u32,
    /// That chain's place in [`WalkIndex::placed`].
    target_place: u32,
}

/// [`Keyed`] by destination address in one open-addressed array: a lookup
/// reads one slot, in one cache line (a map reads its control bytes, then
/// the entry: two lines no recent packet touched, one after the other).
#[derive(Debug, Clone, Default)]
struct AddrTable {
    slots: Vec<Slot>,
    /// `slots.len() - 1`, the length being a power of two.
    mask: usize,
}

#[derive(Debug, Clone, Copy, Default)]
#[repr(align(32))]
struct Slot {
    addr: u32,
    keyed: Keyed,
}

// Two slots to a cache line, none across two.
const _: () = assert!(std::mem::size_of::<Slot>() == 32);

impl AddrTable {
    /// Room for `n` addresses, at most half the slots used (short probes).
    fn with_capacity(n: usize) -> AddrTable {
        let len = (n * 2).next_power_of_two().max(8);
        AddrTable {
            slots: vec![Slot::default(); len],
            mask: len - 1,
        }
    }

    fn home(&self, addr: u32) -> usize {
        ((u64::from(addr).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize) & self.mask
    }

    /// Adds an address not in the table yet (`keyed.count` > 0).
    fn insert(&mut self, addr: u32, keyed: Keyed) {
        let mut i = self.home(addr);
        while let Some(slot) = self.slots.get_mut(i) {
            if slot.keyed.count == 0 {
                *slot = Slot { addr, keyed };
                return;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Starts loading the slot where the lookup of `addr` starts.
    fn prefetch(&self, addr: u32) {
        if let Some(slot) = self.slots.get(self.home(addr)) {
            crate::prefetch::value(slot);
        }
    }

    /// Tells every slot where the index entries of its first rule's target are.
    fn locate_targets(&mut self, spans: &[Span], dispatch_of: &[u32], place_of: &[u32]) {
        for slot in self.slots.iter_mut().filter(|s| s.keyed.count > 0) {
            let t = slot.keyed.first_target as usize;
            let (hot, len, place) = match (spans.get(t), dispatch_of.get(t), place_of.get(t)) {
                (Some(span), Some(&NONE), Some(&place)) => (span.start, span.len, place),
                _ => (NONE, 0, NONE),
            };
            slot.keyed.target_hot = hot;
            slot.keyed.target_len = len;
            slot.keyed.target_place = place;
        }
    }

    fn get(&self, addr: u32) -> Option<&Keyed> {
        let mut i = self.home(addr);
        loop {
            let slot = self.slots.get(i)?;
            if slot.keyed.count == 0 {
                return None;
            }
            if slot.addr == addr {
                return Some(&slot.keyed);
            }
            i = (i + 1) & self.mask;
        }
    }
}

impl Dispatch {
    /// The dispatch of a long chain whose rules mostly ask for one
    /// destination each; `target` gives the chain a rule jumps or goes to.
    fn of(chain: &Chain, target: impl Fn(usize) -> u32) -> Option<Dispatch> {
        let exact_dst = |r: &super::Rule| r.ip.dst.mask == u32::MAX && !r.ip.dst_inv;
        let n = chain.rules.len();
        let keyed = chain.rules.iter().filter(|r| exact_dst(r)).count();
        if n < MIN_RULES || keyed * 2 < n {
            return None;
        }
        let mut d = Dispatch::default();
        let mut by_addr: Vec<(u32, u32)> = Vec::with_capacity(keyed);
        for (i, r) in chain.rules.iter().enumerate() {
            if exact_dst(r) {
                by_addr.push((u32::from(r.ip.dst.addr), i as u32));
            } else {
                d.wild.push(i as u32);
            }
        }
        crate::sort::sort(&mut by_addr);
        d.keyed = by_addr.iter().map(|(_, r)| *r).collect();
        d.exact = AddrTable::with_capacity(by_addr.len());
        let mut start = 0;
        for run in by_addr.chunk_by(|a, b| a.0 == b.0) {
            let keyed = Keyed {
                start: start as u32,
                count: run.len() as u32,
                first: run[0].1,
                first_target: target(run[0].1 as usize),
                target_hot: NONE,
                target_len: 0,
                target_place: NONE,
            };
            d.exact.insert(run[0].0, keyed);
            start += run.len();
        }
        Some(d)
    }

    /// The first rule from `from` on that a packet to `dst` may match, and
    /// the chain it jumps or goes to when the dispatch knows it.
    fn next(&self, from: usize, dst: Ipv4Addr) -> (usize, Option<Ahead>) {
        let first_from = |v: &[u32]| {
            let i = v.partition_point(|r| (*r as usize) < from);
            v.get(i).map_or(usize::MAX, |r| *r as usize)
        };
        let wild = first_from(&self.wild);
        let (exact, target) = match self.exact.get(u32::from(dst)) {
            None => (usize::MAX, None),
            Some(k) if k.first as usize >= from => (
                k.first as usize,
                (k.first_target != NONE).then_some(Ahead {
                    chain: k.first_target as usize,
                    hot: k.target_hot,
                    len: k.target_len,
                    place: k.target_place,
                }),
            ),
            Some(k) => (
                self.keyed
                    .get(k.start as usize..(k.start + k.count) as usize)
                    .map_or(usize::MAX, first_from),
                None,
            ),
        };
        if exact < wild {
            (exact, target)
        } else {
            (wild, None)
        }
    }
}

/// The chain a rule found by a dispatch jumps or goes to, with where its
/// index entries are when the dispatch knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ahead {
    /// The chain's position in the table.
    pub chain: usize,
    /// Its first index entry and number of rules ([`NONE`]: not known).
    hot: u32,
    len: u32,
    /// Its place in [`WalkIndex::placed`] ([`NONE`]: not known).
    place: u32,
}

/// What an untraced walk reads of a rule before it needs the rule itself:
/// its addresses and protocol, where it jumps, and whether its matches can
/// fail at all. A rule whose addresses fail is passed over without touching
/// it; one whose matches are all always true is not asked. 32 bytes,
/// aligned so that none straddles two cache lines.
#[derive(Debug, Clone, Copy)]
#[repr(align(32))]
struct Hot {
    src: u32,
    src_mask: u32,
    dst: u32,
    dst_mask: u32,
    /// Position in the table of the chain the rule jumps or goes to.
    target: u32,
    /// The one test of the rule's matches, the others being always true
    /// (with [`ONE_TEST`]).
    test: Option<OneTest>,
    proto: u8,
    flags: u8,
}

/// `! -s`.
const SRC_INV: u8 = 1;
/// `! -d`.
const DST_INV: u8 = 2;
/// `! -p`.
const PROTO_INV: u8 = 4;
/// Interfaces or `-f`: the rest of the fixed part is checked on the rule.
const MORE_IP: u8 = 8;
/// Every match of the rule is true for any packet ([`crate::ext::Match::always_matches`]).
const MATCHES_ALWAYS: u8 = 16;
/// Every match of the rule is always true but one, which is one native
/// test ([`crate::ext::Match::native_test`]) kept in [`Hot::test`].
const ONE_TEST: u8 = 32;

impl Hot {
    fn of(r: &super::Rule, target: u32) -> Hot {
        let ip = &r.ip;
        let mut flags = 0;
        for (on, bit) in [
            (ip.src_inv, SRC_INV),
            (ip.dst_inv, DST_INV),
            (ip.proto_inv, PROTO_INV),
            (
                !ip.in_iface.is_empty() || !ip.out_iface.is_empty() || ip.frag,
                MORE_IP,
            ),
            (r.matches.iter().all(|m| m.always_matches()), MATCHES_ALWAYS),
        ] {
            if on {
                flags |= bit;
            }
        }
        // The one match that is not always true, if it is one native test.
        let mut asked = r.matches.iter().filter(|m| !m.always_matches());
        let test = match (asked.next(), asked.next()) {
            (Some(m), None) => m
                .native_test()
                .map(OneTest::Native)
                .or_else(|| {
                    m.random_test()
                        .map(|(below, inv)| OneTest::Random { below, inv })
                })
                .or_else(|| {
                    m.header_test()
                        .and_then(|n| u8::try_from(n).ok())
                        .map(|need| OneTest::Header { need })
                }),
            _ => None,
        };
        if test.is_some() {
            flags |= ONE_TEST;
        }
        Hot {
            src: u32::from(ip.src.addr) & ip.src.mask,
            src_mask: ip.src.mask,
            dst: u32::from(ip.dst.addr) & ip.dst.mask,
            dst_mask: ip.dst.mask,
            target,
            test,
            proto: ip.proto,
            flags,
        }
    }
}

/// What the index knows of a rule before the walk looks at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precheck {
    /// Its source, destination or protocol test fails: it does not match.
    Fails,
    /// Those pass. `rest_of_ip`: the rule's interfaces or `-f` still need
    /// checking; `matches`: what its matches come to.
    Passes { rest_of_ip: bool, matches: Known },
}

/// The one test a rule's matches come to, which the walk runs from the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneTest {
    /// A test of the transport header ([`crate::ext::Match::native_test`]).
    Native(NativeTest),
    /// A random draw below `below`, inverted or not
    /// ([`crate::ext::Match::random_test`]).
    Random { below: u32, inv: bool },
    /// True for a packet that is not a fragment and has `need` transport
    /// bytes; for others the matches must be asked
    /// ([`crate::ext::Match::header_test`]).
    Header { need: u8 },
}

/// What the index knows of a rule's matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// They are all true, whatever the packet.
    Always,
    /// They are true when this test of the transport header passes.
    Test(OneTest),
    /// They must be asked.
    Ask,
}

/// The walk of every chain of a table in flat arrays (a packet crossing
/// many chains touches little memory).
#[derive(Debug, Default)]
pub struct WalkIndex {
    /// Where each chain's rules are, by the chain's position in the table.
    spans: Vec<Span>,
    /// What the walk reads first of every rule, chain after chain in the
    /// order a walk meets them: each chain right after the first chain
    /// that jumps to it (kube-proxy's service chain, then its endpoints'),
    /// so that the chains one packet walks are side by side.
    hot: Vec<Hot>,
    /// The dispatches on destination, each of one long chain.
    dispatches: Vec<Dispatch>,
    /// Which of `dispatches` each chain has, by its position ([`NONE`]: none).
    dispatch_of: Vec<u32>,
    /// The spans in the order the chains are placed in `hot`: a chain's is
    /// followed by those of the chains it jumps to, so one look finds
    /// where all their rules are.
    placed: Vec<Span>,
}

/// Where one chain's rules are, in one place: a walk entering a chain far
/// from the last one reads one cache line for it.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    /// Its first entry in `hot`, and its number of rules.
    start: u32,
    len: u32,
    /// Where its rules were when the index was made: only for loading them
    /// ahead without reading the chain first (a hint, which an address
    /// gone stale makes useless, never wrong).
    rules_at: usize,
}

impl WalkIndex {
    pub fn new(table: &Table) -> WalkIndex {
        let n = table.chains.len();
        let mut w = WalkIndex {
            spans: table
                .chains
                .iter()
                .map(|c| Span {
                    rules_at: c.rules.as_ptr() as usize,
                    ..Span::default()
                })
                .collect(),
            dispatch_of: vec![NONE; n],
            ..WalkIndex::default()
        };
        // Chains in table order, each followed by the chains it jumps to
        // that are not placed yet (depth first, without recursion).
        let mut placed = vec![false; n];
        let mut order: Vec<usize> = Vec::with_capacity(n);
        let mut todo: Vec<usize> = Vec::new();
        for root in 0..n {
            todo.push(root);
            while let Some(ci) = todo.pop() {
                let Some(c) = table.chains.get(ci).filter(|_| !placed[ci]) else {
                    continue;
                };
                placed[ci] = true;
                order.push(ci);
                let start = w.hot.len();
                w.spans[ci].start = start as u32;
                w.spans[ci].len = c.rules.len() as u32;
                w.hot.extend(c.rules.iter().map(|r| {
                    let target = r
                        .target
                        .chain()
                        .and_then(|t| table.chain_index(t))
                        .map_or(NONE, |i| i as u32);
                    Hot::of(r, target)
                }));
                let hot = &w.hot[start..];
                todo.extend(
                    hot.iter()
                        .rev()
                        .filter(|h| h.target != NONE && !placed[h.target as usize])
                        .map(|h| h.target as usize),
                );
                if let Some(d) = Dispatch::of(c, |rule| hot[rule].target) {
                    w.dispatch_of[ci] = w.dispatches.len() as u32;
                    w.dispatches.push(d);
                }
            }
        }
        let mut place_of = vec![NONE; n];
        for (place, &ci) in order.iter().enumerate() {
            place_of[ci] = place as u32;
        }
        w.placed = order.iter().map(|&ci| w.spans[ci]).collect();
        let WalkIndex {
            spans,
            dispatches,
            dispatch_of,
            ..
        } = &mut w;
        for d in dispatches.iter_mut() {
            d.exact.locate_targets(spans, dispatch_of, &place_of);
        }
        w
    }

    /// An index of no chains (every chain is walked rule by rule).
    pub fn empty() -> &'static WalkIndex {
        static EMPTY: std::sync::OnceLock<WalkIndex> = std::sync::OnceLock::new();
        EMPTY.get_or_init(WalkIndex::default)
    }

    /// The walk of chain `chain` if it was made for `rules` rules.
    #[inline]
    pub fn chain(&self, chain: usize, rules: usize) -> Option<ChainWalk<'_>> {
        let span = self.spans.get(chain)?;
        let start = span.start as usize;
        (span.len as usize == rules).then_some(ChainWalk {
            index: self,
            start,
            rules,
            dispatch: self.dispatch(chain),
        })
    }

    /// The number of chains the index was made for.
    pub fn chains(&self) -> usize {
        self.spans.len()
    }

    /// The index entries of chain `chain` (empty for no such chain).
    fn hot_of(&self, chain: usize) -> &[Hot] {
        match self.spans.get(chain) {
            Some(s) => self
                .hot
                .get(s.start as usize..(s.start + s.len) as usize)
                .unwrap_or(&[]),
            None => &[],
        }
    }

    /// Starts loading the index entries of the first `max` rules of chain
    /// `chain` into the cache.
    pub fn prefetch_chain(&self, chain: usize, max: usize) {
        let hot = self.hot_of(chain);
        let hot = &hot[..hot.len().min(max)];
        for line in (0..std::mem::size_of_val(hot)).step_by(64) {
            crate::prefetch::bytes(hot.as_ptr(), line);
        }
        if let Some(last) = hot.last() {
            crate::prefetch::value(last);
        }
    }

    /// Starts loading what the walk reads of the chain `ahead` names and of
    /// the `chains_after` chains placed right after it (the chains it jumps
    /// to), without reading the chain's span first: the index entries of its
    /// first `max` rules and of `beyond` entries after them, and the bytes
    /// at `offsets` into the first `max` rules of it and the first
    /// `beyond_rules` of each of the others. False when the dispatch did not
    /// know where the chain is.
    pub fn prefetch_ahead(
        &self,
        ahead: &Ahead,
        (max, beyond): (usize, usize),
        (chains_after, beyond_rules): (usize, usize),
        offsets: [usize; 2],
    ) -> bool {
        if ahead.hot == NONE {
            return false;
        }
        let start = ahead.hot as usize;
        let end = (start + (ahead.len as usize).min(max) + beyond).min(self.hot.len());
        if let Some(hot) = self.hot.get(start..end) {
            for line in (0..std::mem::size_of_val(hot)).step_by(64) {
                crate::prefetch::bytes(hot.as_ptr(), line);
            }
        }
        let place = ahead.place as usize;
        let spans = self.placed.get(place..).unwrap_or(&[]);
        for (i, span) in spans.iter().take(1 + chains_after).enumerate() {
            let n = (span.len as usize).min(if i == 0 { max } else { beyond_rules });
            let mut rule = span.rules_at as *const super::Rule;
            for _ in 0..n {
                crate::prefetch::bytes(rule, offsets[0]);
                crate::prefetch::bytes(rule, offsets[1]);
                rule = rule.wrapping_add(1);
            }
        }
        true
    }

    /// Starts loading the bytes at `offsets` into each of the first `max`
    /// rules of chain `chain` (fields of [`super::Rule`]), without reading
    /// the chain.
    pub fn prefetch_rules(&self, chain: usize, max: usize, offsets: [usize; 2]) {
        let Some(span) = self.spans.get(chain) else {
            return;
        };
        let n = (span.len as usize).min(max);
        let mut rule = span.rules_at as *const super::Rule;
        for _ in 0..n {
            crate::prefetch::bytes(rule, offsets[0]);
            crate::prefetch::bytes(rule, offsets[1]);
            rule = rule.wrapping_add(1);
        }
    }

    /// Whether chain `chain` is dispatched on destination (a walk of it
    /// goes straight to the rules a packet may match).
    #[inline]
    pub fn dispatched(&self, chain: usize) -> bool {
        self.dispatch_of.get(chain).is_some_and(|d| *d != NONE)
    }

    #[inline]
    fn dispatch(&self, chain: usize) -> Option<&Dispatch> {
        let d = *self.dispatch_of.get(chain)?;
        self.dispatches.get(d as usize)
    }

    /// Starts loading where the dispatches of the table keep the rules for
    /// destination `dst`: a packet's first look at a long chain, asked for
    /// before the work that comes first (conntrack) so that the two overlap.
    pub fn prefetch_dispatch(&self, dst: Ipv4Addr) {
        for d in &self.dispatches {
            d.exact.prefetch(u32::from(dst));
        }
    }

    /// The chains the first `max` rules of chain `chain` jump or go to.
    pub fn targets(&self, chain: usize, max: usize) -> impl Iterator<Item = usize> + '_ {
        self.hot_of(chain)
            .iter()
            .take(max)
            .filter(|h| h.target != NONE)
            .map(|h| h.target as usize)
    }
}

/// One chain of a [`WalkIndex`].
#[derive(Debug, Clone, Copy)]
pub struct ChainWalk<'w> {
    index: &'w WalkIndex,
    start: usize,
    rules: usize,
    /// The chain's dispatch on destination, if it has one.
    dispatch: Option<&'w Dispatch>,
}

impl ChainWalk<'_> {
    /// The chain rule `rule` jumps or goes to (`None`: no such chain).
    #[inline]
    pub fn target(&self, rule: usize) -> Option<usize> {
        if rule >= self.rules {
            return None;
        }
        self.index
            .hot
            .get(self.start + rule)
            .filter(|h| h.target != NONE)
            .map(|h| h.target as usize)
    }

    /// The source, destination and protocol tests of rule `rule` for a
    /// packet, from the index (`None`: no such rule).
    #[inline]
    pub fn precheck(
        &self,
        rule: usize,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        proto: u8,
    ) -> Option<Precheck> {
        if rule >= self.rules {
            return None;
        }
        let h = self.index.hot.get(self.start + rule)?;
        let inv = |bit: u8| h.flags & bit != 0;
        let fails = (u32::from(src) & h.src_mask == h.src) == inv(SRC_INV)
            || (u32::from(dst) & h.dst_mask == h.dst) == inv(DST_INV)
            || (h.proto != 0 && (proto == h.proto) == inv(PROTO_INV));
        Some(if fails {
            Precheck::Fails
        } else {
            Precheck::Passes {
                rest_of_ip: inv(MORE_IP),
                matches: match h.test {
                    _ if inv(MATCHES_ALWAYS) => Known::Always,
                    Some(t) if inv(ONE_TEST) => Known::Test(t),
                    _ => Known::Ask,
                },
            }
        })
    }

    /// Whether the chain is dispatched on destination.
    #[inline]
    pub fn is_dispatched(&self) -> bool {
        self.dispatch.is_some()
    }

    /// The first rule from `from` on that a packet to `dst` may match; the
    /// number of rules when none may.
    #[inline]
    pub fn next(&self, from: usize, dst: Ipv4Addr) -> usize {
        self.next_and_target(from, dst).0
    }

    /// [`ChainWalk::next`], and the chain that rule jumps or goes to when
    /// the dispatch tells it without the rule's index entry being read.
    #[inline]
    pub fn next_and_target(&self, from: usize, dst: Ipv4Addr) -> (usize, Option<Ahead>) {
        match self.dispatch {
            Some(d) => {
                let (rule, target) = d.next(from, dst);
                let target = target.filter(|_| rule < self.rules);
                (rule.min(self.rules), target)
            }
            None => (from, None),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A kube-proxy-shaped nat table: a long chain with one rule per
    /// service address, each jumping to the service's chain, which jumps to
    /// its endpoints' chains.
    fn kube_nat(services: usize) -> crate::sim::host::Host {
        let mut rules = String::from("*nat\n:PREROUTING ACCEPT [0:0]\n:SVCS - [0:0]\n");
        for i in 0..services {
            rules += &format!(":SVC-{i} - [0:0]\n:SEP-{i}-a - [0:0]\n:SEP-{i}-b - [0:0]\n");
        }
        rules += "-A PREROUTING -j SVCS\n";
        for i in 0..services {
            rules += &format!(
                "-A SVCS -d 10.96.0.{i}/32 -p tcp --dport 80 -j SVC-{i}\n\
                 -A SVC-{i} -m statistic --mode random --probability 0.5 -j SEP-{i}-a\n\
                 -A SVC-{i} -j SEP-{i}-b\n\
                 -A SEP-{i}-a -p tcp -j DNAT --to-destination 10.128.0.{i}:8080\n\
                 -A SEP-{i}-b -s 10.128.1.{i} -j ACCEPT\n\
                 -A SEP-{i}-b -p tcp -j DNAT --to-destination 10.128.1.{i}:8080\n"
            );
        }
        rules += "-A SVCS -j RETURN\nCOMMIT\n";
        let mut host = crate::sim::host::Host::new("h");
        let argv = vec!["iptables-restore".to_string()];
        let out = crate::command::run_argv(&mut host, &argv, Some(&rules));
        assert_eq!(out.exit, 0, "{}", out.stderr);
        host
    }

    #[test]
    fn a_dispatch_names_where_its_target_chains_are() {
        let mut host = kube_nat(40);
        let table = host.ruleset.table_mut("nat").expect("nat");
        let svcs = table.chain_index("SVCS").expect("SVCS");
        let rules = table.chains[svcs].rules.len();
        let (chains, index) = table.walk_parts();
        let w = index.chain(svcs, rules).expect("walk of SVCS");
        assert!(w.is_dispatched());
        for i in 0..40u8 {
            let (rule, ahead) = w.next_and_target(0, Ipv4Addr::new(10, 96, 0, i));
            assert_eq!(rule, usize::from(i));
            let ahead = ahead.expect("the dispatch knows the target");
            let svc = &chains[ahead.chain];
            assert_eq!(svc.name, format!("SVC-{i}"));
            let span = index.spans[ahead.chain];
            assert_eq!((ahead.hot, ahead.len), (span.start, span.len));
            // The service's chain, then its endpoints' chains, placed in a row.
            let placed = &index.placed[ahead.place as usize..][..3];
            let names: Vec<&str> = placed
                .iter()
                .map(|p| {
                    let c = index
                        .spans
                        .iter()
                        .position(|s| s.start == p.start && s.len == p.len);
                    chains[c.expect("a chain's span")].name.as_str()
                })
                .collect();
            assert_eq!(
                names,
                [
                    format!("SVC-{i}"),
                    format!("SEP-{i}-a"),
                    format!("SEP-{i}-b")
                ]
            );
            for (p, name) in placed.iter().zip(&names) {
                let c = chains.iter().position(|c| c.name == *name).expect("chain");
                assert_eq!(p.rules_at, chains[c].rules.as_ptr() as usize);
            }
        }
        // No rule for this address: the catch-all, no target to load.
        let (rule, ahead) = w.next_and_target(0, Ipv4Addr::new(10, 96, 1, 1));
        assert_eq!((rule, ahead), (40, None));
    }
}
