//! `-j LOG`: compat `LOG` target, revision 0 (struct xt_log_info: level,
//! flags, a 30-byte prefix).

use super::{get_cstr, DecodeCx, EncodeCx, XtTarget};
use crate::ext::log::Log;
use crate::ext::Target;
use crate::kernel::Result;

fn encode(t: &Log, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 32];
    v[0] = t.level;
    v[1] = t.flags;
    let p = t.prefix.as_bytes();
    let n = p.len().min(29);
    v[2..2 + n].copy_from_slice(&p[..n]);
    Ok(v)
}

fn decode(d: &[u8], _cx: &DecodeCx) -> Result<Box<dyn Target>> {
    Ok(Box::new(Log {
        level: d[0],
        flags: d[1],
        prefix: get_cstr(&d[2..32]),
    }))
}

pub static CODEC: XtTarget<Log> = XtTarget {
    name: "LOG",
    xt_name: &["LOG"],
    rev: 0,
    size: 32,
    encode,
    decode,
};
