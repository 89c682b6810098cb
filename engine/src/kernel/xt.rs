//! The extension interface of kernel mode: how a match or target becomes
//! nf_tables expressions and how it is read back, with a registry keyed by
//! extension name.
//!
//! A match is either encoded natively (tcp/udp ports, mark, limit: payload,
//! meta, cmp ... expressions, exactly as iptables-nft 1.8.9 builds them) or as
//! an NFT_COMPAT `match` expression carrying the x_tables name, revision and
//! the xt struct bytes ([`XtMatch`] does the struct plumbing). Targets alike.
//! Every method has a default that reports "not encodable yet", so an
//! extension without an encoding is refused cleanly instead of being sent
//! wrong. The first encodings live in this module's submodules; later they
//! move next to their extension (`engine/src/ext/*`) and register here.
//!
//! Adding an encoding:
//! 1. Record what iptables-nft sends: add the extension's rules to
//!    `tests/kernel_data/rule_specs.txt` and rerun
//!    `capture_rule_bytes.py` there (root, strace); the unit tests in
//!    `kernel/tests.rs` then require our bytes to equal the captured ones
//!    and the captured expressions to decode to the saved rule.
//! 2. An xt struct: a static [`XtMatch`] / [`XtTarget`] with the x_tables
//!    name, revision, unpadded size and two functions (struct bytes in host
//!    order from the engine's match, and back). Native expressions:
//!    implement [`MatchCodec`] / [`TargetCodec`] (`encode` pushes
//!    expressions; `decode_native` recognises them at the start of a slice).
//! 3. Add it to [`match_codecs`] or [`target_codecs`].

use super::expr::{CmpOp, Expr, REG_1};
use super::{Error, Result};
use crate::ext::{Match, SetRef, Target};
use crate::ruleset::IpSpec;

mod addrtype;
mod comment;
mod connmark_target;
mod conntrack;
mod ct;
mod icmp;
mod limit;
mod log;
mod mark;
mod mark_target;
mod misc;
mod more_targets;
mod multiport;
mod nat;
mod nfacct;
mod nflog;
mod packet;
mod proto;
mod recent;
mod reject;
mod set;
mod small;
mod statistic;
mod tcp;
mod tcpmss;
mod udp;

/// Everything a match or target may need while encoding, and where its
/// expressions go.
pub struct EncodeCx<'a> {
    pub table: &'a str,
    /// The rule's fixed part (`-p` for port matches, ...).
    pub ip: &'a IpSpec,
    pub exprs: Vec<Expr>,
    /// The kernel's ipsets (`-m set` and `-j SET` send the set's index).
    pub sets: &'a SetIndex,
}

impl EncodeCx<'_> {
    /// The kernel index of the set named `name`.
    pub fn set_index(&self, name: &str) -> Result<u16> {
        self.sets
            .iter()
            .find(|(_, s)| s.name == name)
            .map(|(i, _)| *i)
            .ok_or_else(|| Error::Refused(format!("ipset {name} does not exist in the kernel")))
    }
    pub fn push(&mut self, e: Expr) {
        self.exprs.push(e);
    }
    /// `payload load LEN @ BASE + OFFSET => reg 1`.
    pub fn payload(&mut self, base: u32, offset: u32, len: u32) {
        self.push(Expr::Payload {
            dreg: REG_1,
            base,
            offset,
            len,
        });
    }
    /// `meta load KEY => reg 1`.
    pub fn meta(&mut self, key: u32) {
        self.push(Expr::Meta { key, dreg: REG_1 });
    }
    /// `cmp OP reg 1 DATA`.
    pub fn cmp(&mut self, op: CmpOp, data: &[u8]) {
        self.push(Expr::Cmp {
            sreg: REG_1,
            op,
            data: data.to_vec(),
        });
    }
    /// `bitwise reg 1 = (reg 1 & MASK) ^ 0`.
    pub fn bitwise(&mut self, mask: &[u8]) {
        self.push(Expr::Bitwise {
            sreg: REG_1,
            dreg: REG_1,
            len: mask.len() as u32,
            mask: mask.to_vec(),
            xor: vec![0; mask.len()],
        });
    }
    /// An NFT_COMPAT match; `info` is padded to 8 bytes like `XT_ALIGN`.
    pub fn xt_match(&mut self, name: &str, rev: u32, info: Vec<u8>) {
        self.push(Expr::Match {
            name: name.to_string(),
            rev,
            info: pad8(info),
        });
    }
    pub fn xt_target(&mut self, name: &str, rev: u32, info: Vec<u8>) {
        self.push(Expr::Target {
            name: name.to_string(),
            rev,
            info: pad8(info),
        });
    }
}

fn pad8(mut v: Vec<u8>) -> Vec<u8> {
    while v.len() & 7 != 0 {
        v.push(0);
    }
    v
}

/// The ipsets of the kernel a rule may name: index and what `-m set`
/// learns about the set.
pub type SetIndex = [(u16, SetRef)];

/// What a decoder sees and writes: the rule read so far, and the words of
/// an iptables command line that stand for what was read. A match decoder
/// pushes `-m NAME OPTIONS...`, a target decoder `-j NAME OPTIONS...`; the
/// engine's own parser then builds the extensions from those words, so a
/// decoded extension is always one the parser could have made.
pub struct DecodeCx<'a> {
    pub table: &'a str,
    /// The fixed part read so far (`-p` comes before any match).
    pub ip: &'a IpSpec,
    pub words: &'a mut Vec<String>,
    /// The kernel's ipsets (`-m set` and `-j SET` name them by index).
    pub sets: &'a SetIndex,
}

impl DecodeCx<'_> {
    /// Starts a match: `-m NAME`.
    pub fn m(&mut self, name: &str) -> &mut Self {
        self.word("-m").word(name)
    }
    /// Starts a target: `-j NAME`.
    pub fn j(&mut self, name: &str) -> &mut Self {
        self.word("-j").word(name)
    }
    pub fn word(&mut self, w: impl Into<String>) -> &mut Self {
        self.words.push(w.into());
        self
    }
    /// `[!] --NAME VALUE`.
    pub fn opt(&mut self, inv: bool, name: &str, value: impl std::fmt::Display) -> &mut Self {
        if inv {
            self.word("!");
        }
        self.word(name).word(value.to_string())
    }
    /// `[!] --NAME`.
    pub fn flag(&mut self, inv: bool, name: &str) -> &mut Self {
        if inv {
            self.word("!");
        }
        self.word(name)
    }
    /// The name of the set with kernel index `index`.
    pub fn set_name(&self, index: u16) -> Result<String> {
        self.sets
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, s)| s.name.clone())
            .ok_or_else(|| Error::Unsupported(format!("ipset with index {index} (no such set)")))
    }
}

/// An NFT_COMPAT match or target as read from the kernel.
#[derive(Debug, Clone, Copy)]
pub struct XtBlob<'a> {
    pub name: &'a str,
    pub rev: u32,
    pub info: &'a [u8],
}

impl XtBlob<'_> {
    /// The struct bytes, if they are at least `size` long and the revision is `rev`.
    pub fn data(&self, rev: u32, size: usize) -> Result<&[u8]> {
        if self.rev != rev {
            return Err(Error::Unsupported(format!(
                "{} revision {} (only {rev} is known)",
                self.name, self.rev
            )));
        }
        self.info.get(..size).ok_or_else(|| {
            Error::Decode(format!(
                "{}: {} bytes, need {size}",
                self.name,
                self.info.len()
            ))
        })
    }
}

fn not_yet(kind: &str, name: &str) -> Error {
    Error::Unsupported(format!("{kind} {name} has no kernel encoding yet"))
}

/// Kernel encoding of one match extension.
pub trait MatchCodec: Sync {
    /// The extension's name ([`crate::ext::ExtInfo::name`]): the registry key.
    fn name(&self) -> &'static str;
    /// Appends the match's expressions to `cx`.
    fn encode(&self, _m: &dyn Match, _cx: &mut EncodeCx) -> Result<()> {
        Err(not_yet("match", self.name()))
    }
    /// NFT_COMPAT match names this codec reads back.
    fn xt_names(&self) -> &'static [&'static str] {
        &[]
    }
    /// Reads an NFT_COMPAT match: pushes `-m NAME OPTIONS...`.
    fn decode_xt(&self, _blob: &XtBlob, _cx: &mut DecodeCx) -> Result<()> {
        Err(not_yet("match", self.name()))
    }
    /// How many leading bytes of the xt struct `xt_name` revision `rev`
    /// are ours; the kernel fills in the rest (pointers to its state), so
    /// dumps differ there from what was sent. `None`: all of them.
    fn user_size(&self, _xt_name: &str, _rev: u32) -> Option<usize> {
        None
    }
    /// Reads native expressions at the start of `exprs` and pushes their
    /// words: the number of expressions used, 0 when they are not this match's.
    fn decode_native(&self, _exprs: &[Expr], _cx: &mut DecodeCx) -> Result<usize> {
        Ok(0)
    }
}

/// Kernel encoding of one target extension.
pub trait TargetCodec: Sync {
    fn name(&self) -> &'static str;
    fn encode(&self, _t: &dyn Target, _cx: &mut EncodeCx) -> Result<()> {
        Err(not_yet("target", self.name()))
    }
    fn xt_names(&self) -> &'static [&'static str] {
        &[]
    }
    /// Reads an NFT_COMPAT target: pushes `-j NAME OPTIONS...`.
    fn decode_xt(&self, _blob: &XtBlob, _cx: &mut DecodeCx) -> Result<()> {
        Err(not_yet("target", self.name()))
    }
    /// As [`MatchCodec::user_size`].
    fn user_size(&self, _xt_name: &str, _rev: u32) -> Option<usize> {
        None
    }
    /// Reads a natively encoded target at the start of `exprs` and pushes
    /// its words: how many expressions it used, 0 when they are not its.
    fn decode_native(&self, _exprs: &[Expr], _cx: &mut DecodeCx) -> Result<usize> {
        Ok(0)
    }
}

/// Pushes the option words of an xt struct (after `-m NAME` / `-j NAME`).
pub type DecodeWords = fn(&[u8], &mut DecodeCx) -> Result<()>;

/// A match kept as one NFT_COMPAT blob: the struct's size and the two
/// conversions are all an extension provides.
pub struct XtMatch<T> {
    pub name: &'static str,
    /// x_tables name and revision iptables-nft 1.8.9 uses.
    pub xt_name: &'static [&'static str],
    pub rev: u32,
    /// Size of the xt struct before padding.
    pub size: usize,
    /// Leading bytes that are ours (`userspacesize`); the kernel owns the rest.
    pub user: usize,
    pub encode: fn(&T, &EncodeCx) -> Result<Vec<u8>>,
    pub decode: DecodeWords,
}

fn downcast<'a, T: 'static>(x: &'a dyn std::any::Any, kind: &str, name: &str) -> Result<&'a T> {
    x.downcast_ref::<T>()
        .ok_or_else(|| Error::Unsupported(format!("{kind} {name}: unexpected type")))
}

impl<T: Match + 'static> MatchCodec for XtMatch<T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn encode(&self, m: &dyn Match, cx: &mut EncodeCx) -> Result<()> {
        let m = downcast::<T>(m.as_any(), "match", self.name)?;
        let mut info = (self.encode)(m, cx)?;
        info.resize(self.size, 0);
        cx.xt_match(self.xt_name[0], self.rev, info);
        Ok(())
    }
    fn xt_names(&self) -> &'static [&'static str] {
        self.xt_name
    }
    fn decode_xt(&self, blob: &XtBlob, cx: &mut DecodeCx) -> Result<()> {
        let data = blob.data(self.rev, self.size)?;
        cx.m(self.name);
        (self.decode)(data, cx)
    }
    fn user_size(&self, _xt_name: &str, rev: u32) -> Option<usize> {
        (rev == self.rev).then_some(self.user)
    }
}

/// A target kept as one NFT_COMPAT blob.
pub struct XtTarget<T> {
    pub name: &'static str,
    pub xt_name: &'static [&'static str],
    pub rev: u32,
    pub size: usize,
    /// Leading bytes that are ours (`userspacesize`); the kernel owns the rest.
    pub user: usize,
    pub encode: fn(&T, &EncodeCx) -> Result<Vec<u8>>,
    pub decode: DecodeWords,
}

impl<T: Target + 'static> TargetCodec for XtTarget<T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn encode(&self, t: &dyn Target, cx: &mut EncodeCx) -> Result<()> {
        let t = downcast::<T>(t.as_any(), "target", self.name)?;
        let mut info = (self.encode)(t, cx)?;
        info.resize(self.size, 0);
        cx.xt_target(self.xt_name[0], self.rev, info);
        Ok(())
    }
    fn xt_names(&self) -> &'static [&'static str] {
        self.xt_name
    }
    fn decode_xt(&self, blob: &XtBlob, cx: &mut DecodeCx) -> Result<()> {
        let data = blob.data(self.rev, self.size)?;
        cx.j(self.name);
        (self.decode)(data, cx)
    }
    fn user_size(&self, _xt_name: &str, rev: u32) -> Option<usize> {
        (rev == self.rev).then_some(self.user)
    }
}

/// Every match encoding known.
pub fn match_codecs() -> &'static [&'static dyn MatchCodec] {
    static ALL: &[&dyn MatchCodec] = &[
        &addrtype::CODEC,
        &comment::CODEC,
        &proto::AH,
        &proto::DCCP,
        &proto::ESP,
        &proto::IPCOMP,
        &proto::SCTP,
        &misc::BPF,
        &misc::CGROUP,
        &misc::CLUSTER,
        &misc::CONNBYTES,
        &misc::CONNLABEL,
        &misc::CONNLIMIT,
        &misc::CPU,
        &misc::IPVS,
        &misc::OSF,
        &misc::PHYSDEV,
        &misc::POLICY,
        &misc::QUOTA,
        &misc::REALM,
        &misc::RPFILTER,
        &misc::SOCKET,
        &misc::TIME,
        &misc::U32M,
        &packet::DSCP,
        &packet::ECN,
        &packet::HASHLIMIT,
        &packet::RATEEST,
        &packet::STRING,
        &packet::TCPMSS,
        &packet::TOS,
        &set::MATCH,
        &conntrack::CONNTRACK,
        &conntrack::STATE,
        &small::CONNMARK,
        &small::HELPER,
        &small::IPRANGE,
        &small::LENGTH,
        &small::MAC,
        &small::OWNER,
        &small::PKTTYPE,
        &small::TTL,
        &icmp::CODEC,
        &limit::CODEC,
        &mark::CODEC,
        &multiport::CODEC,
        &nfacct::CODEC,
        &recent::CODEC,
        &statistic::CODEC,
        &tcp::CODEC,
        &udp::CODEC,
    ];
    ALL
}

/// Every target encoding known.
pub fn target_codecs() -> &'static [&'static dyn TargetCodec] {
    static ALL: &[&dyn TargetCodec] = &[
        &connmark_target::CODEC,
        &packet::CHECKSUM,
        &packet::CLASSIFY,
        &packet::DSCP_T,
        &packet::ECN_T,
        &packet::HMARK,
        &packet::RATEEST_T,
        &packet::TCPOPTSTRIP,
        &packet::TOS_T,
        &packet::TTL_T,
        &more_targets::AUDIT,
        &more_targets::CONNSECMARK,
        &more_targets::IDLETIMER,
        &more_targets::LED,
        &more_targets::NETMAP,
        &more_targets::NFQUEUE,
        &more_targets::SECMARK,
        &more_targets::SYNPROXY,
        &more_targets::TEE,
        &more_targets::TPROXY,
        &more_targets::TRACE,
        &set::TARGET,
        &ct::CT,
        &ct::NOTRACK,
        &log::CODEC,
        &mark_target::CODEC,
        &nat::DNAT,
        &nat::MASQUERADE,
        &nat::REDIRECT,
        &nat::SNAT,
        &nflog::CODEC,
        &reject::CODEC,
        &tcpmss::CODEC,
    ];
    ALL
}

/// The encoding of the match named `name`.
pub fn match_codec(name: &str) -> Option<&'static dyn MatchCodec> {
    match_codecs().iter().copied().find(|c| c.name() == name)
}

/// The encoding of the target named `name`.
pub fn target_codec(name: &str) -> Option<&'static dyn TargetCodec> {
    target_codecs().iter().copied().find(|c| c.name() == name)
}

/// The codec reading NFT_COMPAT match `xt_name`.
pub fn match_codec_xt(xt_name: &str) -> Option<&'static dyn MatchCodec> {
    match_codecs()
        .iter()
        .copied()
        .find(|c| c.xt_names().contains(&xt_name))
}

pub fn target_codec_xt(xt_name: &str) -> Option<&'static dyn TargetCodec> {
    target_codecs()
        .iter()
        .copied()
        .find(|c| c.xt_names().contains(&xt_name))
}

// Helpers shared by the codecs: struct fields in host order, as the xt
// structs hold them.

pub(crate) fn put_u16(v: &mut [u8], off: usize, x: u16) {
    v[off..off + 2].copy_from_slice(&x.to_ne_bytes());
}
pub(crate) fn put_u32(v: &mut [u8], off: usize, x: u32) {
    v[off..off + 4].copy_from_slice(&x.to_ne_bytes());
}
pub(crate) fn get_u16(v: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([v[off], v[off + 1]])
}
pub(crate) fn get_u32(v: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes([v[off], v[off + 1], v[off + 2], v[off + 3]])
}
/// A NUL-terminated string in a fixed-size field.
pub(crate) fn get_cstr(v: &[u8]) -> String {
    let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

/// A port test read from `cmp` or `range` on a 16-bit port: (lo, hi, inverted).
pub(crate) fn port_test(e: &Expr) -> Option<(u16, u16, bool)> {
    let be = |d: &[u8]| -> Option<u16> { Some(u16::from_be_bytes(d.try_into().ok()?)) };
    match e {
        Expr::Cmp { sreg, op, data } if *sreg == REG_1 => {
            let v = be(data)?;
            Some(match op {
                CmpOp::Eq => (v, v, false),
                CmpOp::Neq => (v, v, true),
                CmpOp::Lte => (0, v, false),
                CmpOp::Lt => (0, v.checked_sub(1)?, false),
                CmpOp::Gte => (v, u16::MAX, false),
                CmpOp::Gt => (v.checked_add(1)?, u16::MAX, false),
            })
        }
        Expr::Range {
            sreg,
            inv,
            from,
            to,
        } if *sreg == REG_1 => Some((be(from)?, be(to)?, *inv)),
        _ => None,
    }
}

/// Native port expressions as iptables-nft 1.8.9 builds them for tcp/udp:
/// one 4-byte compare for two single ports with the same inversion,
/// otherwise a compare or range per port given.
pub(crate) fn encode_ports(
    cx: &mut EncodeCx,
    src: (u16, u16),
    src_inv: bool,
    dst: (u16, u16),
    dst_inv: bool,
) {
    use super::expr::BASE_TRANSPORT;
    if src.0 != 0 && src.0 == src.1 && dst.0 != 0 && dst.0 == dst.1 && src_inv == dst_inv {
        cx.payload(BASE_TRANSPORT, 0, 4);
        let mut d = src.0.to_be_bytes().to_vec();
        d.extend_from_slice(&dst.0.to_be_bytes());
        cx.cmp(CmpOp::eq(src_inv), &d);
        return;
    }
    for (off, (lo, hi), inv) in [(0, src, src_inv), (2, dst, dst_inv)] {
        if lo == 0 && hi == u16::MAX {
            continue;
        }
        cx.payload(BASE_TRANSPORT, off, 2);
        if lo == hi {
            cx.cmp(CmpOp::eq(inv), &lo.to_be_bytes());
        } else if lo == 0 {
            cx.cmp(if inv { CmpOp::Gt } else { CmpOp::Lte }, &hi.to_be_bytes());
        } else {
            cx.push(Expr::Range {
                sreg: REG_1,
                inv,
                from: lo.to_be_bytes().to_vec(),
                to: hi.to_be_bytes().to_vec(),
            });
        }
    }
}

/// Port pieces read back from native expressions at the start of `exprs`:
/// (consumed, sport test, dport test).
#[allow(clippy::type_complexity)]
pub(crate) fn decode_ports(
    exprs: &[Expr],
) -> Option<(usize, Option<(u16, u16, bool)>, Option<(u16, u16, bool)>)> {
    use super::expr::BASE_TRANSPORT;
    let Some(Expr::Payload {
        dreg,
        base,
        offset,
        len,
    }) = exprs.first()
    else {
        return None;
    };
    if *dreg != REG_1 || *base != BASE_TRANSPORT {
        return None;
    }
    match (offset, len) {
        (0, 4) => {
            let Some(Expr::Cmp { sreg, op, data }) = exprs.get(1) else {
                return None;
            };
            if *sreg != REG_1 || data.len() != 4 || !matches!(op, CmpOp::Eq | CmpOp::Neq) {
                return None;
            }
            let inv = *op == CmpOp::Neq;
            let s = u16::from_be_bytes([data[0], data[1]]);
            let d = u16::from_be_bytes([data[2], data[3]]);
            Some((2, Some((s, s, inv)), Some((d, d, inv))))
        }
        (0, 2) => Some((2, Some(port_test(exprs.get(1)?)?), None)),
        (2, 2) => Some((2, None, Some(port_test(exprs.get(1)?)?))),
        _ => None,
    }
}
