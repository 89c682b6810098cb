//! Protocol header matches kept as compat blobs: ah, esp and ipcomp
//! (revision 0, SPI range and inversion), dccp (revision 0, struct
//! xt_dccp_info) and sctp (revision 0, struct xt_sctp_info).

use super::tcp::ports_text;
use super::{get_u16, get_u32, put_u16, put_u32, DecodeCx, EncodeCx, XtMatch};
use crate::ext::ah::Ah;
use crate::ext::dccp::Dccp;
use crate::ext::esp::Esp;
use crate::ext::ipcomp::Ipcomp;
use crate::ext::sctp::{ChunkMatch, Sctp};
use crate::kernel::{Error, Result};

fn spis(lo: u32, hi: u32, inv: bool) -> Vec<u8> {
    let mut v = vec![0u8; 10];
    put_u32(&mut v, 0, lo);
    put_u32(&mut v, 4, hi);
    v[8] = inv as u8;
    v
}

/// `[!] --OPT LO[:HI]`, always given (the parsers' defaults differ).
fn spi_words(d: &[u8], cx: &mut DecodeCx, opt: &str) -> Result<()> {
    let (lo, hi) = (get_u32(d, 0), get_u32(d, 4));
    if d[8] & !1 != 0 {
        return Err(Error::Unsupported(format!("{opt} flags {:#x}", d[8])));
    }
    let text = if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}:{hi}")
    };
    cx.opt(d[8] & 1 != 0, opt, text);
    Ok(())
}

fn enc_ah(m: &Ah, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(spis(m.spis.0, m.spis.1, m.inv))
}
fn dec_ah(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    spi_words(d, cx, "--ahspi")
}
pub static AH: XtMatch<Ah> = XtMatch {
    name: "ah",
    xt_name: &["ah"],
    rev: 0,
    size: 9,
    user: 9,
    encode: enc_ah,
    decode: dec_ah,
};

fn enc_esp(m: &Esp, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(spis(m.spis.0, m.spis.1, m.inv))
}
fn dec_esp(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    spi_words(d, cx, "--espspi")
}
pub static ESP: XtMatch<Esp> = XtMatch {
    name: "esp",
    xt_name: &["esp"],
    rev: 0,
    size: 9,
    user: 9,
    encode: enc_esp,
    decode: dec_esp,
};

fn enc_ipcomp(m: &Ipcomp, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = spis(m.spis.0, m.spis.1, m.inv);
    v[9] = m.hdrres as u8;
    Ok(v)
}
fn dec_ipcomp(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    spi_words(d, cx, "--ipcompspi")?;
    match d[9] {
        0 => {}
        1 => {
            cx.flag(false, "--compres");
        }
        x => return Err(Error::Unsupported(format!("ipcomp hdrres {x}"))),
    }
    Ok(())
}
pub static IPCOMP: XtMatch<Ipcomp> = XtMatch {
    name: "ipcomp",
    xt_name: &["ipcomp"],
    rev: 0,
    size: 10,
    user: 10,
    encode: enc_ipcomp,
    decode: dec_ipcomp,
};

const DCCP_SRC: u16 = 0x01;
const DCCP_DST: u16 = 0x02;
const DCCP_TYPE: u16 = 0x04;
const DCCP_OPTION: u16 = 0x08;
const DCCP_TYPES: [&str; 10] = [
    "REQUEST", "RESPONSE", "DATA", "ACK", "DATAACK", "CLOSEREQ", "CLOSE", "RESET", "SYNC",
    "SYNCACK",
];

fn enc_dccp(m: &Dccp, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 15];
    let (mut flags, mut inv) = (0u16, 0u16);
    if let Some(((lo, hi), i)) = m.dport {
        put_u16(&mut v, 0, lo);
        put_u16(&mut v, 2, hi);
        flags |= DCCP_DST;
        inv |= i as u16 * DCCP_DST;
    }
    if let Some(((lo, hi), i)) = m.sport {
        put_u16(&mut v, 4, lo);
        put_u16(&mut v, 6, hi);
        flags |= DCCP_SRC;
        inv |= i as u16 * DCCP_SRC;
    }
    if let Some((mask, i)) = m.types {
        put_u16(&mut v, 12, mask);
        flags |= DCCP_TYPE;
        inv |= i as u16 * DCCP_TYPE;
    }
    if let Some((o, i)) = m.option {
        v[14] = o;
        flags |= DCCP_OPTION;
        inv |= i as u16 * DCCP_OPTION;
    }
    put_u16(&mut v, 8, flags);
    put_u16(&mut v, 10, inv);
    Ok(v)
}
fn dec_dccp(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (flags, inv) = (get_u16(d, 8), get_u16(d, 10));
    if flags & !0x0f != 0 || inv & !flags != 0 {
        return Err(Error::Unsupported(format!(
            "dccp flags {flags:#x}/{inv:#x}"
        )));
    }
    for (bit, off, opt) in [(DCCP_SRC, 4, "--sport"), (DCCP_DST, 0, "--dport")] {
        if flags & bit != 0 {
            cx.opt(
                inv & bit != 0,
                opt,
                ports_text(get_u16(d, off), get_u16(d, off + 2)),
            );
        }
    }
    if flags & DCCP_TYPE != 0 {
        let mask = get_u16(d, 12);
        let mut names: Vec<&str> = DCCP_TYPES
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect();
        // Types 10 and up are one name, INVALID, which sets them all.
        match mask >> 10 {
            0 => {}
            0x3f => names.push("INVALID"),
            _ => return Err(Error::Unsupported(format!("dccp types {mask:#x}"))),
        }
        if names.is_empty() {
            return Err(Error::Unsupported("an empty dccp type list".into()));
        }
        cx.opt(inv & DCCP_TYPE != 0, "--dccp-types", names.join(","));
    }
    if flags & DCCP_OPTION != 0 {
        cx.opt(inv & DCCP_OPTION != 0, "--dccp-option", d[14]);
    }
    Ok(())
}
pub static DCCP: XtMatch<Dccp> = XtMatch {
    name: "dccp",
    xt_name: &["dccp"],
    rev: 0,
    size: 15,
    user: 15,
    encode: enc_dccp,
    decode: dec_dccp,
};

const SCTP_SRC: u32 = 0x01;
const SCTP_DST: u32 = 0x02;
const SCTP_CHUNKS: u32 = 0x04;
// The chunk map has 64 words (the header sizes it in bytes, 256 / 4);
// chunk types only use the first 8.
const OFF_MAP: usize = 8;
const MAP_WORDS: usize = 64;
const OFF_HOW: usize = 264;
const OFF_FLAGS: usize = 268;
const OFF_COUNT: usize = 280;
const OFF_FLAGSW: usize = 284;
const OFF_INV: usize = 288;

/// Chunk names with their type numbers and flag letters (bit 7 first), in
/// libxt_sctp's table order: a flag test names its chunk by position here.
const CHUNKS: [(&str, u8, &str); 22] = [
    ("DATA", 0, "----IUBE"),
    ("INIT", 1, "--------"),
    ("INIT_ACK", 2, "--------"),
    ("SACK", 3, "--------"),
    ("HEARTBEAT", 4, "--------"),
    ("HEARTBEAT_ACK", 5, "--------"),
    ("ABORT", 6, "-------T"),
    ("SHUTDOWN", 7, "--------"),
    ("SHUTDOWN_ACK", 8, "--------"),
    ("ERROR", 9, "--------"),
    ("COOKIE_ECHO", 10, "--------"),
    ("COOKIE_ACK", 11, "--------"),
    ("ECN_ECNE", 12, "--------"),
    ("ECN_CWR", 13, "--------"),
    ("SHUTDOWN_COMPLETE", 14, "-------T"),
    ("I_DATA", 64, "----IUBE"),
    ("RE_CONFIG", 130, "--------"),
    ("PAD", 132, "--------"),
    ("ASCONF", 193, "--------"),
    ("ASCONF_ACK", 128, "--------"),
    ("FORWARD_TSN", 192, "--------"),
    ("I_FORWARD_TSN", 194, "--------"),
];

fn enc_sctp(m: &Sctp, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 292];
    // libxt_sctp marks unused flag tests with chunk type 0xff.
    for k in 0..4 {
        v[OFF_FLAGS + 3 * k] = 0xff;
    }
    let (mut flags, mut inv) = (0u32, 0u32);
    if let Some(((lo, hi), i)) = m.dport {
        put_u16(&mut v, 0, lo);
        put_u16(&mut v, 2, hi);
        flags |= SCTP_DST;
        inv |= i as u32 * SCTP_DST;
    }
    if let Some(((lo, hi), i)) = m.sport {
        put_u16(&mut v, 4, lo);
        put_u16(&mut v, 6, hi);
        flags |= SCTP_SRC;
        inv |= i as u32 * SCTP_SRC;
    }
    if let Some(c) = &m.chunks {
        if c.map == [u32::MAX; 8] {
            // ALL sets the whole map.
            v[OFF_MAP..OFF_MAP + 4 * MAP_WORDS].fill(0xff);
        } else {
            for (k, w) in c.map.iter().enumerate() {
                put_u32(&mut v, OFF_MAP + 4 * k, *w);
            }
        }
        let how = match c.how {
            ChunkMatch::Any => 1,
            ChunkMatch::All => 2,
            ChunkMatch::Only => 4,
        };
        put_u32(&mut v, OFF_HOW, how);
        if c.flags.len() > 4 {
            return Err(Error::Unsupported(
                "sctp: more than 4 chunk flag tests".into(),
            ));
        }
        for (k, f) in c.flags.iter().enumerate() {
            v[OFF_FLAGS + 3 * k] = f.chunktype;
            v[OFF_FLAGS + 3 * k + 1] = f.flag;
            v[OFF_FLAGS + 3 * k + 2] = f.mask;
        }
        put_u32(&mut v, OFF_COUNT, c.flags.len() as u32);
        flags |= SCTP_CHUNKS;
        inv |= c.inv as u32 * SCTP_CHUNKS;
    }
    put_u32(&mut v, OFF_FLAGSW, flags);
    put_u32(&mut v, OFF_INV, inv);
    Ok(v)
}

fn chunk_list(d: &[u8]) -> Result<String> {
    let map: Vec<u32> = (0..MAP_WORDS)
        .map(|k| get_u32(d, OFF_MAP + 4 * k))
        .collect();
    if map.iter().all(|w| *w == 0) {
        return Ok("NONE".into());
    }
    if map.iter().all(|w| *w == u32::MAX) {
        return Ok("ALL".into());
    }
    if map[8..].iter().any(|w| *w != 0) {
        return Err(Error::Unsupported("sctp chunk types above 255".into()));
    }
    let count = get_u32(d, OFF_COUNT) as usize;
    if count > 4 {
        return Err(Error::Unsupported(format!("{count} sctp flag tests")));
    }
    let tests: Vec<(u8, u8, u8)> = (0..count)
        .map(|k| {
            let o = OFF_FLAGS + 3 * k;
            (d[o], d[o + 1], d[o + 2])
        })
        .collect();
    // As libxt_sctp prints them: the flag tests whose chunk type is the
    // listed type's number, with the letters its name table has at that
    // position. Tests on other chunks are not shown, and are lost.
    let mut items = Vec::new();
    for ty in 0..256usize {
        if map[ty / 32] & (1 << (ty % 32)) == 0 {
            continue;
        }
        let (name, _, _) = CHUNKS
            .iter()
            .find(|c| c.1 as usize == ty)
            .ok_or_else(|| Error::Unsupported(format!("sctp chunk type {ty}")))?;
        let letters = CHUNKS.get(ty).map_or("--------", |c| c.2);
        let mut item = name.to_string();
        for (ct, flag, mask) in tests.iter().filter(|t| t.0 as usize == ty) {
            if *mask != 0 {
                item.push(':');
            }
            for i in (0..8).rev() {
                if mask & (1 << i) == 0 {
                    continue;
                }
                let l = letters.as_bytes()[7 - i] as char;
                if l == '-' {
                    return Err(Error::Unsupported(format!(
                        "sctp flag bit {i} on chunk {ct}"
                    )));
                }
                item.push(if flag & (1 << i) != 0 {
                    l
                } else {
                    l.to_ascii_lowercase()
                });
            }
        }
        items.push(item);
    }
    Ok(items.join(","))
}

fn dec_sctp(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (flags, inv) = (get_u32(d, OFF_FLAGSW), get_u32(d, OFF_INV));
    if flags & !7 != 0 || inv & !flags != 0 {
        return Err(Error::Unsupported(format!(
            "sctp flags {flags:#x}/{inv:#x}"
        )));
    }
    for (bit, off, opt) in [(SCTP_SRC, 4, "--sport"), (SCTP_DST, 0, "--dport")] {
        if flags & bit != 0 {
            cx.opt(
                inv & bit != 0,
                opt,
                ports_text(get_u16(d, off), get_u16(d, off + 2)),
            );
        }
    }
    if flags & SCTP_CHUNKS != 0 {
        let how = match get_u32(d, OFF_HOW) {
            1 => "any",
            2 => "all",
            4 => "only",
            h => return Err(Error::Unsupported(format!("sctp chunk match type {h}"))),
        };
        cx.flag(inv & SCTP_CHUNKS != 0, "--chunk-types")
            .word(how)
            .word(chunk_list(d)?);
    }
    Ok(())
}
pub static SCTP: XtMatch<Sctp> = XtMatch {
    name: "sctp",
    xt_name: &["sctp"],
    rev: 0,
    size: 292,
    user: 292,
    encode: enc_sctp,
    decode: dec_sctp,
};
