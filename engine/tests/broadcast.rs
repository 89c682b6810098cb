//! Broadcast and multicast on a segment: every host on it receives the
//! frame through its own netfilter and stack, the sender gets its own copy
//! back, routers do not forward it.

mod common;

use common::sh;
use engine::packet::spec::{L4Spec, PacketSpec};
use engine::packet::Packet;
use engine::sim::world::World;
use std::net::Ipv4Addr;

/// Three hosts on `lan` (10.0.0.0/24), the router their default route
/// (multicast leaves by it); the router also on `wan`, forwarding.
fn lab() -> World {
    let mut w = World::new();
    let a = w.add_host("a");
    let b = w.add_host("b");
    let r = w.add_host("router");
    w.plug(a, "eth0", "10.0.0.1/24", "lan").unwrap();
    w.plug(b, "eth0", "10.0.0.2/24", "lan").unwrap();
    w.plug(r, "eth0", "10.0.0.254/24", "lan").unwrap();
    w.plug(r, "eth1", "10.9.0.1/24", "wan").unwrap();
    w.hosts[r]
        .sysctl
        .insert("net.ipv4.ip_forward".into(), "1".into());
    for h in 0..2 {
        w.hosts[h].routes.push(engine::sim::route::Route {
            dst: Ipv4Addr::UNSPECIFIED,
            prefix: 0,
            via: Some(Ipv4Addr::new(10, 0, 0, 254)),
            dev: "eth0".into(),
            connected: false,
        });
    }
    for h in 0..3 {
        sh(&mut w.hosts[h], "iptables -t raw -A PREROUTING");
        sh(
            &mut w.hosts[h],
            "iptables -A INPUT -j LOG --log-prefix \"in \"",
        );
    }
    w
}

fn packet(dst: &str, l4: L4Spec, ttl: u8) -> Packet {
    packet_from("10.0.0.1", dst, l4, ttl)
}

fn packet_from(src: &str, dst: &str, l4: L4Spec, ttl: u8) -> Packet {
    PacketSpec {
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        l4,
        ttl,
        tos: 0,
        id: 0,
        payload_len: 8,
    }
    .build()
    .unwrap()
}

fn echo(dst: &str) -> Packet {
    echo_from("10.0.0.1", dst)
}

fn echo_from(src: &str, dst: &str) -> Packet {
    let icmp = L4Spec::Icmp {
        icmp_type: 8,
        code: 0,
        id: 7,
        seq: 1,
    };
    packet_from(src, dst, icmp, 1)
}

/// The hosts that got a packet to `dst`, in order, with the interface.
fn receivers(w: &World, dst: &str) -> Vec<(String, String)> {
    let dst: Ipv4Addr = dst.parse().unwrap();
    w.delivered
        .iter()
        .filter(|d| d.pkt.headers().unwrap().dst == dst)
        .map(|d| {
            let iface = d.pkt.meta.in_iface.clone().unwrap_or_default();
            (w.hosts[d.host].name.clone(), iface)
        })
        .collect()
}

/// Echo replies `a` got: their sources.
fn replies(w: &World) -> Vec<Ipv4Addr> {
    w.delivered
        .iter()
        .filter(|d| d.host == 0)
        .map(|d| d.pkt.headers().unwrap())
        .filter(|h| h.icmp().is_some_and(|i| i.icmp_type == 0))
        .map(|h| h.src)
        .collect()
}

fn counted(w: &mut World, host: usize, table: &str) -> String {
    let out = sh(&mut w.hosts[host], &format!("iptables -t {table} -S -v"));
    out.stdout
}

fn dmesg(w: &mut World, host: usize) -> String {
    let argv = ["dmesg".to_string(), "-t".to_string()];
    engine::sim::tools::run_in_world(w, host, &argv, None).stdout
}

#[test]
fn all_hosts_group_reaches_every_host_and_the_sender() {
    let mut w = lab();
    w.send(0, echo("224.0.0.1"));
    let got = receivers(&w, "224.0.0.1");
    let own = |h: &str| (h.to_string(), "eth0".to_string());
    // The sender's own copy comes back first, in on the device it left by.
    assert_eq!(got, vec![own("a"), own("b"), own("router")]);
    // icmp_echo_ignore_broadcasts=1: nobody answers.
    assert!(replies(&w).is_empty());
    for h in 0..3 {
        assert!(counted(&mut w, h, "raw").contains("-A PREROUTING -c 1 36"));
    }
    // Not forwarded: nothing went out on wan.
    assert!(w.wire.iter().all(|e| e.iface != "eth1"));
    // LOG: the looped copy has no link-layer header, the others the
    // group's MAC.
    let a_log = dmesg(&mut w, 0);
    assert!(
        a_log.contains("in IN=eth0 OUT= MAC= SRC=10.0.0.1 DST=224.0.0.1 "),
        "{a_log}"
    );
    let b_log = dmesg(&mut w, 1);
    assert!(
        b_log
            .contains("in IN=eth0 OUT= MAC=01:00:5e:00:00:01:02:00:00:01:00:01:08:00 SRC=10.0.0.1"),
        "{b_log}"
    );
}

#[test]
fn echo_to_a_group_or_broadcast_is_answered_from_each_hosts_own_address() {
    for dst in ["224.0.0.1", "10.0.0.255", "255.255.255.255"] {
        let mut w = lab();
        for h in 0..3 {
            w.hosts[h]
                .sysctl
                .insert("net.ipv4.icmp_echo_ignore_broadcasts".into(), "0".into());
        }
        w.send(0, echo(dst));
        let from: Vec<Ipv4Addr> = ["10.0.0.1", "10.0.0.2", "10.0.0.254"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(replies(&w), from, "{dst}");
    }
}

#[test]
fn a_group_nobody_joined_is_seen_in_prerouting_only() {
    let mut w = lab();
    w.send(0, echo("224.0.0.5"));
    assert!(receivers(&w, "224.0.0.5").is_empty());
    assert!(counted(&mut w, 1, "raw").contains("-A PREROUTING -c 1 36"));
    let filter = counted(&mut w, 1, "filter");
    assert!(filter.contains("-A INPUT -c 0 0 -j LOG"), "{filter}");
}

#[test]
fn udp_broadcast_reaches_listeners_and_closed_ports_stay_silent() {
    let mut w = lab();
    w.hosts[1].listeners.push(engine::sim::host::Listener {
        proto: 17,
        port: 9999,
        addr: None,
        service: "svc".into(),
    });
    for dport in [9999, 22] {
        let udp = L4Spec::Udp {
            sport: 40000,
            dport,
        };
        w.send(0, packet("10.0.0.255", udp, 64));
        let to: Vec<(usize, String)> = w
            .delivered
            .iter()
            .map(|d| (d.host, d.pkt.headers().unwrap().dst.to_string()))
            .collect();
        // Every host takes it; no ICMP port unreachable comes back.
        assert_eq!(to.len(), 3, "{to:?}");
        assert!(to.iter().all(|(_, d)| d == "10.0.0.255"), "{to:?}");
    }
}

#[test]
fn a_host_without_an_address_may_send_to_the_all_hosts_group() {
    let mut w = lab();
    let mut p = echo_from("0.0.0.0", "224.0.0.1");
    let mut q = echo_from("0.0.0.0", "239.1.1.1");
    for pkt in [&mut p, &mut q] {
        pkt.meta.src_mac = Some([0x02, 0, 0, 0, 0, 0x99]);
        pkt.meta.dst_mac = Some([0x01, 0, 0x5e, 0, 0, 1]);
    }
    w.inject(1, "eth0", p);
    assert_eq!(
        receivers(&w, "224.0.0.1"),
        vec![("b".into(), "eth0".into())]
    );
    // Not a link-local group: a martian source.
    w.inject(1, "eth0", q);
    assert!(
        w.reports[0].outcome.contains("martian source"),
        "{}",
        w.reports[0].outcome
    );
}

#[test]
fn ping_to_a_group_shows_every_answer_until_the_last_probe_is_answered() {
    let mut w = lab();
    for h in 0..3 {
        w.hosts[h]
            .sysctl
            .insert("net.ipv4.icmp_echo_ignore_broadcasts".into(), "0".into());
    }
    let argv: Vec<String> = "ping -c 2 -i 0.2 -W 1 224.0.0.1"
        .split(' ')
        .map(String::from)
        .collect();
    let out = engine::sim::tools::run_in_world(&mut w, 0, &argv, None).stdout;
    let from: Vec<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix("64 bytes from "))
        .map(|l| l.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        from,
        vec![
            "10.0.0.1: icmp_seq=1",
            "10.0.0.2: icmp_seq=1",
            "10.0.0.254: icmp_seq=1",
            "10.0.0.1: icmp_seq=2"
        ],
        "{out}"
    );
    assert!(
        out.contains("2 packets transmitted, 2 received, +2 duplicates, 0% packet loss"),
        "{out}"
    );
}

/// The network's own address (10.0.0.0) has no broadcast route on Linux
/// 6.x (`ip route get 10.0.0.0` answers with the connected unicast route):
/// a packet to it asks for a neighbour that never answers and reaches
/// nobody.
#[test]
fn the_network_address_is_not_a_broadcast() {
    let mut w = lab();
    let udp = L4Spec::Udp {
        sport: 40000,
        dport: 9,
    };
    w.send(0, packet("10.0.0.0", udp, 64));
    assert!(receivers(&w, "10.0.0.0").is_empty());
    for h in 1..3 {
        assert!(
            counted(&mut w, h, "raw").contains("-A PREROUTING -c 0 0"),
            "host {h}"
        );
    }
    let argv: Vec<String> = ["ip", "route", "get", "10.0.0.0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = engine::sim::tools::run_in_world(&mut w, 0, &argv, None).stdout;
    assert!(out.starts_with("10.0.0.0 dev eth0 src 10.0.0.1 "), "{out}");
}

/// The sender's own looped copy has no link-layer header: plain LOG prints
/// `MAC= `, `--log-macdecode` no MAC fields at all (checked on Linux 6.18).
#[test]
fn macdecode_prints_nothing_for_the_looped_copy() {
    let mut w = lab();
    sh(
        &mut w.hosts[0],
        "iptables -t mangle -A PREROUTING -j LOG --log-prefix \"md \" --log-macdecode",
    );
    w.send(0, echo("224.0.0.1"));
    let log = dmesg(&mut w, 0);
    assert!(
        log.contains("md IN=eth0 OUT= SRC=10.0.0.1 DST=224.0.0.1 "),
        "{log}"
    );
    assert!(log.contains("in IN=eth0 OUT= MAC= SRC=10.0.0.1 "), "{log}");
}
