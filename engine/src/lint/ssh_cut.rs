//! `ssh-cut`: filter INPUT would drop SSH (tcp port 22) to the host from
//! the admin address: a new connection's SYN, or the packets of an
//! established session. Without an admin address: from the peers of the
//! SSH sessions the host has now (its conntrack table), else, on a host
//! listening on tcp port 22, from every other host.

use super::probe::{walk, Iface, Probe};
use super::{LintContext, Warning};
use crate::ext::conntrack::{ST_ESTABLISHED, ST_NEW};
use crate::ruleset::Table;
use crate::sim::conntrack::TcpState;
use crate::sim::host::Host;
use crate::sim::route::{is_local, lookup, source_for, Decision};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

pub fn check(host: &Host, ctx: &LintContext, out: &mut Vec<Warning>) {
    let Some(table) = host.ruleset.table("filter").filter(|t| t.exists) else {
        return;
    };
    if let Some(a) = ctx.admin {
        out.extend(cut_from(
            host,
            table,
            Some(a),
            &format!("the admin host {a}"),
        ));
        return;
    }
    // Inserted one by one: collecting into a BTreeSet sorts a Vec first,
    // one more copy of the standard sort in the web page.
    let mut peers: BTreeSet<Ipv4Addr> = BTreeSet::new();
    peers.extend(
        host.conntrack
            .iter()
            .filter(|e| {
                e.orig.proto == 6
                    && e.orig.dport == 22
                    && e.tcp == TcpState::Established
                    && !e.orig.src.is_loopback()
                    && is_local(&host.ifaces, e.orig.dst)
            })
            .map(|e| e.orig.src),
    );
    for a in &peers {
        if let Some(w) = cut_from(host, table, Some(*a), &format!("{a} (connected now)")) {
            out.push(w);
            return;
        }
    }
    if peers.is_empty() && host.listeners.iter().any(|l| l.proto == 6 && l.port == 22) {
        out.extend(cut_from(host, table, None, "every other host"));
    }
}

/// The warning when SSH from `src` (any non-local source when `None`) is
/// surely dropped or rejected by filter INPUT.
fn cut_from(host: &Host, table: &Table, src: Option<Ipv4Addr>, from: &str) -> Option<Warning> {
    let mut probe = Probe::unknown();
    probe.proto = Some(6);
    probe.dport = Some(22);
    probe.out_iface = Iface::Known(String::new());
    probe.in_iface = Iface::NotLoopback;
    if let Some(a) = src {
        probe.src = Some(a);
        probe.in_iface = match lookup(&host.ifaces, &host.routes, a) {
            Decision::Local => Iface::Known("lo".into()),
            Decision::Out { dev, .. } => Iface::Known(dev),
            Decision::Unreachable => Iface::Unknown,
        };
        probe.dst = source_for(&host.ifaces, &host.routes, a);
    }
    for (state, flags, what) in [
        (ST_NEW, SYN, "a new connection (SYN to tcp port 22)"),
        (ST_ESTABLISHED, ACK, "the packets of an established session"),
    ] {
        probe.state = Some(state);
        probe.tcp_flags = Some(flags);
        let o = walk(table, "INPUT", &probe);
        if !o.surely_dropped() {
            continue;
        }
        let first = &o.drops[0];
        let by: Vec<String> = o.drops.iter().take(3).map(|c| c.words()).collect();
        return Some(Warning {
            kind: "ssh-cut",
            table: "filter".into(),
            chain: first.chain.clone(),
            rule: first.rule,
            message: format!(
                "SSH from {from} would be cut: {what} is {} by {}",
                if o.drops.iter().all(|c| c.rejected) {
                    "rejected"
                } else {
                    "dropped"
                },
                by.join(" or ")
            ),
        });
    }
    None
}
