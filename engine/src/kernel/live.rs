//! The live ruleset: dumped over netlink, decoded into engine tables, with
//! whatever cannot be represented kept aside (reported, never touched).
//!
//! Rules are compared by what the kernel holds (their expressions with the
//! counter zeroed and the kernel's own part of xt structs blanked), and
//! decoded into engine rules only when something asks: a plan that keeps a
//! rule never needs to read it.

use super::expr::Expr;
use super::ipset::{self, KernelSet};
use super::msg::{self, BaseHook, ChainObj, TableObj};
use super::rule::{self, Encoded};
use super::sock::NfSock;
use super::xt::{self, SetIndex};
use super::{Error, Result};
use crate::ipset::Store;
use crate::ruleset::{Chain, Counters, Hook, Rule, Table, Verdict, TABLE_ORDER};
use crate::sim::host::Host;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One rule of a live chain.
#[derive(Debug)]
pub struct LiveRule {
    pub handle: u64,
    /// The expressions as dumped (counter included).
    pub exprs: Vec<Expr>,
    identity: OnceLock<Encoded>,
    decoded: OnceLock<std::result::Result<Rule, String>>,
}

impl Clone for LiveRule {
    fn clone(&self) -> Self {
        let decoded = OnceLock::new();
        if let Some(d) = self.decoded.get() {
            let _ = decoded.set(d.clone());
        }
        let identity = OnceLock::new();
        if let Some(i) = self.identity.get() {
            let _ = identity.set(i.clone());
        }
        LiveRule {
            handle: self.handle,
            exprs: self.exprs.clone(),
            identity,
            decoded,
        }
    }
}

impl LiveRule {
    pub fn new(handle: u64, exprs: Vec<Expr>) -> LiveRule {
        LiveRule {
            handle,
            exprs,
            identity: OnceLock::new(),
            decoded: OnceLock::new(),
        }
    }

    /// What it is compared by (worked out on first use).
    pub fn identity(&self) -> &Encoded {
        self.identity.get_or_init(|| identity_of(&self.exprs))
    }

    /// The rule, or why it cannot be represented (decoded on first use).
    pub fn rule(&self, sets: &SetIndex, table: &str) -> &std::result::Result<Rule, String> {
        self.decoded
            .get_or_init(|| rule::decode_rule(sets, table, &self.exprs).map_err(|e| e.to_string()))
    }
}

/// The kernel's expressions as compared: counter zeroed, the bytes of xt
/// structs the kernel fills in itself (pointers) blanked. The compat
/// attribute only serves the kernel's checks when a rule is added; dumps do
/// not carry it, so it is not compared.
pub fn identity_of(exprs: &[Expr]) -> Encoded {
    let exprs = exprs
        .iter()
        .map(|x| match x {
            Expr::Counter { .. } => Expr::Counter {
                bytes: 0,
                packets: 0,
            },
            Expr::Match { name, rev, info } => {
                let user = xt::match_codec_xt(name).and_then(|c| c.user_size(name, *rev));
                Expr::Match {
                    name: name.clone(),
                    rev: *rev,
                    info: blank_tail(info, user),
                }
            }
            Expr::Target { name, rev, info } => {
                let user = xt::target_codec_xt(name).and_then(|c| c.user_size(name, *rev));
                Expr::Target {
                    name: name.clone(),
                    rev: *rev,
                    info: blank_tail(info, user),
                }
            }
            other => other.clone(),
        })
        .collect();
    Encoded {
        exprs,
        compat: (0, 0),
    }
}

fn blank_tail(info: &[u8], user: Option<usize>) -> Vec<u8> {
    let mut v = info.to_vec();
    if let Some(n) = user {
        if n < v.len() {
            v[n..].fill(0);
        }
    }
    v
}

#[derive(Debug, Clone)]
pub struct LiveChain {
    pub name: String,
    pub hook: Option<BaseHook>,
    pub policy: Option<u32>,
    pub counters: Option<(u64, u64)>,
    pub rules: Vec<LiveRule>,
}

#[derive(Debug, Clone)]
pub struct LiveTable {
    pub name: String,
    pub chains: Vec<LiveChain>,
    index: HashMap<String, usize>,
}

impl LiveTable {
    pub fn new(name: &str, chains: Vec<LiveChain>) -> LiveTable {
        let index = chains
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        LiveTable {
            name: name.to_string(),
            chains,
            index,
        }
    }
    pub fn chain(&self, name: &str) -> Option<&LiveChain> {
        self.index.get(name).map(|i| &self.chains[*i])
    }
}

/// The `ip` family ruleset at one generation.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub genid: u32,
    pub tables: Vec<LiveTable>,
    /// Names of the nfacct objects (`-m nfacct` may name only those).
    pub nfacct: Vec<String>,
    /// The ipsets rules may name, by kernel index.
    pub sets: Vec<(u16, crate::ext::SetRef)>,
    /// The kernel's ipsets as read (index, references, save lines)...
    pub ipsets: Vec<KernelSet>,
    /// ...and as the engine models them.
    pub store: Store,
    /// The clock the model's member timeouts count from (ns since the epoch).
    pub now: u64,
    /// Sets that could not be read into the model (left alone).
    pub set_problems: Vec<String>,
}

impl Live {
    pub fn table(&self, name: &str) -> Option<&LiveTable> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// The base chain iptables-nft registers for `chain` of `table`.
pub fn expected_hook(table: &str, chain: &str) -> Option<BaseHook> {
    let hook = Hook::from_name(chain)?;
    if !crate::ruleset::table_hooks(table)?.contains(&hook) {
        return None;
    }
    let (priority, kind) = match (table, hook) {
        ("raw", _) => (-300, "filter"),
        ("mangle", Hook::Output) => (-150, "route"),
        ("mangle", _) => (-150, "filter"),
        ("filter", _) => (0, "filter"),
        ("security", _) => (150, "filter"),
        ("nat", Hook::Prerouting | Hook::Output) => (-100, "nat"),
        ("nat", _) => (100, "nat"),
        _ => return None,
    };
    Some(BaseHook {
        hooknum: hook as u32,
        priority,
        kind: kind.to_string(),
    })
}

fn dump(sock: &mut NfSock, kind: u8) -> Result<Vec<Vec<u8>>> {
    sock.request(&msg::get(kind, msg::NFPROTO_IPV4, true))
}

/// Reads the ruleset; dumps are repeated if the generation moved meanwhile.
/// Rules are dumped chain by chain: a whole-ruleset dump makes the kernel
/// walk every rule already sent again for each buffer it fills (with 80,000
/// rules in 30,000 chains the kernel spends twice as long).
pub fn read(sock: &mut NfSock) -> Result<Live> {
    for _ in 0..5 {
        let genid = sock.genid()?;
        let tables: Vec<TableObj> = dump(sock, msg::NFT_MSG_GETTABLE)?
            .iter()
            .map(|b| msg::parse_table(b))
            .collect::<Result<_>>()?;
        let chains: Vec<ChainObj> = dump(sock, msg::NFT_MSG_GETCHAIN)?
            .iter()
            .map(|b| msg::parse_chain(b))
            .collect::<Result<_>>()?;
        let rules = dump_rules(sock, &chains)?;
        if sock.genid()? != genid {
            continue;
        }
        let mut live = assemble(genid, tables, chains, rules);
        live.set_sets(ipset::read(sock)?, now_ns());
        // Without nfnetlink_acct there are simply no objects.
        if let Ok(objs) = sock.request(&msg::nfacct_dump()) {
            live.nfacct = objs
                .iter()
                .filter_map(|b| msg::parse_nfacct_name(b).ok())
                .collect();
        }
        return Ok(live);
    }
    Err(Error::Busy(5))
}

/// The rules of `chains`, chain by chain (one list per chain, in the same
/// order). Many chains are split between this socket and a second one in
/// another thread: the kernel fills one's dumps while the other's are read
/// and decoded.
fn dump_rules(sock: &mut NfSock, chains: &[ChainObj]) -> Result<Vec<Vec<LiveRule>>> {
    fn some(sock: &mut NfSock, chains: &[ChainObj]) -> Result<Vec<Vec<LiveRule>>> {
        let mut all = Vec::with_capacity(chains.len());
        for c in chains {
            let mut rules = Vec::new();
            sock.dump_each(&msg::get_rules(&c.table, &c.name), |b| {
                let (handle, exprs) = msg::parse_chain_rule(b)?;
                rules.push(LiveRule::new(handle, exprs));
                Ok(())
            })?;
            all.push(rules);
        }
        Ok(all)
    }
    const SPLIT_FROM: usize = 2000;
    if chains.len() < SPLIT_FROM {
        return some(sock, chains);
    }
    let Ok(mut other) = sock.sibling() else {
        return some(sock, chains);
    };
    let (first, second) = chains.split_at(chains.len() / 2);
    std::thread::scope(|s| {
        let theirs = s.spawn(move || some(&mut other, second));
        let mut rules = some(sock, first)?;
        match theirs.join() {
            Ok(more) => rules.extend(more?),
            Err(_) => return Err(Error::Decode("a dump thread failed".into())),
        }
        Ok(rules)
    })
}

/// Puts dumped objects together: `rules` holds each chain's rules in dump
/// order, one list per chain of `chains`.
pub fn assemble(
    genid: u32,
    tables: Vec<TableObj>,
    chains: Vec<ChainObj>,
    rules: Vec<Vec<LiveRule>>,
) -> Live {
    let mut by_table: Vec<(String, Vec<LiveChain>)> =
        tables.into_iter().map(|t| (t.name, Vec::new())).collect();
    for (c, rules) in chains.into_iter().zip(rules) {
        if let Some((_, list)) = by_table.iter_mut().find(|(n, _)| *n == c.table) {
            list.push(LiveChain {
                name: c.name,
                hook: c.hook,
                policy: c.policy,
                counters: c.counters,
                rules,
            });
        }
    }
    Live {
        genid,
        tables: by_table
            .into_iter()
            .map(|(name, chains)| LiveTable::new(&name, chains))
            .collect(),
        nfacct: Vec::new(),
        sets: Vec::new(),
        ipsets: Vec::new(),
        store: Store::default(),
        now: 0,
        set_problems: Vec::new(),
    }
}

/// The wall clock in nanoseconds since the epoch.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl Live {
    /// Takes the kernel's sets: each is read into the model on its own
    /// (list:sets last, their members must exist); one that cannot be read
    /// is reported and left out.
    pub fn set_sets(&mut self, sets: Vec<KernelSet>, now: u64) {
        let mut store = Store::default();
        let mut kept = Vec::new();
        let mut problems = Vec::new();
        let is_list = |s: &KernelSet| {
            s.lines
                .first()
                .is_some_and(|l| l.split(' ').nth(2) == Some("list:set"))
        };
        let (lists, others): (Vec<KernelSet>, Vec<KernelSet>) =
            sets.into_iter().partition(|s| is_list(s));
        for s in others.into_iter().chain(lists) {
            let mut host = Host::new("kernel");
            host.clock_ns = now;
            host.ipsets = std::mem::take(&mut store);
            let before = host.ipsets.clone();
            match ipset::restore_into(&mut host, std::slice::from_ref(&s)) {
                Ok(()) => {
                    store = host.ipsets;
                    kept.push(s);
                }
                Err(e) => {
                    store = before;
                    problems.push(format!("ipset {}: {e}", s.name));
                }
            }
        }
        kept.sort_by_key(|s| s.index);
        self.sets = ipset::set_index(&kept, &store);
        self.ipsets = kept;
        self.store = store;
        self.now = now;
        self.set_problems = problems;
    }
}

/// Something of the live ruleset that iptables tables cannot hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub table: String,
    pub chain: Option<String>,
    pub handle: Option<u64>,
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "table {}", self.table)?;
        if let Some(c) = &self.chain {
            write!(f, " chain {c}")?;
        }
        if let Some(h) = self.handle {
            write!(f, " rule handle {h}")?;
        }
        write!(f, ": {}", self.what)
    }
}

fn policy_verdict(p: Option<u32>) -> Verdict {
    match p {
        Some(0) => Verdict::Drop,
        _ => Verdict::Accept,
    }
}

/// Whether the table as a whole is one iptables can use: a known name and
/// base chains with the hook, priority and type iptables-nft gives them.
pub fn check_table(lt: &LiveTable) -> std::result::Result<&'static str, Problem> {
    let problem = |chain: Option<&str>, what: &str| Problem {
        table: lt.name.clone(),
        chain: chain.map(str::to_string),
        handle: None,
        what: what.to_string(),
    };
    let Some(name) = TABLE_ORDER.iter().copied().find(|t| *t == lt.name) else {
        return Err(problem(None, "not an iptables table"));
    };
    for c in &lt.chains {
        match (&c.hook, expected_hook(name, &c.name)) {
            (Some(h), Some(want)) if *h == want => {}
            (Some(_), _) => return Err(problem(Some(&c.name), "incompatible base chain")),
            (None, Some(_)) => {
                return Err(problem(
                    Some(&c.name),
                    "user chain with a built-in chain's name",
                ))
            }
            (None, None) => {}
        }
    }
    Ok(name)
}

/// The engine table a live iptables table stands for, and what of it could
/// not be represented. `Err` when the table as a whole is not one iptables
/// can use (an unknown name, a base chain with another hook, priority or type).
pub fn to_table(
    sets: &SetIndex,
    lt: &LiveTable,
) -> std::result::Result<(Table, Vec<Problem>), Problem> {
    let name = check_table(lt)?;
    Ok(table_with(lt, name, |_, r| r.rule(sets, name).clone()))
}

/// As [`to_table`], but the decoded rules are taken out of `lt` rather
/// than copied (a rule asked for again is decoded again).
pub fn take_table(
    sets: &SetIndex,
    lt: &mut LiveTable,
) -> std::result::Result<(Table, Vec<Problem>), Problem> {
    let name = check_table(lt)?;
    let mut taken: Vec<_> = lt
        .chains
        .iter_mut()
        .map(|c| {
            c.rules
                .iter_mut()
                .map(|r| {
                    let _ = r.rule(sets, name);
                    r.decoded
                        .take()
                        .unwrap_or_else(|| Err("not decoded".into()))
                })
                .collect::<Vec<_>>()
                .into_iter()
        })
        .collect();
    Ok(table_with(lt, name, |chain, _| {
        taken[chain]
            .next()
            .unwrap_or_else(|| Err("not decoded".into()))
    }))
}

/// The engine table of `lt` (already checked to be iptables table `name`),
/// each rule given by `rule_of(chain index, rule)`.
fn table_with(
    lt: &LiveTable,
    name: &'static str,
    mut rule_of: impl FnMut(usize, &LiveRule) -> std::result::Result<Rule, String>,
) -> (Table, Vec<Problem>) {
    let mut builtins: Vec<Chain> = Vec::new();
    let mut users: Vec<Chain> = Vec::new();
    let mut problems = Vec::new();
    for (i, c) in lt.chains.iter().enumerate() {
        let mut ch = match crate::ruleset::Hook::from_name(&c.name).filter(|_| c.hook.is_some()) {
            Some(hook) => {
                let mut ch = Chain::builtin(hook);
                ch.policy = policy_verdict(c.policy);
                ch.counted = c.counters.is_some();
                let (packets, bytes) = c.counters.unwrap_or((0, 0));
                ch.counters = Counters { packets, bytes };
                ch
            }
            None => Chain::user(&c.name),
        };
        ch.handle = i as u64 + 1;
        for r in &c.rules {
            match rule_of(i, r) {
                Ok(rule) => ch.rules.push(rule),
                Err(why) => problems.push(Problem {
                    table: lt.name.clone(),
                    chain: Some(c.name.clone()),
                    handle: Some(r.handle),
                    what: format!("cannot represent rule ({why})"),
                }),
            }
        }
        if ch.hook.is_some() {
            builtins.push(ch);
        } else {
            users.push(ch);
        }
    }
    // Built-in chains in hook order, then user chains by name (byte order);
    // handles follow the kernel's creation (dump) order.
    builtins.sort_by_key(|c| c.hook);
    users.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let mut table = Table::new(name);
    table.exists = true;
    table.chains = builtins.into_iter().chain(users).collect();
    table.next_handle = lt.chains.len() as u64 + 1;
    (table, problems)
}
