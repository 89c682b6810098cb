//! Rule commands: -A, -I, -R, -D, -C and the kernel's view of a new rule.

#[cfg(test)]
use super::tests;
use super::{bad_rule, msg, no_chain, Batch, Fail, KernelFail};
use crate::ext::KernelError;
use crate::iptables::list;
use crate::ruleset::{check, Hook, Rule, RuleTarget};

impl Batch<'_> {
    // --- rules -----------------------------------------------------------

    /// Puts a rule into a chain and records what the kernel says about it:
    /// at once (missing chains, jumps, checks for the chain's own hook), and
    /// when it validates the table (jump depth, checks for every hook).
    pub(super) fn rule_op(
        &mut self,
        op: &'static str,
        idx: usize,
        pos: Option<usize>,
        rule: Rule,
        replace: bool,
    ) {
        #[cfg(test)]
        if tests::REFERENCE.with(|r| r.get()) {
            // The reference reads the estimators afresh for every rule.
            self.validator.structure_changed();
        }
        let chain = &self.table.chains[idx];
        let what = |t: &crate::ruleset::Table| format!("rule in chain {}", t.chains[idx].name);
        let own_hook = chain.hook;
        let fake = chain.fake;
        // Where the jump goes: adding the rule moves no chain, so the
        // validation after it goes by the same position.
        let target = self.jump_target(&rule);
        let r = if fake {
            Err(KernelError::NoEntry)
        } else {
            match &rule.target {
                RuleTarget::Jump(_) | RuleTarget::Goto(_) => {
                    check::check_jump_to(target.map(|i| &self.table.chains[i]))
                }
                _ if self.queue => Err(KernelError::NoEntry),
                _ => Ok(()),
            }
            .and_then(|()| {
                let est = self.validator.estimators(&self.table);
                let hooks = own_hook.map(Hook::bit).unwrap_or(0);
                check::check_rule(self.table.name, hooks, own_hook, est, &rule)
            })
        };
        let failed_now = r.is_err();
        // Only a refusal needs the words.
        let text = if failed_now {
            what(&self.table)
        } else {
            String::new()
        };
        self.kernel_op(op, text, r);
        let jumps = rule.target.chain().is_some();
        self.state_use = self.state_use.or(crate::ext::StateUse::of_rule(&rule));
        self.validator.rule_added(&rule);
        let rules = &mut self.table.chains[idx].rules;
        let at = match (pos, replace) {
            (Some(p), true) => {
                let old = std::mem::replace(&mut rules[p], rule);
                self.validator.rule_removed(&old);
                p
            }
            (Some(p), false) => {
                rules.insert(p, rule);
                p
            }
            (None, _) => {
                if rules.capacity() == 0 && self.appends_ahead > 0 {
                    rules.reserve_exact(self.appends_ahead);
                }
                rules.push(rule);
                rules.len() - 1
            }
        };
        if !failed_now {
            if let Err(err) = self.validate_after(idx, at, jumps || replace, target) {
                self.invalid.push(KernelFail {
                    op,
                    err,
                    what: what(&self.table),
                    line: self.line,
                    key: (self.line, self.ops),
                });
            }
        }
    }

    /// The table validation after the rule at `pos` went into chain `idx`.
    /// A rule without a jump changes no reachability: only it needs
    /// checking, with the hooks that reach its chain (`whole` false). Once
    /// validation failed, the bad rule stays in the batch and every later
    /// rule fails the same way.
    /// `target` is the position of the chain the rule jumps to, if any.
    pub(super) fn validate_after(
        &mut self,
        idx: usize,
        pos: usize,
        whole: bool,
        target: Option<usize>,
    ) -> Result<(), KernelError> {
        if let Some(err) = &self.invalid_state {
            return Err(err.clone());
        }
        #[cfg(test)]
        if tests::REFERENCE.with(|r| r.get()) {
            let r = tests::reference_validation(self, idx, pos, whole);
            if let Err(e) = &r {
                self.invalid_state = Some(e.clone());
            }
            return r;
        }
        let (table, names) = (&self.table, &self.names);
        let find = |n: &str| names.find(table, n);
        let r = self.validator.added(table, &find, idx, pos, whole, target);
        if let Err(e) = &r {
            self.invalid_state = Some(e.clone());
        }
        r
    }

    pub(super) fn print_rule(&mut self, verbose: bool, rule: &Rule) {
        if verbose {
            self.out.push_str(&list::verbose_line(rule));
        }
    }

    pub(super) fn append(&mut self, chain: &str, rule: Rule, verbose: bool) -> Result<(), Fail> {
        self.builtin_init(Some(chain));
        self.print_rule(verbose, &rule);
        let idx = self.command_chain(chain).ok_or_else(no_chain)?;
        self.rule_op("RULE_APPEND", idx, None, rule, false);
        Ok(())
    }

    pub(super) fn insert(
        &mut self,
        chain: &str,
        num: u32,
        rule: Rule,
        verbose: bool,
    ) -> Result<(), Fail> {
        self.builtin_init(Some(chain));
        let idx = self.find(chain).ok_or_else(no_chain)?;
        let pos = num as usize - 1;
        let len = self.table.chains[idx].rules.len();
        if pos > len {
            return Err(msg("Index of insertion too big"));
        }
        self.print_rule(verbose, &rule);
        if pos == len && pos > 0 {
            self.rule_op("RULE_APPEND", idx, None, rule, false);
        } else {
            self.rule_op("RULE_INSERT", idx, Some(pos), rule, false);
        }
        Ok(())
    }

    pub(super) fn replace(
        &mut self,
        chain: &str,
        num: u32,
        rule: Rule,
        verbose: bool,
    ) -> Result<(), Fail> {
        let idx = self.find(chain).ok_or_else(no_chain)?;
        let pos = num as usize - 1;
        if pos >= self.table.chains[idx].rules.len() {
            return Err(msg("Index of replacement too big"));
        }
        self.print_rule(verbose, &rule);
        self.rule_op("RULE_REPLACE", idx, Some(pos), rule, true);
        Ok(())
    }

    pub(super) fn find_rule(&self, chain: &str, rule: &Rule) -> Result<(usize, usize), Fail> {
        let idx = self.find(chain).ok_or_else(bad_rule)?;
        let key = rule.same_key();
        let pos = self.table.chains[idx]
            .rules
            .iter()
            .position(|r| r.has_key(&key))
            .ok_or_else(bad_rule)?;
        Ok((idx, pos))
    }

    pub(super) fn delete(&mut self, chain: &str, rule: &Rule, verbose: bool) -> Result<(), Fail> {
        let (idx, pos) = self.find_rule(chain, rule)?;
        self.print_rule(verbose, rule);
        let old = self.table.chains[idx].rules.remove(pos);
        self.validator.rule_removed(&old);
        Ok(())
    }

    pub(super) fn check(&mut self, chain: &str, rule: &Rule, verbose: bool) -> Result<(), Fail> {
        self.find_rule(chain, rule)?;
        self.print_rule(verbose, rule);
        Ok(())
    }

    pub(super) fn delete_num(&mut self, chain: &str, num: u32) -> Result<(), Fail> {
        let idx = self.find(chain).ok_or_else(no_chain)?;
        let pos = num as usize - 1;
        if pos >= self.table.chains[idx].rules.len() {
            return Err(msg("Index of deletion too big"));
        }
        let old = self.table.chains[idx].rules.remove(pos);
        self.validator.rule_removed(&old);
        Ok(())
    }
}
