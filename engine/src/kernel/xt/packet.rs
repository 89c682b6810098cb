//! Compat matches and targets on packet fields as iptables-nft 1.8.9 sends
//! them: dscp, tos (rev 1), ecn, tcpmss, string (rev 1), hashlimit (rev 3),
//! rateest; DSCP, TOS (rev 1), ECN, TTL, CHECKSUM, CLASSIFY, HMARK,
//! TCPOPTSTRIP and RATEEST.

use super::{get_cstr, get_u16, get_u32, put_u16, put_u32, DecodeCx, EncodeCx, XtMatch, XtTarget};
use crate::ext::checksum::Checksum;
use crate::ext::classify::Classify;
use crate::ext::dscp::Dscp;
use crate::ext::dscp_target::DscpTarget;
use crate::ext::ecn::Ecn;
use crate::ext::ecn_target::EcnTarget;
use crate::ext::hashlimit::Hashlimit;
use crate::ext::hmark::Hmark;
use crate::ext::rateest::{Cmp, Rateest};
use crate::ext::rateest_target::RateestTarget;
use crate::ext::string::StringMatch;
use crate::ext::tcpmss::TcpMss;
use crate::ext::tcpoptstrip::TcpOptStrip;
use crate::ext::tos::Tos;
use crate::ext::tos_target::TosTarget;
use crate::ext::ttl_target::{TtlMode, TtlTarget};
use crate::kernel::{Error, Result};

fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::Unsupported(what.to_string())
}
fn get_u64(v: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&v[off..off + 8]);
    u64::from_ne_bytes(b)
}
fn put_u64(v: &mut [u8], off: usize, x: u64) {
    v[off..off + 8].copy_from_slice(&x.to_ne_bytes());
}
fn put_str(v: &mut [u8], off: usize, len: usize, s: &str) {
    let b = s.as_bytes();
    let n = b.len().min(len - 1);
    v[off..off + n].copy_from_slice(&b[..n]);
}

fn enc_dscp(m: &Dscp, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(vec![m.dscp, m.invert as u8])
}
fn dec_dscp(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    cx.opt(d[1] != 0, "--dscp", format!("{:#04x}", d[0]));
    Ok(())
}
pub static DSCP: XtMatch<Dscp> = XtMatch {
    name: "dscp",
    xt_name: &["dscp"],
    rev: 0,
    size: 2,
    user: 2,
    encode: enc_dscp,
    decode: dec_dscp,
};

// tos, revision 1: mask, value, invert.
fn enc_tos(m: &Tos, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(vec![m.mask, m.value, m.invert as u8])
}
fn dec_tos(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    cx.opt(d[2] != 0, "--tos", format!("{:#04x}/{:#04x}", d[1], d[0]));
    Ok(())
}
pub static TOS: XtMatch<Tos> = XtMatch {
    name: "tos",
    xt_name: &["tos"],
    rev: 1,
    size: 3,
    user: 3,
    encode: enc_tos,
    decode: dec_tos,
};

const ECN_IP: u8 = 0x01;
const ECN_ECE: u8 = 0x10;
const ECN_CWR: u8 = 0x20;

fn enc_ecn(m: &Ecn, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 4];
    let (mut op, mut inv) = (0u8, 0u8);
    if let Some(i) = m.ece {
        op |= ECN_ECE;
        inv |= i as u8 * ECN_ECE;
    }
    if let Some(i) = m.cwr {
        op |= ECN_CWR;
        inv |= i as u8 * ECN_CWR;
    }
    if let Some((e, i)) = m.ect {
        op |= ECN_IP;
        inv |= i as u8 * ECN_IP;
        v[2] = e;
    }
    v[0] = op;
    v[1] = inv;
    Ok(v)
}
fn dec_ecn(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (op, inv) = (d[0], d[1]);
    if op & !(ECN_IP | ECN_ECE | ECN_CWR) != 0 {
        return Err(unsupported(format!("ecn operation {op:#x}")));
    }
    if op & ECN_ECE != 0 {
        cx.flag(inv & ECN_ECE != 0, "--ecn-tcp-ece");
    }
    if op & ECN_CWR != 0 {
        cx.flag(inv & ECN_CWR != 0, "--ecn-tcp-cwr");
    }
    if op & ECN_IP != 0 {
        cx.opt(inv & ECN_IP != 0, "--ecn-ip-ect", d[2]);
    }
    Ok(())
}
pub static ECN: XtMatch<Ecn> = XtMatch {
    name: "ecn",
    xt_name: &["ecn"],
    rev: 0,
    size: 4,
    user: 4,
    encode: enc_ecn,
    decode: dec_ecn,
};

fn enc_tcpmss(m: &TcpMss, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 5];
    put_u16(&mut v, 0, m.min);
    put_u16(&mut v, 2, m.max);
    v[4] = m.invert as u8;
    Ok(v)
}
fn dec_tcpmss(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (lo, hi) = (get_u16(d, 0), get_u16(d, 2));
    let text = if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}:{hi}")
    };
    cx.opt(d[4] != 0, "--mss", text);
    Ok(())
}
pub static TCPMSS: XtMatch<TcpMss> = XtMatch {
    name: "tcpmss",
    xt_name: &["tcpmss"],
    rev: 0,
    size: 5,
    user: 5,
    encode: enc_tcpmss,
    decode: dec_tcpmss,
};

const STRING_INVERT: u8 = 1;
const STRING_ICASE: u8 = 2;

// string, revision 1: offsets, algorithm, pattern, flags; the kernel's
// search state follows.
fn enc_string(m: &StringMatch, _cx: &EncodeCx) -> Result<Vec<u8>> {
    if m.pattern.len() > 128 {
        return Err(unsupported("string: pattern over 128 bytes"));
    }
    let mut v = vec![0u8; 160];
    put_u16(&mut v, 0, m.from);
    put_u16(&mut v, 2, m.to);
    put_str(&mut v, 4, 16, &m.algo);
    v[20..20 + m.pattern.len()].copy_from_slice(&m.pattern);
    v[148] = m.pattern.len() as u8;
    v[149] = (m.invert as u8 * STRING_INVERT) | (m.icase as u8 * STRING_ICASE);
    Ok(v)
}
fn dec_string(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let n = d[148] as usize;
    let flags = d[149];
    if n > 128 || flags & !(STRING_INVERT | STRING_ICASE) != 0 {
        return Err(unsupported("string pattern length or flags"));
    }
    let pat = &d[20..20 + n];
    let plain = !pat.is_empty()
        && pat
            .iter()
            .all(|b| (0x20..0x7f).contains(b) && !matches!(b, b'|' | b'"' | b'\\'));
    if plain {
        cx.opt(
            flags & STRING_INVERT != 0,
            "--string",
            String::from_utf8_lossy(pat),
        );
    } else {
        let hex: String = pat.iter().map(|b| format!("{b:02x}")).collect();
        cx.opt(
            flags & STRING_INVERT != 0,
            "--hex-string",
            format!("|{hex}|"),
        );
    }
    cx.opt(false, "--algo", get_cstr(&d[4..20]));
    let (from, to) = (get_u16(d, 0), get_u16(d, 2));
    if from != 0 {
        cx.opt(false, "--from", from);
    }
    if to != u16::MAX {
        cx.opt(false, "--to", to);
    }
    if flags & STRING_ICASE != 0 {
        cx.flag(false, "--icase");
    }
    Ok(())
}
pub static STRING: XtMatch<StringMatch> = XtMatch {
    name: "string",
    xt_name: &["string"],
    rev: 1,
    size: 160,
    user: 152,
    encode: enc_string,
    decode: dec_string,
};

const HL_DIP: u32 = 1 << 0;
const HL_DPT: u32 = 1 << 1;
const HL_SIP: u32 = 1 << 2;
const HL_SPT: u32 = 1 << 3;
const HL_INVERT: u32 = 1 << 4;
const HL_BYTES: u32 = 1 << 5;
const HL_RATE_MATCH: u32 = 1 << 6;
/// Revision 3 keeps rates in millionths of a second.
const HL_SCALE: u64 = 1_000_000;

// hashlimit, revision 3: a 255-byte name, then struct hashlimit_cfg3;
// the kernel's table pointer follows.
fn enc_hashlimit(m: &Hashlimit, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 312];
    put_str(&mut v, 0, 255, &m.name);
    put_u64(&mut v, 256, m.avg);
    put_u64(&mut v, 264, m.burst);
    let mode = m.mode
        | (m.above as u32 * HL_INVERT)
        | (m.bytes as u32 * HL_BYTES)
        | (m.rate_match as u32 * HL_RATE_MATCH);
    put_u32(&mut v, 272, mode);
    put_u32(&mut v, 276, m.size);
    put_u32(&mut v, 280, m.max);
    put_u32(&mut v, 284, m.gc_interval);
    put_u32(&mut v, 288, m.expire);
    put_u32(&mut v, 292, m.interval);
    v[296] = m.srcmask;
    v[297] = m.dstmask;
    Ok(v)
}

/// libxt_hashlimit's packet rate text: the largest unit that shows the
/// period without losing much.
fn packet_rate(period: u64) -> Result<String> {
    const RATES: [(&str, u64); 4] = [
        ("day", 86400 * HL_SCALE),
        ("hour", 3600 * HL_SCALE),
        ("min", 60 * HL_SCALE),
        ("sec", HL_SCALE),
    ];
    if period == 0 {
        return Err(unsupported("hashlimit rate 0"));
    }
    let mut i = 1;
    while i < RATES.len() {
        let m = RATES[i].1;
        if period > m || m / period < m % period {
            break;
        }
        i += 1;
    }
    Ok(format!("{}/{}", RATES[i - 1].1 / period, RATES[i - 1].0))
}

/// libxt_hashlimit's byte rate and burst text.
fn byte_rate(cost: u64, burst: u64) -> (String, Option<String>) {
    const UNITS: [(&str, u64); 3] = [("m", 1024 * 1024), ("k", 1024), ("", 1)];
    let to_bytes = |c: u64| -> u64 {
        let r = (u32::MAX as u64).checked_div(c).unwrap_or(u32::MAX as u64);
        r.wrapping_sub(1) << 4
    };
    let to_cost = |b: u64| -> u64 { u32::MAX as u64 / (((b >> 4) as u32 as u64) + 1) };
    let r = to_bytes(cost);
    let mut i = 0;
    while i < UNITS.len() - 1 {
        let mask = !(UNITS[i].1 as u32 - 1) as u64;
        if r >= UNITS[i].1 && to_cost(r & mask) == cost {
            break;
        }
        i += 1;
    }
    let rate = format!("{}{}b/s", r / UNITS[i].1, UNITS[i].0);
    if burst == 0 {
        return (rate, None);
    }
    let b = r.wrapping_mul(burst);
    let j = UNITS
        .iter()
        .position(|u| b >= u.1)
        .unwrap_or(UNITS.len() - 1);
    (rate, Some(format!("{}{}b", b / UNITS[j].1, UNITS[j].0)))
}

fn dec_hashlimit(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (avg, burst) = (get_u64(d, 256), get_u64(d, 264));
    let mode = get_u32(d, 272);
    let known = HL_DIP | HL_DPT | HL_SIP | HL_SPT | HL_INVERT | HL_BYTES | HL_RATE_MATCH;
    if mode & !known != 0 {
        return Err(unsupported(format!("hashlimit mode {mode:#x}")));
    }
    let opt = if mode & HL_INVERT != 0 {
        "--hashlimit-above"
    } else {
        "--hashlimit-upto"
    };
    if mode & HL_BYTES != 0 {
        let (rate, b) = byte_rate(avg, burst);
        cx.opt(false, opt, rate);
        if let Some(b) = b {
            cx.opt(false, "--hashlimit-burst", b);
        }
    } else {
        cx.opt(false, opt, packet_rate(avg)?)
            .opt(false, "--hashlimit-burst", burst);
    }
    let names: Vec<&str> = [
        (HL_SIP, "srcip"),
        (HL_SPT, "srcport"),
        (HL_DIP, "dstip"),
        (HL_DPT, "dstport"),
    ]
    .iter()
    .filter(|(b, _)| mode & b != 0)
    .map(|(_, n)| *n)
    .collect();
    if !names.is_empty() {
        cx.opt(false, "--hashlimit-mode", names.join(","));
    }
    cx.opt(false, "--hashlimit-name", get_cstr(&d[..255]));
    let (size, max) = (get_u32(d, 276), get_u32(d, 280));
    if size != 0 {
        cx.opt(false, "--hashlimit-htable-size", size);
    }
    if max != 0 {
        cx.opt(false, "--hashlimit-htable-max", max);
    }
    cx.opt(false, "--hashlimit-htable-gcinterval", get_u32(d, 284))
        .opt(false, "--hashlimit-htable-expire", get_u32(d, 288))
        .opt(false, "--hashlimit-srcmask", d[296])
        .opt(false, "--hashlimit-dstmask", d[297]);
    if mode & HL_RATE_MATCH != 0 {
        cx.flag(false, "--hashlimit-rate-match").opt(
            false,
            "--hashlimit-rate-interval",
            get_u32(d, 292),
        );
    }
    Ok(())
}
pub static HASHLIMIT: XtMatch<Hashlimit> = XtMatch {
    name: "hashlimit",
    xt_name: &["hashlimit"],
    rev: 3,
    size: 312,
    user: 304,
    encode: enc_hashlimit,
    decode: dec_hashlimit,
};

const RE_INVERT: u16 = 1 << 0;
const RE_ABS: u16 = 1 << 1;
const RE_REL: u16 = 1 << 2;
const RE_DELTA: u16 = 1 << 3;
const RE_BPS: u16 = 1 << 4;
const RE_PPS: u16 = 1 << 5;

// rateest: two estimator names, flags, mode, four values; the kernel's
// estimator pointers follow.
fn enc_rateest(m: &Rateest, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 72];
    put_str(&mut v, 0, 16, &m.name1);
    put_str(&mut v, 16, 16, &m.name2);
    let flags = (m.invert as u16 * RE_INVERT)
        | if m.rel { RE_REL } else { RE_ABS }
        | (m.delta as u16 * RE_DELTA)
        | (m.bps as u16 * RE_BPS)
        | (m.pps as u16 * RE_PPS);
    put_u16(&mut v, 32, flags);
    let mode = match m.cmp {
        Cmp::None => 0,
        Cmp::Eq => 1,
        Cmp::Lt => 2,
        Cmp::Gt => 3,
    };
    put_u16(&mut v, 34, mode);
    put_u32(&mut v, 36, m.bps1);
    put_u32(&mut v, 40, m.pps1);
    put_u32(&mut v, 44, m.bps2);
    put_u32(&mut v, 48, m.pps2);
    Ok(v)
}
fn dec_rateest(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (flags, mode) = (get_u16(d, 32), get_u16(d, 34));
    if flags & !0x3f != 0 {
        return Err(unsupported(format!("rateest flags {flags:#x}")));
    }
    let cmp = match mode {
        1 => "--rateest-eq",
        2 => "--rateest-lt",
        3 => "--rateest-gt",
        m => return Err(unsupported(format!("rateest mode {m}"))),
    };
    let (rel, delta, inv) = (
        flags & RE_REL != 0,
        flags & RE_DELTA != 0,
        flags & RE_INVERT != 0,
    );
    if delta {
        cx.flag(false, "--rateest-delta");
    }
    cx.opt(
        false,
        if rel { "--rateest1" } else { "--rateest" },
        get_cstr(&d[..16]),
    );
    let bits = |bytes: u32| format!("{}bit", bytes as u64 * 8);
    let measures = [
        (RE_BPS, "bps", bits(get_u32(d, 36)), bits(get_u32(d, 44))),
        (
            RE_PPS,
            "pps",
            get_u32(d, 40).to_string(),
            get_u32(d, 48).to_string(),
        ),
    ];
    for (bit, what, v1, v2) in measures {
        if flags & bit == 0 {
            continue;
        }
        if delta {
            cx.opt(false, &format!("--rateest-{what}1"), v1)
                .flag(inv, cmp)
                .opt(false, &format!("--rateest-{what}2"), v2);
        } else {
            cx.flag(inv, cmp).word(format!("--rateest-{what}"));
            if !rel {
                cx.word(v2);
            }
        }
    }
    if rel {
        cx.opt(false, "--rateest2", get_cstr(&d[16..32]));
    }
    Ok(())
}
pub static RATEEST: XtMatch<Rateest> = XtMatch {
    name: "rateest",
    xt_name: &["rateest"],
    rev: 0,
    size: 72,
    user: 56,
    encode: enc_rateest,
    decode: dec_rateest,
};

fn enc_dscp_t(t: &DscpTarget, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(vec![t.dscp])
}
fn dec_dscp_t(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    cx.opt(false, "--set-dscp", format!("{:#04x}", d[0]));
    Ok(())
}
pub static DSCP_T: XtTarget<DscpTarget> = XtTarget {
    name: "DSCP",
    xt_name: &["DSCP"],
    rev: 0,
    size: 1,
    user: 1,
    encode: enc_dscp_t,
    decode: dec_dscp_t,
};

// TOS, revision 1: value, mask.
fn enc_tos_t(t: &TosTarget, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(vec![t.value, t.mask])
}
fn dec_tos_t(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    cx.opt(false, "--set-tos", format!("{:#04x}/{:#04x}", d[0], d[1]));
    Ok(())
}
pub static TOS_T: XtTarget<TosTarget> = XtTarget {
    name: "TOS",
    xt_name: &["TOS"],
    rev: 1,
    size: 2,
    user: 2,
    encode: enc_tos_t,
    decode: dec_tos_t,
};

// ECN: operation, IP codepoint, the TCP bits (ece bit 0, cwr bit 1).
fn enc_ecn_t(t: &EcnTarget, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 3];
    if let Some(e) = t.ece {
        v[0] |= ECN_ECE;
        v[2] |= e & 1;
    }
    if let Some(c) = t.cwr {
        v[0] |= ECN_CWR;
        v[2] |= (c & 1) << 1;
    }
    if let Some(ip) = t.ect {
        v[0] |= ECN_IP;
        v[1] = ip;
    }
    Ok(v)
}
fn dec_ecn_t(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let op = d[0];
    if op & !(ECN_IP | ECN_ECE | ECN_CWR) != 0 || d[2] & !3 != 0 {
        return Err(unsupported(format!("ECN operation {op:#x}")));
    }
    if op == ECN_ECE | ECN_CWR && d[2] == 0 {
        cx.flag(false, "--ecn-tcp-remove");
        return Ok(());
    }
    if op & ECN_ECE != 0 {
        cx.opt(false, "--ecn-tcp-ece", d[2] & 1);
    }
    if op & ECN_CWR != 0 {
        cx.opt(false, "--ecn-tcp-cwr", d[2] >> 1 & 1);
    }
    if op & ECN_IP != 0 {
        cx.opt(false, "--ecn-ip-ect", d[1]);
    }
    Ok(())
}
pub static ECN_T: XtTarget<EcnTarget> = XtTarget {
    name: "ECN",
    xt_name: &["ECN"],
    rev: 0,
    size: 3,
    user: 3,
    encode: enc_ecn_t,
    decode: dec_ecn_t,
};

fn enc_ttl_t(t: &TtlTarget, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mode = match t.mode {
        TtlMode::Set => 0,
        TtlMode::Inc => 1,
        TtlMode::Dec => 2,
    };
    Ok(vec![mode, t.value])
}
fn dec_ttl_t(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let opt = match d[0] {
        0 => "--ttl-set",
        1 => "--ttl-inc",
        2 => "--ttl-dec",
        m => return Err(unsupported(format!("TTL mode {m}"))),
    };
    cx.opt(false, opt, d[1]);
    Ok(())
}
pub static TTL_T: XtTarget<TtlTarget> = XtTarget {
    name: "TTL",
    xt_name: &["TTL"],
    rev: 0,
    size: 2,
    user: 2,
    encode: enc_ttl_t,
    decode: dec_ttl_t,
};

fn enc_checksum(_t: &Checksum, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(vec![1])
}
fn dec_checksum(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    if d[0] != 1 {
        return Err(unsupported(format!("CHECKSUM operation {}", d[0])));
    }
    cx.flag(false, "--checksum-fill");
    Ok(())
}
pub static CHECKSUM: XtTarget<Checksum> = XtTarget {
    name: "CHECKSUM",
    xt_name: &["CHECKSUM"],
    rev: 0,
    size: 1,
    user: 1,
    encode: enc_checksum,
    decode: dec_checksum,
};

fn enc_classify(t: &Classify, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 4];
    put_u32(&mut v, 0, t.priority);
    Ok(v)
}
fn dec_classify(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let p = get_u32(d, 0);
    cx.opt(
        false,
        "--set-class",
        format!("{:04x}:{:04x}", p >> 16, p & 0xffff),
    );
    Ok(())
}
pub static CLASSIFY: XtTarget<Classify> = XtTarget {
    name: "CLASSIFY",
    xt_name: &["CLASSIFY"],
    rev: 0,
    size: 4,
    user: 4,
    encode: enc_classify,
    decode: dec_classify,
};

// HMARK option bits; libxt_HMARK's option ids are the kernel's flag bits.
const HM_SADDR: u32 = 0;
const HM_DADDR: u32 = 1;
const HM_SPI: u32 = 2;
const HM_SPI_MASK: u32 = 3;
const HM_SPORT: u32 = 4;
const HM_DPORT: u32 = 5;
const HM_SPORT_MASK: u32 = 6;
const HM_DPORT_MASK: u32 = 7;
const HM_PROTO_MASK: u32 = 8;
const HM_RND: u32 = 9;
const HM_MOD: u32 = 10;
const HM_OFFSET: u32 = 11;
const HM_CT: u32 = 12;

fn prefix_mask(bits: u8) -> u32 {
    if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits.min(32) as u32)
    }
}

fn enc_hmark(t: &Hmark, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 60];
    let has = |b: u32| t.flags & (1 << b) != 0;
    if has(HM_SADDR) {
        v[0..4].copy_from_slice(&prefix_mask(t.src_prefix).to_be_bytes());
    }
    if has(HM_DADDR) {
        v[16..20].copy_from_slice(&prefix_mask(t.dst_prefix).to_be_bytes());
    }
    if has(HM_SPI_MASK) {
        v[32..36].copy_from_slice(&t.spi_mask.to_be_bytes());
    } else {
        v[32..34].copy_from_slice(&t.sport_mask.to_be_bytes());
        v[34..36].copy_from_slice(&t.dport_mask.to_be_bytes());
    }
    if has(HM_SPI) {
        v[36..40].copy_from_slice(&t.spi_set.to_be_bytes());
    } else {
        v[36..38].copy_from_slice(&t.sport_set.to_be_bytes());
        v[38..40].copy_from_slice(&t.dport_set.to_be_bytes());
    }
    put_u32(&mut v, 40, t.flags & 0x1fff);
    put_u16(&mut v, 44, t.proto_mask);
    put_u32(&mut v, 48, t.rnd);
    put_u32(&mut v, 52, t.modulus);
    put_u32(&mut v, 56, t.offset);
    Ok(v)
}
fn mask_prefix(d: &[u8], off: usize) -> Result<u8> {
    if d[off + 4..off + 16].iter().any(|b| *b != 0) {
        return Err(unsupported("an IPv6 HMARK mask"));
    }
    let m = u32::from_be_bytes([d[off], d[off + 1], d[off + 2], d[off + 3]]);
    if m.leading_ones() + m.trailing_zeros() != 32 {
        return Err(unsupported(format!("HMARK mask {m:#x}")));
    }
    Ok(m.leading_ones() as u8)
}
fn dec_hmark(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let flags = get_u32(d, 40);
    if flags & !0x1fff != 0 {
        return Err(unsupported(format!("HMARK flags {flags:#x}")));
    }
    let has = |b: u32| flags & (1 << b) != 0;
    let be16 = |o: usize| u16::from_be_bytes([d[o], d[o + 1]]);
    let be32 = |o: usize| u32::from_be_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]]);
    if has(HM_SADDR) {
        cx.opt(false, "--hmark-src-prefix", mask_prefix(d, 0)?);
    }
    if has(HM_DADDR) {
        cx.opt(false, "--hmark-dst-prefix", mask_prefix(d, 16)?);
    }
    if has(HM_SPORT_MASK) {
        cx.opt(false, "--hmark-sport-mask", format!("0x{:04x}", be16(32)));
    }
    if has(HM_DPORT_MASK) {
        cx.opt(false, "--hmark-dport-mask", format!("0x{:04x}", be16(34)));
    }
    if has(HM_SPI_MASK) {
        cx.opt(false, "--hmark-spi-mask", format!("0x{:08x}", be32(32)));
    }
    if has(HM_SPORT) {
        cx.opt(false, "--hmark-sport", format!("0x{:04x}", be16(36)));
    }
    if has(HM_DPORT) {
        cx.opt(false, "--hmark-dport", format!("0x{:04x}", be16(38)));
    }
    if has(HM_SPI) {
        cx.opt(false, "--hmark-spi", format!("0x{:08x}", be32(36)));
    }
    if has(HM_PROTO_MASK) {
        cx.opt(
            false,
            "--hmark-proto-mask",
            format!("0x{:02x}", get_u16(d, 44)),
        );
    }
    if has(HM_RND) {
        cx.opt(false, "--hmark-rnd", format!("0x{:08x}", get_u32(d, 48)));
    }
    if has(HM_MOD) {
        cx.opt(false, "--hmark-mod", get_u32(d, 52));
    }
    if has(HM_OFFSET) {
        cx.opt(false, "--hmark-offset", get_u32(d, 56));
    }
    if has(HM_CT) {
        cx.opt(false, "--hmark-tuple", "ct");
    }
    Ok(())
}
pub static HMARK: XtTarget<Hmark> = XtTarget {
    name: "HMARK",
    xt_name: &["HMARK"],
    rev: 0,
    size: 60,
    user: 60,
    encode: enc_hmark,
    decode: dec_hmark,
};

fn enc_tcpoptstrip(t: &TcpOptStrip, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 32];
    for k in 0..=255u8 {
        if t.strips(k) {
            let w = k as usize / 32;
            let cur = get_u32(&v, 4 * w);
            put_u32(&mut v, 4 * w, cur | 1 << (k % 32));
        }
    }
    Ok(v)
}
fn dec_tcpoptstrip(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let kinds: Vec<String> = (0..256usize)
        .filter(|k| get_u32(d, 4 * (k / 32)) & (1 << (k % 32)) != 0)
        .map(|k| k.to_string())
        .collect();
    if !kinds.is_empty() {
        cx.opt(false, "--strip-options", kinds.join(","));
    }
    Ok(())
}
pub static TCPOPTSTRIP: XtTarget<TcpOptStrip> = XtTarget {
    name: "TCPOPTSTRIP",
    xt_name: &["TCPOPTSTRIP"],
    rev: 0,
    size: 32,
    user: 32,
    encode: enc_tcpoptstrip,
    decode: dec_tcpoptstrip,
};

/// A time in microseconds as libxt_RATEEST prints it (`250.0ms`).
fn time_text(us: u64) -> String {
    let t = us as f64;
    if t >= 1e6 {
        format!("{:.1}s", t / 1e6)
    } else if t >= 1000.0 {
        format!("{:.1}ms", t / 1000.0)
    } else {
        format!("{us}us")
    }
}

// RATEEST: name, interval (a power of two of 1/4 s), EWMA log; the kernel's
// estimator pointer follows.
fn enc_rateest_t(t: &RateestTarget, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 32];
    put_str(&mut v, 0, 16, &t.name);
    v[16] = t.interval as u8;
    v[17] = t.ewma_log;
    Ok(v)
}
fn dec_rateest_t(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let interval = d[16] as i8;
    if !(-2..=3).contains(&interval) || d[17] > 31 {
        return Err(unsupported(format!(
            "RATEEST interval {interval}, ewma log {}",
            d[17]
        )));
    }
    let iv = (1_000_000u64 << (interval as i32 + 2)) / 4;
    cx.opt(false, "--rateest-name", get_cstr(&d[..16]))
        .opt(false, "--rateest-interval", time_text(iv))
        .opt(false, "--rateest-ewmalog", time_text(iv << d[17]));
    Ok(())
}
pub static RATEEST_T: XtTarget<RateestTarget> = XtTarget {
    name: "RATEEST",
    xt_name: &["RATEEST"],
    rev: 0,
    size: 32,
    user: 24,
    encode: enc_rateest_t,
    decode: dec_rateest_t,
};
