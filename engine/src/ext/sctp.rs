//! `-m sctp` (also loaded by `-p sctp`): SCTP ports and chunk types (with chunk flags).

use super::xtopt::{self, NoHeader};
use super::{EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

const O_SPORT: u8 = 0;
const O_DPORT: u8 = 1;
const O_CHUNKS: u8 = 2;

pub static INFO: ExtInfo = ExtInfo {
    name: "sctp",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("source-port", O_SPORT).inv(),
        OptSpec::arg("sport", O_SPORT).inv(),
        OptSpec::arg("destination-port", O_DPORT).inv(),
        OptSpec::arg("dport", O_DPORT).inv(),
        OptSpec::arg("chunk-types", O_CHUNKS).inv(),
    ],
    guided: false,
    help: "sctp match options
[!] --source-port port[:port]          match source port(s)
 --sport ...
[!] --destination-port port[:port]     match destination port(s)
 --dport ...
[!] --chunk-types (all|any|only) (chunktype[:flags])+
                                       match when all, any or only these chunk types are present
chunktypes - DATA INIT INIT_ACK SACK HEARTBEAT HEARTBEAT_ACK ABORT SHUTDOWN SHUTDOWN_ACK ERROR COOKIE_ECHO COOKIE_ACK ECN_ECNE ECN_CWR SHUTDOWN_COMPLETE I_DATA RE_CONFIG PAD ASCONF ASCONF_ACK FORWARD_TSN I_FORWARD_TSN ALL NONE\n",
    new_match: Some(|| Box::new(Sctp::default())),
    new_target: None,
};

/// Chunk names, their type numbers and the flag letters they accept (bit 7 first).
const CHUNKS: [(&str, u8, &str); 22] = [
    ("DATA", 0, "----IUBE"),
    ("INIT", 1, "--------"),
    ("INIT_ACK", 2, "--------"),
    ("SACK", 3, "--------"),
    ("HEARTBEAT", 4, "--------"),
    ("HEARTBEAT_ACK", 5, "--------"),
    ("ABORT", 6, "-------T"),
    ("SHUTDOWN", 7, "--------"),
    ("SHUTDOWN_ACK", 8, "--------"),
    ("ERROR", 9, "--------"),
    ("COOKIE_ECHO", 10, "--------"),
    ("COOKIE_ACK", 11, "--------"),
    ("ECN_ECNE", 12, "--------"),
    ("ECN_CWR", 13, "--------"),
    ("SHUTDOWN_COMPLETE", 14, "-------T"),
    ("I_DATA", 64, "----IUBE"),
    ("RE_CONFIG", 130, "--------"),
    ("PAD", 132, "--------"),
    ("ASCONF", 193, "--------"),
    ("ASCONF_ACK", 128, "--------"),
    ("FORWARD_TSN", 192, "--------"),
    ("I_FORWARD_TSN", 194, "--------"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkMatch {
    Any,
    All,
    Only,
}

impl ChunkMatch {
    fn name(self) -> &'static str {
        match self {
            ChunkMatch::Any => "any",
            ChunkMatch::All => "all",
            ChunkMatch::Only => "only",
        }
    }
}

/// Flag tests on one chunk type (`xt_sctp_flag_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkFlags {
    /// As libxt_sctp 1.8.9 stores it: the chunk's position in its name
    /// table, which equals the type number only for types 0-14.
    pub chunktype: u8,
    pub flag: u8,
    pub mask: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunks {
    pub how: ChunkMatch,
    /// Bit per chunk type.
    pub map: [u32; 8],
    pub flags: Vec<ChunkFlags>,
    pub inv: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sctp {
    pub sport: Option<((u16, u16), bool)>,
    pub dport: Option<((u16, u16), bool)>,
    pub chunks: Option<Chunks>,
}

fn parse_chunks(how: &str, list: &str, inv: bool) -> XtResult<Chunks> {
    let how = match how.to_ascii_uppercase().as_str() {
        "ANY" => ChunkMatch::Any,
        "ALL" => ChunkMatch::All,
        "ONLY" => ChunkMatch::Only,
        _ => {
            return Err(XtError::new(
                "Match type has to be one of \"ALL\", \"ANY\" or \"ONLY\"",
            ))
        }
    };
    let mut c = Chunks {
        how,
        map: [0; 8],
        flags: Vec::new(),
        inv,
    };
    if list.eq_ignore_ascii_case("ALL") {
        c.map = [u32::MAX; 8];
        return Ok(c);
    }
    if list.eq_ignore_ascii_case("NONE") {
        return Ok(c);
    }
    for item in list.split(',').filter(|s| !s.is_empty()) {
        let (name, letters) = match item.split_once(':') {
            Some((n, f)) => (n, Some(f)),
            None => (item, None),
        };
        let idx = CHUNKS
            .iter()
            .position(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| XtError::new(format!("Unknown sctp chunk `{name}'")))?;
        let (_, ty, valid) = CHUNKS[idx];
        c.map[ty as usize / 32] |= 1 << (ty % 32);
        for ch in letters.unwrap_or("").chars() {
            let pos = valid
                .find(ch.to_ascii_uppercase())
                .filter(|_| ch != '-')
                .ok_or_else(|| XtError::new(format!("Invalid flags for chunk type {idx}")))?;
            let bit = 1u8 << (7 - pos);
            let set = if ch.is_ascii_uppercase() { bit } else { 0 };
            match c.flags.iter_mut().find(|f| f.chunktype == idx as u8) {
                Some(f) => {
                    f.mask |= bit;
                    f.flag |= set;
                }
                None => {
                    if c.flags.len() == 4 {
                        return Err(XtError::new(
                            "Number of chunk types with flags exceeds currently allowed limit.\
Increasing this limit involves changing IPT_NUM_SCTP_FLAGS and\
recompiling both the kernel space and user space modules\n",
                        ));
                    }
                    c.flags.push(ChunkFlags {
                        chunktype: idx as u8,
                        flag: set,
                        mask: bit,
                    });
                }
            }
        }
    }
    Ok(c)
}

impl Chunks {
    /// ` all DATA:I,ABORT`, ` any NONE`, numeric ` all 0x0000:I`.
    fn text(&self, numeric: bool) -> String {
        format!(" {} {}", self.how.name(), self.list(numeric))
    }

    /// `DATA:I,ABORT`, `NONE`, `ALL`.
    fn list(&self, numeric: bool) -> String {
        if self.map == [0; 8] {
            return "NONE".into();
        }
        if self.map == [u32::MAX; 8] {
            return "ALL".into();
        }
        let mut s = String::new();
        let mut first = true;
        for ty in 0..256usize {
            if self.map[ty / 32] & (1 << (ty % 32)) == 0 {
                continue;
            }
            if !first {
                s.push(',');
            }
            first = false;
            if numeric {
                s.push_str(&format!("0x{ty:04X}"));
            } else if let Some((n, _, _)) = CHUNKS.iter().find(|c| c.1 as usize == ty) {
                s.push_str(n);
            }
            for f in self.flags.iter().filter(|f| f.chunktype as usize == ty) {
                if f.mask != 0 {
                    s.push(':');
                }
                // libxt_sctp reads the letters by type number from its name table.
                let letters = CHUNKS.get(ty).map(|c| c.2).unwrap_or("--------");
                for i in (0..8).rev() {
                    if f.mask & (1 << i) != 0 {
                        let l = letters.as_bytes()[7 - i] as char;
                        s.push(if f.flag & (1 << i) != 0 {
                            l
                        } else {
                            l.to_ascii_lowercase()
                        });
                    }
                }
            }
        }
        s
    }
}

impl Match for Sctp {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_SPORT => {
                if self.sport.is_some() {
                    return Err(XtError::new("Only one `--source-port' allowed"));
                }
                self.sport = Some((xtopt::parse_port_range(arg, "sctp", true)?, inv));
            }
            O_DPORT => {
                if self.dport.is_some() {
                    return Err(XtError::new("Only one `--destination-port' allowed"));
                }
                self.dport = Some((xtopt::parse_port_range(arg, "sctp", true)?, inv));
            }
            _ => {
                if self.chunks.is_some() {
                    return Err(XtError::new("Only one `--chunk-types' allowed"));
                }
                let Some(list) = cx.take_word() else {
                    return Err(XtError::new("--chunk-types requires two args"));
                };
                self.chunks = Some(parse_chunks(arg, &list, inv)?);
            }
        }
        Ok(())
    }

    fn check(&self, cx: &super::CheckCx) -> Result<(), KernelError> {
        // xt_sctp is registered for IPPROTO_SCTP.
        if cx.proto != 132 || cx.proto_invert {
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
        if let Some(c) = &self.chunks {
            if c.inv {
                out.push_str(" !");
            }
            out.push_str(" --chunk-types");
            out.push_str(&c.text(false));
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" sctp");
        if let Some((r, inv)) = self.sport {
            xtopt::print_ports(out, "spt", r, inv, "sctp", numeric);
        }
        if let Some((r, inv)) = self.dport {
            xtopt::print_ports(out, "dpt", r, inv, "sctp", numeric);
        }
        if let Some(c) = &self.chunks {
            if c.inv {
                out.push_str(" !");
            }
            out.push_str(&c.text(numeric));
        }
    }

    fn explain(&self) -> String {
        let mut parts = vec!["SCTP".to_string()];
        let but = |inv: bool| if inv { "any but " } else { "" };
        if let Some((r, inv)) = self.sport {
            parts.push(format!("from {}{}", but(inv), xtopt::explain_ports(r)));
        }
        if let Some((r, inv)) = self.dport {
            parts.push(format!("to {}{}", but(inv), xtopt::explain_ports(r)));
        }
        if let Some(c) = &self.chunks {
            let how = match c.how {
                ChunkMatch::Any => "any of",
                ChunkMatch::All => "all of",
                ChunkMatch::Only => "only",
            };
            parts.push(format!(
                "{}carrying {how} the chunks {}",
                if c.inv { "not " } else { "" },
                c.list(false)
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
        let chunks_opt = |c: &Chunks| {
            format!(
                "{}--chunk-types{}",
                if c.inv { "! " } else { "" },
                c.text(false)
            )
        };
        match self.eval(cx) {
            Ok(()) => "-m sctp matched".into(),
            Err(Miss::Header(h)) => {
                let mut s = "-m sctp".to_string();
                self.save(&mut s);
                xtopt::miss(&s, &h.text("SCTP"))
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
            Err(Miss::Chunks) => {
                let Some(c) = &self.chunks else {
                    return "-m sctp did not match".into();
                };
                let l4 = cx.transport();
                xtopt::miss(
                    &chunks_opt(c),
                    &format!("the packet's chunks are {}", chunk_list(l4)),
                )
            }
            Err(Miss::BadChunk(at)) => {
                let opt = self.chunks.as_ref().map(chunks_opt).unwrap_or_default();
                xtopt::miss(
                    &opt,
                    &format!(
                        "the chunk header at byte {at} of the SCTP packet is missing or has length 0, so the kernel drops the packet"
                    ),
                )
            }
        }
    }
}

/// Why the kernel's `sctp_mt` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    Header(NoHeader),
    Sport(u16),
    Dport(u16),
    /// The chunk test (after its inversion) failed.
    Chunks,
    /// A chunk header cut short or of length 0, at this offset: dropped.
    BadChunk(usize),
}

impl Miss {
    fn hotdrop(&self) -> bool {
        match self {
            Miss::Header(h) => h.hotdrop(),
            Miss::BadChunk(_) => true,
            _ => false,
        }
    }
}

/// Size of the SCTP common header (ports, verification tag, checksum).
const COMMON: usize = 12;

/// The chunk types of a packet as names (`INIT,DATA`), for messages.
fn chunk_list(l4: &[u8]) -> String {
    let mut names = Vec::new();
    let mut off = COMMON;
    while let Some(ch) = l4.get(off..off + 4) {
        let len = xtopt::be16(ch, 2) as usize;
        names.push(match CHUNKS.iter().find(|c| c.1 == ch[0]) {
            Some(c) => c.0.to_string(),
            None => ch[0].to_string(),
        });
        if len == 0 {
            break;
        }
        off += (len + 3) & !3;
    }
    if names.is_empty() {
        "none".into()
    } else {
        names.join(",")
    }
}

impl Chunks {
    fn has(&self, map: &[u32; 8], ty: u8) -> bool {
        map[ty as usize / 32] & (1 << (ty % 32)) != 0
    }

    /// The kernel's `match_flags`: the first flag test for this chunk type
    /// decides (stored under the name table position, see [`ChunkFlags`]).
    fn flags_ok(&self, ty: u8, flags: u8) -> bool {
        match self.flags.iter().find(|f| f.chunktype == ty) {
            Some(f) => flags & f.mask == f.flag,
            None => true,
        }
    }

    /// The kernel's `match_packet` over the chunks after the common header;
    /// `Err(offset)` when a chunk header is missing or has length 0.
    fn eval(&self, l4: &[u8]) -> Result<bool, usize> {
        let mut left = self.map;
        let mut off = COMMON;
        loop {
            let ch = l4.get(off..off + 4).ok_or(off)?;
            let len = xtopt::be16(ch, 2) as usize;
            if len == 0 {
                return Err(off);
            }
            let (ty, flags) = (ch[0], ch[1]);
            off += (len + 3) & !3;
            if self.has(&self.map, ty) {
                match self.how {
                    ChunkMatch::Any => {
                        if self.flags_ok(ty, flags) {
                            return Ok(true);
                        }
                    }
                    ChunkMatch::All => {
                        if self.flags_ok(ty, flags) {
                            left[ty as usize / 32] &= !(1 << (ty % 32));
                        }
                    }
                    ChunkMatch::Only => {
                        if !self.flags_ok(ty, flags) {
                            return Ok(false);
                        }
                    }
                }
            } else if self.how == ChunkMatch::Only {
                return Ok(false);
            }
            if off >= l4.len() {
                break;
            }
        }
        Ok(match self.how {
            ChunkMatch::All => left == [0; 8],
            ChunkMatch::Any => false,
            ChunkMatch::Only => true,
        })
    }
}

impl Sctp {
    /// The kernel's `sctp_mt`: ports, then the chunks (only looked at when
    /// the ports passed).
    fn eval(&self, cx: &EvalCx) -> Result<(), Miss> {
        let sh = xtopt::xt_header(cx, COMMON).map_err(Miss::Header)?;
        let sport = xtopt::be16(sh, 0);
        if let Some((r, inv)) = self.sport {
            if xtopt::in_range(r, sport) == inv {
                return Err(Miss::Sport(sport));
            }
        }
        let dport = xtopt::be16(sh, 2);
        if let Some((r, inv)) = self.dport {
            if xtopt::in_range(r, dport) == inv {
                return Err(Miss::Dport(dport));
            }
        }
        if let Some(c) = &self.chunks {
            if c.eval(sh).map_err(Miss::BadChunk)? == c.inv {
                return Err(Miss::Chunks);
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
            show("-p sctp --sport 1 ! --dport 2:3 --chunk-types any data,INIT"),
            (
                "-A INPUT -p sctp -m sctp --sport 1 ! --dport 2:3 --chunk-types any DATA,INIT"
                    .into(),
                "sctp spt:1 dpts:!2:3 any DATA,INIT".into(),
                "sctp spt:1 dpts:!2:3 any 0x0000,0x0001".into()
            )
        );
        assert_eq!(
            show("-p sctp ! --chunk-types ALL DATA:IUbe,ABORT:T,DATA:i"),
            (
                "-A INPUT -p sctp -m sctp ! --chunk-types all DATA:IUbe,ABORT:T".into(),
                "sctp ! all DATA:IUbe,ABORT:T".into(),
                "sctp ! all 0x0000:IUbe,0x0006:T".into()
            )
        );
        // Chunks print in type order; I_DATA flags are lost like in 1.8.9.
        assert_eq!(
            show("-p sctp --chunk-types only I_FORWARD_TSN,I_DATA:I,ASCONF_ACK").0,
            "-A INPUT -p sctp -m sctp --chunk-types only I_DATA,ASCONF_ACK,I_FORWARD_TSN"
        );
        assert_eq!(
            show("-p sctp --chunk-types any none --sport :").0,
            "-A INPUT -p sctp -m sctp --sport 0:65535 --chunk-types any NONE"
        );
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let cases = [
            (
                "--chunk-types some DATA",
                "Match type has to be one of \"ALL\", \"ANY\" or \"ONLY\"",
            ),
            ("--chunk-types all FOO", "Unknown sctp chunk `FOO'"),
            ("--chunk-types all INIT:I", "Invalid flags for chunk type 1"),
            (
                "--chunk-types all I_DATA:X",
                "Invalid flags for chunk type 15",
            ),
            ("--chunk-types all", "--chunk-types requires two args"),
            ("--sport 4:3", "invalid portrange (min > max)"),
            ("--sport 65536", "invalid port/service `65536' specified"),
            (
                "--dport 1 --dport 2",
                "Only one `--destination-port' allowed",
            ),
        ];
        for (spec, msg) in cases {
            let out = run(&mut h, &format!("iptables -A INPUT -p sctp {spec}"));
            assert_eq!(
                out.stderr,
                format!("iptables v1.8.9 (nf_tables): {msg}\nTry `iptables -h' or 'iptables --help' for more information.\n"),
                "{spec}"
            );
        }
        assert_eq!(run(&mut h, "iptables -A INPUT -m sctp --sport 1").exit, 4);
    }
}

#[cfg(test)]
mod eval_tests {
    use crate::ext::xtopt::lab::*;
    use crate::packet::Packet;

    /// An SCTP packet with these chunks (type, flags, value bytes).
    fn sctp(sport: u16, dport: u16, chunks: &[(u8, u8, usize)]) -> Packet {
        let mut p = Vec::new();
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
        for &(ty, flags, len) in chunks {
            p.extend_from_slice(&[ty, flags]);
            p.extend_from_slice(&((4 + len) as u16).to_be_bytes());
            p.resize(p.len() + len.div_ceil(4) * 4, 0);
        }
        raw(132, 0, &p)
    }

    #[test]
    fn ports_and_chunk_types() {
        let mut w = world(&[
            "-A FORWARD -p sctp --dport 9 --sport 1:100",
            "-A FORWARD -p sctp -m sctp --chunk-types any INIT,ABORT",
            "-A FORWARD -p sctp -m sctp --chunk-types all DATA,SACK",
            "-A FORWARD -p sctp -m sctp --chunk-types only DATA",
            "-A FORWARD -p sctp -m sctp ! --chunk-types any ABORT",
            "-A FORWARD -p sctp -m sctp --chunk-types any DATA:Be",
        ]);
        let s = inject(&mut w, sctp(5, 9, &[(1, 0, 16)]));
        assert_eq!(
            s.pattern("FORWARD"),
            [true, true, false, false, true, false]
        );
        assert_eq!(
            s.why("FORWARD", 3),
            "`--chunk-types all DATA,SACK` did not match: the packet's chunks are INIT"
        );
        // DATA with B set and E clear, then SACK.
        let s = inject(&mut w, sctp(500, 9, &[(0, 0x02, 8), (3, 0, 12)]));
        assert_eq!(
            s.pattern("FORWARD"),
            [false, false, true, false, true, true]
        );
        assert_eq!(
            s.why("FORWARD", 1),
            "`--sport 1:100` did not match: source port is 500"
        );
        assert_eq!(
            s.why("FORWARD", 4),
            "`--chunk-types only DATA` did not match: the packet's chunks are DATA,SACK"
        );
        // DATA with B and E set fails the flag test; ABORT is refused by the inversion.
        let s = inject(&mut w, sctp(500, 9, &[(0, 0x03, 8), (6, 0, 0)]));
        assert_eq!(
            s.pattern("FORWARD"),
            [false, true, false, false, false, false]
        );
        assert_eq!(
            s.why("FORWARD", 5),
            "`! --chunk-types any ABORT` did not match: the packet's chunks are DATA,ABORT"
        );
    }

    #[test]
    fn bad_chunks_and_short_headers_drop() {
        let mut w = world(&[
            "-A FORWARD -p sctp --dport 9",
            "-A FORWARD -p sctp -m sctp ! --chunk-types any INIT",
            "-A FORWARD -p sctp",
        ]);
        // The port test alone does not look at the chunks.
        let mut p = vec![0, 5, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0];
        let s = inject(&mut w, raw(132, 0, &p));
        assert!(s.matched("FORWARD", 1));
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        assert_eq!(
            s.why("FORWARD", 2),
            "`! --chunk-types any INIT` did not match: the chunk header at byte 12 of the \
SCTP packet is missing or has length 0, so the kernel drops the packet"
        );
        p.extend_from_slice(&[0, 0, 0, 0]);
        let s = inject(&mut w, raw(132, 0, &p));
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        let s = inject(&mut w, raw(132, 0, &p[..8]));
        assert_eq!(s.outcome, "dropped on r in FORWARD");
        assert!(!s.reached("FORWARD", 2));
        let s = inject(&mut w, raw(132, 5, &p));
        assert_eq!(s.pattern("FORWARD"), [false, false, true]);
        assert_eq!(
            s.why("FORWARD", 1),
            "`-m sctp --dport 9` did not match: a later fragment has no SCTP header"
        );
    }
}
