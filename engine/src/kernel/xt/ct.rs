//! `-j CT` and `-j NOTRACK`: compat `CT` target, revision 2 (struct
//! xt_ct_target_info_v1: flags, zone, event masks, helper and timeout
//! names; the kernel keeps a pointer after them). NOTRACK is CT with the
//! notrack-alias flag, which is how iptables-nft tells them apart.

use super::{
    get_cstr, get_u16, get_u32, put_u16, put_u32, DecodeCx, EncodeCx, TargetCodec, XtBlob,
};
use crate::ext::ct::Ct;
use crate::ext::Target;
use crate::kernel::{Error, Result};

pub struct CtCodec;
pub static CT: CtCodec = CtCodec;
pub struct NotrackCodec;
pub static NOTRACK: NotrackCodec = NotrackCodec;

const SIZE: usize = 72;
const REV: u32 = 2;
const F_NOTRACK: u16 = 1 << 0;
const F_NOTRACK_ALIAS: u16 = 1 << 1;
const F_ZONE_DIR_ORIG: u16 = 1 << 2;
const F_ZONE_DIR_REPL: u16 = 1 << 3;
const F_ZONE_MARK: u16 = 1 << 4;
// The engine's zone flags.
const E_ZONE_MARK: u8 = 1;
const E_ZONE_DIR_ORIG: u8 = 2;
const E_ZONE_DIR_REPL: u8 = 4;
const HELPER: usize = 12;
/// Event names by bit (`IPCT_*`, `IPEXP_*`).
const CT_EVENTS: [&str; 10] = [
    "new",
    "related",
    "destroy",
    "reply",
    "assured",
    "protoinfo",
    "helper",
    "mark",
    "natseqinfo",
    "secmark",
];
const EXP_EVENTS: [&str; 1] = ["new"];
const TIMEOUT: usize = 28;

fn encode_ct(c: &Ct) -> Vec<u8> {
    let mut v = vec![0u8; SIZE];
    let mut flags = 0;
    if c.notrack {
        flags |= F_NOTRACK;
    }
    for (e, k) in [
        (E_ZONE_MARK, F_ZONE_MARK),
        (E_ZONE_DIR_ORIG, F_ZONE_DIR_ORIG),
        (E_ZONE_DIR_REPL, F_ZONE_DIR_REPL),
    ] {
        if c.zone_flags & e != 0 {
            flags |= k;
        }
    }
    put_u16(&mut v, 0, flags);
    put_u16(&mut v, 2, c.zone);
    put_u32(&mut v, 4, c.ct_events);
    put_u32(&mut v, 8, c.exp_events);
    let h = c.helper.as_bytes();
    let n = h.len().min(15);
    v[HELPER..HELPER + n].copy_from_slice(&h[..n]);
    let t = c.timeout.as_bytes();
    let n = t.len().min(31);
    v[TIMEOUT..TIMEOUT + n].copy_from_slice(&t[..n]);
    v
}

impl TargetCodec for CtCodec {
    fn name(&self) -> &'static str {
        "CT"
    }
    fn encode(&self, t: &dyn Target, cx: &mut super::EncodeCx) -> Result<()> {
        let c = t
            .as_any()
            .downcast_ref::<Ct>()
            .ok_or_else(|| Error::Unsupported("CT: unexpected type".into()))?;
        cx.xt_target("CT", REV, encode_ct(c));
        Ok(())
    }
    fn xt_names(&self) -> &'static [&'static str] {
        &["CT"]
    }
    fn user_size(&self, _xt_name: &str, _rev: u32) -> Option<usize> {
        // The kernel's template pointer follows the names.
        Some(64)
    }
    fn decode_xt(&self, blob: &XtBlob, cx: &mut DecodeCx) -> Result<()> {
        let d = blob.data(REV, SIZE)?;
        let flags = get_u16(d, 0);
        if flags & F_NOTRACK_ALIAS != 0 {
            cx.j("NOTRACK");
            return Ok(());
        }
        let known = F_NOTRACK | F_ZONE_DIR_ORIG | F_ZONE_DIR_REPL | F_ZONE_MARK;
        if flags & !known != 0 {
            return Err(Error::Unsupported(format!("CT flags {flags:#x}")));
        }
        cx.j("CT");
        if flags & F_NOTRACK != 0 {
            cx.flag(false, "--notrack");
        }
        let helper = get_cstr(&d[HELPER..HELPER + 16]);
        if !helper.is_empty() {
            cx.opt(false, "--helper", helper);
        }
        let timeout = get_cstr(&d[TIMEOUT..TIMEOUT + 32]);
        if !timeout.is_empty() {
            cx.opt(false, "--timeout", timeout);
        }
        for (opt, mask, names) in [
            ("--ctevents", get_u32(d, 4), &CT_EVENTS[..]),
            ("--expevents", get_u32(d, 8), &EXP_EVENTS[..]),
        ] {
            if mask != 0 {
                if mask >> names.len() != 0 {
                    return Err(Error::Unsupported(format!("CT {opt} {mask:#x}")));
                }
                let list: Vec<&str> = names
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, n)| *n)
                    .collect();
                cx.opt(false, opt, list.join(","));
            }
        }
        let zone = get_u16(d, 2);
        if flags & F_ZONE_MARK != 0 || zone != 0 {
            let value = if flags & F_ZONE_MARK != 0 {
                "mark".to_string()
            } else {
                zone.to_string()
            };
            let (orig, repl) = (flags & F_ZONE_DIR_ORIG != 0, flags & F_ZONE_DIR_REPL != 0);
            if orig {
                cx.opt(false, "--zone-orig", &value);
            }
            if repl {
                cx.opt(false, "--zone-reply", &value);
            }
            if !orig && !repl {
                cx.opt(false, "--zone", &value);
            }
        }
        Ok(())
    }
}

impl TargetCodec for NotrackCodec {
    fn name(&self) -> &'static str {
        "NOTRACK"
    }
    fn encode(&self, _t: &dyn Target, cx: &mut EncodeCx) -> Result<()> {
        let mut v = vec![0u8; SIZE];
        put_u16(&mut v, 0, F_NOTRACK | F_NOTRACK_ALIAS);
        cx.xt_target("CT", REV, v);
        Ok(())
    }
}
