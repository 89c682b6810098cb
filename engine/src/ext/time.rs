//! `-m time`: matches by the time of day, weekday, day of the month and date
//! range at which the packet arrives (UTC unless `--kerneltz`).

use super::{EvalCx, ExtInfo, ExtKind, Match, OptSpec, ParseCx, XtError, XtResult};
use crate::ext::bit;
use crate::ext_boilerplate;

const O_DATE_START: u8 = 0;
const O_DATE_STOP: u8 = 1;
const O_TIME_START: u8 = 2;
const O_TIME_STOP: u8 = 3;
const O_CONTIGUOUS: u8 = 4;
const O_MONTHDAYS: u8 = 5;
const O_WEEKDAYS: u8 = 6;
const O_LOCAL_TZ: u8 = 7;
const O_UTC: u8 = 8;
const O_KERNEL_TZ: u8 = 9;

pub static INFO: ExtInfo = ExtInfo {
    name: "time",
    aliases: &[],
    kind: ExtKind::Match,
    options: &[
        OptSpec::arg("datestart", O_DATE_START),
        OptSpec::arg("datestop", O_DATE_STOP),
        OptSpec::arg("timestart", O_TIME_START),
        OptSpec::arg("timestop", O_TIME_STOP),
        OptSpec::flag("contiguous", O_CONTIGUOUS),
        OptSpec::arg("weekdays", O_WEEKDAYS).inv(),
        OptSpec::arg("monthdays", O_MONTHDAYS).inv(),
        OptSpec::flag("localtz", O_LOCAL_TZ).excl(bit(O_UTC)),
        OptSpec::flag("utc", O_UTC).excl(bit(O_LOCAL_TZ) | bit(O_KERNEL_TZ)),
        OptSpec::flag("kerneltz", O_KERNEL_TZ).excl(bit(O_UTC)),
    ],
    guided: true,
    help: concat!(
        "time match options:\n",
        "    --datestart time     First and last moment the rule matches, in ISO 8601\n",
        "    --datestop time      (YYYY[-MM[-DD[Thh[:mm[:ss]]]]])\n",
        "    --timestart time     Daily window start and stop (hh:mm[:ss],\n",
        "    --timestop time      00:00:00 to 23:59:59; may wrap past midnight)\n",
        "[!] --monthdays value    Days of the month, comma separated\n",
        "                         (1 to 31; every day when not given)\n",
        "[!] --weekdays value     Days of the week, comma separated\n",
        "                         (Mon,Tue,Wed,Thu,Fri,Sat,Sun or 1 to 7;\n",
        "                         every day when not given)\n",
        "    --kerneltz           Use the kernel's time zone instead of UTC\n",
    ),
    new_match: Some(|| Box::new(Time::default())),
    new_target: None,
};

const ALL_MONTHDAYS: u32 = 0xffff_fffe;
const ALL_WEEKDAYS: u8 = 0xfe;
const MAX_DAYTIME: u32 = 24 * 60 * 60 - 1;
/// Default end date (INT_MAX seconds: 2038-01-19T03:14:07).
const DATE_STOP_DEFAULT: u32 = i32::MAX as u32;
const WEEK_DAYS: [&str; 8] = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Time {
    /// Seconds since the epoch (UTC).
    pub date_start: u32,
    pub date_stop: u32,
    /// Seconds since midnight.
    pub daytime_start: u32,
    pub daytime_stop: u32,
    /// Bit n for day n of the month.
    pub monthdays: u32,
    /// Bit n for weekday n (1 = Monday).
    pub weekdays: u8,
    pub kernel_tz: bool,
    pub contiguous: bool,
}

impl Default for Time {
    fn default() -> Self {
        Time {
            date_start: 0,
            date_stop: DATE_STOP_DEFAULT,
            daytime_start: 0,
            daytime_stop: MAX_DAYTIME,
            monthdays: ALL_MONTHDAYS,
            weekdays: ALL_WEEKDAYS,
            kernel_tz: false,
            contiguous: false,
        }
    }
}

/// C `strtoul(s, &e, 10)`: blanks, sign, digits; the value wraps like C's.
fn strtoul10(s: &str) -> (u64, &str) {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t2) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = t2.bytes().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 {
        return (0, s);
    }
    let v = t2[..n].parse::<u64>().unwrap_or(u64::MAX);
    (if neg { v.wrapping_neg() } else { v }, &t2[n..])
}

/// Days from 1970-01-01 to a proleptic Gregorian date (month may be out of
/// 1..=12 and day out of range: they carry over as `mktime` does).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let m0 = month - 1;
    let y = year + m0.div_euclid(12);
    let m = m0.rem_euclid(12) + 1;
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468 + (day - 1)
}

/// Calendar date and time of a count of seconds since the epoch (`gmtime`).
fn civil(secs: u32) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
}

/// `YYYY[-MM[-DD[Thh[:mm[:ss]]]]]` between 1970 and 2038, as seconds (UTC).
fn parse_date(s: &str) -> XtResult<u32> {
    let bad = || {
        XtError::new(format!(
            "Invalid date \"{s}\" specified. Should be YYYY[-MM[-DD[Thh[:mm[:ss]]]]]"
        ))
    };
    // (separator after the field, upper bound)
    let fields: [(char, u64); 5] = [('-', 12), ('T', 31), (':', 23), (':', 59), ('\0', 59)];
    let (year, mut rest) = strtoul10(s);
    let mut vals = [year, 1, 1, 0, 0, 0];
    if !(rest.is_empty() || rest.starts_with('-')) || !(1970..=2038).contains(&year) {
        return Err(bad());
    }
    for (i, (sep, max)) in fields.iter().enumerate() {
        if rest.is_empty() {
            break;
        }
        let (v, r) = strtoul10(&rest[1..]);
        let sep_ok = r.is_empty() || (*sep != '\0' && r.starts_with(*sep));
        if !sep_ok || v > *max {
            return Err(bad());
        }
        vals[i + 1] = v;
        rest = r;
    }
    let days = days_from_civil(vals[0] as i64, vals[1] as i64, vals[2] as i64);
    let secs = days * 86400 + vals[3] as i64 * 3600 + vals[4] as i64 * 60 + vals[5] as i64;
    Ok(secs as u32)
}

/// `hh:mm[:ss]` as seconds since midnight.
fn parse_daytime(s: &str) -> XtResult<u32> {
    let bad = |seg: &str| {
        XtError::new(format!(
            "invalid time \"{seg}\" specified, should be hh:mm[:ss] format and within the boundaries"
        ))
    };
    let (h, r) = strtoul10(s);
    if !r.starts_with(':') || h > 23 {
        return Err(bad(s));
    }
    let seg = &r[1..];
    let (m, r) = strtoul10(seg);
    if !(r.is_empty() || r.starts_with(':')) || m > 59 {
        return Err(bad(seg));
    }
    let mut sec = 0;
    if !r.is_empty() {
        let seg = &r[1..];
        let (v, r) = strtoul10(seg);
        if !r.is_empty() || v > 59 {
            return Err(bad(seg));
        }
        sec = v;
    }
    Ok((h * 3600 + m * 60 + sec) as u32)
}

/// Comma-separated pieces, each cut to `keep` bytes as the C buffers do.
fn segments(arg: &str, keep: usize) -> Vec<String> {
    let mut out = Vec::new();
    if arg.is_empty() {
        return out;
    }
    let mut rest = Some(arg);
    while let Some(r) = rest {
        if r.is_empty() {
            break;
        }
        let (seg, next) = match r.split_once(',') {
            Some((a, b)) => (a, Some(b)),
            None => (r, None),
        };
        let mut end = seg.len().min(keep);
        while !seg.is_char_boundary(end) {
            end -= 1;
        }
        out.push(seg[..end].to_string());
        rest = next;
    }
    out
}

fn parse_monthdays(arg: &str) -> XtResult<u32> {
    let mut mask = 0u32;
    for day in segments(arg, 2) {
        let (v, rest) = super::xtopt::strtoul(&day, 0, 0).unwrap_or((0, day.as_str()));
        if !rest.is_empty() || v > 31 {
            return Err(XtError::new(format!(
                "{day} is not a valid day for --monthdays"
            )));
        }
        mask |= 1 << v;
    }
    Ok(mask)
}

fn parse_weekdays(arg: &str) -> XtResult<u8> {
    let mut mask = 0u32;
    for day in segments(arg, 3) {
        if let Some((v, "")) = super::xtopt::strtoul(&day, 0, 0) {
            if v == 0 {
                return Err(XtError::new("No, the week does NOT begin with Sunday."));
            }
            mask |= 1u32.wrapping_shl(v as u32);
            continue;
        }
        let mut valid = false;
        for (i, name) in WEEK_DAYS.iter().enumerate().skip(1) {
            if day.len() >= 2 && day.as_bytes()[..2] == name.as_bytes()[..2] {
                mask |= 1 << i;
                valid = true;
            }
        }
        if !valid {
            return Err(XtError::new(format!("{day} is not a valid day specifier")));
        }
    }
    // The kernel field is 8 bits wide.
    Ok(mask as u8)
}

fn hms(t: u32) -> String {
    format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
}

fn weekdays_text(mask: u8) -> String {
    let names: Vec<&str> = (1..=7)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| WEEK_DAYS[i])
        .collect();
    names.join(",")
}

fn monthdays_text(mask: u32, human: bool) -> String {
    let days: Vec<String> = (1..=31)
        .filter(|i| mask & (1u32 << i) != 0)
        .map(|i| {
            if !human {
                return i.to_string();
            }
            let suffix = match i % 10 {
                1 => "st",
                2 => "nd",
                3 => "rd",
                _ => "th",
            };
            format!("{i}{suffix}")
        })
        .collect();
    days.join(",")
}

fn date_text(secs: u32, iso: bool) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    let sep = if iso { 'T' } else { ' ' };
    format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}")
}

/// Which condition of a time match failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    Date,
    Daytime,
    Weekday,
    Monthday,
}

const DAY: i64 = 86400;

impl Time {
    fn has_daytime(&self) -> bool {
        self.daytime_start != 0 || self.daytime_stop != MAX_DAYTIME
    }

    /// The packet's time in seconds: UTC, or the kernel's zone with
    /// `--kerneltz` (`tz_minutes` east of UTC).
    fn stamp(&self, now_ns: u64, tz_minutes: i32) -> i64 {
        let mut t = (now_ns / 1_000_000_000) as i64;
        if self.kernel_tz {
            t += tz_minutes as i64 * 60;
        }
        t
    }

    /// The first condition that fails at `stamp`, in `time_mt`'s order.
    fn miss(&self, stamp: i64) -> Option<Miss> {
        if stamp < self.date_start as i64 || stamp > self.date_stop as i64 {
            return Some(Miss::Date);
        }
        let mut day_stamp = stamp;
        let t = stamp.rem_euclid(DAY) as u32;
        if self.daytime_start < self.daytime_stop {
            if t < self.daytime_start || t > self.daytime_stop {
                return Some(Miss::Daytime);
            }
        } else {
            // A window across midnight (start == stop matches all day).
            if t < self.daytime_start && t > self.daytime_stop {
                return Some(Miss::Daytime);
            }
            // The early-morning part belongs to the day before.
            if self.contiguous && t <= self.daytime_stop {
                day_stamp -= DAY;
            }
        }
        if self.weekdays & (1 << weekday(day_stamp)) == 0 {
            return Some(Miss::Weekday);
        }
        if self.monthdays != ALL_MONTHDAYS && self.monthdays & (1 << monthday(day_stamp)) == 0 {
            return Some(Miss::Monthday);
        }
        None
    }
}

/// 1 = Monday ... 7 = Sunday (1970-01-01 was a Thursday).
fn weekday(stamp: i64) -> u32 {
    ((stamp.div_euclid(DAY) + 3).rem_euclid(7) + 1) as u32
}

fn monthday(stamp: i64) -> u32 {
    civil(stamp.clamp(0, u32::MAX as i64) as u32).2
}

impl Match for Time {
    ext_boilerplate!(INFO, Match);

    fn parse(&mut self, id: u8, arg: Option<&str>, inv: bool, cx: &mut ParseCx) -> XtResult {
        let arg = arg.unwrap_or_default();
        match id {
            O_DATE_START => self.date_start = parse_date(arg)?,
            O_DATE_STOP => self.date_stop = parse_date(arg)?,
            O_TIME_START => self.daytime_start = parse_daytime(arg)?,
            O_TIME_STOP => self.daytime_stop = parse_daytime(arg)?,
            O_CONTIGUOUS => self.contiguous = true,
            O_LOCAL_TZ => {
                cx.warnings.push(
                    "WARNING: --localtz is being replaced by --kerneltz, since \"local\" is \
                     ambiguous. Note the kernel timezone has caveats - see manpage for details."
                        .to_string(),
                );
                self.kernel_tz = true;
            }
            O_KERNEL_TZ => self.kernel_tz = true,
            O_MONTHDAYS => {
                let m = parse_monthdays(arg)?;
                self.monthdays = if inv { m ^ ALL_MONTHDAYS } else { m };
            }
            O_WEEKDAYS => {
                let m = parse_weekdays(arg)?;
                self.weekdays = if inv { m ^ ALL_WEEKDAYS } else { m };
            }
            _ => {}
        }
        Ok(())
    }

    fn final_check(&mut self, seen: u64, _cx: &mut ParseCx) -> XtResult {
        if seen & bit(O_CONTIGUOUS) != 0 && self.daytime_start < self.daytime_stop {
            return Err(XtError::new(
                "time: --contiguous only makes sense when stoptime is smaller than starttime",
            ));
        }
        Ok(())
    }

    fn matches(&mut self, cx: &mut EvalCx) -> Option<bool> {
        Some(self.miss(self.stamp(cx.now_ns, cx.tz_minutes)).is_none())
    }

    fn why_not(&self, cx: &EvalCx) -> String {
        let stamp = self.stamp(cx.now_ns, cx.tz_minutes);
        let zone = if self.kernel_tz { "kernel time" } else { "UTC" };
        let now = date_text(stamp.clamp(0, u32::MAX as i64) as u32, false);
        let why = match self.miss(stamp) {
            None => return "-m time matched".into(),
            Some(Miss::Date) => format!("it is {now} {zone}, outside the dates"),
            Some(Miss::Daytime) => format!(
                "it is {} {zone}, outside {}-{}",
                hms(stamp.rem_euclid(DAY) as u32),
                hms(self.daytime_start),
                hms(self.daytime_stop)
            ),
            Some(Miss::Weekday) => {
                let shifted = self.contiguous
                    && self.daytime_stop < self.daytime_start
                    && (stamp.rem_euclid(DAY) as u32) <= self.daytime_stop;
                format!(
                    "it is {} ({now} {zone}){}",
                    WEEK_DAYS[weekday(stamp) as usize],
                    if shifted {
                        format!(
                            ", counted as {} with --contiguous",
                            WEEK_DAYS[weekday(stamp - DAY) as usize]
                        )
                    } else {
                        String::new()
                    }
                )
            }
            Some(Miss::Monthday) => format!("it is day {} of the month", monthday(stamp)),
        };
        let mut opt = String::from("-m time");
        self.save(&mut opt);
        format!("`{opt}` did not match: {why}")
    }

    fn save(&self, out: &mut String) {
        if self.has_daytime() {
            out.push_str(&format!(
                " --timestart {} --timestop {}",
                hms(self.daytime_start),
                hms(self.daytime_stop)
            ));
        }
        if self.monthdays != ALL_MONTHDAYS {
            out.push_str(&format!(
                " --monthdays {}",
                monthdays_text(self.monthdays, false)
            ));
        }
        if self.weekdays != ALL_WEEKDAYS {
            out.push_str(&format!(" --weekdays {}", weekdays_text(self.weekdays)));
        }
        // Only 0 counts as "no date" here, so the default stop date is saved.
        if self.date_start != 0 {
            out.push_str(&format!(
                " --datestart {}",
                date_text(self.date_start, true)
            ));
        }
        if self.date_stop != 0 {
            out.push_str(&format!(" --datestop {}", date_text(self.date_stop, true)));
        }
        if self.kernel_tz {
            out.push_str(" --kerneltz");
        }
        if self.contiguous {
            out.push_str(" --contiguous");
        }
    }

    fn print(&self, out: &mut String, _numeric: bool) {
        out.push_str(" TIME");
        if self.has_daytime() {
            out.push_str(&format!(
                " from {} to {}",
                hms(self.daytime_start),
                hms(self.daytime_stop)
            ));
        }
        if self.weekdays != ALL_WEEKDAYS {
            out.push_str(&format!(" on {}", weekdays_text(self.weekdays)));
        }
        if self.monthdays != ALL_MONTHDAYS {
            out.push_str(&format!(" on {}", monthdays_text(self.monthdays, true)));
        }
        if self.date_start != 0 {
            out.push_str(&format!(
                " starting from {}",
                date_text(self.date_start, false)
            ));
        }
        if self.date_stop != DATE_STOP_DEFAULT {
            out.push_str(" until date");
            if self.date_stop != 0 {
                out.push_str(&format!(" {}", date_text(self.date_stop, false)));
            }
        }
        if !self.kernel_tz {
            out.push_str(" UTC");
        }
        if self.contiguous {
            out.push_str(" contiguous");
        }
    }

    fn explain(&self) -> String {
        let mut parts = Vec::new();
        if self.has_daytime() {
            parts.push(format!(
                "between {} and {}{}",
                hms(self.daytime_start),
                hms(self.daytime_stop),
                if self.daytime_stop < self.daytime_start {
                    " (over midnight)"
                } else {
                    ""
                }
            ));
        }
        if self.weekdays != ALL_WEEKDAYS {
            parts.push(format!("on {}", weekdays_text(self.weekdays)));
        }
        if self.monthdays != ALL_MONTHDAYS {
            parts.push(format!(
                "on day {} of the month",
                monthdays_text(self.monthdays, false)
            ));
        }
        if self.date_start != 0 {
            parts.push(format!("from {}", date_text(self.date_start, false)));
        }
        if self.date_stop != DATE_STOP_DEFAULT {
            parts.push(format!("until {}", date_text(self.date_stop, false)));
        }
        let zone = if self.kernel_tz {
            "kernel time zone"
        } else {
            "UTC"
        };
        if parts.is_empty() {
            return format!("Matches at any time ({zone})");
        }
        format!("Matches {} ({zone})", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_date, parse_daytime, parse_monthdays, parse_weekdays};
    use crate::command::run_argv;
    use crate::sim::host::Host;

    use crate::ext::conntrack::lab::{self, inject, sh, tcp, why};

    /// 2024-01-05 (a Friday) at hh:mm UTC, plus `days`.
    fn at(w: &mut crate::sim::world::World, days: u64, hh: u64, mm: u64) {
        let friday = super::parse_date("2024-01-05").unwrap() as u64;
        w.now_ns = (friday + days * 86400 + hh * 3600 + mm * 60) * 1_000_000_000;
    }

    /// The seed's rule: forward to the web on workdays between 18:00 and 08:00.
    #[test]
    fn workdays_evening_to_morning() {
        let mut w = lab::world();
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m time --weekdays Mon,Tue,Wed,Thu,Fri --timestart 18:00 --timestop 8:00",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m time --weekdays Mon,Tue,Wed,Thu,Fri --timestart 18:00 --timestop 8:00 --contiguous",
        );
        let run = |w: &mut crate::sim::world::World, days, hh, mm| {
            at(w, days, hh, mm);
            inject(w, tcp("10.0.0.2", 1, "10.0.0.1", 80, "S"));
            let c = lab::counts(w, "filter", "INPUT");
            sh(w, 0, "iptables -Z");
            c
        };
        // Friday 12:00: working hours.
        assert_eq!(run(&mut w, 0, 12, 0), vec![0, 0]);
        assert_eq!(
            why(&w, "INPUT", 1),
            "`-m time --timestart 18:00:00 --timestop 08:00:00 --weekdays Mon,Tue,Wed,Thu,Fri \
             --datestop 2038-01-19T03:14:07` did not match: it is 12:00:00 UTC, outside 18:00:00-08:00:00"
        );
        // Friday 18:00 and 23:59: both forms match.
        assert_eq!(run(&mut w, 0, 18, 0), vec![1, 1]);
        assert_eq!(run(&mut w, 0, 23, 59), vec![1, 1]);
        // Saturday 02:00: not a workday, but --contiguous counts it as Friday night.
        assert_eq!(run(&mut w, 1, 2, 0), vec![0, 1]);
        assert!(why(&w, "INPUT", 1).ends_with("did not match: it is Sat (2024-01-06 02:00:00 UTC)"));
        // Saturday 20:00: neither.
        assert_eq!(run(&mut w, 1, 20, 0), vec![0, 0]);
        // Monday 07:59 matches without --contiguous; with it, it is Sunday night.
        assert_eq!(run(&mut w, 3, 7, 59), vec![1, 0]);
        assert!(why(&w, "INPUT", 2).ends_with(
            "did not match: it is Mon (2024-01-08 07:59:00 UTC), counted as Sun with --contiguous"
        ));
        // The stop second itself is inside; the next minute is not.
        assert_eq!(run(&mut w, 3, 8, 0), vec![1, 0]);
        assert_eq!(run(&mut w, 3, 8, 1), vec![0, 0]);
    }

    #[test]
    fn dates_monthdays_and_kernel_tz() {
        let mut w = lab::world();
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m time --datestart 2024-01-05T10:00 --datestop 2024-01-06",
        );
        sh(&mut w, 0, "iptables -A INPUT -m time --monthdays 5,31");
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m time --timestart 09:00 --timestop 10:00 --kerneltz",
        );
        sh(
            &mut w,
            0,
            "iptables -A INPUT -m time --timestart 10:00 --timestop 10:00",
        );
        w.hosts[0].tz_minutes = -60;
        let run = |w: &mut crate::sim::world::World, days, hh, mm| {
            at(w, days, hh, mm);
            inject(w, tcp("10.0.0.2", 1, "10.0.0.1", 80, "S"));
            let c = lab::counts(w, "filter", "INPUT");
            sh(w, 0, "iptables -Z");
            c
        };
        // 2024-01-05 09:59 UTC: before the start date; 08:59 in the kernel's zone.
        assert_eq!(run(&mut w, 0, 9, 59), vec![0, 1, 0, 1]);
        assert!(why(&w, "INPUT", 1)
            .ends_with("did not match: it is 2024-01-05 09:59:00 UTC, outside the dates"));
        assert_eq!(run(&mut w, 0, 10, 30), vec![1, 1, 1, 1]);
        // The stop date is its first second.
        assert_eq!(run(&mut w, 1, 0, 0), vec![1, 0, 0, 1]);
        assert_eq!(run(&mut w, 1, 0, 1), vec![0, 0, 0, 1]);
        assert!(dbg!(why(&w, "INPUT", 2)).ends_with("did not match: it is day 6 of the month"));
        // 2024-01-31.
        assert_eq!(run(&mut w, 26, 11, 0), vec![0, 1, 1, 1]);
        assert_eq!(run(&mut w, 26, 11, 1), vec![0, 1, 0, 1]);
        assert!(why(&w, "INPUT", 3)
            .ends_with("did not match: it is 10:01:00 kernel time, outside 09:00:00-10:00:00"));
    }

    fn run(h: &mut Host, s: &str) -> crate::command::Output {
        let a: Vec<String> = s.split(' ').map(String::from).collect();
        run_argv(h, &a, None)
    }

    #[test]
    fn dates_like_mktime() {
        assert_eq!(parse_date("1970").unwrap(), 0);
        assert_eq!(parse_date("1970-01-01T02:00:00").unwrap(), 7200);
        assert_eq!(parse_date("2001-02-03T04:05:06").unwrap(), 981173106);
        // Day 31 of February carries into March.
        assert_eq!(
            parse_date("2021-02-31").unwrap(),
            parse_date("2021-03-03").unwrap()
        );
        assert!(parse_date("1969-01-01").is_err());
        assert!(parse_date("2040").is_err());
        assert!(parse_date("2020-13").is_err());
        assert_eq!(parse_daytime("8:00").unwrap(), 8 * 3600);
        assert_eq!(
            parse_daytime("10:99").unwrap_err().msg,
            "invalid time \"99\" specified, should be hh:mm[:ss] format and within the boundaries"
        );
    }

    #[test]
    fn day_lists() {
        assert_eq!(parse_weekdays("Mon,Tuesday,5").unwrap(), 0b0010_0110);
        assert!(parse_weekdays("wed").is_err());
        assert_eq!(
            parse_weekdays("0").unwrap_err().msg,
            "No, the week does NOT begin with Sunday."
        );
        // Pieces are cut to two characters: 100 reads as 10.
        assert_eq!(parse_monthdays("100").unwrap(), 1 << 10);
        assert_eq!(
            parse_monthdays("32").unwrap_err().msg,
            "32 is not a valid day for --monthdays"
        );
    }

    #[test]
    fn save_and_list() {
        let mut h = Host::new("h");
        let out = run(
            &mut h,
            "iptables -A INPUT -m time --timestart 23:00 --timestop 01:00 --weekdays Sat,Sun \
             ! --monthdays 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30 \
             --datestart 2020 --contiguous --kerneltz",
        );
        assert_eq!(out.exit, 0, "{}", out.stderr);
        assert_eq!(
            run(&mut h, "iptables -S INPUT").stdout,
            "-P INPUT ACCEPT\n-A INPUT -m time --timestart 23:00:00 --timestop 01:00:00 \
             --monthdays 31 --weekdays Sat,Sun --datestart 2020-01-01T00:00:00 \
             --datestop 2038-01-19T03:14:07 --kerneltz --contiguous\n"
        );
        assert!(run(&mut h, "iptables -L INPUT").stdout.ends_with(
            "anywhere             TIME from 23:00:00 to 01:00:00 on Sat,Sun on 31st \
             starting from 2020-01-01 00:00:00 contiguous\n"
        ));
    }

    #[test]
    fn help_has_the_usual_shape() {
        let mut h = Host::new("h");
        let out = run(&mut h, "iptables -m time --help");
        assert_eq!(out.exit, 0);
        assert!(out.stdout.contains("\ntime match options:\n"));
        for opt in [
            "--datestart",
            "--timestop",
            "--monthdays",
            "--weekdays",
            "--kerneltz",
        ] {
            assert!(out.stdout.contains(opt), "{opt}");
        }
    }
}
