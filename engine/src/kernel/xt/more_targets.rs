//! Compat targets iptables-nft 1.8.9 sends as xt structs: AUDIT,
//! CONNSECMARK, IDLETIMER (rev 1), LED, NETMAP, NFQUEUE (rev 3), SECMARK,
//! SYNPROXY, TEE (rev 1), TPROXY (rev 1); and `-j TRACE`, which is native
//! (`meta nftrace set 1`).

use super::{
    get_cstr, get_u16, get_u32, put_u16, put_u32, DecodeCx, EncodeCx, TargetCodec, XtTarget,
};
use crate::ext::audit::Audit;
use crate::ext::connsecmark::Connsecmark;
use crate::ext::idletimer::Idletimer;
use crate::ext::led::Led;
use crate::ext::netmap::Netmap;
use crate::ext::nfqueue::Nfqueue;
use crate::ext::secmark::Secmark;
use crate::ext::synproxy::Synproxy;
use crate::ext::tee::Tee;
use crate::ext::tproxy::Tproxy;
use crate::ext::Target;
use crate::kernel::expr::{Expr, ImmData};
use crate::kernel::{Error, Result};
use std::net::Ipv4Addr;

fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::Unsupported(what.to_string())
}
fn put_str(v: &mut [u8], off: usize, len: usize, s: &str) {
    let b = s.as_bytes();
    let n = b.len().min(len - 1);
    v[off..off + n].copy_from_slice(&b[..n]);
}

const AUDIT_TYPES: [&str; 3] = ["accept", "drop", "reject"];

fn enc_audit(t: &Audit, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(vec![t.kind])
}
fn dec_audit(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let name = AUDIT_TYPES
        .get(d[0] as usize)
        .ok_or_else(|| unsupported(format!("AUDIT type {}", d[0])))?;
    cx.opt(false, "--type", name);
    Ok(())
}
pub static AUDIT: XtTarget<Audit> = XtTarget {
    name: "AUDIT",
    xt_name: &["AUDIT"],
    rev: 0,
    size: 1,
    user: 1,
    encode: enc_audit,
    decode: dec_audit,
};

fn enc_connsecmark(t: &Connsecmark, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(vec![if t.restore { 2 } else { 1 }])
}
fn dec_connsecmark(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    match d[0] {
        1 => cx.flag(false, "--save"),
        2 => cx.flag(false, "--restore"),
        m => return Err(unsupported(format!("CONNSECMARK mode {m}"))),
    };
    Ok(())
}
pub static CONNSECMARK: XtTarget<Connsecmark> = XtTarget {
    name: "CONNSECMARK",
    xt_name: &["CONNSECMARK"],
    rev: 0,
    size: 1,
    user: 1,
    encode: enc_connsecmark,
    decode: dec_connsecmark,
};

// IDLETIMER, revision 1: timeout, label, netlink flag, timer type; the
// kernel's timer pointer follows.
fn enc_idletimer(t: &Idletimer, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 48];
    put_u32(&mut v, 0, t.timeout);
    put_str(&mut v, 4, 28, &t.label);
    v[33] = t.alarm as u8;
    Ok(v)
}
fn dec_idletimer(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    cx.opt(false, "--timeout", get_u32(d, 0))
        .opt(false, "--label", get_cstr(&d[4..32]));
    match d[33] {
        0 => {}
        1 => {
            cx.flag(false, "--alarm");
        }
        x => return Err(unsupported(format!("IDLETIMER timer type {x}"))),
    }
    Ok(())
}
pub static IDLETIMER: XtTarget<Idletimer> = XtTarget {
    name: "IDLETIMER",
    xt_name: &["IDLETIMER"],
    rev: 1,
    size: 48,
    user: 40,
    encode: enc_idletimer,
    decode: dec_idletimer,
};

// LED: trigger id, always-blink, delay (u32::MAX for `inf`); a kernel
// pointer follows.
fn enc_led(t: &Led, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 40];
    put_str(&mut v, 0, 27, &t.id);
    v[27] = t.always_blink as u8;
    put_u32(&mut v, 28, t.delay as u32);
    Ok(v)
}
fn dec_led(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    cx.opt(false, "--led-trigger-id", get_cstr(&d[..27]));
    match get_u32(d, 28) {
        0 => {}
        u32::MAX => {
            cx.opt(false, "--led-delay", "inf");
        }
        n => {
            cx.opt(false, "--led-delay", n);
        }
    }
    if d[27] != 0 {
        cx.flag(false, "--led-always-blink");
    }
    Ok(())
}
pub static LED: XtTarget<Led> = XtTarget {
    name: "LED",
    xt_name: &["LED"],
    rev: 0,
    size: 40,
    user: 32,
    encode: enc_led,
    decode: dec_led,
};

// NETMAP: one nf_nat_ipv4_range mapping the network.
fn enc_netmap(t: &Netmap, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 20];
    put_u32(&mut v, 0, 1);
    put_u32(&mut v, 4, 1);
    let host = if t.prefix >= 32 {
        0
    } else {
        u32::MAX >> t.prefix
    };
    v[8..12].copy_from_slice(&t.net.octets());
    v[12..16].copy_from_slice(&(u32::from(t.net) | host).to_be_bytes());
    Ok(v)
}
fn dec_netmap(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    if get_u32(d, 0) != 1 || get_u32(d, 4) != 1 {
        return Err(unsupported("NETMAP range flags"));
    }
    let lo = u32::from_be_bytes([d[8], d[9], d[10], d[11]]);
    let hi = u32::from_be_bytes([d[12], d[13], d[14], d[15]]);
    let host = lo ^ hi;
    if host.leading_zeros() + host.trailing_ones() != 32 || lo & host != 0 {
        return Err(unsupported("a NETMAP range that is not a network"));
    }
    cx.opt(
        false,
        "--to",
        format!("{}/{}", Ipv4Addr::from(lo), host.leading_zeros()),
    );
    Ok(())
}
pub static NETMAP: XtTarget<Netmap> = XtTarget {
    name: "NETMAP",
    xt_name: &["NETMAP"],
    rev: 0,
    size: 20,
    user: 20,
    encode: enc_netmap,
    decode: dec_netmap,
};

const NFQ_BYPASS: u16 = 0x01;
const NFQ_CPU_FANOUT: u16 = 0x02;

fn enc_nfqueue(t: &Nfqueue, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 6];
    put_u16(&mut v, 0, t.queue);
    put_u16(&mut v, 2, t.total);
    put_u16(&mut v, 4, t.flags as u16);
    Ok(v)
}
fn dec_nfqueue(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (q, total, flags) = (get_u16(d, 0), get_u16(d, 2), get_u16(d, 4));
    if flags & !(NFQ_BYPASS | NFQ_CPU_FANOUT) != 0 {
        return Err(unsupported(format!("NFQUEUE flags {flags:#x}")));
    }
    if total > 1 {
        let last = q as u32 + total as u32 - 1;
        cx.opt(false, "--queue-balance", format!("{q}:{last}"));
    } else if total == 1 {
        cx.opt(false, "--queue-num", q);
    } else {
        return Err(unsupported("NFQUEUE over 65536 queues"));
    }
    if flags & NFQ_BYPASS != 0 {
        cx.flag(false, "--queue-bypass");
    }
    if flags & NFQ_CPU_FANOUT != 0 {
        cx.flag(false, "--queue-cpu-fanout");
    }
    Ok(())
}
pub static NFQUEUE: XtTarget<Nfqueue> = XtTarget {
    name: "NFQUEUE",
    xt_name: &["NFQUEUE"],
    rev: 3,
    size: 6,
    user: 6,
    encode: enc_nfqueue,
    decode: dec_nfqueue,
};

// SECMARK: mode (SELinux), the kernel's secid, the context.
fn enc_secmark(t: &Secmark, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 264];
    v[0] = 1;
    put_str(&mut v, 8, 256, &t.selctx);
    Ok(v)
}
fn dec_secmark(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    if d[0] != 1 {
        return Err(unsupported(format!("SECMARK mode {}", d[0])));
    }
    cx.opt(false, "--selctx", get_cstr(&d[8..264]));
    Ok(())
}
pub static SECMARK: XtTarget<Secmark> = XtTarget {
    name: "SECMARK",
    xt_name: &["SECMARK"],
    rev: 0,
    size: 264,
    user: 264,
    encode: enc_secmark,
    decode: dec_secmark,
};

const SP_MSS: u8 = 0x01;
const SP_WSCALE: u8 = 0x02;
const SP_SACK_PERM: u8 = 0x04;
const SP_TIMESTAMP: u8 = 0x08;
const SP_ECN: u8 = 0x10;

fn enc_synproxy(t: &Synproxy, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 4];
    let mut opts = (t.sack_perm as u8 * SP_SACK_PERM)
        | (t.timestamp as u8 * SP_TIMESTAMP)
        | (t.ecn as u8 * SP_ECN);
    if let Some(w) = t.wscale {
        opts |= SP_WSCALE;
        v[1] = w;
    }
    if let Some(m) = t.mss {
        opts |= SP_MSS;
        put_u16(&mut v, 2, m);
    }
    v[0] = opts;
    Ok(v)
}
fn dec_synproxy(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let o = d[0];
    if o & !0x1f != 0 {
        return Err(unsupported(format!("SYNPROXY options {o:#x}")));
    }
    if o & SP_SACK_PERM != 0 {
        cx.flag(false, "--sack-perm");
    }
    if o & SP_TIMESTAMP != 0 {
        cx.flag(false, "--timestamp");
    }
    if o & SP_WSCALE != 0 {
        cx.opt(false, "--wscale", d[1]);
    }
    if o & SP_MSS != 0 {
        cx.opt(false, "--mss", get_u16(d, 2));
    }
    if o & SP_ECN != 0 {
        cx.flag(false, "--ecn");
    }
    Ok(())
}
pub static SYNPROXY: XtTarget<Synproxy> = XtTarget {
    name: "SYNPROXY",
    xt_name: &["SYNPROXY"],
    rev: 0,
    size: 4,
    user: 4,
    encode: enc_synproxy,
    decode: dec_synproxy,
};

// TEE, revision 1: gateway, output interface; a kernel pointer follows.
fn enc_tee(t: &Tee, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 40];
    v[0..4].copy_from_slice(&t.gateway.octets());
    put_str(&mut v, 16, 16, &t.oif);
    Ok(v)
}
fn dec_tee(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    if d[4..16].iter().any(|b| *b != 0) {
        return Err(unsupported("an IPv6 TEE gateway"));
    }
    cx.opt(false, "--gateway", Ipv4Addr::new(d[0], d[1], d[2], d[3]));
    let oif = get_cstr(&d[16..32]);
    if !oif.is_empty() {
        cx.opt(false, "--oif", oif);
    }
    Ok(())
}
pub static TEE: XtTarget<Tee> = XtTarget {
    name: "TEE",
    xt_name: &["TEE"],
    rev: 1,
    size: 40,
    user: 32,
    encode: enc_tee,
    decode: dec_tee,
};

// TPROXY, revision 1: mark mask and value, address, port.
fn enc_tproxy(t: &Tproxy, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 26];
    put_u32(&mut v, 0, t.mask);
    put_u32(&mut v, 4, t.mark);
    v[8..12].copy_from_slice(&t.addr.octets());
    v[24..26].copy_from_slice(&t.port.to_be_bytes());
    Ok(v)
}
fn dec_tproxy(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    if d[12..24].iter().any(|b| *b != 0) {
        return Err(unsupported("an IPv6 TPROXY address"));
    }
    let (mask, mark) = (get_u32(d, 0), get_u32(d, 4));
    cx.opt(false, "--on-port", u16::from_be_bytes([d[24], d[25]]))
        .opt(false, "--on-ip", Ipv4Addr::new(d[8], d[9], d[10], d[11]))
        .opt(false, "--tproxy-mark", format!("{mark:#x}/{mask:#x}"));
    Ok(())
}
pub static TPROXY: XtTarget<Tproxy> = XtTarget {
    name: "TPROXY",
    xt_name: &["TPROXY"],
    rev: 1,
    size: 26,
    user: 26,
    encode: enc_tproxy,
    decode: dec_tproxy,
};

/// `meta nftrace set 1`: the value goes through register 9 (NFT_REG32_01),
/// as iptables-nft loads it.
pub struct TraceCodec;
pub static TRACE: TraceCodec = TraceCodec;
const META_NFTRACE: u32 = 12;
const REG32_01: u32 = 9;

impl TargetCodec for TraceCodec {
    fn name(&self) -> &'static str {
        "TRACE"
    }
    fn encode(&self, _t: &dyn Target, cx: &mut EncodeCx) -> Result<()> {
        cx.push(Expr::Immediate {
            dreg: REG32_01,
            data: ImmData::Value(vec![1]),
        });
        cx.push(Expr::MetaSet {
            key: META_NFTRACE,
            sreg: REG32_01,
        });
        Ok(())
    }
    fn decode_native(&self, exprs: &[Expr], cx: &mut DecodeCx) -> Result<usize> {
        match exprs {
            [Expr::Immediate {
                dreg: REG32_01,
                data: ImmData::Value(v),
            }, Expr::MetaSet {
                key: META_NFTRACE,
                sreg: REG32_01,
            }, ..]
                if v[..] == [1] =>
            {
                cx.j("TRACE");
                Ok(2)
            }
            _ => Ok(0),
        }
    }
}
