//! A whole rule in plain English: its IPv4 part (addresses, interfaces,
//! protocol, fragments), each match's own explanation, and what the target
//! does. The CLI and the web app's rules view show the same sentence.

use super::{Chain, Net, Rule, RuleTarget, Verdict};
use crate::iptables::save::proto_name;

fn net_text(n: Net) -> String {
    if n.mask == u32::MAX {
        n.addr.to_string()
    } else {
        format!("{}/{}", n.addr, n.mask.count_ones())
    }
}

fn iface_text(name: &str) -> String {
    match name.strip_suffix('+') {
        Some("") => "any interface".to_string(),
        Some(prefix) => format!("any interface whose name starts with {prefix}"),
        None => name.to_string(),
    }
}

fn not(inv: bool) -> &'static str {
    if inv {
        "not "
    } else {
        ""
    }
}

/// A match's own phrase as it follows "packets": older texts that start
/// with "Matches" lose that word.
fn match_phrase(text: &str) -> String {
    let t = text.trim();
    for lead in ["Matches packets ", "Matches "] {
        if let Some(rest) = t.strip_prefix(lead) {
            return rest.to_string();
        }
    }
    t.to_string()
}

/// The verb and what follows the packets for a target's text: a text
/// starting with a capital letter is "Verb rest" (`Rejects , answering
/// ...`); any other text is an action said on its own.
fn target_parts(text: &str) -> Result<(String, String), String> {
    if text.starts_with(|c: char| c.is_ascii_uppercase()) {
        let (verb, rest) = text.split_once(' ').unwrap_or((text, ""));
        Ok((verb.to_string(), rest.trim_end().to_string()))
    } else {
        Err(text.to_string())
    }
}

impl Rule {
    /// The rule as one plain-English sentence: the action, the packets it
    /// applies to, and what else the target does. `-s 192.168.1.0/24 -p tcp
    /// --dport 22 -m state --state NEW -j DROP` reads "Drops TCP packets
    /// from 192.168.1.0/24 to port 22 that start a new connection." Used by
    /// the `explain` command and the web app's rules view.
    pub fn explain(&self) -> String {
        let ip = &self.ip;
        let noun = if ip.proto == 0 && !ip.proto_inv {
            "packets".to_string()
        } else {
            let p = proto_name(ip.proto)
                .map(|n| n.to_uppercase())
                .unwrap_or_else(|| format!("protocol {}", ip.proto));
            if ip.proto_inv {
                format!("non-{p} packets")
            } else if p.starts_with("protocol") {
                format!("packets of {p}")
            } else {
                format!("{p} packets")
            }
        };
        let mut conds: Vec<String> = Vec::new();
        if ip.src.mask != 0 || ip.src_inv {
            conds.push(format!("{}from {}", not(ip.src_inv), net_text(ip.src)));
        }
        if ip.dst.mask != 0 || ip.dst_inv {
            conds.push(format!("{}to {}", not(ip.dst_inv), net_text(ip.dst)));
        }
        if !ip.in_iface.is_empty() {
            conds.push(format!(
                "arriving {}on {}",
                not(ip.in_inv),
                iface_text(&ip.in_iface)
            ));
        }
        if !ip.out_iface.is_empty() {
            conds.push(format!(
                "leaving {}through {}",
                not(ip.out_inv),
                iface_text(&ip.out_iface)
            ));
        }
        if ip.frag {
            conds.push(if ip.frag_inv {
                "(first fragments and unfragmented packets only)".to_string()
            } else {
                "(second and later fragments only)".to_string()
            });
        }
        // Relative clauses ("that ...") after the others, joined by "and".
        let mut clauses: Vec<String> = Vec::new();
        for m in &self.matches {
            let phrase = match_phrase(&m.explain());
            if phrase.is_empty() {
                continue;
            }
            if phrase.starts_with("that ") || phrase.starts_with("whose ") {
                clauses.push(phrase);
            } else {
                conds.push(phrase);
            }
        }
        if !clauses.is_empty() {
            conds.push(clauses.join(" and "));
        }
        let packets = if conds.is_empty() {
            if noun == "packets" {
                "all packets".to_string()
            } else {
                format!("all {noun}")
            }
        } else {
            format!("{noun} {}", conds.join(" "))
        };
        let action: Result<(String, String), String> = match &self.target {
            RuleTarget::None => Ok((
                "Counts".into(),
                "(no target: they go on to the next rule)".into(),
            )),
            RuleTarget::Verdict(Verdict::Accept) => Ok(("Accepts".into(), String::new())),
            RuleTarget::Verdict(Verdict::Drop) => Ok(("Drops".into(), String::new())),
            RuleTarget::Verdict(Verdict::Return) => Ok((
                "Returns".into(),
                "to the calling chain (a built-in chain applies its policy)".into(),
            )),
            RuleTarget::Jump(c) => Ok((
                "Sends".into(),
                format!("to chain {c}; those it does not decide come back to the next rule"),
            )),
            RuleTarget::Goto(c) => Ok((
                "Sends".into(),
                format!("to chain {c} (goto: they do not come back to this chain)"),
            )),
            RuleTarget::Ext(t) => target_parts(&t.explain()),
        };
        match action {
            Ok((verb, rest)) => {
                let sep = if rest.is_empty() || rest.starts_with([',', ':', ';']) {
                    ""
                } else {
                    " "
                };
                format!("{verb} {packets}{sep}{rest}.")
            }
            Err(text) => {
                let mut p = packets;
                if let Some(first) = p.get(..1) {
                    p = format!("{}{}", first.to_uppercase(), &p[1..]);
                }
                format!("{p}: {text}.")
            }
        }
    }
}

impl Chain {
    /// What happens at the end of the chain.
    pub fn explain_end(&self) -> String {
        if self.is_builtin() {
            format!(
                "Packets no rule decided get the policy: {}.",
                self.policy.name()
            )
        } else {
            "Packets no rule decided return to the chain that jumped here.".to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn rule_of(args: &str) -> String {
        let mut h = Host::new("t");
        let argv: Vec<String> = format!("iptables -A INPUT {args}")
            .split_whitespace()
            .map(String::from)
            .collect();
        let out = run_argv(&mut h, &argv, None);
        assert_eq!(out.exit, 0, "{}", out.stderr);
        let t = h.ruleset.table("filter").unwrap();
        let c = t.chain("INPUT").unwrap();
        c.rules[0].explain()
    }

    #[test]
    fn sentences() {
        assert_eq!(
            rule_of("-s 192.168.1.0/24 -p tcp --dport 22 -m state --state NEW -j DROP"),
            "Drops TCP packets from 192.168.1.0/24 to port 22 that start a new connection."
        );
        assert_eq!(
            rule_of("-s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT"),
            "Accepts TCP packets from 10.0.0.0/8 to port 22."
        );
        assert_eq!(rule_of("-j DROP"), "Drops all packets.");
        assert!(rule_of("! -i eth+ -j DROP")
            .contains("arriving not on any interface whose name starts with eth"));
    }
}
