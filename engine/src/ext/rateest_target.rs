//! `-j RATEEST`: feeds packets to a named rate estimator (bytes and packets
//! per second, averaged over time) that `-m rateest` rules compare against.

use super::limit::{jiffies, time_after_eq, HZ};
use super::{
    CheckCx, Estimator, EvalCx, ExtInfo, ExtKind, KernelError, OptSpec, ParseCx, Target,
    TargetVerdict, XtError, XtResult,
};
use crate::ext_boilerplate;
use crate::ruleset::{RuleTarget, Table};
use crate::sim::host::Host;

const O_NAME: u8 = 0;
const O_INTERVAL: u8 = 1;
const O_EWMALOG: u8 = 2;
/// Time values are kept in microseconds.
const US_PER_SEC: f64 = 1_000_000.0;
/// Estimator names hold up to 15 bytes.
pub const NAME_MAX: usize = 15;

pub static INFO: ExtInfo = ExtInfo {
    name: "RATEEST",
    aliases: &[],
    kind: ExtKind::Target,
    options: &[
        OptSpec::arg("rateest-name", O_NAME).mand(),
        OptSpec::arg("rateest-interval", O_INTERVAL).mand(),
        OptSpec::arg("rateest-ewmalog", O_EWMALOG).mand(),
    ],
    guided: true,
    help: "RATEEST target options:\n\
\x20 --rateest-name name\t\tName of the rate estimator\n\
\x20 --rateest-interval sec\tHow often the rate is measured (250ms to 8s)\n\
\x20 --rateest-ewmalog value\tTime constant of the rate's moving average\n",
    new_match: None,
    new_target: Some(|| Box::new(RateestTarget::default())),
};

/// C `strtod` on the longest number at the start of `s`; `None` without one.
pub fn strtod(s: &str) -> Option<(f64, &str)> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let skipped = s.len() - t.len();
    let b = t.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+') | Some(b'-')) {
        i = 1;
    }
    let digits_start = i;
    while b.get(i).is_some_and(|c| c.is_ascii_digit()) {
        i += 1;
    }
    let mut n_digits = i - digits_start;
    if b.get(i) == Some(&b'.') {
        let mut j = i + 1;
        while b.get(j).is_some_and(|c| c.is_ascii_digit()) {
            j += 1;
        }
        n_digits += j - i - 1;
        if n_digits > 0 {
            i = j;
        }
    }
    if n_digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e') | Some(b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+') | Some(b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(|c| c.is_ascii_digit()) {
            while b.get(j).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
            }
            i = j;
        }
    }
    let v = crate::decimal::parse_f64(&t[..i])?;
    Some((v, &s[skipped + i..]))
}

/// A time with an optional s/ms/us suffix, in microseconds.
fn parse_time(s: &str) -> Option<u32> {
    let (t, rest) = strtod(s)?;
    let mult = if rest.is_empty() {
        1.0
    } else if ["s", "sec", "secs"]
        .iter()
        .any(|u| rest.eq_ignore_ascii_case(u))
    {
        US_PER_SEC
    } else if ["ms", "msec", "msecs"]
        .iter()
        .any(|u| rest.eq_ignore_ascii_case(u))
    {
        1000.0
    } else if ["us", "usec", "usecs"]
        .iter()
        .any(|u| rest.eq_ignore_ascii_case(u))
    {
        1.0
    } else {
        return None;
    };
    Some((t * mult) as u32)
}

fn time_text(us: u32) -> String {
    let t = us as f64;
    if t >= US_PER_SEC {
        format!(" {}s", crate::decimal::fixed(t / US_PER_SEC, 1))
    } else if t >= 1000.0 {
        format!(" {}ms", crate::decimal::fixed(t / 1000.0, 1))
    } else {
        format!(" {us}us")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateestTarget {
    pub name: String,
    pub interval: i8,
    pub ewma_log: u8,
    /// The times as given, in microseconds (only used while parsing).
    given_interval: u32,
    given_ewma: u32,
}

impl RateestTarget {
    fn interval_us(&self) -> u32 {
        ((1_000_000u64 << (self.interval as i32 + 2).clamp(0, 63)) / 4) as u32
    }
}

/// The estimators that the RATEEST rules of a table create.
pub fn estimators_of(table: &Table) -> Vec<Estimator> {
    table
        .chains
        .iter()
        .flat_map(|c| c.rules.iter())
        .filter_map(estimator_of)
        .collect()
}

/// The estimator a `-j RATEEST` rule creates.
pub fn estimator_of(rule: &crate::ruleset::Rule) -> Option<Estimator> {
    let RuleTarget::Ext(t) = &rule.target else {
        return None;
    };
    let r = t.as_any().downcast_ref::<RateestTarget>()?;
    Some(Estimator {
        name: r.name.clone(),
        interval: r.interval,
        ewma_log: r.ewma_log,
    })
}

/// A rate estimator's state (`struct xt_rateest` with its
/// `net_rate_estimator`), times in jiffies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Est {
    pub name: String,
    pub interval: i8,
    pub ewma_log: u8,
    pub bytes: u64,
    pub packets: u64,
    last_bytes: u64,
    last_packets: u64,
    /// Averages scaled by 2^8 (bytes and packets per second).
    pub avbps: u64,
    pub avpps: u64,
    /// When the estimator's timer fires next; started by the first use.
    next: Option<u64>,
}

/// Most timer runs worked through at once; beyond that a quiet estimator
/// is taken as settled (only reachable after very long lab-time jumps).
const MAX_TICKS: u64 = 1 << 22;

impl Est {
    pub fn new(name: &str, interval: i8, ewma_log: u8) -> Est {
        Est {
            name: name.to_string(),
            interval,
            ewma_log,
            ..Default::default()
        }
    }

    fn intvl_log(&self) -> u32 {
        (self.interval as i32 + 2).clamp(0, 5) as u32
    }

    /// Timer period: `(HZ/4) << intvl_log` jiffies (62 jiffies = 248 ms at HZ=250).
    fn period(&self) -> u64 {
        (HZ / 4) << self.intvl_log()
    }

    /// `est_timer`: folds the traffic since the last run into the averages.
    fn tick(&mut self) {
        let log = self.intvl_log();
        let e = self.ewma_log.min(63) as u32;
        let brate = self.bytes.wrapping_sub(self.last_bytes) << (10 - log);
        let brate = (brate >> e).wrapping_sub(self.avbps >> e);
        let rate = self.packets.wrapping_sub(self.last_packets) << (10 - log);
        let rate = (rate >> e).wrapping_sub(self.avpps >> e);
        self.avbps = self.avbps.wrapping_add(brate);
        self.avpps = self.avpps.wrapping_add(rate);
        self.last_bytes = self.bytes;
        self.last_packets = self.packets;
    }

    /// Runs the timer for every period that ended by `now_ns`.
    pub fn advance(&mut self, now_ns: u64) {
        let now = jiffies(now_ns);
        let period = self.period();
        let mut next = *self.next.get_or_insert(now.wrapping_add(period));
        let mut n = 0;
        while time_after_eq(now, next) {
            let e = self.ewma_log.min(63) as u32;
            let quiet = self.bytes == self.last_bytes && self.packets == self.last_packets;
            if quiet && (self.avbps >> e) == 0 && (self.avpps >> e) == 0 || n >= MAX_TICKS {
                // Nothing changes any more: skip to the last run due.
                let behind = now.wrapping_sub(next) / period;
                next = next.wrapping_add((behind + 1) * period);
                break;
            }
            self.tick();
            next = next.wrapping_add(period);
            n += 1;
        }
        self.next = Some(next);
    }

    /// `gen_estimator_read`: bytes and packets per second.
    pub fn sample(&self) -> (u32, u32) {
        ((self.avbps >> 8) as u32, (self.avpps >> 8) as u32)
    }
}

/// Every estimator of a host (`cx.ext` under "rateest").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateestState {
    pub ests: Vec<Est>,
}

pub const STATE: &str = "rateest";

impl RateestState {
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Est> {
        self.ests.iter_mut().find(|e| e.name == name)
    }
}

/// Names the rules use: estimators made by `-j RATEEST` (with their
/// parameters) and those only read by `-m rateest`.
fn names_in_use(host: &Host) -> (Vec<Estimator>, Vec<String>) {
    let mut made = Vec::new();
    let mut read = Vec::new();
    for t in &host.ruleset.tables {
        made.extend(estimators_of(t));
        for c in &t.chains {
            for r in &c.rules {
                for m in &r.matches {
                    if let Some(x) = m.as_any().downcast_ref::<super::rateest::Rateest>() {
                        read.push(x.name1.clone());
                        if x.rel {
                            read.push(x.name2.clone());
                        }
                    }
                }
            }
        }
    }
    (made, read)
}

/// After a commit: estimators no rule uses any more are gone (and start
/// from zero if a rule makes them again); new ones are made.
pub fn after_commit(host: &mut Host) {
    let (made, read) = names_in_use(host);
    let st = host.ext_state.get_mut::<RateestState>(STATE);
    st.ests
        .retain(|e| made.iter().any(|m| m.name == e.name) || read.contains(&e.name));
    for m in made {
        if st.get_mut(&m.name).is_none() {
            st.ests.push(Est::new(&m.name, m.interval, m.ewma_log));
        }
    }
}

impl Target for RateestTarget {
    ext_boilerplate!(INFO, Target);

    fn parse(&mut self, id: u8, arg: Option<&str>, _inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_NAME => self.name = arg.chars().take(NAME_MAX).collect(),
            O_INTERVAL => {
                self.given_interval = parse_time(arg)
                    .ok_or_else(|| XtError::new(format!("RATEEST: bad interval value \"{arg}\"")))?
            }
            _ => {
                self.given_ewma = parse_time(arg)
                    .ok_or_else(|| XtError::new(format!("RATEEST: bad ewmalog value \"{arg}\"")))?
            }
        }
        Ok(())
    }

    fn final_check(&mut self, _seen: u64, _cx: &mut ParseCx) -> XtResult {
        let mut i = 0u32;
        while i <= 5 && self.given_interval as u64 > (1u64 << i) * 250_000 {
            i += 1;
        }
        if i > 5 {
            return Err(XtError::new("RATEEST: interval value is too large"));
        }
        self.interval = i as i8 - 2;
        let mut e = 1u32;
        while e < 32 {
            let w = 1.0 - 1.0 / (1u64 << e) as f64;
            if self.given_interval as f64 / -w.ln() > self.given_ewma as f64 {
                break;
            }
            e += 1;
        }
        let e = e - 1;
        if e == 0 || e >= 31 {
            return Err(XtError::new("RATEEST: ewmalog value is out of range"));
        }
        self.ewma_log = e as u8;
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        // An estimator that already exists must have the same parameters.
        match cx.estimators.iter().find(|e| e.name == self.name) {
            Some(e) if e.interval != self.interval || e.ewma_log != self.ewma_log => {
                Err(KernelError::Invalid)
            }
            _ => Ok(()),
        }
    }

    fn save(&self, out: &mut String) {
        let iv = self.interval_us();
        out.push_str(&format!(" --rateest-name {}", self.name));
        out.push_str(&format!(" --rateest-interval{}", time_text(iv)));
        out.push_str(&format!(
            " --rateest-ewmalog{}",
            time_text(iv.wrapping_mul(1 << self.ewma_log.min(31)))
        ));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        let iv = self.interval_us();
        out.push_str(&format!(" name {}", self.name));
        out.push_str(&format!(" interval{}", time_text(iv)));
        out.push_str(&format!(
            " ewmalog{}",
            time_text(iv.wrapping_mul(1 << self.ewma_log.min(31)))
        ));
    }

    fn fire(&mut self, cx: &mut EvalCx) -> Option<TargetVerdict> {
        let len = cx.pkt.len() as u64;
        let st = cx.ext.get_mut::<RateestState>(STATE);
        if st.get_mut(&self.name).is_none() {
            st.ests
                .push(Est::new(&self.name, self.interval, self.ewma_log));
        }
        let e = st.get_mut(&self.name)?;
        e.advance(cx.now_ns);
        e.bytes = e.bytes.wrapping_add(len);
        e.packets = e.packets.wrapping_add(1);
        Some(TargetVerdict::Continue)
    }

    fn explain(&self) -> String {
        format!(
            "measure the rate of these packets in estimator {} (every{}) and continue",
            self.name,
            time_text(self.interval_us())
        )
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

    /// A restore of one table knows the estimators another table's rules
    /// made (the kernel keeps them per namespace).
    #[test]
    fn restore_sees_estimators_of_other_tables() {
        let mut h = Host::new("h");
        let r = "iptables -t mangle -A PREROUTING -j RATEEST --rateest-name X --rateest-interval 1s --rateest-ewmalog 100s";
        assert_eq!(run(&mut h, r).exit, 0);
        let argv = vec!["iptables-restore".to_string()];
        let other = "*filter\n-A INPUT -j RATEEST --rateest-name X --rateest-interval 250ms --rateest-ewmalog 1s\nCOMMIT\n";
        let o = run_argv(&mut h, &argv, Some(other));
        assert_eq!(o.exit, 4, "{}", o.stderr);
        let same = "*filter\n-A INPUT -j RATEEST --rateest-name X --rateest-interval 1s --rateest-ewmalog 100s\nCOMMIT\n";
        assert_eq!(run_argv(&mut h, &argv, Some(same)).exit, 0);
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("250.0ms"), Some(250_000));
        assert_eq!(parse_time("1s"), Some(1_000_000));
        assert_eq!(parse_time("10"), Some(10));
        assert_eq!(parse_time("1x"), None);
        assert_eq!(time_text(64_000_000), " 64.0s");
        assert_eq!(time_text(500_000), " 500.0ms");
    }

    #[test]
    fn save_and_errors() {
        let mut h = Host::new("h");
        let r = "iptables -A INPUT -j RATEEST --rateest-name X --rateest-interval 1s --rateest-ewmalog 100s";
        assert_eq!(run(&mut h, r).exit, 0);
        assert!(run(&mut h, "iptables -S INPUT").stdout.ends_with(
            "-j RATEEST --rateest-name X --rateest-interval 1.0s --rateest-ewmalog 64.0s\n"
        ));
        assert!(run(&mut h, "iptables -L INPUT")
            .stdout
            .ends_with(" name X interval 1.0s ewmalog 64.0s\n"));
        // The same estimator with other parameters is refused by the kernel.
        let r = "iptables -A INPUT -j RATEEST --rateest-name X --rateest-interval 250ms --rateest-ewmalog 1s";
        assert_eq!(run(&mut h, r).exit, 4);
        for (args, msg) in [
            ("", "RATEEST: ewmalog value is out of range"),
            (
                "--rateest-name X --rateest-interval 9s --rateest-ewmalog 1s",
                "RATEEST: interval value is too large",
            ),
            (
                "--rateest-name X --rateest-interval 1x --rateest-ewmalog 1s",
                "RATEEST: bad interval value \"1x\"",
            ),
        ] {
            let o = run(
                &mut h,
                format!("iptables -A INPUT -j RATEEST {args}").trim_end(),
            );
            assert!(o.stderr.contains(msg), "{}", o.stderr);
        }
    }
}
