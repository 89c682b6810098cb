//! `-m multiport`: up to 15 source and/or destination ports or port ranges
//! in one rule (tcp, udp, udplite, sctp, dccp).

use super::xtopt::{self, NoHeader};
use super::{
    bit, EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult,
};
use crate::ext_boilerplate;

const O_SPORTS: u8 = 0;
const O_DPORTS: u8 = 1;
const O_PORTS: u8 = 2;
const ANY: u64 = bit(O_SPORTS) | bit(O_DPORTS) | bit(O_PORTS);

pub static INFO: ExtInfo = ExtInfo {
    name: "multiport",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("source-ports", O_SPORTS).inv().excl(ANY),
        OptSpec::arg("sports", O_SPORTS).inv().excl(ANY),
        OptSpec::arg("destination-ports", O_DPORTS).inv().excl(ANY),
        OptSpec::arg("dports", O_DPORTS).inv().excl(ANY),
        OptSpec::arg("ports", O_PORTS).inv().excl(ANY),
    ],
    guided: true,
    help: "multiport match options:
[!] --source-ports port[,port:port,port...]
 --sports ...
                                 any of these source ports or ranges
[!] --destination-ports port[,port:port,port...]
 --dports ...
                                 any of these destination ports or ranges
[!] --ports port[,port:port,port]
                                 any of these, as source or destination port\n",
    new_match: Some(|| Box::new(Multiport::default())),
    new_target: None,
};

/// Slots in the kernel structure; a range takes two.
const MAX_SLOTS: usize = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Which {
    Source,
    #[default]
    Destination,
    Either,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Multiport {
    pub which: Which,
    /// Ports and ranges (`(lo, Some(hi))`) in the order given.
    pub ports: Vec<(u16, Option<u16>)>,
    pub inv: bool,
    /// Protocol of the rule (its service names are used by `-L`).
    pub proto: u8,
}

/// `-p` protocols multiport works with, by number.
fn proto_name(proto: u8) -> Option<&'static str> {
    match proto {
        6 => Some("tcp"),
        17 => Some("udp"),
        136 => Some("udplite"),
        132 => Some("sctp"),
        33 => Some("dccp"),
        _ => None,
    }
}

fn check_proto(cx: &ParseCx) -> XtResult<&'static str> {
    if cx.proto_invert {
        return Err(XtError::new(
            "multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP",
        ));
    }
    match proto_name(cx.proto) {
        Some(p) => Ok(p),
        None if cx.proto == 0 => Err(XtError::new(
            "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'",
        )),
        None => Err(XtError::new(
            "multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP",
        )),
    }
}

fn parse_list(s: &str, proto: &str) -> XtResult<Vec<(u16, Option<u16>)>> {
    let too_many = || XtError::new("too many ports specified");
    let mut out = Vec::new();
    let mut slots = 0;
    for item in s.split(',') {
        if slots == MAX_SLOTS {
            return Err(too_many());
        }
        match item.split_once(':') {
            Some((a, b)) => {
                if slots == MAX_SLOTS - 1 {
                    return Err(too_many());
                }
                let lo = xtopt::port_or_service(a, proto)?;
                let hi = xtopt::port_or_service(b, proto)?;
                if lo >= hi {
                    return Err(XtError::new("invalid portrange specified"));
                }
                out.push((lo, Some(hi)));
                slots += 2;
            }
            None => {
                out.push((xtopt::port_or_service(item, proto)?, None));
                slots += 1;
            }
        }
    }
    Ok(out)
}

impl Multiport {
    fn list(&self, numeric: bool) -> String {
        let proto = proto_name(self.proto).unwrap_or("");
        let port = |p: u16| xtopt::port_text(p, proto, numeric);
        self.ports
            .iter()
            .map(|(lo, hi)| match hi {
                Some(hi) => format!("{}:{}", port(*lo), port(*hi)),
                None => port(*lo),
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    fn opt_name(&self) -> &'static str {
        match self.which {
            Which::Source => "sports",
            Which::Destination => "dports",
            Which::Either => "ports",
        }
    }
}

impl Match for Multiport {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, cx: &mut ParseCx) -> XtResult {
        let proto = check_proto(cx)?;
        self.ports = parse_list(arg.unwrap_or_default(), proto)?;
        self.which = match id {
            O_SPORTS => Which::Source,
            O_DPORTS => Which::Destination,
            _ => Which::Either,
        };
        self.inv = inv;
        self.proto = cx.proto;
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen == 0 {
            return Err(XtError::new("multiport expection an option"));
        }
        Ok(())
    }

    fn check(&self, cx: &super::CheckCx) -> Result<(), KernelError> {
        if proto_name(cx.proto).is_none() || cx.proto_invert {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(&format!(" --{} {}", self.opt_name(), self.list(true)));
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(&format!(" multiport {} ", self.opt_name()));
        if self.inv {
            out.push_str(" !");
        }
        out.push_str(&self.list(numeric));
    }

    fn explain(&self) -> String {
        let dir = match self.which {
            Which::Source => "from",
            Which::Destination => "to",
            Which::Either => "from or to",
        };
        let one = self.ports.len() == 1 && self.ports[0].1.is_none();
        format!(
            "{dir} {}{} {}",
            if self.inv { "any but " } else { "" },
            if one { "port" } else { "ports" },
            self.list(true).replace(':', "-").replace(',', ", ")
        )
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        match self.eval(cx) {
            Ok(()) => Some(true),
            Err(m) => {
                cx.hotdrop |= matches!(m, Miss::Header(h) if h.hotdrop());
                Some(false)
            }
        }
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let opt = format!(
            "{}--{} {}",
            if self.inv { "! " } else { "" },
            self.opt_name(),
            self.list(true)
        );
        let proto = proto_name(self.proto)
            .unwrap_or("transport")
            .to_ascii_uppercase();
        match self.eval(cx) {
            Ok(()) => "-m multiport matched".into(),
            Err(Miss::Header(h)) => xtopt::miss(&opt, &h.text(&proto)),
            Err(Miss::Ports(src, dst)) => {
                let why = match self.which {
                    Which::Source => format!("source port is {src}"),
                    Which::Destination => format!("destination port is {dst}"),
                    Which::Either => {
                        format!("source port is {src} and destination port is {dst}")
                    }
                };
                xtopt::miss(&opt, &why)
            }
        }
    }
}

/// Why the kernel's `multiport_mt` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    Header(NoHeader),
    /// Source and destination port of the packet.
    Ports(u16, u16),
}

impl Multiport {
    /// The kernel's `multiport_mt` (revision 1): the first two 16-bit words
    /// of the transport header are the ports, whatever the protocol.
    fn eval(&self, cx: &EvalCx) -> Result<(), Miss> {
        let pp = xtopt::xt_header(cx, 4).map_err(Miss::Header)?;
        let (src, dst) = (xtopt::be16(pp, 0), xtopt::be16(pp, 2));
        let hit = self.ports.iter().any(|(lo, hi)| {
            let r = (*lo, hi.unwrap_or(*lo));
            match self.which {
                Which::Source => xtopt::in_range(r, src),
                Which::Destination => xtopt::in_range(r, dst),
                Which::Either => xtopt::in_range(r, src) || xtopt::in_range(r, dst),
            }
        });
        if hit == self.inv {
            return Err(Miss::Ports(src, dst));
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
            let line = o.lines().nth(2).unwrap_or("").to_string();
            line.get(61..).unwrap_or("").trim_start().to_string()
        };
        let (l, ln) = (list(""), list("-n"));
        (save.lines().nth(1).unwrap_or("").to_string(), l, ln)
    }

    #[test]
    fn save_and_list() {
        assert_eq!(
            show("-p tcp -m multiport ! --sports 22,80:90,https"),
            (
                "-A INPUT -p tcp -m multiport ! --sports 22,80:90,443".into(),
                "multiport sports  !ssh,http:90,https".into(),
                "multiport sports  !22,80:90,443".into()
            )
        );
        assert_eq!(
            show("-p udp -m multiport --ports 53,1024:65535").1,
            "multiport ports domain,1024:65535"
        );
        // 15 slots, a range taking two.
        assert_eq!(
            show("-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14:15").0,
            "-A INPUT -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14:15"
        );
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let cases = [
            ("-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15:16", "too many ports specified"),
            ("-p tcp -m multiport --dports 5:5", "invalid portrange specified"),
            ("-p tcp -m multiport --dports 1,,2", "invalid port/service `' specified"),
            ("-p udp -m multiport --dports ssh", "invalid port/service `ssh' specified"),
            ("-m multiport --dports 1 -p tcp", "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'"),
            ("! -p tcp -m multiport --dports 1", "multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP"),
            ("-m multiport", "multiport expection an option"),
            ("-p tcp -m multiport --dports 1 --sports 2", "multiport: option \"--source-ports\" cannot be used together with \"--destination-ports\".\n"),
            ("-p tcp -m multiport --dports 1 --destination-ports 2", "multiport: option \"--destination-ports\" can only be used once.\n"),
        ];
        for (spec, msg) in cases {
            let out = run(&mut h, &format!("iptables -A INPUT {spec}"));
            assert_eq!(
                out.stderr,
                format!("iptables v1.8.9 (nf_tables): {msg}\nTry `iptables -h' or 'iptables --help' for more information.\n"),
                "{spec}"
            );
        }
    }
}

#[cfg(test)]
mod eval_tests {
    use crate::ext::xtopt::lab::*;
    use crate::packet::tcp_flags::SYN;

    const B: &str = "192.168.1.2";

    #[test]
    fn ports_ranges_and_inversion() {
        let mut w = world(&[
            "-A FORWARD -p tcp -m multiport --dports 22,80:90,443",
            "-A FORWARD -p tcp -m multiport ! --dports 22,80:90",
            "-A FORWARD -p tcp -m multiport --sports 1000:2000,5",
            "-A FORWARD -p tcp -m multiport --ports 85",
            "-A FORWARD -p udp -m multiport ! --ports 53,85",
        ]);
        let s = inject(&mut w, tcp(5, B, 85, SYN, vec![]));
        assert_eq!(s.pattern("FORWARD"), [true, false, true, true, false]);
        assert_eq!(
            s.why("FORWARD", 2),
            "`! --dports 22,80:90` did not match: destination port is 85"
        );
        let s = inject(&mut w, tcp(85, B, 8080, SYN, vec![]));
        assert_eq!(s.pattern("FORWARD"), [false, true, false, true, false]);
        assert_eq!(
            s.why("FORWARD", 1),
            "`--dports 22,80:90,443` did not match: destination port is 8080"
        );
        assert_eq!(
            s.why("FORWARD", 3),
            "`--sports 1000:2000,5` did not match: source port is 85"
        );
        let s = inject(&mut w, udp(85, B, 9));
        assert_eq!(
            s.why("FORWARD", 5),
            "`! --ports 53,85` did not match: source port is 85 and destination port is 9"
        );
        let s = inject(&mut w, udp(86, B, 9));
        assert!(s.matched("FORWARD", 5));
    }

    #[test]
    fn fragments_and_short_headers() {
        let mut w = world(&[
            "-A FORWARD -p tcp -m multiport ! --dports 1",
            "-A FORWARD -p tcp",
        ]);
        let s = inject(&mut w, raw(6, 3, &[0; 8]));
        assert_eq!(s.pattern("FORWARD"), [false, true]);
        assert_eq!(
            s.why("FORWARD", 1),
            "`! --dports 1` did not match: a later fragment has no TCP header"
        );
        let s = inject(&mut w, raw(6, 0, &[0, 1, 0]));
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        assert!(s.why("FORWARD", 1).contains("cut short (3 of 4 bytes)"));
    }
}
