//! `-m mark`: native `meta load mark`, a bitwise mask unless it is all
//! ones, and a compare (host byte order, as the kernel keeps the mark).

use super::{DecodeCx, EncodeCx, MatchCodec};
use crate::ext::mark::MarkMatch;
use crate::ext::Match;
use crate::kernel::expr::{CmpOp, Expr, META_MARK, REG_1};
use crate::kernel::{Error, Result};

pub struct Codec;
pub static CODEC: Codec = Codec;

impl MatchCodec for Codec {
    fn name(&self) -> &'static str {
        "mark"
    }

    fn encode(&self, m: &dyn Match, cx: &mut EncodeCx) -> Result<()> {
        let m = m
            .as_any()
            .downcast_ref::<MarkMatch>()
            .ok_or_else(|| Error::Unsupported("mark: unexpected type".into()))?;
        cx.meta(META_MARK);
        if m.mask != u32::MAX {
            cx.bitwise(&m.mask.to_ne_bytes());
        }
        cx.cmp(CmpOp::eq(m.inv), &m.mark.to_ne_bytes());
        Ok(())
    }

    fn decode_native(&self, exprs: &[Expr], cx: &mut DecodeCx) -> Result<usize> {
        let [Expr::Meta {
            key: META_MARK,
            dreg: REG_1,
        }, rest @ ..] = exprs
        else {
            return Ok(0);
        };
        let word = |d: &[u8]| -> Option<u32> { Some(u32::from_ne_bytes(d.try_into().ok()?)) };
        let (mask, n, cmp) = match rest {
            [Expr::Bitwise { mask, xor, .. }, c @ Expr::Cmp { .. }, ..]
                if xor.iter().all(|b| *b == 0) =>
            {
                match word(mask) {
                    Some(m) => (m, 3, c),
                    None => return Ok(0),
                }
            }
            [c @ Expr::Cmp { .. }, ..] => (u32::MAX, 2, c),
            _ => return Ok(0),
        };
        let Expr::Cmp { op, data, .. } = cmp else {
            return Ok(0);
        };
        let Some(mark) = word(data) else {
            return Ok(0);
        };
        if !matches!(op, CmpOp::Eq | CmpOp::Neq) {
            return Ok(0);
        }
        cx.m("mark")
            .opt(*op == CmpOp::Neq, "--mark", format!("{mark:#x}/{mask:#x}"));
        Ok(n)
    }
}
