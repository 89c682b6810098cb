//! `-m addrtype`: compat `addrtype` match, revision 1 (struct
//! xt_addrtype_info_v1: source and destination type masks, flags).

use super::{get_u16, get_u32, put_u16, put_u32, DecodeCx, EncodeCx, XtMatch};
use crate::ext::addrtype::Addrtype;
use crate::kernel::{Error, Result};

const INVERT_SOURCE: u32 = 1;
const INVERT_DEST: u32 = 2;
const LIMIT_IFACE_IN: u32 = 4;
const LIMIT_IFACE_OUT: u32 = 8;

fn encode(m: &Addrtype, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 8];
    let mut flags = 0;
    if let Some((t, inv)) = m.src {
        put_u16(&mut v, 0, t);
        flags |= inv as u32 * INVERT_SOURCE;
    }
    if let Some((t, inv)) = m.dst {
        put_u16(&mut v, 2, t);
        flags |= inv as u32 * INVERT_DEST;
    }
    flags |= (m.limit_in as u32 * LIMIT_IFACE_IN) | (m.limit_out as u32 * LIMIT_IFACE_OUT);
    put_u32(&mut v, 4, flags);
    Ok(v)
}

/// Address types in bit order (RTN_UNSPEC is bit 0).
const TYPES: [&str; 12] = [
    "UNSPEC",
    "UNICAST",
    "LOCAL",
    "BROADCAST",
    "ANYCAST",
    "MULTICAST",
    "BLACKHOLE",
    "UNREACHABLE",
    "PROHIBIT",
    "THROW",
    "NAT",
    "XRESOLVE",
];

fn types(mask: u16) -> Result<String> {
    if mask >> TYPES.len() != 0 {
        return Err(Error::Unsupported(format!("address types {mask:#x}")));
    }
    let names: Vec<&str> = TYPES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    Ok(names.join(","))
}

fn decode(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (src, dst, flags) = (get_u16(d, 0), get_u16(d, 2), get_u32(d, 4));
    for (mask, inv, opt) in [
        (src, flags & INVERT_SOURCE != 0, "--src-type"),
        (dst, flags & INVERT_DEST != 0, "--dst-type"),
    ] {
        if mask != 0 {
            cx.opt(inv, opt, types(mask)?);
        } else if inv {
            return Err(Error::Unsupported("an inverted empty address type".into()));
        }
    }
    if flags & LIMIT_IFACE_IN != 0 {
        cx.flag(false, "--limit-iface-in");
    }
    if flags & LIMIT_IFACE_OUT != 0 {
        cx.flag(false, "--limit-iface-out");
    }
    Ok(())
}

pub static CODEC: XtMatch<Addrtype> = XtMatch {
    name: "addrtype",
    xt_name: &["addrtype"],
    rev: 1,
    size: 8,
    user: 8,
    encode,
    decode,
};
