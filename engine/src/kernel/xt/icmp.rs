//! `-m icmp`: compat `icmp` match, revision 0 (type, code range, invert).

use super::{DecodeCx, EncodeCx, XtMatch};
use crate::ext::icmp::Icmp;
use crate::ext::Match;
use crate::kernel::Result;

fn encode(m: &Icmp, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(vec![m.icmp_type, m.code.0, m.code.1, m.inv as u8])
}

fn decode(d: &[u8], _cx: &DecodeCx) -> Result<Box<dyn Match>> {
    Ok(Box::new(Icmp {
        icmp_type: d[0],
        code: (d[1], d[2]),
        inv: d[3] & 1 != 0,
    }))
}

pub static CODEC: XtMatch<Icmp> = XtMatch {
    name: "icmp",
    xt_name: &["icmp"],
    rev: 0,
    size: 4,
    encode,
    decode,
};
