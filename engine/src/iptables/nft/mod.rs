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
    /// Every rule of the cache came through this batch (it started empty
    /// or with the table's flush), and what they use of the extensions
    /// that keep per-host objects (an added rule may have gone since).
    fresh: bool,
    state_use: crate::ext::StateUse,
    reverse: Reverse<'a>,
    /// How many rules the run of appends to one chain that the command
    /// being run starts or continues puts in (0: not known), so that a
    /// chain's first rule makes room for the run at once.
    pub(crate) appends_ahead: usize,
    /// Where the chains of the command to run next are, found ahead
    /// (see [`Batch::locate`]).
    pub(crate) located: Option<Found>,
    /// Where the chains of the rule command being run are: its jump, found
    /// when the command checked it, and its chain if found ahead.
    found: Option<Found>,
}

/// The chain a parsed command's rules jump or go to.
fn jump_name(p: &Parsed) -> Option<&str> {
    p.rules.first().and_then(|r| r.target.chain())
}

/// The hashes of the names of a command's chain and jump.
#[derive(Debug, Clone, Copy, Default)]
pub struct NameHashes {
    chain: Option<u32>,
    jump: Option<u32>,
}

/// The positions of a command's chain and of its rules' jump (`None`: not
/// in the cache), valid while the cache's chains stay where they were.
#[derive(Debug, Clone, Copy)]
pub struct Found {
    changes: u64,
    chain: Option<usize>,
    jump: Option<usize>,
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
            fresh: table.chains.iter().all(|c| c.rules.is_empty()),
            state_use: crate::ext::StateUse::default(),
            reverse,
            appends_ahead: 0,
            located: None,
            found: None,
        }
    }

    /// What the rules of the table this batch leaves use of the extensions
    /// that keep per-host objects, when known without looking at every
    /// rule again (for [`Table::set_state_use`]).
    pub fn known_state_use(&self) -> Option<crate::ext::StateUse> {
        (self.fresh && !self.state_use.any()).then_some(self.state_use)
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
            crate::sort::sort_by_key(&mut errors, |k| k.key);
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

    /// Starts loading what finding the chains of a parsed command reads
    /// (its chain and its rules' jump target), to be run soon; the hashes
    /// of their names, for [`Batch::locate`].
    pub fn prefetch_chains(&self, p: &Parsed) -> NameHashes {
        let hashes = NameHashes {
            chain: p.chain.as_deref().map(name_hash),
            // A command's rules all jump to the same chain.
            jump: jump_name(p).map(name_hash),
        };
        for h in [hashes.chain, hashes.jump].into_iter().flatten() {
            self.names.prefetch(h);
        }
        hashes
    }

    /// Finds the chains of the cache a parsed command names (`hashes`
    /// from [`Batch::prefetch_chains`]), to be run soon, and starts
    /// loading them; `None` when the positions are not at hand.
    pub fn locate(&self, p: &Parsed, hashes: NameHashes) -> Option<Found> {
        if !self.names.made() {
            return None;
        }
        let at = |name: &str, h: Option<u32>| {
            let i = self.names.peek(&self.table, name, h?)?;
            crate::prefetch::value(&self.table.chains[i]);
            Some(i)
        };
        Some(Found {
            changes: self.names.changes,
            chain: p.chain.as_deref().and_then(|n| at(n, hashes.chain)),
            jump: jump_name(p).and_then(|n| at(n, hashes.jump)),
        })
    }

    /// What `found` says still holds.
    fn still(&self, found: Option<Found>) -> Option<Found> {
        found.filter(|f| f.changes == self.names.changes)
    }

    /// Puts a chain into the cache at its place.
    fn add_chain(&mut self, c: Chain) -> usize {
        let pos = self.table.add_chain(c);
        self.names.added(pos, &self.table.chains[pos].name);
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
        let located = self.located.take();
        let ahead = self.still(located);
        self.found = None;
        if cmd & CMD_IDRAC != 0 {
            let jump = p.rules.first().and_then(|r| r.target.chain());
            let at = match (jump, ahead) {
                (Some(_), Some(f)) => f.jump,
                (Some(j), None) => self.find(j),
                (None, _) => None,
            };
            if let Some(j) = jump {
                if at.is_none() && self.table.builtin_hook(j).is_none() {
                    return Err(Fail::Param(XtError::new(format!(
                        "Chain '{j}' does not exist"
                    ))));
                }
            }
            self.found = Some(Found {
                changes: self.names.changes,
                chain: ahead.and_then(|f| f.chain),
                jump: at,
            });
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
        // Drained, not taken: the emptied list keeps its room for the
        // command's next use (iptables-restore reuses its commands).
        let verbose = p.has(OPT_VERBOSE);
        let fmt = Format {
            numeric: p.has(OPT_NUMERIC),
            verbose,
            expanded: p.has(OPT_EXPANDED),
            line_numbers: p.has(OPT_LINENUMBERS),
        };
        let rules = &mut p.rules;
        let chain = p.chain.as_deref();
        let name = chain.unwrap_or("");
        let num = p.rulenum.unwrap_or(1);
        let r = match cmd {
            CMD_APPEND => rules
                .drain(..)
                .try_for_each(|r| self.append(name, r, verbose)),
            CMD_INSERT => rules
                .drain(..)
                .try_for_each(|r| self.insert(name, num, r, verbose)),
            CMD_REPLACE => match rules.drain(..).next() {
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
        };
        rules.clear();
        self.found = None;
        r
    }

    /// The position of the chain `rule` (of the command being run) jumps
    /// or goes to.
    fn jump_target(&self, rule: &crate::ruleset::Rule) -> Option<usize> {
        let name = rule.target.chain()?;
        match self.still(self.found) {
            Some(f) => f.jump,
            None => self.find(name),
        }
    }

    /// The position of the chain `name` of the command being run.
    fn command_chain(&self, name: &str) -> Option<usize> {
        match self.still(self.found).and_then(|f| f.chain) {
            Some(i) => Some(i),
            None => self.find(name),
        }
    }
}

/// Positions of the cache's chains by name: [`Table::chain_index`] with a
/// hash, kept up to date as chains come and go one by one, rebuilt after
/// bulk changes.
#[derive(Debug, Default)]
struct ChainNames {
    slots: std::cell::RefCell<Option<Slots>>,
    /// Counts the changes of chain positions: a position found at one
    /// count holds while the count stays.
    changes: u64,
}

impl ChainNames {
    fn find(&self, table: &Table, name: &str) -> Option<usize> {
        let mut slots = self.slots.borrow_mut();
        slots
            .get_or_insert_with(|| Slots::of(table))
            .find(table, name)
    }
    /// Starts loading the first slot a lookup of `name` reads.
    fn prefetch(&self, hash: u32) {
        if let Ok(slots) = self.slots.try_borrow() {
            if let Some(s) = slots.as_ref().filter(|s| !s.slots.is_empty()) {
                let i = hash as usize & s.mask();
                crate::prefetch::value(&s.slots[i]);
            }
        }
    }
    /// The position of `name` if the slots are made, without remembering
    /// it among the last found.
    fn peek(&self, table: &Table, name: &str, hash: u32) -> Option<usize> {
        let slots = self.slots.try_borrow().ok()?;
        slots.as_ref()?.peek(table, name, hash)
    }
    /// Whether the slots are made (a [`ChainNames::peek`] that finds
    /// nothing then means the chain is not there).
    fn made(&self) -> bool {
        self.slots.try_borrow().is_ok_and(|s| s.is_some())
    }
    /// Chains came or went in bulk.
    fn stale(&mut self) {
        self.changes += 1;
        *self.slots.get_mut() = None;
    }
    /// A chain went in at `pos`.
    fn added(&mut self, pos: usize, name: &str) {
        self.changes += 1;
        if let Some(s) = self.slots.get_mut() {
            s.shift(pos, true);
            s.insert(Slot::new(name_hash(name), pos, name));
        }
    }
    /// The chain at `pos` went.
    fn removed(&mut self, pos: usize, name: &str) {
        self.changes += 1;
        if let Some(s) = self.slots.get_mut() {
            s.remove(name_hash(name), pos);
            s.shift(pos, false);
        }
    }
}

/// A chain name's hash: sixteen bytes at a time, each step one wide
/// multiply folded (its high half into its low half), so that a name of
/// up to 32 bytes costs two dependent multiplies.
fn name_hash(name: &str) -> u32 {
    const K: [u64; 3] = [
        0x243f_6a88_85a3_08d3,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
    ];
    let fold = |a: u64, b: u64| {
        let p = a as u128 * b as u128;
        p as u64 ^ (p >> 64) as u64
    };
    let load = |s: &[u8]| match s.len() {
        0 => 0,
        1..=7 => crate::fasthash::partial_word(s),
        _ => crate::bytescan::word_at(s, 0),
    };
    let b = name.as_bytes();
    let mut h = K[2] ^ b.len() as u64;
    for chunk in b.chunks(16) {
        let (lo, hi) = chunk.split_at(chunk.len().min(8));
        h = fold(h ^ load(lo) ^ K[0], load(hi) ^ K[1]);
    }
    (h ^ (h >> 32)) as u32
}

/// Longest chain name a slot keeps a copy of (iptables' own limit is 28).
const INLINE_NAME: usize = 30;

/// One slot of [`Slots`]: a name's hash, its position plus one (0: empty)
/// and a copy of the name, so that a lookup reads one slot and no chain.
#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: u32,
    pos: u32,
    /// Length of the copied name; `u8::MAX`: too long to copy (the table's
    /// chain is compared instead).
    len: u8,
    name: [u8; INLINE_NAME],
}

impl Default for Slot {
    fn default() -> Slot {
        Slot::EMPTY
    }
}

impl Slot {
    const EMPTY: Slot = Slot {
        hash: 0,
        pos: 0,
        len: 0,
        name: [0; INLINE_NAME],
    };

    fn new(hash: u32, pos: usize, name: &str) -> Slot {
        let mut s = Slot {
            hash,
            pos: pos as u32 + 1,
            len: u8::MAX,
            name: [0; INLINE_NAME],
        };
        if let Some(dst) = s.name.get_mut(..name.len()) {
            dst.copy_from_slice(name.as_bytes());
            s.len = name.len() as u8;
        }
        s
    }

    /// Whether this slot holds `name` (at its position in `table`).
    fn holds(&self, table: &Table, name: &str) -> bool {
        match self.name.get(..self.len as usize) {
            Some(copy) => copy == name.as_bytes(),
            None => table
                .chains
                .get(self.pos as usize - 1)
                .is_some_and(|c| c.name == name),
        }
    }
}

/// An open-addressing table of chain positions: each slot holds a name's
/// hash, its position plus one (0: empty) and (short names) the name.
/// The last names found are kept aside: a rule line asks for its chain and
/// its jump's target several times, and the next lines for the same few
/// chains again (a miss in a large table costs a read from memory).
#[derive(Debug, Default)]
struct Slots {
    slots: Vec<Slot>,
    len: usize,
    /// The hashes of `recent`, apart: a lookup compares them all at once
    /// and reads only a slot whose hash is the name's.
    recent_hash: [u32; RECENT],
    /// Slots of the last names found (position 0: none).
    recent: [Slot; RECENT],
    next_recent: usize,
}

/// How many names found last [`Slots`] keeps aside.
const RECENT: usize = 16;

impl Slots {
    fn of(table: &Table) -> Slots {
        let mut s = Slots::default();
        s.grow(table.chains.len());
        for (i, c) in table.chains.iter().enumerate() {
            s.insert(Slot::new(name_hash(&c.name), i, &c.name));
        }
        s
    }
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }
    /// Room for `n` names at most half full.
    fn grow(&mut self, n: usize) {
        let want = (n * 2).next_power_of_two().max(16);
        if want <= self.slots.len() {
            return;
        }
        let old = std::mem::replace(&mut self.slots, vec![Slot::EMPTY; want]);
        self.len = 0;
        for s in old.into_iter().filter(|s| s.pos != 0) {
            self.insert(s);
        }
    }
    fn insert(&mut self, slot: Slot) {
        self.grow(self.len + 1);
        let mask = self.mask();
        let mut i = slot.hash as usize & mask;
        while self.slots[i].pos != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot;
        self.len += 1;
    }
    fn find(&mut self, table: &Table, name: &str) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        // The two names found last, by name alone: a rule line asks for
        // its chain and its jump's target, and the next line mostly for
        // the same chain.
        for back in 1..=2 {
            let s = &self.recent[(self.next_recent + RECENT - back) % RECENT];
            if s.pos != 0 && s.name.get(..s.len as usize) == Some(name.as_bytes()) {
                return Some(s.pos as usize - 1);
            }
        }
        let h = name_hash(name);
        let mut same = 0u32;
        for (i, rh) in self.recent_hash.iter().enumerate() {
            same |= u32::from(*rh == h) << i;
        }
        while same != 0 {
            let s = &self.recent[same.trailing_zeros() as usize];
            same &= same - 1;
            if s.pos != 0
                && s.len as usize == name.len()
                && s.name.get(..name.len()) == Some(name.as_bytes())
            {
                return Some(s.pos as usize - 1);
            }
        }
        let mask = self.mask();
        let mut i = h as usize & mask;
        loop {
            let s = self.slots[i];
            if s.pos == 0 {
                return None;
            }
            if s.hash == h && s.holds(table, name) {
                if s.len != u8::MAX {
                    self.recent[self.next_recent] = s;
                    self.recent_hash[self.next_recent] = h;
                    self.next_recent = (self.next_recent + 1) % RECENT;
                }
                return Some(s.pos as usize - 1);
            }
            i = (i + 1) & mask;
        }
    }
    /// Same as [`Slots::find`], without remembering the name found.
    fn peek(&self, table: &Table, name: &str, h: u32) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut i = h as usize & mask;
        loop {
            let s = &self.slots[i];
            if s.pos == 0 {
                return None;
            }
            if s.hash == h && s.holds(table, name) {
                return Some(s.pos as usize - 1);
            }
            i = (i + 1) & mask;
        }
    }
    fn forget_recent(&mut self) {
        self.recent = [Slot::EMPTY; RECENT];
        self.recent_hash = [0; RECENT];
    }
    /// Takes out the slot of position `pos` (linear probing's backward shift).
    fn remove(&mut self, h: u32, pos: usize) {
        if self.slots.is_empty() {
            return;
        }
        let mask = self.mask();
        let mut i = h as usize & mask;
        loop {
            let p = self.slots[i].pos;
            if p == 0 {
                return;
            }
            if p as usize - 1 == pos {
                break;
            }
            i = (i + 1) & mask;
        }
        self.slots[i] = Slot::EMPTY;
        self.len -= 1;
        self.forget_recent();
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let sj = self.slots[j];
            if sj.pos == 0 {
                return;
            }
            let home = sj.hash as usize & mask;
            // Move back unless its home lies cyclically in (i, j].
            let stays = if i <= j {
                i < home && home <= j
            } else {
                i < home || home <= j
            };
            if !stays {
                self.slots[i] = sj;
                self.slots[j] = Slot::EMPTY;
                i = j;
            }
        }
    }
    /// Positions from `pos` on move up (a chain went in) or down (one went).
    fn shift(&mut self, pos: usize, up: bool) {
        self.forget_recent();
        let pos = pos as u32 + 1;
        for s in self.slots.iter_mut() {
            if up && s.pos >= pos {
                s.pos += 1;
            } else if !up && s.pos > pos {
                s.pos -= 1;
            }
        }
    }
}

#[cfg(test)]
mod name_tests {
    use super::name_hash;

    /// kube-proxy's 30,000 chain names spread over a table of 65,536
    /// slots about as random positions would (24,200 distinct expected),
    /// and the order of a name's parts counts.
    #[test]
    fn names_spread_over_the_slots() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut used = std::collections::HashSet::new();
        for i in 0..30_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let kind = ["SVC", "SEP", "FW", "XLB"][i % 4];
            used.insert(name_hash(&format!("KUBE-{kind}-{x:016X}")) & 0xffff);
        }
        assert!(used.len() > 23_000, "{}", used.len());
        let a = "0123456789abcdefFEDCBA9876543210";
        let b = "FEDCBA98765432100123456789abcdef";
        assert_ne!(name_hash(a), name_hash(b));
        assert_ne!(name_hash("ab"), name_hash("ba"));
        assert_ne!(name_hash(""), name_hash("\0"));
    }
}
