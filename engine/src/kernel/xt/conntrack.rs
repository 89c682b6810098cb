//! `-m conntrack` and `-m state`: both the compat `conntrack` match,
//! revision 3 (struct xt_conntrack_mtinfo3, 162 bytes); `-m state` sets the
//! STATE_ALIAS flag so iptables-nft reads it back as `-m state`.

use super::{get_u16, get_u32, put_u16, put_u32, DecodeCx, EncodeCx, MatchCodec, XtBlob};
use crate::ext::conntrack::{Conntrack, ST_DNAT, ST_SNAT};
use crate::ext::state::State;
use crate::ext::Match;
use crate::kernel::{Error, Result};
use std::net::Ipv4Addr;

pub struct ConntrackCodec;
pub static CONNTRACK: ConntrackCodec = ConntrackCodec;
pub struct StateCodec;
pub static STATE: StateCodec = StateCodec;

const SIZE: usize = 162;
const REV: u32 = 3;

// match_flags / invert_flags bits.
const F_STATE: u16 = 1 << 0;
const F_PROTO: u16 = 1 << 1;
const F_ORIGSRC: u16 = 1 << 2;
const F_ORIGDST: u16 = 1 << 3;
const F_REPLSRC: u16 = 1 << 4;
const F_REPLDST: u16 = 1 << 5;
const F_STATUS: u16 = 1 << 6;
const F_EXPIRES: u16 = 1 << 7;
const F_ORIGSRC_PORT: u16 = 1 << 8;
const F_ORIGDST_PORT: u16 = 1 << 9;
const F_REPLSRC_PORT: u16 = 1 << 10;
const F_REPLDST_PORT: u16 = 1 << 11;
const F_DIRECTION: u16 = 1 << 12;
const F_STATE_ALIAS: u16 = 1 << 13;

// Offsets in the struct.
const OFF_ADDRS: [usize; 4] = [0, 32, 64, 96];
const OFF_EXPIRES: usize = 128;
const OFF_L4PROTO: usize = 136;
const OFF_PORTS: [usize; 4] = [138, 140, 142, 144];
const OFF_MATCH: usize = 146;
const OFF_INVERT: usize = 148;
const OFF_STATE: usize = 150;
const OFF_STATUS: usize = 152;
const OFF_PORTS_HIGH: [usize; 4] = [154, 156, 158, 160];

// The kernel's SNAT/DNAT state bits (the engine numbers them differently).
const K_SNAT: u16 = 1 << 6;
const K_DNAT: u16 = 1 << 7;

fn state_to_kernel(m: u16) -> u16 {
    let mut k = m & !(ST_SNAT | ST_DNAT);
    if m & ST_SNAT != 0 {
        k |= K_SNAT;
    }
    if m & ST_DNAT != 0 {
        k |= K_DNAT;
    }
    k
}

fn encode_conntrack(c: &Conntrack) -> Vec<u8> {
    let mut v = vec![0u8; SIZE];
    let (mut mf, mut inv) = (0u16, 0u16);
    let mut flag = |bit: u16, i: bool| {
        mf |= bit;
        if i {
            inv |= bit;
        }
    };
    if let Some((m, i)) = c.state {
        flag(F_STATE, i);
        put_u16(&mut v, OFF_STATE, state_to_kernel(m));
    }
    if let Some((p, i)) = c.proto {
        flag(F_PROTO, i);
        put_u16(&mut v, OFF_L4PROTO, p as u16);
    }
    let addrs = [c.origsrc, c.origdst, c.replsrc, c.repldst];
    let abits = [F_ORIGSRC, F_ORIGDST, F_REPLSRC, F_REPLDST];
    for ((a, bit), off) in addrs.iter().zip(abits).zip(OFF_ADDRS) {
        if let Some(a) = a {
            flag(bit, a.inv);
            v[off..off + 4].copy_from_slice(&a.addr.octets());
            if a.mask == u32::MAX {
                // A host without a prefix: libxtables fills the whole mask.
                v[off + 16..off + 32].fill(0xff);
            } else {
                v[off + 16..off + 20].copy_from_slice(&a.mask.to_be_bytes());
            }
        }
    }
    let ports = [c.origsrcport, c.origdstport, c.replsrcport, c.repldstport];
    let pbits = [
        F_ORIGSRC_PORT,
        F_ORIGDST_PORT,
        F_REPLSRC_PORT,
        F_REPLDST_PORT,
    ];
    for (i, (p, bit)) in ports.iter().zip(pbits).enumerate() {
        if let Some(p) = p {
            flag(bit, p.inv);
            put_u16(&mut v, OFF_PORTS[i], p.lo);
            let hi = if p.hi == 0 { p.lo } else { p.hi };
            put_u16(&mut v, OFF_PORTS_HIGH[i], hi);
        }
    }
    if let Some((m, i)) = c.status {
        flag(F_STATUS, i);
        put_u16(&mut v, OFF_STATUS, m as u16);
    }
    if let Some((lo, hi, i)) = c.expire {
        flag(F_EXPIRES, i);
        put_u32(&mut v, OFF_EXPIRES, lo);
        put_u32(&mut v, OFF_EXPIRES + 4, hi);
    }
    if let Some(reply) = c.dir_reply {
        flag(F_DIRECTION, reply);
    }
    put_u16(&mut v, OFF_MATCH, mf);
    put_u16(&mut v, OFF_INVERT, inv);
    v
}

/// Names of the kernel's state bits, in libxt_conntrack's print order.
const STATES: [(u16, &str); 7] = [
    (1 << 0, "INVALID"),
    (1 << 3, "NEW"),
    (1 << 2, "RELATED"),
    (1 << 1, "ESTABLISHED"),
    (1 << 8, "UNTRACKED"),
    (K_SNAT, "SNAT"),
    (K_DNAT, "DNAT"),
];
const STATUSES: [(u16, &str); 4] = [
    (1 << 0, "EXPECTED"),
    (1 << 1, "SEEN_REPLY"),
    (1 << 2, "ASSURED"),
    (1 << 3, "CONFIRMED"),
];

fn names(table: &[(u16, &str)], mask: u16, none: &str, what: &str) -> Result<String> {
    let known = table.iter().fold(0, |m, (b, _)| m | b);
    if mask & !known != 0 {
        return Err(Error::Unsupported(format!("conntrack {what} {mask:#x}")));
    }
    if mask == 0 {
        return Ok(none.to_string());
    }
    let list: Vec<&str> = table
        .iter()
        .filter(|(b, _)| mask & b != 0)
        .map(|(_, n)| *n)
        .collect();
    Ok(list.join(","))
}

fn range_text<T: PartialEq + std::fmt::Display>(lo: T, hi: T) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}:{hi}")
    }
}

/// `--ctstate ... --ctdir ...` in libxt_conntrack's save order.
fn decode_conntrack(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let mf = get_u16(d, OFF_MATCH);
    let inv = get_u16(d, OFF_INVERT);
    let has = |b: u16| mf & b != 0;
    let i = |b: u16| inv & b != 0;
    if has(F_STATE) {
        let text = names(&STATES, get_u16(d, OFF_STATE), "", "state")?;
        if text.is_empty() {
            return Err(Error::Unsupported("an empty conntrack state".into()));
        }
        cx.opt(i(F_STATE), "--ctstate", text);
    }
    if has(F_PROTO) {
        cx.opt(i(F_PROTO), "--ctproto", get_u16(d, OFF_L4PROTO));
    }
    let addrs = [
        (F_ORIGSRC, "--ctorigsrc"),
        (F_ORIGDST, "--ctorigdst"),
        (F_REPLSRC, "--ctreplsrc"),
        (F_REPLDST, "--ctrepldst"),
    ];
    for ((bit, opt), off) in addrs.into_iter().zip(OFF_ADDRS) {
        if has(bit) {
            let a = Ipv4Addr::new(d[off], d[off + 1], d[off + 2], d[off + 3]);
            let m = Ipv4Addr::new(d[off + 16], d[off + 17], d[off + 18], d[off + 19]);
            cx.opt(i(bit), opt, format!("{a}/{m}"));
        }
    }
    let ports = [
        (F_ORIGSRC_PORT, "--ctorigsrcport"),
        (F_ORIGDST_PORT, "--ctorigdstport"),
        (F_REPLSRC_PORT, "--ctreplsrcport"),
        (F_REPLDST_PORT, "--ctrepldstport"),
    ];
    for (k, (bit, opt)) in ports.into_iter().enumerate() {
        if has(bit) {
            let (lo, hi) = (get_u16(d, OFF_PORTS[k]), get_u16(d, OFF_PORTS_HIGH[k]));
            cx.opt(i(bit), opt, range_text(lo, hi));
        }
    }
    if has(F_STATUS) {
        let text = names(&STATUSES, get_u16(d, OFF_STATUS), "NONE", "status")?;
        cx.opt(i(F_STATUS), "--ctstatus", text);
    }
    if has(F_EXPIRES) {
        let (lo, hi) = (get_u32(d, OFF_EXPIRES), get_u32(d, OFF_EXPIRES + 4));
        cx.opt(i(F_EXPIRES), "--ctexpire", range_text(lo, hi));
    }
    if has(F_DIRECTION) {
        let dir = if i(F_DIRECTION) { "REPLY" } else { "ORIGINAL" };
        cx.opt(false, "--ctdir", dir);
    }
    Ok(())
}

impl MatchCodec for ConntrackCodec {
    fn name(&self) -> &'static str {
        "conntrack"
    }
    fn encode(&self, m: &dyn Match, cx: &mut EncodeCx) -> Result<()> {
        let c = m
            .as_any()
            .downcast_ref::<Conntrack>()
            .ok_or_else(|| Error::Unsupported("conntrack: unexpected type".into()))?;
        cx.xt_match("conntrack", REV, encode_conntrack(c));
        Ok(())
    }
    fn xt_names(&self) -> &'static [&'static str] {
        &["conntrack"]
    }
    fn decode_xt(&self, blob: &XtBlob, cx: &mut DecodeCx) -> Result<()> {
        let d = blob.data(REV, SIZE)?;
        let mf = get_u16(d, OFF_MATCH);
        if mf & F_STATE_ALIAS == 0 {
            cx.m("conntrack");
            return decode_conntrack(d, cx);
        }
        if mf != F_STATE | F_STATE_ALIAS {
            return Err(Error::Unsupported(format!("state alias flags {mf:#x}")));
        }
        let text = names(&STATES[..5], get_u16(d, OFF_STATE), "", "state")?;
        if text.is_empty() {
            return Err(Error::Unsupported("an empty state".into()));
        }
        cx.m("state")
            .opt(get_u16(d, OFF_INVERT) & F_STATE != 0, "--state", text);
        Ok(())
    }
}

impl MatchCodec for StateCodec {
    fn name(&self) -> &'static str {
        "state"
    }
    fn encode(&self, m: &dyn Match, cx: &mut EncodeCx) -> Result<()> {
        let s = m
            .as_any()
            .downcast_ref::<State>()
            .ok_or_else(|| Error::Unsupported("state: unexpected type".into()))?;
        let mut v = vec![0u8; SIZE];
        put_u16(&mut v, OFF_MATCH, F_STATE | F_STATE_ALIAS);
        put_u16(&mut v, OFF_INVERT, if s.inv { F_STATE } else { 0 });
        put_u16(&mut v, OFF_STATE, state_to_kernel(s.mask));
        cx.xt_match("conntrack", REV, v);
        Ok(())
    }
}
