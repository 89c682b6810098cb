//! `-m pkttype --pkt-type TYPE`: the link-layer packet type (unicast to
//! this host, broadcast, multicast, or unicast to another host).

use super::xtopt;
use super::{EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

const O_TYPE: u8 = 0;

pub static INFO: ExtInfo = ExtInfo {
    name: "pkttype",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[OptSpec::arg("pkt-type", O_TYPE).mand().inv()],
    guided: true,
    help: "pkttype match options:
[!] --pkt-type packettype    match this packet type
Valid packet types:
        unicast                 to this host
        broadcast               to all hosts
        multicast               to a group
        otherhost               to another host\n",
    new_match: Some(|| Box::new(Pkttype::default())),
    new_target: None,
};

/// Linux `PACKET_*` numbers.
pub const HOST: u8 = 0;
pub const BROADCAST: u8 = 1;
pub const MULTICAST: u8 = 2;
pub const OTHERHOST: u8 = 3;

/// Names (the first for a number is the one printed) and aliases.
const NAMES: [(&str, u8); 7] = [
    ("unicast", HOST),
    ("broadcast", BROADCAST),
    ("multicast", MULTICAST),
    ("otherhost", OTHERHOST),
    ("bcast", BROADCAST),
    ("mcast", MULTICAST),
    ("host", HOST),
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pkttype {
    pub pkttype: u8,
    pub inv: bool,
}

impl Pkttype {
    fn name(&self) -> String {
        NAMES
            .iter()
            .find(|(_, t)| *t == self.pkttype)
            .map(|(n, _)| n.to_string())
            .unwrap_or_else(|| self.pkttype.to_string())
    }
}

impl Match for Pkttype {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, _id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        self.pkttype = NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(arg))
            .map(|(_, t)| *t)
            .ok_or_else(|| XtError::new(format!("Bad packet type '{arg}'")))?;
        self.inv = inv;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(&format!(" --pkt-type {}", self.name()));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(&format!(
            " PKTTYPE {} {}",
            if self.inv { "!=" } else { "=" },
            self.name()
        ));
    }

    fn explain(&self) -> String {
        let what = match self.pkttype {
            HOST => "addressed to this host (unicast)",
            BROADCAST => "a link-layer broadcast",
            MULTICAST => "a link-layer multicast",
            _ => "addressed to another host",
        };
        format!("the packet is {}{what}", if self.inv { "not " } else { "" })
    }
    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some((packet_type(cx) == self.pkttype) != self.inv)
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let got = Pkttype {
            pkttype: packet_type(cx),
            inv: false,
        };
        let why = match cx.pkt.meta.dst_mac {
            Some(m) => format!(
                "the packet is {} (destination MAC {})",
                got.name(),
                crate::sim::iface::mac_text(&m)
            ),
            None => format!("the packet is {} (sent by this host)", got.name()),
        };
        xtopt::miss(
            &format!(
                "{}--pkt-type {}",
                if self.inv { "! " } else { "" },
                self.name()
            ),
            &why,
        )
    }
}

/// The packet's `skb->pkt_type`, as `eth_type_trans` set it from the
/// destination MAC of the received frame. Packets this host makes are
/// `unicast` (PACKET_HOST) whatever their address; other hosts' unicast
/// frames never get past the IP layer. (The kernel types the copies of
/// its own broadcasts and multicasts that it loops back by their address;
/// the simulator makes no such copies.)
fn packet_type(cx: &EvalCx) -> u8 {
    match cx.pkt.meta.dst_mac {
        Some([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) => BROADCAST,
        Some(m) if m[0] & 1 != 0 => MULTICAST,
        _ => HOST,
    }
}

#[cfg(test)]
mod tests {
    use crate::command::{run_argv, Output};
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> Output {
        let a: Vec<String> = s.split_whitespace().map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn save_and_list() {
        let cases = [
            ("--pkt-type host", "--pkt-type unicast", "PKTTYPE = unicast"),
            (
                "! --pkt-type BCAST",
                "! --pkt-type broadcast",
                "PKTTYPE != broadcast",
            ),
            (
                "--pkt-type otherhost",
                "--pkt-type otherhost",
                "PKTTYPE = otherhost",
            ),
        ];
        for (opt, save, list) in cases {
            let mut h = Host::new("h");
            assert_eq!(
                run(&mut h, &format!("iptables -A INPUT -m pkttype {opt}")).exit,
                0
            );
            let s = run(&mut h, "iptables -S INPUT").stdout;
            assert!(s.ends_with(&format!("-A INPUT -m pkttype {save}\n")), "{s}");
            let l = run(&mut h, "iptables -L INPUT").stdout;
            assert!(l.ends_with(&format!("{list}\n")), "{l}");
        }
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let out = run(&mut h, "iptables -A INPUT -m pkttype --pkt-type outgoing");
        assert_eq!(
            out.stderr,
            "iptables v1.8.9 (nf_tables): Bad packet type 'outgoing'\n\
Try `iptables -h' or 'iptables --help' for more information.\n"
        );
        let out = run(&mut h, "iptables -A INPUT -m pkttype");
        assert!(out
            .stderr
            .contains("pkttype: option \"--pkt-type\" must be specified\n\n"));
    }
}

#[cfg(test)]
mod eval_tests {
    use crate::ext::xtopt::lab::*;

    #[test]
    fn packet_type_from_the_destination_mac() {
        let mut w = world(&[
            "-A INPUT -m pkttype --pkt-type unicast",
            "-A INPUT -m pkttype --pkt-type broadcast",
            "-A INPUT -m pkttype --pkt-type multicast",
            "-A INPUT -m pkttype ! --pkt-type unicast",
            "-A OUTPUT -m pkttype --pkt-type unicast",
        ]);
        let s = inject(&mut w, udp(1, "10.0.0.1", 9));
        assert_eq!(s.pattern("INPUT"), [true, false, false, false]);
        assert!(s
            .why("INPUT", 2)
            .starts_with("`--pkt-type broadcast` did not match: the packet is unicast (destination MAC 02:00:00:01:00:01)"));
        let mut p = udp(1, "10.0.0.255", 9);
        p.meta.dst_mac = Some([0xff; 6]);
        let s = inject(&mut w, p);
        assert_eq!(s.pattern("INPUT"), [false, true, false, true]);
        let mut p = udp(1, "10.0.0.1", 9);
        p.meta.dst_mac = Some([1, 0, 0x5e, 0, 0, 1]);
        let s = inject(&mut w, p);
        assert_eq!(s.pattern("INPUT"), [false, false, true, true]);
        assert_eq!(
            s.why("INPUT", 1),
            "`--pkt-type unicast` did not match: the packet is multicast (destination MAC 01:00:5e:00:00:01)"
        );
        // What the host sends itself is unicast, whatever the address.
        w.send(0, udp(1, "10.0.0.255", 9));
        let out = w.reports[0]
            .trace
            .steps
            .iter()
            .find(|s| s.chain == "OUTPUT" && s.rule == Some(1))
            .unwrap();
        assert!(out.matched);
    }

    #[test]
    fn link_layer_broadcasts_are_not_forwarded_and_other_macs_ignored() {
        let mut w = world(&["-t mangle -A PREROUTING -m pkttype --pkt-type broadcast"]);
        let mut p = udp(1, "192.168.1.2", 9);
        p.meta.dst_mac = Some([0xff; 6]);
        let s = inject(&mut w, p);
        assert!(s.matched("PREROUTING", 1));
        assert_eq!(
            s.outcome,
            "dropped on r: not forwarded (link-layer broadcast)"
        );
        let mut p = udp(1, "192.168.1.2", 9);
        p.meta.dst_mac = Some([2, 9, 9, 9, 9, 9]);
        let s = inject(&mut w, p);
        assert!(s.steps.is_empty());
        assert_eq!(s.outcome, "ignored by r: not its MAC");
    }
}
