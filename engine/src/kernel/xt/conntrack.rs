//! `-m conntrack` and `-m state`: both the compat `conntrack` match,
//! revision 3 (struct xt_conntrack_mtinfo3, 162 bytes); `-m state` sets the
//! STATE_ALIAS flag so iptables-nft reads it back as `-m state`.

use super::{get_u16, get_u32, put_u16, put_u32, DecodeCx, EncodeCx, MatchCodec, XtBlob};
use crate::ext::conntrack::{Addr, Conntrack, PortRange, ST_DNAT, ST_SNAT};
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

fn state_from_kernel(k: u16) -> u16 {
    let mut m = k & !(K_SNAT | K_DNAT);
    if k & K_SNAT != 0 {
        m |= ST_SNAT;
    }
    if k & K_DNAT != 0 {
        m |= ST_DNAT;
    }
    m
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

fn decode_conntrack(d: &[u8]) -> Conntrack {
    let mf = get_u16(d, OFF_MATCH);
    let inv = get_u16(d, OFF_INVERT);
    let has = |b: u16| mf & b != 0;
    let i = |b: u16| inv & b != 0;
    let addr = |off: usize, bit: u16| -> Option<Addr> {
        has(bit).then(|| Addr {
            addr: Ipv4Addr::new(d[off], d[off + 1], d[off + 2], d[off + 3]),
            mask: u32::from_be_bytes([d[off + 16], d[off + 17], d[off + 18], d[off + 19]]),
            inv: i(bit),
        })
    };
    let port = |k: usize, bit: u16| -> Option<PortRange> {
        has(bit).then(|| PortRange {
            lo: get_u16(d, OFF_PORTS[k]),
            hi: get_u16(d, OFF_PORTS_HIGH[k]),
            inv: i(bit),
        })
    };
    Conntrack {
        state: has(F_STATE).then(|| (state_from_kernel(get_u16(d, OFF_STATE)), i(F_STATE))),
        proto: has(F_PROTO).then(|| (get_u16(d, OFF_L4PROTO) as u8, i(F_PROTO))),
        origsrc: addr(OFF_ADDRS[0], F_ORIGSRC),
        origdst: addr(OFF_ADDRS[1], F_ORIGDST),
        replsrc: addr(OFF_ADDRS[2], F_REPLSRC),
        repldst: addr(OFF_ADDRS[3], F_REPLDST),
        origsrcport: port(0, F_ORIGSRC_PORT),
        origdstport: port(1, F_ORIGDST_PORT),
        replsrcport: port(2, F_REPLSRC_PORT),
        repldstport: port(3, F_REPLDST_PORT),
        status: has(F_STATUS).then(|| (get_u16(d, OFF_STATUS) as u32, i(F_STATUS))),
        expire: has(F_EXPIRES).then(|| {
            (
                get_u32(d, OFF_EXPIRES),
                get_u32(d, OFF_EXPIRES + 4),
                i(F_EXPIRES),
            )
        }),
        dir_reply: has(F_DIRECTION).then(|| i(F_DIRECTION)),
    }
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
        if mf & F_STATE_ALIAS != 0 {
            cx.matches.push(Box::new(State {
                mask: state_from_kernel(get_u16(d, OFF_STATE)),
                inv: get_u16(d, OFF_INVERT) & F_STATE != 0,
            }));
        } else {
            cx.matches.push(Box::new(decode_conntrack(d)));
        }
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
