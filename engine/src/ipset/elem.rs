//! Elements of the add/del/test commands: splitting an element into its
//! parts, checking which forms a command allows, and carrying the command
//! out with the kernel's semantics (ranges and CIDR blocks expand member by
//! member and stop at the first error).

use super::parse::{self, AddrForm, AddrSpec, PResult, PortSpec, Resolver};
use super::set::{mask, range_to_cidrs, ExtArgs, IpSet, KErr, KResult, Key};
use super::types::{Adt, Kind, Part};
use std::net::Ipv4Addr;

/// An element as parsed from the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Elem {
    pub ip: Option<AddrSpec>,
    pub port: Option<PortSpec>,
    pub ip2: Option<AddrSpec>,
    pub iface: Option<(String, bool)>,
    pub mac: Option<[u8; 6]>,
    pub name: Option<String>,
    /// list:set `before|after NAME`: (name, before).
    pub nameref: Option<(String, bool)>,
    pub wildcard: bool,
}

/// `ipset_parse_elem`: splits on `,` and parses each part for the set type.
pub fn parse_elem(
    kind: Kind,
    s: &str,
    adt: Adt,
    resolve: Resolver,
    warn: &mut Vec<String>,
) -> PResult<Elem> {
    let parts = kind.parts();
    let dim = parts.len();
    let mut e = Elem::default();
    let a = parse::find_sep(s, ',');
    let (first, rest) = match a {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    if dim == 1 {
        if rest.is_some() {
            if kind == Kind::ListSet {
                return list_compat(s);
            }
            return Err(format!(
                "Syntax error: Elem separator in {s}, but settype {} supports none.",
                kind.name()
            ));
        }
    } else if rest.is_none() && !kind.last_optional() {
        return Err(format!("Syntax error: Second element is missing from {s}."));
    }
    let (second, third) = match rest {
        Some(r) => match parse::find_sep(r, ',') {
            Some(j) => (Some(&r[..j]), Some(&r[j + 1..])),
            None => (Some(r), None),
        },
        None => (None, None),
    };
    if dim > 2 {
        if third.is_none() {
            return Err(format!("Syntax error: Third element is missing from {s}."));
        }
    } else if third.is_some() {
        return Err(format!(
            "Syntax error: Two elem separators in {s}, but settype {} supports one.",
            kind.name()
        ));
    }
    if let Some(t) = third {
        if parse::find_sep(t, ',').is_some() {
            return Err(format!(
                "Syntax error: Three elem separators in {s}, but settype {} supports two.",
                kind.name()
            ));
        }
    }
    let words = [Some(first), second, third];
    for (part, word) in parts.iter().zip(words) {
        let Some(w) = word else { continue };
        match part {
            Part::Ip | Part::Net => e.ip = Some(parse::addr(w, AddrForm::Any, resolve, warn)?),
            Part::Net2 => e.ip2 = Some(parse::addr(w, AddrForm::Any, resolve, warn)?),
            Part::Ip2 => e.ip2 = Some(parse::addr(w, AddrForm::Plain, resolve, warn)?),
            Part::Port if kind == Kind::BitmapPort => {
                let (port, to) = parse::tcp_udp_port(w, adt.name())?;
                e.port = Some(PortSpec { proto: 0, port, to });
            }
            Part::Port => e.port = Some(parse::proto_port(w, adt.name())?),
            Part::Iface => e.iface = Some(parse::iface(w)?),
            Part::Mac => e.mac = Some(parse::ether(w)?),
            Part::Name => e.name = Some(parse::setname(w)?.to_string()),
        }
    }
    Ok(e)
}

/// `ipset_parse_name_compat`: `NAME,before|after,NAME`.
fn list_compat(s: &str) -> PResult<Elem> {
    let err = || "you must specify elements as setname,[before|after],setname".to_string();
    let mut it = s.splitn(3, ',');
    let (Some(a), Some(w), Some(b)) = (it.next(), it.next(), it.next()) else {
        return Err(err());
    };
    if w != "before" && w != "after" {
        return Err(err());
    }
    parse::setname(a)?;
    parse::setname(b)?;
    Ok(Elem {
        name: Some(a.to_string()),
        nameref: Some((b.to_string(), w == "before")),
        ..Default::default()
    })
}

/// `check_allowed`: element forms the command does not take.
pub fn check_allowed(kind: Kind, adt: Adt, e: &Elem) -> PResult<()> {
    let al = kind.allows(adt);
    let msg = |what: &str| {
        format!(
            "{what} is not allowed in command {} with set type {} and family {}",
            adt.name(),
            kind.name(),
            if matches!(kind, Kind::BitmapPort | Kind::ListSet) {
                "unspec"
            } else {
                "inet"
            }
        )
    };
    if let Some(ip) = &e.ip {
        if ip.to.is_some() && !al.ip_range {
            return Err(msg("FROM-TO IP range"));
        }
        if ip.cidr.is_some() && !al.ip_cidr && !al.ip_range {
            return Err(msg("IP/CIDR range"));
        }
    }
    if let Some(p) = &e.port {
        if p.to.is_some() && !al.port_range {
            return Err(msg("FROM-TO port range"));
        }
    }
    if let Some(ip2) = &e.ip2 {
        if (ip2.to.is_some() && !al.ip2_range) || (ip2.cidr.is_some() && !al.ip2_cidr) {
            return Err(
                "There are not allowed options (29) but can't resolve them. It's a bug, please report the problem."
                    .to_string(),
            );
        }
    }
    Ok(())
}

fn ip_str(ip: u32) -> String {
    Ipv4Addr::from(ip).to_string()
}

fn fmt_addr(a: &AddrSpec) -> String {
    let mut s = ip_str(a.ip);
    if let Some(c) = a.cidr {
        s.push_str(&format!("/{c}"));
    }
    if let Some(t) = a.to {
        s.push('-');
        s.push_str(&ip_str(t));
    }
    s
}

/// Protocol name as ipset prints it.
pub fn proto_str(p: u8) -> String {
    match crate::netdb::proto_name(p) {
        Some(n) => n.to_string(),
        None => p.to_string(),
    }
}

/// `PROTO:PORT` as ipset prints it (ICMP by name when it has one).
pub fn fmt_port(proto: u8, port: u16, to: Option<u16>) -> String {
    if proto == 1 {
        return match super::parse::icmp_name(port) {
            Some(n) => format!("icmp:{n}"),
            None => format!("icmp:{}/{}", port >> 8, port & 0xff),
        };
    }
    let mut s = format!("{}:{port}", proto_str(proto));
    if let Some(t) = to {
        s.push_str(&format!("-{t}"));
    }
    s
}

/// The element as ipset echoes it in `test` messages.
pub fn fmt_elem(kind: Kind, e: &Elem) -> String {
    let mut parts = Vec::new();
    for part in kind.parts() {
        match part {
            Part::Ip | Part::Net => {
                if let Some(a) = &e.ip {
                    parts.push(fmt_addr(a));
                }
            }
            Part::Ip2 | Part::Net2 => {
                if let Some(a) = &e.ip2 {
                    parts.push(fmt_addr(a));
                }
            }
            Part::Port => {
                if let Some(p) = &e.port {
                    if kind == Kind::BitmapPort {
                        let mut s = p.port.to_string();
                        if let Some(t) = p.to {
                            s.push_str(&format!("-{t}"));
                        }
                        parts.push(s);
                    } else {
                        parts.push(fmt_port(p.proto, p.port, p.to));
                    }
                }
            }
            Part::Iface => {
                if let Some((i, _)) = &e.iface {
                    parts.push(i.clone());
                }
            }
            Part::Mac => {
                if let Some(m) = &e.mac {
                    parts.push(fmt_mac(m));
                }
            }
            Part::Name => {
                let mut s = e.name.clone().unwrap_or_default();
                if let Some((r, _)) = &e.nameref {
                    s.push_str(" after ");
                    s.push_str(r);
                }
                parts.push(s);
            }
        }
    }
    parts.join(",")
}

pub fn fmt_mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Address blocks an address part expands to on add/del.
enum Addrs {
    /// Every `step`-th address from `from` to `to`.
    Hosts { from: u32, to: u32, step: u64 },
    /// CIDR blocks.
    Blocks(Vec<(u32, u8)>),
}

impl Addrs {
    fn for_each(&self, f: &mut dyn FnMut(u32, u8) -> KResult) -> KResult {
        match self {
            Addrs::Hosts { from, to, step } => {
                let mut ip = *from as u64;
                while ip <= *to as u64 {
                    f(ip as u32, 32)?;
                    ip += step;
                }
                Ok(())
            }
            Addrs::Blocks(v) => {
                for (ip, c) in v {
                    f(*ip, *c)?;
                }
                Ok(())
            }
        }
    }
}

fn order(a: u32, b: u32) -> (u32, u32) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Host addresses an `ip` part covers (hash:ip-like first parts).
fn host_range(a: &AddrSpec, hostmask: u32) -> KResult<Addrs> {
    let step = (!hostmask as u64) + 1;
    let ip = a.ip & hostmask;
    if let Some(to) = a.to {
        let (f, t) = order(a.ip, to);
        return Ok(Addrs::Hosts {
            from: f & hostmask,
            to: t,
            step,
        });
    }
    if let Some(c) = a.cidr {
        if c == 0 || c > 32 {
            return Err(KErr::InvalidCidr);
        }
        let f = a.ip & mask(c);
        return Ok(Addrs::Hosts {
            from: f & hostmask,
            to: f | !mask(c),
            step,
        });
    }
    Ok(Addrs::Hosts {
        from: ip,
        to: ip,
        step,
    })
}

/// Network blocks a `net` part covers.
fn net_blocks(a: &AddrSpec) -> KResult<Addrs> {
    if let Some(to) = a.to {
        let (f, t) = order(a.ip, to);
        if f == 0 && t == u32::MAX {
            return Err(KErr::HashRange);
        }
        return Ok(Addrs::Blocks(range_to_cidrs(f, t)));
    }
    let c = a.cidr.unwrap_or(32);
    if c == 0 || c > 32 {
        return Err(KErr::InvalidCidr);
    }
    Ok(Addrs::Blocks(vec![(a.ip & mask(c), c)]))
}

fn ports(p: &PortSpec) -> (u8, u16, u16) {
    let port = if parse::proto_with_ports(p.proto) || p.proto == 1 {
        p.port
    } else {
        0
    };
    match p.to {
        Some(t) if parse::proto_with_ports(p.proto) => {
            let (a, b) = if port <= t { (port, t) } else { (t, port) };
            (p.proto, a, b)
        }
        _ => (p.proto, port, port),
    }
}

/// What a `test` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestResult {
    In,
    NotIn,
}

/// The host mask hash:ip and hash:ip,port apply (`netmask` / `bitmask`).
pub fn hostmask(set: &IpSet) -> u32 {
    match (set.header.bitmask, set.header.netmask) {
        (Some(b), _) => b,
        (None, Some(n)) => mask(n),
        _ => u32::MAX,
    }
}

/// Adds or deletes an element; ranges stop at the first error.
pub fn add_del(
    set: &mut IpSet,
    e: &Elem,
    adt: Adt,
    ext: &ExtArgs,
    exist: bool,
    now: u64,
) -> KResult {
    set.check_ext(ext)?;
    let kind = set.kind;
    let op = |set: &mut IpSet, key: Key, mac: Option<[u8; 6]>| -> KResult {
        match adt {
            Adt::Add => set.add_one(key, mac, ext, exist, now),
            _ => set.del_one(&key, exist),
        }
    };
    let ipspec = e.ip.unwrap_or_default();
    match kind {
        Kind::ListSet => unreachable_list(),
        Kind::BitmapIp | Kind::BitmapIpMac => {
            let (first, last) = set.header.range;
            let hosts = 1u64 << (32 - set.header.netmask.unwrap_or(32) as u32);
            let (f, t) = if let Some(to) = ipspec.to {
                order(ipspec.ip, to)
            } else if let Some(c) = ipspec.cidr {
                if c > 32 {
                    return Err(KErr::InvalidCidr);
                }
                (ipspec.ip & mask(c), (ipspec.ip & mask(c)) | !mask(c))
            } else {
                (ipspec.ip, ipspec.ip)
            };
            if f < first || t > last {
                return Err(KErr::BitmapRange);
            }
            let mut id = (f - first) as u64 / hosts;
            let last_id = (t - first) as u64 / hosts;
            while id <= last_id {
                let key = Key {
                    ip: first + (id * hosts) as u32,
                    ..Default::default()
                };
                op(set, key, e.mac)?;
                id += 1;
            }
            Ok(())
        }
        Kind::BitmapPort => {
            let p = e.port.unwrap_or_default();
            let (f, t) = match p.to {
                Some(to) => order(p.port as u32, to as u32),
                None => (p.port as u32, p.port as u32),
            };
            let (first, last) = set.header.range;
            if f < first || t > last {
                return Err(KErr::BitmapRange);
            }
            for port in f..=t {
                let key = Key {
                    port: port as u16,
                    ..Default::default()
                };
                op(set, key, None)?;
            }
            Ok(())
        }
        Kind::HashIp => {
            let hm = hostmask(set);
            let reversed_to_zero = ipspec.to.is_some_and(|to| to == 0 && ipspec.ip > 0);
            if ipspec.ip & hm == 0 || reversed_to_zero {
                return Err(KErr::HashElem);
            }
            let addrs = host_range(&ipspec, hm)?;
            if let (Adt::Del, true, Addrs::Hosts { from, to, step }) = (adt, exist, &addrs) {
                // Deleting a big range with -exist: walk the members instead.
                if ((*to - *from) as u64 / step) as usize > set.len() {
                    let (f, t) = (*from, *to);
                    set.remove_where(|k| k.ip >= f && k.ip <= t);
                    return Ok(());
                }
            }
            addrs.for_each(&mut |ip, _| {
                let key = Key {
                    ip,
                    ..Default::default()
                };
                op(set, key, None)
            })
        }
        Kind::HashNet | Kind::HashNetIface => {
            let blocks = net_blocks(&ipspec)?;
            let (iface, physdev) = e.iface.clone().unwrap_or_default();
            blocks.for_each(&mut |ip, cidr| {
                let key = Key {
                    ip,
                    cidr,
                    iface: iface.clone(),
                    physdev,
                    wildcard: e.wildcard,
                    ..Default::default()
                };
                op(set, key, None)
            })
        }
        Kind::HashIpPort | Kind::HashIpPortIp | Kind::HashIpPortNet | Kind::HashNetPort => {
            let p = e.port.unwrap_or_default();
            if p.proto == 0 {
                return Err(KErr::InvalidProto);
            }
            if kind == Kind::HashIpPort && ipspec.ip == 0 {
                // The kernel refuses the address as given (before a range or
                // CIDR is expanded): `0.0.0.1/31` and `0.0.0.1-0.0.0.0` pass.
                return Err(KErr::Invalid);
            }
            let (proto, pf, pt) = ports(&p);
            let addrs = if kind == Kind::HashNetPort {
                net_blocks(&ipspec)?
            } else {
                host_range(&ipspec, hostmask(set))?
            };
            let ip2s = match (kind, &e.ip2) {
                (Kind::HashIpPortNet, Some(a)) => net_blocks(a)?,
                (_, Some(a)) => Addrs::Blocks(vec![(a.ip, 0)]),
                _ => Addrs::Blocks(vec![(0, 0)]),
            };
            addrs.for_each(&mut |ip, cidr| {
                for port in pf..=pt {
                    ip2s.for_each(&mut |ip2, cidr2| {
                        let key = Key {
                            ip,
                            cidr: if kind == Kind::HashNetPort { cidr } else { 0 },
                            port,
                            proto,
                            ip2,
                            cidr2,
                            ..Default::default()
                        };
                        op(set, key, None)
                    })?;
                }
                Ok(())
            })
        }
    }
}

fn unreachable_list() -> KResult {
    // list:set elements go through `Store::list_adt`.
    Err(KErr::Name)
}

/// Tests an element; `nomatch` is the test command's flag.
pub fn test(set: &IpSet, e: &Elem, nomatch: bool) -> KResult<TestResult> {
    let kind = set.kind;
    let ipspec = e.ip.unwrap_or_default();
    let found = |hit: Option<&super::set::Entry>| -> TestResult {
        match hit {
            Some(en) if !kind.has_nomatch() || en.nomatch == nomatch => TestResult::In,
            _ => TestResult::NotIn,
        }
    };
    match kind {
        Kind::ListSet => Err(KErr::Name),
        Kind::BitmapIp | Kind::BitmapIpMac => {
            let (first, last) = set.header.range;
            if ipspec.ip < first || ipspec.ip > last {
                return Ok(TestResult::NotIn);
            }
            let hosts = 1u64 << (32 - set.header.netmask.unwrap_or(32) as u32);
            let id = (ipspec.ip - first) as u64 / hosts;
            let key = Key {
                ip: first + (id * hosts) as u32,
                ..Default::default()
            };
            Ok(match set.get(&key) {
                Some(en) => match (en.mac, e.mac) {
                    (Some(a), Some(b)) if a != b => TestResult::NotIn,
                    _ => TestResult::In,
                },
                None => TestResult::NotIn,
            })
        }
        Kind::BitmapPort => {
            let p = e.port.unwrap_or_default();
            let (first, last) = set.header.range;
            if (p.port as u32) < first || (p.port as u32) > last {
                return Ok(TestResult::NotIn);
            }
            let key = Key {
                port: p.port,
                ..Default::default()
            };
            Ok(found(set.get(&key)))
        }
        Kind::HashIp => {
            let ip = ipspec.ip & hostmask(set);
            if ip == 0 {
                // Refused by the kernel; ipset reports it as not in the set.
                return Ok(TestResult::NotIn);
            }
            let key = Key {
                ip,
                ..Default::default()
            };
            Ok(found(set.get(&key)))
        }
        Kind::HashNet | Kind::HashNetIface => {
            let c = ipspec.cidr.unwrap_or(32);
            if c == 0 || c > 32 {
                return Err(KErr::InvalidCidr);
            }
            let (iface, physdev) = e.iface.clone().unwrap_or_default();
            let key = Key {
                ip: ipspec.ip & mask(c),
                cidr: c,
                iface,
                physdev,
                ..Default::default()
            };
            Ok(found(set.lookup(&key, c != 32)))
        }
        Kind::HashIpPort | Kind::HashIpPortIp | Kind::HashIpPortNet | Kind::HashNetPort => {
            let p = e.port.unwrap_or_default();
            if p.proto == 0 {
                return Err(KErr::InvalidProto);
            }
            if kind == Kind::HashIpPort && ipspec.ip == 0 {
                // Refused by the kernel; ipset reports it as not in the set.
                return Ok(TestResult::NotIn);
            }
            let (proto, port, _) = ports(&p);
            let mut key = Key {
                ip: ipspec.ip & hostmask(set),
                port,
                proto,
                ..Default::default()
            };
            let mut exact = true;
            if kind == Kind::HashNetPort {
                let c = ipspec.cidr.unwrap_or(32);
                if c == 0 || c > 32 {
                    return Err(KErr::InvalidCidr);
                }
                key.ip = ipspec.ip & mask(c);
                key.cidr = c;
                exact = c != 32;
            }
            if let Some(a) = &e.ip2 {
                key.ip2 = a.ip;
                if kind == Kind::HashIpPortNet {
                    let c = a.cidr.unwrap_or(32);
                    if c == 0 || c > 32 {
                        return Err(KErr::InvalidCidr);
                    }
                    key.ip2 = a.ip & mask(c);
                    key.cidr2 = c;
                    exact = c != 32;
                }
            }
            Ok(found(set.lookup(&key, exact)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipset::set::Header;

    fn none(_: &str) -> Vec<Ipv4Addr> {
        Vec::new()
    }

    fn p(kind: Kind, s: &str) -> PResult<Elem> {
        parse_elem(kind, s, Adt::Add, &none, &mut Vec::new())
    }

    #[test]
    fn separators() {
        assert_eq!(
            p(Kind::HashIpPort, "1.1.1.17"),
            Err("Syntax error: Second element is missing from 1.1.1.17.".into())
        );
        assert_eq!(
            p(Kind::HashIpPort, "1.1.1.18,"),
            Err("Syntax error: Second element is missing from 1.1.1.18,.".into())
        );
        assert_eq!(
            p(Kind::HashIpPort, "1.2.3.4,22,33"),
            Err("Syntax error: Two elem separators in 1.2.3.4,22,33, but settype hash:ip,port supports one.".into())
        );
        assert_eq!(
            p(Kind::HashIp, "1.2.3.4,5"),
            Err(
                "Syntax error: Elem separator in 1.2.3.4,5, but settype hash:ip supports none."
                    .into()
            )
        );
        assert!(p(Kind::BitmapIpMac, "1.1.1.1").is_ok());
        let e = p(Kind::ListSet, "a,before,b").unwrap();
        assert_eq!(e.nameref, Some(("b".into(), true)));
    }

    #[test]
    fn ranges_expand_and_stop_at_first_error() {
        let h = Header {
            maxelem: 100,
            ..Default::default()
        };
        let mut s = IpSet::new("a", Kind::HashIp, h);
        let e = p(Kind::HashIp, "1.1.1.3").unwrap();
        add_del(&mut s, &e, Adt::Add, &ExtArgs::default(), false, 0).unwrap();
        let e = p(Kind::HashIp, "1.1.1.0/30").unwrap();
        let r = add_del(&mut s, &e, Adt::Add, &ExtArgs::default(), false, 0);
        assert_eq!(r, Err(KErr::Exist));
        assert_eq!(s.len(), 4);
        let e = p(Kind::HashIp, "0.0.0.0").unwrap();
        assert_eq!(
            add_del(&mut s, &e, Adt::Add, &ExtArgs::default(), false, 0),
            Err(KErr::HashElem)
        );
    }

    #[test]
    fn ip_port_refuses_zero_as_given() {
        let h = Header {
            maxelem: 100,
            ..Default::default()
        };
        let mut s = IpSet::new("p", Kind::HashIpPort, h.clone());
        let none = ExtArgs::default();
        let zero = p(Kind::HashIpPort, "0.0.0.0,tcp:80").unwrap();
        assert_eq!(
            add_del(&mut s, &zero, Adt::Add, &none, true, 0),
            Err(KErr::Invalid)
        );
        let wide = p(Kind::HashIpPort, "0.0.0.0/31,tcp:80").unwrap();
        assert_eq!(
            add_del(&mut s, &wide, Adt::Add, &none, false, 0),
            Err(KErr::Invalid)
        );
        let reversed = p(Kind::HashIpPort, "0.0.0.1-0.0.0.0,tcp:80").unwrap();
        add_del(&mut s, &reversed, Adt::Add, &none, false, 0).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(test(&s, &zero, false), Ok(TestResult::NotIn));
        let mut three = IpSet::new("q", Kind::HashIpPortIp, h);
        let e = p(Kind::HashIpPortIp, "0.0.0.0,tcp:80,1.1.1.1").unwrap();
        add_del(&mut three, &e, Adt::Add, &none, false, 0).unwrap();
        assert_eq!(test(&three, &e, false), Ok(TestResult::In));
    }

    #[test]
    fn ip_port_ranges_multiply() {
        let h = Header {
            maxelem: 100,
            ..Default::default()
        };
        let mut s = IpSet::new("p", Kind::HashIpPort, h);
        let e = p(Kind::HashIpPort, "1.1.1.1-1.1.1.2,udp:80-81").unwrap();
        add_del(&mut s, &e, Adt::Add, &ExtArgs::default(), false, 0).unwrap();
        assert_eq!(s.len(), 4);
        let t = p(Kind::HashIpPort, "1.1.1.2,udp:81").unwrap();
        assert_eq!(test(&s, &t, false), Ok(TestResult::In));
        let t = p(Kind::HashIpPort, "1.1.1.2,81").unwrap();
        assert_eq!(test(&s, &t, false), Ok(TestResult::NotIn));
    }

    #[test]
    fn echo_of_elements() {
        let e = p(Kind::HashIpPort, "1.1.1.1,http").unwrap();
        assert_eq!(fmt_elem(Kind::HashIpPort, &e), "1.1.1.1,tcp:80");
        let e = p(Kind::HashNetIface, "1.1.1.1,physdev:eth0").unwrap();
        assert_eq!(fmt_elem(Kind::HashNetIface, &e), "1.1.1.1,eth0");
    }
}
