//! `empty-jump`: a rule that jumps or goes to a chain without rules (the
//! jump does nothing; a goto acts as RETURN).

use super::{rule_ref, Warning};
use crate::ruleset::{RuleTarget, Table};

pub fn check(table: &Table, out: &mut Vec<Warning>) {
    for chain in &table.chains {
        for (i, rule) in chain.rules.iter().enumerate() {
            let (target, goto) = match &rule.target {
                RuleTarget::Jump(c) => (c, false),
                RuleTarget::Goto(c) => (c, true),
                _ => continue,
            };
            if !table.chain(target).is_some_and(|c| c.rules.is_empty()) {
                continue;
            }
            let effect = if goto {
                "packets leave this chain at once, as with RETURN"
            } else {
                "the jump does nothing"
            };
            out.push(Warning {
                kind: "empty-jump",
                table: table.name.to_string(),
                chain: chain.name.clone(),
                rule: Some(i + 1),
                message: format!(
                    "{} {} to chain {target}, which has no rules: {effect}",
                    rule_ref(i + 1, rule),
                    if goto { "goes" } else { "jumps" }
                ),
            });
        }
    }
}
