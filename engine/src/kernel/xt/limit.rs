//! `-m limit`: the native `limit` expression (packets per unit of seconds).

use super::{DecodeCx, EncodeCx, MatchCodec};
use crate::ext::limit::Limit;
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
        // iptables-nft reads the average period back as SCALE * unit / rate,
        // which is what `--limit RATE/UNIT` gives.
        let name = match unit {
            1 => "second",
            60 => "minute",
            3600 => "hour",
            86400 => "day",
            _ => return Err(Error::Unsupported(format!("limit unit of {unit} seconds"))),
        };
        if *rate == 0 || *rate > u32::MAX as u64 {
            return Err(Error::Unsupported(format!("limit rate {rate}/{name}")));
        }
        cx.m("limit")
            .opt(false, "--limit", format!("{rate}/{name}"))
            .opt(false, "--limit-burst", burst);
        Ok(1)
    }
}
