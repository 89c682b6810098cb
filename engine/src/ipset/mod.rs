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
pub mod kadt;
pub mod parse;
pub mod print;
pub mod restore;
pub mod set;
pub mod types;

pub use kadt::{CounterCmp, Dir, PacketFields, SkbInfo, TestOpts, Tested, Transport};
pub use set::IpSet;

use crate::ext::SetRef;
use crate::ruleset::{RuleTarget, Ruleset};
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

    /// Drops expired members of every set (`now` in nanoseconds).
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
}
