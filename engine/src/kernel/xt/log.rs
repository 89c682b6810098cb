//! `-j LOG`: compat `LOG` target, revision 0 (struct xt_log_info: level,
//! flags, a 30-byte prefix).

use super::{get_cstr, DecodeCx, EncodeCx, XtTarget};
use crate::ext::log::Log;
use crate::kernel::{Error, Result};

fn encode(t: &Log, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 32];
    v[0] = t.level;
    v[1] = t.flags;
    let p = t.prefix.as_bytes();
    let n = p.len().min(29);
    v[2..2 + n].copy_from_slice(&p[..n]);
    Ok(v)
}

const FLAGS: [(u8, &str); 5] = [
    (0x01, "--log-tcp-sequence"),
    (0x02, "--log-tcp-options"),
    (0x04, "--log-ip-options"),
    (0x08, "--log-uid"),
    (0x20, "--log-macdecode"),
];

fn decode(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    cx.opt(false, "--log-level", d[0]);
    let prefix = get_cstr(&d[2..32]);
    if !prefix.is_empty() {
        cx.opt(false, "--log-prefix", prefix);
    }
    let mut rest = d[1];
    for (bit, opt) in FLAGS {
        if d[1] & bit != 0 {
            cx.flag(false, opt);
            rest &= !bit;
        }
    }
    if rest != 0 {
        return Err(Error::Unsupported(format!("LOG flags {rest:#x}")));
    }
    Ok(())
}

pub static CODEC: XtTarget<Log> = XtTarget {
    name: "LOG",
    xt_name: &["LOG"],
    rev: 0,
    size: 32,
    user: 32,
    encode,
    decode,
};
