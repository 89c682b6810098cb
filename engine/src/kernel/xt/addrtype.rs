//! `-m addrtype`: compat `addrtype` match, revision 1 (struct
//! xt_addrtype_info_v1: source and destination type masks, flags).

use super::{get_u16, get_u32, put_u16, put_u32, DecodeCx, EncodeCx, XtMatch};
use crate::ext::addrtype::Addrtype;
use crate::ext::Match;
use crate::kernel::Result;

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

fn decode(d: &[u8], _cx: &DecodeCx) -> Result<Box<dyn Match>> {
    let (src, dst, flags) = (get_u16(d, 0), get_u16(d, 2), get_u32(d, 4));
    Ok(Box::new(Addrtype {
        src: (src != 0 || flags & INVERT_SOURCE != 0).then_some((src, flags & INVERT_SOURCE != 0)),
        dst: (dst != 0 || flags & INVERT_DEST != 0).then_some((dst, flags & INVERT_DEST != 0)),
        limit_in: flags & LIMIT_IFACE_IN != 0,
        limit_out: flags & LIMIT_IFACE_OUT != 0,
    }))
}

pub static CODEC: XtMatch<Addrtype> = XtMatch {
    name: "addrtype",
    xt_name: &["addrtype"],
    rev: 1,
    size: 8,
    encode,
    decode,
};
