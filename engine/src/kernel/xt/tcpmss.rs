//! `-j TCPMSS`: compat `TCPMSS` target, revision 0 (the MSS, 0xffff for
//! `--clamp-mss-to-pmtu`).

use super::{get_u16, put_u16, DecodeCx, EncodeCx, XtTarget};
use crate::ext::tcpmss_target::TcpMssTarget;
use crate::kernel::Result;

fn encode(t: &TcpMssTarget, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 2];
    put_u16(&mut v, 0, t.mss);
    Ok(v)
}

fn decode(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    match get_u16(d, 0) {
        0xffff => cx.flag(false, "--clamp-mss-to-pmtu"),
        mss => cx.opt(false, "--set-mss", mss),
    };
    Ok(())
}

pub static CODEC: XtTarget<TcpMssTarget> = XtTarget {
    name: "TCPMSS",
    xt_name: &["TCPMSS"],
    rev: 0,
    size: 2,
    user: 2,
    encode,
    decode,
};
