//! `-j MASQUERADE`: source NAT to the address of the outgoing interface,
//! forgotten when the interface goes down (nat table, POSTROUTING only).

use super::dnat::{nat_check, ports_allowed, NatRange};
use super::{CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtResult};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;
use crate::ruleset::Hook;
use crate::sim::eval::Manip;
use crate::sim::iface::Iface;
use crate::sim::nat;
use crate::sim::route::{self, Decision};
use crate::sim::rules::Flow;
use std::net::Ipv4Addr;

const O_TO_PORTS: u8 = 2;
const O_RANDOM: u8 = 3;
const O_RANDOM_FULLY: u8 = 4;

pub static INFO: ExtInfo = ExtInfo {
    name: "MASQUERADE",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("to-ports", O_TO_PORTS),
        OptSpec::flag("random", O_RANDOM),
        OptSpec::flag("random-fully", O_RANDOM_FULLY),
    ],
    guided: true,
    help: "MASQUERADE target options:\n \
--to-ports <port>[-<port>]\n\
\t\t\t\tSource port (range) to use.\n \
--random\n\
\t\t\t\tPick source ports at random.\n \
--random-fully\n\
\t\t\t\tPick source ports fully at random.\n",
    new_match: None,
    new_target: Some(|| Box::new(Masquerade::default())),
};

/// `inet_select_addr(dev, dst, RT_SCOPE_UNIVERSE)` on one interface: the
/// first primary address of the interface on the destination's subnet,
/// else its first primary address. An address is secondary when an earlier
/// one has the same prefix and subnet; 127/8 addresses have host scope and
/// do not count.
pub fn select_addr(iface: &Iface, dst: Ipv4Addr) -> Option<Ipv4Addr> {
    select_addr_for(iface, || dst)
}

/// [`select_addr`], asking for the destination only when the interface has
/// more than one primary address to choose from (finding it takes a
/// route lookup).
fn select_addr_for(iface: &Iface, dst: impl FnOnce() -> Ipv4Addr) -> Option<Ipv4Addr> {
    let primary = |n: &usize| {
        let a = &iface.addrs[*n];
        !a.addr.is_loopback()
            && !iface.addrs[..*n]
                .iter()
                .any(|b| b.prefix == a.prefix && b.contains(a.addr))
    };
    let mut prim = (0..iface.addrs.len()).filter(primary);
    let first = prim.next()?;
    let Some(second) = prim.next() else {
        return Some(iface.addrs[first].addr);
    };
    let dst = dst();
    let on_subnet = [first, second]
        .into_iter()
        .chain(prim)
        .find(|&n| iface.addrs[n].contains(dst));
    Some(iface.addrs[on_subnet.unwrap_or(first)].addr)
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Masquerade {
    pub range: NatRange,
}

impl Target for Masquerade {
    fn needs_conntrack(&self) -> bool {
        true
    }
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, cx: &mut ParseCx) -> XtResult {
        match id {
            O_TO_PORTS => {
                self.range
                    .parse_ports(arg.unwrap_or_default(), ports_allowed(cx.proto))?;
                // As for SNAT, the base of a shifted port map is not kept.
                self.range.base_port = 0;
            }
            O_RANDOM => self.range.random = true,
            O_RANDOM_FULLY => self.range.random_fully = true,
            _ => {}
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        nat_check(cx, &[Hook::Postrouting])
    }

    fn save(&self, out: &mut String) {
        self.range.write(out, "--to-ports ", "--", true);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        self.range.write(out, "masq ports: ", "", true);
    }

    /// `nf_nat_masquerade_ipv4`: source NAT to the outgoing interface's
    /// address for the next hop (`inet_select_addr`); no NAT for a
    /// connection from 0.0.0.0; DROP when the interface has no address.
    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        if cx.ct_entry().is_some_and(|e| e.orig.src.is_unspecified()) {
            return Some(TargetVerdict::Accept);
        }
        // The gateway of the route the packet got: looked up again the way
        // routing did (rules with its mark and input interface); when that
        // leaves by another interface the destination stands in for it.
        let next_hop = || {
            let flow = Flow {
                dst: cx.hdr.dst,
                src: cx.hdr.src,
                mark: cx.pkt.meta.mark,
                tos: cx.hdr.tos,
                iif: cx.in_iface().unwrap_or("lo"),
                oif: None,
            };
            match route::lookup_flow(cx.ifaces, cx.routes, cx.policy, &flow).0 {
                Decision::Out { next_hop, dev } if cx.out_iface() == Some(dev.as_str()) => next_hop,
                _ => cx.hdr.dst,
            }
        };
        let iface = cx
            .out_iface()
            .and_then(|o| cx.ifaces.iter().find(|i| i.name == o));
        // With none on the interface (lo), the first interface's that has
        // one (`inet_select_addr` walks every device then).
        let Some(src) = iface
            .and_then(|i| select_addr_for(i, next_hop))
            .or_else(|| {
                cx.ifaces
                    .iter()
                    .find_map(|i| select_addr(i, Ipv4Addr::UNSPECIFIED))
            })
        else {
            return Some(TargetVerdict::Drop);
        };
        Some(nat::setup(cx, Manip::Src, self.range.to_sim(Some(src))))
    }

    fn keeps_bytes(&self) -> bool {
        true
    }

    fn explain(&self) -> String {
        let mut s =
            "Masquerades , giving them the address of the outgoing interface as source".to_string();
        if let Some(p) = self.range.ports_text() {
            s.push_str(&format!(" and {p} as source port"));
        }
        s.push_str(&self.range.flags_text());
        s.push_str(" (replies are translated back)");
        s
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn the_destination_is_looked_for_only_among_several_primaries() {
        use super::select_addr_for;
        use crate::sim::iface::{IfAddr, Iface};
        let addr = |a: [u8; 4], prefix| IfAddr {
            addr: a.into(),
            prefix,
        };
        let mut i = Iface::loopback();
        i.name = "eth0".into();
        // 127/8 does not count; one primary: no route lookup needed.
        i.addrs = vec![addr([127, 0, 0, 5], 8), addr([10, 0, 0, 1], 24)];
        let asked = std::cell::Cell::new(false);
        let dst = || {
            asked.set(true);
            std::net::Ipv4Addr::new(192, 168, 1, 9)
        };
        assert_eq!(select_addr_for(&i, dst), Some([10, 0, 0, 1].into()));
        assert!(!asked.get());
        // A secondary (same subnet as an earlier one) is no choice either.
        i.addrs.push(addr([10, 0, 0, 2], 24));
        assert_eq!(select_addr_for(&i, dst), Some([10, 0, 0, 1].into()));
        assert!(!asked.get());
        // Two primaries: the one on the destination's subnet, else the first.
        i.addrs.push(addr([192, 168, 1, 1], 24));
        assert_eq!(select_addr_for(&i, dst), Some([192, 168, 1, 1].into()));
        assert!(asked.get());
        let far = || std::net::Ipv4Addr::new(8, 8, 8, 8);
        assert_eq!(select_addr_for(&i, far), Some([10, 0, 0, 1].into()));
        i.addrs.truncate(1);
        assert_eq!(select_addr_for(&i, far), None);
    }

    #[test]
    fn ports_and_listing() {
        let mut h = Host::new("h");
        assert_eq!(
            run(
                &mut h,
                "iptables -t nat -A POSTROUTING -p udp -j MASQUERADE --to-ports 7-8 --random-fully"
            )
            .exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -t nat -S POSTROUTING").stdout,
            "-P POSTROUTING ACCEPT\n-A POSTROUTING -p udp -j MASQUERADE --to-ports 7-8 --random-fully\n"
        );
        assert!(run(&mut h, "iptables -t nat -L POSTROUTING").stdout.contains(
            "MASQUERADE  udp  --  anywhere             anywhere             masq ports: 7-8 random-fully\n"
        ));
        let o = run(
            &mut h,
            "iptables -t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 5:6",
        );
        assert!(o.stderr.contains("Invalid port:port syntax - use dash\n"));
        assert_eq!(
            run(&mut h, "iptables -t nat -A OUTPUT -j MASQUERADE").exit,
            4
        );
    }

    use super::select_addr;
    use crate::ext::targets_testkit::{ip, ping, udp, TwoIsps};
    use crate::sim::iface::{IfAddr, Iface};

    #[test]
    fn each_uplink_gets_its_own_address() {
        let mut n = TwoIsps::new();
        let r = n.router;
        n.rules(
            r,
            "iptables -t nat -A POSTROUTING -o wan1 -j MASQUERADE
             iptables -t nat -A POSTROUTING -o wan2 -j MASQUERADE",
        );
        n.send(n.client, ping("192.168.1.2", "8.8.8.8", 5));
        assert_eq!(n.got(n.isp1)[0].src, ip("203.0.113.2"));
        let back = n.got(n.client);
        assert_eq!(
            (back[0].src, back[0].dst),
            (ip("8.8.8.8"), ip("192.168.1.2"))
        );
        n.send(n.client, ping("192.168.1.2", "9.9.9.9", 6));
        assert_eq!(n.got(n.isp2)[0].src, ip("198.51.100.2"));
        assert_eq!(n.got(n.client)[0].src, ip("9.9.9.9"));
    }

    #[test]
    fn to_ports_and_the_address_for_the_next_hop() {
        let mut n = TwoIsps::new();
        let r = n.router;
        n.rules(
            r,
            "iptables -t nat -A POSTROUTING -o wan1 -p udp -j MASQUERADE --to-ports 5000-5010",
        );
        n.send(n.client, udp("192.168.1.2", "8.8.8.8", 40000, 53));
        let p = n.got(n.isp1)[0].ports().unwrap().0;
        assert!((5000..=5010).contains(&p));
        // inet_select_addr: the primary address on the next hop's subnet;
        // an address in the subnet of an earlier one is secondary.
        let a = |s: &str, p: u8| IfAddr {
            addr: ip(s),
            prefix: p,
        };
        let i = Iface {
            name: "wan".into(),
            mac: [0; 6],
            addrs: vec![a("10.0.0.5", 24), a("10.0.0.6", 24), a("100.64.0.5", 10)],
            up: true,
            link: None,
            mtu: 1500,
        };
        assert_eq!(select_addr(&i, ip("100.64.9.9")), Some(ip("100.64.0.5")));
        assert_eq!(select_addr(&i, ip("10.0.0.6")), Some(ip("10.0.0.5")));
        assert_eq!(select_addr(&i, ip("1.2.3.4")), Some(ip("10.0.0.5")));
        let none = Iface { addrs: vec![], ..i };
        assert_eq!(select_addr(&none, ip("1.2.3.4")), None);
    }
}
