//! Routing: the local table (the host's own addresses), the main table
//! (connected, static and default routes) and, through the policy rules of
//! [`super::rules`], any other table; longest prefix first within a table.

use super::iface::Iface;
use super::rules::{self, Flow, Policy};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// A route of the main table (`ip route add NET/LEN [via GW] dev IF`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub dst: Ipv4Addr,
    pub prefix: u8,
    pub via: Option<Ipv4Addr>,
    pub dev: String,
    /// Added by an address on the interface (`proto kernel scope link`).
    pub connected: bool,
}

impl Route {
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        let m = crate::ext::xtopt::prefix_mask(self.prefix);
        u32::from(a) & m == u32::from(self.dst) & m
    }
}

/// Where routing sends a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// To this host.
    Local,
    /// Out of `dev`, to `next_hop` on that link.
    Out { dev: String, next_hop: Ipv4Addr },
    /// No route to host.
    Unreachable,
}

/// The main table: routes including the connected ones derived from the
/// interfaces' addresses.
pub fn all_routes(ifaces: &[Iface], routes: &[Route]) -> Vec<Route> {
    let mut v: Vec<Route> = ifaces
        .iter()
        .filter(|i| i.up && !i.is_loopback())
        .flat_map(|i| {
            i.addrs.iter().map(move |a| Route {
                dst: a.network(),
                prefix: a.prefix,
                via: None,
                dev: i.name.clone(),
                connected: true,
            })
        })
        .collect();
    v.extend(routes.iter().cloned());
    v
}

/// Whether `a` is one of the host's addresses (the local table).
pub fn is_local(ifaces: &[Iface], a: Ipv4Addr) -> bool {
    a.is_loopback() || ifaces.iter().any(|i| i.addrs.iter().any(|x| x.addr == a))
}

/// Whether `a` is a broadcast address of one of the host's networks. The
/// network's own address is not one: Linux 6.x keeps no broadcast route for
/// it in the local table, so it is routed as unicast.
pub fn is_broadcast(ifaces: &[Iface], a: Ipv4Addr) -> bool {
    a.is_broadcast()
        || ifaces
            .iter()
            .any(|i| i.addrs.iter().any(|x| x.prefix < 31 && x.broadcast() == a))
}

/// The all-hosts group every multicast-capable interface joins.
pub const ALL_HOSTS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);

/// Whether the host's interface `dev` is a member of multicast group
/// `group` (`ip_check_mc_rcu`): every interface but `lo` joins 224.0.0.1,
/// and no socket of the lab joins any other group.
pub fn is_member(ifaces: &[Iface], dev: &str, group: Ipv4Addr) -> bool {
    group == ALL_HOSTS && ifaces.iter().any(|i| i.name == dev && !i.is_loopback())
}

/// Whether a packet to `dst` is for all hosts of the segment it crosses
/// (a broadcast, or multicast to a group `dev` joined): routing gives it
/// a local type (`RTN_BROADCAST`, `RTN_MULTICAST` with `RTCF_LOCAL`).
pub fn is_for_all(ifaces: &[Iface], dev: &str, dst: Ipv4Addr) -> bool {
    is_broadcast(ifaces, dst) || (dst.is_multicast() && is_member(ifaces, dev, dst))
}

/// Why `ip_route_input` drops a packet that arrived on a wire before any
/// routing (`martian source` / `martian destination`), with the default
/// `route_localnet=0` and `accept_local=0`: a multicast, limited broadcast,
/// `0.0.0.0/8`, loopback or own address as source; `0.0.0.0/8` or
/// loopback as destination. Only `0.0.0.0 -> 255.255.255.255` style
/// limited broadcasts may come from nowhere.
pub fn martian(ifaces: &[Iface], src: Ipv4Addr, dst: Ipv4Addr) -> Option<&'static str> {
    martian_of(ifaces, src, dst, 0)
}

/// [`martian`] for a packet of IP protocol `proto`. To a multicast group
/// (`ip_route_input_mc`) a source in `0.0.0.0/8` is fine for a
/// link-local group (224.0.0.0/24) or IGMP.
pub fn martian_of(
    ifaces: &[Iface],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
) -> Option<&'static str> {
    let zeronet = |a: Ipv4Addr| a.octets()[0] == 0;
    if src.is_multicast() || src.is_broadcast() {
        return Some("martian source");
    }
    if dst.is_multicast() {
        let link_local = dst.octets()[..3] == [224, 0, 0];
        let refused = if zeronet(src) {
            !link_local && proto != 2
        } else {
            src.is_loopback() || is_local(ifaces, src)
        };
        return refused.then_some("martian source");
    }
    if dst.is_broadcast() || (src.is_unspecified() && dst.is_unspecified()) {
        // Limited broadcast: only a source of our own is refused.
        return (!src.is_unspecified() && is_local(ifaces, src)).then_some("martian source");
    }
    if zeronet(src) {
        return Some("martian source");
    }
    if zeronet(dst) || dst.is_loopback() {
        return Some("martian destination");
    }
    if is_local(ifaces, src) {
        return Some("martian source");
    }
    None
}

/// Looks up the route for a destination in the local and main tables
/// only, ignoring policy rules (for lookups that model the kernel's own
/// main-table view, and hosts whose rules were never changed).
pub fn lookup(ifaces: &[Iface], routes: &[Route], dst: Ipv4Addr) -> Decision {
    if is_local(ifaces, dst) {
        return Decision::Local;
    }
    best_route(ifaces, true, routes, dst, None).unwrap_or(Decision::Unreachable)
}

/// The longest-prefix route of one table to `dst` (with the connected
/// routes of the interfaces for main), `None` when the table has none;
/// with `oif`, only the routes out of that interface count.
fn best_route(
    ifaces: &[Iface],
    connected: bool,
    routes: &[Route],
    dst: Ipv4Addr,
    oif: Option<&str>,
) -> Option<Decision> {
    // The routes of `all_routes` in order, without making them: the
    // longest prefix wins, connected before static, the last of equals.
    type Best<'a> = Option<((u8, bool), &'a str, Option<Ipv4Addr>)>;
    fn consider<'a>(
        best: &mut Best<'a>,
        ifaces: &[Iface],
        key: (u8, bool),
        dev: &'a str,
        via: Option<Ipv4Addr>,
    ) {
        if best.is_none_or(|(k, _, _)| key >= k) && ifaces.iter().any(|i| i.name == dev && i.up) {
            *best = Some((key, dev, via));
        }
    }
    let wanted = |dev: &str| oif.is_none_or(|o| o == dev);
    let mut best: Best = None;
    if connected {
        for i in ifaces
            .iter()
            .filter(|i| i.up && !i.is_loopback() && wanted(&i.name))
        {
            for a in &i.addrs {
                let m = crate::ext::xtopt::prefix_mask(a.prefix);
                if u32::from(dst) & m == u32::from(a.network()) & m {
                    consider(&mut best, ifaces, (a.prefix, true), &i.name, None);
                }
            }
        }
    }
    for r in routes.iter().filter(|r| r.contains(dst) && wanted(&r.dev)) {
        consider(&mut best, ifaces, (r.prefix, r.connected), &r.dev, r.via);
    }
    match best {
        // Multicast goes straight onto the link even when only a default
        // route covers it: no gateway (`__mkroute_output`, prefix < 4).
        Some(((prefix, _), dev, _)) if dst.is_multicast() && prefix < 4 => Some(Decision::Out {
            dev: dev.to_string(),
            next_hop: dst,
        }),
        Some((_, dev, via)) => Some(Decision::Out {
            dev: dev.to_string(),
            next_hop: via.unwrap_or(dst),
        }),
        None => None,
    }
}

/// The route of one table (`None`: the table has none, the lookup goes on
/// with the next rule).
pub fn lookup_table(
    ifaces: &[Iface],
    routes: &[Route],
    policy: &Policy,
    table: u32,
    flow: &Flow,
) -> Option<Decision> {
    let dst = flow.dst;
    match table {
        rules::TABLE_MAIN => best_route(ifaces, true, routes, dst, flow.oif),
        // Bound to an interface, only its own addresses are local.
        rules::TABLE_LOCAL
            if is_local(ifaces, dst)
                && flow.oif.is_none_or(|o| {
                    ifaces
                        .iter()
                        .any(|i| i.name == o && (i.addrs.iter().any(|a| a.addr == dst)))
                }) =>
        {
            Some(Decision::Local)
        }
        t => best_route(ifaces, false, policy.tables.get(&t)?, dst, flow.oif),
    }
}

/// `fib_lookup` with policy rules: walks the rules in order and takes the
/// first table that has a route. Returns the decision and its table
/// (0 when unreachable). With the rules never changed and nothing in the
/// default table this is the plain local + main lookup.
pub fn lookup_flow(
    ifaces: &[Iface],
    routes: &[Route],
    policy: &Policy,
    flow: &Flow,
) -> (Decision, u32) {
    if policy.is_plain() && flow.oif.is_none() {
        let d = lookup(ifaces, routes, flow.dst);
        let table = match d {
            Decision::Local => rules::TABLE_LOCAL,
            Decision::Out { .. } => rules::TABLE_MAIN,
            Decision::Unreachable => 0,
        };
        return (d, table);
    }
    for r in policy.rules.iter().filter(|r| r.matches(flow)) {
        if let Some(d) = lookup_table(ifaces, routes, policy, r.table, flow) {
            return (d, r.table);
        }
    }
    // Bound to an interface with no route out of it: assume the
    // destination is on its link.
    match flow.oif {
        Some(o) if ifaces.iter().any(|i| i.name == o && i.up) => (
            Decision::Out {
                dev: o.to_string(),
                next_hop: flow.dst,
            },
            rules::TABLE_MAIN,
        ),
        _ => (Decision::Unreachable, 0),
    }
}

/// The route of a locally generated packet: its device and the next hop
/// on that link (`lo` and the destination itself for this host, the
/// destination itself for a broadcast); `None` when there is no route.
pub fn local_out(
    ifaces: &[Iface],
    routes: &[Route],
    policy: &Policy,
    flow: &Flow,
) -> Option<(String, Ipv4Addr)> {
    match lookup_flow(ifaces, routes, policy, flow).0 {
        Decision::Local => Some(("lo".to_string(), flow.dst)),
        Decision::Out { dev, .. } if is_broadcast(ifaces, flow.dst) => Some((dev, flow.dst)),
        Decision::Out { dev, next_hop } => Some((dev, next_hop)),
        Decision::Unreachable => None,
    }
}

/// `inet_select_addr`: the address of `dev` on the next hop's network, else
/// its first address.
pub fn source_on(ifaces: &[Iface], dev: &str, next_hop: Ipv4Addr) -> Option<Ipv4Addr> {
    let iface = ifaces.iter().find(|i| i.name == dev)?;
    iface
        .addrs
        .iter()
        .find(|a| a.contains(next_hop))
        .or(iface.addrs.first())
        .map(|a| a.addr)
}

/// The source address the host picks for a destination (`ip route get`).
pub fn source_for(ifaces: &[Iface], routes: &[Route], dst: Ipv4Addr) -> Option<Ipv4Addr> {
    match lookup(ifaces, routes, dst) {
        Decision::Local => Some(if dst.is_loopback() {
            Ipv4Addr::LOCALHOST
        } else {
            dst
        }),
        Decision::Out { dev, .. } => {
            let iface = ifaces.iter().find(|i| i.name == dev)?;
            iface
                .addrs
                .iter()
                .find(|a| a.contains(dst))
                .or(iface.addrs.first())
                .map(|a| a.addr)
        }
        Decision::Unreachable => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::iface::IfAddr;

    fn eth(name: &str, a: [u8; 4], p: u8) -> Iface {
        Iface {
            name: name.into(),
            mac: [2, 0, 0, 0, 0, 1],
            addrs: vec![IfAddr {
                addr: Ipv4Addr::from(a),
                prefix: p,
            }],
            up: true,
            link: Some(0),
            mtu: 1500,
        }
    }

    #[test]
    fn martians_are_refused_before_routing() {
        let ifs = vec![Iface::loopback(), eth("eth0", [10, 0, 0, 1], 24)];
        let a = |x: [u8; 4]| Ipv4Addr::from(x);
        let ok = a([10, 0, 0, 9]);
        assert_eq!(martian(&ifs, ok, a([10, 0, 0, 1])), None);
        assert_eq!(martian(&ifs, ok, a([10, 0, 0, 255])), None);
        for src in [
            [0, 0, 0, 0],
            [127, 0, 0, 1],
            [10, 0, 0, 1],
            [224, 0, 0, 5],
            [255; 4],
        ] {
            assert_eq!(
                martian(&ifs, a(src), a([10, 0, 0, 1])),
                Some("martian source"),
                "{src:?}"
            );
        }
        assert_eq!(
            martian(&ifs, ok, a([127, 0, 0, 1])),
            Some("martian destination")
        );
        assert_eq!(
            martian(&ifs, ok, a([0, 1, 2, 3])),
            Some("martian destination")
        );
        // To the all-hosts group from nowhere (a host without an address yet).
        assert_eq!(martian(&ifs, a([0, 0, 0, 0]), ALL_HOSTS), None);
        assert_eq!(
            martian(&ifs, a([0, 0, 0, 0]), a([239, 1, 1, 1])),
            Some("martian source")
        );
        assert_eq!(
            martian_of(&ifs, a([0, 0, 0, 0]), a([239, 1, 1, 1]), 2),
            None
        );
        assert_eq!(
            martian(&ifs, a([10, 0, 0, 1]), ALL_HOSTS),
            Some("martian source")
        );
        // DHCP-style limited broadcast from nowhere is fine.
        assert_eq!(martian(&ifs, a([0, 0, 0, 0]), a([255; 4])), None);
        assert_eq!(
            martian(&ifs, a([10, 0, 0, 1]), a([255; 4])),
            Some("martian source")
        );
    }

    #[test]
    fn longest_prefix_and_default() {
        let ifs = vec![
            Iface::loopback(),
            eth("eth0", [10, 0, 0, 1], 24),
            eth("eth1", [192, 168, 1, 1], 24),
        ];
        let routes = vec![Route {
            dst: Ipv4Addr::UNSPECIFIED,
            prefix: 0,
            via: Some(Ipv4Addr::new(192, 168, 1, 254)),
            dev: "eth1".into(),
            connected: false,
        }];
        assert_eq!(
            lookup(&ifs, &routes, Ipv4Addr::new(10, 0, 0, 1)),
            Decision::Local
        );
        assert_eq!(
            lookup(&ifs, &routes, Ipv4Addr::new(10, 0, 0, 9)),
            Decision::Out {
                dev: "eth0".into(),
                next_hop: Ipv4Addr::new(10, 0, 0, 9)
            }
        );
        assert_eq!(
            lookup(&ifs, &routes, Ipv4Addr::new(8, 8, 8, 8)),
            Decision::Out {
                dev: "eth1".into(),
                next_hop: Ipv4Addr::new(192, 168, 1, 254)
            }
        );
        assert_eq!(
            lookup(&ifs, &[], Ipv4Addr::new(8, 8, 8, 8)),
            Decision::Unreachable
        );
        assert_eq!(
            source_for(&ifs, &routes, Ipv4Addr::new(8, 8, 8, 8)),
            Some(Ipv4Addr::new(192, 168, 1, 1))
        );
        // A multicast group leaves by the default route's device, to no gateway.
        assert_eq!(
            lookup(&ifs, &routes, Ipv4Addr::new(224, 0, 0, 1)),
            Decision::Out {
                dev: "eth1".into(),
                next_hop: Ipv4Addr::new(224, 0, 0, 1)
            }
        );
    }
}
