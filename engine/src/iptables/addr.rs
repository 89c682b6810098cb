//! IPv4 addresses, masks, host and network names as iptables 1.8.9 reads
//! (`-s`, `-d`) and prints them (`-L`): libxtables' numeric forms first,
//! then `/etc/networks`, then the host's name table.

use crate::ext::xtopt::{mask_len, strtoul_all};
use crate::ext::{XtError, XtResult};
use crate::ruleset::Net;
use std::net::Ipv4Addr;

/// The host's `/etc/networks` (Debian's default file).
pub const NETWORKS: &[(&str, Ipv4Addr)] = &[
    ("default", Ipv4Addr::new(0, 0, 0, 0)),
    ("loopback", Ipv4Addr::new(127, 0, 0, 0)),
    ("link-local", Ipv4Addr::new(169, 254, 0, 0)),
];

fn byte(s: &str) -> Option<u8> {
    strtoul_all(s, 0, 255).map(|v| v as u8)
}

/// `xtables_numeric_to_ipaddr`: up to four parts of 0-255 (any C base); a
/// shorter form is a network address completed with zeros (`10.1` is 10.1.0.0).
pub fn numeric_to_ipaddr(s: &str) -> Option<Ipv4Addr> {
    let mut out = [0u8; 4];
    let mut rest = s;
    for slot in out.iter_mut().take(3) {
        match rest.split_once('.') {
            None => {
                *slot = byte(rest)?;
                return Some(Ipv4Addr::from(out));
            }
            Some((part, tail)) => {
                *slot = byte(part)?;
                rest = tail;
            }
        }
    }
    out[3] = byte(rest)?;
    Some(Ipv4Addr::from(out))
}

/// `xtables_numeric_to_ipmask`: a dotted mask needs all four parts.
pub fn numeric_to_ipmask(s: &str) -> Option<u32> {
    if s.bytes().filter(|b| *b == b'.').count() < 3 {
        return None;
    }
    let mut out = [0u8; 4];
    for (slot, p) in out.iter_mut().zip(s.splitn(4, '.')) {
        *slot = byte(p)?;
    }
    Some(u32::from(Ipv4Addr::from(out)))
}

/// `parse_ipmask`: absent is /32, then a dotted mask, then a prefix length.
pub fn parse_ipmask(mask: Option<&str>) -> XtResult<u32> {
    let Some(m) = mask else {
        return Ok(u32::MAX);
    };
    if let Some(v) = numeric_to_ipmask(m) {
        return Ok(v);
    }
    match strtoul_all(m, 0, 32) {
        Some(0) => Ok(0),
        Some(bits) => Ok(u32::MAX << (32 - bits)),
        None => Err(XtError::new(format!("invalid mask `{m}' specified"))),
    }
}

/// C `strtoul` with base 0 on the start of `s`: value and rest (no sign handling).
fn c_number(s: &str) -> Option<(u64, &str)> {
    let b = s.as_bytes();
    let (radix, start) = if b.len() > 1 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') {
        (16, 2)
    } else if b.first() == Some(&b'0') {
        (8, 0)
    } else {
        (10, 0)
    };
    let mut end = start;
    let mut v: u64 = 0;
    while let Some(d) = b.get(end).and_then(|c| (*c as char).to_digit(radix)) {
        v = v.checked_mul(radix as u64)?.checked_add(d as u64)?;
        end += 1;
    }
    if end == start && radix != 8 {
        return None;
    }
    Some((v, &s[end..]))
}

/// glibc `inet_aton`, which `getaddrinfo` applies to numeric host names:
/// `a`, `a.b`, `a.b.c` or `a.b.c.d`, the last part filling the remaining bytes.
pub fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let mut parts: Vec<u64> = Vec::new();
    let mut rest = s;
    loop {
        if !rest.as_bytes().first().is_some_and(|c| c.is_ascii_digit()) {
            return None;
        }
        let (v, tail) = c_number(rest)?;
        parts.push(v);
        match tail.as_bytes().first() {
            None => break,
            Some(b'.') if parts.len() < 4 => rest = &tail[1..],
            _ => return None,
        }
    }
    let last = *parts.last()?;
    let n = parts.len();
    for p in &parts[..n - 1] {
        if *p > 255 {
            return None;
        }
    }
    let limit: u64 = match n {
        1 => u32::MAX as u64,
        2 => 0xff_ffff,
        3 => 0xffff,
        _ => 0xff,
    };
    if last > limit {
        return None;
    }
    let mut v = last as u32;
    for (i, p) in parts[..n - 1].iter().enumerate() {
        v |= (*p as u32) << (24 - 8 * i);
    }
    Some(Ipv4Addr::from(v))
}

/// `getnetbyname`.
pub fn network_by_name(name: &str) -> Option<Ipv4Addr> {
    NETWORKS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

/// `getnetbyaddr`.
pub fn network_by_addr(addr: Ipv4Addr) -> Option<&'static str> {
    NETWORKS.iter().find(|(_, a)| *a == addr).map(|(n, _)| *n)
}

/// `ipparse_hostnetwork`: numeric, then a network name, then the host's names.
fn hostnetwork(name: &str, resolve: &dyn Fn(&str) -> Vec<Ipv4Addr>) -> XtResult<Vec<Ipv4Addr>> {
    if let Some(a) = numeric_to_ipaddr(name).or_else(|| network_by_name(name)) {
        return Ok(vec![a]);
    }
    if let Some(a) = inet_aton(name) {
        return Ok(vec![a]);
    }
    let found = if name.is_empty() {
        Vec::new()
    } else {
        resolve(name)
    };
    if found.is_empty() {
        return Err(XtError::new(format!("host/network `{name}' not found")));
    }
    Ok(found)
}

/// Four decimal parts of 0-255 without leading zeros (all that
/// `inet_pton(AF_INET)` takes): what [`numeric_to_ipaddr`] reads them
/// as, without its general forms.
pub(crate) fn plain_dotted_quad(s: &str) -> Option<Ipv4Addr> {
    let mut out = [0u8; 4];
    // The part being read: its index, value and number of digits.
    let (mut part, mut v, mut digits) = (0, 0u32, 0);
    for &c in s.as_bytes() {
        if c == b'.' {
            if digits == 0 || part == 3 {
                return None;
            }
            out[part] = v as u8;
            (part, v, digits) = (part + 1, 0, 0);
            continue;
        }
        // A digit, not after a leading zero, and the part still a byte.
        if !c.is_ascii_digit() || (digits == 1 && v == 0) {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
        digits += 1;
        if v > 255 {
            return None;
        }
    }
    if digits == 0 || part != 3 {
        return None;
    }
    out[3] = v as u8;
    Some(Ipv4Addr::from(out))
}

/// A prefix length of one or two decimal digits (no leading zero) up to
/// 32, as a mask: what [`parse_ipmask`] reads it as, without its general
/// forms; `None` for anything else.
fn short_prefix(m: &str) -> Option<u32> {
    let bits = match *m.as_bytes() {
        [a @ b'0'..=b'9'] => a - b'0',
        [a @ b'1'..=b'9', b @ b'0'..=b'9'] => (a - b'0') * 10 + (b - b'0'),
        _ => return None,
    };
    match bits {
        0 => Some(0),
        1..=32 => Some(u32::MAX << (32 - bits)),
        _ => None,
    }
}

/// What [`ipparse_multiple`] gives for one numeric `host[/mask]` (the
/// usual `-s`/`-d`), without a list; `None` for anything else.
pub fn ipparse_single(spec: &str) -> Option<Net> {
    // The characters looked for are ASCII: bytes will do.
    let b = spec.as_bytes();
    if b.contains(&b',') {
        return None;
    }
    let item = &spec[b.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
    let (host, mask) = match item.bytes().rposition(|c| c == b'/') {
        Some(i) => {
            let m = &item[i + 1..];
            let mask = match short_prefix(m) {
                Some(mask) => mask,
                None => parse_ipmask(Some(m)).ok()?,
            };
            (&item[..i], mask)
        }
        None => (item, u32::MAX),
    };
    let host = if mask == 0 { "0.0.0.0" } else { host };
    let a = plain_dotted_quad(host).or_else(|| numeric_to_ipaddr(host))?;
    Some(Net {
        addr: Ipv4Addr::from(u32::from(a) & mask),
        mask,
    })
}

/// `xtables_ipparse_multiple`: comma-separated `host[/mask]` items, each
/// name possibly several addresses; duplicates are kept.
pub fn ipparse_multiple(spec: &str, resolve: &dyn Fn(&str) -> Vec<Ipv4Addr>) -> XtResult<Vec<Net>> {
    let mut out = Vec::new();
    for item in spec.split(',') {
        let item = item.trim_start_matches(|c: char| c.is_ascii_whitespace());
        let (host, mask) = match item.rfind('/') {
            Some(i) => (&item[..i], parse_ipmask(Some(&item[i + 1..]))?),
            None => (item, u32::MAX),
        };
        let host = if mask == 0 { "0.0.0.0" } else { host };
        // The common case first: one address, nothing to allocate.
        let numeric = numeric_to_ipaddr(host)
            .or_else(|| network_by_name(host))
            .or_else(|| inet_aton(host));
        if let Some(a) = numeric {
            out.push(Net {
                addr: Ipv4Addr::from(u32::from(a) & mask),
                mask,
            });
            continue;
        }
        for a in hostnetwork(host, resolve)? {
            out.push(Net {
                addr: Ipv4Addr::from(u32::from(a) & mask),
                mask,
            });
        }
    }
    Ok(out)
}

/// `xtables_ipmask_to_numeric`: empty for /32, `/N`, or `/a.b.c.d`.
pub fn mask_to_numeric(mask: u32) -> String {
    if mask == u32::MAX {
        return String::new();
    }
    match mask_len(mask) {
        Some(l) => format!("/{l}"),
        None => format!("/{}", Ipv4Addr::from(mask)),
    }
}

/// `xtables_ipaddr_to_anyname`: a host name, else a network name, else numeric.
pub fn addr_to_anyname(addr: Ipv4Addr, reverse: &dyn Fn(Ipv4Addr) -> Option<String>) -> String {
    reverse(addr)
        .or_else(|| network_by_addr(addr).map(String::from))
        .unwrap_or_else(|| addr.to_string())
}

/// `xtables_parse_interface`: at most 15 characters; a warning for `/` or space.
pub fn parse_interface(s: &str, warnings: &mut Vec<String>) -> XtResult<String> {
    if s.len() > 15 {
        return Err(XtError::new(format!(
            "interface name `{s}' must be shorter than IFNAMSIZ (15)"
        )));
    }
    if s.contains('/') || s.contains(' ') {
        warnings.push(format!(
            "Warning: weird character in interface `{s}' ('/' and ' ' are not allowed by the kernel)."
        ));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Vec<Ipv4Addr> {
        Vec::new()
    }

    #[test]
    fn single_address_as_the_list_reads_it() {
        let specs = [
            "10.96.0.10/32",
            "10.244.0.0/16",
            "1.2.3.4",
            " 1.2.3.4/24",
            "010.1.1.1",
            "0x0a.1",
            "10",
            "1.2.3.4/0",
            "1.2.3.4/255.255.0.0",
            "1.2.3.4/33",
            "1.2.3.4/",
            "1.2.3.4/8/8",
            "256.1.1.1",
            "1.2.3.4.5",
            "1.2.3.00",
            "1..3.4",
            "0.0.0.0",
            "255.255.255.255",
            "default",
            "loopback/8",
            "1.2.3.4,5.6.7.8",
            "",
        ];
        let mut taken = 0;
        for s in specs {
            if let Some(a) = plain_dotted_quad(s) {
                assert_eq!(numeric_to_ipaddr(s), Some(a), "{s}");
            }
            if let Some(n) = ipparse_single(s) {
                assert_eq!(ipparse_multiple(s, &none).ok(), Some(vec![n]), "{s}");
                taken += 1;
            }
        }
        assert_eq!(taken, 12);
    }

    /// The byte-by-byte reader of dotted quads and prefix lengths against
    /// the general readers, on every short text over their characters.
    #[test]
    fn fast_readers_agree_with_the_general_ones() {
        let alphabet = [b'0', b'1', b'2', b'5', b'9', b'.', b'x', b' '];
        let mut texts = vec![String::new()];
        for _ in 0..6 {
            let longer: Vec<String> = texts
                .iter()
                .filter(|t| t.len() >= texts.last().map_or(0, |l| l.len()))
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{}", *c as char)))
                .collect();
            texts.extend(longer);
        }
        let parts = [
            "0", "1", "00", "01", "10", "99", "255", "256", "999", "1000", "", "x", "1 ",
        ];
        for n in 3..=5 {
            let mut quads = vec![String::new()];
            for i in 0..n {
                let sep = if i == 0 { "" } else { "." };
                quads = quads
                    .iter()
                    .flat_map(|q| parts.iter().map(move |p| format!("{q}{sep}{p}")))
                    .collect();
            }
            texts.extend(quads);
        }
        for t in &texts {
            let quad = plain_dotted_quad(t);
            // A plain dotted quad: four parts of 1-3 decimal digits, no leading zero, each a byte.
            let parts: Vec<&str> = t.split('.').collect();
            let plain = parts.len() == 4
                && parts.iter().all(|p| {
                    !p.is_empty()
                        && p.len() <= 3
                        && p.bytes().all(|c| c.is_ascii_digit())
                        && !(p.len() > 1 && p.starts_with('0'))
                        && p.parse::<u32>().is_ok_and(|v| v <= 255)
                });
            assert_eq!(quad.is_some(), plain, "{t:?}");
            if let Some(a) = quad {
                assert_eq!(numeric_to_ipaddr(t), Some(a), "{t:?}");
            }
            if let Some(m) = short_prefix(t) {
                assert_eq!(parse_ipmask(Some(t)).ok(), Some(m), "{t:?}");
            }
        }
        for bits in 0..=99 {
            let t = bits.to_string();
            assert_eq!(short_prefix(&t), parse_ipmask(Some(&t)).ok(), "{t}");
        }
    }

    #[test]
    fn numeric_forms() {
        assert_eq!(numeric_to_ipaddr("10.1"), Some(Ipv4Addr::new(10, 1, 0, 0)));
        assert_eq!(numeric_to_ipaddr("10"), Some(Ipv4Addr::new(10, 0, 0, 0)));
        assert_eq!(
            numeric_to_ipaddr("0x0a.1.1.1"),
            Some(Ipv4Addr::new(10, 1, 1, 1))
        );
        assert_eq!(numeric_to_ipaddr("1.2.3.256"), None);
        assert_eq!(inet_aton("1.2.65535"), Some(Ipv4Addr::new(1, 2, 255, 255)));
        assert_eq!(inet_aton("2130706433"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(inet_aton("017.1.1.1"), Some(Ipv4Addr::new(15, 1, 1, 1)));
        assert_eq!(inet_aton("1.2.3.4.5"), None);
        assert_eq!(inet_aton("1.2.3.256"), None);
    }

    #[test]
    fn masks() {
        assert_eq!(parse_ipmask(Some("0x10")).unwrap(), 0xffff_0000);
        assert!(parse_ipmask(Some("255.255")).is_err());
        assert!(parse_ipmask(Some("33")).is_err());
        assert_eq!(mask_to_numeric(0xff00_ff00), "/255.0.255.0");
        assert_eq!(mask_to_numeric(u32::MAX), "");
    }

    #[test]
    fn multiple_keeps_duplicates_and_ignores_names_with_zero_mask() {
        let v = ipparse_multiple("1.2.3.4,1.2.3.4,nosuch/0", &none).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[2].mask, 0);
        let e = ipparse_multiple(" 1.2.3.5 ,x", &none).unwrap_err();
        assert_eq!(e.msg, "host/network `1.2.3.5 ' not found");
        assert_eq!(
            ipparse_multiple("loopback", &none).unwrap()[0].addr,
            Ipv4Addr::new(127, 0, 0, 0)
        );
    }
}
