//! The linter: warnings about a host's rules that are legal but probably not
//! what their author meant (rules that can never match, chains nothing
//! reaches, a DROP policy that forgets replies, SSH cut from the admin, NAT
//! that cannot work with the host's routes). One module per kind of warning;
//! each says only what it can prove, so a clean ruleset stays silent.

pub mod cmd;
mod cover;
mod dnat_forward;
mod empty_jump;
mod nat_iface;
mod no_established;
pub mod probe;
mod shadowed;
mod ssh_cut;
mod unreachable;

use crate::ruleset::{Rule, Table};
use crate::sim::host::Host;
use serde::Serialize;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// One finding of the linter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Stable id of the kind of warning: `shadowed`, `unreachable-chain`,
    /// `empty-jump`, `no-established`, `ssh-cut`, `dnat-no-forward`,
    /// `nat-unused-iface`.
    pub kind: &'static str,
    pub table: String,
    pub chain: String,
    /// 1-based number of the rule the warning is about, `None` for a chain
    /// or policy.
    pub rule: Option<usize>,
    /// Plain English, naming the rules concerned.
    pub message: String,
}

/// What the linter needs besides the host.
#[derive(Debug, Clone, Default)]
pub struct LintContext {
    /// The address the host is administered from (a lab's admin host, or
    /// given by the caller). `None`: the SSH check asks about the peers of
    /// the host's current SSH sessions (conntrack), else, on a host that
    /// listens on tcp port 22, about every other host.
    pub admin: Option<Ipv4Addr>,
}

/// Every warning for a host's rules, in a stable order: by table
/// (iptables-save order), then by kind as listed on [`Warning::kind`].
pub fn lint(host: &Host, ctx: &LintContext) -> Vec<Warning> {
    let mut out = Vec::new();
    for table in &host.ruleset.tables {
        if !table.exists {
            continue;
        }
        shadowed::check(table, &mut out);
        unreachable::check(table, &mut out);
        empty_jump::check(table, &mut out);
    }
    no_established::check(host, &mut out);
    ssh_cut::check(host, ctx, &mut out);
    dnat_forward::check(host, &mut out);
    nat_iface::check(host, &mut out);
    out
}

/// A rule as `iptables -S` shows it after `-A CHAIN`.
fn rule_text(rule: &Rule) -> String {
    rule.spec_text().trim().to_string()
}

/// `rule 4 (-p tcp --dport 22 -j ACCEPT)`.
fn rule_ref(n: usize, rule: &Rule) -> String {
    format!("rule {n} ({})", rule_text(rule))
}

/// Names of the chains packets can reach: the built-in chains and every
/// chain a reachable chain jumps or goes to.
fn reachable_chains(table: &Table) -> BTreeSet<String> {
    let starts = table
        .chains
        .iter()
        .filter(|c| c.is_builtin())
        .map(|c| c.name.as_str())
        .collect();
    reachable(table, starts)
}

/// Names of the chains reachable from one chain (itself included).
fn reachable_from(table: &Table, chain: &str) -> BTreeSet<String> {
    reachable(table, vec![chain])
}

fn reachable<'a>(table: &'a Table, mut todo: Vec<&'a str>) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.to_string()) {
            continue;
        }
        if let Some(c) = table.chain(name) {
            for r in &c.rules {
                if let Some(t) = r.target.chain() {
                    if !seen.contains(t) {
                        todo.push(t);
                    }
                }
            }
        }
    }
    seen
}
