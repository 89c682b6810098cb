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

    fn decode_native(
        &self,
        exprs: &[Expr],
        _cx: &DecodeCx,
    ) -> Result<Option<(usize, Box<dyn Target>)>> {
        let Some(Expr::Log {
            group: Some(group),
            prefix,
            snaplen,
            qthreshold,
        }) = exprs.first()
        else {
            return Ok(None);
        };
        Ok(Some((
            1,
            Box::new(Nflog {
                group: *group,
                prefix: prefix.clone().unwrap_or_default(),
                size: *snaplen,
                threshold: qthreshold.unwrap_or(0),
            }),
        )))
    }
}
