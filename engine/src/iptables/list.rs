//! `iptables -L` output: chain headers, columns and rule lines exactly as
//! iptables-nft 1.8.9 prints them.

use super::save::proto_list_name;
use crate::ext::xtopt::mask_len;
use crate::ruleset::{Chain, Net, Rule, RuleTarget, Table};
use crate::sim::host::Host;
use std::fmt::Write;

/// How to print (`-n`, `-v`, `-x`, `--line-numbers`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Format {
    pub numeric: bool,
    pub verbose: bool,
    pub expanded: bool,
    pub line_numbers: bool,
}

/// `xtables_print_num` with a tab-aligned layout.
pub fn print_num(out: &mut String, n: u64, fmt: Format) {
    if fmt.expanded {
        let _ = write!(out, "{n:>8} ");
        return;
    }
    if n <= 99999 {
        let _ = write!(out, "{n:>5} ");
        return;
    }
    let mut n = n.saturating_add(500) / 1000;
    for unit in ['K', 'M', 'G'] {
        if n <= 9999 {
            let _ = write!(out, "{n:>4}{unit} ");
            return;
        }
        n = n.saturating_add(500) / 1000;
    }
    let _ = write!(out, "{n:>4}T ");
}

fn mask_suffix(mask: u32) -> String {
    if mask == u32::MAX {
        return String::new();
    }
    match mask_len(mask) {
        Some(l) => format!("/{l}"),
        None => format!("/{}", std::net::Ipv4Addr::from(mask)),
    }
}

fn addr_text(net: Net, fmt: Format, host: &Host) -> String {
    if net.mask == 0 && !fmt.numeric {
        return "anywhere".to_string();
    }
    let name = if fmt.numeric {
        None
    } else {
        host.names
            .iter()
            .find(|(_, addrs)| addrs.contains(&net.addr))
            .map(|(n, _)| n.clone())
    };
    format!(
        "{}{}",
        name.unwrap_or_else(|| net.addr.to_string()),
        mask_suffix(net.mask)
    )
}

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

/// Numbers in the policy header (`FMT_NOTABLE`): no padding.
fn print_num_notab(out: &mut String, n: u64, fmt: Format) {
    let mut s = String::new();
    print_num(&mut s, n, fmt);
    out.push_str(s.trim_start());
}

pub fn rule_line(out: &mut String, num: usize, rule: &Rule, fmt: Format, host: &Host) {
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
    match proto_list_name(ip.proto, fmt.numeric) {
        Some(n) => {
            let _ = write!(out, "{n:<4} ");
        }
        None => {
            let _ = write!(out, "{:<4} ", ip.proto);
        }
    }
    out.push(if ip.frag_inv { '!' } else { '-' });
    out.push(if ip.frag { 'f' } else { '-' });
    out.push(' ');
    if fmt.verbose {
        let any = if fmt.numeric { "*" } else { "any" };
        let iface = |name: &str, inv: bool| {
            format!(
                "{}{}",
                if inv { "!" } else { "" },
                if name.is_empty() { any } else { name }
            )
        };
        let _ = write!(
            out,
            " {:<6} {:<6} ",
            iface(&ip.in_iface, ip.in_inv),
            iface(&ip.out_iface, ip.out_inv)
        );
    }
    out.push(if ip.src_inv { '!' } else { ' ' });
    let _ = write!(out, "{:<19} ", addr_text(ip.src, fmt, host));
    out.push(if ip.dst_inv { '!' } else { ' ' });
    let _ = write!(out, "{:<19} ", addr_text(ip.dst, fmt, host));
    if let RuleTarget::Goto(_) = rule.target {
        out.push_str("[goto] ");
    }
    for m in &rule.matches {
        m.print(out, fmt.numeric);
    }
    if let RuleTarget::Ext(t) = &rule.target {
        t.print(out, fmt.numeric);
    }
    out.push('\n');
}

/// `iptables -L [chain [rulenum]]`. `None` when the chain does not exist.
pub fn list(
    table: &Table,
    chain: Option<&str>,
    rulenum: Option<u32>,
    fmt: Format,
    host: &Host,
) -> Option<String> {
    let mut out = String::new();
    if let Some(name) = chain {
        let c = table.chain(name)?;
        if let Some(n) = rulenum {
            if let Some(r) = c.rules.get(n as usize - 1) {
                rule_line(&mut out, n as usize, r, fmt, host);
            }
            return Some(out);
        }
        header(&mut out, c, table.references(&c.name), fmt);
        for (i, r) in c.rules.iter().enumerate() {
            rule_line(&mut out, i + 1, r, fmt, host);
        }
        return Some(out);
    }
    for (ci, c) in table.chains.iter().enumerate() {
        if ci > 0 {
            out.push('\n');
        }
        header(&mut out, c, table.references(&c.name), fmt);
        for (i, r) in c.rules.iter().enumerate() {
            rule_line(&mut out, i + 1, r, fmt, host);
        }
    }
    Some(out)
}

/// The one-line form iptables-restore `-v` prints for each rule
/// (`FMT_NOTABLE | FMT_NUMERIC | FMT_VIA`).
pub fn verbose_line(rule: &Rule) -> String {
    let ip = &rule.ip;
    let mut out = String::new();
    let _ = write!(out, "{} ", rule.target.list_name());
    out.push(if ip.proto_inv { '!' } else { ' ' });
    match proto_list_name(ip.proto, true) {
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
    let iface = |name: &str, inv: bool| {
        format!(
            "{}{}",
            if inv { "!" } else { "" },
            if name.is_empty() { "*" } else { name }
        )
    };
    let _ = write!(
        out,
        "in {} out {} ",
        iface(&ip.in_iface, ip.in_inv),
        iface(&ip.out_iface, ip.out_inv)
    );
    out.push(if ip.src_inv { '!' } else { ' ' });
    let _ = write!(out, "{}{} ", ip.src.addr, mask_suffix(ip.src.mask));
    out.push(if ip.dst_inv { '!' } else { ' ' });
    let _ = write!(out, "-> {}{}", ip.dst.addr, mask_suffix(ip.dst.mask));
    out.push_str("  ");
    if let RuleTarget::Goto(_) = rule.target {
        out.push_str("[goto] ");
    }
    for m in &rule.matches {
        m.print(&mut out, true);
    }
    if let RuleTarget::Ext(t) = &rule.target {
        t.print(&mut out, true);
    }
    out.push('\n');
    out
}
