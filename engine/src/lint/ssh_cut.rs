//! `ssh-cut`: filter INPUT would drop SSH (tcp port 22) to the host from
//! the admin address: a new connection's SYN, or the packets of an
//! established session. Without an admin address, the question is whether
//! SSH is cut from every source, asked only of a host that listens on
//! tcp port 22.

use super::probe::{walk, Iface, Probe};
use super::{LintContext, Warning};
use crate::ext::conntrack::{ST_ESTABLISHED, ST_NEW};
use crate::sim::host::Host;
use crate::sim::route::{lookup, source_for, Decision};

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

pub fn check(host: &Host, ctx: &LintContext, out: &mut Vec<Warning>) {
    let Some(table) = host.ruleset.table("filter").filter(|t| t.exists) else {
        return;
    };
    let mut probe = Probe::unknown();
    probe.proto = Some(6);
    probe.dport = Some(22);
    probe.out_iface = Iface::Known(String::new());
    let from = match ctx.admin {
        Some(a) => {
            probe.src = Some(a);
            probe.in_iface = match lookup(&host.ifaces, &host.routes, a) {
                Decision::Local => Iface::Known("lo".into()),
                Decision::Out { dev, .. } => Iface::Known(dev),
                Decision::Unreachable => Iface::Unknown,
            };
            probe.dst = source_for(&host.ifaces, &host.routes, a);
            format!("the admin host {a}")
        }
        None => {
            let listens = host.listeners.iter().any(|l| l.proto == 6 && l.port == 22);
            if !listens {
                return;
            }
            probe.in_iface = Iface::NotLoopback;
            "every other host".to_string()
        }
    };
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
        out.push(Warning {
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
        return;
    }
}
