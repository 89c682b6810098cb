//! `ss` (iproute2 6.1) and `netstat` (net-tools 2.10) listing the host's
//! listening sockets: the lab's services and `nc -l` listeners. Tools close
//! their connections when they finish, so there are no established ones.

use super::net::is_socket_marker;
use super::util;
use crate::command::Output;
use crate::sim::host::Listener;
use crate::sim::world::World;
use std::net::Ipv4Addr;

/// Backlog shown as Send-Q of a listening TCP socket (SOMAXCONN).
const BACKLOG: u32 = 4096;

fn backlog(world: &World, host: usize, port: u16) -> u32 {
    world
        .tools
        .backlogs
        .get(&(world.hosts[host].name.clone(), port))
        .copied()
        .unwrap_or(BACKLOG)
}

struct Sel {
    tcp: bool,
    udp: bool,
    listening: bool,
    all: bool,
    numeric: bool,
    process: bool,
}

fn listeners(world: &World, host: usize, proto: u8) -> Vec<Listener> {
    world.hosts[host]
        .listeners
        .iter()
        .filter(|l| l.proto == proto && !is_socket_marker(&l.service))
        .cloned()
        .collect()
}

/// ss's "compact" rendering (output not on a terminal): every column as
/// wide as its widest cell, right-aligned addresses, one space between.
fn ss_render(rows: &[Vec<String>], netid: bool) -> String {
    // Columns: Netid, State, Recv-Q, Send-Q, Local Address:, Port, Peer Address:, Port, Process.
    let header: Vec<&str> = vec![
        "Netid",
        "State",
        "Recv-Q",
        "Send-Q",
        "Local Address:",
        "Port",
        "Peer Address:",
        "Port",
        "Process",
    ];
    let delim = [0usize, 1, 1, 1, 1, 0, 1, 0, 0];
    let right = [false, false, false, false, true, false, true, false, false];
    let enabled: Vec<usize> = (0..9).filter(|&c| netid || c != 0).collect();
    let mut max = [0usize; 9];
    for &c in &enabled {
        max[c] = header[c].len();
        for r in rows {
            max[c] = max[c].max(r[c].len());
        }
    }
    let mut width = [0usize; 9];
    for (k, &c) in enabled.iter().enumerate() {
        width[c] = if k == 0 { max[c] } else { max[c] + delim[c] };
    }
    let mut out = String::new();
    let hdr: Vec<String> = header.iter().map(|s| s.to_string()).collect();
    for row in std::iter::once(&hdr).chain(rows.iter()) {
        let mut line = String::new();
        for (k, &c) in enabled.iter().enumerate() {
            let cell = &row[c];
            let mut printed = 0;
            if k > 0 {
                let d = " ".repeat(delim[c]);
                line.push_str(&d);
                printed = delim[c];
            }
            if right[c] {
                let pad = width[c].saturating_sub(cell.len() + printed);
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                let pad = width[c].saturating_sub(printed + cell.len());
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn port_text(port: u16, proto: &str, numeric: bool) -> String {
    // ss leaves the ephemeral range numeric.
    if numeric || (32768..=60999).contains(&port) {
        return port.to_string();
    }
    util::service(port, proto)
        .map(String::from)
        .unwrap_or_else(|| port.to_string())
}

// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn ss(world: &mut World, host: usize, argv: &[String]) -> Output {
    let mut s = Sel {
        tcp: false,
        udp: false,
        listening: false,
        all: false,
        numeric: false,
        process: false,
    };
    for a in &argv[1..] {
        if let Some(long) = a.strip_prefix("--") {
            match long {
                "tcp" => s.tcp = true,
                "udp" => s.udp = true,
                "listening" => s.listening = true,
                "all" => s.all = true,
                "numeric" => s.numeric = true,
                "processes" => s.process = true,
                "ipv4" => {}
                _ => return Output::err(format!("ss: unrecognized option '{a}'\n"), 255),
            }
            continue;
        }
        let Some(flags) = a.strip_prefix('-') else {
            // Filters (`sport = :22` …) are not simulated: list everything.
            continue;
        };
        for c in flags.chars() {
            match c {
                't' => s.tcp = true,
                'u' => s.udp = true,
                'l' => s.listening = true,
                'a' => s.all = true,
                'n' => s.numeric = true,
                'p' => s.process = true,
                '4' | 'e' | 'm' | 'o' | 'i' | 'H' => {}
                _ => return Output::err(format!("ss: invalid option -- '{c}'\n"), 255),
            }
        }
    }
    let both = s.tcp == s.udp;
    let (tcp, udp) = if both { (true, true) } else { (s.tcp, s.udp) };
    let show_listeners = s.listening || s.all;
    let mut rows: Vec<Vec<String>> = Vec::new();
    if show_listeners {
        let mut add = |proto: u8, l: &Listener, backlog: u32| {
            let (pname, state, sq) = if proto == 6 {
                ("tcp", "LISTEN", backlog)
            } else {
                ("udp", "UNCONN", 0)
            };
            let addr = l.addr.unwrap_or(Ipv4Addr::UNSPECIFIED);
            rows.push(vec![
                pname.to_string(),
                state.to_string(),
                format!("{:<6}", 0),
                format!("{sq:<6}"),
                format!("{addr}:"),
                port_text(l.port, pname, s.numeric),
                "0.0.0.0:".to_string(),
                "*".to_string(),
                String::new(),
            ]);
        };
        if udp {
            for l in listeners(world, host, 17) {
                add(17, &l, 0);
            }
        }
        if tcp {
            for l in listeners(world, host, 6) {
                let b = backlog(world, host, l.port);
                add(6, &l, b);
            }
        }
    }
    Output::ok(ss_render(&rows, both || (s.tcp && s.udp)))
}

// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn netstat(world: &mut World, host: usize, argv: &[String]) -> Output {
    let mut s = Sel {
        tcp: false,
        udp: false,
        listening: false,
        all: false,
        numeric: false,
        process: false,
    };
    for a in &argv[1..] {
        let Some(flags) = a.strip_prefix('-') else {
            continue;
        };
        if let Some(long) = flags.strip_prefix('-') {
            match long {
                "tcp" => s.tcp = true,
                "udp" => s.udp = true,
                "listening" => s.listening = true,
                "all" => s.all = true,
                "numeric" => s.numeric = true,
                "program" => s.process = true,
                _ => return Output::err(format!("netstat: unrecognized option '{a}'\n"), 1),
            }
            continue;
        }
        for c in flags.chars() {
            match c {
                't' => s.tcp = true,
                'u' => s.udp = true,
                'l' => s.listening = true,
                'a' => s.all = true,
                'n' => s.numeric = true,
                'p' => s.process = true,
                '4' | 'e' | 'W' | 'v' => {}
                _ => return Output::err(format!("netstat: invalid option -- '{c}'\n"), 1),
            }
        }
    }
    let (tcp, udp) = if s.tcp == s.udp {
        (true, true)
    } else {
        (s.tcp, s.udp)
    };
    let mut out = String::from(match (s.listening, s.all) {
        (_, true) => "Active Internet connections (servers and established)\n",
        (true, false) => "Active Internet connections (only servers)\n",
        (false, false) => "Active Internet connections (w/o servers)\n",
    });
    out.push_str("Proto Recv-Q Send-Q Local Address           Foreign Address         State      ");
    if s.process {
        out.push_str(" PID/Program name    ");
    }
    out.push('\n');
    if s.listening || s.all {
        let addr_text = |a: Ipv4Addr, port: u16, proto: &str| -> String {
            let host_part = if s.numeric || a.is_unspecified() {
                a.to_string()
            } else {
                util::reverse(world, a).unwrap_or_else(|| a.to_string())
            };
            let port_part = if s.numeric {
                port.to_string()
            } else {
                util::service(port, proto)
                    .map(String::from)
                    .unwrap_or_else(|| port.to_string())
            };
            format!("{host_part}:{port_part}")
        };
        for (proto, pname, state) in [(6u8, "tcp", "LISTEN"), (17, "udp", "")] {
            if (proto == 6 && !tcp) || (proto == 17 && !udp) {
                continue;
            }
            for l in listeners(world, host, proto) {
                let local = addr_text(l.addr.unwrap_or(Ipv4Addr::UNSPECIFIED), l.port, pname);
                let remote = "0.0.0.0:*";
                let mut line = format!(
                    "{pname:<4}  {:>6} {:>6} {local:<23} {remote:<23} {state:<11}",
                    0, 0
                );
                if s.process {
                    line.push_str(&format!(" {:<20}", "-"));
                }
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    Output::ok(out)
}

#[cfg(test)]
mod tests {
    use super::ss_render;

    #[test]
    fn compact_columns_like_ss() {
        let rows = vec![vec![
            "tcp".to_string(),
            "LISTEN".into(),
            "0     ".into(),
            "1     ".into(),
            "10.0.0.2:".into(),
            "8080".into(),
            "0.0.0.0:".into(),
            "*".into(),
            String::new(),
        ]];
        let out = ss_render(&rows, false);
        assert_eq!(
            out,
            "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\nLISTEN 0      1           10.0.0.2:8080      0.0.0.0:*          \n"
        );
    }
}
