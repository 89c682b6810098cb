//! The network tools of a lab host (`ping`, `nc`, `curl`, `wget`, `hping3`,
//! `nmap`, `tcpdump`, `dmesg`, `conntrack`, `ss`, `netstat`, `dig`,
//! `getent`, `ip`, `sysctl` and a few shell built-ins), printing what the
//! real Linux tools print. They send real packets through the world, so
//! every probe walks the firewalls of every host on its way; everything
//! else falls back to [`crate::command::run_argv`] (iptables, ipset …).

pub mod conntrack;
pub mod dmesg;
pub mod dns;
pub mod ether_names;
pub mod hping;
pub mod http;
pub mod ip;
pub mod iprule;
pub mod nc;
pub mod net;
pub mod nmap;
pub mod ping;
pub mod shell;
pub mod ss;
pub mod sysctl;
pub mod tcpdump;
pub mod udp_print;
pub mod util;

use super::world::{Report, World};
use crate::command::script::{Input, ScriptCmd};
use crate::command::Output;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// What a simulated service answers beyond open/closed (`nmap -sV`, `curl`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceInfo {
    /// Version text for `nmap -sV` (`OpenSSH 9.2p1 Debian 2+deb12u3`).
    pub version: String,
    /// Page a web server sends (`None`: a default page naming the host).
    pub body: Option<String>,
}

/// Lab facts the tools need besides the hosts themselves.
#[derive(Debug, Clone, Default)]
pub struct ToolEnv {
    /// When the hosts booted (`dmesg` timestamps count from here), ns since the epoch.
    pub boot_ns: u64,
    /// Time zone abbreviation the tools print (`UTC`, `CET` …); empty means UTC.
    pub tz_name: String,
    /// The lab's name table, like `/etc/hosts` lines: address, canonical name, aliases.
    pub hosts_file: Vec<(Ipv4Addr, Vec<String>)>,
    /// Resolver `dig` reports (`;; SERVER:`); the lab answers from its name table.
    pub resolver: Option<Ipv4Addr>,
    /// Extra facts about services by (host name, protocol, port).
    pub services: BTreeMap<(String, u8, u16), ServiceInfo>,
    /// Listen backlogs other than the default (`nc -l` listens with 1), by
    /// (host name, port).
    pub backlogs: BTreeMap<(String, u16), u32>,
    /// Reports of every packet the tools sent, oldest first, for `--trace`
    /// and `--json`; the lab runner drains it after each command.
    pub journal: Vec<Report>,
    /// Reports left out of the journal because it was full.
    pub journal_dropped: usize,
    /// The last packet a tool sent died in its own host's OUTPUT or
    /// POSTROUTING: the error its `sendto` failed with (EPERM for a drop,
    /// ENETUNREACH for a re-route within OUTPUT that found no route).
    pub send_refused: Option<&'static str>,
}

/// Most reports the journal keeps between two drains (a full nmap scan
/// sends far more packets than anyone reads traces of).
pub const JOURNAL_MAX: usize = 20_000;

impl ToolEnv {
    pub fn tz(&self) -> &str {
        if self.tz_name.is_empty() {
            "UTC"
        } else {
            &self.tz_name
        }
    }
}

/// Runs one command on host `host` of the world. Network tools are handled
/// here; anything else goes to the host's own programs (`iptables`, `ipset` …).
pub fn run_in_world(
    world: &mut World,
    host: usize,
    argv: &[String],
    stdin: Option<&str>,
) -> Output {
    if host >= world.hosts.len() {
        return Output::err("sh: no such host\n", 127);
    }
    let Some(prog) = argv.first() else {
        return Output::default();
    };
    world.sync_clocks();
    let prog = prog.rsplit('/').next().unwrap_or(prog);
    let out = match prog {
        "ping" => ping::run(world, host, argv),
        "nc" | "netcat" | "nc.openbsd" => nc::run(world, host, argv, stdin),
        "curl" => http::curl(world, host, argv),
        "wget" => http::wget(world, host, argv),
        "hping3" => hping::run(world, host, argv),
        "nmap" => nmap::run(world, host, argv),
        "tcpdump" => tcpdump::run(world, host, argv),
        "dmesg" => dmesg::run(world, host, argv),
        "conntrack" => conntrack::run(world, host, argv),
        "ss" => ss::ss(world, host, argv),
        "netstat" => ss::netstat(world, host, argv),
        "dig" => dns::dig(world, host, argv),
        "getent" => dns::getent(world, host, argv),
        "ip" => ip::run(world, host, argv),
        "sysctl" => sysctl::run(world, host, argv, stdin),
        "sleep" => shell::sleep(world, argv),
        "echo" => shell::echo(argv),
        "cat" => shell::cat(world, host, argv, stdin),
        "date" => shell::date(world, host, argv),
        "hostname" => shell::hostname(world, host, argv),
        "true" | ":" => Output::default(),
        "false" => Output::err("", 1),
        _ => crate::command::run_argv(&mut world.hosts[host], argv, stdin),
    };
    world.sync_clocks();
    trim_captures(world);
    out
}

/// Frames kept per interface for `tcpdump` (the oldest go first).
pub const CAPTURE_MAX: usize = 50_000;

fn trim_captures(world: &mut World) {
    for frames in world.captures.values_mut() {
        if frames.len() > CAPTURE_MAX {
            let extra = frames.len() - CAPTURE_MAX;
            frames.drain(..extra);
        }
    }
}

/// Runs a parsed script command: its input (`< FILE`, here-document), the
/// program, and its output redirection (`> /proc/sys/...` writes a sysctl).
/// `read_file` reads `< FILE` when the host has no such file.
pub fn run_script_cmd(
    world: &mut World,
    host: usize,
    cmd: &ScriptCmd,
    read_file: &dyn Fn(&str) -> Result<String, String>,
) -> Output {
    if host >= world.hosts.len() {
        return Output::err("sh: no such host\n", 127);
    }
    let stdin = match &cmd.stdin {
        None => None,
        Some(Input::Text(t)) => Some(t.clone()),
        Some(Input::File(f)) => match sysctl::proc_read(&world.hosts[host], f) {
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => return Output::err(format!("sh: {f}: {e}\n"), 1),
            None => match world.hosts[host].files.get(f) {
                Some(t) => Some(t.clone()),
                None => match read_file(f) {
                    Ok(t) => Some(t),
                    Err(e) => return Output::err(format!("sh: {f}: {e}\n"), 1),
                },
            },
        },
    };
    let mut out = run_in_world(world, host, &cmd.argv, stdin.as_deref());
    if let Some((path, append)) = &cmd.stdout_to {
        let text = std::mem::take(&mut out.stdout);
        if let Some(name) = path.strip_prefix(shell::XT_RECENT) {
            // `echo +ADDR > /proc/net/xt_recent/NAME` (and `-ADDR`, `/`).
            let now = world.now_ns;
            if let Err(e) =
                crate::ext::recent::proc_write(&mut world.hosts[host], name, text.as_bytes(), now)
            {
                out.stderr.push_str(&match e {
                    crate::ext::recent::ProcError::NoEntry => {
                        format!("sh: {path}: No such file or directory\n")
                    }
                    _ => format!("sh: {}: write error: {}\n", cmd.argv[0], e.strerror()),
                });
                out.exit = 1;
            }
        } else if path.starts_with("/proc/") {
            if let Err(e) = sysctl::proc_write(&mut world.hosts[host], path, &text) {
                out.stderr.push_str(&e);
                out.exit = 1;
            }
        } else {
            let entry = world.hosts[host].files.entry(path.clone()).or_default();
            if !*append {
                entry.clear();
            }
            entry.push_str(&text);
        }
    }
    out
}

/// Drains the reports of the packets sent since the last call.
pub fn take_journal(world: &mut World) -> (Vec<Report>, usize) {
    let dropped = std::mem::take(&mut world.tools.journal_dropped);
    (std::mem::take(&mut world.tools.journal), dropped)
}
