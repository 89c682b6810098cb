//! `-m comment`: compat `comment` match, revision 0, a 256-byte string.

use super::{get_cstr, DecodeCx, EncodeCx, XtMatch};
use crate::ext::comment::Comment;
use crate::kernel::Result;

fn encode(c: &Comment, _cx: &EncodeCx) -> Result<Vec<u8>> {
    Ok(c.text.as_bytes().to_vec())
}

fn decode(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    cx.opt(false, "--comment", get_cstr(&d[..255]));
    Ok(())
}

pub static CODEC: XtMatch<Comment> = XtMatch {
    name: "comment",
    xt_name: &["comment"],
    rev: 0,
    size: 256,
    user: 256,
    encode,
    decode,
};
