//! `dmesg` (util-linux 2.38): the host's kernel log (LOG target lines and
//! the like) with `[    T.TTTTTT]` times since the lab booted; `-T` for
//! wall-clock times, `-t` without times, `-c` to print and clear, `-C` to
//! clear, `-l LIST` / `--level=LIST` for the lines of some levels only.

use super::util;
use crate::command::Output;
use crate::sim::world::World;

// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn run(world: &mut World, host: usize, argv: &[String]) -> Output {
    let mut human = false;
    let mut no_time = false;
    let mut clear_after = false;
    let mut clear_only = false;
    // Levels to print (bit per level); all when no -l was given.
    let mut levels: Option<u8> = None;
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        i += 1;
        let list = match a {
            "-T" | "--ctime" => {
                human = true;
                continue;
            }
            "-t" | "--notime" => {
                no_time = true;
                continue;
            }
            "-c" | "--read-clear" => {
                clear_after = true;
                continue;
            }
            "-C" | "--clear" => {
                clear_only = true;
                continue;
            }
            "-k" | "--kernel" | "-x" | "-L" | "--color=never" | "-H" | "--nopager" | "-P" => {
                continue
            }
            "-l" | "--level" => match argv.get(i) {
                Some(v) => {
                    i += 1;
                    v.as_str()
                }
                None => {
                    let what = if a == "-l" {
                        "option requires an argument -- 'l'".to_string()
                    } else {
                        "option '--level' requires an argument".to_string()
                    };
                    return Output::err(
                        format!("dmesg: {what}\nTry 'dmesg --help' for more information.\n"),
                        1,
                    );
                }
            },
            _ if a.starts_with("--level=") => &a["--level=".len()..],
            _ if a.starts_with("-l") => &a[2..],
            _ if a.starts_with("--") => {
                return Output::err(
                    format!(
                    "dmesg: unrecognized option '{a}'\nTry 'dmesg --help' for more information.\n"
                ),
                    1,
                )
            }
            _ => {
                let c = a.chars().nth(1).unwrap_or('-');
                return Output::err(
                    format!(
                        "dmesg: invalid option -- '{c}'\nTry 'dmesg --help' for more information.\n"
                    ),
                    1,
                );
            }
        };
        let mut mask = levels.unwrap_or(0);
        for name in list.split(',').filter(|n| !n.is_empty()) {
            match level_number(name) {
                Some(l) => mask |= 1 << l,
                None => return Output::err(format!("dmesg: unknown level '{name}'\n"), 1),
            }
        }
        levels = Some(mask);
    }
    let boot = world.tools.boot_ns;
    if clear_only {
        world.hosts[host].kmsg.clear();
        return Output::default();
    }
    let mut s = String::new();
    for r in &world.hosts[host].kmsg {
        if levels.is_some_and(|m| r.level > 7 || m & (1 << r.level) == 0) {
            continue;
        }
        if no_time {
        } else if human {
            let t = util::local(world, host, r.time_ns);
            s.push_str(&format!(
                "[{} {} {:>2} {:02}:{:02}:{:02} {}] ",
                t.weekday(),
                t.month_name(),
                t.day,
                t.hour,
                t.min,
                t.sec,
                t.year
            ));
        } else {
            let up = r.time_ns.saturating_sub(boot);
            s.push_str(&format!(
                "[{:>5}.{:06}] ",
                up / 1_000_000_000,
                (up % 1_000_000_000) / 1000
            ));
        }
        s.push_str(&r.text);
        s.push('\n');
    }
    if clear_after {
        world.hosts[host].kmsg.clear();
    }
    Output::ok(s)
}

/// A level of `-l`: its name (`warn`, `info` ...) or number (0 to 7).
fn level_number(name: &str) -> Option<u8> {
    const NAMES: [&str; 8] = [
        "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
    ];
    if let Some(i) = NAMES.iter().position(|n| *n == name) {
        return Some(i as u8);
    }
    match name.parse::<u8>() {
        Ok(n) if n <= 7 && !name.starts_with('+') => Some(n),
        _ => None,
    }
}
