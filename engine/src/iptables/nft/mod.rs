//! What iptables-nft 1.8.9 does with a parsed command: it works on a cache
//! of one table (the kernel's chains plus placeholders for listings), creates
//! the table and built-in chains on demand, and queues kernel operations.
//! The kernel's answers (busy chains, missing chains, jump depth, extension
//! checks) come only after every command of the batch passed userspace, and a
//! refused batch changes nothing.

mod chains;
mod lists;
mod rules;
#[cfg(test)]
mod tests;

use super::list::{Format, Reverse};
use super::opts::*;
use super::parse::Parsed;
use crate::ext::{KernelError, XtError};
use crate::ruleset::validator::Validator;
use crate::ruleset::{check, Chain, Hook, RuleTarget, Table};

/// A command refused in userspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fail {
    /// `iptables: MSG.` (exit 1); `dmesg` adds iptables' hint for EINVAL.
    Msg { msg: &'static str, dmesg: bool },
    /// A parameter problem found while running (exit 2).
    Param(XtError),
    /// `-L`/`-S` of a chain that does not exist (exit 1).
    Incompatible { chain: String, table: &'static str },
}

fn msg(msg: &'static str) -> Fail {
    Fail::Msg { msg, dmesg: false }
}

fn no_chain() -> Fail {
    msg("No chain/target/match by that name")
}

fn bad_rule() -> Fail {
    msg("Bad rule (does a matching rule exist in that chain?)")
}

/// The kernel refused an operation of the batch (exit 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelFail {
    /// Operation name: `RULE_APPEND`, `CHAIN_DEL`, ...
    pub op: &'static str,
    pub err: KernelError,
    /// `chain X` or `rule in chain X`.
    pub what: String,
    /// Line of the command that queued the operation (iptables-restore).
    pub line: usize,
    /// Order in which iptables reports refusals.
    key: (usize, u64),
}

/// One batch on one table.
pub struct Batch<'a> {
    /// The cache: the table as the batch so far leaves it, placeholders included.
    pub table: Table,
    /// Standard output so far (listings, `-v` texts).
    pub out: String,
    /// Line of the command being run (for iptables-restore's messages).
    pub line: usize,
    /// Refusals when the kernel first runs the batch.
    kernel: Vec<KernelFail>,
    /// Refusals of the table validation (only reported when the first run passed).
    invalid: Vec<KernelFail>,
    /// Operations queued so far.
    ops: u64,
    /// Chains gone from the cache whose deletion the kernel refused: their
    /// rules still hold references.
    zombies: Vec<Chain>,
    /// Renames (old, new, created in this batch) applied when the batch ends;
    /// the cache keeps the old names meanwhile, as iptables' cache does.
    renames: Vec<(String, String, bool)>,
    /// Chains with a handle from here on were created by this batch.
    first_handle: u64,
    /// The command being run is a `-j QUEUE` rule.
    queue: bool,
    /// The kernel's table validation, kept up to date rule by rule (it
    /// also knows the host's rate estimators for extension checks).
    pub(crate) validator: Validator,
    /// The validation refusal every later rule of the batch meets.
    invalid_state: Option<KernelError>,
    /// Where each chain of the cache is, by name.
    names: ChainNames,
    reverse: Reverse<'a>,
}

impl<'a> Batch<'a> {
    /// A batch on `table`; `others` are the host's other tables.
    pub fn new(table: &Table, others: &[&Table], reverse: Reverse<'a>) -> Batch<'a> {
        Batch {
            table: table.clone(),
            out: String::new(),
            line: 0,
            kernel: Vec::new(),
            invalid: Vec::new(),
            ops: 0,
            zombies: Vec::new(),
            renames: Vec::new(),
            first_handle: table.next_handle,
            queue: false,
            validator: Validator::new(check::estimators_in(others.iter().copied())),
            invalid_state: None,
            names: ChainNames::default(),
            reverse,
        }
    }

    /// Ends the batch: the table to commit, or the kernel's refusals in the
    /// order iptables reports them.
    pub fn finish(mut self) -> (String, Result<Table, Vec<KernelFail>>) {
        for (old, new, created) in std::mem::take(&mut self.renames) {
            let r = if created {
                Err(KernelError::NoEntry)
            } else {
                Ok(())
            };
            self.kernel_op("CHAIN_RENAME", format!("chain {new}"), r);
            if let Some(idx) = self.find(&old) {
                self.names.stale();
                let mut c = self.table.chains.remove(idx);
                c.name = new.clone();
                let handle = c.handle;
                for ch in self.table.chains.iter_mut().chain(std::iter::once(&mut c)) {
                    for r in ch.rules.iter_mut() {
                        if let RuleTarget::Jump(n) | RuleTarget::Goto(n) = &mut r.target {
                            if *n == old {
                                *n = new.clone();
                            }
                        }
                    }
                }
                let next = self.table.next_handle;
                self.table.add_chain(c);
                if let Some(c) = self.table.chain_mut(&new) {
                    c.handle = handle;
                }
                self.table.next_handle = next;
            }
        }
        let mut errors = if self.kernel.is_empty() {
            self.invalid
        } else {
            self.kernel
        };
        if !errors.is_empty() {
            errors.sort_by_key(|k| k.key);
            return (self.out, Err(errors));
        }
        let mut t = self.table;
        t.chains.retain(|c| !c.fake);
        t.bump();
        (self.out, Ok(t))
    }

    /// Records the kernel's answer to an operation.
    fn kernel_op(&mut self, op: &'static str, what: String, r: Result<(), KernelError>) {
        self.kernel_op_keyed(op, what, r, None);
    }

    /// Same, with the order of refusals of one command set by `order`
    /// (deleted chains are reported oldest first).
    fn kernel_op_keyed(
        &mut self,
        op: &'static str,
        what: String,
        r: Result<(), KernelError>,
        order: Option<u64>,
    ) {
        self.ops += 1;
        if let Err(err) = r {
            let key = (self.line, order.unwrap_or(self.ops));
            self.kernel.push(KernelFail {
                op,
                err,
                what,
                line: self.line,
                key,
            });
        }
    }

    // --- the cache -------------------------------------------------------

    fn find(&self, name: &str) -> Option<usize> {
        self.names.find(&self.table, name)
    }

    /// Puts a chain into the cache at its place.
    fn add_chain(&mut self, c: Chain) -> usize {
        let name = c.name.clone();
        let pos = self.table.add_chain(c);
        self.names.added(pos, name);
        pos
    }

    /// Takes a chain out of the cache.
    fn remove_chain(&mut self, idx: usize) -> Chain {
        let c = self.table.chains.remove(idx);
        self.names.removed(idx, &c.name);
        c
    }

    /// `nft_chain_exists`: a built-in chain name of the table, or a chain in the cache.
    pub fn chain_exists(&self, name: &str) -> bool {
        self.table.builtin_hook(name).is_some() || self.find(name).is_some()
    }

    /// `nft_xt_builtin_table_init`.
    fn table_init(&mut self) {
        self.table.exists = true;
    }

    /// `nft_xt_builtin_init`: the table, then one built-in chain (or all).
    fn builtin_init(&mut self, chain: Option<&str>) {
        self.table_init();
        let hooks: Vec<Hook> = match chain {
            None => self.table.hooks().to_vec(),
            Some(name) => self.table.builtin_hook(name).into_iter().collect(),
        };
        for h in hooks {
            if !self.table.chains.iter().any(|c| c.hook == Some(h)) {
                self.add_chain(Chain::builtin(h));
                self.validator.structure_changed();
            }
        }
    }

    /// `nft_xt_fake_builtin_chains`: placeholders for missing built-in chains.
    fn fake_builtins(&mut self, chain: Option<&str>) {
        for h in self.table.hooks().to_vec() {
            if chain.is_some_and(|c| c != h.name()) {
                continue;
            }
            if !self.table.chains.iter().any(|c| c.hook == Some(h)) {
                let mut c = Chain::builtin(h);
                c.fake = true;
                self.add_chain(c);
            }
        }
    }

    // --- one command -----------------------------------------------------

    /// Runs one parsed command against the cache; its rules move into the
    /// cache (`p.rules` is left empty).
    pub fn run(&mut self, p: &mut Parsed) -> Result<(), Fail> {
        let cmd = p.command;
        if cmd & CMD_IDRAC != 0 {
            if let Some(j) = p.rules.first().and_then(|r| r.target.chain()) {
                if !self.chain_exists(j) {
                    return Err(Fail::Param(XtError::new(format!(
                        "Chain '{j}' does not exist"
                    ))));
                }
            }
        }
        self.queue = p.queue;
        // What may change which hooks reach a chain, and whether built-in
        // chains are real; rule commands report what they remove themselves.
        let keeps = CMD_APPEND
            | CMD_INSERT
            | CMD_REPLACE
            | CMD_DELETE
            | CMD_DELETE_NUM
            | CMD_CHECK
            | CMD_NEW_CHAIN
            | CMD_LIST
            | CMD_LIST_RULES;
        if cmd & !keeps != 0 {
            self.validator.structure_changed();
        }
        let rules = std::mem::take(&mut p.rules);
        let chain = p.chain.as_deref();
        let name = chain.unwrap_or("");
        let num = p.rulenum.unwrap_or(1);
        let verbose = p.has(OPT_VERBOSE);
        match cmd {
            CMD_APPEND => rules
                .into_iter()
                .try_for_each(|r| self.append(name, r, verbose)),
            CMD_INSERT => rules
                .into_iter()
                .try_for_each(|r| self.insert(name, num, r, verbose)),
            CMD_REPLACE => match rules.into_iter().next() {
                Some(r) => self.replace(name, num, r, verbose),
                None => Ok(()),
            },
            CMD_DELETE => rules.iter().try_for_each(|r| self.delete(name, r, verbose)),
            CMD_CHECK => rules.iter().try_for_each(|r| self.check(name, r, verbose)),
            CMD_DELETE_NUM => self.delete_num(name, num),
            CMD_FLUSH => self.flush(chain, verbose),
            CMD_ZERO => self.zero(chain, verbose),
            CMD_ZERO_NUM => self.zero_num(name, num),
            CMD_NEW_CHAIN => self.new_chain(name),
            CMD_DELETE_CHAIN => self.delete_chain(chain, verbose),
            CMD_RENAME_CHAIN => self.rename(name, p.newname.as_deref().unwrap_or("")),
            CMD_SET_POLICY => self.policy(name, p.policy.as_deref().unwrap_or(""), None),
            _ if cmd & (CMD_LIST | CMD_LIST_RULES) != 0 => {
                if cmd & CMD_LIST != 0 {
                    let fmt = Format {
                        numeric: p.has(OPT_NUMERIC),
                        verbose,
                        expanded: p.has(OPT_EXPANDED),
                        line_numbers: p.has(OPT_LINENUMBERS),
                    };
                    self.list(chain, p.rulenum, fmt)?;
                } else {
                    self.list_rules(chain, p.rulenum, verbose)?;
                }
                if cmd & CMD_ZERO != 0 {
                    self.zero(chain, verbose)?;
                }
                if cmd & CMD_ZERO_NUM != 0 {
                    self.zero_num(name, num)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Positions of the cache's chains by name: [`Table::chain_index`] with a
/// hash, kept up to date as chains come and go one by one, rebuilt after
/// bulk changes.
#[derive(Debug, Default)]
struct ChainNames(std::cell::RefCell<Option<crate::fasthash::FastMap<String, usize>>>);

impl ChainNames {
    fn find(&self, table: &Table, name: &str) -> Option<usize> {
        let mut map = self.0.borrow_mut();
        let map = map.get_or_insert_with(|| {
            table
                .chains
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.clone(), i))
                .collect()
        });
        map.get(name).copied()
    }
    /// Chains came or went in bulk.
    fn stale(&mut self) {
        *self.0.get_mut() = None;
    }
    /// A chain went in at `pos`.
    fn added(&mut self, pos: usize, name: String) {
        if let Some(map) = self.0.get_mut() {
            for v in map.values_mut() {
                if *v >= pos {
                    *v += 1;
                }
            }
            map.insert(name, pos);
        }
    }
    /// The chain at `pos` went.
    fn removed(&mut self, pos: usize, name: &str) {
        if let Some(map) = self.0.get_mut() {
            map.remove(name);
            for v in map.values_mut() {
                if *v > pos {
                    *v -= 1;
                }
            }
        }
    }
}
