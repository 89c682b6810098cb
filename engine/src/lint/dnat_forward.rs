//! `dnat-no-forward`: a DNAT rule reached from nat PREROUTING sends
//! connections to another host, but filter FORWARD drops every new
//! connection to that destination and port.

use super::probe::{walk, Iface, Probe};
use super::{reachable_from, rule_ref, Warning};
use crate::ext::conntrack::ST_NEW;
use crate::ext::dnat::Dnat;
use crate::ext::tcp::Tcp;
use crate::ext::udp::Udp;
use crate::ruleset::RuleTarget;
use crate::sim::host::Host;
use crate::sim::route::{is_local, lookup, Decision};

pub fn check(host: &Host, out: &mut Vec<Warning>) {
    let (Some(nat), Some(filter)) = (
        host.ruleset.table("nat").filter(|t| t.exists),
        host.ruleset.table("filter").filter(|t| t.exists),
    ) else {
        return;
    };
    let reach = reachable_from(nat, "PREROUTING");
    for chain in nat.chains.iter().filter(|c| reach.contains(&c.name)) {
        for (i, rule) in chain.rules.iter().enumerate() {
            let RuleTarget::Ext(t) = &rule.target else {
                continue;
            };
            let Some(d) = t.as_any().downcast_ref::<Dnat>() else {
                continue;
            };
            let r = &d.range;
            let (Some(ip), Some(hi)) = (r.min_ip, r.max_ip) else {
                continue;
            };
            if !r.map_ips || ip != hi || is_local(&host.ifaces, ip) {
                continue;
            }
            let mut p = Probe::unknown();
            p.dst = Some(ip);
            p.state = Some(ST_NEW);
            if !rule.ip.proto_inv && matches!(rule.ip.proto, 6 | 17) {
                p.proto = Some(rule.ip.proto);
            }
            if p.proto == Some(6) {
                p.tcp_flags = Some(0x02);
            }
            let orig_dport = rule.matches.iter().find_map(|m| {
                let any = m.as_any();
                let (range, inv) = if let Some(t) = any.downcast_ref::<Tcp>() {
                    (t.dport, t.dport_inv)
                } else {
                    let u = any.downcast_ref::<Udp>()?;
                    (u.dport, u.dport_inv)
                };
                (range.0 == range.1 && !inv).then_some(range.0)
            });
            p.dport = if r.ports {
                (r.min_port == r.max_port).then_some(r.min_port)
            } else {
                orig_dport
            };
            if rule.ip.src.mask == u32::MAX && !rule.ip.src_inv {
                p.src = Some(rule.ip.src.addr);
            }
            p.in_iface = if !rule.ip.in_iface.is_empty()
                && !rule.ip.in_inv
                && !rule.ip.in_iface.ends_with('+')
            {
                Iface::Known(rule.ip.in_iface.clone())
            } else {
                Iface::NotLoopback
            };
            p.out_iface = match lookup(&host.ifaces, &host.routes, ip) {
                Decision::Out { dev, .. } => Iface::Known(dev),
                _ => Iface::Unknown,
            };
            let o = walk(filter, "FORWARD", &p);
            if !o.surely_dropped() {
                continue;
            }
            let to = match p.dport {
                Some(port) => format!("{ip} port {port}"),
                None => ip.to_string(),
            };
            let by: Vec<String> = o.drops.iter().take(3).map(|c| c.words()).collect();
            out.push(Warning {
                kind: "dnat-no-forward",
                table: "nat".into(),
                chain: chain.name.clone(),
                rule: Some(i + 1),
                message: format!(
                    "{} sends connections to {to}, but no FORWARD rule accepts them: new \
                     connections to {to} are dropped by {}",
                    rule_ref(i + 1, rule),
                    by.join(" or ")
                ),
            });
        }
    }
}
