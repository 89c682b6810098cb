//! `-m icmp`: compat `icmp` match, revision 0 (type, code range, invert).

use super::{DecodeCx, EncodeCx, XtMatch};
use crate::ext::icmp::Icmp;
use crate::kernel::{Error, Result};

fn encode(m: &Icmp, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(vec![m.icmp_type, m.code.0, m.code.1, m.inv as u8])
}

fn decode(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (t, lo, hi, inv) = (d[0], d[1], d[2], d[3] & 1 != 0);
    let value = match (t, lo, hi) {
        (255, 0, 255) => "any".to_string(),
        (t, 0, 255) => t.to_string(),
        (t, lo, hi) if lo == hi => format!("{t}/{lo}"),
        _ => return Err(Error::Unsupported(format!("icmp codes {lo} to {hi}"))),
    };
    cx.opt(inv, "--icmp-type", value);
    Ok(())
}

pub static CODEC: XtMatch<Icmp> = XtMatch {
    name: "icmp",
    xt_name: &["icmp"],
    rev: 0,
    size: 4,
    user: 4,
    encode,
    decode,
};
