//! `iptables-save` and `iptables -S` text: the canonical form of a rule.

use crate::ext::xtopt::mask_len;
use crate::netdb;
use crate::ruleset::{Chain, Net, Rule, RuleTarget, Table};
use std::fmt::Write;

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

/// Protocol name as iptables prints it in saves (`xtables_chain_protos`, then numbers).
pub fn proto_save_name(proto: u8) -> Option<&'static str> {
    Some(match proto {
        6 => "tcp",
        17 => "udp",
        136 => "udplite",
        1 => "icmp",
        58 => "ipv6-icmp",
        50 => "esp",
        51 => "ah",
        132 => "sctp",
        135 => "mh",
        0 => "all",
        33 => "dccp",
        _ => return netdb::proto_name(proto),
    })
}

/// Protocol name for `-L`: none with `-n` (the number is printed).
pub fn proto_list_name(proto: u8, numeric: bool) -> Option<&'static str> {
    if numeric {
        None
    } else {
        proto_save_name(proto)
    }
}

/// Everything after `-A CHAIN` (leading space included).
pub fn rule_body(rule: &Rule, out: &mut String) {
    let ip = &rule.ip;
    save_addr(out, 's', ip.src, ip.src_inv);
    save_addr(out, 'd', ip.dst, ip.dst_inv);
    save_iface(out, 'i', &ip.in_iface, ip.in_inv);
    save_iface(out, 'o', &ip.out_iface, ip.out_inv);
    if ip.proto > 0 {
        if ip.proto_inv {
            out.push_str(" !");
        }
        match proto_save_name(ip.proto) {
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
    for m in &rule.matches {
        let _ = write!(out, " -m {}", m.save_name());
        m.save(out);
    }
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

/// One `-A CHAIN ...` line; with `counters`, `-S -v` puts ` -c P B` at the end.
pub fn rule_line(chain: &str, rule: &Rule, counters: bool) -> String {
    let mut s = format!("-A {chain}");
    rule_body(rule, &mut s);
    if counters {
        let _ = write!(s, " -c {} {}", rule.counters.packets, rule.counters.bytes);
    }
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

/// The `*table` … `COMMIT` block of iptables-save (without the comment lines).
pub fn save_table(table: &Table, counters: bool, out: &mut String) {
    let _ = writeln!(out, "*{}", table.name);
    for c in &table.chains {
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
    for c in &table.chains {
        for r in &c.rules {
            if counters {
                let _ = write!(out, "[{}:{}] ", r.counters.packets, r.counters.bytes);
            }
            out.push_str(&rule_line(&c.name, r, false));
            out.push('\n');
        }
    }
    out.push_str("COMMIT\n");
}
