//! `-j CONNMARK`: compat `CONNMARK` target, revision 2 (struct
//! xt_connmark_tginfo2: ctmark, ctmask, nfmask, shift direction and bits,
//! mode).

use super::{get_u32, put_u32, DecodeCx, EncodeCx, XtTarget};
use crate::ext::connmark_target::{ConnmarkTarget, Mode};
use crate::ext::Target;
use crate::kernel::{Error, Result};

fn encode(t: &ConnmarkTarget, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 15];
    put_u32(&mut v, 0, t.ctmark);
    put_u32(&mut v, 4, t.ctmask);
    put_u32(&mut v, 8, t.nfmask);
    v[12] = t.shift_right as u8;
    v[13] = t.shift_bits;
    v[14] = match t.mode {
        Mode::Set => 0,
        Mode::Save => 1,
        Mode::Restore => 2,
    };
    Ok(v)
}

fn decode(d: &[u8], _cx: &DecodeCx) -> Result<Box<dyn Target>> {
    let mode = match d[14] {
        0 => Mode::Set,
        1 => Mode::Save,
        2 => Mode::Restore,
        m => return Err(Error::Unsupported(format!("CONNMARK mode {m}"))),
    };
    Ok(Box::new(ConnmarkTarget {
        mode,
        ctmark: get_u32(d, 0),
        ctmask: get_u32(d, 4),
        nfmask: get_u32(d, 8),
        shift_right: d[12] != 0,
        shift_bits: d[13],
    }))
}

pub static CODEC: XtTarget<ConnmarkTarget> = XtTarget {
    name: "CONNMARK",
    xt_name: &["CONNMARK"],
    rev: 2,
    size: 15,
    encode,
    decode,
};
