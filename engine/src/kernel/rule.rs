//! A whole rule to nf_tables expressions and back: the fixed part (`-i`,
//! `-o`, `-p`, `-s`, `-d`, `-f`) as native expressions, each match through
//! its codec, the counter, the verdict or target, and the compat attribute,
//! in iptables-nft 1.8.9's order.

use super::expr::{
    CmpOp, Expr, ImmData, BASE_NETWORK, META_IIFNAME, META_L4PROTO, META_OIFNAME, NFT_GOTO,
    NFT_JUMP, NFT_RETURN, NF_ACCEPT, NF_DROP, REG_1, REG_VERDICT,
};
use super::msg::COMPAT_F_INV;
use super::xt::{self, DecodeCx, EncodeCx, SetIndex, XtBlob};
use super::{Error, Result};
use crate::iptables::parse::{parse, ParseEnv};
use crate::ruleset::{Counters, IpSpec, Net, Rule, RuleTarget, Verdict};
use std::net::Ipv4Addr;

/// A rule as the kernel gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub exprs: Vec<Expr>,
    /// NFTA_RULE_COMPAT: protocol and flags.
    pub compat: (u32, u32),
}

/// What `! -i +` compares the name with: no interface has it.
const INVALID_IFACE: &[u8] = b"INVAL/D\0";

fn iface(cx: &mut EncodeCx, key: u32, name: &str, inv: bool) {
    if name.is_empty() {
        return;
    }
    cx.meta(key);
    if name == "+" && inv {
        // iptables-nft's stand-in for "no interface at all".
        cx.cmp(CmpOp::Eq, INVALID_IFACE);
        return;
    }
    match name.strip_suffix('+') {
        Some(prefix) => {
            if !prefix.is_empty() {
                cx.cmp(CmpOp::eq(inv), prefix.as_bytes());
            }
        }
        None => {
            let mut v = name.as_bytes().to_vec();
            v.push(0);
            cx.cmp(CmpOp::eq(inv), &v);
        }
    }
}

/// `add_addr`: only the bytes a byte-aligned prefix covers, else all four
/// with a mask.
fn addr(cx: &mut EncodeCx, offset: u32, net: Net, inv: bool) {
    let m = net.mask.to_be_bytes();
    let data = (u32::from(net.addr) & net.mask).to_be_bytes();
    let first = m.iter().position(|b| *b != 0xff).unwrap_or(4);
    let bitwise = m[first..].iter().any(|b| *b != 0);
    let len = if bitwise { 4 } else { first };
    cx.payload(BASE_NETWORK, offset, len as u32);
    if bitwise {
        cx.bitwise(&m);
    }
    cx.cmp(CmpOp::eq(inv), &data[..len]);
}

fn verdict(code: i32, chain: Option<&str>) -> Expr {
    Expr::Immediate {
        dreg: REG_VERDICT,
        data: ImmData::Verdict {
            code,
            chain: chain.map(str::to_string),
        },
    }
}

/// The expressions of `rule` in `table`; counters carried only if `counters`.
pub fn encode_rule(sets: &SetIndex, table: &str, rule: &Rule, counters: bool) -> Result<Encoded> {
    let ip = &rule.ip;
    let mut cx = EncodeCx {
        table,
        ip,
        exprs: Vec::new(),
        sets,
    };
    iface(&mut cx, META_IIFNAME, &ip.in_iface, ip.in_inv);
    iface(&mut cx, META_OIFNAME, &ip.out_iface, ip.out_inv);
    if ip.proto != 0 {
        cx.meta(META_L4PROTO);
        cx.cmp(CmpOp::eq(ip.proto_inv), &[ip.proto]);
    }
    if !ip.src.addr.is_unspecified() || ip.src.mask != 0 || ip.src_inv {
        addr(&mut cx, 12, ip.src, ip.src_inv);
    }
    if !ip.dst.addr.is_unspecified() || ip.dst.mask != 0 || ip.dst_inv {
        addr(&mut cx, 16, ip.dst, ip.dst_inv);
    }
    if ip.frag {
        cx.payload(BASE_NETWORK, 6, 2);
        cx.bitwise(&[0x1f, 0xff]);
        cx.cmp(if ip.frag_inv { CmpOp::Eq } else { CmpOp::Neq }, &[0, 0]);
    }
    for m in &rule.matches {
        let name = m.info().name;
        let codec = xt::match_codec(name).ok_or_else(|| {
            Error::Unsupported(format!("match {name} has no kernel encoding yet"))
        })?;
        codec.encode(m.as_ref(), &mut cx)?;
    }
    let (bytes, packets) = if counters {
        (rule.counters.bytes, rule.counters.packets)
    } else {
        (0, 0)
    };
    cx.push(Expr::Counter { bytes, packets });
    match &rule.target {
        RuleTarget::None => {}
        RuleTarget::Verdict(v) => cx.push(verdict(
            match v {
                Verdict::Accept => NF_ACCEPT,
                Verdict::Drop => NF_DROP,
                Verdict::Return => NFT_RETURN,
            },
            None,
        )),
        RuleTarget::Jump(c) => cx.push(verdict(NFT_JUMP, Some(c))),
        RuleTarget::Goto(c) => cx.push(verdict(NFT_GOTO, Some(c))),
        RuleTarget::Ext(t) => {
            let name = t.info().name;
            let codec = xt::target_codec(name).ok_or_else(|| {
                Error::Unsupported(format!("target {name} has no kernel encoding yet"))
            })?;
            codec.encode(t.as_ref(), &mut cx)?;
        }
    }
    let compat = (ip.proto as u32, if ip.proto_inv { COMPAT_F_INV } else { 0 });
    Ok(Encoded {
        exprs: cx.exprs,
        compat,
    })
}

fn cmp_at(exprs: &[Expr], i: usize) -> Option<(CmpOp, &[u8])> {
    match exprs.get(i) {
        Some(Expr::Cmp { sreg, op, data }) if *sreg == REG_1 => Some((*op, data)),
        _ => None,
    }
}

fn eq_or_neq(op: CmpOp) -> Option<bool> {
    match op {
        CmpOp::Eq => Some(false),
        CmpOp::Neq => Some(true),
        _ => None,
    }
}

/// Reads the fixed part at `exprs[i..]`: the number of expressions used.
pub(super) fn decode_fixed(exprs: &[Expr], i: usize, ip: &mut IpSpec) -> Option<usize> {
    match &exprs[i] {
        Expr::Meta { key, dreg: REG_1 } if *key == META_IIFNAME || *key == META_OIFNAME => {
            let (name, inv, n) = match cmp_at(exprs, i + 1) {
                Some((CmpOp::Eq, data)) if data == INVALID_IFACE => ("+".to_string(), true, 2),
                Some((op, data)) => {
                    let inv = eq_or_neq(op)?;
                    let name = match data.split_last() {
                        Some((0, rest)) => String::from_utf8_lossy(rest).into_owned(),
                        _ => format!("{}+", String::from_utf8_lossy(data)),
                    };
                    (name, inv, 2)
                }
                None => ("+".to_string(), false, 1),
            };
            if *key == META_IIFNAME {
                ip.in_iface = name;
                ip.in_inv = inv;
            } else {
                ip.out_iface = name;
                ip.out_inv = inv;
            }
            Some(n)
        }
        Expr::Meta {
            key: META_L4PROTO,
            dreg: REG_1,
        } => {
            let (op, data) = cmp_at(exprs, i + 1)?;
            let [p] = data else { return None };
            ip.proto = *p;
            ip.proto_inv = eq_or_neq(op)?;
            Some(2)
        }
        Expr::Payload {
            dreg: REG_1,
            base: BASE_NETWORK,
            offset: 6,
            len: 2,
        } => {
            let Some(Expr::Bitwise { mask, xor, .. }) = exprs.get(i + 1) else {
                return None;
            };
            let (op, data) = cmp_at(exprs, i + 2)?;
            if mask[..] != [0x1f, 0xff] || xor.iter().any(|b| *b != 0) || data != [0, 0] {
                return None;
            }
            ip.frag = true;
            ip.frag_inv = !eq_or_neq(op)?;
            Some(3)
        }
        Expr::Payload {
            dreg: REG_1,
            base: BASE_NETWORK,
            offset: off @ (12 | 16),
            len,
        } if *len <= 4 => {
            let len = *len as usize;
            let (mask, n) = match exprs.get(i + 1) {
                Some(Expr::Bitwise { mask, xor, .. })
                    if mask.len() == len && xor.iter().all(|b| *b == 0) =>
                {
                    (mask.clone(), 2)
                }
                _ => (vec![0xff; len], 1),
            };
            let (op, data) = cmp_at(exprs, i + n)?;
            if data.len() != len {
                return None;
            }
            let mut a = [0u8; 4];
            a[..len].copy_from_slice(data);
            let mut m = [0u8; 4];
            m[..len].copy_from_slice(&mask);
            let net = Net {
                addr: Ipv4Addr::from(a),
                mask: u32::from_be_bytes(m),
            };
            let inv = eq_or_neq(op)?;
            if *off == 12 {
                ip.src = net;
                ip.src_inv = inv;
            } else {
                ip.dst = net;
                ip.dst_inv = inv;
            }
            Some(n + 1)
        }
        _ => None,
    }
}

/// The words of `-p`: what protocol-dependent extensions parse against.
fn proto_words(ip: &IpSpec, argv: &mut Vec<String>) {
    if ip.proto != 0 {
        if ip.proto_inv {
            argv.push("!".into());
        }
        argv.push("-p".into());
        argv.push(ip.proto.to_string());
    }
}

/// The engine rule a kernel rule stands for, as iptables-nft 1.8.9 reads
/// it; an error names what cannot be represented.
///
/// The fixed part and the verdict are read directly; every extension's
/// codec writes the words of an iptables command line, which the engine's
/// parser turns into the rule's matches and target: a decoded rule is
/// always one `iptables -A` could have made.
pub fn decode_rule(sets: &SetIndex, table: &str, exprs: &[Expr]) -> Result<Rule> {
    match super::plain::decode_plain(table, exprs) {
        Some(rule) => Ok(rule),
        None => decode_general(sets, table, exprs),
    }
}

/// The rule target an immediate verdict stands for (`-j ACCEPT`, `-j
/// CHAIN`, `-g CHAIN`...), if iptables can write it.
pub fn verdict_of(code: i32, chain: Option<&str>) -> Option<RuleTarget> {
    Some(match (code, chain) {
        (NF_ACCEPT, None) => RuleTarget::Verdict(Verdict::Accept),
        (NF_DROP, None) => RuleTarget::Verdict(Verdict::Drop),
        (NFT_RETURN, None) => RuleTarget::Verdict(Verdict::Return),
        (NFT_JUMP, Some(c)) => RuleTarget::Jump(c.to_string()),
        (NFT_GOTO, Some(c)) => RuleTarget::Goto(c.to_string()),
        _ => return None,
    })
}

/// [`decode_rule`] for any rule: the codecs' words through the parser.
pub fn decode_general(sets: &SetIndex, table: &str, exprs: &[Expr]) -> Result<Rule> {
    let mut ip = IpSpec::default();
    let mut words: Vec<String> = Vec::new();
    let mut target_at: Option<usize> = None;
    let mut verdict_target = RuleTarget::None;
    let mut counters = Counters::default();
    let mut i = 0;
    while i < exprs.len() {
        if target_at.is_none() {
            if let Some(n) = decode_fixed(exprs, i, &mut ip) {
                i += n;
                continue;
            }
        }
        match &exprs[i] {
            Expr::Counter { bytes, packets } => {
                counters = Counters {
                    packets: *packets,
                    bytes: *bytes,
                };
                i += 1;
                continue;
            }
            Expr::Immediate {
                dreg: REG_VERDICT,
                data: ImmData::Verdict { code, chain },
            } => {
                verdict_target = verdict_of(*code, chain.as_deref())
                    .ok_or_else(|| Error::Unsupported(format!("verdict code {code}")))?;
                i += 1;
                continue;
            }
            _ => {}
        }
        if target_at.is_some() {
            return Err(Error::Unsupported(format!(
                "expression `{}' after the target",
                exprs[i].name()
            )));
        }
        let mut cx = DecodeCx {
            table,
            ip: &ip,
            words: &mut words,
            sets,
        };
        match &exprs[i] {
            Expr::Match { name, rev, info } => {
                let codec = xt::match_codec_xt(name)
                    .ok_or_else(|| Error::Unsupported(format!("match {name}")))?;
                codec.decode_xt(
                    &XtBlob {
                        name,
                        rev: *rev,
                        info,
                    },
                    &mut cx,
                )?;
                i += 1;
                continue;
            }
            Expr::Target { name, rev, info } => {
                let codec = xt::target_codec_xt(name)
                    .ok_or_else(|| Error::Unsupported(format!("target {name}")))?;
                let at = cx.words.len();
                codec.decode_xt(
                    &XtBlob {
                        name,
                        rev: *rev,
                        info,
                    },
                    &mut cx,
                )?;
                target_at = Some(at);
                i += 1;
                continue;
            }
            _ => {}
        }
        let mut used = 0;
        for codec in xt::match_codecs() {
            used = codec.decode_native(&exprs[i..], &mut cx)?;
            if used > 0 {
                break;
            }
        }
        if used == 0 {
            let at = cx.words.len();
            for codec in xt::target_codecs() {
                used = codec.decode_native(&exprs[i..], &mut cx)?;
                if used > 0 {
                    target_at = Some(at);
                    break;
                }
            }
        }
        if used == 0 {
            return Err(Error::Unsupported(format!(
                "expression `{}' at position {}",
                exprs[i].name(),
                i + 1
            )));
        }
        i += used;
    }
    let mut rule = if words.is_empty() {
        Rule {
            ip,
            matches: Vec::new(),
            target: RuleTarget::None,
            counters,
        }
    } else {
        let mut r = parse_words(sets, table, &ip, words)?;
        r.ip = ip;
        r.counters = counters;
        r
    };
    if target_at.is_none() {
        rule.target = verdict_target;
    } else if !matches!(verdict_target, RuleTarget::None) {
        return Err(Error::Unsupported("a target and a verdict".into()));
    }
    Ok(rule)
}

/// Builds the rule's extensions with the engine's parser from the words
/// the codecs wrote.
fn parse_words(sets: &SetIndex, table: &str, ip: &IpSpec, words: Vec<String>) -> Result<Rule> {
    let mut argv: Vec<String> = Vec::with_capacity(words.len() + 8);
    argv.extend(["iptables", "-t", table, "-A", "KERNEL"].map(String::from));
    proto_words(ip, &mut argv);
    argv.extend(words);
    let resolve = |_: &str| Vec::new();
    let set_ref = |name: &str| {
        sets.iter()
            .find(|(_, s)| s.name == name)
            .map(|(_, s)| s.clone())
    };
    let nfacct = |_: &str| true;
    let env = ParseEnv {
        resolve: &resolve,
        sets: &set_ref,
        nfacct: &nfacct,
        restore: false,
    };
    let refused = |msg: String| {
        Error::Unsupported(format!(
            "it reads back as `{}', which iptables refuses: {msg}",
            argv[5..].join(" ")
        ))
    };
    let mut p = parse(&argv, &env, &mut Vec::new()).map_err(|e| refused(e.msg))?;
    match p.rules.pop() {
        Some(r) if p.rules.is_empty() => Ok(r),
        _ => Err(refused("not one rule".into())),
    }
}

/// The expressions of a rule with its counter zeroed and without the
/// compat attribute (which the kernel does not keep): what two rules are
/// compared by.
pub fn identity(e: &Encoded) -> Encoded {
    let exprs = e
        .exprs
        .iter()
        .map(|x| match x {
            Expr::Counter { .. } => Expr::Counter {
                bytes: 0,
                packets: 0,
            },
            other => other.clone(),
        })
        .collect();
    Encoded {
        exprs,
        compat: (0, 0),
    }
}
