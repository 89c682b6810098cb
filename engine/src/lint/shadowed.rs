//! `shadowed`: a rule that can never match because an earlier rule of the
//! same chain ends the chain for every packet it would match.

use super::cover::{covers, Barrier};
use super::probe::{effect, Effect};
use super::{rule_ref, Warning};
use crate::ruleset::{Rule, Table};

/// Ends the chain for the packets it matches: a verdict, or a jump to a
/// chain no packet comes back from.
fn terminates(table: &Table, r: &Rule) -> bool {
    match effect(&r.target) {
        Effect::Accept | Effect::Drop | Effect::Reject | Effect::Return => true,
        Effect::Jump(c) | Effect::Goto(c) => never_returns(table, &c, 0),
        _ => false,
    }
}

/// Whether every packet entering the chain gets a verdict there (or in a
/// chain it jumps to): no RETURN, and an unconditional ACCEPT, DROP or
/// REJECT reached before any goto to a chain packets may come back from.
fn never_returns(table: &Table, name: &str, depth: usize) -> bool {
    let Some(chain) = table.chain(name) else {
        return false;
    };
    if chain.is_builtin() || depth > 8 {
        return false;
    }
    for r in &chain.rules {
        match effect(&r.target) {
            Effect::Return => return false,
            Effect::Goto(c) if !never_returns(table, &c, depth + 1) => return false,
            Effect::Accept | Effect::Drop | Effect::Reject if unconditional(r) => return true,
            _ => {}
        }
    }
    false
}

/// Matches every packet: no address, interface, protocol or fragment
/// condition, and no match but comments.
fn unconditional(r: &Rule) -> bool {
    r.ip == crate::ruleset::IpSpec::default()
        && r.matches.iter().all(|m| m.info().name == "comment")
}

/// What a rule may change for the rules after it (marks, sets, header
/// fields, the conntrack entry; a jump may do any of these).
fn changes(r: &Rule) -> Barrier {
    let all = Barrier {
        packet: true,
        conntrack: true,
    };
    match effect(&r.target) {
        Effect::Accept | Effect::Drop | Effect::Reject | Effect::Return => Barrier::default(),
        Effect::GoOn => match r.target.list_name() {
            "" | "LOG" | "NFLOG" | "ULOG" | "TRACE" | "AUDIT" => Barrier::default(),
            "CT" | "NOTRACK" => all,
            _ => Barrier {
                packet: true,
                conntrack: false,
            },
        },
        Effect::Jump(_) | Effect::Goto(_) | Effect::Other => all,
    }
}

/// How many earlier rules each rule is compared with: enough for any
/// hand-written chain, and a bound on the work for generated ones (a rule
/// shadowed from further back is not reported).
const LOOKBACK: usize = 500;

pub fn check(table: &Table, out: &mut Vec<Warning>) {
    for chain in &table.chains {
        for (j, later) in chain.rules.iter().enumerate() {
            let mut barrier = Barrier::default();
            let mut found = None;
            for i in (j.saturating_sub(LOOKBACK)..j).rev() {
                let earlier = &chain.rules[i];
                if terminates(table, earlier) && covers(earlier, later, barrier) {
                    found = Some(i);
                }
                let c = changes(earlier);
                barrier.packet |= c.packet;
                barrier.conntrack |= c.conntrack;
            }
            if let Some(i) = found {
                out.push(Warning {
                    kind: "shadowed",
                    table: table.name.to_string(),
                    chain: chain.name.clone(),
                    rule: Some(j + 1),
                    message: format!(
                        "{} can never match: {} catches all its packets{}",
                        rule_ref(j + 1, later),
                        rule_ref(i + 1, &chain.rules[i]),
                        match chain.rules[i].target.chain() {
                            Some(c) => format!(" (chain {c} decides every packet it gets)"),
                            None => String::new(),
                        }
                    ),
                });
            }
        }
    }
}
