//! The terminal commands `explain` and `lint`.
//!
//! - `explain iptables -A INPUT -p tcp --dport 22 -j DROP` (or the same rule
//!   line without `iptables`, as in a restore file: `-A INPUT ...`) prints
//!   the rule in plain English without changing the host's rules; a rule
//!   iptables would refuse gets iptables' own error and exit code.
//!   `explain -P INPUT DROP` explains a policy; `-F`, `-X`, `-N`, `-E`,
//!   `-Z`, `-L`, `-S` and `-D NUM` get a sentence too, once the command
//!   works on a scratch copy (`explain iptables -Lvn` shows the refusal).
//! - `explain [-t TABLE]` explains every rule of a table (filter by
//!   default), chain by chain, by number.
//! - `lint [--admin ADDR] [--json]` prints the linter's warnings; exit 0
//!   when there are none, 1 when there are.

use super::{lint, LintContext, Warning};
use crate::command::Output;
use crate::iptables::opts::{
    CMD_APPEND, CMD_CHECK, CMD_DELETE, CMD_DELETE_CHAIN, CMD_DELETE_NUM, CMD_FLUSH, CMD_INSERT,
    CMD_LIST, CMD_LIST_RULES, CMD_NEW_CHAIN, CMD_RENAME_CHAIN, CMD_REPLACE, CMD_SET_POLICY,
    CMD_ZERO, CMD_ZERO_NUM,
};
use crate::iptables::parse;
use crate::iptables::restore::split_rule_line;
use crate::iptables::{format_error, VERSION};
use crate::ruleset::{table_hooks, Rule};
use crate::sim::host::Host;

/// Runs `explain ...` or `lint ...` on a host (by `argv[0]`).
// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn run(host: &mut Host, argv: &[String]) -> Output {
    match argv.first().map(String::as_str) {
        Some("lint") => run_lint(host, &argv[1..]),
        _ => run_explain(host, &argv[1..]),
    }
}

fn run_lint(host: &Host, args: &[String]) -> Output {
    let mut ctx = LintContext::default();
    let mut json = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--admin" => match it.next().map(|v| v.parse()) {
                Some(Ok(addr)) => ctx.admin = Some(addr),
                Some(Err(_)) => {
                    return Output::err("lint: --admin needs an IPv4 address\n", 2);
                }
                None => return Output::err("lint: --admin needs an address\n", 2),
            },
            other => {
                return Output::err(
                    format!(
                        "lint: unknown option `{other}'\nUsage: lint [--admin ADDR] [--json]\n"
                    ),
                    2,
                )
            }
        }
    }
    let warnings = lint(host, &ctx);
    let stdout = if json {
        let mut s = serde_json::to_string_pretty(&warnings).unwrap_or_else(|_| "[]".into());
        s.push('\n');
        s
    } else if warnings.is_empty() {
        "no warnings\n".to_string()
    } else {
        warnings.iter().map(|w| format!("{}\n", line(w))).collect()
    };
    Output {
        stdout,
        stderr: String::new(),
        exit: i32::from(!warnings.is_empty()),
    }
}

/// `filter INPUT rule 4: ... [shadowed]`.
pub fn line(w: &Warning) -> String {
    let at = match w.rule {
        Some(n) => format!("{} {} rule {n}", w.table, w.chain),
        None => format!("{} {}", w.table, w.chain),
    };
    format!("{at}: {} [{}]", w.message, w.kind)
}

/// The sentence(s) for one command line as typed (`iptables -A INPUT -p
/// tcp --dport 22 -j DROP`, or `-A INPUT ...`), for a hover over a line in
/// the terminal: what `explain LINE` prints, without changing the host.
pub fn explain_line(host: &Host, line: &str) -> Output {
    run_explain(host, &split_rule_line(line))
}

fn run_explain(host: &Host, args: &[String]) -> Output {
    // The whole rule given as one quoted word.
    let split;
    let args = match args {
        [one] if one.trim().contains(char::is_whitespace) => {
            split = split_rule_line(one);
            &split[..]
        }
        _ => args,
    };
    let rest: Vec<&String> = match args.first() {
        Some(a)
            if a.rsplit('/')
                .next()
                .is_some_and(|p| p.starts_with("iptables")) =>
        {
            args[1..].iter().collect()
        }
        _ => args.iter().collect(),
    };
    // Only `-t TABLE` (or nothing): the whole table.
    let table = match rest.as_slice() {
        [] => Some("filter".to_string()),
        [t, name] if *t == "-t" || *t == "--table" => Some(name.to_string()),
        _ => None,
    };
    if let Some(t) = table {
        return explain_table(host, &t);
    }
    let mut argv = vec!["iptables".to_string()];
    argv.extend(rest.into_iter().cloned());
    explain_command(host, &argv)
}

fn explain_table(host: &Host, name: &str) -> Output {
    if table_hooks(name).is_none() {
        return Output::err(
            format!(
                "iptables {VERSION}: table '{name}' does not exist\nPerhaps iptables or your kernel needs to be upgraded.\n"
            ),
            3,
        );
    }
    let Some(table) = host.ruleset.table(name).filter(|t| t.exists) else {
        return Output::ok(format!(
            "Table {name} has no chains yet: every packet passes it (policy ACCEPT).\n"
        ));
    };
    let mut s = String::new();
    for chain in table.listing() {
        if chain.is_builtin() {
            s.push_str(&format!(
                "Chain {} (policy {}):\n",
                chain.name,
                chain.policy.name()
            ));
        } else {
            s.push_str(&format!("Chain {}:\n", chain.name));
        }
        for (i, r) in chain.rules.iter().enumerate() {
            s.push_str(&format!(
                "{:>4}  -A {} {}\n      {}\n",
                i + 1,
                chain.name,
                r.spec_text().trim(),
                r.explain()
            ));
        }
        s.push_str(&format!("      {}\n\n", chain.explain_end()));
    }
    Output::ok(s)
}

fn sentences(rules: &[Rule]) -> String {
    rules.iter().map(|r| format!("{}\n", r.explain())).collect()
}

fn explain_command(host: &Host, argv: &[String]) -> Output {
    let mut warnings = Vec::new();
    let parsed = parse::with_host_env(host, false, |env| parse::parse(argv, env, &mut warnings));
    let p = match parsed {
        Ok(p) => p,
        Err(e) => {
            let mut stderr: String = warnings.iter().map(|w| format!("{w}\n")).collect();
            stderr.push_str(&format_error("iptables", &e, None));
            return Output::err(stderr, e.exit);
        }
    };
    if let Some(text) = p.output {
        return Output::ok(text);
    }
    let chain = p.chain.clone().unwrap_or_default();
    // Commands run on a scratch copy of the host's objects: the same
    // checks, errors and rewrites as the real command, and nothing changes.
    let mut scratch = Host::new(&host.name);
    scratch.ruleset = host.ruleset.clone();
    scratch.ipsets = host.ipsets.clone();
    scratch.nfacct = host.nfacct.clone();
    scratch.names = host.names.clone();
    if p.command & (CMD_APPEND | CMD_INSERT | CMD_REPLACE) != 0 {
        let before = scratch
            .ruleset
            .table(&p.table)
            .and_then(|t| t.chain(&chain))
            .map_or(0, |c| c.rules.len());
        let out = crate::iptables::run(&mut scratch, argv);
        if out.exit != 0 {
            return out;
        }
        let rules = scratch
            .ruleset
            .table(&p.table)
            .and_then(|t| t.chain(&chain))
            .map(|c| c.rules.clone())
            .unwrap_or_default();
        let added = rules.len().saturating_sub(before);
        let at = p.rulenum.map_or(0, |n| n.saturating_sub(1) as usize);
        let range = if p.command & CMD_APPEND != 0 {
            before..rules.len()
        } else if p.command & CMD_INSERT != 0 {
            at..at + added
        } else {
            at..at + 1
        };
        let made = rules.get(range).unwrap_or_default();
        return Output {
            stdout: sentences(made),
            stderr: out.stderr,
            exit: 0,
        };
    }
    if p.command & (CMD_DELETE | CMD_CHECK) != 0 && !p.rules.is_empty() {
        return Output::ok(sentences(&p.rules));
    }
    // Anything else must work as a command first (`-Lvn` lists a chain
    // `vn`, which iptables refuses).
    let out = crate::iptables::run(&mut scratch, argv);
    if out.exit != 0 {
        return out;
    }
    if p.command & CMD_DELETE_NUM != 0 {
        let n = p.rulenum.unwrap_or(0) as usize;
        let rule = host
            .ruleset
            .table(&p.table)
            .and_then(|t| t.chain(&chain))
            .and_then(|c| c.rules.get(n.wrapping_sub(1)));
        if let Some(r) = rule {
            return Output::ok(format!("Deletes rule {n} of {chain}: {}\n", r.explain()));
        }
    }
    if p.command & CMD_SET_POLICY != 0 {
        let policy = p.policy.clone().unwrap_or_default();
        let what = match policy.as_str() {
            "DROP" => "dropped",
            _ => "accepted",
        };
        return Output::ok(format!(
            "Sets the policy of {chain}: packets no rule of {chain} decides are {what}.\n"
        ));
    }
    match other_command(p.command, &p.table, p.chain.as_deref(), p.newname.as_deref()) {
        Some(text) => Output::ok(format!("{text}\n")),
        None => Output::err(
            "explain: give an iptables command (-A/-I/-R/-D/-C a rule, -P, -N, -X, -F, -Z, -E, -L, -S); \
             `explain [-t TABLE]` explains a whole table\n",
            2,
        ),
    }
}

/// A sentence for the commands that are not about one rule.
fn other_command(
    cmd: u32,
    table: &str,
    chain: Option<&str>,
    newname: Option<&str>,
) -> Option<String> {
    let of = |what: &str| match chain {
        Some(c) => format!("{what} chain {c} of table {table}"),
        None => format!("{what} every chain of table {table}"),
    };
    Some(match cmd {
        CMD_NEW_CHAIN => format!(
            "Creates the empty user chain {} in table {table}; rules reach it only through -j or -g.",
            chain.unwrap_or_default()
        ),
        CMD_DELETE_CHAIN => match chain {
            Some(c) => format!(
                "Deletes the user chain {c} of table {table} (it must be empty and no rule may jump to it)."
            ),
            None => format!(
                "Deletes every user chain of table {table} (each must be empty and no rule may jump to it)."
            ),
        },
        CMD_FLUSH => format!("{}; the policies stay as they are.", of("Deletes every rule of")),
        CMD_ZERO | CMD_ZERO_NUM => format!("{}.", of("Sets the packet and byte counters to zero in")),
        CMD_RENAME_CHAIN => format!(
            "Renames the user chain {} of table {table} to {}; the rules that jump to it follow.",
            chain.unwrap_or_default(),
            newname.unwrap_or_default()
        ),
        CMD_LIST => format!("{} (-n: numbers, -v: counters and interfaces).", of("Lists the rules of")),
        CMD_LIST_RULES => format!("{} as iptables commands.", of("Prints the rules of")),
        _ => return None,
    })
}
