//! One group through both sides: the same sets and rules loaded, the same
//! packets injected (replies and ICMP errors addressed from what each side's
//! router actually sent), everything observable compared — restore results,
//! frames per packet, LOG lines per packet, and at the end of each case the
//! counters of `iptables-save -c`, the connections and the set members.

use super::gen::{net, Origin, Ruleset, Step};
use super::kernel::Kernel;
use super::nat_ports::NatPorts;
use super::observe;
use super::path;
use super::sim;
use crate::oracle::Seen;
use engine::packet::{build_icmp_error, parse, IpFields, Packet, L4};
use engine::sim::world::World;
use std::collections::HashMap;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Restore,
    Frames,
    Log,
    Counters,
    Conntrack,
    Timeouts,
    Sets,
    TracePath,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Restore => "restore result",
            Kind::Frames => "frames",
            Kind::Log => "LOG lines",
            Kind::Counters => "counters (iptables-save -c)",
            Kind::Conntrack => "connections",
            Kind::Timeouts => "connection timeouts (seconds to live)",
            Kind::Sets => "set members",
            Kind::TracePath => "trace path (rules met, per packet and hook)",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Mismatch {
    pub kind: Kind,
    /// Index into the steps run (the step at or after which it showed).
    pub step: usize,
    pub kernel: Vec<String>,
    pub sim: Vec<String>,
}

/// What happened to one step on both sides.
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub entry: String,
    pub sent_kernel: String,
    pub sent_sim: String,
    pub kernel_frames: Vec<String>,
    pub sim_frames: Vec<String>,
    pub kernel_log: Vec<String>,
    pub sim_log: Vec<String>,
    /// Counter lines after the step (`FUZZ_WATCH=1` only).
    pub kernel_counters: Vec<String>,
    pub sim_counters: Vec<String>,
    /// The simulator's trace of the step (`FUZZ_WATCH=1` only).
    pub sim_trace: Vec<String>,
    /// The rule-by-rule paths (see `path`), when compared.
    pub kernel_path: Vec<String>,
    pub sim_path: Vec<String>,
}

/// The simulator's traces of the last run, a line per rule step and outcome.
fn trace_lines(w: &World) -> Vec<String> {
    let mut v = Vec::new();
    for r in &w.reports {
        for st in &r.trace.steps {
            v.push(format!(
                "{} {}/{}/{} rule {} {}{}",
                st.host,
                st.hook,
                st.table,
                st.chain,
                st.rule.map_or("-".into(), |n| n.to_string()),
                st.verdict
                    .as_deref()
                    .unwrap_or(if st.matched { "matched" } else { "" }),
                st.failed
                    .as_deref()
                    .map(|f| format!(" ({f})"))
                    .unwrap_or_default()
            ));
        }
        v.push(format!("=> {}", r.outcome));
    }
    v
}

/// `FUZZ_WATCH=1`: record the counters after every packet.
fn watching() -> bool {
    std::env::var("FUZZ_WATCH").is_ok_and(|v| v == "1")
}

/// The counter lines of a save (policies and rules that counted something).
fn counted(save: &[String]) -> Vec<String> {
    save.iter()
        .filter(|l| (l.starts_with(':') || l.starts_with('[')) && !l.contains("[0:0]"))
        .cloned()
        .collect()
}

#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub mismatches: Vec<Mismatch>,
    pub records: Vec<Record>,
    /// Both sides refused the ruleset (the same way): the error.
    pub refused: Option<String>,
    pub packets: usize,
    pub cases: usize,
    /// The kernel's last `iptables-save -c` lines (for coverage figures).
    pub last_save: Vec<String>,
    /// The kernel's random NAT source ports, renamed to the simulator's.
    pub nat_ports: NatPorts,
}

/// How far the two sides' seconds to live of a connection may be apart.
const TIMEOUT_SLACK_SECS: u64 = 2;

/// Per side: the frame its router sent for each step (by step id).
#[derive(Default)]
struct Sent(HashMap<usize, (Seen, Vec<u8>)>);

fn is_icmp_error(h: &engine::packet::Headers) -> bool {
    matches!(&h.l4, L4::Icmp(i) if i.is_error())
}

/// The frame the router sent on behalf of a packet: the packet itself,
/// forwarded or rewritten (same IP ID: the router's own packets have IDs of
/// its choosing), same protocol, not an ICMP error, preferably on the far
/// side; of several (a TEE clone beside the original) the smallest bytes,
/// so the choice does not depend on the order of sending, which differs
/// (the kernel sends a clone first).
fn outbound(origin: Origin, sent: &[u8], frames: &[(Seen, Vec<u8>)]) -> Option<(Seen, Vec<u8>)> {
    let proto = sent[9];
    let id = &sent[4..6];
    let order: &[Seen] = match origin {
        Origin::Client => &[Seen::RouterToServer, Seen::RouterToClient],
        Origin::Server => &[Seen::RouterToClient, Seen::RouterToServer],
        Origin::Router => &[Seen::RouterToServer, Seen::RouterToClient],
    };
    for want in order {
        let best = frames
            .iter()
            .filter(|(s, b)| {
                s == want
                    && b.get(4..6) == Some(id)
                    && parse(b, true).is_ok_and(|h| h.proto == proto && !is_icmp_error(&h))
            })
            .min_by(|a, b| a.1.cmp(&b.1));
        if let Some((s, b)) = best {
            return Some((*s, b.clone()));
        }
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Client([u8; 6]),
    Server([u8; 6]),
    Router,
}

fn at_words(a: At) -> String {
    match a {
        At::Client(m) => format!("into r0 from {}", mac_words(&m)),
        At::Server(m) => format!("into r1 from {}", mac_words(&m)),
        At::Router => "sent by the router".into(),
    }
}

fn mac_words(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Where a reply to a frame seen at `seen` enters, from address `src`.
fn entry_for(seen: Option<Seen>, origin: Origin, src: std::net::Ipv4Addr, fallback: [u8; 6]) -> At {
    let client_mac = net::mac_of(src).unwrap_or(net::CLIENTS[0].1);
    let server_mac = net::mac_of(src).unwrap_or(net::SERVER_MAC);
    match seen {
        Some(Seen::RouterToClient) => At::Client(client_mac),
        Some(_) => At::Server(server_mac),
        None => match origin {
            Origin::Client if fallback != [0; 6] => At::Client(fallback),
            Origin::Client => At::Client(client_mac),
            Origin::Server if fallback != [0; 6] => At::Server(fallback),
            Origin::Server => At::Server(server_mac),
            Origin::Router => At::Router,
        },
    }
}

/// The packet of a step as this side sends it; `None` for a reply or an
/// ICMP error about a packet the router never sent on (a real peer could
/// not answer it).
fn resolve(step: &Step, sent: &Sent) -> Option<(At, Vec<u8>)> {
    if let Some((k, _)) = &step.reply_to {
        let (seen, base) = sent.0.get(k)?;
        let bh = parse(base, true).ok()?;
        let mut p = Packet::new(step.pkt.clone());
        p.data[12..16].copy_from_slice(&bh.dst.octets());
        p.data[16..20].copy_from_slice(&bh.src.octets());
        match &bh.l4 {
            L4::Tcp(_) | L4::Udp(_) if p.data[9] == bh.proto => {
                let (sp, dp) = bh.ports().unwrap_or((0, 0));
                p.set_sport(dp);
                p.set_dport(sp);
            }
            L4::Icmp(i) if p.data[9] == 1 => p.set_icmp_id(i.id()),
            _ => {}
        }
        p.fix_checksums();
        return Some((entry_for(Some(*seen), step.origin, bh.dst, [0; 6]), p.data));
    }
    if let Some((k, _, from_dest)) = &step.quote {
        let (seen, inner) = sent.0.get(k)?;
        let (ih, th) = (parse(inner, true).ok()?, parse(&step.pkt, true).ok()?);
        let src = if *from_dest { ih.dst } else { th.src };
        let (t, code, rest) = match &th.l4 {
            L4::Icmp(i) => (i.icmp_type, i.code, i.rest),
            _ => (3, 3, [0; 4]),
        };
        let ip = IpFields {
            src,
            dst: ih.src,
            ttl: th.ttl,
            tos: th.tos,
            id: th.id,
            df: th.df,
        };
        let p = build_icmp_error(&ip, t, code, rest, inner);
        return Some((entry_for(Some(*seen), step.origin, src, [0; 6]), p.data));
    }
    let at = match step.origin {
        Origin::Client => At::Client(step.src_mac),
        Origin::Server => At::Server(step.src_mac),
        Origin::Router => At::Router,
    };
    Some((at, step.pkt.clone()))
}

fn words(frames: &[(Seen, Vec<u8>)]) -> Vec<String> {
    let mut v: Vec<String> = frames
        .iter()
        .map(|(s, b)| observe::frame(observe::place(*s), b))
        .collect();
    v.sort();
    v
}

/// The TCP or UDP source port of an injected packet.
fn source_port(bytes: &[u8]) -> Option<u16> {
    match parse(bytes, true).ok()?.l4 {
        L4::Tcp(t) => Some(t.sport),
        L4::Udp(u) => Some(u.sport),
        _ => None,
    }
}

fn kernel_cmd(k: &Kernel, argv: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    k.router.cmd(argv, stdin)
}

/// Runs a group (or a shrunk part of one). `stop` ends it at the first mismatch.
pub fn run(k: &mut Kernel, tag: &str, rs: &Ruleset, steps: &[Step], stop: bool) -> Outcome {
    let mut out = Outcome::default();
    k.reset();
    let mut w: World = sim::world();
    let tracing = k.trace_path && k.traces();
    w.tracing = watching() || tracing;
    // Window tracking's switches: the group's values, the defaults otherwise
    // (the kernel's router keeps what the last group set).
    for (key, default) in [
        ("net.netfilter.nf_conntrack_tcp_be_liberal", "0"),
        ("net.netfilter.nf_conntrack_tcp_loose", "1"),
    ] {
        let value = rs
            .sysctls
            .iter()
            .find(|(k, _)| k == key)
            .map_or(default, |(_, v)| v.as_str());
        kernel_cmd(k, &["sysctl", "-qw", &format!("{key}={value}")], None);
        let set = engine::sim::tools::sysctl::set(&mut w.hosts[sim::ROUTER], key, value);
        assert!(set.is_ok(), "the simulator refuses {key}={value}");
    }
    let restore = rs.restore_text(tag);
    let sets = rs.ipset_text();
    if !sets.is_empty() {
        let real = kernel_cmd(k, &["ipset", "restore"], Some(&sets));
        let ours = sim::cmd(&mut w, &["ipset", "restore"], Some(&sets));
        if (real.0, &real.2) != (ours.0, &ours.2) {
            out.mismatches.push(Mismatch {
                kind: Kind::Restore,
                step: 0,
                kernel: vec![format!("ipset restore: exit {}", real.0), real.2],
                sim: vec![format!("ipset restore: exit {}", ours.0), ours.2],
            });
            return out;
        }
    }
    let real = kernel_cmd(k, &["iptables-restore"], Some(&restore));
    let ours = sim::cmd(&mut w, &["iptables-restore"], Some(&restore));
    if (real.0, &real.2) != (ours.0, &ours.2) {
        out.mismatches.push(Mismatch {
            kind: Kind::Restore,
            step: 0,
            kernel: vec![format!("iptables-restore: exit {}", real.0), real.2],
            sim: vec![format!("iptables-restore: exit {}", ours.0), ours.2],
        });
        return out;
    }
    if real.0 != 0 {
        out.refused = Some(real.2);
        return out;
    }
    out.nat_ports = NatPorts::for_rules(&restore);
    k.log(tag);
    let handles = if tracing {
        path::Handles::parse(&kernel_cmd(k, &["nft", "-a", "list", "ruleset"], None).1)
    } else {
        path::Handles::default()
    };
    let (mut ks, mut ss) = (Sent::default(), Sent::default());
    for (i, step) in steps.iter().enumerate() {
        let (kat, kpkt, sat, spkt) = match (resolve(step, &ks), resolve(step, &ss)) {
            (Some((kat, kpkt)), Some((sat, spkt))) => (kat, kpkt, sat, spkt),
            (None, None) => {
                out.records.push(Record {
                    entry: "not sent: it answers a packet the router never sent on".into(),
                    ..Default::default()
                });
                if steps.get(i + 1).is_none_or(|n| n.case != step.case) {
                    out.cases += 1;
                    compare_state(k, &mut w, rs, i, &mut out);
                }
                continue;
            }
            (kr, sr) => {
                // Only one side sent the packet this one answers: already a
                // disagreement about that packet's frames.
                let word = |r: &Option<(At, Vec<u8>)>| match r {
                    Some((_, p)) => observe::packet(p),
                    None => "not sent".to_string(),
                };
                out.mismatches.push(Mismatch {
                    kind: Kind::Frames,
                    step: i,
                    kernel: vec![format!("answer: {}", word(&kr))],
                    sim: vec![format!("answer: {}", word(&sr))],
                });
                break;
            }
        };
        let _ = k.trace_events();
        let sent = match kat {
            At::Client(m) => k.send_client(m, &kpkt),
            At::Server(m) => k.send_server(m, &kpkt),
            At::Router => k.send_router(&kpkt),
        };
        let before = w.hosts[sim::ROUTER].kmsg.len();
        let entry = match sat {
            At::Client(m) => sim::Entry::Client(m),
            At::Server(m) => sim::Entry::Server(m),
            At::Router => sim::Entry::Router,
        };
        // Read now for the router's SYN-ACKs; the rest of the path's events
        // are read after the simulator's run.
        let early_events = tracing.then(|| k.trace_events());
        let traced_output = match &early_events {
            Some(Ok(ev)) => Some(path::syn_acks_in_output(ev)),
            _ => None,
        };
        let (router_isns, server_isns) = sim::kernel_isns(&kpkt, &sent.frames, traced_output);
        w.hosts[sim::ROUTER].fixed_isns = router_isns.into();
        w.hosts[sim::SERVER].fixed_isns = server_isns.into();
        let sframes = sim::send(&mut w, entry, &spkt, sent.at_ns);
        for h in [sim::ROUTER, sim::SERVER] {
            w.hosts[h].fixed_isns.clear();
        }
        out.packets += 1;
        if let Some(f) = outbound(step.origin, &kpkt, &sent.frames) {
            ks.0.insert(step.id, f);
        }
        if let Some(f) = outbound(step.origin, &spkt, &sframes) {
            ss.0.insert(step.id, f);
        }
        let mut kf = words(&sent.frames);
        kf.extend(
            words(&sent.late)
                .into_iter()
                .map(|l| format!("(late, from the packet before) {l}")),
        );
        let sf = words(&sframes);
        let mut kl: Vec<String> = k
            .log(tag)
            .iter()
            .map(|(lvl, t)| observe::mask_log(*lvl, t))
            .collect();
        kl.sort();
        let mut sl: Vec<String> = w.hosts[sim::ROUTER].kmsg[before..]
            .iter()
            .filter(|r| r.text.starts_with(tag))
            .map(|r| observe::mask_log(r.level, &r.text))
            .collect();
        sl.sort();
        let (mut kf, mut kl) = (out.nat_ports.apply_all(&kf), out.nat_ports.apply_all(&kl));
        if kf != sf || kl != sl {
            // A source port NAT moved at random shows first in frames and LOG lines.
            let kct = out.nat_ports.apply_all(&observe::conntrack(&k.conntrack()));
            out.nat_ports
                .learn(&kct, &observe::conntrack(&sim::conntrack(&w)));
            if let Some(sent) = source_port(&kpkt).filter(|_| kpkt == spkt) {
                out.nat_ports.learn_frames(&kf, &sf, sent);
            }
            kf = out.nat_ports.apply_all(&kf);
            kl = out.nat_ports.apply_all(&kl);
        }
        if kf != sf {
            out.mismatches.push(Mismatch {
                kind: Kind::Frames,
                step: i,
                kernel: kf.clone(),
                sim: sf.clone(),
            });
        }
        if kl != sl {
            out.mismatches.push(Mismatch {
                kind: Kind::Log,
                step: i,
                kernel: kl.clone(),
                sim: sl.clone(),
            });
        }
        let (kp, sp) = if tracing {
            let events = match (early_events, k.trace_events()) {
                (Some(Ok(mut a)), Ok(b)) => {
                    a.extend(b);
                    Ok(a)
                }
                (Some(Ok(mut a) | Err(mut a)), Ok(b) | Err(b)) => {
                    a.extend(b);
                    Err(a)
                }
                (None, r) => r,
            };
            let kp = match events {
                Ok(ev) => path::kernel(&ev, &handles),
                Err(ev) => {
                    let mut v = path::kernel(&ev, &handles);
                    v.push("(the kernel lost trace events)".into());
                    v
                }
            };
            (kp, path::sim(&w, "router"))
        } else {
            (Vec::new(), Vec::new())
        };
        if kp != sp {
            out.mismatches.push(Mismatch {
                kind: Kind::TracePath,
                step: i,
                kernel: kp.clone(),
                sim: sp.clone(),
            });
        }
        out.records.push(Record {
            entry: if kat == sat {
                at_words(kat)
            } else {
                format!("kernel: {} / simulator: {}", at_words(kat), at_words(sat))
            },
            sent_kernel: observe::packet(&kpkt),
            sent_sim: observe::packet(&spkt),
            kernel_frames: kf,
            sim_frames: sf,
            kernel_log: kl,
            sim_log: sl,
            kernel_path: kp,
            sim_path: sp,
            ..Default::default()
        });
        if watching() {
            let r = out.records.last_mut().expect("just pushed");
            r.sim_trace = trace_lines(&w);
            r.kernel_counters = counted(&observe::save(
                &kernel_cmd(k, &["iptables-save", "-c"], None).1,
            ));
            r.sim_counters = counted(&observe::save(
                &sim::cmd(&mut w, &["iptables-save", "-c"], None).1,
            ));
        }
        let case_ends = steps.get(i + 1).is_none_or(|n| n.case != step.case);
        if case_ends {
            out.cases += 1;
            compare_state(k, &mut w, rs, i, &mut out);
        }
        if stop && !out.mismatches.is_empty() {
            break;
        }
    }
    out
}

/// Counters, connections and set members after a case.
fn compare_state(k: &Kernel, w: &mut World, rs: &Ruleset, i: usize, out: &mut Outcome) {
    let real = observe::save(&kernel_cmd(k, &["iptables-save", "-c"], None).1);
    let ours = observe::save(&sim::cmd(w, &["iptables-save", "-c"], None).1);
    out.last_save = real.clone();
    if real != ours {
        out.mismatches.push(Mismatch {
            kind: Kind::Counters,
            step: i,
            kernel: real,
            sim: ours,
        });
    }
    let (real_text, our_text) = (k.conntrack(), sim::conntrack(w));
    let real = out.nat_ports.apply_all(&observe::conntrack(&real_text));
    let ours = observe::conntrack(&our_text);
    let real = if real != ours {
        out.nat_ports.learn(&real, &ours);
        out.nat_ports.apply_all(&real)
    } else {
        real
    };
    if real != ours {
        out.mismatches.push(Mismatch {
            kind: Kind::Conntrack,
            step: i,
            kernel: real,
            sim: ours,
        });
    } else {
        // The same connections: each with the same time to live (the
        // kernel's clock ran on while the simulator's waited).
        let ours = observe::conntrack_timeouts(&our_text);
        let differ = |(c, t): &(String, u64)| {
            ours.iter()
                .any(|(oc, ot)| oc == c && t.abs_diff(*ot) > TIMEOUT_SLACK_SECS)
        };
        let real: Vec<(String, u64)> = observe::conntrack_timeouts(&real_text)
            .into_iter()
            .map(|(c, t)| (out.nat_ports.apply(&c), t))
            .collect();
        if real.iter().any(differ) {
            let words = |v: &[(String, u64)]| v.iter().map(|(c, t)| format!("{t}s {c}")).collect();
            out.mismatches.push(Mismatch {
                kind: Kind::Timeouts,
                step: i,
                kernel: words(&real),
                sim: words(&ours),
            });
        }
    }
    if !rs.ipset_text().is_empty() {
        let real = observe::ipset(&kernel_cmd(k, &["ipset", "save"], None).1);
        let ours = observe::ipset(&sim::cmd(w, &["ipset", "save"], None).1);
        if real != ours {
            out.mismatches.push(Mismatch {
                kind: Kind::Sets,
                step: i,
                kernel: real,
                sim: ours,
            });
        }
    }
}

/// Both sides' lines, the differing ones marked; `all`: the agreeing ones too.
fn side_by_side(kernel: &[String], sim: &[String], all: bool) -> String {
    let mut s = String::new();
    let kset: std::collections::BTreeSet<&String> = kernel.iter().collect();
    let sset: std::collections::BTreeSet<&String> = sim.iter().collect();
    for l in kernel {
        let same = sset.contains(l);
        if same && !all {
            continue;
        }
        let mark = if same { " " } else { "-" };
        let _ = writeln!(s, "    {mark} kernel    {l}");
    }
    for l in sim {
        if !kset.contains(l) {
            let _ = writeln!(s, "    + simulator {l}");
        }
    }
    if kernel.is_empty() && sim.is_empty() {
        s.push_str("    (nothing on either side)\n");
    }
    s
}

/// The reproducer: how to rerun, the sets, the ruleset, the packets, and
/// both observations side by side.
pub fn report(rerun: &str, tag: &str, rs: &Ruleset, steps: &[Step], out: &Outcome) -> String {
    let mut s = String::new();
    let first = out.mismatches.first();
    let _ = writeln!(
        s,
        "=== kernel and simulator disagree: {} ===",
        first.map(|m| m.kind.name()).unwrap_or("nothing")
    );
    let _ = writeln!(s, "rerun: {rerun}");
    if !out.nat_ports.is_empty() {
        let _ = writeln!(
            s,
            "(the kernel's random NAT source ports renamed to the simulator's: {})",
            out.nat_ports.words().join(" ")
        );
    }
    for (k, v) in &rs.sysctls {
        let _ = writeln!(s, "--- sysctl -w {k}={v}");
    }
    if !rs.sets.is_empty() {
        let _ = writeln!(s, "--- ipset restore <<EOF\n{}EOF", rs.ipset_text());
    }
    let _ = writeln!(s, "--- iptables-restore <<EOF\n{}EOF", rs.restore_text(tag));
    let _ = writeln!(s, "--- packets (case, where they enter, the packet)");
    for (i, st) in steps.iter().enumerate() {
        let Some(r) = out.records.get(i) else {
            break;
        };
        let _ = writeln!(s, "#{i} case {} {}: {}", st.case, r.entry, r.sent_kernel);
        if r.sent_sim != r.sent_kernel {
            let _ = writeln!(s, "    simulator sent instead: {}", r.sent_sim);
        }
    }
    let _ = writeln!(s, "--- observations ('-' kernel only, '+' simulator only)");
    for (i, r) in out.records.iter().enumerate() {
        let _ = writeln!(s, "#{i} frames:");
        s.push_str(&side_by_side(&r.kernel_frames, &r.sim_frames, true));
        if !r.kernel_log.is_empty() || !r.sim_log.is_empty() {
            let _ = writeln!(s, "#{i} log:");
            s.push_str(&side_by_side(&r.kernel_log, &r.sim_log, true));
        }
        if !r.kernel_path.is_empty() || !r.sim_path.is_empty() {
            let _ = writeln!(s, "#{i} trace path:");
            s.push_str(&side_by_side(&r.kernel_path, &r.sim_path, true));
        }
        if !r.sim_trace.is_empty() {
            let _ = writeln!(s, "#{i} simulator trace:");
            for l in &r.sim_trace {
                let _ = writeln!(s, "      {l}");
            }
        }
        if !r.kernel_counters.is_empty() || !r.sim_counters.is_empty() {
            let _ = writeln!(s, "#{i} counters:");
            s.push_str(&side_by_side(&r.kernel_counters, &r.sim_counters, true));
        }
    }
    for m in &out.mismatches {
        if matches!(m.kind, Kind::Frames | Kind::Log | Kind::TracePath) {
            continue;
        }
        let _ = writeln!(
            s,
            "--- {} after #{} (differing lines):",
            m.kind.name(),
            m.step
        );
        s.push_str(&side_by_side(&m.kernel, &m.sim, m.kind == Kind::Restore));
    }
    s
}
