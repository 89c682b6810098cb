//! The rule-by-rule path of each packet on both sides, in one shape: the
//! kernel's from nf_tables trace events (a `fuzztrace` table whose base
//! chains at priority -500 set `nftrace` on everything the router receives
//! or sends; rule handles mapped to rule numbers with `nft -a list
//! ruleset`), the simulator's from the steps of its reports.
//!
//! One line per packet and hook it passed: `HOOK: table/chain N verdict,
//! ...` with an entry for every rule that matched (`continue` for rules
//! without a terminal verdict, `jump X`, `goto X`, `accept`, `drop`,
//! `return`) and `policy accept|drop` for a base chain's end. Lines are
//! sorted: the packets a packet causes (REJECT answers, TEE clones, the
//! server's replies) interleave differently on the two sides.

use engine::sim::world::World;
use std::collections::HashMap;

/// `nft add table` … for the trace table (after every `nft flush ruleset`).
pub const TRACE_TABLE: &str = "add table ip fuzztrace; \
     add chain ip fuzztrace pre { type filter hook prerouting priority -500; }; \
     add chain ip fuzztrace out { type filter hook output priority -500; }; \
     add rule ip fuzztrace pre meta nftrace set 1; \
     add rule ip fuzztrace out meta nftrace set 1";

const HOOKS: [&str; 5] = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

/// A NETLINK_NETFILTER socket in the NFNLGRP_NFTRACE group.
pub struct TraceSock(i32);

const NETLINK_NETFILTER: i32 = 12;
const NFNLGRP_NFTRACE: i32 = 9;
const SOL_NETLINK: i32 = 270;
const NETLINK_ADD_MEMBERSHIP: i32 = 1;
/// (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE
const TRACE_MSG: u16 = (10 << 8) | 17;

impl TraceSock {
    /// Opens the socket in the calling thread's namespace.
    pub fn open() -> Result<TraceSock, String> {
        unsafe {
            let fd = libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                NETLINK_NETFILTER,
            );
            if fd < 0 {
                return Err("socket(NETLINK_NETFILTER) failed".into());
            }
            let mut sa: libc::sockaddr_nl = std::mem::zeroed();
            sa.nl_family = libc::AF_NETLINK as u16;
            let group = NFNLGRP_NFTRACE;
            let size: i32 = 16 << 20;
            if libc::bind(
                fd,
                &sa as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            ) != 0
                || libc::setsockopt(
                    fd,
                    SOL_NETLINK,
                    NETLINK_ADD_MEMBERSHIP,
                    &group as *const _ as *const libc::c_void,
                    4,
                ) != 0
            {
                libc::close(fd);
                return Err("joining the nftrace group failed".into());
            }
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                &size as *const _ as *const libc::c_void,
                4,
            );
            Ok(TraceSock(fd))
        }
    }

    /// The events queued since the last read; `Err` when some were lost.
    pub fn read(&self) -> Result<Vec<Event>, Vec<Event>> {
        let mut out = Vec::new();
        let mut lost = false;
        let mut buf = vec![0u8; 65536];
        loop {
            let n =
                unsafe { libc::recv(self.0, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
            if n < 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOBUFS) {
                    lost = true;
                    continue;
                }
                break;
            }
            parse_messages(&buf[..n as usize], &mut out);
        }
        if lost {
            Err(out)
        } else {
            Ok(out)
        }
    }
}

impl Drop for TraceSock {
    fn drop(&mut self) {
        unsafe { libc::close(self.0) };
    }
}

/// One NFT_MSG_TRACE message.
#[derive(Debug, Clone, Default)]
pub struct Event {
    pub id: u32,
    pub table: String,
    pub chain: String,
    pub handle: Option<u64>,
    /// NFT_TRACETYPE_POLICY 1, RETURN 2, RULE 3.
    pub kind: u32,
    pub verdict: Option<i32>,
    pub target: Option<String>,
    /// NFTA_TRACE_POLICY: a base chain's policy verdict.
    pub policy: Option<i32>,
    /// NFTA_TRACE_TRANSPORT_HEADER: the first bytes of the transport
    /// header, in the first event of each base chain a packet passes.
    pub transport: Option<Vec<u8>>,
}

/// The sequence numbers of the SYN-ACKs the router's own stack sent, in
/// order, from the OUTPUT hook's trace events: also those a rule dropped
/// before they reached a wire.
pub fn syn_acks_in_output(events: &[Event]) -> Vec<u32> {
    events
        .iter()
        .filter(|e| e.table == "fuzztrace" && hook_of_trace_chain(&e.chain) == "OUTPUT")
        .filter_map(|e| {
            let t = e.transport.as_deref()?;
            let flags = *t.get(13)?;
            (flags & 0x16 == 0x12).then(|| be32(&t[4..])).flatten()
        })
        .collect()
}

fn attrs(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut v = Vec::new();
    while b.len() >= 4 {
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let ty = u16::from_ne_bytes([b[2], b[3]]) & 0x3fff;
        if len < 4 || len > b.len() {
            break;
        }
        v.push((ty, &b[4..len]));
        b = &b[((len + 3) & !3).min(b.len())..];
    }
    v
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b.split(|c| *c == 0).next().unwrap_or(b)).into_owned()
}

fn be32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

fn parse_messages(mut b: &[u8], out: &mut Vec<Event>) {
    while b.len() >= 16 {
        let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let ty = u16::from_ne_bytes([b[4], b[5]]);
        if len < 16 || len > b.len() {
            break;
        }
        // After the header, the 4-byte nfgenmsg.
        if ty == TRACE_MSG && len >= 20 {
            let mut e = Event::default();
            for (t, v) in attrs(&b[20..len]) {
                match t {
                    1 => e.table = text(v),
                    2 => e.chain = text(v),
                    3 => {
                        e.handle = v
                            .get(..8)
                            .and_then(|x| x.try_into().ok())
                            .map(u64::from_be_bytes)
                    }
                    4 => e.kind = be32(v).unwrap_or(0),
                    5 => {
                        for (vt, vv) in attrs(v) {
                            match vt {
                                1 => e.verdict = be32(vv).map(|c| c as i32),
                                2 => e.target = Some(text(vv)),
                                _ => {}
                            }
                        }
                    }
                    6 => e.id = be32(v).unwrap_or(0),
                    9 => e.transport = Some(v.to_vec()),
                    16 => e.policy = be32(v).map(|c| c as i32),
                    _ => {}
                }
            }
            out.push(e);
        }
        b = &b[((len + 3) & !3).min(b.len())..];
    }
}

/// Rule handles → (chain, 1-based rule number), per table, from `nft -a
/// list ruleset`.
#[derive(Debug, Default, Clone)]
pub struct Handles(HashMap<(String, u64), usize>);

impl Handles {
    pub fn parse(listing: &str) -> Handles {
        let mut map = HashMap::new();
        let (mut table, mut n) = (String::new(), 0usize);
        for line in listing.lines() {
            let l = line.trim();
            if let Some(rest) = l.strip_prefix("table ip ") {
                table = rest.split_whitespace().next().unwrap_or("").to_string();
                continue;
            }
            if l.starts_with("chain ") {
                n = 0;
                continue;
            }
            let Some((_, h)) = l.rsplit_once("# handle ") else {
                continue;
            };
            if let Ok(h) = h.trim().parse::<u64>() {
                n += 1;
                map.insert((table.clone(), h), n);
            }
        }
        Handles(map)
    }
}

fn verdict_word(code: Option<i32>, target: &Option<String>) -> String {
    let t = target.as_deref().unwrap_or("?");
    match code {
        Some(0) => "drop".into(),
        Some(1) => "accept".into(),
        Some(2) => "stolen".into(),
        Some(3) => "queue".into(),
        Some(-1) | None => "continue".into(),
        Some(-2) => "break".into(),
        Some(-3) => format!("jump {t}"),
        Some(-4) => format!("goto {t}"),
        Some(-5) => "return".into(),
        Some(c) => format!("verdict {c}"),
    }
}

fn hook_of_trace_chain(chain: &str) -> &'static str {
    if chain == "pre" {
        "PREROUTING"
    } else {
        "OUTPUT"
    }
}

/// Lines (`HOOK: entry, entry`) of passes, sorted; empty passes left out.
fn lines(passes: Vec<(String, Vec<String>)>) -> Vec<String> {
    let mut v: Vec<String> = passes
        .into_iter()
        .filter(|(_, e)| !e.is_empty())
        .map(|(h, e)| format!("{h}: {}", e.join(", ")))
        .collect();
    v.sort();
    v
}

/// The kernel's paths of one injected packet (and what it caused).
pub fn kernel(events: &[Event], handles: &Handles) -> Vec<String> {
    // Per trace id, in order of first appearance: the passes (hook, entries).
    let mut order: Vec<u32> = Vec::new();
    let mut by_id: HashMap<u32, Vec<(String, Vec<String>)>> = HashMap::new();
    for e in events {
        let passes = by_id.entry(e.id).or_insert_with(|| {
            order.push(e.id);
            Vec::new()
        });
        let hook = if e.table == "fuzztrace" {
            Some(hook_of_trace_chain(&e.chain))
        } else {
            HOOKS.iter().copied().find(|h| *h == e.chain)
        };
        match (hook, passes.last()) {
            (Some(h), Some((cur, _))) if cur == h => {}
            (Some(h), _) => passes.push((h.to_string(), Vec::new())),
            (None, None) => passes.push(("?".into(), Vec::new())),
            (None, Some(_)) => {}
        }
        if e.table == "fuzztrace" {
            continue;
        }
        let what = match e.kind {
            1 => format!("policy {}", verdict_word(e.policy.or(e.verdict), &e.target)),
            // A chain's end without a verdict (Linux 6.18 sends none: an
            // implicit return is left out on both sides).
            2 if e.handle.is_none() => "return".into(),
            // A rule event without a handle: the packet entering the chain.
            3 if e.handle.is_none() => continue,
            2 | 3 => {
                let n = e
                    .handle
                    .and_then(|h| handles.0.get(&(e.table.clone(), h)))
                    .map_or_else(
                        || format!("handle {}", e.handle.unwrap_or(0)),
                        |n| n.to_string(),
                    );
                format!("{n} {}", verdict_word(e.verdict, &e.target))
            }
            k => format!("trace type {k}"),
        };
        if let Some((_, entries)) = passes.last_mut() {
            entries.push(format!("{}/{} {what}", e.table, e.chain));
        }
    }
    lines(
        order
            .into_iter()
            .flat_map(|id| by_id.remove(&id).unwrap_or_default())
            .collect(),
    )
}

/// The simulator's verdict words in the kernel's.
fn sim_verdict(v: &str) -> String {
    let lower = |s: &str| s.to_ascii_lowercase();
    if let Some(p) = v.strip_prefix("policy ") {
        return format!("policy {}", lower(p));
    }
    if v.starts_with("jump ") || v.starts_with("goto ") || v == "continue" {
        return v.into();
    }
    if let Some((_, after)) = v.split_once(", ") {
        return lower(after);
    }
    match v {
        "ACCEPT" | "DROP" | "RETURN" => lower(v),
        _ if v.starts_with("DROP") => "drop".into(),
        _ => v.into(),
    }
}

/// The simulator's paths of the last packet (and what it caused) on `host`.
pub fn sim(w: &World, host: &str) -> Vec<String> {
    let mut passes: Vec<(String, Vec<String>)> = Vec::new();
    for r in &w.reports {
        let mut cur: Option<usize> = None;
        for st in &r.trace.steps {
            if st.host != host {
                continue;
            }
            let Some(v) = st.verdict.as_deref() else {
                continue;
            };
            // Conntrack's own NAT rewrites are no rule's doing.
            if st.rule.is_none() && v.starts_with("conntrack ") {
                continue;
            }
            if !st.matched && !v.starts_with("DROP") {
                continue;
            }
            let what = match st.rule {
                Some(n) => format!("{n} {}", sim_verdict(v)),
                None => sim_verdict(v),
            };
            match cur {
                Some(i) if passes[i].0 == st.hook => {}
                _ => {
                    passes.push((st.hook.clone(), Vec::new()));
                    cur = Some(passes.len() - 1);
                }
            }
            if let Some(i) = cur {
                passes[i]
                    .1
                    .push(format!("{}/{} {what}", st.table, st.chain));
            }
        }
    }
    lines(passes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "table ip fuzztrace { # handle 1
\tchain pre { # handle 1
\t\ttype filter hook prerouting priority -500; policy accept;
\t\tmeta nftrace set 1 # handle 3
\t}
}
table ip filter { # handle 2
\tchain U { # handle 1
\t\tmeta l4proto icmp counter packets 0 bytes 0 # handle 6
\t\tmeta l4proto icmp counter packets 0 bytes 0 return # handle 7
\t}

\tchain FORWARD { # handle 2
\t\ttype filter hook forward priority filter; policy drop;
\t\tmeta l4proto icmp counter packets 0 bytes 0 jump U # handle 3
\t\t counter packets 0 bytes 0 # handle 4
\t}
}
";

    fn ev(id: u32, table: &str, chain: &str, handle: Option<u64>, kind: u32, v: i32) -> Event {
        Event {
            id,
            table: table.into(),
            chain: chain.into(),
            handle,
            kind,
            verdict: Some(v),
            target: (v == -3).then(|| "U".to_string()),
            policy: (kind == 1).then_some(v),
            transport: None,
        }
    }

    #[test]
    fn the_routers_syn_acks_are_read_from_its_output_hook() {
        let tcp = |seq: u32, flags: u8| {
            let mut t = vec![0u8; 20];
            t[4..8].copy_from_slice(&seq.to_be_bytes());
            t[13] = flags;
            Some(t)
        };
        let mut events = vec![
            // The server's SYN-ACK, forwarded: seen in PREROUTING only.
            ev(1, "fuzztrace", "pre", None, 1, 1),
            // The router's SYN-ACK (dropped later in filter OUTPUT).
            ev(2, "fuzztrace", "out", None, 1, 1),
            ev(2, "filter", "OUTPUT", Some(3), 3, 0),
            // Its ACK, and its RST+ACK.
            ev(3, "fuzztrace", "out", None, 1, 1),
            ev(4, "fuzztrace", "out", None, 1, 1),
            ev(5, "fuzztrace", "out", None, 1, 1),
        ];
        events[0].transport = tcp(7, 0x12);
        events[1].transport = tcp(0xdead_beef, 0x12);
        events[3].transport = tcp(8, 0x10);
        events[4].transport = tcp(9, 0x14);
        events[5].transport = tcp(10, 0x12);
        assert_eq!(syn_acks_in_output(&events), vec![0xdead_beef, 10]);
    }

    #[test]
    fn kernel_events_become_numbered_rules_per_packet_and_hook() {
        let h = Handles::parse(LISTING);
        let events = [
            ev(7, "fuzztrace", "pre", Some(3), 3, -1),
            ev(7, "fuzztrace", "pre", None, 1, 1),
            ev(7, "filter", "FORWARD", None, 3, -1),
            ev(7, "filter", "FORWARD", Some(3), 3, -3),
            ev(7, "filter", "U", Some(6), 3, -1),
            ev(7, "filter", "U", Some(7), 3, -5),
            ev(7, "filter", "FORWARD", Some(4), 3, -1),
            ev(7, "filter", "FORWARD", None, 1, 0),
            // Another packet (an answer) with its own id.
            ev(9, "fuzztrace", "out", Some(4), 3, -1),
        ];
        assert_eq!(
            kernel(&events, &h),
            vec![
                "FORWARD: filter/FORWARD 1 jump U, filter/U 1 continue, filter/U 2 return, \
                 filter/FORWARD 2 continue, filter/FORWARD policy drop"
                    .to_string()
            ]
        );
    }

    #[test]
    fn simulator_verdicts_read_as_the_kernel_reports_them() {
        assert_eq!(sim_verdict("LOG, continue"), "continue");
        assert_eq!(sim_verdict("SNAT, ACCEPT"), "accept");
        assert_eq!(sim_verdict("REJECT, DROP"), "drop");
        assert_eq!(sim_verdict("RETURN"), "return");
        assert_eq!(sim_verdict("policy DROP"), "policy drop");
        assert_eq!(sim_verdict("jump U1"), "jump U1");
        assert_eq!(sim_verdict("DROP (the match dropped the packet)"), "drop");
    }
}
