//! `-m rpfilter`: reverse-path filter; matches packets whose source address
//! would be routed back out of the interface they came in on.

use super::EvalCx;
use super::{CheckCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtResult};
use crate::ext_boilerplate;
use crate::ruleset::{check::hooks_outside, Hook};
use crate::sim::route;
use crate::sim::rules::Flow;
use std::net::Ipv4Addr;

const O_LOOSE: u8 = 0;
const O_VALIDMARK: u8 = 1;
const O_ACCEPT_LOCAL: u8 = 2;
const O_INVERT: u8 = 3;

pub static INFO: ExtInfo = ExtInfo {
    name: "rpfilter",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::flag("loose", O_LOOSE),
        OptSpec::flag("validmark", O_VALIDMARK),
        OptSpec::flag("accept-local", O_ACCEPT_LOCAL),
        OptSpec::flag("invert", O_INVERT),
    ],
    guided: true,
    help: concat!(
        "rpfilter match options:\n",
        "    --loose          the way back may leave by any interface\n",
        "    --validmark      look the route up with the packet's mark\n",
        "    --accept-local   let packets from a local address pass the test\n",
        "    --invert         match the packets that fail the test instead\n",
    ),
    new_match: Some(|| Box::new(Rpfilter::default())),
    new_target: None,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rpfilter {
    pub loose: bool,
    pub validmark: bool,
    pub accept_local: bool,
    pub invert: bool,
}

impl Rpfilter {
    fn words(&self, prefix: &str) -> String {
        let mut s = String::new();
        for (on, name) in [
            (self.loose, "loose"),
            (self.validmark, "validmark"),
            (self.accept_local, "accept-local"),
            (self.invert, "invert"),
        ] {
            if on {
                s.push(' ');
                s.push_str(prefix);
                s.push_str(name);
            }
        }
        s
    }
}

impl Rpfilter {
    /// The kernel's reverse path check (`rpfilter_mt` without the
    /// inversion): the route back to the source must be unicast (or local
    /// with --accept-local) and leave by the interface the packet came in
    /// on (any interface with --loose). Also says why, in words.
    fn reverse_path(&self, cx: &EvalCx) -> (bool, String) {
        let inif = cx.in_iface().unwrap_or("");
        let (src, dst) = (cx.hdr.src, cx.hdr.dst);
        if inif == "lo" {
            return (true, "it came in on lo".into());
        }
        let local_multicast = u32::from(dst) & 0xffff_ff00 == 0xe000_0000;
        if src.is_unspecified() && (dst.is_broadcast() || local_multicast) {
            return (
                true,
                "a 0.0.0.0 source talking to broadcast or local multicast".into(),
            );
        }
        // The interface a route back to `src` would use, or why there is none.
        let dev = if route::is_local(cx.ifaces, src) {
            if !self.accept_local {
                return (false, format!("{src} is an address of this host"));
            }
            cx.ifaces
                .iter()
                .find(|i| i.addrs.iter().any(|a| a.addr == src))
                .map_or("lo", |i| i.name.as_str())
                .to_string()
        } else if cx.ifaces.iter().any(|i| {
            i.addrs
                .iter()
                .any(|a| a.prefix < 31 && a.broadcast() == src)
        }) {
            return (false, format!("{src} is a broadcast address"));
        } else {
            // Through the policy rules as from lo, with the packet's mark
            // only under --validmark (`rpfilter_lookup_reverse`).
            let dst_ok = !(dst.is_multicast() || dst.is_broadcast() || dst.octets()[0] == 0);
            let flow = Flow {
                dst: src,
                src: if dst_ok { dst } else { Ipv4Addr::UNSPECIFIED },
                mark: if self.validmark { cx.pkt.meta.mark } else { 0 },
                tos: cx.hdr.tos,
                iif: "lo",
                oif: None,
            };
            match route::lookup_flow(cx.ifaces, cx.routes, cx.policy, &flow).0 {
                route::Decision::Out { dev, .. } => dev,
                _ => return (false, format!("there is no route back to {src}")),
            }
        };
        if dev == inif {
            (true, format!("the route back to {src} leaves by {dev}"))
        } else if self.loose {
            (true, format!("there is a route back to {src} (by {dev})"))
        } else {
            (
                false,
                format!("the route back to {src} leaves by {dev}, not {inif}"),
            )
        }
    }
}

impl Match for Rpfilter {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, _arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        match id {
            O_LOOSE => self.loose = true,
            O_VALIDMARK => self.validmark = true,
            O_ACCEPT_LOCAL => self.accept_local = true,
            O_INVERT => self.invert = true,
            _ => {}
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if (cx.table != "mangle" && cx.table != "raw")
            || hooks_outside(cx.hooks, &[Hook::Prerouting])
        {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(self.reverse_path(cx).0 != self.invert)
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let mut opt = String::from("-m rpfilter");
        self.save(&mut opt);
        let (ok, why) = self.reverse_path(cx);
        let verdict = if ok { "passes" } else { "fails" };
        format!("`{opt}` did not match: the reverse path check {verdict}: {why}")
    }

    fn save(&self, out: &mut String) {
        out.push_str(&self.words("--"));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" rpfilter");
        out.push_str(&self.words(""));
    }

    fn explain(&self) -> String {
        let mut s = format!(
            "Matches packets whose source {} routed back {}",
            if self.invert { "is not" } else { "is" },
            if self.loose {
                "through any interface"
            } else {
                "through the interface they arrived on"
            }
        );
        if self.accept_local {
            s.push_str(" (local source addresses pass)");
        }
        if self.validmark {
            s.push_str(" (route lookup uses the packet mark)");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, udp, why};

    #[test]
    fn reverse_path_by_the_host_routes() {
        let mut w = lab::world();
        w.plug(0, "eth1", "192.168.1.1/24", "wan").unwrap();
        sh(&mut w, 0, "iptables -t raw -A PREROUTING -m rpfilter");
        sh(
            &mut w,
            0,
            "iptables -t raw -A PREROUTING -m rpfilter --loose",
        );
        sh(
            &mut w,
            0,
            "iptables -t raw -A PREROUTING -m rpfilter --invert",
        );
        sh(
            &mut w,
            0,
            "iptables -t raw -A PREROUTING -m rpfilter --accept-local",
        );
        let count = |w: &crate::sim::world::World| lab::counts(w, "raw", "PREROUTING");
        // From the LAN on the LAN interface: fine.
        inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 0));
        assert_eq!(count(&w), vec![1, 1, 0, 1]);
        // A spoofed WAN source on the LAN interface: only --loose passes.
        inject(&mut w, udp("192.168.1.7", 1, "10.0.0.1", 2, 0));
        assert_eq!(count(&w), vec![1, 2, 1, 1]);
        assert_eq!(
            why(&w, "PREROUTING", 1),
            "`-m rpfilter` did not match: the reverse path check fails: \
             the route back to 192.168.1.7 leaves by eth1, not eth0"
        );
        // No route back at all.
        inject(&mut w, udp("8.8.8.8", 1, "10.0.0.1", 2, 0));
        assert_eq!(count(&w), vec![1, 2, 2, 1]);
        assert_eq!(
            why(&w, "PREROUTING", 2),
            "`-m rpfilter --loose` did not match: the reverse path check fails: \
             there is no route back to 8.8.8.8"
        );
        // Our own address as source: only with --accept-local. Routing then
        // drops it as a martian (no port unreachable comes back on lo), as
        // the kernel fuzzer saw the kernel do.
        inject(&mut w, udp("10.0.0.1", 1, "10.0.0.1", 2, 0));
        assert_eq!(count(&w), vec![1, 2, 3, 2]);
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn tables_hooks_and_texts() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -t raw -A PREROUTING -m rpfilter --invert --loose",
        );
        assert_eq!(out.exit, 0, "{}", out.stderr);
        assert_eq!(
            run(&mut h, "iptables -t raw -S PREROUTING").stdout,
            "-P PREROUTING ACCEPT\n-A PREROUTING -m rpfilter --loose --invert\n"
        );
        assert!(run(&mut h, "iptables -t raw -L PREROUTING")
            .stdout
            .ends_with("anywhere             rpfilter loose invert\n"));
        assert_eq!(
            run(&mut h, "iptables -t nat -A PREROUTING -m rpfilter").exit,
            4
        );
        assert_eq!(
            run(&mut h, "iptables -t mangle -A FORWARD -m rpfilter").exit,
            4
        );
        assert_eq!(run(&mut h, "iptables -A INPUT -m rpfilter").exit, 4);
    }
}
