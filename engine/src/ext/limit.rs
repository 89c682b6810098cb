//! `-m limit`: matches at most an average rate of packets, with a burst
//! allowance (a token bucket). iptables-nft stores it as a native nftables
//! `limit`, so the rate is kept as packets per unit.

use super::{xtopt, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext_boilerplate;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// Average period between packets, in 1/10000 s.
    pub avg: u32,
    pub burst: u32,
}

impl Default for Limit {
    fn default() -> Self {
        Limit {
            avg: SCALE * 3600 / 3,
            burst: DEFAULT_BURST,
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
            "at most{rate} on average (bursts of up to {} packets)",
            self.burst
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
}
