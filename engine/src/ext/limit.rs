//! `-m limit`: matches at most an average rate of packets, with a burst
//! allowance (a token bucket). iptables-nft stores it as a native nftables
//! `limit`, so the rate is kept as packets per unit and the bucket counts
//! nanoseconds (nft_limit), not jiffies. Also holds the kernel clock helpers
//! (jiffies at HZ=250) that hashlimit, recent and rateest share.

use super::{xtopt, EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

/// The kernel's tick rate (CONFIG_HZ of the reference kernel).
pub const HZ: u64 = 250;
/// Nanoseconds per jiffy.
pub const NS_PER_JIFFY: u64 = 1_000_000_000 / HZ;
/// `INITIAL_JIFFIES`: jiffies start 5 minutes before wrapping 32 bits.
pub const INITIAL_JIFFIES: u64 = (-300i64 * HZ as i64) as u32 as u64;

/// The kernel's `jiffies` at a lab time (the lab clock counts as uptime).
pub fn jiffies(now_ns: u64) -> u64 {
    INITIAL_JIFFIES.wrapping_add(now_ns / NS_PER_JIFFY)
}

/// `time_after(a, b)`: `a` is later than `b` (wrap-safe).
pub fn time_after(a: u64, b: u64) -> bool {
    (b.wrapping_sub(a) as i64) < 0
}

/// `time_after_eq(a, b)`.
pub fn time_after_eq(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) >= 0
}

/// `msecs_to_jiffies` for HZ=250 (rounds up).
pub fn msecs_to_jiffies(ms: u64) -> u64 {
    let per = 1000 / HZ;
    ms.div_ceil(per)
}

/// Seconds with three decimals, for explanations.
pub fn secs_text(ns: u64) -> String {
    format!(
        "{}.{:03} s",
        ns / 1_000_000_000,
        ns % 1_000_000_000 / 1_000_000
    )
}

const O_LIMIT: u8 = 0;
const O_BURST: u8 = 1;

/// `XT_LIMIT_SCALE`: the average is kept as seconds * 10000 per packet.
pub const SCALE: u32 = 10000;
pub const DEFAULT_BURST: u32 = 5;

pub static INFO: ExtInfo = ExtInfo {
    name: "limit",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("limit", O_LIMIT),
        OptSpec::arg("limit-burst", O_BURST),
    ],
    guided: true,
    help: "limit match options:\n\
--limit avg\t\t\thighest average match rate: default 3/hour\n\
\x20                               [packets per second unless followed by\n\
\x20                               /sec /minute /hour /day]\n\
--limit-burst number\t\tpackets that may match at once, default 5\n",
    new_match: Some(|| Box::new(Limit::default())),
    new_target: None,
};

/// C `atoi`/`atoll`: leading blanks, a sign, digits; 0 when there are none.
pub fn atoll(s: &str) -> i64 {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for c in t.bytes().take_while(|c| c.is_ascii_digit()) {
        v = v.wrapping_mul(10).wrapping_add((c - b'0') as i64);
    }
    if neg {
        v.wrapping_neg()
    } else {
        v
    }
}

/// The unit after `/` (any prefix of second, minute, hour, day) in seconds;
/// `Some(1)` without a slash, `None` for anything else.
pub fn rate_unit(rate: &str) -> Option<u64> {
    let Some((_, unit)) = rate.split_once('/') else {
        return Some(1);
    };
    if unit.is_empty() {
        return None;
    }
    [
        ("second", 1),
        ("minute", 60),
        ("hour", 3600),
        ("day", 86400),
    ]
    .into_iter()
    .find(|(name, _)| {
        unit.len() <= name.len()
            && name.as_bytes()[..unit.len()].eq_ignore_ascii_case(unit.as_bytes())
    })
    .map(|(_, m)| m)
}

/// `print_rate`: the largest unit that shows the period without losing much.
/// `scale` is the number of period units per second. Returns the text and the
/// chosen unit's length in seconds.
pub fn rate_text(period: u64, scale: u64) -> (String, u64) {
    if period == 0 {
        return (" inf".to_string(), 0);
    }
    let units = [("day", 86400u64), ("hour", 3600), ("min", 60), ("sec", 1)];
    let mut i = 1;
    while i < units.len() {
        let mult = scale * units[i].1;
        if period > mult || mult / period < mult % period {
            break;
        }
        i += 1;
    }
    let (name, secs) = units[i - 1];
    (format!(" {}/{name}", scale * secs / period), secs)
}

/// The rule's token bucket (`struct nft_limit`): nanoseconds of credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub tokens: u64,
    /// Lab time of the last packet seen.
    pub last_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// Average period between packets, in 1/10000 s.
    pub avg: u32,
    pub burst: u32,
    /// Filled on the first packet: the kernel makes it full when the rule
    /// is added, and a full bucket stays full until packets come.
    pub bucket: Option<Bucket>,
}

impl Default for Limit {
    fn default() -> Self {
        Limit {
            avg: SCALE * 3600 / 3,
            burst: DEFAULT_BURST,
            bucket: None,
        }
    }
}

impl Limit {
    /// The rate as nftables keeps it: packets per unit of seconds.
    pub fn nft_rate(&self) -> (u64, u64) {
        let avg = self.avg.max(1) as u64;
        let (_, unit) = rate_text(avg, SCALE as u64);
        let unit = unit.max(1);
        ((SCALE as u64 * unit) / avg, unit)
    }

    /// nft_limit's cost of one packet and bucket size, in nanoseconds.
    pub fn cost_and_max(&self) -> (u64, u64) {
        let (rate, unit) = self.nft_rate();
        let cost = (unit * 1_000_000_000).checked_div(rate).unwrap_or(u64::MAX);
        (cost, cost.saturating_mul(self.burst as u64))
    }

    /// The average as read back from nftables (what save and list show).
    fn shown_avg(&self) -> u64 {
        let (rate, unit) = self.nft_rate();
        (SCALE as u64 * unit).checked_div(rate).unwrap_or(0)
    }
}

impl Match for Limit {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        if id == O_BURST {
            self.burst = xtopt::uint("limit", "limit-burst", arg, 0, 10000)? as u32;
            // nf_tables replaces a zero burst by its default when it stores the
            // rule, so it lists (and saves) as 5. (The real `-D` with
            // `--limit-burst 0` then finds no rule; here it does.)
            if self.burst == 0 {
                self.burst = DEFAULT_BURST;
            }
            return Ok(());
        }
        let bad = || XtError::new(format!("bad rate \"{arg}\"'"));
        let mult = rate_unit(arg).ok_or_else(bad)? as u32;
        let r = atoll(arg) as i32 as u32;
        if r == 0 {
            return Err(bad());
        }
        let avg = SCALE.wrapping_mul(mult) / r;
        if avg == 0 {
            return Err(XtError::new(format!("Rate too fast \"{arg}\"")));
        }
        self.avg = avg;
        Ok(())
    }

    fn save(&self, out: &mut String) {
        out.push_str(" --limit");
        out.push_str(&rate_text(self.shown_avg(), SCALE as u64).0);
        if self.burst != DEFAULT_BURST {
            out.push_str(&format!(" --limit-burst {}", self.burst));
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" limit: avg");
        out.push_str(&rate_text(self.shown_avg(), SCALE as u64).0);
        out.push_str(&format!(" burst {}", self.burst));
    }

    fn explain(&self) -> String {
        let (rate, _) = rate_text(self.shown_avg(), SCALE as u64);
        format!(
            "while they arrive at most{rate} on average (after a first burst of {})",
            self.burst
        )
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        let (cost, max) = self.cost_and_max();
        let now = cx.now_ns;
        let b = self.bucket.get_or_insert(Bucket {
            tokens: max,
            last_ns: now,
        });
        let tokens = b
            .tokens
            .saturating_add(now.saturating_sub(b.last_ns))
            .min(max);
        b.last_ns = now;
        if tokens >= cost {
            b.tokens = tokens - cost;
            Some(true)
        } else {
            b.tokens = tokens;
            Some(false)
        }
    }

    fn why_not(&self, _cx: &EvalCx) -> String {
        let mut s = String::from("-m limit");
        self.save(&mut s);
        let (cost, _) = self.cost_and_max();
        let tokens = self.bucket.map(|b| b.tokens).unwrap_or(0);
        format!(
            "{s} did not match: over the limit, the next packet may pass in {}",
            secs_text(cost.saturating_sub(tokens))
        )
    }
}

/// A tiny lab for the packet group's evaluation tests: host 0 is router `r`
/// with `eth0` 10.0.1.1/24 (client side) and `eth1` 10.0.2.1/24, forwarding on.
#[cfg(test)]
pub(crate) mod lab {
    use crate::packet::spec::{L4Spec, PacketSpec};
    use crate::packet::Packet;
    use crate::sim::world::World;

    pub const SEC: u64 = 1_000_000_000;

    pub fn world() -> World {
        let mut w = World::new();
        let r = w.add_host("r");
        w.plug(r, "eth0", "10.0.1.1/24", "lan").unwrap();
        w.plug(r, "eth1", "10.0.2.1/24", "wan").unwrap();
        // Both sides reach machines outside the lab (the packets' sources and destinations).
        w.set_outside("lan").unwrap();
        w.set_outside("wan").unwrap();
        w.hosts[r]
            .sysctl
            .insert("net.ipv4.ip_forward".into(), "1".into());
        w
    }

    /// Runs an iptables command line (split on spaces) on host 0; it must succeed.
    pub fn ipt(w: &mut World, line: &str) {
        let argv: Vec<String> = line.split(' ').map(String::from).collect();
        let o = crate::command::run_argv(&mut w.hosts[0], &argv, None);
        assert_eq!(o.exit, 0, "{line}: {}", o.stderr);
    }

    /// Output of a command line on host 0.
    pub fn out(w: &mut World, line: &str) -> String {
        let argv: Vec<String> = line.split(' ').map(String::from).collect();
        crate::command::run_argv(&mut w.hosts[0], &argv, None).stdout
    }

    fn spec(src: &str, dst: &str, l4: L4Spec) -> PacketSpec {
        PacketSpec {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            l4,
            ttl: 64,
            tos: 0,
            id: 1,
            payload_len: 0,
        }
    }

    pub fn ping(src: &str, dst: &str) -> Packet {
        let mut s = spec(
            src,
            dst,
            L4Spec::Icmp {
                icmp_type: 8,
                code: 0,
                id: 7,
                seq: 1,
            },
        );
        s.payload_len = 16;
        s.build().unwrap()
    }

    pub fn tcp(src: &str, dst: &str, sport: u16, dport: u16, flags: &str) -> Packet {
        spec(
            src,
            dst,
            L4Spec::Tcp {
                sport,
                dport,
                flags: flags.into(),
                seq: 1000,
                ack: 0,
                window: 64240,
            },
        )
        .build()
        .unwrap()
    }

    pub fn udp(src: &str, dst: &str, sport: u16, dport: u16, payload: &[u8]) -> Packet {
        let ip = crate::packet::IpFields::new(src.parse().unwrap(), dst.parse().unwrap());
        crate::packet::build_udp(&ip, sport, dport, payload)
    }

    /// Injects a packet into `r` on `eth0` at lab second `at` (plus `ns`) and
    /// returns the outcome of that packet.
    pub fn send_at(w: &mut World, at_ns: u64, pkt: Packet) -> String {
        w.now_ns = at_ns;
        w.inject(0, "eth0", pkt);
        w.reports[0].outcome.clone()
    }

    /// Whether the packet got through (delivered or forwarded).
    pub fn passed(outcome: &str) -> bool {
        !outcome.starts_with("dropped")
    }

    /// Whether the IP and transport checksums of a packet are right.
    pub fn checksums_ok(data: &[u8]) -> bool {
        let mut p = Packet::new(data.to_vec());
        p.fix_checksums();
        p.data == data
    }

    /// Runs `f` with an evaluation context for `pkt` on host 0 (for
    /// targets whose effect stays in the packet's metadata).
    pub fn with_cx<R>(
        w: &mut World,
        pkt: &mut Packet,
        hook: crate::ruleset::Hook,
        f: impl FnOnce(&mut crate::sim::eval::EvalCx) -> R,
    ) -> R {
        let now = w.now_ns;
        let mut emitted = Vec::new();
        let mut log = Vec::new();
        let mut hdr = None;
        let mut cx = crate::sim::eval::EvalCx::on_host(
            &mut w.hosts[0],
            hook,
            "mangle",
            pkt,
            &mut hdr,
            now,
            &mut emitted,
            &mut log,
        )
        .expect("packet parses");
        cx.ct_state = crate::sim::conntrack::CtState::New;
        cx.tracing = true;
        f(&mut cx)
    }

    /// The last packet `r` put on `eth1`.
    pub fn last_sent(w: &World) -> Vec<u8> {
        w.wire
            .iter()
            .rev()
            .find(|e| e.host == "r" && e.iface == "eth1")
            .map(|e| e.packet.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::run_argv;
    use crate::sim::host::Host;

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn rate_round_trip() {
        let mut h = Host::new("h");
        for (given, saved) in [
            ("--limit 1/sec", "--limit 1/sec"),
            ("--limit 1000/day", "--limit 1000/day"),
            ("--limit 7/h", "--limit 7/hour"),
            ("--limit 3", "--limit 3/sec"),
            ("--limit 3/hour --limit-burst 5", "--limit 3/hour"),
            (
                "--limit 1/sec --limit-burst 1",
                "--limit 1/sec --limit-burst 1",
            ),
        ] {
            run(&mut h, "iptables -F");
            assert_eq!(
                run(&mut h, &format!("iptables -A INPUT -m limit {given}")).exit,
                0
            );
            assert_eq!(
                run(&mut h, "iptables -S INPUT").stdout,
                format!("-P INPUT ACCEPT\n-A INPUT -m limit {saved}\n")
            );
        }
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .ends_with(" limit: avg 1/sec burst 1\n"));
        run(&mut h, "iptables -F");
        run(
            &mut h,
            "iptables -A INPUT -m limit --limit 7/min --limit-burst 0",
        );
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .ends_with(" limit: avg 7/min burst 5\n"));
    }

    #[test]
    fn errors() {
        let mut h = Host::new("h");
        for (arg, msg) in [
            ("0/sec", "bad rate \"0/sec\"'"),
            ("3/days", "bad rate \"3/days\"'"),
            ("10001/sec", "Rate too fast \"10001/sec\""),
        ] {
            let o = run(&mut h, &format!("iptables -A INPUT -m limit --limit {arg}"));
            assert!(o.stderr.contains(&format!("{msg}\nTry")), "{}", o.stderr);
        }
        assert_eq!(atoll(" -12x"), -12);
    }

    #[test]
    fn clock() {
        assert_eq!(jiffies(0), 4_294_892_296);
        assert_eq!(jiffies(8_000_000), 4_294_892_298);
        assert!(time_after(5, 3) && !time_after(3, 3) && time_after_eq(3, 3));
        assert!(time_after(2, u64::MAX));
        assert_eq!(msecs_to_jiffies(1000), 250);
        assert_eq!(msecs_to_jiffies(1), 1);
    }

    /// The seed guide: 7 echo requests pass at once, then one per second.
    #[test]
    fn echo_request_burst_then_one_per_second() {
        use lab::*;
        let mut w = world();
        ipt(
            &mut w,
            "iptables -A INPUT -p icmp -m limit --limit 1/sec --limit-burst 7 -j ACCEPT",
        );
        ipt(&mut w, "iptables -A INPUT -p icmp -j DROP");
        let t0 = 1000 * SEC;
        let mut got = Vec::new();
        for i in 0..10 {
            got.push(passed(&send_at(
                &mut w,
                t0 + i * 10_000_000,
                ping("10.0.1.9", "10.0.1.1"),
            )));
        }
        assert_eq!(
            got,
            [true, true, true, true, true, true, true, false, false, false]
        );
        // The bucket refills by the nanosecond since the first packet: the
        // seven took 7 s of credit, so the next one passes 1 s after t0.
        assert!(!passed(&send_at(
            &mut w,
            t0 + SEC - 4_000_000,
            ping("10.0.1.9", "10.0.1.1")
        )));
        assert!(passed(&send_at(
            &mut w,
            t0 + SEC,
            ping("10.0.1.9", "10.0.1.1")
        )));
        assert!(!passed(&send_at(
            &mut w,
            t0 + SEC + 500_000_000,
            ping("10.0.1.9", "10.0.1.1")
        )));
        assert!(passed(&send_at(
            &mut w,
            t0 + 2 * SEC,
            ping("10.0.1.9", "10.0.1.1")
        )));
        // A long pause refills the bucket to the burst, no further.
        let later = t0 + 100 * SEC;
        let n = (0..20)
            .filter(|i| passed(&send_at(&mut w, later + i, ping("10.0.1.9", "10.0.1.1"))))
            .count();
        assert_eq!(n, 7);
        let o = out(&mut w, "iptables -L INPUT -v -n -x");
        assert!(o.contains("      16      704 ACCEPT"), "{o}");
        // The trace says why the limit rule did not match.
        send_at(&mut w, later + 30, ping("10.0.1.9", "10.0.1.1"));
        let why = w.reports[0].trace.steps[0].failed.clone().unwrap();
        assert!(
            why.contains("did not match: over the limit, the next packet may pass in 0.99"),
            "{why}"
        );
    }
}
