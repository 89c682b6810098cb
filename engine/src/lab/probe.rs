//! Reachability probes of lab checks: one TCP SYN, UDP datagram or ICMP echo
//! request sent from a host on a scratch copy of the world, with what
//! happened told from the packets' traces: delivered to a stack, answered,
//! refused by a closed port, rejected by a REJECT rule, dropped (and where).

use super::teaching::{Expect, ReachCheck};
use crate::packet::{build_icmp, build_tcp, build_udp, tcp_flags, Headers, TcpFields, L4};
use crate::sim::tools::{net, util, ToolEnv};
use crate::sim::trace::Step;
use crate::sim::world::{Report, World};
use std::net::Ipv4Addr;

/// A copy of the world to try things on: hosts, links, clock and tool
/// facts, without the reports, journal and wire log of earlier commands
/// (and without the captured frames unless `captures`: only `tcpdump`
/// reads them). Tracing is on.
pub fn scratch(world: &World, captures: bool) -> World {
    let t = &world.tools;
    World {
        hosts: world.hosts.clone(),
        links: world.links.clone(),
        now_ns: world.now_ns,
        captures: if captures {
            world.captures.clone()
        } else {
            Default::default()
        },
        wire: Vec::new(),
        tracing: true,
        reports: Vec::new(),
        delivered: Vec::new(),
        max_packets: world.max_packets,
        tools: ToolEnv {
            boot_ns: t.boot_ns,
            tz_name: t.tz_name.clone(),
            hosts_file: t.hosts_file.clone(),
            resolver: t.resolver,
            services: t.services.clone(),
            backlogs: t.backlogs.clone(),
            journal: Vec::new(),
            journal_dropped: 0,
            send_refused: None,
        },
        run_delay_ns: 0,
    }
}

/// What came back to the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Back {
    Nothing,
    /// SYN-ACK, echo reply, UDP reply.
    Answer,
    /// The target's stack: RST, port or protocol unreachable.
    Refused,
    /// A REJECT rule's RST or ICMP error.
    Rejected,
    /// Another ICMP error (no route, host unreachable, TTL): type, code, sender.
    Unreachable(u8, u8, Ipv4Addr),
}

/// What a probe did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// A host's stack got the probe.
    pub delivered: bool,
    pub back: Back,
    /// What happened, in words.
    pub story: String,
}

impl Probe {
    /// Whether the probe did what `expect` asks.
    pub fn meets(&self, expect: Expect) -> bool {
        match expect {
            Expect::Delivered => self.delivered,
            Expect::Answered => self.back == Back::Answer,
            Expect::Refused => self.back == Back::Refused,
            Expect::Rejected => self.back == Back::Rejected,
            Expect::Dropped => self.back == Back::Nothing,
        }
    }
}

/// The first address of a host (its name table entry's address).
fn first_address(world: &World, host: usize) -> Option<Ipv4Addr> {
    world.hosts[host]
        .ifaces
        .iter()
        .filter(|i| !i.is_loopback())
        .flat_map(|i| i.addrs.iter())
        .map(|a| a.addr)
        .next()
}

/// Sends the probe a reach check describes, on a scratch copy of `world`.
pub fn probe(world: &World, r: &ReachCheck) -> Result<Probe, String> {
    let from = world
        .host_index(&r.from)
        .ok_or_else(|| format!("no host \"{}\" in the lab", r.from))?;
    let dst: Ipv4Addr = match r.to.parse() {
        Ok(a) => a,
        Err(_) => {
            let to = world
                .host_index(&r.to)
                .ok_or_else(|| format!("no host \"{}\" in the lab", r.to))?;
            first_address(world, to).ok_or_else(|| format!("{} has no address", r.to))?
        }
    };
    let (proto, dport) = match (r.proto.as_str(), r.port) {
        ("tcp", Some(p)) => (6u8, p),
        ("udp", Some(p)) => (17, p),
        ("icmp", _) => (1, 0),
        (other, _) => return Err(format!("cannot send a {other} probe")),
    };
    let mut w = scratch(world, false);
    let what = |src: Ipv4Addr| match proto {
        1 => format!("icmp echo {src} -> {dst}"),
        _ => format!("{} {src} -> {dst}:{dport}", r.proto),
    };
    let Some(path) = net::path(&w, from, dst) else {
        return Ok(Probe {
            delivered: false,
            back: Back::Unreachable(3, 0, Ipv4Addr::UNSPECIFIED),
            story: format!(
                "{} to {dst}{} could not be sent: {} has no route to {dst}",
                if proto == 1 {
                    "icmp echo"
                } else {
                    r.proto.as_str()
                },
                if proto == 1 {
                    String::new()
                } else {
                    format!(":{dport}")
                },
                r.from
            ),
        });
    };
    let src = path.src;
    let sport = util::ephemeral_port(&mut w, from);
    let isn = util::random(&mut w, from);
    let ip_id = util::random(&mut w, from) as u16;
    let mut ip = net::ip_fields(&mut w, from, src, dst);
    ip.id = ip_id;
    ip.df = true;
    let pkt = match proto {
        6 => build_tcp(
            &ip,
            &TcpFields {
                sport,
                dport,
                seq: isn,
                ack: 0,
                flags: tcp_flags::SYN,
                window: 64240,
                options: net::syn_options(isn.rotate_left(7)),
            },
            b"",
        ),
        17 => build_udp(&ip, sport, dport, b"iptplay check\n"),
        _ => {
            let mut rest = [0u8; 4];
            rest[..2].copy_from_slice(&sport.to_be_bytes());
            rest[2..].copy_from_slice(&1u16.to_be_bytes());
            build_icmp(&ip, 8, 0, rest, &[0x42; 56])
        }
    };
    if proto != 1 {
        net::open_socket(&mut w, from, proto, sport, src);
    }
    w.send(from, pkt);
    let reports = std::mem::take(&mut w.reports);
    let dels = std::mem::take(&mut w.delivered);

    let is_probe = |h: &Headers| {
        h.id == ip_id
            && h.proto == proto
            && match &h.l4 {
                L4::Tcp(t) => {
                    t.seq == isn && t.flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN
                }
                L4::Udp(_) => true,
                L4::Icmp(i) => i.icmp_type == 8 && i.seq() == 1,
                _ => false,
            }
    };
    let probe_reports: Vec<&Report> = reports
        .iter()
        .filter(|r| r.trace.headers.as_ref().is_some_and(is_probe))
        .collect();
    let delivered = dels
        .iter()
        .any(|d| !d.pkt.meta.tee_clone && d.pkt.headers().ok().is_some_and(|h| is_probe(&h)));
    // What came back to the sender.
    let mut back = Back::Nothing;
    let mut error: Option<(u8, u8, Ipv4Addr)> = None;
    let mut rst = false;
    for (h, _) in net::arrived(&dels, from) {
        match &h.l4 {
            L4::Tcp(t) if proto == 6 && h.src == dst && t.sport == dport && t.dport == sport => {
                if t.flags & tcp_flags::RST != 0 {
                    rst = true;
                } else if t.flags & (tcp_flags::SYN | tcp_flags::ACK)
                    == tcp_flags::SYN | tcp_flags::ACK
                    && t.ack == isn.wrapping_add(1)
                {
                    back = Back::Answer;
                }
            }
            L4::Udp(u) if proto == 17 && h.src == dst && u.sport == dport && u.dport == sport => {
                back = Back::Answer;
            }
            L4::Icmp(i) if proto == 1 && i.icmp_type == 0 && i.id() == sport && h.src == dst => {
                back = Back::Answer;
            }
            _ => {
                if let Some(e) = net::icmp_error_about(&h, proto, src, dst, sport, dport) {
                    error.get_or_insert(e);
                }
            }
        }
    }
    let rejected_by = probe_reports.iter().find_map(|r| {
        r.trace.steps.iter().find(|s| {
            s.matched
                && s.verdict
                    .as_deref()
                    .is_some_and(|v| v.starts_with("REJECT"))
        })
    });
    if back == Back::Nothing && (rst || error.is_some()) {
        back = match (rejected_by, rst, error) {
            (Some(_), _, _) => Back::Rejected,
            (None, true, _) => Back::Refused,
            (None, false, Some((3, 2 | 3, _))) => Back::Refused,
            (None, false, Some((t, c, from))) => Back::Unreachable(t, c, from),
            (None, false, None) => Back::Nothing,
        };
    }

    // The story.
    let mut story = what(src);
    let last = probe_reports.last().copied();
    if delivered {
        let at = probe_reports
            .iter()
            .find(|r| r.outcome.starts_with("delivered to"));
        match at {
            Some(r) => {
                story.push_str(" was ");
                story.push_str(&r.outcome);
                if let Some(s) = deciding(r, &["ACCEPT", "policy ACCEPT"]) {
                    story.push_str(&format!(" ({})", step_words(&w, s)));
                }
            }
            None => story.push_str(" was delivered"),
        }
        match &back {
            Back::Answer => story.push_str(match proto {
                6 => ", and the SYN-ACK came back",
                17 => ", and a reply came back",
                _ => ", and the echo reply came back",
            }),
            Back::Refused => story.push_str(&format!(
                ", which refused it ({})",
                if rst {
                    "RST: port closed"
                } else {
                    "ICMP port unreachable"
                }
            )),
            Back::Rejected => {}
            Back::Unreachable(t, c, f) => {
                story.push_str(&format!(", but {} came back from {f}", icmp_words(*t, *c)))
            }
            Back::Nothing => {
                story.push_str(", but nothing came back");
                let ok = |o: &str| {
                    ["delivered to", "sent by", "forwarded by"]
                        .iter()
                        .any(|p| o.starts_with(p))
                };
                if let Some(d) = reports
                    .iter()
                    .filter(|r| !r.trace.headers.as_ref().is_some_and(is_probe))
                    .find(|r| !ok(&r.outcome))
                {
                    let fate = drop_words(&w, d);
                    if fate.starts_with("dropped") {
                        story.push_str(&format!(" (the answer was {fate})"));
                    } else {
                        story.push_str(&format!(" (the answer: {fate})"));
                    }
                }
            }
        }
    } else {
        match (&back, rejected_by) {
            (Back::Rejected, Some(s)) => {
                story.push_str(&format!(" was rejected by {}", step_words(&w, s)));
            }
            (Back::Unreachable(t, c, f), _) => {
                story.push_str(&format!(" got {} from {f}", icmp_words(*t, *c)));
                if let Some(r) = last {
                    story.push_str(&format!(" ({})", r.outcome));
                }
            }
            _ => match last {
                Some(r) if r.outcome.starts_with("dropped") => {
                    story.push_str(" was ");
                    story.push_str(&drop_words(&w, r));
                }
                Some(r) => {
                    story.push_str(": ");
                    story.push_str(&r.outcome);
                    story.push_str(", and nothing came back");
                }
                None => story.push_str(" went nowhere"),
            },
        }
    }
    if back == Back::Rejected && delivered {
        if let Some(s) = rejected_by {
            story.push_str(&format!(", and rejected by {}", step_words(&w, s)));
        }
    }
    Ok(Probe {
        delivered,
        back,
        story,
    })
}

/// The last matched step of a report whose verdict is one of `verdicts`.
fn deciding<'a>(r: &'a Report, verdicts: &[&str]) -> Option<&'a Step> {
    r.trace
        .steps
        .iter()
        .rev()
        .find(|s| s.matched && s.verdict.as_deref().is_some_and(|v| verdicts.contains(&v)))
}

/// "dropped by fw filter INPUT rule 3 (-p tcp -m tcp --dport 22 -j DROP)", or the outcome.
fn drop_words(world: &World, r: &Report) -> String {
    let step = r.trace.steps.iter().rev().find(|s| {
        s.matched
            && s.verdict.as_deref().is_some_and(|v| {
                v == "DROP" || v == "policy DROP" || v.starts_with("DROP ") || v.ends_with(", DROP")
            })
    });
    match step {
        Some(s) => format!("dropped by {}", step_words(world, s)),
        None => r.outcome.clone(),
    }
}

/// "fw filter INPUT rule 3 (-p tcp -m tcp --dport 22 -j DROP)" or "fw filter INPUT policy DROP".
pub fn step_words(world: &World, s: &Step) -> String {
    match s.rule {
        Some(n) => {
            let spec = world
                .host_index(&s.host)
                .and_then(|h| world.hosts[h].ruleset.table(&s.table))
                .and_then(|t| t.chain(&s.chain))
                .and_then(|c| c.rules.get(n.wrapping_sub(1)))
                .map(|rule| rule.spec_text().trim().to_string());
            match spec {
                Some(spec) => format!("{} {} {} rule {n} ({spec})", s.host, s.table, s.chain),
                None => format!("{} {} {} rule {n}", s.host, s.table, s.chain),
            }
        }
        None => format!(
            "{} {} {} {}",
            s.host,
            s.table,
            s.chain,
            s.verdict.as_deref().unwrap_or("policy")
        ),
    }
}

fn icmp_words(t: u8, c: u8) -> String {
    match (t, c) {
        (3, 0) => "ICMP net unreachable".into(),
        (3, 1) => "ICMP host unreachable".into(),
        (3, 2) => "ICMP protocol unreachable".into(),
        (3, 3) => "ICMP port unreachable".into(),
        (3, 9) | (3, 10) | (3, 13) => "ICMP administratively prohibited".into(),
        (11, _) => "ICMP time exceeded".into(),
        _ => format!("ICMP type {t} code {c}"),
    }
}
