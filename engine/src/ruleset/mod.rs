//! The netfilter state a host keeps: tables, chains, rules, policies and
//! counters, with the kernel's commit-time checks.

use crate::ext::{Match, Target};
use std::net::Ipv4Addr;

pub mod check;
pub mod explain;
pub mod validator;
pub mod walk;

/// Netfilter hooks, in the order iptables lists built-in chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hook {
    Prerouting = 0,
    Input = 1,
    Forward = 2,
    Output = 3,
    Postrouting = 4,
}

impl Hook {
    pub const ALL: [Hook; 5] = [
        Hook::Prerouting,
        Hook::Input,
        Hook::Forward,
        Hook::Output,
        Hook::Postrouting,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }
    pub fn from_name(s: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.name() == s)
    }
    pub fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The five iptables tables, in the order `iptables-nft-save` prints them.
pub const TABLE_ORDER: [&str; 5] = ["mangle", "security", "raw", "filter", "nat"];

/// Built-in chains (hooks) of a table, `None` for an unknown table name.
pub fn table_hooks(table: &str) -> Option<&'static [Hook]> {
    use Hook::*;
    Some(match table {
        "filter" | "security" => &[Input, Forward, Output],
        "nat" => &[Prerouting, Input, Output, Postrouting],
        "mangle" => &[Prerouting, Input, Forward, Output, Postrouting],
        "raw" => &[Prerouting, Output],
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

/// Built-in verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    Return,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Accept => "ACCEPT",
            Verdict::Drop => "DROP",
            Verdict::Return => "RETURN",
        }
    }
    pub fn from_name(s: &str) -> Option<Verdict> {
        match s {
            "ACCEPT" => Some(Verdict::Accept),
            "DROP" => Some(Verdict::Drop),
            "RETURN" => Some(Verdict::Return),
            _ => None,
        }
    }
}

/// What a rule does when it matches.
#[derive(Debug, Clone)]
pub enum RuleTarget {
    /// No `-j`: only counts.
    None,
    Verdict(Verdict),
    Jump(String),
    Goto(String),
    Ext(Box<dyn Target>),
}

impl RuleTarget {
    /// Chain this target jumps or goes to.
    pub fn chain(&self) -> Option<&str> {
        match self {
            RuleTarget::Jump(c) | RuleTarget::Goto(c) => Some(c),
            _ => None,
        }
    }
    /// The name shown in the `target` column of `-L`.
    pub fn list_name(&self) -> &str {
        match self {
            RuleTarget::None => "",
            RuleTarget::Verdict(v) => v.name(),
            RuleTarget::Jump(c) | RuleTarget::Goto(c) => c,
            RuleTarget::Ext(t) => t.list_name(),
        }
    }
}

/// An address with its netmask (`-s` / `-d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    pub addr: Ipv4Addr,
    pub mask: u32,
}

impl Net {
    pub const ANY: Net = Net {
        addr: Ipv4Addr::UNSPECIFIED,
        mask: 0,
    };
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        u32::from(a) & self.mask == u32::from(self.addr) & self.mask
    }
}

/// The fixed IPv4 part of a rule (`struct ipt_ip`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpSpec {
    pub src: Net,
    pub src_inv: bool,
    pub dst: Net,
    pub dst_inv: bool,
    /// Interface names; a trailing `+` is a prefix wildcard.
    pub in_iface: String,
    pub in_inv: bool,
    pub out_iface: String,
    pub out_inv: bool,
    /// Protocol number, 0 = any.
    pub proto: u8,
    pub proto_inv: bool,
    /// `-f` given, and whether inverted.
    pub frag: bool,
    pub frag_inv: bool,
}

impl Default for IpSpec {
    fn default() -> Self {
        IpSpec {
            src: Net::ANY,
            src_inv: false,
            dst: Net::ANY,
            dst_inv: false,
            in_iface: String::new(),
            in_inv: false,
            out_iface: String::new(),
            out_inv: false,
            proto: 0,
            proto_inv: false,
            frag: false,
            frag_inv: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub ip: IpSpec,
    pub matches: Vec<Box<dyn Match>>,
    pub target: RuleTarget,
    pub counters: Counters,
}

impl Rule {
    /// The rule as iptables-save prints it after `-A CHAIN`, without counters.
    pub fn spec_text(&self) -> String {
        let mut s = String::new();
        crate::iptables::save::rule_body(self, &mut s);
        s
    }
    /// Whether two rules are the same rule (`-D` / `-C` by specification).
    pub fn same_as(&self, other: &Rule) -> bool {
        other.has_key(&self.same_key())
    }
    /// What [`Rule::same_as`] compares, made once to look for a rule.
    pub fn same_key(&self) -> RuleKey {
        RuleKey {
            text: self.spec_text(),
            data: self.matches.iter().map(|m| m.data_key()).collect(),
        }
    }
    /// Whether this rule is the one `key` was made from (or the same).
    pub fn has_key(&self, key: &RuleKey) -> bool {
        self.matches.len() == key.data.len()
            && self.spec_text() == key.text
            && self
                .matches
                .iter()
                .zip(&key.data)
                .all(|(a, b)| a.data_key() == *b)
    }
}

/// A rule's identity for `-D` and `-C`: its save text and its matches' data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleKey {
    text: String,
    data: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Chain {
    pub name: String,
    /// `Some` for a built-in (base) chain.
    pub hook: Option<Hook>,
    /// Policy of a built-in chain.
    pub policy: Verdict,
    /// Policy counters of a built-in chain.
    pub counters: Counters,
    pub rules: Vec<Rule>,
    /// A listing placeholder for a built-in chain the kernel does not have
    /// (iptables-nft shows such chains with policy ACCEPT and no rules).
    pub fake: bool,
    /// The kernel's handle: chains created earlier have smaller ones.
    pub handle: u64,
    /// A base chain the kernel keeps policy counters for: made or updated
    /// with counters (`-P`, restore's `:CHAIN` line, `-Z`), not one that a
    /// rule command created on demand (that one lists `[0:0]` forever).
    pub counted: bool,
}

impl Chain {
    /// A built-in chain as the kernel creates it: policy ACCEPT, no rules.
    pub fn builtin(hook: Hook) -> Chain {
        Chain {
            name: hook.name().to_string(),
            hook: Some(hook),
            policy: Verdict::Accept,
            counters: Counters::default(),
            rules: Vec::new(),
            fake: false,
            handle: 0,
            counted: false,
        }
    }
    pub fn user(name: impl Into<String>) -> Chain {
        Chain {
            name: name.into(),
            hook: None,
            policy: Verdict::Accept,
            counters: Counters::default(),
            rules: Vec::new(),
            fake: false,
            handle: 0,
            counted: false,
        }
    }
    pub fn is_builtin(&self) -> bool {
        self.hook.is_some()
    }
}

/// One table as the kernel holds it. Tables and built-in chains exist only
/// once a command created them (iptables-nft creates them on demand).
#[derive(Debug, Clone)]
pub struct Table {
    pub name: &'static str,
    /// Whether the table exists in the kernel (iptables-save prints only those).
    pub exists: bool,
    /// Built-in chains in hook order, then user chains sorted by name (byte order).
    pub chains: Vec<Chain>,
    /// The next chain handle.
    pub next_handle: u64,
    /// Positions of chains looked up lately.
    found: Found,
    /// Changes with every change of chains or rules made through the
    /// table's methods and every commit; code that changes `chains` in
    /// place must call [`Table::bump`].
    generation: u64,
    /// What the simulator's walk needs, made for one generation.
    walk: walk::WalkCache,
    /// What the rules use of the extensions that keep per-host objects,
    /// known for one generation.
    state_use: Option<(u64, crate::ext::StateUse)>,
}

/// The last few positions [`Table::chain_index`] found. Each is checked
/// against the chain now there before use, so a changed table only makes
/// them miss. Atomics keep the table `Sync`; the order of updates does not
/// matter.
#[derive(Debug, Default)]
struct Found {
    slots: [std::sync::atomic::AtomicU32; 4],
    next: std::sync::atomic::AtomicU32,
}

impl Clone for Found {
    fn clone(&self) -> Found {
        Found::default()
    }
}

impl Found {
    fn get(&self, chains: &[Chain], name: &str) -> Option<usize> {
        use std::sync::atomic::Ordering::Relaxed;
        self.slots.iter().find_map(|s| {
            let i = s.load(Relaxed) as usize;
            chains
                .get(i)
                .is_some_and(|c| c.name.len() == name.len() && c.name == name)
                .then_some(i)
        })
    }
    fn put(&self, i: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        let slot = self.next.fetch_add(1, Relaxed) as usize % self.slots.len();
        self.slots[slot].store(i as u32, Relaxed);
    }
}

impl Table {
    /// A table that does not exist yet (no chains).
    pub fn new(name: &'static str) -> Table {
        Table {
            name,
            exists: false,
            chains: Vec::new(),
            next_handle: 1,
            found: Found::default(),
            generation: 0,
            walk: walk::WalkCache::default(),
            state_use: None,
        }
    }
    /// Built-in chain names of this table.
    pub fn hooks(&self) -> &'static [Hook] {
        table_hooks(self.name).unwrap_or(&[])
    }
    /// The hook of a built-in chain name of this table.
    pub fn builtin_hook(&self, name: &str) -> Option<Hook> {
        self.hooks().iter().copied().find(|h| h.name() == name)
    }
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chain_index(name).map(|i| &self.chains[i])
    }
    pub fn chain_mut(&mut self, name: &str) -> Option<&mut Chain> {
        self.chain_index(name).map(move |i| &mut self.chains[i])
    }
    /// The position of the built-in chain of `hook`: the same as
    /// [`Table::chain_index`] of its name, without comparing names.
    pub fn hook_chain(&self, hook: Hook) -> Option<usize> {
        self.chains
            .iter()
            .take_while(|c| c.hook.is_some())
            .position(|c| c.hook == Some(hook))
            .or_else(|| self.chain_index(hook.name()))
    }
    /// Where the user chains start in [`Table::chains`] (after the built-ins).
    fn user_start(&self) -> usize {
        self.chains
            .iter()
            .position(|c| c.hook.is_none())
            .unwrap_or(self.chains.len())
    }
    /// The position of a chain: one of the last few found, else a scan of
    /// the few built-in chains, then a binary search of the user chains
    /// (kept sorted by name). Chain names are unique in a table, so a
    /// remembered position holding the name is the answer.
    pub fn chain_index(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.found.get(&self.chains, name) {
            return Some(i);
        }
        let start = self.user_start();
        let i = match self.chains[..start].iter().position(|c| c.name == name) {
            Some(i) => i,
            None => {
                start
                    + self.chains[start..]
                        .binary_search_by(|c| c.name.as_str().cmp(name))
                        .ok()?
            }
        };
        self.found.put(i);
        Some(i)
    }
    /// Where a chain belongs in [`Table::chains`].
    fn insert_pos(&self, chain: &Chain) -> usize {
        match chain.hook {
            Some(h) => self
                .chains
                .iter()
                .position(|c| c.hook.is_none_or_after(h))
                .unwrap_or(self.chains.len()),
            None => self
                .chains
                .iter()
                .position(|c| c.hook.is_none() && c.name.as_str() > chain.name.as_str())
                .unwrap_or(self.chains.len()),
        }
    }
    /// The table's generation: equal generations of one table mean the same
    /// chains and rules (counters and match state aside).
    pub fn generation(&self) -> u64 {
        self.generation
    }
    /// Records a change of chains or rules.
    pub fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }
    /// What the rules use of the extensions that keep per-host objects
    /// (recent, hashlimit, rate estimators), looked at once per change.
    pub fn state_use(&mut self) -> crate::ext::StateUse {
        if let Some((g, u)) = self.state_use {
            if g == self.generation {
                return u;
            }
        }
        let u = self
            .chains
            .iter()
            .flat_map(|c| c.rules.iter())
            .fold(crate::ext::StateUse::default(), |u, r| {
                u.or(crate::ext::StateUse::of_rule(r))
            });
        self.set_state_use(u);
        u
    }
    /// What the rules use, when known for the table as it is (no look at
    /// the rules).
    pub fn known_state_use(&self) -> Option<crate::ext::StateUse> {
        self.state_use
            .and_then(|(g, u)| (g == self.generation).then_some(u))
    }
    /// Tells the table what its rules use (known by whoever built them).
    pub fn set_state_use(&mut self, u: crate::ext::StateUse) {
        self.state_use = Some((self.generation, u));
    }
    /// The chains, and the simulator's walk index for them as they are
    /// (made now if the table changed since it was last made).
    pub fn walk_parts(&mut self) -> (&mut [Chain], &walk::WalkIndex) {
        let fresh = matches!(&self.walk.built, Some((g, w))
            if *g == self.generation && w.chains() == self.chains.len());
        if !fresh {
            self.walk.built = Some((self.generation, walk::WalkIndex::new(self)));
        }
        match &mut self.walk.built {
            Some((_, index)) => (&mut self.chains, index),
            None => (&mut self.chains, walk::WalkIndex::empty()),
        }
    }
    /// The simulator's walk index, if it was made for the table as it is.
    pub fn walk_index(&self) -> Option<&walk::WalkIndex> {
        match &self.walk.built {
            Some((g, w)) if *g == self.generation && w.chains() == self.chains.len() => Some(w),
            _ => None,
        }
    }
    /// Adds a chain at its place (built-ins in hook order, user chains by name).
    pub fn add_chain(&mut self, mut chain: Chain) -> usize {
        self.bump();
        chain.handle = self.next_handle;
        self.next_handle += 1;
        let pos = self.insert_pos(&chain);
        self.chains.insert(pos, chain);
        pos
    }
    /// Adds an empty user chain.
    pub fn add_user_chain(&mut self, name: &str) {
        self.add_chain(Chain::user(name));
    }
    /// Adds empty user chains as one [`Table::add_user_chain`] per name in
    /// turn would (same handles, same places), in one merge instead of one
    /// insertion per chain.
    pub fn add_user_chains<'n>(&mut self, names: impl IntoIterator<Item = &'n str>) {
        let named = names
            .into_iter()
            .enumerate()
            .map(|(i, n)| (sort_key(n), n, i))
            .collect();
        self.add_sorted_user_chains(named, false);
    }
    /// Adds empty user chains named in `names` (none in the table yet),
    /// a name given again only the first time: as one
    /// [`Table::add_user_chain`] per name not yet added would.
    pub fn add_new_user_chains(&mut self, names: &[&str]) {
        self.add_new_user_chains_named(names.to_vec());
    }
    /// [`Table::add_new_user_chains`], the chains taking the names given.
    pub fn add_new_user_chains_named<S: AsRef<str> + Into<String>>(&mut self, names: Vec<S>) {
        let named = names
            .into_iter()
            .enumerate()
            .map(|(i, n)| (sort_key(n.as_ref()), n, i))
            .collect();
        self.add_sorted_user_chains(named, true);
    }
    /// Adds the chains `named` (sort key, name, place in the list); `once`:
    /// of equal names only the first of the list.
    fn add_sorted_user_chains<S: AsRef<str> + Into<String>>(
        &mut self,
        mut named: Vec<(u128, S, usize)>,
        once: bool,
    ) {
        if named.is_empty() {
            return;
        }
        // Of equal names the one added later (a greater handle) goes
        // after, as `insert_pos` places it after the chains not greater than it.
        sort_named(&mut named);
        let listed = named.len();
        if once {
            named.dedup_by(|later, first| later.1.as_ref() == first.1.as_ref());
        }
        if named.len() < listed {
            // Handles count the names kept, in the list's order.
            let mut rank = vec![usize::MAX; listed];
            for (_, _, i) in &named {
                rank[*i] = 0;
            }
            for (next, r) in rank.iter_mut().filter(|r| **r == 0).enumerate() {
                *r = next;
            }
            for (_, _, i) in named.iter_mut() {
                *i = rank[*i];
            }
        }
        let first = self.next_handle;
        self.next_handle += named.len() as u64;
        self.bump();
        let new: Vec<Chain> = named
            .into_iter()
            .map(|(_, n, i)| {
                let mut c = Chain::user(n);
                c.handle = first + i as u64;
                c
            })
            .collect();
        let start = self.user_start();
        let old: Vec<Chain> = self.chains.drain(start..).collect();
        self.chains.reserve(old.len() + new.len());
        let mut new = new.into_iter().peekable();
        for c in old {
            while let Some(n) = new.next_if(|n| n.name < c.name) {
                self.chains.push(n);
            }
            self.chains.push(c);
        }
        self.chains.extend(new);
    }
    /// Number of rules that jump or go to `name` (a chain's use count).
    pub fn references(&self, name: &str) -> usize {
        self.chains
            .iter()
            .flat_map(|c| c.rules.iter())
            .filter(|r| r.target.chain() == Some(name))
            .count()
    }
    /// Every built-in chain (the kernel's or a placeholder) then the user
    /// chains: what `iptables -L`, `-S` and iptables-save show.
    pub fn listing(&self) -> Vec<Chain> {
        let mut out: Vec<Chain> = Vec::new();
        for h in self.hooks() {
            match self.chains.iter().find(|c| c.hook == Some(*h)) {
                Some(c) => out.push(c.clone()),
                None => {
                    let mut c = Chain::builtin(*h);
                    c.fake = true;
                    out.push(c);
                }
            }
        }
        out.extend(self.chains.iter().filter(|c| c.hook.is_none()).cloned());
        out
    }
}

/// Ordering helper for built-in chain placement.
trait HookOrder {
    fn is_none_or_after(&self, h: Hook) -> bool;
}

impl HookOrder for Option<Hook> {
    fn is_none_or_after(&self, h: Hook) -> bool {
        match self {
            None => true,
            Some(x) => *x > h,
        }
    }
}

/// Whether two table names are the same; the five tables' names differ in
/// their first letter, so most others are told apart without comparing
/// whole strings (the walk of every packet looks tables up by name). The
/// names are short: compared byte by byte in place, not by a call.
#[inline]
fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.first() == b.first() && a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// All tables of one host.
#[derive(Debug, Clone)]
pub struct Ruleset {
    /// In [`TABLE_ORDER`].
    pub tables: Vec<Table>,
}

impl Default for Ruleset {
    fn default() -> Self {
        Ruleset {
            tables: TABLE_ORDER.iter().map(|t| Table::new(t)).collect(),
        }
    }
}

/// One of the five tables, by its place in [`TABLE_ORDER`] (where
/// [`Ruleset::tables`] holds it): the walk of a packet finds its tables
/// without comparing names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableId {
    slot: usize,
    name: &'static str,
}

impl TableId {
    pub const MANGLE: TableId = TableId::at(0);
    pub const SECURITY: TableId = TableId::at(1);
    pub const RAW: TableId = TableId::at(2);
    pub const FILTER: TableId = TableId::at(3);
    pub const NAT: TableId = TableId::at(4);

    const fn at(slot: usize) -> TableId {
        TableId {
            slot,
            name: TABLE_ORDER[slot],
        }
    }

    pub fn name(self) -> &'static str {
        self.name
    }
}

impl Ruleset {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| same_name(t.name, name))
    }
    pub fn table_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.tables.iter_mut().find(|t| same_name(t.name, name))
    }
    /// [`Ruleset::table`] of a known table: read at its place, looked for
    /// by name only if a ruleset built by hand holds it elsewhere.
    #[inline]
    pub fn table_of(&self, id: TableId) -> Option<&Table> {
        match self.tables.get(id.slot) {
            Some(t) if std::ptr::eq(t.name, id.name) || t.name == id.name => Some(t),
            _ => self.table(id.name),
        }
    }
    /// [`Ruleset::table_mut`] of a known table (see [`Ruleset::table_of`]).
    #[inline]
    pub fn table_of_mut(&mut self, id: TableId) -> Option<&mut Table> {
        let at_slot = self
            .tables
            .get(id.slot)
            .is_some_and(|t| std::ptr::eq(t.name, id.name) || t.name == id.name);
        if at_slot {
            self.tables.get_mut(id.slot)
        } else {
            self.table_mut(id.name)
        }
    }
}

/// Sorts chains to add (sort key, name, place in the list) by all three,
/// as one comparison of them would order them: by key and position first
/// (numbers only), then each run of equal keys by name and place.
fn sort_named<S: AsRef<str>>(named: &mut Vec<(u128, S, usize)>) {
    let mut order: Vec<(u128, usize)> = named.iter().enumerate().map(|(i, n)| (n.0, i)).collect();
    sort_keys_in_place_order(&mut order);
    let mut start = 0;
    while start < order.len() {
        let key = order[start].0;
        let run = order[start..].iter().take_while(|o| o.0 == key).count();
        if run > 1 {
            order[start..start + run].sort_unstable_by(|a, b| {
                let (x, y) = (&named[a.1], &named[b.1]);
                x.1.as_ref().cmp(y.1.as_ref()).then(x.2.cmp(&y.2))
            });
        }
        start += run;
    }
    let mut unsorted: Vec<Option<(u128, S, usize)>> = named.drain(..).map(Some).collect();
    named.extend(order.iter().filter_map(|o| unsorted[o.1].take()));
}

/// Sorts (key, place) pairs listed in place order by key, then place (as
/// `sort_unstable` orders them, places being distinct): a stable radix
/// sort, one pass per byte in which the keys differ, lowest first. A
/// restore file's 30,000 chain names take about a dozen passes free of the
/// comparisons a comparison sort mispredicts.
fn sort_keys_in_place_order(order: &mut [(u128, usize)]) {
    const SHORT: usize = 64;
    if order.len() <= SHORT {
        order.sort_unstable();
        return;
    }
    let first = order[0].0;
    let differ = order.iter().fold(0u128, |d, o| d | (o.0 ^ first));
    let mut other: Vec<(u128, usize)> = vec![(0, 0); order.len()];
    let (mut from, mut to) = (&mut order[..], &mut other[..]);
    let mut moved = false;
    for byte in (0..16).filter(|b| (differ >> (8 * b)) as u8 != 0) {
        let digit = |o: &(u128, usize)| (o.0 >> (8 * byte)) as u8 as usize;
        let mut at = [0usize; 256];
        for o in from.iter() {
            at[digit(o)] += 1;
        }
        let mut sum = 0;
        for a in at.iter_mut() {
            (*a, sum) = (sum, sum + *a);
        }
        for o in from.iter() {
            let d = digit(o);
            to[at[d]] = *o;
            at[d] += 1;
        }
        (from, to) = (to, from);
        moved = !moved;
    }
    if moved {
        order.copy_from_slice(&other);
    }
}

/// The first 16 bytes of a name as a number (zeros after a shorter
/// name): names whose keys differ are in the keys' order.
fn sort_key(name: &str) -> u128 {
    let mut k = [0u8; 16];
    let b = name.as_bytes();
    let n = b.len().min(16);
    k[..n].copy_from_slice(&b[..n]);
    u128::from_be_bytes(k)
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    /// The radix sort orders as `sort_unstable` does: keys alike in many
    /// bytes, equal keys, short and long lists.
    #[test]
    fn radix_sort_orders_as_sort_unstable() {
        let mut next = crate::test_rng::xorshift(7);
        for len in [0, 1, 5, 64, 65, 300, 5000] {
            for spread in [1u64, 3, 256, u64::MAX] {
                let order: Vec<(u128, usize)> = (0..len)
                    .map(|i| {
                        let k = (next() % spread) as u128;
                        (k << 64 | k << 3 | u128::from(next() % 2) << 100, i)
                    })
                    .collect();
                let mut want = order.clone();
                want.sort_unstable();
                let mut got = order;
                sort_keys_in_place_order(&mut got);
                assert_eq!(got, want, "{len} {spread}");
            }
        }
    }

    #[test]
    fn tables_are_found_at_their_place_or_by_name() {
        let ids = [
            TableId::MANGLE,
            TableId::SECURITY,
            TableId::RAW,
            TableId::FILTER,
            TableId::NAT,
        ];
        let mut rs = Ruleset::default();
        for id in ids {
            assert_eq!(rs.table_of(id).map(|t| t.name), Some(id.name()));
            assert_eq!(rs.table_of_mut(id).map(|t| t.name), Some(id.name()));
        }
        // A ruleset made by hand, in another order and without raw.
        rs.tables.reverse();
        rs.tables.retain(|t| t.name != "raw");
        for id in ids {
            let want = (id != TableId::RAW).then_some(id.name());
            assert_eq!(rs.table_of(id).map(|t| t.name), want);
            assert_eq!(rs.table_of_mut(id).map(|t| t.name), want);
        }
    }

    #[test]
    fn bulk_chains_go_where_one_by_one_would() {
        let mut next = crate::test_rng::xorshift(42);
        // Short names, and long ones alike in their first 16 bytes.
        let name = |i: u64| match i % 2 {
            0 => format!("k{i}"),
            _ => format!("KUBE-SEP-0123456789-{i}"),
        };
        for _ in 0..200 {
            let mut a = Table::new("filter");
            a.add_chain(Chain::builtin(Hook::Input));
            for _ in 0..next() % 5 {
                a.add_user_chain(&name(next() % 20));
            }
            let mut b = a.clone();
            let names: Vec<String> = (0..next() % 30).map(|_| name(next() % 20)).collect();
            for n in &names {
                a.add_user_chain(n);
            }
            let mut c = b.clone();
            b.add_user_chains(names.iter().map(String::as_str));
            let key = |t: &Table| -> Vec<(String, u64)> {
                t.chains
                    .iter()
                    .map(|c| (c.name.clone(), c.handle))
                    .collect()
            };
            assert_eq!(key(&a), key(&b), "{names:?}");
            assert_eq!(a.next_handle, b.next_handle);
            // Restore's chain lines: names not in the table, each once.
            let mut once = c.clone();
            let fresh: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|n| c.chain_index(n).is_none())
                .collect();
            for n in &fresh {
                if once.chain_index(n).is_none() {
                    once.add_user_chain(n);
                }
            }
            c.add_new_user_chains(&fresh);
            assert_eq!(key(&once), key(&c), "{names:?}");
            assert_eq!(once.next_handle, c.next_handle);
            for n in &names {
                assert_eq!(a.chain_index(n), b.chain_index(n));
            }
        }
    }
}
