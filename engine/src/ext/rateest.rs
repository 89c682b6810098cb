//! `-m rateest`: compares the rate measured by a `-j RATEEST` estimator with
//! a fixed rate (absolute mode) or with another estimator (relative mode),
//! in bytes or packets per second, optionally as a difference (delta).

use super::rateest_target::{strtod, RateestState, NAME_MAX, STATE};
use super::{
    xtopt, CheckCx, EvalCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError,
    XtResult,
};
use crate::ext_boilerplate;

const O_NAME1: u8 = 0;
const O_NAME2: u8 = 1;
const O_BPS1: u8 = 2;
const O_PPS1: u8 = 3;
const O_BPS2: u8 = 4;
const O_PPS2: u8 = 5;
const O_DELTA: u8 = 6;
const O_LT: u8 = 7;
const O_GT: u8 = 8;
const O_EQ: u8 = 9;

pub static INFO: ExtInfo = ExtInfo {
    name: "rateest",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("rateest1", O_NAME1),
        OptSpec::arg("rateest", O_NAME1),
        OptSpec::arg("rateest2", O_NAME2),
        OptSpec::flag("rateest-bps1", O_BPS1),
        OptSpec::flag("rateest-pps1", O_PPS1),
        OptSpec::flag("rateest-bps2", O_BPS2),
        OptSpec::flag("rateest-pps2", O_PPS2),
        OptSpec::flag("rateest-bps", O_BPS2),
        OptSpec::flag("rateest-pps", O_PPS2),
        OptSpec::flag("rateest-delta", O_DELTA),
        OptSpec::flag("rateest-lt", O_LT).inv(),
        OptSpec::flag("rateest-gt", O_GT).inv(),
        OptSpec::flag("rateest-eq", O_EQ).inv(),
    ],
    guided: false,
    help: "rateest match options:\n\
\x20--rateest1 name\t\tName of the first rate estimator\n\
\x20--rateest2 name\t\tName of the second one (relative mode)\n\
\x20--rateest-delta\t\tCompare the difference(s) to the given rate(s)\n\
\x20--rateest-bps1 [bps]\t\tCompare bytes per second\n\
\x20--rateest-pps1 [pps]\t\tCompare packets per second\n\
\x20--rateest-bps2 [bps]\t\tCompare bytes per second\n\
\x20--rateest-pps2 [pps]\t\tCompare packets per second\n\
\x20[!] --rateest-lt\t\tMatch if the rate is below the given rate/estimator\n\
\x20[!] --rateest-gt\t\tMatch if the rate is above the given rate/estimator\n\
\x20[!] --rateest-eq\t\tMatch if the rate equals the given rate/estimator\n",
    new_match: Some(|| Box::new(Rateest::default())),
    new_target: None,
};

/// Rate units (iproute's table); the value is bits per unit.
const SUFFIXES: [(&str, f64); 18] = [
    ("bit", 1.0),
    ("Kibit", 1024.0),
    ("kbit", 1000.0),
    ("mibit", 1024.0 * 1024.0),
    ("mbit", 1_000_000.0),
    ("gibit", 1024.0 * 1024.0 * 1024.0),
    ("gbit", 1_000_000_000.0),
    ("tibit", 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ("tbit", 1_000_000_000_000.0),
    ("Bps", 8.0),
    ("KiBps", 8.0 * 1024.0),
    ("KBps", 8000.0),
    ("MiBps", 8.0 * 1024.0 * 1024.0),
    ("MBps", 8_000_000.0),
    ("GiBps", 8.0 * 1024.0 * 1024.0 * 1024.0),
    ("GBps", 8_000_000_000.0),
    ("TiBps", 8.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ("TBps", 8_000_000_000_000.0),
];

/// A rate in bits (or with a unit), as bytes per second.
fn parse_rate(s: &str) -> Option<u32> {
    let (v, rest) = strtod(s)?;
    if rest.is_empty() {
        return Some((v / 8.0) as u32);
    }
    let (_, scale) = SUFFIXES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(rest))?;
    Some((v * scale / 8.0) as u32)
}

fn rate_text(rate: u32, numeric: bool) -> String {
    let bits = rate as f64 * 8.0;
    if numeric {
        format!(" {rate}")
    } else if bits >= 1e9 {
        format!(" {}Mbit", crate::decimal::fixed(bits / 1e6, 0))
    } else if bits >= 1e6 {
        format!(" {}Kbit", crate::decimal::fixed(bits / 1e3, 0))
    } else {
        format!(" {}bit", crate::decimal::fixed(bits, 0))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Cmp {
    #[default]
    None,
    Eq,
    Lt,
    Gt,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rateest {
    pub name1: String,
    pub name2: String,
    pub delta: bool,
    pub bps: bool,
    pub pps: bool,
    /// Relative mode: compare with the second estimator.
    pub rel: bool,
    pub cmp: Cmp,
    pub invert: bool,
    pub bps1: u32,
    pub pps1: u32,
    pub bps2: u32,
    pub pps2: u32,
    /// Options given (bit per option id), for the "twice" checks.
    flags: u32,
    /// Why the last packet did not match (kept only while tracing).
    why: String,
}

impl Rateest {
    fn mode_text(&self, prefix: &str) -> String {
        let name = match self.cmp {
            Cmp::Eq => "eq",
            Cmp::Lt => "lt",
            Cmp::Gt => "gt",
            Cmp::None => "",
        };
        format!("{} {prefix}{name}", if self.invert { " !" } else { "" })
    }

    /// Save text of one measure (`bps` or `pps`).
    fn save_measure(&self, out: &mut String, what: &str, v1: String, v2: String) {
        if self.delta {
            out.push_str(&format!(" --rateest-{what}1{v1}"));
            out.push_str(&self.mode_text("--rateest-"));
            out.push_str(&format!(" --rateest-{what}2{v2}"));
        } else {
            out.push_str(&self.mode_text("--rateest-"));
            out.push_str(&format!(" --rateest-{what}"));
            if !self.rel {
                out.push_str(&v2);
            }
        }
    }
}

impl Match for Rateest {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, cx: &mut ParseCx) -> XtResult {
        let no_invert = |what: &str| -> XtResult {
            if inv {
                Err(XtError::new(format!("rateest: {what} can't be inverted")))
            } else {
                Ok(())
            }
        };
        match id {
            O_NAME1 | O_NAME2 => no_invert("rateest")?,
            O_BPS1 | O_BPS2 => no_invert("rateest-bps")?,
            O_PPS1 | O_PPS2 => no_invert("rateest-pps")?,
            O_DELTA => no_invert("rateest-delta")?,
            _ => {}
        }
        if self.flags & (1 << id) != 0 {
            let opt = match id {
                O_NAME1 => "--rateest1",
                O_NAME2 => "--rateest2",
                O_BPS1 => "--rateest-bps1",
                O_PPS1 => "--rateest-pps1",
                O_BPS2 => "--rateest-bps2",
                O_PPS2 => "--rateest-pps2",
                O_DELTA => "--rateest-delta",
                _ => "lt/gt/eq",
            };
            return Err(XtError::new(format!("rateest: can't specify {opt} twice")));
        }
        self.flags |= 1 << id;
        let arg = arg.unwrap_or_default();
        match id {
            O_NAME1 => self.name1 = arg.chars().take(NAME_MAX).collect(),
            O_NAME2 => {
                self.name2 = arg.chars().take(NAME_MAX).collect();
                self.rel = true;
            }
            O_BPS1 | O_BPS2 => {
                self.bps = true;
                if let Some(w) = cx.take_word() {
                    let v = parse_rate(&w).ok_or_else(|| {
                        XtError::new(format!("rateest: could not parse rate `{w}'"))
                    })?;
                    if id == O_BPS1 {
                        self.bps1 = v;
                    } else {
                        self.bps2 = v;
                    }
                }
            }
            O_PPS1 | O_PPS2 => {
                self.pps = true;
                if let Some(w) = cx.take_word() {
                    let v = xtopt::strtoul_all(&w, 0, u32::MAX as u64).ok_or_else(|| {
                        XtError::new(format!("rateest: could not parse pps `{w}'"))
                    })? as u32;
                    if id == O_PPS1 {
                        self.pps1 = v;
                    } else {
                        self.pps2 = v;
                    }
                }
            }
            O_DELTA => self.delta = true,
            _ => {
                self.cmp = match id {
                    O_LT => Cmp::Lt,
                    O_GT => Cmp::Gt,
                    _ => Cmp::Eq,
                };
                if inv {
                    self.invert = true;
                }
            }
        }
        Ok(())
    }

    fn final_check(&mut self, _seen: u64, _cx: &mut ParseCx) -> XtResult {
        if self.flags == 0 {
            return Err(XtError::new(
                "rateest match: you need to specify some flags",
            ));
        }
        Ok(())
    }

    fn check(&self, cx: &CheckCx) -> Result<(), KernelError> {
        if !(self.bps || self.pps) || self.cmp == Cmp::None {
            return Err(KernelError::Invalid);
        }
        let exists = |n: &str| cx.estimators.iter().any(|e| e.name == n);
        if !exists(&self.name1) || (self.rel && !exists(&self.name2)) {
            return Err(KernelError::NoEntry);
        }
        Ok(())
    }

    fn save(&self, out: &mut String) {
        if self.delta {
            out.push_str(" --rateest-delta");
        }
        out.push_str(if self.rel {
            " --rateest1 "
        } else {
            " --rateest "
        });
        out.push_str(&self.name1);
        if self.bps {
            self.save_measure(
                out,
                "bps",
                rate_text(self.bps1, false),
                rate_text(self.bps2, false),
            );
        }
        if self.pps {
            self.save_measure(
                out,
                "pps",
                format!(" {}", self.pps1),
                format!(" {}", self.pps2),
            );
        }
        if self.rel {
            out.push_str(&format!(" --rateest2 {}", self.name2));
        }
    }

    fn print(&self, out: &mut String, numeric: bool) {
        out.push_str(" rateest match ");
        out.push_str(&self.name1);
        if self.delta {
            out.push_str(" delta");
        }
        if self.bps {
            out.push_str(" bps");
            if self.delta {
                out.push_str(&rate_text(self.bps1, numeric));
            }
            if !self.rel {
                out.push_str(&rate_text(self.bps2, numeric));
                out.push_str(&self.mode_text(""));
            }
        }
        if self.pps {
            out.push_str(" pps");
            if self.delta {
                out.push_str(&format!(" {}", self.pps1));
            }
            if !self.rel {
                out.push_str(&self.mode_text(""));
                out.push_str(&format!(" {}", self.pps2));
            }
        }
        if self.rel {
            out.push_str(&self.mode_text(""));
            out.push_str(&format!(" {}", self.name2));
            if self.bps {
                out.push_str(" bps");
                if self.delta {
                    out.push_str(&rate_text(self.bps2, numeric));
                }
            }
            if self.pps {
                out.push_str(" pps");
                if self.delta {
                    out.push_str(&format!(" {}", self.pps2));
                }
            }
        }
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        let st = cx.ext.get_mut::<RateestState>(STATE);
        let mut read = |name: &str| {
            st.get_mut(name)
                .map(|e| {
                    e.advance(cx.now_ns);
                    e.sample()
                })
                .unwrap_or((0, 0))
        };
        let (b, p) = read(&self.name1);
        let (bps1, pps1) = if self.delta {
            (self.bps1.saturating_sub(b), self.pps1.saturating_sub(p))
        } else {
            (b, p)
        };
        let (bps2, pps2) = if !self.rel {
            (self.bps2, self.pps2)
        } else {
            let (b, p) = read(&self.name2);
            if self.delta {
                (self.bps2.saturating_sub(b), self.pps2.saturating_sub(p))
            } else {
                (b, p)
            }
        };
        let cmp = |a: u32, b: u32| match self.cmp {
            Cmp::Lt => a < b,
            Cmp::Gt => a > b,
            Cmp::Eq => a == b,
            Cmp::None => true,
        };
        let mut ret = true;
        if self.bps {
            ret &= cmp(bps1, bps2);
        }
        if self.pps {
            ret &= cmp(pps1, pps2);
        }
        ret ^= self.invert;
        if !ret && cx.tracing {
            let op = match self.cmp {
                Cmp::Lt => "<",
                Cmp::Gt => ">",
                Cmp::Eq => "==",
                Cmp::None => "?",
            };
            let mut parts = Vec::new();
            if self.bps {
                parts.push(format!("{bps1} {op} {bps2} bytes/s"));
            }
            if self.pps {
                parts.push(format!("{pps1} {op} {pps2} packets/s"));
            }
            self.why = format!(
                "{}{} is {}",
                if self.invert { "! " } else { "" },
                parts.join(" and "),
                if self.invert { "true" } else { "false" }
            );
        }
        Some(ret)
    }

    fn why_not(&self, _cx: &EvalCx) -> String {
        format!(
            "-m rateest --rateest {} did not match: {}",
            self.name1, self.why
        )
    }

    fn explain(&self) -> String {
        let what = match (self.bps, self.pps) {
            (true, true) => "byte and packet rates",
            (true, false) => "byte rate",
            _ => "packet rate",
        };
        let cmp = match self.cmp {
            Cmp::Eq => "equal to",
            Cmp::Lt => "below",
            Cmp::Gt => "above",
            Cmp::None => "compared with",
        };
        let other = if self.rel {
            format!("that of estimator {}", self.name2)
        } else {
            "the given rate".into()
        };
        format!(
            "the {what} of estimator {} is {}{cmp} {other}",
            self.name1,
            if self.invert { "not " } else { "" }
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

    fn host_with_estimators() -> Host {
        let mut h = Host::new("h");
        for n in ["RE1", "RE2"] {
            let r = format!("iptables -I INPUT -j RATEEST --rateest-name {n} --rateest-interval 250.0ms --rateest-ewmalog 500.0ms");
            assert_eq!(run(&mut h, &r).exit, 0);
        }
        h
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("8bit"), Some(1));
        assert_eq!(parse_rate("5kbit"), Some(625));
        assert_eq!(parse_rate("1.5kbit"), Some(187));
        assert_eq!(parse_rate("8xbit"), None);
        assert_eq!(rate_text(250_000, false), " 2000Kbit");
    }

    #[test]
    fn save_and_list_forms() {
        let mut h = host_with_estimators();
        for (rule, list) in [
            ("--rateest RE1 --rateest-lt --rateest-bps 8bit", "rateest match RE1 bps 8bit lt"),
            ("--rateest RE1 --rateest-eq --rateest-pps 5", "rateest match RE1 pps eq 5"),
            (
                "--rateest-delta --rateest RE1 --rateest-bps1 8bit --rateest-lt --rateest-bps2 16bit",
                "rateest match RE1 delta bps 8bit 16bit lt",
            ),
            ("--rateest1 RE1 --rateest-lt --rateest-bps --rateest2 RE2", "rateest match RE1 bps lt RE2 bps"),
            (
                "--rateest-delta --rateest1 RE1 --rateest-pps1 0 --rateest-lt --rateest-pps2 42 --rateest2 RE2",
                "rateest match RE1 delta pps 0 lt RE2 pps 42",
            ),
        ] {
            assert_eq!(run(&mut h, &format!("iptables -A INPUT -m rateest {rule}")).exit, 0);
            let s = run(&mut h, "iptables -S INPUT").stdout;
            assert!(s.contains(&format!("-A INPUT -m rateest {rule}\n")), "{s}");
            assert!(run(&mut h, "iptables -L INPUT").stdout.contains(&format!(" {list}\n")));
            assert_eq!(run(&mut h, &format!("iptables -D INPUT -m rateest {rule}")).exit, 0);
        }
    }

    #[test]
    fn kernel_and_parse_errors() {
        let mut h = host_with_estimators();
        let o = run(
            &mut h,
            "iptables -A INPUT -m rateest --rateest RE3 --rateest-lt --rateest-bps 8bit",
        );
        assert!(o.stderr.contains("(No such file or directory)"));
        let o = run(
            &mut h,
            "iptables -A INPUT -m rateest --rateest RE1 --rateest-bps 8bit",
        );
        assert!(o.stderr.contains("(Invalid argument)"));
        let o = run(&mut h, "iptables -A INPUT -m rateest ! --rateest RE1");
        assert!(o.stderr.contains("rateest: rateest can't be inverted"));
        let o = run(
            &mut h,
            "iptables -A INPUT -m rateest --rateest RE1 --rateest-lt --rateest-lt",
        );
        assert!(o.stderr.contains("rateest: can't specify lt/gt/eq twice"));
        // Estimators are shared by all tables.
        let o = run(
            &mut h,
            "iptables -t mangle -A INPUT -m rateest --rateest RE1 --rateest-lt --rateest-pps 1",
        );
        assert_eq!(o.exit, 0);
    }

    use crate::ext::limit::lab::*;
    use crate::ext::rateest_target::{Est, RateestState};

    fn est(w: &crate::sim::world::World, name: &str) -> Est {
        let st = w.hosts[0].ext_state.get::<RateestState>("rateest").unwrap();
        st.ests.iter().find(|e| e.name == name).cloned().unwrap()
    }

    #[test]
    fn estimator_measures_every_248_ms() {
        let mut w = world();
        ipt(&mut w, "iptables -A FORWARD -j RATEEST --rateest-name ra --rateest-interval 250ms --rateest-ewmalog 500ms");
        ipt(
            &mut w,
            "iptables -A FORWARD -m rateest --rateest ra --rateest-gt --rateest-pps 5 -j DROP",
        );
        let t0 = 1000 * SEC;
        for i in 0..10 {
            assert!(passed(&send_at(
                &mut w,
                t0 + i,
                ping("10.0.1.9", "10.0.2.5")
            )));
        }
        // The timer runs 62 jiffies after the estimator started: ten 44-byte
        // packets in a quarter second, averaged with weight 1/2.
        assert!(passed(&send_at(
            &mut w,
            t0 + 61 * 4_000_000,
            ping("10.0.1.9", "10.0.2.5")
        )));
        assert!(!passed(&send_at(
            &mut w,
            t0 + 62 * 4_000_000,
            ping("10.0.1.9", "10.0.2.5")
        )));
        assert_eq!(est(&w, "ra").sample(), (968, 22));
        let why = w.reports[0].trace.steps[1].verdict.clone().unwrap();
        assert_eq!(why, "DROP");
        // Quiet for a while, the average decays and the rule lets packets by.
        assert!(passed(&send_at(
            &mut w,
            t0 + 10 * SEC,
            ping("10.0.1.9", "10.0.2.5")
        )));
        let failed = w.reports[0].trace.steps[1].failed.clone().unwrap();
        assert_eq!(
            failed,
            "-m rateest --rateest ra did not match: 0 > 5 packets/s is false"
        );
        // Deleting every rule that uses it removes the estimator.
        ipt(&mut w, "iptables -F FORWARD");
        let st = w.hosts[0].ext_state.get::<RateestState>("rateest").unwrap();
        assert!(st.ests.is_empty());
    }

    #[test]
    fn relative_and_delta_modes() {
        let mut w = world();
        ipt(&mut w, "iptables -A FORWARD -d 10.0.2.5 -j RATEEST --rateest-name a --rateest-interval 1s --rateest-ewmalog 2s");
        ipt(&mut w, "iptables -A FORWARD -d 10.0.2.6 -j RATEEST --rateest-name b --rateest-interval 1s --rateest-ewmalog 2s");
        ipt(&mut w, "iptables -A FORWARD -d 10.0.2.7 -m rateest --rateest1 a --rateest-gt --rateest-pps --rateest2 b -j DROP");
        ipt(&mut w, "iptables -A FORWARD -d 10.0.2.8 -m rateest --rateest-delta --rateest1 a --rateest-pps1 100 --rateest-lt --rateest-pps2 100 --rateest2 b -j DROP");
        let t0 = 2000 * SEC;
        for i in 0..8 {
            send_at(&mut w, t0 + i, ping("10.0.1.9", "10.0.2.5"));
        }
        send_at(&mut w, t0 + 10, ping("10.0.1.9", "10.0.2.6"));
        // One second (248 jiffies) later both estimators have run once.
        assert!(passed(&send_at(
            &mut w,
            t0 + 247 * 4_000_000,
            ping("10.0.1.9", "10.0.2.7")
        )));
        assert!(!passed(&send_at(
            &mut w,
            t0 + 248 * 4_000_000,
            ping("10.0.1.9", "10.0.2.7")
        )));
        // a measures 4 packets/s, b 0 (1 packet, weight 1/2, >> 8): 100-4 < 100-0.
        assert_eq!(est(&w, "a").sample().1, 4);
        assert!(!passed(&send_at(
            &mut w,
            t0 + 249 * 4_000_000,
            ping("10.0.1.9", "10.0.2.8")
        )));
    }

    #[test]
    fn timer_arithmetic() {
        // Interval 1 s (log 2), ewma_log 2: 100 packets in the first second.
        let mut e = Est::new("x", 0, 2);
        e.advance(0);
        e.packets = 100;
        e.bytes = 6000;
        e.advance(248 * 4_000_000);
        // (100 << 8) >> 2 = 6400 → 25 packets/s; bytes 6000 << 8 >> 2 → 1500 B/s.
        assert_eq!(e.sample(), (1500, 25));
        e.advance(2 * 248 * 4_000_000);
        // Nothing new: the average loses a quarter.
        assert_eq!(e.avpps, 6400 - 1600);
    }
}
