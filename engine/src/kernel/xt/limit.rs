//! `-m limit`: the native `limit` expression (packets per unit of seconds).

use super::{DecodeCx, EncodeCx, MatchCodec};
use crate::ext::limit::{Limit, SCALE};
use crate::ext::Match;
use crate::kernel::expr::Expr;
use crate::kernel::{Error, Result};

pub struct Codec;
pub static CODEC: Codec = Codec;

impl MatchCodec for Codec {
    fn name(&self) -> &'static str {
        "limit"
    }

    fn encode(&self, m: &dyn Match, cx: &mut EncodeCx) -> Result<()> {
        let l = m
            .as_any()
            .downcast_ref::<Limit>()
            .ok_or_else(|| Error::Unsupported("limit: unexpected type".into()))?;
        let (rate, unit) = l.nft_rate();
        cx.push(Expr::Limit {
            rate,
            unit,
            burst: l.burst,
            kind: 0,
            flags: 0,
        });
        Ok(())
    }

    fn decode_native(&self, exprs: &[Expr], cx: &mut DecodeCx) -> Result<usize> {
        let Some(Expr::Limit {
            rate,
            unit,
            burst,
            kind: 0,
            flags: 0,
        }) = exprs.first()
        else {
            return Ok(0);
        };
        // What iptables-nft computes back: the average period in 1/10000 s.
        let avg = (SCALE as u64 * unit).checked_div(*rate).unwrap_or(0);
        let avg = u32::try_from(avg)
            .map_err(|_| Error::Unsupported(format!("limit rate {rate}/{unit}s")))?;
        cx.matches.push(Box::new(Limit {
            avg,
            burst: *burst,
            ..Limit::default()
        }));
        Ok(1)
    }
}
