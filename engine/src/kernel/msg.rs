//! nfnetlink messages of the nf_tables subsystem: what we send (tables,
//! chains, rules, batch delimiters) and the objects that dumps return.

use super::expr::{self, Expr};
use super::nla::{self, Attrs};
use super::Result;

pub const NFNL_SUBSYS_NFTABLES: u16 = 10;
pub const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
pub const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFNL_BATCH_GENID: u16 = 1;

// nf_tables message types.
pub const NFT_MSG_NEWTABLE: u8 = 0;
pub const NFT_MSG_GETTABLE: u8 = 1;
pub const NFT_MSG_DELTABLE: u8 = 2;
pub const NFT_MSG_NEWCHAIN: u8 = 3;
pub const NFT_MSG_GETCHAIN: u8 = 4;
pub const NFT_MSG_DELCHAIN: u8 = 5;
pub const NFT_MSG_NEWRULE: u8 = 6;
pub const NFT_MSG_GETRULE: u8 = 7;
pub const NFT_MSG_DELRULE: u8 = 8;
pub const NFT_MSG_NEWGEN: u8 = 15;
pub const NFT_MSG_GETGEN: u8 = 16;

// Netlink flags.
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_ECHO: u16 = 0x8;
pub const NLM_F_REPLACE: u16 = 0x100;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;
pub const NLM_F_APPEND: u16 = 0x800;
pub const NLM_F_DUMP: u16 = 0x300;

pub const AF_UNSPEC: u8 = 0;
/// NFPROTO_IPV4: the `ip` family iptables uses.
pub const NFPROTO_IPV4: u8 = 2;

// Attribute numbers.
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_TABLE_FLAGS: u16 = 2;
const NFTA_TABLE_HANDLE: u16 = 4;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_HANDLE: u16 = 2;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_CHAIN_COUNTERS: u16 = 8;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_COUNTER_BYTES: u16 = 1;
const NFTA_COUNTER_PACKETS: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_HANDLE: u16 = 3;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_RULE_COMPAT: u16 = 5;
const NFTA_RULE_POSITION: u16 = 6;
const NFTA_RULE_COMPAT_PROTO: u16 = 1;
const NFTA_RULE_COMPAT_FLAGS: u16 = 2;
const NFTA_GEN_ID: u16 = 1;

/// The compat attribute's inversion flag (NFT_RULE_COMPAT_F_INV).
pub const COMPAT_F_INV: u32 = 1 << 1;

/// One nfnetlink message before it gets its sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// `subsystem << 8 | type`, or a batch delimiter.
    pub kind: u16,
    pub flags: u16,
    pub family: u8,
    pub res_id: u16,
    pub attrs: Vec<u8>,
}

impl Msg {
    fn nft(kind: u8, flags: u16, attrs: Attrs) -> Msg {
        Msg {
            kind: NFNL_SUBSYS_NFTABLES << 8 | kind as u16,
            flags: NLM_F_REQUEST | flags,
            family: NFPROTO_IPV4,
            res_id: 0,
            attrs: attrs.buf,
        }
    }

    /// The message type without the subsystem.
    pub fn nft_type(&self) -> u8 {
        (self.kind & 0xff) as u8
    }

    /// Bytes on the wire: nlmsghdr, nfgenmsg, attributes.
    pub fn to_bytes(&self, seq: u32) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.wire_len());
        self.write_to(&mut b, seq, self.flags);
        b
    }

    /// Length on the wire.
    pub fn wire_len(&self) -> usize {
        16 + 4 + self.attrs.len()
    }

    /// Appends the bytes on the wire, with these netlink flags.
    pub fn write_to(&self, b: &mut Vec<u8>, seq: u32, flags: u16) {
        let len = self.wire_len();
        b.extend_from_slice(&(len as u32).to_ne_bytes());
        b.extend_from_slice(&self.kind.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.push(self.family);
        b.push(0); // NFNETLINK_V0
        b.extend_from_slice(&self.res_id.to_be_bytes());
        b.extend_from_slice(&self.attrs);
    }
}

/// BATCH_BEGIN for nf_tables carrying the generation id the plan was made from.
pub fn batch_begin(genid: u32) -> Msg {
    let mut a = Attrs::new();
    a.u32(NFNL_BATCH_GENID, genid);
    Msg {
        kind: NFNL_MSG_BATCH_BEGIN,
        flags: NLM_F_REQUEST,
        family: AF_UNSPEC,
        res_id: NFNL_SUBSYS_NFTABLES,
        attrs: a.buf,
    }
}

pub fn batch_end() -> Msg {
    Msg {
        kind: NFNL_MSG_BATCH_END,
        flags: NLM_F_REQUEST,
        family: AF_UNSPEC,
        res_id: NFNL_SUBSYS_NFTABLES,
        attrs: Vec::new(),
    }
}

/// A request of type GET* (a dump when `dump`).
pub fn get(kind: u8, family: u8, dump: bool) -> Msg {
    Msg {
        kind: NFNL_SUBSYS_NFTABLES << 8 | kind as u16,
        flags: NLM_F_REQUEST | if dump { NLM_F_DUMP } else { 0 },
        family,
        res_id: 0,
        attrs: Vec::new(),
    }
}

/// A dump of the rules of one chain.
pub fn get_rules(table: &str, chain: &str) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_RULE_TABLE, table).str(NFTA_RULE_CHAIN, chain);
    Msg {
        kind: NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETRULE as u16,
        flags: NLM_F_REQUEST | NLM_F_DUMP,
        family: NFPROTO_IPV4,
        res_id: 0,
        attrs: a.buf,
    }
}

/// The nfnetlink_acct subsystem (nfacct objects, which `-m nfacct` names).
pub const NFNL_SUBSYS_ACCT: u16 = 7;
const NFNL_MSG_ACCT_GET: u16 = 1;
const NFACCT_NAME: u16 = 1;

/// A dump of every nfacct object.
pub fn nfacct_dump() -> Msg {
    Msg {
        kind: NFNL_SUBSYS_ACCT << 8 | NFNL_MSG_ACCT_GET,
        flags: NLM_F_REQUEST | NLM_F_DUMP,
        family: AF_UNSPEC,
        res_id: 0,
        attrs: Vec::new(),
    }
}

/// The name of an nfacct object in a dump answer.
pub fn parse_nfacct_name(attrs: &[u8]) -> Result<String> {
    let a = nla::parse(attrs)?;
    Ok(nla::find(&a, NFACCT_NAME)
        .map(|x| x.str())
        .unwrap_or_default())
}

/// NEWTABLE with only a name, as iptables-nft creates its tables.
pub fn new_table(name: &str) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_TABLE_NAME, name);
    Msg::nft(NFT_MSG_NEWTABLE, NLM_F_CREATE, a)
}

pub fn del_table(name: &str) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_TABLE_NAME, name);
    Msg::nft(NFT_MSG_DELTABLE, 0, a)
}

/// The hook of a base chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseHook {
    pub hooknum: u32,
    pub priority: i32,
    /// `filter`, `nat` or `route`.
    pub kind: String,
}

/// NEWCHAIN creating a base chain; `counters` adds zeroed chain counters,
/// as iptables-nft does for a chain that is declared or given a policy.
pub fn new_base_chain(
    table: &str,
    name: &str,
    hook: &BaseHook,
    policy: u32,
    counters: bool,
) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_CHAIN_TABLE, table).str(NFTA_CHAIN_NAME, name);
    a.nested(NFTA_CHAIN_HOOK, |h| {
        h.u32(NFTA_HOOK_HOOKNUM, hook.hooknum)
            .u32(NFTA_HOOK_PRIORITY, hook.priority as u32);
    });
    a.u32(NFTA_CHAIN_POLICY, policy);
    if counters {
        a.nested(NFTA_CHAIN_COUNTERS, |c| {
            c.u64(NFTA_COUNTER_PACKETS, 0).u64(NFTA_COUNTER_BYTES, 0);
        });
    }
    a.str(NFTA_CHAIN_TYPE, &hook.kind);
    Msg::nft(NFT_MSG_NEWCHAIN, NLM_F_CREATE, a)
}

/// NEWCHAIN changing only the policy of an existing base chain (sending
/// the hook again would be an update of everything).
pub fn set_policy(table: &str, name: &str, policy: u32) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_CHAIN_TABLE, table)
        .str(NFTA_CHAIN_NAME, name)
        .u32(NFTA_CHAIN_POLICY, policy);
    Msg::nft(NFT_MSG_NEWCHAIN, NLM_F_CREATE, a)
}

/// NEWCHAIN of a user-defined chain (`-N`): exclusive, no hook.
pub fn new_user_chain(table: &str, name: &str) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_CHAIN_TABLE, table).str(NFTA_CHAIN_NAME, name);
    Msg::nft(NFT_MSG_NEWCHAIN, NLM_F_EXCL, a)
}

pub fn del_chain(table: &str, name: &str) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_CHAIN_TABLE, table).str(NFTA_CHAIN_NAME, name);
    Msg::nft(NFT_MSG_DELCHAIN, 0, a)
}

/// Where a new rule goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// At the end of the chain.
    Append,
    /// Right after the rule with this handle.
    After(u64),
    /// Right before the rule with this handle.
    Before(u64),
}

/// NEWRULE: expressions and the compat attribute {protocol, flags}.
pub fn new_rule(
    table: &str,
    chain: &str,
    exprs: &[Expr],
    compat: (u32, u32),
    pos: Position,
) -> Msg {
    let mut a = Attrs {
        buf: Vec::with_capacity(512),
    };
    a.str(NFTA_RULE_TABLE, table).str(NFTA_RULE_CHAIN, chain);
    let flags = match pos {
        Position::Append => NLM_F_CREATE | NLM_F_APPEND,
        Position::After(h) => {
            a.u64(NFTA_RULE_POSITION, h);
            NLM_F_CREATE | NLM_F_APPEND
        }
        Position::Before(h) => {
            a.u64(NFTA_RULE_POSITION, h);
            NLM_F_CREATE
        }
    };
    a.nested(NFTA_RULE_EXPRESSIONS, |l| expr::write_list_into(exprs, l));
    a.nested(NFTA_RULE_COMPAT, |c| {
        c.u32(NFTA_RULE_COMPAT_PROTO, compat.0)
            .u32(NFTA_RULE_COMPAT_FLAGS, compat.1);
    });
    Msg::nft(NFT_MSG_NEWRULE, flags, a)
}

/// NEWRULE replacing the rule with handle `handle` (same place, new content).
pub fn replace_rule(
    table: &str,
    chain: &str,
    handle: u64,
    exprs: &[Expr],
    compat: (u32, u32),
) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_RULE_TABLE, table)
        .str(NFTA_RULE_CHAIN, chain)
        .u64(NFTA_RULE_HANDLE, handle);
    a.nested(NFTA_RULE_EXPRESSIONS, |l| expr::write_list_into(exprs, l));
    a.nested(NFTA_RULE_COMPAT, |c| {
        c.u32(NFTA_RULE_COMPAT_PROTO, compat.0)
            .u32(NFTA_RULE_COMPAT_FLAGS, compat.1);
    });
    Msg::nft(NFT_MSG_NEWRULE, NLM_F_REPLACE, a)
}

/// NEWCHAIN setting a base chain's policy and its counters.
pub fn chain_counters(table: &str, name: &str, policy: u32, packets: u64, bytes: u64) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_CHAIN_TABLE, table)
        .str(NFTA_CHAIN_NAME, name)
        .u32(NFTA_CHAIN_POLICY, policy);
    a.nested(NFTA_CHAIN_COUNTERS, |c| {
        c.u64(NFTA_COUNTER_PACKETS, packets)
            .u64(NFTA_COUNTER_BYTES, bytes);
    });
    Msg::nft(NFT_MSG_NEWCHAIN, NLM_F_CREATE, a)
}

pub fn del_rule(table: &str, chain: &str, handle: u64) -> Msg {
    let mut a = Attrs::new();
    a.str(NFTA_RULE_TABLE, table)
        .str(NFTA_RULE_CHAIN, chain)
        .u64(NFTA_RULE_HANDLE, handle);
    Msg::nft(NFT_MSG_DELRULE, 0, a)
}

/// A table as dumped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableObj {
    pub name: String,
    pub flags: u32,
    pub handle: u64,
}

/// A chain as dumped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainObj {
    pub table: String,
    pub name: String,
    pub handle: u64,
    pub hook: Option<BaseHook>,
    pub policy: Option<u32>,
    /// Policy counters (packets, bytes), if the chain keeps them.
    pub counters: Option<(u64, u64)>,
}

/// A rule as dumped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleObj {
    pub table: String,
    pub chain: String,
    pub handle: u64,
    pub exprs: Vec<Expr>,
    /// {protocol, flags}, if present.
    pub compat: Option<(u32, u32)>,
}

pub fn parse_table(attrs: &[u8]) -> Result<TableObj> {
    let a = nla::parse(attrs)?;
    Ok(TableObj {
        name: nla::find(&a, NFTA_TABLE_NAME)
            .map(|x| x.str())
            .unwrap_or_default(),
        flags: nla::find(&a, NFTA_TABLE_FLAGS)
            .map(|x| x.u32())
            .transpose()?
            .unwrap_or(0),
        handle: nla::find(&a, NFTA_TABLE_HANDLE)
            .map(|x| x.u64())
            .transpose()?
            .unwrap_or(0),
    })
}

pub fn parse_chain(attrs: &[u8]) -> Result<ChainObj> {
    let a = nla::parse(attrs)?;
    let s = |k| nla::find(&a, k).map(|x| x.str()).unwrap_or_default();
    let hook = match nla::find(&a, NFTA_CHAIN_HOOK) {
        Some(h) => {
            let h = h.nested()?;
            Some(BaseHook {
                hooknum: nla::find(&h, NFTA_HOOK_HOOKNUM)
                    .map(|x| x.u32())
                    .transpose()?
                    .unwrap_or(u32::MAX),
                priority: nla::find(&h, NFTA_HOOK_PRIORITY)
                    .map(|x| x.u32())
                    .transpose()?
                    .unwrap_or(0) as i32,
                kind: s(NFTA_CHAIN_TYPE),
            })
        }
        None => None,
    };
    let counters = match nla::find(&a, NFTA_CHAIN_COUNTERS) {
        Some(c) => {
            let c = c.nested()?;
            let get = |k| -> Result<u64> {
                Ok(nla::find(&c, k).map(|x| x.u64()).transpose()?.unwrap_or(0))
            };
            Some((get(NFTA_COUNTER_PACKETS)?, get(NFTA_COUNTER_BYTES)?))
        }
        None => None,
    };
    Ok(ChainObj {
        table: s(NFTA_CHAIN_TABLE),
        name: s(NFTA_CHAIN_NAME),
        handle: nla::find(&a, NFTA_CHAIN_HANDLE)
            .map(|x| x.u64())
            .transpose()?
            .unwrap_or(0),
        hook,
        policy: nla::find(&a, NFTA_CHAIN_POLICY)
            .map(|x| x.u32())
            .transpose()?,
        counters,
    })
}

/// Where a dumped rule is and its handle, without reading its
/// expressions: (table, chain, handle).
pub fn parse_rule_head(attrs: &[u8]) -> Result<(String, String, u64)> {
    let a = nla::parse(attrs)?;
    let s = |k| nla::find(&a, k).map(|x| x.str()).unwrap_or_default();
    let handle = nla::find(&a, NFTA_RULE_HANDLE)
        .map(|x| x.u64())
        .transpose()?
        .unwrap_or(0);
    Ok((s(NFTA_RULE_TABLE), s(NFTA_RULE_CHAIN), handle))
}

/// A rule's handle and expressions, when its table and chain are known
/// (a dump of one chain).
pub fn parse_chain_rule(attrs: &[u8]) -> Result<(u64, Vec<Expr>)> {
    let a = nla::index::<{ NFTA_RULE_EXPRESSIONS as usize + 1 }>(attrs)?;
    let handle = a[NFTA_RULE_HANDLE as usize]
        .map(|x| x.u64())
        .transpose()?
        .unwrap_or(0);
    let exprs = match a[NFTA_RULE_EXPRESSIONS as usize] {
        Some(e) => expr::read_list(e.value)?,
        None => Vec::new(),
    };
    Ok((handle, exprs))
}

pub fn parse_rule(attrs: &[u8]) -> Result<RuleObj> {
    let a = nla::parse(attrs)?;
    let s = |k| nla::find(&a, k).map(|x| x.str()).unwrap_or_default();
    let exprs = match nla::find(&a, NFTA_RULE_EXPRESSIONS) {
        Some(e) => expr::read_list(e.value)?,
        None => Vec::new(),
    };
    let compat = match nla::find(&a, NFTA_RULE_COMPAT) {
        Some(c) => {
            let c = c.nested()?;
            let get = |k| -> Result<u32> {
                Ok(nla::find(&c, k).map(|x| x.u32()).transpose()?.unwrap_or(0))
            };
            Some((get(NFTA_RULE_COMPAT_PROTO)?, get(NFTA_RULE_COMPAT_FLAGS)?))
        }
        None => None,
    };
    Ok(RuleObj {
        table: s(NFTA_RULE_TABLE),
        chain: s(NFTA_RULE_CHAIN),
        handle: nla::find(&a, NFTA_RULE_HANDLE)
            .map(|x| x.u64())
            .transpose()?
            .unwrap_or(0),
        exprs,
        compat,
    })
}

/// The generation id in a NEWGEN answer.
pub fn parse_genid(attrs: &[u8]) -> Result<u32> {
    let a = nla::parse(attrs)?;
    nla::find(&a, NFTA_GEN_ID)
        .ok_or_else(|| super::Error::Decode("NEWGEN without an id".into()))?
        .u32()
}
