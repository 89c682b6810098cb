//! ipsets over the ipset netlink protocol (nfnetlink subsystem 6).
//!
//! The kernel's sets are read with one SAVE dump and turned into the lines
//! of `ipset save` (`create ...`, `add ...`), which the engine's own
//! `ipset restore` reads into a [`Store`]: a set read from the kernel is
//! always one `ipset` could have made. Sets are written from the engine's
//! model: CREATE with the whole header, ADD/DEL per member (one ack each),
//! DESTROY, FLUSH, and GET_BYNAME for the index
//! `-m set` and `-j SET` carry.

use super::msg::{Msg, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST};
use super::nla::{self, Attr, Attrs};
use super::sock::{Answer, NfSock};
use super::{Error, KernelRefusal, Result};
use crate::ext::SetRef;
use crate::ipset::elem::fmt_port;
use crate::ipset::set::{Entry, IpSet, SEC};
use crate::ipset::types::Kind;
use crate::ipset::Store;
use crate::sim::host::Host;
use std::fmt::Write;
use std::net::Ipv4Addr;

pub const NFNL_SUBSYS_IPSET: u16 = 6;
const PROTOCOL: u8 = 7;

// Commands.
pub const CMD_CREATE: u8 = 2;
pub const CMD_DESTROY: u8 = 3;
pub const CMD_FLUSH: u8 = 4;
pub const CMD_RENAME: u8 = 5;
pub const CMD_SWAP: u8 = 6;
pub const CMD_LIST: u8 = 7;
pub const CMD_SAVE: u8 = 8;
pub const CMD_ADD: u8 = 9;
pub const CMD_DEL: u8 = 10;
pub const CMD_GET_BYNAME: u8 = 14;

// Attributes at command level.
const A_PROTOCOL: u16 = 1;
const A_SETNAME: u16 = 2;
const A_TYPENAME: u16 = 3;
const A_REVISION: u16 = 4;
const A_FAMILY: u16 = 5;
const A_DATA: u16 = 7;
const A_ADT: u16 = 8;
const A_INDEX: u16 = 11;
// Inside DATA.
const D_IP: u16 = 1;
const D_IP_TO: u16 = 2;
const D_CIDR: u16 = 3;
const D_PORT: u16 = 4;
const D_PORT_TO: u16 = 5;
const D_TIMEOUT: u16 = 6;
const D_PROTO: u16 = 7;
const D_CADT_FLAGS: u16 = 8;
const D_INITVAL: u16 = 17;
const D_HASHSIZE: u16 = 18;
const D_MAXELEM: u16 = 19;
const D_NETMASK: u16 = 20;
const D_BUCKETSIZE: u16 = 21;
const D_SIZE: u16 = 23;
const D_REFERENCES: u16 = 25;
const D_ETHER: u16 = 17;
const D_NAME: u16 = 18;
const D_IP2: u16 = 20;
const D_CIDR2: u16 = 21;
const D_IFACE: u16 = 23;
const D_BYTES: u16 = 24;
const D_PACKETS: u16 = 25;
const D_COMMENT: u16 = 26;
const D_SKBMARK: u16 = 27;
const D_SKBPRIO: u16 = 28;
const D_SKBQUEUE: u16 = 29;
const IPADDR_IPV4: u16 = 1;
/// NLA_F_NET_BYTEORDER: the value is in network byte order.
const NET: u16 = 0x4000;
// CADT flags.
const F_PHYSDEV: u32 = 1 << 1;
const F_NOMATCH: u32 = 1 << 2;
const F_COUNTERS: u32 = 1 << 3;
const F_COMMENT: u32 = 1 << 4;
const F_FORCEADD: u32 = 1 << 5;
const F_SKBINFO: u32 = 1 << 6;
const F_WILDCARD: u32 = 1 << 7;
/// IPSET_ERR_PRIVATE and up are ipset's own error numbers.
const ERR_PRIVATE: i32 = 4096;

const AF_INET: u8 = 2;

fn msg(cmd: u8, family: u8, flags: u16, attrs: Attrs) -> Msg {
    Msg {
        kind: NFNL_SUBSYS_IPSET << 8 | cmd as u16,
        flags: NLM_F_REQUEST | flags,
        family,
        res_id: 0,
        attrs: attrs.buf,
    }
}

fn with_name(name: &str) -> Attrs {
    let mut a = Attrs::new();
    a.bytes(A_PROTOCOL, &[PROTOCOL]).str(A_SETNAME, name);
    a
}

fn be32(a: &mut Attrs, kind: u16, v: u32) {
    a.bytes(kind | NET, &v.to_be_bytes());
}

fn ipv4(a: &mut Attrs, kind: u16, v: u32) {
    a.nested(kind, |n| {
        n.bytes(IPADDR_IPV4 | NET, &v.to_be_bytes());
    });
}

/// Family of a set type: inet for addresses, unspec for ports and lists.
fn family(kind: Kind) -> u8 {
    match kind {
        Kind::BitmapPort | Kind::ListSet => 0,
        _ => AF_INET,
    }
}

/// CREATE with the whole header of `set` (exclusive: the set must not exist).
pub fn create(set: &IpSet) -> Result<Msg> {
    let h = &set.header;
    if h.inet6 {
        return Err(Error::Unsupported(format!(
            "ipset {}: family inet6",
            set.name
        )));
    }
    if h.bitmask.is_some() {
        return Err(Error::Unsupported(format!("ipset {}: bitmask", set.name)));
    }
    let mut a = with_name(&set.name);
    a.str(A_TYPENAME, set.kind.name())
        .bytes(A_REVISION, &[set.kind.revision()])
        .bytes(A_FAMILY, &[family(set.kind)]);
    let mut flags = 0;
    if h.counters {
        flags |= F_COUNTERS;
    }
    if h.comment {
        flags |= F_COMMENT;
    }
    if h.skbinfo {
        flags |= F_SKBINFO;
    }
    if h.forceadd {
        flags |= F_FORCEADD;
    }
    a.nested(A_DATA, |d| {
        match set.kind {
            Kind::BitmapIp | Kind::BitmapIpMac => {
                ipv4(d, D_IP, h.range.0);
                ipv4(d, D_IP_TO, h.range.1);
                if let (Some(n), Kind::BitmapIp) = (h.netmask, set.kind) {
                    d.bytes(D_NETMASK, &[n]);
                }
            }
            Kind::BitmapPort => {
                d.bytes(D_PORT | NET, &(h.range.0 as u16).to_be_bytes());
                d.bytes(D_PORT_TO | NET, &(h.range.1 as u16).to_be_bytes());
            }
            Kind::ListSet => be32(d, D_SIZE, h.size),
            _ => {
                be32(d, D_HASHSIZE, h.hashsize);
                be32(d, D_MAXELEM, h.maxelem);
                if let Some(n) = h.netmask {
                    d.bytes(D_NETMASK, &[n]);
                }
                d.bytes(D_BUCKETSIZE, &[h.bucketsize]);
                be32(d, D_INITVAL, h.initval);
            }
        }
        if let Some(t) = h.timeout {
            be32(d, D_TIMEOUT, t);
        }
        if flags != 0 {
            be32(d, D_CADT_FLAGS, flags);
        }
    });
    Ok(msg(
        CMD_CREATE,
        family(set.kind),
        NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE,
        a,
    ))
}

pub fn destroy(name: &str) -> Msg {
    msg(CMD_DESTROY, AF_INET, NLM_F_ACK, with_name(name))
}

pub fn flush(name: &str) -> Msg {
    msg(CMD_FLUSH, AF_INET, NLM_F_ACK, with_name(name))
}

/// The member's key attributes (and, with `exts`, its extensions).
fn member_data(set: &IpSet, e: &Entry, exts: bool, now: u64, d: &mut Attrs) {
    let k = &e.key;
    let net = |d: &mut Attrs, ip: u32, cidr: u8| {
        ipv4(d, D_IP, ip);
        d.bytes(D_CIDR, &[cidr]);
    };
    let port = |d: &mut Attrs| {
        d.bytes(D_PORT | NET, &k.port.to_be_bytes());
        d.bytes(D_PROTO, &[k.proto]);
    };
    match set.kind {
        Kind::HashIp | Kind::BitmapIp => ipv4(d, D_IP, k.ip),
        Kind::HashNet => net(d, k.ip, k.cidr),
        Kind::HashIpPort => {
            ipv4(d, D_IP, k.ip);
            port(d);
        }
        Kind::HashNetPort => {
            net(d, k.ip, k.cidr);
            port(d);
        }
        Kind::HashIpPortIp => {
            ipv4(d, D_IP, k.ip);
            port(d);
            ipv4(d, D_IP2, k.ip2);
        }
        Kind::HashIpPortNet => {
            ipv4(d, D_IP, k.ip);
            port(d);
            ipv4(d, D_IP2, k.ip2);
            d.bytes(D_CIDR2, &[k.cidr2]);
        }
        Kind::HashNetIface => {
            net(d, k.ip, k.cidr);
            d.str(D_IFACE, &k.iface);
        }
        Kind::BitmapIpMac => {
            ipv4(d, D_IP, k.ip);
            if let Some(m) = &e.mac {
                d.bytes(D_ETHER, m);
            }
        }
        Kind::BitmapPort => {
            d.bytes(D_PORT | NET, &k.port.to_be_bytes());
        }
        Kind::ListSet => {
            d.str(D_NAME, &k.name);
        }
    }
    let mut flags = 0;
    if k.physdev {
        flags |= F_PHYSDEV;
    }
    if k.wildcard {
        flags |= F_WILDCARD;
    }
    if e.nomatch {
        flags |= F_NOMATCH;
    }
    if flags != 0 {
        be32(d, D_CADT_FLAGS, flags);
    }
    if !exts {
        return;
    }
    let h = &set.header;
    if h.timeout.is_some() {
        let t = match (e.expires, e.held) {
            // Whole seconds left, rounded up: a member just added with
            // `timeout 50` goes to the kernel with 50.
            (Some(x), _) => x.saturating_sub(now).div_ceil(SEC).max(1) as u32,
            (None, Some(held)) => held,
            (None, None) => 0,
        };
        be32(d, D_TIMEOUT, t);
    }
    if h.counters {
        d.bytes(D_BYTES | NET, &e.bytes.to_be_bytes());
        d.bytes(D_PACKETS | NET, &e.packets.to_be_bytes());
    }
    if let Some(c) = &e.comment {
        d.str(D_COMMENT, c);
    }
    if e.skbmark != (0, 0) {
        let v = (e.skbmark.0 as u64) << 32 | e.skbmark.1 as u64;
        d.bytes(D_SKBMARK | NET, &v.to_be_bytes());
    }
    if e.skbprio != (0, 0) {
        let v = (e.skbprio.0 as u32) << 16 | e.skbprio.1 as u32;
        be32(d, D_SKBPRIO, v);
    }
    if e.skbqueue != 0 {
        d.bytes(D_SKBQUEUE | NET, &e.skbqueue.to_be_bytes());
    }
}

/// ADD of one member with its extensions (`now`: the model's clock).
pub fn add(set: &IpSet, e: &Entry, now: u64) -> Msg {
    let mut a = with_name(&set.name);
    a.nested(A_DATA, |d| member_data(set, e, true, now, d));
    msg(CMD_ADD, family(set.kind), NLM_F_ACK, a)
}

/// DEL of one member.
pub fn del(set: &IpSet, e: &Entry) -> Msg {
    let mut a = with_name(&set.name);
    a.nested(A_DATA, |d| member_data(set, e, false, 0, d));
    msg(CMD_DEL, family(set.kind), NLM_F_ACK, a)
}

/// A set the kernel has: its index, references, and its `ipset save` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelSet {
    pub index: u16,
    pub name: String,
    pub refs: u32,
    /// `create ...` then one `add ...` per member.
    pub lines: Vec<String>,
}

fn find<'a>(attrs: &[Attr<'a>], kind: u16) -> Option<Attr<'a>> {
    nla::find(attrs, kind)
}

fn u32_at(attrs: &[Attr], kind: u16) -> Option<u32> {
    find(attrs, kind).and_then(|a| Some(u32::from_be_bytes(a.value.get(..4)?.try_into().ok()?)))
}

fn u16_at(attrs: &[Attr], kind: u16) -> Option<u16> {
    find(attrs, kind).and_then(|a| Some(u16::from_be_bytes(a.value.get(..2)?.try_into().ok()?)))
}

fn u64_at(attrs: &[Attr], kind: u16) -> Option<u64> {
    find(attrs, kind).and_then(|a| Some(u64::from_be_bytes(a.value.get(..8)?.try_into().ok()?)))
}

fn u8_at(attrs: &[Attr], kind: u16) -> Option<u8> {
    find(attrs, kind).and_then(|a| a.value.first().copied())
}

fn ip_at(attrs: &[Attr], kind: u16) -> Result<Option<Ipv4Addr>> {
    let Some(a) = find(attrs, kind) else {
        return Ok(None);
    };
    let inner = a.nested()?;
    match find(&inner, IPADDR_IPV4) {
        Some(v) if v.value.len() == 4 => Ok(Some(Ipv4Addr::new(
            v.value[0], v.value[1], v.value[2], v.value[3],
        ))),
        _ => Err(Error::Unsupported("an IPv6 address in an ipset".into())),
    }
}

fn need<T>(v: Option<T>, what: &str) -> Result<T> {
    v.ok_or_else(|| Error::Decode(format!("ipset: {what} missing")))
}

/// The `create` line of a set's header attributes.
fn create_line(name: &str, kind: Kind, data: &[Attr]) -> Result<String> {
    let mut s = format!("create {name} {}", kind.name());
    match kind {
        Kind::BitmapIp | Kind::BitmapIpMac => {
            let from = need(ip_at(data, D_IP)?, "range")?;
            let to = need(ip_at(data, D_IP_TO)?, "range end")?;
            let _ = write!(s, " range {from}-{to}");
            if let Some(n) = u8_at(data, D_NETMASK) {
                let _ = write!(s, " netmask {n}");
            }
        }
        Kind::BitmapPort => {
            let from = need(u16_at(data, D_PORT), "port range")?;
            let to = need(u16_at(data, D_PORT_TO), "port range end")?;
            let _ = write!(s, " range {from}-{to}");
        }
        Kind::ListSet => {
            let _ = write!(s, " size {}", need(u32_at(data, D_SIZE), "size")?);
        }
        _ => {
            let _ = write!(
                s,
                " family inet hashsize {} maxelem {}",
                need(u32_at(data, D_HASHSIZE), "hashsize")?,
                need(u32_at(data, D_MAXELEM), "maxelem")?
            );
            if let Some(n) = u8_at(data, D_NETMASK) {
                let _ = write!(s, " netmask {n}");
            }
        }
    }
    if let Some(t) = u32_at(data, D_TIMEOUT) {
        let _ = write!(s, " timeout {t}");
    }
    let flags = u32_at(data, D_CADT_FLAGS).unwrap_or(0);
    if flags & F_COUNTERS != 0 {
        s.push_str(" counters");
    }
    if flags & F_COMMENT != 0 {
        s.push_str(" comment");
    }
    if flags & F_SKBINFO != 0 {
        s.push_str(" skbinfo");
    }
    if flags & F_FORCEADD != 0 {
        s.push_str(" forceadd");
    }
    if kind.is_hash() {
        if let Some(b) = u8_at(data, D_BUCKETSIZE) {
            let _ = write!(s, " bucketsize {b}");
        }
        if let Some(i) = u32_at(data, D_INITVAL) {
            let _ = write!(s, " initval 0x{i:08x}");
        }
    }
    Ok(s)
}

fn net_text(ip: Ipv4Addr, cidr: Option<u8>) -> String {
    match cidr {
        Some(c) if c != 32 => format!("{ip}/{c}"),
        _ => ip.to_string(),
    }
}

/// The `add` line of one member.
fn add_line(name: &str, kind: Kind, d: &[Attr]) -> Result<String> {
    let ip = || -> Result<Ipv4Addr> { need(ip_at(d, D_IP)?, "address") };
    let port = || -> Result<String> {
        let p = need(u16_at(d, D_PORT), "port")?;
        Ok(fmt_port(u8_at(d, D_PROTO).unwrap_or(0), p, None))
    };
    let flags = u32_at(d, D_CADT_FLAGS).unwrap_or(0);
    let elem = match kind {
        Kind::HashIp | Kind::BitmapIp => ip()?.to_string(),
        Kind::HashNet => net_text(ip()?, u8_at(d, D_CIDR)),
        Kind::HashIpPort => format!("{},{}", ip()?, port()?),
        Kind::HashNetPort => format!("{},{}", net_text(ip()?, u8_at(d, D_CIDR)), port()?),
        Kind::HashIpPortIp => format!(
            "{},{},{}",
            ip()?,
            port()?,
            need(ip_at(d, D_IP2)?, "second address")?
        ),
        Kind::HashIpPortNet => format!(
            "{},{},{}",
            ip()?,
            port()?,
            net_text(need(ip_at(d, D_IP2)?, "second address")?, u8_at(d, D_CIDR2))
        ),
        Kind::HashNetIface => format!(
            "{},{}{}",
            net_text(ip()?, u8_at(d, D_CIDR)),
            if flags & F_PHYSDEV != 0 {
                "physdev:"
            } else {
                ""
            },
            need(find(d, D_IFACE).map(|a| a.str()), "interface")?
        ),
        Kind::BitmapIpMac => match find(d, D_ETHER) {
            Some(m) if m.value.len() == 6 => {
                let mac: Vec<String> = m.value.iter().map(|b| format!("{b:02X}")).collect();
                format!("{},{}", ip()?, mac.join(":"))
            }
            _ => ip()?.to_string(),
        },
        Kind::BitmapPort => need(u16_at(d, D_PORT), "port")?.to_string(),
        Kind::ListSet => need(find(d, D_NAME).map(|a| a.str()), "member name")?,
    };
    let mut s = format!("add {name} {elem}");
    if let Some(t) = u32_at(d, D_TIMEOUT) {
        let _ = write!(s, " timeout {t}");
    }
    if flags & F_NOMATCH != 0 {
        s.push_str(" nomatch");
    }
    if flags & F_WILDCARD != 0 {
        s.push_str(" wildcard");
    }
    if let (Some(p), Some(b)) = (u64_at(d, D_PACKETS), u64_at(d, D_BYTES)) {
        let _ = write!(s, " packets {p} bytes {b}");
    }
    if let Some(c) = find(d, D_COMMENT) {
        let c = c.str();
        if c.contains('"') {
            return Err(Error::Unsupported("an ipset comment with a quote".into()));
        }
        let _ = write!(s, " comment \"{c}\"");
    }
    if let Some(m) = u64_at(d, D_SKBMARK) {
        let (mark, mask) = ((m >> 32) as u32, m as u32);
        if mask == u32::MAX {
            let _ = write!(s, " skbmark {mark:#x}");
        } else {
            let _ = write!(s, " skbmark {mark:#x}/{mask:#x}");
        }
    }
    if let Some(p) = u32_at(d, D_SKBPRIO) {
        let _ = write!(s, " skbprio {:x}:{:x}", p >> 16, p & 0xffff);
    }
    if let Some(q) = u16_at(d, D_SKBQUEUE) {
        let _ = write!(s, " skbqueue {q}");
    }
    Ok(s)
}

/// Every set the kernel has (one SAVE dump), in index order.
pub fn read(sock: &mut NfSock) -> Result<Vec<KernelSet>> {
    let mut a = Attrs::new();
    a.bytes(A_PROTOCOL, &[PROTOCOL]);
    let answers = match sock.request(&msg(CMD_SAVE, AF_INET, NLM_F_DUMP, a)) {
        Ok(a) => a,
        // Without the ip_set module there are simply no sets.
        Err(Error::Kernel(r)) if r.errno == libc::EPROTONOSUPPORT || r.errno == libc::ENOENT => {
            return Ok(Vec::new())
        }
        Err(e) => return Err(e),
    };
    let mut out: Vec<KernelSet> = Vec::new();
    for block in &answers {
        let attrs = nla::parse(block)?;
        let name = need(find(&attrs, A_SETNAME).map(|a| a.str()), "set name")?;
        let typename = need(find(&attrs, A_TYPENAME).map(|a| a.str()), "type")?;
        let kind = crate::ipset::types::resolve(&typename)
            .map_err(|_| Error::Unsupported(format!("ipset {name}: type {typename}")))?;
        if find(&attrs, A_FAMILY).and_then(|a| a.value.first().copied()) == Some(10) {
            return Err(Error::Unsupported(format!("ipset {name}: family inet6")));
        }
        // A large set comes in several messages; only the first has the header.
        if out.last().is_none_or(|s| s.name != name) {
            let data = match find(&attrs, A_DATA) {
                Some(d) => d.nested()?,
                None => Vec::new(),
            };
            out.push(KernelSet {
                index: need(u16_at(&attrs, A_INDEX), "index")?,
                name: name.clone(),
                refs: u32_at(&data, D_REFERENCES).unwrap_or(0),
                lines: vec![create_line(&name, kind, &data)?],
            });
        }
        if let Some(adt) = find(&attrs, A_ADT) {
            let set = out
                .last_mut()
                .ok_or_else(|| Error::Decode("ipset dump".into()))?;
            for d in adt.nested()? {
                set.lines.push(add_line(&name, kind, &d.nested()?)?);
            }
        }
    }
    out.sort_by_key(|s| s.index);
    Ok(out)
}

/// Reads the saved lines of `sets` into `host`'s sets with the engine's
/// own `ipset restore`.
pub fn restore_into(host: &mut Host, sets: &[KernelSet]) -> Result<()> {
    let mut text = String::new();
    for s in sets {
        for l in &s.lines {
            text.push_str(l);
            text.push('\n');
        }
    }
    let argv = ["ipset".to_string(), "restore".to_string()];
    let out = crate::ipset::cmd::run(host, &argv, Some(&text));
    if out.exit != 0 {
        return Err(Error::Unsupported(format!(
            "it reads back as `ipset save` lines that ipset refuses: {}",
            out.stderr.trim_end()
        )));
    }
    Ok(())
}

/// What `-m set` needs of each kernel set, by index.
pub fn set_index(sets: &[KernelSet], store: &Store) -> Vec<(u16, SetRef)> {
    sets.iter()
        .filter_map(|s| Some((s.index, store.set_ref(&s.name)?)))
        .collect()
}

/// GET_BYNAME: the kernel index of the set `name`, if it exists.
pub fn index_of(sock: &mut NfSock, name: &str) -> Result<Option<u16>> {
    let m = msg(CMD_GET_BYNAME, AF_INET, 0, with_name(name));
    match sock.request(&m) {
        Ok(answers) => {
            let Some(first) = answers.first() else {
                return Ok(None);
            };
            Ok(u16_at(&nla::parse(first)?, A_INDEX))
        }
        Err(Error::Kernel(r)) if r.errno == libc::ENOENT => Ok(None),
        Err(e) => Err(e),
    }
}

/// ipset's text for its own error numbers (the kernel gives only the number).
pub fn strerror(errno: i32) -> Option<&'static str> {
    Some(match errno - ERR_PRIVATE {
        1 => "Kernel error received: ipset protocol error",
        2 => "Kernel error received: set type not supported",
        3 => "Kernel error received: maximal number of sets reached",
        4 => "Set cannot be destroyed: it is in use by a kernel component",
        5 => "Set cannot be created: set with the same name already exists",
        6 => "The sets cannot be swapped: their type does not match",
        7 => "Element cannot be added to the set: it's already added",
        8 => "The value of the CIDR parameter of the IP address is invalid",
        9 => "The value of the netmask parameter is invalid",
        10 => "Protocol family not supported by the set type",
        11 => "Timeout cannot be used: set was created without timeout support",
        12 => "Set cannot be renamed or swapped: it is in use by a kernel component",
        16 => "Packet/byte counters cannot be used: set was created without counter support",
        17 => "Comment cannot be used: set was created without comment support",
        19 => "Skbinfo mapping cannot be used: set was created without skbinfo support",
        _ => return None,
    })
}

/// IPSET_ERR_BUSY: the set is still referenced.
const ERR_BUSY: i32 = ERR_PRIVATE + 4;

/// Destroys a set once nothing holds it: nf_tables lets go of the sets of
/// deleted rules a moment after the commit (its clean-up work runs
/// later), so a set just freed may still be busy; tries for two seconds.
pub fn destroy_when_free(sock: &mut NfSock, name: &str) -> Result<()> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match send_all(sock, &[(destroy(name), format!("ipset destroy {name}"))]) {
            Err(Error::Kernel(r)) if r.errno == ERR_BUSY && std::time::Instant::now() < until => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Sends `msgs` (ipset requests asking for acks), one datagram each (the
/// kernel answers only the first request of a datagram holding several
/// ipset messages), and fails with the first refusal.
pub fn send_all(sock: &mut NfSock, msgs: &[(Msg, String)]) -> Result<()> {
    for chunk in msgs.chunks(1) {
        let only: Vec<Msg> = chunk.iter().map(|(m, _)| m.clone()).collect();
        let answers = sock.send_many(&only)?;
        for ((_, what), a) in chunk.iter().zip(answers) {
            match a {
                Answer::Ok => {}
                Answer::Err { errno, msg } => {
                    return Err(Error::Kernel(KernelRefusal {
                        errno,
                        msg: msg.or_else(|| strerror(errno).map(str::to_string)),
                        what: what.clone(),
                    }))
                }
                Answer::Missing => {
                    return Err(Error::Kernel(KernelRefusal {
                        errno: libc::EIO,
                        msg: Some("no answer".into()),
                        what: what.clone(),
                    }))
                }
            }
        }
    }
    Ok(())
}
