//! Carries out a parsed iptables command on a host's ruleset, with the
//! nf_tables back end's errors and exit codes.

use super::list::{self, Format};
use super::parse::*;
use super::{format_error, save, VERSION_TAG};
use crate::command::Output;
use crate::ext::XtError;
use crate::ruleset::{check, table_hooks, Counters, Rule, Table, Verdict};
use crate::sim::host::Host;

/// Why a change was refused.
#[derive(Debug)]
pub enum ExecError {
    /// `iptables: MSG` with exit 1 (`line N failed: MSG` in iptables-restore).
    Plain(&'static str),
    /// Any other output.
    Out(Output),
}

impl ExecError {
    fn into_output(self) -> Output {
        match self {
            ExecError::Plain(msg) => Output::err(format!("iptables: {msg}\n"), 1),
            ExecError::Out(o) => o,
        }
    }
}

fn fail(msg: &'static str) -> ExecError {
    ExecError::Plain(msg)
}

fn no_chain() -> ExecError {
    fail("No chain/target/match by that name.")
}

/// The kernel refused the change: exit 4.
fn kernel_fail(op: &str, err: &crate::ext::KernelError, what: &str) -> Output {
    Output::err(
        format!("{VERSION_TAG}:  {op} failed ({}): {what}\n", err.strerror()),
        4,
    )
}

fn with_warnings(mut out: Output, warnings: &[String]) -> Output {
    if !warnings.is_empty() {
        let mut s: String = warnings.iter().map(|w| format!("{w}\n")).collect();
        s.push_str(&out.stderr);
        out.stderr = s;
    }
    out
}

/// Executes a parsed command.
pub fn execute(host: &mut Host, p: Parsed) -> Output {
    let warnings = p.warnings.clone();
    let out = execute_inner(host, p);
    with_warnings(out, &warnings)
}

fn execute_inner(host: &mut Host, p: Parsed) -> Output {
    if p.version {
        return Output::ok(format!("{VERSION_TAG}\n"));
    }
    if let Some(help) = &p.help {
        return Output::ok(help.clone());
    }
    if table_hooks(&p.table).is_none() {
        return Output::err(
            format!(
                "{VERSION_TAG}: table '{}' does not exist\nPerhaps iptables or your kernel needs to be upgraded.\n",
                p.table
            ),
            3,
        );
    }
    let table_name = p.table.clone();
    let Some(table) = host.ruleset.table(&table_name) else {
        return no_chain().into_output();
    };
    let rule_cmd =
        p.command & (CMD_APPEND | CMD_DELETE | CMD_CHECK | CMD_INSERT | CMD_REPLACE) != 0;
    if rule_cmd {
        if let Some(j) = &p.jumpto {
            let is_ext = p
                .rules
                .first()
                .is_some_and(|r| matches!(r.target, crate::ruleset::RuleTarget::Ext(_)));
            if !is_ext && Verdict::from_name(j).is_none() && table.chain(j).is_none() {
                let e = XtError::new(format!("Chain '{j}' does not exist"));
                return Output::err(format_error(&e), 2);
            }
        }
    }
    let fmt = Format {
        numeric: p.has(OPT_NUMERIC),
        verbose: p.has(OPT_VERBOSE),
        expanded: p.has(OPT_EXPANDED),
        line_numbers: p.has(OPT_LINENUMBERS),
    };
    let chain = p.chain.clone();
    let cmd = p.command;
    if cmd & CMD_LIST != 0 || cmd & CMD_LIST_RULES != 0 {
        let table = host.ruleset.table(&table_name).expect("known table");
        let text = if cmd & CMD_LIST != 0 {
            list::list(table, chain.as_deref(), p.rulenum, fmt, host)
        } else {
            list_rules(table, chain.as_deref(), p.rulenum, fmt.verbose)
        };
        let Some(text) = text else {
            return Output::err(
                format!(
                    "{VERSION_TAG}: chain `{}' in table `{}' is incompatible, use 'nft' tool.\n",
                    chain.unwrap_or_default(),
                    table_name
                ),
                1,
            );
        };
        if cmd & (CMD_ZERO | CMD_ZERO_NUM) != 0 {
            let t = host.ruleset.table_mut(&table_name).expect("known table");
            if let Err(e) = zero(t, chain.as_deref(), p.rulenum) {
                return e.into_output();
            }
        }
        return Output::ok(text);
    }
    let mut work = host
        .ruleset
        .table(&table_name)
        .expect("known table")
        .clone();
    let (result, op) = apply(&mut work, &p);
    if let Err(e) = result {
        return e.into_output();
    }
    let others: Vec<&Table> = host
        .ruleset
        .tables
        .iter()
        .filter(|t| t.name != work.name)
        .collect();
    if let Err(f) = check::validate_in(&work, &others) {
        return kernel_fail(
            op,
            &f.error,
            &format!("rule in chain {}", chain.unwrap_or(f.chain)),
        );
    }
    work.exists = true;
    *host.ruleset.table_mut(&table_name).expect("known table") = work;
    Output::default()
}

/// Applies a command to a table being restored; the error is the message
/// iptables-restore prints after `line N failed: `.
pub fn apply_to_table(t: &mut Table, p: &Parsed) -> Result<(), String> {
    match apply(t, p).0 {
        Ok(()) => Ok(()),
        Err(ExecError::Plain(m)) => Err(m.to_string()),
        Err(ExecError::Out(o)) => Err(o.stderr.trim_end().to_string()),
    }
}

fn chain_or_fail<'a>(
    t: &'a mut Table,
    name: &str,
) -> Result<&'a mut crate::ruleset::Chain, ExecError> {
    t.chain_mut(name).ok_or_else(no_chain)
}

/// Applies a modifying command to a working copy of the table. Returns the
/// nf_tables operation name used in kernel errors.
fn apply(t: &mut Table, p: &Parsed) -> (Result<(), ExecError>, &'static str) {
    let chain = p.chain.clone().unwrap_or_default();
    let cmd = p.command;
    if cmd & CMD_APPEND != 0 {
        return (append(t, &chain, &p.rules), "RULE_APPEND");
    }
    if cmd & CMD_INSERT != 0 {
        return (
            insert(t, &chain, p.rulenum.unwrap_or(1), &p.rules),
            "RULE_INSERT",
        );
    }
    if cmd & CMD_REPLACE != 0 {
        return (
            replace(t, &chain, p.rulenum.unwrap_or(1), &p.rules),
            "RULE_REPLACE",
        );
    }
    if cmd & CMD_DELETE_NUM != 0 {
        return (delete_num(t, &chain, p.rulenum.unwrap_or(1)), "RULE_DELETE");
    }
    if cmd & CMD_DELETE != 0 {
        return (delete_spec(t, &chain, &p.rules), "RULE_DELETE");
    }
    if cmd & CMD_CHECK != 0 {
        return (check_rule(t, &chain, &p.rules), "RULE_CHECK");
    }
    if cmd & CMD_FLUSH != 0 {
        return (flush(t, p.chain.as_deref()), "RULE_DELETE");
    }
    if cmd & (CMD_ZERO | CMD_ZERO_NUM) != 0 {
        return (zero(t, p.chain.as_deref(), p.rulenum), "RULE_REPLACE");
    }
    if cmd & CMD_NEW_CHAIN != 0 {
        if t.chain(&chain).is_some() {
            return (Err(fail("Chain already exists.")), "CHAIN_ADD");
        }
        t.add_user_chain(&chain);
        return (Ok(()), "CHAIN_ADD");
    }
    if cmd & CMD_DELETE_CHAIN != 0 {
        return (delete_chain(t, p.chain.as_deref()), "CHAIN_DEL");
    }
    if cmd & CMD_RENAME_CHAIN != 0 {
        return (
            rename_chain(t, &chain, p.newname.as_deref().unwrap_or("")),
            "CHAIN_RENAME",
        );
    }
    if cmd & CMD_SET_POLICY != 0 {
        return (
            set_policy(t, &chain, p.policy.as_deref().unwrap_or(""), p.counters),
            "CHAIN_UPDATE",
        );
    }
    (Ok(()), "")
}

fn append(t: &mut Table, chain: &str, rules: &[Rule]) -> Result<(), ExecError> {
    let c = chain_or_fail(t, chain)?;
    c.rules.extend(rules.iter().cloned());
    Ok(())
}

fn insert(t: &mut Table, chain: &str, num: u32, rules: &[Rule]) -> Result<(), ExecError> {
    let c = chain_or_fail(t, chain)?;
    let idx = num as usize - 1;
    if idx > c.rules.len() {
        return Err(fail("Index of insertion too big."));
    }
    for (i, r) in rules.iter().enumerate() {
        c.rules.insert(idx + i, r.clone());
    }
    Ok(())
}

fn replace(t: &mut Table, chain: &str, num: u32, rules: &[Rule]) -> Result<(), ExecError> {
    let c = chain_or_fail(t, chain)?;
    let idx = num as usize - 1;
    if idx >= c.rules.len() {
        return Err(fail("Index of replacement too big."));
    }
    if rules.len() != 1 {
        return Err(ExecError::Out(Output::err(
            format_error(&XtError::new(
                "Replacement rule does not specify a unique address",
            )),
            2,
        )));
    }
    c.rules[idx] = rules[0].clone();
    Ok(())
}

fn delete_num(t: &mut Table, chain: &str, num: u32) -> Result<(), ExecError> {
    let c = chain_or_fail(t, chain)?;
    let idx = num as usize - 1;
    if idx >= c.rules.len() {
        return Err(fail("Index of deletion too big."));
    }
    c.rules.remove(idx);
    Ok(())
}

fn delete_spec(t: &mut Table, chain: &str, rules: &[Rule]) -> Result<(), ExecError> {
    let c = chain_or_fail(t, chain)?;
    for r in rules {
        match c.rules.iter().position(|x| x.same_as(r)) {
            Some(i) => {
                c.rules.remove(i);
            }
            None => {
                return Err(fail(
                    "Bad rule (does a matching rule exist in that chain?).",
                ))
            }
        }
    }
    Ok(())
}

fn check_rule(t: &mut Table, chain: &str, rules: &[Rule]) -> Result<(), ExecError> {
    let c = chain_or_fail(t, chain)?;
    for r in rules {
        if !c.rules.iter().any(|x| x.same_as(r)) {
            return Err(fail(
                "Bad rule (does a matching rule exist in that chain?).",
            ));
        }
    }
    Ok(())
}

fn flush(t: &mut Table, chain: Option<&str>) -> Result<(), ExecError> {
    match chain {
        Some(name) => chain_or_fail(t, name)?.rules.clear(),
        None => t.chains.iter_mut().for_each(|c| c.rules.clear()),
    }
    Ok(())
}

fn zero(t: &mut Table, chain: Option<&str>, rulenum: Option<u32>) -> Result<(), ExecError> {
    // iptables-nft zeroes a rule by replacing it: the matches start afresh.
    let zero_rule = |r: &mut crate::ruleset::Rule| {
        r.counters = Counters::default();
        r.matches.iter_mut().for_each(|m| m.reset());
    };
    let zero_chain = |c: &mut crate::ruleset::Chain| {
        c.counters = Counters::default();
        c.rules.iter_mut().for_each(zero_rule);
    };
    match chain {
        Some(name) => {
            let c = chain_or_fail(t, name)?;
            match rulenum {
                Some(n) => {
                    if let Some(r) = c.rules.get_mut(n as usize - 1) {
                        zero_rule(r);
                    }
                }
                None => zero_chain(c),
            }
        }
        None => t.chains.iter_mut().for_each(zero_chain),
    }
    Ok(())
}

fn delete_chain(t: &mut Table, chain: Option<&str>) -> Result<(), ExecError> {
    let busy = |name: &str| {
        ExecError::Out(kernel_fail(
            "CHAIN_DEL",
            &crate::ext::KernelError::Busy,
            &format!("chain {name}"),
        ))
    };
    match chain {
        Some(name) => {
            let Some(idx) = t.chain_index(name) else {
                return Err(no_chain());
            };
            if t.references(name) > 0 {
                return Err(busy(name));
            }
            if t.chains[idx].is_builtin() {
                if !t.chains[idx].rules.is_empty() {
                    return Err(busy(name));
                }
                let hook = t.chains[idx].hook.expect("builtin");
                t.chains[idx] = crate::ruleset::Chain::builtin(hook);
                return Ok(());
            }
            t.chains.remove(idx);
        }
        None => {
            let users: Vec<String> = t
                .chains
                .iter()
                .filter(|c| !c.is_builtin())
                .map(|c| c.name.clone())
                .collect();
            for name in &users {
                let referenced_from_kept = t
                    .chains
                    .iter()
                    .filter(|c| c.is_builtin())
                    .flat_map(|c| c.rules.iter())
                    .any(|r| r.target.chain() == Some(name));
                if referenced_from_kept {
                    return Err(busy(name));
                }
            }
            t.chains.retain(|c| c.is_builtin());
        }
    }
    Ok(())
}

fn rename_chain(t: &mut Table, old: &str, new: &str) -> Result<(), ExecError> {
    if t.chain(new).is_some() {
        return Err(fail("File exists."));
    }
    let Some(idx) = t.chain_index(old) else {
        return Err(no_chain());
    };
    if t.chains[idx].is_builtin() {
        return Err(fail("Invalid argument."));
    }
    let mut c = t.chains.remove(idx);
    c.name = new.to_string();
    for ch in t.chains.iter_mut() {
        for r in ch.rules.iter_mut() {
            match &mut r.target {
                crate::ruleset::RuleTarget::Jump(n) | crate::ruleset::RuleTarget::Goto(n)
                    if n == old =>
                {
                    *n = new.to_string()
                }
                _ => {}
            }
        }
    }
    let rules = std::mem::take(&mut c.rules);
    t.add_user_chain(new);
    t.chain_mut(new).expect("just added").rules = rules;
    Ok(())
}

fn set_policy(
    t: &mut Table,
    chain: &str,
    policy: &str,
    counters: Option<(u64, u64)>,
) -> Result<(), ExecError> {
    let Some(c) = t.chain_mut(chain).filter(|c| c.is_builtin()) else {
        return Err(fail("Bad built-in chain name."));
    };
    let v = match Verdict::from_name(policy) {
        Some(v @ (Verdict::Accept | Verdict::Drop)) => v,
        _ => return Err(fail("Bad policy name. Run `dmesg' for more information.")),
    };
    c.policy = v;
    if let Some((p, b)) = counters {
        c.counters = Counters {
            packets: p,
            bytes: b,
        };
    }
    Ok(())
}

/// `iptables -S [chain [rulenum]]`.
pub fn list_rules(
    t: &Table,
    chain: Option<&str>,
    rulenum: Option<u32>,
    counters: bool,
) -> Option<String> {
    let mut out = String::new();
    let chains: Vec<&crate::ruleset::Chain> = match chain {
        Some(name) => vec![t.chain(name)?],
        None => t.chains.iter().collect(),
    };
    if let Some(n) = rulenum {
        let c = chains[0];
        if let Some(r) = c.rules.get(n as usize - 1) {
            out.push_str(&save::rule_line(&c.name, r, counters));
            out.push('\n');
        }
        return Some(out);
    }
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
    Some(out)
}
