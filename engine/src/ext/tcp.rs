//! `-m tcp` (also loaded by `-p tcp`): source/destination ports, TCP flags,
//! `--syn` and `--tcp-option`.

use super::xtopt::{self, NoHeader, ALL_PORTS};
use super::{EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

const O_SPORT: u8 = 0;
const O_DPORT: u8 = 1;
const O_SYN: u8 = 2;
const O_FLAGS: u8 = 3;
const O_OPTION: u8 = 4;

pub static INFO: ExtInfo = ExtInfo {
    name: "tcp",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("source-port", O_SPORT).inv(),
        OptSpec::arg("sport", O_SPORT).inv(),
        OptSpec::arg("destination-port", O_DPORT).inv(),
        OptSpec::arg("dport", O_DPORT).inv(),
        OptSpec::flag("syn", O_SYN).inv(),
        OptSpec::arg("tcp-flags", O_FLAGS).inv(),
        OptSpec::arg("tcp-option", O_OPTION).inv(),
    ],
    guided: false,
    help: "tcp match options:
[!] --tcp-flags mask comp        the flags in mask are set exactly as in comp
                                 (Flags: SYN ACK FIN RST URG PSH ALL NONE)
[!] --syn                        a connection-opening SYN (SYN set; RST, ACK, FIN clear)
                                 (same as --tcp-flags SYN,RST,ACK,FIN SYN)
[!] --source-port port[:port]
 --sport ...
                                 source port or inclusive range
[!] --destination-port port[:port]
 --dport ...
                                 destination port or inclusive range
[!] --tcp-option number          the TCP option with this number is present\n",
    new_match: Some(|| Box::new(Tcp::default())),
    new_target: None,
};

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const URG: u8 = 0x20;

const FLAG_NAMES: [(&str, u8); 8] = [
    ("FIN", FIN),
    ("SYN", SYN),
    ("RST", RST),
    ("PSH", PSH),
    ("ACK", ACK),
    ("URG", URG),
    ("ALL", 0x3f),
    ("NONE", 0),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tcp {
    pub sport: (u16, u16),
    pub sport_inv: bool,
    pub dport: (u16, u16),
    pub dport_inv: bool,
    pub option: u8,
    pub option_inv: bool,
    pub flg_mask: u8,
    pub flg_cmp: u8,
    pub flags_inv: bool,
    /// Stored as native nf_tables expressions (no kernel `xt_tcp` check).
    pub native: bool,
    /// The expressions the kernel evaluates for a native match, in rule order.
    pub tests: Vec<NativeTest>,
    seen: u8,
}

impl Default for Tcp {
    fn default() -> Self {
        Tcp {
            sport: ALL_PORTS,
            sport_inv: false,
            dport: ALL_PORTS,
            dport_inv: false,
            option: 0,
            option_inv: false,
            flg_mask: 0,
            flg_cmp: 0,
            flags_inv: false,
            native: false,
            tests: Vec::new(),
            seen: 0,
        }
    }
}

impl Tcp {
    /// Nothing given but the defaults (`-m tcp`, `--sport :`): iptables-nft
    /// keeps such a match as an `xt` blob.
    fn is_blank(&self) -> bool {
        let blank = Tcp {
            native: self.native,
            tests: self.tests.clone(),
            seen: self.seen,
            ..Tcp::default()
        };
        *self == blank
    }

    /// What iptables-nft reads back from one native expression: each one
    /// updates the single tcp match it rebuilds for the whole rule.
    fn read_back(&mut self, t: &NativeTest) {
        match *t {
            NativeTest::Flags { mask, cmp, inv } => {
                self.flg_mask = mask;
                self.flg_cmp = cmp;
                self.flags_inv |= inv;
            }
            _ => t.read_back_ports(
                (&mut self.sport, &mut self.sport_inv),
                (&mut self.dport, &mut self.dport_inv),
            ),
        }
    }
}

fn parse_flags(s: &str) -> XtResult<u8> {
    let mut v = 0;
    // strtok: empty items between commas are skipped.
    for name in s.split(',').filter(|n| !n.is_empty()) {
        let f = FLAG_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| XtError::new(format!("Unknown TCP flag `{name}'")))?;
        v |= f.1;
    }
    Ok(v)
}

/// Flag names as iptables prints them (`FIN,SYN,RST,ACK`, `NONE`).
pub fn flags_text(f: u8) -> String {
    if f & 0x3f == 0 {
        return "NONE".to_string();
    }
    FLAG_NAMES[..6]
        .iter()
        .filter(|(_, bit)| f & bit != 0)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

/// One test of a native tcp or udp match as iptables-nft 1.8.9 emits it
/// (`add_nft_tcpudp`, `add_nft_tcpflags`): a load from the transport
/// header and a compare. The loads take nf_tables' fast path, which does
/// not look at the fragment offset: in a later fragment they read the
/// fragment's data as if it were the header. A load beyond the end of the
/// packet ends the rule without a match; nothing is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeTest {
    Sport((u16, u16), bool),
    Dport((u16, u16), bool),
    /// Single non-zero source and destination ports with the same
    /// inversion, compared as one 4-byte word. Inverted, it fails only
    /// when both ports are equal: in 1.8.9 `! --sport 5 ! --dport 22`
    /// matches a packet from port 5 to port 80.
    Pair(u16, u16, bool),
    Flags {
        mask: u8,
        cmp: u8,
        inv: bool,
    },
}

/// The port tests iptables-nft 1.8.9 emits for a tcp or udp match. An
/// inverted full range `! --sport :` emits nothing (and matches everything).
pub fn native_port_tests(
    sport: (u16, u16),
    sport_inv: bool,
    dport: (u16, u16),
    dport_inv: bool,
) -> Vec<NativeTest> {
    let single = |r: (u16, u16)| r.0 != 0 && r.0 == r.1;
    if single(sport) && single(dport) && sport_inv == dport_inv {
        return vec![NativeTest::Pair(sport.0, dport.0, sport_inv)];
    }
    let mut v = Vec::new();
    if sport.0 != 0 || sport.1 < 0xffff {
        v.push(NativeTest::Sport(sport, sport_inv));
    }
    if dport.0 != 0 || dport.1 < 0xffff {
        v.push(NativeTest::Dport(dport, dport_inv));
    }
    v
}

/// One port range and its inversion, as read back.
pub type PortSlot<'a> = (&'a mut (u16, u16), &'a mut bool);

/// How iptables-nft reads one compare of a port back (`port_match_single_to_range`
/// and the range parser): `==`/`!=` set both ends, `<=` the upper and `>` the
/// lower end, a range both; `!=` adds the inversion.
fn read_back_range(slot: PortSlot, r: (u16, u16), inv: bool) {
    let (range, inverted) = slot;
    if r.0 == r.1 {
        *range = r;
        *inverted |= inv;
    } else if r.0 == 0 && r.1 < 0xffff {
        // Emitted as `<= hi`, or `> hi` when inverted.
        if inv {
            range.0 = r.1 + 1;
        } else {
            range.1 = r.1;
        }
    } else {
        *range = r;
        *inverted |= inv;
    }
}

impl NativeTest {
    /// Offset and length of the load from the transport header.
    fn span(&self) -> (usize, usize) {
        match self {
            NativeTest::Sport(..) => (0, 2),
            NativeTest::Dport(..) => (2, 2),
            NativeTest::Pair(..) => (0, 4),
            NativeTest::Flags { .. } => (13, 1),
        }
    }

    /// The loaded value, `None` when the packet ends first.
    fn load(&self, l4: &[u8]) -> Option<u32> {
        let (at, len) = self.span();
        let b = l4.get(at..at + len)?;
        Some(b.iter().fold(0u32, |v, x| v << 8 | *x as u32))
    }

    /// Whether the packet passes, with the loaded value when it could be read.
    pub fn eval(&self, l4: &[u8]) -> (bool, Option<u32>) {
        let Some(v) = self.load(l4) else {
            return (false, None);
        };
        let ok = match *self {
            NativeTest::Sport(r, inv) | NativeTest::Dport(r, inv) => {
                xtopt::in_range(r, v as u16) != inv
            }
            NativeTest::Pair(s, d, inv) => (v == ((s as u32) << 16 | d as u32)) != inv,
            NativeTest::Flags { mask, cmp, inv } => ((v as u8 & mask) == cmp) != inv,
        };
        (ok, Some(v))
    }

    /// The port part of what iptables-nft reads back from this test.
    pub fn read_back_ports(&self, sport: PortSlot, dport: PortSlot) {
        match *self {
            NativeTest::Sport(r, inv) => read_back_range(sport, r, inv),
            NativeTest::Dport(r, inv) => read_back_range(dport, r, inv),
            NativeTest::Pair(s, d, inv) => {
                read_back_range(sport, (s, s), inv);
                read_back_range(dport, (d, d), inv);
            }
            NativeTest::Flags { .. } => {}
        }
    }

    /// The test as the rule spells it (`! --dport 22`, `--tcp-flags SYN,ACK SYN`).
    pub fn text(&self) -> String {
        match *self {
            NativeTest::Sport(r, inv) => xtopt::range_opt("sport", r, inv),
            NativeTest::Dport(r, inv) => xtopt::range_opt("dport", r, inv),
            NativeTest::Pair(s, d, inv) => {
                let i = if inv { "! " } else { "" };
                format!("{i}--sport {s} {i}--dport {d}")
            }
            NativeTest::Flags { mask, cmp, inv } => format!(
                "{}--tcp-flags {} {}",
                if inv { "! " } else { "" },
                flags_text(mask),
                flags_text(cmp)
            ),
        }
    }

    /// Why the test failed on this packet (`proto`: TCP or UDP; `fragment`:
    /// the packet is a later fragment).
    pub fn why_not(&self, l4: &[u8], fragment: bool, proto: &str) -> String {
        let got = match self.eval(l4) {
            (true, _) => return format!("`{}` matched", self.text()),
            (false, got) => got,
        };
        let mut why = match (got, *self) {
            (None, _) => format!(
                "the {proto} header is too short to hold it ({} byte{})",
                l4.len(),
                if l4.len() == 1 { "" } else { "s" }
            ),
            (Some(v), NativeTest::Sport(..)) => format!("source port is {v}"),
            (Some(v), NativeTest::Dport(..)) => format!("destination port is {v}"),
            (Some(v), NativeTest::Pair(_, _, inv)) => format!(
                "source port is {} and destination port is {}{}",
                v >> 16,
                v & 0xffff,
                if inv {
                    " (iptables-nft 1.8.9 compares the two ports as one pair)"
                } else {
                    ""
                }
            ),
            (Some(v), NativeTest::Flags { .. }) => {
                format!("the packet's flags are {}", flags_text(v as u8))
            }
        };
        if fragment {
            why.push_str(&format!(
                " (a later fragment: nf_tables reads its data as the {proto} header)"
            ));
        }
        xtopt::miss(&self.text(), &why)
    }
}

/// Why the kernel's `xt_tcp` match failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    Header(NoHeader),
    /// A fragment at offset 8 bytes, which could rewrite the flags: dropped.
    EvilFragment,
    Sport(u16),
    Dport(u16),
    Flags(u8),
    /// A data offset below 5 words while looking for an option: dropped.
    BadOffset(u8),
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
            Miss::EvilFragment | Miss::BadOffset(_) | Miss::OptionsShort { .. } => true,
            _ => false,
        }
    }
}

impl Tcp {
    /// The kernel's `tcp_mt` for a match kept as an `xt` blob.
    fn eval_xt(&self, cx: &EvalCx) -> Result<(), Miss> {
        if cx.hdr.frag_offset == 1 {
            return Err(Miss::EvilFragment);
        }
        let th = xtopt::xt_header(cx, 20).map_err(Miss::Header)?;
        let sport = xtopt::be16(th, 0);
        if xtopt::in_range(self.sport, sport) == self.sport_inv {
            return Err(Miss::Sport(sport));
        }
        let dport = xtopt::be16(th, 2);
        if xtopt::in_range(self.dport, dport) == self.dport_inv {
            return Err(Miss::Dport(dport));
        }
        if ((th[13] & self.flg_mask) == self.flg_cmp) == self.flags_inv {
            return Err(Miss::Flags(th[13]));
        }
        if self.option != 0 {
            let doff = th[12] >> 4;
            let hlen = doff as usize * 4;
            if hlen < 20 {
                return Err(Miss::BadOffset(doff));
            }
            let found = if hlen == 20 {
                false
            } else {
                let opts = th.get(20..hlen).ok_or(Miss::OptionsShort {
                    have: th.len(),
                    need: hlen,
                })?;
                xtopt::find_option(opts, self.option)
            };
            if found == self.option_inv {
                return Err(Miss::Option(found));
            }
        }
        Ok(())
    }

    /// The match as iptables-save shows it, for messages.
    fn rule_text(&self) -> String {
        let mut s = "-m tcp".to_string();
        self.save(&mut s);
        s
    }
}

impl Match for Tcp {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        let once = |seen: u8, bit: u8, msg: &str| -> XtResult {
            if seen & bit != 0 {
                Err(XtError::new(msg.to_string()))
            } else {
                Ok(())
            }
        };
        match id {
            O_SPORT => {
                once(self.seen, 1, "Only one `--source-port' allowed")?;
                self.sport = xtopt::parse_port_range(arg, "tcp", true)?;
                self.sport_inv = inv;
                self.seen |= 1;
            }
            O_DPORT => {
                once(self.seen, 2, "Only one `--destination-port' allowed")?;
                self.dport = xtopt::parse_port_range(arg, "tcp", true)?;
                self.dport_inv = inv;
                self.seen |= 2;
            }
            O_SYN => {
                once(
                    self.seen,
                    4,
                    "Only one of `--syn' or `--tcp-flags'  allowed",
                )?;
                self.flg_mask = SYN | RST | ACK | FIN;
                self.flg_cmp = SYN;
                self.flags_inv = inv;
                self.seen |= 4;
            }
            O_FLAGS => {
                once(
                    self.seen,
                    4,
                    "Only one of `--syn' or `--tcp-flags'  allowed",
                )?;
                let Some(comp) = cx.take_word() else {
                    return Err(XtError::new("--tcp-flags requires two args."));
                };
                self.flg_mask = parse_flags(arg)?;
                self.flg_cmp = parse_flags(&comp)?;
                self.flags_inv = inv;
                self.seen |= 4;
            }
            O_OPTION => {
                once(self.seen, 8, "Only one `--tcp-option' allowed")?;
                self.option = xtopt::strtoul_all(arg, 1, 255)
                    .ok_or_else(|| XtError::new(format!("Bad TCP option \"{arg}\"")))?
                    as u8;
                self.option_inv = inv;
                self.seen |= 8;
            }
            _ => {}
        }
        Ok(())
    }

    fn nft_readback(&self, cx: &mut ParseCx, rule: &mut Vec<Box<dyn Match>>) -> XtResult<bool> {
        // An option test or a blank match travels as an xt blob.
        if self.option != 0 || self.option_inv || self.is_blank() {
            return Ok(true);
        }
        if cx.proto != 6 {
            return Err(XtError::new("TCP match requires '-p tcp'"));
        }
        // What the kernel evaluates: the expressions add_nft_tcp emitted.
        let mut tests = native_port_tests(self.sport, self.sport_inv, self.dport, self.dport_inv);
        if self.flg_mask != 0 {
            tests.push(NativeTest::Flags {
                mask: self.flg_mask,
                cmp: self.flg_cmp,
                inv: self.flags_inv,
            });
        }
        if tests.is_empty() {
            return Ok(false);
        }
        // iptables-nft rebuilds one tcp match from all of a rule's tcp expressions.
        let first = rule
            .iter()
            .position(|m| m.as_any().downcast_ref::<Tcp>().is_some_and(|t| t.native));
        let mut back = match first {
            Some(i) => rule[i]
                .as_any()
                .downcast_ref::<Tcp>()
                .cloned()
                .unwrap_or_default(),
            None => Tcp {
                native: true,
                ..Tcp::default()
            },
        };
        for t in &tests {
            back.read_back(t);
        }
        if back.tests.is_empty() {
            back.tests = tests;
        } else {
            back.tests.extend(tests);
        }
        match first {
            Some(i) => rule[i] = Box::new(back),
            None => rule.push(Box::new(back)),
        }
        Ok(false)
    }

    fn check(&self, cx: &super::CheckCx) -> Result<(), KernelError> {
        // xt_tcp is registered for IPPROTO_TCP: x_tables refuses other or inverted protocols.
        if !self.native && (cx.proto != 6 || cx.proto_invert) {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn data_key(&self) -> String {
        // The xt_tcp data, without our record of which options were given.
        let data = Tcp {
            seen: 0,
            tests: Vec::new(),
            ..self.clone()
        };
        format!("{data:?}")
    }

    fn save(&self, out: &mut String) {
        if self.sport != ALL_PORTS {
            xtopt::save_ports(out, "sport", self.sport, self.sport_inv);
        }
        if self.dport != ALL_PORTS {
            xtopt::save_ports(out, "dport", self.dport, self.dport_inv);
        }
        if self.option != 0 || self.option_inv {
            if self.option_inv {
                out.push_str(" !");
            }
            out.push_str(&format!(" --tcp-option {}", self.option));
        }
        if self.flg_mask != 0 || self.flags_inv {
            if self.flags_inv {
                out.push_str(" !");
            }
            out.push_str(&format!(
                " --tcp-flags {} {}",
                flags_text(self.flg_mask),
                flags_text(self.flg_cmp)
            ));
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" tcp");
        xtopt::print_ports(out, "spt", self.sport, self.sport_inv, "tcp", numeric);
        xtopt::print_ports(out, "dpt", self.dport, self.dport_inv, "tcp", numeric);
        if self.option != 0 || self.option_inv {
            out.push_str(&format!(
                " option={}{}",
                if self.option_inv { "!" } else { "" },
                self.option
            ));
        }
        if self.flg_mask != 0 || self.flags_inv {
            out.push_str(" flags:");
            if self.flags_inv {
                out.push('!');
            }
            if numeric {
                out.push_str(&format!("0x{:02X}/0x{:02X}", self.flg_mask, self.flg_cmp));
            } else {
                out.push_str(&format!(
                    "{}/{}",
                    flags_text(self.flg_mask),
                    flags_text(self.flg_cmp)
                ));
            }
        }
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
        if self.option != 0 {
            parts.push(format!(
                "{} TCP option {}",
                if self.option_inv { "without" } else { "with" },
                self.option
            ));
        }
        if self.flg_mask == SYN | RST | ACK | FIN && self.flg_cmp == SYN {
            parts.push(if self.flags_inv {
                "that are not a connection-opening SYN".into()
            } else {
                "that open a connection (SYN set; ACK, RST and FIN clear)".into()
            });
        } else if self.flg_mask != 0 {
            let set = self.flg_cmp & self.flg_mask;
            let clear = self.flg_mask & !self.flg_cmp;
            let with = match (set, clear) {
                (0, 0x3f) => "no TCP flag set".to_string(),
                (0x3f, 0) => "every TCP flag set".to_string(),
                (0, c) => format!("{} clear", flags_text(c)),
                (s, 0) => format!("{} set", flags_text(s)),
                (s, c) => format!("{} set and {} clear", flags_text(s), flags_text(c)),
            };
            parts.push(if self.flags_inv {
                format!("with any TCP flags but {with}")
            } else {
                format!("with {with}")
            });
        }
        if parts.is_empty() {
            return "of any TCP ports".to_string();
        }
        parts.join(" ")
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

    fn always_matches(&self) -> bool {
        // A native match with no test (`-p tcp -m tcp`) is no expression at all.
        self.native && self.tests.is_empty()
    }

    fn native_test(&self) -> Option<NativeTest> {
        match self.tests[..] {
            [t] if self.native => Some(t),
            _ => None,
        }
    }

    fn header_test(&self) -> Option<usize> {
        (!self.native && self.is_blank()).then_some(20)
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        if self.native {
            let l4 = cx.transport();
            return match self.tests.iter().find(|t| !t.eval(l4).0) {
                Some(t) => t.why_not(l4, cx.hdr.frag_offset != 0, "TCP"),
                None => "-m tcp matched".into(),
            };
        }
        let Err(m) = self.eval_xt(cx) else {
            return "-m tcp matched".into();
        };
        let flags = || {
            format!(
                "{}--tcp-flags {} {}",
                if self.flags_inv { "! " } else { "" },
                flags_text(self.flg_mask),
                flags_text(self.flg_cmp)
            )
        };
        let option = || {
            format!(
                "{}--tcp-option {}",
                if self.option_inv { "! " } else { "" },
                self.option
            )
        };
        match m {
            Miss::Header(h) => xtopt::miss(&self.rule_text(), &h.text("TCP")),
            Miss::EvilFragment => xtopt::miss(
                &self.rule_text(),
                "a fragment at offset 8 could overwrite the TCP flags, so the kernel drops it",
            ),
            Miss::Sport(p) => xtopt::miss(
                &xtopt::range_opt("sport", self.sport, self.sport_inv),
                &format!("source port is {p}"),
            ),
            Miss::Dport(p) => xtopt::miss(
                &xtopt::range_opt("dport", self.dport, self.dport_inv),
                &format!("destination port is {p}"),
            ),
            Miss::Flags(f) => xtopt::miss(
                &flags(),
                &format!("the packet's flags are {}", flags_text(f)),
            ),
            Miss::BadOffset(d) => xtopt::miss(
                &option(),
                &format!("the TCP data offset is {d} words (under 5), so the kernel drops the packet"),
            ),
            Miss::OptionsShort { have, need } => xtopt::miss(
                &option(),
                &format!(
                    "the TCP options are cut short ({have} of {need} header bytes), so the kernel drops the packet"
                ),
            ),
            Miss::Option(true) => xtopt::miss(
                &option(),
                &format!("the packet carries TCP option {}", self.option),
            ),
            Miss::Option(false) => xtopt::miss(
                &option(),
                &format!("the packet has no TCP option {}", self.option),
            ),
        }
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
    fn implicit_load_and_save() {
        let mut h = Host::new("h");
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -p tcp --dport 22 --syn -j ACCEPT"
            )
            .exit,
            0
        );
        let out = run(&mut h, "iptables -S INPUT");
        assert_eq!(
            out.stdout,
            "-P INPUT ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT\n"
        );
    }

    #[test]
    fn list_shows_service_names() {
        let mut h = Host::new("h");
        run(&mut h, "iptables -A INPUT -p tcp --dport 22 -j ACCEPT");
        let out = run(&mut h, "iptables -L INPUT");
        assert_eq!(
            out.stdout,
            "Chain INPUT (policy ACCEPT)\n\
target     prot opt source               destination         \n\
ACCEPT     tcp  --  anywhere             anywhere             tcp dpt:ssh\n"
        );
    }

    #[test]
    fn port_errors() {
        let mut h = Host::new("h");
        let out = run(&mut h, "iptables -A INPUT -p tcp --sport 4:3");
        assert_eq!(
            out.stderr,
            "iptables v1.8.9 (nf_tables): invalid portrange (min > max)\nTry `iptables -h' or 'iptables --help' for more information.\n"
        );
        let out = run(&mut h, "iptables -A INPUT -m tcp --dport 1");
        assert_eq!(out.exit, 2);
        assert!(out.stderr.contains("TCP match requires '-p tcp'"));
    }

    fn first_rule(h: &mut Host) -> String {
        let out = run(h, "iptables -S INPUT");
        out.stdout.lines().nth(1).unwrap_or("").to_string()
    }

    #[test]
    fn nft_readback_quirks() {
        let cases = [
            ("-p tcp -m tcp --sport :", "-A INPUT -p tcp -m tcp"),
            ("-p tcp -m tcp ! --sport :", "-A INPUT -p tcp"),
            (
                "-p tcp ! --sport : --syn",
                "-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN",
            ),
            (
                "-p tcp -m tcp --sport 1 -m tcp --dport 2",
                "-A INPUT -p tcp -m tcp --sport 1 --dport 2",
            ),
            (
                "-p tcp -m tcp ! --dport 2 -m tcp --dport 3",
                "-A INPUT -p tcp -m tcp ! --dport 3",
            ),
            (
                "-p tcp -m tcp --tcp-option 3 -m tcp --dport 2",
                "-A INPUT -p tcp -m tcp --tcp-option 3 -m tcp --dport 2",
            ),
            ("-p tcp -m tcp --tcp-flags NONE SYN", "-A INPUT -p tcp"),
            (
                "! -p tcp -m tcp --tcp-flags SYN SYN",
                "-A INPUT ! -p tcp -m tcp --tcp-flags SYN SYN",
            ),
            (
                "-p tcp --tcp-flags ALL NONE",
                "-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE",
            ),
            (
                "-p tcp --sport 0x10:010",
                "-A INPUT -p tcp -m tcp --sport 16:8",
            ),
        ];
        for (spec, want) in cases {
            let mut h = Host::new("h");
            let out = run(&mut h, &format!("iptables -A INPUT {spec}"));
            if spec.contains("0x10") {
                // min > max is refused for tcp.
                assert_eq!(out.exit, 2);
                continue;
            }
            assert_eq!(out.exit, 0, "{spec}: {}", out.stderr);
            assert_eq!(first_rule(&mut h), want, "{spec}");
            // -D finds the rule by the same text.
            assert_eq!(run(&mut h, &format!("iptables -D INPUT {spec}")).exit, 0);
        }
    }

    #[test]
    fn list_text() {
        let mut h = Host::new("h");
        run(
            &mut h,
            "iptables -A INPUT -p tcp ! --sport 1024: --tcp-option 2 ! --syn",
        );
        let out = run(&mut h, "iptables -n -L INPUT");
        assert!(out
            .stdout
            .ends_with("tcp spts:!1024:65535 option=2 flags:!0x17/0x02\n"));
        let out = run(&mut h, "iptables -L INPUT");
        assert!(out
            .stdout
            .ends_with("tcp spts:!1024:65535 option=2 flags:!FIN,SYN,RST,ACK/SYN\n"));
    }

    #[test]
    fn proto_errors() {
        let mut h = Host::new("h");
        // Native (ports, flags) without -p tcp: refused by iptables.
        let out = run(&mut h, "iptables -A INPUT -p udp -m tcp --syn");
        assert_eq!(out.exit, 2);
        assert!(out.stderr.contains("TCP match requires '-p tcp'"));
        // An xt blob (option, or nothing) without -p tcp: refused by the kernel.
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m tcp --tcp-option 5").exit,
            4
        );
        assert_eq!(run(&mut h, "iptables -A INPUT -m tcp").exit, 4);
        let out = run(&mut h, "iptables -A INPUT -p tcp --tcp-option 0");
        assert!(out.stderr.contains("Bad TCP option \"0\""));
        let out = run(&mut h, "iptables -A INPUT -p tcp --tcp-flags SYN,FOO SYN");
        assert!(out.stderr.contains("Unknown TCP flag `FOO'"));
        let out = run(&mut h, "iptables -A INPUT -p tcp --tcp-flags SYN");
        assert!(out.stderr.contains("--tcp-flags requires two args."));
    }
}

#[cfg(test)]
mod eval_tests {
    use crate::ext::xtopt::lab::*;
    use crate::packet::tcp_flags::{ACK, SYN};

    const B: &str = "192.168.1.2";

    #[test]
    fn native_ports_and_flags() {
        let mut w = world(&[
            "-A FORWARD -p tcp --dport 22",
            "-A FORWARD -p tcp ! --dport 22",
            "-A FORWARD -p tcp --sport 1000:2000",
            "-A FORWARD -p tcp ! --sport 5 ! --dport 22",
            "-A FORWARD -p tcp --syn",
            "-A FORWARD -p tcp ! --tcp-flags SYN,ACK ACK",
        ]);
        let s = inject(&mut w, tcp(5, B, 80, SYN, vec![]));
        assert_eq!(s.pattern("FORWARD"), [false, true, false, true, true, true]);
        assert_eq!(
            s.why("FORWARD", 1),
            "`--dport 22` did not match: destination port is 80"
        );
        assert_eq!(
            s.why("FORWARD", 3),
            "`--sport 1000:2000` did not match: source port is 5"
        );
        let s = inject(&mut w, tcp(1500, B, 22, ACK, vec![]));
        assert_eq!(
            s.pattern("FORWARD"),
            [true, false, true, true, false, false]
        );
        assert_eq!(
            s.why("FORWARD", 2),
            "`! --dport 22` did not match: destination port is 22"
        );
        assert_eq!(
            s.why("FORWARD", 5),
            "`--tcp-flags FIN,SYN,RST,ACK SYN` did not match: the packet's flags are ACK"
        );
        assert_eq!(
            s.why("FORWARD", 6),
            "`! --tcp-flags SYN,ACK ACK` did not match: the packet's flags are ACK"
        );
        // 1.8.9 compares `! --sport 5 ! --dport 22` as one pair: only 5 -> 22 fails.
        let s = inject(&mut w, tcp(5, B, 22, ACK, vec![]));
        assert!(!s.matched("FORWARD", 4));
        assert_eq!(
            s.why("FORWARD", 4),
            "`! --sport 5 ! --dport 22` did not match: source port is 5 and destination \
port is 22 (iptables-nft 1.8.9 compares the two ports as one pair)"
        );
    }

    #[test]
    fn native_reads_back_like_1_8_9() {
        let mut w = world(&[
            "-A FORWARD -p tcp ! --dport :100",
            "-A FORWARD -p tcp -m tcp --dport 5: -m tcp --dport :100",
            "-A FORWARD -p tcp ! --sport 0:65534",
        ]);
        let out = crate::command::run_argv(
            &mut w.hosts[0],
            &["iptables".into(), "-S".into(), "FORWARD".into()],
            None,
        );
        assert_eq!(
            out.stdout,
            "-P FORWARD ACCEPT\n\
-A FORWARD -p tcp -m tcp --dport 101:65535\n\
-A FORWARD -p tcp -m tcp --dport 5:100\n\
-A FORWARD -p tcp -m tcp --sport 65535\n"
        );
        let s = inject(&mut w, tcp(65535, B, 100, SYN, vec![]));
        assert_eq!(s.pattern("FORWARD"), [false, true, true]);
        let s = inject(&mut w, tcp(1, B, 101, SYN, vec![]));
        assert_eq!(s.pattern("FORWARD"), [true, false, false]);
        // The failing test is named as the rule gave it.
        assert_eq!(
            s.why("FORWARD", 2),
            "`--dport 0:100` did not match: destination port is 101"
        );
    }

    #[test]
    fn native_tests_on_fragments_and_short_headers() {
        let mut w = world(&[
            "-A FORWARD -p tcp --dport 0",
            "-A FORWARD -p tcp --syn",
            "-A FORWARD -p tcp",
        ]);
        // A later fragment: nf_tables reads its data as if it were the header.
        let s = inject(&mut w, raw(6, 100, &[0; 16]));
        assert_eq!(s.pattern("FORWARD"), [true, false, true]);
        assert_eq!(
            s.why("FORWARD", 2),
            "`--tcp-flags FIN,SYN,RST,ACK SYN` did not match: the packet's flags are NONE \
(a later fragment: nf_tables reads its data as the TCP header)"
        );
        // Four bytes of header: the ports are there, the flags are not; nothing is dropped.
        let s = inject(&mut w, raw(6, 0, &[0, 1, 0, 0]));
        assert_eq!(s.pattern("FORWARD"), [true, false, true]);
        assert_eq!(
            s.why("FORWARD", 2),
            "`--tcp-flags FIN,SYN,RST,ACK SYN` did not match: the TCP header is too short to hold it (4 bytes)"
        );
        assert!(s.outcome.starts_with("forwarded"), "{}", s.outcome);
    }

    #[test]
    fn xt_tcp_option_and_hotdrop() {
        let mut w = world(&[
            "-A FORWARD -p tcp --tcp-option 2",
            "-A FORWARD -p tcp ! --tcp-option 2",
            "-A FORWARD -p tcp -m tcp --sport 7 --dport 80 --tcp-option 8",
            "-A FORWARD -p tcp",
        ]);
        let s = inject(&mut w, tcp(7, B, 80, SYN, vec![2, 4, 5, 0xb4]));
        assert_eq!(s.pattern("FORWARD"), [true, false, false, true]);
        assert_eq!(
            s.why("FORWARD", 2),
            "`! --tcp-option 2` did not match: the packet carries TCP option 2"
        );
        assert_eq!(
            s.why("FORWARD", 3),
            "`--tcp-option 8` did not match: the packet has no TCP option 8"
        );
        // Option kinds 0 and 1 take one byte; the walk goes on after an EOL.
        let s = inject(
            &mut w,
            tcp(7, B, 80, ACK, vec![0, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0]),
        );
        assert_eq!(s.pattern("FORWARD"), [false, true, true, true]);
        let s = inject(&mut w, tcp(8, B, 80, ACK, vec![]));
        assert_eq!(
            s.why("FORWARD", 3),
            "`--sport 7` did not match: source port is 8"
        );
        // A header cut short: xt_tcp drops the packet at once.
        let s = inject(&mut w, raw(6, 0, &[0; 10]));
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        assert!(!s.reached("FORWARD", 2));
        assert_eq!(
            s.why("FORWARD", 1),
            "`-m tcp --tcp-option 2` did not match: the TCP header is cut short (10 of 20 \
bytes), so the kernel drops the packet"
        );
        // A data offset under 5 words while looking for an option: dropped.
        let mut hdr = tcp(7, B, 80, SYN, vec![]).data[20..].to_vec();
        hdr[12] = 4 << 4;
        let s = inject(&mut w, raw(6, 0, &hdr));
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        assert!(s.why("FORWARD", 1).contains("data offset is 4 words"));
        // Options announced beyond the packet: dropped.
        hdr[12] = 8 << 4;
        let s = inject(&mut w, raw(6, 0, &hdr));
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        assert!(s.why("FORWARD", 1).contains("(20 of 32 header bytes)"));
        // A fragment at offset 8 bytes could rewrite the flags: dropped.
        let s = inject(&mut w, raw(6, 1, &[0; 16]));
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        // Later fragments do not match, and are not dropped.
        let s = inject(&mut w, raw(6, 2, &[0; 16]));
        assert_eq!(s.pattern("FORWARD"), [false, false, false, true]);
        assert_eq!(
            s.why("FORWARD", 2),
            "`-m tcp ! --tcp-option 2` did not match: a later fragment has no TCP header"
        );
    }
}
