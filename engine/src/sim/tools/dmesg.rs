//! `dmesg` (util-linux 2.38): the host's kernel log (LOG target lines and
//! the like) with `[    T.TTTTTT]` times since the lab booted; `-T` for
//! wall-clock times, `-t` without times, `-c` to print and clear, `-C` to clear.

use super::util;
use crate::command::Output;
use crate::sim::world::World;

pub fn run(world: &mut World, host: usize, argv: &[String]) -> Output {
    let mut human = false;
    let mut no_time = false;
    let mut clear_after = false;
    let mut clear_only = false;
    for a in &argv[1..] {
        match a.as_str() {
            "-T" | "--ctime" => human = true,
            "-t" | "--notime" => no_time = true,
            "-c" | "--read-clear" => clear_after = true,
            "-C" | "--clear" => clear_only = true,
            "-k" | "--kernel" | "-x" | "-L" | "--color=never" | "-H" | "--nopager" => {}
            _ if a.starts_with("-l") || a.starts_with("--level") => {}
            _ => {
                return Output::err(
                    format!(
                    "dmesg: unrecognized option '{a}'\nTry 'dmesg --help' for more information.\n"
                ),
                    1,
                )
            }
        }
    }
    let boot = world.tools.boot_ns;
    if clear_only {
        world.hosts[host].kmsg.clear();
        return Output::default();
    }
    let mut s = String::new();
    for r in &world.hosts[host].kmsg {
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
