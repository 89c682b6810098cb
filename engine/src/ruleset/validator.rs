//! The kernel's table validation ([`super::check::validate`]) kept up to
//! date rule by rule within one batch, with exactly its answers.
//!
//! A full validation walks every chain: the jump depth from the base chains,
//! the hooks reaching each chain, every rule's checks with those hooks. Run
//! after every rule of a large restore file, that is quadratic. This keeps
//! what it would find:
//!
//! - the hooks reaching each chain and the longest jump path to it (capped
//!   at [`JUMP_STACK_SIZE`]), grown along each new jump; anything that may
//!   shrink them (deleted jumps, flushed or deleted chains, built-in chains
//!   appearing) has them recomputed from the table;
//! - for each chain, the hooks with which all its rules are known to pass
//!   their checks. A full validation only checks the chains whose hooks
//!   changed since (all their rules, in table order) and the new rule, and
//!   returns the first refusal in table order, as the whole walk would: the
//!   rules it skips pass.
//!
//! The checks of a rule depend on its table, its chain's hook, the hooks
//! reaching the chain and the rate estimators of the host; a change of the
//! estimators (a `-j RATEEST` rule added or removed) or of match state (`-Z`)
//! forgets every known result.

use super::check::{check_rule, JUMP_STACK_SIZE};
use super::{Chain, Table};
use crate::ext::{Estimator, KernelError};
use crate::fasthash::{FastMap, FastSet};

/// Finds a chain of the table by name (its position).
pub type Find<'f> = &'f dyn Fn(&str) -> Option<usize>;

/// What is known about one chain.
#[derive(Debug, Clone, Copy, Default)]
struct Node {
    /// Hooks reaching the chain (0: not reached).
    mask: u8,
    /// Longest jump path from a base chain, capped at [`JUMP_STACK_SIZE`].
    depth: Option<u8>,
    /// Every rule of the chain passes its checks with these hooks.
    ok: Option<u8>,
}

/// What is known by chain handle; a handle not met yet knows nothing.
/// Handles count up from 1 as a table makes chains, so most are kept in
/// a list by handle (no hashing on the way of every rule); the few far
/// out, in a map.
#[derive(Debug, Clone, Default)]
struct Nodes {
    near: Vec<Node>,
    far: FastMap<u64, Node>,
}

/// Handles of chains of a table, as [`Nodes`] keeps them.
struct Live {
    near: Vec<bool>,
    far: FastSet<u64>,
}

impl Live {
    fn holds(&self, handle: u64) -> bool {
        match self.near.get(handle as usize) {
            Some(l) => *l,
            None => self.far.contains(&handle),
        }
    }
}

/// Handles from here on go in [`Nodes::far`].
const NEAR_HANDLES: u64 = 1 << 20;

impl Nodes {
    fn get(&self, handle: u64) -> Node {
        if handle < NEAR_HANDLES {
            self.near.get(handle as usize).copied().unwrap_or_default()
        } else {
            self.far.get(&handle).copied().unwrap_or_default()
        }
    }
    fn slot(&mut self, handle: u64) -> &mut Node {
        if handle >= NEAR_HANDLES {
            return self.far.entry(handle).or_default();
        }
        let i = handle as usize;
        if i >= self.near.len() {
            self.near.resize(i + 1, Node::default());
        }
        &mut self.near[i]
    }
    /// The handles of the chains of `table` that have a node.
    fn live(&self, table: &Table) -> Live {
        let mut live = Live {
            near: vec![false; self.near.len()],
            far: FastSet::default(),
        };
        for c in &table.chains {
            match live.near.get_mut(c.handle as usize) {
                Some(l) => *l = true,
                None if c.handle >= NEAR_HANDLES => {
                    live.far.insert(c.handle);
                }
                None => {}
            }
        }
        live
    }
    fn each(&mut self, mut f: impl FnMut(u64, &mut Node)) {
        for (h, n) in self.near.iter_mut().enumerate() {
            f(h as u64, n);
        }
        for (h, n) in self.far.iter_mut() {
            f(*h, n);
        }
    }
}

/// Incremental table validation for one batch on one table.
#[derive(Debug, Clone)]
pub struct Validator {
    /// Rate estimators of the host's other tables.
    others: Vec<Estimator>,
    /// `others` and the estimators of the table, as `validate` lists them.
    est: Vec<Estimator>,
    est_stale: bool,
    /// By chain handle (unique in a table, kept by renames).
    nodes: Nodes,
    /// Hooks and depths must be recomputed from the table.
    reach_stale: bool,
    /// Some chain is reached [`JUMP_STACK_SIZE`] jumps deep.
    deep: bool,
    /// Chains whose hooks changed since their rules were checked.
    suspects: Vec<String>,
    /// Same, found by the jump being validated (positions in its table,
    /// which does not change before they are checked).
    grown: Vec<usize>,
    /// Every chain must be looked at (known results may be out of date).
    all_suspect: bool,
    /// Room kept for the chains to check and the chains to follow, so
    /// that a validation allocates nothing.
    order_room: Vec<usize>,
    work_room: Vec<(usize, u8, usize)>,
}

impl Validator {
    /// A validator knowing nothing yet; `others` are the rate estimators of
    /// the host's other tables.
    pub fn new(others: Vec<Estimator>) -> Validator {
        Validator {
            est: others.clone(),
            others,
            est_stale: true,
            nodes: Nodes::default(),
            reach_stale: true,
            deep: false,
            suspects: Vec::new(),
            grown: Vec::new(),
            all_suspect: true,
            order_room: Vec::new(),
            work_room: Vec::new(),
        }
    }

    /// The table changed in a way that may shrink what reaches a chain or
    /// remove estimators (flushes, deleted chains, new or real built-in chains).
    pub fn structure_changed(&mut self) {
        self.reach_stale = true;
        self.est_stale = true;
    }

    /// The rate estimators of the host's other tables.
    pub fn others(&self) -> &[Estimator] {
        &self.others
    }

    /// The table was replaced by an empty one.
    pub fn reset(&mut self) {
        *self = Validator::new(std::mem::take(&mut self.others));
    }

    /// Match states were reset (`-Z`): rules are checked again.
    pub fn states_reset(&mut self) {
        self.forget_results();
    }

    /// A rule went into the table (whether or not it is validated).
    pub fn rule_added(&mut self, rule: &super::Rule) {
        if crate::ext::rateest_target::estimator_of(rule).is_some() {
            self.est_stale = true;
        }
    }

    /// A rule left the table (deleted or replaced).
    pub fn rule_removed(&mut self, rule: &super::Rule) {
        if rule.target.chain().is_some() {
            self.reach_stale = true;
        }
        if crate::ext::rateest_target::estimator_of(rule).is_some() {
            self.est_stale = true;
        }
    }

    fn forget_results(&mut self) {
        self.nodes.each(|_, n| n.ok = None);
        self.all_suspect = true;
        self.suspects.clear();
        self.grown.clear();
    }

    /// The rate estimators the kernel knows: the other tables' and this one's.
    pub fn estimators(&mut self, table: &Table) -> &[Estimator] {
        if self.est_stale {
            let mut est = self.others.clone();
            est.extend(crate::ext::rateest_target::estimators_of(table));
            if est != self.est {
                self.est = est;
                self.forget_results();
            }
            self.est_stale = false;
        }
        &self.est
    }

    /// Recomputes hooks and depths from the table (`hook_masks` and the
    /// level walk of `too_deep`), keeping known results of existing chains.
    fn recompute(&mut self, table: &Table, find: Find) {
        let live = self.nodes.live(table);
        self.nodes.each(|handle, n| {
            n.mask = 0;
            n.depth = None;
            if !live.holds(handle) {
                n.ok = None;
            }
        });
        self.deep = false;
        for (i, c) in table.chains.iter().enumerate().filter(|(_, c)| !c.fake) {
            if let Some(h) = c.hook {
                self.reach(table, find, i, h.bit(), 0);
            }
        }
        self.reach_stale = false;
        self.all_suspect = true;
        self.suspects.clear();
        self.grown.clear();
    }

    /// Chain `at` is reached with hooks `mask` at jump depth `depth`: grows
    /// what is known and follows the chain's jumps while anything grew.
    fn reach(&mut self, table: &Table, find: Find, at: usize, mask: u8, depth: usize) {
        // Chains left to look at; the first is taken without a list.
        let mut work = std::mem::take(&mut self.work_room);
        work.clear();
        let mut first = Some((at, mask, depth));
        while let Some((at, mask, depth)) = first.take().or_else(|| work.pop()) {
            let c = &table.chains[at];
            let depth = depth.min(JUMP_STACK_SIZE) as u8;
            let old = self.nodes.get(c.handle);
            let node = Node {
                mask: old.mask | mask,
                depth: old.depth.max(Some(depth)),
                ok: old.ok,
            };
            if node.mask == old.mask && node.depth == old.depth {
                continue;
            }
            if node.mask != old.mask && !c.rules.is_empty() {
                self.grown.push(at);
            }
            *self.nodes.slot(c.handle) = node;
            if depth as usize >= JUMP_STACK_SIZE {
                self.deep = true;
            }
            let next = depth as usize + 1;
            for r in &c.rules {
                if let Some(t) = r.target.chain().and_then(find) {
                    work.push((t, node.mask, next));
                }
            }
        }
        self.work_room = work;
    }

    /// Records that every rule of chain `name` passes with hooks `mask`.
    fn set_ok(&mut self, chain: &Chain, mask: u8) {
        self.nodes.slot(chain.handle).ok = Some(mask);
    }

    /// A rule went into chain `name` checked with its hooks only: the
    /// others of the chain may not have been.
    fn suspect(&mut self, name: &str) {
        if !self.all_suspect && self.suspects.last().is_none_or(|l| l != name) {
            self.suspects.push(name.to_string());
        }
    }

    fn ensure(&mut self, table: &Table, find: Find) {
        self.estimators(table);
        if self.reach_stale {
            self.recompute(table, find);
        }
    }

    /// The hooks reaching a chain.
    fn mask(&self, chain: &Chain) -> u8 {
        self.nodes.get(chain.handle).mask
    }

    /// The kernel's answer after the rule at `pos` of chain `idx` went in
    /// (and [`Validator::rule_added`] was told)
    /// (`find` is [`Table::chain_index`] or as good):
    /// with `whole`, the full table validation (`check::validate`); else
    /// only that rule's checks with the hooks reaching its chain.
    /// `target` is where the rule's jump goes (`find` of its name).
    pub fn added(
        &mut self,
        table: &Table,
        find: Find,
        idx: usize,
        pos: usize,
        whole: bool,
        target: Option<usize>,
    ) -> Result<(), KernelError> {
        let chain = &table.chains[idx];
        let Some(rule) = chain.rules.get(pos) else {
            return Ok(());
        };
        let stale = self.reach_stale;
        self.ensure(table, find);
        if !whole {
            let mask = self.mask(chain);
            check_rule(table.name, mask, chain.hook, &self.est, rule)?;
            if self.known(chain) != Some(mask) {
                if chain.rules.len() == 1 {
                    self.set_ok(chain, mask);
                } else {
                    self.suspect(&chain.name);
                }
            }
            return Ok(());
        }
        if let (false, Some(t)) = (stale, target) {
            let from = self.nodes.get(chain.handle);
            if let Some(d) = from.depth {
                self.reach(table, find, t, from.mask, d as usize + 1);
            }
        }
        if self.deep {
            self.keep_grown(table);
            return Err(KernelError::TooManyLinks);
        }
        let mut listed = std::mem::take(&mut self.order_room);
        listed.clear();
        let order: &[usize] = if self.all_suspect {
            listed.extend(0..table.chains.len());
            &listed
        } else if self.suspects.is_empty() && self.grown.is_empty() {
            std::slice::from_ref(&idx)
        } else {
            listed.extend(self.suspects.iter().filter_map(|n| find(n)));
            listed.extend(self.grown.iter().copied());
            listed.push(idx);
            crate::sort::sort(&mut listed);
            listed.dedup();
            &listed
        };
        let checked = self.check_chains(table, order, idx, rule);
        self.order_room = listed;
        if let Err(e) = checked {
            self.keep_grown(table);
            return Err(e);
        }
        self.suspects.clear();
        self.grown.clear();
        self.all_suspect = false;
        Ok(())
    }

    /// The chains found by a jump stay suspect by name after a refusal
    /// (the table may change before they are checked).
    fn keep_grown(&mut self, table: &Table) {
        for i in std::mem::take(&mut self.grown) {
            self.suspects.push(table.chains[i].name.clone());
        }
    }

    /// Checks the rules of the chains `order` (positions, in table order)
    /// whose hooks are not known to pass, and `rule` in chain `idx`.
    fn check_chains(
        &mut self,
        table: &Table,
        order: &[usize],
        idx: usize,
        rule: &super::Rule,
    ) -> Result<(), KernelError> {
        for &i in order {
            let c = &table.chains[i];
            if c.fake || c.rules.is_empty() {
                continue;
            }
            let mask = self.mask(c);
            if self.known(c) == Some(mask) {
                if i == idx {
                    check_rule(table.name, mask, c.hook, &self.est, rule)?;
                }
                continue;
            }
            for r in &c.rules {
                check_rule(table.name, mask, c.hook, &self.est, r)?;
            }
            self.set_ok(c, mask);
        }
        Ok(())
    }

    /// The hooks with which every rule of a chain is known to pass.
    fn known(&self, chain: &Chain) -> Option<u8> {
        self.nodes.get(chain.handle).ok
    }
}
