//! Plan and apply: the desired tables come from restore text parsed by the
//! engine (iptables-restore semantics, with or without `--noflush`, on top
//! of the live ruleset); the plan is the difference from the live ruleset
//! as one nf_tables batch; apply sends it against the generation id it was
//! planned from and starts over when the ruleset moved meanwhile.

use super::live::{self, Live, LiveChain, LiveRule};
use super::msg::{self, BaseHook, Msg, Position};
use super::rule::{self, Encoded};
use super::setplan::SetOp;
use super::sock::{Answer, BatchOutcome, NfSock};
use super::{Error, KernelRefusal, Result};
use crate::command::Output;
use crate::ipset::set::IpSet;
use crate::iptables::restore::run_restore;
use crate::iptables::save::rule_line;
use crate::ruleset::{Chain, Table, Verdict, TABLE_ORDER};
use crate::sim::host::Host;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// How many times apply re-reads and re-plans after ERESTART.
pub const MAX_ATTEMPTS: u32 = 5;

/// One change of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    NewTable {
        table: String,
    },
    /// Deletes a table with everything in it (rollback of a table the
    /// apply created).
    DelTable {
        table: String,
    },
    NewBaseChain {
        table: String,
        chain: String,
        hook: BaseHook,
        policy: Verdict,
        counters: bool,
    },
    SetPolicy {
        table: String,
        chain: String,
        policy: Verdict,
    },
    NewUserChain {
        table: String,
        chain: String,
    },
    DelChain {
        table: String,
        chain: String,
    },
    DelRule {
        table: String,
        chain: String,
        handle: u64,
        text: String,
    },
    /// The same rule sent again in place (new counters).
    ReplaceRule {
        table: String,
        chain: String,
        handle: u64,
        enc: Encoded,
        text: String,
    },
    /// A base chain's policy counters set (`-Z`).
    ChainCounters {
        table: String,
        chain: String,
        policy: Verdict,
        packets: u64,
        bytes: u64,
    },
    NewRule {
        table: String,
        chain: String,
        enc: Encoded,
        pos: Position,
        text: String,
    },
}

fn policy_code(v: Verdict) -> u32 {
    match v {
        Verdict::Drop => 0,
        _ => 1,
    }
}

impl Op {
    /// The nfnetlink message.
    pub fn msg(&self) -> Msg {
        match self {
            Op::NewTable { table } => msg::new_table(table),
            Op::DelTable { table } => msg::del_table(table),
            Op::NewBaseChain {
                table,
                chain,
                hook,
                policy,
                counters,
            } => msg::new_base_chain(table, chain, hook, policy_code(*policy), *counters),
            Op::SetPolicy {
                table,
                chain,
                policy,
            } => msg::set_policy(table, chain, policy_code(*policy)),
            Op::NewUserChain { table, chain } => msg::new_user_chain(table, chain),
            Op::DelChain { table, chain } => msg::del_chain(table, chain),
            Op::DelRule {
                table,
                chain,
                handle,
                ..
            } => msg::del_rule(table, chain, *handle),
            Op::ReplaceRule {
                table,
                chain,
                handle,
                enc,
                ..
            } => msg::replace_rule(table, chain, *handle, &enc.exprs, enc.compat),
            Op::ChainCounters {
                table,
                chain,
                policy,
                packets,
                bytes,
            } => msg::chain_counters(table, chain, policy_code(*policy), *packets, *bytes),
            Op::NewRule {
                table,
                chain,
                enc,
                pos,
                ..
            } => msg::new_rule(table, chain, &enc.exprs, enc.compat, *pos),
        }
    }

    /// One line for `diff` and `--dry-run`.
    pub fn describe(&self) -> String {
        match self {
            Op::NewTable { table } => format!("+ table {table}"),
            Op::DelTable { table } => format!("- table {table}"),
            Op::NewBaseChain {
                table,
                chain,
                hook,
                policy,
                ..
            } => format!(
                "+ chain {table} {chain} (type {} hook {} priority {}) policy {}",
                hook.kind,
                chain.to_lowercase(),
                hook.priority,
                policy.name()
            ),
            Op::SetPolicy {
                table,
                chain,
                policy,
            } => format!("~ chain {table} {chain} policy {}", policy.name()),
            Op::NewUserChain { table, chain } => format!("+ chain {table} {chain}"),
            Op::DelChain { table, chain } => format!("- chain {table} {chain}"),
            Op::DelRule {
                table,
                handle,
                text,
                ..
            } => format!("- {table}: {text} (handle {handle})"),
            Op::ReplaceRule {
                table,
                text,
                handle,
                ..
            } => format!("~ {table}: {text} (handle {handle}, counters)"),
            Op::ChainCounters {
                table,
                chain,
                packets,
                bytes,
                ..
            } => format!("~ chain {table} {chain} counters [{packets}:{bytes}]"),
            Op::NewRule {
                table, text, pos, ..
            } => match pos {
                Position::Append => format!("+ {table}: {text}"),
                Position::After(h) => format!("+ {table}: {text} (after handle {h})"),
                Position::Before(h) => format!("+ {table}: {text} (before handle {h})"),
            },
        }
    }

    pub(crate) fn rank(&self) -> u8 {
        match self {
            Op::DelRule { .. } => 0,
            Op::DelChain { .. } | Op::DelTable { .. } => 1,
            Op::NewTable { .. } => 2,
            Op::NewBaseChain { .. } | Op::SetPolicy { .. } => 3,
            Op::NewUserChain { .. } => 4,
            Op::NewRule { .. } | Op::ReplaceRule { .. } | Op::ChainCounters { .. } => 5,
        }
    }
}

/// What the input asks for, table by table.
#[derive(Debug, Clone)]
pub struct Desired {
    /// Tables named in the input, with the built-in chains it declares.
    pub tables: Vec<(Table, BTreeSet<String>)>,
    /// The sets the ipset input names, as it makes them.
    pub sets: Vec<IpSet>,
    /// The clock the sets' member timeouts count from.
    pub now: u64,
    /// The host the input was run on: its ruleset (tables the input does
    /// not name are missing without --noflush; those it names are empty
    /// here, moved to `tables`) and all its sets.
    pub host: Box<Host>,
}

/// Tables (`*name`) and the chains each declares (`:NAME ...`), in order.
fn declarations(text: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut out: Vec<(String, BTreeSet<String>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(t) = line.strip_prefix('*') {
            out.push((t.trim_end().to_string(), BTreeSet::new()));
        } else if let Some(decl) = line.strip_prefix(':') {
            if let (Some(last), Some(name)) = (out.last_mut(), decl.split_whitespace().next()) {
                last.1.insert(name.to_string());
            }
        }
    }
    out
}

/// The tables `text` (iptables-restore input) leads to, starting from the
/// live ruleset; `Err` is iptables-restore's own error output.
pub fn desired(live: &Live, text: &str, noflush: bool) -> std::result::Result<Desired, Output> {
    desired_with_sets(live, text, None, noflush)
}

/// Names of the sets an `ipset restore` input creates, in order.
pub fn set_names(sets: &str) -> Vec<String> {
    sets.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            match (w.next(), w.next()) {
                (Some("create" | "-N" | "-exist"), Some(n)) if n != "create" => Some(n.to_string()),
                _ => None,
            }
        })
        .collect()
}

/// As [`desired`], with the sets `sets` (`ipset restore` input) makes:
/// each set it creates starts over (the kernel's set of that name is
/// replaced by what the input says); other kernel sets stay as they are.
/// `Err` is ipset's or iptables-restore's own error output.
pub fn desired_with_sets(
    live: &Live,
    text: &str,
    sets: Option<&str>,
    noflush: bool,
) -> std::result::Result<Desired, Output> {
    let mut host = Host::new("kernel");
    host.clock_ns = live.now;
    host.ipsets = live.store.clone();
    for name in &live.nfacct {
        host.nfacct.objects.push(crate::nfacct::Object::new(name));
    }
    let mut wanted_sets = Vec::new();
    if let Some(sets) = sets {
        let names = set_names(sets);
        for n in &names {
            host.ipsets.remove(n);
        }
        let argv = ["ipset".to_string(), "restore".to_string()];
        let out = crate::ipset::cmd::run(&mut host, &argv, Some(sets));
        if out.exit != 0 {
            return Err(out);
        }
        wanted_sets = names
            .iter()
            .filter_map(|n| host.ipsets.get(n).cloned())
            .collect();
    }
    // Without --noflush every table of the input starts empty: the live
    // rules need not be read at all.
    if noflush {
        for lt in &live.tables {
            if let Ok((t, _)) = live::to_table(&live.sets, lt) {
                if let Some(slot) = host.ruleset.table_mut(t.name) {
                    *slot = t;
                }
            }
        }
    }
    let mut argv = vec!["iptables-restore".to_string()];
    if noflush {
        argv.push("--noflush".into());
    }
    let out = run_restore(&mut host, &argv, text);
    if out.exit != 0 {
        return Err(out);
    }
    let mut tables = Vec::new();
    let mut seen = BTreeSet::new();
    for (name, declared) in declarations(text) {
        if !seen.insert(name.clone()) {
            if let Some((_, d)) = tables
                .iter_mut()
                .find(|(t, _): &&mut (Table, BTreeSet<String>)| t.name == name)
            {
                d.extend(declared);
            }
            continue;
        }
        // Moved out, not copied: 80,000 rules are worth it.
        if let Some(t) = host.ruleset.table_mut(&name) {
            let empty = Table::new(t.name);
            tables.push((std::mem::replace(t, empty), declared));
        }
    }
    Ok(Desired {
        tables,
        sets: wanted_sets,
        now: host.clock_ns,
        host: Box::new(host),
    })
}

/// The plan: ops in batch order, or why it cannot be made.
pub fn plan(live: &Live, want: &Desired, noflush: bool) -> Result<Vec<Op>> {
    plan_mode(live, want, noflush, false)
}

/// As [`plan`]; with `counters`, rules and base chains kept whose counters
/// differ from the wanted ones are sent again with them (what `-Z` and
/// `-c` need).
pub fn plan_mode(live: &Live, want: &Desired, noflush: bool, counters: bool) -> Result<Vec<Op>> {
    plan_with(live, want, noflush, counters, true)
}

/// As [`plan_mode`]; without `texts` the rules added or replaced carry no
/// text (what [`Op::describe`] prints for them is then empty): printing
/// 80,000 rules costs time nobody needs when nothing is shown.
fn plan_with(
    live: &Live,
    want: &Desired,
    noflush: bool,
    counters: bool,
    texts: bool,
) -> Result<Vec<Op>> {
    let mut ops = Vec::new();
    for (table, declared) in &want.tables {
        plan_table(live, table, declared, noflush, counters, texts, &mut ops)?;
    }
    ops.sort_by_key(Op::rank);
    Ok(ops)
}

fn refuse(table: &str, chain: &str, unknown: &[u64], why: &str) -> Error {
    let handles: Vec<String> = unknown.iter().map(u64::to_string).collect();
    Error::Refused(format!(
        "table {table} chain {chain} holds rules iptplay cannot represent (handle {}): {why}, so it is left alone and nothing was changed",
        handles.join(", ")
    ))
}

/// Handles of the rules among `rules` that cannot be represented.
fn unknown<'a>(
    live: &Live,
    table: &str,
    rules: impl IntoIterator<Item = &'a LiveRule>,
) -> Vec<u64> {
    rules
        .into_iter()
        .filter(|r| r.rule(&live.sets, table).is_err())
        .map(|r| r.handle)
        .collect()
}

/// `-D CHAIN SPEC` of a live rule, for diffs (empty when it cannot be read).
fn delete_text(live: &Live, table: &str, chain: &str, r: &LiveRule) -> String {
    match r.rule(&live.sets, table) {
        Ok(rule) => rule_line(chain, rule, false).replacen("-A ", "-D ", 1),
        Err(_) => String::new(),
    }
}

fn plan_table(
    live: &Live,
    table: &Table,
    declared: &BTreeSet<String>,
    noflush: bool,
    counters: bool,
    texts: bool,
    ops: &mut Vec<Op>,
) -> Result<()> {
    let name = table.name;
    let lt = live.table(name);
    if let Some(lt) = lt {
        if let Err(p) = live::check_table(lt) {
            return Err(Error::Refused(format!(
                "{p}: iptplay leaves this table alone, nothing was changed"
            )));
        }
    } else {
        ops.push(Op::NewTable {
            table: name.to_string(),
        });
    }
    let live_chain = |c: &str| lt.and_then(|t| t.chain(c));
    // A built-in chain exists in the kernel when the input declares it, a
    // rule uses it or its policy is not ACCEPT; with --noflush also when it
    // exists already (iptables-nft-restore recreates a flushed table whole).
    let base_needed = |ch: &Chain| {
        declared.contains(&ch.name)
            || !ch.rules.is_empty()
            || ch.policy != Verdict::Accept
            || (noflush && live_chain(&ch.name).is_some())
    };
    // Chains that go away.
    if let Some(lt) = lt {
        for c in &lt.chains {
            let keep = match table.chain(&c.name) {
                Some(ch) if ch.is_builtin() => base_needed(ch),
                Some(_) => true,
                None => false,
            };
            if !keep {
                let bad = unknown(live, name, &c.rules);
                if !bad.is_empty() {
                    return Err(refuse(name, &c.name, &bad, "the chain would be deleted"));
                }
                // Its rules go first: a jump they hold keeps its target
                // chain busy, and that chain may go away in this batch too.
                for r in &c.rules {
                    let text = delete_text(live, name, &c.name, r);
                    ops.push(Op::DelRule {
                        table: name.to_string(),
                        chain: c.name.clone(),
                        handle: r.handle,
                        text,
                    });
                }
                ops.push(Op::DelChain {
                    table: name.to_string(),
                    chain: c.name.clone(),
                });
            }
        }
    }
    // Chains made in the order iptables-nft-restore makes them (the
    // engine's handles follow it): the kernel lists chains in the order
    // they were made, and iptables-nft reads a table whose chains come
    // sorted by name (as the engine keeps them) about 20 times slower
    // (5 s instead of 0.25 s for 30,000 chains: its chain cache).
    let mut made: Vec<&Chain> = table.chains.iter().collect();
    made.sort_by_key(|c| c.handle);
    for ch in made {
        let lc = live_chain(&ch.name);
        if let Some(hook) = ch.hook {
            if !base_needed(ch) {
                continue;
            }
            match lc {
                None => {
                    let h = live::expected_hook(name, hook.name()).ok_or_else(|| {
                        Error::Unsupported(format!("no base chain {} in {name}", hook.name()))
                    })?;
                    ops.push(Op::NewBaseChain {
                        table: name.to_string(),
                        chain: ch.name.clone(),
                        hook: h,
                        policy: ch.policy,
                        counters: declared.contains(&ch.name),
                    });
                }
                Some(c) => {
                    let live_policy = if c.policy == Some(0) {
                        Verdict::Drop
                    } else {
                        Verdict::Accept
                    };
                    let live_counters = c.counters.unwrap_or((0, 0));
                    if counters
                        && c.counters.is_some()
                        && live_counters != (ch.counters.packets, ch.counters.bytes)
                    {
                        ops.push(Op::ChainCounters {
                            table: name.to_string(),
                            chain: ch.name.clone(),
                            policy: ch.policy,
                            packets: ch.counters.packets,
                            bytes: ch.counters.bytes,
                        });
                    } else if live_policy != ch.policy {
                        ops.push(Op::SetPolicy {
                            table: name.to_string(),
                            chain: ch.name.clone(),
                            policy: ch.policy,
                        });
                    }
                }
            }
        } else if lc.is_none() {
            ops.push(Op::NewUserChain {
                table: name.to_string(),
                chain: ch.name.clone(),
            });
        }
        plan_rules(live, name, ch, lc, counters, texts, ops)?;
    }
    Ok(())
}

/// Index pairs (live, desired) of a longest common subsequence.
pub(crate) fn common(live: &[Option<&Encoded>], want: &[Encoded]) -> Vec<(usize, usize)> {
    let eq = |i: usize, j: usize| live[i] == Some(&want[j]);
    let (n, m) = (live.len(), want.len());
    let mut pre = 0;
    while pre < n && pre < m && eq(pre, pre) {
        pre += 1;
    }
    let mut suf = 0;
    while suf < n - pre && suf < m - pre && eq(n - 1 - suf, m - 1 - suf) {
        suf += 1;
    }
    let mut pairs: Vec<(usize, usize)> = (0..pre).map(|i| (i, i)).collect();
    let (a, b) = (n - pre - suf, m - pre - suf);
    // Full LCS only when the middle is small; otherwise it is replaced whole.
    if a > 0 && b > 0 && a * b <= 4_000_000 {
        let mut t = vec![0u32; (a + 1) * (b + 1)];
        let idx = |i: usize, j: usize| i * (b + 1) + j;
        for i in (0..a).rev() {
            for j in (0..b).rev() {
                t[idx(i, j)] = if eq(pre + i, pre + j) {
                    t[idx(i + 1, j + 1)] + 1
                } else {
                    t[idx(i + 1, j)].max(t[idx(i, j + 1)])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < a && j < b {
            if eq(pre + i, pre + j) {
                pairs.push((pre + i, pre + j));
                i += 1;
                j += 1;
            } else if t[idx(i + 1, j)] >= t[idx(i, j + 1)] {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
    pairs.extend((0..suf).map(|k| (n - suf + k, m - suf + k)));
    pairs
}

fn plan_rules(
    live: &Live,
    table: &str,
    ch: &Chain,
    lc: Option<&LiveChain>,
    counters: bool,
    texts: bool,
    ops: &mut Vec<Op>,
) -> Result<()> {
    let empty = Vec::new();
    let live_rules = lc.map_or(&empty, |c| &c.rules);
    let text = |r: &crate::ruleset::Rule| {
        if texts {
            rule_line(&ch.name, r, false)
        } else {
            String::new()
        }
    };
    let mut want: Vec<Encoded> = Vec::with_capacity(ch.rules.len());
    let mut sent: Vec<Encoded> = Vec::with_capacity(ch.rules.len());
    for r in &ch.rules {
        // New rules carry the counters the input gave them (zero without -c).
        let enc = rule::encode_rule(&live.sets, table, r, true)?;
        // Compared with the live rules only (a new chain has none).
        if !live_rules.is_empty() {
            want.push(rule::identity(&enc));
        }
        sent.push(enc);
    }
    let live_ids: Vec<Option<&Encoded>> = live_rules.iter().map(|r| Some(r.identity())).collect();
    let pairs = common(&live_ids, &want);
    let kept_live: BTreeSet<usize> = pairs.iter().map(|p| p.0).collect();
    // Only rules that would go need reading: a kept rule equals one we send.
    let gone: Vec<&LiveRule> = live_rules
        .iter()
        .enumerate()
        .filter(|(i, _)| !kept_live.contains(i))
        .map(|(_, r)| r)
        .collect();
    let bad = unknown(live, table, gone.iter().copied());
    if !bad.is_empty()
        && (pairs.len() != want.len() || kept_live.len() + bad.len() != live_rules.len())
    {
        return Err(refuse(
            table,
            &ch.name,
            &bad,
            "the chain's rules would change",
        ));
    }
    for r in gone {
        if bad.contains(&r.handle) {
            continue;
        }
        ops.push(Op::DelRule {
            table: table.to_string(),
            chain: ch.name.clone(),
            handle: r.handle,
            text: delete_text(live, table, &ch.name, r),
        });
    }
    if counters {
        for (li, wi) in &pairs {
            let r = &live_rules[*li];
            let have = r.exprs.iter().find_map(|e| match e {
                super::expr::Expr::Counter { bytes, packets } => Some((*packets, *bytes)),
                _ => None,
            });
            let c = &ch.rules[*wi].counters;
            if have.is_some_and(|h| h != (c.packets, c.bytes)) {
                ops.push(Op::ReplaceRule {
                    table: table.to_string(),
                    chain: ch.name.clone(),
                    handle: r.handle,
                    enc: sent[*wi].clone(),
                    text: text(&ch.rules[*wi]),
                });
            }
        }
    }
    // Each run of new rules goes before the next kept rule, or at the end.
    let kept_want: BTreeMap<usize, usize> = pairs.iter().map(|p| (p.1, p.0)).collect();
    for (j, (enc, r)) in sent.into_iter().zip(&ch.rules).enumerate() {
        if kept_want.contains_key(&j) {
            continue;
        }
        let next = kept_want
            .range(j..)
            .next()
            .map(|(_, li)| live_rules[*li].handle);
        let pos = match next {
            Some(h) => Position::Before(h),
            None => Position::Append,
        };
        ops.push(Op::NewRule {
            table: table.to_string(),
            chain: ch.name.clone(),
            enc,
            pos,
            text: text(r),
        });
    }
    Ok(())
}

/// What apply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Changes to the sets, in the order made (before the rules).
    pub set_ops: Vec<SetOp>,
    pub ops: Vec<Op>,
    /// Attempts needed (1 unless the ruleset moved while planning).
    pub attempts: u32,
    /// Whether the kernel checked the rules (a dry run that would create
    /// sets cannot have rules naming them checked).
    pub checked: bool,
    /// The generation the kernel is at after our batch, if nobody else
    /// wrote meanwhile (ours committed against the one before it).
    pub genid: u32,
}

/// Options of apply.
#[derive(Debug, Clone, Default)]
pub struct ApplyOpts {
    pub noflush: bool,
    /// Plan and let the kernel check the batch, but commit nothing.
    pub dry_run: bool,
    /// `ipset restore` input: the sets it creates are made exactly so,
    /// before the rules.
    pub sets: Option<String>,
    /// Nothing will print the plan: rules added go without their text
    /// (a refusal by the kernel is still described in full).
    pub quiet: bool,
    /// The process ends soon after a successful apply: what was read and
    /// planned is not freed rule by rule (a tenth of a second for 80,000).
    pub then_exit: bool,
    /// Base chains (table, chain) made without policy counters, as a rule
    /// command makes one on demand (`lab up` of a host whose rules were
    /// typed as commands): the kernel then never counts their policy.
    pub uncounted: BTreeSet<(String, String)>,
}

/// Why apply stopped.
#[derive(Debug)]
pub enum ApplyError {
    /// The input itself is wrong: iptables-restore's (or ipset's) output.
    Input(Output),
    Kernel(Error),
}

impl From<Error> for ApplyError {
    fn from(e: Error) -> Self {
        ApplyError::Kernel(e)
    }
}

/// Undoes set changes already made, newest first (best effort: what
/// cannot be undone is named in the error).
pub fn undo_sets(sock: &mut NfSock, done: &[SetOp]) -> Result<()> {
    let mut first = None;
    for o in done.iter().rev() {
        let r = match (&o.creates, &o.undo) {
            (Some(name), _) => super::ipset::destroy_when_free(sock, name),
            (None, Some(m)) => {
                super::ipset::send_all(sock, &[(m.clone(), format!("undo of {}", o.text))])
            }
            (None, None) => Ok(()),
        };
        if let Err(e) = r {
            first.get_or_insert(e);
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Kernel indexes for sets a dry run would create: after every index in use.
pub fn provisional(live: &mut Live, set_ops: &[SetOp], want: &Desired) {
    let mut next = live.sets.iter().map(|(i, _)| *i + 1).max().unwrap_or(0);
    for o in set_ops {
        if let Some(name) = &o.creates {
            if let Some(set) = want.sets.iter().find(|s| &s.name == name) {
                live.sets.push((
                    next,
                    crate::ext::SetRef {
                        name: name.clone(),
                        dimensions: set.kind.dimension(),
                        inet6: false,
                    },
                ));
                next += 1;
            }
        }
    }
}

/// Reads, plans, changes the sets, sends one batch of rules; re-reads and
/// re-plans on ERESTART. When the rules cannot go in, the set changes are
/// undone.
pub fn apply(
    sock: &mut NfSock,
    text: &str,
    opts: ApplyOpts,
) -> std::result::Result<Applied, ApplyError> {
    let mut done: Vec<SetOp> = Vec::new();
    let fail = |sock: &mut NfSock, done: &[SetOp], e: Error| -> ApplyError {
        match undo_sets(sock, done) {
            Ok(()) => ApplyError::Kernel(e),
            Err(u) => ApplyError::Kernel(Error::Refused(format!(
                "{e}; undoing the ipset changes failed too: {u}"
            ))),
        }
    };
    for attempt in 1..=MAX_ATTEMPTS {
        let mut live = match live::read(sock) {
            Ok(l) => l,
            Err(e) => return Err(fail(sock, &done, e)),
        };
        let want = match desired_with_sets(&live, text, opts.sets.as_deref(), opts.noflush) {
            Ok(mut w) => {
                for (table, declared) in &mut w.tables {
                    declared.retain(|c| {
                        !opts
                            .uncounted
                            .contains(&(table.name.to_string(), c.clone()))
                    });
                }
                w
            }
            Err(out) => {
                let _ = undo_sets(sock, &done);
                return Err(ApplyError::Input(out));
            }
        };
        let set_ops = match super::setplan::plan(&live, &want.sets, want.now) {
            Ok(o) => o,
            Err(e) => return Err(fail(sock, &done, e)),
        };
        let mut checked = true;
        if !set_ops.is_empty() {
            if opts.dry_run {
                checked = !set_ops.iter().any(|o| o.creates.is_some());
                provisional(&mut live, &set_ops, &want);
            } else {
                let msgs: Vec<(Msg, String)> = set_ops
                    .iter()
                    .map(|o| (o.msg.clone(), o.text.clone()))
                    .collect();
                // Made one by one so that exactly what was made is undone.
                for (k, m) in msgs.iter().enumerate() {
                    if let Err(e) = super::ipset::send_all(sock, std::slice::from_ref(m)) {
                        done.extend(set_ops[..k].iter().cloned());
                        return Err(fail(sock, &done, e));
                    }
                }
                done.extend(set_ops.iter().cloned());
                match super::ipset::read(sock) {
                    Ok(sets) => live.set_sets(sets, live.now),
                    Err(e) => return Err(fail(sock, &done, e)),
                }
            }
        }
        let ops = match plan_with(&live, &want, opts.noflush, false, !opts.quiet) {
            Ok(o) => o,
            Err(e) => return Err(fail(sock, &done, e)),
        };
        let applied = |ops: Vec<Op>, attempts: u32, genid: u32| Applied {
            set_ops: if opts.dry_run {
                set_ops.clone()
            } else {
                done.clone()
            },
            ops,
            attempts,
            checked,
            genid,
        };
        if ops.is_empty() || (opts.dry_run && !checked) {
            return Ok(applied(ops, attempt, live.genid));
        }
        let msgs: Vec<Msg> = ops.iter().map(Op::msg).collect();
        match sock.batch(live.genid, &msgs, !opts.dry_run) {
            // Each commit moves the generation on by one.
            Ok(BatchOutcome::Done) => {
                let after = if opts.dry_run {
                    live.genid
                } else {
                    live.genid.wrapping_add(1)
                };
                let out = applied(ops, attempt, after);
                if opts.then_exit {
                    std::mem::forget((want, live, msgs));
                }
                return Ok(out);
            }
            Ok(BatchOutcome::Restart) => continue,
            Ok(BatchOutcome::Failed(answers)) => {
                // The same plan again, with its texts, to say what failed.
                let ops = match opts.quiet {
                    true => plan_with(&live, &want, opts.noflush, false, true).unwrap_or(ops),
                    false => ops,
                };
                return Err(fail(sock, &done, refusal(&ops, &answers)));
            }
            Err(e) => return Err(fail(sock, &done, e)),
        }
    }
    Err(fail(sock, &done, Error::Busy(MAX_ATTEMPTS)))
}

/// The first refused message, with every other refusal listed after it.
pub(crate) fn refusal(ops: &[Op], answers: &[Answer]) -> Error {
    let mut first: Option<KernelRefusal> = None;
    let mut more = String::new();
    for (op, a) in ops.iter().zip(answers) {
        if let Answer::Err { errno, msg } = a {
            let r = KernelRefusal {
                errno: *errno,
                msg: msg.clone(),
                what: op.describe(),
            };
            if first.is_none() {
                first = Some(r);
            } else {
                let _ = write!(more, "; also {r}");
            }
        }
    }
    match first {
        Some(mut r) => {
            r.what.push_str(&more);
            Error::Kernel(r)
        }
        None => Error::Kernel(KernelRefusal {
            errno: libc::EIO,
            msg: Some("no answer for part of the batch".into()),
            what: "the batch".into(),
        }),
    }
}

/// `iptables-save` text of the live ruleset (only `table` if given), and
/// what could not be represented. The decoded rules are taken out of `live`.
pub fn import(
    live: &mut Live,
    only: Option<&str>,
    counters: bool,
    date: &str,
) -> (String, Vec<live::Problem>) {
    import_keeping(live, only, counters, date, &mut Vec::new())
}

/// As [`import`]; the tables read are handed to `kept` rather than freed
/// (a process about to end need not free them rule by rule).
pub fn import_keeping(
    live: &mut Live,
    only: Option<&str>,
    counters: bool,
    date: &str,
    kept: &mut Vec<Vec<Chain>>,
) -> (String, Vec<live::Problem>) {
    // About a hundred bytes a rule: the text is built without regrowing.
    let rules: usize = live
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .map(|c| c.rules.len())
        .sum();
    let mut out = String::with_capacity(rules * 112 + 4096);
    let mut problems = Vec::new();
    decode_side_by_side(live, only);
    for name in TABLE_ORDER {
        if only.is_some_and(|t| t != name) {
            continue;
        }
        let Some(lt) = live.tables.iter_mut().find(|t| t.name == name) else {
            continue;
        };
        match live::take_table(&live.sets, lt) {
            Ok((t, mut p)) => {
                problems.append(&mut p);
                let _ = writeln!(
                    out,
                    "# Generated by iptables-save v1.8.9 (nf_tables) on {date}"
                );
                let name = t.name;
                let chains = listing(t);
                crate::iptables::save::save_table(name, &chains, counters, &mut out);
                kept.push(chains);
                let _ = writeln!(out, "# Completed on {date}");
            }
            Err(p) => problems.push(p),
        }
    }
    (out, problems)
}

/// Decodes many rules in two threads at once (each rule keeps what it
/// decoded to): the import then finds them decoded.
fn decode_side_by_side(live: &Live, only: Option<&str>) {
    const SPLIT_FROM: usize = 4000;
    let rules: Vec<(&LiveRule, &str)> = live
        .tables
        .iter()
        .filter(|t| TABLE_ORDER.contains(&t.name.as_str()) && only.is_none_or(|o| o == t.name))
        .flat_map(|t| {
            t.chains
                .iter()
                .flat_map(move |c| c.rules.iter().map(move |r| (r, t.name.as_str())))
        })
        .collect();
    if rules.len() < SPLIT_FROM {
        return;
    }
    let (first, second) = rules.split_at(rules.len() / 2);
    let sets = &live.sets;
    std::thread::scope(|s| {
        s.spawn(move || {
            for (r, t) in second {
                let _ = r.rule(sets, t);
            }
        });
        for (r, t) in first {
            let _ = r.rule(sets, t);
        }
    });
}

/// What [`Table::listing`] gives, without copying the rules: built-in
/// chains in hook order (absent ones as placeholders), then user chains.
fn listing(t: Table) -> Vec<Chain> {
    let hooks = t.hooks();
    let mut builtins: Vec<Option<Chain>> = vec![None; hooks.len()];
    let mut users = Vec::new();
    for c in t.chains {
        match c.hook.and_then(|h| hooks.iter().position(|x| *x == h)) {
            Some(i) => builtins[i] = Some(c),
            None => users.push(c),
        }
    }
    let mut out: Vec<Chain> = builtins
        .into_iter()
        .zip(hooks)
        .map(|(c, h)| {
            c.unwrap_or_else(|| {
                let mut f = Chain::builtin(*h);
                f.fake = true;
                f
            })
        })
        .collect();
    out.extend(users);
    out
}

/// The kernel's ipsets as `ipset save` prints them.
pub fn import_sets(live: &Live) -> String {
    use crate::ipset::print::{list, ListOpts, Mode};
    let sets = live.store.sets();
    let o = ListOpts {
        mode: Mode::Save,
        terse: false,
        names_only: false,
        sorted: false,
        now: live.now,
    };
    list(&sets, &o, &|_| 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_plan_is_the_same_plan_without_texts() {
        let live = Live::default();
        let text = "*filter\n:INPUT DROP [0:0]\n:X - [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -j X\n-A X -s 10.0.0.0/8 -j DROP\nCOMMIT\n";
        let want = desired(&live, text, false).expect("desired");
        let loud = plan_with(&live, &want, false, false, true).expect("plan");
        let quiet = plan_with(&live, &want, false, false, false).expect("plan");
        assert_eq!(loud.len(), quiet.len());
        let bytes = |ops: &[Op]| ops.iter().map(|o| o.msg().to_bytes(1)).collect::<Vec<_>>();
        assert_eq!(bytes(&loud), bytes(&quiet));
        let texts: Vec<String> = loud
            .iter()
            .filter_map(|o| match o {
                Op::NewRule { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            texts,
            vec![
                "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
                "-A INPUT -j X",
                "-A X -s 10.0.0.0/8 -j DROP"
            ]
        );
        assert!(quiet
            .iter()
            .all(|o| !matches!(o, Op::NewRule { text, .. } if !text.is_empty())));
    }
}
