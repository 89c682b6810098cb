//! NAT targets: `-j MASQUERADE` and `-j SNAT` as revision 0 (struct
//! nf_nat_ipv4_multi_range_compat), `-j DNAT` as revision 2 (struct
//! nf_nat_range2), as iptables-nft 1.8.9 sends them.

use super::{get_u32, put_u32, DecodeCx, EncodeCx, XtTarget};
use crate::ext::dnat::{Dnat, NatRange};
use crate::ext::masquerade::Masquerade;
use crate::ext::redirect::Redirect;
use crate::ext::snat::Snat;
use crate::ext::Target;
use crate::kernel::Result;
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

fn range_from(f: u32, min: Ipv4Addr, max: Ipv4Addr, pmin: u16, pmax: u16, base: u16) -> NatRange {
    let map_ips = f & MAP_IPS != 0;
    NatRange {
        map_ips,
        min_ip: map_ips.then_some(min),
        max_ip: map_ips.then_some(max),
        ports: f & PROTO_SPECIFIED != 0,
        min_port: pmin,
        max_port: pmax,
        offset: f & PROTO_OFFSET != 0,
        base_port: base,
        random: f & PROTO_RANDOM != 0,
        random_fully: f & PROTO_RANDOM_FULLY != 0,
        persistent: f & PERSISTENT != 0,
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

fn decode_v0(d: &[u8]) -> NatRange {
    let ip = |o: usize| Ipv4Addr::new(d[o], d[o + 1], d[o + 2], d[o + 3]);
    let port = |o: usize| u16::from_be_bytes([d[o], d[o + 1]]);
    range_from(get_u32(d, 4), ip(8), ip(12), port(16), port(18), 0)
}

fn enc_masq(t: &Masquerade, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(encode_v0(&t.range))
}
fn dec_masq(d: &[u8], _cx: &DecodeCx) -> Result<Box<dyn Target>> {
    Ok(Box::new(Masquerade {
        range: decode_v0(d),
    }))
}
fn enc_snat(t: &Snat, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(encode_v0(&t.range))
}
fn dec_snat(d: &[u8], _cx: &DecodeCx) -> Result<Box<dyn Target>> {
    Ok(Box::new(Snat {
        range: decode_v0(d),
    }))
}

fn enc_redirect(t: &Redirect, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(encode_v0(&t.range))
}
fn dec_redirect(d: &[u8], _cx: &DecodeCx) -> Result<Box<dyn Target>> {
    Ok(Box::new(Redirect {
        range: decode_v0(d),
    }))
}

pub static REDIRECT: XtTarget<Redirect> = XtTarget {
    name: "REDIRECT",
    xt_name: &["REDIRECT"],
    rev: 0,
    size: 20,
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

fn dec_dnat(d: &[u8], _cx: &DecodeCx) -> Result<Box<dyn Target>> {
    let ip = |o: usize| Ipv4Addr::new(d[o], d[o + 1], d[o + 2], d[o + 3]);
    let port = |o: usize| u16::from_be_bytes([d[o], d[o + 1]]);
    Ok(Box::new(Dnat {
        range: range_from(get_u32(d, 0), ip(4), ip(20), port(36), port(38), port(40)),
    }))
}

pub static MASQUERADE: XtTarget<Masquerade> = XtTarget {
    name: "MASQUERADE",
    xt_name: &["MASQUERADE"],
    rev: 0,
    size: 20,
    encode: enc_masq,
    decode: dec_masq,
};

pub static SNAT: XtTarget<Snat> = XtTarget {
    name: "SNAT",
    xt_name: &["SNAT"],
    rev: 0,
    size: 20,
    encode: enc_snat,
    decode: dec_snat,
};

pub static DNAT: XtTarget<Dnat> = XtTarget {
    name: "DNAT",
    xt_name: &["DNAT"],
    rev: 2,
    size: 42,
    encode: enc_dnat,
    decode: dec_dnat,
};
