//! `ping` (iputils 20221126): ICMP echo requests through the lab, replies,
//! ICMP errors (`From … Destination Host Unreachable`, `Time to live
//! exceeded`) and the statistics block. Without `-c` or `-w` it sends 4
//! requests (a lab cannot wait for Ctrl-C).

use super::net;
use super::util;
use crate::command::Output;
use crate::packet::{build_icmp, IpFields};
use crate::sim::world::World;
use std::net::Ipv4Addr;

struct Opts {
    count: Option<u64>,
    interval: f64,
    iface: Option<String>,
    ttl: Option<u8>,
    wait: Option<f64>,
    deadline: Option<f64>,
    size: usize,
    quiet: bool,
    numeric: bool,
    /// `-b`: broadcast targets are allowed.
    broadcast: bool,
    target: String,
}

fn usage_error(msg: &str) -> Output {
    Output::err(format!("ping: {msg}\n"), 2)
}

fn bad_arg(v: &str) -> Output {
    Output::err(format!("ping: invalid argument: '{v}'\n"), 1)
}

fn parse(argv: &[String]) -> Result<Opts, Output> {
    let mut o = Opts {
        count: None,
        interval: 1.0,
        iface: None,
        ttl: None,
        wait: None,
        deadline: None,
        size: 56,
        quiet: false,
        numeric: false,
        broadcast: false,
        target: String::new(),
    };
    let mut i = 1;
    let mut target = None;
    while i < argv.len() {
        let a = argv[i].as_str();
        if !a.starts_with('-') || a == "-" {
            target = Some(a.to_string());
            i += 1;
            continue;
        }
        let flag_end = a.char_indices().nth(2).map(|(i, _)| i).unwrap_or(a.len());
        let flag = &a[..flag_end];
        match flag {
            "-q" | "-n" | "-4" | "-v" | "-D" | "-O" | "-b" if a.len() == 2 => {
                match flag {
                    "-q" => o.quiet = true,
                    "-n" => o.numeric = true,
                    "-b" => o.broadcast = true,
                    _ => {}
                }
                i += 1;
            }
            "-c" | "-i" | "-I" | "-t" | "-W" | "-w" | "-s" => {
                let Some((v, used)) = util::opt_value(argv, i, flag) else {
                    return Err(Output::err(
                        format!("ping: option requires an argument -- '{}'\n", &flag[1..]),
                        2,
                    ));
                };
                match flag {
                    "-c" => {
                        let n: u64 = v.parse().map_err(|_| bad_arg(v))?;
                        if n == 0 {
                            return Err(Output::err(
                                format!("ping: invalid argument: '{v}': out of range: 1 <= value <= 9223372036854775807\n"),
                                1,
                            ));
                        }
                        o.count = Some(n);
                    }
                    "-i" => {
                        o.interval = util::parse_secs(v).ok_or_else(|| bad_arg(v))?;
                        if o.interval < 0.002 {
                            return Err(Output::err(
                                "ping: cannot flood; minimal interval allowed for user is 2ms\n",
                                2,
                            ));
                        }
                    }
                    "-I" => o.iface = Some(v.to_string()),
                    "-t" => {
                        let t: u32 = v.parse().map_err(|_| bad_arg(v))?;
                        if !(1..=255).contains(&t) {
                            return Err(Output::err(
                                format!("ping: invalid argument: '{v}': out of range: 0 <= value <= 255\n"),
                                1,
                            ));
                        }
                        o.ttl = Some(t as u8);
                    }
                    "-W" => o.wait = Some(util::parse_secs(v).ok_or_else(|| bad_arg(v))?),
                    "-w" => o.deadline = Some(util::parse_secs(v).ok_or_else(|| bad_arg(v))?),
                    _ => {
                        let s: usize = v.parse().map_err(|_| bad_arg(v))?;
                        if s > 65507 {
                            return Err(Output::err(
                                format!("ping: invalid argument: '{v}': out of range: 0 <= value <= 2147483647\n"),
                                1,
                            ));
                        }
                        o.size = s;
                    }
                }
                i += used;
            }
            _ => {
                let c = a.chars().nth(1).unwrap_or('-');
                return Err(Output::err(format!("ping: invalid option -- '{c}'\n"), 2));
            }
        }
    }
    match target {
        Some(t) => o.target = t,
        None => return Err(usage_error("usage error: Destination address required")),
    }
    Ok(o)
}

/// iputils' rtt format: three decimals below 1 ms … none above 100 ms.
fn rtt_text(us: u64) -> String {
    if us >= 100_000 - 50 {
        format!("{}", (us + 500) / 1000)
    } else if us >= 10_000 - 5 {
        format!("{}.{:01}", (us + 50) / 1000, ((us + 50) % 1000) / 100)
    } else if us >= 1000 {
        format!("{}.{:02}", (us + 5) / 1000, ((us + 5) % 1000) / 10)
    } else {
        format!("{}.{:03}", us / 1000, us % 1000)
    }
}

fn unreach_text(t: u8, code: u8) -> String {
    match (t, code) {
        (3, 0) => "Destination Net Unreachable".into(),
        (3, 1) => "Destination Host Unreachable".into(),
        (3, 2) => "Destination Protocol Unreachable".into(),
        (3, 3) => "Destination Port Unreachable".into(),
        (3, 4) => "Frag needed and DF set (mtu = 0)".into(),
        (3, 5) => "Source Route Failed".into(),
        (3, 6) => "Destination Net Unknown".into(),
        (3, 7) => "Destination Host Unknown".into(),
        (3, 8) => "Source Host Isolated".into(),
        (3, 9) => "Destination Net Prohibited".into(),
        (3, 10) => "Destination Host Prohibited".into(),
        (3, 11) => "Destination Net Unreachable for Type of Service".into(),
        (3, 12) => "Destination Host Unreachable for Type of Service".into(),
        (3, 13) => "Packet filtered".into(),
        (3, 14) => "Precedence Violation".into(),
        (3, 15) => "Precedence Cutoff".into(),
        (3, c) => format!("Dest Unreachable, Bad Code: {c}"),
        (11, 0) => "Time to live exceeded".into(),
        (11, _) => "Frag reassembly time exceeded".into(),
        (12, _) => "Parameter problem: pointer = 0".into(),
        (4, _) => "Source Quench".into(),
        (5, _) => "Redirect Host".into(),
        (t, _) => format!("Bad ICMP type: {t}"),
    }
}

/// One probe's fate.
enum Fate {
    Reply {
        ttl: u8,
        /// Who answered: the target, or for a broadcast or multicast
        /// target the first host to answer.
        from: Ipv4Addr,
        at_ns: u64,
    },
    Error {
        text: String,
        from: Ipv4Addr,
        at_ns: u64,
    },
    Lost,
}

// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn run(world: &mut World, host: usize, argv: &[String]) -> Output {
    let o = match parse(argv) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let Some(target) = util::resolve(world, host, &o.target) else {
        return Output::err(
            format!("ping: {}: Name or service not known\n", o.target),
            2,
        );
    };
    let dst = target.addr;
    // -I takes an interface name or a source address.
    let (path, from_text) = match &o.iface {
        Some(i) => match util::parse_addr(i) {
            Some(a) => {
                if !world.hosts[host]
                    .ifaces
                    .iter()
                    .any(|f| f.addrs.iter().any(|x| x.addr == a))
                {
                    return Output::err("ping: bind: Cannot assign requested address\n", 2);
                }
                let p = net::path(world, host, dst).map(|mut p| {
                    p.src = a;
                    p
                });
                (p, Some(format!("from {a} :")))
            }
            None => {
                if world.hosts[host].iface(i).is_none() {
                    return Output::err(format!("ping: SO_BINDTODEVICE {i}: No such device\n"), 2);
                }
                let p = net::path_via(world, host, i, dst);
                let src = p.as_ref().map(|p| p.src);
                (p, src.map(|s| format!("from {s} {i}:")))
            }
        },
        None => (net::path(world, host, dst), None),
    };
    let Some(path) = path else {
        return Output::err("ping: connect: Network is unreachable\n", 2);
    };
    // The limited broadcast, or the broadcast of one of the host's networks.
    let broadcast = dst.is_broadcast()
        || world.hosts[host].ifaces.iter().any(|i| {
            i.addrs
                .iter()
                .any(|a| a.prefix < 31 && a.broadcast() == dst)
        });
    let mut err = String::new();
    if broadcast {
        if !o.broadcast {
            return Output::err(
                "ping: Do you want to ping broadcast? Then -b. If not, check your local firewall rules\n",
                2,
            );
        }
        err.push_str("WARNING: pinging broadcast address\n");
    }
    let mut out = String::new();
    let head = match &from_text {
        Some(f) => format!(
            "PING {} ({dst}) {f} {}({}) bytes of data.\n",
            target.canon,
            o.size,
            o.size + 28
        ),
        None => format!(
            "PING {} ({dst}) {}({}) bytes of data.\n",
            target.canon,
            o.size,
            o.size + 28
        ),
    };
    out.push_str(&head);
    let who = |world: &World, a: Ipv4Addr| -> String {
        if target.numeric || o.numeric {
            a.to_string()
        } else {
            match util::reverse(world, a) {
                Some(n) => format!("{n} ({a})"),
                None => a.to_string(),
            }
        }
    };
    let interval_ns = util::secs_to_ns(o.interval);
    let wait_ns = util::secs_to_ns(o.wait.unwrap_or(10.0));
    let count = match (o.count, o.deadline) {
        (Some(c), _) => c,
        (None, Some(d)) => ((d / o.interval.max(0.002)).floor() as u64).max(1),
        (None, None) => 4,
    }
    .min(100_000);
    let deadline_ns = o.deadline.map(util::secs_to_ns);
    let id = util::random(world, host) as u16;
    let start = world.now_ns;
    let mut sends: Vec<u64> = Vec::new();
    let mut fates: Vec<Fate> = Vec::new();
    // The answers after a probe's first (probe index, from, ttl, arrival):
    // a broadcast or group target answers from many hosts, a unicast one
    // twice when a copy of the probe (TEE) reached it too.
    let many = broadcast || dst.is_multicast();
    let mut dups: Vec<(usize, Ipv4Addr, u8, u64)> = Vec::new();
    for seq in 1..=count {
        let at = start + (seq - 1) * interval_ns;
        if deadline_ns.is_some_and(|d| at - start >= d) {
            break;
        }
        if world.now_ns < at {
            world.advance(at - world.now_ns);
        }
        let sent_at = world.now_ns;
        sends.push(sent_at);
        let mut ip: IpFields = net::ip_fields(world, host, path.src, dst);
        ip.df = true;
        if dst.is_multicast() {
            // IP_MULTICAST_TTL's default; an unconnected socket's DF
            // packet carries IP ID 0 (`ip_select_ident_segs`).
            ip.ttl = 1;
            ip.id = 0;
        }
        if let Some(t) = o.ttl {
            ip.ttl = t;
        }
        let mut payload = vec![0u8; o.size];
        let stamp = (sent_at / 1000).to_le_bytes();
        for (k, b) in payload.iter_mut().enumerate() {
            *b = if k < 8 { stamp[k] } else { k as u8 };
        }
        let seq16 = seq as u16;
        let mut rest = [0u8; 4];
        rest[..2].copy_from_slice(&id.to_be_bytes());
        rest[2..].copy_from_slice(&seq16.to_be_bytes());
        let pkt = build_icmp(&ip, 8, 0, rest, &payload);
        let dels = net::send(world, host, pkt);
        let mut fate = Fate::Lost;
        for (h, d) in net::arrived(&dels, host) {
            if let Some(i) = h.icmp() {
                if i.icmp_type == 0 && i.id() == id && i.seq() == seq16 {
                    if matches!(fate, Fate::Reply { .. }) {
                        dups.push((fates.len(), h.src, h.ttl, d.time_ns));
                        continue;
                    }
                    fate = Fate::Reply {
                        ttl: h.ttl,
                        from: h.src,
                        at_ns: d.time_ns,
                    };
                    continue;
                }
                if matches!(fate, Fate::Reply { .. }) {
                    continue;
                }
                if let Some((t, c, from)) = net::icmp_error_about(&h, 1, path.src, dst, id, 0) {
                    fate = Fate::Error {
                        text: unreach_text(t, c),
                        from,
                        at_ns: d.time_ns,
                    };
                    break;
                }
            }
        }
        fates.push(fate);
    }
    let last_send = sends.last().copied().unwrap_or(start);
    // ping runs until every probe is answered, or -W after the last one (or
    // the -w deadline); answers arriving by then count.
    let pending_end = match deadline_ns {
        Some(d) => start + d,
        None => last_send + wait_ns,
    };
    let arrival = |f: &Fate| match f {
        Fate::Reply { at_ns, .. } | Fate::Error { at_ns, .. } if *at_ns <= pending_end => {
            Some(*at_ns)
        }
        _ => None,
    };
    let mut end = last_send;
    let mut received = 0u64;
    let mut errors = 0u64;
    let mut rtts: Vec<u64> = Vec::new();
    let mut pipe = 1usize;
    // ping stops once every probe is answered: later duplicates go unseen.
    let all_answered = fates
        .iter()
        .all(|f| matches!(f, Fate::Reply { .. }) && arrival(f).is_some());
    let cutoff = if all_answered {
        fates
            .iter()
            .filter_map(arrival)
            .max()
            .unwrap_or(pending_end)
    } else {
        pending_end
    };
    let mut repeats = 0u64;
    // Lines come out in the order the answers arrive (a probe's first
    // answer: `None`; a duplicate: its index).
    let mut order: Vec<(u64, usize, Option<usize>)> = (0..fates.len())
        .filter_map(|k| arrival(&fates[k]).map(|at| (at, k, None)))
        .chain(
            dups.iter()
                .enumerate()
                // Once every probe is answered ping is gone: a duplicate
                // arriving with the last answer is not read.
                .filter(|(_, d)| d.3 < cutoff || (!all_answered && d.3 == cutoff))
                .map(|(j, d)| (d.3, d.0, Some(j))),
        )
        .collect();
    crate::sort::sort(&mut order);
    for (at, k, dup) in order {
        if let Some(j) = dup {
            // No `(DUP!)` mark for a broadcast or group target.
            let (_, from, ttl, _) = dups[j];
            let mark = if many { "" } else { " (DUP!)" };
            repeats += 1;
            let us = (at - sends[k]) / 1000;
            rtts.push(us);
            end = end.max(at);
            if !o.quiet {
                out.push_str(&format!(
                    "{} bytes from {}: icmp_seq={} ttl={ttl} time={} ms{mark}\n",
                    o.size + 8,
                    who(world, from),
                    k + 1,
                    rtt_text(us)
                ));
            }
            continue;
        }
        let sent = sends[k];
        let at = arrival(&fates[k]).unwrap_or(sent);
        end = end.max(at);
        // Probes sent by then and not yet answered, this one included.
        let sent_by_then = sends.iter().filter(|&&t| t <= at).count();
        pipe = pipe.max(sent_by_then.saturating_sub(k));
        match &fates[k] {
            Fate::Reply { ttl, from, .. } => {
                received += 1;
                let us = (at - sent) / 1000;
                rtts.push(us);
                if !o.quiet {
                    out.push_str(&format!(
                        "{} bytes from {}: icmp_seq={} ttl={ttl} time={} ms\n",
                        o.size + 8,
                        who(world, *from),
                        k + 1,
                        rtt_text(us)
                    ));
                }
            }
            Fate::Error { text, from, .. } => {
                errors += 1;
                if !o.quiet {
                    out.push_str(&format!(
                        "From {} icmp_seq={} {text}\n",
                        who(world, *from),
                        k + 1
                    ));
                }
            }
            Fate::Lost => {}
        }
    }
    let transmitted = fates.len() as u64;
    // ping lingers for the replies it still waits for, up to -W.
    if received + errors < transmitted {
        end = end.max(pending_end);
    }
    if world.now_ns < end {
        world.advance(end - world.now_ns);
    }
    let elapsed_ms = (last_send - start) / 1_000_000
        + rtts.last().copied().unwrap_or(0) / 1000 * u64::from(transmitted > 1);
    let loss = ((transmitted - received) * 100)
        .checked_div(transmitted)
        .unwrap_or(0);
    out.push_str(&format!(
        "\n--- {} ping statistics ---\n{transmitted} packets transmitted, {received} received, ",
        target.canon
    ));
    if repeats > 0 {
        out.push_str(&format!("+{repeats} duplicates, "));
    }
    if errors > 0 {
        out.push_str(&format!("+{errors} errors, "));
    }
    out.push_str(&format!("{loss}% packet loss, time {elapsed_ms}ms\n"));
    let mut tail = Vec::new();
    if !rtts.is_empty() {
        let n = rtts.len() as u64;
        let min = *rtts.iter().min().unwrap_or(&0);
        let max = *rtts.iter().max().unwrap_or(&0);
        let sum: u64 = rtts.iter().sum();
        let sum2: u128 = rtts.iter().map(|&x| (x as u128) * (x as u128)).sum();
        let avg = sum / n;
        let mean2 = sum2 / n as u128;
        let var = mean2.saturating_sub((avg as u128) * (avg as u128));
        let mdev = (var as f64).sqrt() as u64;
        let f = |us: u64| format!("{}.{:03}", us / 1000, us % 1000);
        tail.push(format!(
            "rtt min/avg/max/mdev = {}/{}/{}/{} ms",
            f(min),
            f(avg),
            f(max),
            f(mdev)
        ));
    }
    if pipe > 1 {
        tail.push(format!("pipe {pipe}"));
    }
    out.push_str(&tail.join(", "));
    out.push('\n');
    Output {
        stdout: out,
        stderr: err,
        exit: if received > 0 { 0 } else { 1 },
    }
}

#[cfg(test)]
mod tests {
    use super::rtt_text;

    #[test]
    fn rtt_formats() {
        assert_eq!(rtt_text(40), "0.040");
        assert_eq!(rtt_text(1234), "1.23");
        assert_eq!(rtt_text(12345), "12.3");
        assert_eq!(rtt_text(123456), "123");
    }
}
