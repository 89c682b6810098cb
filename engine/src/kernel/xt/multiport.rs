//! `-m multiport`: compat `multiport` match, revision 1 (struct
//! xt_multiport_v1: flags, count, 15 port slots, range flags, invert).

use super::{get_u16, put_u16, DecodeCx, EncodeCx, XtMatch};
use crate::ext::multiport::{Multiport, Which};
use crate::kernel::{Error, Result};

const SLOTS: usize = 15;
const OFF_PORTS: usize = 2;
const OFF_PFLAGS: usize = 32;
const OFF_INVERT: usize = 47;

fn encode(m: &Multiport, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 48];
    v[0] = match m.which {
        Which::Source => 0,
        Which::Destination => 1,
        Which::Either => 2,
    };
    let mut n = 0;
    for (lo, hi) in &m.ports {
        let need = if hi.is_some() { 2 } else { 1 };
        if n + need > SLOTS {
            return Err(Error::Unsupported("multiport: too many ports".into()));
        }
        put_u16(&mut v, OFF_PORTS + 2 * n, *lo);
        if let Some(h) = hi {
            v[OFF_PFLAGS + n] = 1;
            n += 1;
            put_u16(&mut v, OFF_PORTS + 2 * n, *h);
        }
        n += 1;
    }
    v[1] = n as u8;
    v[OFF_INVERT] = m.inv as u8;
    Ok(v)
}

fn decode(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let opt = match d[0] {
        0 => "--sports",
        1 => "--dports",
        2 => "--ports",
        f => return Err(Error::Unsupported(format!("multiport flags {f}"))),
    };
    let count = d[1] as usize;
    if count == 0 || count > SLOTS {
        return Err(Error::Unsupported(format!("multiport with {count} ports")));
    }
    let mut ports = Vec::new();
    let mut i = 0;
    while i < count {
        let lo = get_u16(d, OFF_PORTS + 2 * i);
        if d[OFF_PFLAGS + i] != 0 && i + 1 < count {
            ports.push(format!("{lo}:{}", get_u16(d, OFF_PORTS + 2 * (i + 1))));
            i += 2;
        } else {
            ports.push(lo.to_string());
            i += 1;
        }
    }
    cx.opt(d[OFF_INVERT] != 0, opt, ports.join(","));
    Ok(())
}

pub static CODEC: XtMatch<Multiport> = XtMatch {
    name: "multiport",
    xt_name: &["multiport"],
    rev: 1,
    size: 48,
    user: 48,
    encode,
    decode,
};
