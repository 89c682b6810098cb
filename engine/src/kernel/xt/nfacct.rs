//! `-m nfacct`: compat `nfacct` match, revision 1 (the object's name in
//! 32 bytes; the kernel keeps its pointer after it).

use super::{get_cstr, DecodeCx, EncodeCx, XtMatch};
use crate::ext::nfacct::Nfacct;
use crate::kernel::Result;

fn encode(m: &Nfacct, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 40];
    let n = m.name.len().min(31);
    v[..n].copy_from_slice(&m.name.as_bytes()[..n]);
    Ok(v)
}

fn decode(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    cx.opt(false, "--nfacct-name", get_cstr(&d[..32]));
    Ok(())
}

pub static CODEC: XtMatch<Nfacct> = XtMatch {
    name: "nfacct",
    xt_name: &["nfacct"],
    rev: 1,
    size: 40,
    // The kernel keeps a pointer to the object after the name.
    user: 32,
    encode,
    decode,
};
