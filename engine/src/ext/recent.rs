//! `-m recent`: keeps named lists of recently seen addresses; `--set` adds
//! the packet's address, `--rcheck`/`--update`/`--remove` test for it
//! (optionally within `--seconds` and with at least `--hitcount` hits).

use super::limit::{jiffies, time_after, HZ, NS_PER_JIFFY};
use super::{
    bit, xtopt, CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError,
    XtResult,
};
use crate::ext_boilerplate;
use crate::sim::host::Host;
use std::net::Ipv4Addr;

const O_SET: u8 = 0;
const O_RCHECK: u8 = 1;
const O_UPDATE: u8 = 2;
const O_REMOVE: u8 = 3;
const O_SECONDS: u8 = 4;
const O_REAP: u8 = 5;
const O_HITCOUNT: u8 = 6;
const O_RTTL: u8 = 7;
const O_NAME: u8 = 8;
const O_RSOURCE: u8 = 9;
const O_RDEST: u8 = 10;
const O_MASK: u8 = 11;
const F_ANY_OP: u64 = bit(O_SET) | bit(O_RCHECK) | bit(O_UPDATE) | bit(O_REMOVE);

/// The kernel keeps at most this many hit stamps per address.
const MAX_NSTAMPS: u32 = 65536;
/// List names hold up to 199 bytes.
const NAME_MAX: usize = 199;
/// Module parameter `ip_list_tot`: addresses remembered per list.
pub const IP_LIST_TOT: usize = 100;
/// Module parameter `ip_pkt_list_tot` (0: the hit count decides).
pub const IP_PKT_LIST_TOT: u32 = 0;
/// Longest write the /proc file takes at once (`+` and a full IPv6 text).
const PROC_WRITE_MAX: usize = 46;

pub static INFO: ExtInfo = ExtInfo {
    name: "recent",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::flag("set", O_SET).inv().excl(F_ANY_OP),
        OptSpec::flag("rcheck", O_RCHECK).inv().excl(F_ANY_OP),
        OptSpec::flag("update", O_UPDATE).inv().excl(F_ANY_OP),
        OptSpec::flag("remove", O_REMOVE).inv().excl(F_ANY_OP),
        OptSpec::arg("seconds", O_SECONDS),
        OptSpec::flag("reap", O_REAP).also(bit(O_SECONDS)),
        OptSpec::arg("hitcount", O_HITCOUNT),
        OptSpec::flag("rttl", O_RTTL).excl(bit(O_SET) | bit(O_REMOVE)),
        OptSpec::arg("name", O_NAME),
        OptSpec::flag("rsource", O_RSOURCE),
        OptSpec::flag("rdest", O_RDEST),
        OptSpec::arg("mask", O_MASK),
    ],
    guided: true,
    help: "recent match options:\n\
[!] --set                       Add the address to the list; always matches.\n\
[!] --rcheck                    Match if the address is on the list.\n\
[!] --update                    Like --rcheck, and refresh its last-seen time.\n\
[!] --remove                    Like --rcheck, and take the address off the list.\n\
\x20   --seconds seconds           With --rcheck/--update: only if seen within this many seconds.\n\
\x20   --reap                      Drop entries older than --seconds (needs --seconds).\n\
\x20   --hitcount hits             With --rcheck/--update: only if seen at least this many times.\n\
\x20   --rttl                      With --rcheck/--update: the TTL must also equal the one stored.\n\
\x20   --name name                 The list to use (DEFAULT when not given).\n\
\x20   --rsource                   Store and test the source address (default).\n\
\x20   --rdest                     Store and test the destination address.\n\
\x20   --mask netmask              Mask applied to addresses before use.\n",
    new_match: Some(|| Box::new(Recent::default())),
    new_target: None,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecentOp {
    #[default]
    None,
    Set,
    Check,
    Update,
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recent {
    pub op: RecentOp,
    pub invert: bool,
    pub seconds: u32,
    pub reap: bool,
    pub hitcount: u32,
    pub rttl: bool,
    pub name: String,
    /// Test the destination instead of the source.
    pub dest: bool,
    pub mask: Ipv4Addr,
    /// `--mask` was given: libxt_recent then fills only the IPv4 part of
    /// the kernel's 16-byte mask, else all of it.
    pub mask_given: bool,
    /// Why the last packet did not match (kept only while tracing).
    why: String,
}

impl Default for Recent {
    fn default() -> Self {
        Recent {
            op: RecentOp::None,
            invert: false,
            seconds: 0,
            reap: false,
            hitcount: 0,
            rttl: false,
            name: "DEFAULT".into(),
            dest: false,
            mask: Ipv4Addr::BROADCAST,
            mask_given: false,
            why: String::new(),
        }
    }
}

/// One remembered address (`struct recent_entry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub addr: Ipv4Addr,
    pub ttl: u8,
    /// Next slot to write, 1-based after the first hit (`index`).
    pub index: u16,
    /// Slots used.
    pub nstamps: u16,
    /// Hit times in jiffies (ring of `nstamps_max_mask + 1` slots).
    pub stamps: Vec<u64>,
    /// Position in the LRU list: lower is older.
    lru: u64,
}

/// A named list (`struct recent_table`); `/proc/net/xt_recent/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    /// Mask of the rule that created the list; it applies to every rule using it.
    pub mask: Ipv4Addr,
    pub nstamps_max_mask: u32,
    /// In the order the entries were made.
    pub entries: Vec<Entry>,
    lru_next: u64,
}

/// Every list of a host (`cx.ext` under "recent").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecentState {
    pub tables: Vec<Table>,
}

pub(crate) const STATE: &str = "recent";

/// Hit slots a rule asks for, minus one (`nstamp_mask` of recent_mt_check).
fn nstamp_mask(hitcount: u32) -> u32 {
    nstamp_mask_with(hitcount, IP_PKT_LIST_TOT)
}

fn nstamp_mask_with(hitcount: u32, pkt_list_tot: u32) -> u32 {
    if pkt_list_tot != 0 && hitcount < pkt_list_tot {
        pkt_list_tot.next_power_of_two() - 1
    } else if hitcount != 0 {
        hitcount.next_power_of_two() - 1
    } else {
        31
    }
}

impl Table {
    fn new(name: &str, mask: Ipv4Addr, nstamps_max_mask: u32) -> Table {
        Table {
            name: name.to_string(),
            mask,
            nstamps_max_mask,
            entries: Vec::new(),
            lru_next: 0,
        }
    }

    fn find(&self, addr: Ipv4Addr, ttl: u8) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.addr == addr && (ttl == e.ttl || ttl == 0 || e.ttl == 0))
    }

    fn oldest(&self) -> Option<usize> {
        (0..self.entries.len()).min_by_key(|&i| self.entries[i].lru)
    }

    /// `recent_entry_init`: a new entry with one hit now, evicting the
    /// least recently used one when the list is full.
    fn add(&mut self, addr: Ipv4Addr, ttl: u8, now: u64) -> usize {
        if self.entries.len() >= IP_LIST_TOT {
            if let Some(i) = self.oldest() {
                self.entries.remove(i);
            }
        }
        let mut stamps = vec![0; self.nstamps_max_mask as usize + 1];
        stamps[0] = now;
        self.lru_next += 1;
        self.entries.push(Entry {
            addr,
            ttl,
            index: 1,
            nstamps: 1,
            stamps,
            lru: self.lru_next,
        });
        self.entries.len() - 1
    }

    /// `recent_entry_update`: one more hit now; the entry becomes the newest.
    fn hit(&mut self, i: usize, now: u64) {
        self.lru_next += 1;
        let mask = self.nstamps_max_mask;
        let e = &mut self.entries[i];
        let slot = (e.index as u32 & mask) as usize;
        if let Some(s) = e.stamps.get_mut(slot) {
            *s = now;
        }
        e.index = (slot as u16).wrapping_add(1);
        if e.index > e.nstamps {
            e.nstamps = e.index;
        }
        e.lru = self.lru_next;
    }

    /// The most recent hit of an entry.
    fn last_seen(&self, e: &Entry) -> u64 {
        let slot = (e.index.wrapping_sub(1) as u32 & self.nstamps_max_mask) as usize;
        e.stamps.get(slot).copied().unwrap_or(0)
    }

    /// `recent_entry_reap`: drops the oldest entry if its last hit is before `time`.
    fn reap(&mut self, time: u64, working: usize, update: bool) {
        let Some(i) = self.oldest() else {
            return;
        };
        if i == working && update {
            return;
        }
        if time_after(time, self.last_seen(&self.entries[i])) {
            self.entries.remove(i);
        }
    }

    /// The seq file text: one line per address.
    pub fn proc_text(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            out.push_str(&format!(
                "src={} ttl: {} last_seen: {} oldest_pkt: {}",
                e.addr,
                e.ttl,
                self.last_seen(e),
                e.index
            ));
            for (i, s) in e.stamps.iter().take(e.nstamps as usize).enumerate() {
                out.push_str(&format!("{} {s}", if i > 0 { "," } else { "" }));
            }
            out.push('\n');
        }
        out
    }
}

impl RecentState {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    fn table_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.tables.iter_mut().find(|t| t.name == name)
    }
}

/// The `-m recent` matches of a host's rules, in rule order.
fn rules_of(host: &Host) -> Vec<Recent> {
    let mut out = Vec::new();
    for t in &host.ruleset.tables {
        for c in &t.chains {
            for r in &c.rules {
                for m in &r.matches {
                    if let Some(x) = m.as_any().downcast_ref::<Recent>() {
                        out.push(x.clone());
                    }
                }
            }
        }
    }
    out
}

/// After a commit: lists that no rule names go away with their entries; a
/// new name makes an empty list with that rule's mask; a rule wanting more
/// hit slots than a list keeps empties the list and widens it (recent_mt_check).
pub fn after_commit(host: &mut Host) {
    let rules = rules_of(host);
    let st = host.ext_state.get_mut::<RecentState>(STATE);
    st.tables.retain(|t| rules.iter().any(|r| r.name == t.name));
    for r in &rules {
        let want = nstamp_mask(r.hitcount);
        match st.table_mut(&r.name) {
            Some(t) => {
                if want > t.nstamps_max_mask {
                    t.entries.clear();
                    t.nstamps_max_mask = want;
                }
            }
            None => st.tables.push(Table::new(&r.name, r.mask, want)),
        }
    }
}

/// Names of the lists in `/proc/net/xt_recent`.
pub fn proc_lists(host: &Host) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let known = host.ext_state.get::<RecentState>(STATE);
    for n in known
        .into_iter()
        .flat_map(|s| s.tables.iter().map(|t| t.name.clone()))
        .chain(rules_of(host).into_iter().map(|r| r.name))
    {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

/// `cat /proc/net/xt_recent/NAME`: `None` when no such list exists. Lines
/// are in the order the addresses were added (the kernel walks its hash
/// buckets, whose order depends on a boot-time random seed).
pub fn proc_read(host: &Host, name: &str) -> Option<String> {
    if !proc_lists(host).iter().any(|n| n == name) {
        return None;
    }
    let text = host
        .ext_state
        .get::<RecentState>(STATE)
        .and_then(|s| s.table(name))
        .map(|t| t.proc_text())
        .unwrap_or_default();
    Some(text)
}

/// Why a write to `/proc/net/xt_recent/NAME` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcError {
    /// No such list.
    NoEntry,
    /// Not `+ADDR`, `-ADDR` or `/`.
    Invalid,
    /// A write longer than the kernel takes at once: the rest is refused.
    IllegalSeek,
}

impl ProcError {
    pub fn strerror(self) -> &'static str {
        match self {
            ProcError::NoEntry => "No such file or directory",
            ProcError::Invalid => "Invalid argument",
            ProcError::IllegalSeek => "Illegal seek",
        }
    }
}

/// `in4_pton` with `\n` as the delimiter: four decimal octets up to the
/// delimiter or the end.
fn in4_pton(b: &[u8]) -> Option<Ipv4Addr> {
    let mut out = [0u8; 4];
    let (mut i, mut n, mut w, mut digits) = (0usize, 0usize, 0u32, false);
    loop {
        let c = b.get(i).copied().unwrap_or(b'\n');
        match c {
            b'\n' | 0 | b'.' | b':' => {
                if !digits {
                    return None;
                }
                out[n] = w as u8;
                n += 1;
                w = 0;
                digits = false;
                if c != b'.' {
                    return (n == 4).then(|| Ipv4Addr::from(out));
                }
            }
            b'0'..=b'9' => {
                w = w * 10 + (c - b'0') as u32;
                digits = true;
                if w > 255 {
                    return None;
                }
            }
            _ => return None,
        }
        if n >= 4 {
            return None;
        }
        i += 1;
    }
}

/// `echo DATA > /proc/net/xt_recent/NAME` (one write): `+ADDR` adds the
/// address or counts a hit for it, `-ADDR` removes it, `/` empties the list.
/// Only the first address of a write counts, as in the kernel.
pub fn proc_write(host: &mut Host, name: &str, data: &[u8], now_ns: u64) -> Result<(), ProcError> {
    if !proc_lists(host).iter().any(|n| n == name) {
        return Err(ProcError::NoEntry);
    }
    if data.is_empty() {
        return Ok(());
    }
    let too_long = data.len() > PROC_WRITE_MAX;
    let buf = &data[..data.len().min(PROC_WRITE_MAX)];
    let rules = rules_of(host);
    let st = host.ext_state.get_mut::<RecentState>(STATE);
    if st.table(name).is_none() {
        let r = rules.iter().find(|r| r.name == name);
        let mask = r.map(|r| r.mask).unwrap_or(Ipv4Addr::BROADCAST);
        let want = rules
            .iter()
            .filter(|r| r.name == name)
            .map(|r| nstamp_mask(r.hitcount))
            .max()
            .unwrap_or(31);
        st.tables.push(Table::new(name, mask, want));
    }
    let t = st.table_mut(name).ok_or(ProcError::NoEntry)?;
    let add = match buf[0] {
        b'/' => {
            t.entries.clear();
            return if too_long {
                Err(ProcError::IllegalSeek)
            } else {
                Ok(())
            };
        }
        b'-' => false,
        b'+' => true,
        _ => return Err(ProcError::Invalid),
    };
    let rest = &buf[1..];
    // An address with a colon is IPv6: the lab has none to keep.
    let addr = if rest.contains(&b':') {
        None
    } else {
        in4_pton(rest)
    }
    .ok_or(ProcError::Invalid)?;
    let now = jiffies(now_ns);
    match (t.find(addr, 0), add) {
        (None, true) => {
            t.add(addr, 0, now);
        }
        (None, false) => {}
        (Some(i), true) => t.hit(i, now),
        (Some(i), false) => {
            t.entries.remove(i);
        }
    }
    if too_long {
        Err(ProcError::IllegalSeek)
    } else {
        Ok(())
    }
}

impl Recent {
    fn side(&self) -> &'static str {
        if self.dest {
            "destination"
        } else {
            "source"
        }
    }

    /// The options that decide the match, for explanations.
    fn short(&self) -> String {
        let mut s = String::from("-m recent");
        if self.invert {
            s.push_str(" !");
        }
        s.push_str(match self.op {
            RecentOp::Set => " --set",
            RecentOp::Check => " --rcheck",
            RecentOp::Update => " --update",
            RecentOp::Remove => " --remove",
            RecentOp::None => "",
        });
        if self.seconds != 0 {
            s.push_str(&format!(" --seconds {}", self.seconds));
        }
        if self.hitcount != 0 {
            s.push_str(&format!(" --hitcount {}", self.hitcount));
        }
        if self.rttl {
            s.push_str(" --rttl");
        }
        s.push_str(&format!(" --name {}", self.name));
        s
    }
}

impl Match for Recent {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        let op = |me: &mut Recent, op| {
            me.op = op;
            if inv {
                me.invert = true;
            }
        };
        match id {
            O_SET => op(self, RecentOp::Set),
            O_RCHECK => op(self, RecentOp::Check),
            O_UPDATE => op(self, RecentOp::Update),
            O_REMOVE => op(self, RecentOp::Remove),
            O_SECONDS => {
                self.seconds = xtopt::uint("recent", "seconds", arg, 1, u32::MAX as u64)? as u32
            }
            O_REAP => self.reap = true,
            O_HITCOUNT => {
                self.hitcount = xtopt::uint("recent", "hitcount", arg, 0, u32::MAX as u64)? as u32
            }
            O_RTTL => self.rttl = true,
            O_NAME => self.name = arg.chars().take(NAME_MAX).collect(),
            O_RSOURCE => self.dest = false,
            O_RDEST => self.dest = true,
            _ => {
                // Names would need the resolver; the lab has no DNS.
                self.mask = xtopt::parse_ipv4(arg).ok_or_else(|| {
                    XtError::new("getaddrinfo: Temporary failure in name resolution")
                })?;
                self.mask_given = true;
            }
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen & F_ANY_OP == 0 {
            return Err(XtError::new(
                "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'",
            ));
        }
        Ok(())
    }

    fn check(&self, _cx: &CheckCx) -> Result<(), KernelError> {
        let modifies = matches!(self.op, RecentOp::Set | RecentOp::Remove);
        if modifies && (self.seconds != 0 || self.hitcount != 0 || self.rttl || self.reap) {
            return Err(KernelError::Invalid);
        }
        if self.reap && self.seconds == 0 {
            return Err(KernelError::Invalid);
        }
        if self.hitcount >= MAX_NSTAMPS || self.name.is_empty() || self.name.contains('/') {
            return Err(KernelError::Invalid);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(match self.op {
            RecentOp::Set => " --set",
            RecentOp::Check => " --rcheck",
            RecentOp::Update => " --update",
            RecentOp::Remove => " --remove",
            RecentOp::None => "",
        });
        if self.seconds != 0 {
            out.push_str(&format!(" --seconds {}", self.seconds));
        }
        if self.reap {
            out.push_str(" --reap");
        }
        if self.hitcount != 0 {
            out.push_str(&format!(" --hitcount {}", self.hitcount));
        }
        if self.rttl {
            out.push_str(" --rttl");
        }
        out.push_str(&format!(" --name {} --mask {}", self.name, self.mask));
        out.push_str(if self.dest { " --rdest" } else { " --rsource" });
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        if self.invert {
            out.push_str(" !");
        }
        out.push_str(" recent:");
        out.push_str(match self.op {
            RecentOp::Set => " SET",
            RecentOp::Check => " CHECK",
            RecentOp::Update => " UPDATE",
            RecentOp::Remove => " REMOVE",
            RecentOp::None => "",
        });
        if self.seconds != 0 {
            out.push_str(&format!(" seconds: {}", self.seconds));
        }
        if self.reap {
            out.push_str(" reap");
        }
        if self.hitcount != 0 {
            out.push_str(&format!(" hit_count: {}", self.hitcount));
        }
        if self.rttl {
            out.push_str(" TTL-Match");
        }
        out.push_str(&format!(" name: {}", self.name));
        out.push_str(if self.dest {
            " side: dest"
        } else {
            " side: source"
        });
        out.push_str(&format!(" mask: {}", self.mask));
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        let addr = if self.dest { cx.hdr.dst } else { cx.hdr.src };
        let mut ttl = cx.hdr.ttl;
        // The TTL as it was before forwarding (packets without a local socket).
        if cx.out_iface().is_some() && cx.pkt.meta.in_iface.is_some() {
            ttl = ttl.wrapping_add(1);
        }
        let now = jiffies(cx.now_ns);
        let st = cx.ext.get_mut::<RecentState>(STATE);
        if st.table(&self.name).is_none() {
            st.tables.push(Table::new(
                &self.name,
                self.mask,
                nstamp_mask(self.hitcount),
            ));
        }
        let t = st.table_mut(&self.name)?;
        let masked = Ipv4Addr::from(u32::from(addr) & u32::from(t.mask));
        let mut ret = self.invert;
        let who = format!("{} {masked}", self.side());
        let mut why = String::new();
        let Some(i) = t.find(masked, if self.rttl { ttl } else { 0 }) else {
            if self.op == RecentOp::Set {
                t.add(masked, ttl, now);
                ret = !ret;
                if !ret {
                    why = format!("{who} was added to list {}, and ! inverts", self.name);
                }
            } else if !ret {
                why = format!(
                    "{who} is not on list {}{}",
                    self.name,
                    if self.rttl {
                        format!(" with TTL {ttl}")
                    } else {
                        String::new()
                    }
                );
            }
            if cx.tracing {
                self.why = why;
            }
            return Some(ret);
        };
        match self.op {
            RecentOp::Set => ret = !ret,
            RecentOp::Remove => {
                t.entries.remove(i);
                ret = !ret;
            }
            RecentOp::Check | RecentOp::Update => {
                let time = now.wrapping_sub(self.seconds as u64 * HZ);
                let e = &t.entries[i];
                let mut hits = 0u32;
                let mut found = false;
                for &stamp in e.stamps.iter().take(e.nstamps as usize) {
                    if self.seconds != 0 && time_after(time, stamp) {
                        continue;
                    }
                    hits += 1;
                    if self.hitcount == 0 || hits >= self.hitcount {
                        found = true;
                        break;
                    }
                }
                if found {
                    ret = !ret;
                } else if cx.tracing {
                    let ago = now.wrapping_sub(t.last_seen(e)) * NS_PER_JIFFY;
                    why = if self.hitcount != 0 {
                        format!(
                            "{who} on list {} has {hits} hit(s){}, needs {}",
                            self.name,
                            if self.seconds != 0 {
                                format!(" in the last {} s", self.seconds)
                            } else {
                                String::new()
                            },
                            self.hitcount
                        )
                    } else {
                        format!(
                            "{who} on list {} was last seen {} ago, more than {} s",
                            self.name,
                            super::limit::secs_text(ago),
                            self.seconds
                        )
                    };
                }
                if self.reap {
                    t.reap(time, i, self.op == RecentOp::Update && ret);
                }
            }
            RecentOp::None => {}
        }
        if self.op == RecentOp::Set || (self.op == RecentOp::Update && ret) {
            if let Some(i) = t.find(masked, if self.rttl { ttl } else { 0 }) {
                t.hit(i, now);
                t.entries[i].ttl = ttl;
            }
        }
        if cx.tracing {
            if !ret && why.is_empty() {
                why = format!("{who} is on list {}, and ! inverts", self.name);
            }
            self.why = why;
        }
        Some(ret)
    }

    fn why_not(&self, _cx: &EvalCx) -> String {
        format!("{} did not match: {}", self.short(), self.why)
    }

    fn explain(&self) -> String {
        let side = if self.dest { "destination" } else { "source" };
        let mut s = match self.op {
            RecentOp::Set => {
                return format!(
                    "(adding their {side} address to the recent list \"{}\")",
                    self.name
                )
            }
            RecentOp::None => String::new(),
            _ => format!(
                "whose {side} address is on the recent list \"{}\"",
                self.name
            ),
        };
        if self.seconds != 0 {
            s.push_str(&format!(", seen in the last {} seconds", self.seconds));
        }
        if self.hitcount != 0 {
            s.push_str(&format!(", at least {} times", self.hitcount));
        }
        match self.op {
            RecentOp::Update => s.push_str(" (its last-seen time is then refreshed)"),
            RecentOp::Remove => s.push_str(" (it is then removed from the list)"),
            _ => {}
        }
        if self.invert {
            format!("not: {s}")
        } else {
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn defaults_in_save_and_list() {
        let mut h = Host::new("h");
        assert_eq!(run(&mut h, "iptables -A INPUT -m recent --set").exit, 0);
        let r = "iptables -A INPUT -m recent ! --rcheck --seconds 5 --reap --hitcount 3 --rttl --name foo --rdest --mask 255.255.0.0";
        assert_eq!(run(&mut h, r).exit, 0);
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n\
-A INPUT -m recent --set --name DEFAULT --mask 255.255.255.255 --rsource\n\
-A INPUT -m recent ! --rcheck --seconds 5 --reap --hitcount 3 --rttl --name foo --mask 255.255.0.0 --rdest\n"
        );
        assert!(run(&mut h, "iptables -L INPUT").stdout.ends_with(
            "  ! recent: CHECK seconds: 5 reap hit_count: 3 TTL-Match name: foo side: dest mask: 255.255.0.0\n"
        ));
    }

    #[test]
    fn option_rules() {
        let mut h = Host::new("h");
        let o = run(&mut h, "iptables -A INPUT -m recent --set --rttl");
        assert!(o
            .stderr
            .contains("recent: option \"--rttl\" cannot be used together with \"--set\".\n\nTry"));
        let o = run(&mut h, "iptables -A INPUT -m recent --update --reap");
        assert!(o
            .stderr
            .contains("recent: option \"--reap\" also requires \"--seconds\"."));
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -m recent --rcheck --hitcount 65536"
            )
            .exit,
            4
        );
        assert_eq!(
            run(&mut h, "iptables -A INPUT -m recent --set --seconds 5").exit,
            4
        );
        let o = run(&mut h, "iptables -A INPUT -m recent");
        assert!(o.stderr.contains("recent: you must specify one of"));
    }

    use super::{proc_lists, proc_read, proc_write, ProcError};
    use crate::ext::limit::jiffies;
    use crate::ext::limit::lab::*;

    /// The seed guide's blacklist: a SYN to 8080 puts the source on
    /// `badguys`; then everything from it is dropped until it stays quiet
    /// for 60 s of lab time (`--update` refreshes the time on each packet).
    #[test]
    fn badguys_are_dropped_for_60_quiet_seconds() {
        let mut w = world();
        ipt(
            &mut w,
            "iptables -A FORWARD -m recent --name badguys --update --seconds 60 -j DROP",
        );
        // The guide's rule; while `--dport` cannot be evaluated yet (the tcp
        // match belongs to another group), the port's server address stands in.
        let probe = crate::ext::find("tcp", crate::ext::ExtKind::Match).and_then(|info| {
            let id = info.options.iter().find(|o| o.name == "dport")?.id;
            let mut m = (info.new_match?)();
            m.parse(id, Some("8080"), false, &mut probe_cx()).ok()?;
            Some(m)
        });
        let tcp_evaluates = probe.is_some_and(tcp_match_evaluates);
        if tcp_evaluates {
            ipt(&mut w, "iptables -A FORWARD -p tcp -i eth0 --dport 8080 -m recent --name badguys --set -j DROP");
        } else {
            ipt(&mut w, "iptables -A FORWARD -p tcp -i eth0 -d 10.0.2.80 -m recent --name badguys --set -j DROP");
        }
        assert_eq!(proc_read(&w.hosts[0], "badguys").as_deref(), Some(""));
        let bad = |port: u16| {
            let dst = if port == 8080 && !tcp_evaluates {
                "10.0.2.80"
            } else {
                "10.0.2.5"
            };
            tcp("10.0.1.9", dst, 40000, port, "S")
        };
        let t0 = 5000 * SEC;
        assert!(passed(&send_at(&mut w, t0, bad(80))));
        assert!(!passed(&send_at(&mut w, t0 + SEC, bad(8080))));
        let j = jiffies(t0 + SEC);
        assert_eq!(
            proc_read(&w.hosts[0], "badguys").unwrap(),
            format!("src=10.0.1.9 ttl: 64 last_seen: {j} oldest_pkt: 1 {j}\n")
        );
        // Other hosts are not affected.
        assert!(passed(&send_at(
            &mut w,
            t0 + 2 * SEC,
            tcp("10.0.1.10", "10.0.2.5", 1, 80, "S")
        )));
        // Dropped while it keeps knocking; each drop refreshes the time.
        assert!(!passed(&send_at(&mut w, t0 + 30 * SEC, bad(80))));
        assert!(!passed(&send_at(&mut w, t0 + 90 * SEC, bad(80))));
        let why = w.reports[0]
            .trace
            .steps
            .iter()
            .find(|s| s.failed.is_some())
            .cloned();
        assert!(why.is_none(), "first rule matched: {why:?}");
        // Exactly 60 s after the last packet it is still recent…
        assert!(!passed(&send_at(&mut w, t0 + 150 * SEC, bad(80))));
        // … one jiffy more of silence and it gets through.
        assert!(passed(&send_at(
            &mut w,
            t0 + 210 * SEC + 4_000_000,
            bad(80)
        )));
        let step = &w.reports[0].trace.steps[0];
        assert_eq!(
            step.failed.as_deref(),
            Some("-m recent --update --seconds 60 --name badguys did not match: source 10.0.1.9 on list badguys was last seen 60.004 s ago, more than 60 s")
        );
        let text = proc_read(&w.hosts[0], "badguys").unwrap();
        assert!(
            text.starts_with("src=10.0.1.9 ttl: 64 last_seen: "),
            "{text}"
        );
        assert!(text.contains(" oldest_pkt: 4 "), "{text}");
    }

    fn probe_cx() -> crate::ext::ParseCx<'static> {
        crate::ext::ParseCx {
            table: "filter",
            proto: 6,
            proto_invert: false,
            sets: &|_| None,
            nfacct: &|_| false,
            warnings: Vec::new(),
            rest: &[],
            consumed: 0,
        }
    }

    /// Whether the tcp match (another group's file) evaluates packets yet.
    fn tcp_match_evaluates(mut m: Box<dyn crate::ext::Match>) -> bool {
        let mut w = world();
        let mut pkt = tcp("10.0.1.9", "10.0.1.1", 1, 8080, "S");
        with_cx(&mut w, &mut pkt, crate::ruleset::Hook::Input, |cx| {
            m.matches(cx).is_some()
        })
    }

    #[test]
    fn hitcount_counts_recent_hits() {
        let mut w = world();
        ipt(
            &mut w,
            "iptables -A FORWARD -p tcp -d 10.0.2.22 -m recent --name ssh --set",
        );
        ipt(&mut w, "iptables -A FORWARD -p tcp -d 10.0.2.22 -m recent --name ssh --update --seconds 60 --hitcount 4 -j DROP");
        let syn = || tcp("10.0.1.9", "10.0.2.22", 5000, 22, "S");
        let got: Vec<bool> = (0..5)
            .map(|i| passed(&send_at(&mut w, (100 + i) * SEC, syn())))
            .collect();
        assert_eq!(got, [true, true, true, false, false]);
        // The --set rule made the list first, without a hit count: it keeps
        // 32 hit times per address; --set and the matching --update add one each.
        let text = proc_read(&w.hosts[0], "ssh").unwrap();
        assert_eq!(text.matches(',').count(), 6, "{text}");
        // A minute later only the hits inside the window count.
        assert!(passed(&send_at(&mut w, 164 * SEC + 4_000_000, syn())));
        let why = w.reports[0].trace.steps[1].failed.clone().unwrap();
        assert!(
            why.ends_with("has 1 hit(s) in the last 60 s, needs 4"),
            "{why}"
        );
    }

    #[test]
    fn mask_rdest_remove_rttl_and_reap() {
        let mut w = world();
        ipt(
            &mut w,
            "iptables -A FORWARD -d 10.0.2.11 -m recent --name net --set --mask 255.255.255.0",
        );
        ipt(
            &mut w,
            "iptables -A FORWARD -d 10.0.2.12 -m recent --name net --rcheck -j DROP",
        );
        ipt(
            &mut w,
            "iptables -A FORWARD -d 10.0.2.13 -m recent --name net --remove -j DROP",
        );
        let udp = |src: &str, _: &str, _: u16, port: u16, p: &[u8]| {
            super::super::limit::lab::udp(src, &format!("10.0.2.{}", 10 + port), 9, 9, p)
        };
        send_at(&mut w, SEC, udp("10.0.1.9", "10.0.1.1", 9, 1, b""));
        assert_eq!(
            proc_read(&w.hosts[0], "net").unwrap().split(' ').next(),
            Some("src=10.0.1.0")
        );
        // The list's mask applies: any host of 10.0.1.0/24 is on it.
        assert!(!passed(&send_at(
            &mut w,
            2 * SEC,
            udp("10.0.1.77", "10.0.1.1", 9, 2, b"")
        )));
        assert!(!passed(&send_at(
            &mut w,
            3 * SEC,
            udp("10.0.1.77", "10.0.1.1", 9, 3, b"")
        )));
        assert!(passed(&send_at(
            &mut w,
            4 * SEC,
            udp("10.0.1.77", "10.0.1.1", 9, 3, b"")
        )));
        assert_eq!(proc_read(&w.hosts[0], "net").as_deref(), Some(""));

        ipt(&mut w, "iptables -F");
        ipt(&mut w, "iptables -A INPUT -m recent --name d --rdest --set");
        ipt(
            &mut w,
            "iptables -A INPUT -p icmp -m recent --name d --rdest --rcheck --rttl -j DROP",
        );
        ipt(&mut w, "iptables -A INPUT -p udp -m recent --name d --rdest ! --rcheck --seconds 5 --reap -j DROP");
        assert_eq!(proc_lists(&w.hosts[0]), ["d"]);
        assert!(
            proc_read(&w.hosts[0], "net").is_none(),
            "list went with its rules"
        );
        // --rdest keeps the destination; --rttl wants the same TTL.
        assert!(!passed(&send_at(
            &mut w,
            10 * SEC,
            ping("10.0.1.9", "10.0.1.1")
        )));
        let mut p = ping("10.0.1.9", "10.0.1.1");
        p.set_ttl(9);
        // The --set rule stores TTL 9 now, so the TTL check matches again.
        assert!(!passed(&send_at(&mut w, 11 * SEC, p)));
        assert!(proc_read(&w.hosts[0], "d")
            .unwrap()
            .starts_with("src=10.0.1.1 ttl: 9 "));
        // The --set rule refreshes the entry first, so ! --rcheck never drops.
        assert!(passed(&send_at(
            &mut w,
            30 * SEC,
            super::super::limit::lab::udp("10.0.1.9", "10.0.1.1", 9, 9, b"")
        )));

        // --reap: a stale check removes the least recently seen address.
        ipt(&mut w, "iptables -F");
        ipt(
            &mut w,
            "iptables -A FORWARD -d 10.0.2.11 -m recent --name r --set",
        );
        ipt(&mut w, "iptables -A FORWARD -d 10.0.2.12 -m recent --name r --rcheck --seconds 5 --reap -j DROP");
        send_at(&mut w, 40 * SEC, ping("10.0.1.9", "10.0.2.11"));
        send_at(&mut w, 41 * SEC, ping("10.0.1.10", "10.0.2.11"));
        assert!(!passed(&send_at(
            &mut w,
            42 * SEC,
            ping("10.0.1.9", "10.0.2.12")
        )));
        assert!(passed(&send_at(
            &mut w,
            60 * SEC,
            ping("10.0.1.10", "10.0.2.12")
        )));
        let text = proc_read(&w.hosts[0], "r").unwrap();
        assert!(
            text.starts_with("src=10.0.1.10 ") && text.lines().count() == 1,
            "{text}"
        );
    }

    #[test]
    fn hit_slots() {
        use super::nstamp_mask_with;
        assert_eq!(nstamp_mask_with(0, 0), 31);
        assert_eq!(nstamp_mask_with(1, 0), 0);
        assert_eq!(nstamp_mask_with(5, 0), 7);
        assert_eq!(nstamp_mask_with(65535, 0), 65535);
        // With ip_pkt_list_tot set, it wins over smaller hit counts.
        assert_eq!(nstamp_mask_with(5, 20), 31);
        assert_eq!(nstamp_mask_with(40, 20), 63);
    }

    #[test]
    fn list_holds_100_addresses() {
        let mut w = world();
        ipt(&mut w, "iptables -A INPUT -m recent --name many --set");
        for i in 0..101u32 {
            let src = format!("10.0.{}.{}", 1 + i / 200, 10 + i % 200);
            send_at(&mut w, SEC + i as u64, ping(&src, "10.0.1.1"));
        }
        let text = proc_read(&w.hosts[0], "many").unwrap();
        assert_eq!(text.lines().count(), 100);
        assert!(!text.contains("src=10.0.1.10 "), "oldest went first");
        assert!(text.contains("src=10.0.1.110 "));
    }

    #[test]
    fn proc_writes() {
        let mut w = world();
        ipt(
            &mut w,
            "iptables -A INPUT -m recent --name badguys --rcheck -j DROP",
        );
        let h = &mut w.hosts[0];
        assert_eq!(
            proc_write(h, "nope", b"+1.2.3.4\n", 0),
            Err(ProcError::NoEntry)
        );
        assert_eq!(proc_write(h, "badguys", b"+10.0.1.20\n", 7 * SEC), Ok(()));
        assert_eq!(proc_write(h, "badguys", b"+10.0.1.21", 8 * SEC), Ok(()));
        let j = jiffies(7 * SEC);
        assert_eq!(
            proc_read(h, "badguys").unwrap().lines().next().unwrap(),
            format!("src=10.0.1.20 ttl: 0 last_seen: {j} oldest_pkt: 1 {j}")
        );
        assert!(!passed(&send_at(
            &mut w,
            9 * SEC,
            ping("10.0.1.20", "10.0.1.1")
        )));
        let h = &mut w.hosts[0];
        assert_eq!(proc_write(h, "badguys", b"-10.0.1.20\n", 0), Ok(()));
        assert!(passed(&send_at(
            &mut w,
            10 * SEC,
            ping("10.0.1.20", "10.0.1.1")
        )));
        let h = &mut w.hosts[0];
        for bad in [
            &b"x"[..],
            b"+1.2.3",
            b"+1.2.3.4 ",
            b"+1.2.3.256",
            b"+",
            b"+1.2.3.4.5",
        ] {
            assert_eq!(
                proc_write(h, "badguys", bad, 0),
                Err(ProcError::Invalid),
                "{bad:?}"
            );
        }
        assert_eq!(proc_write(h, "badguys", b"/\n", 0), Ok(()));
        assert_eq!(proc_read(h, "badguys").as_deref(), Some(""));
        let long = format!("+10.0.1.30{}", " ".repeat(40));
        assert_eq!(
            proc_write(h, "badguys", long.as_bytes(), 0),
            Err(ProcError::Invalid)
        );
        let long = format!("+10.0.1.30\n{}", " ".repeat(40));
        assert_eq!(
            proc_write(h, "badguys", long.as_bytes(), 0),
            Err(ProcError::IllegalSeek)
        );
        assert!(proc_read(h, "badguys")
            .unwrap()
            .starts_with("src=10.0.1.30 "));
    }
}
