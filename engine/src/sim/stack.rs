//! A host's own network stack, answering like Linux: listening TCP ports
//! answer SYN with SYN-ACK, closed ones with RST; UDP to a closed port gets
//! ICMP port unreachable; echo requests get replies.

use super::host::Host;
use crate::packet::{
    build_icmp, build_icmp_error, build_tcp, tcp_flags, IpFields, Packet, TcpFields, L4,
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
    // Sent to a broadcast address: never answered with a RST or an ICMP
    // error (`tcp_v4_send_reset`, `icmp_send`), nor connected to.
    let broadcast = route_is_broadcast(host, &h);
    match &h.l4 {
        L4::Tcp(_) if broadcast => Answer {
            to: "tcp to a broadcast address (dropped)".into(),
            replies: vec![],
        },
        L4::Tcp(t) => {
            let open = listening(6, t.dport);
            // A connection request: SYN without ACK (a SYN with FIN is dropped).
            let syn =
                t.flags & (tcp_flags::SYN | tcp_flags::ACK | tcp_flags::FIN) == tcp_flags::SYN;
            if t.flags & tcp_flags::RST != 0 {
                return Answer {
                    to: format!("tcp port {} (reset)", t.dport),
                    replies: vec![],
                };
            }
            let mut ip = IpFields::new(h.dst, h.src);
            ip.df = true;
            let key = (t.dport, h.src, t.sport);
            if open && (syn || host.tcp_conns.contains(&key)) {
                if t.flags & (tcp_flags::FIN | tcp_flags::RST) != 0 {
                    host.tcp_conns.remove(&key);
                }
                if syn {
                    host.tcp_conns.insert(key);
                    let reply_opts = synack_options(&t.options);
                    let reply = build_tcp(
                        &ip,
                        &TcpFields {
                            sport: t.dport,
                            dport: t.sport,
                            seq: isn(&h, t.sport, t.dport),
                            ack: t.seq.wrapping_add(1),
                            flags: tcp_flags::SYN | tcp_flags::ACK,
                            window: synack_window(&reply_opts),
                            options: reply_opts,
                        },
                        b"",
                    );
                    return Answer {
                        to: format!("tcp port {} (listening)", t.dport),
                        replies: vec![reply],
                    };
                }
                return Answer {
                    to: format!("tcp port {} (connection)", t.dport),
                    replies: vec![],
                };
            }
            if open && t.flags & tcp_flags::ACK == 0 {
                // A listener drops what is neither a SYN nor an ACK (a FIN,
                // no flags, SYN+FIN) without answering (`tcp_rcv_state_process`).
                return Answer {
                    to: format!("tcp port {} (listening, segment dropped)", t.dport),
                    replies: vec![],
                };
            }
            // Closed port: RST as tcp_v4_send_reset builds it.
            let seg_len = t.payload_len as u32
                + (t.flags & tcp_flags::SYN != 0) as u32
                + (t.flags & tcp_flags::FIN != 0) as u32;
            let (seq, ack, flags) = if t.flags & tcp_flags::ACK != 0 {
                (t.ack, 0, tcp_flags::RST)
            } else {
                (
                    0,
                    t.seq.wrapping_add(seg_len),
                    tcp_flags::RST | tcp_flags::ACK,
                )
            };
            // ip_send_unicast_reply: the segment's TOS without the ECN bits.
            ip.tos = h.tos & !0x03;
            let rst = build_tcp(
                &ip,
                &TcpFields {
                    sport: t.dport,
                    dport: t.sport,
                    seq,
                    ack,
                    flags,
                    window: 0,
                    options: vec![],
                },
                b"",
            );
            Answer {
                to: format!("closed tcp port {}", t.dport),
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
                replies: vec![build_icmp_error(&ip, 3, 3, [0; 4], &pkt.data)],
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
            let mut ip = IpFields::new(h.dst, h.src);
            // icmp_reply keeps the request's TOS byte.
            ip.tos = h.tos;
            ip.id = host.take_ip_id();
            let payload = &pkt.data[h.header_len + 8..];
            Answer {
                to: "echo request".into(),
                replies: vec![build_icmp(&ip, 0, 0, i.rest, payload)],
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
                replies: vec![build_icmp_error(&ip, 3, 2, [0; 4], &pkt.data)],
            }
        }
    }
}

fn route_is_broadcast(host: &Host, h: &crate::packet::Headers) -> bool {
    super::route::is_broadcast(&host.ifaces, h.dst)
}

/// Options of Linux's SYN-ACK: MSS always, SACK permitted, timestamps and
/// window scaling only when the SYN offered them.
fn synack_options(syn: &[u8]) -> Vec<u8> {
    let mut has = [false; 9];
    let mut i = 0;
    while i < syn.len() {
        match syn[i] {
            0 => break,
            1 => i += 1,
            kind => {
                let len = syn.get(i + 1).copied().unwrap_or(0) as usize;
                if (kind as usize) < has.len() {
                    has[kind as usize] = true;
                }
                if len < 2 {
                    break;
                }
                i += len;
            }
        }
    }
    let mut o = vec![2, 4, 0x05, 0xb4];
    match (has[4], has[8]) {
        (true, true) => o.extend_from_slice(&[4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0]),
        (true, false) => o.extend_from_slice(&[1, 1, 4, 2]),
        (false, true) => o.extend_from_slice(&[1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0]),
        (false, false) => {}
    }
    if has[3] {
        o.extend_from_slice(&[1, 3, 3, 7]);
    }
    o
}

/// Linux's initial receive window: 65535 rounded down to a multiple of the
/// MSS less the timestamp option when it is used.
fn synack_window(opts: &[u8]) -> u16 {
    let ts = opts.windows(2).any(|w| w == [8, 10]);
    let mss = if ts { 1448 } else { 1460 };
    (65535 / mss * mss) as u16
}
