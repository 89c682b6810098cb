//! One set: its header (create options), its members with their extensions
//! (timeout, counters, comment, skbinfo), and the kernel's add/del/test
//! semantics for every type, including range and CIDR expansion.

use super::types::Kind;
use std::collections::HashMap;

/// Nanoseconds per second: member timeouts run on the host clock in nanoseconds.
pub const SEC: u64 = 1_000_000_000;

/// Kernel errors of the element and create commands (`IPSET_ERR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KErr {
    /// Element already added (add) / not added (del).
    Exist,
    HashFull,
    HashElem,
    /// hash:ip,port: the address given first is 0.0.0.0 (`EINVAL`).
    Invalid,
    InvalidCidr,
    InvalidProto,
    MissingProto,
    HashRange,
    BitmapRange,
    Timeout,
    Counter,
    Comment,
    SkbInfo,
    /// list:set: the named set does not exist.
    Name,
    /// list:set: a list:set cannot be a member.
    Loop,
    /// list:set: the before/after set does not exist.
    NameRef,
    /// list:set: the before/after set is not in the list.
    RefExist,
}

impl KErr {
    /// The message ipset prints for this error in command `cmd` on a set of `kind`.
    pub fn message(self, cmd: &str) -> &'static str {
        match self {
            KErr::Exist if cmd == "del" => "Element cannot be deleted from the set: it's not added",
            KErr::Exist => "Element cannot be added to the set: it's already added",
            KErr::HashFull => "Hash is full, cannot add more elements",
            KErr::HashElem => "Null-valued element, cannot be stored in a hash type of set",
            KErr::Invalid => "Kernel error received: Invalid argument",
            KErr::InvalidCidr => "The value of the CIDR parameter of the IP address is invalid",
            KErr::InvalidProto => "Invalid protocol specified",
            KErr::MissingProto => "Protocol missing, but must be specified",
            KErr::HashRange => "Invalid range, covers the whole address space",
            KErr::BitmapRange => "Element is out of the range of the set",
            KErr::Timeout => "Timeout cannot be used: set was created without timeout support",
            KErr::Counter => {
                "Packet/byte counters cannot be used: set was created without counter support"
            }
            KErr::Comment => "Comment cannot be used: set was created without comment support",
            KErr::SkbInfo => {
                "Skbinfo mapping cannot be used: set was created without skbinfo support"
            }
            KErr::Name => "Set to be added/deleted/tested as element does not exist.",
            KErr::Loop => "Sets with list:set type cannot be added to the set.",
            KErr::NameRef => {
                "The set to which you referred with 'before' or 'after' does not exist."
            }
            KErr::RefExist => {
                "The set to which you referred with 'before' or 'after' is not added to the set."
            }
        }
    }
}

/// Create options of a set, as the kernel keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    pub inet6: bool,
    pub hashsize: u32,
    pub maxelem: u32,
    pub netmask: Option<u8>,
    pub bitmask: Option<u32>,
    /// Default timeout; `Some` means the set supports timeouts.
    pub timeout: Option<u32>,
    pub counters: bool,
    pub comment: bool,
    pub skbinfo: bool,
    pub forceadd: bool,
    pub bucketsize: u8,
    pub initval: u32,
    /// bitmap:ip(,mac) address range or bitmap:port port range.
    pub range: (u32, u32),
    /// list:set size.
    pub size: u32,
}

/// The identity of a member; fields a type does not use stay at their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Key {
    pub ip: u32,
    pub cidr: u8,
    pub port: u16,
    pub proto: u8,
    pub ip2: u32,
    pub cidr2: u8,
    pub iface: String,
    pub physdev: bool,
    pub wildcard: bool,
    /// list:set member name.
    pub name: String,
}

/// Extensions given with an element command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtArgs {
    pub timeout: Option<u32>,
    pub packets: Option<u64>,
    pub bytes: Option<u64>,
    pub comment: Option<String>,
    pub skbmark: Option<(u32, u32)>,
    pub skbprio: Option<(u16, u16)>,
    pub skbqueue: Option<u16>,
    pub nomatch: bool,
}

/// A member with its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: Key,
    /// bitmap:ip,mac: the MAC address, unset until given or learnt.
    pub mac: Option<[u8; 6]>,
    pub nomatch: bool,
    /// Absolute expiry on the host clock (nanoseconds); `None` is permanent.
    pub expires: Option<u64>,
    /// bitmap:ip,mac without a MAC yet: the timeout (seconds) kept aside;
    /// its clock starts when the MAC is filled in (by a packet or an add).
    pub held: Option<u32>,
    pub packets: u64,
    pub bytes: u64,
    pub comment: Option<String>,
    pub skbmark: (u32, u32),
    pub skbprio: (u16, u16),
    pub skbqueue: u16,
    /// Insertion order.
    pub seq: u64,
}

/// One ipset.
#[derive(Debug, Clone)]
pub struct IpSet {
    pub name: String,
    pub kind: Kind,
    pub header: Header,
    entries: HashMap<Key, Entry>,
    /// list:set members in list order.
    list: Vec<Key>,
    /// Members per first and second prefix length (net types), for lookups.
    cidrs: [u32; 33],
    cidrs2: [u32; 33],
    seq: u64,
    /// No member expires before this (a lower bound), so packets and
    /// commands need not look at every member to expire none.
    next_expiry: Option<u64>,
}

/// Most members one set may hold in the playground (the kernel's limit is
/// memory); adding beyond it fails like a full hash.
pub const PLAYGROUND_MAX: usize = 1 << 20;

/// Outcome of one element operation that may touch many members.
pub type KResult<T = ()> = Result<T, KErr>;

impl IpSet {
    pub fn new(name: &str, kind: Kind, header: Header) -> IpSet {
        IpSet {
            name: name.to_string(),
            kind,
            header,
            entries: HashMap::new(),
            list: Vec::new(),
            cidrs: [0; 33],
            cidrs2: [0; 33],
            seq: 0,
            next_expiry: None,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn flush(&mut self) {
        self.entries.clear();
        self.list.clear();
        self.cidrs = [0; 33];
        self.cidrs2 = [0; 33];
        self.next_expiry = None;
    }

    /// Records that a member now expires at `t`.
    pub fn note_expiry(&mut self, t: Option<u64>) {
        if let Some(t) = t {
            self.next_expiry = Some(self.next_expiry.map_or(t, |n| n.min(t)));
        }
    }

    /// Drops members whose timeout has run out by `now` (nanoseconds): like
    /// the kernel's `time_is_before_jiffies`, a member lives through its
    /// last instant.
    pub fn expire(&mut self, now: u64) {
        if self.next_expiry.is_none_or(|t| t >= now) {
            return;
        }
        let dead: Vec<Key> = self
            .entries
            .values()
            .filter(|e| e.expires.is_some_and(|t| t < now))
            .map(|e| e.key.clone())
            .collect();
        for k in dead {
            self.remove(&k);
        }
        self.next_expiry = self.entries.values().filter_map(|e| e.expires).min();
    }

    /// Members in insertion order (list:set: list order).
    pub fn members(&self) -> Vec<&Entry> {
        if self.kind == Kind::ListSet {
            return self
                .list
                .iter()
                .filter_map(|k| self.entries.get(k))
                .collect();
        }
        let mut v: Vec<&Entry> = self.entries.values().collect();
        if self.kind.is_bitmap() {
            crate::sort::sort_by_key(&mut v, |e| (e.key.ip, e.key.port));
        } else {
            crate::sort::sort_by_key(&mut v, |e| e.seq);
        }
        v
    }

    /// Members sorted as `ipset -s` prints them.
    pub fn sorted_members(&self) -> Vec<&Entry> {
        let mut v = self.members();
        if self.kind != Kind::ListSet {
            crate::sort::sort_by(&mut v, |a, b| {
                let ka = (
                    &a.key.ip,
                    std::cmp::Reverse(a.key.cidr),
                    a.key.port,
                    a.key.proto,
                );
                let kb = (
                    &b.key.ip,
                    std::cmp::Reverse(b.key.cidr),
                    b.key.port,
                    b.key.proto,
                );
                ka.cmp(&kb)
                    .then(a.key.ip2.cmp(&b.key.ip2))
                    .then(b.key.cidr2.cmp(&a.key.cidr2))
                    .then(a.key.iface.cmp(&b.key.iface))
            });
        }
        v
    }

    /// Whether a set of this name is a member (list:set).
    pub fn has_member_named(&self, name: &str) -> bool {
        self.kind == Kind::ListSet && self.list.iter().any(|k| k.name == name)
    }

    /// Names of member sets (list:set).
    pub fn member_names(&self) -> Vec<String> {
        self.list.iter().map(|k| k.name.clone()).collect()
    }

    fn remove(&mut self, key: &Key) -> Option<Entry> {
        let e = self.entries.remove(key)?;
        if self.kind == Kind::ListSet {
            self.list.retain(|k| k != key);
        }
        self.cidrs[key.cidr as usize] = self.cidrs[key.cidr as usize].saturating_sub(1);
        self.cidrs2[key.cidr2 as usize] = self.cidrs2[key.cidr2 as usize].saturating_sub(1);
        Some(e)
    }

    /// Checks the extensions given against what the set supports.
    pub fn check_ext(&self, ext: &ExtArgs) -> KResult {
        if ext.timeout.is_some() && self.header.timeout.is_none() {
            return Err(KErr::Timeout);
        }
        if (ext.packets.is_some() || ext.bytes.is_some()) && !self.header.counters {
            return Err(KErr::Counter);
        }
        if ext.comment.is_some() && !self.header.comment {
            return Err(KErr::Comment);
        }
        if (ext.skbmark.is_some() || ext.skbprio.is_some() || ext.skbqueue.is_some())
            && !self.header.skbinfo
        {
            return Err(KErr::SkbInfo);
        }
        Ok(())
    }

    fn expiry(&self, ext: &ExtArgs, now: u64) -> Option<u64> {
        let t = ext.timeout.or(self.header.timeout)?;
        if t == 0 {
            None
        } else {
            Some(now + t as u64 * SEC)
        }
    }

    /// Sets a member's extensions; `e.mac` must already be final.
    fn fill(&self, e: &mut Entry, ext: &ExtArgs, now: u64) {
        e.expires = self.expiry(ext, now);
        e.held = None;
        if self.kind == Kind::BitmapIpMac && e.mac.is_none() && self.header.timeout.is_some() {
            // No MAC yet: the kernel keeps the plain timeout and starts it later.
            e.held = ext.timeout.or(self.header.timeout);
            e.expires = None;
        }
        e.nomatch = ext.nomatch && self.kind.has_nomatch();
        e.packets = ext.packets.unwrap_or(0);
        e.bytes = ext.bytes.unwrap_or(0);
        e.comment = ext.comment.clone().filter(|c| !c.is_empty());
        e.skbmark = ext.skbmark.unwrap_or((0, 0));
        e.skbprio = ext.skbprio.unwrap_or((0, 0));
        e.skbqueue = ext.skbqueue.unwrap_or(0);
    }

    /// Adds one member; `exist` turns "already added" into an update.
    pub fn add_one(
        &mut self,
        key: Key,
        mac: Option<[u8; 6]>,
        ext: &ExtArgs,
        exist: bool,
        now: u64,
    ) -> KResult {
        if let Some(old) = self.entries.get(&key) {
            let _ = old;
            if !exist {
                return Err(KErr::Exist);
            }
            let mut e = self.entries.remove(&key).expect("present");
            if mac.is_some() {
                e.mac = mac;
            }
            self.fill(&mut e, ext, now);
            self.note_expiry(e.expires);
            self.entries.insert(key, e);
            return Ok(());
        }
        if self.kind.is_hash()
            && (self.entries.len() as u64 >= self.header.maxelem as u64
                || self.entries.len() >= PLAYGROUND_MAX)
        {
            if !self.header.forceadd {
                return Err(KErr::HashFull);
            }
            if let Some(oldest) = self.members().first().map(|e| e.key.clone()) {
                self.remove(&oldest);
            }
        }
        self.insert_new(key, mac, ext, now, None);
        Ok(())
    }

    fn insert_new(
        &mut self,
        key: Key,
        mac: Option<[u8; 6]>,
        ext: &ExtArgs,
        now: u64,
        list_pos: Option<usize>,
    ) {
        self.seq += 1;
        let mut e = Entry {
            key: key.clone(),
            mac,
            nomatch: false,
            expires: None,
            held: None,
            packets: 0,
            bytes: 0,
            comment: None,
            skbmark: (0, 0),
            skbprio: (0, 0),
            skbqueue: 0,
            seq: self.seq,
        };
        self.fill(&mut e, ext, now);
        self.cidrs[key.cidr as usize] += 1;
        self.cidrs2[key.cidr2 as usize] += 1;
        if self.kind == Kind::ListSet {
            match list_pos {
                Some(p) => self.list.insert(p.min(self.list.len()), key.clone()),
                None => self.list.push(key.clone()),
            }
        }
        self.note_expiry(e.expires);
        self.entries.insert(key, e);
    }

    /// Deletes every member whose key satisfies `f`.
    pub fn remove_where(&mut self, f: impl Fn(&Key) -> bool) {
        let keys: Vec<Key> = self.entries.keys().filter(|k| f(k)).cloned().collect();
        for k in keys {
            self.remove(&k);
        }
    }

    /// Deletes one member; `exist` ignores a missing one.
    pub fn del_one(&mut self, key: &Key, exist: bool) -> KResult {
        match self.remove(key) {
            Some(_) => Ok(()),
            None if exist => Ok(()),
            None => Err(KErr::Exist),
        }
    }

    pub fn get(&self, key: &Key) -> Option<&Entry> {
        self.entries.get(key)
    }

    pub fn get_mut(&mut self, key: &Key) -> Option<&mut Entry> {
        self.entries.get_mut(key)
    }

    /// Finds the member a lookup hits: exact prefix lengths when `exact`,
    /// otherwise the most specific network holding the key's addresses.
    pub fn lookup(&self, key: &Key, exact: bool) -> Option<&Entry> {
        let nets1 = matches!(
            self.kind,
            Kind::HashNet | Kind::HashNetPort | Kind::HashNetIface
        );
        let nets2 = self.kind == Kind::HashIpPortNet;
        if exact || !(nets1 || nets2) {
            return self.lookup_iface(key);
        }
        let c1: Vec<u8> = if nets1 {
            (1..=32u8)
                .rev()
                .filter(|c| self.cidrs[*c as usize] > 0)
                .collect()
        } else {
            vec![key.cidr]
        };
        let c2: Vec<u8> = if nets2 {
            (1..=32u8)
                .rev()
                .filter(|c| self.cidrs2[*c as usize] > 0)
                .collect()
        } else {
            vec![key.cidr2]
        };
        for a in &c1 {
            for b in &c2 {
                let mut k = key.clone();
                if nets1 {
                    k.cidr = *a;
                    k.ip = key.ip & mask(*a);
                }
                if nets2 {
                    k.cidr2 = *b;
                    k.ip2 = key.ip2 & mask(*b);
                }
                if let Some(e) = self.lookup_iface(&k) {
                    return Some(e);
                }
            }
        }
        None
    }

    /// hash:net,iface: a wildcard member matches interfaces it prefixes.
    fn lookup_iface(&self, key: &Key) -> Option<&Entry> {
        if let Some(e) = self.entries.get(key) {
            return Some(e);
        }
        if self.kind != Kind::HashNetIface {
            return None;
        }
        self.entries.values().find(|e| {
            e.key.wildcard
                && e.key.ip == key.ip
                && e.key.cidr == key.cidr
                && e.key.physdev == key.physdev
                && key.iface.starts_with(&e.key.iface)
        })
    }

    /// The members a packet's key can hit, level by level in the order the
    /// kernel tries them (`mtype_test_cidrs`): for net types every stored
    /// prefix length from the longest down (the net of hash:ip,port,net is
    /// its second address), other types the key itself. hash:net,iface
    /// lists every member of the same network in insertion order, `true`
    /// for those whose interface matches (wildcard names as prefixes): the
    /// kernel stops after a level holding the network under another name.
    pub fn hits(&self, key: &Key) -> Vec<Vec<(Key, bool)>> {
        let nets1 = matches!(
            self.kind,
            Kind::HashNet | Kind::HashNetPort | Kind::HashNetIface
        );
        let nets2 = self.kind == Kind::HashIpPortNet;
        let lens = |counts: &[u32; 33]| -> Vec<u8> {
            (0..=32u8)
                .rev()
                .filter(|c| counts[*c as usize] > 0)
                .collect()
        };
        let c1 = if nets1 {
            lens(&self.cidrs)
        } else {
            vec![key.cidr]
        };
        let c2 = if nets2 {
            lens(&self.cidrs2)
        } else {
            vec![key.cidr2]
        };
        let mut out = Vec::new();
        for a in &c1 {
            for b in &c2 {
                let mut k = key.clone();
                if nets1 {
                    k.cidr = *a;
                    k.ip = key.ip & mask(*a);
                }
                if nets2 {
                    k.cidr2 = *b;
                    k.ip2 = key.ip2 & mask(*b);
                }
                if self.kind == Kind::HashNetIface {
                    let mut v: Vec<&Entry> = self
                        .entries
                        .values()
                        .filter(|e| e.key.ip == k.ip && e.key.cidr == k.cidr)
                        .collect();
                    crate::sort::sort_by_key(&mut v, |e| e.seq);
                    let level = v
                        .into_iter()
                        .map(|e| {
                            let name = if e.key.wildcard {
                                k.iface.starts_with(&e.key.iface)
                            } else {
                                k.iface == e.key.iface
                            };
                            (e.key.clone(), e.key.physdev == k.physdev && name)
                        })
                        .collect();
                    out.push(level);
                } else if self.entries.contains_key(&k) {
                    out.push(vec![(k, true)]);
                }
            }
        }
        out
    }

    /// The longest prefix length stored in the set's network part (the
    /// kernel's `nets[0]`), which packets added or deleted by `-j SET` take.
    pub fn longest_prefix(&self) -> Option<u8> {
        let counts = if self.kind == Kind::HashIpPortNet {
            &self.cidrs2
        } else {
            &self.cidrs
        };
        (1..=32u8).rev().find(|c| counts[*c as usize] > 0)
    }

    /// list:set: adds `name` before or after `refname` (or at the end).
    pub fn list_add(
        &mut self,
        name: &str,
        refname: Option<(&str, bool)>,
        ext: &ExtArgs,
        exist: bool,
        now: u64,
    ) -> KResult {
        let key = Key {
            name: name.to_string(),
            ..Default::default()
        };
        let pos = match refname {
            None => None,
            Some((r, before)) => {
                let Some(i) = self.list.iter().position(|k| k.name == r) else {
                    return Err(KErr::RefExist);
                };
                Some(if before { i } else { i + 1 })
            }
        };
        if self.entries.contains_key(&key) {
            if !exist {
                return Err(KErr::Exist);
            }
            let mut e = self.entries.remove(&key).expect("present");
            self.fill(&mut e, ext, now);
            self.note_expiry(e.expires);
            self.entries.insert(key, e);
            return Ok(());
        }
        self.insert_new(key, None, ext, now, pos.or(Some(self.list.len())));
        Ok(())
    }

    /// list:set: whether `name` is in the list, right before/after `refname` if given.
    pub fn list_test(&self, name: &str, refname: Option<(&str, bool)>) -> bool {
        let Some(i) = self.list.iter().position(|k| k.name == name) else {
            return false;
        };
        match refname {
            None => true,
            Some((r, before)) => {
                let j = if before { i + 1 } else { i.wrapping_sub(1) };
                self.list.get(j).is_some_and(|k| k.name == r)
            }
        }
    }

    /// list:set: deletes `name`, which must sit right before/after `refname` if given.
    pub fn list_del(&mut self, name: &str, refname: Option<(&str, bool)>, exist: bool) -> KResult {
        if let Some((r, _)) = refname {
            if !self.list.iter().any(|k| k.name == r) {
                return Err(KErr::RefExist);
            }
            if !self.list_test(name, refname) {
                return if exist { Ok(()) } else { Err(KErr::RefExist) };
            }
        }
        let key = Key {
            name: name.to_string(),
            ..Default::default()
        };
        self.del_one(&key, exist)
    }

    /// Renames a member set of a list:set (the set itself was renamed).
    pub fn rename_member(&mut self, old: &str, new: &str) {
        let k_old = Key {
            name: old.to_string(),
            ..Default::default()
        };
        if let Some(mut e) = self.entries.remove(&k_old) {
            e.key.name = new.to_string();
            for k in self.list.iter_mut() {
                if k.name == old {
                    k.name = new.to_string();
                }
            }
            self.entries.insert(e.key.clone(), e);
        }
    }

    /// Approximate `Size in memory`, following the kernel's allocation sizes.
    pub fn memsize(&self) -> u64 {
        let h = &self.header;
        let ext = (if h.timeout.is_some() { 8 } else { 0 })
            + (if h.counters { 16 } else { 0 })
            + (if h.comment { 8 } else { 0 })
            + (if h.skbinfo { 16 } else { 0 });
        let comments: u64 = self
            .entries
            .values()
            .filter_map(|e| e.comment.as_ref())
            .map(|c| c.len() as u64 + 1 + 16)
            .sum();
        let n = self.entries.len() as u64;
        match self.kind {
            Kind::BitmapIp | Kind::BitmapIpMac | Kind::BitmapPort => {
                let elems = match self.kind {
                    Kind::BitmapPort => (h.range.1 - h.range.0) as u64 + 1,
                    _ => {
                        let hosts = 1u64 << (32 - h.netmask.unwrap_or(32) as u32);
                        ((h.range.1 - h.range.0) as u64 + 1).div_ceil(hosts)
                    }
                };
                let bits = elems.div_ceil(64) * 8;
                let (base, per) = match self.kind {
                    Kind::BitmapIp => (88, ext),
                    Kind::BitmapIpMac => (112, 8 + ext),
                    _ => (72, ext),
                };
                base + bits + elems * per + comments
            }
            Kind::ListSet => 80 + n * (48 + ext) + comments,
            _ => {
                let (base, dsize) = match self.kind {
                    Kind::HashIp => (216, 4),
                    Kind::HashNet => (456, 8),
                    Kind::HashIpPort => (216, 8),
                    Kind::HashNetPort => (456, 12),
                    Kind::HashIpPortIp => (208, 12),
                    Kind::HashIpPortNet => (464, 16),
                    _ => (488, 24),
                };
                let d = (dsize + ext).div_ceil(8) * 8;
                base + n * (32 + 2 * d) + comments
            }
        }
    }
}

/// Netmask of a prefix length.
pub fn mask(cidr: u8) -> u32 {
    if cidr == 0 {
        0
    } else {
        u32::MAX << (32 - cidr as u32)
    }
}

/// Splits `from..=to` into the fewest CIDR blocks (`ip_set_range_to_cidr`).
pub fn range_to_cidrs(from: u32, to: u32) -> Vec<(u32, u8)> {
    let mut out = Vec::new();
    let mut ip = from as u64;
    let to = to as u64;
    while ip <= to {
        let mut cidr = 32u8;
        while cidr > 0 {
            let size = 1u64 << (33 - cidr as u32);
            let m = !(size - 1);
            if ip & m != ip || ip + size - 1 > to {
                break;
            }
            cidr -= 1;
        }
        out.push((ip as u32, cidr));
        ip += 1u64 << (32 - cidr as u32);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipk(ip: u32) -> Key {
        Key {
            ip,
            ..Default::default()
        }
    }

    #[test]
    fn cidr_split_like_the_kernel() {
        // 192.168.1.0-192.168.1.9 -> /29 and /31
        let base = 0xc0a8_0100;
        assert_eq!(
            range_to_cidrs(base, base + 9),
            vec![(base, 29), (base + 8, 31)]
        );
        assert_eq!(range_to_cidrs(0, u32::MAX), vec![(0, 0)]);
    }

    #[test]
    fn add_exist_full() {
        let h = Header {
            maxelem: 1,
            ..Default::default()
        };
        let mut s = IpSet::new("s", Kind::HashIp, h);
        let e = ExtArgs::default();
        assert_eq!(s.add_one(ipk(1), None, &e, false, 0), Ok(()));
        assert_eq!(s.add_one(ipk(1), None, &e, false, 0), Err(KErr::Exist));
        assert_eq!(s.add_one(ipk(1), None, &e, true, 0), Ok(()));
        assert_eq!(s.add_one(ipk(2), None, &e, false, 0), Err(KErr::HashFull));
        assert_eq!(s.del_one(&ipk(2), false), Err(KErr::Exist));
        assert_eq!(s.del_one(&ipk(2), true), Ok(()));
    }

    #[test]
    fn net_lookup_most_specific_first() {
        let h = Header {
            maxelem: 100,
            ..Default::default()
        };
        let mut s = IpSet::new("n", Kind::HashNet, h);
        let net = |ip: u32, cidr: u8| Key {
            ip,
            cidr,
            ..Default::default()
        };
        s.add_one(net(0x0a00_0000, 8), None, &ExtArgs::default(), false, 0)
            .unwrap();
        let nm = ExtArgs {
            nomatch: true,
            ..Default::default()
        };
        s.add_one(net(0x0a00_0000, 16), None, &nm, false, 0)
            .unwrap();
        let hit = s.lookup(&net(0x0a00_0101, 32), false).unwrap();
        assert!(hit.nomatch);
        let hit = s.lookup(&net(0x0a01_0101, 32), false).unwrap();
        assert!(!hit.nomatch);
        assert!(s.lookup(&net(0x0b00_0000, 32), false).is_none());
    }

    #[test]
    fn timeouts_expire() {
        let h = Header {
            maxelem: 10,
            timeout: Some(5),
            ..Default::default()
        };
        let mut s = IpSet::new("t", Kind::HashIp, h);
        s.add_one(ipk(1), None, &ExtArgs::default(), false, 100 * SEC)
            .unwrap();
        s.expire(105 * SEC);
        assert_eq!(s.len(), 1);
        s.expire(105 * SEC + 1);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn list_positions() {
        let h = Header {
            size: 8,
            ..Default::default()
        };
        let mut l = IpSet::new("l", Kind::ListSet, h);
        let e = ExtArgs::default();
        l.list_add("a", None, &e, false, 0).unwrap();
        l.list_add("b", Some(("a", true)), &e, false, 0).unwrap();
        assert_eq!(l.member_names(), vec!["b", "a"]);
        assert!(l.list_test("b", Some(("a", true))));
        assert!(!l.list_test("a", Some(("b", true))));
        assert_eq!(
            l.list_add("c", Some(("zz", false)), &e, false, 0),
            Err(KErr::RefExist)
        );
    }
}
