//! A host's own network stack, answering like Linux: listening TCP ports
//! answer SYN with SYN-ACK, closed ones with RST; UDP to a closed port gets
//! ICMP port unreachable; echo requests get replies.

use super::host::Host;
use super::synrecv::{ConnKey, HalfOpen, Verdict};
use crate::packet::{
    build_icmp, build_icmp_error, build_tcp, tcp_flags, Headers, IpFields, Packet, Sender,
    TcpFields, TcpInfo, L4,
};

/// What the stack did with a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Who took it, in words (`tcp port 22 (listening)`, `closed tcp port 23` …).
    pub to: String,
    /// Packets the stack sends back.
    pub replies: Vec<Packet>,
}

/// Initial sequence numbers are random on Linux; a hash keeps runs reproducible.
fn isn(h: &crate::packet::Headers, sport: u16, dport: u16) -> u32 {
    let mut x =
        u32::from(h.src) ^ u32::from(h.dst).rotate_left(7) ^ ((sport as u32) << 16 | dport as u32);
    x ^= x >> 15;
    x = x.wrapping_mul(0x2c1b_3c6d);
    x ^= x >> 12;
    x
}

/// The options and window of a SYN-ACK, as `tcp_synack_options` and
/// `tcp_options_write` lay them out: MSS always; SACK, timestamps and window
/// scaling only when the SYN offered them. With timestamps the usable MSS
/// is 12 bytes smaller, so the initial window is 45 * 1448 instead of 44 * 1460.
pub fn syn_ack_options(syn_opts: &[u8], clock_secs: u64) -> (Vec<u8>, u16) {
    let (mut sack, mut ts_ecr, mut wscale) = (false, None, false);
    let mut i = 0;
    while i < syn_opts.len() {
        match syn_opts[i] {
            0 => break,
            1 => i += 1,
            kind => {
                let len = syn_opts.get(i + 1).copied().unwrap_or(0) as usize;
                if len < 2 || i + len > syn_opts.len() {
                    break;
                }
                match kind {
                    3 => wscale = true,
                    4 => sack = true,
                    8 if len == 10 => {
                        ts_ecr = Some([
                            syn_opts[i + 2],
                            syn_opts[i + 3],
                            syn_opts[i + 4],
                            syn_opts[i + 5],
                        ])
                    }
                    _ => {}
                }
                i += len;
            }
        }
    }
    let mut o = vec![2, 4, 0x05, 0xb4];
    match (ts_ecr, sack) {
        (Some(ecr), sack) => {
            if sack {
                o.extend_from_slice(&[4, 2]);
            } else {
                o.extend_from_slice(&[1, 1]);
            }
            let val = (clock_secs.wrapping_mul(1000) as u32).wrapping_add(0x3c1f_0a00);
            o.extend_from_slice(&[8, 10]);
            o.extend_from_slice(&val.to_be_bytes());
            o.extend_from_slice(&ecr);
        }
        (None, true) => o.extend_from_slice(&[1, 1, 4, 2]),
        (None, false) => {}
    }
    if wscale {
        o.extend_from_slice(&[1, 3, 3, 7]);
    }
    (o, if ts_ecr.is_some() { 65160 } else { 64240 })
}

/// A SYN-ACK answering a SYN with `syn_options`.
fn syn_ack(
    host: &Host,
    h: &Headers,
    t: &TcpInfo,
    seq: u32,
    ack: u32,
    syn_options: &[u8],
) -> Packet {
    let mut ip = IpFields::new(h.dst, h.src);
    ip.df = true;
    let (options, window) = syn_ack_options(syn_options, host.clock_secs());
    let mut p = build_tcp(
        &ip,
        &TcpFields {
            sport: t.dport,
            dport: t.sport,
            seq,
            ack,
            flags: tcp_flags::SYN | tcp_flags::ACK,
            window,
            options,
        },
        b"",
    );
    p.meta.sender = Sender::Request;
    p
}

/// A reply `ip_send_unicast_reply` sends: DF, the segment's TOS without the
/// ECN bits; on behalf of a listener it carries the listener's socket
/// (a user's), otherwise the kernel's own.
fn bare_reply(h: &Headers, t: &TcpInfo, seq: u32, ack: u32, flags: u8, window: u16) -> Packet {
    let mut ip = IpFields::new(h.dst, h.src);
    ip.df = true;
    ip.tos = h.tos & !0x03;
    build_tcp(
        &ip,
        &TcpFields {
            sport: t.dport,
            dport: t.sport,
            seq,
            ack,
            flags,
            window,
            options: vec![],
        },
        b"",
    )
}

/// The RST `tcp_v4_send_reset` answers a segment with (from the
/// listener's socket, a user's: set otherwise for a closed port).
fn reset(h: &Headers, t: &TcpInfo) -> Packet {
    let seg_len = t.payload_len as u32
        + (t.flags & tcp_flags::SYN != 0) as u32
        + (t.flags & tcp_flags::FIN != 0) as u32;
    if t.flags & tcp_flags::ACK != 0 {
        bare_reply(h, t, t.ack, 0, tcp_flags::RST, 0)
    } else {
        let flags = tcp_flags::RST | tcp_flags::ACK;
        bare_reply(h, t, 0, t.seq.wrapping_add(seg_len), flags, 0)
    }
}

/// Whether TCP options carry an option of `kind`.
fn has_option(options: &[u8], kind: u8) -> bool {
    let mut i = 0;
    while i < options.len() {
        match options[i] {
            0 => return false,
            1 => i += 1,
            k if k == kind => return true,
            _ => match options.get(i + 1) {
                Some(&len) if len >= 2 => i += len as usize,
                _ => return false,
            },
        }
    }
    false
}

/// A segment for a half-open connection; `None` once its ACK completes
/// the handshake (the connection then carries on as established).
fn half_open(host: &mut Host, h: &Headers, t: &TcpInfo, key: ConnKey) -> Option<Answer> {
    let now = host.clock_ns;
    let ratelimit_ms = host
        .sysctl
        .get("net.ipv4.tcp_invalid_ratelimit")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(500);
    let req = host.tcp_half_open.get_mut(&key)?;
    let verdict = req.judge(t, now, ratelimit_ms);
    let req = req.clone();
    let (what, replies) = match verdict {
        Verdict::Established => {
            host.tcp_half_open.remove(&key);
            return None;
        }
        Verdict::SynAckAgain => {
            let ack = req.rcv_isn.wrapping_add(1);
            let again = syn_ack(host, h, t, req.snt_isn, ack, &req.syn_options);
            ("SYN retransmitted", vec![again])
        }
        Verdict::Ignore => ("segment ignored", vec![]),
        Verdict::ResetWrongAck => ("reset: wrong ACK", vec![reset(h, t)]),
        Verdict::Ack => {
            // The window in the units the SYN-ACK's scale announced.
            let shift = if has_option(&req.syn_options, 3) {
                7
            } else {
                0
            };
            let window = (req.rcv_wnd >> shift).min(u16::MAX as u32) as u16;
            let seq = req.snt_isn.wrapping_add(1);
            let ack = bare_reply(
                h,
                t,
                seq,
                req.rcv_isn.wrapping_add(1),
                tcp_flags::ACK,
                window,
            );
            ("acknowledged", vec![ack])
        }
        Verdict::EmbryonicReset => {
            host.tcp_half_open.remove(&key);
            host.tcp_conns.remove(&key);
            let replies = if t.flags & tcp_flags::RST == 0 {
                vec![reset(h, t)]
            } else {
                vec![]
            };
            ("reset", replies)
        }
    };
    Some(Answer {
        to: format!("tcp port {} (half-open, {what})", t.dport),
        replies,
    })
}

/// A reply from the kernel's own socket (ICMP, a RST for a closed port).
fn from_kernel(mut p: Packet) -> Packet {
    p.meta.sender = Sender::Kernel;
    p
}

pub fn answer(host: &mut Host, pkt: &Packet) -> Answer {
    let Ok(h) = pkt.headers() else {
        return Answer {
            to: "malformed packet".into(),
            replies: vec![],
        };
    };
    let listening = |proto: u8, port: u16| {
        host.listeners
            .iter()
            .any(|l| l.proto == proto && l.port == port && l.addr.is_none_or(|a| a == h.dst))
    };
    // Sent to a broadcast, network or multicast address: no TCP answers,
    // no ICMP errors, echo only when icmp_echo_ignore_broadcasts is 0.
    let broadcast = super::route::is_broadcast(&host.ifaces, h.dst) || h.dst.is_multicast();
    // The reply's source: the packet's destination, or for a broadcast or
    // multicast the address of the interface it came in on towards the
    // sender (`fib_compute_spec_dst`).
    let own = if broadcast {
        pkt.meta
            .in_iface
            .as_deref()
            .and_then(|dev| super::route::source_on(&host.ifaces, dev, h.src))
            .unwrap_or(h.dst)
    } else {
        h.dst
    };
    match &h.l4 {
        L4::Tcp(t) if broadcast => Answer {
            to: format!("tcp port {} (broadcast, dropped)", t.dport),
            replies: vec![],
        },
        L4::Icmp(i)
            if broadcast
                && matches!(i.icmp_type, 8 | 13)
                && host.sysctl_num("net.ipv4.icmp_echo_ignore_broadcasts") == 1 =>
        {
            Answer {
                to: "echo request to a broadcast address (ignored)".into(),
                replies: vec![],
            }
        }
        L4::Tcp(t) => {
            // Listening sockets, and the connected sockets tools hold open
            // (service "\0client" for any peer, "\0conn ADDR:PORT" for one).
            let peer = format!("\0conn {}:{}", h.src, t.sport);
            let bound = |l: &&crate::sim::host::Listener| {
                l.proto == 6 && l.port == t.dport && l.addr.is_none_or(|a| a == h.dst)
            };
            let connected = host
                .listeners
                .iter()
                .filter(bound)
                .any(|l| l.service == "\0client" || l.service == peer);
            let open = host
                .listeners
                .iter()
                .filter(bound)
                .any(|l| !l.service.starts_with('\0'));
            // A connection request: SYN without ACK (a SYN with FIN is dropped).
            let syn =
                t.flags & (tcp_flags::SYN | tcp_flags::ACK | tcp_flags::FIN) == tcp_flags::SYN;
            let key = (t.dport, h.src, t.sport);
            if open {
                if let Some(answer) = half_open(host, &h, t, key) {
                    return answer;
                }
            }
            if t.flags & tcp_flags::RST != 0 {
                host.tcp_conns.remove(&key);
                return Answer {
                    to: format!("tcp port {} (reset)", t.dport),
                    replies: vec![],
                };
            }
            // Connections this stack accepted stay open until FIN or RST.
            if open && host.tcp_conns.contains(&key) && !syn {
                if t.flags & tcp_flags::FIN != 0 {
                    host.tcp_conns.remove(&key);
                }
                return Answer {
                    to: format!("tcp port {} (connection)", t.dport),
                    replies: vec![],
                };
            }
            if connected {
                return Answer {
                    to: format!("tcp port {} (connection)", t.dport),
                    replies: vec![],
                };
            }
            // A listener resets segments with ACK and ignores the rest
            // (tcp_rcv_state_process in LISTEN).
            if open && !syn && t.flags & tcp_flags::ACK == 0 {
                return Answer {
                    to: format!("tcp port {} (listening, segment ignored)", t.dport),
                    replies: vec![],
                };
            }
            if open && syn {
                let snt_isn = host
                    .fixed_isns
                    .pop_front()
                    .unwrap_or_else(|| isn(&h, t.sport, t.dport));
                let reply = syn_ack(host, &h, t, snt_isn, t.seq.wrapping_add(1), &t.options);
                if host.tcp_conns.insert(key) {
                    let (_, window) = syn_ack_options(&t.options, 0);
                    host.tcp_half_open.insert(
                        key,
                        HalfOpen {
                            rcv_isn: t.seq,
                            snt_isn,
                            rcv_wnd: window as u32,
                            syn_options: t.options.to_vec(),
                            last_oow_ns: 0,
                        },
                    );
                }
                return Answer {
                    to: format!("tcp port {} (listening)", t.dport),
                    replies: vec![reply],
                };
            }
            // Closed port, or ACK to a listener.
            let rst = if open {
                reset(&h, t)
            } else {
                from_kernel(reset(&h, t))
            };
            Answer {
                to: if open {
                    format!("tcp port {} (listening, reset: no connection)", t.dport)
                } else {
                    format!("closed tcp port {}", t.dport)
                },
                replies: vec![rst],
            }
        }
        L4::Udp(u) => {
            if listening(17, u.dport) {
                return Answer {
                    to: format!("udp port {} (listening)", u.dport),
                    replies: vec![],
                };
            }
            if broadcast {
                return Answer {
                    to: "broadcast".into(),
                    replies: vec![],
                };
            }
            let mut ip = IpFields::new(h.dst, h.src);
            // icmp_send: the packet's TOS bits under precedence "internetwork control".
            ip.tos = (h.tos & 0x1e) | 0xc0;
            ip.id = host.take_ip_id();
            Answer {
                to: format!("closed udp port {}", u.dport),
                replies: vec![from_kernel(build_icmp_error(&ip, 3, 3, [0; 4], &pkt.data))],
            }
        }
        L4::Icmp(i) if i.icmp_type == 8 => {
            if host.sysctl_num("net.ipv4.icmp_echo_ignore_all") == 1
                || (broadcast && host.sysctl_num("net.ipv4.icmp_echo_ignore_broadcasts") == 1)
            {
                return Answer {
                    to: "echo request (ignored)".into(),
                    replies: vec![],
                };
            }
            let mut ip = IpFields::new(own, h.src);
            // icmp_reply keeps the request's TOS byte.
            ip.tos = h.tos;
            ip.id = host.take_ip_id();
            let payload = &pkt.data[usize::from(h.header_len) + 8..];
            Answer {
                to: "echo request".into(),
                replies: vec![from_kernel(build_icmp(&ip, 0, 0, i.rest, payload))],
            }
        }
        L4::Icmp(i) if i.icmp_type == 13 && pkt.data.len() >= usize::from(h.header_len) + 20 => {
            // Timestamp reply: originate copied, receive and transmit in ms since midnight UTC.
            let mut ip = IpFields::new(own, h.src);
            ip.id = host.take_ip_id();
            let ms = ((host.clock_secs() % 86_400) * 1000) as u32;
            let mut body =
                pkt.data[usize::from(h.header_len) + 8..usize::from(h.header_len) + 12].to_vec();
            body.extend_from_slice(&ms.to_be_bytes());
            body.extend_from_slice(&ms.to_be_bytes());
            Answer {
                to: "timestamp request".into(),
                replies: vec![from_kernel(build_icmp(&ip, 14, 0, i.rest, &body))],
            }
        }
        L4::Icmp(i) => Answer {
            to: format!("icmp type {} code {}", i.icmp_type, i.code),
            replies: vec![],
        },
        // IGMP has a handler; any other protocol (GRE, ESP, SCTP... on a
        // kernel without their modules) gets protocol unreachable.
        _ if matches!(h.proto, 1 | 2 | 6 | 17) || broadcast => Answer {
            to: format!("protocol {}", h.proto),
            replies: vec![],
        },
        _ => {
            let mut ip = IpFields::new(h.dst, h.src);
            ip.tos = (h.tos & 0x1e) | 0xc0;
            ip.id = host.take_ip_id();
            Answer {
                to: format!("protocol {} (no handler)", h.proto),
                replies: vec![from_kernel(build_icmp_error(&ip, 3, 2, [0; 4], &pkt.data))],
            }
        }
    }
}
