//! The live ruleset: dumped over netlink, decoded into engine tables, with
//! whatever cannot be represented kept aside (reported, never touched).

use super::msg::{self, BaseHook, ChainObj, RuleObj, TableObj};
use super::rule::{self, Encoded};
use super::sock::NfSock;
use super::{Error, Result};
use crate::ruleset::{Counters, Hook, Rule, Table, Verdict, TABLE_ORDER};

/// One rule of a live chain.
#[derive(Debug, Clone)]
pub struct LiveRule {
    pub handle: u64,
    /// The rule, or why it cannot be represented.
    pub rule: std::result::Result<Rule, String>,
    /// What it is compared by (our encoding, counter zeroed).
    pub identity: Option<Encoded>,
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
}

impl LiveTable {
    pub fn chain(&self, name: &str) -> Option<&LiveChain> {
        self.chains.iter().find(|c| c.name == name)
    }
}

/// The `ip` family ruleset at one generation.
#[derive(Debug, Clone)]
pub struct Live {
    pub genid: u32,
    pub tables: Vec<LiveTable>,
    /// Names of the nfacct objects (`-m nfacct` may name only those).
    pub nfacct: Vec<String>,
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
        let rules: Vec<RuleObj> = dump(sock, msg::NFT_MSG_GETRULE)?
            .iter()
            .map(|b| msg::parse_rule(b))
            .collect::<Result<_>>()?;
        if sock.genid()? != genid {
            continue;
        }
        let mut live = assemble(genid, tables, chains, rules);
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

/// Puts dumped objects together, decoding every rule.
pub fn assemble(
    genid: u32,
    tables: Vec<TableObj>,
    chains: Vec<ChainObj>,
    rules: Vec<RuleObj>,
) -> Live {
    let mut out: Vec<LiveTable> = tables
        .into_iter()
        .map(|t| LiveTable {
            name: t.name,
            chains: Vec::new(),
        })
        .collect();
    for c in chains {
        if let Some(t) = out.iter_mut().find(|t| t.name == c.table) {
            t.chains.push(LiveChain {
                name: c.name,
                hook: c.hook,
                policy: c.policy,
                counters: c.counters,
                rules: Vec::new(),
            });
        }
    }
    for r in rules {
        let Some(t) = out.iter_mut().find(|t| t.name == r.table) else {
            continue;
        };
        let table = t.name.clone();
        let Some(c) = t.chains.iter_mut().find(|c| c.name == r.chain) else {
            continue;
        };
        let decoded = rule::decode_rule(&table, &r.exprs).map_err(|e| e.to_string());
        let identity = decoded
            .as_ref()
            .ok()
            .and_then(|d| rule::encode_rule(&table, d, false).ok());
        let rule = match (&decoded, &identity) {
            (Ok(_), None) => Err("cannot be encoded back".to_string()),
            _ => decoded,
        };
        c.rules.push(LiveRule {
            handle: r.handle,
            rule,
            identity,
        });
    }
    Live {
        genid,
        tables: out,
        nfacct: Vec::new(),
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

/// The engine table a live iptables table stands for, and what of it could
/// not be represented. `Err` when the table as a whole is not one iptables
/// can use (an unknown name, a base chain with another hook, priority or type).
pub fn to_table(lt: &LiveTable) -> std::result::Result<(Table, Vec<Problem>), Problem> {
    let problem = |chain: Option<&str>, what: String| Problem {
        table: lt.name.clone(),
        chain: chain.map(str::to_string),
        handle: None,
        what,
    };
    let Some(name) = TABLE_ORDER.iter().copied().find(|t| *t == lt.name) else {
        return Err(problem(None, "not an iptables table".into()));
    };
    let mut table = Table::new(name);
    table.exists = true;
    let mut problems = Vec::new();
    for c in &lt.chains {
        match (&c.hook, expected_hook(name, &c.name)) {
            (Some(h), Some(want)) if *h == want => {
                let Some(hook) = crate::ruleset::Hook::from_name(&c.name) else {
                    continue;
                };
                let mut ch = crate::ruleset::Chain::builtin(hook);
                ch.policy = policy_verdict(c.policy);
                ch.counted = c.counters.is_some();
                let (packets, bytes) = c.counters.unwrap_or((0, 0));
                ch.counters = Counters { packets, bytes };
                table.add_chain(ch);
            }
            (Some(_), _) => {
                return Err(problem(Some(&c.name), "incompatible base chain".into()));
            }
            (None, Some(_)) => {
                return Err(problem(
                    Some(&c.name),
                    "user chain with a built-in chain's name".into(),
                ));
            }
            (None, None) => table.add_user_chain(&c.name),
        }
        for r in &c.rules {
            match &r.rule {
                Ok(rule) => {
                    if let Some(ch) = table.chain_mut(&c.name) {
                        ch.rules.push(rule.clone());
                    }
                }
                Err(why) => problems.push(Problem {
                    table: lt.name.clone(),
                    chain: Some(c.name.clone()),
                    handle: Some(r.handle),
                    what: format!("cannot represent rule ({why})"),
                }),
            }
        }
    }
    Ok((table, problems))
}
