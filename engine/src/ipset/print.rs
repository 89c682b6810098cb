//! `ipset list` and `ipset save` output: plain, save and XML formats,
//! terse (`-t`) and names-only (`-n`) listings, sorted members (`-s`).

use super::elem::{fmt_mac, fmt_port};
use super::set::{Entry, IpSet};
use super::types::Kind;
use std::fmt::Write;
use std::net::Ipv4Addr;

/// Output formats of `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    Save,
    Xml,
}

/// What a listing shows.
#[derive(Debug, Clone, Copy)]
pub struct ListOpts {
    pub mode: Mode,
    pub terse: bool,
    pub names_only: bool,
    pub sorted: bool,
    pub now: u64,
}

fn ip(v: u32) -> Ipv4Addr {
    Ipv4Addr::from(v)
}

/// Header options after the type name (`Header:` line and `create` line).
pub fn header_text(set: &IpSet) -> String {
    let h = &set.header;
    let mut s = String::new();
    match set.kind {
        Kind::BitmapIp | Kind::BitmapIpMac => {
            let _ = write!(s, "range {}-{}", ip(h.range.0), ip(h.range.1));
            if let Some(n) = h.netmask {
                let _ = write!(s, " netmask {n}");
            }
        }
        Kind::BitmapPort => {
            let _ = write!(s, "range {}-{}", h.range.0, h.range.1);
        }
        Kind::ListSet => {
            let _ = write!(s, "size {}", h.size);
        }
        _ => {
            let _ = write!(
                s,
                "family {} hashsize {} maxelem {}",
                if h.inet6 { "inet6" } else { "inet" },
                h.hashsize,
                h.maxelem
            );
            if set.kind == Kind::HashIp {
                if let Some(n) = h.netmask {
                    let _ = write!(s, " netmask {n}");
                }
                if let Some(b) = h.bitmask {
                    let _ = write!(s, " bitmask {}", ip(b));
                }
            }
        }
    }
    if let Some(t) = h.timeout {
        let _ = write!(s, " timeout {t}");
    }
    if h.counters {
        s.push_str(" counters");
    }
    if h.comment {
        s.push_str(" comment");
    }
    if h.skbinfo {
        s.push_str(" skbinfo");
    }
    if set.kind.is_hash() {
        let _ = write!(
            s,
            " bucketsize {} initval 0x{:08x}",
            h.bucketsize, h.initval
        );
        if set.kind == Kind::HashIpPort {
            if let Some(n) = h.netmask {
                let _ = write!(s, " netmask {n}");
            }
            if let Some(b) = h.bitmask {
                let _ = write!(s, " bitmask {}", ip(b));
            }
        }
    }
    s
}

fn net(v: u32, cidr: u8) -> String {
    if cidr == 32 || cidr == 0 {
        ip(v).to_string()
    } else {
        format!("{}/{cidr}", ip(v))
    }
}

/// A member as ipset prints it.
pub fn elem_text(kind: Kind, e: &Entry) -> String {
    let k = &e.key;
    match kind {
        Kind::HashIp | Kind::BitmapIp => ip(k.ip).to_string(),
        Kind::HashNet => net(k.ip, k.cidr),
        Kind::HashIpPort => format!("{},{}", ip(k.ip), fmt_port(k.proto, k.port, None)),
        Kind::HashNetPort => format!("{},{}", net(k.ip, k.cidr), fmt_port(k.proto, k.port, None)),
        Kind::HashIpPortIp => format!(
            "{},{},{}",
            ip(k.ip),
            fmt_port(k.proto, k.port, None),
            ip(k.ip2)
        ),
        Kind::HashIpPortNet => format!(
            "{},{},{}",
            ip(k.ip),
            fmt_port(k.proto, k.port, None),
            net(k.ip2, k.cidr2)
        ),
        Kind::HashNetIface => format!(
            "{},{}{}",
            net(k.ip, k.cidr),
            if k.physdev { "physdev:" } else { "" },
            k.iface
        ),
        Kind::BitmapIpMac => match &e.mac {
            Some(m) => format!("{},{}", ip(k.ip), fmt_mac(m)),
            None => ip(k.ip).to_string(),
        },
        Kind::BitmapPort => k.port.to_string(),
        Kind::ListSet => k.name.clone(),
    }
}

/// Seconds left as the kernel reports them a moment after `now`.
pub fn remaining(expires: u64, now: u64) -> u64 {
    expires.saturating_sub(now).saturating_sub(1).max(1)
}

/// Extensions after the element, with a leading space each.
fn ext_text(set: &IpSet, e: &Entry, now: u64) -> String {
    let h = &set.header;
    let mut s = String::new();
    if h.timeout.is_some() {
        let t = e.expires.map(|x| remaining(x, now)).unwrap_or(0);
        let _ = write!(s, " timeout {t}");
    }
    if e.nomatch {
        s.push_str(" nomatch");
    }
    if e.key.wildcard {
        s.push_str(" wildcard");
    }
    if h.counters {
        let _ = write!(s, " packets {} bytes {}", e.packets, e.bytes);
    }
    if let Some(c) = &e.comment {
        let _ = write!(s, " comment \"{c}\"");
    }
    if e.skbmark != (0, 0) {
        if e.skbmark.1 == u32::MAX {
            let _ = write!(s, " skbmark 0x{:x}", e.skbmark.0);
        } else {
            let _ = write!(s, " skbmark 0x{:x}/0x{:x}", e.skbmark.0, e.skbmark.1);
        }
    }
    if e.skbprio != (0, 0) {
        let _ = write!(s, " skbprio {:x}:{:x}", e.skbprio.0, e.skbprio.1);
    }
    if e.skbqueue != 0 {
        let _ = write!(s, " skbqueue {}", e.skbqueue);
    }
    s
}

fn members<'a>(set: &'a IpSet, o: &ListOpts) -> Vec<&'a Entry> {
    if o.sorted {
        set.sorted_members()
    } else {
        set.members()
    }
}

/// The `create` line of a save.
pub fn create_line(set: &IpSet) -> String {
    format!(
        "create {} {} {}\n",
        set.name,
        set.kind.name(),
        header_text(set)
    )
}

/// Lists sets (`refs` gives each set's reference count).
pub fn list(sets: &[&IpSet], o: &ListOpts, refs: &dyn Fn(&str) -> usize) -> String {
    let mut out = String::new();
    if o.names_only {
        for s in sets {
            out.push_str(&s.name);
            out.push('\n');
        }
        return out;
    }
    match o.mode {
        Mode::Save => {
            for s in sets {
                out.push_str(&create_line(s));
                if !o.terse {
                    for e in members(s, o) {
                        let _ = writeln!(
                            out,
                            "add {} {}{}",
                            s.name,
                            elem_text(s.kind, e),
                            ext_text(s, e, o.now)
                        );
                    }
                }
            }
        }
        Mode::Plain => {
            for (i, s) in sets.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                let _ = write!(
                    out,
                    "Name: {}\nType: {}\nRevision: {}\nHeader: {}\nSize in memory: {}\nReferences: {}\nNumber of entries: {}\n",
                    s.name,
                    s.kind.name(),
                    s.kind.revision(),
                    header_text(s),
                    s.memsize(),
                    refs(&s.name),
                    s.len()
                );
                if !o.terse {
                    out.push_str("Members:\n");
                    for e in members(s, o) {
                        let _ = writeln!(out, "{}{}", elem_text(s.kind, e), ext_text(s, e, o.now));
                    }
                }
            }
        }
        Mode::Xml => {
            out.push_str("<ipsets>\n");
            for s in sets {
                let _ = write!(
                    out,
                    "<ipset name=\"{}\">\n<type>{}</type>\n<revision>{}</revision>\n<header>{}\n<memsize>{}</memsize>\n<references>{}</references>\n<numentries>{}</numentries>\n</header>\n",
                    s.name,
                    s.kind.name(),
                    s.kind.revision(),
                    xml_header(s),
                    s.memsize(),
                    refs(&s.name),
                    s.len()
                );
                if !o.terse {
                    out.push_str("<members>\n");
                    for e in members(s, o) {
                        let _ = writeln!(
                            out,
                            "<member><elem>{}</elem>{}</member>",
                            elem_text(s.kind, e),
                            xml_ext(s, e, o.now)
                        );
                    }
                    out.push_str("</members>\n");
                }
                out.push_str("</ipset>\n");
            }
            out.push_str("</ipsets>\n");
        }
    }
    out
}

/// The header as XML tags (`<family>inet</family>...`).
fn xml_header(set: &IpSet) -> String {
    let words: Vec<&str> = Vec::new();
    let text = header_text(set);
    let mut out = String::new();
    let mut it = text.split(' ').peekable();
    let flags = ["counters", "comment", "skbinfo", "forceadd"];
    while let Some(w) = it.next() {
        if flags.contains(&w) {
            let _ = write!(out, "<{w}/>");
        } else if let Some(v) = it.next() {
            let _ = write!(out, "<{w}>{v}</{w}>");
        }
    }
    let _ = words;
    out
}

fn xml_ext(set: &IpSet, e: &Entry, now: u64) -> String {
    let text = ext_text(set, e, now);
    let mut out = String::new();
    let mut it = text.split_whitespace().peekable();
    while let Some(w) = it.next() {
        match w {
            "nomatch" | "wildcard" => {
                let _ = write!(out, "<{w}/>");
            }
            "comment" => {
                let rest: Vec<&str> = it.by_ref().collect();
                let c = rest.join(" ");
                let _ = write!(out, "<comment>{c}</comment>");
            }
            _ => {
                if let Some(v) = it.next() {
                    let _ = write!(out, "<{w}>{v}</{w}>");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipset::set::{ExtArgs, Header, Key};

    #[test]
    fn header_orders_options_like_ipset() {
        let h = Header {
            hashsize: 64,
            maxelem: 100,
            netmask: Some(24),
            timeout: Some(0),
            counters: true,
            comment: true,
            skbinfo: true,
            bucketsize: 12,
            initval: 0x1234,
            ..Default::default()
        };
        let s = IpSet::new("a", Kind::HashIp, h);
        assert_eq!(
            header_text(&s),
            "family inet hashsize 64 maxelem 100 netmask 24 timeout 0 counters comment skbinfo bucketsize 12 initval 0x00001234"
        );
    }

    #[test]
    fn members_with_extensions() {
        let h = Header {
            hashsize: 1024,
            maxelem: 10,
            timeout: Some(100),
            counters: true,
            comment: true,
            ..Default::default()
        };
        let mut s = IpSet::new("e", Kind::HashNet, h);
        let ext = ExtArgs {
            timeout: Some(50),
            packets: Some(1),
            bytes: Some(2),
            comment: Some("x y".into()),
            nomatch: true,
            ..Default::default()
        };
        let key = Key {
            ip: 0x0a00_0000,
            cidr: 8,
            ..Default::default()
        };
        s.add_one(key, None, &ext, false, 1000).unwrap();
        let o = ListOpts {
            mode: Mode::Save,
            terse: false,
            names_only: false,
            sorted: false,
            now: 1000,
        };
        assert_eq!(
            list(&[&s], &o, &|_| 0),
            "create e hash:net family inet hashsize 1024 maxelem 10 timeout 100 counters comment bucketsize 0 initval 0x00000000\nadd e 10.0.0.0/8 timeout 49 nomatch packets 1 bytes 2 comment \"x y\"\n"
        );
    }

    #[test]
    fn kernel_style_remaining_time() {
        assert_eq!(remaining(110, 100), 9);
        assert_eq!(remaining(101, 100), 1);
    }
}
