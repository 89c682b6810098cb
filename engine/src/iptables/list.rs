//! `iptables -L` output: chain headers, columns and rule lines exactly as
//! iptables-nft 1.8.9 prints them, and the one-line form `-v` rule commands print.

use super::addr::{addr_to_anyname, mask_to_numeric};
use super::save::{proto_name, proto_name_brief};
use crate::ruleset::{Chain, Net, Rule, RuleTarget};
use std::fmt::Write;
use std::net::Ipv4Addr;

/// Reverse lookup of an address to a host name.
pub type Reverse<'a> = &'a dyn Fn(Ipv4Addr) -> Option<String>;

/// How to print (`-n`, `-v`, `-x`, `--line-numbers`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Format {
    pub numeric: bool,
    pub verbose: bool,
    pub expanded: bool,
    pub line_numbers: bool,
}

/// `xtables_print_num` in a table: exact (`-x`) or scaled to K/M/G/T.
pub fn print_num(out: &mut String, n: u64, fmt: Format) {
    if fmt.expanded {
        let _ = write!(out, "{n:>8} ");
        return;
    }
    if n <= 99999 {
        let _ = write!(out, "{n:>5} ");
        return;
    }
    // C unsigned arithmetic: the rounding may wrap around.
    let mut n = n.wrapping_add(500) / 1000;
    for unit in ['K', 'M', 'G'] {
        if n <= 9999 {
            let _ = write!(out, "{n:>4}{unit} ");
            return;
        }
        n = n.wrapping_add(500) / 1000;
    }
    let _ = write!(out, "{n:>4}T ");
}

/// Numbers in the policy header (`FMT_NOTABLE`): no padding.
fn print_num_notab(out: &mut String, n: u64, fmt: Format) {
    let mut s = String::new();
    print_num(&mut s, n, fmt);
    out.push_str(s.trim_start());
}

fn addr_text(net: Net, numeric: bool, reverse: Reverse) -> String {
    if net.mask == 0 && !numeric {
        return "anywhere".to_string();
    }
    let name = if numeric {
        net.addr.to_string()
    } else {
        addr_to_anyname(net.addr, reverse)
    };
    format!("{name}{}", mask_to_numeric(net.mask))
}

/// `Chain NAME (policy P)` / `(N references)` and the column titles.
pub fn header(out: &mut String, chain: &Chain, refs: usize, fmt: Format) {
    let _ = write!(out, "Chain {}", chain.name);
    if chain.is_builtin() {
        let _ = write!(out, " (policy {}", chain.policy.name());
        if fmt.verbose {
            out.push(' ');
            print_num_notab(out, chain.counters.packets, fmt);
            out.push_str("packets, ");
            print_num_notab(out, chain.counters.bytes, fmt);
            out.push_str("bytes");
        }
        out.push_str(")\n");
    } else {
        let _ = writeln!(out, " ({refs} references)");
    }
    if fmt.line_numbers {
        let _ = write!(out, "{:<4} ", "num");
    }
    if fmt.verbose {
        if fmt.expanded {
            let _ = write!(out, "{:>8} {:>10} ", "pkts", "bytes");
        } else {
            let _ = write!(out, "{:>5} {:>5} ", "pkts", "bytes");
        }
    }
    let _ = write!(out, "{:<9} ", "target");
    out.push_str(" prot opt");
    if fmt.verbose {
        let _ = write!(out, " {:<6} {:<6} ", "in", "out");
    }
    let _ = writeln!(out, " {:<19}  {:<19} ", "source", "destination");
}

fn iface(name: &str, inv: bool, numeric: bool) -> String {
    let shown = if !name.is_empty() {
        name
    } else if numeric {
        "*"
    } else {
        "any"
    };
    format!("{}{shown}", if inv { "!" } else { "" })
}

/// Match and target texts after the addresses.
fn details(out: &mut String, rule: &Rule, numeric: bool) {
    if let RuleTarget::Goto(_) = rule.target {
        out.push_str("[goto] ");
    }
    for m in &rule.matches {
        m.print(out, numeric);
    }
    if let RuleTarget::Ext(t) = &rule.target {
        t.print(out, numeric);
    }
}

/// One rule line of `iptables -L`.
pub fn rule_line(out: &mut String, num: usize, rule: &Rule, fmt: Format, reverse: Reverse) {
    let ip = &rule.ip;
    if fmt.line_numbers {
        let _ = write!(out, "{num:<4} ");
    }
    if fmt.verbose {
        print_num(out, rule.counters.packets, fmt);
        print_num(out, rule.counters.bytes, fmt);
    }
    let _ = write!(out, "{:<9} ", rule.target.list_name());
    out.push(if ip.proto_inv { '!' } else { ' ' });
    match (fmt.numeric, proto_name(ip.proto)) {
        (false, Some(n)) => {
            let _ = write!(out, "{n:<4} ");
        }
        _ => {
            let _ = write!(out, "{:<4} ", ip.proto);
        }
    }
    out.push(if ip.frag_inv { '!' } else { '-' });
    out.push(if ip.frag { 'f' } else { '-' });
    out.push(' ');
    if fmt.verbose {
        let _ = write!(
            out,
            " {:<6} {:<6} ",
            iface(&ip.in_iface, ip.in_inv, fmt.numeric),
            iface(&ip.out_iface, ip.out_inv, fmt.numeric)
        );
    }
    out.push(if ip.src_inv { '!' } else { ' ' });
    let _ = write!(out, "{:<19} ", addr_text(ip.src, fmt.numeric, reverse));
    out.push(if ip.dst_inv { '!' } else { ' ' });
    let _ = write!(out, "{:<19} ", addr_text(ip.dst, fmt.numeric, reverse));
    details(out, rule, fmt.numeric);
    out.push('\n');
}

/// A chain with its header and rules.
pub fn chain(out: &mut String, chain: &Chain, refs: usize, fmt: Format, reverse: Reverse) {
    header(out, chain, refs, fmt);
    for (i, r) in chain.rules.iter().enumerate() {
        rule_line(out, i + 1, r, fmt, reverse);
    }
}

/// The one-line form of a rule that `-v` rule commands and
/// `iptables-restore -v` print.
pub fn verbose_line(rule: &Rule) -> String {
    let ip = &rule.ip;
    let mut out = String::new();
    let _ = write!(out, "{} ", rule.target.list_name());
    out.push(if ip.proto_inv { '!' } else { ' ' });
    match proto_name_brief(ip.proto) {
        Some(n) => {
            let _ = write!(out, "{n} ");
        }
        None => {
            let _ = write!(out, "{} ", ip.proto);
        }
    }
    out.push_str("opt ");
    out.push(if ip.frag_inv { '!' } else { '-' });
    out.push(if ip.frag { 'f' } else { '-' });
    out.push(' ');
    let _ = write!(
        out,
        "in {} out {} ",
        iface(&ip.in_iface, ip.in_inv, true),
        iface(&ip.out_iface, ip.out_inv, true)
    );
    out.push(if ip.src_inv { '!' } else { ' ' });
    let _ = write!(out, "{}{} ", ip.src.addr, mask_to_numeric(ip.src.mask));
    out.push(if ip.dst_inv { '!' } else { ' ' });
    let _ = write!(out, "-> {}{}", ip.dst.addr, mask_to_numeric(ip.dst.mask));
    out.push_str("  ");
    details(&mut out, rule, true);
    out.push('\n');
    out
}
