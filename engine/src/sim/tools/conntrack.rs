//! `conntrack` (conntrack-tools 1.4.7): `-L` (list, with filters), `-D`
//! (delete matching entries), `-F` (flush) and `-C` (count) on the host's
//! connection tracking table, in the tool's formats.

use crate::command::Output;
use crate::sim::conntrack::{entry_line, status, Entry};
use crate::sim::world::World;
use std::net::Ipv4Addr;

const PREFIX: &str = "conntrack v1.4.7 (conntrack-tools): ";

#[derive(Default)]
struct Filter {
    proto: Option<u8>,
    src: Option<Ipv4Addr>,
    dst: Option<Ipv4Addr>,
    reply_src: Option<Ipv4Addr>,
    reply_dst: Option<Ipv4Addr>,
    sport: Option<u16>,
    dport: Option<u16>,
    mark: Option<u32>,
}

impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        self.proto.is_none_or(|p| e.orig.proto == p)
            && self.src.is_none_or(|a| e.orig.src == a)
            && self.dst.is_none_or(|a| e.orig.dst == a)
            && self.reply_src.is_none_or(|a| e.reply.src == a)
            && self.reply_dst.is_none_or(|a| e.reply.dst == a)
            && self.sport.is_none_or(|p| e.orig.sport == p)
            && self.dport.is_none_or(|p| e.orig.dport == p)
            && self.mark.is_none_or(|m| e.mark == m)
    }
}

fn fail(msg: &str) -> Output {
    Output::err(
        format!("{PREFIX}{msg}\nTry `conntrack -h' or 'conntrack --help' for more information.\n"),
        2,
    )
}

const USAGE: &str = "Command line interface for the connection tracking system. Version 1.4.7
Usage: conntrack [commands] [options]

Commands:
  -L [table] [options]\t\tList conntrack or expectation table
  -D [table] parameters\t\tDelete conntrack or expectation
  -F [table]\t\t\tFlush table
  -C [table]\t\t\tShow counter
";

// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn run(world: &mut World, host: usize, argv: &[String]) -> Output {
    match run_inner(world, host, argv) {
        Ok(o) | Err(o) => o,
    }
}

fn parse_addr(v: &str) -> Result<Ipv4Addr, Output> {
    v.parse()
        .map_err(|_| fail(&format!("Bad IP address `{v}'")))
}

fn run_inner(world: &mut World, host: usize, argv: &[String]) -> Result<Output, Output> {
    let mut cmd: Option<char> = None;
    let mut f = Filter::default();
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        let takes_value = matches!(
            a,
            "-o" | "--output"
                | "-f"
                | "--family"
                | "-e"
                | "--event-mask"
                | "-p"
                | "--proto"
                | "--protonum"
                | "-s"
                | "--src"
                | "--orig-src"
                | "-d"
                | "--dst"
                | "--orig-dst"
                | "-r"
                | "--reply-src"
                | "-q"
                | "--reply-dst"
                | "--sport"
                | "--orig-port-src"
                | "--dport"
                | "--orig-port-dst"
                | "-m"
                | "--mark"
        );
        let v = if takes_value {
            i += 1;
            match argv.get(i) {
                Some(v) => v.clone(),
                None => {
                    if a.starts_with('-') {
                        return Err(fail(&format!("option `{a}' requires an argument")));
                    }
                    return Err(fail(&format!("unknown option `{a}'")));
                }
            }
        } else {
            String::new()
        };
        match a {
            "-L" | "--dump" => cmd = Some('L'),
            "-D" | "--delete" => cmd = Some('D'),
            "-F" | "--flush" => cmd = Some('F'),
            "-C" | "--count" => cmd = Some('C'),
            "-h" | "--help" => return Ok(Output::ok(USAGE)),
            "conntrack" => {}
            "-o" | "--output" | "-f" | "--family" | "-e" | "--event-mask" => {}
            "-p" | "--proto" | "--protonum" => {
                let p = match v.as_str() {
                    "tcp" => 6,
                    "udp" => 17,
                    "icmp" => 1,
                    other => match other.parse::<u8>() {
                        Ok(n) => n,
                        Err(_) => return Err(fail(&format!("unknown protocol `{other}'"))),
                    },
                };
                f.proto = Some(p);
            }
            "-s" | "--src" | "--orig-src" => f.src = Some(parse_addr(&v)?),
            "-d" | "--dst" | "--orig-dst" => f.dst = Some(parse_addr(&v)?),
            "-r" | "--reply-src" => f.reply_src = Some(parse_addr(&v)?),
            "-q" | "--reply-dst" => f.reply_dst = Some(parse_addr(&v)?),
            "--sport" | "--orig-port-src" => {
                f.sport = Some(
                    v.parse()
                        .map_err(|_| fail(&format!("invalid port `{v}'")))?,
                )
            }
            "--dport" | "--orig-port-dst" => {
                f.dport = Some(
                    v.parse()
                        .map_err(|_| fail(&format!("invalid port `{v}'")))?,
                )
            }
            "-m" | "--mark" => {
                let m = if let Some(h) = v.strip_prefix("0x") {
                    u32::from_str_radix(h, 16).ok()
                } else {
                    v.parse().ok()
                };
                f.mark = Some(m.ok_or_else(|| fail(&format!("invalid mark `{v}'")))?);
            }
            _ => return Err(fail(&format!("unknown option `{a}'"))),
        }
        i += 1;
    }
    let now = world.now_ns;
    let ct = &mut world.hosts[host].conntrack;
    ct.expire(now);
    // The kernel reports whole seconds left when the dump runs, a moment
    // after the last packet: a fresh 10 s entry shows 9.
    let shown = now + 1_000_000;
    let Some(cmd) = cmd else {
        return Ok(Output::ok(USAGE));
    };
    Ok(match cmd {
        'F' => {
            ct.flush();
            Output::err(
                format!("{PREFIX}connection tracking table has been emptied.\n"),
                0,
            )
        }
        'C' => Output::ok(format!(
            "{}\n",
            ct.iter().filter(|e| e.has(status::CONFIRMED)).count()
        )),
        'L' => {
            let mut s = String::new();
            let mut n = 0;
            for e in ct
                .iter()
                .filter(|e| e.has(status::CONFIRMED) && f.matches(e))
            {
                n += 1;
                s.push_str(&entry_line(e, shown));
                s.push('\n');
            }
            Output {
                stdout: s,
                stderr: format!("{PREFIX}{n} flow entries have been shown.\n"),
                exit: 0,
            }
        }
        _ => {
            let doomed: Vec<usize> = ct
                .indices()
                .into_iter()
                .filter(|&i| {
                    ct.get(i)
                        .is_some_and(|e| e.has(status::CONFIRMED) && f.matches(e))
                })
                .collect();
            let mut s = String::new();
            for &i in &doomed {
                if let Some(e) = ct.get(i) {
                    s.push_str(&entry_line(e, shown));
                    s.push('\n');
                }
                ct.remove(i);
            }
            Output {
                stdout: s,
                stderr: format!("{PREFIX}{} flow entries have been deleted.\n", doomed.len()),
                exit: if doomed.is_empty() { 1 } else { 0 },
            }
        }
    })
}
