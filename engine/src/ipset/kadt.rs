//! The kernel side of ipset: what a packet does to a set through `-m set`
//! (`ip_set_test`) and `-j SET` (`ip_set_add`, `ip_set_del`), following
//! each type's `kadt`: the member a packet maps to, lookups through stored
//! prefix lengths and list:sets, nomatch entries, counters (updated first,
//! then compared), timeouts on the host clock and skbinfo for `--map-set`.

use super::elem::hostmask;
use super::print::key_text;
use super::set::{mask, ExtArgs, IpSet, KErr, Key, SEC};
use super::types::Kind;
use super::Store;
use crate::packet::{Headers, Packet};
use std::net::Ipv4Addr;

/// Source or destination, per dimension of a `-m set` / `-j SET` flag list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Src,
    Dst,
}

impl Dir {
    /// `true` (src) / `false` (dst) flags as the extensions keep them.
    pub fn list(flags: &[bool]) -> Vec<Dir> {
        flags
            .iter()
            .map(|s| if *s { Dir::Src } else { Dir::Dst })
            .collect()
    }
}

/// What a set can read from the transport header (`ip_set_get_ip4_port`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP, UDP, SCTP or UDP-Lite ports.
    Ports { sport: u16, dport: u16 },
    /// ICMP type and code (a set stores them as `type << 8 | code`).
    Icmp { icmp_type: u8, code: u8 },
    /// Another protocol: the port part is 0.
    NoPorts,
    /// A later fragment, protocol 0, or a header cut short: nothing to read.
    Unreadable,
}

/// The packet fields set types read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketFields {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    pub transport: Transport,
    /// Input and output interface names, empty when the hook has none.
    pub in_iface: String,
    pub out_iface: String,
    /// Ethernet source and destination of a received frame; packets made
    /// on this host have no Ethernet header yet.
    pub eth: Option<([u8; 6], [u8; 6])>,
    /// `skb->len`: the IP packet's length, for byte counters.
    pub len: u64,
}

impl PacketFields {
    /// Reads the fields from a packet and its parsed headers.
    pub fn of(pkt: &Packet, hdr: &Headers) -> PacketFields {
        PacketFields {
            src: hdr.src,
            dst: hdr.dst,
            proto: hdr.proto,
            transport: transport(&pkt.data, hdr),
            in_iface: pkt.meta.in_iface.clone().unwrap_or_default(),
            out_iface: pkt.meta.out_iface.clone().unwrap_or_default(),
            eth: pkt.meta.src_mac.zip(pkt.meta.dst_mac),
            len: pkt.len() as u64,
        }
    }

    fn addr(&self, d: Dir) -> u32 {
        u32::from(if d == Dir::Src { self.src } else { self.dst })
    }

    /// The port part for direction `d` and the protocol, `None` when unreadable.
    fn port(&self, d: Dir) -> Option<(u16, u8)> {
        match self.transport {
            Transport::Ports { sport, dport } => {
                Some((if d == Dir::Src { sport } else { dport }, self.proto))
            }
            Transport::Icmp { icmp_type, code } => {
                Some((((icmp_type as u16) << 8) | code as u16, self.proto))
            }
            Transport::NoPorts => Some((0, self.proto)),
            Transport::Unreadable => None,
        }
    }
}

/// The transport header as `get_port` sees it: each protocol needs its
/// whole fixed header (TCP 20 bytes, SCTP 12, UDP and ICMP 8).
fn transport(data: &[u8], hdr: &Headers) -> Transport {
    if hdr.proto == 0 || hdr.frag_offset != 0 {
        return Transport::Unreadable;
    }
    let end = (hdr.total_len as usize).min(data.len());
    let l4 = data.get(usize::from(hdr.header_len)..end).unwrap_or(&[]);
    let need = match hdr.proto {
        6 => 20,
        132 => 12,
        17 | 136 | 1 => 8,
        _ => return Transport::NoPorts,
    };
    if l4.len() < need {
        return Transport::Unreadable;
    }
    if hdr.proto == 1 {
        return Transport::Icmp {
            icmp_type: l4[0],
            code: l4[1],
        };
    }
    Transport::Ports {
        sport: u16::from_be_bytes([l4[0], l4[1]]),
        dport: u16::from_be_bytes([l4[2], l4[3]]),
    }
}

/// A counter comparison of `-m set --packets-gt` and friends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterCmp {
    Eq(u64),
    Ne(u64),
    Lt(u64),
    Gt(u64),
}

impl CounterCmp {
    pub fn check(self, v: u64) -> bool {
        match self {
            CounterCmp::Eq(x) => v == x,
            CounterCmp::Ne(x) => v != x,
            CounterCmp::Lt(x) => v < x,
            CounterCmp::Gt(x) => v > x,
        }
    }

    fn text(self, what: &str) -> String {
        match self {
            CounterCmp::Eq(x) => format!("--{what}-eq {x}"),
            CounterCmp::Ne(x) => format!("! --{what}-eq {x}"),
            CounterCmp::Lt(x) => format!("--{what}-lt {x}"),
            CounterCmp::Gt(x) => format!("--{what}-gt {x}"),
        }
    }
}

/// How `-m set` (or `--map-set`) asks (`ip_set_adt_opt` command flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TestOpts {
    /// `--return-nomatch`: nomatch members match, plain members do not.
    pub return_nomatch: bool,
    /// `! --update-counters`.
    pub skip_counters: bool,
    /// `! --update-subcounters`: leave the counters of list:set members' sets alone.
    pub skip_subcounters: bool,
    pub packets: Option<CounterCmp>,
    pub bytes: Option<CounterCmp>,
}

/// The skbinfo of the member a lookup hit (`--map-set`): all zero when the
/// set keeps none, as the kernel hands back an empty one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SkbInfo {
    /// Mark and mask: the packet's mark becomes `(mark & !mask) ^ value`.
    pub mark: (u32, u32),
    /// tc class `major:minor`, as `skb->priority`.
    pub prio: u32,
    pub queue: u16,
}

/// What a packet test found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tested {
    /// The set said yes (after `--return-nomatch`, before the rule's `!`).
    pub matched: bool,
    pub skbinfo: SkbInfo,
    /// What the lookup found, in words.
    pub why: String,
}

/// A type's answer to a test (`kadt` for IPSET_TEST).
enum Ret {
    /// 0: not in the set (or the packet cannot be looked up).
    Miss,
    /// 1: a member matched.
    Hit,
    /// -ENOTEMPTY: the member hit is marked nomatch.
    NoMatchHit,
}

/// The member key a packet maps to (each type's `kadt`), with the MAC a
/// bitmap:ip,mac reads. Adds and deletes of net types take the longest
/// prefix length stored; tests look up host addresses. `Err` says why
/// the packet cannot be looked up.
fn packet_key(
    set: &IpSet,
    p: &PacketFields,
    dirs: &[Dir],
    test: bool,
) -> Result<(Key, Option<[u8; 6]>), String> {
    let dir = |i: usize| dirs.get(i).copied().unwrap_or(Dir::Src);
    let net_len = if test {
        32
    } else {
        set.longest_prefix().unwrap_or(32)
    };
    let port = |i: usize| {
        p.port(dir(i)).ok_or_else(|| {
            format!(
                "the packet has no readable {} header for the port part",
                proto_name(p.proto)
            )
        })
    };
    let mut key = Key::default();
    let mut mac = None;
    match set.kind {
        Kind::HashIp | Kind::HashIpPort => {
            if set.kind == Kind::HashIpPort {
                (key.port, key.proto) = port(1)?;
            }
            key.ip = p.addr(dir(0)) & hostmask(set);
            if key.ip == 0 {
                return Err("the address is 0.0.0.0 after the set's netmask".into());
            }
        }
        Kind::HashIpPortIp => {
            (key.port, key.proto) = port(1)?;
            key.ip = p.addr(dir(0));
            key.ip2 = p.addr(dir(2));
        }
        Kind::HashIpPortNet => {
            (key.port, key.proto) = port(1)?;
            key.ip = p.addr(dir(0));
            key.cidr2 = net_len;
            key.ip2 = p.addr(dir(2)) & mask(net_len);
        }
        Kind::HashNet | Kind::HashNetPort | Kind::HashNetIface => {
            if set.kind == Kind::HashNetPort {
                (key.port, key.proto) = port(1)?;
            }
            key.cidr = net_len;
            key.ip = p.addr(dir(0)) & mask(net_len);
            if set.kind == Kind::HashNetIface {
                let (name, which) = match dir(1) {
                    Dir::Src => (&p.in_iface, "input"),
                    Dir::Dst => (&p.out_iface, "output"),
                };
                if name.is_empty() {
                    return Err(format!("the packet has no {which} interface here"));
                }
                key.iface = name.clone();
            }
        }
        Kind::BitmapIp | Kind::BitmapIpMac => {
            let ip = p.addr(dir(0));
            let (first, last) = set.header.range;
            if ip < first || ip > last {
                return Err(format!(
                    "{} is outside the set's range {}-{}",
                    Ipv4Addr::from(ip),
                    Ipv4Addr::from(first),
                    Ipv4Addr::from(last)
                ));
            }
            let hosts = 1u64 << (32 - set.header.netmask.unwrap_or(32) as u32);
            key.ip = first + (((ip - first) as u64 / hosts) * hosts) as u32;
            if set.kind == Kind::BitmapIpMac {
                let Some((src, dst)) = p.eth else {
                    return Err("the packet has no Ethernet header (made on this host)".into());
                };
                let m = if dir(1) == Dir::Src { src } else { dst };
                if m == [0; 6] {
                    return Err("the packet's MAC address is 00:00:00:00:00:00".into());
                }
                mac = Some(m);
            }
        }
        Kind::BitmapPort => {
            let port = match (p.proto, p.transport) {
                (6 | 17, Transport::Ports { sport, dport }) => {
                    if dir(0) == Dir::Src {
                        sport
                    } else {
                        dport
                    }
                }
                _ => return Err("bitmap:port reads TCP and UDP ports only".into()),
            };
            let (first, last) = set.header.range;
            if (port as u32) < first || (port as u32) > last {
                return Err(format!(
                    "port {port} is outside the set's range {first}-{last}"
                ));
            }
            key.port = port;
        }
        Kind::ListSet => return Err("a list:set has no members of its own".into()),
    }
    Ok((key, mac))
}

fn proto_name(p: u8) -> String {
    match p {
        6 => "TCP".into(),
        17 => "UDP".into(),
        1 => "ICMP".into(),
        132 => "SCTP".into(),
        136 => "UDP-Lite".into(),
        p => format!("protocol {p}"),
    }
}

/// The skbinfo of a member, zero when the set keeps none.
fn skbinfo(set: &IpSet, e: &super::set::Entry) -> SkbInfo {
    if !set.header.skbinfo {
        return SkbInfo::default();
    }
    SkbInfo {
        mark: e.skbmark,
        prio: ((e.skbprio.0 as u32) << 16) | e.skbprio.1 as u32,
        queue: e.skbqueue,
    }
}

/// `ip_set_match_extensions` on one member: counters are updated first
/// (unless skipped), then compared. `Err` names the failed comparison.
fn counters(
    set: &mut IpSet,
    key: &Key,
    len: u64,
    skip: bool,
    cmp: Option<(Option<CounterCmp>, Option<CounterCmp>)>,
) -> Result<(), String> {
    if !set.header.counters {
        return Ok(());
    }
    let Some(e) = set.get_mut(key) else {
        return Ok(());
    };
    if !skip {
        e.packets += 1;
        e.bytes += len;
    }
    let Some((pk, by)) = cmp else {
        return Ok(());
    };
    for (c, v, what) in [(pk, e.packets, "packets"), (by, e.bytes, "bytes")] {
        if let Some(c) = c {
            if !c.check(v) {
                return Err(format!(
                    "its counters (packets {}, bytes {}) fail {}",
                    e.packets,
                    e.bytes,
                    c.text(what)
                ));
            }
        }
    }
    Ok(())
}

impl Store {
    /// `ip_set_test`: whether the packet is in set `name`, the dimensions
    /// taken from source or destination as `dirs` says. Updates counters
    /// and fills in bitmap:ip,mac MACs as the kernel does. `None` when the
    /// set does not exist.
    pub fn test_packet(
        &mut self,
        name: &str,
        p: &PacketFields,
        dirs: &[Dir],
        o: &TestOpts,
        now: u64,
    ) -> Option<Tested> {
        let set = self.get(name)?;
        if let Some(why) = unusable(set, dirs) {
            return Some(Tested {
                matched: false,
                skbinfo: SkbInfo::default(),
                why,
            });
        }
        if set.kind == Kind::ListSet {
            return Some(self.test_list(name, p, dirs, o, now));
        }
        let set = self.get_mut(name)?;
        set.expire(now);
        let (key, mac) = match packet_key(set, p, dirs, true) {
            Ok(k) => k,
            Err(why) => {
                return Some(Tested {
                    matched: false,
                    skbinfo: SkbInfo::default(),
                    why,
                })
            }
        };
        let shown = format!(
            "{} ({})",
            key_text(set.kind, &key, mac.as_ref()),
            set.kind.name()
        );
        let mut skb = SkbInfo::default();
        let mut why = format!("{shown} is not in set {name}");
        let ret = if set.kind == Kind::BitmapIpMac {
            match set.get(&key).map(|e| e.mac) {
                None => Ret::Miss,
                Some(Some(stored)) if Some(stored) != mac => {
                    why = format!(
                        "{} is in set {name} with MAC {}",
                        Ipv4Addr::from(key.ip),
                        super::elem::fmt_mac(&stored)
                    );
                    Ret::Miss
                }
                Some(Some(_)) => {
                    let cmp = Some((o.packets, o.bytes));
                    match counters(set, &key, p.len, o.skip_counters, cmp) {
                        Ok(()) => {
                            if let Some(e) = set.get(&key) {
                                skb = skbinfo(set, e);
                            }
                            Ret::Hit
                        }
                        Err(c) => {
                            why = format!("{shown} is in set {name}, but {c}");
                            Ret::Miss
                        }
                    }
                }
                Some(None) => {
                    // -EAGAIN: the kernel adds the packet's MAC and says yes.
                    fill_mac(set, &key, mac, None, p.len, now);
                    if let Some(e) = set.get(&key) {
                        skb = skbinfo(set, e);
                    }
                    Ret::Hit
                }
            }
        } else {
            let mut ret = Ret::Miss;
            // hash:net,iface's `multi`: members of the same network seen on
            // a level stop the search there unless one matched and failed.
            let multi_type = set.kind == Kind::HashNetIface;
            let mut multi = 0;
            'levels: for level in set.hits(&key) {
                if multi != 0 {
                    break;
                }
                for (k, equal) in level {
                    if multi_type {
                        multi += 1;
                    }
                    if !equal {
                        continue;
                    }
                    let cmp = Some((o.packets, o.bytes));
                    if let Err(c) = counters(set, &k, p.len, o.skip_counters, cmp) {
                        why = format!(
                            "{shown} hits {} in set {name}, but {c}",
                            key_text(set.kind, &k, None)
                        );
                        multi = 0;
                        continue;
                    }
                    let Some(e) = set.get(&k) else { continue };
                    skb = skbinfo(set, e);
                    let hit = key_text(set.kind, &k, None);
                    if e.nomatch {
                        why = format!("{shown} hits {hit} in set {name}, which is marked nomatch");
                        ret = Ret::NoMatchHit;
                    } else {
                        why = if hit == key_text(set.kind, &key, None) {
                            format!("{shown} is in set {name}")
                        } else {
                            format!("{shown} is in set {name} as {hit}")
                        };
                        ret = Ret::Hit;
                    }
                    break 'levels;
                }
            }
            if matches!(ret, Ret::Miss) && multi != 0 {
                why = format!(
                    "{shown} is not in set {name}: its network is there for another interface, and the kernel looks no further"
                );
            }
            ret
        };
        let nomatch_type = set.kind.has_nomatch();
        let matched = match ret {
            Ret::Miss => false,
            Ret::Hit if o.return_nomatch && nomatch_type => {
                why.push_str(", and --return-nomatch counts only nomatch members");
                false
            }
            Ret::Hit => true,
            Ret::NoMatchHit if o.return_nomatch => {
                why.push_str(" (--return-nomatch counts it)");
                true
            }
            Ret::NoMatchHit => false,
        };
        Some(Tested {
            matched,
            skbinfo: skb,
            why,
        })
    }

    /// `list_set_ktest`: the member sets in order; a member set that says
    /// yes (tested without counter comparisons, its counters updated unless
    /// `! --update-subcounters`) still needs the list's own member entry to
    /// pass the counter conditions.
    fn test_list(
        &mut self,
        name: &str,
        p: &PacketFields,
        dirs: &[Dir],
        o: &TestOpts,
        now: u64,
    ) -> Tested {
        let Some(list) = self.get_mut(name) else {
            return Tested {
                matched: false,
                skbinfo: SkbInfo::default(),
                why: format!("set {name} does not exist"),
            };
        };
        list.expire(now);
        let members = list.member_names();
        if members.is_empty() {
            return Tested {
                matched: false,
                skbinfo: SkbInfo::default(),
                why: format!("list:set {name} is empty"),
            };
        }
        let inner = TestOpts {
            return_nomatch: o.return_nomatch,
            skip_counters: o.skip_counters || o.skip_subcounters,
            skip_subcounters: false,
            packets: None,
            bytes: None,
        };
        let mut whys = Vec::new();
        for m in members {
            let Some(t) = self.test_packet(&m, p, dirs, &inner, now) else {
                continue;
            };
            if !t.matched {
                whys.push(t.why);
                continue;
            }
            let Some(list) = self.get_mut(name) else {
                break;
            };
            let key = Key {
                name: m.clone(),
                ..Default::default()
            };
            if let Err(c) = counters(
                list,
                &key,
                p.len,
                o.skip_counters,
                Some((o.packets, o.bytes)),
            ) {
                whys.push(format!("{}, but member {m} of list {name}: {c}", t.why));
                continue;
            }
            let mut skb = t.skbinfo;
            if list.header.skbinfo {
                if let Some(e) = list.get(&key) {
                    skb = skbinfo(list, e);
                }
            }
            return Tested {
                matched: true,
                skbinfo: skb,
                why: format!("{} (through list:set {name})", t.why),
            };
        }
        Tested {
            matched: false,
            skbinfo: SkbInfo::default(),
            why: format!(
                "no member set of list:set {name} matched: {}",
                whys.join("; ")
            ),
        }
    }

    /// `ip_set_add` from `-j SET --add-set`: adds the member the packet maps
    /// to, with `--exist` refreshing one that is there (its extensions
    /// start over: counters at this packet, no comment or skbinfo, no
    /// nomatch flag) and `--timeout` (else the set's default). A full hash
    /// leaves a kernel warning in `warnings`. list:set adds to the first
    /// member set that takes it.
    #[allow(clippy::too_many_arguments)]
    pub fn add_packet(
        &mut self,
        name: &str,
        p: &PacketFields,
        dirs: &[Dir],
        exist: bool,
        timeout: Option<u32>,
        now: u64,
        warnings: &mut Vec<String>,
    ) -> Result<(), KErr> {
        let set = self.get(name).ok_or(KErr::Name)?;
        if unusable(set, dirs).is_some() {
            return Err(KErr::Name);
        }
        if set.kind == Kind::ListSet {
            let list = self.get_mut(name).ok_or(KErr::Name)?;
            list.expire(now);
            let mut last = Err(KErr::Name);
            for m in list.member_names() {
                last = self.add_packet(&m, p, dirs, exist, timeout, now, warnings);
                if last.is_ok() {
                    break;
                }
            }
            return last;
        }
        let set = self.get_mut(name).ok_or(KErr::Name)?;
        set.expire(now);
        let (key, mac) = packet_key(set, p, dirs, false).map_err(|_| KErr::HashElem)?;
        // The kernel clamps what fits in jiffies.
        let timeout = timeout.map(|t| t.min(IPSET_MAX_TIMEOUT));
        if set.kind == Kind::BitmapIpMac {
            if let Some(e) = set.get(&key) {
                if e.mac.is_none() {
                    fill_mac(set, &key, mac, timeout, p.len, now);
                    return Ok(());
                }
            }
        }
        let ext = ExtArgs {
            timeout: timeout.filter(|_| set.header.timeout.is_some()),
            packets: Some(1),
            bytes: Some(p.len),
            ..Default::default()
        };
        let r = set.add_one(key, mac, &ext, exist, now);
        if r == Err(KErr::HashFull) {
            warnings.push(format!(
                "Set {} is full, maxelem {} reached",
                set.name, set.header.maxelem
            ));
        }
        r
    }

    /// `ip_set_del` from `-j SET --del-set`: deletes the member the packet
    /// maps to; list:set deletes from the first member set holding it.
    pub fn del_packet(
        &mut self,
        name: &str,
        p: &PacketFields,
        dirs: &[Dir],
        now: u64,
    ) -> Result<(), KErr> {
        let set = self.get(name).ok_or(KErr::Name)?;
        if unusable(set, dirs).is_some() {
            return Err(KErr::Name);
        }
        if set.kind == Kind::ListSet {
            let list = self.get_mut(name).ok_or(KErr::Name)?;
            list.expire(now);
            let mut last = Err(KErr::Exist);
            for m in list.member_names() {
                last = self.del_packet(&m, p, dirs, now);
                if last.is_ok() {
                    break;
                }
            }
            return last;
        }
        let set = self.get_mut(name).ok_or(KErr::Name)?;
        set.expire(now);
        let (key, _) = packet_key(set, p, dirs, false).map_err(|_| KErr::HashElem)?;
        set.del_one(&key, false)
    }
}

/// Longest timeout a packet can set, in seconds (`IPSET_MAX_TIMEOUT`).
pub const IPSET_MAX_TIMEOUT: u32 = (u32::MAX >> 1) / 1000;

/// Why a set cannot take part at all: too few src/dst flags for its
/// dimensions, or an IPv6 set seen from IPv4.
fn unusable(set: &IpSet, dirs: &[Dir]) -> Option<String> {
    let need = set.kind.dimension() as usize;
    if dirs.len() < need {
        return Some(format!(
            "set {} ({}) needs {need} src/dst flags, the rule gives {}",
            set.name,
            set.kind.name(),
            dirs.len()
        ));
    }
    if set.header.inet6 {
        return Some(format!("set {} holds IPv6 members", set.name));
    }
    None
}

/// bitmap:ip,mac: the MAC of a member added without one is learnt from a
/// packet. The timeout kept aside starts now (or `timeout` when `-j SET`
/// gives one), counters start at this packet, comment and skbinfo clear.
fn fill_mac(
    set: &mut IpSet,
    key: &Key,
    mac: Option<[u8; 6]>,
    timeout: Option<u32>,
    len: u64,
    now: u64,
) {
    let counters = set.header.counters;
    let default = set.header.timeout;
    let Some(e) = set.get_mut(key) else {
        return;
    };
    e.mac = mac;
    if default.is_some() {
        let t = match timeout {
            Some(t) if Some(t) != default => Some(t),
            _ => e.held,
        };
        e.expires = t.filter(|t| *t != 0).map(|t| now + t as u64 * SEC);
        e.held = None;
    }
    if counters {
        e.packets = 1;
        e.bytes = len;
    }
    e.comment = None;
    e.skbmark = (0, 0);
    e.skbprio = (0, 0);
    e.skbqueue = 0;
    let expires = e.expires;
    set.note_expiry(expires);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn sh(h: &mut Host, s: &str) -> crate::command::Output {
        let argv: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &argv, None)
    }

    /// A host whose clock reads 0, like the packets of these tests.
    fn host() -> Host {
        let mut h = Host::new("h");
        h.clock_ns = 0;
        h
    }

    fn pkt(src: [u8; 4], dst: [u8; 4], proto: u8, dport: u16) -> PacketFields {
        PacketFields {
            src: Ipv4Addr::from(src),
            dst: Ipv4Addr::from(dst),
            proto,
            transport: if proto == 6 || proto == 17 {
                Transport::Ports {
                    sport: 40000,
                    dport,
                }
            } else {
                Transport::NoPorts
            },
            in_iface: "eth0".into(),
            out_iface: String::new(),
            eth: None,
            len: 60,
        }
    }

    fn test(h: &mut Host, set: &str, p: &PacketFields, dirs: &[Dir], o: &TestOpts) -> bool {
        h.ipsets.test_packet(set, p, dirs, o, 0).unwrap().matched
    }

    const NO: TestOpts = TestOpts {
        return_nomatch: false,
        skip_counters: false,
        skip_subcounters: false,
        packets: None,
        bytes: None,
    };

    #[test]
    fn packets_match_by_dimension() {
        let mut h = host();
        assert_eq!(sh(&mut h, "ipset create web hash:ip,port").exit, 0);
        assert_eq!(sh(&mut h, "ipset add web 10.0.0.1,tcp:80").exit, 0);
        let p = pkt([1, 1, 1, 1], [10, 0, 0, 1], 6, 80);
        assert!(test(&mut h, "web", &p, &[Dir::Dst, Dir::Dst], &NO));
        assert!(!test(&mut h, "web", &p, &[Dir::Src, Dir::Dst], &NO));
        let t = h
            .ipsets
            .test_packet("web", &p, &[Dir::Dst], &NO, 0)
            .unwrap();
        assert!(!t.matched);
        assert_eq!(
            t.why,
            "set web (hash:ip,port) needs 2 src/dst flags, the rule gives 1"
        );
        assert_eq!(
            h.ipsets.test_packet("nosuch", &p, &[Dir::Src], &NO, 0),
            None
        );
        // UDP to the same port is another member.
        let u = pkt([1, 1, 1, 1], [10, 0, 0, 1], 17, 80);
        assert!(!test(&mut h, "web", &u, &[Dir::Dst, Dir::Dst], &NO));
    }

    #[test]
    fn nets_nomatch_and_lists() {
        let mut h = host();
        sh(&mut h, "ipset create n hash:net");
        sh(&mut h, "ipset add n 10.0.0.0/8");
        sh(&mut h, "ipset add n 10.1.0.0/16 nomatch");
        sh(&mut h, "ipset create l list:set");
        sh(&mut h, "ipset add l n");
        let p = pkt([10, 2, 0, 1], [1, 1, 1, 1], 17, 53);
        assert!(test(&mut h, "n", &p, &[Dir::Src], &NO));
        assert!(test(&mut h, "l", &p, &[Dir::Src], &NO));
        let p = pkt([10, 1, 0, 1], [1, 1, 1, 1], 17, 53);
        let t = h.ipsets.test_packet("n", &p, &[Dir::Src], &NO, 0).unwrap();
        assert!(!t.matched);
        assert_eq!(
            t.why,
            "10.1.0.1 (hash:net) hits 10.1.0.0/16 in set n, which is marked nomatch"
        );
        let rn = TestOpts {
            return_nomatch: true,
            ..NO
        };
        assert!(test(&mut h, "n", &p, &[Dir::Src], &rn));
        // --return-nomatch turns a plain member into no match.
        let p = pkt([10, 2, 0, 1], [1, 1, 1, 1], 17, 53);
        assert!(!test(&mut h, "n", &p, &[Dir::Src], &rn));
        assert!(!test(&mut h, "l", &p, &[Dir::Src], &rn));
    }

    #[test]
    fn counters_update_then_compare_and_fall_back_to_shorter_prefixes() {
        let mut h = host();
        sh(&mut h, "ipset create c hash:net counters");
        sh(&mut h, "ipset add c 1.1.1.0/24 packets 5 bytes 100");
        sh(&mut h, "ipset add c 1.1.0.0/16 packets 50 bytes 1000");
        let p = pkt([1, 1, 1, 1], [2, 2, 2, 2], 6, 80);
        let gt = TestOpts {
            packets: Some(CounterCmp::Gt(5)),
            ..NO
        };
        // The /24 member counts this packet first (6 > 5).
        assert!(test(&mut h, "c", &p, &[Dir::Src], &gt));
        let eq = TestOpts {
            packets: Some(CounterCmp::Eq(7)),
            ..NO
        };
        assert!(test(&mut h, "c", &p, &[Dir::Src], &eq));
        // /24 has 8 now: the /16 is tried next (51 packets).
        let eq51 = TestOpts {
            packets: Some(CounterCmp::Eq(51)),
            ..NO
        };
        assert!(test(&mut h, "c", &p, &[Dir::Src], &eq51));
        let skip = TestOpts {
            skip_counters: true,
            packets: Some(CounterCmp::Eq(9)),
            ..NO
        };
        let t = h
            .ipsets
            .test_packet("c", &p, &[Dir::Src], &skip, 0)
            .unwrap();
        assert!(!t.matched);
        assert_eq!(
            t.why,
            "1.1.1.1 (hash:net) hits 1.1.0.0/16 in set c, but its counters (packets 51, bytes 1060) fail --packets-eq 9"
        );
        let o = sh(&mut h, "ipset list c");
        assert!(
            o.stdout.contains("1.1.1.0/24 packets 8 bytes 280\n"),
            "{}",
            o.stdout
        );
    }

    #[test]
    fn set_target_adds_refreshes_and_deletes() {
        let mut h = host();
        sh(&mut h, "ipset create seen hash:ip timeout 60 counters");
        let p = pkt([192, 168, 1, 9], [1, 1, 1, 1], 6, 22);
        let src = [Dir::Src];
        let mut w = Vec::new();
        assert_eq!(
            h.ipsets
                .add_packet("seen", &p, &src, false, None, 0, &mut w),
            Ok(())
        );
        assert_eq!(
            h.ipsets
                .add_packet("seen", &p, &src, false, None, 0, &mut w),
            Err(KErr::Exist)
        );
        let o = sh(&mut h, "ipset list seen");
        assert!(o
            .stdout
            .ends_with("192.168.1.9 timeout 59 packets 1 bytes 60\n"));
        assert_eq!(
            h.ipsets
                .add_packet("seen", &p, &src, true, Some(5), 0, &mut w),
            Ok(())
        );
        assert!(test(&mut h, "seen", &p, &src, &NO));
        // Alive through its last instant, gone after.
        let t = h
            .ipsets
            .test_packet("seen", &p, &src, &NO, 5 * SEC)
            .unwrap();
        assert!(t.matched);
        let t = h
            .ipsets
            .test_packet("seen", &p, &src, &NO, 5 * SEC + 1)
            .unwrap();
        assert!(!t.matched);
        assert_eq!(
            h.ipsets.del_packet("seen", &p, &src, 5 * SEC + 1),
            Err(KErr::Exist)
        );
        assert!(w.is_empty());
    }

    #[test]
    fn adds_to_nets_take_the_longest_stored_prefix() {
        let mut h = host();
        sh(&mut h, "ipset create n hash:net");
        let p = pkt([192, 168, 1, 9], [1, 1, 1, 1], 6, 22);
        let mut w = Vec::new();
        h.ipsets
            .add_packet("n", &p, &[Dir::Src], false, None, 0, &mut w)
            .unwrap();
        sh(&mut h, "ipset add n 10.0.0.0/8");
        sh(&mut h, "ipset del n 192.168.1.9");
        h.ipsets
            .add_packet("n", &p, &[Dir::Src], false, None, 0, &mut w)
            .unwrap();
        let o = sh(&mut h, "ipset save n");
        assert!(o.stdout.contains("add n 192.0.0.0/8\n"), "{}", o.stdout);
    }

    #[test]
    fn full_set_warns() {
        let mut h = host();
        sh(&mut h, "ipset create f hash:ip maxelem 1");
        let mut w = Vec::new();
        let a = pkt([1, 1, 1, 1], [2, 2, 2, 2], 6, 1);
        let b = pkt([1, 1, 1, 2], [2, 2, 2, 2], 6, 1);
        h.ipsets
            .add_packet("f", &a, &[Dir::Src], false, None, 0, &mut w)
            .unwrap();
        assert_eq!(
            h.ipsets
                .add_packet("f", &b, &[Dir::Src], false, None, 0, &mut w),
            Err(KErr::HashFull)
        );
        assert_eq!(w, vec!["Set f is full, maxelem 1 reached".to_string()]);
    }

    #[test]
    fn lists_add_to_the_first_member_that_takes_it() {
        let mut h = host();
        sh(&mut h, "ipset create a hash:ip,port");
        sh(&mut h, "ipset create b hash:ip");
        sh(&mut h, "ipset create l list:set");
        sh(&mut h, "ipset add l a");
        sh(&mut h, "ipset add l b");
        let p = pkt([1, 1, 1, 1], [2, 2, 2, 2], 6, 1);
        let mut w = Vec::new();
        // One flag: a (two dimensions) refuses, b takes it.
        h.ipsets
            .add_packet("l", &p, &[Dir::Src], false, None, 0, &mut w)
            .unwrap();
        assert_eq!(h.ipsets.get("a").unwrap().len(), 0);
        assert_eq!(h.ipsets.get("b").unwrap().len(), 1);
        h.ipsets
            .add_packet("l", &p, &[Dir::Src, Dir::Dst], false, None, 0, &mut w)
            .unwrap();
        assert_eq!(h.ipsets.get("a").unwrap().len(), 1);
        h.ipsets
            .del_packet("l", &p, &[Dir::Src, Dir::Dst], 0)
            .unwrap();
        assert_eq!(h.ipsets.get("a").unwrap().len(), 0);
        assert_eq!(h.ipsets.get("b").unwrap().len(), 1);
    }

    #[test]
    fn bitmap_ip_mac_learns_the_mac() {
        let mut h = host();
        sh(
            &mut h,
            "ipset create m bitmap:ip,mac range 10.0.0.0/24 timeout 30 counters",
        );
        sh(&mut h, "ipset add m 10.0.0.5");
        let mut p = pkt([10, 0, 0, 5], [10, 0, 0, 1], 17, 53);
        let dirs = [Dir::Src, Dir::Src];
        let t = h.ipsets.test_packet("m", &p, &dirs, &NO, 0).unwrap();
        assert_eq!(
            t.why,
            "the packet has no Ethernet header (made on this host)"
        );
        let o = sh(&mut h, "ipset list m");
        assert!(o
            .stdout
            .ends_with("\n10.0.0.5 timeout 30 packets 0 bytes 0\n"));
        p.eth = Some(([2, 0, 0, 0, 0, 9], [2, 0, 0, 0, 0, 1]));
        assert!(test(&mut h, "m", &p, &dirs, &NO));
        let o = sh(&mut h, "ipset list m");
        assert!(o
            .stdout
            .ends_with("\n10.0.0.5,02:00:00:00:00:09 timeout 29 packets 1 bytes 60\n"));
        p.eth = Some(([2, 0, 0, 0, 0, 8], [2, 0, 0, 0, 0, 1]));
        assert!(!test(&mut h, "m", &p, &dirs, &NO));
    }

    #[test]
    fn transport_fields() {
        use crate::packet::spec::{L4Spec, PacketSpec};
        let spec = PacketSpec {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            l4: L4Spec::Icmp {
                icmp_type: 8,
                code: 0,
                id: 1,
                seq: 1,
            },
            ttl: 64,
            tos: 0,
            id: 1,
            payload_len: 0,
        };
        let pk = spec.build().unwrap();
        let f = PacketFields::of(&pk, &pk.headers().unwrap());
        assert_eq!(
            f.transport,
            Transport::Icmp {
                icmp_type: 8,
                code: 0
            }
        );
        assert_eq!(f.port(Dir::Src), Some((0x0800, 1)));
        assert_eq!(f.eth, None);
    }
}
