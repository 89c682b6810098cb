//! `-m udp` (also loaded by `-p udp`): UDP source and destination ports.

use super::tcp::{native_port_tests, NativeTest};
use super::xtopt::{self, NoHeader, ALL_PORTS};
use super::{EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

const O_SPORT: u8 = 0;
const O_DPORT: u8 = 1;

pub static INFO: ExtInfo = ExtInfo {
    name: "udp",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("source-port", O_SPORT).inv(),
        OptSpec::arg("sport", O_SPORT).inv(),
        OptSpec::arg("destination-port", O_DPORT).inv(),
        OptSpec::arg("dport", O_DPORT).inv(),
    ],
    guided: true,
    help: "udp match options:
[!] --source-port port[:port]
 --sport ...
                                 source port or inclusive range
[!] --destination-port port[:port]
 --dport ...
                                 destination port or inclusive range\n",
    new_match: Some(|| Box::new(Udp::default())),
    new_target: None,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Udp {
    pub sport: (u16, u16),
    pub sport_inv: bool,
    pub dport: (u16, u16),
    pub dport_inv: bool,
    /// Stored as native nf_tables expressions (no kernel `xt_udp` check).
    pub native: bool,
    /// The expressions the kernel evaluates for a native match, in rule order.
    pub tests: Vec<NativeTest>,
}

impl Default for Udp {
    fn default() -> Self {
        Udp {
            sport: ALL_PORTS,
            sport_inv: false,
            dport: ALL_PORTS,
            dport_inv: false,
            native: false,
            tests: Vec::new(),
        }
    }
}

impl Udp {
    /// Nothing but the defaults: kept as an `xt` blob by iptables-nft.
    fn is_blank(&self) -> bool {
        self.sport == ALL_PORTS && self.dport == ALL_PORTS && !self.sport_inv && !self.dport_inv
    }
}

impl Match for Udp {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        // udp accepts min > max (1.8.9 has no order check for XTTYPE_PORTRC).
        match id {
            O_SPORT => {
                self.sport = xtopt::port_range_rc("udp", "source-port", arg)?;
                self.sport_inv = inv;
            }
            _ => {
                self.dport = xtopt::port_range_rc("udp", "destination-port", arg)?;
                self.dport_inv = inv;
            }
        }
        Ok(())
    }

    fn nft_readback(&self, cx: &mut ParseCx, rule: &mut Vec<Box<dyn Match>>) -> XtResult<bool> {
        if self.is_blank() {
            return Ok(true);
        }
        if cx.proto != 17 {
            return Err(XtError::new("UDP match requires '-p udp'"));
        }
        let tests = native_port_tests(self.sport, self.sport_inv, self.dport, self.dport_inv);
        if tests.is_empty() {
            return Ok(false);
        }
        // iptables-nft rebuilds one udp match from all of a rule's udp expressions.
        let first = rule
            .iter()
            .position(|m| m.as_any().downcast_ref::<Udp>().is_some_and(|u| u.native));
        let mut back = match first {
            Some(i) => rule[i]
                .as_any()
                .downcast_ref::<Udp>()
                .cloned()
                .unwrap_or_default(),
            None => Udp {
                native: true,
                ..Udp::default()
            },
        };
        for t in &tests {
            t.read_back_ports(
                (&mut back.sport, &mut back.sport_inv),
                (&mut back.dport, &mut back.dport_inv),
            );
        }
        back.tests.extend(tests);
        match first {
            Some(i) => rule[i] = Box::new(back),
            None => rule.push(Box::new(back)),
        }
        Ok(false)
    }

    fn check(&self, cx: &super::CheckCx) -> Result<(), KernelError> {
        if !self.native && (cx.proto != 17 || cx.proto_invert) {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.sport != ALL_PORTS {
            xtopt::save_ports(out, "sport", self.sport, self.sport_inv);
        }
        if self.dport != ALL_PORTS {
            xtopt::save_ports(out, "dport", self.dport, self.dport_inv);
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" udp");
        xtopt::print_ports(out, "spt", self.sport, self.sport_inv, "udp", numeric);
        xtopt::print_ports(out, "dpt", self.dport, self.dport_inv, "udp", numeric);
    }

    fn explain(&self) -> String {
        let mut parts = Vec::new();
        let but = |inv: bool| if inv { "any but " } else { "" };
        if self.sport != ALL_PORTS {
            parts.push(format!(
                "from {}{}",
                but(self.sport_inv),
                xtopt::explain_ports(self.sport)
            ));
        }
        if self.dport != ALL_PORTS {
            parts.push(format!(
                "to {}{}",
                but(self.dport_inv),
                xtopt::explain_ports(self.dport)
            ));
        }
        if parts.is_empty() {
            return "of any UDP ports".to_string();
        }
        parts.join(" ")
    }

    fn always_matches(&self) -> bool {
        // A native match with no test (`-p udp -m udp`) is no expression at all.
        self.native && self.tests.is_empty()
    }

    fn native_test(&self) -> Option<NativeTest> {
        match self.tests[..] {
            [t] if self.native => Some(t),
            _ => None,
        }
    }

    fn header_test(&self) -> Option<usize> {
        (!self.native && self.is_blank()).then_some(8)
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        if self.native {
            let l4 = cx.transport();
            return Some(self.tests.iter().all(|t| t.eval(l4).0));
        }
        match self.eval_xt(cx) {
            Ok(()) => Some(true),
            Err(m) => {
                cx.hotdrop |= m.hotdrop();
                Some(false)
            }
        }
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        if self.native {
            let l4 = cx.transport();
            return match self.tests.iter().find(|t| !t.eval(l4).0) {
                Some(t) => t.why_not(l4, cx.hdr.frag_offset != 0, "UDP"),
                None => "-m udp matched".into(),
            };
        }
        match self.eval_xt(cx) {
            Ok(()) => "-m udp matched".into(),
            Err(Miss::Header(h)) => {
                let mut s = "-m udp".to_string();
                self.save(&mut s);
                xtopt::miss(&s, &h.text("UDP"))
            }
            Err(Miss::Sport(p)) => xtopt::miss(
                &xtopt::range_opt("sport", self.sport, self.sport_inv),
                &format!("source port is {p}"),
            ),
            Err(Miss::Dport(p)) => xtopt::miss(
                &xtopt::range_opt("dport", self.dport, self.dport_inv),
                &format!("destination port is {p}"),
            ),
        }
    }
}

/// Why the kernel's `xt_udp` match failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    Header(NoHeader),
    Sport(u16),
    Dport(u16),
}

impl Miss {
    fn hotdrop(&self) -> bool {
        matches!(self, Miss::Header(h) if h.hotdrop())
    }
}

impl Udp {
    /// The kernel's `udp_mt`, for a match kept as an `xt` blob (`-m udp` alone).
    fn eval_xt(&self, cx: &EvalCx) -> Result<(), Miss> {
        let uh = xtopt::xt_header(cx, 8).map_err(Miss::Header)?;
        let sport = xtopt::be16(uh, 0);
        if xtopt::in_range(self.sport, sport) == self.sport_inv {
            return Err(Miss::Sport(sport));
        }
        let dport = xtopt::be16(uh, 2);
        if xtopt::in_range(self.dport, dport) == self.dport_inv {
            return Err(Miss::Dport(dport));
        }
        Ok(())
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

    /// Adds `spec` to INPUT; returns its save line and its `-L`, `-L -n` match texts.
    fn show(spec: &str) -> (String, String, String) {
        let mut h = Host::new("h");
        let out = run(&mut h, &format!("iptables -A INPUT {spec}"));
        assert_eq!(out.exit, 0, "{spec}: {}", out.stderr);
        let save = run(&mut h, "iptables -S INPUT").stdout;
        let mut list = |n: &str| {
            let o = run(&mut h, &format!("iptables {n} -L INPUT")).stdout;
            o.lines()
                .nth(2)
                .unwrap_or("")
                .get(61..)
                .unwrap_or("")
                .trim_start()
                .to_string()
        };
        let (l, ln) = (list(""), list("-n"));
        (save.lines().nth(1).unwrap_or("").to_string(), l, ln)
    }

    #[test]
    fn save_and_list() {
        assert_eq!(
            show("-p udp --dport 53 ! --sport 1024:"),
            (
                "-A INPUT -p udp -m udp ! --sport 1024:65535 --dport 53".into(),
                "udp spts:!1024:65535 dpt:domain".into(),
                "udp spts:!1024:65535 dpt:53".into()
            )
        );
        // min > max is accepted and kept.
        assert_eq!(
            show("-p udp --sport 4:3").0,
            "-A INPUT -p udp -m udp --sport 4:3"
        );
        // Numbers and names as getaddrinfo reads them.
        assert_eq!(
            show("-p udp --sport 65536").0,
            "-A INPUT -p udp -m udp --sport 0"
        );
    }

    #[test]
    fn nft_readback() {
        // A blank match stays, an inverted full range vanishes.
        assert_eq!(show("-p udp -m udp --sport :").0, "-A INPUT -p udp -m udp");
        assert_eq!(show("-p udp -m udp ! --sport :").0, "-A INPUT -p udp");
        // Two native udp matches come back as one.
        assert_eq!(
            show("-p udp -m udp --sport 1 -m udp ! --dport 2").0,
            "-A INPUT -p udp -m udp --sport 1 ! --dport 2"
        );
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let out = run(&mut h, "iptables -A INPUT -p udp --sport -1");
        assert_eq!(
            out.stderr,
            "iptables v1.8.9 (nf_tables): Port \"-1\" does not resolve to anything.\n\n\
Try `iptables -h' or 'iptables --help' for more information.\n"
        );
        let out = run(&mut h, "iptables -A INPUT -p udp --sport 1 --sport 2");
        assert!(out
            .stderr
            .contains("udp: option \"--source-port\" can only be used once."));
        let out = run(&mut h, "iptables -A INPUT -m udp --dport 1");
        assert!(out.stderr.contains("UDP match requires '-p udp'"));
        // A blank match without -p udp is refused by the kernel.
        let out = run(&mut h, "iptables -A INPUT -m udp");
        assert_eq!(out.exit, 4);
    }
}

#[cfg(test)]
mod eval_tests {
    use crate::ext::xtopt::lab::*;

    const B: &str = "192.168.1.2";

    #[test]
    fn native_ports() {
        let mut w = world(&[
            "-A FORWARD -p udp --dport 53",
            "-A FORWARD -p udp ! --dport 53",
            "-A FORWARD -p udp --sport 1024:",
            "-A FORWARD -p udp ! --sport 5 ! --dport 53",
            "-A FORWARD -p udp --sport 4:3",
            "-A FORWARD -p udp -m udp --sport 5 -m udp ! --dport 54",
        ]);
        let s = inject(&mut w, udp(5, B, 53));
        assert_eq!(
            s.pattern("FORWARD"),
            [true, false, false, false, false, true]
        );
        assert_eq!(
            s.why("FORWARD", 2),
            "`! --dport 53` did not match: destination port is 53"
        );
        assert_eq!(
            s.why("FORWARD", 3),
            "`--sport 1024:65535` did not match: source port is 5"
        );
        assert!(s.why("FORWARD", 4).contains("as one pair"));
        // A reversed range never matches.
        assert_eq!(
            s.why("FORWARD", 5),
            "`--sport 4:3` did not match: source port is 5"
        );
        let s = inject(&mut w, udp(40000, B, 54));
        assert_eq!(
            s.pattern("FORWARD"),
            [false, true, true, true, false, false]
        );
        assert_eq!(
            s.why("FORWARD", 6),
            "`--sport 5` did not match: source port is 40000"
        );
    }

    #[test]
    fn bare_xt_udp_drops_short_headers() {
        let mut w = world(&[
            "-A FORWARD -p udp --sport 1",
            "-A FORWARD -p udp -m udp",
            "-A FORWARD -p udp",
        ]);
        // Fragments: the native test reads the data, the xt match says no.
        let s = inject(&mut w, raw(17, 20, &[0, 1, 0, 0, 0, 0, 0, 0]));
        assert_eq!(s.pattern("FORWARD"), [true, false, true]);
        assert_eq!(
            s.why("FORWARD", 2),
            "`-m udp` did not match: a later fragment has no UDP header"
        );
        // Three bytes: the source port is there; xt_udp drops the packet.
        let s = inject(&mut w, raw(17, 0, &[0, 1, 0]));
        assert_eq!(s.pattern("FORWARD"), [true, false]);
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        assert_eq!(
            s.why("FORWARD", 2),
            "`-m udp` did not match: the UDP header is cut short (3 of 8 bytes), so the kernel \
drops the packet"
        );
        let s = inject(&mut w, raw(17, 0, &[0, 2]));
        assert_eq!(
            s.why("FORWARD", 1),
            "`--sport 1` did not match: source port is 2"
        );
        let s = inject(&mut w, raw(17, 0, &[0]));
        assert_eq!(
            s.why("FORWARD", 1),
            "`--sport 1` did not match: the UDP header is too short to hold it (1 byte)"
        );
    }
}
