//! `-m statistic`: matches a random share of packets (`--mode random`) or
//! every n-th packet (`--mode nth`).

use super::{EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext::bit;
use crate::ext_boilerplate;

const O_MODE: u8 = 0;
const O_PROBABILITY: u8 = 1;
const O_EVERY: u8 = 2;
const O_PACKET: u8 = 3;

pub static INFO: ExtInfo = ExtInfo {
    name: "statistic",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("mode", O_MODE).mand(),
        OptSpec::arg("probability", O_PROBABILITY)
            .inv()
            .excl(bit(O_EVERY) | bit(O_PACKET)),
        OptSpec::arg("every", O_EVERY)
            .inv()
            .excl(bit(O_PROBABILITY))
            .also(bit(O_PACKET)),
        OptSpec::arg("packet", O_PACKET)
            .excl(bit(O_PROBABILITY))
            .also(bit(O_EVERY)),
    ],
    guided: true,
    help: concat!(
        "statistic match options:\n",
        " --mode mode                    random or nth\n",
        " random mode:\n",
        "[!] --probability p\t\t Chance (0 to 1) that a packet matches\n",
        " nth mode:\n",
        "[!] --every n\t\t\t Match one packet out of every n\n",
        " --packet p\t\t\t Counter start (0 <= p <= n-1, default 0)\n",
    ),
    new_match: Some(|| Box::new(Statistic::default())),
    new_target: None,
};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Random,
    Nth,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statistic {
    pub mode: Mode,
    pub inv: bool,
    /// Probability scaled to 2^31, as the kernel keeps it.
    pub probability: u32,
    /// `--every` minus one.
    pub every: u32,
    pub packet: u32,
    /// The nth counter the kernel keeps beside the rule (`None`: not
    /// started, see [`Statistic::start`]).
    pub count: Option<u32>,
    /// The last random draw (for the trace).
    pub last_draw: u32,
}

/// A random draw of `--mode random`, compared with the probability
/// (`get_random_u32() & 0x7FFFFFFF`).
pub fn draw(rng: &mut crate::sim::eval::Rng) -> u32 {
    rng.next_u32() & 0x7fff_ffff
}

/// A C99 hexadecimal float (`0x1.8p-1`), as `strtod` also reads them.
fn hex_float(s: &str) -> Option<f64> {
    let (neg, t) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"))?;
    let (mant, exp) = match t.find(['p', 'P']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    if let Some(e) = exp {
        let e: i32 = e.parse().ok()?;
        v *= 2f64.powi(e);
    }
    Some(if neg { -v } else { v })
}

/// `strtod` of the whole word within 0..=1 (`XTTYPE_DOUBLE`).
fn parse_probability(s: &str) -> XtResult<f64> {
    let bad = || {
        XtError::new("statistic: bad value for option \"--probability\", or out of range (0-1).\n")
    };
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let v = match hex_float(t) {
        Some(v) => v,
        None => crate::decimal::parse_f64(t).ok_or_else(bad)?,
    };
    // Like strtod's NaN, which passes the C range test.
    if !v.is_nan() && !(0.0..=1.0).contains(&v) {
        return Err(bad());
    }
    Ok(v)
}

impl Statistic {
    /// The nth counter's first value: libxtables hands the kernel
    /// `every - packet` (`every` kept as n - 1), so `--packet 0` makes the
    /// very first packet match.
    fn start(&self) -> u32 {
        self.every.wrapping_sub(self.packet)
    }

    fn text(&self, p: &str) -> String {
        let inv = if self.inv { " !" } else { "" };
        match self.mode {
            Mode::Random => format!(
                " {p}mode random{inv} {p}probability {}",
                crate::decimal::fixed(self.probability as f64 / 2147483648.0, 11)
            ),
            Mode::Nth => {
                let mut s = format!(" {p}mode nth{inv} {p}every {}", self.every.wrapping_add(1));
                if self.packet != 0 || !p.is_empty() {
                    s.push_str(&format!(" {p}packet {}", self.packet));
                }
                s
            }
        }
    }
}

impl Match for Statistic {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, _cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        self.inv |= inv;
        match id {
            O_MODE => {
                self.mode = match arg {
                    "random" => Mode::Random,
                    "nth" => Mode::Nth,
                    _ => return Err(XtError::new(format!("Bad mode \"{arg}\""))),
                }
            }
            O_PROBABILITY => {
                let p = parse_probability(arg)?;
                // lround of a NaN gives 0 in the kernel's 32 bits.
                let scaled = (p * 2147483648.0).round();
                self.probability = if scaled.is_nan() { 0 } else { scaled as u32 };
            }
            O_EVERY => {
                let v = super::xtopt::uint("statistic", "every", arg, 1, u32::MAX as u64)?;
                self.every = v as u32 - 1;
            }
            O_PACKET => {
                self.packet =
                    super::xtopt::uint("statistic", "packet", arg, 0, u32::MAX as u64)? as u32;
            }
            _ => {}
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if self.mode == Mode::Random && seen & bit(O_PROBABILITY) == 0 {
            return Err(XtError::new(
                "--probability must be specified when using random mode",
            ));
        }
        if self.mode == Mode::Nth && seen & (bit(O_EVERY) | bit(O_PACKET)) == 0 {
            return Err(XtError::new(
                "--every and --packet must be specified when using nth mode",
            ));
        }
        if self.mode == Mode::Nth && self.packet > self.every {
            return Err(XtError::new("the --packet p must be 0 <= p <= n-1"));
        }
        Ok(())
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        let hit = match self.mode {
            Mode::Random => {
                self.last_draw = draw(cx.rng);
                self.last_draw < self.probability
            }
            Mode::Nth => {
                let c = self.count.unwrap_or(self.start());
                let next = if c == self.every {
                    0
                } else {
                    c.wrapping_add(1)
                };
                self.count = Some(next);
                next == 0
            }
        };
        Some(hit != self.inv)
    }

    fn reset(&mut self) {
        self.count = None;
    }

    fn random_test(&self) -> Option<(u32, bool)> {
        (self.mode == Mode::Random).then_some((self.probability, self.inv))
    }

    fn why_not(&self, _cx: &EvalCx) -> String {
        let mut opt = String::new();
        self.save(&mut opt);
        let opt = opt.trim_start();
        match (self.mode, self.inv) {
            (Mode::Random, false) => format!(
                "`{opt}` did not match: the random draw {} was not below {}",
                crate::decimal::fixed(self.last_draw as f64 / 2147483648.0, 4),
                crate::decimal::fixed(self.probability as f64 / 2147483648.0, 4)
            ),
            (Mode::Random, true) => format!(
                "`{opt}` did not match: the random draw {} was below {}",
                crate::decimal::fixed(self.last_draw as f64 / 2147483648.0, 4),
                crate::decimal::fixed(self.probability as f64 / 2147483648.0, 4)
            ),
            (Mode::Nth, false) => format!(
                "`{opt}` did not match: this is packet {} of every {}",
                self.count.unwrap_or(self.start()).wrapping_add(1),
                self.every.wrapping_add(1)
            ),
            (Mode::Nth, true) => format!(
                "`{opt}` did not match: this is the packet of every {} that the rule skips",
                self.every.wrapping_add(1)
            ),
        }
    }

    fn save(&self, out: &mut String) {
        out.push_str(&self.text("--"));
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" statistic");
        out.push_str(&self.text(""));
    }

    fn explain(&self) -> String {
        match self.mode {
            Mode::Random => {
                let p = self.probability as f64 / 2147483648.0 * 100.0;
                if self.inv {
                    format!(
                        "Matches a random {}% of packets",
                        crate::decimal::fixed(100.0 - p, 2)
                    )
                } else {
                    format!(
                        "Matches a random {}% of packets",
                        crate::decimal::fixed(p, 2)
                    )
                }
            }
            Mode::Nth => {
                let n = self.every as u64 + 1;
                let first = self.packet as u64 + 1;
                let which = format!("{first}, {}, {} ...", first + n, first + 2 * n);
                if self.inv {
                    format!(
                        "Matches every packet but one in every {n}: the rule's packets {which} do not match"
                    )
                } else {
                    format!("Matches one packet in every {n}: the rule's packets {which}")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, udp, why};

    #[test]
    fn nth_counts_per_rule() {
        let mut w = lab::world();
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m statistic --mode nth --every 3 --packet 0",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m statistic --mode nth ! --every 2 --packet 0",
        );
        let p = || udp("10.0.0.2", 1, "10.0.0.1", 2, 0);
        let mut hits = Vec::new();
        for _ in 0..6 {
            inject(&mut w, p());
            hits.push(lab::counts(&w, "filter", "INPUT"));
        }
        // The counter starts at every - packet (2): 0 (match), 1, 2, 0
        // (match), 1, 2.
        let first: Vec<u64> = hits.iter().map(|c| c[0]).collect();
        assert_eq!(first, vec![1, 1, 1, 2, 2, 2]);
        // Starts at 1: 0 (hit: inverted, no match), 1, 0, 1, 0, 1.
        let second: Vec<u64> = hits.iter().map(|c| c[1]).collect();
        assert_eq!(second, vec![0, 1, 1, 2, 2, 3]);
        assert_eq!(
            why(&w, "INPUT", 1),
            "`--mode nth --every 3 --packet 0` did not match: this is packet 3 of every 3"
        );
        sh(&mut w, 0, "iptables -Z INPUT");
        inject(&mut w, p());
        assert_eq!(lab::counts(&w, "filter", "INPUT"), vec![1, 0]);
    }

    #[test]
    fn random_uses_the_host_generator() {
        let mut w = lab::world();
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m statistic --mode random --probability 0.25",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m statistic --mode random --probability 1",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m statistic --mode random --probability 0",
        );
        for _ in 0..400 {
            inject(&mut w, udp("10.0.0.2", 1, "10.0.0.1", 2, 0));
        }
        let c = lab::counts(&w, "filter", "INPUT");
        assert!((60..140).contains(&c[0]), "{c:?}");
        assert_eq!(c[1], 400);
        assert_eq!(c[2], 0);
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn texts() {
        let mut h = Host::new("h");
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -m statistic --mode random --probability 0.3"
            )
            .exit,
            0
        );
        assert_eq!(
            run(
                &mut h,
                "iptables -A INPUT -m statistic --mode nth ! --every 3 --packet 0"
            )
            .exit,
            0
        );
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m statistic --mode random --probability 0.29999999981\n\
-A INPUT -m statistic --mode nth ! --every 3 --packet 0\n"
        );
        let l = run(&mut h, "iptables -L INPUT").stdout;
        assert!(
            l.contains("anywhere             statistic mode random probability 0.29999999981\n")
        );
        assert!(l.contains("anywhere             statistic mode nth ! every 3\n"));
    }

    #[test]
    fn hex_probability() {
        assert_eq!(super::parse_probability("0x.8p1").unwrap(), 1.0);
        assert_eq!(super::parse_probability(" 0.5").unwrap(), 0.5);
        assert!(super::parse_probability("0x").is_err());
    }

    #[test]
    fn check_order() {
        let mut h = Host::new("h");
        let e =
            |h: &mut Host, a: &str| run(h, &format!("iptables -A INPUT -m statistic {a}")).stderr;
        assert!(e(&mut h, "--mode nth --packet 1").contains("the --packet p must be 0 <= p <= n-1"));
        assert!(e(&mut h, "--mode nth --packet 0")
            .contains("option \"--packet\" also requires \"--every\".\n\n"));
        assert!(e(&mut h, "--mode nth --probability 0.5 --every 2")
            .contains("option \"--probability\" cannot be used together with \"--every\".\n\n"));
        assert!(e(&mut h, "--probability 1").contains("option \"--mode\" must be specified\n\n"));
    }
}
