//! `-j REJECT`: compat `REJECT` target, revision 0 (struct
//! ipt_reject_info: the reply kind as `enum ipt_reject_with`).

use super::{get_u32, put_u32, DecodeCx, EncodeCx, XtTarget};
use crate::ext::reject::{Reject, RejectWith};
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

/// `--reject-with` names by `enum ipt_reject_with`.
const NAMES: [(u32, &str); 8] = [
    (0, "icmp-net-unreachable"),
    (1, "icmp-host-unreachable"),
    (2, "icmp-proto-unreachable"),
    (3, "icmp-port-unreachable"),
    (5, "icmp-net-prohibited"),
    (6, "icmp-host-prohibited"),
    (7, "tcp-reset"),
    (8, "icmp-admin-prohibited"),
];

fn decode(d: &[u8], cx: &mut DecodeCx) -> Result<()> {
    let k = get_u32(d, 0);
    let name = NAMES
        .iter()
        .find(|(n, _)| *n == k)
        .map(|(_, w)| *w)
        .ok_or_else(|| Error::Unsupported(format!("REJECT kind {k}")))?;
    cx.opt(false, "--reject-with", name);
    Ok(())
}

pub static CODEC: XtTarget<Reject> = XtTarget {
    name: "REJECT",
    xt_name: &["REJECT"],
    rev: 0,
    size: 4,
    user: 4,
    encode,
    decode,
};
