//! `nmap` (7.93, run as root): host discovery (ARP on the local link; echo,
//! SYN to 443, ACK to 80 and timestamp beyond a router), SYN (`-sS`,
//! default), connect (`-sT`) and UDP (`-sU`) scans, ping scans (`-sn`),
//! `-Pn`, `-n`, `-p` lists and ranges, `-F`, `--top-ports`, `--open`, `-sV`
//! (the lab's service names and versions), and nmap's report: states
//! (open, closed, filtered, open|filtered) as the simulated replies make
//! them, "Not shown" summaries, the MAC line and the timing line.
//!
//! The default port lists approximate nmap's "top 1000": nmap's own
//! frequency table is not part of the playground, so the defaults are the
//! ports named in `/etc/services` plus the lowest others, 1000 per protocol.

use super::net::{self, SEC};
use super::util;
use crate::command::Output;
use crate::packet::{build_icmp, build_tcp, build_udp, tcp_flags, TcpFields, L4};
use crate::sim::iface::mac_text;
use crate::sim::world::{World, LINK_DELAY_NS};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

const SERVICES: &str = include_str!("../../data/services");

/// Service names nmap prints where they differ from `/etc/services`
/// (checked against nmap 7.93).
const NMAP_NAMES: &[(u16, &str, &str)] = &[
    (69, "tcp", "tftp"),
    (111, "tcp", "rpcbind"),
    (111, "udp", "rpcbind"),
    (123, "tcp", "ntp"),
    (135, "tcp", "msrpc"),
    (143, "tcp", "imap"),
    (636, "tcp", "ldapssl"),
    (1521, "tcp", "oracle"),
    (1723, "tcp", "pptp"),
    (1883, "tcp", "mqtt"),
    (1900, "udp", "upnp"),
    (2222, "tcp", "EtherNetIP-1"),
    (3000, "tcp", "ppp"),
    (3128, "tcp", "squid-http"),
    (4444, "tcp", "krb524"),
    (4500, "udp", "nat-t-ike"),
    (5000, "tcp", "upnp"),
    (5353, "tcp", "mdns"),
    (5353, "udp", "zeroconf"),
    (5900, "tcp", "vnc"),
    (5985, "tcp", "wsman"),
    (6000, "tcp", "X11"),
    (6443, "tcp", "sun-sr-https"),
    (6667, "tcp", "irc"),
    (7001, "tcp", "afs3-callback"),
    (8000, "tcp", "http-alt"),
    (8008, "tcp", "http"),
    (8080, "tcp", "http-proxy"),
    (8081, "tcp", "blackice-icecap"),
    (8443, "tcp", "https-alt"),
    (8888, "tcp", "sun-answerbook"),
    (9000, "tcp", "cslistener"),
    (9090, "tcp", "zeus-admin"),
    (9100, "tcp", "jetdirect"),
    (9200, "tcp", "wap-wsp"),
    (10000, "tcp", "snet-sensor-mgmt"),
    (11211, "tcp", "memcache"),
    (11211, "udp", "memcache"),
    (27017, "tcp", "mongod"),
    (67, "udp", "dhcps"),
    (68, "udp", "dhcpc"),
    (80, "udp", "http"),
    (162, "udp", "snmptrap"),
    (1813, "udp", "radacct"),
    (54, "tcp", "xns-ch"),
    (5354, "tcp", "mdnsresponder"),
    (5354, "udp", "mdnsresponder"),
    (54, "udp", "xns-ch"),
    (81, "tcp", "hosts2-ns"),
    (100, "tcp", "newacct"),
];

/// The service name nmap shows for a port.
pub fn service_name(port: u16, proto: &str) -> String {
    if let Some((_, _, n)) = NMAP_NAMES
        .iter()
        .find(|(p, pr, _)| *p == port && *pr == proto)
    {
        return n.to_string();
    }
    // Names registered for TCP usually hold for UDP in nmap's table.
    util::service(port, proto)
        .or_else(|| util::service(port, "tcp"))
        .map(String::from)
        .unwrap_or_else(|| "unknown".into())
}

/// The default (`top 1000`) ports of a protocol; see the module comment.
pub fn default_ports(proto: &str) -> Vec<u16> {
    let mut named = BTreeSet::new();
    for line in SERVICES.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut w = line.split_whitespace();
        if let (Some(_), Some(pp)) = (w.next(), w.next()) {
            if let Some((p, pr)) = pp.split_once('/') {
                if pr == proto {
                    if let Ok(p) = p.parse::<u16>() {
                        named.insert(p);
                    }
                }
            }
        }
    }
    let mut all = named.clone();
    let mut p = 1u16;
    while all.len() < 1000 && p < 65535 {
        all.insert(p);
        p += 1;
    }
    all.into_iter().collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scan {
    Syn,
    Connect,
    Udp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Closed,
    Open,
    Filtered,
    OpenFiltered,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Closed => "closed",
            State::Filtered => "filtered",
            State::OpenFiltered => "open|filtered",
        }
    }
}

struct Opts {
    scans: Vec<Scan>,
    ping_only: bool,
    no_ping: bool,
    numeric: bool,
    version: bool,
    open_only: bool,
    fast: bool,
    top: Option<usize>,
    tcp_ports: Option<Vec<u16>>,
    udp_ports: Option<Vec<u16>>,
    targets: Vec<String>,
}

fn quit(msg: &str) -> Output {
    Output::err(format!("{msg}\nQUITTING!\n"), 1)
}

/// `-p` specification: `22,80,1000-2000,-100,60000-,T:22,U:53,http`.
/// TCP and UDP ports of a `-p` list (`None`: not given for that protocol).
type PortLists = (Option<Vec<u16>>, Option<Vec<u16>>);

fn parse_ports(spec: &str) -> Result<PortLists, Output> {
    let mut tcp = BTreeSet::new();
    let mut udp = BTreeSet::new();
    let mut any_tcp = false;
    let mut any_udp = false;
    let mut which = 0u8; // 0 both, 1 tcp, 2 udp
    let illegal = || {
        quit("Your port specifications are illegal.  Example of proper form: \"-100,200-1024,T:3000-4000,U:60000-\"")
    };
    for mut item in spec.split(',') {
        if let Some(r) = item.strip_prefix("T:") {
            which = 1;
            item = r;
        } else if let Some(r) = item.strip_prefix("U:") {
            which = 2;
            item = r;
        }
        if item.is_empty() {
            return Err(illegal());
        }
        let num = |s: &str, dflt: u32| -> Result<u32, Output> {
            if s.is_empty() {
                return Ok(dflt);
            }
            let n: u64 = s.parse().map_err(|_| illegal())?;
            if n > 65535 {
                return Err(quit(
                    "Ports specified must be between 0 and 65535 inclusive",
                ));
            }
            Ok(n as u32)
        };
        let range: Vec<u16> = if item
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '-')
        {
            let (a, b) = match item.split_once('-') {
                Some((a, b)) => (num(a, 1)?, num(b, 65535)?),
                None => {
                    let n = num(item, 0)?;
                    (n, n)
                }
            };
            if a > b {
                return Err(illegal());
            }
            (a..=b).map(|p| p as u16).collect()
        } else {
            let t = crate::netdb::service_port(item, "tcp");
            let u = crate::netdb::service_port(item, "udp");
            if t.is_none() && u.is_none() {
                return Err(quit(&format!(
                    "Found no matches for the service mask '{item}' and your specified protocols"
                )));
            }
            if which != 2 {
                if let Some(p) = t {
                    tcp.insert(p);
                    any_tcp = true;
                }
            }
            if which != 1 {
                if let Some(p) = u {
                    udp.insert(p);
                    any_udp = true;
                }
            }
            continue;
        };
        if which != 2 {
            tcp.extend(range.iter().copied());
            any_tcp = true;
        }
        if which != 1 {
            udp.extend(range);
            any_udp = true;
        }
    }
    Ok((
        any_tcp.then(|| tcp.into_iter().collect()),
        any_udp.then(|| udp.into_iter().collect()),
    ))
}

fn parse(argv: &[String]) -> Result<Opts, Output> {
    let mut o = Opts {
        scans: Vec::new(),
        ping_only: false,
        no_ping: false,
        numeric: false,
        version: false,
        open_only: false,
        fast: false,
        top: None,
        tcp_ports: None,
        udp_ports: None,
        targets: Vec::new(),
    };
    let mut i = 1;
    let mut port_spec = None;
    while i < argv.len() {
        let a = argv[i].as_str();
        match a {
            "-sS" => o.scans.push(Scan::Syn),
            "-sT" => o.scans.push(Scan::Connect),
            "-sU" => o.scans.push(Scan::Udp),
            "-sn" | "-sP" => o.ping_only = true,
            "-sV" | "-A" => o.version = true,
            "-Pn" | "-PN" => o.no_ping = true,
            "-n" => o.numeric = true,
            "-F" => o.fast = true,
            "--open" => o.open_only = true,
            "-R" | "-r" | "-v" | "-vv" | "--reason" | "-O" | "-sC" | "--version-light"
            | "--version-all" => {}
            "--top-ports" => {
                i += 1;
                o.top = argv.get(i).and_then(|v| v.parse().ok());
                if o.top.is_none() {
                    return Err(Output::err(
                        "--top-ports should be an integer 1 or greater\n",
                        1,
                    ));
                }
            }
            "-p" => {
                i += 1;
                port_spec = argv.get(i).cloned();
                if port_spec.is_none() {
                    return Err(Output::err(
                        "nmap: option requires an argument -- 'p'\nSee the output of nmap -h for a summary of options.\n",
                        255,
                    ));
                }
            }
            "-e" | "--max-retries" | "--host-timeout" | "--min-rate" | "--max-rate"
            | "--version-intensity" => i += 1,
            _ if a.starts_with("-T") && a.len() == 3 => {}
            _ if a.starts_with("-p") => port_spec = Some(a[2..].to_string()),
            _ if a.starts_with("--") => {
                return Err(Output::err(
                    format!("nmap: unrecognized option '{a}'\nSee the output of nmap -h for a summary of options.\n"),
                    255,
                ))
            }
            _ if a.starts_with("-s") => {
                return Err(Output::err(
                    format!("Scantype {} not supported\n", &a[2..]),
                    1,
                ))
            }
            _ if a.starts_with('-') && a.len() > 1 => {
                return Err(Output::err(
                    format!("nmap: invalid option -- '{}'\nSee the output of nmap -h for a summary of options.\n", a.chars().nth(1).unwrap_or('-')),
                    255,
                ))
            }
            _ => o.targets.push(a.to_string()),
        }
        i += 1;
    }
    if let Some(spec) = port_spec {
        let (t, u) = parse_ports(&spec)?;
        o.tcp_ports = t;
        o.udp_ports = u;
    }
    if o.scans.is_empty() && !o.ping_only {
        o.scans.push(Scan::Syn);
    }
    crate::sort::sort(&mut o.scans);
    o.scans.dedup();
    Ok(o)
}

/// Addresses of a target: `10.0.0.1`, `10.0.0.0/29`, `10.0.0.1-5`, a name.
fn expand(world: &World, host: usize, t: &str) -> Option<Vec<(Ipv4Addr, Option<String>)>> {
    if let Some((net, len)) = t.split_once('/') {
        let base = util::resolve(world, host, net)?.addr;
        let len: u32 = len.parse().ok().filter(|l| (16..=32).contains(l))?;
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        let first = u32::from(base) & mask;
        return Some(
            (0..(1u64 << (32 - len)))
                .map(|k| (Ipv4Addr::from(first + k as u32), None))
                .collect(),
        );
    }
    if let Some((pre, last)) = t.rsplit_once('.') {
        if let Some((a, b)) = last.split_once('-') {
            let base: Ipv4Addr = format!("{pre}.0").parse().ok()?;
            let (a, b): (u8, u8) = (a.parse().ok()?, b.parse().ok()?);
            if a > b {
                return None;
            }
            let o = base.octets();
            return Some(
                (a..=b)
                    .map(|x| (Ipv4Addr::new(o[0], o[1], o[2], x), None))
                    .collect(),
            );
        }
    }
    let r = util::resolve(world, host, t)?;
    Some(vec![(r.addr, (!r.numeric).then(|| t.to_string()))])
}

/// nmap's `num_to_string_sigdigits(x, 2)`.
fn sig2(x: f64) -> String {
    if x <= 0.0 {
        return "0.00".into();
    }
    let prec = (1 - x.log10().floor() as i32).max(0) as usize;
    crate::decimal::fixed(x, prec)
}

struct PortResult {
    proto: &'static str,
    port: u16,
    state: State,
    reason: &'static str,
}

fn icmp_reason(t: u8, code: u8) -> &'static str {
    match (t, code) {
        (3, 0) => "net-unreach",
        (3, 1) => "host-unreach",
        (3, 2) => "proto-unreach",
        (3, 3) => "port-unreach",
        (3, 9) => "net-prohibited",
        (3, 10) => "host-prohibited",
        (3, 13) => "admin-prohibited",
        (11, _) => "time-exceeded",
        _ => "unreach",
    }
}

/// What came back for one probe.
enum Answer {
    Tcp(u8, u64),
    Udp(u64),
    Icmp(u8, u8, Ipv4Addr, u64),
    Nothing,
}

#[allow(clippy::too_many_arguments)]
fn probe(
    world: &mut World,
    host: usize,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    port: u16,
    udp: bool,
    tries: usize,
) -> Answer {
    for _ in 0..tries {
        let mut ip = net::ip_fields(world, host, src, dst);
        ip.ttl = 37 + (util::random(world, host) % 20) as u8;
        let pkt = if udp {
            build_udp(&ip, sport, port, b"")
        } else {
            build_tcp(
                &ip,
                &TcpFields {
                    sport,
                    dport: port,
                    seq: util::random(world, host),
                    ack: 0,
                    flags: tcp_flags::SYN,
                    window: 1024,
                    options: vec![2, 4, 0x05, 0xb4],
                },
                b"",
            )
        };
        let sent = world.now_ns;
        let dels = net::send(world, host, pkt);
        for (h, d) in net::arrived(&dels, host) {
            let rtt = d.time_ns.saturating_sub(sent);
            if h.src == dst {
                match &h.l4 {
                    L4::Tcp(t) if !udp && t.sport == port && t.dport == sport => {
                        return Answer::Tcp(t.flags, rtt)
                    }
                    L4::Udp(u) if udp && u.sport == port && u.dport == sport => {
                        return Answer::Udp(rtt)
                    }
                    _ => {}
                }
            }
            let proto = if udp { 17 } else { 6 };
            if let Some((t, c, from)) = net::icmp_error_about(&h, proto, src, dst, sport, port) {
                return Answer::Icmp(t, c, from, rtt);
            }
        }
    }
    Answer::Nothing
}

/// Host discovery beyond the local link: echo, SYN to 443, ACK to 80,
/// timestamp. Returns the round trip of the first answer.
fn discover_remote(world: &mut World, host: usize, src: Ipv4Addr, dst: Ipv4Addr) -> Option<u64> {
    let id = util::random(world, host) as u16;
    let sport = util::ephemeral_port(world, host);
    let mut best: Option<u64> = None;
    for kind in 0..4 {
        let ip = net::ip_fields(world, host, src, dst);
        let pkt = match kind {
            0 | 3 => {
                let mut rest = [0u8; 4];
                rest[..2].copy_from_slice(&id.to_be_bytes());
                if kind == 0 {
                    build_icmp(&ip, 8, 0, rest, b"")
                } else {
                    build_icmp(&ip, 13, 0, rest, &[0u8; 12])
                }
            }
            _ => build_tcp(
                &ip,
                &TcpFields {
                    sport,
                    dport: if kind == 1 { 443 } else { 80 },
                    seq: util::random(world, host),
                    ack: if kind == 2 {
                        util::random(world, host)
                    } else {
                        0
                    },
                    flags: if kind == 1 {
                        tcp_flags::SYN
                    } else {
                        tcp_flags::ACK
                    },
                    window: 1024,
                    options: if kind == 1 {
                        vec![2, 4, 0x05, 0xb4]
                    } else {
                        vec![]
                    },
                },
                b"",
            ),
        };
        let sent = world.now_ns;
        let dels = net::send(world, host, pkt);
        for (h, d) in net::arrived(&dels, host) {
            if h.src != dst {
                continue;
            }
            let ok = match &h.l4 {
                L4::Icmp(i) => matches!(i.icmp_type, 0 | 14) || i.is_error(),
                L4::Tcp(t) => t.dport == sport,
                _ => false,
            };
            if ok && best.is_none() {
                best = Some(d.time_ns.saturating_sub(sent));
            }
        }
    }
    best
}

/// Whether an address answers ARP on the link of `dev`, and with which MAC.
fn arp(world: &World, host: usize, dev: &str, addr: Ipv4Addr) -> Option<[u8; 6]> {
    let link = world.hosts[host].iface(dev)?.link?;
    world.links.get(link)?.ends.iter().find_map(|(h, i)| {
        let f = world.hosts[*h].iface(i)?;
        (*h != host && f.up && f.addrs.iter().any(|a| a.addr == addr)).then_some(f.mac)
    })
}

// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn run(world: &mut World, host: usize, argv: &[String]) -> Output {
    if argv.len() == 1 {
        return Output {
            stdout: "Nmap 7.93 ( https://nmap.org )\nUsage: nmap [Scan Type(s)] [Options] {target specification}\n".into(),
            stderr: String::new(),
            exit: 255,
        };
    }
    let o = match parse(argv) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let start = world.now_ns;
    let t = util::local(world, host, start);
    let mut out = Output {
        stdout: format!(
            "Starting Nmap 7.93 ( https://nmap.org ) at {}-{:02}-{:02} {:02}:{:02} {}\n",
            t.year,
            t.month,
            t.day,
            t.hour,
            t.min,
            world.tools.tz()
        ),
        ..Default::default()
    };
    let mut targets: Vec<(Ipv4Addr, Option<String>)> = Vec::new();
    for t in &o.targets {
        match expand(world, host, t) {
            Some(v) => targets.extend(v),
            None => out
                .stderr
                .push_str(&format!("Failed to resolve \"{t}\".\n")),
        }
    }
    if targets.is_empty() {
        out.stderr
            .push_str("WARNING: No targets were specified, so 0 hosts scanned.\n");
        out.stdout
            .push_str("Nmap done: 0 IP addresses (0 hosts up) scanned in 0.03 seconds\n");
        return out;
    }
    let tcp_list = |o: &Opts| -> Vec<u16> {
        let mut v = o.tcp_ports.clone().unwrap_or_else(|| default_ports("tcp"));
        if o.fast || o.top.is_some() {
            v.truncate(o.top.unwrap_or(100));
        }
        v
    };
    let udp_list = |o: &Opts| -> Vec<u16> {
        let mut v = o.udp_ports.clone().unwrap_or_else(|| default_ports("udp"));
        if o.fast || o.top.is_some() {
            v.truncate(o.top.unwrap_or(100));
        }
        v
    };
    let own = |world: &World, a: Ipv4Addr| {
        a.is_loopback()
            || world.hosts[host]
                .ifaces
                .iter()
                .any(|i| i.addrs.iter().any(|x| x.addr == a))
    };
    if o.ping_only {
        let (locals, others): (Vec<_>, Vec<_>) =
            targets.iter().cloned().partition(|(a, _)| own(world, *a));
        targets = others.into_iter().chain(locals).collect();
    }
    let n_targets = targets.len();
    let mut up = 0usize;
    let mut extra_secs = 0.0f64;
    let mut down_wait = 0.0f64;
    let mut scanned_any = false;
    let mut probes = 0usize;
    for (addr, given) in targets.clone() {
        let label = match &given {
            Some(name) => format!("{name} ({addr})"),
            None if !o.numeric => match util::reverse(world, addr) {
                Some(n) => format!("{n} ({addr})"),
                None => addr.to_string(),
            },
            None => addr.to_string(),
        };
        let Some(path) = net::path(world, host, addr) else {
            continue;
        };
        let is_own = own(world, addr);
        let on_link = path.on_link(addr);
        // Host discovery.
        let mut latency: Option<u64> = None;
        let mut mac = None;
        let alive = if is_own {
            true
        } else if on_link {
            mac = arp(world, host, &path.dev, addr);
            if mac.is_some() {
                latency = Some(2 * LINK_DELAY_NS);
            }
            mac.is_some() || o.no_ping
        } else if o.no_ping {
            true
        } else {
            latency = discover_remote(world, host, path.src, addr);
            // Unanswered discovery waits about 3 s (all hosts in parallel).
            if latency.is_none() {
                down_wait = 3.0;
            }
            latency.is_some()
        };
        if !alive {
            if n_targets == 1 {
                out.stdout.push_str(
                    "Note: Host seems down. If it is really up, but blocking our ping probes, try -Pn\n",
                );
            }
            continue;
        }
        up += 1;
        let mut report = format!("Nmap scan report for {label}\n");
        if o.ping_only {
            match latency {
                Some(l) if !is_own => report.push_str(&format!(
                    "Host is up ({}s latency).\n",
                    sig2(l as f64 / 1e9)
                )),
                _ => report.push_str("Host is up.\n"),
            }
            if let Some(m) = mac {
                report.push_str(&format!(
                    "MAC Address: {} (Unknown)\n",
                    mac_text(&m).to_ascii_uppercase()
                ));
            }
            out.stdout.push_str(&report);
            continue;
        }
        scanned_any = true;
        // Port scans.
        let sport = util::ephemeral_port(world, host);
        let mut results: Vec<PortResult> = Vec::new();
        let mut no_response_tcp = 0usize;
        let mut no_response_udp = 0usize;
        for scan in &o.scans {
            let mut ports = if *scan == Scan::Udp {
                udp_list(&o)
            } else {
                tcp_list(&o)
            };
            // nmap probes ports in random order.
            for k in (1..ports.len()).rev() {
                let j = util::random(world, host) as usize % (k + 1);
                ports.swap(k, j);
            }
            for port in ports {
                probes += 1;
                let (state, reason) = match scan {
                    Scan::Syn | Scan::Udp => {
                        let udp = *scan == Scan::Udp;
                        let a = probe(world, host, path.src, addr, sport, port, udp, 2);
                        match a {
                            Answer::Tcp(f, rtt) => {
                                latency.get_or_insert(rtt);
                                if f & tcp_flags::RST != 0 {
                                    (State::Closed, "reset")
                                } else if f & tcp_flags::SYN != 0 && f & tcp_flags::ACK != 0 {
                                    (State::Open, "syn-ack")
                                } else {
                                    (State::Filtered, "no-response")
                                }
                            }
                            Answer::Udp(rtt) => {
                                latency.get_or_insert(rtt);
                                (State::Open, "udp-response")
                            }
                            Answer::Icmp(t, c, from, rtt) => {
                                if from == addr {
                                    latency.get_or_insert(rtt);
                                }
                                // Port unreachable means closed only when the
                                // target itself says so; from a router (REJECT
                                // on its FORWARD chain) it is a filter.
                                if udp && t == 3 && c == 3 && from == addr {
                                    (State::Closed, "port-unreach")
                                } else {
                                    (State::Filtered, icmp_reason(t, c))
                                }
                            }
                            Answer::Nothing => {
                                if udp {
                                    no_response_udp += 1;
                                    (State::OpenFiltered, "no-response")
                                } else {
                                    no_response_tcp += 1;
                                    (State::Filtered, "no-response")
                                }
                            }
                        }
                    }
                    Scan::Connect => match connect_probe(world, host, addr, port) {
                        Ok(rtt) => {
                            latency.get_or_insert(rtt);
                            (State::Open, "syn-ack")
                        }
                        Err(net::ConnectError::Refused) => (State::Closed, "conn-refused"),
                        Err(net::ConnectError::Icmp {
                            icmp_type: 3,
                            code: 3,
                            ..
                        }) => (State::Closed, "conn-refused"),
                        Err(net::ConnectError::Icmp {
                            icmp_type, code, ..
                        }) => (State::Filtered, icmp_reason(icmp_type, code)),
                        Err(_) => {
                            no_response_tcp += 1;
                            (State::Filtered, "no-response")
                        }
                    },
                };
                results.push(PortResult {
                    proto: if *scan == Scan::Udp { "udp" } else { "tcp" },
                    port,
                    state,
                    reason,
                });
            }
        }
        if no_response_tcp > 0 {
            extra_secs += 1.2;
        }
        if no_response_udp > 0 {
            extra_secs += 1.0 + no_response_udp as f64 * 0.02;
        }
        match latency {
            Some(l) => report.push_str(&format!(
                "Host is up ({}s latency).\n",
                sig2(l.max(5_000) as f64 / 1e9)
            )),
            None => report.push_str("Host is up.\n"),
        }
        // States with more than 25 ports are summarized ("Not shown").
        let mut counts: BTreeMap<State, usize> = BTreeMap::new();
        for r in &results {
            *counts.entry(r.state).or_default() += 1;
        }
        let ignored = |s: State| -> bool {
            if s == State::Open {
                return false;
            }
            if o.open_only && s != State::OpenFiltered {
                return true;
            }
            counts.get(&s).copied().unwrap_or(0) > 25
        };
        let mut ignored_states: Vec<(State, usize)> = counts
            .iter()
            .filter(|(s, _)| ignored(**s))
            .map(|(s, n)| (*s, *n))
            .collect();
        crate::sort::sort_by(&mut ignored_states, |a, b| {
            b.1.cmp(&a.1).then(a.0.cmp(&b.0))
        });
        let mut summary = Vec::new();
        for (s, _) in &ignored_states {
            let mut by: BTreeMap<(&str, &str), usize> = BTreeMap::new();
            for r in results.iter().filter(|r| r.state == *s) {
                *by.entry((r.proto, r.reason)).or_default() += 1;
            }
            let mut groups: Vec<_> = by.into_iter().collect();
            crate::sort::sort_by_key(&mut groups, |g| std::cmp::Reverse(g.1));
            for ((proto, reason), n) in groups {
                summary.push(format!(
                    "{n} {} {proto} port{} ({reason})",
                    s.name(),
                    if n == 1 { "" } else { "s" }
                ));
            }
        }
        let shown: Vec<&PortResult> = results.iter().filter(|r| !ignored(r.state)).collect();
        if shown.is_empty() {
            report.push_str(&format!(
                "All {} scanned ports on {label} are in ignored states.\n",
                results.len()
            ));
        }
        if !summary.is_empty() {
            report.push_str(&format!("Not shown: {}\n", summary.join(", ")));
        } else if !shown.is_empty() {
            report.push('\n');
        }
        if !shown.is_empty() {
            let mut rows: Vec<Vec<String>> = Vec::new();
            let mut header = vec!["PORT".to_string(), "STATE".into(), "SERVICE".into()];
            if o.version {
                header.push("VERSION".into());
            }
            let mut sorted = shown.clone();
            crate::sort::sort_by_key(&mut sorted, |r| (r.proto != "tcp", r.port));
            let target_host = world.hosts.iter().position(|h| {
                h.ifaces
                    .iter()
                    .any(|i| i.addrs.iter().any(|a| a.addr == addr))
            });
            for r in sorted {
                let mut service = service_name(r.port, r.proto);
                let mut version = String::new();
                if o.version && r.state == State::Open {
                    if let Some(th) = target_host {
                        let proto = if r.proto == "tcp" { 6 } else { 17 };
                        if let Some(l) = net::listener(world, th, proto, r.port) {
                            if !l.service.is_empty() {
                                service = l.service.clone();
                            }
                            if let Some(info) = world.tools.services.get(&(
                                world.hosts[th].name.clone(),
                                proto,
                                r.port,
                            )) {
                                version = info.version.clone();
                            }
                        }
                    }
                }
                let mut row = vec![
                    format!("{}/{}", r.port, r.proto),
                    r.state.name().to_string(),
                    service,
                ];
                if o.version {
                    row.push(version);
                }
                rows.push(row);
            }
            let ncol = header.len();
            let mut widths = vec![0usize; ncol];
            for row in std::iter::once(&header).chain(rows.iter()) {
                for (k, c) in row.iter().enumerate() {
                    widths[k] = widths[k].max(c.len());
                }
            }
            for row in std::iter::once(&header).chain(rows.iter()) {
                let mut line = String::new();
                for (k, c) in row.iter().enumerate() {
                    if k + 1 == ncol {
                        line.push_str(c);
                    } else {
                        line.push_str(&format!("{c:<w$} ", w = widths[k]));
                    }
                }
                report.push_str(line.trim_end());
                report.push('\n');
            }
        }
        if let Some(m) = mac {
            report.push_str(&format!(
                "MAC Address: {} (Unknown)\n",
                mac_text(&m).to_ascii_uppercase()
            ));
        }
        report.push('\n');
        out.stdout.push_str(&report);
    }
    if o.version && scanned_any {
        extra_secs += 5.0;
        out.stdout.push_str("Service detection performed. Please report any incorrect results at https://nmap.org/submit/ .\n");
    }
    let elapsed = 0.03 + probes as f64 * 0.0001 + extra_secs + down_wait;
    let end = start + (elapsed * 1e9) as u64;
    if world.now_ns < end {
        world.advance(end - world.now_ns);
    }
    let secs = (world.now_ns - start) as f64 / SEC as f64;
    out.stdout.push_str(&format!(
        "Nmap done: {n_targets} IP address{} ({up} host{} up) scanned in {} seconds\n",
        if n_targets == 1 { "" } else { "es" },
        if up == 1 { "" } else { "s" },
        crate::decimal::fixed(secs, 2)
    ));
    out
}

/// A connect scan of one port: two SYNs at most, no waiting on the lab
/// clock per port (nmap scans ports in parallel).
fn connect_probe(
    world: &mut World,
    host: usize,
    dst: Ipv4Addr,
    port: u16,
) -> Result<u64, net::ConnectError> {
    for _ in 0..2 {
        // A 1 ns limit: one SYN, no waiting on the lab clock.
        match net::connect(world, host, dst, port, Some(1)) {
            Ok(conn) => {
                let rtt = conn.rtt_ns;
                net::abort(world, conn);
                return Ok(rtt);
            }
            Err(net::ConnectError::TimedOut) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(net::ConnectError::TimedOut)
}
