//! Chain commands: -F, -Z, -N, -X, -E, -P and restore's chain lines.

use super::{bad_rule, msg, no_chain, Batch, Fail};
use crate::ext::KernelError;
use crate::ruleset::{Counters, Table, Verdict};

impl Batch<'_> {
    // --- chains ----------------------------------------------------------

    /// `-F [chain]`.
    pub fn flush(&mut self, chain: Option<&str>, verbose: bool) -> Result<(), Fail> {
        self.validator.structure_changed();
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

    pub(super) fn zero_chain(&mut self, idx: usize, verbose: bool) {
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
            zero_rule(r);
        }
    }

    /// `-Z [chain]`.
    pub(super) fn zero(&mut self, chain: Option<&str>, verbose: bool) -> Result<(), Fail> {
        self.validator.structure_changed();
        self.validator.states_reset();
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
    pub(super) fn zero_num(&mut self, chain: &str, num: u32) -> Result<(), Fail> {
        let idx = self.find(chain).ok_or_else(bad_rule)?;
        if let Some(r) = self.table.chains[idx].rules.get_mut(num as usize - 1) {
            zero_rule(r);
            self.validator.states_reset();
        }
        Ok(())
    }

    /// `-N`, and restore's `:CHAIN` for a new chain.
    pub(super) fn new_chain(&mut self, name: &str) -> Result<(), Fail> {
        self.table_init();
        if self.chain_exists(name) {
            return Err(msg("Chain already exists"));
        }
        self.add_chain(crate::ruleset::Chain::user(name));
        Ok(())
    }

    /// Deletes one chain; the kernel refuses while it has rules or users.
    pub(super) fn chain_del(&mut self, idx: usize) {
        let c = self.remove_chain(idx);
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
        self.validator.structure_changed();
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
                    self.remove_chain(idx);
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
    pub(super) fn rename(&mut self, old: &str, new: &str) -> Result<(), Fail> {
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
        self.validator.structure_changed();
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
    pub(super) fn keep_policy(
        &mut self,
        chain: &str,
        counters: Option<Counters>,
    ) -> Result<(), Fail> {
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

    /// Restore's `:CHAIN` lines for user chains, one after the other: each
    /// creates its chain, or flushes it if it exists (new chains go in at
    /// once).
    pub fn restore_chains(&mut self, names: Vec<String>) {
        self.table_init();
        // A table without user chains (a flushed one) has none of them.
        if self.table.chains.iter().all(|c| c.is_builtin()) {
            self.table.add_new_user_chains_named(names);
            self.names.stale();
            return;
        }
        let mut new: Vec<String> = Vec::with_capacity(names.len());
        for name in names {
            match self.find(&name) {
                Some(idx) => {
                    let c = &mut self.table.chains[idx];
                    if !c.rules.is_empty() {
                        c.rules.clear();
                        self.validator.structure_changed();
                    }
                }
                None => new.push(name),
            }
        }
        if !new.is_empty() {
            self.table.add_new_user_chains_named(new);
            self.names.stale();
        }
    }

    /// The table flush at the start of a restore block: the table goes away.
    pub fn table_flush(&mut self) {
        self.validator.reset();
        self.table = Table::new(self.table.name);
        self.names.stale();
        self.fresh = true;
        self.state_use = crate::ext::StateUse::default();
    }
}

/// iptables-nft zeroes a rule by replacing it in the kernel: its matches
/// start afresh (quota left, nth counter, connlimit lists).
fn zero_rule(r: &mut crate::ruleset::Rule) {
    r.counters = Counters::default();
    r.matches.iter_mut().for_each(|m| m.reset());
}
