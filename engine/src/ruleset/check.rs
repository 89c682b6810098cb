//! The kernel's checks when a rule is added: the jump target must be an
//! existing non-base chain, jumps from a base chain may nest at most 16 deep
//! (a loop reachable from a base chain always exceeds that: `EMLINK`), and
//! every match and target passes its checkentry for the hooks that reach it.

use super::{Chain, Hook, Rule, RuleTarget, Table};
use crate::ext::{CheckCx, Estimator, KernelError};
use std::collections::HashMap;

/// nf_tables' jump stack size: a chain reached at this depth is refused.
pub const JUMP_STACK_SIZE: usize = 16;

/// Hooks that can reach each chain through jumps and gotos.
pub fn hook_masks(table: &Table) -> HashMap<&str, u8> {
    let mut masks: HashMap<&str, u8> = HashMap::new();
    let mut stack: Vec<(&str, u8)> = table
        .chains
        .iter()
        .filter(|c| !c.fake)
        .filter_map(|c| c.hook.map(|h| (c.name.as_str(), h.bit())))
        .collect();
    while let Some((name, bits)) = stack.pop() {
        let entry = masks.entry(name).or_insert(0);
        if *entry & bits == bits {
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

/// The checks made when a rule jumping to `target` is created.
pub fn check_jump(table: &Table, target: &str) -> Result<(), KernelError> {
    check_jump_to(table.chain(target))
}

/// [`check_jump`] with the target chain found (or not) already.
pub fn check_jump_to(target: Option<&Chain>) -> Result<(), KernelError> {
    match target {
        Some(c) if c.fake => Err(KernelError::NoEntry),
        Some(c) if c.is_builtin() => Err(KernelError::NotSupported),
        Some(_) => Ok(()),
        None => Err(KernelError::NoEntry),
    }
}

/// Whether some chain is reached [`JUMP_STACK_SIZE`] jumps away from a base chain.
fn too_deep(table: &Table) -> bool {
    let mut level: Vec<&Chain> = table
        .chains
        .iter()
        .filter(|c| c.is_builtin() && !c.fake)
        .collect();
    for _ in 0..JUMP_STACK_SIZE {
        let mut next: Vec<&Chain> = Vec::new();
        for c in &level {
            for r in &c.rules {
                if let Some(t) = r.target.chain().and_then(|t| table.chain(t)) {
                    if !next.iter().any(|n| n.name == t.name) {
                        next.push(t);
                    }
                }
            }
        }
        if next.is_empty() {
            return false;
        }
        level = next;
    }
    true
}

/// Runs a rule's match and target checks with the hooks that reach its
/// chain; `chain_hook` is the hook of the rule's own chain when built in.
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
    if let RuleTarget::Ext(t) = &rule.target {
        t.check(&cx)?;
    }
    Ok(())
}

/// The whole-table validation the kernel runs after adding a rule;
/// `estimators` are the rate estimators of the host's other tables.
pub fn validate(table: &Table, estimators: &[Estimator]) -> Result<(), KernelError> {
    if too_deep(table) {
        return Err(KernelError::TooManyLinks);
    }
    let mut all = estimators.to_vec();
    all.extend(crate::ext::rateest_target::estimators_of(table));
    let masks = hook_masks(table);
    for chain in table.chains.iter().filter(|c| !c.fake) {
        let hooks = masks.get(chain.name.as_str()).copied().unwrap_or(0);
        for r in &chain.rules {
            check_rule(table.name, hooks, chain.hook, &all, r)?;
        }
    }
    Ok(())
}

/// Rate estimators made by `-j RATEEST` rules in the given tables.
/// A table known to hold no `-j RATEEST` rule is not looked through.
pub fn estimators_in<'a>(tables: impl Iterator<Item = &'a Table>) -> Vec<Estimator> {
    tables
        .filter(|t| t.known_state_use().is_none_or(|u| u.rateest))
        .flat_map(crate::ext::rateest_target::estimators_of)
        .collect()
}

/// Hook bits helper for extension checks: `true` if any hook outside `allowed` reaches.
pub fn hooks_outside(hooks: u8, allowed: &[Hook]) -> bool {
    let allowed_bits = allowed.iter().fold(0u8, |b, h| b | h.bit());
    hooks & !allowed_bits != 0
}
