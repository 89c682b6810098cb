//! The rules a live ruleset is mostly made of, read straight into engine
//! rules: the fixed part, the counter, a verdict, comments, a single tcp
//! port, a random `statistic` and a one-address `DNAT` (kube-proxy's rules).
//! [`super::rule::decode_rule`] tries this first; anything else (or any
//! value the general path might read otherwise) goes the general way, whose
//! result this must equal (`plain_equals_general` tests check it on every
//! captured rule and corpus file).

use super::expr::{CmpOp, Expr, ImmData, BASE_TRANSPORT, REG_1, REG_VERDICT};
use super::rule::decode_fixed;
use crate::ext::comment::Comment;
use crate::ext::dnat::Dnat;
use crate::ext::statistic::{Mode, Statistic};
use crate::ext::tcp::{NativeTest, Tcp};
use crate::ext::{Match, Target};
use crate::ruleset::{Counters, IpSpec, Rule, RuleTarget};
use std::net::Ipv4Addr;

/// The rule `exprs` stand for, when they are of the plain kind; `None`
/// otherwise (not an error: the general path decides).
pub fn decode_plain(table: &str, exprs: &[Expr]) -> Option<Rule> {
    let mut ip = IpSpec::default();
    let mut matches: Vec<Box<dyn Match>> = Vec::new();
    let mut verdict = RuleTarget::None;
    let mut target: Option<Box<dyn Target>> = None;
    let mut counters = Counters::default();
    let mut tcp_seen = false;
    let mut i = 0;
    while i < exprs.len() {
        if target.is_none() {
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
            }
            Expr::Immediate {
                dreg: REG_VERDICT,
                data: ImmData::Verdict { code, chain },
            } if target.is_none() => {
                verdict = super::rule::verdict_of(*code, chain.as_deref())?;
            }
            _ if target.is_some() => return None,
            Expr::Match { name, rev, info } => {
                matches.push(match (name.as_str(), *rev) {
                    ("comment", 0) => Box::new(comment(info)?),
                    ("statistic", 0) => Box::new(statistic(info)?),
                    ("tcp", 0) if blank_tcp(&ip, info) => Box::new(Tcp::default()),
                    _ => return None,
                });
            }
            Expr::Target { name, rev: 2, info } if name == "DNAT" => {
                if !matches!(verdict, RuleTarget::None) || table != "nat" || ip.proto != 6 {
                    return None;
                }
                target = Some(Box::new(dnat(info)?));
            }
            Expr::Payload {
                dreg: REG_1,
                base: BASE_TRANSPORT,
                offset: offset @ (0 | 2),
                len: 2,
            } if ip.proto == 6 && !ip.proto_inv && !tcp_seen => {
                // One native tcp port compare: what iptables-nft reads back
                // from `--sport P` or `--dport P`.
                let Some(Expr::Cmp {
                    sreg: REG_1,
                    op,
                    data,
                }) = exprs.get(i + 1)
                else {
                    return None;
                };
                let inv = match op {
                    CmpOp::Eq => false,
                    CmpOp::Neq => true,
                    _ => return None,
                };
                let port = u16::from_be_bytes(data.as_slice().try_into().ok()?);
                let mut t = Tcp::default();
                t.native = true;
                if *offset == 0 {
                    t.sport = (port, port);
                    t.sport_inv = inv;
                    t.tests = vec![NativeTest::Sport((port, port), inv)];
                } else {
                    t.dport = (port, port);
                    t.dport_inv = inv;
                    t.tests = vec![NativeTest::Dport((port, port), inv)];
                }
                matches.push(Box::new(t));
                tcp_seen = true;
                i += 2;
                continue;
            }
            _ => return None,
        }
        i += 1;
    }
    let target = match target {
        Some(t) => RuleTarget::Ext(t),
        None => verdict,
    };
    Some(Rule {
        ip,
        matches,
        target,
        counters,
    })
}

/// `-m comment`: the text up to its NUL, when it is one the parser takes
/// as it is.
fn comment(info: &[u8]) -> Option<Comment> {
    let field = info.get(..256)?.get(..255)?;
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    let text = std::str::from_utf8(&field[..end]).ok()?;
    if text.is_empty() || text.starts_with(['-', '!']) {
        return None;
    }
    Some(Comment {
        text: text.to_string(),
    })
}

/// `-m statistic --mode random --probability P`, not inverted, P at most 1.
fn statistic(info: &[u8]) -> Option<Statistic> {
    let d = info.get(..24)?;
    let word = |o: usize| u32::from_ne_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]]);
    let half = |o: usize| u16::from_ne_bytes([d[o], d[o + 1]]);
    let probability = word(4);
    if half(0) != 0 || half(2) != 0 || probability > 1 << 31 {
        return None;
    }
    Some(Statistic {
        mode: Mode::Random,
        probability,
        ..Statistic::default()
    })
}

/// `-p tcp -m tcp` with nothing given, kept as an xt blob.
fn blank_tcp(ip: &IpSpec, info: &[u8]) -> bool {
    let Some(d) = info.get(..12) else {
        return false;
    };
    let half = |o: usize| u16::from_ne_bytes([d[o], d[o + 1]]);
    ip.proto == 6
        && !ip.proto_inv
        && (half(0), half(2), half(4), half(6)) == (0, u16::MAX, 0, u16::MAX)
        && d[8..].iter().all(|b| *b == 0)
}

/// `-j DNAT --to-destination A:P`: one address and one port, nothing else.
fn dnat(info: &[u8]) -> Option<Dnat> {
    let d = info.get(..42)?;
    const MAP_IPS_AND_PORTS: u32 = 0b11;
    let flags = u32::from_ne_bytes([d[0], d[1], d[2], d[3]]);
    let ip = |o: usize| Ipv4Addr::new(d[o], d[o + 1], d[o + 2], d[o + 3]);
    let port = |o: usize| u16::from_be_bytes([d[o], d[o + 1]]);
    let (lo, hi) = (ip(4), ip(20));
    let (plo, phi, base) = (port(36), port(38), port(40));
    if flags != MAP_IPS_AND_PORTS
        || lo != hi
        || lo.is_unspecified()
        || plo != phi
        || plo == 0
        || base != 0
    {
        return None;
    }
    let mut t = Dnat::default();
    t.range.map_ips = true;
    t.range.min_ip = Some(lo);
    t.range.max_ip = Some(lo);
    t.range.ports = true;
    t.range.min_port = plo;
    t.range.max_port = plo;
    Some(t)
}
