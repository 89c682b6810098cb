//! `-m conntrack`: matches what connection tracking knows about the packet's
//! connection (state, status, original/reply tuple, remaining lifetime, direction).

use super::{xtopt, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;
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
        .map(|(n, _)| n.to_lowercase())
        .collect();
    names.join(" or ")
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

impl Match for Conntrack {
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

    fn explain(&self) -> String {
        let not = |i: bool| if i { "not " } else { "" };
        let mut parts = Vec::new();
        if let Some((m, i)) = self.state {
            parts.push(format!("connection state is {}{}", not(i), states_words(m)));
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
        format!("Matches when {}", parts.join(" and "))
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
