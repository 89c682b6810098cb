//! `-m udp`: ports as native payload expressions; a blank match as the
//! compat `udp` match (revision 0, struct xt_udp).

use super::{decode_ports, encode_ports, get_u16, put_u16, DecodeCx, EncodeCx, MatchCodec, XtBlob};
use crate::ext::tcp::native_port_tests;
use crate::ext::udp::Udp;
use crate::ext::xtopt::ALL_PORTS;
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
        let u = Udp {
            sport: (get_u16(d, 0), get_u16(d, 2)),
            dport: (get_u16(d, 4), get_u16(d, 6)),
            sport_inv: d[8] & INV_SRCPT != 0,
            dport_inv: d[8] & INV_DSTPT != 0,
            ..Udp::default()
        };
        cx.matches.push(Box::new(u));
        Ok(())
    }

    fn decode_native(&self, exprs: &[Expr], cx: &mut DecodeCx) -> Result<usize> {
        if cx.ip.proto != 17 {
            return Ok(0);
        }
        let Some((n, s, d)) = decode_ports(exprs) else {
            return Ok(0);
        };
        let pos = cx
            .matches
            .iter()
            .position(|m| m.as_any().downcast_ref::<Udp>().is_some_and(|u| u.native));
        let mut u = match pos.and_then(|i| cx.matches[i].as_any().downcast_ref::<Udp>()) {
            Some(u) => u.clone(),
            None => Udp {
                native: true,
                ..Udp::default()
            },
        };
        let (sr, si) = s.map_or((ALL_PORTS, false), |(lo, hi, inv)| ((lo, hi), inv));
        let (dr, di) = d.map_or((ALL_PORTS, false), |(lo, hi, inv)| ((lo, hi), inv));
        u.tests.extend(native_port_tests(sr, si, dr, di));
        if let Some((lo, hi, inv)) = s {
            u.sport = (lo, hi);
            u.sport_inv |= inv;
        }
        if let Some((lo, hi, inv)) = d {
            u.dport = (lo, hi);
            u.dport_inv |= inv;
        }
        match pos {
            Some(i) => cx.matches[i] = Box::new(u),
            None => cx.matches.push(Box::new(u)),
        }
        Ok(n)
    }
}
