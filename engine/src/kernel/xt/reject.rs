//! `-j REJECT`: compat `REJECT` target, revision 0 (struct
//! ipt_reject_info: the reply kind as `enum ipt_reject_with`).

use super::{get_u32, put_u32, DecodeCx, EncodeCx, XtTarget};
use crate::ext::reject::{Reject, RejectWith};
use crate::ext::Target;
use crate::kernel::{Error, Result};

const KINDS: [(RejectWith, u32); 8] = [
    (RejectWith::NetUnreachable, 0),
    (RejectWith::HostUnreachable, 1),
    (RejectWith::ProtoUnreachable, 2),
    (RejectWith::PortUnreachable, 3),
    (RejectWith::NetProhibited, 5),
    (RejectWith::HostProhibited, 6),
    (RejectWith::TcpReset, 7),
    (RejectWith::AdminProhibited, 8),
];

fn encode(t: &Reject, _cx: &EncodeCx) -> Result<Vec<u8>> {
    let k = KINDS
        .iter()
        .find(|(w, _)| *w == t.with)
        .map_or(3, |(_, k)| *k);
    let mut v = vec![0u8; 4];
    put_u32(&mut v, 0, k);
    Ok(v)
}

fn decode(d: &[u8], _cx: &DecodeCx) -> Result<Box<dyn Target>> {
    let k = get_u32(d, 0);
    let with = KINDS
        .iter()
        .find(|(_, n)| *n == k)
        .map(|(w, _)| *w)
        .ok_or_else(|| Error::Unsupported(format!("REJECT kind {k}")))?;
    Ok(Box::new(Reject { with }))
}

pub static CODEC: XtTarget<Reject> = XtTarget {
    name: "REJECT",
    xt_name: &["REJECT"],
    rev: 0,
    size: 4,
    encode,
    decode,
};
