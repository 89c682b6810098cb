//! Value parsers of the ipset command line with ipset 7.17's exact messages:
//! numbers, addresses (plain, `IP/CIDR`, `FROM-TO`), `[PROTO:]PORT[-PORT]`,
//! ICMP names, interfaces, MAC addresses and set names.

use std::net::Ipv4Addr;

/// A failed parse: the message after `ipset v7.17: ` (lines joined by `\n`).
pub type PResult<T> = Result<T, String>;

/// Longest set name.
pub const MAXNAMELEN: usize = 31;

/// `strtoull` outcome on the whole string.
enum Num {
    Ok(u64),
    Range,
    Invalid,
}

/// C `strtoull(s, &end, 0)` where the whole string must be consumed.
fn strtoull(s: &str) -> Num {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let b = t.as_bytes();
    let mut i = 0;
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let (radix, start) = if i + 1 < b.len()
        && b[i] == b'0'
        && (b[i + 1] | 0x20) == b'x'
        && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        (16, i + 2)
    } else if i < b.len() && b[i] == b'0' {
        (8, i)
    } else {
        (10, i)
    };
    let mut end = start;
    let mut value: u64 = 0;
    let mut overflow = false;
    while end < b.len() {
        let Some(d) = (b[end] as char).to_digit(radix) else {
            break;
        };
        match value
            .checked_mul(radix as u64)
            .and_then(|v| v.checked_add(d as u64))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
        end += 1;
    }
    if end == start {
        return Num::Invalid;
    }
    if overflow {
        return Num::Range;
    }
    if end != b.len() {
        return Num::Invalid;
    }
    Num::Ok(if neg { value.wrapping_neg() } else { value })
}

/// `string_to_number_ll`: the number or `Syntax error: ...`.
pub fn number(s: &str, min: u64, max: u64) -> PResult<u64> {
    match strtoull(s) {
        Num::Ok(v) if v >= min && v <= max => Ok(v),
        Num::Ok(_) | Num::Range => Err(format!("Syntax error: '{s}' is out of range {min}-{max}")),
        Num::Invalid => Err(format!("Syntax error: '{s}' is invalid as number")),
    }
}

pub fn u8_(s: &str) -> PResult<u8> {
    number(s, 0, 255).map(|v| v as u8)
}

pub fn u16_(s: &str) -> PResult<u16> {
    number(s, 0, 65535).map(|v| v as u16)
}

pub fn u32_(s: &str) -> PResult<u32> {
    number(s, 0, u32::MAX as u64).map(|v| v as u32)
}

pub fn u64_(s: &str) -> PResult<u64> {
    number(s, 0, u64::MAX - 1)
}

/// `string_to_cidr`: a prefix length within `min..=max`.
pub fn cidr(s: &str, min: u8, max: u8) -> PResult<u8> {
    let v = u8_(s)?;
    if v < min || v > max {
        return Err(format!("Syntax error: '{s}' is out of range {min}-{max}"));
    }
    Ok(v)
}

/// Timeout in seconds as the kernel can keep it in jiffies.
pub fn timeout(s: &str) -> PResult<u32> {
    number(s, 0, (u32::MAX as u64 >> 1) / 1000).map(|v| v as u32)
}

/// `ipset_strchr`: the separator, unless the string starts or ends with it.
pub fn find_sep(s: &str, sep: char) -> Option<usize> {
    if s.is_empty() || s.starts_with(sep) || s.ends_with(sep) {
        return None;
    }
    s.find(sep)
}

/// Range separator, skipping a `[...]` escaped first part.
fn find_range_sep(s: &str) -> PResult<Option<usize>> {
    if let Some(rest) = s.strip_prefix('[') {
        let Some(close) = rest.find(']') else {
            return Err(format!(
                "Syntax error: cannot find closing escape character ']' in {s}"
            ));
        };
        let after = close + 2;
        if after >= s.len() {
            return Ok(None);
        }
        if !s[after..].starts_with('-') {
            return Err(format!(
                "Syntax error: range separator expected after '{}'",
                &s[..after]
            ));
        }
        return Ok(Some(after));
    }
    Ok(find_sep(s, '-'))
}

fn strip_escape(s: &str) -> PResult<&str> {
    match s.strip_prefix('[') {
        Some(rest) => rest.strip_suffix(']').ok_or_else(|| {
            format!("Syntax error: cannot find closing escape character ']' in {s}")
        }),
        None => Ok(s),
    }
}

/// `inet_aton`: one to four parts, each decimal, octal or hex.
pub fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    if s.is_empty() {
        return None;
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    for p in &parts {
        let (radix, digits) = if let Some(h) = p.strip_prefix("0x").or(p.strip_prefix("0X")) {
            (16, h)
        } else if p.len() > 1 && p.starts_with('0') {
            (8, &p[1..])
        } else {
            (10, *p)
        };
        if p.is_empty() || (radix != 8 && digits.is_empty()) {
            return None;
        }
        let v = if digits.is_empty() {
            0
        } else {
            u64::from_str_radix(digits, radix).ok()?
        };
        if v > u32::MAX as u64 {
            return None;
        }
        nums.push(v as u32);
    }
    let mut addr: u32 = 0;
    let n = nums.len();
    for (i, v) in nums.iter().enumerate() {
        if i + 1 < n {
            if *v > 255 {
                return None;
            }
            addr |= v << (24 - 8 * i);
        } else {
            let bits = 32 - 8 * (n as u32 - 1);
            if bits < 32 && *v >= (1u32 << bits) {
                return None;
            }
            addr |= *v;
        }
    }
    Some(Ipv4Addr::from(addr))
}

/// Name resolution offered by the host.
pub type Resolver<'a> = &'a dyn Fn(&str) -> Vec<Ipv4Addr>;

/// An address part as written: address, optional CIDR, optional range end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddrSpec {
    pub ip: u32,
    pub cidr: Option<u8>,
    pub to: Option<u32>,
}

/// Resolves one host word; warnings go to `warn`.
fn host(word: &str, resolve: Resolver, warn: &mut Vec<String>) -> PResult<u32> {
    // Only words of digits and dots are read as numbers (glibc's digits-dots rule).
    if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return match inet_aton(word).filter(|_| !word.ends_with('.')) {
            Some(a) => Ok(u32::from(a)),
            None => Err(format!(
                "Syntax error: cannot parse {word}: resolving to IPv4 address failed"
            )),
        };
    }
    let found = if word.is_empty() {
        Vec::new()
    } else {
        resolve(word)
    };
    match found.first() {
        None => Err(format!(
            "Syntax error: cannot parse {word}: resolving to IPv4 address failed"
        )),
        Some(a) => {
            if found.len() > 1 {
                warn.push(format!(
                    "{word} resolves to multiple addresses: using only the first one returned by the resolver."
                ));
            }
            Ok(u32::from(*a))
        }
    }
}

/// How an address part may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrForm {
    Any,
    Plain,
    /// `IP/CIDR` or `FROM-TO` required (bitmap ranges).
    NetRange,
}

/// `parse_ip` for IPv4: `IP`, `IP/CIDR` or `FROM-TO`.
pub fn addr(
    s: &str,
    form: AddrForm,
    resolve: Resolver,
    warn: &mut Vec<String>,
) -> PResult<AddrSpec> {
    let has_range = find_range_sep(s).ok().flatten().is_some();
    let slash = find_sep(s, '/');
    match form {
        AddrForm::Plain => {
            if has_range || slash.is_some_and(|i| &s[i..] != "/32") {
                return Err(format!(
                    "Syntax error: plain IP address must be supplied: {s}"
                ));
            }
        }
        AddrForm::NetRange => {
            if !(has_range || slash.is_some()) {
                return Err(format!(
                    "Syntax error: IP/cidr or IP-IP range must be specified: {s}"
                ));
            }
        }
        AddrForm::Any => {}
    }
    let mut spec = AddrSpec::default();
    let (first, second) = if let Some(i) = slash {
        spec.cidr = Some(cidr(&s[i + 1..], 0, 32)?);
        (&s[..i], None)
    } else {
        match find_range_sep(s)? {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        }
    };
    spec.ip = host(strip_escape(first)?, resolve, warn)?;
    if let Some(b) = second {
        spec.to = Some(host(strip_escape(b)?, resolve, warn)?);
    }
    Ok(spec)
}

/// A `[PROTO:]PORT[-PORT]` part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortSpec {
    pub proto: u8,
    pub port: u16,
    pub to: Option<u16>,
}

/// One port number or service name for `proto` (as written).
fn single_port(s: &str, proto: &str) -> PResult<u16> {
    let num_err = match u16_(s) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    if let Ok(name) = strip_escape(s) {
        if let Some(p) = crate::netdb::service_port(name, proto) {
            return Ok(p);
        }
    }
    Err(format!(
        "{num_err}\nSyntax error: '{proto}' is invalid as number\ncannot parse '{s}' as a {proto} port"
    ))
}

/// `ipset_parse_tcpudp_port`: a port or `FROM-TO`.
pub fn port_range(s: &str, proto: &str) -> PResult<(u16, Option<u16>)> {
    match find_range_sep(s)? {
        Some(i) => {
            let to = single_port(&s[i + 1..], proto)?;
            let from = single_port(&s[..i], proto)?;
            Ok((from, Some(to)))
        }
        None => Ok((single_port(s, proto)?, None)),
    }
}

/// `ipset_parse_proto`: a protocol number or name.
pub fn proto(s: &str) -> PResult<u8> {
    if let Ok(n) = u8_(s) {
        return Ok(n);
    }
    let name = if s.eq_ignore_ascii_case("icmpv6") {
        "ipv6-icmp"
    } else {
        s
    };
    match crate::netdb::proto_number(name) {
        None => Err(format!("Syntax error: cannot parse '{s}' as a protocol")),
        Some(0) => Err(format!("Syntax error: Unsupported protocol '{s}'")),
        Some(p) => Ok(p),
    }
}

/// Protocols whose ports are real ports.
pub fn proto_with_ports(p: u8) -> bool {
    matches!(p, 6 | 17 | 132 | 136)
}

/// ICMP type names with type and code, in ipset's order.
pub const ICMP_NAMES: &[(&str, u8, u8)] = &[
    ("echo-reply", 0, 0),
    ("pong", 0, 0),
    ("network-unreachable", 3, 0),
    ("host-unreachable", 3, 1),
    ("protocol-unreachable", 3, 2),
    ("port-unreachable", 3, 3),
    ("fragmentation-needed", 3, 4),
    ("source-route-failed", 3, 5),
    ("network-unknown", 3, 6),
    ("host-unknown", 3, 7),
    ("network-prohibited", 3, 9),
    ("host-prohibited", 3, 10),
    ("TOS-network-unreachable", 3, 11),
    ("TOS-host-unreachable", 3, 12),
    ("communication-prohibited", 3, 13),
    ("host-precedence-violation", 3, 14),
    ("precedence-cutoff", 3, 15),
    ("source-quench", 4, 0),
    ("network-redirect", 5, 0),
    ("host-redirect", 5, 1),
    ("TOS-network-redirect", 5, 2),
    ("TOS-host-redirect", 5, 3),
    ("echo-request", 8, 0),
    ("ping", 8, 0),
    ("router-advertisement", 9, 0),
    ("router-solicitation", 10, 0),
    ("ttl-zero-during-transit", 11, 0),
    ("ttl-zero-during-reassembly", 11, 1),
    ("ip-header-bad", 12, 0),
    ("required-option-missing", 12, 1),
    ("timestamp-request", 13, 0),
    ("timestamp-reply", 14, 0),
    ("address-mask-request", 17, 0),
    ("address-mask-reply", 18, 0),
];

/// ICMPv6 names (listed by `ipset help`; not usable with family inet).
pub const ICMPV6_NAMES: &[&str] = &[
    "no-route",
    "communication-prohibited",
    "address-unreachable",
    "port-unreachable",
    "packet-too-big",
    "ttl-zero-during-transit",
    "ttl-zero-during-reassembly",
    "bad-header",
    "unknown-header-type",
    "unknown-option",
    "echo-request",
    "ping",
    "echo-reply",
    "pong",
    "router-solicitation",
    "router-advertisement",
    "neighbour-solicitation",
    "neigbour-solicitation",
    "neighbour-advertisement",
    "neigbour-advertisement",
    "redirect",
];

/// The name ipset prints for an ICMP type/code.
pub fn icmp_name(typecode: u16) -> Option<&'static str> {
    let (t, c) = ((typecode >> 8) as u8, typecode as u8);
    ICMP_NAMES
        .iter()
        .find(|(_, nt, nc)| *nt == t && *nc == c)
        .map(|(n, _, _)| *n)
}

/// An ICMP name or `TYPE/CODE`, as the 16-bit "port" ipset stores.
fn icmp(s: &str) -> PResult<u16> {
    if let Some((_, t, c)) = ICMP_NAMES
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(s))
    {
        return Ok(((*t as u16) << 8) | *c as u16);
    }
    let Some(i) = find_sep(s, '/') else {
        return Err(format!("Cannot parse {s} as an ICMP type/code."));
    };
    let t = u8_(&s[..i])?;
    let c = u8_(&s[i + 1..])?;
    Ok(((t as u16) << 8) | c as u16)
}

/// `ipset_parse_proto_port`: `[PROTO:]PORT[-PORT]`, TCP when no protocol is given.
/// `adt` names the command for the ICMPv6 message.
pub fn proto_port(s: &str, adt: &str) -> PResult<PortSpec> {
    let Some(i) = find_sep(s, ':') else {
        let (port, to) = port_range(s, "tcp")?;
        return Ok(PortSpec { proto: 6, port, to });
    };
    let (pname, rest) = (&s[..i], &s[i + 1..]);
    let p = proto(pname)?;
    match p {
        6 | 17 | 132 | 136 => {
            let (port, to) = port_range(rest, pname)?;
            Ok(PortSpec { proto: p, port, to })
        }
        1 => Ok(PortSpec {
            proto: 1,
            port: icmp(rest)?,
            to: None,
        }),
        58 => Err(format!(
            "Syntax error: Protocol ICMPv6 can be used with family inet6 only\nInvalid {adt} command: missing setname"
        )),
        _ => {
            if rest != "0" {
                return Err(format!(
                    "Syntax error: Protocol {pname} can be used with pseudo port value 0 only."
                ));
            }
            Ok(PortSpec {
                proto: p,
                port: 0,
                to: None,
            })
        }
    }
}

/// `ipset_parse_tcp_udp_port` (bitmap:port): TCP or UDP only; the protocol is dropped.
pub fn tcp_udp_port(s: &str, adt: &str) -> PResult<(u16, Option<u16>)> {
    let p = proto_port(s, adt)?;
    if p.proto != 6 && p.proto != 17 {
        return Err("Syntax error: Only protocols TCP and UDP are valid".into());
    }
    Ok((p.port, p.to))
}

/// `ipset_parse_iface`: `[physdev:]NAME`.
pub fn iface(s: &str) -> PResult<(String, bool)> {
    let (name, physdev) = match s.strip_prefix("physdev:") {
        Some(n) => (n, true),
        None => (s, false),
    };
    if name.len() > 15 {
        return Err(format!(
            "Syntax error: interface name '{name}' is longer than 15 characters"
        ));
    }
    Ok((name.to_string(), physdev))
}

/// `ipset_parse_ether`: six hex bytes separated by colons.
pub fn ether(s: &str) -> PResult<[u8; 6]> {
    let err = || format!("Syntax error: cannot parse '{s}' as ethernet address");
    if s.len() > 17 {
        return Err(err());
    }
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(err());
    }
    let mut mac = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        let t = p.trim_start();
        let t = t.strip_prefix("0x").or(t.strip_prefix("0X")).unwrap_or(t);
        if t.is_empty() || t.len() > 2 {
            return Err(err());
        }
        mac[i] = u8::from_str_radix(t, 16).map_err(|_| err())?;
    }
    Ok(mac)
}

/// `check_setname`.
pub fn setname(s: &str) -> PResult<&str> {
    if s.len() > MAXNAMELEN {
        return Err(format!(
            "Syntax error: setname '{s}' is longer than {MAXNAMELEN} characters"
        ));
    }
    Ok(s)
}

/// `ipset_parse_skbmark`: `0xMARK[/0xMASK]`.
pub fn skbmark(s: &str) -> PResult<(u32, u32)> {
    let err = || {
        "Syntax error: Invalid skbmark format, it should be:  MARK/MASK or MARK (see manpage)"
            .to_string()
    };
    let hex = |t: &str| -> Option<(u64, usize)> {
        let t2 = t.strip_prefix("0x")?;
        let n = t2.chars().take_while(char::is_ascii_hexdigit).count();
        if n == 0 {
            return None;
        }
        let v = u64::from_str_radix(&t2[..n.min(16)], 16).ok()?;
        Some((v, n + 2))
    };
    let (mark, used) = hex(s).ok_or_else(err)?;
    let mut mask = 0xffff_ffffu64;
    if let Some(rest) = s[used..].strip_prefix('/') {
        if let Some((m, _)) = hex(rest) {
            mask = m;
        }
    }
    Ok((mark as u32, mask as u32))
}

/// `ipset_parse_skbprio`: `MAJOR:MINOR` in hex.
pub fn skbprio(s: &str) -> PResult<(u16, u16)> {
    let err = || {
        "Syntax error: Invalid skbprio format, it should be:MAJOR:MINOR (see manpage)".to_string()
    };
    let (a, b) = s.split_once(':').ok_or_else(err)?;
    let lead = |t: &str| -> Option<u32> {
        let t = t.trim_start();
        let t = t.strip_prefix("0x").or(t.strip_prefix("0X")).unwrap_or(t);
        let n = t.chars().take_while(char::is_ascii_hexdigit).count();
        if n == 0 {
            return None;
        }
        u64::from_str_radix(&t[..n.min(16)], 16)
            .ok()
            .map(|v| v as u32)
    };
    let maj = lead(a).ok_or_else(err)?;
    let min = lead(b).ok_or_else(err)?;
    Ok((maj as u16, min as u16))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Vec<Ipv4Addr> {
        Vec::new()
    }

    #[test]
    fn numbers_like_strtoull() {
        assert_eq!(number("0x10", 0, 100), Ok(16));
        assert_eq!(number("010", 0, 100), Ok(8));
        assert_eq!(
            number("-1", 0, 4294967295),
            Err("Syntax error: '-1' is out of range 0-4294967295".into())
        );
        assert_eq!(
            number("foo", 0, 1),
            Err("Syntax error: 'foo' is invalid as number".into())
        );
        assert_eq!(number("-0", 0, 1), Ok(0));
    }

    #[test]
    fn addresses_ranges_and_cidrs() {
        let mut w = Vec::new();
        let a = addr("10.0.0.1-10.0.0.5", AddrForm::Any, &none, &mut w).unwrap();
        assert_eq!(a.to, Some(u32::from(Ipv4Addr::new(10, 0, 0, 5))));
        let a = addr("10.0.0.0/24", AddrForm::Any, &none, &mut w).unwrap();
        assert_eq!(a.cidr, Some(24));
        assert_eq!(
            addr("1.2.3.4/33", AddrForm::Any, &none, &mut w),
            Err("Syntax error: '33' is out of range 0-32".into())
        );
        assert_eq!(
            addr("foo", AddrForm::Any, &none, &mut w),
            Err("Syntax error: cannot parse foo: resolving to IPv4 address failed".into())
        );
        assert!(addr("1.2.3.4/24", AddrForm::Plain, &none, &mut w).is_err());
        assert!(addr("1.2.3.4/32", AddrForm::Plain, &none, &mut w).is_ok());
    }

    #[test]
    fn ports_protocols_and_icmp() {
        assert_eq!(
            proto_port("udp:53", "add"),
            Ok(PortSpec {
                proto: 17,
                port: 53,
                to: None
            })
        );
        assert_eq!(proto_port("ssh-http", "add").unwrap().to, Some(80));
        assert_eq!(proto_port("icmp:ping", "add").unwrap().port, 0x0800);
        assert_eq!(proto_port("icmp:3/1", "add").unwrap().port, 0x0301);
        assert_eq!(
            proto_port("tcp:foo", "add"),
            Err("Syntax error: 'foo' is invalid as number\nSyntax error: 'tcp' is invalid as number\ncannot parse 'foo' as a tcp port".into())
        );
        assert_eq!(
            proto_port("gre:5", "add"),
            Err("Syntax error: Protocol gre can be used with pseudo port value 0 only.".into())
        );
        assert_eq!(
            proto_port("icmp:0-5", "add"),
            Err("Cannot parse 0-5 as an ICMP type/code.".into())
        );
        assert_eq!(icmp_name(0x0800), Some("echo-request"));
    }

    #[test]
    fn mac_and_names() {
        assert_eq!(
            ether("00:11:22:33:44:55"),
            Ok([0, 0x11, 0x22, 0x33, 0x44, 0x55])
        );
        assert!(ether("00:11:22:33:44").is_err());
        assert!(setname(&"x".repeat(32)).is_err());
        assert_eq!(iface("physdev:eth0"), Ok(("eth0".into(), true)));
    }
}
