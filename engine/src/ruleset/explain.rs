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

/// A match's own phrase as it follows "packets". Texts written as a
/// statement are made to fit: "Matches when X" and "packets that X" lose
/// their first words, "the packet is X" becomes "when the packet is X".
fn match_phrase(text: &str) -> String {
    let t = text.trim();
    for lead in ["Matches packets ", "Matches ", "packets "] {
        if let Some(rest) = t.strip_prefix(lead) {
            return rest.to_string();
        }
    }
    if t.starts_with("the ") {
        return format!("when {t}");
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

/// Adds a condition; a port after the address on the same side joins it
/// ("to 10.0.0.1" and "to port 80" make "to 10.0.0.1 port 80").
fn add_condition(conds: &mut Vec<String>, phrase: String) {
    for side in ["from ", "to "] {
        let Some(port) = phrase.strip_prefix(side) else {
            continue;
        };
        if !(port.starts_with("port ") || port.starts_with("ports ")) {
            continue;
        }
        if let Some(addr) = conds.iter_mut().find(|c| {
            c.starts_with(side)
                && !c.contains(" port")
                && c.as_bytes().get(side.len()).is_some_and(u8::is_ascii_digit)
        }) {
            addr.push(' ');
            addr.push_str(port);
            return;
        }
    }
    conds.push(phrase);
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
                .map(|n| n.to_ascii_uppercase())
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
        // Relative clauses ("that ...") after the others, joined by "and".
        // Conditions in time or rate ("while ...", "when ...") last.
        let mut clauses: Vec<String> = Vec::new();
        let mut last: Vec<String> = Vec::new();
        for m in &self.matches {
            let phrase = match_phrase(&m.explain());
            if phrase.is_empty() {
                continue;
            }
            if phrase.starts_with("that ") || phrase.starts_with("whose ") {
                clauses.push(phrase);
            } else if phrase.starts_with("while ")
                || phrase.starts_with("when ")
                || phrase.starts_with('(')
            {
                last.push(phrase);
            } else {
                add_condition(&mut conds, phrase);
            }
        }
        let mut via: Vec<String> = Vec::new();
        if !ip.in_iface.is_empty() {
            via.push(format!(
                "arriving {}on {}",
                not(ip.in_inv),
                iface_text(&ip.in_iface)
            ));
        }
        if !ip.out_iface.is_empty() {
            via.push(format!(
                "leaving {}through {}",
                not(ip.out_inv),
                iface_text(&ip.out_iface)
            ));
        }
        if !via.is_empty() {
            conds.push(via.join(" and "));
        }
        if ip.frag {
            conds.push(if ip.frag_inv {
                "(first fragments and unfragmented packets only)".to_string()
            } else {
                "(second and later fragments only)".to_string()
            });
        }
        if !clauses.is_empty() {
            // "that A and B": one "that" for all.
            let first_that = clauses[0].starts_with("that ");
            let joined: Vec<&str> = clauses
                .iter()
                .enumerate()
                .map(|(i, c)| match c.strip_prefix("that ") {
                    Some(rest) if i > 0 && first_that => rest,
                    _ => c.as_str(),
                })
                .collect();
            conds.push(joined.join(" and "));
        }
        if !last.is_empty() {
            conds.push(last.join(", "));
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
                    p = format!("{}{}", first.to_ascii_uppercase(), &p[1..]);
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
        // FORWARD has both interfaces; INPUT none out.
        let chain = if args.contains("-o ") {
            "FORWARD"
        } else {
            "INPUT"
        };
        let mut h = Host::new("t");
        let argv: Vec<String> = format!("iptables -A {chain} {args}")
            .split_whitespace()
            .map(String::from)
            .collect();
        let out = run_argv(&mut h, &argv, None);
        assert_eq!(out.exit, 0, "{}", out.stderr);
        let t = h.ruleset.table("filter").unwrap();
        let c = t.chain(chain).unwrap();
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

    /// The field guide's examples read as sentences.
    #[test]
    fn guide_examples() {
        for (args, want) in [
            (
                "-i eth0 -p tcp --syn -s 192.168.10.1 -j ACCEPT",
                "Accepts TCP packets from 192.168.10.1 arriving on eth0 that open a connection \
                 (SYN set; ACK, RST and FIN clear).",
            ),
            (
                "-p tcp --tcp-flags syn,ack,rst,fin syn,ack -j LOG",
                "Logs TCP packets with SYN,ACK set and FIN,RST clear to the kernel log \
                 (level warn) and lets them go on to the next rule.",
            ),
            (
                "-p icmp --icmp-type echo-request -m limit --limit 1/sec --limit-burst 7 -j ACCEPT",
                "Accepts ICMP packets of type echo-request while they arrive at most 1/sec on \
                 average (after a first burst of 7).",
            ),
            (
                "! -s 192.168.1.50 -p tcp --dport 443 -j DROP",
                "Drops TCP packets not from 192.168.1.50 to port 443.",
            ),
            (
                "-d 80.0.0.1 -p tcp --dport 80 -j DROP",
                "Drops TCP packets to 80.0.0.1 port 80.",
            ),
            (
                "-p tcp -m multiport --dports 80,443 -j ACCEPT",
                "Accepts TCP packets to ports 80, 443.",
            ),
            (
                "-m state --state ESTABLISHED,RELATED -j ACCEPT",
                "Accepts packets that belong to an established connection or are related to a \
                 known connection.",
            ),
            (
                "-m conntrack --ctstate INVALID -j DROP",
                "Drops packets that are invalid (no known connection fits them).",
            ),
            (
                "-p tcp --dport 22 -s 192.168.0.20 -j REJECT",
                "Rejects TCP packets from 192.168.0.20 to port 22, answering the sender with an \
                 ICMP \"port unreachable\" error.",
            ),
            (
                "-p tcp --dport 22 --syn -j LOG --log-prefix incoming-ssh: --log-level info",
                "Logs TCP packets to port 22 that open a connection (SYN set; ACK, RST and FIN \
                 clear) to the kernel log (level info, prefix \"incoming-ssh:\") and lets them \
                 go on to the next rule.",
            ),
            (
                "-i eth0 -o eth1 -p tcp -d 80.0.0.1 -j TEE --gateway 10.0.0.10",
                "Copies TCP packets to 80.0.0.1 arriving on eth0 and leaving through eth1 to \
                 gateway 10.0.0.10 (the originals go on to the next rule).",
            ),
            (
                "-m recent --name badguys --update --seconds 60 -j DROP",
                "Drops packets whose source address is on the recent list \"badguys\", seen in \
                 the last 60 seconds (its last-seen time is then refreshed).",
            ),
            (
                "-p tcp --dport 22 -m time --timestart 10:00 --timestop 15:00 -j ACCEPT",
                "Accepts TCP packets to port 22 between 10:00:00 and 15:00:00 (UTC).",
            ),
            ("-p tcp -j RETURN", "Returns all TCP packets to the calling chain (a built-in chain applies its policy)."),
            ("-p udp", "Counts all UDP packets (no target: they go on to the next rule)."),
            ("-f -j DROP", "Drops packets (second and later fragments only)."),
        ] {
            assert_eq!(rule_of(args), want, "{args}");
        }
    }
}
