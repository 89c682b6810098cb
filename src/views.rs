//! What the views show, computed from engine state: the rows of the rules
//! view (as `iptables -L -v` prints them), the hooks × tables grid of the
//! trace stepper, and packet headers and trace events in words.

use engine::iptables::list::{self, Format};
use engine::packet::{tcp_flags, Headers, L4};
use engine::ruleset::{table_hooks, Chain, Hook, Table};
use engine::sim::host::Host;
use engine::sim::trace::{Event, Step};
use std::collections::HashMap;

/// Tables in the order their chains run at a hook (iptables-nft priorities).
pub const TABLES_BY_PRIORITY: [&str; 5] = ["raw", "mangle", "nat", "filter", "security"];

/// A chain of a table's listing: a real chain (index in `Table::chains`) or
/// the placeholder of a built-in chain the table does not have yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainRef {
    Real(usize),
    Placeholder(Hook),
}

/// One row of the rules view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// `Chain INPUT (policy ACCEPT 0 packets, 0 bytes)`.
    Title(ChainRef),
    /// The column titles.
    Columns(ChainRef),
    /// Rule `n` (0-based) of the chain.
    Rule(ChainRef, usize),
    /// The blank line between chains.
    Blank,
}

/// The rows of a table as `iptables -L -v` lists it, and each chain's references.
pub struct TableRows {
    pub rows: Vec<Row>,
    pub refs: HashMap<String, usize>,
}

/// Rows of a table (cheap: no rule is printed here).
pub fn table_rows(table: &Table) -> TableRows {
    let mut refs: HashMap<String, usize> = HashMap::new();
    for c in &table.chains {
        for r in &c.rules {
            if let Some(t) = r.target.chain() {
                *refs.entry(t.to_string()).or_default() += 1;
            }
        }
    }
    let mut order: Vec<ChainRef> = Vec::new();
    for h in table.hooks() {
        match table.chains.iter().position(|c| c.hook == Some(*h)) {
            Some(i) => order.push(ChainRef::Real(i)),
            None => order.push(ChainRef::Placeholder(*h)),
        }
    }
    order.extend(
        table
            .chains
            .iter()
            .enumerate()
            .filter(|(_, c)| c.hook.is_none())
            .map(|(i, _)| ChainRef::Real(i)),
    );
    let mut rows = Vec::new();
    for (k, c) in order.iter().enumerate() {
        if k > 0 {
            rows.push(Row::Blank);
        }
        rows.push(Row::Title(*c));
        rows.push(Row::Columns(*c));
        if let ChainRef::Real(i) = c {
            for n in 0..table.chains[*i].rules.len() {
                rows.push(Row::Rule(*c, n));
            }
        }
    }
    TableRows { rows, refs }
}

/// The chain a reference stands for.
pub fn chain_of(table: &Table, c: ChainRef) -> std::borrow::Cow<'_, Chain> {
    match c {
        ChainRef::Real(i) => std::borrow::Cow::Borrowed(&table.chains[i]),
        ChainRef::Placeholder(h) => {
            let mut ch = Chain::builtin(h);
            ch.fake = true;
            std::borrow::Cow::Owned(ch)
        }
    }
}

fn fmt() -> Format {
    Format {
        numeric: false,
        verbose: true,
        expanded: false,
        line_numbers: false,
    }
}

/// The text of one row, exactly as `iptables -L -v` prints that line.
pub fn row_text(host: &Host, table: &Table, rows: &TableRows, row: Row) -> String {
    let reverse = |a| engine::iptables::exec::reverse_name(host, a);
    let mut s = String::new();
    match row {
        Row::Blank => {}
        Row::Title(c) | Row::Columns(c) => {
            let ch = chain_of(table, c);
            let refs = rows.refs.get(&ch.name).copied().unwrap_or(0);
            list::header(&mut s, &ch, refs, fmt());
            let mut lines = s.lines();
            let first = lines.next().unwrap_or("").to_string();
            let second = lines.next().unwrap_or("").to_string();
            return if matches!(row, Row::Title(_)) {
                first
            } else {
                second
            };
        }
        Row::Rule(c, n) => {
            let ch = chain_of(table, c);
            if let Some(r) = ch.rules.get(n) {
                list::rule_line(&mut s, n + 1, r, fmt(), &reverse);
            }
        }
    }
    s.trim_end_matches('\n').to_string()
}

/// The plain-English meaning of a row (rules and chain titles).
pub fn row_explain(table: &Table, row: Row) -> Option<String> {
    match row {
        Row::Rule(c, n) => chain_of(table, c).rules.get(n).map(|r| r.explain()),
        Row::Title(c) => Some(chain_of(table, c).explain_end()),
        _ => None,
    }
}

/// The lint warnings about a row: a rule's (by table, chain and number) or a
/// chain title's (warnings about the chain or its policy).
pub fn row_warnings<'a>(
    table: &Table,
    row: Row,
    warnings: &'a [engine::lint::Warning],
) -> Vec<&'a engine::lint::Warning> {
    let (c, rule) = match row {
        Row::Rule(c, n) => (c, Some(n + 1)),
        Row::Title(c) => (c, None),
        _ => return Vec::new(),
    };
    let chain = chain_of(table, c);
    warnings
        .iter()
        .filter(|w| w.table == table.name && w.chain == chain.name && w.rule == rule)
        .collect()
}

/// Where a warning is: `filter INPUT rule 3`, `nat POSTROUTING`.
pub fn warning_place(w: &engine::lint::Warning) -> String {
    match w.rule {
        Some(n) => format!("{} {} rule {n}", w.table, w.chain),
        None => format!("{} {}", w.table, w.chain),
    }
}

/// Whether the table has a chain at this hook.
pub fn table_at_hook(table: &str, hook: Hook) -> bool {
    table_hooks(table).is_some_and(|h| h.contains(&hook))
}

/// `TCP 10.0.0.1:40000 > 10.0.0.2:22 [S] ttl 64 len 60`.
pub fn headers_text(h: &Headers) -> String {
    let tail = format!("ttl {} len {}", h.ttl, h.total_len);
    match &h.l4 {
        L4::Tcp(t) => {
            let mut f = String::new();
            for (bit, c) in [
                (tcp_flags::SYN, 'S'),
                (tcp_flags::ACK, 'A'),
                (tcp_flags::FIN, 'F'),
                (tcp_flags::RST, 'R'),
                (tcp_flags::PSH, 'P'),
                (tcp_flags::URG, 'U'),
                (tcp_flags::ECE, 'E'),
                (tcp_flags::CWR, 'C'),
            ] {
                if t.flags & bit != 0 {
                    f.push(c);
                }
            }
            format!(
                "TCP {}:{} > {}:{} [{f}] {tail}",
                h.src, t.sport, h.dst, t.dport
            )
        }
        L4::Udp(u) => format!("UDP {}:{} > {}:{} {tail}", h.src, u.sport, h.dst, u.dport),
        L4::Icmp(i) => {
            let what = match (i.icmp_type, i.code) {
                (8, _) => format!("echo request id {} seq {}", i.id(), i.seq()),
                (0, _) => format!("echo reply id {} seq {}", i.id(), i.seq()),
                (3, c) => format!("destination unreachable (code {c})"),
                (11, _) => "time exceeded".to_string(),
                (t, c) => format!("type {t} code {c}"),
            };
            format!("ICMP {} > {} {what} {tail}", h.src, h.dst)
        }
        L4::Other | L4::Fragment => {
            format!("IP {} > {} proto {} {tail}", h.src, h.dst, h.proto)
        }
    }
}

/// An event in words.
pub fn event_text(e: &Event) -> String {
    match e {
        Event::Log { host, line } => format!("{host}: log: {line}"),
        Event::Emitted {
            host,
            what,
            headers,
        } => format!("{host} sent {what}: {}", headers_text(headers)),
        Event::Conntrack { host, entry } => format!("{host}: new conntrack entry {entry}"),
        Event::Delivered { host, to } => format!("{host}: delivered to {to}"),
        Event::Sent { host, iface } => format!("{host}: sent out {iface}"),
        Event::Dropped { host, reason } => format!("{host}: dropped: {reason}"),
        Event::Routed { host, decision } => format!("{host}: routing: {decision}"),
    }
}

/// A step in words: where, which rule, and what came of it.
pub fn step_text(s: &Step) -> String {
    let at = match s.rule {
        Some(n) => format!("{} {} {} rule {n}", s.host, s.table, s.chain),
        None => format!("{} {} {} policy", s.host, s.table, s.chain),
    };
    let result = if s.matched { "matched" } else { "no match" };
    match &s.verdict {
        Some(v) => format!("{at}: {result} → {v}"),
        None => format!("{at}: {result}"),
    }
}

/// The headers a packet has just before step `i` of its trace (the start
/// headers with every rewrite of earlier steps applied).
pub fn headers_before(start: Option<&Headers>, steps: &[Step], i: usize) -> Option<Headers> {
    let mut h = start.cloned();
    for s in steps.iter().take(i) {
        if let Some(r) = &s.rewritten {
            h = Some(r.clone());
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Session;

    #[test]
    fn rows_print_like_list_v() {
        let mut s = Session::new(crate::labs::DEFAULT_LAB).unwrap();
        s.submit_line(1, "iptables -N LOGDROP");
        s.submit_line(1, "iptables -A INPUT -p tcp --dport 22 -j LOGDROP");
        s.submit_line(1, "iptables -L -v");
        let host = &s.world.hosts[1];
        let t = host.ruleset.table("filter").unwrap();
        let rows = table_rows(t);
        let texts: Vec<String> = rows
            .rows
            .iter()
            .map(|r| row_text(host, t, &rows, *r))
            .collect();
        let printed: Vec<String> = s.terms[1]
            .lines
            .iter()
            .skip_while(|l| !l.text.ends_with("iptables -L -v"))
            .skip(1)
            .map(|l| l.text.clone())
            .collect();
        assert_eq!(texts, printed);
        assert!(row_explain(t, rows.rows[2]).unwrap().contains("LOGDROP"));
    }

    #[test]
    fn lint_warnings_land_on_their_rows() {
        let mut s = Session::new(crate::labs::DEFAULT_LAB).unwrap();
        s.submit_line(1, "iptables -A INPUT -j ACCEPT");
        s.submit_line(1, "iptables -A INPUT -p tcp --dport 22 -j DROP");
        s.submit_line(1, "iptables -N UNUSED");
        s.submit_line(1, "iptables -A UNUSED -j ACCEPT");
        let warnings = crate::adapter::lint(&s.world, 1).unwrap();
        let host = &s.world.hosts[1];
        let t = host.ruleset.table("filter").unwrap();
        let rows = table_rows(t);
        let on = |want: &str| -> Vec<String> {
            rows.rows
                .iter()
                .filter(|r| row_text(host, t, &rows, **r).contains(want))
                .flat_map(|r| row_warnings(t, *r, &warnings))
                .map(|w| w.kind.to_string())
                .collect()
        };
        // The DROP after an ACCEPT of everything is shadowed; the ACCEPT is fine.
        assert_eq!(on("DROP       tcp"), vec!["shadowed"], "{warnings:?}");
        assert!(on("ACCEPT     all").iter().all(|k| k != "shadowed"));
        assert!(
            on("Chain UNUSED").contains(&"unreachable-chain".to_string()),
            "{warnings:?}"
        );
        let sh = warnings.iter().find(|w| w.kind == "shadowed").unwrap();
        assert_eq!(warning_place(sh), "filter INPUT rule 2");
    }
}
