//! `-m set` (compat `set` match, revision 4: struct xt_set_info_match_v4)
//! and `-j SET` (compat `SET` target, revision 3): sets are named by their
//! kernel index, so encoding looks the index up and decoding the name.

use super::{get_u16, get_u32, put_u16, put_u32, DecodeCx, EncodeCx, XtMatch, XtTarget};
use crate::ext::set::{CounterOp, SetMatch};
use crate::ext::set_target::{SetSpec, SetTarget};
use crate::kernel::{Error, Result};

const INV_MATCH: u8 = 1 << 0;
const F_SKIP_COUNTER_UPDATE: u32 = 1 << 3;
const F_SKIP_SUBCOUNTER_UPDATE: u32 = 1 << 4;
const F_RETURN_NOMATCH: u32 = 1 << 7;
const F_EXIST: u32 = 1 << 0;
const F_MAP_SKBMARK: u32 = 1 << 8;
const F_MAP_SKBPRIO: u32 = 1 << 9;
const F_MAP_SKBQUEUE: u32 = 1 << 10;
/// IPSET_INVALID_ID: no set.
const NO_SET: u16 = 0xffff;

fn get_u64(v: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&v[off..off + 8]);
    u64::from_ne_bytes(b)
}

/// struct xt_set_info: index, dimensions, a source bit per dimension.
fn put_info(
    v: &mut [u8],
    off: usize,
    cx: &EncodeCx,
    name: &str,
    dirs: &[bool],
    inv: bool,
) -> Result<()> {
    put_u16(v, off, cx.set_index(name)?);
    v[off + 2] = dirs.len() as u8;
    let mut flags = inv as u8 * INV_MATCH;
    for (i, src) in dirs.iter().enumerate() {
        if *src {
            flags |= 1 << (i + 1);
        }
    }
    v[off + 3] = flags;
    Ok(())
}

fn no_info(v: &mut [u8], off: usize) {
    put_u16(v, off, NO_SET);
}

/// `NAME src,dst` of a struct xt_set_info, and whether it is inverted.
fn info_words(d: &[u8], off: usize, cx: &DecodeCx) -> Result<(String, String, bool)> {
    let name = cx.set_name(get_u16(d, off))?;
    let (dim, flags) = (d[off + 2] as usize, d[off + 3]);
    if dim == 0 || dim > 6 || flags >> (dim + 1) != 0 {
        return Err(Error::Unsupported(format!(
            "set {name}: dimensions {dim}, flags {flags:#x}"
        )));
    }
    let dirs: Vec<&str> = (1..=dim)
        .map(|i| if flags & (1 << i) != 0 { "src" } else { "dst" })
        .collect();
    Ok((name, dirs.join(","), flags & INV_MATCH != 0))
}

fn op_code(op: CounterOp) -> u8 {
    match op {
        CounterOp::Eq => 1,
        CounterOp::Ne => 2,
        CounterOp::Lt => 3,
        CounterOp::Gt => 4,
    }
}

fn enc_match(m: &SetMatch, cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 44];
    put_info(&mut v, 0, cx, &m.set, &m.flags, m.invert)?;
    for (off, c) in [(8, &m.packets), (24, &m.bytes)] {
        if let Some((op, val)) = c {
            v[off..off + 8].copy_from_slice(&val.to_ne_bytes());
            v[off + 8] = op_code(*op);
        }
    }
    let flags = (m.return_nomatch as u32 * F_RETURN_NOMATCH)
        | (m.skip_counter_update as u32 * F_SKIP_COUNTER_UPDATE)
        | (m.skip_subcounter_update as u32 * F_SKIP_SUBCOUNTER_UPDATE);
    put_u32(&mut v, 40, flags);
    Ok(v)
}

fn dec_match(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (name, dirs, inv) = info_words(d, 0, cx)?;
    let flags = get_u32(d, 40);
    let known = F_RETURN_NOMATCH | F_SKIP_COUNTER_UPDATE | F_SKIP_SUBCOUNTER_UPDATE;
    if flags & !known != 0 {
        return Err(Error::Unsupported(format!("set match flags {flags:#x}")));
    }
    cx.flag(inv, "--match-set").word(name).word(dirs);
    if flags & F_RETURN_NOMATCH != 0 {
        cx.flag(false, "--return-nomatch");
    }
    if flags & F_SKIP_COUNTER_UPDATE != 0 {
        cx.flag(true, "--update-counters");
    }
    if flags & F_SKIP_SUBCOUNTER_UPDATE != 0 {
        cx.flag(true, "--update-subcounters");
    }
    for (off, what) in [(8, "packets"), (24, "bytes")] {
        let val = get_u64(d, off);
        let (inv, op) = match d[off + 8] {
            0 => continue,
            1 => (false, "eq"),
            2 => (true, "eq"),
            3 => (false, "lt"),
            4 => (false, "gt"),
            o => return Err(Error::Unsupported(format!("set counter operator {o}"))),
        };
        cx.opt(inv, &format!("--{what}-{op}"), val);
    }
    Ok(())
}

pub static MATCH: XtMatch<SetMatch> = XtMatch {
    name: "set",
    xt_name: &["set"],
    rev: 4,
    size: 44,
    user: 44,
    encode: enc_match,
    decode: dec_match,
};

fn enc_target(t: &SetTarget, cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 20];
    for (off, s) in [(0, &t.add), (4, &t.del), (8, &t.map)] {
        match s {
            Some(SetSpec { name, flags }) => put_info(&mut v, off, cx, name, flags, false)?,
            None => no_info(&mut v, off),
        }
    }
    let flags = (t.exist as u32 * F_EXIST)
        | (t.map_mark as u32 * F_MAP_SKBMARK)
        | (t.map_prio as u32 * F_MAP_SKBPRIO)
        | (t.map_queue as u32 * F_MAP_SKBQUEUE);
    put_u32(&mut v, 12, flags);
    put_u32(&mut v, 16, t.timeout.unwrap_or(u32::MAX));
    Ok(v)
}

fn dec_target(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let flags = get_u32(d, 12);
    let known = F_EXIST | F_MAP_SKBMARK | F_MAP_SKBPRIO | F_MAP_SKBQUEUE;
    if flags & !known != 0 {
        return Err(Error::Unsupported(format!("SET flags {flags:#x}")));
    }
    let timeout = get_u32(d, 16);
    for (off, opt) in [(0, "--add-set"), (4, "--del-set"), (8, "--map-set")] {
        if get_u16(d, off) == NO_SET {
            continue;
        }
        let (name, dirs, inv) = info_words(d, off, cx)?;
        if inv {
            return Err(Error::Unsupported(format!("SET {opt} inverted")));
        }
        cx.opt(false, opt, name).word(dirs);
        if off == 0 {
            if flags & F_EXIST != 0 {
                cx.flag(false, "--exist");
            }
            if timeout != u32::MAX {
                cx.opt(false, "--timeout", timeout);
            }
        }
    }
    for (bit, opt) in [
        (F_MAP_SKBMARK, "--map-mark"),
        (F_MAP_SKBPRIO, "--map-prio"),
        (F_MAP_SKBQUEUE, "--map-queue"),
    ] {
        if flags & bit != 0 {
            cx.flag(false, opt);
        }
    }
    Ok(())
}

pub static TARGET: XtTarget<SetTarget> = XtTarget {
    name: "SET",
    xt_name: &["SET"],
    rev: 3,
    size: 20,
    user: 20,
    encode: enc_target,
    decode: dec_target,
};
