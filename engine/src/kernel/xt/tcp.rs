//! `-m tcp`: ports and flags as native payload expressions; `--tcp-option`
//! and blank matches as the compat `tcp` match (revision 0, struct xt_tcp).

use super::{decode_ports, encode_ports, get_u16, put_u16, DecodeCx, EncodeCx, MatchCodec, XtBlob};
use crate::ext::tcp::Tcp;
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

/// `FIN,SYN,...` as `--tcp-flags` takes them.
fn flag_names(f: u8) -> Result<String> {
    const NAMES: [&str; 6] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG"];
    if f & 0xc0 != 0 {
        return Err(Error::Unsupported(format!("tcp flags {f:#x}")));
    }
    if f == 0 {
        return Ok("NONE".into());
    }
    let list: Vec<&str> = NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| f & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    Ok(list.join(","))
}

/// `LO` or `LO:HI`.
pub(crate) fn ports_text(lo: u16, hi: u16) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}:{hi}")
    }
}

/// Port tests read from native expressions as `[!] --sport P [!] --dport P`.
pub(crate) fn port_words(
    cx: &mut DecodeCx,
    s: Option<(u16, u16, bool)>,
    d: Option<(u16, u16, bool)>,
) {
    for (t, opt) in [(s, "--sport"), (d, "--dport")] {
        if let Some((lo, hi, inv)) = t {
            cx.opt(inv, opt, ports_text(lo, hi));
        }
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
        let inv = d[11];
        if inv & !(INV_SRCPT | INV_DSTPT | INV_FLAGS | INV_OPTION) != 0 {
            return Err(Error::Unsupported(format!("tcp inversion flags {inv:#x}")));
        }
        cx.m("tcp");
        for (off, bit, opt) in [(0, INV_SRCPT, "--sport"), (4, INV_DSTPT, "--dport")] {
            let (lo, hi) = (get_u16(d, off), get_u16(d, off + 2));
            if (lo, hi) != (0, u16::MAX) || inv & bit != 0 {
                cx.opt(inv & bit != 0, opt, ports_text(lo, hi));
            }
        }
        if d[8] != 0 || inv & INV_OPTION != 0 {
            cx.opt(inv & INV_OPTION != 0, "--tcp-option", d[8]);
        }
        if d[9] != 0 || inv & INV_FLAGS != 0 {
            cx.flag(inv & INV_FLAGS != 0, "--tcp-flags")
                .word(flag_names(d[9])?)
                .word(flag_names(d[10])?);
        }
        Ok(())
    }

    fn decode_native(&self, exprs: &[Expr], cx: &mut DecodeCx) -> Result<usize> {
        if cx.ip.proto != 6 {
            return Ok(0);
        }
        // iptables-nft folds every native tcp expression into one match;
        // the parser does the same with the words of each.
        if let Some((n, s, d)) = decode_ports(exprs) {
            cx.m("tcp");
            port_words(cx, s, d);
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
                cx.m("tcp")
                    .flag(*op == CmpOp::Neq, "--tcp-flags")
                    .word(flag_names(mask[0])?)
                    .word(flag_names(data[0])?);
                return Ok(3);
            }
        }
        Ok(0)
    }
}
