//! `no-established`: a filter INPUT, FORWARD or OUTPUT chain that drops by
//! default (policy DROP, or a DROP/REJECT-everything rule) and accepts some
//! traffic, but no rule accepts packets of ESTABLISHED connections before
//! the default drop: the replies to what it lets through are dropped too.

use super::probe::{walk, Iface, Probe};
use super::Warning;
use crate::ext::conntrack::ST_ESTABLISHED;
use crate::sim::host::Host;

pub fn check(host: &Host, out: &mut Vec<Warning>) {
    let Some(table) = host.ruleset.table("filter").filter(|t| t.exists) else {
        return;
    };
    for chain in ["INPUT", "FORWARD", "OUTPUT"] {
        let mut probe = Probe::unknown();
        probe.state = Some(ST_ESTABLISHED);
        match chain {
            "INPUT" => probe.out_iface = Iface::Known(String::new()),
            "OUTPUT" => probe.in_iface = Iface::Known(String::new()),
            _ => {}
        }
        let o = walk(table, chain, &probe);
        if o.unknown || o.accepts.is_empty() || o.accepts.iter().any(|c| c.names_state) {
            continue;
        }
        let Some(default) = o.drops.iter().find(|c| c.default) else {
            continue;
        };
        let how = match default.rule {
            None => "its policy DROP".to_string(),
            Some(n) => format!("rule {n} ({})", default.text),
        };
        let lost = match chain {
            "INPUT" => "answers to the connections this host opens",
            "OUTPUT" => "this host's answers to the connections it accepts",
            _ => "answers to the connections it forwards",
        };
        out.push(Warning {
            kind: "no-established",
            table: "filter".into(),
            chain: chain.into(),
            rule: default.rule,
            message: format!(
                "{chain} drops by default ({how}) and no rule accepts packets of ESTABLISHED \
                 connections before that: {lost} are dropped unless another rule happens to \
                 accept them (add e.g. `-I {chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`)"
            ),
        });
    }
}
