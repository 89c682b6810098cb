//! `-j MARK`: compat `MARK` target, revision 2 (struct xt_mark_tginfo2:
//! mark and mask, `mark = (mark & ~mask) ^ value`).

use super::{get_u32, put_u32, DecodeCx, EncodeCx, XtTarget};
use crate::ext::mark_target::MarkTarget;
use crate::kernel::Result;

fn encode(t: &MarkTarget, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 8];
    put_u32(&mut v, 0, t.value);
    put_u32(&mut v, 4, t.mask);
    Ok(v)
}

fn decode(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (value, mask) = (get_u32(d, 0), get_u32(d, 4));
    cx.opt(false, "--set-xmark", format!("{value:#x}/{mask:#x}"));
    Ok(())
}

pub static CODEC: XtTarget<MarkTarget> = XtTarget {
    name: "MARK",
    xt_name: &["MARK"],
    rev: 2,
    size: 8,
    user: 8,
    encode,
    decode,
};
