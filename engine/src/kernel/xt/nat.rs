//! NAT targets: `-j MASQUERADE` and `-j SNAT` as revision 0 (struct
//! nf_nat_ipv4_multi_range_compat), `-j DNAT` as revision 2 (struct
//! nf_nat_range2), as iptables-nft 1.8.9 sends them.

use super::{get_u32, put_u32, DecodeCx, EncodeCx, XtTarget};
use crate::ext::dnat::{Dnat, NatRange};
use crate::ext::masquerade::Masquerade;
use crate::ext::redirect::Redirect;
use crate::ext::snat::Snat;
use crate::kernel::{Error, Result};
use std::net::Ipv4Addr;

const MAP_IPS: u32 = 1 << 0;
const PROTO_SPECIFIED: u32 = 1 << 1;
const PROTO_RANDOM: u32 = 1 << 2;
const PERSISTENT: u32 = 1 << 3;
const PROTO_RANDOM_FULLY: u32 = 1 << 4;
const PROTO_OFFSET: u32 = 1 << 5;

fn flags(r: &NatRange) -> u32 {
    (r.map_ips as u32 * MAP_IPS)
        | (r.ports as u32 * PROTO_SPECIFIED)
        | (r.random as u32 * PROTO_RANDOM)
        | (r.persistent as u32 * PERSISTENT)
        | (r.random_fully as u32 * PROTO_RANDOM_FULLY)
        | (r.offset as u32 * PROTO_OFFSET)
}

/// A NAT range as read from the kernel.
struct Range {
    flags: u32,
    min_ip: Ipv4Addr,
    max_ip: Ipv4Addr,
    min_port: u16,
    max_port: u16,
    base: u16,
}

const KNOWN: u32 =
    MAP_IPS | PROTO_SPECIFIED | PROTO_RANDOM | PERSISTENT | PROTO_RANDOM_FULLY | PROTO_OFFSET;

impl Range {
    /// `IP[-IP][:PORT[-PORT[/BASE]]]`, the form libxt_NAT parses.
    fn text(&self) -> String {
        let mut s = String::new();
        if self.flags & MAP_IPS != 0 {
            s.push_str(&self.min_ip.to_string());
            if self.max_ip != self.min_ip {
                s.push_str(&format!("-{}", self.max_ip));
            }
        }
        if self.flags & PROTO_SPECIFIED != 0 {
            s.push_str(&format!(":{}", self.min_port));
            if self.max_port != self.min_port {
                s.push_str(&format!("-{}", self.max_port));
            }
            if self.flags & PROTO_OFFSET != 0 {
                s.push_str(&format!("/{}", self.base));
            }
        }
        s
    }

    /// Pushes `OPT RANGE` (ports only when `ports_only`) and the flags.
    fn words(&self, cx: &mut DecodeCx, opt: &str, ports_only: bool) -> Result<()> {
        if self.flags & !KNOWN != 0 {
            return Err(Error::Unsupported(format!("NAT flags {:#x}", self.flags)));
        }
        let text = self.text();
        if ports_only {
            if self.flags & (MAP_IPS | PROTO_OFFSET) != 0 {
                return Err(Error::Unsupported(
                    "an address range for a port-only target".into(),
                ));
            }
            if let Some(ports) = text.strip_prefix(':') {
                cx.opt(false, opt, ports);
            }
        } else if !text.is_empty() {
            cx.opt(false, opt, text);
        }
        for (bit, flag) in [
            (PROTO_RANDOM, "--random"),
            (PROTO_RANDOM_FULLY, "--random-fully"),
            (PERSISTENT, "--persistent"),
        ] {
            if self.flags & bit != 0 {
                cx.flag(false, flag);
            }
        }
        Ok(())
    }
}

/// nf_nat_ipv4_multi_range_compat with one range.
fn encode_v0(r: &NatRange) -> Vec<u8> {
    let mut v = vec![0u8; 20];
    put_u32(&mut v, 0, 1);
    put_u32(&mut v, 4, flags(r));
    v[8..12].copy_from_slice(&r.min_ip.unwrap_or(Ipv4Addr::UNSPECIFIED).octets());
    v[12..16].copy_from_slice(&r.max_ip.unwrap_or(Ipv4Addr::UNSPECIFIED).octets());
    v[16..18].copy_from_slice(&r.min_port.to_be_bytes());
    v[18..20].copy_from_slice(&r.max_port.to_be_bytes());
    v
}

fn decode_v0(d: &[u8]) -> Result<Range> {
    if get_u32(d, 0) != 1 {
        return Err(Error::Unsupported(format!("{} NAT ranges", get_u32(d, 0))));
    }
    let ip = |o: usize| Ipv4Addr::new(d[o], d[o + 1], d[o + 2], d[o + 3]);
    let port = |o: usize| u16::from_be_bytes([d[o], d[o + 1]]);
    Ok(Range {
        flags: get_u32(d, 4),
        min_ip: ip(8),
        max_ip: ip(12),
        min_port: port(16),
        max_port: port(18),
        base: 0,
    })
}

fn enc_masq(t: &Masquerade, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(encode_v0(&t.range))
}
fn dec_masq(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    decode_v0(d)?.words(cx, "--to-ports", true)
}
fn enc_snat(t: &Snat, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(encode_v0(&t.range))
}
fn dec_snat(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    decode_v0(d)?.words(cx, "--to-source", false)
}

fn enc_redirect(t: &Redirect, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(encode_v0(&t.range))
}
fn dec_redirect(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    decode_v0(d)?.words(cx, "--to-ports", true)
}

pub static REDIRECT: XtTarget<Redirect> = XtTarget {
    name: "REDIRECT",
    xt_name: &["REDIRECT"],
    rev: 0,
    size: 20,
    user: 20,
    encode: enc_redirect,
    decode: dec_redirect,
};

/// nf_nat_range2: flags, 16-byte addresses, ports, base port.
fn enc_dnat(t: &Dnat, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let r = &t.range;
    let mut v = vec![0u8; 42];
    put_u32(&mut v, 0, flags(r));
    v[4..8].copy_from_slice(&r.min_ip.unwrap_or(Ipv4Addr::UNSPECIFIED).octets());
    v[20..24].copy_from_slice(&r.max_ip.unwrap_or(Ipv4Addr::UNSPECIFIED).octets());
    v[36..38].copy_from_slice(&r.min_port.to_be_bytes());
    v[38..40].copy_from_slice(&r.max_port.to_be_bytes());
    v[40..42].copy_from_slice(&r.base_port.to_be_bytes());
    Ok(v)
}

fn dec_dnat(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let ip = |o: usize| Ipv4Addr::new(d[o], d[o + 1], d[o + 2], d[o + 3]);
    let port = |o: usize| u16::from_be_bytes([d[o], d[o + 1]]);
    Range {
        flags: get_u32(d, 0),
        min_ip: ip(4),
        max_ip: ip(20),
        min_port: port(36),
        max_port: port(38),
        base: port(40),
    }
    .words(cx, "--to-destination", false)
}

pub static MASQUERADE: XtTarget<Masquerade> = XtTarget {
    name: "MASQUERADE",
    xt_name: &["MASQUERADE"],
    rev: 0,
    size: 20,
    user: 20,
    encode: enc_masq,
    decode: dec_masq,
};

pub static SNAT: XtTarget<Snat> = XtTarget {
    name: "SNAT",
    xt_name: &["SNAT"],
    rev: 0,
    size: 20,
    user: 20,
    encode: enc_snat,
    decode: dec_snat,
};

pub static DNAT: XtTarget<Dnat> = XtTarget {
    name: "DNAT",
    xt_name: &["DNAT"],
    rev: 2,
    size: 42,
    user: 42,
    encode: enc_dnat,
    decode: dec_dnat,
};
