//! Connection tracking as the kernel does it: tuples, entries with original
//! and reply directions, the ctinfo states rules see, TCP state tracking,
//! timeouts on the lab clock, NAT bindings, and `conntrack -L` text.

mod tcp_window;
mod tuple_map;

pub use tcp_window::{TcpPolicy, Window};

use crate::fasthash::FastMap;
use crate::packet::{tcp_flags, Headers, L4};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use tcp_window::{Judged, Segment};
use tuple_map::{source_of, TupleMap};

const SEC: u64 = 1_000_000_000;
/// IP protocol number of GRE (tracked with its own timeouts).
const GRE: u8 = 47;

/// Status bits (`enum ip_conntrack_status`).
pub mod status {
    pub const EXPECTED: u32 = 1 << 0;
    pub const SEEN_REPLY: u32 = 1 << 1;
    pub const ASSURED: u32 = 1 << 2;
    pub const CONFIRMED: u32 = 1 << 3;
    pub const SRC_NAT: u32 = 1 << 4;
    pub const DST_NAT: u32 = 1 << 5;
    pub const SEQ_ADJUST: u32 = 1 << 6;
    pub const SRC_NAT_DONE: u32 = 1 << 7;
    pub const DST_NAT_DONE: u32 = 1 << 8;
    pub const DYING: u32 = 1 << 9;
    /// The simulator's own bit: the connection's reply tuple (its own, or
    /// the one NAT gave it) is another connection's; inserting it at confirm fails
    /// (`__nf_conntrack_confirm` finds the clash and drops the packet).
    pub const REPLY_CLASH: u32 = 1 << 31;
}

/// A connection's identity in one direction. For ICMP, `sport` is the echo
/// id and `dport` is `type << 8 | code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tuple {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
}

/// Every field, packed into two words: each packet looks tuples up several
/// times, and a word is one round of the map's hasher.
impl std::hash::Hash for Tuple {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from(u32::from(self.src)) << 32 | u64::from(u32::from(self.dst)));
        state.write_u64(
            u64::from(self.sport) << 32 | u64::from(self.dport) << 16 | u64::from(self.proto),
        );
    }
}

/// ICMP types that start a connection, and the reply type each expects.
fn icmp_reply_type(t: u8) -> Option<u8> {
    match t {
        8 => Some(0),
        13 => Some(14),
        15 => Some(16),
        17 => Some(18),
        _ => None,
    }
}

impl Tuple {
    /// The tuple of a packet (None for a packet without one: fragments).
    pub fn of(h: &Headers) -> Option<Tuple> {
        let (sport, dport) = match &h.l4 {
            L4::Tcp(t) => (t.sport, t.dport),
            L4::Udp(u) => (u.sport, u.dport),
            L4::Icmp(i) => (i.id(), (i.icmp_type as u16) << 8 | i.code as u16),
            L4::Other => (0, 0),
            L4::Fragment => return None,
        };
        Some(Tuple {
            src: h.src,
            dst: h.dst,
            proto: h.proto,
            sport,
            dport,
        })
    }

    /// The tuple a reply would carry.
    pub fn inverted(&self) -> Tuple {
        if self.proto == 1 {
            let t = (self.dport >> 8) as u8;
            let reply = icmp_reply_type(t).or_else(|| {
                // An echo reply's inverse is the request.
                [(0u8, 8u8), (14, 13), (16, 15), (18, 17)]
                    .iter()
                    .find(|(r, _)| *r == t)
                    .map(|(_, q)| *q)
            });
            return Tuple {
                src: self.dst,
                dst: self.src,
                proto: 1,
                sport: self.sport,
                dport: (reply.unwrap_or(t) as u16) << 8 | (self.dport & 0xff),
            };
        }
        Tuple {
            src: self.dst,
            dst: self.src,
            proto: self.proto,
            sport: self.dport,
            dport: self.sport,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dir {
    Original,
    Reply,
}

/// What `-m state` / `-m conntrack --ctstate` see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CtState {
    New,
    Established,
    Related,
    Invalid,
    Untracked,
}

impl CtState {
    pub fn name(self) -> &'static str {
        match self {
            CtState::New => "NEW",
            CtState::Established => "ESTABLISHED",
            CtState::Related => "RELATED",
            CtState::Invalid => "INVALID",
            CtState::Untracked => "UNTRACKED",
        }
    }
}

/// TCP conntrack states (`enum tcp_conntrack`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TcpState {
    None,
    SynSent,
    SynRecv,
    Established,
    FinWait,
    CloseWait,
    LastAck,
    TimeWait,
    Close,
    SynSent2,
}

impl TcpState {
    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::SynSent2 => "SYN_SENT2",
        }
    }
    /// Default `nf_conntrack_tcp_timeout_*` in seconds.
    fn timeout(self) -> u64 {
        match self {
            TcpState::SynSent | TcpState::SynSent2 => 120,
            TcpState::SynRecv => 60,
            TcpState::Established => 432_000,
            TcpState::FinWait => 120,
            TcpState::CloseWait => 60,
            TcpState::LastAck => 30,
            TcpState::TimeWait => 120,
            TcpState::Close => 10,
            TcpState::None => 120,
        }
    }
}

/// `tcp_valid_flags` of `nf_conntrack_proto_tcp.c`: the flag combinations
/// (ECE, CWR and PSH aside) conntrack accepts at all; any other makes the
/// packet INVALID before the state table is consulted.
/// Where a segment's sequence space ends: its data plus one each for SYN
/// and FIN (`segment_seq_plus_len`).
fn segment_end(th: &crate::packet::TcpInfo) -> u32 {
    let syn = (th.flags & tcp_flags::SYN != 0) as u32;
    let fin = (th.flags & tcp_flags::FIN != 0) as u32;
    th.seq
        .wrapping_add(th.payload_len as u32)
        .wrapping_add(syn + fin)
}

fn tcp_flags_valid(flags: u8) -> bool {
    use tcp_flags::*;
    let f = flags & !(ECE | CWR | PSH);
    [
        SYN,
        SYN | URG,
        SYN | ACK,
        RST,
        RST | ACK,
        FIN | ACK,
        FIN | ACK | URG,
        ACK,
        ACK | URG,
    ]
    .contains(&f)
}

/// Result of the TCP state table: a new state, ignore, or invalid.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    To(TcpState),
    Ignore,
    Invalid,
}

fn tcp_next(dir: Dir, flags: u8, cur: TcpState) -> Next {
    use Next::*;
    use TcpState::*;
    let class = if flags & tcp_flags::RST != 0 {
        4
    } else if flags & tcp_flags::SYN != 0 {
        if flags & tcp_flags::ACK != 0 {
            1
        } else {
            0
        }
    } else if flags & tcp_flags::FIN != 0 {
        2
    } else if flags & tcp_flags::ACK != 0 {
        3
    } else {
        5
    };
    let col = match cur {
        None => 0,
        SynSent => 1,
        SynRecv => 2,
        Established => 3,
        FinWait => 4,
        CloseWait => 5,
        LastAck => 6,
        TimeWait => 7,
        Close => 8,
        SynSent2 => 9,
    };
    // The kernel's tcp_conntracks tables, made once (not per packet).
    const SS: Next = To(SynSent);
    const SR: Next = To(SynRecv);
    const ES: Next = To(Established);
    const FW: Next = To(FinWait);
    const CW: Next = To(CloseWait);
    const LA: Next = To(LastAck);
    const TW: Next = To(TimeWait);
    const CL: Next = To(Close);
    const S2: Next = To(SynSent2);
    const IV: Next = Invalid;
    const IG: Next = Ignore;
    static ORIG: [[Next; 10]; 6] = [
        [SS, SS, IG, IG, IG, IG, IG, SS, SS, S2],
        [IV, IV, SR, IV, IV, IV, IV, IV, IV, SR],
        [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV],
        [ES, IV, ES, ES, CW, CW, TW, TW, CL, IV],
        [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
        [IV; 10],
    ];
    static REPLY: [[Next; 10]; 6] = [
        [IV, S2, IV, IV, IV, IV, IV, SS, IV, S2],
        [IV, SR, IG, IG, IG, IG, IG, IG, IG, SR],
        [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV],
        [IV, IG, SR, ES, CW, CW, TW, TW, CL, IG],
        [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
        [IV; 10],
    ];
    match dir {
        Dir::Original => ORIG[class][col],
        Dir::Reply => REPLY[class][col],
    }
}

/// One tracked connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: u32,
    pub orig: Tuple,
    pub reply: Tuple,
    pub status: u32,
    /// When the entry times out; set by [`Conntrack`] only (it keeps a
    /// bound on the soonest timeout to sweep only when one passed).
    pub expires_ns: u64,
    pub tcp: TcpState,
    pub mark: u32,
    pub zone: u16,
    /// Packets and bytes in the original and reply directions.
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// Id of the connection this one is related to (ICMP errors, expectations).
    pub master: Option<u32>,
    /// Conntrack helper attached to the connection (`-j CT --helper ftp`).
    #[serde(default)]
    pub helper: Option<String>,
    /// Connection labels (`-m connlabel`), bit n of the 128.
    #[serde(default)]
    pub labels: [u64; 2],
    /// When the first packet was seen (UDP streams start 2 s later).
    #[serde(default)]
    pub created_ns: u64,
    /// TCP: the sequence number just past the furthest segment seen in the
    /// original direction (the kernel's `seen[0].td_end`).
    #[serde(default)]
    pub orig_end: u32,
    /// TCP: both directions' sequence bounds and what the last segments were.
    #[serde(default)]
    pub window: Window,
}

impl Entry {
    pub fn has(&self, bit: u32) -> bool {
        self.status & bit != 0
    }
}

/// A packet made by the host for netfilter (REJECT, SYNPROXY) that carries
/// the connection of the packet it answers (`nf_ct_attach`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attached {
    /// Entry index and id (the id guards against a reused slot).
    pub idx: usize,
    pub id: u32,
    pub dir: Dir,
    pub state: CtState,
}

/// The result of looking a packet up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookup {
    /// Entry index, `None` for INVALID and UNTRACKED.
    pub idx: Option<usize>,
    pub dir: Dir,
    pub state: CtState,
}

/// All connections of one host.
#[derive(Debug, Clone, Default)]
pub struct Conntrack {
    entries: Vec<Option<Entry>>,
    /// Both tuples of every live entry, by zone.
    map: TupleMap,
    next_id: u32,
    free: Vec<usize>,
    /// References that attached replies hold on entries (`nf_conntrack_get`):
    /// an unconfirmed entry whose packet died lives on, unhashed (DYING),
    /// until the last reply attached to it is through.
    holds: FastMap<usize, u32>,
    /// No entry expires before this time (a bound kept as timeouts are
    /// set, made exact by each sweep), so most lookups need no sweep.
    soonest_ns: u64,
    /// Some entry may be dying (swept on every lookup).
    dying: bool,
    /// The host's `nf_conntrack_tcp_*` settings.
    pub tcp_policy: TcpPolicy,
    /// Entries whose source manip is set up, by the source of their
    /// original tuple (the kernel's `nf_nat_bysource`): the newest of each
    /// source, then each entry's next older one in `src_next`.
    bysource: TupleMap<true>,
    src_next: Vec<usize>,
    /// The new entry whose reply tuple is not in `map` yet: NAT may still
    /// change it (twice for DNAT then MASQUERADE), so it goes in once, when
    /// anything else could see the map ([`Conntrack::settle`]). Until then
    /// lookups answer as if it were in.
    unhashed_reply: Option<usize>,
}

/// No next entry in a `bysource` list.
const END: usize = usize::MAX;

impl Conntrack {
    pub fn get(&self, idx: usize) -> Option<&Entry> {
        self.entries.get(idx).and_then(|e| e.as_ref())
    }

    pub fn get_mut(&mut self, idx: usize) -> Option<&mut Entry> {
        self.entries.get_mut(idx).and_then(|e| e.as_mut())
    }

    /// Live entries in creation order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        let mut v: Vec<&Entry> = self
            .entries
            .iter()
            .flatten()
            .filter(|e| !e.has(status::DYING))
            .collect();
        crate::sort::sort_by_key(&mut v, |e| e.id);
        v.into_iter()
    }

    pub fn len(&self) -> usize {
        // The unhashed reply counts as the map would count it once in.
        let pending = self
            .unhashed()
            .is_some_and(|(_, e)| self.map.get(&self.entries, e.zone, &e.reply).is_none());
        (self.map.len() + usize::from(pending)) / 2
    }

    /// The entry whose reply tuple is not in the map yet, if any.
    fn unhashed(&self) -> Option<(usize, &Entry)> {
        let idx = self.unhashed_reply?;
        self.get(idx).map(|e| (idx, e))
    }

    /// Puts the unhashed reply tuple into the map, as [`Conntrack::set_reply`]
    /// would have: unless another entry has it, which makes the confirm fail.
    fn settle(&mut self) {
        let Some(idx) = self.unhashed_reply.take() else {
            return;
        };
        let Some(e) = self.get(idx).filter(|e| !e.has(status::DYING)) else {
            return;
        };
        let (zone, reply) = (e.zone, e.reply);
        let taken = self
            .map
            .put(&self.entries, zone, &reply, idx, Dir::Reply, false)
            .is_err();
        if let Some(e) = self.get_mut(idx) {
            if taken {
                e.status |= status::REPLY_CLASH;
            } else {
                e.status &= !status::REPLY_CLASH;
            }
        }
    }

    /// The entry (and direction) a tuple belongs to, the unhashed reply
    /// tuple included.
    fn owner(&self, zone: u16, t: &Tuple) -> Option<(usize, Dir)> {
        let found = self.map.get(&self.entries, zone, t);
        match self.unhashed() {
            Some((idx, e)) if e.zone == zone && e.reply == *t => match found {
                Some((other, dir)) if other != idx => Some((other, dir)),
                _ => Some((idx, Dir::Reply)),
            },
            _ => found,
        }
    }

    /// Indices of the live entries, in creation order (for `conntrack -D`).
    pub fn indices(&self) -> Vec<usize> {
        let mut v: Vec<(u32, usize)> = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (e.id, i)))
            .collect();
        crate::sort::sort(&mut v);
        v.into_iter().map(|(_, i)| i).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// `conntrack -F`.
    pub fn flush(&mut self) {
        // As a new table, keeping the memory for the connections to come.
        self.entries.clear();
        self.map.clear();
        self.free.clear();
        self.holds.clear();
        self.soonest_ns = 0;
        self.dying = false;
        self.bysource.clear();
        self.src_next.clear();
        self.unhashed_reply = None;
    }

    /// Removes entries whose timeout passed.
    pub fn expire(&mut self, now_ns: u64) {
        if !self.dying && now_ns < self.soonest_ns {
            return;
        }
        let dead: Vec<usize> = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                e.as_ref()
                    .filter(|e| e.expires_ns <= now_ns || e.has(status::DYING))
                    .map(|_| i)
            })
            .collect();
        for i in dead {
            self.remove(i);
        }
        self.soonest_ns = u64::MAX;
        self.dying = false;
        for e in self.entries.iter().flatten() {
            if e.has(status::DYING) {
                self.dying = true;
            } else {
                self.soonest_ns = self.soonest_ns.min(e.expires_ns);
            }
        }
    }

    /// An entry's timeout was set to `expires_ns`.
    fn timed(&mut self, expires_ns: u64) {
        self.soonest_ns = self.soonest_ns.min(expires_ns);
    }

    pub fn remove(&mut self, idx: usize) {
        self.settle();
        let Some(e) = self.entries.get(idx).and_then(|e| e.as_ref()) else {
            return;
        };
        if e.has(status::DYING) {
            // Already unhashed: only the last reference frees it.
            if !self.holds.contains_key(&idx) {
                self.free_slot(idx);
            }
            return;
        }
        let (orig, reply, zone) = (e.orig, e.reply, e.zone);
        self.unmap(idx, zone, &orig);
        self.unmap(idx, zone, &reply);
        if self.holds.contains_key(&idx) {
            if let Some(e) = self.entries[idx].as_mut() {
                e.status |= status::DYING;
                self.dying = true;
            }
        } else {
            self.free_slot(idx);
        }
    }

    /// Frees an entry's slot for a new connection.
    fn free_slot(&mut self, idx: usize) {
        self.unlink_source(idx);
        self.entries[idx] = None;
        self.free.push(idx);
    }

    /// Files an entry under its source once its source manip is set up
    /// (`nf_nat_setup_info` adds it to `nf_nat_bysource`), newest first.
    pub fn mark_src_done(&mut self, idx: usize) {
        let Some(e) = self.entries.get_mut(idx).and_then(|e| e.as_mut()) else {
            return;
        };
        if e.has(status::SRC_NAT_DONE) {
            return;
        }
        e.status |= status::SRC_NAT_DONE;
        let (zone, source) = (e.zone, source_of(&e.orig));
        if self.src_next.len() < self.entries.len() {
            self.src_next.resize(self.entries.len(), END);
        }
        let older = self
            .bysource
            .put(&self.entries, zone, &source, idx, Dir::Original, true)
            .ok()
            .flatten()
            .unwrap_or(END);
        self.src_next[idx] = older;
    }

    /// Takes a freed entry out of its source's list.
    fn unlink_source(&mut self, idx: usize) {
        let Some(e) = self.get(idx).filter(|e| e.has(status::SRC_NAT_DONE)) else {
            return;
        };
        let (zone, source) = (e.zone, source_of(&e.orig));
        let next = self.src_next.get(idx).copied().unwrap_or(END);
        let Some((head, _)) = self.bysource.get(&self.entries, zone, &source) else {
            return;
        };
        if head == idx {
            if next == END {
                self.bysource
                    .remove_if_owned(&self.entries, zone, &source, idx);
            } else {
                // The next entry takes the head over (a take never fails).
                let took =
                    self.bysource
                        .put(&self.entries, zone, &source, next, Dir::Original, true);
                debug_assert!(took.is_ok());
            }
            return;
        }
        let mut at = head;
        while let Some(&n) = self.src_next.get(at) {
            if n == idx {
                self.src_next[at] = next;
                return;
            }
            at = n;
        }
    }

    /// Entries whose source manip is set up and whose original tuple has
    /// this zone, protocol, source address and port, newest first (dying
    /// ones included).
    pub fn by_source(&self, zone: u16, t: &Tuple) -> impl Iterator<Item = &Entry> + '_ {
        let mut at = self
            .bysource
            .get(&self.entries, zone, &source_of(t))
            .map_or(END, |(head, _)| head);
        std::iter::from_fn(move || {
            let e = self.get(at)?;
            at = self.src_next.get(at).copied().unwrap_or(END);
            Some(e)
        })
    }

    /// Removes a tuple from the map if it still points at entry `idx`.
    fn unmap(&mut self, idx: usize, zone: u16, t: &Tuple) {
        self.map.remove_if_owned(&self.entries, zone, t, idx);
    }

    /// A reply attached to entry `idx` holds it (`nf_ct_attach`).
    pub fn hold(&mut self, idx: usize) {
        if self.get(idx).is_some() {
            *self.holds.entry(idx).or_insert(0) += 1;
        }
    }

    /// The attached reply is through: frees a dying entry nobody holds.
    pub fn release(&mut self, idx: usize) {
        if let Some(n) = self.holds.get_mut(&idx) {
            *n -= 1;
            if *n == 0 {
                self.holds.remove(&idx);
                if self.get(idx).is_some_and(|e| e.has(status::DYING)) {
                    self.remove(idx);
                }
            }
        }
    }

    /// The entry an attached reply refers to, if it is still the same one.
    pub fn attached(&self, a: &Attached) -> Option<usize> {
        self.get(a.idx).filter(|e| e.id == a.id).map(|_| a.idx)
    }

    /// Looks a packet up, creating an (unconfirmed) entry for a new connection
    /// and advancing TCP state, as `nf_conntrack_in` does.
    pub fn track(&mut self, h: &Headers, now_ns: u64) -> Lookup {
        self.track_in(h, 0, now_ns)
    }

    /// [`Conntrack::track`] in a conntrack zone (`-j CT --zone`).
    pub fn track_in(&mut self, h: &Headers, zone: u16, now_ns: u64) -> Lookup {
        let invalid = Lookup {
            idx: None,
            dir: Dir::Original,
            state: CtState::Invalid,
        };
        if let L4::Icmp(i) = &h.l4 {
            if i.is_error() {
                return self.related_icmp(h, zone);
            }
        }
        // `tcp_error`: a flag combination no TCP stack sends is INVALID,
        // for a new connection and an existing one alike.
        if matches!(&h.l4, L4::Tcp(th) if !tcp_flags_valid(th.flags)) {
            return invalid;
        }
        let Some(t) = Tuple::of(h) else {
            return invalid;
        };
        self.settle();
        self.expire(now_ns);
        let room = match self.map.get_or_vacant(&self.entries, zone, &t) {
            Ok((idx, dir)) => return self.update(idx, dir, h, now_ns),
            Err(room) => room,
        };
        // A new connection.
        let mut tcp = TcpState::None;
        let mut window = Window::default();
        let mut timeout = match h.proto {
            17 | 1 | GRE => 30,
            _ => 600,
        };
        match &h.l4 {
            L4::Tcp(th) => {
                if let Some(w) = tcp_window::open_with_syn(th) {
                    window = w;
                    tcp = TcpState::SynSent;
                    timeout = tcp.timeout();
                } else {
                    // Mid-stream segments start one only with nf_conntrack_tcp_loose.
                    let Some(w) = tcp_window::start(th, self.tcp_policy) else {
                        return invalid;
                    };
                    window = w;
                    let seg = Segment {
                        dir: Dir::Original,
                        th,
                        seen_reply: false,
                        assured: false,
                        policy: self.tcp_policy,
                    };
                    match tcp_window::judge(&mut tcp, &mut window, &seg) {
                        Judged::Accept { refresh, .. } => {
                            timeout = refresh.unwrap_or_else(|| tcp.timeout());
                        }
                        Judged::Ignore => timeout = tcp.timeout(),
                        Judged::Invalid { .. } | Judged::Reopen => return invalid,
                    }
                }
            }
            L4::Icmp(i) if icmp_reply_type(i.icmp_type).is_none() => return invalid,
            _ => {}
        }
        // A reply tuple another connection holds does not stop a new one
        // (`init_conntrack` looks at the original tuple only): NAT's binding
        // may still move it, else the confirm drops the packet.
        let reply = t.inverted();
        self.next_id = self.next_id.wrapping_add(1);
        let e = Entry {
            id: self.next_id,
            orig: t,
            reply,
            status: 0,
            expires_ns: now_ns + timeout * SEC,
            tcp,
            mark: 0,
            zone,
            packets: [1, 0],
            bytes: [h.total_len as u64, 0],
            master: None,
            helper: None,
            labels: [0; 2],
            created_ns: now_ns,
            orig_end: window.seen[0].end,
            window,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.entries[i] = Some(e);
                i
            }
            None => {
                self.entries.push(Some(e));
                self.entries.len() - 1
            }
        };
        self.map
            .fill(room, &self.entries, zone, &t, idx, Dir::Original);
        self.unhashed_reply = Some(idx);
        self.timed(now_ns + timeout * SEC);
        Lookup {
            idx: Some(idx),
            dir: Dir::Original,
            state: CtState::New,
        }
    }

    fn update(&mut self, idx: usize, dir: Dir, h: &Headers, now_ns: u64) -> Lookup {
        let Some(e) = self.entries.get_mut(idx).and_then(|e| e.as_mut()) else {
            return Lookup {
                idx: None,
                dir,
                state: CtState::Invalid,
            };
        };
        // The new timeout in seconds (None: the old one stays).
        let mut refresh = Some(match h.proto {
            17 | 1 | GRE => 30,
            _ => 600,
        });
        let mut killed = false;
        if let L4::Tcp(th) = &h.l4 {
            let seg = Segment {
                dir,
                th,
                seen_reply: e.has(status::SEEN_REPLY),
                assured: e.has(status::ASSURED),
                policy: self.tcp_policy,
            };
            match tcp_window::judge(&mut e.tcp, &mut e.window, &seg) {
                Judged::Accept {
                    refresh: r,
                    assure,
                    kill,
                } => {
                    refresh = r;
                    killed = kill;
                    if assure {
                        e.status |= status::ASSURED;
                    }
                }
                // Part of the connection, but nothing counted or refreshed.
                Judged::Ignore => refresh = None,
                Judged::Invalid { shorten } => {
                    let left = e.expires_ns.saturating_sub(now_ns);
                    if shorten && left >= 120 * SEC && left > 300 * SEC {
                        e.expires_ns = now_ns + 300 * SEC;
                    }
                    return Lookup {
                        idx: None,
                        dir,
                        state: CtState::Invalid,
                    };
                }
                Judged::Reopen => {
                    // The old connection goes; the SYN is looked up again.
                    let zone = e.zone;
                    self.kill(idx);
                    return self.track_in(h, zone, now_ns);
                }
            }
            e.orig_end = e.window.seen[0].end;
        }
        if refresh.is_some() || killed {
            let d = dir as usize;
            e.packets[d] += 1;
            e.bytes[d] += h.total_len as u64;
        }
        // UDP seen both ways becomes a stream (120 s, ASSURED) only once
        // 2 s have passed since the first packet; the first reply itself
        // still counts as unreplied (`nf_conntrack_udp_packet` runs before
        // SEEN_REPLY is set).
        if h.proto == 17 && e.has(status::SEEN_REPLY) && now_ns > e.created_ns + 2 * SEC {
            refresh = Some(120);
            e.status |= status::ASSURED;
        }
        // GRE answered is a stream (`gre_packet`): 180 s, ASSURED.
        if h.proto == GRE && e.has(status::SEEN_REPLY) {
            refresh = Some(180);
            e.status |= status::ASSURED;
        }
        if dir == Dir::Reply {
            e.status |= status::SEEN_REPLY;
        }
        if let Some(secs) = refresh {
            e.expires_ns = now_ns + secs * SEC;
        }
        let expires_ns = e.expires_ns;
        let state = if e.master.is_some() && !e.has(status::SEEN_REPLY) {
            CtState::Related
        } else if dir == Dir::Reply || e.has(status::SEEN_REPLY) {
            CtState::Established
        } else {
            CtState::New
        };
        self.timed(expires_ns);
        if killed {
            self.kill(idx);
        }
        Lookup {
            idx: Some(idx),
            dir,
            state,
        }
    }

    /// Takes an entry out of the table while the packet that ended it is
    /// still on its way (`nf_ct_kill`): the next lookup frees it.
    pub(crate) fn kill(&mut self, idx: usize) {
        self.settle();
        let Some(e) = self.get(idx) else {
            return;
        };
        let (orig, reply, zone) = (e.orig, e.reply, e.zone);
        self.unmap(idx, zone, &orig);
        self.unmap(idx, zone, &reply);
        if let Some(e) = self.get_mut(idx) {
            e.status |= status::DYING;
            self.dying = true;
        }
    }

    /// An ICMP error is RELATED to the connection of the packet it quotes.
    fn related_icmp(&mut self, h: &Headers, zone: u16) -> Lookup {
        let invalid = Lookup {
            idx: None,
            dir: Dir::Original,
            state: CtState::Invalid,
        };
        self.settle();
        let Some(inner) = h.icmp().and_then(|i| i.inner.as_deref()) else {
            return invalid;
        };
        let Some(t) = Tuple::of(inner) else {
            return invalid;
        };
        // The error travels the other way from the quoted packet: its
        // connection is the one the inverted quoted tuple belongs to, in that
        // tuple's direction (`icmp_error_message`), NAT or not.
        match self.map.get(&self.entries, zone, &t.inverted()) {
            Some((idx, dir)) => Lookup {
                idx: Some(idx),
                dir,
                state: CtState::Related,
            },
            None => invalid,
        }
    }

    /// Marks an entry confirmed (the packet left netfilter alive).
    /// False when the entry's reply tuple clashes with another
    /// connection's: the packet is dropped and the entry with it.
    pub fn confirm(&mut self, idx: usize) -> bool {
        self.settle();
        if let Some(e) = self.get_mut(idx) {
            if e.has(status::REPLY_CLASH) {
                return false;
            }
            e.status |= status::CONFIRMED;
        }
        true
    }

    /// Drops an entry the packet created if it never got confirmed (the
    /// packet was dropped). A reply attached to it keeps it, unhashed.
    pub fn drop_unconfirmed(&mut self, idx: usize) {
        if self.get(idx).is_some_and(|e| !e.has(status::CONFIRMED)) {
            self.remove(idx);
        }
    }

    /// Sets up a NAT binding: the reply tuple becomes `reply`.
    pub fn set_reply(&mut self, idx: usize, reply: Tuple, bit: u32) {
        if self.unhashed_reply == Some(idx) {
            if let Some(e) = self.get_mut(idx) {
                e.reply = reply;
                e.status |= bit;
            }
            return;
        }
        self.settle();
        let Some(e) = self.entries.get(idx).and_then(|e| e.as_ref()) else {
            return;
        };
        let (old, zone, dying) = (e.reply, e.zone, e.has(status::DYING));
        // Out of the map while the entry still has it (the map finds a
        // tuple through its entry).
        if !dying {
            self.unmap(idx, zone, &old);
        }
        let Some(e) = self.entries.get_mut(idx).and_then(|e| e.as_mut()) else {
            return;
        };
        e.reply = reply;
        e.status |= bit;
        if dying {
            return;
        }
        let taken = self
            .map
            .put(&self.entries, zone, &reply, idx, Dir::Reply, false)
            .is_err();
        if let Some(e) = self.entries.get_mut(idx).and_then(|e| e.as_mut()) {
            if taken {
                e.status |= status::REPLY_CLASH;
            } else {
                e.status &= !status::REPLY_CLASH;
            }
        }
    }

    /// Whether a tuple is in use by another connection (NAT picks a free one).
    pub fn tuple_taken(&self, t: &Tuple) -> bool {
        self.owner(0, t).is_some()
    }

    /// The entry (and direction) a tuple belongs to in a zone.
    pub fn tuple_owner(&self, zone: u16, t: &Tuple) -> Option<(usize, Dir)> {
        self.owner(zone, t)
    }

    /// Number of connections matching a predicate (for connlimit).
    pub fn count(&self, f: impl Fn(&Entry) -> bool) -> usize {
        self.entries
            .iter()
            .flatten()
            .filter(|e| !e.has(status::DYING) && f(e))
            .count()
    }

    /// `conntrack -L` lines and the summary line for stderr.
    pub fn list(&self, now_ns: u64) -> (String, String) {
        let mut out = String::new();
        let mut n = 0;
        for e in self.iter().filter(|e| e.has(status::CONFIRMED)) {
            n += 1;
            out.push_str(&entry_line(e, now_ns));
            out.push('\n');
        }
        (
            out,
            format!("conntrack v1.4.7 (conntrack-tools): {n} flow entries have been shown.\n"),
        )
    }
}

fn proto_name(p: u8) -> &'static str {
    match p {
        6 => "tcp",
        17 => "udp",
        1 => "icmp",
        132 => "sctp",
        33 => "dccp",
        136 => "udplite",
        47 => "gre",
        _ => "unknown",
    }
}

fn tuple_text(t: &Tuple) -> String {
    let mut s = format!("src={} dst={} ", t.src, t.dst);
    match t.proto {
        6 | 17 | 132 | 33 | 136 => s.push_str(&format!("sport={} dport={} ", t.sport, t.dport)),
        1 => s.push_str(&format!(
            "type={} code={} id={} ",
            t.dport >> 8,
            t.dport & 0xff,
            t.sport
        )),
        _ => {}
    }
    s
}

/// One line of `conntrack -L`.
pub fn entry_line(e: &Entry, now_ns: u64) -> String {
    let secs = e.expires_ns.saturating_sub(now_ns) / SEC;
    let mut s = format!("{:<8} {} {} ", proto_name(e.orig.proto), e.orig.proto, secs);
    if e.orig.proto == 6 {
        s.push_str(e.tcp.name());
        s.push(' ');
    }
    s.push_str(&tuple_text(&e.orig));
    if !e.has(status::SEEN_REPLY) {
        s.push_str("[UNREPLIED] ");
    }
    s.push_str(&tuple_text(&e.reply));
    if e.has(status::ASSURED) {
        s.push_str("[ASSURED] ");
    }
    s.push_str(&format!("mark={} ", e.mark));
    if e.zone != 0 {
        s.push_str(&format!("zone={} ", e.zone));
    }
    s.push_str("use=1");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash of the fields a tuple is compared by: each one counts.
    #[test]
    fn every_field_of_a_tuple_is_hashed() {
        use std::hash::BuildHasher;
        let hash = |t: &Tuple| {
            crate::fasthash::FastMap::<Tuple, ()>::default()
                .hasher()
                .hash_one(t)
        };
        let t = Tuple {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            proto: 6,
            sport: 40000,
            dport: 80,
        };
        let changed = [
            Tuple {
                src: Ipv4Addr::new(10, 0, 0, 3),
                ..t
            },
            Tuple {
                dst: Ipv4Addr::new(10, 0, 0, 3),
                ..t
            },
            Tuple { proto: 17, ..t },
            Tuple { sport: 40001, ..t },
            Tuple { dport: 81, ..t },
            Tuple {
                sport: 80,
                dport: 40000,
                ..t
            },
        ];
        for c in changed {
            assert_ne!(hash(&t), hash(&c), "{c:?}");
        }
        assert_eq!(hash(&t), hash(&{ t }));
    }
    use crate::packet::{build_tcp, build_udp, IpFields, TcpFields};

    fn tcp(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, flags: u8) -> Headers {
        let ip = IpFields::new(Ipv4Addr::from(src), Ipv4Addr::from(dst));
        build_tcp(
            &ip,
            &TcpFields {
                sport: sp,
                dport: dp,
                flags,
                window: 100,
                ..Default::default()
            },
            b"",
        )
        .headers()
        .unwrap()
    }

    #[test]
    fn impossible_flag_combinations_are_invalid() {
        use crate::packet::tcp_flags::*;
        assert!(tcp_flags_valid(SYN) && tcp_flags_valid(SYN | ACK | ECE | CWR));
        assert!(tcp_flags_valid(FIN | ACK | PSH) && tcp_flags_valid(RST));
        for bad in [
            SYN | FIN,
            FIN,
            FIN | PSH | URG,
            0,
            SYN | RST,
            SYN | FIN | RST | ACK,
        ] {
            assert!(!tcp_flags_valid(bad), "{bad:#x}");
        }
    }

    #[test]
    fn tcp_handshake_states() {
        use tcp_flags::*;
        let mut ct = Conntrack::default();
        let a = [10, 0, 0, 1];
        let b = [10, 0, 0, 2];
        let l = ct.track(&tcp(a, b, 1000, 22, SYN), 0);
        assert_eq!(l.state, CtState::New);
        ct.confirm(l.idx.unwrap());
        let l = ct.track(&tcp(b, a, 22, 1000, SYN | ACK), 1);
        assert_eq!((l.state, l.dir), (CtState::Established, Dir::Reply));
        let l = ct.track(&tcp(a, b, 1000, 22, ACK), 2);
        assert_eq!(l.state, CtState::Established);
        let e = ct.get(l.idx.unwrap()).unwrap();
        assert_eq!(e.tcp, TcpState::Established);
        assert!(e.has(status::ASSURED));
        // Flags conntrack refuses: INVALID, nothing created or moved.
        for bad in [SYN | FIN, FIN, 0, FIN | PSH | URG, SYN | RST] {
            let l = ct.track(&tcp(a, b, 1000, 22, bad), 3);
            assert_eq!(l.state, CtState::Invalid, "{bad:#x}");
        }
        assert_eq!(ct.get(0).unwrap().tcp, TcpState::Established);
        // A lone SYN-ACK with no connection is INVALID.
        let l = ct.track(&tcp(a, b, 5, 6, SYN | ACK), 3);
        assert_eq!(l.state, CtState::Invalid);
        // A lone ACK is picked up as NEW (nf_conntrack_tcp_loose) ...
        let l = ct.track(&tcp(a, b, 7, 8, ACK), 4);
        assert_eq!(l.state, CtState::New);
        let i = l.idx.unwrap();
        ct.confirm(i);
        // ... and is assured by the first packet after an answer.
        ct.track(&tcp(b, a, 8, 7, SYN | ACK), 5);
        assert!(!ct.get(i).unwrap().has(status::ASSURED));
        ct.track(&tcp(a, b, 7, 8, ACK), 6);
        assert!(ct.get(i).unwrap().has(status::ASSURED));
    }

    fn tcp_at(
        src: [u8; 4],
        dst: [u8; 4],
        ports: (u16, u16),
        flags: u8,
        seq: u32,
        ack: u32,
    ) -> Headers {
        let ip = IpFields::new(Ipv4Addr::from(src), Ipv4Addr::from(dst));
        build_tcp(
            &ip,
            &TcpFields {
                sport: ports.0,
                dport: ports.1,
                flags,
                seq,
                ack,
                window: 1000,
                ..Default::default()
            },
            b"",
        )
        .headers()
        .unwrap()
    }

    #[test]
    fn out_of_window_segments_are_invalid_and_leave_the_entry_alone() {
        use tcp_flags::*;
        let mut ct = Conntrack::default();
        let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        let l = ct.track(&tcp_at(a, b, (1000, 22), SYN, 100, 0), 0);
        ct.confirm(l.idx.unwrap());
        ct.track(&tcp_at(b, a, (22, 1000), SYN | ACK, 5000, 101), SEC);
        ct.track(&tcp_at(a, b, (1000, 22), ACK, 101, 5001), 2 * SEC);
        let listed = ct.list(3 * SEC).0;
        let e = ct.iter().next().unwrap().clone();
        // A spoofed RST and a far-off ACK: INVALID, nothing refreshed or counted.
        for h in [
            tcp_at(b, a, (22, 1000), RST, 4000, 0),
            tcp_at(a, b, (1000, 22), ACK, 90_000, 5001),
        ] {
            assert_eq!(ct.track(&h, 100 * SEC).state, CtState::Invalid);
        }
        assert_eq!(ct.iter().next().unwrap(), &e);
        assert_eq!(ct.list(3 * SEC).0, listed);
        assert!(
            listed.starts_with("tcp      6 431999 ESTABLISHED "),
            "{listed}"
        );
        // Turning be_liberal on lets the ACK through.
        ct.tcp_policy.liberal = true;
        let l = ct.track(&tcp_at(a, b, (1000, 22), ACK, 90_000, 5001), 100 * SEC);
        assert_eq!(l.state, CtState::Established);
    }

    #[test]
    fn a_syn_reopening_a_closed_connection_is_new() {
        use tcp_flags::*;
        let mut ct = Conntrack::default();
        let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        let l = ct.track(&tcp_at(a, b, (1000, 22), SYN, 100, 0), 0);
        ct.confirm(l.idx.unwrap());
        ct.track(&tcp_at(b, a, (22, 1000), SYN | ACK, 5000, 101), 0);
        ct.track(&tcp_at(a, b, (1000, 22), ACK, 101, 5001), 0);
        ct.track(&tcp_at(a, b, (1000, 22), FIN | ACK, 101, 5001), 0);
        ct.track(&tcp_at(b, a, (22, 1000), FIN | ACK, 5001, 102), 0);
        ct.track(&tcp_at(a, b, (1000, 22), ACK, 102, 5002), 0);
        assert_eq!(ct.iter().next().unwrap().tcp, TcpState::TimeWait);
        let l = ct.track(&tcp_at(a, b, (1000, 22), SYN, 300, 0), SEC);
        assert_eq!(l.state, CtState::New);
        ct.confirm(l.idx.unwrap());
        let e = ct.iter().next().unwrap();
        assert_eq!(
            (e.tcp, e.has(status::SEEN_REPLY)),
            (TcpState::SynSent, false)
        );
        assert_eq!(ct.iter().count(), 1);
        // Loose off: a mid-stream ACK starts nothing.
        ct.tcp_policy.loose = false;
        let l = ct.track(&tcp_at(a, b, (2000, 22), ACK, 1, 1), SEC);
        assert_eq!((l.state, l.idx), (CtState::Invalid, None));
    }

    #[test]
    fn udp_timeout_and_list() {
        let mut ct = Conntrack::default();
        let ip = IpFields::new(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let h = build_udp(&ip, 5000, 53, b"q").headers().unwrap();
        let l = ct.track(&h, 0);
        ct.confirm(l.idx.unwrap());
        let (out, summary) = ct.list(1_000_000_000);
        assert_eq!(
            out,
            "udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5000 mark=0 use=1\n"
        );
        assert!(summary.contains("1 flow entries"));
        ct.expire(31 * SEC);
        assert!(ct.is_empty());
    }

    #[test]
    fn gre_lives_30_seconds_unanswered_then_180_as_a_stream() {
        let gre = |src: [u8; 4], dst: [u8; 4]| {
            let ip = IpFields::new(Ipv4Addr::from(src), Ipv4Addr::from(dst));
            let mut p = build_udp(&ip, 0, 0, b"gre!");
            p.data[9] = GRE;
            p.fix_checksums();
            p.headers().unwrap()
        };
        let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        let mut ct = Conntrack::default();
        let l = ct.track(&gre(a, b), 0);
        ct.confirm(l.idx.unwrap());
        let ttl = |ct: &Conntrack| ct.iter().next().map(|e| e.expires_ns / SEC);
        assert_eq!(ttl(&ct), Some(30));
        // The first answer is still unreplied when judged ...
        ct.track(&gre(b, a), SEC);
        assert_eq!(ttl(&ct), Some(31));
        // ... the next packet makes it a stream.
        ct.track(&gre(a, b), 2 * SEC);
        assert_eq!(ttl(&ct), Some(182));
        assert!(ct.iter().next().unwrap().has(status::ASSURED));
    }

    #[test]
    fn a_rst_as_only_answer_ends_the_connection() {
        use tcp_flags::*;
        let mut ct = Conntrack::default();
        let a = [10, 0, 0, 1];
        let b = [10, 0, 0, 2];
        let l = ct.track(&tcp(a, b, 1000, 81, SYN), 0);
        ct.confirm(l.idx.unwrap());
        // The RST still belongs to it (NAT must undo its rewrites) ...
        let l = ct.track(&tcp(b, a, 81, 1000, RST | ACK), 1);
        assert_eq!((l.state, l.dir), (CtState::Established, Dir::Reply));
        assert!(ct.get(l.idx.unwrap()).is_some());
        assert_eq!(ct.iter().count(), 0);
        // ... and the next lookup finds nothing: a new SYN starts afresh.
        let l = ct.track(&tcp(a, b, 1000, 81, SYN), 2);
        assert_eq!(l.state, CtState::New);
        assert_eq!(ct.iter().count(), 1);
    }

    #[test]
    fn a_held_entry_outlives_its_packet_unhashed() {
        let mut ct = Conntrack::default();
        let l = ct.track(&tcp([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, tcp_flags::SYN), 0);
        let i = l.idx.unwrap();
        ct.hold(i);
        ct.drop_unconfirmed(i);
        // Gone from the table, still there for the reply attached to it.
        assert!(ct.is_empty() && ct.iter().count() == 0);
        assert!(ct.get(i).is_some());
        let l2 = ct.track(&tcp([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, tcp_flags::SYN), 1);
        assert_ne!(l2.idx, Some(i));
        ct.release(i);
        assert!(ct.get(i).is_none());
    }

    /// A new connection's reply tuple, changed by NAT before the confirm,
    /// is seen by lookups and counted as if it were in the table all along;
    /// a reply another connection has fails the confirm, even when that
    /// connection goes before it.
    #[test]
    fn a_new_reply_tuple_is_looked_up_and_clashes_before_the_confirm() {
        use tcp_flags::*;
        let (a, b, c) = ([10, 0, 0, 1], [10, 0, 0, 2], [10, 0, 0, 3]);
        let mut ct = Conntrack::default();
        let first = ct.track(&tcp(a, b, 1000, 80, SYN), 0).idx.unwrap();
        assert!(ct.confirm(first));
        let taken = ct.get(first).unwrap().reply;
        let new = ct.track(&tcp(c, b, 2000, 80, SYN), 0).idx.unwrap();
        let own = ct.get(new).unwrap().reply;
        assert_eq!(ct.tuple_owner(0, &own), Some((new, Dir::Reply)));
        assert_eq!(ct.len(), 2);
        let moved = Tuple { dport: 3000, ..own };
        ct.set_reply(new, moved, status::SRC_NAT);
        assert_eq!(ct.tuple_owner(0, &own), None);
        assert_eq!(ct.tuple_owner(0, &moved), Some((new, Dir::Reply)));
        assert!(ct.tuple_taken(&moved) && !ct.tuple_taken(&own));
        // Onto the first connection's reply: still the first's.
        ct.set_reply(new, taken, status::SRC_NAT);
        assert_eq!(ct.tuple_owner(0, &taken), Some((first, Dir::Reply)));
        assert_eq!(ct.len(), 1);
        // The clash stands though the first connection goes before the confirm.
        ct.remove(first);
        assert_eq!(ct.tuple_owner(0, &taken), None);
        assert!(!ct.confirm(new));
        ct.drop_unconfirmed(new);
        assert!(ct.is_empty());
        // Moved off a taken reply, the confirm goes through.
        let first = ct.track(&tcp(a, b, 1000, 80, SYN), 0).idx.unwrap();
        assert!(ct.confirm(first));
        let new = ct.track(&tcp(c, b, 2000, 80, SYN), 0).idx.unwrap();
        ct.set_reply(new, taken, status::SRC_NAT);
        ct.set_reply(new, moved, status::SRC_NAT);
        assert!(ct.confirm(new));
        assert_eq!(ct.tuple_owner(0, &moved), Some((new, Dir::Reply)));
        assert_eq!(ct.len(), 2);
        // The reply of the answer finds its connection.
        let l = ct.track(&tcp(b, c, 2000, 3000, SYN | ACK), 1);
        assert_eq!(l.state, CtState::Invalid);
        let l = ct.track(&tcp(b, c, 80, 3000, SYN | ACK), 1);
        assert_eq!((l.idx, l.dir), (Some(new), Dir::Reply));
    }
}
