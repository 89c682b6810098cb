//! `-m set` and `-j SET` against the real kernel: the same sets made with
//! the real `ipset` in the router namespace and with ours in the simulator,
//! the same rules, the same packets from the client side. Frames, rule
//! counters (`[p:b] -A ...` lines of `iptables-save -c`) and set members
//! (`ipset list`, counters and timeouts included) must agree. Skips with a
//! reason when not root.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
mod oracle;

#[cfg(target_os = "linux")]
mod cases {
    use super::common;
    use super::oracle::mirror::*;
    use super::oracle::{Topology, PHANTOM, PHANTOM_MAC, R0_MAC};
    use engine::packet::spec::{L4Spec, PacketSpec};
    use engine::packet::Packet;
    use engine::sim::world::World;

    /// The rule counter lines of `iptables-save -c` (policies and tables left out).
    fn rule_counters(save: &str) -> Vec<String> {
        save.lines()
            .filter(|l| l.starts_with('['))
            .map(String::from)
            .collect()
    }

    /// The members of `ipset list NAME`, sorted (hash order is the kernel's own).
    fn members(list: &str) -> Vec<String> {
        let mut v: Vec<String> = list
            .split_once("Members:\n")
            .map(|(_, m)| m.lines().map(String::from).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    fn tcp(src: &str, sport: u16, dst: &str, dport: u16) -> PacketSpec {
        PacketSpec {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            l4: L4Spec::Tcp {
                sport,
                dport,
                flags: "S".into(),
                seq: 1000,
                ack: 0,
                window: 64240,
            },
            ttl: 64,
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

    fn ping(id: u16, dst: &str) -> PacketSpec {
        PacketSpec {
            src: PHANTOM.parse().unwrap(),
            dst: dst.parse().unwrap(),
            l4: L4Spec::Icmp {
                icmp_type: 8,
                code: 0,
                id,
                seq: 1,
            },
            ttl: 64,
            tos: 0,
            id: 1,
            payload_len: 16,
        }
    }

    /// A packet from the client side, or a pause (real time and lab time alike).
    enum Step {
        Send(PacketSpec),
        WaitMs(u64),
    }

    impl From<PacketSpec> for Step {
        fn from(p: PacketSpec) -> Step {
            Step::Send(p)
        }
    }

    fn steps(v: Vec<PacketSpec>) -> Vec<Step> {
        v.into_iter().map(Step::from).collect()
    }

    /// One case: set commands, the router's rules, the packets, the sets to list.
    struct Case {
        name: &'static str,
        ipset: Vec<&'static str>,
        rules: &'static str,
        packets: Vec<Step>,
        list: Vec<&'static str>,
        /// A rule the simulator must be able to evaluate for the case to run
        /// (matches other groups implement).
        needs: Option<&'static str>,
    }

    fn cases() -> Vec<Case> {
        let mut port = 42000u16;
        let mut next = move || {
            port += 1;
            port
        };
        let ph = PHANTOM;
        let mixed = |next: &mut dyn FnMut() -> u16| {
            vec![
                tcp(ph, next(), "10.2.0.2", 80),
                tcp(ph, next(), "10.2.0.2", 81),
                tcp(ph, next(), "10.1.0.1", 22),
                udp(next(), "10.2.0.2", 53),
                udp(next(), "10.1.0.1", 53),
                ping(next(), "10.2.0.2"),
                ping(next(), "10.1.0.1"),
            ]
        };
        vec![
            Case {
                name: "seed: a blocklist set drops its sources",
                ipset: vec![
                    "ipset -N MYNEWSET hash:ip",
                    "ipset -A MYNEWSET 1.1.1.1",
                    "ipset -A MYNEWSET 2.2.2.2",
                    "ipset -A MYNEWSET 8.8.8.8",
                ],
                rules: "*filter\n-A INPUT -m set --match-set MYNEWSET src -j DROP\n-A INPUT -p tcp\nCOMMIT\n",
                packets: steps(vec![
                    tcp("1.1.1.1", next(), "10.1.0.1", 22),
                    tcp("2.2.2.2", next(), "10.1.0.1", 22),
                    tcp("8.8.8.8", next(), "10.1.0.1", 22),
                    tcp("9.9.9.9", next(), "10.1.0.1", 22),
                    tcp(ph, next(), "10.1.0.1", 22),
                ]),
                list: vec!["MYNEWSET"],
                needs: None,
            },
            Case {
                name: "seed: -j SET on port 80, then the client is blocked",
                ipset: vec!["ipset -N auto_blocked iphash"],
                rules: "*filter\n-A INPUT -m set --match-set auto_blocked src -j DROP\n-A INPUT -p tcp --dport 80 -j SET --add-set auto_blocked src\nCOMMIT\n",
                packets: steps(vec![
                    tcp(ph, next(), "10.1.0.1", 22),
                    tcp(ph, next(), "10.1.0.1", 80),
                    tcp(ph, next(), "10.1.0.1", 22),
                    tcp(ph, next(), "10.1.0.1", 80),
                ]),
                list: vec!["auto_blocked"],
                needs: Some("-A INPUT -p tcp --dport 80"),
            },
            Case {
                name: "the same with the port in a hash:ip,port set",
                ipset: vec![
                    "ipset -N auto_blocked iphash",
                    "ipset create web hash:ip,port",
                    "ipset add web 10.1.0.1,tcp:80",
                ],
                rules: "*filter\n-A INPUT -m set --match-set auto_blocked src -j DROP\n-A INPUT -m set --match-set web dst,dst -j SET --add-set auto_blocked src\nCOMMIT\n",
                packets: steps(vec![
                    tcp(ph, next(), "10.1.0.1", 22),
                    udp(next(), "10.1.0.1", 80),
                    tcp(ph, next(), "10.1.0.1", 22),
                    tcp(ph, next(), "10.1.0.1", 80),
                    tcp(ph, next(), "10.1.0.1", 22),
                    ping(next(), "10.1.0.1"),
                ]),
                list: vec!["auto_blocked", "web"],
                needs: None,
            },
            Case {
                name: "hash:net: most specific member, nomatch, --return-nomatch, inversion",
                ipset: vec![
                    "ipset create nets hash:net",
                    "ipset add nets 10.1.0.0/16",
                    "ipset add nets 10.1.0.96/28 nomatch",
                    "ipset add nets 10.1.0.100/31",
                    "ipset add nets 10.2.0.0/24 nomatch",
                ],
                rules: "*filter\n-A FORWARD -m set --match-set nets src\n-A FORWARD -m set ! --match-set nets src\n-A FORWARD -m set --match-set nets src --return-nomatch\n-A FORWARD -m set --match-set nets dst\n-A FORWARD -m set --match-set nets dst --return-nomatch\n-A FORWARD -m set ! --match-set nets dst --return-nomatch\n-A INPUT -m set --match-set nets src,dst\n-A OUTPUT -m set --match-set nets dst\nCOMMIT\n",
                packets: steps(mixed(&mut next)),
                list: vec!["nets"],
                needs: None,
            },
            Case {
                name: "multi-dimension types and interfaces",
                ipset: vec![
                    "ipset create web hash:ip,port",
                    "ipset add web 10.2.0.2,tcp:80",
                    "ipset add web 10.2.0.2,udp:53",
                    "ipset add web 10.1.0.1,icmp:echo-request",
                    "ipset add web 10.2.0.2,icmp:echo-reply",
                    "ipset create np hash:net,port",
                    "ipset add np 10.1.0.0/24,tcp:22",
                    "ipset add np 10.2.0.0/24,tcp:80",
                    "ipset create ipi hash:ip,port,ip",
                    "ipset add ipi 10.1.0.100,tcp:80,10.2.0.2",
                    "ipset create ipn hash:ip,port,net",
                    "ipset add ipn 10.2.0.2,tcp:80,10.1.0.0/24",
                    "ipset add ipn 10.2.0.2,udp:53,10.1.0.96/27",
                    "ipset create ni hash:net,iface",
                    "ipset add ni 10.1.0.0/24,r0",
                    "ipset add ni 10.2.0.0/24,r1",
                    "ipset add ni 10.0.0.0/8,r wildcard",
                    "ipset create bp bitmap:port range 0-1024",
                    "ipset add bp 22",
                    "ipset add bp 53",
                    "ipset add bp 80",
                ],
                rules: "*filter\n-A FORWARD -m set --match-set web dst,dst\n-A FORWARD -m set --match-set web src,src\n-A FORWARD -m set --match-set web dst\n-A FORWARD -m set --match-set np dst,dst\n-A FORWARD -m set --match-set np src,src\n-A FORWARD -m set --match-set ipi src,dst,dst\n-A FORWARD -m set --match-set ipn dst,dst,src\n-A FORWARD -m set --match-set ipn src,src,dst\n-A FORWARD -m set --match-set ni src,src\n-A FORWARD -m set --match-set ni dst,dst\n-A FORWARD -m set --match-set ni src,dst\n-A FORWARD -m set --match-set bp dst\n-A FORWARD -m set --match-set bp src\n-A INPUT -m set --match-set web dst,dst\n-A INPUT -m set --match-set ni src,src\n-A INPUT -m set --match-set np dst,dst\n-A INPUT -m set --match-set bp dst\n-A OUTPUT -m set --match-set ni dst,dst\n-A OUTPUT -m set --match-set ni src,src\n-A OUTPUT -m set --match-set bp src\nCOMMIT\n",
                packets: steps(mixed(&mut next)),
                list: vec!["web"],
                needs: None,
            },
            Case {
                name: "counters: updated, then compared; ! --update-counters",
                ipset: vec![
                    "ipset create c hash:ip counters",
                    "ipset add c 10.1.0.100",
                    "ipset add c 10.2.0.2 packets 10 bytes 1000",
                ],
                rules: "*filter\n-A FORWARD -m set --match-set c src ! --update-counters --packets-eq 0\n-A FORWARD -m set --match-set c src --packets-gt 2\n-A FORWARD -m set --match-set c src --packets-lt 5\n-A FORWARD -m set --match-set c src ! --packets-eq 7\n-A FORWARD -m set --match-set c dst --bytes-gt 1100\n-A FORWARD -m set ! --match-set c src --bytes-lt 300\n-A FORWARD -m set --match-set c src --bytes-gt 900 -j DROP\nCOMMIT\n",
                packets: steps(mixed(&mut next)),
                list: vec!["c"],
                needs: None,
            },
            Case {
                name: "list:set: members in order, its own counters, ! --update-subcounters",
                ipset: vec![
                    "ipset create a hash:ip counters",
                    "ipset add a 10.1.0.100",
                    "ipset create b hash:net counters",
                    "ipset add b 10.0.0.0/8",
                    "ipset create l list:set counters",
                    "ipset add l a",
                    "ipset add l b",
                ],
                rules: "*filter\n-A FORWARD -m set --match-set l src\n-A FORWARD -m set --match-set l dst ! --update-subcounters\n-A FORWARD -m set --match-set l src --packets-gt 3\n-A FORWARD -m set --match-set l dst ! --update-counters\nCOMMIT\n",
                packets: steps(mixed(&mut next)),
                list: vec!["a", "b", "l"],
                needs: None,
            },
            Case {
                name: "-j SET adds and deletes in every kind of set",
                ipset: vec![
                    "ipset create seen hash:ip timeout 100 counters",
                    "ipset create ports hash:ip,port counters",
                    "ipset create nets hash:net counters",
                    "ipset add nets 192.168.0.0/16",
                    "ipset create bm bitmap:ip range 10.1.0.0/24 counters",
                    "ipset create bp bitmap:port range 0-65535",
                    "ipset create mac bitmap:ip,mac range 10.1.0.0/24 counters",
                    "ipset add mac 10.1.0.100",
                    "ipset create trio hash:ip,port,ip timeout 30",
                    "ipset create lst list:set",
                    "ipset add lst trio",
                    "ipset add lst seen",
                ],
                rules: "*filter\n-A FORWARD -j SET --add-set seen src --timeout 50\n-A FORWARD -j SET --add-set ports dst,dst --exist\n-A FORWARD -j SET --add-set nets src\n-A FORWARD -j SET --add-set bm src\n-A FORWARD -j SET --add-set bp dst\n-A FORWARD -m set --match-set mac src,src\n-A FORWARD -j SET --add-set lst src,dst,dst\n-A INPUT -j SET --add-set ports dst,dst\n-A INPUT -j SET --del-set bm src\n-A INPUT -j SET --add-set seen dst --exist\nCOMMIT\n",
                packets: steps(mixed(&mut next)),
                list: vec!["seen", "ports", "nets", "bm", "bp", "mac", "trio", "lst"],
                needs: None,
            },
            Case {
                name: "timeouts run out on the clock; --exist refreshes them",
                ipset: vec![
                    "ipset create t hash:ip timeout 1 counters",
                    "ipset create keep hash:ip timeout 1",
                ],
                rules: "*filter\n-A INPUT -m set --match-set t src -j DROP\n-A INPUT -j SET --add-set t src\n-A INPUT -j SET --add-set keep src --exist\nCOMMIT\n",
                packets: vec![
                    tcp(ph, next(), "10.1.0.1", 22).into(),
                    tcp(ph, next(), "10.1.0.1", 22).into(),
                    Step::WaitMs(700),
                    tcp(ph, next(), "10.1.0.1", 22).into(),
                    Step::WaitMs(700),
                    tcp(ph, next(), "10.1.0.1", 22).into(),
                    tcp(ph, next(), "10.1.0.1", 22).into(),
                ],
                list: vec!["t", "keep"],
                needs: None,
            },
            Case {
                name: "--map-set copies the mark",
                ipset: vec![
                    "ipset create m hash:net skbinfo counters",
                    "ipset add m 10.1.0.0/24 skbmark 0x15/0xf",
                    "ipset add m 10.2.0.2 skbmark 0x3",
                ],
                rules: "*mangle\n-A PREROUTING -j SET --map-set m src --map-mark\nCOMMIT\n*filter\n-A FORWARD -m mark --mark 0x5\n-A FORWARD -m mark --mark 0x3\n-A INPUT -m mark --mark 0x5\nCOMMIT\n",
                packets: steps(mixed(&mut next)),
                list: vec!["m"],
                needs: Some("-A INPUT -m mark --mark 0x5"),
            },
        ]
    }

    /// Whether the simulator evaluates a rule (other groups' matches may not act yet).
    fn evaluable(rule: &str) -> bool {
        let mut w = sim_world();
        w.tracing = true;
        w.now_ns = 1_700_000_000_000_000_000;
        let restore = format!("*filter\n{rule}\nCOMMIT\n");
        if common::sh_stdin(&mut w.hosts[0], "iptables-restore", &restore).exit != 0 {
            return false;
        }
        let pkt = tcp(PHANTOM, 40000, "10.1.0.1", 80).build().unwrap();
        w.inject(0, "r0", pkt);
        !w.reports.iter().any(|r| {
            r.trace.steps.iter().any(|s| {
                s.failed
                    .as_deref()
                    .is_some_and(|f| f.contains("cannot be evaluated"))
            })
        })
    }

    fn inject_sim(w: &mut World, pkt: &Packet) {
        let mut p = pkt.clone();
        p.meta.src_mac = Some(PHANTOM_MAC);
        p.meta.dst_mac = Some(R0_MAC);
        w.wire.clear();
        w.inject(0, "r0", p);
    }

    #[test]
    fn set_match_and_target_agree_with_kernel() {
        if let Err(why) = common::can_use_kernel() {
            println!("skipped: {why}");
            return;
        }
        let tag = format!("kis{}", std::process::id() % 10000);
        let topo = Topology::new(&tag).expect("topology");
        let _listener = listen(&topo.server(), 80);
        std::thread::sleep(std::time::Duration::from_millis(200));
        let mut mismatches = Vec::new();
        let mut compared = 0;
        for case in cases() {
            let name = case.name;
            if let Some(rule) = case.needs {
                if !evaluable(rule) {
                    println!("skipped case `{name}`: the simulator cannot evaluate `{rule}` yet");
                    continue;
                }
            }
            let router = topo.router();
            topo.exec(
                &router,
                "nft flush ruleset; ipset destroy; conntrack -F 2>/dev/null; true",
            )
            .expect("reset");
            let _ = topo.exec(&topo.server(), "conntrack -F 2>/dev/null; true");
            let mut w = sim_world();
            w.tracing = true;
            w.now_ns = 1_700_000_000_000_000_000;
            for cmd in &case.ipset {
                topo.exec(&router, cmd).expect("real ipset");
                let o = common::sh(&mut w.hosts[0], cmd);
                assert_eq!(o.exit, 0, "{name}: our `{cmd}`: {}", o.stderr);
            }
            topo.load_router_rules(case.rules).expect("real restore");
            let out = common::sh_stdin(&mut w.hosts[0], "iptables-restore", case.rules);
            assert_eq!(out.exit, 0, "{name}: our restore failed: {}", out.stderr);
            for step in &case.packets {
                let spec = match step {
                    Step::Send(spec) => spec,
                    Step::WaitMs(ms) => {
                        std::thread::sleep(std::time::Duration::from_millis(*ms));
                        w.advance(ms * 1_000_000);
                        continue;
                    }
                };
                let pkt = spec.build().unwrap();
                let mut real: Vec<String> = topo
                    .inject(&pkt.data)
                    .into_iter()
                    .map(|(s, b)| describe(seen_name(s), &b))
                    .collect();
                real.sort();
                inject_sim(&mut w, &pkt);
                let sim = sim_frames(&w);
                compared += 1;
                if real != sim {
                    mismatches.push(format!(
                        "{name}: {spec:?}\n  kernel:    {real:#?}\n  simulator: {sim:#?}"
                    ));
                }
            }
            let real = rule_counters(&topo.exec(&router, "iptables-save -c").expect("save"));
            let sim = rule_counters(&common::sh(&mut w.hosts[0], "iptables-save -c").stdout);
            compared += 1;
            if real != sim {
                mismatches.push(format!(
                    "{name}: rule counters\n--- kernel\n{}\n--- simulator\n{}",
                    real.join("\n"),
                    sim.join("\n")
                ));
            }
            for set in &case.list {
                let cmd = format!("ipset list {set}");
                let real = members(&topo.exec(&router, &cmd).expect("ipset list"));
                let sim = members(&common::sh(&mut w.hosts[0], &cmd).stdout);
                if std::env::var("KERNEL_IPSET_SHOW").is_ok() {
                    println!("{name}: {set}: {real:?}");
                }
                compared += 1;
                if real != sim {
                    mismatches.push(format!(
                        "{name}: members of {set}\n  kernel:    {real:?}\n  simulator: {sim:?}"
                    ));
                }
            }
        }
        let _ = topo.exec(&topo.router(), "nft flush ruleset; ipset destroy");
        println!(
            "kernel vs simulator (ipset): {compared} comparisons, {} mismatches",
            mismatches.len()
        );
        for m in &mismatches {
            println!("MISMATCH {m}");
        }
        assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
    }
}
