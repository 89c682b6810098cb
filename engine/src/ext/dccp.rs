//! `-m dccp` (also loaded by `-p dccp`): DCCP ports, packet types and options.

use super::xtopt::{self, NoHeader};
use super::{EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

const O_SPORT: u8 = 0;
const O_DPORT: u8 = 1;
const O_TYPES: u8 = 2;
const O_OPTION: u8 = 3;

pub static INFO: ExtInfo = ExtInfo {
    name: "dccp",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("source-port", O_SPORT).inv(),
        OptSpec::arg("sport", O_SPORT).inv(),
        OptSpec::arg("destination-port", O_DPORT).inv(),
        OptSpec::arg("dport", O_DPORT).inv(),
        OptSpec::arg("dccp-types", O_TYPES).inv(),
        OptSpec::arg("dccp-option", O_OPTION).inv(),
    ],
    guided: true,
    help: "dccp match options
[!] --source-port port[:port]          match source port(s)
 --sport ...
[!] --destination-port port[:port]     match destination port(s)
 --dport ...
[!] --dccp-types type[,...]            match when the packet is one of these types
[!] --dccp-option option               match when this option (a number) is present\n",
    new_match: Some(|| Box::new(Dccp::default())),
    new_target: None,
};

/// Packet type names by number; `INVALID` stands for every type from 10 up.
const TYPES: [&str; 11] = [
    "REQUEST", "RESPONSE", "DATA", "ACK", "DATAACK", "CLOSEREQ", "CLOSE", "RESET", "SYNC",
    "SYNCACK", "INVALID",
];
const INVALID: usize = 10;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dccp {
    /// `Some` when given, with its inversion.
    pub sport: Option<((u16, u16), bool)>,
    pub dport: Option<((u16, u16), bool)>,
    /// Bit per packet type.
    pub types: Option<(u16, bool)>,
    pub option: Option<(u8, bool)>,
}

fn parse_types(s: &str) -> XtResult<u16> {
    let mut mask = 0u16;
    for name in s.split(',').filter(|n| !n.is_empty()) {
        let i = TYPES
            .iter()
            .position(|t| t.eq_ignore_ascii_case(name))
            .ok_or_else(|| XtError::new(format!("Unknown DCCP type `{name}'")))?;
        if i == INVALID {
            mask |= 0xffff << INVALID;
        } else {
            mask |= 1 << i;
        }
    }
    Ok(mask)
}

/// Type list as iptables prints it: names (`INVALID` once for 10-15) or numbers.
fn types_text(mask: u16, numeric: bool) -> String {
    let mut parts = Vec::new();
    for i in (0..16).filter(|i| mask & (1 << i) != 0) {
        if numeric {
            parts.push(i.to_string());
        } else {
            // Types 10 and up are all INVALID, printed once.
            parts.push(TYPES[i.min(INVALID)].to_string());
            if i >= INVALID {
                break;
            }
        }
    }
    parts.join(",")
}

impl Match for Dccp {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_SPORT => {
                self.sport = Some((xtopt::port_range_rc("dccp", "source-port", arg)?, inv));
            }
            O_DPORT => {
                self.dport = Some((xtopt::port_range_rc("dccp", "destination-port", arg)?, inv));
            }
            O_TYPES => self.types = Some((parse_types(arg)?, inv)),
            _ => {
                let v = xtopt::uint("dccp", "dccp-option", arg, 1, 255)?;
                self.option = Some((v as u8, inv));
            }
        }
        Ok(())
    }

    fn check(&self, cx: &super::CheckCx) -> Result<(), KernelError> {
        // xt_dccp is registered for IPPROTO_DCCP.
        if cx.proto != 33 || cx.proto_invert {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn data_key(&self) -> String {
        format!("{self:?}")
    }

    fn save(&self, out: &mut String) {
        if let Some((r, inv)) = self.sport {
            xtopt::save_ports(out, "sport", r, inv);
        }
        if let Some((r, inv)) = self.dport {
            xtopt::save_ports(out, "dport", r, inv);
        }
        if let Some((mask, inv)) = self.types {
            if inv {
                out.push_str(" !");
            }
            out.push_str(" --dccp-types ");
            out.push_str(&types_text(mask, false));
        }
        if let Some((v, inv)) = self.option {
            if inv {
                out.push_str(" !");
            }
            out.push_str(&format!(" --dccp-option {v}"));
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" dccp");
        if let Some((r, inv)) = self.sport {
            xtopt::print_ports(out, "spt", r, inv, "dccp", numeric);
        }
        if let Some((r, inv)) = self.dport {
            xtopt::print_ports(out, "dpt", r, inv, "dccp", numeric);
        }
        if let Some((mask, inv)) = self.types {
            if inv {
                out.push_str(" !");
            }
            out.push(' ');
            out.push_str(&types_text(mask, numeric));
        }
        if let Some((v, inv)) = self.option {
            out.push_str(&format!(" option={}{v}", if inv { "!" } else { "" }));
        }
    }

    fn explain(&self) -> String {
        let mut parts = vec!["DCCP".to_string()];
        let but = |inv: bool| if inv { "any but " } else { "" };
        if let Some((r, inv)) = self.sport {
            parts.push(format!("from {}{}", but(inv), xtopt::explain_ports(r)));
        }
        if let Some((r, inv)) = self.dport {
            parts.push(format!("to {}{}", but(inv), xtopt::explain_ports(r)));
        }
        if let Some((mask, inv)) = self.types {
            parts.push(format!(
                "of {}type {}",
                if inv { "any but " } else { "" },
                types_text(mask, false)
            ));
        }
        if let Some((v, inv)) = self.option {
            parts.push(format!(
                "{} option {v}",
                if inv { "without" } else { "with" }
            ));
        }
        parts.join(" ")
    }
    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        match self.eval(cx) {
            Ok(()) => Some(true),
            Err(m) => {
                cx.hotdrop |= m.hotdrop();
                Some(false)
            }
        }
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let option = || {
            let (v, inv) = self.option.unwrap_or_default();
            format!("{}--dccp-option {v}", if inv { "! " } else { "" })
        };
        match self.eval(cx) {
            Ok(()) => "-m dccp matched".into(),
            Err(Miss::Header(h)) => {
                let mut s = "-m dccp".to_string();
                self.save(&mut s);
                xtopt::miss(&s, &h.text("DCCP"))
            }
            Err(Miss::Sport(p)) => {
                let (r, inv) = self.sport.unwrap_or_default();
                xtopt::miss(
                    &xtopt::range_opt("sport", r, inv),
                    &format!("source port is {p}"),
                )
            }
            Err(Miss::Dport(p)) => {
                let (r, inv) = self.dport.unwrap_or_default();
                xtopt::miss(
                    &xtopt::range_opt("dport", r, inv),
                    &format!("destination port is {p}"),
                )
            }
            Err(Miss::Type(t)) => {
                let (mask, inv) = self.types.unwrap_or_default();
                xtopt::miss(
                    &format!(
                        "{}--dccp-types {}",
                        if inv { "! " } else { "" },
                        types_text(mask, false)
                    ),
                    &format!(
                        "the packet is of type {} ({t})",
                        TYPES[(t as usize).min(INVALID)]
                    ),
                )
            }
            Err(Miss::BadOffset { doff, hlen }) => xtopt::miss(
                &option(),
                &format!(
                    "the data offset ({doff} words) ends before the {hlen}-byte header, so the kernel drops the packet"
                ),
            ),
            Err(Miss::OptionsShort { have, need }) => xtopt::miss(
                &option(),
                &format!(
                    "the options are cut short ({have} of {need} header bytes), so the kernel drops the packet"
                ),
            ),
            Err(Miss::Option(true)) => xtopt::miss(
                &option(),
                &format!("the packet carries option {}", self.option.unwrap_or_default().0),
            ),
            Err(Miss::Option(false)) => xtopt::miss(
                &option(),
                &format!("the packet has no option {}", self.option.unwrap_or_default().0),
            ),
        }
    }
}

/// Why the kernel's `dccp_mt` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    Header(NoHeader),
    Sport(u16),
    Dport(u16),
    Type(u8),
    /// The data offset is shorter than the header of this type: dropped.
    BadOffset {
        doff: u8,
        hlen: usize,
    },
    /// The options end beyond the packet: dropped.
    OptionsShort {
        have: usize,
        need: usize,
    },
    /// Whether the option is there.
    Option(bool),
}

impl Miss {
    fn hotdrop(&self) -> bool {
        match self {
            Miss::Header(h) => h.hotdrop(),
            Miss::BadOffset { .. } | Miss::OptionsShort { .. } => true,
            _ => false,
        }
    }
}

/// Size of the generic DCCP header (`struct dccp_hdr`).
const GENERIC: usize = 12;

/// The kernel's `__dccp_hdr_len`: the generic header, the extended sequence
/// number when X is set, and the part that depends on the type.
fn header_len(dh: &[u8]) -> usize {
    let x = dh[8] & 1 != 0;
    let ty = (dh[8] >> 1) & 0x0f;
    let by_type = match ty {
        2 => 0,                     // DATA
        3 | 4 | 5 | 6 | 8 | 9 => 8, // ACK, DATAACK, CLOSEREQ, CLOSE, SYNC, SYNCACK
        0 => 4,                     // REQUEST: service code
        _ => 12,                    // RESPONSE, RESET and unknown types
    };
    GENERIC + if x { 4 } else { 0 } + by_type
}

impl Dccp {
    /// The kernel's `dccp_mt`: ports, type, then options, each only when given.
    fn eval(&self, cx: &EvalCx) -> Result<(), Miss> {
        let dh = xtopt::xt_header(cx, GENERIC).map_err(Miss::Header)?;
        let sport = xtopt::be16(dh, 0);
        if let Some((r, inv)) = self.sport {
            if xtopt::in_range(r, sport) == inv {
                return Err(Miss::Sport(sport));
            }
        }
        let dport = xtopt::be16(dh, 2);
        if let Some((r, inv)) = self.dport {
            if xtopt::in_range(r, dport) == inv {
                return Err(Miss::Dport(dport));
            }
        }
        let ty = (dh[8] >> 1) & 0x0f;
        if let Some((mask, inv)) = self.types {
            if (mask & (1 << ty) != 0) == inv {
                return Err(Miss::Type(ty));
            }
        }
        if let Some((opt, inv)) = self.option {
            let hlen = header_len(dh);
            let doff = dh[4];
            let end = doff as usize * 4;
            if end < hlen {
                return Err(Miss::BadOffset { doff, hlen });
            }
            let found = if end == hlen {
                false
            } else {
                let opts = dh.get(hlen..end).ok_or(Miss::OptionsShort {
                    have: dh.len(),
                    need: end,
                })?;
                xtopt::find_option(opts, opt)
            };
            if found == inv {
                return Err(Miss::Option(found));
            }
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
            show("-p dccp --sport 1 ! --dport 2:3 --dccp-types request,DATA ! --dccp-option 4"),
            (
                "-A INPUT -p dccp -m dccp --sport 1 ! --dport 2:3 --dccp-types REQUEST,DATA ! --dccp-option 4".into(),
                "dccp spt:1 dpts:!2:3 REQUEST,DATA option=!4".into(),
                "dccp spt:1 dpts:!2:3 0,2 option=!4".into()
            )
        );
        // A given full range is kept (dccp is never native).
        assert_eq!(
            show("-p dccp ! --sport :").0,
            "-A INPUT -p dccp -m dccp ! --sport 0:65535"
        );
        // INVALID covers types 10 to 15.
        let (save, l, ln) = show("-p dccp ! --dccp-types INVALID,REQUEST");
        assert_eq!(
            save,
            "-A INPUT -p dccp -m dccp ! --dccp-types REQUEST,INVALID"
        );
        assert_eq!(l, "dccp ! REQUEST,INVALID");
        assert_eq!(ln, "dccp ! 0,10,11,12,13,14,15");
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let out = run(&mut h, "iptables -A INPUT -p dccp --dccp-types foo");
        assert!(out.stderr.contains("Unknown DCCP type `foo'"));
        let out = run(&mut h, "iptables -A INPUT -p dccp --dccp-option 256");
        assert!(out.stderr.contains(
            "dccp: bad value for option \"--dccp-option\", or out of range (1-255).\n\n"
        ));
        let out = run(&mut h, "iptables -A INPUT -p dccp --sport -1");
        assert!(out
            .stderr
            .contains("Port \"-1\" does not resolve to anything.\n\n"));
        // Without -p dccp the kernel refuses it.
        assert_eq!(run(&mut h, "iptables -A INPUT -m dccp --sport 1").exit, 4);
    }
}

#[cfg(test)]
mod eval_tests {
    use crate::ext::xtopt::lab::*;
    use crate::packet::Packet;

    /// A DCCP packet: type, X bit, data offset in words, length, and the
    /// bytes after the type's own header.
    fn dccp(sport: u16, ty: u8, x: bool, doff: u8, len: usize, opts: &[u8]) -> Packet {
        let mut p = vec![0u8; len];
        p[..2].copy_from_slice(&sport.to_be_bytes());
        p[2..4].copy_from_slice(&9u16.to_be_bytes());
        p[4] = doff;
        p[8] = (ty << 1) | x as u8;
        let hlen = super::header_len(&p);
        for (i, b) in opts.iter().enumerate() {
            p[hlen + i] = *b;
        }
        raw(33, 0, &p)
    }

    #[test]
    fn ports_types_and_options() {
        let mut w = world(&[
            "-A FORWARD -p dccp --dport 9 ! --sport 5",
            "-A FORWARD -p dccp -m dccp --dccp-types REQUEST,RESPONSE",
            "-A FORWARD -p dccp -m dccp ! --dccp-types DATA",
            "-A FORWARD -p dccp -m dccp --dccp-types INVALID",
            "-A FORWARD -p dccp -m dccp --dccp-option 32",
            "-A FORWARD -p dccp -m dccp ! --dccp-option 44",
        ]);
        // REQUEST (4-byte service code) with one option word.
        let s = inject(&mut w, dccp(6, 0, true, 6, 24, &[32, 3, 1, 0]));
        assert_eq!(s.pattern("FORWARD"), [true, true, true, false, true, true]);
        assert_eq!(
            s.why("FORWARD", 4),
            "`--dccp-types INVALID` did not match: the packet is of type REQUEST (0)"
        );
        // DATA without options; then ACK carrying option 44.
        let s = inject(&mut w, dccp(5, 2, false, 3, 12, &[]));
        assert_eq!(
            s.pattern("FORWARD"),
            [false, false, false, false, false, true]
        );
        assert_eq!(
            s.why("FORWARD", 1),
            "`! --sport 5` did not match: source port is 5"
        );
        assert_eq!(
            s.why("FORWARD", 3),
            "`! --dccp-types DATA` did not match: the packet is of type DATA (2)"
        );
        assert_eq!(
            s.why("FORWARD", 5),
            "`--dccp-option 32` did not match: the packet has no option 32"
        );
        let s = inject(&mut w, dccp(7, 3, true, 7, 28, &[1, 44, 3, 0]));
        assert_eq!(
            s.why("FORWARD", 6),
            "`! --dccp-option 44` did not match: the packet carries option 44"
        );
        let s = inject(&mut w, dccp(7, 13, false, 6, 24, &[]));
        assert!(s.matched("FORWARD", 4));
    }

    #[test]
    fn bad_offsets_and_short_headers_drop() {
        let mut w = world(&[
            "-A FORWARD -p dccp -m dccp ! --dccp-option 1",
            "-A FORWARD -p dccp",
        ]);
        // The data offset ends inside the REQUEST header.
        let s = inject(&mut w, dccp(7, 0, true, 3, 16, &[]));
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        assert_eq!(
            s.why("FORWARD", 1),
            "`! --dccp-option 1` did not match: the data offset (3 words) ends before the \
20-byte header, so the kernel drops the packet"
        );
        // Options announced beyond the packet.
        let s = inject(&mut w, dccp(7, 0, true, 10, 20, &[]));
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        assert!(s.why("FORWARD", 1).contains("(20 of 40 header bytes)"));
        let s = inject(&mut w, raw(33, 0, &[0; 11]));
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        let s = inject(&mut w, raw(33, 2, &[0; 16]));
        assert_eq!(s.pattern("FORWARD"), [false, true]);
    }
}
