//! Simulator behaviours the kernel fuzzer (`kernel_fuzz.rs`) found wrong,
//! pinned down as the kernel showed them, without needing the kernel:
//! martian packets, policies after a goto, TCP flags conntrack refuses,
//! when a picked-up connection is assured, what a listener and a broadcast
//! destination answer, unknown protocols, the stack's ICMP errors, NAT
//! tuples taken over from closing connections, window tracking's verdicts,
//! a new connection whose reply tuple another one holds, local output
//! re-routed within OUTPUT, the addresses hash:ip,port refuses, half-open
//! connections, the sockets `-m owner` and `--log-uid` see (none for a TEE
//! copy).

mod common;

use engine::packet::{build_icmp, build_tcp, build_udp, tcp_flags, IpFields, Packet, TcpFields};
use engine::sim::conntrack::status;
use engine::sim::world::World;
use std::net::Ipv4Addr;

const R0_MAC: [u8; 6] = [2, 0, 0, 1, 0, 1];
const CLIENT_MAC: [u8; 6] = [2, 0, 0, 1, 0, 0x64];

/// A router (r0 10.1.0.1/24, r1 10.2.0.1/24, forwarding, a listener on
/// tcp/8080) and a server 10.2.0.2 behind it.
fn lab() -> World {
    let mut w = World::new();
    let r = w.add_host("router");
    let s = w.add_host("server");
    w.plug(r, "r0", "10.1.0.1/24", "left").unwrap();
    w.plug(r, "r1", "10.2.0.1/24", "right").unwrap();
    w.plug(s, "s0", "10.2.0.2/24", "right").unwrap();
    // The client side is the phantom address (a permanent neighbour in the kernel).
    w.set_outside("left").unwrap();
    w.hosts[r].ifaces[1].mac = R0_MAC;
    w.hosts[r]
        .sysctl
        .insert("net.ipv4.ip_forward".into(), "1".into());
    w.hosts[r].listeners.push(engine::sim::host::Listener {
        proto: 6,
        port: 8080,
        addr: None,
        service: "http-alt".into(),
    });
    w
}

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn from_client(mut p: Packet) -> Packet {
    p.meta.src_mac = Some(CLIENT_MAC);
    p.meta.dst_mac = Some(R0_MAC);
    p
}

fn tcp(src: &str, dst: &str, dport: u16, flags: u8) -> Packet {
    from_client(build_tcp(
        &IpFields::new(a(src), a(dst)),
        &TcpFields {
            sport: 40000,
            dport,
            seq: 1000,
            ack: if flags & tcp_flags::ACK != 0 { 77 } else { 0 },
            flags,
            window: 64240,
            options: vec![],
        },
        b"",
    ))
}

fn udp(src: &str, dst: &str) -> Packet {
    from_client(build_udp(&IpFields::new(a(src), a(dst)), 4000, 53, b"q"))
}

fn restore(w: &mut World, rules: &str) {
    let out = common::sh_stdin(&mut w.hosts[0], "iptables-restore", rules);
    assert_eq!(out.exit, 0, "{}", out.stderr);
}

fn save(w: &mut World) -> String {
    common::sh(&mut w.hosts[0], "iptables-save -c").stdout
}

/// (host, interface) of every frame put on a wire.
fn wire(w: &World) -> Vec<(String, String)> {
    w.wire
        .iter()
        .map(|e| (e.host.clone(), e.iface.clone()))
        .collect()
}

#[test]
fn martian_sources_and_destinations_die_after_prerouting() {
    for (src, dst) in [
        ("0.0.0.0", "10.2.0.2"),
        ("127.0.0.1", "10.2.0.2"),
        ("10.1.0.1", "10.2.0.2"),
        ("10.2.0.1", "10.1.0.1"),
        ("224.0.0.5", "10.2.0.2"),
        ("10.1.0.100", "127.0.0.1"),
    ] {
        let mut w = lab();
        restore(&mut w, "*raw\n-A PREROUTING\nCOMMIT\n");
        w.wire.clear();
        w.inject(0, "r0", udp(src, dst));
        assert!(wire(&w).is_empty(), "{src} -> {dst}: {:?}", wire(&w));
        assert!(
            save(&mut w).contains("[1:29] -A PREROUTING"),
            "{src} -> {dst} passes PREROUTING first"
        );
        assert!(w.hosts[0].conntrack.is_empty(), "{src} -> {dst}");
    }
    // An ordinary spoofed source (rp_filter off) is forwarded.
    let mut w = lab();
    w.inject(0, "r0", udp("10.9.9.9", "10.2.0.2"));
    assert_eq!(wire(&w)[0], ("router".into(), "r1".into()));
}

#[test]
fn the_builtin_policy_applies_after_a_goto() {
    let mut w = lab();
    restore(
        &mut w,
        "*filter\n:FORWARD DROP [0:0]\n:U - [0:0]\n-A FORWARD -g U\n-A U -p tcp\nCOMMIT\n",
    );
    w.inject(0, "r0", udp("10.1.0.100", "10.2.0.2"));
    assert!(wire(&w).is_empty(), "FORWARD's DROP policy: {:?}", wire(&w));
    assert!(save(&mut w).contains(":FORWARD DROP [1:29]"));
    // RETURN at the top of a chain reached by goto: the same.
    let mut w = lab();
    restore(
        &mut w,
        "*filter\n:FORWARD DROP [0:0]\n:U - [0:0]\n-A FORWARD -g U\n-A U -j RETURN\nCOMMIT\n",
    );
    w.inject(0, "r0", udp("10.1.0.100", "10.2.0.2"));
    assert!(wire(&w).is_empty());
    assert!(save(&mut w).contains(":FORWARD DROP [1:29]"));
}

#[test]
fn tcp_flags_conntrack_refuses_are_invalid() {
    use tcp_flags::*;
    for flags in [SYN | FIN, FIN, 0, FIN | PSH | URG] {
        let mut w = lab();
        restore(
            &mut w,
            "*filter\n-A FORWARD -m conntrack --ctstate INVALID\nCOMMIT\n",
        );
        w.inject(0, "r0", tcp("10.1.0.100", "10.2.0.50", 80, flags));
        assert!(save(&mut w).contains("[1:40] -A FORWARD -m conntrack --ctstate INVALID"));
        assert!(w.hosts[0].conntrack.is_empty(), "{flags:#x}");
    }
}

#[test]
fn a_picked_up_connection_is_assured_once_answered() {
    use tcp_flags::*;
    let mut w = lab();
    restore(&mut w, "*filter\n-A FORWARD -m state --state NEW\nCOMMIT\n");
    w.inject(0, "r0", tcp("10.1.0.100", "10.2.0.50", 9000, ACK));
    let mut reply = build_tcp(
        &IpFields::new(a("10.2.0.50"), a("10.1.0.100")),
        &TcpFields {
            sport: 9000,
            dport: 40000,
            seq: 77,
            ack: 1000,
            flags: ACK,
            window: 64240,
            options: vec![],
        },
        b"",
    );
    reply.meta.dst_mac = None;
    w.inject(0, "r1", reply);
    let e = w.hosts[0].conntrack.iter().next().unwrap().clone();
    assert!(!e.has(status::ASSURED));
    w.inject(0, "r0", tcp("10.1.0.100", "10.2.0.50", 9000, ACK));
    let e = w.hosts[0].conntrack.iter().next().unwrap().clone();
    assert!(e.has(status::ASSURED));
}

#[test]
fn a_listener_drops_segments_without_ack_that_are_not_a_syn() {
    use tcp_flags::*;
    for flags in [FIN, 0, SYN | FIN, URG] {
        let mut w = lab();
        w.inject(0, "r0", tcp("10.1.0.100", "10.1.0.1", 8080, flags));
        assert!(wire(&w).is_empty(), "{flags:#x}: {:?}", wire(&w));
    }
    // A closed port answers them with a RST; an ACK to a listener too.
    for (port, flags) in [(8081, FIN), (8081, 0), (8080, ACK), (8080, FIN | ACK)] {
        let mut w = lab();
        w.inject(0, "r0", tcp("10.1.0.100", "10.1.0.1", port, flags));
        assert_eq!(wire(&w).len(), 1, "{port} {flags:#x}");
    }
}

#[test]
fn broadcast_destinations_get_no_rst_no_echo_reply_no_error() {
    for dst in ["10.1.0.255", "255.255.255.255"] {
        let mut w = lab();
        w.inject(0, "r0", tcp("10.1.0.100", dst, 81, tcp_flags::SYN));
        w.inject(0, "r0", tcp("10.1.0.100", dst, 8080, tcp_flags::SYN));
        let ping = build_icmp(
            &IpFields::new(a("10.1.0.100"), a(dst)),
            8,
            0,
            [0, 1, 0, 1],
            b"abcd",
        );
        w.inject(0, "r0", from_client(ping));
        w.inject(0, "r0", udp("10.1.0.100", dst));
        assert!(wire(&w).is_empty(), "{dst}: {:?}", wire(&w));
    }
}

#[test]
fn unknown_protocols_get_protocol_unreachable() {
    let mut w = lab();
    let mut p = build_udp(
        &IpFields::new(a("10.1.0.100"), a("10.1.0.1")),
        0,
        0,
        b"gre!",
    );
    p.data[9] = 47;
    p.fix_checksums();
    w.inject(0, "r0", from_client(p));
    let out: Vec<_> = w
        .wire
        .iter()
        .map(|e| {
            let h = engine::packet::parse(&e.packet, false).unwrap();
            let i = h.icmp().unwrap();
            (h.src, i.icmp_type, i.code, h.tos)
        })
        .collect();
    assert_eq!(out, vec![(a("10.1.0.1"), 3, 2, 0xc0)]);
}

fn seg(src: &str, dst: &str, sport: u16, dport: u16, flags: u8, seq: u32, ack: u32) -> Packet {
    build_tcp(
        &IpFields::new(a(src), a(dst)),
        &TcpFields {
            sport,
            dport,
            seq,
            ack,
            flags,
            window: 64240,
            options: vec![],
        },
        b"",
    )
}

/// Client 10.1.0.100 to a server 10.2.0.50 behind r1 (an uplink), each
/// segment's frames and the FORWARD counter afterwards.
fn conversation(w: &mut World, segs: &[(bool, u8, u32, u32)], sport: u16) -> Vec<bool> {
    let mut passed = Vec::new();
    for &(client, flags, seq, ack) in segs {
        w.wire.clear();
        if client {
            let p = seg("10.1.0.100", "10.2.0.50", sport, 80, flags, seq, ack);
            w.inject(0, "r0", from_client(p));
        } else {
            let p = seg("10.2.0.50", "10.1.0.100", 80, sport, flags, seq, ack);
            w.inject(0, "r1", p);
        }
        passed.push(!w.wire.is_empty());
    }
    passed
}

#[test]
fn connlimit_drops_the_last_ack_of_an_assured_connection_only() {
    use tcp_flags::*;
    let rules = "*filter\n-A FORWARD -m connlimit --connlimit-above 100\nCOMMIT\n";
    // Handshake and close: the last ACK finds the list emptied of the
    // now closed connection and is dropped (linux 6.18).
    let mut w = lab();
    w.set_outside("right").unwrap();
    restore(&mut w, rules);
    let got = conversation(
        &mut w,
        &[
            (true, SYN, 1000, 0),
            (false, SYN | ACK, 5000, 1001),
            (true, ACK, 1001, 5001),
            (true, FIN | ACK, 1001, 5001),
            (false, FIN | ACK, 5001, 1002),
            (true, ACK, 1002, 5002),
            (true, RST, 1002, 0),
        ],
        40001,
    );
    // The emptied list's node stays: the RST after it counts 0 as well.
    assert_eq!(got, vec![true, true, true, true, true, false, false]);
    // Picked up mid-stream (never assured): closes without a drop.
    let mut w = lab();
    w.set_outside("right").unwrap();
    restore(&mut w, rules);
    let got = conversation(
        &mut w,
        &[
            (true, ACK, 1000, 5000),
            (true, FIN | ACK, 1000, 5000),
            (false, FIN | ACK, 5000, 1001),
            (true, ACK, 1001, 5001),
        ],
        40002,
    );
    assert_eq!(got, vec![true, true, true, true]);
}

/// Kernel fuzz seed 140353: an INVALID packet (no connection attached)
/// counts the tuple it carries, also when it finds a connection by it as a
/// reply: a lone FIN from the server then meets the entry its lone SYN-ACK
/// left under its address, the connection picked up since having made that
/// tuple its reply, and counts 1, not 2.
#[test]
fn connlimit_counts_an_invalid_replys_own_tuple() {
    use tcp_flags::*;
    let mut w = lab();
    w.set_outside("right").unwrap();
    restore(
        &mut w,
        "*mangle\n-A PREROUTING -m connlimit --connlimit-above 1\nCOMMIT\n",
    );
    let got = conversation(
        &mut w,
        &[
            (true, RST, 1000, 0),
            (false, SYN | ACK, 5000, 1001),
            (true, ACK, 1001, 5001),
            (false, FIN, 5001, 1001),
        ],
        40003,
    );
    assert_eq!(got, vec![true, true, true, true]);
    let mangle = common::sh(&mut w.hosts[0], "iptables-save -c -t mangle").stdout;
    assert!(
        mangle.contains("[0:0] -A PREROUTING -m connlimit --connlimit-above 1 "),
        "{mangle}"
    );
}

#[test]
fn routing_errors_come_from_the_address_towards_the_sender() {
    // A packet from the server's network arriving on r0 (no rp_filter)
    // with TTL 1: time exceeded goes back out r1, from r1's address.
    let mut w = lab();
    w.set_outside("right").unwrap();
    let mut ip = IpFields::new(a("10.2.0.2"), a("10.2.0.9"));
    ip.ttl = 1;
    w.inject(0, "r0", from_client(build_udp(&ip, 1, 2, b"x")));
    let errs: Vec<(String, Ipv4Addr)> = w
        .wire
        .iter()
        .map(|e| {
            (
                e.iface.clone(),
                engine::packet::parse(&e.packet, false).unwrap().src,
            )
        })
        .collect();
    assert_eq!(errs, vec![("r1".into(), a("10.2.0.1"))]);
}

#[test]
fn log_lines_of_ipsec_headers_and_frag_needed() {
    let mut w = lab();
    restore(
        &mut w,
        "*raw\n-A PREROUTING -j LOG --log-prefix \"x \"\nCOMMIT\n",
    );
    let mut p = build_udp(
        &IpFields::new(a("10.1.0.100"), a("10.1.0.1")),
        0x1234,
        0x5678,
        b"abcd",
    );
    p.data[9] = 50;
    p.fix_checksums();
    w.inject(0, "r0", from_client(p));
    let orig = build_udp(&IpFields::new(a("10.1.0.1"), a("10.1.0.100")), 1, 2, b"");
    let err = engine::packet::build_icmp_error(
        &IpFields::new(a("10.1.0.100"), a("10.1.0.1")),
        3,
        4,
        [0, 0, 0x05, 0x78],
        &orig.data,
    );
    w.inject(0, "r0", from_client(err));
    let lines: Vec<&str> = w.hosts[0].kmsg.iter().map(|r| r.text.as_str()).collect();
    assert!(
        lines[0].ends_with("PROTO=ESP SPI=0x12345678 "),
        "{}",
        lines[0]
    );
    assert!(lines[1].ends_with("LEN=8 ] MTU=1400 "), "{}", lines[1]);
}

#[test]
fn masquerade_out_of_lo_takes_the_first_interface_address() {
    // The router's own datagram DNATed to itself leaves through lo;
    // MASQUERADE cannot use 127.0.0.1 (host scope) and takes r0's address.
    let mut w = lab();
    restore(
        &mut w,
        "*nat\n-A OUTPUT -j DNAT --to-destination 10.1.0.1\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n",
    );
    w.send(
        0,
        build_udp(
            &IpFields::new(a("10.1.0.1"), a("10.1.0.100")),
            41253,
            80,
            b"q",
        ),
    );
    let e = w.hosts[0].conntrack.iter().next().unwrap().clone();
    assert_eq!((e.reply.src, e.reply.dst), (a("10.1.0.1"), a("10.1.0.1")));
}

#[test]
fn the_stacks_icmp_errors_carry_their_packets_connection() {
    // A protocol the router has no handler for: its "protocol unreachable"
    // is RELATED already in raw OUTPUT, before conntrack would look it up.
    let mut w = lab();
    restore(
        &mut w,
        "*raw\n-A OUTPUT -m state --state RELATED,ESTABLISHED\nCOMMIT\n",
    );
    let mut ip = vec![0x45u8, 0xb8, 0, 58, 0x65, 0x31, 0x40, 0, 64, 47, 0, 0];
    ip.extend([10, 1, 0, 100, 10, 1, 0, 1]);
    ip.extend([0u8; 38]);
    let mut p = Packet::new(ip);
    p.fix_checksums();
    w.inject(0, "r0", from_client(p));
    assert_eq!(wire(&w), vec![("router".into(), "r0".into())]);
    assert!(
        save(&mut w).contains("[1:86] -A OUTPUT -m state --state RELATED,ESTABLISHED"),
        "{}",
        save(&mut w)
    );
}

#[test]
fn a_closing_snat_connection_gives_its_tuple_to_a_new_syn() {
    use tcp_flags::*;
    let mut w = lab();
    restore(
        &mut w,
        "*nat\n-A POSTROUTING -p tcp -j SNAT --to-source 10.2.1.1:1000\nCOMMIT\n",
    );
    let syn = |src: &str, sport: u16, seq: u32, flags: u8| {
        from_client(build_tcp(
            &IpFields::new(a(src), a("10.2.0.2")),
            &TcpFields {
                sport,
                dport: 80,
                seq,
                ack: 0,
                flags,
                window: 64240,
                options: vec![],
            },
            b"",
        ))
    };
    // The server listens on 80: the first connection is answered, then reset.
    w.hosts[1].listeners.push(engine::sim::host::Listener {
        proto: 6,
        port: 80,
        addr: None,
        service: "http".into(),
    });
    w.hosts[1].routes.push(engine::sim::route::Route {
        dst: a("0.0.0.0"),
        prefix: 0,
        via: Some(a("10.2.0.1")),
        dev: "s0".into(),
        connected: false,
    });
    w.inject(0, "r0", syn("10.1.0.101", 55267, 3_817_692_070, SYN));
    w.inject(0, "r0", syn("10.1.0.101", 55267, 3_817_692_071, RST));
    let states: Vec<String> = w.hosts[0]
        .conntrack
        .iter()
        .map(|e| e.tcp.name().to_string())
        .collect();
    assert_eq!(states, ["CLOSE"]);
    // Another client's SYN needs the same tuple (one port): the closing
    // connection is evicted, since its sequence numbers are behind.
    w.wire.clear();
    w.inject(0, "r0", syn("10.1.0.100", 40513, 185_673_473, SYN));
    assert!(
        wire(&w).contains(&("router".into(), "r1".into())),
        "{:?}",
        wire(&w)
    );
    let left: Vec<Ipv4Addr> = w.hosts[0].conntrack.iter().map(|e| e.orig.src).collect();
    assert_eq!(left, [a("10.1.0.100")]);
}

#[test]
fn a_udp_port_unreachable_is_looked_up_by_conntrack_after_raw() {
    // UDP lets go of the datagram's connection before answering: in raw
    // OUTPUT the error has no state yet (it is RELATED from conntrack on).
    let mut w = lab();
    restore(
        &mut w,
        "*raw\n-A OUTPUT -m state --state NEW,RELATED,ESTABLISHED\nCOMMIT\n\
         *filter\n-A OUTPUT -m state --state RELATED\nCOMMIT\n",
    );
    w.inject(0, "r0", udp("10.1.0.100", "10.1.0.1"));
    assert_eq!(wire(&w), vec![("router".into(), "r0".into())]);
    let saved = save(&mut w);
    assert!(
        saved.contains("[0:0] -A OUTPUT -m state --state NEW,RELATED,ESTABLISHED"),
        "{saved}"
    );
    assert!(
        saved.contains("[1:57] -A OUTPUT -m state --state RELATED"),
        "{saved}"
    );
}

#[test]
fn a_redirect_onto_a_used_reply_tuple_gets_another_source_port() {
    use tcp_flags::*;
    // The router listens on 8080; 8081 is redirected there. Two SYNs from
    // one source port, to 8080 and to 8081, want the same reply tuple: the
    // second connection's nat INPUT null binding moves its source port.
    let mut w = lab();
    restore(
        &mut w,
        "*nat\n-A PREROUTING -p tcp --dport 8081 -j REDIRECT --to-ports 8080\nCOMMIT\n",
    );
    w.inject(0, "r0", tcp("10.1.0.100", "10.1.0.1", 8080, SYN));
    w.inject(0, "r0", tcp("10.1.0.100", "10.1.0.1", 8081, SYN));
    let out = ("router".to_string(), "r0".to_string());
    assert_eq!(wire(&w), [out.clone(), out], "both answered");
    let reply_ports: Vec<u16> = w.hosts[0].conntrack.iter().map(|e| e.reply.dport).collect();
    assert_eq!(reply_ports.len(), 2);
    assert_eq!(reply_ports[0], 40000);
    assert_ne!(
        reply_ports[1], 40000,
        "the second connection got another port"
    );
}

#[test]
fn conntrack_runs_only_once_a_rule_needs_it() {
    // No rule, a NOTRACK rule, a LOG rule: nothing is tracked.
    let mut w = lab();
    w.inject(0, "r0", udp("10.1.0.100", "10.2.0.2"));
    restore(
        &mut w,
        "*raw\n-A PREROUTING -p tcp -j NOTRACK\nCOMMIT\n*filter\n-A FORWARD -j LOG\nCOMMIT\n",
    );
    w.inject(0, "r0", udp("10.1.0.100", "10.2.0.2"));
    assert!(w.hosts[0].conntrack.is_empty());
    // A nat chain registers NAT, and NAT needs conntrack.
    restore(&mut w, "*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n");
    w.inject(0, "r0", udp("10.1.0.100", "10.2.0.2"));
    assert_eq!(w.hosts[0].conntrack.len(), 1);
    // Without it, and with a state match instead: tracked too.
    let mut w = lab();
    restore(
        &mut w,
        "*filter\n-A INPUT -m state --state INVALID -j DROP\nCOMMIT\n",
    );
    w.inject(0, "r0", udp("10.1.0.100", "10.2.0.2"));
    assert_eq!(w.hosts[0].conntrack.len(), 1);
}

/// The connection's line in the router's `conntrack -L` (one connection).
fn tcp_state(w: &World) -> String {
    let out = w.hosts[0].conntrack.list(w.now_ns).0;
    let words: Vec<&str> = out.split_whitespace().collect();
    words.get(3).map(|s| s.to_string()).unwrap_or_default()
}

#[test]
fn window_tracking_judges_sequence_and_acknowledgement_numbers() {
    use tcp_flags::*;
    let rules = "*filter\n-A FORWARD -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n";
    // A SYN-ACK acknowledging nothing the SYN sent: INVALID, the
    // connection stays SYN_SENT (tcp-window-synack-bad-ack).
    let mut w = lab();
    w.set_outside("right").unwrap();
    restore(&mut w, rules);
    let got = conversation(
        &mut w,
        &[(false, SYN, 0xf1a2_927e, 0), (true, SYN | ACK, 0x309, 1)],
        40010,
    );
    assert_eq!(got, vec![true, false]);
    assert_eq!(tcp_state(&w), "SYN_SENT");
    // A SYN-ACK acknowledging far below the SYN is ignored (it passes);
    // the SYN's own side resetting at that number does not close the
    // connection: only the SYN's peer may (Linux 6.18).
    let mut w = lab();
    w.set_outside("right").unwrap();
    restore(&mut w, rules);
    let got = conversation(
        &mut w,
        &[
            (false, SYN, 1_175_094_855, 0),
            (true, SYN | ACK, 777, 1),
            (false, RST, 1, 0),
        ],
        40012,
    );
    assert_eq!(got, vec![true, true, true]);
    assert_eq!(tcp_state(&w), "SYN_SENT");
    // Picked up mid-stream with 20 bytes, acknowledged; a RST at the
    // sequence number before them keeps the connection ESTABLISHED
    // (tcp-window-inexact-rst).
    let mut w = lab();
    w.set_outside("right").unwrap();
    restore(&mut w, rules);
    let (client, server) = (a("10.1.0.100"), a("10.2.0.101"));
    let segment = |src, dst, ports: (u16, u16), flags, seq, ack, data: &[u8]| {
        let fields = TcpFields {
            sport: ports.0,
            dport: ports.1,
            seq,
            ack,
            flags,
            window: 64240,
            options: vec![],
        };
        build_tcp(&IpFields::new(src, dst), &fields, data)
    };
    let data = [0x78u8; 20];
    let first = segment(
        client,
        server,
        (22, 9000),
        PSH | ACK,
        0x8199_a2f4,
        0xfd4e_508d,
        &data,
    );
    w.inject(0, "r0", from_client(first));
    let answer = segment(
        server,
        client,
        (9000, 22),
        ACK,
        0xfd4e_508d,
        0x8199_a308,
        b"",
    );
    w.inject(0, "r1", answer);
    w.wire.clear();
    let rst = segment(client, server, (22, 9000), RST, 0x8199_a2f4, 0, b"");
    w.inject(0, "r0", from_client(rst));
    assert!(w.wire.is_empty());
    assert_eq!(tcp_state(&w), "ESTABLISHED");
}

#[test]
fn a_packet_whose_reply_tuple_is_taken_is_new_and_moves_its_source_port() {
    // A client's datagram to the server is REDIRECTed to the router; the
    // server then sends the client's tuple backwards. Its reply tuple is the
    // first connection's original one: conntrack still calls it NEW (only
    // the original tuple is looked up), and the nat POSTROUTING null binding
    // moves its source port (conntrack-reply-tuple-clash).
    let mut w = lab();
    restore(
        &mut w,
        "*nat\n-A PREROUTING -s 10.1.0.0/24 -j REDIRECT\n-A PREROUTING -s 10.2.0.2\nCOMMIT\n\
         *filter\n-A FORWARD -m conntrack --ctstate NEW\nCOMMIT\n",
    );
    w.hosts[1].routes.push(engine::sim::route::Route {
        dst: a("0.0.0.0"),
        prefix: 0,
        via: Some(a("10.2.0.1")),
        dev: "s0".into(),
        connected: false,
    });
    w.inject(0, "r0", udp("10.1.0.100", "10.2.0.2"));
    w.wire.clear();
    let back = build_udp(
        &IpFields::new(a("10.2.0.2"), a("10.1.0.100")),
        53,
        4000,
        b"a",
    );
    w.send(1, back);
    let out: Vec<&engine::sim::world::WireEvent> = w
        .wire
        .iter()
        .filter(|e| e.host == "router" && e.iface == "r0")
        .collect();
    assert_eq!(out.len(), 1, "forwarded: {:?}", wire(&w));
    let h = engine::packet::parse(&out[0].packet, false).unwrap();
    let sport = match h.l4 {
        engine::packet::L4::Udp(u) => u.sport,
        ref l4 => panic!("{l4:?}"),
    };
    assert_ne!(sport, 53, "the source port moved");
    let saved = save(&mut w);
    assert!(
        saved.contains("[1:29] -A FORWARD -m conntrack --ctstate NEW"),
        "{saved}"
    );
    assert!(
        saved.contains("[1:29] -A PREROUTING -s 10.2.0.2/32"),
        "nat PREROUTING walked: {saved}"
    );
    let replies: Vec<(Ipv4Addr, u16)> = w.hosts[0]
        .conntrack
        .iter()
        .map(|e| (e.reply.dst, e.reply.dport))
        .collect();
    assert_eq!(replies, [(a("10.1.0.100"), 4000), (a("10.2.0.2"), sport)]);
}

#[test]
fn un_nat_in_nat_output_to_no_route_drops_before_filter_output() {
    // The router's RST to a source SNATed in nat INPUT is un-NATed in nat
    // OUTPUT to an address it has no route to: re-routed right there and
    // dropped, filter OUTPUT never sees it (output-unnat-unroutable).
    let mut w = lab();
    restore(
        &mut w,
        "*nat\n-A INPUT -j SNAT --to-source 10.2.0.9\nCOMMIT\n\
         *filter\n-A OUTPUT -d 127.0.0.2/32 -m conntrack --ctstate INVALID\nCOMMIT\n",
    );
    w.wire.clear();
    let reports = w
        .inject(0, "r0", tcp("198.51.100.7", "10.2.0.1", 80, tcp_flags::SYN))
        .to_vec();
    assert!(wire(&w).is_empty(), "{:?}", wire(&w));
    assert!(
        reports
            .iter()
            .any(|r| r.outcome == "no route to host after nat OUTPUT"),
        "{:?}",
        reports.iter().map(|r| &r.outcome).collect::<Vec<_>>()
    );
    let filter = common::sh(&mut w.hosts[0], "iptables-save -c -t filter").stdout;
    assert!(filter.contains(":OUTPUT ACCEPT [0:0]"), "{filter}");
    assert!(filter.contains("[0:0] -A OUTPUT"), "{filter}");
}

#[test]
fn a_mark_set_in_mangle_output_re_routes_a_tee_clone_by_its_destination() {
    // A TEE clone of the server's RST, for the router itself, gets a mark
    // in mangle OUTPUT: the re-route forgets the TEE gateway and sends it
    // through lo; received again it is cloned again (one hop less), and
    // that copy, its mark unchanged, goes to the gateway
    // (output-mark-reroute-tee).
    let mut w = lab();
    restore(
        &mut w,
        "*mangle\n-A INPUT -j TEE --gateway 10.1.0.101\n\
         -A OUTPUT -j MARK --set-xmark 0x1/0x1\nCOMMIT\n\
         *filter\n-A OUTPUT -d 127.0.0.2/32 -m conntrack --ctstate INVALID\nCOMMIT\n",
    );
    w.wire.clear();
    let syn = build_tcp(
        &IpFields::new(a("10.2.0.1"), a("10.2.0.2")),
        &TcpFields {
            sport: 32107,
            dport: 53,
            seq: 1000,
            ack: 0,
            flags: tcp_flags::SYN,
            window: 64240,
            options: vec![],
        },
        b"",
    );
    w.send(0, syn);
    let frames: Vec<(String, String, u8)> = w
        .wire
        .iter()
        .map(|e| (e.host.clone(), e.iface.clone(), e.packet[8]))
        .collect();
    let own = |h: &str, i: &str, ttl: u8| (h.to_string(), i.to_string(), ttl);
    assert_eq!(
        frames,
        vec![
            own("router", "r1", 64),
            own("server", "s0", 64),
            own("router", "r0", 62)
        ]
    );
    let mangle = common::sh(&mut w.hosts[0], "iptables-save -c -t mangle").stdout;
    assert!(mangle.contains("[3:120] -A OUTPUT -j MARK"), "{mangle}");
    assert!(mangle.contains("[2:80] -A INPUT -j TEE"), "{mangle}");
}

#[test]
fn hash_ip_port_refuses_zero_as_the_address_given() {
    let mut w = lab();
    let h = &mut w.hosts[0];
    assert_eq!(common::sh(h, "ipset create s1 hash:ip,port").exit, 0);
    let refused = common::sh(h, "ipset add s1 0.0.0.0,tcp:80");
    assert_eq!(
        (refused.exit, refused.stderr.as_str()),
        (1, "ipset v7.17: Kernel error received: Invalid argument\n")
    );
    let restored = common::sh_stdin(h, "ipset restore", "add s1 0.0.0.0,udp:53\n");
    assert_eq!(restored.exit, 1, "{}", restored.stderr);
    // hash:ip,port,ip keeps it.
    assert_eq!(common::sh(h, "ipset create s2 hash:ip,port,ip").exit, 0);
    assert_eq!(common::sh(h, "ipset add s2 0.0.0.0,tcp:80,1.1.1.1").exit, 0);
    let listed = common::sh(h, "ipset list").stdout;
    assert_eq!(listed.matches("0.0.0.0,tcp:80").count(), 1, "{listed}");
}

/// The stack's answers to one segment from the client to the router's
/// listener: (flags, seq, ack) of each.
fn answers(w: &mut World, flags: u8, seq: u32, ack: u32) -> Vec<(u8, u32, u32)> {
    w.wire.clear();
    let p = seg("10.1.0.100", "10.1.0.1", 40000, 8080, flags, seq, ack);
    w.inject(0, "r0", from_client(p));
    w.wire
        .iter()
        .map(|e| {
            let h = engine::packet::parse(&e.packet, false).unwrap();
            let t = h.tcp().unwrap();
            (t.flags, t.seq, t.ack)
        })
        .collect()
}

#[test]
fn a_half_open_connection_checks_the_ack_of_its_syn_ack() {
    use tcp_flags::*;
    const SA: u8 = SYN | ACK;
    let mut w = lab();
    let synack = answers(&mut w, SYN, 1000, 0);
    let [(SA, isn, 1001)] = synack[..] else {
        panic!("{synack:?}")
    };
    // A wrong ACK number: the listener's RST, the request stays.
    assert_eq!(answers(&mut w, ACK, 1001, 12345), vec![(RST, 12345, 0)]);
    assert_eq!(answers(&mut w, FIN | ACK, 1001, 7), vec![(RST, 7, 0)]);
    assert_eq!(answers(&mut w, RST | ACK, 900_000, 7), vec![]);
    // The SYN again: the same SYN-ACK, then not again within 500 ms.
    assert_eq!(answers(&mut w, SYN, 1000, 0), vec![(SA, isn, 1001)]);
    assert_eq!(answers(&mut w, SYN, 1000, 0), vec![]);
    // Outside the window: an ACK of the SYN (after the rate limit's pause).
    w.now_ns += 600_000_000;
    let far = 1001 + 100_000;
    assert_eq!(
        answers(&mut w, SYN, far, 0),
        vec![(ACK, isn.wrapping_add(1), 1001)]
    );
    // The right ACK completes the handshake: data then gets no answer.
    assert_eq!(answers(&mut w, ACK, 1001, isn.wrapping_add(1)), vec![]);
    assert_eq!(answers(&mut w, ACK, 1001, 12345), vec![]);

    // A RST at the start of the window drops the request (whatever it
    // acknowledges): the listener answers
    // the next ACK, right or not, with a RST.
    let mut w = lab();
    let synack = answers(&mut w, SYN, 1000, 0);
    let [(SA, isn, _)] = synack[..] else {
        panic!("{synack:?}")
    };
    assert_eq!(answers(&mut w, RST | ACK, 1001, 7), vec![]);
    let ack = isn.wrapping_add(1);
    assert_eq!(answers(&mut w, ACK, 1001, ack), vec![(RST, ack, 0)]);
    // A new SYN inside the window of another request: RST, request gone.
    let mut w = lab();
    answers(&mut w, SYN, 1000, 0);
    assert_eq!(answers(&mut w, SYN, 1500, 0), vec![(RST | ACK, 0, 1501)]);
}

#[test]
fn owner_and_log_uid_tell_user_kernel_and_request_sockets_apart() {
    let mut w = lab();
    restore(
        &mut w,
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -p tcp --dport 99 -j REJECT --reject-with tcp-reset\n\
         -A OUTPUT -m owner --socket-exists\n\
         -A OUTPUT -m owner --uid-owner 0\n\
         -A OUTPUT -m owner ! --socket-exists\n\
         -A OUTPUT -j LOG --log-prefix \"own \" --log-uid\nCOMMIT\n",
    );
    // Packets counted by the three owner rules.
    let counts = |w: &mut World| -> [u32; 3] {
        let n: Vec<u32> = save(w)
            .lines()
            .filter(|l| l.contains("-m owner"))
            .map(|l| l[1..l.find(':').unwrap()].parse().unwrap())
            .collect();
        [n[0], n[1], n[2]]
    };
    let mut packets = Vec::new();
    // The router's own user socket: UID and GID in the LOG line.
    let ping = build_icmp(
        &IpFields::new(a("10.1.0.1"), a("10.1.0.100")),
        8,
        0,
        [0, 1, 0, 1],
        b"abcd",
    );
    w.send(0, ping);
    packets.push(counts(&mut w));
    // The stack's RST: a socket without a user.
    w.inject(0, "r0", tcp("10.1.0.100", "10.1.0.1", 81, tcp_flags::SYN));
    packets.push(counts(&mut w));
    // The listener's SYN-ACK: its owner, but no UID in the LOG line.
    w.inject(0, "r0", tcp("10.1.0.100", "10.1.0.1", 8080, tcp_flags::SYN));
    packets.push(counts(&mut w));
    // REJECT's RST: no socket at all.
    w.inject(0, "r0", tcp("10.1.0.100", "10.1.0.1", 99, tcp_flags::SYN));
    packets.push(counts(&mut w));
    // The listener's RST for a wrong ACK: the listener's socket, a user's.
    w.inject(0, "r0", tcp("10.1.0.100", "10.1.0.1", 8080, tcp_flags::ACK));
    packets.push(counts(&mut w));
    let want = [[1, 1, 0], [2, 1, 0], [3, 2, 0], [3, 2, 1], [4, 3, 1]];
    assert_eq!(packets, want);
    let log: Vec<&str> = w.hosts[0].kmsg.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(log.len(), 5, "{log:?}");
    assert!(log[0].ends_with("SEQ=1 UID=0 GID=0 "), "{}", log[0]);
    assert!(log[1..4].iter().all(|l| !l.contains("UID=")), "{log:?}");
    assert!(log[4].ends_with("RST URGP=0 UID=0 GID=0 "), "{}", log[4]);
}

#[test]
fn a_tee_copy_belongs_to_no_socket() {
    // Seed 113645: an echo request copied in mangle INPUT, its copy logged
    // in OUTPUT without UID (`pskb_copy` leaves the copy without a socket);
    // so is the copy of the router's own ping, whose original shows its user
    // (checked in a namespace: `-j TEE` in mangle OUTPUT, LOG --log-uid in
    // POSTROUTING).
    let mut w = lab();
    restore(
        &mut w,
        "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
         :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
         -A INPUT -p icmp --icmp-type echo-request -j TEE --gateway 10.2.0.2\n\
         -A OUTPUT -p icmp --icmp-type echo-request -d 10.1.0.100 -j TEE --gateway 10.2.0.2\n\
         -A OUTPUT -p icmp --icmp-type echo-request -j LOG --log-prefix \"copy \" --log-uid\nCOMMIT\n",
    );
    let echo = |src: &str, dst: &str| {
        build_icmp(&IpFields::new(a(src), a(dst)), 8, 0, [0, 7, 0, 1], b"abcd")
    };
    w.inject(0, "r0", from_client(echo("10.1.0.100", "10.1.0.1")));
    w.send(0, echo("10.1.0.1", "10.1.0.100"));
    let log: Vec<&str> = w.hosts[0].kmsg.iter().map(|r| r.text.as_str()).collect();
    let copies: Vec<&&str> = log.iter().filter(|l| l.contains("OUT=r1")).collect();
    let own: Vec<&&str> = log.iter().filter(|l| l.contains("OUT=r0")).collect();
    assert_eq!((copies.len(), own.len()), (2, 1), "{log:?}");
    assert!(copies.iter().all(|l| !l.contains("UID=")), "{log:?}");
    assert!(own[0].ends_with("UID=0 GID=0 "), "{log:?}");
}
