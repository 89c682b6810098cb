//! `-j SNAT`: rewrite the source address (and port) of a new connection
//! (nat table, POSTROUTING and INPUT).

use super::dnat::{nat_check, ports_allowed, NatRange};
use super::{CheckCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target, XtResult};
use crate::ext::{EvalCx, TargetVerdict};
use crate::ext_boilerplate;
use crate::ruleset::Hook;
use crate::sim::eval::Manip;
use crate::sim::nat;

const O_TO_SRC: u8 = 1;
const O_RANDOM: u8 = 3;
const O_RANDOM_FULLY: u8 = 4;
const O_PERSISTENT: u8 = 5;

pub static INFO: ExtInfo = ExtInfo {
    name: "SNAT",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("to-source", O_TO_SRC).mand(),
        OptSpec::flag("random", O_RANDOM),
        OptSpec::flag("random-fully", O_RANDOM_FULLY),
        OptSpec::flag("persistent", O_PERSISTENT),
    ],
    guided: true,
    help: "SNAT target options:\n \
--to-source [<ipaddr>[-<ipaddr>]][:port[-port]]\n\
\t\t\t\tNew source address (range) and port (range).\n\
[--random] [--random-fully] [--persistent]\n",
    new_match: None,
    new_target: Some(|| Box::new(Snat::default())),
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snat {
    pub range: NatRange,
}

impl Target for Snat {
    fn needs_conntrack(&self) -> bool {
        true
    }
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, cx: &mut ParseCx) -> XtResult {
        match id {
            O_TO_SRC => {
                self.range
                    .parse_to(arg.unwrap_or_default(), ports_allowed(cx.proto))?;
                // The IPv4 SNAT structure has no room for the base of a
                // shifted port map: the flag stays, the base reads back as 0.
                self.range.base_port = 0;
            }
            O_RANDOM => self.range.random = true,
            O_RANDOM_FULLY => self.range.random_fully = true,
            O_PERSISTENT => self.range.persistent = true,
            _ => {}
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        nat_check(cx, &[Hook::Postrouting, Hook::Input])
    }

    fn save(&self, out: &mut String) {
        self.range.write(out, "--to-source ", "--", false);
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        self.range.write(out, "to:", "", false);
    }

    /// `xt_snat_target`: binds the new connection's source
    /// (`nf_nat_setup_info`); conntrack rewrites its packets both ways.
    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        Some(nat::setup(cx, Manip::Src, self.range.to_sim(None)))
    }

    fn keeps_bytes(&self) -> bool {
        true
    }

    fn explain(&self) -> String {
        let mut s = "Translates , giving them".to_string();
        match (self.range.addrs_text(), self.range.ports_text()) {
            (Some(a), Some(p)) => s.push_str(&format!(" source {a}, {p}")),
            (Some(a), None) => s.push_str(&format!(" source {a}")),
            (None, Some(p)) => s.push_str(&format!(" source {p}")),
            (None, None) => s.push_str(" a new source"),
        }
        s.push_str(&self.range.flags_text());
        s.push_str(" (SNAT: the connection's source is rewritten, replies are translated back)");
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
    fn flags_and_lost_shift_base() {
        let mut h = Host::new("h");
        assert_eq!(
            run(&mut h, "iptables -t nat -A POSTROUTING -j SNAT --to-source 1.1.1.1 --persistent --random-fully --random").exit,
            0
        );
        assert_eq!(
            run(
                &mut h,
                "iptables -t nat -A POSTROUTING -p tcp -j SNAT --to-source 1.1.1.1:5-6/7"
            )
            .exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -t nat -S POSTROUTING").stdout,
            "-P POSTROUTING ACCEPT\n\
-A POSTROUTING -j SNAT --to-source 1.1.1.1 --random --random-fully --persistent\n\
-A POSTROUTING -p tcp -j SNAT --to-source 1.1.1.1:5-6/0\n"
        );
        assert!(run(&mut h, "iptables -t nat -L POSTROUTING -n")
            .stdout
            .contains("to:1.1.1.1 random random-fully persistent\n"));
    }

    #[test]
    fn only_postrouting_and_input() {
        let mut h = Host::new("h");
        assert_eq!(
            run(
                &mut h,
                "iptables -t nat -A INPUT -j SNAT --to-source 1.1.1.1"
            )
            .exit,
            0
        );
        assert_eq!(
            run(
                &mut h,
                "iptables -t nat -A OUTPUT -j SNAT --to-source 1.1.1.1"
            )
            .exit,
            4
        );
        let o = run(
            &mut h,
            "iptables -t nat -A POSTROUTING -j SNAT --to-source :5",
        );
        assert_eq!(
            o.stderr,
            "iptables v1.8.9 (nf_tables): Need TCP, UDP, SCTP or DCCP with port specification\n\
Try `iptables -h' or 'iptables --help' for more information.\n"
        );
    }

    use crate::ext::targets_testkit::{ip, udp, TwoIsps};

    #[test]
    fn snat_per_uplink_and_a_full_port_range() {
        let mut n = TwoIsps::new();
        let r = n.router;
        n.rules(
            r,
            "iptables -t nat -A POSTROUTING -o wan1 -j SNAT --to-source 203.0.113.2
             iptables -t nat -A POSTROUTING -o wan2 -p udp -j SNAT --to-source 198.51.100.2:2000-2001",
        );
        n.send(n.client, udp("192.168.1.2", "8.8.8.8", 40000, 53));
        // The port is kept when it is free; the ISP's port unreachable
        // comes back to the client.
        assert_eq!(n.got(n.isp1)[0].src, ip("203.0.113.2"));
        assert_eq!(n.got(n.isp1)[0].ports(), Some((40000, 53)));
        let back = n.got(n.client);
        let inner = back[0].icmp().unwrap().inner.clone().unwrap();
        assert_eq!(
            (back[0].dst, inner.src),
            (ip("192.168.1.2"), ip("192.168.1.2"))
        );
        // Two ports for three flows to the same place: the third is dropped.
        let mut ports = Vec::new();
        for sport in [41000, 41001, 41002] {
            n.send(n.client, udp("192.168.1.2", "9.9.9.9", sport, 53));
            ports.extend(n.got(n.isp2).iter().map(|h| h.ports().unwrap().0));
        }
        crate::sort::sort(&mut ports);
        assert_eq!(ports, vec![2000, 2001]);
        assert!(n
            .w
            .reports
            .iter()
            .any(|r| r.outcome == "dropped on router in POSTROUTING"));
    }

    #[test]
    fn the_source_address_from_a_range_is_the_kernels_hash() {
        let mut n = TwoIsps::new();
        let r = n.router;
        n.rules(
            r,
            "iptables -t nat -A POSTROUTING -o wan1 -j SNAT --to-source 203.0.113.10-203.0.113.20",
        );
        n.send(n.client, udp("192.168.1.2", "8.8.8.8", 40000, 53));
        let first = n.got(n.isp1)[0].src;
        assert!(first >= ip("203.0.113.10") && first <= ip("203.0.113.20"));
        // Same client, same server: the same address every time.
        n.send(n.client, udp("192.168.1.2", "8.8.8.8", 40001, 53));
        assert_eq!(n.got(n.isp1)[0].src, first);
    }
}
