//! `-j NFLOG`: the native `log` expression to a netlink group (prefix,
//! group, snap length, queue threshold), as iptables-nft 1.8.9 builds it.

use super::{DecodeCx, EncodeCx, TargetCodec};
use crate::ext::nflog::Nflog;
use crate::ext::Target;
use crate::kernel::expr::Expr;
use crate::kernel::{Error, Result};

pub struct Codec;
pub static CODEC: Codec = Codec;

impl TargetCodec for Codec {
    fn name(&self) -> &'static str {
        "NFLOG"
    }

    fn encode(&self, t: &dyn Target, cx: &mut EncodeCx) -> Result<()> {
        let n = t
            .as_any()
            .downcast_ref::<Nflog>()
            .ok_or_else(|| Error::Unsupported("NFLOG: unexpected type".into()))?;
        cx.push(Expr::Log {
            group: Some(n.group),
            prefix: (!n.prefix.is_empty()).then(|| n.prefix.clone()),
            snaplen: n.size,
            qthreshold: (n.threshold != 0).then_some(n.threshold),
        });
        Ok(())
    }

    fn decode_native(&self, exprs: &[Expr], cx: &mut DecodeCx) -> Result<usize> {
        let Some(Expr::Log {
            group: Some(group),
            prefix,
            snaplen,
            qthreshold,
        }) = exprs.first()
        else {
            return Ok(0);
        };
        cx.j("NFLOG").opt(false, "--nflog-group", group);
        if let Some(p) = prefix {
            cx.opt(false, "--nflog-prefix", p);
        }
        if let Some(s) = snaplen {
            cx.opt(false, "--nflog-size", s);
        }
        if let Some(q) = qthreshold {
            cx.opt(false, "--nflog-threshold", q);
        }
        Ok(1)
    }
}
