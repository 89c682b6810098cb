//! The simulator against the real kernel: the same client–router–server
//! topology in namespaces and in the simulator, the same rules in the
//! router, the same packets; every frame the router and server send and
//! every counter must agree. Skips with a reason when not root.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
mod oracle;

#[cfg(target_os = "linux")]
mod cases {
    use super::common;
    use super::oracle::mirror::*;
    use super::oracle::{Topology, PHANTOM};
    use engine::packet::spec::{L4Spec, PacketSpec};

    fn save_c(text: &str) -> String {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    fn tcp(sport: u16, dst: &str, dport: u16, flags: &str, ttl: u8) -> PacketSpec {
        PacketSpec {
            src: PHANTOM.parse().unwrap(),
            dst: dst.parse().unwrap(),
            l4: L4Spec::Tcp {
                sport,
                dport,
                flags: flags.into(),
                seq: 1000,
                ack: 0,
                window: 64240,
            },
            ttl,
            tos: 0,
            id: 1,
            payload_len: 0,
        }
    }

    fn udp(sport: u16, dst: &str, dport: u16) -> PacketSpec {
        PacketSpec {
            src: PHANTOM.parse().unwrap(),
            dst: dst.parse().unwrap(),
            l4: L4Spec::Udp { sport, dport },
            ttl: 64,
            tos: 0,
            id: 1,
            payload_len: 3,
        }
    }

    fn ping(id: u16, dst: &str, ttl: u8) -> PacketSpec {
        PacketSpec {
            src: PHANTOM.parse().unwrap(),
            dst: dst.parse().unwrap(),
            l4: L4Spec::Icmp {
                icmp_type: 8,
                code: 0,
                id,
                seq: 1,
            },
            ttl,
            tos: 0,
            id: 1,
            payload_len: 16,
        }
    }

    /// Rulesets (restore format for the router) with the packets sent through each.
    fn cases() -> Vec<(&'static str, String, Vec<PacketSpec>)> {
        let mut port = 41000u16;
        let mut next = || {
            port += 1;
            port
        };
        let mixed = |next: &mut dyn FnMut() -> u16| {
            vec![
                tcp(next(), "10.2.0.2", 80, "S", 64),
                tcp(next(), "10.2.0.2", 81, "S", 64),
                tcp(next(), "10.1.0.1", 22, "S", 64),
                tcp(next(), "10.2.0.2", 80, "A", 64),
                udp(next(), "10.2.0.2", 53),
                udp(next(), "10.1.0.1", 53),
                ping(next(), "10.2.0.2", 64),
                ping(next(), "10.1.0.1", 64),
                tcp(next(), "10.2.0.2", 80, "S", 1),
                ping(next(), "10.9.9.9", 64),
            ]
        };
        vec![
            ("empty ruleset", "*filter\nCOMMIT\n".to_string(), mixed(&mut next)),
            (
                "forward policy drop with address and interface rules",
                "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -i r0 -o r1 -s 10.1.0.0/24 -d 10.2.0.2/32 -p tcp -j ACCEPT\n-A FORWARD -i r1 -j ACCEPT\n-A FORWARD ! -s 10.1.0.0/24 -j DROP\nCOMMIT\n".to_string(),
                mixed(&mut next),
            ),
            (
                "user chains: jump, goto, return, fall-through",
                "*filter\n:CHK - [0:0]\n:DEEP - [0:0]\n-A FORWARD -p udp -j CHK\n-A FORWARD -p icmp -g DEEP\n-A FORWARD -p tcp -j CHK\n-A CHK -p udp -j RETURN\n-A CHK -d 10.2.0.2/32 -j DEEP\n-A DEEP -p icmp -j DROP\n-A DEEP -p tcp\n-A INPUT -p tcp -j DROP\n-A INPUT -p udp -j CHK\nCOMMIT\n".to_string(),
                mixed(&mut next),
            ),
            (
                "input and output of the router itself",
                "*filter\n:INPUT DROP [0:0]\n-A INPUT -i r0 -p icmp -j ACCEPT\n-A INPUT -i lo -j ACCEPT\n-A OUTPUT -o r0 -p tcp -j DROP\n-A INPUT -p tcp -j ACCEPT\nCOMMIT\n".to_string(),
                mixed(&mut next),
            ),
            (
                "raw and mangle see everything first",
                "*raw\n-A PREROUTING -p tcp\n-A PREROUTING -p icmp -j ACCEPT\n-A OUTPUT\nCOMMIT\n*mangle\n-A PREROUTING -i r0\n-A FORWARD -o r1\n-A POSTROUTING\nCOMMIT\n*filter\n-A FORWARD -p udp -j DROP\nCOMMIT\n".to_string(),
                mixed(&mut next),
            ),
        ]
    }

    #[test]
    fn simulator_agrees_with_kernel() {
        if let Err(why) = common::can_use_kernel() {
            println!("skipped: {why}");
            return;
        }
        let tag = format!("ks{}", std::process::id() % 10000);
        let topo = Topology::new(&tag).expect("topology");
        let _listener = listen(&topo.server(), 80);
        std::thread::sleep(std::time::Duration::from_millis(200));
        let mut mismatches = Vec::new();
        let mut compared = 0;
        for (name, rules, packets) in cases() {
            let _ = topo.exec(&topo.router(), "iptables -F; iptables -X; iptables -t raw -F; iptables -t mangle -F; iptables -Z; iptables -t raw -Z; iptables -t mangle -Z; iptables -P FORWARD ACCEPT; iptables -P INPUT ACCEPT; conntrack -F 2>/dev/null");
            let _ = topo.exec(&topo.server(), "conntrack -F 2>/dev/null");
            topo.load_router_rules(&rules).expect("real restore");
            let mut w = sim_world();
            let out = common::sh_stdin(&mut w.hosts[0], "iptables-restore", &rules);
            assert_eq!(out.exit, 0, "{name}: our restore failed: {}", out.stderr);
            for spec in &packets {
                let pkt = spec.build().unwrap();
                let mut real: Vec<String> = topo
                    .inject(&pkt.data)
                    .into_iter()
                    .map(|(s, b)| describe(seen_name(s), &b))
                    .collect();
                real.sort();
                w.wire.clear();
                w.inject(0, "r0", pkt.clone());
                let sim = sim_frames(&w);
                compared += 1;
                if real != sim {
                    mismatches.push(format!(
                        "{name}: {spec:?}\n  kernel:    {real:#?}\n  simulator: {sim:#?}"
                    ));
                }
            }
            let real_save = topo.exec(&topo.router(), "iptables-save -c").expect("save");
            let sim_save = common::sh(&mut w.hosts[0], "iptables-save -c").stdout;
            compared += 1;
            if save_c(&real_save) != save_c(&sim_save) {
                mismatches.push(format!(
                    "{name}: counters\n--- kernel\n{}--- simulator\n{}",
                    save_c(&real_save),
                    save_c(&sim_save)
                ));
            }
        }
        println!(
            "kernel vs simulator: {compared} comparisons, {} mismatches",
            mismatches.len()
        );
        for m in &mismatches {
            println!("MISMATCH {m}");
        }
        assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
    }
}
