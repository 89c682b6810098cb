//! `unreachable-chain`: a user chain with rules that no packet can reach,
//! because no rule of a reachable chain jumps or goes to it.

use super::{reachable_chains, Warning};
use crate::ruleset::Table;

pub fn check(table: &Table, out: &mut Vec<Warning>) {
    let reachable = reachable_chains(table);
    for chain in &table.chains {
        if chain.is_builtin() || chain.rules.is_empty() || reachable.contains(&chain.name) {
            continue;
        }
        let callers: Vec<&str> = table
            .chains
            .iter()
            .filter(|c| {
                c.rules
                    .iter()
                    .any(|r| r.target.chain() == Some(&chain.name))
            })
            .map(|c| c.name.as_str())
            .collect();
        let why = if callers.is_empty() {
            "no rule jumps or goes to it".to_string()
        } else {
            format!(
                "only {} {} jump{} to it, and no packet reaches {}",
                if callers.len() == 1 {
                    "chain"
                } else {
                    "chains"
                },
                callers.join(", "),
                if callers.len() == 1 { "s" } else { "" },
                if callers.len() == 1 { "it" } else { "them" },
            )
        };
        let n = chain.rules.len();
        out.push(Warning {
            kind: "unreachable-chain",
            table: table.name.to_string(),
            chain: chain.name.clone(),
            rule: None,
            message: format!(
                "chain {} is never used: {why}, so its {n} rule{} never run{}",
                chain.name,
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" },
            ),
        });
    }
}
