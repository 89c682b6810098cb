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
        Some(prefix) => format!("an interface whose name starts with {prefix}"),
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

impl Rule {
    /// The conditions, then the action: "Packets from 10.0.0.0/8, TCP to
    /// port 22: accept them."
    pub fn explain(&self) -> String {
        let ip = &self.ip;
        let mut conds: Vec<String> = Vec::new();
        if ip.proto != 0 {
            let p = proto_name(ip.proto)
                .map(|n| n.to_uppercase())
                .unwrap_or_else(|| format!("protocol {}", ip.proto));
            conds.push(format!("{}{p}", if ip.proto_inv { "not " } else { "" }));
        }
        if ip.src.mask != 0 || ip.src_inv {
            conds.push(format!("from {}{}", not(ip.src_inv), net_text(ip.src)));
        }
        if ip.dst.mask != 0 || ip.dst_inv {
            conds.push(format!("to {}{}", not(ip.dst_inv), net_text(ip.dst)));
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
                "first fragments and unfragmented packets only".to_string()
            } else {
                "second and later fragments only".to_string()
            });
        }
        for m in &self.matches {
            conds.push(m.explain());
        }
        let action = match &self.target {
            RuleTarget::None => "only count them (no target)".to_string(),
            RuleTarget::Verdict(Verdict::Accept) => "accept them".to_string(),
            RuleTarget::Verdict(Verdict::Drop) => "drop them silently".to_string(),
            RuleTarget::Verdict(Verdict::Return) => {
                "return to the calling chain (or apply the policy of a built-in chain)".to_string()
            }
            RuleTarget::Jump(c) => {
                format!("jump to chain {c}, and come back here if it does not decide")
            }
            RuleTarget::Goto(c) => {
                format!("go to chain {c}; its end decides as if this chain ended")
            }
            RuleTarget::Ext(t) => t.explain(),
        };
        if conds.is_empty() {
            format!("Every packet: {action}.")
        } else {
            format!("Packets {}: {action}.", conds.join(", "))
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
            rule_of("-s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT"),
            "Packets TCP, from 10.0.0.0/8, TCP to port 22: accept them."
        );
        assert_eq!(rule_of("-j DROP"), "Every packet: drop them silently.");
        assert!(rule_of("! -i eth+ -j DROP")
            .contains("arriving not on an interface whose name starts with eth"));
    }
}
