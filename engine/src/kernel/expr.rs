//! nf_tables expressions: the typed form of a rule's `NFTA_RULE_EXPRESSIONS`,
//! written with the attributes in libnftnl's order and read back from dumps.

use super::nla::{self, Attr, Attrs};
use super::Error;

// Registers.
pub const REG_VERDICT: u32 = 0;
pub const REG_1: u32 = 1;

// Meta keys (enum nft_meta_keys).
pub const META_MARK: u32 = 3;
pub const META_IIFNAME: u32 = 6;
pub const META_OIFNAME: u32 = 7;
pub const META_L4PROTO: u32 = 16;

// Payload bases.
pub const BASE_NETWORK: u32 = 1;
pub const BASE_TRANSPORT: u32 = 2;

/// Comparison operators (enum nft_cmp_ops).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq = 0,
    Neq = 1,
    Lt = 2,
    Lte = 3,
    Gt = 4,
    Gte = 5,
}

impl CmpOp {
    fn from_u32(v: u32) -> Result<CmpOp, Error> {
        Ok(match v {
            0 => CmpOp::Eq,
            1 => CmpOp::Neq,
            2 => CmpOp::Lt,
            3 => CmpOp::Lte,
            4 => CmpOp::Gt,
            5 => CmpOp::Gte,
            _ => return Err(Error::Decode(format!("cmp operator {v}"))),
        })
    }
    /// `Eq`, or `Neq` when inverted.
    pub fn eq(inv: bool) -> CmpOp {
        if inv {
            CmpOp::Neq
        } else {
            CmpOp::Eq
        }
    }
}

// Verdict codes.
pub const NF_DROP: i32 = 0;
pub const NF_ACCEPT: i32 = 1;
pub const NFT_JUMP: i32 = -3;
pub const NFT_GOTO: i32 = -4;
pub const NFT_RETURN: i32 = -5;

/// What an `immediate` expression loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImmData {
    Verdict { code: i32, chain: Option<String> },
    Value(Vec<u8>),
}

/// One expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `meta load KEY => reg`.
    Meta {
        key: u32,
        dreg: u32,
    },
    Cmp {
        sreg: u32,
        op: CmpOp,
        data: Vec<u8>,
    },
    Payload {
        dreg: u32,
        base: u32,
        offset: u32,
        len: u32,
    },
    Bitwise {
        sreg: u32,
        dreg: u32,
        len: u32,
        mask: Vec<u8>,
        xor: Vec<u8>,
    },
    /// `range (n)eq reg FROM TO`; `neq` when `inv`.
    Range {
        sreg: u32,
        inv: bool,
        from: Vec<u8>,
        to: Vec<u8>,
    },
    Counter {
        bytes: u64,
        packets: u64,
    },
    Immediate {
        dreg: u32,
        data: ImmData,
    },
    /// `meta set KEY reg` (`-j TRACE` sets nftrace).
    MetaSet {
        key: u32,
        sreg: u32,
    },
    /// Native limit: `rate` per `unit` seconds.
    Limit {
        rate: u64,
        unit: u64,
        burst: u32,
        kind: u32,
        flags: u32,
    },
    /// Native `log` to a netlink group (what `-j NFLOG` becomes).
    Log {
        group: Option<u16>,
        prefix: Option<String>,
        snaplen: Option<u32>,
        qthreshold: Option<u16>,
    },
    /// NFT_COMPAT match: x_tables name, revision and the xt struct (padded).
    Match {
        name: String,
        rev: u32,
        info: Vec<u8>,
    },
    Target {
        name: String,
        rev: u32,
        info: Vec<u8>,
    },
    /// An expression this module does not model (only read from dumps).
    Other {
        name: String,
    },
}

const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_VERDICT_CHAIN: u16 = 2;

fn data_value(a: &mut Attrs, kind: u16, v: &[u8]) {
    a.nested(kind, |n| {
        n.bytes(NFTA_DATA_VALUE, v);
    });
}

fn read_value(a: Option<Attr>) -> Result<Vec<u8>, Error> {
    let a = a.ok_or_else(|| Error::Decode("missing data".into()))?;
    let [_, value, ..] = nla::index::<{ NFTA_DATA_VALUE as usize + 1 }>(a.value)?;
    Ok(value.map(|v| v.value.to_vec()).unwrap_or_default())
}

impl Expr {
    /// The expression's name as the kernel knows it.
    pub fn name(&self) -> &str {
        match self {
            Expr::Meta { .. } | Expr::MetaSet { .. } => "meta",
            Expr::Cmp { .. } => "cmp",
            Expr::Payload { .. } => "payload",
            Expr::Bitwise { .. } => "bitwise",
            Expr::Range { .. } => "range",
            Expr::Counter { .. } => "counter",
            Expr::Immediate { .. } => "immediate",
            Expr::Limit { .. } => "limit",
            Expr::Log { .. } => "log",
            Expr::Match { .. } => "match",
            Expr::Target { .. } => "target",
            Expr::Other { name } => name,
        }
    }

    /// Writes the expression's data attributes (inside `NFTA_EXPR_DATA`).
    fn write_data(&self, a: &mut Attrs) {
        match self {
            Expr::Meta { key, dreg } => {
                a.u32(2, *key).u32(1, *dreg);
            }
            Expr::MetaSet { key, sreg } => {
                a.u32(2, *key).u32(3, *sreg);
            }
            Expr::Cmp { sreg, op, data } => {
                a.u32(1, *sreg).u32(2, *op as u32);
                data_value(a, 3, data);
            }
            Expr::Payload {
                dreg,
                base,
                offset,
                len,
            } => {
                a.u32(1, *dreg).u32(2, *base).u32(3, *offset).u32(4, *len);
            }
            Expr::Bitwise {
                sreg,
                dreg,
                len,
                mask,
                xor,
            } => {
                a.u32(1, *sreg).u32(2, *dreg).u32(3, *len);
                data_value(a, 4, mask);
                data_value(a, 5, xor);
            }
            Expr::Range {
                sreg,
                inv,
                from,
                to,
            } => {
                a.u32(1, *sreg).u32(2, *inv as u32);
                data_value(a, 3, from);
                data_value(a, 4, to);
            }
            Expr::Counter { bytes, packets } => {
                a.u64(1, *bytes).u64(2, *packets);
            }
            Expr::Immediate { dreg, data } => {
                a.u32(1, *dreg);
                match data {
                    ImmData::Verdict { code, chain } => {
                        a.nested(2, |d| {
                            d.nested(NFTA_DATA_VERDICT, |v| {
                                v.u32(NFTA_VERDICT_CODE, *code as u32);
                                if let Some(c) = chain {
                                    v.str(NFTA_VERDICT_CHAIN, c);
                                }
                            });
                        });
                    }
                    ImmData::Value(v) => data_value(a, 2, v),
                }
            }
            Expr::Limit {
                rate,
                unit,
                burst,
                kind,
                flags,
            } => {
                a.u64(1, *rate)
                    .u64(2, *unit)
                    .u32(3, *burst)
                    .u32(4, *kind)
                    .u32(5, *flags);
            }
            Expr::Log {
                group,
                prefix,
                snaplen,
                qthreshold,
            } => {
                if let Some(p) = prefix {
                    a.str(2, p);
                }
                if let Some(g) = group {
                    a.bytes(1, &g.to_be_bytes());
                }
                if let Some(s) = snaplen {
                    a.u32(3, *s);
                }
                if let Some(q) = qthreshold {
                    a.bytes(4, &q.to_be_bytes());
                }
            }
            Expr::Match { name, rev, info } | Expr::Target { name, rev, info } => {
                a.str(1, name).u32(2, *rev).bytes(3, info);
            }
            Expr::Other { .. } => {}
        }
    }

    /// Appends the expression as one `NFTA_LIST_ELEM`.
    pub fn write(&self, list: &mut Attrs) {
        list.nested(NFTA_LIST_ELEM, |e| {
            e.str(NFTA_EXPR_NAME, self.name());
            e.nested(NFTA_EXPR_DATA, |d| self.write_data(d));
        });
    }

    /// Reads one `NFTA_LIST_ELEM`.
    pub fn read(elem: &Attr) -> Result<Expr, Error> {
        let attrs = nla::index::<{ NFTA_EXPR_DATA as usize + 1 }>(elem.value)?;
        let name = attrs[NFTA_EXPR_NAME as usize]
            .map(|a| String::from_utf8_lossy(a.bytes_to_nul()))
            .ok_or_else(|| Error::Decode("expression without a name".into()))?;
        let data = match attrs[NFTA_EXPR_DATA as usize] {
            Some(d) => nla::index::<8>(d.value)?,
            None => [None; 8],
        };
        let get = |k: u16| data.get(k as usize).copied().flatten();
        let u32_of = |k: u16| -> Result<u32, Error> {
            get(k)
                .ok_or_else(|| Error::Decode(format!("{name}: attribute {k} missing")))?
                .u32()
        };
        let u64_of = |k: u16| -> Result<u64, Error> {
            get(k)
                .ok_or_else(|| Error::Decode(format!("{name}: attribute {k} missing")))?
                .u64()
        };
        Ok(match &*name {
            "meta" if get(3).is_none() => Expr::Meta {
                key: u32_of(2)?,
                dreg: u32_of(1)?,
            },
            "meta" => Expr::MetaSet {
                key: u32_of(2)?,
                sreg: u32_of(3)?,
            },
            "cmp" => Expr::Cmp {
                sreg: u32_of(1)?,
                op: CmpOp::from_u32(u32_of(2)?)?,
                data: read_value(get(3))?,
            },
            // A payload with a source register writes (`payload set`): not modelled.
            "payload" if get(5).is_none() => Expr::Payload {
                dreg: u32_of(1)?,
                base: u32_of(2)?,
                offset: u32_of(3)?,
                len: u32_of(4)?,
            },
            // Only the mask-and-xor form (op 0, or no op attribute).
            "bitwise" if get(6).map(|a| a.u32().unwrap_or(1)).unwrap_or(0) == 0 => Expr::Bitwise {
                sreg: u32_of(1)?,
                dreg: u32_of(2)?,
                len: u32_of(3)?,
                mask: read_value(get(4))?,
                xor: read_value(get(5))?,
            },
            "range" => Expr::Range {
                sreg: u32_of(1)?,
                inv: u32_of(2)? != 0,
                from: read_value(get(3))?,
                to: read_value(get(4))?,
            },
            "counter" => Expr::Counter {
                bytes: u64_of(1)?,
                packets: u64_of(2)?,
            },
            "immediate" => {
                let dreg = u32_of(1)?;
                let d = get(2).ok_or_else(|| Error::Decode("immediate without data".into()))?;
                let d = nla::index::<{ NFTA_DATA_VERDICT as usize + 1 }>(d.value)?;
                let data = if let Some(v) = d[NFTA_DATA_VERDICT as usize] {
                    let v = nla::index::<{ NFTA_VERDICT_CHAIN as usize + 1 }>(v.value)?;
                    let code = v[NFTA_VERDICT_CODE as usize]
                        .ok_or_else(|| Error::Decode("verdict without code".into()))?
                        .u32()? as i32;
                    let chain = v[NFTA_VERDICT_CHAIN as usize].map(|c| c.str());
                    ImmData::Verdict { code, chain }
                } else {
                    ImmData::Value(
                        d[NFTA_DATA_VALUE as usize]
                            .map(|v| v.value.to_vec())
                            .unwrap_or_default(),
                    )
                };
                Expr::Immediate { dreg, data }
            }
            "limit" => Expr::Limit {
                rate: u64_of(1)?,
                unit: u64_of(2)?,
                burst: u32_of(3)?,
                kind: u32_of(4)?,
                flags: get(5).map(|a| a.u32()).transpose()?.unwrap_or(0),
            },
            "log" => {
                let u16_of = |k: u16| -> Option<u16> {
                    get(k)
                        .and_then(|a| Some(u16::from_be_bytes(a.value.get(..2)?.try_into().ok()?)))
                };
                // LEVEL / FLAGS belong to the kernel-log form, which iptables never makes.
                if get(5).is_some() || get(6).is_some() {
                    Expr::Other {
                        name: name.into_owned(),
                    }
                } else {
                    Expr::Log {
                        group: u16_of(1),
                        prefix: get(2).map(|a| a.str()),
                        snaplen: get(3).map(|a| a.u32()).transpose()?,
                        qthreshold: u16_of(4),
                    }
                }
            }
            "match" | "target" => {
                let xname = get(1)
                    .map(|a| a.str())
                    .ok_or_else(|| Error::Decode(format!("{name} without a name")))?;
                let rev = u32_of(2)?;
                let info = get(3).map(|a| a.value.to_vec()).unwrap_or_default();
                if name == "match" {
                    Expr::Match {
                        name: xname,
                        rev,
                        info,
                    }
                } else {
                    Expr::Target {
                        name: xname,
                        rev,
                        info,
                    }
                }
            }
            _ => Expr::Other {
                name: name.into_owned(),
            },
        })
    }
}

/// The `NFTA_RULE_EXPRESSIONS` content of a list of expressions.
pub fn write_list(exprs: &[Expr]) -> Vec<u8> {
    let mut a = Attrs::new();
    write_list_into(exprs, &mut a);
    a.buf
}

/// Writes the expressions as the content of the attribute being written.
pub fn write_list_into(exprs: &[Expr], a: &mut Attrs) {
    for e in exprs {
        e.write(a);
    }
}

/// Reads a `NFTA_RULE_EXPRESSIONS` content.
pub fn read_list(buf: &[u8]) -> Result<Vec<Expr>, Error> {
    nla::iter(buf).map(|a| Expr::read(&a?)).collect()
}
