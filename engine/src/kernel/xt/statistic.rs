//! `-m statistic`: compat `statistic` match, revision 0 (struct
//! xt_statistic_info; the kernel keeps a pointer after the user part).

use super::{get_u16, get_u32, put_u16, put_u32, DecodeCx, EncodeCx, XtMatch};
use crate::ext::statistic::{Mode, Statistic};
use crate::ext::Match;
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

fn decode(d: &[u8], _cx: &DecodeCx) -> Result<Box<dyn Match>> {
    let mode = match get_u16(d, 0) {
        0 => Mode::Random,
        1 => Mode::Nth,
        m => return Err(Error::Unsupported(format!("statistic mode {m}"))),
    };
    let mut s = Statistic {
        mode,
        inv: get_u16(d, 2) & INVERT != 0,
        ..Statistic::default()
    };
    match mode {
        Mode::Random => s.probability = get_u32(d, 4),
        Mode::Nth => {
            s.every = get_u32(d, 4);
            s.packet = get_u32(d, 8);
        }
    }
    Ok(Box::new(s))
}

pub static CODEC: XtMatch<Statistic> = XtMatch {
    name: "statistic",
    xt_name: &["statistic"],
    rev: 0,
    size: 24,
    encode,
    decode,
};
