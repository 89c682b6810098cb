//! The few shell programs a lab script needs besides the network tools:
//! `sleep` (moves the lab clock), `echo`, `cat` (host files, `/proc/sys`,
//! `/proc/net/xt_recent`, standard input), `date` and `hostname`.

use super::util;
use crate::command::Output;
use crate::sim::world::World;

/// `sleep NUMBER[SUFFIX]...` (GNU coreutils): s, m, h, d suffixes, fractions.
pub fn sleep(world: &mut World, argv: &[String]) -> Output {
    if argv.len() < 2 {
        return Output::err(
            "sleep: missing operand\nTry 'sleep --help' for more information.\n",
            1,
        );
    }
    let mut total = 0f64;
    for a in &argv[1..] {
        let (num, mult) = match a.chars().last() {
            Some('s') => (&a[..a.len() - 1], 1.0),
            Some('m') => (&a[..a.len() - 1], 60.0),
            Some('h') => (&a[..a.len() - 1], 3600.0),
            Some('d') => (&a[..a.len() - 1], 86400.0),
            _ => (a.as_str(), 1.0),
        };
        match util::parse_secs(num) {
            Some(v) => total += v * mult,
            None => {
                return Output::err(
                    format!(
                        "sleep: invalid time interval ‘{a}’\nTry 'sleep --help' for more information.\n"
                    ),
                    1,
                )
            }
        }
    }
    // A lab clock running for more than a few years is a typo.
    let total = total.min(10.0 * 365.0 * 86400.0);
    world.advance(util::secs_to_ns(total));
    Output::default()
}

/// `echo [-n] [-e] ARGS`.
pub fn echo(argv: &[String]) -> Output {
    let mut newline = true;
    let mut escapes = false;
    let mut i = 1;
    while i < argv.len() {
        match argv[i].as_str() {
            "-n" => newline = false,
            "-e" => escapes = true,
            "-E" => escapes = false,
            "-ne" | "-en" => {
                newline = false;
                escapes = true
            }
            _ => break,
        }
        i += 1;
    }
    let mut s = argv[i..].join(" ");
    if escapes {
        s = s
            .replace("\\n", "\n")
            .replace("\\t", "\t")
            .replace("\\r", "\r")
            .replace("\\\\", "\\");
    }
    if newline {
        s.push('\n');
    }
    Output::ok(s)
}

/// Where the kernel shows the `recent` match's lists.
pub const XT_RECENT: &str = "/proc/net/xt_recent/";

/// `cat [FILE...]`: host files, `/proc/sys`, `/proc/net/xt_recent`, `-` or
/// nothing for standard input.
pub fn cat(world: &mut World, host: usize, argv: &[String], stdin: Option<&str>) -> Output {
    let mut out = Output::default();
    let files: Vec<&String> = argv[1..].iter().collect();
    if files.is_empty() {
        out.stdout.push_str(stdin.unwrap_or(""));
        return out;
    }
    let h = &world.hosts[host];
    for f in files {
        if f == "-" {
            out.stdout.push_str(stdin.unwrap_or(""));
            continue;
        }
        if let Some(name) = f.strip_prefix(XT_RECENT) {
            match crate::ext::recent::proc_read(h, name) {
                Some(t) => out.stdout.push_str(&t),
                None => {
                    out.stderr
                        .push_str(&format!("cat: {f}: No such file or directory\n"));
                    out.exit = 1;
                }
            }
            continue;
        }
        if let Some(r) = super::sysctl::proc_read(h, f) {
            match r {
                Ok(t) => out.stdout.push_str(&t),
                Err(e) => {
                    out.stderr.push_str(&format!("cat: {f}: {e}\n"));
                    out.exit = 1;
                }
            }
            continue;
        }
        match h.files.get(f.as_str()) {
            Some(t) => out.stdout.push_str(t),
            None => {
                out.stderr
                    .push_str(&format!("cat: {f}: No such file or directory\n"));
                out.exit = 1;
            }
        }
    }
    out
}

/// `date` and `date +FORMAT` (common conversions).
pub fn date(world: &mut World, host: usize, argv: &[String]) -> Output {
    let now = world.now_ns;
    let Some(fmt) = argv.get(1).and_then(|a| a.strip_prefix('+')) else {
        if let Some(a) = argv.get(1) {
            return Output::err(format!("date: invalid date ‘{a}’\n"), 1);
        }
        return Output::ok(format!("{}\n", util::date_text(world, host, now)));
    };
    let t = util::local(world, host, now);
    let mut s = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            s.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => s.push_str(&t.year.to_string()),
            Some('m') => s.push_str(&format!("{:02}", t.month)),
            Some('d') => s.push_str(&format!("{:02}", t.day)),
            Some('e') => s.push_str(&format!("{:>2}", t.day)),
            Some('H') => s.push_str(&format!("{:02}", t.hour)),
            Some('M') => s.push_str(&format!("{:02}", t.min)),
            Some('S') => s.push_str(&format!("{:02}", t.sec)),
            Some('T') => s.push_str(&format!("{:02}:{:02}:{:02}", t.hour, t.min, t.sec)),
            Some('F') => s.push_str(&format!("{}-{:02}-{:02}", t.year, t.month, t.day)),
            Some('a') => s.push_str(t.weekday()),
            Some('b') => s.push_str(t.month_name()),
            Some('Z') => s.push_str(world.tools.tz()),
            Some('s') => s.push_str(&(now / 1_000_000_000).to_string()),
            Some('N') => s.push_str(&format!("{:09}", now % 1_000_000_000)),
            Some('%') => s.push('%'),
            Some(o) => {
                s.push('%');
                s.push(o);
            }
            None => s.push('%'),
        }
    }
    s.push('\n');
    Output::ok(s)
}

pub fn hostname(world: &mut World, host: usize, argv: &[String]) -> Output {
    match argv.get(1).map(|s| s.as_str()) {
        None => Output::ok(format!("{}\n", world.hosts[host].name)),
        Some("-I" | "--all-ip-addresses") => {
            let addrs: Vec<String> = world.hosts[host]
                .ifaces
                .iter()
                .filter(|i| !i.is_loopback() && i.up)
                .flat_map(|i| i.addrs.iter().map(|a| a.addr.to_string()))
                .collect();
            Output::ok(format!("{} \n", addrs.join(" ")))
        }
        Some(_) => Output::err("hostname: you must be root to change the host name\n", 1),
    }
}
