//! Packets through two hosts on a link: the stack's answers, INPUT filtering,
//! counters and traces.

mod common;

use engine::packet::spec::{L4Spec, PacketSpec};
use engine::sim::world::World;

fn lab() -> World {
    let mut w = World::new();
    let c = w.add_host("client");
    let s = w.add_host("server");
    w.plug(c, "eth0", "10.0.0.1/24", "lan").unwrap();
    w.plug(s, "eth0", "10.0.0.2/24", "lan").unwrap();
    w.hosts[s].listeners.push(engine::sim::host::Listener {
        proto: 6,
        port: 22,
        addr: None,
        service: "ssh".into(),
    });
    w
}

fn syn(dport: u16) -> engine::packet::Packet {
    PacketSpec {
        src: "10.0.0.1".parse().unwrap(),
        dst: "10.0.0.2".parse().unwrap(),
        l4: L4Spec::Tcp {
            sport: 40000,
            dport,
            flags: "S".into(),
            seq: 1,
            ack: 0,
            window: 64240,
        },
        ttl: 64,
        tos: 0,
        id: 1,
        payload_len: 0,
    }
    .build()
    .unwrap()
}

#[test]
fn open_port_answers_syn_ack_and_closed_port_rst() {
    let mut w = lab();
    w.send(0, syn(22));
    let back: Vec<_> = w
        .delivered
        .iter()
        .filter(|d| d.host == 0)
        .map(|d| d.pkt.headers().unwrap().tcp().unwrap().flags)
        .collect();
    assert_eq!(back, vec![0x12]);
    w.send(0, syn(23));
    let back: Vec<_> = w
        .delivered
        .iter()
        .filter(|d| d.host == 0)
        .map(|d| d.pkt.headers().unwrap().tcp().unwrap().flags)
        .collect();
    assert_eq!(back, vec![0x14]);
}

#[test]
fn input_drop_counts_and_traces() {
    let mut w = lab();
    let out = common::sh(
        &mut w.hosts[1],
        "iptables -A INPUT -s 10.0.0.1 -p tcp -j DROP",
    );
    assert_eq!(out.exit, 0, "{}", out.stderr);
    let reports = w.send(0, syn(22)).to_vec();
    assert!(
        w.delivered.iter().all(|d| d.host != 0),
        "no answer when dropped"
    );
    let last = reports.last().unwrap();
    assert_eq!(last.outcome, "dropped on server in INPUT");
    let step = last
        .trace
        .steps
        .iter()
        .find(|s| s.table == "filter" && s.chain == "INPUT")
        .unwrap();
    assert_eq!(
        (step.rule, step.matched, step.verdict.as_deref()),
        (Some(1), true, Some("DROP"))
    );
    let list = common::sh(&mut w.hosts[1], "iptables -L INPUT -v -n -x");
    assert!(
        list.stdout.contains(
            "       1       44 DROP       6    --  *      *       10.0.0.1             0.0.0.0/0"
        ),
        "{}",
        list.stdout
    );
}

#[test]
fn non_matching_rule_says_why() {
    let mut w = lab();
    common::sh(&mut w.hosts[1], "iptables -A INPUT -s 10.9.9.9 -j DROP");
    let reports = w.send(0, syn(22)).to_vec();
    let step = reports[1]
        .trace
        .steps
        .iter()
        .find(|s| s.chain == "INPUT" && s.rule == Some(1))
        .unwrap();
    assert_eq!(
        step.failed.as_deref(),
        Some("-s 10.9.9.9/32 did not match: source is 10.0.0.1")
    );
}

#[test]
fn forwarding_needs_ip_forward() {
    let mut w = World::new();
    let c = w.add_host("client");
    let r = w.add_host("router");
    let s = w.add_host("server");
    w.plug(c, "eth0", "10.1.0.2/24", "left").unwrap();
    w.plug(r, "eth0", "10.1.0.1/24", "left").unwrap();
    w.plug(r, "eth1", "10.2.0.1/24", "right").unwrap();
    w.plug(s, "eth0", "10.2.0.2/24", "right").unwrap();
    for (h, gw) in [(c, "10.1.0.1"), (s, "10.2.0.1")] {
        w.hosts[h].routes.push(engine::sim::route::Route {
            dst: "0.0.0.0".parse().unwrap(),
            prefix: 0,
            via: Some(gw.parse().unwrap()),
            dev: "eth0".into(),
            connected: false,
        });
    }
    // A state rule makes the router track connections.
    let rule: Vec<String> = "iptables -A FORWARD -m state --state INVALID -j DROP"
        .split(' ')
        .map(String::from)
        .collect();
    assert_eq!(
        engine::command::run_argv(&mut w.hosts[r], &rule, None).exit,
        0
    );
    let ping = PacketSpec {
        src: "10.1.0.2".parse().unwrap(),
        dst: "10.2.0.2".parse().unwrap(),
        l4: L4Spec::Icmp {
            icmp_type: 8,
            code: 0,
            id: 7,
            seq: 1,
        },
        ttl: 64,
        tos: 0,
        id: 1,
        payload_len: 56,
    };
    let reports = w.send(c, ping.build().unwrap()).to_vec();
    assert_eq!(reports[1].outcome, "dropped on router: forwarding is off");
    w.hosts[r]
        .sysctl
        .insert("net.ipv4.ip_forward".into(), "1".into());
    w.send(c, ping.build().unwrap());
    let reply = w
        .delivered
        .iter()
        .find(|d| d.host == c)
        .expect("echo reply");
    let h = reply.pkt.headers().unwrap();
    assert_eq!((h.icmp().unwrap().icmp_type, h.ttl), (0, 63));
    // The router saw both directions in FORWARD's conntrack.
    assert_eq!(w.hosts[r].conntrack.len(), 1);
}
