//! `-m hashlimit`: like `limit`, but with one token bucket per group of
//! packets (by source/destination address and port), kept in a named table.
//! Rates may be packets per time unit or bytes per second.

use super::limit::{atoll, jiffies, msecs_to_jiffies, rate_text, rate_unit, time_after_eq, HZ};
use super::{
    bit, xtopt, CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError,
    XtResult,
};
use crate::ext_boilerplate;
use crate::sim::host::Host;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

const O_UPTO: u8 = 0;
const O_ABOVE: u8 = 1;
const O_MODE: u8 = 3;
const O_SRCMASK: u8 = 4;
const O_DSTMASK: u8 = 5;
const O_NAME: u8 = 6;
const O_BURST: u8 = 7;
const O_SIZE: u8 = 8;
const O_MAX: u8 = 9;
const O_GCINT: u8 = 10;
const O_EXPIRE: u8 = 11;
const O_RATEMATCH: u8 = 12;
const O_INTERVAL: u8 = 13;

/// `XT_HASHLIMIT_SCALE_v2`: packet rates are microseconds per packet.
const SCALE: u64 = 1_000_000;
const BYTE_SHIFT: u32 = 4;
const BURST_DEFAULT: u64 = 5;
const BURST_MAX: u64 = 1_000_000;
const GC_DEFAULT: u32 = 1000;
/// Seconds of the expiry default for byte rates (with and without a burst).
const BYTE_EXPIRE: u32 = 15;
const BYTE_EXPIRE_BURST: u32 = 60;
/// The kernel's credit factor for packet rates (`HZ * CREDITS_PER_JIFFY /
/// scale` with HZ = 250), used in its overflow check.
const CREDIT_FACTOR: u64 = 137_438_953;
/// `HZ * CREDITS_PER_JIFFY_BYTES` with HZ = 250.
const BYTE_CREDIT_FACTOR: u64 = 4_194_304_000;

/// `CREDITS_PER_JIFFY` of revision 3 at HZ=250: the largest power of two
/// that keeps a day of credit in 64 bits.
const CPJ: u64 = 1 << 39;
/// `CREDITS_PER_JIFFY_BYTES` at HZ=250.
const CPJ_BYTES: u64 = 1 << 24;
/// `HASHLIMIT_MAX_SIZE`: size and max are cut down to this.
const MAX_SIZE: u32 = 1_048_576;
/// Buckets of a table without `--hashlimit-htable-size` (a host with more
/// than 1 GiB of memory).
const SIZE_DEFAULT: u32 = 8192;

const MODE_DIP: u32 = 1 << 0;
const MODE_DPT: u32 = 1 << 1;
const MODE_SIP: u32 = 1 << 2;
const MODE_SPT: u32 = 1 << 3;

pub static INFO: ExtInfo = ExtInfo {
    name: "hashlimit",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("hashlimit-upto", O_UPTO)
            .inv()
            .excl(bit(O_ABOVE)),
        OptSpec::arg("hashlimit-above", O_ABOVE)
            .inv()
            .excl(bit(O_UPTO)),
        OptSpec::arg("hashlimit", O_UPTO).inv().excl(bit(O_ABOVE)),
        OptSpec::arg("hashlimit-srcmask", O_SRCMASK),
        OptSpec::arg("hashlimit-dstmask", O_DSTMASK),
        OptSpec::arg("hashlimit-burst", O_BURST),
        OptSpec::arg("hashlimit-htable-size", O_SIZE),
        OptSpec::arg("hashlimit-htable-max", O_MAX),
        OptSpec::arg("hashlimit-htable-gcinterval", O_GCINT),
        OptSpec::arg("hashlimit-htable-expire", O_EXPIRE),
        OptSpec::arg("hashlimit-mode", O_MODE),
        OptSpec::arg("hashlimit-name", O_NAME).mand(),
        OptSpec::flag("hashlimit-rate-match", O_RATEMATCH),
        OptSpec::arg("hashlimit-rate-interval", O_INTERVAL),
    ],
    guided: true,
    help: "hashlimit match options:\n\
\x20 --hashlimit-upto <avg>           match up to this average rate\n\
\x20                                  [packets per second unless followed by\n\
\x20                                  /sec /minute /hour /day; or bytes: 10kb/s]\n\
\x20 --hashlimit-above <avg>          match above this average rate\n\
\x20 --hashlimit-mode <mode>          group packets by a comma-separated list of\n\
\x20                                  dstip,srcip,dstport,srcport (or none)\n\
\x20 --hashlimit-srcmask <length>     prefix length of source addresses in a group\n\
\x20 --hashlimit-dstmask <length>     prefix length of destination addresses in a group\n\
\x20 --hashlimit-name <name>          name of the table (/proc/net/ipt_hashlimit/<name>)\n\
\x20 --hashlimit-burst <num>\t    packets that may match at once, default 5\n\
\x20 --hashlimit-htable-size <num>    buckets of the table\n\
\x20 --hashlimit-htable-max <num>     most entries of the table\n\
\x20 --hashlimit-htable-gcinterval    milliseconds between garbage collections\n\
\x20 --hashlimit-htable-expire        milliseconds after which idle entries go\n\
\x20 --hashlimit-rate-match           only compare the rate; do not limit\n\
\x20 --hashlimit-rate-interval        seconds over which --hashlimit-rate-match measures\n\
\n",
    new_match: Some(|| Box::new(Hashlimit::default())),
    new_target: None,
};

fn cost_to_bytes(cost: u64) -> u64 {
    let r = (u32::MAX as u64)
        .checked_div(cost)
        .unwrap_or(u32::MAX as u64);
    r.wrapping_sub(1) << BYTE_SHIFT
}

fn bytes_to_cost(bytes: u64) -> u64 {
    let r = (bytes >> BYTE_SHIFT) as u32 as u64;
    u32::MAX as u64 / (r + 1)
}

fn factor(c: Option<u8>) -> u64 {
    match c {
        Some(b'm') => 1024 * 1024,
        Some(b'k') => 1024,
        _ => 1,
    }
}

const UNITS: [(&str, u64); 3] = [("m", 1024 * 1024), ("k", 1024), ("", 1)];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashlimit {
    /// Above the rate instead of up to it.
    pub above: bool,
    /// The rate is in bytes (`avg` is then a cost per byte unit).
    pub bytes: bool,
    pub rate_match: bool,
    pub mode: u32,
    pub avg: u64,
    pub burst: u64,
    pub size: u32,
    pub max: u32,
    pub gc_interval: u32,
    pub expire: u32,
    pub srcmask: u8,
    pub dstmask: u8,
    pub interval: u32,
    pub name: String,
    /// Seconds of the rate's unit (the expiry default), as parsing left it.
    unit_secs: u32,
    /// Why the last packet did not match (kept only while tracing).
    why: String,
}

/// The part of a rule that a table copies when the rule creates it
/// (`struct hashlimit_cfg3`, with size and max as the kernel fixes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cfg {
    pub mode: u32,
    pub bytes: bool,
    pub rate_match: bool,
    pub avg: u64,
    pub burst: u64,
    pub size: u32,
    pub max: u32,
    pub gc_interval: u32,
    pub expire: u32,
    pub srcmask: u8,
    pub dstmask: u8,
    pub interval: u32,
}

/// What a bucket is keyed by (`struct dsthash_dst`); unused fields are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
}

/// One group's token bucket (`struct dsthash_ent`), times in jiffies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bucket {
    pub expires: u64,
    pub prev: u64,
    pub credit: u64,
    pub credit_cap: u64,
    pub cost: u64,
    /// Rate-match mode: packets or bytes in the current interval, and
    /// whether the last interval went over.
    pub current_rate: u64,
    pub prev_window: bool,
    pub rate: u64,
    pub burst: i64,
    pub interval: u32,
}

/// A named table (`/proc/net/ipt_hashlimit/NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Htable {
    pub name: String,
    pub cfg: Cfg,
    /// Jiffies when the table started (its garbage collection runs every
    /// `gc_interval` from then); set by the first packet.
    pub start: Option<u64>,
    pub buckets: BTreeMap<Key, Bucket>,
}

/// All tables of a host (`cx.ext` under "hashlimit").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashlimitState {
    pub tables: Vec<Htable>,
}

pub(crate) const STATE: &str = "hashlimit";

/// `user2credits` of revision 3.
fn user2credits(user: u64) -> u64 {
    user.wrapping_mul(HZ * CPJ / SCALE)
}

/// `user2credits_byte`.
fn user2credits_byte(user: u32) -> u64 {
    ((user as u64 * HZ * CPJ_BYTES) >> 32) as u32 as u64
}

/// `maskl`: the first `len` bits of an address.
fn maskl(a: Ipv4Addr, len: u8) -> Ipv4Addr {
    if len == 0 {
        return Ipv4Addr::UNSPECIFIED;
    }
    Ipv4Addr::from(u32::from(a) & (!0u32 << (32 - len.min(32) as u32)))
}

/// `proto_ports_offset`: where the port pair (or SPI) sits in the transport header.
pub fn ports_offset(proto: u8) -> Option<usize> {
    match proto {
        6 | 17 | 33 | 50 | 132 | 136 => Some(0),
        51 => Some(4),
        _ => None,
    }
}

impl Htable {
    fn new(name: &str, cfg: Cfg) -> Htable {
        Htable {
            name: name.to_string(),
            cfg,
            start: None,
            buckets: BTreeMap::new(),
        }
    }

    /// The garbage collector's runs up to `now`: a bucket goes at the first
    /// run at or after its expiry.
    fn collect(&mut self, now: u64) {
        let start = *self.start.get_or_insert(now);
        let period = msecs_to_jiffies(self.cfg.gc_interval as u64).max(1);
        self.buckets.retain(|_, b| {
            let ahead = b.expires.wrapping_sub(start) as i64;
            let runs = if ahead <= 0 {
                1
            } else {
                (ahead as u64).div_ceil(period).max(1)
            };
            let run = start.wrapping_add(runs.wrapping_mul(period));
            !time_after_eq(now, run)
        });
    }

    /// `rateinfo_init`.
    fn new_bucket(&self, now: u64) -> Bucket {
        let c = &self.cfg;
        let mut b = Bucket {
            prev: now,
            ..Default::default()
        };
        if c.rate_match {
            if c.bytes {
                let u = c.avg as u32;
                let r = u32::MAX.checked_div(u).unwrap_or(u32::MAX) as u64;
                b.rate = r.wrapping_sub(1) << BYTE_SHIFT;
                b.burst = if c.burst != 0 {
                    c.burst.wrapping_mul(b.rate) as i64
                } else {
                    b.rate as i64
                };
            } else {
                b.rate = SCALE.checked_div(c.avg).unwrap_or(0);
                b.burst = c.burst.wrapping_add(b.rate) as i64;
            }
            b.interval = c.interval;
        } else if c.bytes {
            b.credit = CPJ_BYTES * HZ;
            b.cost = user2credits_byte(c.avg as u32);
            b.credit_cap = c.burst;
        } else {
            b.credit = user2credits(c.avg.wrapping_mul(c.burst));
            b.cost = user2credits(c.avg);
            b.credit_cap = b.credit;
        }
        b
    }

    /// `rateinfo_recalc`.
    fn recalc(&self, b: &mut Bucket, now: u64) {
        let delta = now.wrapping_sub(b.prev);
        if delta == 0 {
            return;
        }
        if self.cfg.rate_match {
            let interval = b.interval as u64 * HZ;
            if delta < interval {
                return;
            }
            b.prev = now;
            b.prev_window = b.current_rate.wrapping_mul(interval) > delta.wrapping_mul(b.rate);
            b.current_rate = 0;
            return;
        }
        b.prev = now;
        let cap = if self.cfg.bytes {
            let before = b.credit;
            b.credit = b.credit.wrapping_add(CPJ_BYTES.wrapping_mul(delta));
            let cap = CPJ_BYTES * HZ;
            if before >= b.credit {
                b.credit = cap;
                return;
            }
            cap
        } else {
            b.credit = b.credit.wrapping_add(delta.wrapping_mul(CPJ));
            b.credit_cap
        };
        if b.credit > cap {
            b.credit = cap;
        }
    }

    /// `/proc/net/ipt_hashlimit/NAME` lines (each bucket brought up to date).
    pub fn proc_text(&mut self, now: u64) -> String {
        self.collect(now);
        let mut out = String::new();
        let keys: Vec<Key> = self.buckets.keys().copied().collect();
        for k in keys {
            let mut b = self.buckets[&k].clone();
            self.recalc(&mut b, now);
            out.push_str(&format!(
                "{} {}:{}->{}:{} {} {} {}\n",
                (b.expires.wrapping_sub(now) as i64) / HZ as i64,
                k.src,
                k.sport,
                k.dst,
                k.dport,
                b.credit,
                b.credit_cap,
                b.cost
            ));
            self.buckets.insert(k, b);
        }
        out
    }
}

impl HashlimitState {
    pub fn table(&self, name: &str) -> Option<&Htable> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// The `-m hashlimit` matches of a host's rules, in rule order.
fn rules_of(host: &Host) -> Vec<Hashlimit> {
    let mut out = Vec::new();
    for t in &host.ruleset.tables {
        for c in &t.chains {
            for r in &c.rules {
                for m in &r.matches {
                    if let Some(x) = m.as_any().downcast_ref::<Hashlimit>() {
                        out.push(x.clone());
                    }
                }
            }
        }
    }
    out
}

/// After a commit: tables no rule names go away; a new name makes a table
/// with the settings of the first rule that names it (a table keeps the
/// settings it was made with while any rule uses it, as in the kernel).
pub fn after_commit(host: &mut Host) {
    let rules = rules_of(host);
    let st = host.ext_state.get_mut::<HashlimitState>(STATE);
    st.tables.retain(|t| rules.iter().any(|r| r.name == t.name));
    for r in &rules {
        if st.table(&r.name).is_none() {
            st.tables.push(Htable::new(&r.name, r.cfg()));
        }
    }
}

/// `cat /proc/net/ipt_hashlimit/NAME` at lab time `now_ns`; `None` without such a table.
pub fn proc_read(host: &mut Host, name: &str, now_ns: u64) -> Option<String> {
    if !rules_of(host).iter().any(|r| r.name == name) {
        return None;
    }
    after_commit(host);
    let st = host.ext_state.get_mut::<HashlimitState>(STATE);
    let t = st.tables.iter_mut().find(|t| t.name == name)?;
    Some(t.proc_text(jiffies(now_ns)))
}

impl Default for Hashlimit {
    fn default() -> Self {
        Hashlimit {
            above: false,
            bytes: false,
            rate_match: false,
            mode: 0,
            avg: 0,
            burst: BURST_DEFAULT,
            size: 0,
            max: 0,
            gc_interval: GC_DEFAULT,
            expire: 0,
            srcmask: 32,
            dstmask: 32,
            interval: 0,
            name: String::new(),
            unit_secs: 0,
            why: String::new(),
        }
    }
}

impl Hashlimit {
    fn parse_bytes(&mut self, rate: &str) -> XtResult<bool> {
        let Some(pos) = rate.find("b/s") else {
            return Ok(false);
        };
        if pos == 0 {
            return Ok(false);
        }
        let r = atoll(rate) as u64;
        if r == 0 {
            return Ok(false);
        }
        let tmp = r.wrapping_mul(factor(rate.as_bytes().get(pos - 1).copied()));
        let cost = bytes_to_cost(tmp);
        if cost == 0 {
            return Err(XtError::new(format!("Rate too high \"{rate}\"")));
        }
        self.unit_secs = BYTE_EXPIRE;
        self.avg = cost;
        Ok(true)
    }

    fn parse_rate(&mut self, rate: &str) -> XtResult<bool> {
        let Some(mult) = rate_unit(rate) else {
            return Ok(false);
        };
        self.unit_secs = mult as u32;
        let r = atoll(rate) as u64;
        if r == 0 {
            return Ok(false);
        }
        let avg = SCALE * mult / r;
        if avg == 0 {
            return Err(XtError::new(format!("Rate too fast \"{rate}\"")));
        }
        self.avg = avg;
        Ok(true)
    }

    fn mode_text(&self, sep: char) -> String {
        let mut parts = Vec::new();
        for (bit, name) in [
            (MODE_SIP, "srcip"),
            (MODE_SPT, "srcport"),
            (MODE_DIP, "dstip"),
            (MODE_DPT, "dstport"),
        ] {
            if self.mode & bit != 0 {
                parts.push(name);
            }
        }
        parts.join(&sep.to_string())
    }

    /// `print_bytes`: the rate (and burst) in the largest exact unit; returns
    /// the expiry that is implied.
    fn bytes_text(&self, out: &mut String, burst_prefix: &str) -> u32 {
        let r = cost_to_bytes(self.avg);
        let mut i = 0;
        while i < UNITS.len() - 1 {
            let mask = !(UNITS[i].1 as u32 - 1) as u64;
            if r >= UNITS[i].1 && bytes_to_cost(r & mask) == self.avg {
                break;
            }
            i += 1;
        }
        out.push_str(&format!(" {}{}b/s", r / UNITS[i].1, UNITS[i].0));
        if self.burst == 0 {
            return BYTE_EXPIRE * 1000;
        }
        let r = r.wrapping_mul(self.burst);
        let i = UNITS
            .iter()
            .position(|u| r >= u.1)
            .unwrap_or(UNITS.len() - 1);
        out.push_str(&format!(
            " {burst_prefix}burst {}{}b",
            r / UNITS[i].1,
            UNITS[i].0
        ));
        BYTE_EXPIRE_BURST * 1000
    }

    /// What a table made by this rule copies.
    pub fn cfg(&self) -> Cfg {
        let size = match self.size {
            0 => SIZE_DEFAULT,
            n => n.min(MAX_SIZE),
        };
        let max = match self.max.min(MAX_SIZE) {
            0 => size.saturating_mul(8),
            m => m.max(size),
        };
        Cfg {
            mode: self.mode,
            bytes: self.bytes,
            rate_match: self.rate_match,
            avg: self.avg,
            burst: self.burst,
            size,
            max,
            gc_interval: self.gc_interval,
            expire: self.expire,
            srcmask: self.srcmask,
            dstmask: self.dstmask,
            interval: self.interval,
        }
    }

    /// `hashlimit_init_dst`: the packet's group; `None` when the ports
    /// cannot be read (the kernel drops such a packet).
    fn key(cfg: &Cfg, pkt: &[u8], hdr: &crate::packet::Headers) -> Option<Key> {
        let mut k = Key {
            src: Ipv4Addr::UNSPECIFIED,
            dst: Ipv4Addr::UNSPECIFIED,
            sport: 0,
            dport: 0,
        };
        if cfg.mode & MODE_DIP != 0 {
            k.dst = maskl(hdr.dst, cfg.dstmask);
        }
        if cfg.mode & MODE_SIP != 0 {
            k.src = maskl(hdr.src, cfg.srcmask);
        }
        if cfg.mode & (MODE_DPT | MODE_SPT) == 0 {
            return Some(k);
        }
        let (sport, dport) = match ports_offset(hdr.proto) {
            Some(off) => {
                let at = usize::from(hdr.header_len) + off;
                let end = (hdr.total_len as usize).min(pkt.len());
                if at + 4 > end {
                    return None;
                }
                (
                    u16::from_be_bytes([pkt[at], pkt[at + 1]]),
                    u16::from_be_bytes([pkt[at + 2], pkt[at + 3]]),
                )
            }
            None => (0, 0),
        };
        if cfg.mode & MODE_SPT != 0 {
            k.sport = sport;
        }
        if cfg.mode & MODE_DPT != 0 {
            k.dport = dport;
        }
        Some(k)
    }

    fn group_text(&self, k: &Key) -> String {
        if self.mode == 0 {
            return "all packets".into();
        }
        let mut parts = Vec::new();
        if self.mode & MODE_SIP != 0 {
            parts.push(format!("source {}", k.src));
        }
        if self.mode & MODE_SPT != 0 {
            parts.push(format!("source port {}", k.sport));
        }
        if self.mode & MODE_DIP != 0 {
            parts.push(format!("destination {}", k.dst));
        }
        if self.mode & MODE_DPT != 0 {
            parts.push(format!("destination port {}", k.dport));
        }
        format!("the group of {}", parts.join(", "))
    }

    /// `print_rate` for packet rates; returns the unit in milliseconds.
    fn packet_rate(out: &mut String, period: u64) -> u32 {
        let (text, secs) = rate_text(period, SCALE);
        out.push_str(&text);
        (secs * 1000) as u32
    }
}

impl Match for Hashlimit {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        let bad = |opt: &str| {
            XtError::new(format!(
                "hashlimit: Bad value for \"--{opt}\" option: \"{arg}\""
            ))
        };
        let u32v =
            |opt: &str| xtopt::uint("hashlimit", opt, arg, 0, u32::MAX as u64).map(|v| v as u32);
        match id {
            O_UPTO | O_ABOVE => {
                self.above = (id == O_ABOVE) != inv;
                if self.parse_bytes(arg)? {
                    self.bytes = true;
                } else if !self.parse_rate(arg)? {
                    return Err(bad(if id == O_UPTO {
                        "hashlimit-upto"
                    } else {
                        "hashlimit-above"
                    }));
                }
            }
            O_MODE => {
                for tok in arg.split([',', '|']).filter(|t| !t.is_empty()) {
                    self.mode |= match tok {
                        "dstip" => MODE_DIP,
                        "srcip" => MODE_SIP,
                        "srcport" => MODE_SPT,
                        "dstport" => MODE_DPT,
                        _ => return Err(bad("hashlimit-mode")),
                    };
                }
            }
            O_SRCMASK => {
                self.srcmask = xtopt::uint("hashlimit", "hashlimit-srcmask", arg, 0, 255)? as u8
            }
            O_DSTMASK => {
                self.dstmask = xtopt::uint("hashlimit", "hashlimit-dstmask", arg, 0, 255)? as u8
            }
            O_NAME => {
                if arg.is_empty() {
                    return Err(XtError::new(
                        "Argument must have a minimum length of 1 characters\n",
                    ));
                }
                self.name = arg.chars().take(254).collect();
            }
            O_BURST => {
                let burst_err = || {
                    XtError::new(format!(
                        "bad value for option \"--hashlimit-burst\", or out of range (1-{BURST_MAX})."
                    ))
                };
                let (v, rest) = xtopt::strtoul(arg, 1, 0).ok_or_else(burst_err)?;
                if rest.is_empty() && v > BURST_MAX {
                    return Err(burst_err());
                }
                self.burst = v.wrapping_mul(factor(rest.as_bytes().first().copied()));
            }
            O_SIZE => self.size = u32v("hashlimit-htable-size")?,
            O_MAX => self.max = u32v("hashlimit-htable-max")?,
            O_GCINT => self.gc_interval = u32v("hashlimit-htable-gcinterval")?,
            O_EXPIRE => self.expire = u32v("hashlimit-htable-expire")?,
            O_RATEMATCH => self.rate_match = true,
            _ => {
                let v = atoll(arg) as i32;
                if v <= 0 {
                    return Err(bad("hashlimit-rate-interval"));
                }
                self.interval = v as u32;
            }
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen & (bit(O_UPTO) | bit(O_ABOVE)) == 0 {
            return Err(XtError::new("You have to specify --hashlimit"));
        }
        if seen & bit(O_EXPIRE) == 0 {
            self.expire = self.unit_secs.wrapping_mul(1000);
        }
        if self.bytes {
            let mut burst = 0u64;
            if seen & bit(O_BURST) != 0 {
                let unit = cost_to_bytes(self.avg);
                if self.burst < unit {
                    return Err(XtError::new(format!(
                        "burst cannot be smaller than {unit}b"
                    )));
                }
                if unit == 0 {
                    // iptables divides by zero here and dies of SIGFPE.
                    return Err(XtError {
                        msg: String::new(),
                        bare: true,
                        exit: 136,
                    });
                }
                burst = (self.burst / unit) as u32 as u64;
                if !self.burst.is_multiple_of(unit) {
                    burst = (burst as u32).wrapping_add(1) as u64;
                }
                if seen & bit(O_EXPIRE) == 0 {
                    self.expire = BYTE_EXPIRE_BURST * 1000;
                }
            }
            self.burst = burst;
        } else if self.burst > BURST_MAX {
            return Err(XtError::new(format!(
                "bad value for option \"--hashlimit-burst\", or out of range (1-{BURST_MAX})."
            )));
        }
        if self.rate_match {
            if !self.bytes {
                self.avg /= self.unit_secs.max(1) as u64;
            }
            if self.interval == 0 {
                self.interval = if self.bytes { 1 } else { self.unit_secs };
            }
        }
        Ok(())
    }

    fn check(&self, _cx: &CheckCx) -> Result<(), KernelError> {
        if self.gc_interval == 0 || self.expire == 0 || self.srcmask > 32 || self.dstmask > 32 {
            return Err(KernelError::Invalid);
        }
        if self.bytes {
            if ((self.avg.wrapping_mul(BYTE_CREDIT_FACTOR)) >> 32) as u32 == 0 {
                return Err(KernelError::Invalid);
            }
        } else if self.burst == 0
            || self
                .avg
                .wrapping_mul(self.burst)
                .wrapping_mul(CREDIT_FACTOR)
                < self.avg.wrapping_mul(CREDIT_FACTOR)
        {
            return Err(KernelError::Range);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(if self.above {
            " --hashlimit-above"
        } else {
            " --hashlimit-upto"
        });
        let quantum = if self.bytes {
            self.bytes_text(out, "--hashlimit-")
        } else {
            let q = Self::packet_rate(out, self.avg);
            out.push_str(&format!(" --hashlimit-burst {}", self.burst));
            q
        };
        if self.mode != 0 {
            out.push_str(&format!(" --hashlimit-mode {}", self.mode_text(',')));
        }
        out.push_str(&format!(" --hashlimit-name {}", self.name));
        if self.size != 0 {
            out.push_str(&format!(" --hashlimit-htable-size {}", self.size));
        }
        if self.max != 0 {
            out.push_str(&format!(" --hashlimit-htable-max {}", self.max));
        }
        if self.gc_interval != GC_DEFAULT {
            out.push_str(&format!(
                " --hashlimit-htable-gcinterval {}",
                self.gc_interval
            ));
        }
        if self.expire != quantum {
            out.push_str(&format!(" --hashlimit-htable-expire {}", self.expire));
        }
        if self.srcmask != 32 {
            out.push_str(&format!(" --hashlimit-srcmask {}", self.srcmask));
        }
        if self.dstmask != 32 {
            out.push_str(&format!(" --hashlimit-dstmask {}", self.dstmask));
        }
        if self.rate_match {
            out.push_str(" --hashlimit-rate-match");
            if self.interval != 1 {
                out.push_str(&format!(" --hashlimit-rate-interval {}", self.interval));
            }
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(if self.above {
            " limit: above"
        } else {
            " limit: up to"
        });
        let quantum = if self.bytes {
            self.bytes_text(out, "")
        } else {
            let period = if self.interval != 0 {
                self.avg.wrapping_mul(self.interval as u64)
            } else {
                self.avg
            };
            let q = Self::packet_rate(out, period);
            out.push_str(&format!(" burst {}", self.burst));
            q
        };
        if self.mode != 0 {
            out.push_str(&format!(" mode {}", self.mode_text('-')));
        }
        if self.size != 0 {
            out.push_str(&format!(" htable-size {}", self.size));
        }
        if self.max != 0 {
            out.push_str(&format!(" htable-max {}", self.max));
        }
        if self.gc_interval != GC_DEFAULT {
            out.push_str(&format!(" htable-gcinterval {}", self.gc_interval));
        }
        if self.expire != quantum {
            out.push_str(&format!(" htable-expire {}", self.expire));
        }
        if self.srcmask != 32 {
            out.push_str(&format!(" srcmask {}", self.srcmask));
        }
        if self.dstmask != 32 {
            out.push_str(&format!(" dstmask {}", self.dstmask));
        }
        if self.rate_match {
            out.push_str(" rate-match");
            if self.interval != 1 {
                out.push_str(&format!(" rate-interval {}", self.interval));
            }
        }
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        let now = jiffies(cx.now_ns);
        let st = cx.ext.get_mut::<HashlimitState>(STATE);
        if st.table(&self.name).is_none() {
            st.tables.push(Htable::new(&self.name, self.cfg()));
        }
        let t = st.tables.iter_mut().find(|t| t.name == self.name)?;
        t.collect(now);
        let Some(key) = Self::key(&t.cfg, &cx.pkt.data, cx.hdr) else {
            cx.hotdrop = true;
            if cx.tracing {
                self.why = "the ports cannot be read: the packet is dropped".into();
            }
            return Some(false);
        };
        let expires = now.wrapping_add(msecs_to_jiffies(t.cfg.expire as u64));
        let mut b = match t.buckets.remove(&key) {
            Some(mut b) => {
                t.recalc(&mut b, now);
                b
            }
            None => {
                if t.buckets.len() >= t.cfg.max as usize {
                    cx.hotdrop = true;
                    if cx.tracing {
                        self.why = format!(
                            "table {} is full ({} entries): the packet is dropped",
                            self.name, t.cfg.max
                        );
                    }
                    return Some(false);
                }
                t.new_bucket(now)
            }
        };
        b.expires = expires;
        let under = if self.rate_match {
            let cost = if self.bytes { cx.pkt.len() as u64 } else { 1 };
            b.current_rate = b.current_rate.wrapping_add(cost);
            !b.prev_window && b.current_rate <= b.burst as u64
        } else {
            let cost = if self.bytes {
                let mut c = ((cx.pkt.len() as u64) >> BYTE_SHIFT) + 1;
                c = c.wrapping_mul(b.cost).min(CPJ_BYTES * HZ);
                if b.credit < c && b.credit_cap != 0 {
                    b.credit_cap -= 1;
                    b.credit = CPJ_BYTES * HZ;
                }
                c
            } else {
                b.cost
            };
            if b.credit >= cost {
                b.credit -= cost;
                true
            } else {
                false
            }
        };
        t.buckets.insert(key, b);
        let ret = under != self.above;
        if !ret && cx.tracing {
            self.why = format!(
                "{} is {} the rate",
                self.group_text(&key),
                if under { "within" } else { "over" }
            );
        }
        Some(ret)
    }

    fn why_not(&self, _cx: &EvalCx) -> String {
        let mut rate = String::new();
        if self.bytes {
            self.bytes_text(&mut rate, "");
        } else {
            Self::packet_rate(&mut rate, self.avg);
        }
        format!(
            "-m hashlimit --hashlimit-{}{rate} --hashlimit-name {} did not match: {}",
            if self.above { "above" } else { "upto" },
            self.name,
            self.why
        )
    }

    fn explain(&self) -> String {
        let mut rate = String::new();
        if self.bytes {
            self.bytes_text(&mut rate, "");
        } else {
            Self::packet_rate(&mut rate, self.avg);
        }
        let group = if self.mode == 0 {
            "all packets together".to_string()
        } else {
            format!("per {}", self.mode_text('+'))
        };
        format!(
            "packets {} a rate of{rate}, counted {group} (table {})",
            if self.above { "above" } else { "up to" },
            self.name
        )
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

    fn saved(h: &mut Host, rule: &str) -> String {
        run(h, "iptables -F");
        let o = run(h, &format!("iptables -A INPUT -m hashlimit {rule}"));
        assert_eq!(o.exit, 0, "{rule}: {}", o.stderr);
        let s = run(h, "iptables -S INPUT").stdout;
        s.lines()
            .nth(1)
            .unwrap_or("")
            .replacen("-A INPUT -m hashlimit ", "", 1)
    }

    #[test]
    fn save_forms() {
        let mut h = Host::new("h");
        assert_eq!(
            saved(&mut h, "--hashlimit-upto 1/sec --hashlimit-name mini1"),
            "--hashlimit-upto 1/sec --hashlimit-burst 5 --hashlimit-name mini1"
        );
        assert_eq!(
            saved(
                &mut h,
                "--hashlimit-upto 4kb/s --hashlimit-burst 400kb --hashlimit-name m5"
            ),
            "--hashlimit-upto 4kb/s --hashlimit-burst 400kb --hashlimit-name m5"
        );
        assert_eq!(
            saved(&mut h, "--hashlimit-upto 5000000mb/s --hashlimit-name m"),
            "--hashlimit-upto 22906492224b/s --hashlimit-name m"
        );
        assert_eq!(
            saved(&mut h, "--hashlimit-upto 40/min --hashlimit-name r1 --hashlimit-rate-match"),
            "--hashlimit-upto 40/sec --hashlimit-burst 5 --hashlimit-name r1 --hashlimit-htable-expire 60000 --hashlimit-rate-match --hashlimit-rate-interval 60"
        );
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .ends_with(" limit: up to 40/min burst 5 rate-match rate-interval 60\n"));
        assert_eq!(
            saved(&mut h, "! --hashlimit-above 1/sec --hashlimit-name m --hashlimit-mode dstport,srcip"),
            "--hashlimit-upto 1/sec --hashlimit-burst 5 --hashlimit-mode srcip,dstport --hashlimit-name m"
        );
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        for (rule, msg) in [
            ("--hashlimit-name m", "You have to specify --hashlimit\nTry"),
            (
                "--hashlimit-upto 1/sec",
                "hashlimit: option \"--hashlimit-name\" must be specified\n\nTry",
            ),
            (
                "--hashlimit-upto 1/sec --hashlimit-name m --hashlimit-mode x",
                "hashlimit: Bad value for \"--hashlimit-mode\" option: \"x\"",
            ),
            (
                "--hashlimit-upto 1kb/s --hashlimit-name m --hashlimit-burst 10",
                "burst cannot be smaller than 1024b",
            ),
            (
                "--hashlimit-upto 2000000/sec --hashlimit-name m",
                "Rate too fast \"2000000/sec\"",
            ),
        ] {
            let o = run(&mut h, &format!("iptables -A INPUT -m hashlimit {rule}"));
            assert!(o.stderr.contains(msg), "{rule}: {}", o.stderr);
        }
        let o = run(&mut h, "iptables -A INPUT -m hashlimit --hashlimit-upto 1/day --hashlimit-name m --hashlimit-burst 1000000");
        assert_eq!(o.exit, 4);
        assert!(o.stderr.contains("(Numerical result out of range)"));
        let o = run(&mut h, "iptables -A INPUT -m hashlimit --hashlimit-upto 1/sec --hashlimit-name m --hashlimit-srcmask 33");
        assert_eq!(o.exit, 4);
    }

    use super::{proc_read, HashlimitState};
    use crate::ext::limit::lab::*;

    fn fwd(w: &mut crate::sim::world::World, at: u64, src: &str, dst: &str) -> bool {
        passed(&send_at(w, at, ping(src, dst)))
    }

    #[test]
    fn one_bucket_per_source() {
        let mut w = world();
        ipt(&mut w, "iptables -A FORWARD -m hashlimit --hashlimit-upto 1/sec --hashlimit-burst 3 --hashlimit-mode srcip --hashlimit-name perip -j ACCEPT");
        ipt(&mut w, "iptables -A FORWARD -j DROP");
        let t0 = 50 * SEC;
        let a: Vec<bool> = (0..4)
            .map(|i| fwd(&mut w, t0 + i, "10.0.1.9", "10.0.2.5"))
            .collect();
        assert_eq!(a, [true, true, true, false]);
        // Another source has its own bucket.
        assert!(fwd(&mut w, t0 + 10, "10.0.1.10", "10.0.2.5"));
        // One credit comes back after 250 jiffies (1 s), not 249.
        assert!(!fwd(&mut w, t0 + SEC - 4_000_000, "10.0.1.9", "10.0.2.5"));
        let why = w.reports[0].trace.steps[0].failed.clone().unwrap();
        assert_eq!(why, "-m hashlimit --hashlimit-upto 1/sec --hashlimit-name perip did not match: the group of source 10.0.1.9 is over the rate");
        assert!(fwd(&mut w, t0 + SEC, "10.0.1.9", "10.0.2.5"));
        assert!(!fwd(&mut w, t0 + SEC + 1, "10.0.1.9", "10.0.2.5"));
        let text = proc_read(&mut w.hosts[0], "perip", t0 + SEC).unwrap();
        assert!(text.contains(" 10.0.1.9:0->0.0.0.0:0 "), "{text}");
        assert_eq!(
            text,
            "1 10.0.1.9:0->0.0.0.0:0 472000 412316859000000 137438953000000\n"
        );
    }

    #[test]
    fn masks_and_above() {
        let mut w = world();
        ipt(&mut w, "iptables -A FORWARD -m hashlimit --hashlimit-above 2/sec --hashlimit-burst 2 --hashlimit-mode srcip,dstip --hashlimit-srcmask 24 --hashlimit-name nets -j DROP");
        let t0 = 70 * SEC;
        // 10.0.1.9 and 10.0.1.10 are one group under /24; the third packet is above.
        assert!(fwd(&mut w, t0, "10.0.1.9", "10.0.2.5"));
        assert!(fwd(&mut w, t0 + 1, "10.0.1.10", "10.0.2.5"));
        assert!(!fwd(&mut w, t0 + 2, "10.0.1.11", "10.0.2.5"));
        // Another destination is another group.
        assert!(fwd(&mut w, t0 + 3, "10.0.1.11", "10.0.2.6"));
        let st = w.hosts[0]
            .ext_state
            .get::<HashlimitState>("hashlimit")
            .unwrap();
        assert_eq!(st.table("nets").unwrap().buckets.len(), 2);
    }

    #[test]
    fn byte_rate_refills_up_to_burst_times() {
        let mut w = world();
        ipt(&mut w, "iptables -A FORWARD -m hashlimit --hashlimit-upto 1kb/s --hashlimit-burst 2kb --hashlimit-name bytes -j ACCEPT");
        ipt(&mut w, "iptables -A FORWARD -j DROP");
        let big = || udp("10.0.1.9", "10.0.2.5", 1, 2, &[0u8; 972]);
        let t0 = 90 * SEC;
        // A 1000-byte packet costs 63 chunks; a full credit is one packet,
        // and the burst of 2 kb refills it twice.
        let got: Vec<bool> = (0..4)
            .map(|i| passed(&send_at(&mut w, t0 + i, big())))
            .collect();
        assert_eq!(got, [true, true, true, false]);
        // 129055624 credits were left; 235 jiffies bring back the rest of
        // the 4065248376 a packet costs.
        assert!(!passed(&send_at(&mut w, t0 + 234 * 4_000_000, big())));
        assert!(passed(&send_at(&mut w, t0 + 235 * 4_000_000, big())));
    }

    #[test]
    fn idle_buckets_expire_at_garbage_collection() {
        let mut w = world();
        ipt(&mut w, "iptables -A FORWARD -m hashlimit --hashlimit-upto 1/min --hashlimit-burst 3 --hashlimit-mode srcip --hashlimit-name gc --hashlimit-htable-expire 2000 --hashlimit-htable-gcinterval 1000 -j ACCEPT");
        ipt(&mut w, "iptables -A FORWARD -j DROP");
        let t0 = 200 * SEC;
        for i in 0..3 {
            assert!(fwd(&mut w, t0 + i, "10.0.1.9", "10.0.2.5"));
            assert!(fwd(&mut w, t0 + i, "10.0.1.10", "10.0.2.5"));
        }
        // .10 keeps knocking, so its bucket stays (and stays empty).
        assert!(!fwd(&mut w, t0 + 1_500_000_000, "10.0.1.10", "10.0.2.5"));
        // The collector at t0+2 s removed .9's idle bucket: a new full one.
        assert!(fwd(&mut w, t0 + 2_500_000_000, "10.0.1.9", "10.0.2.5"));
        assert!(!fwd(&mut w, t0 + 2_500_000_000, "10.0.1.10", "10.0.2.5"));
    }

    #[test]
    fn full_table_drops() {
        let mut w = world();
        ipt(&mut w, "iptables -A FORWARD -m hashlimit --hashlimit-upto 100/sec --hashlimit-mode srcip --hashlimit-name small --hashlimit-htable-size 2 --hashlimit-htable-max 2 -j ACCEPT");
        let t0 = 300 * SEC;
        assert!(fwd(&mut w, t0, "10.0.1.9", "10.0.2.5"));
        assert!(fwd(&mut w, t0, "10.0.1.10", "10.0.2.5"));
        assert!(!fwd(&mut w, t0, "10.0.1.11", "10.0.2.5"));
        let step = &w.reports[0].trace.steps[0];
        assert_eq!(
            step.verdict.as_deref(),
            Some("DROP (the match dropped the packet)")
        );
        assert!(step
            .failed
            .as_ref()
            .unwrap()
            .ends_with("table small is full (2 entries): the packet is dropped"));
        // Deleting the rule frees the table; a new rule starts empty.
        ipt(&mut w, "iptables -F FORWARD");
        assert!(proc_read(&mut w.hosts[0], "small", t0).is_none());
        ipt(&mut w, "iptables -A FORWARD -m hashlimit --hashlimit-upto 100/sec --hashlimit-mode srcip --hashlimit-name small --hashlimit-htable-size 2 --hashlimit-htable-max 2 -j ACCEPT");
        assert!(fwd(&mut w, t0, "10.0.1.11", "10.0.2.5"));
    }

    #[test]
    fn rate_match_compares_whole_intervals() {
        let mut w = world();
        ipt(&mut w, "iptables -A FORWARD -m hashlimit --hashlimit-upto 3/sec --hashlimit-rate-match --hashlimit-name rm --hashlimit-htable-expire 10000 -j ACCEPT");
        ipt(&mut w, "iptables -A FORWARD -j DROP");
        let t0 = 400 * SEC;
        // Rate 3 plus the burst of 5: eight packets in the first second.
        let n = (0..9)
            .filter(|i| fwd(&mut w, t0 + i, "10.0.1.9", "10.0.2.5"))
            .count();
        assert_eq!(n, 8);
        // That second went over the rate, so the whole next one does not match.
        assert!(!fwd(&mut w, t0 + SEC, "10.0.1.9", "10.0.2.5"));
        assert!(fwd(&mut w, t0 + 2 * SEC, "10.0.1.9", "10.0.2.5"));
    }
}
