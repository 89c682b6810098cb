//! Commit-time checks as the kernel makes them: jumps to existing chains, no
//! loops between chains, and each extension's checkentry with the hooks that
//! can reach its chain.

use super::{Hook, Rule, Table};
use crate::ext::{CheckCx, Estimator, KernelError};
use std::collections::HashMap;

/// A refused commit: the chain of the offending rule and the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    pub chain: String,
    pub error: KernelError,
}

/// Hooks that can reach each chain through jumps and gotos.
pub fn hook_masks(table: &Table) -> HashMap<&str, u8> {
    let mut masks: HashMap<&str, u8> = HashMap::new();
    let mut stack: Vec<(&str, u8)> = table
        .chains
        .iter()
        .filter_map(|c| c.hook.map(|h| (c.name.as_str(), h.bit())))
        .collect();
    while let Some((name, bits)) = stack.pop() {
        let entry = masks.entry(name).or_insert(0);
        if *entry & bits == bits && *entry != 0 {
            continue;
        }
        *entry |= bits;
        if let Some(chain) = table.chain(name) {
            for r in &chain.rules {
                if let Some(t) = r.target.chain() {
                    if let Some(tc) = table.chain(t) {
                        stack.push((tc.name.as_str(), bits));
                    }
                }
            }
        }
    }
    masks
}

/// Whether following jumps from `start` can come back to `start`.
fn has_loop(table: &Table, start: &str) -> bool {
    let mut seen: Vec<&str> = Vec::new();
    let mut stack = vec![start];
    while let Some(name) = stack.pop() {
        let Some(chain) = table.chain(name) else {
            continue;
        };
        for r in &chain.rules {
            if let Some(t) = r.target.chain() {
                if t == start {
                    return true;
                }
                if !seen.contains(&t) {
                    seen.push(t);
                    stack.push(t);
                }
            }
        }
    }
    false
}

/// The checkentry of each match and of the target of one rule whose chain
/// is reached from `hooks` (bit per hook; 0 for an unreferenced user chain).
/// `chain_hook` is the hook of the rule's own chain when it is built in.
pub fn check_rule(
    table: &str,
    hooks: u8,
    chain_hook: Option<Hook>,
    estimators: &[Estimator],
    rule: &Rule,
) -> Result<(), KernelError> {
    let cx = CheckCx {
        table,
        hooks,
        proto: rule.ip.proto,
        proto_invert: rule.ip.proto_inv,
        chain_hook,
        estimators,
    };
    for m in &rule.matches {
        m.check(&cx)?;
    }
    if let super::RuleTarget::Ext(t) = &rule.target {
        t.check(&cx)?;
    }
    Ok(())
}

/// The kernel's checks of a rule just added to `chain` (a rule of an
/// iptables-restore batch): its own matches and target with the hooks that
/// reach the chain, and for a jump or goto, every rule the jump makes
/// reachable, now also from those hooks.
pub fn check_new_rule(
    table: &Table,
    others: &[&Table],
    chain: &str,
    rule: &Rule,
) -> Result<(), KernelError> {
    let estimators = estimators_in(table, others);
    let masks = hook_masks(table);
    let hooks = masks.get(chain).copied().unwrap_or(0);
    let own_hook = table.chain(chain).and_then(|c| c.hook);
    check_rule(table.name, hooks, own_hook, &estimators, rule)?;
    let Some(first) = rule.target.chain() else {
        return Ok(());
    };
    let mut seen: Vec<&str> = Vec::new();
    let mut stack = vec![first];
    while let Some(name) = stack.pop() {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        let Some(c) = table.chain(name) else {
            continue;
        };
        for r in &c.rules {
            check_rule(table.name, hooks, c.hook, &estimators, r)?;
            if let Some(t) = r.target.chain() {
                stack.push(t);
            }
        }
    }
    Ok(())
}

/// Rate estimators made by `-j RATEEST` rules in this table and the others.
fn estimators_in(table: &Table, others: &[&Table]) -> Vec<Estimator> {
    others
        .iter()
        .copied()
        .chain(std::iter::once(table))
        .flat_map(crate::ext::rateest_target::estimators_of)
        .collect()
}

/// Checks the whole table as the kernel would after a change.
pub fn validate(table: &Table) -> Result<(), CheckFailure> {
    validate_in(table, &[])
}

/// Like [`validate`], with the host's other tables: objects their rules
/// create (rate estimators) are visible to this table's rules.
pub fn validate_in(table: &Table, others: &[&Table]) -> Result<(), CheckFailure> {
    let estimators = estimators_in(table, others);
    let masks = hook_masks(table);
    for chain in &table.chains {
        let hooks = masks.get(chain.name.as_str()).copied().unwrap_or(0);
        for r in &chain.rules {
            if let Some(t) = r.target.chain() {
                if table.chain(t).is_none() {
                    return Err(CheckFailure {
                        chain: chain.name.clone(),
                        error: KernelError::NoEntry,
                    });
                }
            }
            check_rule(table.name, hooks, chain.hook, &estimators, r).map_err(|error| {
                CheckFailure {
                    chain: chain.name.clone(),
                    error,
                }
            })?;
        }
    }
    for chain in &table.chains {
        let reachable = masks.get(chain.name.as_str()).copied().unwrap_or(0) != 0;
        if chain.hook.is_none() && reachable && has_loop(table, &chain.name) {
            return Err(CheckFailure {
                chain: chain.name.clone(),
                error: KernelError::Loop,
            });
        }
    }
    Ok(())
}

/// Hook bits helper for extension checks: `true` if any hook outside `allowed` reaches.
pub fn hooks_outside(hooks: u8, allowed: &[Hook]) -> bool {
    let allowed_bits = allowed.iter().fold(0u8, |b, h| b | h.bit());
    hooks & !allowed_bits != 0
}
