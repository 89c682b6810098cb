//! Evaluating a lab's checks against a world: reachability probes, chain
//! policies, rules (by canonical fragment, and their order), command
//! outputs, rule counters and kernel log lines. Evaluation never changes
//! the world: probes and commands run on scratch copies of it.

use super::fragment::{fragment_with, Fragment, Lookups};
use super::probe;
use super::teaching::{
    Check, CheckKind, CounterCheck, LogCheck, OutputCheck, PolicyCheck, ReachCheck, RuleCheck,
    RuleRef,
};
use super::LabFile;
use crate::command::shell::world::run_on_host;
use crate::command::shell::{Mode, Script};
use crate::ruleset::Rule;
use crate::sim::world::World;
use serde::Serialize;

/// The state of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub id: String,
    pub title: String,
    pub pass: bool,
    /// What was found, in words (why it fails when it fails).
    pub detail: String,
}

/// How many checks pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
}

impl Summary {
    pub fn of(results: &[CheckResult]) -> Summary {
        let passed = results.iter().filter(|r| r.pass).count();
        Summary {
            total: results.len(),
            passed,
            failed: results.len() - passed,
        }
    }
}

/// Evaluates every check of the lab, in order, against `world` (which is
/// left as it was: no rules, counters, reports or clocks change).
// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn evaluate(world: &World, lab: &LabFile) -> Vec<CheckResult> {
    lab.checks.iter().map(|c| evaluate_one(world, c)).collect()
}

/// Evaluates one check.
pub fn evaluate_one(world: &World, check: &Check) -> CheckResult {
    let (pass, detail) = match check.kind() {
        None => (
            false,
            "the check needs exactly one of reach, policy, rule, output, counter, log".into(),
        ),
        Some(kind) => {
            let got = match kind {
                CheckKind::Reach(r) => reach(world, r),
                CheckKind::Policy(p) => policy(world, p),
                CheckKind::Rule(r) => rule(world, r),
                CheckKind::Output(o) => output(world, o),
                CheckKind::Counter(c) => counter(world, c),
                CheckKind::Log(l) => log(world, l),
            };
            got.unwrap_or_else(|e| (false, e))
        }
    };
    CheckResult {
        id: check.id.clone(),
        title: check.title.clone(),
        pass,
        detail,
    }
}

type Verdict = Result<(bool, String), String>;

fn host_index(world: &World, name: &str) -> Result<usize, String> {
    world
        .host_index(name)
        .ok_or_else(|| format!("no host \"{name}\" in the lab"))
}

fn reach(world: &World, r: &ReachCheck) -> Verdict {
    let p = probe::probe(world, r)?;
    if p.meets(r.expect) {
        Ok((true, p.story))
    } else {
        Ok((
            false,
            format!("expected {}, but {}", r.expect.word(), p.story),
        ))
    }
}

fn policy(world: &World, p: &PolicyCheck) -> Verdict {
    let h = host_index(world, &p.host)?;
    // A chain the kernel does not have yet has the default policy ACCEPT.
    let actual = world.hosts[h]
        .ruleset
        .table(&p.table)
        .and_then(|t| t.chain(&p.chain))
        .filter(|c| c.is_builtin())
        .map(|c| c.policy.name())
        .unwrap_or("ACCEPT");
    let what = format!("{} {} {} policy is {actual}", p.host, p.table, p.chain);
    if actual == p.is {
        Ok((true, what))
    } else {
        Ok((false, format!("{what}, not {}", p.is)))
    }
}

/// The rules of a chain: `None` for a user chain the host does not have
/// (a built-in chain the kernel has not made yet has no rules).
fn chain_rules<'w>(world: &'w World, host: usize, table: &str, chain: &str) -> Option<&'w [Rule]> {
    match world.hosts[host]
        .ruleset
        .table(table)
        .and_then(|t| t.chain(chain))
    {
        Some(c) => Some(c.rules.as_slice()),
        None if crate::ruleset::table_hooks(table)
            .is_some_and(|hooks| hooks.iter().any(|h| h.name() == chain)) =>
        {
            Some(&[])
        }
        None => None,
    }
}

fn no_chain(host: &str, table: &str, chain: &str) -> String {
    format!("{host} has no chain {chain} in the {table} table")
}

/// Reads a fragment with the names and sets of a host.
fn host_fragment(world: &World, host: usize, text: &str, table: &str) -> Result<Fragment, String> {
    let h = &world.hosts[host];
    let resolve = |n: &str| h.resolve(n);
    // A set the host does not have (yet) reads as any set would: the rule
    // text names it either way, and no rule can use it.
    let sets = |n: &str| {
        h.ipsets.set_ref(n).or_else(|| {
            Some(crate::ext::SetRef {
                name: n.to_string(),
                dimensions: 6,
                inet6: false,
            })
        })
    };
    fragment_with(
        text,
        table,
        &Lookups {
            resolve: &resolve,
            sets: &sets,
        },
    )
}

fn rule_words(chain: &str, n: usize, rule: &Rule) -> String {
    format!(
        "rule {n} (`{}`)",
        crate::iptables::save::rule_line(chain, rule, false)
    )
}

fn rule(world: &World, r: &RuleCheck) -> Verdict {
    let h = host_index(world, &r.host)?;
    let has = host_fragment(world, h, &r.has, &r.table)?;
    let place = format!("{} {} {}", r.host, r.table, r.chain);
    let Some(rules) = chain_rules(world, h, &r.table, &r.chain) else {
        // No chain, no rule in it.
        return Ok((!r.present, no_chain(&r.host, &r.table, &r.chain)));
    };
    let found = rules.iter().position(|x| has.matches(x));
    if !r.present {
        return Ok(match found {
            None => (true, format!("no rule of {place} has `{}`", has.text)),
            Some(i) => (
                false,
                format!(
                    "{place} {} has `{}`",
                    rule_words(&r.chain, i + 1, &rules[i]),
                    has.text
                ),
            ),
        });
    }
    let Some(i) = found else {
        return Ok((
            false,
            format!(
                "no rule of {place} has `{}` ({} rules in the chain)",
                has.text,
                rules.len()
            ),
        ));
    };
    let here = rule_words(&r.chain, i + 1, &rules[i]);
    let Some(before) = &r.before else {
        return Ok((true, format!("{place} {here} has `{}`", has.text)));
    };
    let later = host_fragment(world, h, before, &r.table)?;
    match rules.iter().position(|x| later.matches(x)) {
        None => Ok((
            true,
            format!(
                "{place} {here} has `{}`; no rule has `{}`",
                has.text, later.text
            ),
        )),
        Some(j) if i < j => Ok((
            true,
            format!(
                "{place} {here} comes before {}",
                rule_words(&r.chain, j + 1, &rules[j])
            ),
        )),
        Some(j) => Ok((
            false,
            format!(
                "in {place}, {} comes first; the rule with `{}` is {here}",
                rule_words(&r.chain, j + 1, &rules[j]),
                has.text
            ),
        )),
    }
}

fn counter(world: &World, c: &CounterCheck) -> Verdict {
    let h = host_index(world, &c.host)?;
    let Some(rules) = chain_rules(world, h, &c.table, &c.chain) else {
        return Ok((false, no_chain(&c.host, &c.table, &c.chain)));
    };
    let place = format!("{} {} {}", c.host, c.table, c.chain);
    let n = match &c.rule {
        RuleRef::Number(n) => {
            if *n == 0 || *n > rules.len() {
                return Ok((
                    false,
                    format!("{place} has no rule {n} ({} rules)", rules.len()),
                ));
            }
            *n
        }
        RuleRef::Fragment(f) => {
            let frag = host_fragment(world, h, f, &c.table)?;
            match rules.iter().position(|x| frag.matches(x)) {
                Some(i) => i + 1,
                None => {
                    return Ok((false, format!("no rule of {place} has `{}`", frag.text)));
                }
            }
        }
    };
    let packets = rules[n - 1].counters.packets;
    let what = format!(
        "{place} {} counted {packets} packet{}",
        rule_words(&c.chain, n, &rules[n - 1]),
        if packets == 1 { "" } else { "s" }
    );
    let low = c.min.is_some_and(|m| packets < m);
    let high = c.max.is_some_and(|m| packets > m);
    let want = match (c.min, c.max) {
        (Some(a), Some(b)) => format!("{a} to {b}"),
        (Some(a), None) => format!("at least {a}"),
        (None, Some(b)) => format!("at most {b}"),
        (None, None) => "any number".into(),
    };
    if low || high {
        Ok((false, format!("{what}; wanted {want}")))
    } else {
        Ok((true, what))
    }
}

/// Longest piece of output quoted in a failing output check's detail.
const QUOTE_MAX: usize = 400;

fn output(world: &World, o: &OutputCheck) -> Verdict {
    let h = host_index(world, &o.host)?;
    let script = Script::parse(&o.command).map_err(|e| format!("`{}`: {}", o.command, e.msg))?;
    // Only tcpdump reads the frames seen so far: copy them only for it.
    let tcpdump = o.command.contains("tcpdump");
    let mut w = probe::scratch(world, tcpdump);
    w.tracing = false;
    let mut text = String::new();
    for item in &script.items {
        let r = run_on_host(&mut w, h, item, None, Mode::Terminal);
        for (_, piece) in &r.pieces {
            text.push_str(piece);
        }
        if r.stop {
            break;
        }
    }
    let missing: Vec<&String> = o.contains.iter().filter(|s| !text.contains(*s)).collect();
    let extra: Vec<&String> = o.lacks.iter().filter(|s| text.contains(*s)).collect();
    let quote = |v: &[&String]| {
        v.iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if missing.is_empty() && extra.is_empty() {
        return Ok((
            true,
            format!("`{}` on {} printed what was asked", o.command, o.host),
        ));
    }
    let mut why = Vec::new();
    if !missing.is_empty() {
        why.push(format!("lacks {}", quote(&missing)));
    }
    if !extra.is_empty() {
        why.push(format!("has {}", quote(&extra)));
    }
    let mut shown: String = text.trim_end().chars().take(QUOTE_MAX).collect();
    if shown.len() < text.trim_end().len() {
        shown.push_str(" …");
    }
    let printed = if shown.is_empty() {
        "it printed nothing".to_string()
    } else {
        format!("it was:\n{shown}")
    };
    Ok((
        false,
        format!(
            "the output of `{}` on {} {}; {printed}",
            o.command,
            o.host,
            why.join(" and ")
        ),
    ))
}

fn log(world: &World, l: &LogCheck) -> Verdict {
    let h = host_index(world, &l.host)?;
    let lines = &world.hosts[h].kmsg;
    match lines.iter().find(|r| r.text.contains(&l.contains)) {
        Some(r) => Ok((true, format!("{} logged: {}", l.host, r.text))),
        None => Ok((
            false,
            format!(
                "no kernel log line of {} has \"{}\" ({} line{} in the log)",
                l.host,
                l.contains,
                lines.len(),
                if lines.len() == 1 { "" } else { "s" }
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::tools;

    /// Runs a command line on a host through its shell; returns the exit status.
    fn sh(world: &mut World, host: usize, line: &str) -> i32 {
        let mut exit = 0;
        for item in &Script::parse(line).unwrap().items {
            exit = run_on_host(world, host, item, None, Mode::Script).exit;
        }
        exit
    }

    /// client 10.0.0.1 and fw 10.0.0.2 (ssh on 22, dns on udp 53) on one LAN.
    const LAB: &str = r#"{ "version": 1,
      "links": [ { "name": "lan" } ],
      "hosts": [
        { "name": "client", "interfaces": [ { "name": "eth0", "address": "10.0.0.1/24", "link": "lan" } ] },
        { "name": "fw", "interfaces": [ { "name": "eth0", "address": "10.0.0.2/24", "link": "lan" } ],
          "services": [ { "proto": "tcp", "port": 22 }, { "proto": "udp", "port": 53 } ] }
      ] }"#;

    /// The lab after `HOST$ CMD` lines, with `checks` (a JSON array) added.
    fn lab_after(checks: &str, script: &str) -> (World, LabFile) {
        let mut v: serde_json::Value = serde_json::from_str(LAB).unwrap();
        v["checks"] = serde_json::from_str(checks).unwrap();
        let (mut world, lab, _) = crate::lab::load(&v.to_string()).unwrap();
        for line in script.lines().filter(|l| !l.trim().is_empty()) {
            let (host, cmd) = line.split_once("$ ").unwrap();
            let h = world.host_index(host.trim()).unwrap();
            let exit = sh(&mut world, h, cmd);
            assert!(
                exit == 0 || cmd.contains("nmap") || cmd.contains("ping"),
                "{cmd}: {exit}"
            );
        }
        tools::take_journal(&mut world);
        world.reports.clear();
        (world, lab)
    }

    fn reach(proto: &str, port: Option<u16>, expect: &str) -> String {
        let port = port.map(|p| format!(", \"port\": {p}")).unwrap_or_default();
        format!(
            r#"{{ "id": "r-{proto}-{expect}", "title": "t", "reach": {{ "from": "client", "to": "fw", "proto": "{proto}"{port}, "expect": "{expect}" }} }}"#
        )
    }

    /// Results of the five expectations for one probe: which pass.
    fn outcomes(
        proto: &str,
        port: Option<u16>,
        script: &str,
    ) -> (Vec<&'static str>, Vec<CheckResult>) {
        let all = ["delivered", "answered", "refused", "rejected", "dropped"];
        let checks: Vec<String> = all.iter().map(|e| reach(proto, port, e)).collect();
        let (world, lab) = lab_after(&format!("[{}]", checks.join(",")), script);
        let results = evaluate(&world, &lab);
        let passing = all
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.pass)
            .map(|(e, _)| *e)
            .collect();
        (passing, results)
    }

    #[test]
    fn reach_open_port_is_delivered_and_answered() {
        let (pass, res) = outcomes("tcp", Some(22), "");
        assert_eq!(pass, ["delivered", "answered"]);
        assert!(
            res[0].detail.eq("tcp 10.0.0.1 -> 10.0.0.2:22 was delivered to fw (tcp port 22 (listening)), and the SYN-ACK came back"),
            "{}",
            res[0].detail
        );
        assert!(
            res[4].detail.starts_with("expected dropped, but tcp"),
            "{}",
            res[4].detail
        );
    }

    #[test]
    fn reach_closed_port_is_refused_not_rejected() {
        let (pass, res) = outcomes("tcp", Some(23), "");
        assert_eq!(pass, ["delivered", "refused"]);
        assert!(
            res[2].detail.contains("RST: port closed"),
            "{}",
            res[2].detail
        );
        let (pass, _) = outcomes("udp", Some(54), "");
        assert_eq!(pass, ["delivered", "refused"]);
    }

    #[test]
    fn reach_drop_rule_is_named() {
        let (pass, res) = outcomes(
            "tcp",
            Some(22),
            "fw$ iptables -A INPUT -p tcp --dport 22 -j DROP",
        );
        assert_eq!(pass, ["dropped"]);
        assert_eq!(
            res[4].detail,
            "tcp 10.0.0.1 -> 10.0.0.2:22 was dropped by fw filter INPUT rule 1 (-p tcp -m tcp --dport 22 -j DROP)"
        );
        assert!(
            res[0].detail.starts_with("expected delivered, but "),
            "{}",
            res[0].detail
        );
        let (pass, res) = outcomes(
            "tcp",
            Some(22),
            "client$ iptables -A OUTPUT -d 10.0.0.2 -j DROP",
        );
        assert_eq!(pass, ["dropped"]);
        assert!(
            res[4]
                .detail
                .ends_with("dropped by client filter OUTPUT rule 1 (-d 10.0.0.2/32 -j DROP)"),
            "{}",
            res[4].detail
        );
        let (pass, res) = outcomes("tcp", Some(22), "fw$ iptables -P INPUT DROP");
        assert_eq!(pass, ["dropped"]);
        assert!(
            res[4]
                .detail
                .ends_with("dropped by fw filter INPUT policy DROP"),
            "{}",
            res[4].detail
        );
    }

    #[test]
    fn reach_reject_with_tcp_reset_is_rejected_not_refused() {
        let (pass, res) = outcomes(
            "tcp",
            Some(22),
            "fw$ iptables -A INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset",
        );
        assert_eq!(pass, ["rejected"]);
        assert!(
            res[3].detail.contains("rejected by fw filter INPUT rule 1 (-p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset)"),
            "{}",
            res[3].detail
        );
        // Same ICMP port unreachable as a closed UDP port, but from a rule.
        let (pass, _) = outcomes("udp", Some(53), "fw$ iptables -A INPUT -p udp -j REJECT");
        assert_eq!(pass, ["rejected"]);
    }

    #[test]
    fn reach_icmp_and_lost_answers() {
        let (pass, _) = outcomes("icmp", None, "");
        assert_eq!(pass, ["delivered", "answered"]);
        let (pass, _) = outcomes("icmp", None, "fw$ iptables -A INPUT -p icmp -j DROP");
        assert_eq!(pass, ["dropped"]);
        // The SYN arrives; the client's own firewall drops the SYN-ACK.
        let (pass, res) = outcomes("tcp", Some(22), "client$ iptables -P INPUT DROP");
        assert_eq!(pass, ["delivered", "dropped"]);
        assert!(
            res[4].detail.contains(
                "but nothing came back (the answer was dropped by client filter INPUT policy DROP)"
            ),
            "{}",
            res[4].detail
        );
    }

    #[test]
    fn reach_to_an_address_without_a_route() {
        let c = r#"[{ "id": "r", "title": "t", "reach": { "from": "client", "to": "192.0.2.1", "port": 80, "expect": "dropped" } }]"#;
        let (world, lab) = lab_after(c, "");
        let r = &evaluate(&world, &lab)[0];
        assert!(!r.pass);
        assert!(r.detail.contains("no route to 192.0.2.1"), "{}", r.detail);
    }

    const RULES: &str = r#"[
      { "id": "pol", "title": "INPUT policy is DROP", "policy": { "host": "fw", "chain": "INPUT", "is": "DROP" } },
      { "id": "est", "title": "ESTABLISHED first", "rule": { "host": "fw", "chain": "INPUT",
          "has": "-m state --state ESTABLISHED,RELATED -j ACCEPT", "before": "-p tcp --dport 22 -j DROP" } },
      { "id": "no-telnet", "title": "no telnet rule", "rule": { "host": "fw", "chain": "INPUT",
          "has": "-p tcp -m tcp --dport 23", "present": false } },
      { "id": "cnt", "title": "DROP counted", "counter": { "host": "fw", "chain": "INPUT", "rule": "-p tcp --dport 22 -j DROP", "min": 1 } },
      { "id": "cnt1", "title": "rule 1 quiet", "counter": { "host": "fw", "chain": "INPUT", "rule": 1, "max": 0 } },
      { "id": "log", "title": "logged", "log": { "host": "fw", "contains": "SSH: " } },
      { "id": "scan", "title": "filtered", "output": { "host": "client", "command": "nmap -p 22 fw",
          "contains": ["22/tcp filtered"], "lacks": ["22/tcp open"] } }
    ]"#;

    fn by_id<'a>(res: &'a [CheckResult], id: &str) -> &'a CheckResult {
        res.iter().find(|r| r.id == id).unwrap()
    }

    #[test]
    fn ruleset_checks_fail_on_an_open_host() {
        let (world, lab) = lab_after(RULES, "");
        let res = evaluate(&world, &lab);
        assert!(
            res.iter().all(|r| r.pass == (r.id == "no-telnet")),
            "{res:#?}"
        );
        assert_eq!(
            by_id(&res, "pol").detail,
            "fw filter INPUT policy is ACCEPT, not DROP"
        );
        assert_eq!(
            by_id(&res, "est").detail,
            "no rule of fw filter INPUT has `-m state --state RELATED,ESTABLISHED -j ACCEPT` (0 rules in the chain)"
        );
        assert!(by_id(&res, "cnt")
            .detail
            .starts_with("no rule of fw filter INPUT has `-p tcp -m tcp --dport 22 -j DROP`"));
        assert_eq!(
            by_id(&res, "cnt1").detail,
            "fw filter INPUT has no rule 1 (0 rules)"
        );
        assert_eq!(
            by_id(&res, "log").detail,
            "no kernel log line of fw has \"SSH: \" (0 lines in the log)"
        );
        let scan = &by_id(&res, "scan").detail;
        assert!(
            scan.contains("lacks \"22/tcp filtered\" and has \"22/tcp open\"; it was:"),
            "{scan}"
        );
        // A rule for a set the host does not have is simply absent.
        let c = r#"[{ "id": "s", "title": "t", "rule": { "host": "fw", "chain": "INPUT",
            "has": "-m set --match-set badguys src -j DROP", "present": false } },
            { "id": "g", "title": "t", "rule": { "host": "fw", "chain": "INPUT", "has": "-j BLOCK" } }]"#;
        let (world, lab) = lab_after(
            c,
            "fw$ iptables -N BLOCK\nfw$ iptables -A INPUT -s 10.0.0.1 -j BLOCK",
        );
        let res = evaluate(&world, &lab);
        assert!(res[0].pass && res[1].pass, "{res:#?}");
        // A user chain the host does not have.
        let c = r#"[{ "id": "u", "title": "t", "rule": { "host": "fw", "chain": "LOGDROP", "has": "-j DROP" } },
            { "id": "v", "title": "t", "rule": { "host": "fw", "chain": "LOGDROP", "has": "-j DROP", "present": false } },
            { "id": "w", "title": "t", "counter": { "host": "fw", "table": "nat", "chain": "PREROUTING", "rule": 1, "min": 0 } }]"#;
        let (world, lab) = lab_after(c, "");
        let res = evaluate(&world, &lab);
        assert_eq!(
            (res[0].pass, res[1].pass, res[2].pass),
            (false, true, false)
        );
        assert_eq!(res[0].detail, "fw has no chain LOGDROP in the filter table");
        assert_eq!(res[2].detail, "fw nat PREROUTING has no rule 1 (0 rules)");
        // A telnet rule makes no-telnet fail.
        let (world, lab) = lab_after(RULES, "fw$ iptables -A INPUT -p tcp --dport 23 -j ACCEPT");
        let r = &evaluate(&world, &lab)[2];
        assert!(!r.pass);
        assert_eq!(r.detail, "fw filter INPUT rule 1 (`-A INPUT -p tcp -m tcp --dport 23 -j ACCEPT`) has `-p tcp -m tcp --dport 23`");
    }

    #[test]
    fn ruleset_checks_pass_on_a_firewalled_host() {
        let script = "fw$ iptables -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
fw$ iptables -A INPUT -p tcp --dport 22 -j LOG --log-prefix \"SSH: \"
fw$ iptables -A INPUT -p tcp -m tcp --dport 22 -j DROP
fw$ iptables -P INPUT DROP
client$ ping -c 1 -W 1 fw
client$ nmap -p 22 fw";
        let (world, lab) = lab_after(RULES, script);
        let res = evaluate(&world, &lab);
        assert!(res.iter().all(|r| r.pass), "{res:#?}");
        assert_eq!(
            by_id(&res, "est").detail,
            "fw filter INPUT rule 1 (`-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT`) comes before rule 3 (`-A INPUT -p tcp -m tcp --dport 22 -j DROP`)"
        );
        assert!(by_id(&res, "cnt")
            .detail
            .contains("rule 3 (`-A INPUT -p tcp -m tcp --dport 22 -j DROP`) counted"));
        assert!(
            by_id(&res, "log")
                .detail
                .starts_with("fw logged: SSH: IN=eth0"),
            "{}",
            by_id(&res, "log").detail
        );
        // Order matters: the DROP before the ESTABLISHED rule fails `est`.
        let script = "fw$ iptables -A INPUT -p tcp --dport 22 -j DROP
fw$ iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT";
        let (world, lab) = lab_after(RULES, script);
        let est = by_id(&evaluate(&world, &lab), "est").clone();
        assert!(!est.pass);
        assert_eq!(
            est.detail,
            "in fw filter INPUT, rule 1 (`-A INPUT -p tcp -m tcp --dport 22 -j DROP`) comes first; the rule with `-m state --state RELATED,ESTABLISHED -j ACCEPT` is rule 2 (`-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT`)"
        );
        // The counter's bounds.
        let cnt = by_id(&evaluate(&world, &lab), "cnt").clone();
        assert!(!cnt.pass);
        assert!(
            cnt.detail.ends_with("counted 0 packets; wanted at least 1"),
            "{}",
            cnt.detail
        );
    }

    #[test]
    fn evaluation_leaves_the_world_alone() {
        let all = ["delivered", "answered", "refused", "rejected", "dropped"];
        let mut checks: Vec<String> = all.iter().map(|e| reach("tcp", Some(22), e)).collect();
        checks.push(
            r#"{ "id": "o", "title": "t", "output": { "host": "client", "command": "ping -c 3 fw", "contains": ["3 received"] } }"#.into(),
        );
        let (world, lab) = lab_after(
            &format!("[{}]", checks.join(",")),
            "fw$ iptables -A INPUT -m state --state NEW -j LOG\nfw$ iptables -A INPUT -j ACCEPT",
        );
        let look = |w: &World| {
            let mut w2 = w.clone();
            let save =
                tools::run_in_world(&mut w2, 1, &["iptables-save".into(), "-c".into()], None)
                    .stdout;
            let ct =
                tools::run_in_world(&mut w2, 1, &["conntrack".into(), "-L".into()], None).stdout;
            (
                save,
                ct,
                w.hosts[1].kmsg.len(),
                w.now_ns,
                w.captures.values().map(|c| c.len()).sum::<usize>(),
            )
        };
        let before = look(&world);
        let res = evaluate(&world, &lab);
        assert!(res[0].pass && res[5].pass, "{res:#?}");
        assert_eq!(look(&world), before);
        assert!(world.reports.is_empty() && world.tools.journal.is_empty());
        assert!(world.delivered.is_empty());
    }

    /// client 10.1.0.10 -- router (10.1.0.1 | 203.0.113.1, forwarding) -- server 203.0.113.80.
    const ROUTED: &str = r#"{ "version": 1,
      "links": [ { "name": "lan" }, { "name": "dmz" } ],
      "hosts": [
        { "name": "client", "interfaces": [ { "name": "eth0", "address": "10.1.0.10/24", "link": "lan" } ],
          "routes": [ { "to": "default", "via": "10.1.0.1" } ] },
        { "name": "router", "sysctl": { "net.ipv4.ip_forward": "1" },
          "interfaces": [ { "name": "eth0", "address": "10.1.0.1/24", "link": "lan" },
                          { "name": "eth1", "address": "203.0.113.1/24", "link": "dmz" } ] },
        { "name": "server", "interfaces": [ { "name": "eth0", "address": "203.0.113.80/24", "link": "dmz" } ],
          "routes": [ { "to": "default", "via": "203.0.113.1" } ],
          "services": [ { "proto": "tcp", "port": 80 } ] }
      ] }"#;

    fn routed(to: &str, port: u16, expect: &str, script: &str) -> CheckResult {
        let mut v: serde_json::Value = serde_json::from_str(ROUTED).unwrap();
        v["checks"] = serde_json::json!([{ "id": "r", "title": "t",
            "reach": { "from": "client", "to": to, "port": port, "expect": expect } }]);
        let (mut world, lab, _) = crate::lab::load(&v.to_string()).unwrap();
        for line in script.lines() {
            let (host, cmd) = line.split_once("$ ").unwrap();
            let h = world.host_index(host).unwrap();
            assert_eq!(sh(&mut world, h, cmd), 0, "{cmd}");
        }
        evaluate(&world, &lab).remove(0)
    }

    #[test]
    fn reach_through_a_router() {
        let r = routed("server", 80, "answered", "");
        assert!(r.pass, "{}", r.detail);
        // DNAT on the router: the probe to the router's port lands on the server.
        let dnat = "router$ iptables -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 203.0.113.80:80";
        let r = routed("10.1.0.1", 8080, "answered", dnat);
        assert!(r.pass, "{}", r.detail);
        assert!(r.detail.contains("was delivered to server"), "{}", r.detail);
        // A REJECT in FORWARD answers for the server.
        let r = routed(
            "server",
            80,
            "rejected",
            "router$ iptables -A FORWARD -p tcp -j REJECT",
        );
        assert!(r.pass, "{}", r.detail);
        assert_eq!(
            r.detail,
            "tcp 10.1.0.10 -> 203.0.113.80:80 was rejected by router filter FORWARD rule 1 (-p tcp -j REJECT --reject-with icmp-port-unreachable)"
        );
        // Forwarding off: dropped by routing, not by a rule.
        let r = routed(
            "server",
            80,
            "dropped",
            "router$ sysctl -w net.ipv4.ip_forward=0",
        );
        assert!(r.pass, "{}", r.detail);
        assert!(
            r.detail.ends_with("dropped on router: forwarding is off"),
            "{}",
            r.detail
        );
        // Nobody has the address: host unreachable is neither dropped nor refused.
        let r = routed("10.1.0.99", 80, "dropped", "");
        assert!(!r.pass);
        assert!(r.detail.contains("ICMP host unreachable"), "{}", r.detail);
    }

    #[test]
    fn steps_run_then_checks_pass() {
        let mut v: serde_json::Value = serde_json::from_str(LAB).unwrap();
        v["steps"] = serde_json::json!([
            { "title": "Drop SSH", "host": "fw",
              "commands": ["iptables -A INPUT -p tcp --dport 22 -j DROP", "iptables -L INPUT -n"] },
            { "title": "Look", "text": "Nothing to run." }
        ]);
        v["checks"] =
            serde_json::from_str(&format!("[{}]", reach("tcp", Some(22), "dropped"))).unwrap();
        let (mut world, lab, _) = crate::lab::load(&v.to_string()).unwrap();
        assert!(!evaluate(&world, &lab)[0].pass);
        let runs = crate::lab::run_steps(&mut world, &lab);
        assert_eq!(runs.len(), 2);
        assert!(
            runs[1].output.stdout.contains(
                "DROP       6    --  0.0.0.0/0            0.0.0.0/0            tcp dpt:22"
            ),
            "{:?}",
            runs[1]
        );
        assert!(world.reports.is_empty() && world.tools.journal.is_empty());
        assert!(evaluate(&world, &lab)[0].pass);
    }

    #[test]
    fn output_checks_run_through_the_shell() {
        let c = r#"[{ "id": "o", "title": "t", "output": { "host": "fw",
            "command": "for c in INPUT OUTPUT; do iptables -S $c; done | grep -c DROP",
            "contains": ["2"], "lacks": ["command not found"] } }]"#;
        let (world, lab) = lab_after(c, "fw$ iptables -A INPUT -j DROP");
        let r = evaluate(&world, &lab).remove(0);
        assert!(!r.pass);
        assert!(r.detail.contains("lacks \"2\"; it was:\n1"), "{}", r.detail);
        let (world, lab) = lab_after(
            c,
            "fw$ iptables -A INPUT -j DROP\nfw$ iptables -A OUTPUT -j DROP",
        );
        let r = evaluate(&world, &lab).remove(0);
        assert!(r.pass, "{}", r.detail);
    }

    #[test]
    fn empty_output_is_said_so() {
        let c = r#"[{ "id": "o", "title": "t", "output": { "host": "fw", "command": "iptables -S INPUT | grep DROP", "contains": ["DROP"] } }]"#;
        let (world, lab) = lab_after(c, "");
        let r = evaluate(&world, &lab).remove(0);
        assert_eq!(
            r.detail,
            "the output of `iptables -S INPUT | grep DROP` on fw lacks \"DROP\"; it printed nothing"
        );
    }
}
