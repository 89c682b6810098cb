//! `-m hashlimit`: like `limit`, but with one token bucket per group of
//! packets (by source/destination address and port), kept in a named table.
//! Rates may be packets per time unit or bytes per second.

use super::limit::{atoll, rate_text, rate_unit};
use super::{
    bit, xtopt, CheckCx, ExtInfo, ExtKind, KernelError, Match, OptSpec, ParseCx, XtError, XtResult,
};
use crate::ext_boilerplate;

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

pub fn after_commit(_host: &mut crate::sim::host::Host) {}

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
}
