//! `nat-unused-iface`: a MASQUERADE or SNAT rule limited to `-o IFACE`
//! where no interface has that name, or no route of the host sends
//! packets out of it: the rule never applies.

use super::{rule_ref, Warning};
use crate::ruleset::RuleTarget;
use crate::sim::host::Host;
use crate::sim::route::all_routes;

fn fits(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('+') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

pub fn check(host: &Host, out: &mut Vec<Warning>) {
    let Some(nat) = host.ruleset.table("nat").filter(|t| t.exists) else {
        return;
    };
    let routes = all_routes(&host.ifaces, &host.routes);
    for chain in &nat.chains {
        for (i, rule) in chain.rules.iter().enumerate() {
            let RuleTarget::Ext(t) = &rule.target else {
                continue;
            };
            let what = match t.save_name() {
                "MASQUERADE" => "masquerades",
                "SNAT" => "translates the source of",
                _ => continue,
            };
            let o = &rule.ip.out_iface;
            if o.is_empty() || rule.ip.out_inv {
                continue;
            }
            let why = if !host.ifaces.iter().any(|i| fits(o, &i.name)) {
                format!("this host has no interface {o}")
            } else if !routes.iter().any(|r| fits(o, &r.dev)) {
                format!("no route of this host uses {o}, so no packet leaves through it")
            } else {
                continue;
            };
            out.push(Warning {
                kind: "nat-unused-iface",
                table: "nat".into(),
                chain: chain.name.clone(),
                rule: Some(i + 1),
                message: format!(
                    "{} {what} packets leaving through {o}, but {why}: the rule never applies",
                    rule_ref(i + 1, rule)
                ),
            });
        }
    }
}
