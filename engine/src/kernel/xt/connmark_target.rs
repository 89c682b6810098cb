//! `-j CONNMARK`: compat `CONNMARK` target, revision 2 (struct
//! xt_connmark_tginfo2: ctmark, ctmask, nfmask, shift direction and bits,
//! mode).

use super::{get_u32, put_u32, DecodeCx, EncodeCx, XtTarget};
use crate::ext::connmark_target::{ConnmarkTarget, Mode};
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

fn decode(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let (ctmark, ctmask, nfmask) = (get_u32(d, 0), get_u32(d, 4), get_u32(d, 8));
    match d[14] {
        0 => {
            cx.opt(false, "--set-xmark", format!("{ctmark:#x}/{ctmask:#x}"));
        }
        m @ (1 | 2) => {
            cx.flag(
                false,
                if m == 1 {
                    "--save-mark"
                } else {
                    "--restore-mark"
                },
            );
            cx.opt(false, "--nfmask", format!("{nfmask:#x}"));
            cx.opt(false, "--ctmask", format!("{ctmask:#x}"));
        }
        m => return Err(Error::Unsupported(format!("CONNMARK mode {m}"))),
    }
    if d[13] != 0 {
        let opt = if d[12] != 0 {
            "--right-shift-mark"
        } else {
            "--left-shift-mark"
        };
        cx.opt(false, opt, d[13]);
    }
    Ok(())
}

pub static CODEC: XtTarget<ConnmarkTarget> = XtTarget {
    name: "CONNMARK",
    xt_name: &["CONNMARK"],
    rev: 2,
    size: 15,
    user: 15,
    encode,
    decode,
};
