//! ipset: set types, the `ipset` command, list/save output, restore, and
//! the lookups `-m set` and `-j SET` make on packets.
//!
//! References to a set (rules with `-m set` / `-j SET`, membership in a
//! `list:set`) are not stored: they are counted from the host's ruleset and
//! sets whenever needed ([`references`]), so they can never drift when rules
//! are added, deleted, flushed, replaced, restored or chains removed.

pub mod cmd;
pub mod elem;
pub mod help;
pub mod parse;
pub mod print;
pub mod restore;
pub mod set;
pub mod types;

pub use set::IpSet;

use crate::ext::SetRef;
use crate::ruleset::{RuleTarget, Ruleset};
use set::{ExtArgs, Key};
use std::net::Ipv4Addr;
use types::Kind;

/// All ipsets of one host, in kernel index order (a new set takes the first free index).
#[derive(Debug, Clone, Default)]
pub struct Store {
    slots: Vec<Option<IpSet>>,
    /// Seed for `initval` values.
    rng: u64,
}

impl Store {
    /// What `-m set` / `-j SET` learn about a set, `None` if it does not exist.
    pub fn set_ref(&self, name: &str) -> Option<SetRef> {
        self.get(name).map(|s| SetRef {
            name: s.name.clone(),
            dimensions: s.kind.dimension(),
            inet6: s.header.inet6,
        })
    }

    pub fn get(&self, name: &str) -> Option<&IpSet> {
        self.slots.iter().flatten().find(|s| s.name == name)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut IpSet> {
        self.slots.iter_mut().flatten().find(|s| s.name == name)
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.name == name))
    }

    /// Sets in the order the kernel lists them: other types first, list:set last.
    pub fn sets(&self) -> Vec<&IpSet> {
        let mut v: Vec<&IpSet> = self
            .slots
            .iter()
            .flatten()
            .filter(|s| s.kind != Kind::ListSet)
            .collect();
        v.extend(
            self.slots
                .iter()
                .flatten()
                .filter(|s| s.kind == Kind::ListSet),
        );
        v
    }

    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    /// Adds a set at the first free index.
    pub fn insert(&mut self, set: IpSet) {
        match self.slots.iter().position(Option::is_none) {
            Some(i) => self.slots[i] = Some(set),
            None => self.slots.push(Some(set)),
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<IpSet> {
        let i = self.index(name)?;
        self.slots[i].take()
    }

    pub fn clear(&mut self) {
        self.slots.clear();
    }

    /// Swaps the contents of two sets; names (and so references) stay put.
    pub fn swap(&mut self, a: &str, b: &str) {
        let (Some(i), Some(j)) = (self.index(a), self.index(b)) else {
            return;
        };
        if i == j {
            return;
        }
        self.slots.swap(i, j);
        let (na, nb) = (a.to_string(), b.to_string());
        if let Some(s) = self.slots[i].as_mut() {
            s.name = na;
        }
        if let Some(s) = self.slots[j].as_mut() {
            s.name = nb;
        }
    }

    /// A new pseudo-random `initval` (xorshift, seeded per host).
    pub fn next_initval(&mut self, seed: u64) -> u32 {
        if self.rng == 0 {
            self.rng = seed | 1;
        }
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x >> 16) as u32
    }

    /// Drops expired members of every set.
    pub fn expire(&mut self, now: u64) {
        for s in self.slots.iter_mut().flatten() {
            s.expire(now);
        }
    }

    /// Number of list:set sets holding `name`.
    pub fn list_refs(&self, name: &str) -> usize {
        self.slots
            .iter()
            .flatten()
            .filter(|s| s.has_member_named(name))
            .count()
    }

    /// Renames a set and its memberships in list:sets.
    pub fn rename(&mut self, old: &str, new: &str) {
        for s in self.slots.iter_mut().flatten() {
            if s.name == old {
                s.name = new.to_string();
            }
            if s.kind == Kind::ListSet {
                s.rename_member(old, new);
            }
        }
    }

    /// `-m set`: whether a packet's fields are in the set, the dimensions
    /// taken from the source or destination as `dirs` says. `None` when the
    /// set does not exist.
    pub fn test_packet(&mut self, name: &str, pkt: &PacketFields, q: &MatchQuery) -> Option<bool> {
        let now = q.now;
        let kind = self.get(name)?.kind;
        if kind == Kind::ListSet {
            let members = self.get(name)?.member_names();
            for m in members {
                if self.test_packet(&m, pkt, q) == Some(true) {
                    return Some(true);
                }
            }
            return Some(false);
        }
        if (q.dirs.len() as u8) < kind.dimension() {
            return Some(false);
        }
        let set = self.get_mut(name)?;
        set.expire(now);
        let Some(key) = packet_key(set, pkt, &q.dirs) else {
            return Some(false);
        };
        let hit = set.lookup(&key, false).map(|e| e.key.clone());
        let Some(hit) = hit else {
            return Some(false);
        };
        let counters = set.header.counters;
        let entry = set.get_mut(&hit)?;
        if kind == Kind::BitmapIpMac {
            if let (Some(a), Some(b)) = (entry.mac, pkt.src_mac) {
                if a != b {
                    return Some(false);
                }
            }
        }
        let mut matched = !entry.nomatch;
        if q.return_nomatch && kind.has_nomatch() {
            matched = !matched;
        }
        if matched && counters {
            if !(q.packets.is_none_or(|c| c.check(entry.packets))
                && q.bytes.is_none_or(|c| c.check(entry.bytes)))
            {
                return Some(false);
            }
            if q.update_counters {
                entry.packets += 1;
                entry.bytes += pkt.len;
            }
        }
        Some(matched)
    }

    /// `-j SET --add-set`: adds the packet's fields to the set.
    pub fn add_packet(
        &mut self,
        name: &str,
        pkt: &PacketFields,
        dirs: &[Dir],
        exist: bool,
        timeout: Option<u32>,
        now: u64,
    ) -> bool {
        let Some(set) = self.get_mut(name) else {
            return false;
        };
        if set.kind == Kind::ListSet || (dirs.len() as u8) < set.kind.dimension() {
            return false;
        }
        set.expire(now);
        let Some(key) = packet_key(set, pkt, dirs) else {
            return false;
        };
        let ext = ExtArgs {
            timeout: timeout.filter(|_| set.header.timeout.is_some()),
            ..Default::default()
        };
        let mac = if set.kind == Kind::BitmapIpMac {
            pkt.src_mac
        } else {
            None
        };
        set.add_one(key, mac, &ext, exist, now).is_ok()
    }

    /// `-j SET --del-set`: deletes the packet's fields from the set.
    pub fn del_packet(&mut self, name: &str, pkt: &PacketFields, dirs: &[Dir]) -> bool {
        let Some(set) = self.get_mut(name) else {
            return false;
        };
        if set.kind == Kind::ListSet || (dirs.len() as u8) < set.kind.dimension() {
            return false;
        }
        let Some(key) = packet_key(set, pkt, dirs) else {
            return false;
        };
        set.del_one(&key, false).is_ok()
    }
}

/// Source or destination, per dimension of a `-m set` / `-j SET` flag list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Src,
    Dst,
}

/// The packet fields a set lookup uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketFields {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    /// ICMP type and code, for ICMP packets.
    pub icmp: Option<(u8, u8)>,
    pub in_iface: String,
    pub out_iface: String,
    pub src_mac: Option<[u8; 6]>,
    /// Packet length, for byte counters.
    pub len: u64,
}

/// A counter comparison of `-m set --packets-gt` and friends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterCmp {
    Eq(u64),
    Ne(u64),
    Lt(u64),
    Gt(u64),
}

impl CounterCmp {
    pub fn check(self, v: u64) -> bool {
        match self {
            CounterCmp::Eq(x) => v == x,
            CounterCmp::Ne(x) => v != x,
            CounterCmp::Lt(x) => v < x,
            CounterCmp::Gt(x) => v > x,
        }
    }
}

/// How `-m set` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchQuery {
    pub dirs: Vec<Dir>,
    pub return_nomatch: bool,
    pub update_counters: bool,
    pub packets: Option<CounterCmp>,
    pub bytes: Option<CounterCmp>,
    pub now: u64,
}

/// The member key a packet maps to in a set.
fn packet_key(set: &IpSet, pkt: &PacketFields, dirs: &[Dir]) -> Option<Key> {
    let addr = |d: Dir| u32::from(if d == Dir::Src { pkt.src } else { pkt.dst });
    let mut key = Key::default();
    for (i, part) in set.kind.parts().iter().enumerate() {
        let d = *dirs.get(i)?;
        match part {
            types::Part::Ip => key.ip = addr(d) & elem::hostmask(set),
            types::Part::Net => {
                key.ip = addr(d);
                key.cidr = 32;
            }
            types::Part::Ip2 => key.ip2 = addr(d),
            types::Part::Net2 => {
                key.ip2 = addr(d);
                key.cidr2 = 32;
            }
            types::Part::Port => {
                key.port = match pkt.icmp {
                    Some((t, c)) if pkt.proto == 1 => ((t as u16) << 8) | c as u16,
                    _ if parse::proto_with_ports(pkt.proto) => {
                        if d == Dir::Src {
                            pkt.sport
                        } else {
                            pkt.dport
                        }
                    }
                    _ => 0,
                };
                if set.kind != Kind::BitmapPort {
                    key.proto = pkt.proto;
                } else if !parse::proto_with_ports(pkt.proto) {
                    return None;
                }
            }
            types::Part::Iface => {
                key.iface = if d == Dir::Src {
                    pkt.in_iface.clone()
                } else {
                    pkt.out_iface.clone()
                };
            }
            types::Part::Mac | types::Part::Name => {}
        }
    }
    match set.kind {
        Kind::BitmapIp | Kind::BitmapIpMac => {
            let (first, last) = set.header.range;
            if key.ip < first || key.ip > last {
                return None;
            }
            let hosts = 1u64 << (32 - set.header.netmask.unwrap_or(32) as u32);
            key.ip = first + (((key.ip - first) as u64 / hosts) * hosts) as u32;
        }
        Kind::BitmapPort => {
            let (first, last) = set.header.range;
            if (key.port as u32) < first || (key.port as u32) > last {
                return None;
            }
        }
        _ => {}
    }
    Some(key)
}

/// Set names a rule refers to (`-m set --match-set`, `-j SET --add-set/--del-set/--map-set`),
/// once per reference.
pub fn rule_set_names(rule: &crate::ruleset::Rule) -> Vec<String> {
    let mut v = Vec::new();
    for m in &rule.matches {
        if let Some(sm) = m.as_any().downcast_ref::<crate::ext::set::SetMatch>() {
            v.push(sm.set.clone());
        }
    }
    if let RuleTarget::Ext(t) = &rule.target {
        if let Some(st) = t
            .as_any()
            .downcast_ref::<crate::ext::set_target::SetTarget>()
        {
            v.extend(st.set_names().into_iter().map(String::from));
        }
    }
    v
}

/// References to a set: rules naming it in every table, and list:sets holding it.
pub fn references(ruleset: &Ruleset, store: &Store, name: &str) -> usize {
    let rules = ruleset
        .tables
        .iter()
        .flat_map(|t| t.chains.iter())
        .flat_map(|c| c.rules.iter())
        .map(|r| rule_set_names(r).iter().filter(|n| *n == name).count())
        .sum::<usize>();
    rules + store.list_refs(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn sh(h: &mut Host, s: &str) -> crate::command::Output {
        let argv: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &argv, None)
    }

    fn pkt(src: [u8; 4], dst: [u8; 4], proto: u8, dport: u16) -> PacketFields {
        PacketFields {
            src: Ipv4Addr::from(src),
            dst: Ipv4Addr::from(dst),
            proto,
            sport: 40000,
            dport,
            icmp: None,
            in_iface: "eth0".into(),
            out_iface: String::new(),
            src_mac: None,
            len: 60,
        }
    }

    fn query(dirs: &[Dir]) -> MatchQuery {
        MatchQuery {
            dirs: dirs.to_vec(),
            return_nomatch: false,
            update_counters: true,
            packets: None,
            bytes: None,
            now: 0,
        }
    }

    #[test]
    fn packets_match_by_dimension() {
        let mut h = Host::new("h");
        assert_eq!(sh(&mut h, "ipset create web hash:ip,port").exit, 0);
        assert_eq!(sh(&mut h, "ipset add web 10.0.0.1,tcp:80").exit, 0);
        let p = pkt([1, 1, 1, 1], [10, 0, 0, 1], 6, 80);
        let q = query(&[Dir::Dst, Dir::Dst]);
        assert_eq!(h.ipsets.test_packet("web", &p, &q), Some(true));
        let q = query(&[Dir::Src, Dir::Dst]);
        assert_eq!(h.ipsets.test_packet("web", &p, &q), Some(false));
        let q = query(&[Dir::Dst]);
        assert_eq!(h.ipsets.test_packet("web", &p, &q), Some(false));
        assert_eq!(h.ipsets.test_packet("nosuch", &p, &q), None);
    }

    #[test]
    fn nets_nomatch_and_lists() {
        let mut h = Host::new("h");
        sh(&mut h, "ipset create n hash:net");
        sh(&mut h, "ipset add n 10.0.0.0/8");
        sh(&mut h, "ipset add n 10.1.0.0/16 nomatch");
        sh(&mut h, "ipset create l list:set");
        sh(&mut h, "ipset add l n");
        let q = query(&[Dir::Src]);
        let p = pkt([10, 2, 0, 1], [1, 1, 1, 1], 17, 53);
        assert_eq!(h.ipsets.test_packet("n", &p, &q), Some(true));
        assert_eq!(h.ipsets.test_packet("l", &p, &q), Some(true));
        let p = pkt([10, 1, 0, 1], [1, 1, 1, 1], 17, 53);
        assert_eq!(h.ipsets.test_packet("n", &p, &q), Some(false));
        let mut rq = query(&[Dir::Src]);
        rq.return_nomatch = true;
        assert_eq!(h.ipsets.test_packet("n", &p, &rq), Some(true));
    }

    #[test]
    fn set_target_adds_and_deletes() {
        let mut h = Host::new("h");
        sh(&mut h, "ipset create seen hash:ip timeout 60");
        let p = pkt([192, 168, 1, 9], [1, 1, 1, 1], 6, 22);
        assert!(h.ipsets.add_packet("seen", &p, &[Dir::Src], false, None, 0));
        assert!(!h.ipsets.add_packet("seen", &p, &[Dir::Src], false, None, 0));
        assert!(h
            .ipsets
            .add_packet("seen", &p, &[Dir::Src], true, Some(5), 0));
        assert_eq!(
            h.ipsets.test_packet("seen", &p, &query(&[Dir::Src])),
            Some(true)
        );
        let mut q = query(&[Dir::Src]);
        q.now = 10;
        assert_eq!(h.ipsets.test_packet("seen", &p, &q), Some(false));
        assert!(!h.ipsets.del_packet("seen", &p, &[Dir::Src]));
    }

    #[test]
    fn references_follow_the_rulesets() {
        let mut h = Host::new("h");
        sh(&mut h, "ipset create s hash:ip");
        sh(&mut h, "ipset create t hash:ip");
        let refs = |h: &Host, n: &str| references(&h.ruleset, &h.ipsets, n);
        sh(&mut h, "iptables -A INPUT -m set --match-set s src -j DROP");
        sh(&mut h, "iptables -N C");
        sh(
            &mut h,
            "iptables -A C -j SET --add-set s src --del-set s dst",
        );
        sh(
            &mut h,
            "iptables -t mangle -A OUTPUT -m set --match-set t dst",
        );
        assert_eq!((refs(&h, "s"), refs(&h, "t")), (3, 1));
        let o = sh(&mut h, "ipset destroy s");
        assert_eq!(
            o.stderr,
            "ipset v7.17: Set cannot be destroyed: it is in use by a kernel component\n"
        );
        sh(&mut h, "iptables -R INPUT 1 -m set --match-set t src");
        assert_eq!((refs(&h, "s"), refs(&h, "t")), (2, 2));
        sh(&mut h, "iptables -F C");
        sh(&mut h, "iptables -X C");
        assert_eq!(refs(&h, "s"), 0);
        sh(&mut h, "ipset create l list:set");
        sh(&mut h, "ipset add l s");
        assert_eq!(refs(&h, "s"), 1);
        sh(&mut h, "ipset del l s");
        assert_eq!(sh(&mut h, "ipset destroy s").exit, 0);
        let argv = vec!["iptables-restore".to_string()];
        crate::command::run_argv(&mut h, &argv, Some("*filter\nCOMMIT\n*mangle\nCOMMIT\n"));
        assert_eq!(refs(&h, "t"), 0);
        assert_eq!(sh(&mut h, "ipset destroy").exit, 0);
    }

    #[test]
    fn counters_compare_then_update() {
        let mut h = Host::new("h");
        sh(&mut h, "ipset create c hash:ip counters");
        sh(&mut h, "ipset add c 1.1.1.1 packets 5 bytes 100");
        let p = pkt([1, 1, 1, 1], [2, 2, 2, 2], 6, 80);
        let mut q = query(&[Dir::Src]);
        q.packets = Some(CounterCmp::Gt(5));
        assert_eq!(h.ipsets.test_packet("c", &p, &q), Some(false));
        q.packets = Some(CounterCmp::Eq(5));
        assert_eq!(h.ipsets.test_packet("c", &p, &q), Some(true));
        assert_eq!(h.ipsets.test_packet("c", &p, &q), Some(false));
    }
}
