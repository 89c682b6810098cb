//! `-m udp`: ports as native payload expressions; a blank match as the
//! compat `udp` match (revision 0, struct xt_udp).

use super::tcp::{port_words, ports_text};
use super::{decode_ports, encode_ports, get_u16, put_u16, DecodeCx, EncodeCx, MatchCodec, XtBlob};
use crate::ext::udp::Udp;
use crate::ext::Match;
use crate::kernel::expr::Expr;
use crate::kernel::{Error, Result};

pub struct Codec;
pub static CODEC: Codec = Codec;

const INV_SRCPT: u8 = 0x01;
const INV_DSTPT: u8 = 0x02;
const SIZE: usize = 9;

impl MatchCodec for Codec {
    fn name(&self) -> &'static str {
        "udp"
    }

    fn encode(&self, m: &dyn Match, cx: &mut EncodeCx) -> Result<()> {
        let u = m
            .as_any()
            .downcast_ref::<Udp>()
            .ok_or_else(|| Error::Unsupported("udp: unexpected type".into()))?;
        if !u.native {
            let mut v = vec![0u8; SIZE];
            put_u16(&mut v, 0, u.sport.0);
            put_u16(&mut v, 2, u.sport.1);
            put_u16(&mut v, 4, u.dport.0);
            put_u16(&mut v, 6, u.dport.1);
            v[8] = (u.sport_inv as u8 * INV_SRCPT) | (u.dport_inv as u8 * INV_DSTPT);
            cx.xt_match("udp", 0, v);
            return Ok(());
        }
        encode_ports(cx, u.sport, u.sport_inv, u.dport, u.dport_inv);
        Ok(())
    }

    fn xt_names(&self) -> &'static [&'static str] {
        &["udp"]
    }

    fn decode_xt(&self, blob: &XtBlob, cx: &mut DecodeCx) -> Result<()> {
        let d = blob.data(0, SIZE)?;
        let inv = d[8];
        if inv & !(INV_SRCPT | INV_DSTPT) != 0 {
            return Err(Error::Unsupported(format!("udp inversion flags {inv:#x}")));
        }
        cx.m("udp");
        for (off, bit, opt) in [(0, INV_SRCPT, "--sport"), (4, INV_DSTPT, "--dport")] {
            let (lo, hi) = (get_u16(d, off), get_u16(d, off + 2));
            if (lo, hi) != (0, u16::MAX) || inv & bit != 0 {
                cx.opt(inv & bit != 0, opt, ports_text(lo, hi));
            }
        }
        Ok(())
    }

    fn decode_native(&self, exprs: &[Expr], cx: &mut DecodeCx) -> Result<usize> {
        if cx.ip.proto != 17 {
            return Ok(0);
        }
        let Some((n, s, d)) = decode_ports(exprs) else {
            return Ok(0);
        };
        cx.m("udp");
        port_words(cx, s, d);
        Ok(n)
    }
}
