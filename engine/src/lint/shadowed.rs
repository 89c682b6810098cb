//! `shadowed`: a rule that can never match because an earlier rule of the
//! same chain ends the chain for every packet it would match.

use super::cover::covers;
use super::probe::{effect, Effect};
use super::{rule_ref, Warning};
use crate::ruleset::{Rule, Table};

/// Ends the chain for the packets it matches.
fn terminates(r: &Rule) -> bool {
    matches!(
        effect(&r.target),
        Effect::Accept | Effect::Drop | Effect::Reject | Effect::Return
    )
}

/// A rule after which an earlier rule's view of the packet may differ
/// (marks, sets, header fields; a jump may do any of these).
fn changes_packet(r: &Rule) -> bool {
    match effect(&r.target) {
        Effect::Accept | Effect::Drop | Effect::Reject | Effect::Return => false,
        Effect::GoOn => !matches!(
            r.target.list_name(),
            "" | "LOG" | "NFLOG" | "ULOG" | "TRACE" | "AUDIT"
        ),
        Effect::Jump(_) | Effect::Goto(_) | Effect::Other => true,
    }
}

/// How many earlier rules each rule is compared with: enough for any
/// hand-written chain, and a bound on the work for generated ones (a rule
/// shadowed from further back is not reported).
const LOOKBACK: usize = 500;

pub fn check(table: &Table, out: &mut Vec<Warning>) {
    for chain in &table.chains {
        for (j, later) in chain.rules.iter().enumerate() {
            let mut barrier = false;
            let mut found = None;
            for i in (j.saturating_sub(LOOKBACK)..j).rev() {
                let earlier = &chain.rules[i];
                if terminates(earlier) && covers(earlier, later, barrier) {
                    found = Some(i);
                }
                barrier |= changes_packet(earlier);
            }
            if let Some(i) = found {
                out.push(Warning {
                    kind: "shadowed",
                    table: table.name.to_string(),
                    chain: chain.name.clone(),
                    rule: Some(j + 1),
                    message: format!(
                        "{} can never match: {} catches all its packets",
                        rule_ref(j + 1, later),
                        rule_ref(i + 1, &chain.rules[i])
                    ),
                });
            }
        }
    }
}
