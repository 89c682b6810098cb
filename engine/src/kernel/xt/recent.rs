//! `-m recent`: compat `recent` match, revision 1 (struct
//! xt_recent_mtinfo_v1: seconds, hit count, flags, invert, a 200-byte
//! name, side, a 16-byte mask).

use super::{get_cstr, get_u32, put_u32, DecodeCx, EncodeCx, XtMatch};
use crate::ext::recent::{Recent, RecentOp};
use crate::kernel::{Error, Result};
use std::net::Ipv4Addr;

const CHECK: u8 = 1;
const SET: u8 = 2;
const UPDATE: u8 = 4;
const REMOVE: u8 = 8;
const TTL: u8 = 16;
const REAP: u8 = 32;
const NAME: usize = 10;
const NAME_LEN: usize = 200;
const SIDE: usize = 210;
const MASK: usize = 212;

fn encode(m: &Recent, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 228];
    put_u32(&mut v, 0, m.seconds);
    put_u32(&mut v, 4, m.hitcount);
    v[8] = match m.op {
        RecentOp::None => 0,
        RecentOp::Set => SET,
        RecentOp::Check => CHECK,
        RecentOp::Update => UPDATE,
        RecentOp::Remove => REMOVE,
    } | if m.rttl { TTL } else { 0 }
        | if m.reap { REAP } else { 0 };
    v[9] = m.invert as u8;
    // libxt_recent starts from "DEFAULT" and copies the name with its NUL
    // over it, leaving the rest of "DEFAULT" behind a shorter name.
    v[NAME..NAME + 8].copy_from_slice(b"DEFAULT\0");
    let name = m.name.as_bytes();
    let n = name.len().min(NAME_LEN - 1);
    v[NAME..NAME + n].copy_from_slice(&name[..n]);
    v[NAME + n] = 0;
    v[SIDE] = m.dest as u8;
    // An explicit --mask fills the IPv4 part; without it libxt_recent
    // fills the whole address union.
    if m.mask_given {
        v[MASK..MASK + 4].copy_from_slice(&m.mask.octets());
    } else {
        v[MASK..MASK + 16].fill(0xff);
    }
    Ok(v)
}

fn decode(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let f = d[8];
    let op = match f & (CHECK | SET | UPDATE | REMOVE) {
        SET => "--set",
        CHECK => "--rcheck",
        UPDATE => "--update",
        REMOVE => "--remove",
        x => return Err(Error::Unsupported(format!("recent flags {x:#x}"))),
    };
    cx.flag(d[9] != 0, op);
    let seconds = get_u32(d, 0);
    if seconds != 0 {
        cx.opt(false, "--seconds", seconds);
    }
    if f & REAP != 0 {
        cx.flag(false, "--reap");
    }
    let hitcount = get_u32(d, 4);
    if hitcount != 0 {
        cx.opt(false, "--hitcount", hitcount);
    }
    if f & TTL != 0 {
        cx.flag(false, "--rttl");
    }
    cx.opt(false, "--name", get_cstr(&d[NAME..NAME + NAME_LEN]));
    if d[MASK..MASK + 16].iter().any(|b| *b != 0xff) {
        if d[MASK + 4..MASK + 16].iter().any(|b| *b != 0) {
            return Err(Error::Unsupported("an IPv6 recent mask".into()));
        }
        let mask = Ipv4Addr::new(d[MASK], d[MASK + 1], d[MASK + 2], d[MASK + 3]);
        cx.opt(false, "--mask", mask);
    }
    cx.flag(false, if d[SIDE] != 0 { "--rdest" } else { "--rsource" });
    Ok(())
}

pub static CODEC: XtMatch<Recent> = XtMatch {
    name: "recent",
    xt_name: &["recent"],
    rev: 1,
    size: 228,
    user: 228,
    encode,
    decode,
};
