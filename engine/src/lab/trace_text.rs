//! A readable rendering of packet traces ([`crate::sim::trace::Trace`]):
//! where the packet was, each rule it met (matched, or the first condition
//! that failed), verdicts, rewrites and the events it caused.

use crate::packet::{tcp_flags, Headers, L4};
use crate::sim::trace::{Event, Step};
use crate::sim::world::Report;

/// `TCP 10.0.0.1:40000 > 10.0.0.2:22 [S] ttl 64 len 60`.
pub fn headers_text(h: &Headers) -> String {
    let tail = format!("ttl {} len {}", h.ttl, h.total_len);
    match &h.l4 {
        L4::Tcp(t) => {
            let mut f = String::new();
            for (bit, c) in [
                (tcp_flags::SYN, 'S'),
                (tcp_flags::ACK, 'A'),
                (tcp_flags::FIN, 'F'),
                (tcp_flags::RST, 'R'),
                (tcp_flags::PSH, 'P'),
                (tcp_flags::URG, 'U'),
                (tcp_flags::ECE, 'E'),
                (tcp_flags::CWR, 'C'),
            ] {
                if t.flags & bit != 0 {
                    f.push(c);
                }
            }
            format!(
                "TCP {}:{} > {}:{} [{}] {tail}",
                h.src, t.sport, h.dst, t.dport, f
            )
        }
        L4::Udp(u) => format!("UDP {}:{} > {}:{} {tail}", h.src, u.sport, h.dst, u.dport),
        L4::Icmp(i) => {
            let what = match (i.icmp_type, i.code) {
                (8, _) => format!("echo request id {} seq {}", i.id(), i.seq()),
                (0, _) => format!("echo reply id {} seq {}", i.id(), i.seq()),
                (3, c) => {
                    let about = i
                        .inner
                        .as_deref()
                        .map(|x| format!(" about {}", headers_text(x)))
                        .unwrap_or_default();
                    format!("destination unreachable code {c}{about}")
                }
                (11, _) => "time exceeded".to_string(),
                (t, c) => format!("type {t} code {c}"),
            };
            format!("ICMP {} > {} {what} {tail}", h.src, h.dst)
        }
        L4::Fragment => format!("IP {} > {} fragment proto {} {tail}", h.src, h.dst, h.proto),
        L4::Other => format!("IP {} > {} proto {} {tail}", h.src, h.dst, h.proto),
    }
}

fn step_text(s: &Step) -> String {
    let place = format!("{} {} {}", s.hook, s.table, s.chain);
    let mut line = match (s.rule, s.matched, &s.failed, &s.verdict) {
        (Some(n), false, Some(why), _) => format!("{place} #{n}: no match, {why}"),
        (Some(n), false, None, _) => format!("{place} #{n}: no match"),
        (Some(n), true, _, Some(v)) => format!("{place} #{n}: match -> {v}"),
        (Some(n), true, _, None) => format!("{place} #{n}: match"),
        (None, _, _, Some(v)) => format!("{place}: {v}"),
        (None, _, _, None) => place,
    };
    if let Some(h) = &s.rewritten {
        line.push_str(&format!("\n      now {}", headers_text(h)));
    }
    line
}

fn event_text(e: &Event) -> String {
    match e {
        Event::Log { line, .. } => format!("log: {line}"),
        Event::Emitted { what, headers, .. } => {
            format!("sends {what}: {}", headers_text(headers))
        }
        Event::Conntrack { entry, .. } => format!("conntrack new: {entry}"),
        Event::Delivered { to, .. } => format!("local stack: {to}"),
        Event::Sent { iface, .. } => format!("sent out {iface}"),
        Event::Dropped { reason, .. } => format!("dropped: {reason}"),
        Event::Routed { decision, .. } => format!("routing: {decision}"),
    }
}

/// One report as lines: a header, the steps, the events, the outcome.
pub fn render(r: &Report, number: usize) -> String {
    let mut s = match &r.trace.headers {
        Some(h) => format!("packet {number} on {}: {}\n", r.host, headers_text(h)),
        None => format!("packet {number} on {}\n", r.host),
    };
    for st in &r.trace.steps {
        s.push_str("    ");
        s.push_str(&step_text(st));
        s.push('\n');
    }
    for e in &r.trace.events {
        s.push_str("    ");
        s.push_str(&event_text(e));
        s.push('\n');
    }
    s.push_str(&format!("  => {}\n", r.outcome));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::spec::{L4Spec, PacketSpec};

    #[test]
    fn tcp_summary() {
        let p = PacketSpec {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            l4: L4Spec::Tcp {
                sport: 40000,
                dport: 22,
                flags: "S".into(),
                seq: 1,
                ack: 0,
                window: 100,
            },
            ttl: 64,
            tos: 0,
            id: 1,
            payload_len: 0,
        }
        .build()
        .unwrap();
        assert_eq!(
            headers_text(&p.headers().unwrap()),
            "TCP 10.0.0.1:40000 > 10.0.0.2:22 [S] ttl 64 len 44"
        );
    }
}
