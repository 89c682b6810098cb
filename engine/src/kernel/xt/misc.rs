//! Compat matches of the conntrack, socket and policy kind, each one xt
//! struct as iptables-nft 1.8.9 sends it: bpf (rev 1), cgroup (rev 2),
//! cluster, connbytes, connlabel, connlimit (rev 1), cpu, ipvs (rev 1),
//! osf, physdev, policy, quota, realm, rpfilter, socket (rev 3), time and
//! u32 (rev 0 unless noted).

use super::{get_cstr, get_u16, get_u32, put_u16, put_u32, DecodeCx, EncodeCx, XtMatch};
use crate::ext::bpf::Bpf;
use crate::ext::cgroup::Cgroup;
use crate::ext::cluster::Cluster;
use crate::ext::connbytes::{Connbytes, Dir, Mode};
use crate::ext::connlabel::Connlabel;
use crate::ext::connlimit::Connlimit;
use crate::ext::cpu::Cpu;
use crate::ext::ipvs::{Ipvs, Method};
use crate::ext::osf::Osf;
use crate::ext::physdev::Physdev;
use crate::ext::policy::Policy;
use crate::ext::quota::Quota;
use crate::ext::realm::Realm;
use crate::ext::rpfilter::Rpfilter;
use crate::ext::socket::Socket;
use crate::ext::time::Time;
use crate::ext::u32::{Op as U32Op, U32};
use crate::kernel::{Error, Result};
use std::net::Ipv4Addr;

fn get_u64(v: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&v[off..off + 8]);
    u64::from_ne_bytes(b)
}
fn put_u64(v: &mut [u8], off: usize, x: u64) {
    v[off..off + 8].copy_from_slice(&x.to_ne_bytes());
}
fn ip_at(d: &[u8], o: usize) -> Ipv4Addr {
    Ipv4Addr::new(d[o], d[o + 1], d[o + 2], d[o + 3])
}
fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::Unsupported(what.to_string())
}
/// `ADDR/MASK` with the mask as a dotted quad (any mask parses).
fn net_text(a: Ipv4Addr, m: Ipv4Addr) -> String {
    format!("{a}/{m}")
}
/// A string into a fixed field, cut to leave its NUL.
fn put_str(v: &mut [u8], off: usize, len: usize, s: &str) {
    let b = s.as_bytes();
    let n = b.len().min(len - 1);
    v[off..off + n].copy_from_slice(&b[..n]);
}

// bpf, revision 1: mode, count, fd, 64 instructions; the kernel's program
// pointer follows.
fn enc_bpf(m: &Bpf, _cx: &EncodeCx) -> Result<Vec<u8>> {
    if m.program.len() > 64 {
        return Err(unsupported("bpf: more than 64 instructions"));
    }
    let mut v = vec![0u8; 528];
    put_u16(&mut v, 2, m.program.len() as u16);
    for (i, ins) in m.program.iter().enumerate() {
        let o = 8 + 8 * i;
        put_u16(&mut v, o, ins.code);
        v[o + 2] = ins.jt;
        v[o + 3] = ins.jf;
        put_u32(&mut v, o + 4, ins.k);
    }
    Ok(v)
}
fn dec_bpf(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    if get_u16(d, 0) != 0 {
        return Err(unsupported("bpf programs pinned by path"));
    }
    let n = get_u16(d, 2) as usize;
    if n == 0 || n > 64 {
        return Err(unsupported(format!("bpf with {n} instructions")));
    }
    let mut text = n.to_string();
    for i in 0..n {
        let o = 8 + 8 * i;
        text.push_str(&format!(
            ",{} {} {} {}",
            get_u16(d, o),
            d[o + 2],
            d[o + 3],
            get_u32(d, o + 4)
        ));
    }
    cx.opt(false, "--bytecode", text);
    Ok(())
}
pub static BPF: XtMatch<Bpf> = XtMatch {
    name: "bpf",
    xt_name: &["bpf"],
    rev: 1,
    size: 528,
    user: 520,
    encode: enc_bpf,
    decode: dec_bpf,
};

// cgroup, revision 2: flags, then a path or a class id; a kernel pointer follows.
fn enc_cgroup(m: &Cgroup, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 528];
    if let Some((p, inv)) = &m.path {
        v[0] = 1;
        v[2] = *inv as u8;
        put_str(&mut v, 4, 512, p);
    }
    if let Some((c, inv)) = m.classid {
        if m.path.is_some() {
            return Err(unsupported("cgroup: both a path and a class id"));
        }
        v[1] = 1;
        v[3] = inv as u8;
        put_u32(&mut v, 4, c);
    }
    Ok(v)
}
fn dec_cgroup(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    match (d[0], d[1]) {
        (1, 0) => {
            cx.opt(d[2] != 0, "--path", get_cstr(&d[4..516]));
        }
        (0, 1) => {
            cx.opt(d[3] != 0, "--cgroup", get_u32(d, 4));
        }
        (p, c) => return Err(unsupported(format!("cgroup path/classid flags {p}/{c}"))),
    }
    Ok(())
}
pub static CGROUP: XtMatch<Cgroup> = XtMatch {
    name: "cgroup",
    xt_name: &["cgroup"],
    rev: 2,
    size: 528,
    user: 520,
    encode: enc_cgroup,
    decode: dec_cgroup,
};

fn enc_cluster(m: &Cluster, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 16];
    put_u32(&mut v, 0, m.total_nodes);
    put_u32(&mut v, 4, m.node_mask);
    put_u32(&mut v, 8, m.hash_seed);
    put_u32(&mut v, 12, m.inv as u32);
    Ok(v)
}
fn dec_cluster(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let flags = get_u32(d, 12);
    if flags & !1 != 0 {
        return Err(unsupported(format!("cluster flags {flags:#x}")));
    }
    cx.opt(
        flags & 1 != 0,
        "--cluster-local-nodemask",
        format!("{:#x}", get_u32(d, 4)),
    )
    .opt(false, "--cluster-total-nodes", get_u32(d, 0))
    .opt(
        false,
        "--cluster-hash-seed",
        format!("{:#x}", get_u32(d, 8)),
    );
    Ok(())
}
pub static CLUSTER: XtMatch<Cluster> = XtMatch {
    name: "cluster",
    xt_name: &["cluster"],
    rev: 0,
    size: 16,
    user: 16,
    encode: enc_cluster,
    decode: dec_cluster,
};

fn enc_connbytes(m: &Connbytes, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 18];
    put_u64(&mut v, 0, m.from);
    put_u64(&mut v, 8, m.to);
    v[16] = match m.mode {
        Mode::Packets => 0,
        Mode::Bytes => 1,
        Mode::AvgPkt => 2,
    };
    v[17] = match m.dir {
        Dir::Original => 0,
        Dir::Reply => 1,
        Dir::Both => 2,
    };
    Ok(v)
}
fn dec_connbytes(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (from, to) = (get_u64(d, 0), get_u64(d, 8));
    // Inverted bounds are kept swapped.
    let (lo, hi, inv) = if from > to {
        (to, from, true)
    } else {
        (from, to, false)
    };
    let mode = match d[16] {
        0 => "packets",
        1 => "bytes",
        2 => "avgpkt",
        m => return Err(unsupported(format!("connbytes mode {m}"))),
    };
    let dir = match d[17] {
        0 => "original",
        1 => "reply",
        2 => "both",
        x => return Err(unsupported(format!("connbytes direction {x}"))),
    };
    cx.opt(inv, "--connbytes", format!("{lo}:{hi}"))
        .opt(false, "--connbytes-mode", mode)
        .opt(false, "--connbytes-dir", dir);
    Ok(())
}
pub static CONNBYTES: XtMatch<Connbytes> = XtMatch {
    name: "connbytes",
    xt_name: &["connbytes"],
    rev: 0,
    size: 18,
    user: 18,
    encode: enc_connbytes,
    decode: dec_connbytes,
};

fn enc_connlabel(m: &Connlabel, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 4];
    put_u16(&mut v, 0, m.bit);
    put_u16(&mut v, 2, m.inv as u16 | (m.set as u16) << 1);
    Ok(v)
}
fn dec_connlabel(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let opts = get_u16(d, 2);
    if opts & !3 != 0 {
        return Err(unsupported(format!("connlabel options {opts:#x}")));
    }
    cx.opt(opts & 1 != 0, "--label", get_u16(d, 0));
    if opts & 2 != 0 {
        cx.flag(false, "--set");
    }
    Ok(())
}
pub static CONNLABEL: XtMatch<Connlabel> = XtMatch {
    name: "connlabel",
    xt_name: &["connlabel"],
    rev: 0,
    size: 4,
    user: 4,
    encode: enc_connlabel,
    decode: dec_connlabel,
};

const CONNLIMIT_INVERT: u32 = 1;
const CONNLIMIT_DADDR: u32 = 2;

// connlimit, revision 1: a 16-byte mask, the limit, flags; the kernel's
// counting state follows. A mask given fills the IPv4 part only, none
// the whole union.
fn enc_connlimit(m: &Connlimit, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 32];
    if m.mask_given {
        v[0..4].copy_from_slice(&m.mask.to_be_bytes());
    } else {
        v[0..16].fill(0xff);
    }
    put_u32(&mut v, 16, m.limit);
    let flags = (m.upto as u32 * CONNLIMIT_INVERT) | (m.daddr as u32 * CONNLIMIT_DADDR);
    put_u32(&mut v, 20, flags);
    Ok(v)
}
fn dec_connlimit(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let flags = get_u32(d, 20);
    if flags & !(CONNLIMIT_INVERT | CONNLIMIT_DADDR) != 0 {
        return Err(unsupported(format!("connlimit flags {flags:#x}")));
    }
    let opt = if flags & CONNLIMIT_INVERT != 0 {
        "--connlimit-upto"
    } else {
        "--connlimit-above"
    };
    cx.opt(false, opt, get_u32(d, 16));
    if d[..16].iter().any(|b| *b != 0xff) {
        if d[4..16].iter().any(|b| *b != 0) {
            return Err(unsupported("an IPv6 connlimit mask"));
        }
        let m = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
        if m.leading_ones() + m.trailing_zeros() != 32 {
            return Err(unsupported(format!("connlimit mask {}", Ipv4Addr::from(m))));
        }
        cx.opt(false, "--connlimit-mask", m.leading_ones());
    }
    let side = if flags & CONNLIMIT_DADDR != 0 {
        "--connlimit-daddr"
    } else {
        "--connlimit-saddr"
    };
    cx.flag(false, side);
    Ok(())
}
pub static CONNLIMIT: XtMatch<Connlimit> = XtMatch {
    name: "connlimit",
    xt_name: &["connlimit"],
    rev: 1,
    size: 32,
    user: 24,
    encode: enc_connlimit,
    decode: dec_connlimit,
};

fn enc_cpu(m: &Cpu, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 8];
    put_u32(&mut v, 0, m.cpu);
    put_u32(&mut v, 4, m.inv as u32);
    Ok(v)
}
fn dec_cpu(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    cx.opt(get_u32(d, 4) != 0, "--cpu", get_u32(d, 0));
    Ok(())
}
pub static CPU: XtMatch<Cpu> = XtMatch {
    name: "cpu",
    xt_name: &["cpu"],
    rev: 0,
    size: 8,
    user: 8,
    encode: enc_cpu,
    decode: dec_cpu,
};

const IPVS_PROPERTY: u8 = 1 << 0;
const IPVS_PROTO: u8 = 1 << 1;
const IPVS_VADDR: u8 = 1 << 2;
const IPVS_VPORT: u8 = 1 << 3;
const IPVS_DIR: u8 = 1 << 4;
const IPVS_METHOD: u8 = 1 << 5;
const IPVS_VPORTCTL: u8 = 1 << 6;
// IP_VS_CONN_F_* forwarding methods.
const FWD_MASQ: u8 = 0;
const FWD_TUNNEL: u8 = 2;
const FWD_DROUTE: u8 = 3;

// ipvs, revision 1 (struct xt_ipvs_mtinfo).
fn enc_ipvs(m: &Ipvs, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 40];
    let (mut bits, mut inv) = (0u8, 0u8);
    let mut set = |bit: u8, i: bool| {
        bits |= bit | IPVS_PROPERTY;
        inv |= i as u8 * bit;
    };
    if let Some(i) = m.ipvs {
        set(IPVS_PROPERTY, i);
    }
    if let Some((p, i)) = m.vproto {
        v[34] = p;
        set(IPVS_PROTO, i);
    }
    if let Some((a, mask, i)) = m.vaddr {
        v[0..4].copy_from_slice(&a.octets());
        v[16..20].copy_from_slice(&mask.to_be_bytes());
        set(IPVS_VADDR, i);
    }
    if let Some((p, i)) = m.vport {
        v[32..34].copy_from_slice(&p.to_be_bytes());
        set(IPVS_VPORT, i);
    }
    if let Some(reply) = m.vdir_reply {
        set(IPVS_DIR, reply);
    }
    if let Some((meth, i)) = m.vmethod {
        v[35] = match meth {
            Method::Gate => FWD_DROUTE,
            Method::Ipip => FWD_TUNNEL,
            Method::Masq => FWD_MASQ,
        };
        set(IPVS_METHOD, i);
    }
    if let Some((p, i)) = m.vportctl {
        v[36..38].copy_from_slice(&p.to_be_bytes());
        set(IPVS_VPORTCTL, i);
    }
    v[38] = inv;
    v[39] = bits;
    Ok(v)
}
fn dec_ipvs(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (inv, bits) = (d[38], d[39]);
    if bits & !0x7f != 0 || bits & IPVS_PROPERTY == 0 {
        return Err(unsupported(format!("ipvs options {bits:#x}")));
    }
    let i = |b: u8| inv & b != 0;
    if bits == IPVS_PROPERTY || i(IPVS_PROPERTY) {
        cx.flag(i(IPVS_PROPERTY), "--ipvs");
    }
    if bits & IPVS_PROTO != 0 {
        cx.opt(i(IPVS_PROTO), "--vproto", d[34]);
    }
    if bits & IPVS_VADDR != 0 {
        if d[4..16].iter().chain(&d[20..32]).any(|b| *b != 0) {
            return Err(unsupported("an IPv6 ipvs address"));
        }
        cx.opt(
            i(IPVS_VADDR),
            "--vaddr",
            net_text(ip_at(d, 0), ip_at(d, 16)),
        );
    }
    if bits & IPVS_VPORT != 0 {
        cx.opt(i(IPVS_VPORT), "--vport", u16::from_be_bytes([d[32], d[33]]));
    }
    if bits & IPVS_DIR != 0 {
        let dir = if i(IPVS_DIR) { "REPLY" } else { "ORIGINAL" };
        cx.opt(false, "--vdir", dir);
    }
    if bits & IPVS_METHOD != 0 {
        let m = match d[35] {
            FWD_DROUTE => "GATE",
            FWD_TUNNEL => "IPIP",
            FWD_MASQ => "MASQ",
            x => return Err(unsupported(format!("ipvs method {x}"))),
        };
        cx.opt(i(IPVS_METHOD), "--vmethod", m);
    }
    if bits & IPVS_VPORTCTL != 0 {
        cx.opt(
            i(IPVS_VPORTCTL),
            "--vportctl",
            u16::from_be_bytes([d[36], d[37]]),
        );
    }
    Ok(())
}
pub static IPVS: XtMatch<Ipvs> = XtMatch {
    name: "ipvs",
    xt_name: &["ipvs"],
    rev: 1,
    size: 40,
    user: 40,
    encode: enc_ipvs,
    decode: dec_ipvs,
};

const OSF_GENRE: u32 = 1;
const OSF_TTL: u32 = 2;
const OSF_LOG: u32 = 4;
const OSF_INVERT: u32 = 8;

fn enc_osf(m: &Osf, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 48];
    put_str(&mut v, 0, 32, &m.genre);
    put_u32(&mut v, 32, m.genre.len().min(31) as u32);
    let mut flags = m.inv as u32 * OSF_INVERT;
    if let Some(t) = m.ttl {
        flags |= OSF_TTL;
        put_u32(&mut v, 44, t);
    }
    if let Some(l) = m.log {
        flags |= OSF_LOG;
        put_u32(&mut v, 40, l);
    }
    put_u32(&mut v, 36, flags);
    Ok(v)
}
fn dec_osf(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let flags = get_u32(d, 36);
    if flags & !(OSF_GENRE | OSF_TTL | OSF_LOG | OSF_INVERT) != 0 {
        return Err(unsupported(format!("osf flags {flags:#x}")));
    }
    cx.opt(flags & OSF_INVERT != 0, "--genre", get_cstr(&d[..32]));
    if flags & OSF_TTL != 0 {
        cx.opt(false, "--ttl", get_u32(d, 44));
    }
    if flags & OSF_LOG != 0 {
        cx.opt(false, "--log", get_u32(d, 40));
    }
    Ok(())
}
pub static OSF: XtMatch<Osf> = XtMatch {
    name: "osf",
    xt_name: &["osf"],
    rev: 0,
    size: 48,
    user: 48,
    encode: enc_osf,
    decode: dec_osf,
};

const PHYS_IN: u8 = 0x01;
const PHYS_OUT: u8 = 0x02;
const PHYS_BRIDGED: u8 = 0x04;
const PHYS_ISIN: u8 = 0x08;
const PHYS_ISOUT: u8 = 0x10;

/// An interface name and its match mask as libxtables builds them: the
/// name and its NUL, or only the prefix before a trailing `+`.
fn iface_with_mask(v: &mut [u8], off: usize, name: &str) {
    put_str(v, off, 16, name);
    let n = match name.strip_suffix('+') {
        Some(p) => p.len(),
        None => name.len() + 1,
    };
    v[off + 16..off + 16 + n.min(16)].fill(0xff);
}
fn iface_text(d: &[u8], off: usize) -> Result<String> {
    let name = get_cstr(&d[off..off + 16]);
    let mask = &d[off + 16..off + 32];
    let n = mask.iter().take_while(|b| **b == 0xff).count();
    if mask[n..].iter().any(|b| *b != 0) {
        return Err(unsupported("physdev interface mask"));
    }
    if n == name.len() + 1 || (name.ends_with('+') && n + 1 == name.len()) {
        Ok(name)
    } else {
        Err(unsupported(format!("physdev mask of {n} bytes for {name}")))
    }
}

fn enc_physdev(m: &Physdev, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 66];
    let (mut bits, mut inv) = (0u8, 0u8);
    if let Some((dev, i)) = &m.in_dev {
        iface_with_mask(&mut v, 0, dev);
        bits |= PHYS_IN;
        inv |= *i as u8 * PHYS_IN;
    }
    if let Some((dev, i)) = &m.out_dev {
        iface_with_mask(&mut v, 32, dev);
        bits |= PHYS_OUT;
        inv |= *i as u8 * PHYS_OUT;
    }
    for (o, bit) in [
        (m.is_in, PHYS_ISIN),
        (m.is_out, PHYS_ISOUT),
        (m.bridged, PHYS_BRIDGED),
    ] {
        if let Some(i) = o {
            bits |= bit;
            inv |= i as u8 * bit;
        }
    }
    v[64] = inv;
    v[65] = bits;
    Ok(v)
}
fn dec_physdev(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (inv, bits) = (d[64], d[65]);
    if bits & !0x1f != 0 {
        return Err(unsupported(format!("physdev options {bits:#x}")));
    }
    if bits & PHYS_ISIN != 0 {
        cx.flag(inv & PHYS_ISIN != 0, "--physdev-is-in");
    }
    if bits & PHYS_IN != 0 {
        cx.opt(inv & PHYS_IN != 0, "--physdev-in", iface_text(d, 0)?);
    }
    if bits & PHYS_ISOUT != 0 {
        cx.flag(inv & PHYS_ISOUT != 0, "--physdev-is-out");
    }
    if bits & PHYS_OUT != 0 {
        cx.opt(inv & PHYS_OUT != 0, "--physdev-out", iface_text(d, 32)?);
    }
    if bits & PHYS_BRIDGED != 0 {
        cx.flag(inv & PHYS_BRIDGED != 0, "--physdev-is-bridged");
    }
    Ok(())
}
pub static PHYSDEV: XtMatch<Physdev> = XtMatch {
    name: "physdev",
    xt_name: &["physdev"],
    rev: 0,
    size: 66,
    user: 66,
    encode: enc_physdev,
    decode: dec_physdev,
};

const POL_IN: u16 = 1;
const POL_OUT: u16 = 2;
const POL_NONE: u16 = 4;
const POL_STRICT: u16 = 8;
const POL_ELEM: usize = 76;
// Bits of struct xt_policy_spec.
const SP_SADDR: u8 = 1;
const SP_DADDR: u8 = 2;
const SP_PROTO: u8 = 4;
const SP_MODE: u8 = 8;
const SP_SPI: u8 = 16;
const SP_REQID: u8 = 32;

fn enc_policy(m: &Policy, _cx: &EncodeCx) -> Result<Vec<u8>> {
    if m.elems.len() > 4 {
        return Err(unsupported("policy: more than 4 elements"));
    }
    let mut v = vec![0u8; 308];
    for (k, e) in m.elems.iter().enumerate() {
        let o = k * POL_ELEM;
        let (mut bits, mut inv) = (0u8, 0u8);
        let mut set = |bit: u8, i: bool| {
            bits |= bit;
            inv |= i as u8 * bit;
        };
        if let Some(n) = &e.tunnel_src {
            v[o..o + 4].copy_from_slice(&n.addr.octets());
            v[o + 16..o + 20].copy_from_slice(&n.mask.to_be_bytes());
            set(SP_SADDR, n.inv);
        }
        if let Some(n) = &e.tunnel_dst {
            v[o + 32..o + 36].copy_from_slice(&n.addr.octets());
            v[o + 48..o + 52].copy_from_slice(&n.mask.to_be_bytes());
            set(SP_DADDR, n.inv);
        }
        if let Some((spi, i)) = e.spi {
            // libxt_policy stores the SPI as given, in host order.
            put_u32(&mut v, o + 64, spi);
            set(SP_SPI, i);
        }
        if let Some((r, i)) = e.reqid {
            put_u32(&mut v, o + 68, r);
            set(SP_REQID, i);
        }
        if let Some((p, i)) = e.proto {
            v[o + 72] = p;
            set(SP_PROTO, i);
        }
        if let Some((tunnel, i)) = e.tunnel_mode {
            v[o + 73] = tunnel as u8;
            set(SP_MODE, i);
        }
        v[o + 74] = bits;
        v[o + 75] = inv;
    }
    let mut flags = match m.dir_in {
        Some(true) => POL_IN,
        _ => POL_OUT,
    };
    if m.none {
        flags |= POL_NONE;
    }
    if m.strict {
        flags |= POL_STRICT;
    }
    put_u16(&mut v, 304, flags);
    put_u16(&mut v, 306, m.elems.len() as u16);
    Ok(v)
}
fn dec_policy(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (flags, len) = (get_u16(d, 304), get_u16(d, 306) as usize);
    let dir = match flags & (POL_IN | POL_OUT) {
        POL_IN => "in",
        POL_OUT => "out",
        _ => return Err(unsupported(format!("policy flags {flags:#x}"))),
    };
    if flags & !0xf != 0 || len > 4 {
        return Err(unsupported(format!(
            "policy flags {flags:#x}, {len} elements"
        )));
    }
    cx.opt(false, "--dir", dir).opt(
        false,
        "--pol",
        if flags & POL_NONE != 0 {
            "none"
        } else {
            "ipsec"
        },
    );
    if flags & POL_STRICT != 0 {
        cx.flag(false, "--strict");
    }
    for k in 0..len {
        if k > 0 {
            cx.word("--next");
        }
        let o = k * POL_ELEM;
        let (bits, inv) = (d[o + 74], d[o + 75]);
        let i = |b: u8| inv & b != 0;
        if bits & SP_REQID != 0 {
            cx.opt(i(SP_REQID), "--reqid", get_u32(d, o + 68));
        }
        if bits & SP_SPI != 0 {
            cx.opt(i(SP_SPI), "--spi", format!("{:#x}", get_u32(d, o + 64)));
        }
        if bits & SP_PROTO != 0 {
            let p = d[o + 72];
            let name = match p {
                50 => "esp".to_string(),
                51 => "ah".to_string(),
                108 => "ipcomp".to_string(),
                p => p.to_string(),
            };
            cx.opt(i(SP_PROTO), "--proto", name);
        }
        if bits & SP_MODE != 0 {
            let mode = match d[o + 73] {
                0 => "transport",
                1 => "tunnel",
                x => return Err(unsupported(format!("policy mode {x}"))),
            };
            cx.opt(i(SP_MODE), "--mode", mode);
        }
        for (bit, off, opt) in [
            (SP_DADDR, 32, "--tunnel-dst"),
            (SP_SADDR, 0, "--tunnel-src"),
        ] {
            if bits & bit != 0 {
                cx.opt(
                    i(bit),
                    opt,
                    net_text(ip_at(d, o + off), ip_at(d, o + off + 16)),
                );
            }
        }
    }
    Ok(())
}
pub static POLICY: XtMatch<Policy> = XtMatch {
    name: "policy",
    xt_name: &["policy"],
    rev: 0,
    size: 308,
    user: 308,
    encode: enc_policy,
    decode: dec_policy,
};

// quota: flags, pad, the quota; the kernel's counter pointer follows.
fn enc_quota(m: &Quota, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 24];
    put_u32(&mut v, 0, m.inv as u32);
    put_u64(&mut v, 8, m.quota);
    Ok(v)
}
fn dec_quota(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let flags = get_u32(d, 0);
    if flags & !1 != 0 {
        return Err(unsupported(format!("quota flags {flags:#x}")));
    }
    cx.opt(flags & 1 != 0, "--quota", get_u64(d, 8));
    Ok(())
}
pub static QUOTA: XtMatch<Quota> = XtMatch {
    name: "quota",
    xt_name: &["quota"],
    rev: 0,
    size: 24,
    user: 16,
    encode: enc_quota,
    decode: dec_quota,
};

fn enc_realm(m: &Realm, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 9];
    put_u32(&mut v, 0, m.id);
    put_u32(&mut v, 4, m.mask);
    v[8] = m.inv as u8;
    Ok(v)
}
fn dec_realm(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (id, mask) = (get_u32(d, 0), get_u32(d, 4));
    cx.opt(d[8] != 0, "--realm", format!("{id:#x}/{mask:#x}"));
    Ok(())
}
pub static REALM: XtMatch<Realm> = XtMatch {
    name: "realm",
    xt_name: &["realm"],
    rev: 0,
    size: 9,
    user: 9,
    encode: enc_realm,
    decode: dec_realm,
};

const RPF_FLAGS: [(u8, &str); 4] = [
    (1, "--loose"),
    (2, "--validmark"),
    (4, "--accept-local"),
    (8, "--invert"),
];

fn enc_rpfilter(m: &Rpfilter, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(vec![
        m.loose as u8
            | (m.validmark as u8) << 1
            | (m.accept_local as u8) << 2
            | (m.invert as u8) << 3,
    ])
}
fn dec_rpfilter(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    flag_words(d[0], &RPF_FLAGS, cx, "rpfilter")
}
pub static RPFILTER: XtMatch<Rpfilter> = XtMatch {
    name: "rpfilter",
    xt_name: &["rpfilter"],
    rev: 0,
    size: 1,
    user: 1,
    encode: enc_rpfilter,
    decode: dec_rpfilter,
};

/// One option word per bit set; unknown bits cannot be represented.
fn flag_words(v: u8, table: &[(u8, &str)], cx: &mut DecodeCx, what: &str) -> Result<()> {
    let known = table.iter().fold(0, |m, (b, _)| m | b);
    if v & !known != 0 {
        return Err(unsupported(format!("{what} flags {v:#x}")));
    }
    for (bit, opt) in table {
        if v & bit != 0 {
            cx.flag(false, opt);
        }
    }
    Ok(())
}

const SOCKET_FLAGS: [(u8, &str); 3] = [
    (1, "--transparent"),
    (2, "--nowildcard"),
    (4, "--restore-skmark"),
];

fn enc_socket(m: &Socket, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(vec![
        m.transparent as u8 | (m.nowildcard as u8) << 1 | (m.restore_skmark as u8) << 2,
    ])
}
fn dec_socket(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    flag_words(d[0], &SOCKET_FLAGS, cx, "socket")
}
pub static SOCKET: XtMatch<Socket> = XtMatch {
    name: "socket",
    xt_name: &["socket"],
    rev: 3,
    size: 1,
    user: 1,
    encode: enc_socket,
    decode: dec_socket,
};

const TIME_LOCAL_TZ: u8 = 1;
const TIME_CONTIGUOUS: u8 = 2;
const WEEKDAYS: [&str; 8] = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn enc_time(m: &Time, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 22];
    put_u32(&mut v, 0, m.date_start);
    put_u32(&mut v, 4, m.date_stop);
    put_u32(&mut v, 8, m.daytime_start);
    put_u32(&mut v, 12, m.daytime_stop);
    put_u32(&mut v, 16, m.monthdays);
    v[20] = m.weekdays;
    v[21] = (m.kernel_tz as u8 * TIME_LOCAL_TZ) | (m.contiguous as u8 * TIME_CONTIGUOUS);
    Ok(v)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SS` (UTC).
fn iso_date(secs: u32) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Days to a civil date (proleptic Gregorian).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn dec_time(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (ds, de, ts, te) = (get_u32(d, 0), get_u32(d, 4), get_u32(d, 8), get_u32(d, 12));
    let (md, wd, flags) = (get_u32(d, 16), d[20], d[21]);
    if flags & !(TIME_LOCAL_TZ | TIME_CONTIGUOUS) != 0 {
        return Err(unsupported(format!("time flags {flags:#x}")));
    }
    let hms = |t: u32| format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
    if ts >= 86400 || te >= 86400 {
        return Err(unsupported("a time of day past midnight"));
    }
    if ts != 0 || te != 86399 {
        cx.opt(false, "--timestart", hms(ts))
            .opt(false, "--timestop", hms(te));
    }
    if md != 0xffff_fffe {
        let days: Vec<String> = (1..=31)
            .filter(|i| md & (1u32 << i) != 0)
            .map(|i| i.to_string())
            .collect();
        if days.is_empty() || md & 1 != 0 {
            return Err(unsupported(format!("time month days {md:#x}")));
        }
        cx.opt(false, "--monthdays", days.join(","));
    }
    if wd != 0xfe {
        let days: Vec<&str> = (1..=7)
            .filter(|i| wd & (1 << i) != 0)
            .map(|i| WEEKDAYS[i])
            .collect();
        if days.is_empty() || wd & 1 != 0 {
            return Err(unsupported(format!("time weekdays {wd:#x}")));
        }
        cx.opt(false, "--weekdays", days.join(","));
    }
    if ds != 0 {
        cx.opt(false, "--datestart", iso_date(ds));
    }
    if de != 0 {
        cx.opt(false, "--datestop", iso_date(de));
    }
    if flags & TIME_LOCAL_TZ != 0 {
        cx.flag(false, "--kerneltz");
    }
    if flags & TIME_CONTIGUOUS != 0 {
        cx.flag(false, "--contiguous");
    }
    Ok(())
}
pub static TIME: XtMatch<Time> = XtMatch {
    name: "time",
    xt_name: &["time"],
    rev: 0,
    size: 22,
    user: 22,
    encode: enc_time,
    decode: dec_time,
};

// u32: 11 tests of 11 location steps and 11 value ranges each.
const U32_MAX: usize = 11;
const U32_TEST: usize = 180;

fn enc_u32(m: &U32, _cx: &EncodeCx) -> Result<Vec<u8>> {
    if m.tests.len() > U32_MAX {
        return Err(unsupported("u32: too many tests"));
    }
    let mut v = vec![0u8; 1982];
    for (k, t) in m.tests.iter().enumerate() {
        let o = k * U32_TEST;
        if t.steps.len() + 1 > U32_MAX || t.values.len() > U32_MAX {
            return Err(unsupported("u32: too many steps or values"));
        }
        put_u32(&mut v, o, t.start);
        for (j, (op, n)) in t.steps.iter().enumerate() {
            let e = o + 8 * (j + 1);
            put_u32(&mut v, e, *n);
            v[e + 4] = match op {
                U32Op::And => 0,
                U32Op::Shl => 1,
                U32Op::Shr => 2,
                U32Op::At => 3,
            };
        }
        for (j, (lo, hi)) in t.values.iter().enumerate() {
            let e = o + 88 + 8 * j;
            put_u32(&mut v, e, *lo);
            put_u32(&mut v, e + 4, *hi);
        }
        v[o + 176] = (t.steps.len() + 1) as u8;
        v[o + 177] = t.values.len() as u8;
    }
    v[1980] = m.tests.len() as u8;
    v[1981] = m.inv as u8;
    Ok(v)
}
fn dec_u32(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let n = d[1980] as usize;
    if n == 0 || n > U32_MAX {
        return Err(unsupported(format!("u32 with {n} tests")));
    }
    let mut text = String::new();
    for k in 0..n {
        let o = k * U32_TEST;
        let (nnums, nvals) = (d[o + 176] as usize, d[o + 177] as usize);
        if nnums == 0 || nnums > U32_MAX || nvals == 0 || nvals > U32_MAX {
            return Err(unsupported("u32 test sizes"));
        }
        if k > 0 {
            text.push_str("&&");
        }
        text.push_str(&format!("{:#x}", get_u32(d, o)));
        for j in 1..nnums {
            let e = o + 8 * j;
            let op = match d[e + 4] {
                0 => "&",
                1 => "<<",
                2 => ">>",
                3 => "@",
                x => return Err(unsupported(format!("u32 operator {x}"))),
            };
            text.push_str(&format!("{op}{:#x}", get_u32(d, e)));
        }
        text.push('=');
        for j in 0..nvals {
            let e = o + 88 + 8 * j;
            if j > 0 {
                text.push(',');
            }
            let (lo, hi) = (get_u32(d, e), get_u32(d, e + 4));
            if lo == hi {
                text.push_str(&format!("{lo:#x}"));
            } else {
                text.push_str(&format!("{lo:#x}:{hi:#x}"));
            }
        }
    }
    cx.opt(d[1981] != 0, "--u32", text);
    Ok(())
}
pub static U32M: XtMatch<U32> = XtMatch {
    name: "u32",
    xt_name: &["u32"],
    rev: 0,
    size: 1982,
    user: 1982,
    encode: enc_u32,
    decode: dec_u32,
};
