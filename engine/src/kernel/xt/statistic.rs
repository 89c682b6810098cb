//! `-m statistic`: compat `statistic` match, revision 0 (struct
//! xt_statistic_info; the kernel keeps a pointer after the user part).

use super::{get_u16, get_u32, put_u16, put_u32, DecodeCx, EncodeCx, XtMatch};
use crate::ext::statistic::{Mode, Statistic};
use crate::kernel::{Error, Result};

const INVERT: u16 = 1;

fn encode(m: &Statistic, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let mut v = vec![0u8; 24];
    put_u16(&mut v, 0, if m.mode == Mode::Nth { 1 } else { 0 });
    put_u16(&mut v, 2, if m.inv { INVERT } else { 0 });
    // The union's first word is the probability or `every`; libxtables
    // sets the nth counter as every - packet whatever the mode.
    let (first, packet) = match m.mode {
        Mode::Random => (m.probability, 0),
        Mode::Nth => (m.every, m.packet),
    };
    put_u32(&mut v, 4, first);
    put_u32(&mut v, 8, packet);
    put_u32(&mut v, 12, first.wrapping_sub(packet));
    Ok(v)
}

fn decode(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let inv = get_u16(d, 2) & INVERT != 0;
    match get_u16(d, 0) {
        0 => {
            // The probability as libxt_statistic prints it, which parses
            // back to the same 31-bit fraction.
            let p = get_u32(d, 4) as f64 / 2147483648.0;
            cx.opt(false, "--mode", "random")
                .opt(inv, "--probability", format!("{p:.11}"));
        }
        1 => {
            // The kernel keeps `every` minus one.
            let every = get_u32(d, 4)
                .checked_add(1)
                .ok_or_else(|| Error::Unsupported("statistic every 2^32".into()))?;
            cx.opt(false, "--mode", "nth")
                .opt(inv, "--every", every)
                .opt(false, "--packet", get_u32(d, 8));
        }
        m => return Err(Error::Unsupported(format!("statistic mode {m}"))),
    }
    Ok(())
}

pub static CODEC: XtMatch<Statistic> = XtMatch {
    name: "statistic",
    xt_name: &["statistic"],
    rev: 0,
    size: 24,
    // The kernel keeps a pointer to its shared counter after the user part.
    user: 16,
    encode,
    decode,
};
