//! The teaching parts of a lab file: the introduction's steps and the
//! checks a teacher writes (reachability, policies, rules, outputs,
//! counters, log lines), with the checks that a lab file's steps and checks
//! make sense (kinds, ids, hosts). Evaluation lives in [`super::checks`].

use super::fragment::{fragment_with, Lookups};
use super::{LabError, LabFile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One numbered step of a lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub title: String,
    /// What to do and why.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// The host the commands run on (needed when there are commands).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// Commands to try, one shell line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    /// What to look at in the output.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub look: String,
}

/// One check: an id, a title, an optional hint and exactly one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub id: String,
    pub title: String,
    /// A nudge shown while the check fails.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reach: Option<ReachCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<CounterCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogCheck>,
}

/// The kind of a check, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind<'a> {
    Reach(&'a ReachCheck),
    Policy(&'a PolicyCheck),
    Rule(&'a RuleCheck),
    Output(&'a OutputCheck),
    Counter(&'a CounterCheck),
    Log(&'a LogCheck),
}

impl Check {
    /// Every kind the check carries (a valid check carries exactly one).
    pub fn kinds(&self) -> Vec<CheckKind<'_>> {
        let mut k = Vec::new();
        if let Some(c) = &self.reach {
            k.push(CheckKind::Reach(c));
        }
        if let Some(c) = &self.policy {
            k.push(CheckKind::Policy(c));
        }
        if let Some(c) = &self.rule {
            k.push(CheckKind::Rule(c));
        }
        if let Some(c) = &self.output {
            k.push(CheckKind::Output(c));
        }
        if let Some(c) = &self.counter {
            k.push(CheckKind::Counter(c));
        }
        if let Some(c) = &self.log {
            k.push(CheckKind::Log(c));
        }
        k
    }

    /// The check's one kind; `None` when it has none or several.
    pub fn kind(&self) -> Option<CheckKind<'_>> {
        match self.kinds().as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

impl CheckKind<'_> {
    /// The field name of the kind in the lab file.
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Reach(_) => "reach",
            CheckKind::Policy(_) => "policy",
            CheckKind::Rule(_) => "rule",
            CheckKind::Output(_) => "output",
            CheckKind::Counter(_) => "counter",
            CheckKind::Log(_) => "log",
        }
    }
}

/// What a reachability probe is expected to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// The probe reached the target's local delivery or socket.
    Delivered,
    /// An answer from the target came back (SYN-ACK, echo reply, UDP reply).
    Answered,
    /// The target's stack refused it as a closed port does (RST, port unreachable).
    Refused,
    /// A REJECT rule's RST or ICMP error came back.
    Rejected,
    /// Nothing came back.
    Dropped,
}

impl Expect {
    pub fn word(self) -> &'static str {
        match self {
            Expect::Delivered => "delivered",
            Expect::Answered => "answered",
            Expect::Refused => "refused",
            Expect::Rejected => "rejected",
            Expect::Dropped => "dropped",
        }
    }
}

/// A probe from one host towards a host or address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReachCheck {
    /// The host the probe leaves from.
    pub from: String,
    /// A host name (its first address) or an IPv4 address.
    pub to: String,
    /// `tcp` (default), `udp` or `icmp`.
    #[serde(default = "super::tcp")]
    pub proto: String,
    /// Destination port (tcp and udp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub expect: Expect,
}

/// A built-in chain's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyCheck {
    pub host: String,
    #[serde(default = "filter")]
    pub table: String,
    pub chain: String,
    /// `ACCEPT` or `DROP`.
    pub is: String,
}

/// A rule (given by a fragment of its `iptables -S` text) is there, or not,
/// and optionally comes before another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleCheck {
    pub host: String,
    #[serde(default = "filter")]
    pub table: String,
    pub chain: String,
    /// Fragment of the rule's canonical text (after `-A CHAIN `).
    pub has: String,
    /// The rule comes before the first rule that has this fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// `false` asks for no such rule.
    #[serde(default = "super::yes", skip_serializing_if = "is_true")]
    pub present: bool,
}

/// A command's output (run on a copy of the lab).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputCheck {
    pub host: String,
    pub command: String,
    /// Substrings of stdout+stderr that must appear.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contains: Vec<String>,
    /// Substrings of stdout+stderr that must not appear.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lacks: Vec<String>,
}

/// Which rule a counter check reads: its number or a fragment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RuleRef {
    Number(usize),
    Fragment(String),
}

/// A rule's packet counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterCheck {
    pub host: String,
    #[serde(default = "filter")]
    pub table: String,
    pub chain: String,
    /// Rule number (from 1) or a fragment (the first rule that has it).
    pub rule: RuleRef,
    /// Fewest packets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// Most packets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

/// A line of the host's kernel log (what `dmesg` prints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogCheck {
    pub host: String,
    pub contains: String,
}

fn filter() -> String {
    "filter".into()
}

fn is_true(b: &bool) -> bool {
    *b
}

const MAX_STEPS: usize = 256;
const MAX_CHECKS: usize = 256;

/// Checks the steps and checks of a lab: hosts exist, step commands have a
/// host, every check has a unique id and exactly one kind whose fields make
/// sense.
pub fn validate(lab: &LabFile) -> Result<(), LabError> {
    // Inserted one by one: collecting into a BTreeSet sorts a Vec first,
    // one more copy of the standard sort in the web page.
    let mut hosts: BTreeSet<&str> = BTreeSet::new();
    hosts.extend(lab.hosts.iter().map(|h| h.name.as_str()));
    let known = || hosts.iter().copied().collect::<Vec<_>>().join(", ");
    let host = |what: &str, name: &str| -> Result<(), LabError> {
        if hosts.contains(name) {
            Ok(())
        } else {
            Err(LabError(format!(
                "{what}: no host \"{name}\" in the lab (hosts: {})",
                known()
            )))
        }
    };
    // Fragments may name the lab's hosts; sets are made by the steps.
    let resolve = |name: &str| lab_names(lab, name);
    let sets = |name: &str| {
        Some(crate::ext::SetRef {
            name: name.to_string(),
            dimensions: 6,
            inet6: false,
        })
    };
    let look = Lookups {
        resolve: &resolve,
        sets: &sets,
    };
    let frag = |text: &str, table: &str| fragment_with(text, table, &look);
    if lab.steps.len() > MAX_STEPS {
        return Err(LabError(format!(
            "{} steps; the limit is {MAX_STEPS}",
            lab.steps.len()
        )));
    }
    for (k, s) in lab.steps.iter().enumerate() {
        let what = format!("step {} ({})", k + 1, s.title);
        if s.host.is_empty() {
            if !s.commands.is_empty() {
                return Err(LabError(format!(
                    "{what}: has commands but no \"host\" to run them on"
                )));
            }
        } else {
            host(&what, &s.host)?;
        }
        if s.commands.len() > super::MAX_ITEMS {
            return Err(LabError(format!("{what}: too many commands")));
        }
    }
    if lab.checks.len() > MAX_CHECKS {
        return Err(LabError(format!(
            "{} checks; the limit is {MAX_CHECKS}",
            lab.checks.len()
        )));
    }
    let mut ids = BTreeSet::new();
    for (k, c) in lab.checks.iter().enumerate() {
        if c.id.is_empty() {
            return Err(LabError(format!("check {}: \"id\" is empty", k + 1)));
        }
        if !c
            .id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
        {
            return Err(LabError(format!(
                "check \"{}\": id may only have letters, digits, '-', '_' and '.'",
                c.id
            )));
        }
        if !ids.insert(c.id.as_str()) {
            return Err(LabError(format!(
                "check \"{}\": the id is used twice",
                c.id
            )));
        }
        let what = format!("check \"{}\"", c.id);
        if c.title.trim().is_empty() {
            return Err(LabError(format!("{what}: \"title\" is empty")));
        }
        let kinds = c.kinds();
        let kind = match kinds.as_slice() {
            [one] => *one,
            [] => {
                return Err(LabError(format!(
                    "{what}: needs one of reach, policy, rule, output, counter, log"
                )))
            }
            many => {
                return Err(LabError(format!(
                    "{what}: has {} kinds ({}); a check has exactly one",
                    many.len(),
                    many.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
                )))
            }
        };
        let what = format!("{what} ({})", kind.name());
        match kind {
            CheckKind::Reach(r) => {
                host(&what, &r.from)?;
                if r.to.parse::<std::net::Ipv4Addr>().is_err() {
                    host(&what, &r.to)?;
                }
                match (r.proto.as_str(), r.port) {
                    ("tcp" | "udp", Some(0)) => {
                        return Err(LabError(format!("{what}: port 0")));
                    }
                    ("tcp" | "udp", Some(_)) => {}
                    ("tcp" | "udp", None) => {
                        return Err(LabError(format!("{what}: {} needs a \"port\"", r.proto)));
                    }
                    ("icmp", None) => {}
                    ("icmp", Some(_)) => {
                        return Err(LabError(format!("{what}: icmp has no \"port\"")));
                    }
                    (other, _) => {
                        return Err(LabError(format!(
                            "{what}: proto \"{other}\" is not tcp, udp or icmp"
                        )));
                    }
                }
            }
            CheckKind::Policy(p) => {
                host(&what, &p.host)?;
                if !matches!(p.is.as_str(), "ACCEPT" | "DROP") {
                    return Err(LabError(format!(
                        "{what}: \"is\" must be ACCEPT or DROP, not \"{}\"",
                        p.is
                    )));
                }
                chain_names(&what, &p.table, &p.chain, true)?;
            }
            CheckKind::Rule(r) => {
                host(&what, &r.host)?;
                chain_names(&what, &r.table, &r.chain, false)?;
                frag(&r.has, &r.table).map_err(|e| LabError(format!("{what}: \"has\": {e}")))?;
                if let Some(b) = &r.before {
                    frag(b, &r.table).map_err(|e| LabError(format!("{what}: \"before\": {e}")))?;
                    if !r.present {
                        return Err(LabError(format!(
                            "{what}: \"before\" with \"present\": false makes no sense"
                        )));
                    }
                }
            }
            CheckKind::Output(o) => {
                host(&what, &o.host)?;
                if o.command.trim().is_empty() {
                    return Err(LabError(format!("{what}: \"command\" is empty")));
                }
                crate::command::shell::Script::parse(&o.command)
                    .map_err(|e| LabError(format!("{what}: \"command\": {}", e.msg)))?;
                if o.contains.is_empty() && o.lacks.is_empty() {
                    return Err(LabError(format!("{what}: needs \"contains\" or \"lacks\"")));
                }
            }
            CheckKind::Counter(c) => {
                host(&what, &c.host)?;
                chain_names(&what, &c.table, &c.chain, false)?;
                match &c.rule {
                    RuleRef::Number(0) => {
                        return Err(LabError(format!("{what}: rules count from 1")));
                    }
                    RuleRef::Number(_) => {}
                    RuleRef::Fragment(f) => {
                        frag(f, &c.table)
                            .map_err(|e| LabError(format!("{what}: \"rule\": {e}")))?;
                    }
                }
                match (c.min, c.max) {
                    (None, None) => {
                        return Err(LabError(format!("{what}: needs \"min\" or \"max\"")));
                    }
                    (Some(lo), Some(hi)) if lo > hi => {
                        return Err(LabError(format!(
                            "{what}: \"min\" {lo} is more than \"max\" {hi}"
                        )));
                    }
                    _ => {}
                }
            }
            CheckKind::Log(l) => {
                host(&what, &l.host)?;
                if l.contains.is_empty() {
                    return Err(LabError(format!("{what}: \"contains\" is empty")));
                }
            }
        }
    }
    Ok(())
}

/// Addresses a name has in the lab: the name table, then hosts' first addresses.
fn lab_names(lab: &LabFile, name: &str) -> Vec<std::net::Ipv4Addr> {
    if let Ok(a) = name.parse() {
        return vec![a];
    }
    let mut out: Vec<std::net::Ipv4Addr> = lab
        .names
        .iter()
        .filter(|n| n.names.iter().any(|x| x == name))
        .filter_map(|n| n.address.parse().ok())
        .collect();
    if out.is_empty() {
        out.extend(
            lab.hosts
                .iter()
                .filter(|h| h.name == name)
                .flat_map(|h| h.interfaces.iter())
                .filter_map(|i| {
                    i.address
                        .as_deref()
                        .or(i.addresses.first().map(|s| s.as_str()))
                })
                .filter_map(|a| a.split('/').next()?.parse::<std::net::Ipv4Addr>().ok())
                .take(1),
        );
    }
    out
}

/// Checks a table name, and a chain name (a built-in chain of the table
/// when `builtin`).
pub fn chain_names(what: &str, table: &str, chain: &str, builtin: bool) -> Result<(), LabError> {
    let Some(hooks) = crate::ruleset::table_hooks(table) else {
        return Err(LabError(format!(
            "{what}: table \"{table}\" is not filter, nat, mangle, raw or security"
        )));
    };
    let is_builtin = hooks.iter().any(|h| h.name() == chain);
    if builtin && !is_builtin {
        return Err(LabError(format!(
            "{what}: \"{chain}\" is not a built-in chain of the {table} table ({})",
            hooks
                .iter()
                .map(|h| h.name())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if !is_builtin {
        if let Err(e) = crate::iptables::parse::assert_valid_chain_name(chain) {
            return Err(LabError(format!("{what}: chain \"{chain}\": {}", e.msg)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    const HOSTS: &str = r#""links": [ { "name": "lan" } ],
      "hosts": [
        { "name": "client", "interfaces": [ { "name": "eth0", "address": "10.0.0.1/24", "link": "lan" } ] },
        { "name": "fw", "interfaces": [ { "name": "eth0", "address": "10.0.0.2/24", "link": "lan" } ] }
      ]"#;

    fn lab(extra: &str) -> String {
        format!("{{ \"version\": 1, {HOSTS}, {extra} }}")
    }

    #[test]
    fn the_documented_example_reads_and_round_trips() {
        let text = lab(r#""intro": "Para one.\n\nPara `two`.",
          "steps": [ { "title": "Drop SSH", "text": "Why.", "host": "fw",
                       "commands": ["iptables -A INPUT -p tcp --dport 22 -j DROP"], "look": "Look." } ],
          "checks": [
            { "id": "ssh-dropped", "title": "SSH dropped", "hint": "nudge",
              "reach": { "from": "client", "to": "fw", "proto": "tcp", "port": 22, "expect": "dropped" } },
            { "id": "pol", "title": "policy", "policy": { "host": "fw", "table": "filter", "chain": "INPUT", "is": "DROP" } },
            { "id": "est", "title": "est", "rule": { "host": "fw", "table": "filter", "chain": "INPUT",
                "has": "-m state --state RELATED,ESTABLISHED -j ACCEPT", "before": "-j DROP" } },
            { "id": "scan", "title": "scan", "output": { "host": "client", "command": "nmap -p 22 fw",
                "contains": ["22/tcp filtered"], "lacks": [] } },
            { "id": "cnt", "title": "cnt", "counter": { "host": "fw", "table": "filter", "chain": "INPUT", "rule": "-j DROP", "min": 1 } },
            { "id": "cnt2", "title": "cnt2", "counter": { "host": "fw", "chain": "INPUT", "rule": 1, "max": 0 } },
            { "id": "log", "title": "log", "log": { "host": "fw", "contains": "SSH: " } }
          ]"#);
        let l = parse(&text).unwrap();
        assert_eq!(l.steps.len(), 1);
        assert_eq!(l.checks.len(), 7);
        assert_eq!(l.checks[0].kind().unwrap().name(), "reach");
        assert_eq!(
            l.checks[5].counter.as_ref().unwrap().rule,
            super::RuleRef::Number(1)
        );
        assert_eq!(l.checks[5].counter.as_ref().unwrap().table, "filter");
        let again = serde_json::to_string(&l).unwrap();
        assert_eq!(parse(&again).unwrap(), l);
        // Empty teaching fields are left out.
        let plain = parse(&lab(r#""name": "x""#)).unwrap();
        let j = serde_json::to_string(&plain).unwrap();
        assert!(
            !j.contains("intro") && !j.contains("steps") && !j.contains("checks"),
            "{j}"
        );
    }

    fn error(extra: &str) -> String {
        parse(&lab(extra)).unwrap_err().0
    }

    #[test]
    fn a_check_needs_exactly_one_kind() {
        let e = error(r#""checks": [ { "id": "a", "title": "t" } ]"#);
        assert!(
            e.contains("check \"a\"") && e.contains("needs one of"),
            "{e}"
        );
        let e = error(
            r#""checks": [ { "id": "b", "title": "t",
               "log": { "host": "fw", "contains": "x" },
               "policy": { "host": "fw", "chain": "INPUT", "is": "DROP" } } ]"#,
        );
        assert!(
            e.contains("check \"b\"") && e.contains("2 kinds (policy, log)"),
            "{e}"
        );
    }

    #[test]
    fn bad_checks_are_named() {
        let dup = r#""checks": [
            { "id": "a", "title": "t", "log": { "host": "fw", "contains": "x" } },
            { "id": "a", "title": "u", "log": { "host": "fw", "contains": "y" } } ]"#;
        assert!(error(dup).contains("check \"a\": the id is used twice"));
        let e = error(
            r#""checks": [ { "id": "r", "title": "t", "reach": { "from": "nobody", "to": "fw", "port": 22, "expect": "dropped" } } ]"#,
        );
        assert!(e.contains("check \"r\" (reach): no host \"nobody\""), "{e}");
        let e = error(
            r#""checks": [ { "id": "r", "title": "t", "reach": { "from": "client", "to": "fw", "expect": "dropped" } } ]"#,
        );
        assert!(e.contains("tcp needs a \"port\""), "{e}");
        let e = error(
            r#""checks": [ { "id": "r", "title": "t", "reach": { "from": "client", "to": "fw", "port": 1, "expect": "lost" } } ]"#,
        );
        assert!(e.contains("unknown variant `lost`"), "{e}");
        let e = error(
            r#""checks": [ { "id": "p", "title": "t", "policy": { "host": "fw", "chain": "FOO", "is": "DROP" } } ]"#,
        );
        assert!(
            e.contains("check \"p\" (policy): \"FOO\" is not a built-in chain"),
            "{e}"
        );
        let e = error(
            r#""checks": [ { "id": "q", "title": "t", "rule": { "host": "fw", "chain": "INPUT", "has": "-p tcp --dport" } } ]"#,
        );
        assert!(
            e.contains("check \"q\" (rule): \"has\": `-p tcp --dport' is not a rule"),
            "{e}"
        );
        let e = error(
            r#""checks": [ { "id": "c", "title": "t", "counter": { "host": "fw", "chain": "INPUT", "rule": 1 } } ]"#,
        );
        assert!(e.contains("needs \"min\" or \"max\""), "{e}");
        let e = error(
            r#""checks": [ { "id": "x", "title": "t", "log": { "host": "fw", "contains": "x", "extra": 1 } } ]"#,
        );
        assert!(e.contains("unknown field `extra`"), "{e}");
        let e = error(
            r#""checks": [ { "id": "t", "title": " ", "log": { "host": "fw", "contains": "x" } } ]"#,
        );
        assert!(e.contains("check \"t\": \"title\" is empty"), "{e}");
        let e = error(r#""steps": [ { "title": "s", "commands": ["iptables -L"] } ]"#);
        assert!(
            e.contains("step 1 (s): has commands but no \"host\""),
            "{e}"
        );
        let e =
            error(r#""steps": [ { "title": "s", "host": "gw", "commands": ["iptables -L"] } ]"#);
        assert!(e.contains("step 1 (s): no host \"gw\""), "{e}");
    }

    #[test]
    fn fragments_may_name_lab_hosts() {
        let ok = r#""checks": [ { "id": "n", "title": "t", "rule": { "host": "fw", "chain": "INPUT", "has": "-s client -j DROP" } } ]"#;
        assert!(parse(&lab(ok)).is_ok());
    }
}
