//! `-m conntrack`: matches what connection tracking knows about the packet's
//! connection (state, status, original/reply tuple, remaining lifetime, direction).

use super::{xtopt, EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;
use crate::sim::conntrack::{status, CtState, Dir, Entry};
use std::net::Ipv4Addr;

const O_STATE: u8 = 0;
const O_PROTO: u8 = 1;
const O_ORIGSRC: u8 = 2;
const O_ORIGDST: u8 = 3;
const O_REPLSRC: u8 = 4;
const O_REPLDST: u8 = 5;
const O_ORIGSRCPORT: u8 = 6;
const O_ORIGDSTPORT: u8 = 7;
const O_REPLSRCPORT: u8 = 8;
const O_REPLDSTPORT: u8 = 9;
const O_STATUS: u8 = 10;
const O_EXPIRE: u8 = 11;
const O_DIR: u8 = 12;

pub static INFO: ExtInfo = ExtInfo {
    name: "conntrack",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("ctstate", O_STATE).inv(),
        OptSpec::arg("ctproto", O_PROTO).inv(),
        OptSpec::arg("ctorigsrc", O_ORIGSRC).inv(),
        OptSpec::arg("ctorigdst", O_ORIGDST).inv(),
        OptSpec::arg("ctreplsrc", O_REPLSRC).inv(),
        OptSpec::arg("ctrepldst", O_REPLDST).inv(),
        OptSpec::arg("ctstatus", O_STATUS).inv(),
        OptSpec::arg("ctexpire", O_EXPIRE).inv(),
        OptSpec::arg("ctorigsrcport", O_ORIGSRCPORT).inv(),
        OptSpec::arg("ctorigdstport", O_ORIGDSTPORT).inv(),
        OptSpec::arg("ctreplsrcport", O_REPLSRCPORT).inv(),
        OptSpec::arg("ctrepldstport", O_REPLDSTPORT).inv(),
        OptSpec::arg("ctdir", O_DIR),
    ],
    guided: true,
    help: concat!(
        "conntrack match options:\n",
        "[!] --ctstate {INVALID|ESTABLISHED|NEW|RELATED|UNTRACKED|SNAT|DNAT}[,...]\n",
        "                               Connection state(s), any of them\n",
        "[!] --ctproto proto            Layer-4 protocol of the connection (number or name)\n",
        "[!] --ctorigsrc address[/mask]\n",
        "[!] --ctorigdst address[/mask]\n",
        "[!] --ctreplsrc address[/mask]\n",
        "[!] --ctrepldst address[/mask]\n",
        "                               Source/destination of the original or reply tuple\n",
        "[!] --ctorigsrcport port\n",
        "[!] --ctorigdstport port\n",
        "[!] --ctreplsrcport port\n",
        "[!] --ctrepldstport port\n",
        "                               Port (or lo:hi range) of the original or reply tuple\n",
        "[!] --ctstatus {NONE|EXPECTED|SEEN_REPLY|ASSURED|CONFIRMED}[,...]\n",
        "                               Connection status flag(s), any of them\n",
        "[!] --ctexpire time[:time]     Seconds the entry has left to live, a value or\n",
        "                               an inclusive range\n",
        "    --ctdir {ORIGINAL|REPLY}   Direction of the packet within its connection\n",
    ),
    new_match: Some(|| Box::new(Conntrack::default())),
    new_target: None,
};

// State bits as the kernel numbers them (XT_CONNTRACK_STATE_*).
pub const ST_INVALID: u16 = 1 << 0;
pub const ST_ESTABLISHED: u16 = 1 << 1;
pub const ST_RELATED: u16 = 1 << 2;
pub const ST_NEW: u16 = 1 << 3;
pub const ST_UNTRACKED: u16 = 1 << 8;
pub const ST_SNAT: u16 = 1 << 9;
pub const ST_DNAT: u16 = 1 << 10;

/// Names in the order the parser tries them (a prefix of a name selects it).
const STATE_PARSE: [(&str, u16); 7] = [
    ("INVALID", ST_INVALID),
    ("NEW", ST_NEW),
    ("ESTABLISHED", ST_ESTABLISHED),
    ("RELATED", ST_RELATED),
    ("UNTRACKED", ST_UNTRACKED),
    ("SNAT", ST_SNAT),
    ("DNAT", ST_DNAT),
];

/// Names in the order iptables prints them.
const STATE_PRINT: [(&str, u16); 7] = [
    ("INVALID", ST_INVALID),
    ("NEW", ST_NEW),
    ("RELATED", ST_RELATED),
    ("ESTABLISHED", ST_ESTABLISHED),
    ("UNTRACKED", ST_UNTRACKED),
    ("SNAT", ST_SNAT),
    ("DNAT", ST_DNAT),
];

// Status bits (IPS_*).
pub const SS_EXPECTED: u32 = 1 << 0;
pub const SS_SEEN_REPLY: u32 = 1 << 1;
pub const SS_ASSURED: u32 = 1 << 2;
pub const SS_CONFIRMED: u32 = 1 << 3;

const STATUS_NAMES: [(&str, u32); 5] = [
    ("NONE", 0),
    ("EXPECTED", SS_EXPECTED),
    ("SEEN_REPLY", SS_SEEN_REPLY),
    ("ASSURED", SS_ASSURED),
    ("CONFIRMED", SS_CONFIRMED),
];

/// `strncasecmp(word, name, len(word)) == 0`: the word is a prefix of the name.
fn prefix_of(word: &str, name: &str) -> bool {
    word.len() <= name.len() && name[..word.len()].eq_ignore_ascii_case(word)
}

/// A comma list of names; `bad` formats the error from the unparsed rest.
fn parse_list<T: Copy + std::ops::BitOr<Output = T>>(
    arg: &str,
    table: &[(&str, T)],
    zero: T,
    bad: impl Fn(&str) -> XtError,
) -> XtResult<T> {
    let mut mask = zero;
    let mut rest = arg;
    loop {
        let (word, next) = match rest.split_once(',') {
            Some((w, n)) => (w, Some(n)),
            None => (rest, None),
        };
        let found = if word.is_empty() {
            None
        } else {
            table.iter().find(|(n, _)| prefix_of(word, n))
        };
        match found {
            Some((_, bit)) => mask = mask | *bit,
            None => return Err(bad(rest)),
        }
        match next {
            Some(n) => rest = n,
            None => return Ok(mask),
        }
    }
}

/// `--ctstate` list.
pub fn parse_ctstates(arg: &str) -> XtResult<u16> {
    parse_list(arg, &STATE_PARSE, 0, |r| {
        XtError::new(format!("Bad ctstate \"{r}\""))
    })
}

/// States as iptables prints them: `NEW,ESTABLISHED`.
pub fn states_text(mask: u16) -> String {
    let names: Vec<&str> = STATE_PRINT
        .iter()
        .filter(|(_, b)| mask & b != 0)
        .map(|(n, _)| *n)
        .collect();
    names.join(",")
}

fn status_text(mask: u32) -> String {
    if mask == 0 {
        return "NONE".into();
    }
    let names: Vec<&str> = STATUS_NAMES[1..]
        .iter()
        .filter(|(_, b)| mask & b != 0)
        .map(|(n, _)| *n)
        .collect();
    names.join(",")
}

/// Plain words for a state mask (`new or established`).
pub fn states_words(mask: u16) -> String {
    let names: Vec<String> = STATE_PRINT
        .iter()
        .filter(|(_, b)| mask & b != 0)
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    names.join(" or ")
}

/// A relative clause for packets in these states, as a rule's explanation
/// reads it after "packets": `that start a new connection`.
pub fn states_clause(mask: u16, inv: bool) -> String {
    if inv || mask & (ST_SNAT | ST_DNAT) != 0 {
        return format!(
            "whose connection state is {}{}",
            if inv { "not " } else { "" },
            states_words(mask)
        );
    }
    let verbs: Vec<&str> = [
        (ST_NEW, "start a new connection"),
        (ST_ESTABLISHED, "belong to an established connection"),
        (ST_RELATED, "are related to a known connection"),
        (ST_INVALID, "are invalid (no known connection fits them)"),
        (ST_UNTRACKED, "are not tracked"),
    ]
    .iter()
    .filter(|(b, _)| mask & b != 0)
    .map(|(_, v)| *v)
    .collect();
    match verbs.split_last() {
        None => "in no connection state at all".to_string(),
        Some((last, [])) => format!("that {last}"),
        Some((last, rest)) => format!("that {} or {last}", rest.join(", ")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr {
    pub addr: Ipv4Addr,
    pub mask: u32,
    pub inv: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
    pub inv: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conntrack {
    /// `--ctstate` mask and inversion.
    pub state: Option<(u16, bool)>,
    pub proto: Option<(u8, bool)>,
    pub origsrc: Option<Addr>,
    pub origdst: Option<Addr>,
    pub replsrc: Option<Addr>,
    pub repldst: Option<Addr>,
    pub origsrcport: Option<PortRange>,
    pub origdstport: Option<PortRange>,
    pub replsrcport: Option<PortRange>,
    pub repldstport: Option<PortRange>,
    pub status: Option<(u32, bool)>,
    /// Remaining lifetime in seconds, min and max (min > max is kept as given).
    pub expire: Option<(u32, u32, bool)>,
    /// `Some(true)` for `--ctdir REPLY`.
    pub dir_reply: Option<bool>,
}

fn inv(out: &mut String, i: bool) {
    if i {
        out.push_str(" !");
    }
}

fn addr_text(a: &Addr, numeric: bool) -> String {
    if !numeric && a.addr.is_unspecified() {
        return "anywhere".into();
    }
    let mask = if a.mask == u32::MAX {
        String::new()
    } else {
        match xtopt::mask_len(a.mask) {
            Some(l) => format!("/{l}"),
            None => format!("/{}", Ipv4Addr::from(a.mask)),
        }
    };
    let host = if numeric {
        a.addr.to_string()
    } else {
        xtopt::ipaddr_to_anyname(a.addr)
    };
    format!("{host}{mask}")
}

impl Conntrack {
    fn dump(&self, out: &mut String, prefix: &str, numeric: bool) {
        if let Some((m, i)) = self.state {
            inv(out, i);
            out.push_str(&format!(" {prefix}ctstate {}", states_text(m)));
        }
        if let Some((p, i)) = self.proto {
            inv(out, i);
            out.push_str(&format!(" {prefix}ctproto {p}"));
        }
        for (name, a) in [
            ("ctorigsrc", &self.origsrc),
            ("ctorigdst", &self.origdst),
            ("ctreplsrc", &self.replsrc),
            ("ctrepldst", &self.repldst),
        ] {
            if let Some(a) = a {
                inv(out, a.inv);
                out.push_str(&format!(" {prefix}{name} {}", addr_text(a, numeric)));
            }
        }
        for (name, p) in [
            ("ctorigsrcport", &self.origsrcport),
            ("ctorigdstport", &self.origdstport),
            ("ctreplsrcport", &self.replsrcport),
            ("ctrepldstport", &self.repldstport),
        ] {
            if let Some(p) = p {
                inv(out, p.inv);
                if p.hi == 0 || p.lo == p.hi {
                    out.push_str(&format!(" {prefix}{name} {}", p.lo));
                } else {
                    out.push_str(&format!(" {prefix}{name} {}:{}", p.lo, p.hi));
                }
            }
        }
        if let Some((m, i)) = self.status {
            inv(out, i);
            out.push_str(&format!(" {prefix}ctstatus {}", status_text(m)));
        }
        if let Some((lo, hi, i)) = self.expire {
            inv(out, i);
            if lo == hi {
                out.push_str(&format!(" {prefix}ctexpire {lo}"));
            } else {
                out.push_str(&format!(" {prefix}ctexpire {lo}:{hi}"));
            }
        }
        if let Some(reply) = self.dir_reply {
            out.push_str(&format!(
                " {prefix}ctdir {}",
                if reply { "REPLY" } else { "ORIGINAL" }
            ));
        }
    }
}

/// What conntrack tells a match about the packet: its connection (none for
/// INVALID and UNTRACKED packets, and before conntrack ran) and its state.
/// A packet made untracked earlier in the raw table (`-j NOTRACK`) is
/// UNTRACKED at once, as the kernel sets the skb's ctinfo there.
pub fn ct_view<'a>(cx: &'a EvalCx) -> (Option<&'a Entry>, CtState) {
    let entry = cx.ct_entry();
    if entry.is_none() && cx.pkt.meta.untracked {
        return (None, CtState::Untracked);
    }
    match entry {
        Some(e) => (Some(e), cx.ct_state),
        // Conntrack has not seen the packet (raw table): no ct, INVALID.
        None if cx.ct_state != CtState::Untracked => (None, CtState::Invalid),
        None => (None, CtState::Untracked),
    }
}

/// The state bit (`XT_CONNTRACK_STATE_BIT`) of a ctinfo state.
pub fn state_bit(s: CtState) -> u16 {
    match s {
        CtState::Invalid => ST_INVALID,
        CtState::New => ST_NEW,
        CtState::Established => ST_ESTABLISHED,
        CtState::Related => ST_RELATED,
        CtState::Untracked => ST_UNTRACKED,
    }
}

/// Pseudo option id: the packet has no connection.
const NO_CT: u8 = 255;

fn addr_in(a: &Addr, x: Ipv4Addr) -> bool {
    u32::from(x) & a.mask == u32::from(a.addr) & a.mask
}

fn port_in(p: &PortRange, x: u16) -> bool {
    (p.lo..=p.hi).contains(&x)
}

/// Seconds an entry has left, as `nf_ct_expires() / HZ` (an unconfirmed
/// entry holds a relative timeout the kernel reads as 0).
pub fn expires_secs(e: &Entry, now_ns: u64) -> u64 {
    if !e.has(status::CONFIRMED) {
        return 0;
    }
    e.expires_ns.saturating_sub(now_ns) / 1_000_000_000
}

/// The packet's state in words (`NEW`, `ESTABLISHED (SNAT)`...).
pub fn state_words(e: Option<&Entry>, s: CtState) -> String {
    let mut t = s.name().to_string();
    if let Some(e) = e {
        let nat: Vec<&str> = [(status::SRC_NAT, "SNAT"), (status::DST_NAT, "DNAT")]
            .iter()
            .filter(|(b, _)| e.has(*b))
            .map(|(_, n)| *n)
            .collect();
        if !nat.is_empty() {
            t.push_str(&format!(" ({})", nat.join(",")));
        }
    }
    t
}

impl Conntrack {
    /// The first option the packet fails, in the kernel's order
    /// (`conntrack_mt`), or `None` when it matches.
    fn failing(&self, cx: &EvalCx) -> Option<u8> {
        let (ct, st) = ct_view(cx);
        if let Some((mask, inv)) = self.state {
            let mut bits = state_bit(st);
            if let Some(e) = ct {
                if e.has(status::SRC_NAT) {
                    bits |= ST_SNAT;
                }
                if e.has(status::DST_NAT) {
                    bits |= ST_DNAT;
                }
            }
            if (mask & bits != 0) == inv {
                return Some(O_STATE);
            }
        }
        let Some(e) = ct else {
            // Without a connection only a passed --ctstate can match.
            return if self.state.is_some() {
                None
            } else {
                Some(NO_CT)
            };
        };
        if let Some(reply) = self.dir_reply {
            if (cx.ct_dir == Dir::Reply) != reply {
                return Some(O_DIR);
            }
        }
        let addrs = [
            (O_ORIGSRC, &self.origsrc, e.orig.src),
            (O_ORIGDST, &self.origdst, e.orig.dst),
            (O_REPLSRC, &self.replsrc, e.reply.src),
            (O_REPLDST, &self.repldst, e.reply.dst),
        ];
        for (id, a, x) in addrs {
            if let Some(a) = a {
                if addr_in(a, x) == a.inv {
                    return Some(id);
                }
            }
        }
        if let Some((p, inv)) = self.proto {
            if (e.orig.proto == p) == inv {
                return Some(O_PROTO);
            }
        }
        let ports = [
            (O_ORIGSRCPORT, &self.origsrcport, e.orig.sport),
            (O_ORIGDSTPORT, &self.origdstport, e.orig.dport),
            (O_REPLSRCPORT, &self.replsrcport, e.reply.sport),
            (O_REPLDSTPORT, &self.repldstport, e.reply.dport),
        ];
        for (id, p, x) in ports {
            if let Some(p) = p {
                if port_in(p, x) == p.inv {
                    return Some(id);
                }
            }
        }
        if let Some((mask, inv)) = self.status {
            if (mask & e.status != 0) == inv {
                return Some(O_STATUS);
            }
        }
        if let Some((lo, hi, inv)) = self.expire {
            let left = expires_secs(e, cx.now_ns);
            if (left >= lo as u64 && left <= hi as u64) == inv {
                return Some(O_EXPIRE);
            }
        }
        None
    }

    /// The save text of one option.
    fn option_text(&self, id: u8) -> String {
        let mut one = Conntrack::default();
        match id {
            O_STATE => one.state = self.state,
            O_PROTO => one.proto = self.proto,
            O_ORIGSRC => one.origsrc = self.origsrc,
            O_ORIGDST => one.origdst = self.origdst,
            O_REPLSRC => one.replsrc = self.replsrc,
            O_REPLDST => one.repldst = self.repldst,
            O_ORIGSRCPORT => one.origsrcport = self.origsrcport,
            O_ORIGDSTPORT => one.origdstport = self.origdstport,
            O_REPLSRCPORT => one.replsrcport = self.replsrcport,
            O_REPLDSTPORT => one.repldstport = self.repldstport,
            O_STATUS => one.status = self.status,
            O_EXPIRE => one.expire = self.expire,
            O_DIR => one.dir_reply = self.dir_reply,
            _ => {}
        }
        let mut s = String::new();
        one.dump(&mut s, "--", true);
        s.trim_start().to_string()
    }
}

/// Status bits in words (`SEEN_REPLY,ASSURED,CONFIRMED`, `NONE`).
fn status_words(bits: u32) -> String {
    status_text(bits & (SS_EXPECTED | SS_SEEN_REPLY | SS_ASSURED | SS_CONFIRMED))
}

impl Match for Conntrack {
    fn needs_conntrack(&self) -> bool {
        true
    }
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, i: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        let opt = INFO
            .options
            .iter()
            .find(|o| o.id == id)
            .map_or("", |o| o.name);
        match id {
            O_STATE => self.state = Some((parse_ctstates(arg)?, i)),
            O_PROTO => {
                let p = crate::iptables::parse::parse_protocol(arg)?;
                self.proto = Some((p, i));
            }
            O_ORIGSRC | O_ORIGDST | O_REPLSRC | O_REPLDST => {
                let (addr, mask) = xtopt::hostmask("conntrack", opt, arg)?;
                let a = Some(Addr { addr, mask, inv: i });
                match id {
                    O_ORIGSRC => self.origsrc = a,
                    O_ORIGDST => self.origdst = a,
                    O_REPLSRC => self.replsrc = a,
                    _ => self.repldst = a,
                }
            }
            O_ORIGSRCPORT | O_ORIGDSTPORT | O_REPLSRCPORT | O_REPLDSTPORT => {
                let (lo, hi) = xtopt::port_range_rc("conntrack", opt, arg)?;
                let p = Some(PortRange { lo, hi, inv: i });
                match id {
                    O_ORIGSRCPORT => self.origsrcport = p,
                    O_ORIGDSTPORT => self.origdstport = p,
                    O_REPLSRCPORT => self.replsrcport = p,
                    _ => self.repldstport = p,
                }
            }
            O_STATUS => {
                let m = parse_list(arg, &STATUS_NAMES, 0u32, |r| {
                    XtError::new(format!("Bad ctstatus \"{r}\""))
                })?;
                self.status = Some((m, i));
            }
            O_EXPIRE => {
                let v = xtopt::mint("conntrack", "ctexpire", arg, u32::MAX as u64, 2)?;
                let lo = v[0] as u32;
                let hi = v.get(1).map_or(lo, |h| *h as u32);
                self.expire = Some((lo, hi, i));
            }
            O_DIR => {
                if arg.eq_ignore_ascii_case("ORIGINAL") {
                    self.dir_reply = Some(false);
                } else if arg.eq_ignore_ascii_case("REPLY") {
                    self.dir_reply = Some(true);
                } else {
                    return Err(XtError::new(format!(
                        "conntrack: Bad value for \"--ctdir\" option: \"{arg}\""
                    )));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen == 0 {
            return Err(XtError::new("conntrack: At least one option is required"));
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        self.dump(out, "--", true);
    }

    fn print(&self, out: &mut String, numeric: bool) {
        self.dump(out, "", numeric);
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(self.failing(cx).is_none())
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let Some(id) = self.failing(cx) else {
            return "-m conntrack matched".into();
        };
        let (ct, st) = ct_view(cx);
        let Some(e) = ct.filter(|_| id != NO_CT && id != O_STATE) else {
            if id == NO_CT {
                return format!(
                    "-m conntrack did not match: the packet has no connection (state {})",
                    st.name()
                );
            }
            return format!(
                "`{}` did not match: state is {}",
                self.option_text(id),
                state_words(ct, st)
            );
        };
        let proto_name = |p: u8| {
            crate::iptables::save::proto_save_name(p).map_or_else(|| p.to_string(), String::from)
        };
        let actual = match id {
            O_DIR => format!(
                "the packet goes in the {} direction",
                if cx.ct_dir == Dir::Reply {
                    "REPLY"
                } else {
                    "ORIGINAL"
                }
            ),
            O_ORIGSRC => format!("original source is {}", e.orig.src),
            O_ORIGDST => format!("original destination is {}", e.orig.dst),
            O_REPLSRC => format!("reply source is {}", e.reply.src),
            O_REPLDST => format!("reply destination is {}", e.reply.dst),
            O_PROTO => format!("connection protocol is {}", proto_name(e.orig.proto)),
            O_ORIGSRCPORT => format!("original source port is {}", e.orig.sport),
            O_ORIGDSTPORT => format!("original destination port is {}", e.orig.dport),
            O_REPLSRCPORT => format!("reply source port is {}", e.reply.sport),
            O_REPLDSTPORT => format!("reply destination port is {}", e.reply.dport),
            O_STATUS => format!("status is {}", status_words(e.status)),
            O_EXPIRE => format!("the entry has {} seconds left", expires_secs(e, cx.now_ns)),
            _ => String::new(),
        };
        format!("`{}` did not match: {actual}", self.option_text(id))
    }

    fn explain(&self) -> String {
        let not = |i: bool| if i { "not " } else { "" };
        let mut parts = Vec::new();
        let mut clause = None;
        if let Some((m, i)) = self.state {
            clause = Some(states_clause(m, i));
        }
        if let Some((p, i)) = self.proto {
            let name = crate::iptables::save::proto_save_name(p)
                .map_or_else(|| p.to_string(), String::from);
            parts.push(format!("connection protocol is {}{}", not(i), name));
        }
        for (what, a) in [
            ("original source", &self.origsrc),
            ("original destination", &self.origdst),
            ("reply source", &self.replsrc),
            ("reply destination", &self.repldst),
        ] {
            if let Some(a) = a {
                parts.push(format!("{what} is {}{}", not(a.inv), addr_text(a, true)));
            }
        }
        for (what, p) in [
            ("original source port", &self.origsrcport),
            ("original destination port", &self.origdstport),
            ("reply source port", &self.replsrcport),
            ("reply destination port", &self.repldstport),
        ] {
            if let Some(p) = p {
                let r = if p.lo == p.hi {
                    p.lo.to_string()
                } else {
                    format!("in {}-{}", p.lo, p.hi)
                };
                parts.push(format!("{what} is {}{r}", not(p.inv)));
            }
        }
        if let Some((m, i)) = self.status {
            parts.push(format!(
                "connection status {}has {}",
                if i { "never " } else { "" },
                status_text(m).replace(',', " or ")
            ));
        }
        if let Some((lo, hi, i)) = self.expire {
            parts.push(format!(
                "connection has {}{lo}-{hi} seconds left",
                if i { "not " } else { "" }
            ));
        }
        if let Some(reply) = self.dir_reply {
            parts.push(format!(
                "packet goes in the {} direction",
                if reply { "reply" } else { "original" }
            ));
        }
        match (clause, parts.is_empty()) {
            (Some(c), true) => c,
            (Some(c), false) => format!("{c}, when the {}", parts.join(" and the ")),
            (None, _) => format!("when the {}", parts.join(" and the ")),
        }
    }
}

/// Tiny worlds for the evaluation tests of this group's matches.
#[cfg(test)]
pub(crate) mod lab {
    use crate::command::script::{parse_script, run_cmd};
    use crate::packet::spec::{L4Spec, PacketSpec};
    use crate::packet::Packet;
    use crate::sim::world::World;

    /// Host `h` (index 0) with eth0 10.0.0.1/24 on link `lan`; the peers
    /// that packets come from are not simulated.
    pub fn world() -> World {
        let mut w = World::new();
        let h = w.add_host("h");
        w.plug(h, "eth0", "10.0.0.1/24", "lan").unwrap();
        w.set_outside("lan").unwrap();
        w
    }

    /// Runs a shell line on a host; it must succeed. Returns stdout.
    pub fn sh(w: &mut World, host: usize, line: &str) -> String {
        let cmds = parse_script(line).expect("command parses");
        let mut last = String::new();
        for c in &cmds {
            let out = run_cmd(&mut w.hosts[host], c, &|_| Err("no files".into()));
            assert_eq!(out.exit, 0, "{line}: {}", out.stderr);
            last = out.stdout;
        }
        last
    }

    fn spec(src: &str, dst: &str, l4: L4Spec, payload_len: usize) -> Packet {
        PacketSpec {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            l4,
            ttl: 64,
            tos: 0,
            id: 1,
            payload_len,
        }
        .build()
        .unwrap()
    }

    pub fn tcp(src: &str, sport: u16, dst: &str, dport: u16, flags: &str) -> Packet {
        let l4 = L4Spec::Tcp {
            sport,
            dport,
            flags: flags.into(),
            seq: 1000,
            ack: if flags.contains('A') { 5000 } else { 0 },
            window: 64240,
        };
        spec(src, dst, l4, 0)
    }

    /// A TCP segment with the given sequence and acknowledgement numbers.
    pub fn tcp_at(
        (src, sport): (&str, u16),
        (dst, dport): (&str, u16),
        flags: &str,
        seq: u32,
        ack: u32,
    ) -> Packet {
        let l4 = L4Spec::Tcp {
            sport,
            dport,
            flags: flags.into(),
            seq,
            ack,
            window: 64240,
        };
        spec(src, dst, l4, 0)
    }

    pub fn udp(src: &str, sport: u16, dst: &str, dport: u16, payload: usize) -> Packet {
        spec(src, dst, L4Spec::Udp { sport, dport }, payload)
    }

    pub fn ping(src: &str, dst: &str, id: u16) -> Packet {
        let l4 = L4Spec::Icmp {
            icmp_type: 8,
            code: 0,
            id,
            seq: 1,
        };
        spec(src, dst, l4, 56)
    }

    /// Where the first packet of the last run ended.
    pub fn outcome(w: &World) -> String {
        w.reports
            .first()
            .map(|r| r.outcome.clone())
            .unwrap_or_default()
    }

    /// A packet arriving on h's eth0; returns its outcome.
    pub fn inject(w: &mut World, pkt: Packet) -> String {
        w.inject(0, "eth0", pkt);
        outcome(w)
    }

    /// Why rule `rule` of `chain` did not match the first packet of the last run.
    pub fn why(w: &World, chain: &str, rule: usize) -> String {
        w.reports
            .first()
            .and_then(|r| {
                r.trace
                    .steps
                    .iter()
                    .find(|s| s.chain == chain && s.rule == Some(rule))
            })
            .and_then(|s| s.failed.clone())
            .unwrap_or_default()
    }

    /// Packet counters of the rules of a chain, in order.
    pub fn counts(w: &World, table: &str, chain: &str) -> Vec<u64> {
        let t = w.hosts[0].ruleset.table(table).unwrap();
        t.chain(chain)
            .unwrap()
            .rules
            .iter()
            .map(|r| r.counters.packets)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use super::lab::{self, inject, sh, tcp, udp, why};
    use crate::sim::conntrack::{status, Tuple};

    #[test]
    fn ctstate_new_versus_established() {
        let mut w = lab::world();
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        );
        sh(&mut w, 0, "iptables -A INPUT -j DROP");
        let out = inject(&mut w, tcp("10.0.0.2", 4000, "10.0.0.1", 22, "S"));
        assert_eq!(out, "dropped on h in INPUT");
        assert_eq!(
            why(&w, "INPUT", 1),
            "`--ctstate RELATED,ESTABLISHED` did not match: state is NEW"
        );
        // h's own request, then the answer: ESTABLISHED in the reply direction.
        w.send(0, udp("10.0.0.1", 5000, "10.0.0.2", 53, 4));
        let out = inject(&mut w, udp("10.0.0.2", 53, "10.0.0.1", 5000, 4));
        assert!(out.starts_with("delivered to h"), "{out}");
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 1]);
    }

    #[test]
    fn tuples_direction_status_and_expiry() {
        let mut w = lab::world();
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m conntrack --ctstate ESTABLISHED --ctdir REPLY --ctorigsrc 10.0.0.1 \
             --ctreplsrc 10.0.0.0/24 --ctproto udp --ctorigdstport 50:60 --ctreplsrcport 53 \
             --ctrepldstport 5000 --ctstatus SEEN_REPLY --ctexpire 25:30 -j ACCEPT",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m conntrack --ctdir ORIGINAL -j DROP",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m conntrack ! --ctstatus ASSURED -j DROP",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m conntrack --ctorigdst 10.9.0.0/16 -j DROP",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m conntrack --ctexpire 31:200 -j DROP",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m conntrack --ctreplsrcport 54:60 -j DROP",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m conntrack --ctproto tcp -j DROP",
        );
        w.send(0, udp("10.0.0.1", 5000, "10.0.0.2", 53, 4));
        let out = inject(&mut w, udp("10.0.0.2", 53, "10.0.0.1", 5000, 4));
        assert!(out.starts_with("delivered"), "{out}");
        // A new connection towards h fails each rule for its own reason.
        let out = inject(&mut w, udp("10.0.0.2", 7, "10.0.0.1", 9, 4));
        assert_eq!(out, "dropped on h in INPUT");
        assert_eq!(
            why(&w, "INPUT", 1),
            "`--ctstate ESTABLISHED` did not match: state is NEW"
        );
        // The second packet of that connection, still unanswered.
        sh(&mut w, 0, "iptables -D INPUT 2");
        let out = inject(&mut w, udp("10.0.0.2", 7, "10.0.0.1", 9, 4));
        assert_eq!(out, "dropped on h in INPUT");
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 1, 0, 0, 0, 0]);
    }

    /// As the kernel measured: a UDP flow answered within 2 s keeps the
    /// 30 s timeout; later traffic both ways makes it ASSURED with 120 s.
    #[test]
    fn udp_becomes_a_stream_after_two_seconds() {
        let mut w = lab::world();
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m conntrack --ctstatus ASSURED --ctexpire 119:120",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m conntrack ! --ctstatus ASSURED --ctexpire 29:30",
        );
        let q = || udp("10.0.0.1", 4444, "10.0.0.2", 53, 1);
        let r = || udp("10.0.0.2", 53, "10.0.0.1", 4444, 1);
        w.now_ns = 1_000_000_000_000;
        w.send(0, q());
        inject(&mut w, r());
        w.send(0, q());
        inject(&mut w, r());
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![0, 2]);
        w.now_ns += 2_500_000_000;
        w.send(0, q());
        inject(&mut w, r());
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 2]);
    }

    #[test]
    fn each_condition_says_why() {
        let mut w = lab::world();
        let rules = [
            "--ctdir ORIGINAL",
            "--ctorigsrc 10.9.0.0/16",
            "! --ctreplsrc 10.0.0.2",
            "--ctproto tcp",
            "--ctreplsrcport 54:60",
            "--ctexpire 31:200",
            "--ctstate NEW,SNAT",
        ];
        for r in rules {
            sh(&mut w, 0, &format!("iptables -A INPUT -m conntrack {r}"));
        }
        w.send(0, udp("10.0.0.1", 5000, "10.0.0.2", 53, 4));
        inject(&mut w, udp("10.0.0.2", 53, "10.0.0.1", 5000, 4));
        let whys: Vec<String> = (1..=rules.len()).map(|i| why(&w, "INPUT", i)).collect();
        assert_eq!(
            whys,
            vec![
                "`--ctdir ORIGINAL` did not match: the packet goes in the REPLY direction",
                "`--ctorigsrc 10.9.0.0/16` did not match: original source is 10.0.0.1",
                "`! --ctreplsrc 10.0.0.2` did not match: reply source is 10.0.0.2",
                "`--ctproto 6` did not match: connection protocol is udp",
                "`--ctreplsrcport 54:60` did not match: reply source port is 53",
                "`--ctexpire 31:200` did not match: the entry has 30 seconds left",
                "`--ctstate NEW,SNAT` did not match: state is ESTABLISHED",
            ]
        );
    }

    #[test]
    fn nat_pseudo_states_follow_the_status_bits() {
        let mut w = lab::world();
        sh(&mut w, 0, "iptables -A INPUT -m conntrack --ctstate SNAT");
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m conntrack --ctstate DNAT --ctrepldst 10.0.0.2",
        );
        sh(&mut w, 0, "iptables -A INPUT -m conntrack ! --ctstate DNAT");
        inject(&mut w, udp("10.0.0.2", 7, "10.0.0.1", 9, 4));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![0, 0, 1]);
        // Bind the connection as DNAT to 10.0.0.1:99 would (reply from :99).
        let idx = (0..8)
            .find(|&i| w.hosts[0].conntrack.get(i).is_some())
            .unwrap();
        let reply = Tuple {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            proto: 17,
            sport: 99,
            dport: 7,
        };
        w.hosts[0].conntrack.set_reply(idx, reply, status::DST_NAT);
        inject(&mut w, udp("10.0.0.2", 7, "10.0.0.1", 9, 4));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![0, 1, 1]);
        assert_eq!(
            why(&w, "INPUT", 3),
            "`! --ctstate DNAT` did not match: state is NEW (DNAT)"
        );
    }

    #[test]
    fn invalid_and_untracked_have_no_connection() {
        let mut w = lab::world();
        sh(&mut w, 0, "iptables -A INPUT -m conntrack --ctproto tcp");
        sh(&mut w, 0, "iptables -A INPUT -m conntrack ! --ctproto udp");
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m conntrack --ctstate INVALID",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m conntrack --ctstate UNTRACKED --ctproto udp",
        );
        // A lone SYN-ACK is INVALID: only --ctstate can match it.
        inject(&mut w, tcp("10.0.0.2", 80, "10.0.0.1", 4000, "SA"));
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![0, 0, 1, 0]);
        assert_eq!(
            why(&w, "INPUT", 1),
            "-m conntrack did not match: the packet has no connection (state INVALID)"
        );
        let mut p = udp("10.0.0.2", 7, "10.0.0.1", 9, 4);
        p.meta.untracked = true;
        inject(&mut w, p);
        // --ctstate UNTRACKED passes; the rule then matches without a connection.
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![0, 0, 1, 1]);
    }

    #[test]
    fn raw_table_sees_invalid_before_conntrack() {
        let mut w = lab::world();
        sh(
            &mut w,
            0,
            "iptables -t raw -A PREROUTING -m conntrack --ctstate INVALID",
        );
        sh(&mut w, 0, "iptables -A INPUT -m conntrack --ctstate NEW");
        inject(&mut w, udp("10.0.0.2", 7, "10.0.0.1", 9, 4));
        assert_eq!(lab::counts(&w, "raw", "PREROUTING"), vec![1]);
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1]);
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    fn rule_of(args: &str) -> (String, String, String) {
        let mut h = Host::new("h");
        let out = run(&mut h, &format!("iptables -A INPUT {args}"));
        assert_eq!(out.exit, 0, "{}", out.stderr);
        let save = run(&mut h, "iptables -S INPUT").stdout;
        let list = run(&mut h, "iptables -L INPUT").stdout;
        let listn = run(&mut h, "iptables -L INPUT -n").stdout;
        let last = |s: &str| s.lines().last().unwrap_or("").to_string();
        (last(&save), last(&list), last(&listn))
    }

    #[test]
    fn save_and_list_order() {
        let (s, l, n) = rule_of(
            "-m conntrack --ctdir REPLY --ctexpire 5:10 --ctstatus ASSURED,CONFIRMED \
             --ctorigdstport 80:90 --ctorigsrc 1.2.3.0/24 --ctproto tcp --ctstate ESTABLISHED,new",
        );
        assert_eq!(
            s,
            "-A INPUT -m conntrack --ctstate NEW,ESTABLISHED --ctproto 6 --ctorigsrc 1.2.3.0/24 \
             --ctorigdstport 80:90 --ctstatus ASSURED,CONFIRMED --ctexpire 5:10 --ctdir REPLY"
        );
        assert!(l.ends_with(
            "ctstate NEW,ESTABLISHED ctproto 6 ctorigsrc 1.2.3.0/24 ctorigdstport 80:90 \
             ctstatus ASSURED,CONFIRMED ctexpire 5:10 ctdir REPLY"
        ));
        assert!(n.starts_with("           0    --  0.0.0.0/0            0.0.0.0/0  "));
    }

    #[test]
    fn inverted_and_anywhere() {
        let (s, l, n) = rule_of("-m conntrack ! --ctstatus NONE ! --ctorigsrc 0.0.0.0/0");
        assert_eq!(
            s,
            "-A INPUT -m conntrack ! --ctorigsrc 0.0.0.0/0 ! --ctstatus NONE"
        );
        assert!(l.ends_with("! ctorigsrc anywhere ! ctstatus NONE"), "{l}");
        assert!(n.ends_with("! ctorigsrc 0.0.0.0/0 ! ctstatus NONE"), "{n}");
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        let cases = [
            ("-m conntrack --ctstate new,", "Bad ctstate \"\"\n"),
            (
                "-m conntrack --ctstate wrong,NEW",
                "Bad ctstate \"wrong,NEW\"\n",
            ),
            ("-m conntrack --ctstatus BAD", "Bad ctstatus \"BAD\"\n"),
            (
                "-m conntrack --ctdir foo",
                "conntrack: Bad value for \"--ctdir\" option: \"foo\"\n",
            ),
            (
                "-m conntrack ! --ctdir REPLY",
                "conntrack: option \"--ctdir\" cannot be inverted.\n\n",
            ),
            (
                "-m conntrack --ctorigsrcport foo",
                "Port \"foo\" does not resolve to anything.\n\n",
            ),
            (
                "-m conntrack",
                "conntrack: At least one option is required\n",
            ),
        ];
        for (args, msg) in cases {
            let out = run(&mut h, &format!("iptables -A INPUT {args}"));
            assert_eq!(out.exit, 2, "{args}");
            assert_eq!(
                out.stderr,
                format!(
                    "iptables v1.8.9 (nf_tables): {msg}Try `iptables -h' or 'iptables --help' for more information.\n"
                ),
                "{args}"
            );
        }
    }

    #[test]
    fn port_and_expire_forms() {
        let (s, _, _) =
            rule_of("-m conntrack --ctreplsrcport 4:4 --ctrepldstport 4: --ctexpire 4:3");
        assert_eq!(
            s,
            "-A INPUT -m conntrack --ctreplsrcport 4 --ctrepldstport 4:65535 --ctexpire 4:3"
        );
    }
}
