//! Small helpers the tools share: the lab clock as local time, name
//! resolution from the lab's name table, service names, number formats.

use crate::sim::world::World;
use std::net::Ipv4Addr;

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A broken-down local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tm {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
    /// Microseconds.
    pub usec: u32,
    /// 0 = Thursday (1970-01-01), as `WEEKDAYS`.
    wday: usize,
}

impl Tm {
    pub fn weekday(&self) -> &'static str {
        WEEKDAYS[self.wday]
    }
    pub fn month_name(&self) -> &'static str {
        MONTHS[(self.month - 1) as usize]
    }
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A civil date to days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Nanoseconds since the epoch, shifted by `tz_minutes`, broken down.
pub fn tm(ns: u64, tz_minutes: i32) -> Tm {
    let total_us = (ns / 1000) as i64 + tz_minutes as i64 * 60_000_000;
    let secs = total_us.div_euclid(1_000_000);
    let usec = total_us.rem_euclid(1_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Tm {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        min: ((rem % 3600) / 60) as u32,
        sec: (rem % 60) as u32,
        usec,
        wday: days.rem_euclid(7) as usize,
    }
}

/// The lab clock on a host, as local time.
pub fn local(world: &World, host: usize, ns: u64) -> Tm {
    tm(ns, world.hosts.get(host).map(|h| h.tz_minutes).unwrap_or(0))
}

/// `Sun Nov 29 12:46:50 UTC 2026` (`date`; `%e` pads the day with a space).
pub fn date_text(world: &World, host: usize, ns: u64) -> String {
    let t = local(world, host, ns);
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {} {}",
        t.weekday(),
        t.month_name(),
        t.day,
        t.hour,
        t.min,
        t.sec,
        world.tools.tz(),
        t.year
    )
}

/// `2026-11-29 12:47:49`.
pub fn iso_seconds(t: &Tm) -> String {
    format!(
        "{}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.min, t.sec
    )
}

/// `12:44:31.321851` (tcpdump).
pub fn clock_micro(t: &Tm) -> String {
    format!("{:02}:{:02}:{:02}.{:06}", t.hour, t.min, t.sec, t.usec)
}

/// A host name resolved to an address, and how tools name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub addr: Ipv4Addr,
    /// The canonical name (first name of the table line), or the address.
    pub canon: String,
    /// Whether the user gave an address, not a name.
    pub numeric: bool,
}

/// Parses a dotted-quad address.
pub fn parse_addr(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}

/// Resolves a name as `getaddrinfo` does from the lab's name table.
pub fn resolve(world: &World, host: usize, name: &str) -> Option<Resolved> {
    if let Some(a) = parse_addr(name) {
        return Some(Resolved {
            addr: a,
            canon: name.to_string(),
            numeric: true,
        });
    }
    for (addr, names) in &world.tools.hosts_file {
        if names.iter().any(|n| n == name) {
            return Some(Resolved {
                addr: *addr,
                canon: names.first().cloned().unwrap_or_else(|| name.to_string()),
                numeric: false,
            });
        }
    }
    let h = world.hosts.get(host)?;
    h.resolve(name).first().map(|a| Resolved {
        addr: *a,
        canon: name.to_string(),
        numeric: false,
    })
}

/// The name of an address (reverse lookup in the name table).
pub fn reverse(world: &World, addr: Ipv4Addr) -> Option<String> {
    for (a, names) in &world.tools.hosts_file {
        if *a == addr {
            if let Some(n) = names.first() {
                return Some(n.clone());
            }
        }
    }
    if addr == Ipv4Addr::LOCALHOST {
        return Some("localhost".into());
    }
    None
}

/// All names of an address line (`getent hosts`).
pub fn names_of(world: &World, addr: Ipv4Addr) -> Option<Vec<String>> {
    world
        .tools
        .hosts_file
        .iter()
        .find(|(a, _)| *a == addr)
        .map(|(_, n)| n.clone())
        .or_else(|| (addr == Ipv4Addr::LOCALHOST).then(|| vec!["localhost".to_string()]))
}

/// `/etc/services` name of a port.
pub fn service(port: u16, proto: &str) -> Option<&'static str> {
    crate::netdb::service_name(port, proto)
}

/// A port given as a number or a service name.
pub fn parse_port(s: &str, proto: &str) -> Option<u16> {
    s.parse::<u16>()
        .ok()
        .or_else(|| crate::netdb::service_port(s, proto))
}

/// A random number from the host's generator.
pub fn random(world: &mut World, host: usize) -> u32 {
    world.hosts[host].rng.next_u32()
}

/// An ephemeral port from Linux's default range 32768..=60999.
pub fn ephemeral_port(world: &mut World, host: usize) -> u16 {
    32768 + (random(world, host) % (60999 - 32768 + 1)) as u16
}

/// Splits `-c5` / `-c 5` style options: returns the value and how many words it used.
pub fn opt_value<'a>(argv: &'a [String], i: usize, flag: &str) -> Option<(&'a str, usize)> {
    let a = &argv[i];
    if a == flag {
        return argv.get(i + 1).map(|v| (v.as_str(), 2));
    }
    a.strip_prefix(flag).map(|v| (v, 1))
}

/// A duration in seconds as `sleep`, `ping -W` and `nc -w` read it (fractions allowed).
pub fn parse_secs(s: &str) -> Option<f64> {
    let v = crate::decimal::parse_f64(s)?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

pub fn secs_to_ns(s: f64) -> u64 {
    (s * 1e9).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for d in [-1000i64, 0, 1, 365, 20_000, 20_786] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        let t = tm(1_795_955_241_000_000_000, 0);
        assert_eq!((t.year, t.month, t.day, t.hour), (2026, 11, 29, 12));
        assert_eq!(t.weekday(), "Sun");
        let t = tm(1_795_955_241_000_000_000, 60);
        assert_eq!(t.hour, 13);
    }
}
