//! Compat matches with small fixed structs: connmark (rev 1), owner
//! (rev 1), iprange (rev 1), mac (rev 0), pkttype (rev 0), length (rev 0),
//! ttl (rev 0), helper (rev 0).

use super::{get_cstr, get_u16, get_u32, put_u16, put_u32, DecodeCx, EncodeCx, XtMatch};
use crate::ext::connmark::ConnmarkMatch;
use crate::ext::helper::Helper;
use crate::ext::iprange::Iprange;
use crate::ext::length::Length;
use crate::ext::mac::Mac;
use crate::ext::owner::Owner;
use crate::ext::pkttype::Pkttype;
use crate::ext::ttl::{Mode as TtlMode, Ttl};
use crate::kernel::{Error, Result};
use std::net::Ipv4Addr;

fn enc_connmark(m: &ConnmarkMatch, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 9];
    put_u32(&mut v, 0, m.mark);
    put_u32(&mut v, 4, m.mask);
    v[8] = m.inv as u8;
    Ok(v)
}
fn dec_connmark(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (mark, mask) = (get_u32(d, 0), get_u32(d, 4));
    cx.opt(d[8] != 0, "--mark", format!("{mark:#x}/{mask:#x}"));
    Ok(())
}
pub static CONNMARK: XtMatch<ConnmarkMatch> = XtMatch {
    name: "connmark",
    xt_name: &["connmark"],
    rev: 1,
    size: 9,
    user: 9,
    encode: enc_connmark,
    decode: dec_connmark,
};

const OWNER_UID: u8 = 1;
const OWNER_GID: u8 = 2;
const OWNER_SOCKET: u8 = 4;
const OWNER_SUPPL: u8 = 8;

fn enc_owner(m: &Owner, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 18];
    let (mut flags, mut inv) = (0u8, 0u8);
    if let Some(r) = &m.uid {
        put_u32(&mut v, 0, r.min);
        put_u32(&mut v, 4, r.max);
        flags |= OWNER_UID;
        inv |= r.inv as u8 * OWNER_UID;
    }
    if let Some(r) = &m.gid {
        put_u32(&mut v, 8, r.min);
        put_u32(&mut v, 12, r.max);
        flags |= OWNER_GID;
        inv |= r.inv as u8 * OWNER_GID;
    }
    if let Some(i) = m.socket {
        flags |= OWNER_SOCKET;
        inv |= i as u8 * OWNER_SOCKET;
    }
    if m.suppl_groups {
        flags |= OWNER_SUPPL;
    }
    v[16] = flags;
    v[17] = inv;
    Ok(v)
}
fn dec_owner(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (flags, inv) = (d[16], d[17]);
    if flags & !(OWNER_UID | OWNER_GID | OWNER_SOCKET | OWNER_SUPPL) != 0 {
        return Err(Error::Unsupported(format!("owner flags {flags:#x}")));
    }
    if flags & OWNER_SOCKET != 0 {
        cx.flag(inv & OWNER_SOCKET != 0, "--socket-exists");
    }
    for (bit, off, opt) in [(OWNER_UID, 0, "--uid-owner"), (OWNER_GID, 8, "--gid-owner")] {
        if flags & bit != 0 {
            let (lo, hi) = (get_u32(d, off), get_u32(d, off + 4));
            let text = if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            };
            cx.opt(inv & bit != 0, opt, text);
        }
    }
    if flags & OWNER_SUPPL != 0 {
        cx.flag(false, "--suppl-groups");
    }
    Ok(())
}
pub static OWNER: XtMatch<Owner> = XtMatch {
    name: "owner",
    xt_name: &["owner"],
    rev: 1,
    size: 18,
    user: 18,
    encode: enc_owner,
    decode: dec_owner,
};

const RANGE_SRC: u8 = 0x01;
const RANGE_DST: u8 = 0x02;
const RANGE_SRC_INV: u8 = 0x10;
const RANGE_DST_INV: u8 = 0x20;

fn enc_iprange(m: &Iprange, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 65];
    let mut flags = 0;
    if let Some(r) = &m.src {
        v[0..4].copy_from_slice(&r.min.octets());
        v[16..20].copy_from_slice(&r.max.octets());
        flags |= RANGE_SRC | if r.inv { RANGE_SRC_INV } else { 0 };
    }
    if let Some(r) = &m.dst {
        v[32..36].copy_from_slice(&r.min.octets());
        v[48..52].copy_from_slice(&r.max.octets());
        flags |= RANGE_DST | if r.inv { RANGE_DST_INV } else { 0 };
    }
    v[64] = flags;
    Ok(v)
}
fn dec_iprange(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let ip = |o: usize| Ipv4Addr::new(d[o], d[o + 1], d[o + 2], d[o + 3]);
    let f = d[64];
    if f & !(RANGE_SRC | RANGE_DST | RANGE_SRC_INV | RANGE_DST_INV) != 0 {
        return Err(Error::Unsupported(format!("iprange flags {f:#x}")));
    }
    if f & RANGE_SRC != 0 {
        cx.opt(
            f & RANGE_SRC_INV != 0,
            "--src-range",
            format!("{}-{}", ip(0), ip(16)),
        );
    }
    if f & RANGE_DST != 0 {
        cx.opt(
            f & RANGE_DST_INV != 0,
            "--dst-range",
            format!("{}-{}", ip(32), ip(48)),
        );
    }
    Ok(())
}
pub static IPRANGE: XtMatch<Iprange> = XtMatch {
    name: "iprange",
    xt_name: &["iprange"],
    rev: 1,
    size: 65,
    user: 65,
    encode: enc_iprange,
    decode: dec_iprange,
};

fn enc_mac(m: &Mac, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 12];
    v[..6].copy_from_slice(&m.addr);
    put_u32(&mut v, 8, m.inv as u32);
    Ok(v)
}
fn dec_mac(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let text: Vec<String> = d[..6].iter().map(|b| format!("{b:02x}")).collect();
    cx.opt(get_u32(d, 8) != 0, "--mac-source", text.join(":"));
    Ok(())
}
pub static MAC: XtMatch<Mac> = XtMatch {
    name: "mac",
    xt_name: &["mac"],
    rev: 0,
    size: 12,
    user: 12,
    encode: enc_mac,
    decode: dec_mac,
};

fn enc_pkttype(m: &Pkttype, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 8];
    put_u32(&mut v, 0, m.pkttype as u32);
    put_u32(&mut v, 4, m.inv as u32);
    Ok(v)
}
fn dec_pkttype(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let name = match get_u32(d, 0) {
        0 => "unicast",
        1 => "broadcast",
        2 => "multicast",
        3 => "otherhost",
        t => return Err(Error::Unsupported(format!("packet type {t}"))),
    };
    cx.opt(get_u32(d, 4) != 0, "--pkt-type", name);
    Ok(())
}
pub static PKTTYPE: XtMatch<Pkttype> = XtMatch {
    name: "pkttype",
    xt_name: &["pkttype"],
    rev: 0,
    size: 8,
    user: 8,
    encode: enc_pkttype,
    decode: dec_pkttype,
};

fn enc_length(m: &Length, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 5];
    put_u16(&mut v, 0, m.min);
    put_u16(&mut v, 2, m.max);
    v[4] = m.inv as u8;
    Ok(v)
}
fn dec_length(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (lo, hi) = (get_u16(d, 0), get_u16(d, 2));
    let text = if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}:{hi}")
    };
    cx.opt(d[4] != 0, "--length", text);
    Ok(())
}
pub static LENGTH: XtMatch<Length> = XtMatch {
    name: "length",
    xt_name: &["length"],
    rev: 0,
    size: 5,
    user: 5,
    encode: enc_length,
    decode: dec_length,
};

fn enc_ttl(m: &Ttl, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mode = match m.mode {
        TtlMode::Eq => 0,
        TtlMode::Ne => 1,
        TtlMode::Lt => 2,
        TtlMode::Gt => 3,
    };
    Ok(vec![mode, m.value])
}
fn dec_ttl(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (inv, opt) = match d[0] {
        0 => (false, "--ttl-eq"),
        1 => (true, "--ttl-eq"),
        2 => (false, "--ttl-lt"),
        3 => (false, "--ttl-gt"),
        m => return Err(Error::Unsupported(format!("ttl mode {m}"))),
    };
    cx.opt(inv, opt, d[1]);
    Ok(())
}
pub static TTL: XtMatch<Ttl> = XtMatch {
    name: "ttl",
    xt_name: &["ttl"],
    rev: 0,
    size: 2,
    user: 2,
    encode: enc_ttl,
    decode: dec_ttl,
};

fn enc_helper(m: &Helper, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 34];
    put_u32(&mut v, 0, m.inv as u32);
    let n = m.name.len().min(29);
    v[4..4 + n].copy_from_slice(&m.name.as_bytes()[..n]);
    Ok(v)
}
fn dec_helper(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    cx.opt(get_u32(d, 0) != 0, "--helper", get_cstr(&d[4..34]));
    Ok(())
}
pub static HELPER: XtMatch<Helper> = XtMatch {
    name: "helper",
    xt_name: &["helper"],
    rev: 0,
    size: 34,
    user: 34,
    encode: enc_helper,
    decode: dec_helper,
};
