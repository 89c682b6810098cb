//! What iptables-nft 1.8.9 does with a parsed command: it works on a cache
//! of one table (the kernel's chains plus placeholders for listings), creates
//! the table and built-in chains on demand, and queues kernel operations.
//! The kernel's answers (busy chains, missing chains, jump depth, extension
//! checks) come only after every command of the batch passed userspace, and a
//! refused batch changes nothing.

use super::list::{self, Format, Reverse};
use super::opts::*;
use super::parse::Parsed;
use super::save;
use crate::ext::{Estimator, KernelError, XtError};
use crate::ruleset::{check, Chain, Counters, Hook, Rule, RuleTarget, Table, Verdict};

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
    /// Rate estimators of the host's other tables (for extension checks).
    estimators: Vec<Estimator>,
    /// The command being run is a `-j QUEUE` rule.
    queue: bool,
    /// Hooks reaching each chain, while no jump changed since computed.
    masks: Option<std::collections::HashMap<String, u8>>,
    /// The validation refusal every later rule of the batch meets.
    invalid_state: Option<KernelError>,
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
            estimators: check::estimators_in(others.iter().copied()),
            queue: false,
            masks: None,
            invalid_state: None,
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
        self.table.chain_index(name)
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
                self.table.add_chain(Chain::builtin(h));
                self.masks = None;
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
                self.table.add_chain(c);
            }
        }
    }

    // --- rules -----------------------------------------------------------

    /// Puts a rule into a chain and records what the kernel says about it:
    /// at once (missing chains, jumps, checks for the chain's own hook), and
    /// when it validates the table (jump depth, checks for every hook).
    fn rule_op(
        &mut self,
        op: &'static str,
        idx: usize,
        pos: Option<usize>,
        rule: &Rule,
        replace: bool,
    ) {
        let chain = &self.table.chains[idx];
        let what = format!("rule in chain {}", chain.name);
        let own_hook = chain.hook;
        let r = if chain.fake {
            Err(KernelError::NoEntry)
        } else {
            match &rule.target {
                RuleTarget::Jump(t) | RuleTarget::Goto(t) => check::check_jump(&self.table, t),
                _ if self.queue => Err(KernelError::NoEntry),
                _ => Ok(()),
            }
            .and_then(|()| {
                let mut est = self.estimators.clone();
                est.extend(crate::ext::rateest_target::estimators_of(&self.table));
                let hooks = own_hook.map(Hook::bit).unwrap_or(0);
                check::check_rule(self.table.name, hooks, own_hook, &est, rule)
            })
        };
        let failed_now = r.is_err();
        self.kernel_op(op, what.clone(), r);
        let rules = &mut self.table.chains[idx].rules;
        match (pos, replace) {
            (Some(p), true) => rules[p] = rule.clone(),
            (Some(p), false) => rules.insert(p, rule.clone()),
            (None, _) => rules.push(rule.clone()),
        }
        if !failed_now {
            if let Err(err) = self.validate_after(idx, rule, replace) {
                self.invalid.push(KernelFail {
                    op,
                    err,
                    what,
                    line: self.line,
                    key: (self.line, self.ops),
                });
            }
        }
    }

    /// The table validation after a rule went into chain `idx`. A rule
    /// without a jump changes no reachability: only it needs checking, with
    /// the hooks that reach its chain. Once validation failed, the bad rule
    /// stays in the batch and every later rule fails the same way.
    fn validate_after(
        &mut self,
        idx: usize,
        rule: &Rule,
        replace: bool,
    ) -> Result<(), KernelError> {
        if let Some(err) = &self.invalid_state {
            return Err(err.clone());
        }
        let r = if rule.target.chain().is_some() || replace {
            self.masks = None;
            check::validate(&self.table, &self.estimators)
        } else {
            let masks = match &self.masks {
                Some(m) => m,
                None => self.masks.insert(
                    check::hook_masks(&self.table)
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                ),
            };
            let chain = &self.table.chains[idx];
            let hooks = masks.get(&chain.name).copied().unwrap_or(0);
            let mut est = self.estimators.clone();
            est.extend(crate::ext::rateest_target::estimators_of(&self.table));
            check::check_rule(self.table.name, hooks, chain.hook, &est, rule)
        };
        if let Err(e) = &r {
            self.invalid_state = Some(e.clone());
        }
        r
    }

    fn print_rule(&mut self, verbose: bool, rule: &Rule) {
        if verbose {
            self.out.push_str(&list::verbose_line(rule));
        }
    }

    fn append(&mut self, chain: &str, rule: &Rule, verbose: bool) -> Result<(), Fail> {
        self.builtin_init(Some(chain));
        self.print_rule(verbose, rule);
        let idx = self.find(chain).ok_or_else(no_chain)?;
        self.rule_op("RULE_APPEND", idx, None, rule, false);
        Ok(())
    }

    fn insert(&mut self, chain: &str, num: u32, rule: &Rule, verbose: bool) -> Result<(), Fail> {
        self.builtin_init(Some(chain));
        let idx = self.find(chain).ok_or_else(no_chain)?;
        let pos = num as usize - 1;
        let len = self.table.chains[idx].rules.len();
        if pos > len {
            return Err(msg("Index of insertion too big"));
        }
        self.print_rule(verbose, rule);
        if pos == len && pos > 0 {
            self.rule_op("RULE_APPEND", idx, None, rule, false);
        } else {
            self.rule_op("RULE_INSERT", idx, Some(pos), rule, false);
        }
        Ok(())
    }

    fn replace(&mut self, chain: &str, num: u32, rule: &Rule, verbose: bool) -> Result<(), Fail> {
        let idx = self.find(chain).ok_or_else(no_chain)?;
        let pos = num as usize - 1;
        if pos >= self.table.chains[idx].rules.len() {
            return Err(msg("Index of replacement too big"));
        }
        self.print_rule(verbose, rule);
        self.rule_op("RULE_REPLACE", idx, Some(pos), rule, true);
        Ok(())
    }

    fn find_rule(&self, chain: &str, rule: &Rule) -> Result<(usize, usize), Fail> {
        let idx = self.find(chain).ok_or_else(bad_rule)?;
        let pos = self.table.chains[idx]
            .rules
            .iter()
            .position(|r| r.same_as(rule))
            .ok_or_else(bad_rule)?;
        Ok((idx, pos))
    }

    fn delete(&mut self, chain: &str, rule: &Rule, verbose: bool) -> Result<(), Fail> {
        let (idx, pos) = self.find_rule(chain, rule)?;
        self.print_rule(verbose, rule);
        self.table.chains[idx].rules.remove(pos);
        Ok(())
    }

    fn check(&mut self, chain: &str, rule: &Rule, verbose: bool) -> Result<(), Fail> {
        self.find_rule(chain, rule)?;
        self.print_rule(verbose, rule);
        Ok(())
    }

    fn delete_num(&mut self, chain: &str, num: u32) -> Result<(), Fail> {
        let idx = self.find(chain).ok_or_else(no_chain)?;
        let pos = num as usize - 1;
        if pos >= self.table.chains[idx].rules.len() {
            return Err(msg("Index of deletion too big"));
        }
        self.table.chains[idx].rules.remove(pos);
        Ok(())
    }

    // --- chains ----------------------------------------------------------

    /// `-F [chain]`.
    pub fn flush(&mut self, chain: Option<&str>, verbose: bool) -> Result<(), Fail> {
        self.masks = None;
        if chain.is_some() || verbose {
            self.builtin_init(chain);
        } else if !self.table.exists {
            return Ok(());
        }
        if let Some(name) = chain {
            let idx = self.find(name).ok_or_else(no_chain)?;
            self.table.chains[idx].rules.clear();
            return Ok(());
        }
        for i in 0..self.table.chains.len() {
            if verbose {
                let line = format!("Flushing chain `{}'\n", self.table.chains[i].name);
                self.out.push_str(&line);
            }
            self.table.chains[i].rules.clear();
        }
        Ok(())
    }

    fn zero_chain(&mut self, idx: usize, verbose: bool) {
        let name = self.table.chains[idx].name.clone();
        if verbose {
            self.out.push_str(&format!("Zeroing chain `{name}'\n"));
        }
        let c = &mut self.table.chains[idx];
        if c.is_builtin() {
            c.counters = Counters::default();
            let r = if c.fake && !self.table.exists {
                Err(KernelError::NoEntry)
            } else {
                c.fake = false;
                c.counted = true;
                Ok(())
            };
            self.kernel_op("CHAIN_ZERO", format!("chain {name}"), r);
        }
        for r in self.table.chains[idx].rules.iter_mut() {
            r.counters = Counters::default();
        }
    }

    /// `-Z [chain]`.
    fn zero(&mut self, chain: Option<&str>, verbose: bool) -> Result<(), Fail> {
        match chain {
            Some(name) => {
                let idx = self.find(name).ok_or_else(no_chain)?;
                self.zero_chain(idx, verbose);
            }
            None => {
                for i in 0..self.table.chains.len() {
                    self.zero_chain(i, verbose);
                }
            }
        }
        Ok(())
    }

    /// `-Z chain rulenum`: a missing rule is no error.
    fn zero_num(&mut self, chain: &str, num: u32) -> Result<(), Fail> {
        let idx = self.find(chain).ok_or_else(bad_rule)?;
        if let Some(r) = self.table.chains[idx].rules.get_mut(num as usize - 1) {
            r.counters = Counters::default();
        }
        Ok(())
    }

    /// `-N`, and restore's `:CHAIN` for a new chain.
    fn new_chain(&mut self, name: &str) -> Result<(), Fail> {
        self.table_init();
        if self.chain_exists(name) {
            return Err(msg("Chain already exists"));
        }
        self.table.add_user_chain(name);
        Ok(())
    }

    /// Deletes one chain; the kernel refuses while it has rules or users.
    fn chain_del(&mut self, idx: usize) {
        let c = self.table.chains.remove(idx);
        let what = format!("chain {}", c.name);
        let zombie_refs = self
            .zombies
            .iter()
            .flat_map(|z| z.rules.iter())
            .filter(|r| r.target.chain() == Some(c.name.as_str()))
            .count();
        let r = if c.fake {
            Err(KernelError::NoEntry)
        } else if !c.rules.is_empty() || self.table.references(&c.name) + zombie_refs > 0 {
            Err(KernelError::Busy)
        } else {
            Ok(())
        };
        let handle = c.handle;
        if r.is_err() {
            self.zombies.push(c);
        }
        self.kernel_op_keyed("CHAIN_DEL", what, r, Some(handle));
    }

    /// `-X [chain]`. Without a name: every user chain, and every built-in
    /// chain left empty with policy ACCEPT.
    pub fn delete_chain(&mut self, chain: Option<&str>, verbose: bool) -> Result<(), Fail> {
        self.masks = None;
        if let Some(name) = chain {
            let idx = self.find(name).ok_or_else(no_chain)?;
            let c = &self.table.chains[idx];
            if c.is_builtin() {
                if c.policy != Verdict::Accept {
                    return Err(msg("Directory not empty"));
                }
            } else if verbose {
                self.out.push_str(&format!("Deleting chain `{name}'\n"));
            }
            self.chain_del(idx);
            return Ok(());
        }
        let names: Vec<String> = self.table.chains.iter().map(|c| c.name.clone()).collect();
        for name in names {
            let Some(idx) = self.find(&name) else {
                continue;
            };
            let c = &self.table.chains[idx];
            if c.is_builtin() {
                if c.policy == Verdict::Accept && c.rules.is_empty() && !c.fake {
                    self.table.chains.remove(idx);
                }
                continue;
            }
            if verbose {
                self.out.push_str(&format!("Deleting chain `{name}'\n"));
            }
            self.chain_del(idx);
        }
        Ok(())
    }

    /// `-E old new`: the kernel renames the chain (jumps follow it); this
    /// batch keeps knowing it by the old name.
    fn rename(&mut self, old: &str, new: &str) -> Result<(), Fail> {
        if self.chain_exists(new) || self.renames.iter().any(|(_, n, _)| n == new) {
            return Err(msg("File exists"));
        }
        let idx = self.find(old).ok_or_else(no_chain)?;
        let c = &self.table.chains[idx];
        if c.is_builtin() {
            return Err(no_chain());
        }
        let created = c.handle >= self.first_handle;
        self.renames
            .push((old.to_string(), new.to_string(), created));
        Ok(())
    }

    /// `-P chain policy`, and restore's `:CHAIN POLICY [p:b]` for a built-in chain.
    pub fn policy(
        &mut self,
        chain: &str,
        policy: &str,
        counters: Option<Counters>,
    ) -> Result<(), Fail> {
        let v = match policy {
            "ACCEPT" => Verdict::Accept,
            "DROP" => Verdict::Drop,
            "-" => return self.keep_policy(chain, counters),
            _ => {
                return Err(Fail::Msg {
                    msg: "Bad policy name",
                    dmesg: true,
                })
            }
        };
        if self.table.builtin_hook(chain).is_none() {
            return Err(msg("Bad built-in chain name"));
        }
        self.builtin_init(Some(chain));
        let idx = self.find(chain).ok_or_else(no_chain)?;
        let c = &mut self.table.chains[idx];
        c.policy = v;
        c.fake = false;
        c.counted = true;
        if let Some(cn) = counters {
            c.counters = cn;
        }
        Ok(())
    }

    /// Restore's `:CHAIN - [p:b]` for a built-in chain: create it, keep its
    /// policy, take the counters.
    fn keep_policy(&mut self, chain: &str, counters: Option<Counters>) -> Result<(), Fail> {
        if self.table.builtin_hook(chain).is_none() {
            return Err(msg("Bad built-in chain name"));
        }
        self.builtin_init(Some(chain));
        if let (Some(cn), Some(c)) = (counters, self.table.chain_mut(chain)) {
            c.counters = cn;
            c.counted = true;
        }
        Ok(())
    }

    /// Restore's `:CHAIN` line for a user chain: create it, or flush it.
    pub fn restore_chain(&mut self, name: &str) {
        self.masks = None;
        self.table_init();
        match self.find(name) {
            Some(idx) => self.table.chains[idx].rules.clear(),
            None => self.table.add_user_chain(name),
        }
    }

    /// The table flush at the start of a restore block: the table goes away.
    pub fn table_flush(&mut self) {
        self.masks = None;
        self.table = Table::new(self.table.name);
    }

    // --- listings --------------------------------------------------------

    fn list(&mut self, chain: Option<&str>, rulenum: Option<u32>, fmt: Format) -> Result<(), Fail> {
        self.fake_builtins(chain);
        let reverse = self.reverse;
        let mut out = String::new();
        match chain {
            Some(name) => {
                let idx = self.find(name).ok_or_else(|| self.incompatible(name))?;
                let c = &self.table.chains[idx];
                match rulenum {
                    Some(n) => {
                        if let Some(r) = c.rules.get(n as usize - 1) {
                            list::rule_line(&mut out, n as usize, r, fmt, reverse);
                        }
                    }
                    None => list::chain(&mut out, c, self.table.references(name), fmt, reverse),
                }
            }
            None => {
                for (i, c) in self.table.chains.iter().enumerate() {
                    if i > 0 {
                        out.push('\n');
                    }
                    list::chain(&mut out, c, self.table.references(&c.name), fmt, reverse);
                }
            }
        }
        self.out.push_str(&out);
        Ok(())
    }

    fn list_rules(
        &mut self,
        chain: Option<&str>,
        rulenum: Option<u32>,
        counters: bool,
    ) -> Result<(), Fail> {
        self.fake_builtins(chain);
        let mut out = String::new();
        let chains: Vec<&Chain> = match chain {
            Some(name) => {
                let idx = self.find(name).ok_or_else(|| self.incompatible(name))?;
                vec![&self.table.chains[idx]]
            }
            None => self.table.chains.iter().collect(),
        };
        if let (Some(n), Some(c)) = (rulenum, chains.first()) {
            if let Some(r) = c.rules.get(n as usize - 1) {
                out.push_str(&save::rule_line(&c.name, r, counters));
                out.push('\n');
            }
        } else {
            for c in &chains {
                out.push_str(&save::chain_decl_line(c, counters));
                out.push('\n');
            }
            for c in &chains {
                for r in &c.rules {
                    out.push_str(&save::rule_line(&c.name, r, counters));
                    out.push('\n');
                }
            }
        }
        self.out.push_str(&out);
        Ok(())
    }

    fn incompatible(&self, chain: &str) -> Fail {
        Fail::Incompatible {
            chain: chain.to_string(),
            table: self.table.name,
        }
    }

    // --- one command -----------------------------------------------------

    /// Runs one parsed command against the cache.
    pub fn run(&mut self, p: &Parsed) -> Result<(), Fail> {
        let cmd = p.command;
        if cmd & CMD_IDRAC != 0 {
            if let Some(j) = &p.jumpto {
                if !self.chain_exists(j) {
                    return Err(Fail::Param(XtError::new(format!(
                        "Chain '{j}' does not exist"
                    ))));
                }
            }
        }
        self.queue = p.queue;
        if cmd & (CMD_APPEND | CMD_INSERT) == 0 {
            // Anything but adding rules may change which hooks reach a chain.
            self.masks = None;
        }
        let chain = p.chain.as_deref();
        let name = chain.unwrap_or("");
        let num = p.rulenum.unwrap_or(1);
        let verbose = p.has(OPT_VERBOSE);
        match cmd {
            CMD_APPEND => p
                .rules
                .iter()
                .try_for_each(|r| self.append(name, r, verbose)),
            CMD_INSERT => p
                .rules
                .iter()
                .try_for_each(|r| self.insert(name, num, r, verbose)),
            CMD_REPLACE => match p.rules.first() {
                Some(r) => self.replace(name, num, r, verbose),
                None => Ok(()),
            },
            CMD_DELETE => p
                .rules
                .iter()
                .try_for_each(|r| self.delete(name, r, verbose)),
            CMD_CHECK => p
                .rules
                .iter()
                .try_for_each(|r| self.check(name, r, verbose)),
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
