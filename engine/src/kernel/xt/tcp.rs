//! `-m tcp`: ports and flags as native payload expressions; `--tcp-option`
//! and blank matches as the compat `tcp` match (revision 0, struct xt_tcp).

use super::{decode_ports, encode_ports, get_u16, put_u16, DecodeCx, EncodeCx, MatchCodec, XtBlob};
use crate::ext::tcp::Tcp;
use crate::ext::tcp::{native_port_tests, NativeTest};
use crate::ext::xtopt::ALL_PORTS;
use crate::ext::Match;
use crate::kernel::expr::{CmpOp, Expr, BASE_TRANSPORT, REG_1};
use crate::kernel::{Error, Result};

pub struct Codec;
pub static CODEC: Codec = Codec;

const INV_SRCPT: u8 = 0x01;
const INV_DSTPT: u8 = 0x02;
const INV_FLAGS: u8 = 0x04;
const INV_OPTION: u8 = 0x08;
const SIZE: usize = 12;

fn xt_bytes(t: &Tcp) -> Vec<u8> {
    let mut v = vec![0u8; SIZE];
    put_u16(&mut v, 0, t.sport.0);
    put_u16(&mut v, 2, t.sport.1);
    put_u16(&mut v, 4, t.dport.0);
    put_u16(&mut v, 6, t.dport.1);
    v[8] = t.option;
    v[9] = t.flg_mask;
    v[10] = t.flg_cmp;
    v[11] = (t.sport_inv as u8 * INV_SRCPT)
        | (t.dport_inv as u8 * INV_DSTPT)
        | (t.flags_inv as u8 * INV_FLAGS)
        | (t.option_inv as u8 * INV_OPTION);
    v
}

/// The native tcp match of the rule, created at the end if there is none
/// yet: iptables-nft folds every native tcp expression into the first one.
fn with_native(cx: &mut DecodeCx, f: impl FnOnce(&mut Tcp)) {
    let pos = cx
        .matches
        .iter()
        .position(|m| m.as_any().downcast_ref::<Tcp>().is_some_and(|t| t.native));
    let mut t = match pos.and_then(|i| cx.matches[i].as_any().downcast_ref::<Tcp>()) {
        Some(t) => t.clone(),
        None => {
            let mut t = Tcp::default();
            t.native = true;
            t
        }
    };
    f(&mut t);
    match pos {
        Some(i) => cx.matches[i] = Box::new(t),
        None => cx.matches.push(Box::new(t)),
    }
}

impl MatchCodec for Codec {
    fn name(&self) -> &'static str {
        "tcp"
    }

    fn encode(&self, m: &dyn Match, cx: &mut EncodeCx) -> Result<()> {
        let t = m
            .as_any()
            .downcast_ref::<Tcp>()
            .ok_or_else(|| Error::Unsupported("tcp: unexpected type".into()))?;
        if !t.native {
            cx.xt_match("tcp", 0, xt_bytes(t));
            return Ok(());
        }
        if t.flg_mask != 0 {
            cx.payload(BASE_TRANSPORT, 13, 1);
            cx.bitwise(&[t.flg_mask]);
            cx.cmp(CmpOp::eq(t.flags_inv), &[t.flg_cmp]);
        }
        encode_ports(cx, t.sport, t.sport_inv, t.dport, t.dport_inv);
        Ok(())
    }

    fn xt_names(&self) -> &'static [&'static str] {
        &["tcp"]
    }

    fn decode_xt(&self, blob: &XtBlob, cx: &mut DecodeCx) -> Result<()> {
        let d = blob.data(0, SIZE)?;
        let mut t = Tcp::default();
        t.sport = (get_u16(d, 0), get_u16(d, 2));
        t.dport = (get_u16(d, 4), get_u16(d, 6));
        t.option = d[8];
        t.flg_mask = d[9];
        t.flg_cmp = d[10];
        t.sport_inv = d[11] & INV_SRCPT != 0;
        t.dport_inv = d[11] & INV_DSTPT != 0;
        t.flags_inv = d[11] & INV_FLAGS != 0;
        t.option_inv = d[11] & INV_OPTION != 0;
        cx.matches.push(Box::new(t));
        Ok(())
    }

    fn decode_native(&self, exprs: &[Expr], cx: &mut DecodeCx) -> Result<usize> {
        if cx.ip.proto != 6 {
            return Ok(0);
        }
        if let Some((n, s, d)) = decode_ports(exprs) {
            with_native(cx, |t| {
                let (sr, si) = s.map_or((ALL_PORTS, false), |(lo, hi, inv)| ((lo, hi), inv));
                let (dr, di) = d.map_or((ALL_PORTS, false), |(lo, hi, inv)| ((lo, hi), inv));
                t.tests.extend(native_port_tests(sr, si, dr, di));
                if let Some((lo, hi, inv)) = s {
                    t.sport = (lo, hi);
                    t.sport_inv |= inv;
                }
                if let Some((lo, hi, inv)) = d {
                    t.dport = (lo, hi);
                    t.dport_inv |= inv;
                }
            });
            return Ok(n);
        }
        // Flags: payload 1 byte @ 13, bitwise mask, cmp.
        if let [Expr::Payload {
            dreg: REG_1,
            base: BASE_TRANSPORT,
            offset: 13,
            len: 1,
        }, Expr::Bitwise { mask, xor, .. }, Expr::Cmp { op, data, .. }, ..] = exprs
        {
            if mask.len() == 1
                && data.len() == 1
                && xor.iter().all(|b| *b == 0)
                && matches!(op, CmpOp::Eq | CmpOp::Neq)
            {
                let (m, c, inv) = (mask[0], data[0], *op == CmpOp::Neq);
                with_native(cx, |t| {
                    t.tests.push(NativeTest::Flags {
                        mask: m,
                        cmp: c,
                        inv,
                    });
                    t.flg_mask = m;
                    t.flg_cmp = c;
                    t.flags_inv |= inv;
                });
                return Ok(3);
            }
        }
        Ok(0)
    }
}
