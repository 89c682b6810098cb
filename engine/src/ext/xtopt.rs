//! Value parsers shared by extensions, with libxtables' exact error texts
//! (numbers, ranges, ports, marks, addresses, quoting for saves).

use super::{XtError, XtResult};
use std::net::Ipv4Addr;

/// `xtables_strtoul`: C `strtoumax` with base 0 (decimal, `0x` hex, leading-0
/// octal), no leading minus, within `min..=max` (`max == 0`: unbounded).
/// Returns the value and the unparsed rest.
pub fn strtoul(s: &str, min: u64, max: u64) -> Option<(u64, &str)> {
    // The usual case read at once: a decimal number of at most 19 digits
    // (no overflow) that starts the text and does not start with 0.
    let b = s.as_bytes();
    if b.first().is_some_and(|c| (b'1'..=b'9').contains(c)) {
        let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits <= 19 {
            let v = b[..digits]
                .iter()
                .fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
            return (v >= min && (max == 0 || v <= max)).then(|| (v, &s[digits..]));
        }
    }
    strtoumax(s, min, max)
}

/// [`strtoul`] in all its forms, as C reads them.
fn strtoumax(s: &str, min: u64, max: u64) -> Option<(u64, &str)> {
    let trimmed = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let b = trimmed.as_bytes();
    if b.first() == Some(&b'-') {
        return None;
    }
    let mut i = 0;
    if b.first() == Some(&b'+') {
        i = 1;
    }
    let (radix, start) = if b.len() > i + 1
        && b[i] == b'0'
        && (b[i + 1] == b'x' || b[i + 1] == b'X')
        && b.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
    {
        (16, i + 2)
    } else if b.len() > i && b[i] == b'0' {
        (8, i)
    } else {
        (10, i)
    };
    let mut end = start;
    let mut value: u128 = 0;
    let mut overflow = false;
    while end < b.len() {
        let d = match (b[end] as char).to_digit(radix) {
            Some(d) => d as u128,
            None => break,
        };
        value = value * radix as u128 + d;
        if value > u64::MAX as u128 {
            overflow = true;
        }
        end += 1;
    }
    if end == start {
        return None;
    }
    if overflow {
        return None;
    }
    let v = value as u64;
    if v < min || (max != 0 && v > max) {
        return None;
    }
    let consumed = s.len() - trimmed.len() + end;
    Some((v, &s[consumed..]))
}

/// Whole-string unsigned number in range, or `None`.
pub fn strtoul_all(s: &str, min: u64, max: u64) -> Option<u64> {
    // Plain decimal (no blank, sign, `0x` or leading zero) of at most 19
    // digits, which cannot overflow: what `strtoul` would read, read at once.
    let b = s.as_bytes();
    if !b.is_empty()
        && b.len() <= 19
        && (b[0] != b'0' || b.len() == 1)
        && b.iter().all(u8::is_ascii_digit)
    {
        let v = b.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
        return (v >= min && (max == 0 || v <= max)).then_some(v);
    }
    match strtoul(s, min, max) {
        Some((v, "")) => Some(v),
        _ => None,
    }
}

/// Guided `XTTYPE_UINT*` option: `EXT: bad value for option "--OPT", or out of range (MIN-MAX).`
pub fn uint(ext: &str, opt: &str, s: &str, min: u64, max: u64) -> XtResult<u64> {
    strtoul_all(s, min, max).ok_or_else(|| {
        XtError::new(format!(
            "{ext}: bad value for option \"--{opt}\", or out of range ({min}-{max}).\n"
        ))
    })
}

/// Guided `XTTYPE_UINT*RC` option: `a`, `a:b`, `:b`, `a:` (at most `maxiter` parts).
/// Missing parts default to 0 (first) and `max` (second).
pub fn mint(ext: &str, opt: &str, s: &str, max: u64, maxiter: usize) -> XtResult<Vec<u64>> {
    let mut vals = Vec::new();
    let mut arg = s;
    loop {
        if vals.len() == maxiter {
            return Err(XtError::new(format!(
                "{ext}: Too many components for option \"--{opt}\" (max: {maxiter})\n"
            )));
        }
        let rest;
        if arg.is_empty() || arg.starts_with(':') {
            vals.push(if vals.len() == 1 { max } else { 0 });
            rest = arg;
        } else {
            match strtoul(arg, 0, max) {
                Some((v, r)) => {
                    if !r.is_empty() && !r.starts_with(':') {
                        return Err(XtError::new(format!(
                            "{ext}: Argument to \"--{opt}\" has unexpected characters near \"{r}\".\n"
                        )));
                    }
                    vals.push(v);
                    rest = r;
                }
                None => {
                    return Err(XtError::new(format!(
                        "{ext}: bad value for option \"--{opt}\" near \"{arg}\", or out of range (0-{max}).\n"
                    )))
                }
            }
        }
        if rest.is_empty() {
            break;
        }
        arg = &rest[1..];
    }
    Ok(vals)
}

/// Guided `XTTYPE_MARKMASK32`: `value[/mask]`, mask defaulting to all ones
/// (`xtables_parse_val_mask`: a bad number and trailing text differ in message).
pub fn markmask(ext: &str, opt: &str, s: &str) -> XtResult<(u32, u32)> {
    let bad = || {
        XtError::new(format!(
            "{ext}: bad integer value for option \"--{opt}\", or out of range.\n"
        ))
    };
    let (v, mut rest) = strtoul(s, 0, u32::MAX as u64).ok_or_else(bad)?;
    let mut m = u32::MAX as u64;
    if let Some(mask) = rest.strip_prefix('/') {
        (m, rest) = strtoul(mask, 0, u32::MAX as u64).ok_or_else(bad)?;
    }
    if !rest.is_empty() {
        return Err(XtError::new(format!(
            "{ext}: trailing garbage after value for option \"--{opt}\".\n"
        )));
    }
    Ok((v as u32, m as u32))
}

/// `value` or `value/mask` printed as iptables does (`0x1/0xff`, mask omitted when all ones).
pub fn fmt_mark(value: u32, mask: u32) -> String {
    if mask == u32::MAX {
        format!("0x{value:x}")
    } else {
        format!("0x{value:x}/0x{mask:x}")
    }
}

/// `xtables_save_string`: quoted unless made only of `[A-Za-z0-9_-]`
/// (and not empty); `"`, `'` and `\` escaped with a backslash.
pub fn save_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_save_string(s, &mut out);
    out
}

/// [`save_string`] appended to `out`.
pub fn push_save_string(s: &str, out: &mut String) {
    if !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// A dotted IPv4 address as `inet_aton` accepts it in iptables (`xtables_numeric_to_ipaddr`:
/// 1 to 4 decimal parts, the last filling the remaining bytes).
pub fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    if s.is_empty() {
        return None;
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    for p in &parts {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: u32 = p.parse().ok()?;
        nums.push(v);
    }
    let mut addr: u32 = 0;
    for (i, v) in nums.iter().enumerate() {
        if i + 1 < nums.len() {
            if *v > 255 {
                return None;
            }
            addr |= v << (24 - 8 * i);
        } else {
            let bits = 32 - 8 * i as u32;
            if bits < 32 && *v >= (1u32 << bits) {
                return None;
            }
            addr |= *v;
        }
    }
    Some(Ipv4Addr::from(addr))
}

/// `xtables_numeric_to_ipaddr`: up to four dot-separated bytes, each a C
/// number (`010`, `0x10`, leading blanks), missing trailing bytes zero
/// (`10.1` is 10.1.0.0). Only the first 19 characters are read.
pub fn numeric_to_ipaddr(s: &str) -> Option<Ipv4Addr> {
    let s = s.get(..19).unwrap_or(s);
    let mut bytes = [0u8; 4];
    let mut rest = s;
    for (i, b) in bytes.iter_mut().enumerate() {
        let (part, more) = match rest.split_once('.') {
            Some((p, m)) if i < 3 => (p, Some(m)),
            _ => (rest, None),
        };
        *b = strtoul_all(part, 0, 255)? as u8;
        match more {
            Some(m) => rest = m,
            None => break,
        }
    }
    Some(Ipv4Addr::from(bytes))
}

/// Netmask `/N` or `/a.b.c.d` as iptables' `parse_ipmask` takes it.
pub fn parse_mask(s: &str) -> Option<u32> {
    if s.contains('.') {
        return parse_ipv4(s).map(u32::from);
    }
    let bits = strtoul_all(s, 0, 32)?;
    Some(prefix_mask(bits as u8))
}

pub fn prefix_mask(bits: u8) -> u32 {
    if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits as u32)
    }
}

/// Prefix length of a contiguous mask, `None` for a non-contiguous one.
pub fn mask_len(mask: u32) -> Option<u8> {
    let ones = mask.leading_ones();
    if mask.checked_shl(ones).unwrap_or(0) == 0 {
        Some(ones as u8)
    } else {
        None
    }
}

/// `addr/len`, or `addr/a.b.c.d` for a non-contiguous mask (iptables' `xtables_ipmask_to_numeric`).
pub fn fmt_net(addr: Ipv4Addr, mask: u32) -> String {
    match mask_len(mask) {
        Some(len) => format!("{addr}/{len}"),
        None => format!("{addr}/{}", Ipv4Addr::from(mask)),
    }
}

/// A port number or a service name from the host's services table for the protocol.
pub fn parse_port(s: &str, proto: &str) -> Option<u16> {
    if let Some(v) = strtoul_all(s, 0, 65535) {
        return Some(v as u16);
    }
    crate::netdb::service_port(s, proto)
}

// --- Host, mask and port types of guided options (XTTYPE_HOST, _HOSTMASK, _PORT, _PORTRC).

/// `getaddrinfo(name)` for an IPv4 host as the guided host types call it: a
/// numeric address (`inet_aton` forms) or `localhost`; other names do not
/// resolve in the playground and fail the way getaddrinfo reports them.
pub fn host(s: &str) -> XtResult<Ipv4Addr> {
    if let Some(a) = parse_ipv4(s) {
        return Ok(a);
    }
    if s == "localhost" {
        return Ok(Ipv4Addr::LOCALHOST);
    }
    let why = if s.contains(':') {
        "Address family for hostname not supported"
    } else {
        "Name or service not known"
    };
    Err(XtError::new(format!("getaddrinfo: {why}\n")))
}

/// Guided `XTTYPE_HOSTMASK`: `host[/len]` or `host/a.b.c.d`. The address is
/// kept unmasked. As in iptables 1.8.9, a dotted mask that is not a prefix
/// (or a number that `inet_aton` reads as one, like `33`) leaves all 32 bits set.
pub fn hostmask(ext: &str, opt: &str, s: &str) -> XtResult<(Ipv4Addr, u32)> {
    let Some((h, m)) = s.split_once('/') else {
        return Ok((host(s)?, u32::MAX));
    };
    let addr = host(h)?;
    Ok((addr, plenmask(ext, opt, m)?))
}

/// Guided `XTTYPE_PLENMASK`: a prefix length `0..=32` or a dotted mask; as in
/// iptables 1.8.9, a dotted mask that is not a prefix (or a number that
/// `inet_aton` reads as one, like `33`) gives all 32 bits.
pub fn plenmask(ext: &str, opt: &str, m: &str) -> XtResult<u32> {
    if let Some(len) = strtoul_all(m, 0, 32) {
        return Ok(prefix_mask(len as u8));
    }
    match parse_ipv4(m) {
        Some(mask) => Ok(mask_len(u32::from(mask)).map_or(u32::MAX, prefix_mask)),
        None => Err(XtError::new(format!(
            "{ext}: bad value for option \"--{opt}\", neither a valid network mask nor valid CIDR (0-32).\n"
        ))),
    }
}

/// `xtables_ipaddr_to_anyname` for extension texts: the host name of an
/// address when the host knows one (extensions see only `localhost`), else
/// the dotted address.
pub fn ipaddr_to_anyname(addr: Ipv4Addr) -> String {
    if addr == Ipv4Addr::LOCALHOST {
        "localhost".to_string()
    } else {
        addr.to_string()
    }
}

// Ports, shared by tcp, udp, dccp, sctp and multiport.

/// The whole port range, `0:65535`.
pub const ALL_PORTS: (u16, u16) = (0, 0xffff);

/// `xtables_parse_port`: a service of `proto` or a number 0-65535.
pub fn port_or_service(s: &str, proto: &str) -> XtResult<u16> {
    parse_port(s, proto)
        .ok_or_else(|| XtError::new(format!("invalid port/service `{s}' specified")))
}

/// Old-style `port[:port]` (libxt_tcp, libxt_sctp): split at the first `:`,
/// an empty side is 0 or 65535; `check_order` refuses `min > max`.
pub fn parse_port_range(s: &str, proto: &str, check_order: bool) -> XtResult<(u16, u16)> {
    match s.split_once(':') {
        None => {
            let p = port_or_service(s, proto)?;
            Ok((p, p))
        }
        Some((a, b)) => {
            let lo = if a.is_empty() {
                0
            } else {
                port_or_service(a, proto)?
            };
            let hi = if b.is_empty() {
                0xffff
            } else {
                port_or_service(b, proto)?
            };
            if check_order && lo > hi {
                return Err(XtError::new("invalid portrange (min > max)"));
            }
            Ok((lo, hi))
        }
    }
}

/// `xtables_getportbyname`: the port `getaddrinfo(NULL, name)` gives. A
/// decimal number (C `strtoul` base 10, truncated to an `int`, then to 16
/// bits: `65536` is port 0) or a service name of any protocol.
pub fn getportbyname(s: &str) -> Option<u16> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // strtoul: ULONG_MAX on overflow (sign ignored), else the value negated by `-`.
        let parsed = digits.bytes().try_fold(0u64, |v, b| {
            v.checked_mul(10)?.checked_add((b - b'0') as u64)
        });
        let v = match parsed {
            None => u64::MAX,
            Some(v) if neg => v.wrapping_neg(),
            Some(v) => v,
        };
        let num = v as u32 as i32;
        if num >= 0 {
            return Some(num as u16);
        }
    }
    ["tcp", "udp", "dccp", "udplite", "sctp"]
        .iter()
        .find_map(|proto| crate::netdb::service_port(s, proto))
}

/// Guided `XTTYPE_PORTRC`: `port`, `port:port`, `:port`, `port:` or `:`
/// (missing sides 0 and 65535); names resolve through [`getportbyname`].
/// `opt` is the option's first name (libxtables reports that one).
pub fn port_range_rc(ext: &str, opt: &str, s: &str) -> XtResult<(u16, u16)> {
    let mut vals = [0u16, 0xffff];
    let mut n = 0;
    for part in s.split(':') {
        if n == 2 {
            return Err(XtError::new(format!(
                "{ext}: Too many components for option \"--{opt}\" (max: 2)\n"
            )));
        }
        if !part.is_empty() {
            vals[n] = getportbyname(part).ok_or_else(|| {
                XtError::new(format!("Port \"{part}\" does not resolve to anything.\n"))
            })?;
        }
        n += 1;
    }
    if n == 1 {
        vals[1] = vals[0];
    }
    Ok((vals[0], vals[1]))
}

/// Guided `XTTYPE_PORT`: a number or a service name.
pub fn port(s: &str) -> XtResult<u16> {
    getportbyname(s)
        .ok_or_else(|| XtError::new(format!("Port \"{s}\" does not resolve to anything.\n")))
}

/// `-L` text of a port: the service name for `proto`, or the number.
pub fn port_text(port: u16, proto: &str, numeric: bool) -> String {
    if !numeric {
        if let Some(n) = crate::netdb::service_name(port, proto) {
            return n.to_string();
        }
    }
    port.to_string()
}

/// `-L` text of a port range as tcp, udp, dccp and sctp print it
/// (` dpt:22`, ` spts:1:1023`, ` dpt:!ssh`); nothing for an uninverted `0:65535`.
pub fn print_ports(
    out: &mut String,
    name: &str,
    r: (u16, u16),
    inv: bool,
    proto: &str,
    numeric: bool,
) {
    if r == ALL_PORTS && !inv {
        return;
    }
    let i = if inv { "!" } else { "" };
    if r.0 == r.1 {
        out.push_str(&format!(" {name}:{i}{}", port_text(r.0, proto, numeric)));
    } else {
        out.push_str(&format!(
            " {name}s:{i}{}:{}",
            port_text(r.0, proto, numeric),
            port_text(r.1, proto, numeric)
        ));
    }
}

/// Save text of a port range (` --dport 22`, ` ! --sport 1:1023`).
pub fn save_ports(out: &mut String, opt: &str, r: (u16, u16), inv: bool) {
    if inv {
        out.push_str(" !");
    }
    if r.0 == r.1 {
        out.push_str(&format!(" --{opt} {}", r.0));
    } else {
        out.push_str(&format!(" --{opt} {}:{}", r.0, r.1));
    }
}

/// Plain-English port range (`port 22`, `ports 1-1023`).
pub fn explain_ports(r: (u16, u16)) -> String {
    if r.0 == r.1 {
        format!("port {}", r.0)
    } else {
        format!("ports {}-{}", r.0, r.1)
    }
}

// SPI ranges, shared by ah, esp and ipcomp.

/// Every SPI, `0:4294967295`.
pub const ALL_SPIS: (u32, u32) = (0, u32::MAX);

/// Guided `XTTYPE_UINT32RC` SPI: `spi`, `spi:spi`, `:spi`, `spi:` (min > max accepted).
pub fn spi_range(ext: &str, opt: &str, s: &str) -> XtResult<(u32, u32)> {
    let v = mint(ext, opt, s, u32::MAX as u64, 2)?;
    let lo = v.first().copied().unwrap_or(0) as u32;
    let hi = v.get(1).map(|h| *h as u32).unwrap_or(lo);
    Ok((lo, hi))
}

/// `-L` text of an SPI range (`spi:5`, `spis:!1:2`); empty for an uninverted full range.
pub fn spis_text(r: (u32, u32), inv: bool) -> String {
    if r == ALL_SPIS && !inv {
        return String::new();
    }
    let i = if inv { "!" } else { "" };
    if r.0 == r.1 {
        format!("spi:{i}{}", r.0)
    } else {
        format!("spis:{i}{}:{}", r.0, r.1)
    }
}

/// Save text of an SPI range (` ! --espspi 1:2`); nothing for the full range.
pub fn save_spis(out: &mut String, opt: &str, r: (u32, u32), inv: bool) {
    if r == ALL_SPIS {
        return;
    }
    if inv {
        out.push_str(" !");
    }
    if r.0 == r.1 {
        out.push_str(&format!(" --{opt} {}", r.0));
    } else {
        out.push_str(&format!(" --{opt} {}:{}", r.0, r.1));
    }
}

/// Plain-English SPI range.
pub fn explain_spis(r: (u32, u32), inv: bool) -> String {
    let but = if inv { "any but " } else { "" };
    if r.0 == r.1 {
        format!("with {but}SPI {}", r.0)
    } else {
        format!("with {but}SPI {}-{}", r.0, r.1)
    }
}

// Packet evaluation, shared by the matches that read a transport header
// (tcp, udp, dccp, sctp, multiport, icmp, ah, esp, ipcomp).

/// Why an `xt` match could not read the header it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoHeader {
    /// A second or later fragment: the kernel's matches say "no match".
    Fragment,
    /// The packet ends before the header does: the kernel drops it (hotdrop).
    Short { have: usize, need: usize },
}

impl NoHeader {
    /// Whether the kernel drops the packet on the spot.
    pub fn hotdrop(&self) -> bool {
        matches!(self, NoHeader::Short { .. })
    }

    /// `a later fragment has no TCP header`, `the TCP header is cut short ...`.
    pub fn text(&self, proto: &str) -> String {
        match self {
            NoHeader::Fragment => format!("a later fragment has no {proto} header"),
            NoHeader::Short { have, need } => format!(
                "the {proto} header is cut short ({have} of {need} bytes), so the kernel drops the packet"
            ),
        }
    }
}

/// The transport bytes of the packet when at least `need` of them are there
/// (`skb_header_pointer(skb, par->thoff, need, ...)` after the fragment test).
pub fn xt_header<'a>(cx: &'a crate::sim::eval::EvalCx, need: usize) -> Result<&'a [u8], NoHeader> {
    if cx.hdr.frag_offset != 0 {
        return Err(NoHeader::Fragment);
    }
    let l4 = cx.transport();
    if l4.len() < need {
        return Err(NoHeader::Short {
            have: l4.len(),
            need,
        });
    }
    Ok(l4)
}

/// A big-endian 16-bit field at `at` (the caller checked the length).
pub fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// A big-endian 32-bit field at `at` (the caller checked the length).
pub fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Whether `v` is in the inclusive range, the kernel's `port_match` / `spi_match`.
pub fn in_range<T: PartialOrd>(r: (T, T), v: T) -> bool {
    v >= r.0 && v <= r.1
}

/// A range as a rule shows it: `22`, `1000:2000`, with a leading `! `.
pub fn range_opt<T: PartialEq + std::fmt::Display>(opt: &str, r: (T, T), inv: bool) -> String {
    let i = if inv { "! " } else { "" };
    if r.0 == r.1 {
        format!("{i}--{opt} {}", r.0)
    } else {
        format!("{i}--{opt} {}:{}", r.0, r.1)
    }
}

/// Whether option `kind` is among TCP or DCCP `opts`: the kernel's walk
/// (`tcp_find_option`, `dccp_find_option`): kinds 0 and 1 take one byte,
/// others their length byte (0 counted as 1).
pub fn find_option(opts: &[u8], kind: u8) -> bool {
    let mut i = 0;
    while i < opts.len() {
        if opts[i] == kind {
            return true;
        }
        i += if opts[i] < 2 {
            1
        } else {
            opts.get(i + 1).map_or(1, |l| (*l as usize).max(1))
        };
    }
    false
}

/// The `why_not` sentence: `` `--dport 22` did not match: destination port is 80``.
pub fn miss(opt: &str, why: &str) -> String {
    format!("`{opt}` did not match: {why}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn whole_numbers_fast_and_slow_agree() {
        let words = [
            "0",
            "7",
            "07",
            "08",
            "255",
            "256",
            "0x1f",
            "+5",
            " 5",
            "5 ",
            "",
            "-1",
            "00",
            "18446744073709551615",
            "18446744073709551616",
            "9999999999999999999",
            "99999999999999999999",
            "1.2",
            "12a",
        ];
        for w in words {
            for (min, max) in [(0, 0), (0, 255), (1, 65535), (6, 6), (10, 20)] {
                let slow = match super::strtoul(w, min, max) {
                    Some((v, "")) => Some(v),
                    _ => None,
                };
                assert_eq!(super::strtoul_all(w, min, max), slow, "{w:?} {min}-{max}");
            }
        }
    }

    use super::*;

    /// The decimal shortcut of `strtoul` reads what the general reader
    /// reads, leaving the same rest.
    #[test]
    fn strtoul_shortcut_reads_as_strtoumax() {
        let alphabet = [b'0', b'1', b'9', b'5', b'x', b' ', b'-', b'+', b':', b'a'];
        crate::bytescan::random_texts(&alphabet, |b| {
            let s = std::str::from_utf8(b).expect("ascii");
            for (min, max) in [(0, 0), (0, 65535), (1, 255), (10, 20)] {
                assert_eq!(strtoul(s, min, max), strtoumax(s, min, max), "{s:?}");
            }
        });
        for s in [
            "18446744073709551615",
            "18446744073709551616",
            "9999999999999999999x",
        ] {
            assert_eq!(strtoul(s, 0, 0), strtoumax(s, 0, 0), "{s}");
        }
    }

    #[test]
    fn strtoul_bases_and_limits() {
        assert_eq!(strtoul_all("0x10", 0, 0), Some(16));
        assert_eq!(strtoul_all("010", 0, 0), Some(8));
        assert_eq!(strtoul_all("-1", 0, 0), None);
        assert_eq!(strtoul_all("256", 0, 255), None);
        assert_eq!(strtoul("12:34", 0, 100), Some((12, ":34")));
    }

    #[test]
    fn mint_defaults_and_errors() {
        assert_eq!(mint("x", "o", "1:2", 65535, 2).unwrap(), vec![1, 2]);
        assert_eq!(mint("x", "o", ":2", 65535, 2).unwrap(), vec![0, 2]);
        assert_eq!(mint("x", "o", "3:", 65535, 2).unwrap(), vec![3, 65535]);
        let e = mint("length", "length", "-1:65535", 65535, 2).unwrap_err();
        assert_eq!(
            e.msg,
            "length: bad value for option \"--length\" near \"-1:65535\", or out of range (0-65535).\n"
        );
    }

    #[test]
    fn ports_like_getaddrinfo() {
        assert_eq!(getportbyname("65536"), Some(0));
        assert_eq!(getportbyname("70000"), Some(4464));
        assert_eq!(getportbyname(" +5"), Some(5));
        assert_eq!(getportbyname("010"), Some(10));
        assert_eq!(getportbyname("4294967297"), Some(1));
        assert_eq!(getportbyname("4294967295"), None);
        assert_eq!(getportbyname("-5"), None);
        assert_eq!(getportbyname("5 "), None);
        assert_eq!(getportbyname("0x10"), None);
        assert_eq!(getportbyname("domain"), Some(53));
        assert_eq!(port_range_rc("udp", "sport", "4:").unwrap(), (4, 65535));
        assert_eq!(port_range_rc("udp", "sport", ":").unwrap(), (0, 65535));
        assert_eq!(port_range_rc("udp", "sport", "").unwrap(), (0, 0));
        assert_eq!(
            port_range_rc("udp", "source-port", "1:2:3")
                .unwrap_err()
                .msg,
            "udp: Too many components for option \"--source-port\" (max: 2)\n"
        );
        assert_eq!(parse_port_range("0x10:", "tcp", true).unwrap(), (16, 65535));
        assert_eq!(
            parse_port_range("1:2:3", "tcp", true).unwrap_err().msg,
            "invalid port/service `2:3' specified"
        );
    }

    #[test]
    fn save_string_quotes_like_iptables() {
        assert_eq!(save_string("abc-D_9"), "abc-D_9");
        assert_eq!(save_string("a b"), "\"a b\"");
        assert_eq!(save_string("it's"), "\"it\\'s\"");
    }

    #[test]
    fn ipv4_short_forms() {
        assert_eq!(parse_ipv4("10.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(parse_ipv4("1.2.3.4"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(parse_ipv4("1.2.3.256"), None);
        assert_eq!(mask_len(0xffff_ff00), Some(24));
        assert_eq!(numeric_to_ipaddr("10.1"), Some(Ipv4Addr::new(10, 1, 0, 0)));
        assert_eq!(
            numeric_to_ipaddr(" 10.0x10.010.1"),
            Some(Ipv4Addr::new(10, 16, 8, 1))
        );
        assert_eq!(numeric_to_ipaddr("10.258"), None);
        assert_eq!(numeric_to_ipaddr("1.2.3.4.5"), None);
        assert_eq!(numeric_to_ipaddr(""), None);
        assert_eq!(mask_len(0xff00_ff00), None);
    }

    #[test]
    fn hostmask_like_1_8_9() {
        let a = Ipv4Addr::new(1, 2, 3, 4);
        assert_eq!(hostmask("x", "o", "1.2.3.4/8").unwrap(), (a, 0xff00_0000));
        assert_eq!(
            hostmask("x", "o", "1.2.3.4/255.255.0.0").unwrap(),
            (a, 0xffff_0000)
        );
        assert_eq!(hostmask("x", "o", "1.2.3.4/33").unwrap(), (a, u32::MAX));
        assert_eq!(
            hostmask("x", "o", "1.2.3.4/255.0.255.0").unwrap(),
            (a, u32::MAX)
        );
        assert!(hostmask("x", "o", "1.2.3.4/foo").is_err());
    }

    #[test]
    fn port_ranges_keep_reversed_order() {
        assert_eq!(getportbyname("-1"), None);
        assert_eq!(port_range_rc("x", "o", "4:3").unwrap(), (4, 3));
        assert!(port("nosuchservice").is_err());
    }
}

/// A tiny lab for the evaluation tests of the extensions: a router `r`
/// (eth0 10.0.0.1/24 towards the sender, eth1 192.168.1.1/24 towards host
/// `b` 192.168.1.2, forwarding on) and packets arriving on its eth0 from
/// 10.0.0.9 (MAC 02:00:00:00:00:99, to r's MAC).
#[cfg(test)]
pub mod lab {
    use crate::packet::{build_icmp, build_tcp, build_udp, IpFields, Packet, TcpFields};
    use crate::sim::trace::Step;
    use crate::sim::world::World;
    use std::net::Ipv4Addr;

    pub const SENDER: &str = "10.0.0.9";
    pub const SENDER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x99];

    /// The lab with these rules (`iptables` arguments) in the router.
    pub fn world(rules: &[&str]) -> World {
        let mut w = World::new();
        let r = w.add_host("r");
        let b = w.add_host("b");
        w.plug(r, "eth0", "10.0.0.1/24", "lan").unwrap();
        w.plug(r, "eth1", "192.168.1.1/24", "wan").unwrap();
        w.plug(b, "eth0", "192.168.1.2/24", "wan").unwrap();
        // The packets come from machines outside the lab on the LAN side.
        w.set_outside("lan").unwrap();
        w.hosts[r]
            .sysctl
            .insert("net.ipv4.ip_forward".into(), "1".into());
        for rule in rules {
            let mut argv = vec!["iptables".to_string()];
            argv.extend(rule.split_whitespace().map(String::from));
            let out = crate::command::run_argv(&mut w.hosts[r], &argv, None);
            assert_eq!(out.exit, 0, "iptables {rule}: {}", out.stderr);
        }
        w
    }

    /// What the router's rules did with one packet.
    #[derive(Debug)]
    pub struct Seen {
        pub outcome: String,
        pub steps: Vec<Step>,
    }

    impl Seen {
        fn step(&self, chain: &str, rule: usize) -> &Step {
            self.steps
                .iter()
                .find(|s| s.chain == chain && s.rule == Some(rule))
                .unwrap_or_else(|| panic!("{chain} rule {rule} not reached: {self:#?}"))
        }
        /// Whether rule `rule` (1-based) of `chain` matched.
        pub fn matched(&self, chain: &str, rule: usize) -> bool {
            self.step(chain, rule).matched
        }
        /// Why it did not match.
        pub fn why(&self, chain: &str, rule: usize) -> String {
            self.step(chain, rule).failed.clone().unwrap_or_default()
        }
        /// Whether the rule was reached at all.
        pub fn reached(&self, chain: &str, rule: usize) -> bool {
            self.steps
                .iter()
                .any(|s| s.chain == chain && s.rule == Some(rule))
        }
        /// Matches per rule of `chain` in order (`true` matched).
        pub fn pattern(&self, chain: &str) -> Vec<bool> {
            self.steps
                .iter()
                .filter(|s| s.chain == chain && s.rule.is_some())
                .map(|s| s.matched)
                .collect()
        }
    }

    /// Injects `pkt` on the router's eth0 and returns the router's first report.
    pub fn inject(w: &mut World, mut pkt: Packet) -> Seen {
        if pkt.meta.src_mac.is_none() {
            pkt.meta.src_mac = Some(SENDER_MAC);
        }
        if pkt.meta.dst_mac.is_none() {
            pkt.meta.dst_mac = Some(w.hosts[0].ifaces[1].mac);
        }
        let reports = w.inject(0, "eth0", pkt);
        let first = &reports[0];
        Seen {
            outcome: first.outcome.clone(),
            steps: first
                .trace
                .steps
                .iter()
                .filter(|s| s.host == "r")
                .cloned()
                .collect(),
        }
    }

    fn ip(dst: &str, ttl: u8) -> IpFields {
        let mut f = IpFields::new(SENDER.parse().unwrap(), dst.parse::<Ipv4Addr>().unwrap());
        f.ttl = ttl;
        f
    }

    pub fn tcp(sport: u16, dst: &str, dport: u16, flags: u8, options: Vec<u8>) -> Packet {
        build_tcp(
            &ip(dst, 64),
            &TcpFields {
                sport,
                dport,
                flags,
                window: 1000,
                options,
                ..Default::default()
            },
            b"",
        )
    }

    pub fn udp(sport: u16, dst: &str, dport: u16) -> Packet {
        build_udp(&ip(dst, 64), sport, dport, b"abc")
    }

    pub fn icmp(dst: &str, ty: u8, code: u8) -> Packet {
        build_icmp(&ip(dst, 64), ty, code, [0, 1, 0, 1], &[0; 8])
    }

    /// A packet with a TTL and `len` bytes of ICMP echo data.
    pub fn ping(dst: &str, ttl: u8, len: usize) -> Packet {
        build_icmp(&ip(dst, ttl), 8, 0, [0, 1, 0, 1], &vec![0; len])
    }

    /// Any protocol from the sender to 192.168.1.2 with this transport
    /// payload; `frag` is the IP flags-and-offset field.
    pub fn raw(proto: u8, frag: u16, payload: &[u8]) -> Packet {
        raw_between(SENDER, "192.168.1.2", proto, frag, payload)
    }

    pub fn raw_between(src: &str, dst: &str, proto: u8, frag: u16, payload: &[u8]) -> Packet {
        let total = 20 + payload.len();
        let mut d = vec![0x45, 0];
        d.extend_from_slice(&(total as u16).to_be_bytes());
        d.extend_from_slice(&[0, 1]);
        d.extend_from_slice(&frag.to_be_bytes());
        d.extend_from_slice(&[64, proto, 0, 0]);
        d.extend_from_slice(&src.parse::<Ipv4Addr>().unwrap().octets());
        d.extend_from_slice(&dst.parse::<Ipv4Addr>().unwrap().octets());
        d.extend_from_slice(payload);
        let mut p = Packet::new(d);
        p.fix_checksums();
        p
    }
}
