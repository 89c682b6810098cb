//! `tcpdump` (4.99.3): the frames an interface saw since the lab started,
//! one line each in tcpdump's format (IPv4 with TCP, UDP, ICMP; ARP),
//! with `-n`, `-c`, `-e`, `-t`, `-v`, `-q`, `-S`, `-i any` and capture filters
//! (`host`, `src`/`dst`, `net`, `port`, `portrange`, `tcp`/`udp`/`icmp`/
//! `arp`/`ip`, `and`/`or`/`not`, parentheses).

use super::util;
use crate::command::Output;
use crate::packet::{parse, tcp_flags, Headers, L4};
use crate::sim::world::World;
use std::collections::HashMap;
use std::net::Ipv4Addr;

struct Opts {
    iface: Option<String>,
    numeric: bool,
    count: Option<usize>,
    ether: bool,
    no_time: bool,
    verbose: bool,
    /// `-q`: TCP and UDP as `tcp N` / `UDP, length N`, no protocol printers.
    quick: bool,
    absolute_seq: bool,
    filter: Vec<String>,
}

/// One decoded frame.
struct Decoded {
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    ethertype: u16,
    len: usize,
    ip: Option<Headers>,
    /// ARP operation, sender and target addresses.
    arp: Option<(u16, Ipv4Addr, Ipv4Addr)>,
    payload: Vec<u8>,
}

fn decode(bytes: &[u8]) -> Option<Decoded> {
    if bytes.len() < 14 {
        return None;
    }
    let mut d = Decoded {
        dst_mac: bytes[0..6].try_into().ok()?,
        src_mac: bytes[6..12].try_into().ok()?,
        ethertype: u16::from_be_bytes([bytes[12], bytes[13]]),
        len: bytes.len(),
        ip: None,
        arp: None,
        payload: Vec::new(),
    };
    let body = &bytes[14..];
    match d.ethertype {
        0x0800 => {
            let h = parse(body, true).ok()?;
            let l4_at = usize::from(h.header_len);
            let payload_at = match &h.l4 {
                L4::Tcp(_) => {
                    l4_at
                        + body
                            .get(l4_at + 12)
                            .map(|b| ((b >> 4) as usize) * 4)
                            .unwrap_or(20)
                }
                L4::Udp(_) | L4::Icmp(_) => l4_at + 8,
                _ => body.len(),
            };
            let end = (h.total_len as usize).min(body.len());
            if payload_at < end {
                d.payload = body[payload_at..end].to_vec();
            }
            d.ip = Some(h);
        }
        0x0806 if body.len() >= 28 => {
            let op = u16::from_be_bytes([body[6], body[7]]);
            let spa = Ipv4Addr::new(body[14], body[15], body[16], body[17]);
            let tpa = Ipv4Addr::new(body[24], body[25], body[26], body[27]);
            d.arp = Some((op, spa, tpa));
        }
        _ => {}
    }
    Some(d)
}

// ---- capture filters ----

#[derive(Debug, Clone, PartialEq)]
enum Dir {
    Any,
    Src,
    Dst,
}

#[derive(Debug, Clone, PartialEq)]
enum Filter {
    True,
    Proto(&'static str),
    Host(Dir, Ipv4Addr),
    Net(Dir, Ipv4Addr, u32),
    Port(Dir, u16, u16, Option<&'static str>),
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

struct Parser<'a> {
    toks: Vec<String>,
    pos: usize,
    /// Nesting of `not` and parentheses, bounded so no input overflows the stack.
    depth: usize,
    world: &'a World,
    host: usize,
    /// Qualifiers of the last primitive, for `host a or b`.
    last: Option<(Option<&'static str>, Dir, String)>,
}

type PResult<T> = Result<T, String>;

const SYNTAX: &str = "can't parse filter expression: syntax error";

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.pos).map(|s| s.as_str())
    }
    fn next(&mut self) -> Option<String> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn expr(&mut self) -> PResult<Filter> {
        let mut f = self.term()?;
        while matches!(self.peek(), Some("or") | Some("||")) {
            self.pos += 1;
            let r = self.term()?;
            f = Filter::Or(Box::new(f), Box::new(r));
        }
        Ok(f)
    }
    fn term(&mut self) -> PResult<Filter> {
        let mut f = self.factor()?;
        while matches!(self.peek(), Some("and") | Some("&&")) {
            self.pos += 1;
            let r = self.factor()?;
            f = Filter::And(Box::new(f), Box::new(r));
        }
        Ok(f)
    }
    fn factor(&mut self) -> PResult<Filter> {
        self.depth += 1;
        if self.depth > 200 {
            return Err(SYNTAX.into());
        }
        let f = self.factor_inner();
        self.depth -= 1;
        f
    }
    fn factor_inner(&mut self) -> PResult<Filter> {
        match self.peek() {
            Some("not") | Some("!") => {
                self.pos += 1;
                Ok(Filter::Not(Box::new(self.factor()?)))
            }
            Some("(") => {
                self.pos += 1;
                let f = self.expr()?;
                if self.next().as_deref() != Some(")") {
                    return Err(SYNTAX.into());
                }
                Ok(f)
            }
            Some(_) => self.primitive(),
            None => Err(SYNTAX.into()),
        }
    }
    fn addr(&self, v: &str) -> PResult<Ipv4Addr> {
        util::resolve(self.world, self.host, v)
            .map(|r| r.addr)
            .ok_or_else(|| format!("can't parse filter expression: unknown host '{v}'"))
    }
    fn port(&self, v: &str, proto: Option<&str>) -> PResult<u16> {
        util::parse_port(v, proto.unwrap_or("tcp"))
            .or_else(|| util::parse_port(v, "udp"))
            .ok_or_else(|| format!("unknown port '{v}'"))
    }
    fn primitive(&mut self) -> PResult<Filter> {
        let mut proto: Option<&'static str> = None;
        let mut dir = Dir::Any;
        let mut kind: Option<String> = None;
        if let Some(p) = self.peek() {
            let p = match p {
                "tcp" => Some("tcp"),
                "udp" => Some("udp"),
                "icmp" => Some("icmp"),
                "arp" => Some("arp"),
                "ip" => Some("ip"),
                _ => None,
            };
            if p.is_some() {
                proto = p;
                self.pos += 1;
            }
        }
        if let Some(d) = self.peek() {
            if d == "src" || d == "dst" {
                dir = if d == "src" { Dir::Src } else { Dir::Dst };
                self.pos += 1;
            }
        }
        if let Some(k) = self.peek() {
            if matches!(k, "host" | "net" | "port" | "portrange") {
                kind = Some(k.to_string());
                self.pos += 1;
            }
        }
        let value_follows = kind.is_some() || dir != Dir::Any;
        if !value_follows {
            if let Some(p) = proto {
                return Ok(Filter::Proto(p));
            }
            // A bare value reuses the last qualifiers (`host a or b`).
            let Some((lp, ld, lk)) = self.last.clone() else {
                return Err(SYNTAX.into());
            };
            proto = lp;
            dir = ld;
            kind = Some(lk);
        }
        let kind = kind.unwrap_or_else(|| "host".into());
        let Some(v) = self.next() else {
            return Err(SYNTAX.into());
        };
        if matches!(
            v.as_str(),
            "and" | "or" | "not" | "(" | ")" | "&&" | "||" | "!"
        ) {
            return Err(SYNTAX.into());
        }
        self.last = Some((proto, dir.clone(), kind.clone()));
        let f = match kind.as_str() {
            "host" => Filter::Host(dir, self.addr(&v)?),
            "net" => {
                let (a, len) = match v.split_once('/') {
                    Some((a, l)) => (a, l.parse::<u32>().map_err(|_| SYNTAX.to_string())?),
                    None => (
                        v.as_str(),
                        32 - 8 * (4 - v.split('.').count() as u32).min(3),
                    ),
                };
                let parts: Vec<&str> = a.split('.').collect();
                let mut o = [0u8; 4];
                for (k, p) in parts.iter().enumerate().take(4) {
                    o[k] = p.parse().map_err(|_| SYNTAX.to_string())?;
                }
                if len > 32 {
                    return Err(SYNTAX.into());
                }
                Filter::Net(dir, Ipv4Addr::from(o), len)
            }
            "port" => {
                let p = self.port(&v, proto)?;
                Filter::Port(dir, p, p, proto.filter(|p| *p == "tcp" || *p == "udp"))
            }
            _ => {
                let (a, b) = v.split_once('-').ok_or_else(|| SYNTAX.to_string())?;
                let (a, b) = (self.port(a, proto)?, self.port(b, proto)?);
                Filter::Port(
                    dir,
                    a.min(b),
                    a.max(b),
                    proto.filter(|p| *p == "tcp" || *p == "udp"),
                )
            }
        };
        // `tcp port 80` is `tcp and port 80`.
        Ok(match (proto, &f) {
            (Some(p), Filter::Port(..)) if p != "tcp" && p != "udp" => {
                Filter::And(Box::new(Filter::Proto(p)), Box::new(f))
            }
            (Some(p), Filter::Host(..) | Filter::Net(..)) => {
                Filter::And(Box::new(Filter::Proto(p)), Box::new(f))
            }
            _ => f,
        })
    }
}

fn tokenize(words: &[String]) -> Vec<String> {
    let text = words.join(" ");
    let mut toks = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        if c.is_whitespace() || c == '(' || c == ')' || c == '!' || two == "&&" || two == "||" {
            if !cur.is_empty() {
                toks.push(std::mem::take(&mut cur));
            }
            if two == "&&" || two == "||" {
                toks.push(two);
                i += 2;
                continue;
            }
            if !c.is_whitespace() {
                toks.push(c.to_string());
            }
        } else {
            cur.push(c);
        }
        i += 1;
    }
    if !cur.is_empty() {
        toks.push(cur);
    }
    toks
}

fn matches(f: &Filter, d: &Decoded) -> bool {
    let addrs = || -> Option<(Ipv4Addr, Ipv4Addr)> {
        if let Some(h) = &d.ip {
            return Some((h.src, h.dst));
        }
        d.arp.map(|(_, s, t)| (s, t))
    };
    let dir_ok = |dir: &Dir, s: bool, t: bool| match dir {
        Dir::Any => s || t,
        Dir::Src => s,
        Dir::Dst => t,
    };
    match f {
        Filter::True => true,
        Filter::Proto(p) => match *p {
            "arp" => d.arp.is_some(),
            "ip" => d.ip.is_some(),
            "tcp" => d.ip.as_ref().is_some_and(|h| h.proto == 6),
            "udp" => d.ip.as_ref().is_some_and(|h| h.proto == 17),
            "icmp" => d.ip.as_ref().is_some_and(|h| h.proto == 1),
            _ => false,
        },
        Filter::Host(dir, a) => addrs().is_some_and(|(s, t)| dir_ok(dir, s == *a, t == *a)),
        Filter::Net(dir, a, len) => {
            let m = if *len == 0 { 0 } else { u32::MAX << (32 - len) };
            let inside = |x: Ipv4Addr| u32::from(x) & m == u32::from(*a) & m;
            addrs().is_some_and(|(s, t)| dir_ok(dir, inside(s), inside(t)))
        }
        Filter::Port(dir, lo, hi, proto) => {
            let Some(h) = &d.ip else {
                return false;
            };
            let ok_proto = match proto {
                Some("tcp") => h.proto == 6,
                Some("udp") => h.proto == 17,
                _ => true,
            };
            let inr = |p: u16| p >= *lo && p <= *hi;
            ok_proto && h.ports().is_some_and(|(s, t)| dir_ok(dir, inr(s), inr(t)))
        }
        Filter::Not(x) => !matches(x, d),
        Filter::And(a, b) => matches(a, d) && matches(b, d),
        Filter::Or(a, b) => matches(a, d) || matches(b, d),
    }
}

// ---- printing ----

/// Relative sequence numbers per conversation, as tcpdump keeps them.
#[derive(Default)]
struct SeqTable(HashMap<(Ipv4Addr, Ipv4Addr, u16, u16), (u32, u32)>);

fn tcp_options(opts: &[u8]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < opts.len() {
        let kind = opts[i];
        if kind == 0 {
            out.push("eol".into());
            break;
        }
        if kind == 1 {
            out.push("nop".into());
            i += 1;
            continue;
        }
        let Some(&len) = opts.get(i + 1) else {
            out.push("[bad opt]".into());
            break;
        };
        let len = len as usize;
        if len < 2 || i + len > opts.len() {
            out.push("[bad opt]".into());
            break;
        }
        let data = &opts[i + 2..i + len];
        let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        out.push(match (kind, data.len()) {
            (2, 2) => format!("mss {}", u16::from_be_bytes([data[0], data[1]])),
            (3, 1) => format!("wscale {}", data[0]),
            (4, 0) => "sackOK".into(),
            (8, 8) => format!("TS val {} ecr {}", be32(&data[..4]), be32(&data[4..])),
            (5, n) if n % 8 == 0 => {
                let blocks: Vec<String> = data
                    .chunks(8)
                    .map(|c| format!("{{{}:{}}}", be32(&c[..4]), be32(&c[4..])))
                    .collect();
                format!("sack {} {}", n / 8, blocks.join(""))
            }
            _ => {
                let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
                format!("unknown-{kind} 0x{hex}")
            }
        });
        i += len;
    }
    out.join(",")
}

fn flags_text(f: u8) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (tcp_flags::FIN, 'F'),
        (tcp_flags::SYN, 'S'),
        (tcp_flags::RST, 'R'),
        (tcp_flags::PSH, 'P'),
        (tcp_flags::ACK, '.'),
        (tcp_flags::URG, 'U'),
        (tcp_flags::ECE, 'E'),
        (tcp_flags::CWR, 'W'),
    ] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    if s.is_empty() {
        "none".into()
    } else {
        s
    }
}

struct Namer<'a> {
    world: &'a World,
    numeric: bool,
}

impl Namer<'_> {
    fn mac(&self, m: &[u8; 6]) -> String {
        super::ether_names::ether_text(m, self.numeric)
    }
    fn addr(&self, a: Ipv4Addr) -> String {
        if self.numeric {
            return a.to_string();
        }
        util::reverse(self.world, a).unwrap_or_else(|| a.to_string())
    }
    fn port(&self, p: u16, proto: &str) -> String {
        if self.numeric {
            return p.to_string();
        }
        util::service(p, proto)
            .map(String::from)
            .unwrap_or_else(|| p.to_string())
    }
}

/// An ICMP timestamp (ms since midnight UTC) as tcpdump's
/// `icmp_tstamp_print` writes it.
fn tstamp(ms: u32) -> String {
    let (msec, sec) = (ms % 1000, ms / 1000);
    let (min, sec) = (sec / 60, sec % 60);
    format!("{:02}:{:02}:{:02}.{:03}", min / 60, min % 60, sec, msec)
}

fn icmp_text(h: &Headers, payload: &[u8], n: &Namer) -> String {
    let Some(i) = h.icmp() else {
        return String::new();
    };
    let icmp_len = (h.total_len as usize).saturating_sub(usize::from(h.header_len));
    let inner = i.inner.as_deref();
    let about = || inner.map(|x| n.addr(x.dst)).unwrap_or_default();
    let body = match (i.icmp_type, i.code) {
        (0, _) => format!("echo reply, id {}, seq {}", i.id(), i.seq()),
        (8, _) => format!("echo request, id {}, seq {}", i.id(), i.seq()),
        (13, _) => format!("time stamp query id {} seq {}", i.id(), i.seq()),
        (14, _) if payload.len() >= 12 => {
            let t = |k: usize| {
                tstamp(u32::from_be_bytes([
                    payload[k],
                    payload[k + 1],
                    payload[k + 2],
                    payload[k + 3],
                ]))
            };
            format!(
                "time stamp reply id {} seq {}: org {}, recv {}, xmit {}",
                i.id(),
                i.seq(),
                t(0),
                t(4),
                t(8)
            )
        }
        (14, _) => format!("time stamp reply id {} seq {}", i.id(), i.seq()),
        (3, 3) => match inner.map(|x| (x, &x.l4)) {
            Some((x, L4::Tcp(t))) => format!(
                "{} tcp port {} unreachable",
                n.addr(x.dst),
                n.port(t.dport, "tcp")
            ),
            Some((x, L4::Udp(u))) => format!(
                "{} udp port {} unreachable",
                n.addr(x.dst),
                n.port(u.dport, "udp")
            ),
            Some((x, _)) => format!("{} port unreachable", n.addr(x.dst)),
            None => "port unreachable".into(),
        },
        (3, 2) => format!(
            "{} protocol {} unreachable",
            about(),
            inner.map(|x| x.proto).unwrap_or(0)
        ),
        (3, c) => {
            let tmpl = match c {
                0 => "net %s unreachable",
                1 => "host %s unreachable",
                4 => "%s unreachable - need to frag",
                5 => "%s unreachable - source route failed",
                6 => "net %s unreachable - unknown",
                7 => "host %s unreachable - unknown",
                8 => "%s unreachable - source host isolated",
                9 => "net %s unreachable - admin prohibited",
                10 => "host %s unreachable - admin prohibited",
                11 => "net %s unreachable - tos prohibited",
                12 => "host %s unreachable - tos prohibited",
                13 => "host %s unreachable - admin prohibited filter",
                14 => "host %s unreachable - host precedence violation",
                15 => "host %s unreachable - precedence cutoff",
                _ => "%s unreachable - #code",
            };
            tmpl.replace("%s", &about())
                .replace("#code", &c.to_string())
        }
        (11, 0) => "time exceeded in-transit".into(),
        (11, _) => "ip reassembly time exceeded".into(),
        (4, _) => format!("source quench {}", about()),
        (5, _) => format!("redirect {}", about()),
        (12, _) => "parameter problem".into(),
        (t, _) => format!("type-#{t}"),
    };
    format!("ICMP {body}, length {icmp_len}")
}

fn tcp_text(h: &Headers, payload: &[u8], n: &Namer, seqs: &mut SeqTable, absolute: bool) -> String {
    let Some(t) = h.tcp() else {
        return String::new();
    };
    let mut seq = t.seq;
    let mut ack = t.ack;
    if !absolute && t.flags & tcp_flags::ACK != 0 {
        // One entry per conversation, keyed in a fixed order of the two ends.
        let rev = t.sport > t.dport || (t.sport == t.dport && h.src > h.dst);
        let key = if rev {
            (h.dst, h.src, t.dport, t.sport)
        } else {
            (h.src, h.dst, t.sport, t.dport)
        };
        match seqs.0.get(&key) {
            Some(&(s0, a0)) if t.flags & tcp_flags::SYN == 0 => {
                if rev {
                    seq = seq.wrapping_sub(a0);
                    ack = ack.wrapping_sub(s0);
                } else {
                    seq = seq.wrapping_sub(s0);
                    ack = ack.wrapping_sub(a0);
                }
            }
            _ => {
                let v = if rev {
                    (ack.wrapping_sub(1), seq)
                } else {
                    (seq, ack.wrapping_sub(1))
                };
                seqs.0.insert(key, v);
            }
        }
    }
    let len = payload.len();
    let mut s = format!(
        "{}.{} > {}.{}: Flags [{}]",
        n.addr(h.src),
        n.port(t.sport, "tcp"),
        n.addr(h.dst),
        n.port(t.dport, "tcp"),
        flags_text(t.flags)
    );
    if len > 0 || t.flags & (tcp_flags::SYN | tcp_flags::FIN | tcp_flags::RST) != 0 {
        s.push_str(&format!(", seq {seq}"));
        if len > 0 {
            s.push_str(&format!(":{}", seq.wrapping_add(len as u32)));
        }
    }
    if t.flags & tcp_flags::ACK != 0 {
        s.push_str(&format!(", ack {ack}"));
    }
    s.push_str(&format!(", win {}", t.window));
    if t.flags & tcp_flags::URG != 0 {
        s.push_str(&format!(", urg {}", t.urgent));
    }
    if !t.options.is_empty() {
        s.push_str(&format!(", options [{}]", tcp_options(&t.options)));
    }
    s.push_str(&format!(", length {len}"));
    let http_port = |p: u16| matches!(p, 80 | 8080 | 3128 | 8000);
    if len > 0 && (http_port(t.sport) || http_port(t.dport)) {
        let text = String::from_utf8_lossy(payload);
        let first = text.split("\r\n").next().unwrap_or("");
        let is_http = first.starts_with("HTTP/")
            || ["GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS "]
                .iter()
                .any(|m| first.starts_with(m));
        if is_http {
            s.push_str(&format!(": HTTP: {first}"));
        } else {
            s.push_str(": HTTP");
        }
    }
    s
}

fn line(d: &Decoded, n: &Namer, seqs: &mut SeqTable, o: &Opts) -> String {
    if let Some((op, spa, tpa)) = d.arp {
        let body = match op {
            1 => format!("Request who-has {} tell {}", n.addr(tpa), n.addr(spa)),
            2 => format!("Reply {} is-at {}", n.addr(spa), n.mac(&d.src_mac)),
            _ => format!("op {op}"),
        };
        return format!("ARP, {body}, length 28");
    }
    let Some(h) = &d.ip else {
        return format!(
            "ethertype Unknown (0x{:04x}), length {}",
            d.ethertype, d.len
        );
    };
    let mut prefix = String::from("IP ");
    if o.verbose {
        let flags = match (h.df, h.mf) {
            (true, true) => "[DF+]",
            (true, false) => "[DF]",
            (false, true) => "[+]",
            (false, false) => "[none]",
        };
        let proto = match h.proto {
            6 => "TCP (6)".to_string(),
            17 => "UDP (17)".to_string(),
            1 => "ICMP (1)".to_string(),
            p => format!("unknown ({p})"),
        };
        prefix = format!(
            "IP (tos 0x{:x}, ttl {}, id {}, offset {}, flags {flags}, proto {proto}, length {})\n    ",
            h.tos,
            h.ttl,
            h.id,
            h.frag_offset as u32 * 8,
            h.total_len
        );
    }
    let body = match &h.l4 {
        L4::Tcp(t) if o.quick => format!(
            "{}.{} > {}.{}: tcp {}",
            n.addr(h.src),
            n.port(t.sport, "tcp"),
            n.addr(h.dst),
            n.port(t.dport, "tcp"),
            d.payload.len()
        ),
        L4::Tcp(_) => tcp_text(h, &d.payload, n, seqs, o.absolute_seq),
        L4::Udp(u) => {
            let len = u.len.saturating_sub(8);
            let payload = &d.payload[..d.payload.len().min(usize::from(len))];
            let app = (!o.quick)
                .then(|| super::udp_print::app_text(u.sport, u.dport, payload, o.verbose))
                .flatten();
            let body = app.unwrap_or_else(|| format!("UDP, length {len}"));
            format!(
                "{}.{} > {}.{}: {body}",
                n.addr(h.src),
                n.port(u.sport, "udp"),
                n.addr(h.dst),
                n.port(u.dport, "udp"),
            )
        }
        L4::Icmp(_) => format!(
            "{} > {}: {}",
            n.addr(h.src),
            n.addr(h.dst),
            icmp_text(h, &d.payload, n)
        ),
        _ => format!(
            "{} > {}: ip-proto-{} {}",
            n.addr(h.src),
            n.addr(h.dst),
            h.proto,
            (h.total_len as usize).saturating_sub(usize::from(h.header_len))
        ),
    };
    format!("{prefix}{body}")
}

// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn run(world: &mut World, host: usize, argv: &[String]) -> Output {
    let mut o = Opts {
        iface: None,
        numeric: false,
        count: None,
        ether: false,
        no_time: false,
        verbose: false,
        quick: false,
        absolute_seq: false,
        filter: Vec::new(),
    };
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        if a.starts_with('-') && a.len() > 1 && o.filter.is_empty() {
            let chars: Vec<char> = a[1..].chars().collect();
            let mut k = 0;
            while k < chars.len() {
                match chars[k] {
                    'n' => o.numeric = true,
                    'e' => o.ether = true,
                    't' => o.no_time = true,
                    'v' => o.verbose = true,
                    'S' => o.absolute_seq = true,
                    'q' => o.quick = true,
                    'l' | 'p' | 'U' | 'K' | 'N' => {}
                    'i' | 'c' | 's' | 'w' | 'r' => {
                        let rest: String = chars[k + 1..].iter().collect();
                        let v = if rest.is_empty() {
                            i += 1;
                            match argv.get(i) {
                                Some(v) => v.clone(),
                                None => {
                                    return Output::err(
                                        format!(
                                            "tcpdump: option requires an argument -- '{}'\n",
                                            chars[k]
                                        ),
                                        1,
                                    )
                                }
                            }
                        } else {
                            rest
                        };
                        match chars[k] {
                            'i' => o.iface = Some(v),
                            'c' => match v.parse::<usize>() {
                                Ok(n) if n > 0 => o.count = Some(n),
                                _ => {
                                    return Output::err(
                                        format!("tcpdump: invalid packet count {v}\n"),
                                        1,
                                    )
                                }
                            },
                            'w' | 'r' => {
                                return Output::err(
                                    "tcpdump: reading and writing capture files is not simulated; use the lab's pcap export\n",
                                    1,
                                )
                            }
                            _ => {}
                        }
                        k = chars.len();
                        continue;
                    }
                    c => return Output::err(format!("tcpdump: invalid option -- '{c}'\n"), 1),
                }
                k += 1;
            }
        } else {
            o.filter.push(a.to_string());
        }
        i += 1;
    }
    let h = &world.hosts[host];
    let iface = match &o.iface {
        Some(i) => i.clone(),
        None => match h.ifaces.iter().find(|f| f.up && !f.is_loopback()) {
            Some(f) => f.name.clone(),
            None => "lo".into(),
        },
    };
    if iface != "any" && h.iface(&iface).is_none() {
        return Output::err(
            format!("tcpdump: {iface}: No such device exists\n(No such device exists)\n"),
            1,
        );
    }
    let filter = if o.filter.is_empty() {
        Filter::True
    } else {
        let mut p = Parser {
            toks: tokenize(&o.filter),
            pos: 0,
            depth: 0,
            world,
            host,
            last: None,
        };
        let f = p.expr();
        match f {
            Ok(f) if p.pos == p.toks.len() => f,
            Ok(_) => {
                return Output::err(format!("tcpdump: {SYNTAX}\n"), 1);
            }
            Err(e) => return Output::err(format!("tcpdump: {e}\n"), 1),
        }
    };
    let hname = h.name.clone();
    // Frames of the interface (or all of the host's for `any`), in time order.
    let mut frames: Vec<(&str, u64, &[u8])> = Vec::new();
    for ((hn, ifn), fs) in &world.captures {
        if *hn != hname || (iface != "any" && *ifn != iface) {
            continue;
        }
        for f in fs {
            frames.push((ifn.as_str(), f.time_ns, &f.bytes));
        }
    }
    crate::sort::sort_by_key(&mut frames, |f| f.1);
    let my_macs: Vec<[u8; 6]> = world.hosts[host].ifaces.iter().map(|i| i.mac).collect();
    let namer = Namer {
        world,
        numeric: o.numeric,
    };
    let mut seqs = SeqTable::default();
    let mut out = String::new();
    let mut n = 0usize;
    for (ifn, t, bytes) in frames {
        if o.count.is_some_and(|c| n >= c) {
            break;
        }
        let Some(d) = decode(bytes) else {
            continue;
        };
        if !matches(&filter, &d) {
            continue;
        }
        n += 1;
        let mut l = String::new();
        if !o.no_time {
            l.push_str(&util::clock_micro(&util::local(world, host, t)));
            l.push(' ');
        }
        if iface == "any" {
            let dir = if d.dst_mac == [0xff; 6] {
                "B  "
            } else if my_macs.contains(&d.src_mac) {
                "Out"
            } else {
                "In "
            };
            l.push_str(&format!("{ifn:<5} {dir} "));
        }
        let body = line(&d, &namer, &mut seqs, &o);
        if o.ether {
            let et = match d.ethertype {
                0x0800 => "IPv4 (0x0800)".to_string(),
                0x0806 => "ARP (0x0806)".to_string(),
                e => format!("Unknown (0x{e:04x})"),
            };
            let body = body
                .strip_prefix("IP ")
                .or_else(|| body.strip_prefix("ARP, "))
                .unwrap_or(&body)
                .to_string();
            l.push_str(&format!(
                "{} > {}, ethertype {et}, length {}: {body}",
                namer.mac(&d.src_mac),
                namer.mac(&d.dst_mac),
                d.len
            ));
        } else {
            l.push_str(&body);
        }
        out.push_str(&l);
        out.push('\n');
    }
    let mut err = String::new();
    let link = if iface == "any" {
        err.push_str("tcpdump: data link type LINUX_SLL2\n");
        "LINUX_SLL2 (Linux cooked v2)"
    } else {
        "EN10MB (Ethernet)"
    };
    if o.verbose {
        err.push_str(&format!(
            "tcpdump: listening on {iface}, link-type {link}, snapshot length 262144 bytes\n"
        ));
    } else {
        err.push_str("tcpdump: verbose output suppressed, use -v[v]... for full protocol decode\n");
        err.push_str(&format!(
            "listening on {iface}, link-type {link}, snapshot length 262144 bytes\n"
        ));
    }
    err.push_str(&format!(
        "{n} packet{s} captured\n{n} packet{s} received by filter\n0 packets dropped by kernel\n",
        s = if n == 1 { "" } else { "s" }
    ));
    Output {
        stdout: out,
        stderr: err,
        exit: 0,
    }
}
