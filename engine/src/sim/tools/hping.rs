//! `hping3` (3.0.0-alpha-2, Debian): hand-made TCP (`-S -A -F -R -P -U -X
//! -Y`), UDP (`-2`/`--udp`) and ICMP (`-1`) probes with any source (`-a`),
//! ports (`-p`, `-s`, `-k`), TTL (`-t`), window, count and interval, and
//! hping's reply lines and statistics. Without `-c` it sends 4 probes.

use super::net;
use super::util;
use crate::command::Output;
use crate::packet::{build_icmp, build_tcp, build_udp, tcp_flags, TcpFields, L4};
use crate::sim::world::World;
use std::net::Ipv4Addr;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Tcp,
    Udp,
    Icmp,
}

struct Opts {
    mode: Mode,
    flags: u8,
    count: Option<u64>,
    dport: u16,
    dport_inc: u8,
    sport: Option<u16>,
    keep: bool,
    spoof: Option<Ipv4Addr>,
    ttl: u8,
    win: u16,
    data: usize,
    interval_ns: u64,
    numeric: bool,
    quiet: bool,
    icmp_type: u8,
    icmp_code: u8,
    seq: Option<u32>,
    ack: Option<u32>,
    target: Option<String>,
}

fn err(msg: String) -> Output {
    Output::err(msg, 1)
}

fn parse(argv: &[String]) -> Result<Opts, Output> {
    let mut o = Opts {
        mode: Mode::Tcp,
        flags: 0,
        count: None,
        dport: 0,
        dport_inc: 0,
        sport: None,
        keep: false,
        spoof: None,
        ttl: 64,
        // Debian hping3 sends a 512-byte window (its help still says 64).
        win: 512,
        data: 0,
        interval_ns: 1_000_000_000,
        numeric: false,
        quiet: false,
        icmp_type: 8,
        icmp_code: 0,
        seq: None,
        ack: None,
        target: None,
    };
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        let mut next = || -> Result<String, Output> {
            i += 1;
            argv.get(i).cloned().ok_or_else(|| {
                err(format!(
                    "hping3: option requires an argument -- '{}'\n",
                    a.trim_start_matches('-')
                ))
            })
        };
        match a {
            "-S" | "--syn" => o.flags |= tcp_flags::SYN,
            "-A" | "--ack" => o.flags |= tcp_flags::ACK,
            "-F" | "--fin" => o.flags |= tcp_flags::FIN,
            "-R" | "--rst" => o.flags |= tcp_flags::RST,
            "-P" | "--push" => o.flags |= tcp_flags::PSH,
            "-U" | "--urg" => o.flags |= tcp_flags::URG,
            "-X" | "--xmas" => o.flags |= tcp_flags::ECE,
            "-Y" | "--ymas" => o.flags |= tcp_flags::CWR,
            "-1" | "--icmp" => o.mode = Mode::Icmp,
            "-2" | "--udp" => o.mode = Mode::Udp,
            "-n" | "--numeric" => o.numeric = true,
            "-q" | "--quiet" => o.quiet = true,
            "-k" | "--keep" => o.keep = true,
            "-V" | "--verbose" | "-D" | "--debug" | "-y" | "--dontfrag" | "-z" | "--bind" => {}
            "--fast" => o.interval_ns = 100_000_000,
            "--faster" => o.interval_ns = 1_000_000,
            "--icmp-ts" => {
                o.mode = Mode::Icmp;
                o.icmp_type = 13
            }
            "-c" | "--count" => {
                let v = next()?;
                o.count = Some(
                    v.parse()
                        .map_err(|_| err(format!("hping3: invalid count {v}\n")))?,
                )
            }
            "-p" | "--destport" => {
                let v = next()?;
                let digits = v.trim_start_matches('+');
                o.dport_inc = (v.len() - digits.len()).min(2) as u8;
                o.dport = digits
                    .parse()
                    .map_err(|_| err(format!("hping3: invalid port {v}\n")))?;
            }
            "-s" | "--baseport" => {
                let v = next()?;
                o.sport = Some(
                    v.parse()
                        .map_err(|_| err(format!("hping3: invalid port {v}\n")))?,
                )
            }
            "-a" | "--spoof" => {
                let v = next()?;
                o.spoof = Some(
                    util::parse_addr(&v)
                        .ok_or_else(|| err(format!("Unable to resolve '{v}'\n")))?,
                )
            }
            "-t" | "--ttl" => {
                let v = next()?;
                o.ttl = v
                    .parse()
                    .map_err(|_| err(format!("hping3: invalid ttl {v}\n")))?
            }
            "-w" | "--win" => {
                let v = next()?;
                o.win = v
                    .parse()
                    .map_err(|_| err(format!("hping3: invalid window {v}\n")))?
            }
            "-d" | "--data" => {
                let v = next()?;
                o.data = v
                    .parse::<usize>()
                    .ok()
                    .filter(|d| *d <= 65000)
                    .ok_or_else(|| err(format!("hping3: invalid data size {v}\n")))?
            }
            "-M" | "--setseq" => {
                let v = next()?;
                o.seq = v.parse().ok()
            }
            "-L" | "--setack" => {
                let v = next()?;
                o.ack = v.parse().ok()
            }
            "-C" | "--icmptype" => {
                let v = next()?;
                o.icmp_type = v.parse().unwrap_or(8)
            }
            "-K" | "--icmpcode" => {
                let v = next()?;
                o.icmp_code = v.parse().unwrap_or(0)
            }
            "-I" | "--interface" => {
                next()?;
            }
            "-i" | "--interval" => {
                let v = next()?;
                o.interval_ns = match v.strip_prefix('u') {
                    Some(us) => us.parse::<u64>().map(|u| u * 1000),
                    None => v.parse::<u64>().map(|s| s * 1_000_000_000),
                }
                .map_err(|_| err(format!("hping3: invalid interval {v}\n")))?;
            }
            _ if a.starts_with('-') && a.len() > 1 => {
                return Err(err(format!(
                    "hping3: unrecognized option `{a}'\nTry `hping3 --help' for more information.\n"
                )))
            }
            _ => o.target = Some(a.to_string()),
        }
        i += 1;
    }
    Ok(o)
}

/// hping's order of flag letters in replies.
fn reply_flags(f: u8) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (tcp_flags::RST, 'R'),
        (tcp_flags::SYN, 'S'),
        (tcp_flags::ACK, 'A'),
        (tcp_flags::FIN, 'F'),
        (tcp_flags::PSH, 'P'),
        (tcp_flags::URG, 'U'),
        (tcp_flags::ECE, 'X'),
        (tcp_flags::CWR, 'Y'),
    ] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    if s.is_empty() {
        s.push_str("none");
    }
    s
}

/// The flags line of the header (`S set`, `NO FLAGS are set`), letters in
/// the order of the replies' (hping3 3.0.0: `RSAFPUXY set` for all).
fn set_flags(f: u8) -> String {
    let s = reply_flags(f);
    if s == "none" {
        "NO FLAGS are set".into()
    } else {
        format!("{s} set")
    }
}

fn unreach_msg(code: u8) -> String {
    let m = match code {
        0 => "Network Unreachable from",
        1 => "Host Unreachable from",
        2 => "Protocol Unreachable from",
        3 => "Port Unreachable from",
        4 => "Fragmentation Needed/DF set from",
        5 => "Source Route failed from",
        13 => "Packet filtered from",
        14 => "Precedence violation from",
        15 => "precedence cut off from",
        c => return format!("ICMP Unreachable type={c} from"),
    };
    format!("ICMP {m}")
}

// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn run(world: &mut World, host: usize, argv: &[String]) -> Output {
    let o = match parse(argv) {
        Ok(o) => o,
        Err(e) => return e,
    };
    // Without a target hping3 starts its Tcl shell, which reads standard input.
    let Some(target_text) = o.target.clone() else {
        return Output::default();
    };
    let Some(target) = util::resolve(world, host, &target_text) else {
        return Output::err(format!("Unable to resolve '{target_text}'\n"), 1);
    };
    let dst = target.addr;
    let mut out = Output::default();
    let (hdr_len, mode_text) = match o.mode {
        Mode::Tcp => (40, set_flags(o.flags)),
        Mode::Udp => (28, "udp mode set".to_string()),
        Mode::Icmp => (28, "icmp mode set".to_string()),
    };
    let path = net::path(world, host, dst);
    let dev = path.as_ref().map(|p| p.dev.clone());
    if dev.is_none() {
        out.stderr
            .push_str("Warning: Unable to guess the output interface\n");
    }
    out.stdout.push_str(&format!(
        "HPING {target_text} ({} {dst}): {mode_text}, {hdr_len} headers + {} data bytes\n",
        dev.as_deref().unwrap_or("lo"),
        o.data
    ));
    let listen_dev = dev.clone().unwrap_or_else(|| "lo".to_string());
    let Some(path) = path else {
        out.stderr
            .push_str("[send_ip] sendto: Network is unreachable\n");
        out.exit = 1;
        return out;
    };
    let src = o.spoof.unwrap_or(path.src);
    let base = o
        .sport
        .unwrap_or_else(|| 1024 + (util::random(world, host) % 2000) as u16);
    let icmp_id = util::random(world, host) as u16;
    let count = o.count.unwrap_or(4).min(100_000);
    let name = |world: &World, a: Ipv4Addr| -> String {
        if o.numeric {
            String::new()
        } else {
            let n = util::reverse(world, a).unwrap_or_else(|| "UNKNOWN".into());
            format!(
                " get hostname...{}{}{}name={n}",
                "\x08".repeat(15),
                " ".repeat(15),
                "\x08".repeat(15)
            )
        }
    };
    let mut received = 0u64;
    let mut rtts: Vec<f64> = Vec::new();
    let mut dport = o.dport;
    let start = world.now_ns;
    // Answers count until a second after the last probe; later ones (the
    // host unreachable of a neighbour that never answers ARP comes 3 s
    // after its probe) find hping gone.
    let deadline = start
        .saturating_add(count.saturating_sub(1).saturating_mul(o.interval_ns))
        .saturating_add(1_000_000_000);
    for k in 0..count {
        let at = start + k * o.interval_ns;
        if world.now_ns < at {
            world.advance(at - world.now_ns);
        }
        let sport = if o.keep {
            base
        } else {
            base.wrapping_add(k as u16)
        };
        let mut ip = net::ip_fields(world, host, src, dst);
        ip.ttl = o.ttl;
        let payload = vec![b'X'; o.data];
        let pkt = match o.mode {
            Mode::Tcp => {
                let seq = o.seq.unwrap_or_else(|| util::random(world, host));
                let ack = o.ack.unwrap_or_else(|| util::random(world, host));
                build_tcp(
                    &ip,
                    &TcpFields {
                        sport,
                        dport,
                        seq,
                        ack,
                        flags: o.flags,
                        window: o.win,
                        options: vec![],
                    },
                    &payload,
                )
            }
            Mode::Udp => build_udp(&ip, sport, dport, &payload),
            Mode::Icmp => {
                let mut rest = [0u8; 4];
                rest[..2].copy_from_slice(&icmp_id.to_be_bytes());
                rest[2..].copy_from_slice(&(k as u16).to_be_bytes());
                let body = if o.icmp_type == 13 {
                    vec![0u8; 12]
                } else {
                    payload.clone()
                };
                build_icmp(&ip, o.icmp_type, o.icmp_code, rest, &body)
            }
        };
        let sent_at = world.now_ns;
        let dels = net::send(world, host, pkt);
        if let Some(error) = world.tools.send_refused {
            // hping3 gives up at the first failed sendto.
            out.stderr.push_str(&format!("[send_ip] sendto: {error}\n"));
            out.exit = 1;
            return out;
        }
        let mut got_reply = false;
        for (h, d) in net::arrived(&dels, host) {
            // hping reads what comes in on its interface (pcap): an error
            // this host sends itself arrives by lo and goes unseen.
            if h.dst != src
                || d.time_ns > deadline
                || d.pkt.meta.in_iface.as_deref() != Some(listen_dev.as_str())
            {
                continue;
            }
            let rtt = (d.time_ns.saturating_sub(sent_at)) as f64 / 1e6;
            let rtt_text = crate::decimal::fixed(rtt, 1);
            let df = if h.df || h.mf || h.frag_offset != 0 {
                "DF "
            } else {
                ""
            };
            let line = match &h.l4 {
                L4::Tcp(t) if o.mode == Mode::Tcp && h.src == dst && t.dport == sport => {
                    rtts.push(rtt);
                    format!(
                        "len={} ip={} ttl={} {df}id={} sport={} flags={} seq={k} win={} rtt={rtt_text} ms\n",
                        h.total_len,
                        h.src,
                        h.ttl,
                        h.id,
                        t.sport,
                        reply_flags(t.flags),
                        t.window
                    )
                }
                L4::Udp(u) if o.mode == Mode::Udp && h.src == dst && u.dport == sport => {
                    rtts.push(rtt);
                    format!(
                        "len={} ip={} ttl={} {df}id={} seq={k} rtt={rtt_text} ms\n",
                        h.total_len, h.src, h.ttl, h.id
                    )
                }
                L4::Icmp(i)
                    if o.mode == Mode::Icmp
                        && matches!(i.icmp_type, 0 | 14 | 18)
                        && i.id() == icmp_id
                        && h.src == dst =>
                {
                    rtts.push(rtt);
                    format!(
                        "len={} ip={} ttl={} {df}id={} icmp_seq={} rtt={rtt_text} ms\n",
                        h.total_len,
                        h.src,
                        h.ttl,
                        h.id,
                        i.seq()
                    )
                }
                L4::Icmp(i) if i.is_error() && matches!(i.icmp_type, 3 | 11) => {
                    let Some(inner) = i.inner.as_deref() else {
                        continue;
                    };
                    if inner.dst != dst {
                        continue;
                    }
                    if i.icmp_type == 11 {
                        let what = if i.code == 0 {
                            "TTL 0 during transit from"
                        } else {
                            "TTL 0 during reassembly from"
                        };
                        format!("{what} ip={}{}\n", h.src, name(world, h.src))
                    } else {
                        let mut l = format!(
                            "{} ip={}{}\n",
                            unreach_msg(i.code),
                            h.src,
                            name(world, h.src)
                        );
                        if o.mode == Mode::Udp {
                            rtts.push(rtt);
                            l.push_str(&format!("status=0 port={sport} seq={k}\n"));
                        }
                        l
                    }
                }
                _ => continue,
            };
            got_reply = true;
            received += 1;
            if !o.quiet {
                out.stdout.push_str(&line);
            }
            break;
        }
        match o.dport_inc {
            2 => dport = dport.wrapping_add(1),
            1 if got_reply => dport = dport.wrapping_add(1),
            _ => {}
        }
    }
    // Unless every probe was answered, hping waits a second for late replies.
    if received < count {
        world.advance(1_000_000_000);
    }
    let loss = if count == 0 {
        0
    } else {
        ((count as i64 - received as i64) * 100 / count as i64).max(0)
    };
    let (min, avg, max) = if rtts.is_empty() {
        (0.0, 0.0, 0.0)
    } else {
        let min = rtts.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = rtts.iter().cloned().fold(0.0, f64::max);
        (min, rtts.iter().sum::<f64>() / rtts.len() as f64, max)
    };
    out.stderr.push_str(&format!(
        "\n--- {target_text} hping statistic ---\n{count} packets transmitted, {received} packets received, {loss}% packet loss\nround-trip min/avg/max = {}/{}/{} ms\n",
        crate::decimal::fixed(min, 1),
        crate::decimal::fixed(avg, 1),
        crate::decimal::fixed(max, 1)
    ));
    out.exit = if received > 0 { 0 } else { 1 };
    out
}
