//! Listings: -L and -S on the cache, placeholders included.

use super::{Batch, Fail};
use crate::iptables::list::{self, Format};
use crate::iptables::save;
use crate::ruleset::Chain;

impl Batch<'_> {
    // --- listings --------------------------------------------------------

    pub(super) fn list(
        &mut self,
        chain: Option<&str>,
        rulenum: Option<u32>,
        fmt: Format,
    ) -> Result<(), Fail> {
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

    pub(super) fn list_rules(
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

    pub(super) fn incompatible(&self, chain: &str) -> Fail {
        Fail::Incompatible {
            chain: chain.to_string(),
            table: self.table.name,
        }
    }
}
