//! The canonical text of a rule: `iptables-save` and `iptables -S` lines.

use crate::ext::xtopt::mask_len;
use crate::netdb;
use crate::ruleset::{Chain, Net, Rule, RuleTarget};
use std::fmt::Write;

/// libxtables' `xtables_chain_protos`: protocol names iptables knows itself.
pub const CHAIN_PROTOS: &[(u8, &str)] = &[
    (6, "tcp"),
    (132, "sctp"),
    (17, "udp"),
    (136, "udplite"),
    (1, "icmp"),
    (58, "ipv6-icmp"),
    (58, "icmpv6"),
    (50, "esp"),
    (51, "ah"),
    (135, "mh"),
    (0, "all"),
];

/// Protocol name for saves and `-L`: `all` for 0, the host's protocols
/// table, then iptables' own names.
pub fn proto_name(proto: u8) -> Option<&'static str> {
    if proto == 0 {
        return Some("all");
    }
    netdb::proto_name(proto).or_else(|| {
        CHAIN_PROTOS
            .iter()
            .find(|(n, _)| *n == proto)
            .map(|(_, name)| *name)
    })
}

/// Protocol name as saves print it (the name other modules use).
pub fn proto_save_name(proto: u8) -> Option<&'static str> {
    proto_name(proto)
}

/// Protocol name in the one-line form of `-v` rule commands: only protocols
/// iptables knows itself get a name.
pub fn proto_name_brief(proto: u8) -> Option<&'static str> {
    if CHAIN_PROTOS.iter().any(|(n, _)| *n == proto) {
        proto_name(proto)
    } else {
        None
    }
}

fn save_addr(out: &mut String, letter: char, net: Net, inv: bool) {
    if net.mask == 0 && !inv && net.addr.is_unspecified() {
        return;
    }
    let mask = match mask_len(net.mask) {
        Some(l) => l.to_string(),
        None => std::net::Ipv4Addr::from(net.mask).to_string(),
    };
    let _ = write!(
        out,
        "{} -{} {}/{}",
        if inv { " !" } else { "" },
        letter,
        net.addr,
        mask
    );
}

fn save_iface(out: &mut String, letter: char, iface: &str, inv: bool) {
    if !iface.is_empty() && (iface != "+" || inv) {
        let _ = write!(out, "{} -{} {}", if inv { " !" } else { "" }, letter, iface);
    }
}

/// The part of a rule before its matches: addresses, interfaces, protocol, fragment.
fn save_ip(rule: &Rule, out: &mut String) {
    let ip = &rule.ip;
    save_addr(out, 's', ip.src, ip.src_inv);
    save_addr(out, 'd', ip.dst, ip.dst_inv);
    save_iface(out, 'i', &ip.in_iface, ip.in_inv);
    save_iface(out, 'o', &ip.out_iface, ip.out_inv);
    if ip.proto > 0 {
        if ip.proto_inv {
            out.push_str(" !");
        }
        match proto_name(ip.proto) {
            Some(n) => {
                let _ = write!(out, " -p {n}");
            }
            None => {
                let _ = write!(out, " -p {}", ip.proto);
            }
        }
    }
    if ip.frag {
        if ip.frag_inv {
            out.push_str(" !");
        }
        out.push_str(" -f");
    }
}

fn save_target(rule: &Rule, out: &mut String) {
    match &rule.target {
        RuleTarget::None => {}
        RuleTarget::Verdict(v) => {
            let _ = write!(out, " -j {}", v.name());
        }
        RuleTarget::Jump(c) => {
            let _ = write!(out, " -j {c}");
        }
        RuleTarget::Goto(c) => {
            let _ = write!(out, " -g {c}");
        }
        RuleTarget::Ext(t) => {
            let _ = write!(out, " -j {}", t.save_name());
            t.save(out);
        }
    }
}

/// Everything after `-A CHAIN`, leading space included; with `counters`,
/// ` -c PKTS BYTES` comes between the matches and the target (`iptables -S -v`).
pub fn rule_body_with(rule: &Rule, counters: bool, out: &mut String) {
    save_ip(rule, out);
    for m in &rule.matches {
        out.push_str(" -m ");
        out.push_str(m.save_name());
        m.save(out);
    }
    if counters {
        let _ = write!(out, " -c {} {}", rule.counters.packets, rule.counters.bytes);
    }
    save_target(rule, out);
}

/// Everything after `-A CHAIN` (leading space included).
pub fn rule_body(rule: &Rule, out: &mut String) {
    rule_body_with(rule, false, out);
}

/// One `-A CHAIN ...` line without its newline.
pub fn rule_line(chain: &str, rule: &Rule, counters: bool) -> String {
    let mut s = format!("-A {chain}");
    rule_body_with(rule, counters, &mut s);
    s
}

/// `-P` / `-N` line of `iptables -S`.
pub fn chain_decl_line(chain: &Chain, counters: bool) -> String {
    if chain.is_builtin() {
        let mut s = format!("-P {} {}", chain.name, chain.policy.name());
        if counters {
            let _ = write!(s, " -c {} {}", chain.counters.packets, chain.counters.bytes);
        }
        s
    } else {
        format!("-N {}", chain.name)
    }
}

/// The `*table` … `COMMIT` block of iptables-save (without the comment lines)
/// for the chains of a listing (placeholders included).
pub fn save_table(name: &str, chains: &[Chain], counters: bool, out: &mut String) {
    let _ = writeln!(out, "*{name}");
    for c in chains {
        if c.is_builtin() {
            let _ = writeln!(
                out,
                ":{} {} [{}:{}]",
                c.name,
                c.policy.name(),
                c.counters.packets,
                c.counters.bytes
            );
        } else {
            let _ = writeln!(out, ":{} - [0:0]", c.name);
        }
    }
    for c in chains {
        for r in &c.rules {
            if counters {
                let _ = write!(out, "[{}:{}] ", r.counters.packets, r.counters.bytes);
            }
            out.push_str("-A ");
            out.push_str(&c.name);
            rule_body_with(r, false, out);
            out.push('\n');
        }
    }
    out.push_str("COMMIT\n");
}
