//! How the tools talk to the network: routing a probe, sending it through
//! the world and reading what came back, and TCP connections done the way
//! Linux does them (handshake with the usual options, retransmitted SYNs,
//! data, FIN or RST), with every segment walking the firewalls.

use super::util;
use crate::packet::{
    build_tcp, build_udp, tcp_flags, Headers, IpFields, Packet, TcpFields, TcpInfo, L4,
};
use crate::sim::host::Listener;
use crate::sim::route::{self, Decision};
use crate::sim::rules::Flow;
use crate::sim::world::{Delivery, World};
use std::net::Ipv4Addr;

pub const SEC: u64 = 1_000_000_000;

/// Where a host sends packets for a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub dev: String,
    pub src: Ipv4Addr,
    pub next_hop: Ipv4Addr,
    /// The destination is one of the host's own addresses.
    pub local: bool,
}

impl Path {
    /// The destination is on a link of the host (no gateway).
    pub fn on_link(&self, dst: Ipv4Addr) -> bool {
        !self.local && self.next_hop == dst
    }
}

/// The route a host takes to `dst` (`None`: network unreachable).
pub fn path(world: &World, host: usize, dst: Ipv4Addr) -> Option<Path> {
    path_for(world, host, &Flow::output(dst))
}

/// The route a host takes for a flow, through its policy rules, and the
/// source address it picks on the way out.
pub fn path_for(world: &World, host: usize, flow: &Flow) -> Option<Path> {
    let h = &world.hosts[host];
    let dst = flow.dst;
    match route::lookup_flow(&h.ifaces, &h.routes, &h.policy, flow).0 {
        Decision::Local => Some(Path {
            dev: "lo".into(),
            src: if dst.is_loopback() {
                Ipv4Addr::LOCALHOST
            } else {
                dst
            },
            next_hop: dst,
            local: true,
        }),
        Decision::Out { dev, next_hop } => {
            let src = route::source_on(&h.ifaces, &dev, next_hop)?;
            Some(Path {
                dev,
                src,
                next_hop,
                local: false,
            })
        }
        Decision::Unreachable => None,
    }
}

/// The route through a given interface (`ping -I eth0`), as `SO_BINDTODEVICE` makes it.
pub fn path_via(world: &World, host: usize, dev: &str, dst: Ipv4Addr) -> Option<Path> {
    let h = &world.hosts[host];
    let iface = h.iface(dev)?;
    if route::is_local(std::slice::from_ref(iface), dst) || (dev == "lo" && dst.is_loopback()) {
        return path(world, host, dst);
    }
    let routes: Vec<_> = route::all_routes(&h.ifaces, &h.routes)
        .into_iter()
        .filter(|r| r.dev == dev)
        .collect();
    let best = routes
        .iter()
        .filter(|r| r.contains(dst))
        .max_by_key(|r| r.prefix)?;
    Some(Path {
        dev: dev.to_string(),
        src: iface
            .addrs
            .iter()
            .find(|a| a.contains(dst))
            .or(iface.addrs.first())
            .map(|a| a.addr)?,
        next_hop: best.via.unwrap_or(dst),
        local: false,
    })
}

/// IP header fields of a packet the host makes.
pub fn ip_fields(world: &mut World, host: usize, src: Ipv4Addr, dst: Ipv4Addr) -> IpFields {
    let ttl = world.hosts[host].sysctl_num("net.ipv4.ip_default_ttl");
    let mut ip = IpFields::new(src, dst);
    ip.ttl = if (1..=255).contains(&ttl) {
        ttl as u8
    } else {
        64
    };
    ip.id = util::random(world, host) as u16;
    ip
}

/// Sends a packet a host made and returns every packet a host's stack got
/// during the run; the run's reports go to the journal.
pub fn send(world: &mut World, host: usize, pkt: Packet) -> Vec<Delivery> {
    world.send(host, pkt);
    // A packet a host's own netfilter drops on the way out fails `sendto`
    // with EPERM (NF_DROP in OUTPUT or POSTROUTING), one a re-route in
    // OUTPUT finds no route for with ENETUNREACH (`NF_DROP_ERR`).
    let name = &world.hosts[host].name;
    world.tools.send_refused = world
        .reports
        .first()
        .filter(|r| r.host == *name)
        .and_then(|r| match r.outcome.as_str() {
            o if o == format!("dropped on {name} in OUTPUT")
                || o == format!("dropped on {name} in POSTROUTING") =>
            {
                Some("Operation not permitted")
            }
            o if o.starts_with("no route to host after ") => Some("Network is unreachable"),
            _ => None,
        });
    let env = &mut world.tools;
    for r in world.reports.drain(..) {
        if env.journal.len() < super::JOURNAL_MAX {
            env.journal.push(r);
        } else {
            env.journal_dropped += 1;
        }
    }
    std::mem::take(&mut world.delivered)
}

/// The headers of the packets delivered to `host`.
pub fn arrived(dels: &[Delivery], host: usize) -> Vec<(Headers, &Delivery)> {
    dels.iter()
        .filter(|d| d.host == host)
        .filter_map(|d| d.pkt.headers().ok().map(|h| (h, d)))
        .collect()
}

/// An ICMP error (type, code, sender) quoting a packet of `proto` from
/// `src` to `dst` with the given ports (or ICMP id as the source "port").
pub fn icmp_error_about(
    h: &Headers,
    proto: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
) -> Option<(u8, u8, Ipv4Addr)> {
    let icmp = h.icmp()?;
    if !icmp.is_error() {
        return None;
    }
    let inner = icmp.inner.as_deref()?;
    if inner.proto != proto || inner.src != src || inner.dst != dst {
        return None;
    }
    let ok = match &inner.l4 {
        L4::Tcp(t) => t.sport == sport && t.dport == dport,
        L4::Udp(u) => u.sport == sport && u.dport == dport,
        L4::Icmp(i) => i.id() == sport,
        _ => true,
    };
    ok.then_some((icmp.icmp_type, icmp.code, h.src))
}

/// The error text of a socket after an ICMP error (`icmp_err_convert`).
pub fn icmp_errno(icmp_type: u8, code: u8) -> &'static str {
    match (icmp_type, code) {
        (3, 0) | (3, 6) | (3, 9) | (3, 11) => "Network is unreachable",
        (3, 2) => "Protocol not available",
        (3, 3) => "Connection refused",
        (3, 4) => "Message too long",
        (3, 5) => "Operation not supported",
        (3, 7) => "Host is down",
        (3, 8) => "Machine is not on the network",
        _ => "No route to host",
    }
}

/// TCP options of a Linux SYN: mss 1460, sackOK, TS val X ecr 0, nop, wscale 7.
pub fn syn_options(ts_val: u32) -> Vec<u8> {
    let mut o = vec![2, 4, 0x05, 0xb4, 4, 2, 8, 10];
    o.extend_from_slice(&ts_val.to_be_bytes());
    o.extend_from_slice(&[0, 0, 0, 0, 1, 3, 3, 7]);
    o
}

/// `nop,nop,TS val X ecr Y`, the options of every later segment.
pub fn ts_options(val: u32, ecr: u32) -> Vec<u8> {
    let mut o = vec![1, 1, 8, 10];
    o.extend_from_slice(&val.to_be_bytes());
    o.extend_from_slice(&ecr.to_be_bytes());
    o
}

/// The TS value in TCP options, if any.
pub fn ts_value(opts: &[u8]) -> Option<u32> {
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => return None,
            1 => i += 1,
            kind => {
                let len = *opts.get(i + 1)? as usize;
                if len < 2 || i + len > opts.len() {
                    return None;
                }
                if kind == 8 && len == 10 {
                    return Some(u32::from_be_bytes([
                        opts[i + 2],
                        opts[i + 3],
                        opts[i + 4],
                        opts[i + 5],
                    ]));
                }
                i += len;
            }
        }
    }
    None
}

/// Marker service of the sockets tools hold open while they talk (never
/// listed): a client socket takes any peer's segments.
pub const CLIENT_SOCKET: &str = "\0client";

/// Whether a listener entry is one of the tools' connected sockets.
pub fn is_socket_marker(service: &str) -> bool {
    service.starts_with('\0')
}

/// The marker of a server's connected socket for one peer.
fn conn_marker(remote: Ipv4Addr, rport: u16) -> String {
    format!("\0conn {remote}:{rport}")
}

/// Opens a client socket so the host's stack does not reset the peer's answers.
pub fn open_socket(world: &mut World, host: usize, proto: u8, port: u16, addr: Ipv4Addr) {
    world.hosts[host].listeners.push(Listener {
        proto,
        port,
        addr: Some(addr),
        service: CLIENT_SOCKET.into(),
    });
}

pub fn close_socket(world: &mut World, host: usize, proto: u8, port: u16, addr: Ipv4Addr) {
    let ls = &mut world.hosts[host].listeners;
    if let Some(i) = ls.iter().position(|l| {
        l.service == CLIENT_SOCKET && l.proto == proto && l.port == port && l.addr == Some(addr)
    }) {
        ls.remove(i);
    }
}

/// Why a TCP connect failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// `connect: Network is unreachable` (no route; nothing sent).
    NoRoute,
    /// RST: `Connection refused`.
    Refused,
    /// An ICMP error: the socket error text and who sent it.
    Icmp {
        icmp_type: u8,
        code: u8,
        from: Ipv4Addr,
    },
    /// No answer until the timeout (or the kernel's 127 s).
    TimedOut,
}

impl ConnectError {
    /// `strerror` of the socket error.
    pub fn text(&self) -> &'static str {
        match self {
            ConnectError::NoRoute => "Network is unreachable",
            ConnectError::Refused => "Connection refused",
            ConnectError::Icmp {
                icmp_type, code, ..
            } => icmp_errno(*icmp_type, *code),
            ConnectError::TimedOut => "Connection timed out",
        }
    }
}

/// One side of an established connection as its host sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub host: usize,
    pub local: Ipv4Addr,
    pub remote: Ipv4Addr,
    pub lport: u16,
    pub rport: u16,
    /// Next sequence number to send, and what we acknowledge.
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    /// TS clock offset (the peer's TS of the last segment is echoed).
    ts_base: u32,
    ts_ecr: u32,
}

/// An established TCP connection between a tool and a server's stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conn {
    pub client: Side,
    pub server: Side,
    /// Round trip of the handshake.
    pub rtt_ns: u64,
    /// When connect started.
    pub started_ns: u64,
}

fn ms(world: &World) -> u32 {
    (world.now_ns / 1_000_000) as u32
}

/// SYN retransmission times of Linux (`tcp_syn_retries` = 6): 0, 1, 3, 7, 15, 31, 63 s;
/// connect gives up 127 s after the first SYN.
pub const SYN_TIMES: [u64; 7] = [0, 1, 3, 7, 15, 31, 63];
pub const SYN_GIVE_UP: u64 = 127;

/// Connects from `host` to `dst:dport` like `connect()`: SYN (retransmitted
/// while unanswered, until `timeout_ns` or the kernel gives up), SYN-ACK, ACK.
/// The clock ends when the connection is set up or has failed.
pub fn connect(
    world: &mut World,
    host: usize,
    dst: Ipv4Addr,
    dport: u16,
    timeout_ns: Option<u64>,
) -> Result<Conn, ConnectError> {
    let p = path(world, host, dst).ok_or(ConnectError::NoRoute)?;
    let sport = util::ephemeral_port(world, host);
    let isn = util::random(world, host);
    let ts_base = util::random(world, host);
    let start = world.now_ns;
    let limit = timeout_ns
        .unwrap_or(SYN_GIVE_UP * SEC)
        .min(SYN_GIVE_UP * SEC);
    open_socket(world, host, 6, sport, p.src);
    let mut result = Err(ConnectError::TimedOut);
    for at in SYN_TIMES {
        let at_ns = at * SEC;
        if at_ns >= limit {
            break;
        }
        if world.now_ns < start + at_ns {
            world.advance(start + at_ns - world.now_ns);
        }
        let mut ip = ip_fields(world, host, p.src, dst);
        ip.df = true;
        let syn = build_tcp(
            &ip,
            &TcpFields {
                sport,
                dport,
                seq: isn,
                ack: 0,
                flags: tcp_flags::SYN,
                window: 64240,
                options: syn_options(ts_base.wrapping_add(ms(world))),
            },
            b"",
        );
        let sent_at = world.now_ns;
        let dels = send(world, host, syn);
        // Where the SYN arrived (after any NAT): the server's view.
        let server_view = dels.iter().find_map(|d| {
            let h = d.pkt.headers().ok()?;
            let t = h.tcp()?;
            (t.flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN && t.seq == isn)
                .then_some((d.host, h.dst, h.src, t.dport, t.sport))
        });
        let mut outcome = None;
        for (h, d) in arrived(&dels, host) {
            if let Some(t) = h.tcp() {
                if h.src != dst || t.sport != dport || t.dport != sport {
                    continue;
                }
                if t.flags & tcp_flags::RST != 0 {
                    outcome = Some(Err(ConnectError::Refused));
                    break;
                }
                if t.flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN | tcp_flags::ACK
                    && t.ack == isn.wrapping_add(1)
                {
                    outcome = Some(Ok((t.clone(), d.time_ns)));
                    break;
                }
            } else if let Some((ty, code, from)) = icmp_error_about(&h, 6, p.src, dst, sport, dport)
            {
                if ty == 3 || ty == 11 {
                    outcome = Some(Err(ConnectError::Icmp {
                        icmp_type: ty,
                        code,
                        from,
                    }));
                    break;
                }
            }
        }
        match outcome {
            Some(Ok((synack, when))) => {
                let Some((shost, slocal, sremote, slport, srport)) = server_view else {
                    // An answer without a server we can see (should not happen).
                    result = Err(ConnectError::Refused);
                    break;
                };
                let server_ts = ts_value(&synack.options).unwrap_or(0);
                let mut conn = Conn {
                    client: Side {
                        host,
                        local: p.src,
                        remote: dst,
                        lport: sport,
                        rport: dport,
                        seq: isn.wrapping_add(1),
                        ack: synack.seq.wrapping_add(1),
                        window: 502,
                        ts_base,
                        ts_ecr: server_ts,
                    },
                    server: Side {
                        host: shost,
                        local: slocal,
                        remote: sremote,
                        lport: slport,
                        rport: srport,
                        seq: synack.seq.wrapping_add(1),
                        ack: isn.wrapping_add(1),
                        window: 509,
                        ts_base: server_ts.wrapping_sub(ms(world)),
                        ts_ecr: ts_base.wrapping_add(ms(world)),
                    },
                    rtt_ns: when.saturating_sub(sent_at),
                    started_ns: start,
                };
                // The server now has a connected socket for this peer.
                world.hosts[shost].listeners.push(Listener {
                    proto: 6,
                    port: slport,
                    addr: Some(slocal),
                    service: conn_marker(sremote, srport),
                });
                segment(world, &mut conn, true, tcp_flags::ACK, b"");
                return Ok(conn);
            }
            Some(Err(e)) => {
                result = Err(e);
                break;
            }
            None => {}
        }
    }
    if result == Err(ConnectError::TimedOut) && world.now_ns < start + limit {
        world.advance(start + limit - world.now_ns);
    }
    close_socket(world, host, 6, sport, p.src);
    result
}

/// Sends one segment from the client (`from_client`) or the server side;
/// returns whether the other side's stack received it.
pub fn segment(
    world: &mut World,
    conn: &mut Conn,
    from_client: bool,
    flags: u8,
    payload: &[u8],
) -> bool {
    let now = ms(world);
    let (me, peer) = if from_client {
        (&mut conn.client, &mut conn.server)
    } else {
        (&mut conn.server, &mut conn.client)
    };
    let mut ip = IpFields::new(me.local, me.remote);
    ip.df = true;
    ip.ttl = 64;
    let seq = me.seq;
    let ts = me.ts_base.wrapping_add(now);
    let pkt = build_tcp(
        &ip,
        &TcpFields {
            sport: me.lport,
            dport: me.rport,
            seq,
            ack: me.ack,
            flags,
            window: me.window,
            options: ts_options(ts, me.ts_ecr),
        },
        payload,
    );
    let advance = payload.len() as u32 + (flags & tcp_flags::FIN != 0) as u32;
    me.seq = me.seq.wrapping_add(advance);
    let (from, to) = (me.host, peer.host);
    let dels = send(world, from, pkt);
    let got = dels.iter().any(|d| {
        d.host == to
            && d.pkt.headers().ok().is_some_and(|h| {
                h.tcp()
                    .is_some_and(|t: &TcpInfo| t.seq == seq && t.dport == peer.lport)
            })
    });
    if got {
        peer.ack = peer.ack.wrapping_add(advance);
        peer.ts_ecr = ts;
    }
    got
}

/// Sends data one way and the other side's ACK; true when the data arrived.
pub fn deliver(world: &mut World, conn: &mut Conn, from_client: bool, data: &[u8]) -> bool {
    if !segment(
        world,
        conn,
        from_client,
        tcp_flags::PSH | tcp_flags::ACK,
        data,
    ) {
        return false;
    }
    segment(world, conn, !from_client, tcp_flags::ACK, b"");
    true
}

/// Frees both ends' sockets of a connection.
pub fn release(world: &mut World, conn: &Conn) {
    let c = &conn.client;
    close_socket(world, c.host, 6, c.lport, c.local);
    let s = &conn.server;
    let marker = conn_marker(s.remote, s.rport);
    let ls = &mut world.hosts[s.host].listeners;
    if let Some(i) = ls
        .iter()
        .position(|l| l.proto == 6 && l.port == s.lport && l.service == marker)
    {
        ls.remove(i);
    }
}

/// Closes like `close()` on both ends: FIN from the client, FIN from the
/// server, the client's last ACK; frees the sockets.
pub fn close(world: &mut World, mut conn: Conn) {
    let fa = tcp_flags::FIN | tcp_flags::ACK;
    if segment(world, &mut conn, true, fa, b"") && segment(world, &mut conn, false, fa, b"") {
        segment(world, &mut conn, true, tcp_flags::ACK, b"");
    }
    release(world, &conn);
}

/// Aborts with RST (`SO_LINGER` 0, as nmap's connect scan does).
pub fn abort(world: &mut World, mut conn: Conn) {
    segment(world, &mut conn, true, tcp_flags::RST | tcp_flags::ACK, b"");
    release(world, &conn);
}

/// Sends a UDP datagram from a tool's socket; returns what came back to the host.
pub fn udp(
    world: &mut World,
    host: usize,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Vec<Delivery> {
    let mut ip = ip_fields(world, host, src, dst);
    if dst.is_multicast() {
        // IP_MULTICAST_TTL's default.
        ip.ttl = 1;
    }
    let pkt = build_udp(&ip, sport, dport, payload);
    open_socket(world, host, 17, sport, src);
    let dels = send(world, host, pkt);
    close_socket(world, host, 17, sport, src);
    dels
}

/// The listener of a host on a port (tools' own client sockets excluded).
pub fn listener(world: &World, host: usize, proto: u8, port: u16) -> Option<&Listener> {
    world.hosts[host]
        .listeners
        .iter()
        .find(|l| l.proto == proto && l.port == port && !is_socket_marker(&l.service))
}
