//! The packet group's extensions against the real kernel: limit, hashlimit,
//! recent (with its /proc file), string, TTL, TOS, DSCP, ECN, the tos/dscp/
//! ecn matches, TCPMSS, TCPOPTSTRIP, CHECKSUM and HMARK, in the same
//! client–router–server topology as `kernel_sim.rs`. Packets are sent on a
//! timeline (milliseconds from the start of a case); the simulator gets the
//! same times on its lab clock. The kernel's clock ticks every 4 ms and our
//! sends are late by a few ms, so every time threshold is kept at least
//! 100 ms away. Skips with a reason when not root.

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
    use engine::packet::{build_tcp, build_udp, IpFields, Packet, TcpFields, L4};
    use engine::ruleset::{Hook, RuleTarget};
    use engine::sim::world::World;

    use std::time::{Duration, Instant};

    /// Lab time of the start of every case.
    const BASE_NS: u64 = 1_700_000_000 * 1_000_000_000;

    fn ip(dst: &str, ttl: u8, tos: u8) -> IpFields {
        IpFields {
            src: PHANTOM.parse().unwrap(),
            dst: dst.parse().unwrap(),
            ttl,
            tos,
            id: 1,
            df: false,
        }
    }

    fn tcp_opts(sport: u16, dport: u16, flags: u8, opts: &[u8], payload: &[u8]) -> Packet {
        build_tcp(
            &IpFields {
                df: true,
                ..ip("10.2.0.2", 64, 0)
            },
            &TcpFields {
                sport,
                dport,
                seq: 1000,
                ack: if flags & 0x10 != 0 { 1 } else { 0 },
                flags,
                window: 64240,
                options: opts.to_vec(),
            },
            payload,
        )
    }

    fn tcp(sport: u16, dport: u16, flags: &str, tos: u8) -> Packet {
        PacketSpec {
            src: PHANTOM.parse().unwrap(),
            dst: "10.2.0.2".parse().unwrap(),
            l4: L4Spec::Tcp {
                sport,
                dport,
                flags: flags.into(),
                seq: 1000,
                ack: 0,
                window: 64240,
            },
            ttl: 64,
            tos,
            id: 1,
            payload_len: 0,
        }
        .build()
        .unwrap()
    }

    fn udp(sport: u16, dport: u16, tos: u8, payload: &[u8]) -> Packet {
        build_udp(&ip("10.2.0.2", 64, tos), sport, dport, payload)
    }

    fn ping(id: u16, dst: &str, tos: u8) -> Packet {
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
            tos,
            id: 1,
            payload_len: 16,
        }
        .build()
        .unwrap()
    }

    /// Rule counters of `iptables-save -c`, each line after its table's
    /// name. (Chain policy counters are left out: iptables-nft makes a
    /// built-in chain without a counter when only a rule brings it into being.)
    fn save_c(text: &str) -> String {
        let mut table = "";
        let mut out = String::new();
        for l in text.lines() {
            if let Some(t) = l.strip_prefix('*') {
                table = t;
            } else if l.starts_with('[') {
                out.push_str(&format!("{table} {l}\n"));
            }
        }
        out
    }

    /// Numbers of 9 digits or more (jiffies) become `J`.
    fn no_jiffies(text: &str) -> String {
        let mut out = String::new();
        let mut digits = String::new();
        for c in text.chars().chain(std::iter::once('\0')) {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            if digits.len() >= 9 {
                out.push('J');
            } else {
                out.push_str(&digits);
            }
            digits.clear();
            if c != '\0' {
                out.push(c);
            }
        }
        out
    }

    /// One case: the real router and the simulated one with the same rules
    /// and the same timeline.
    struct Case<'a> {
        name: &'static str,
        topo: &'a Topology,
        w: World,
        start: Instant,
        mismatches: &'a mut Vec<String>,
        compared: &'a mut usize,
    }

    impl<'a> Case<'a> {
        fn new(
            name: &'static str,
            topo: &'a Topology,
            rules: &str,
            mismatches: &'a mut Vec<String>,
            compared: &'a mut usize,
        ) -> Case<'a> {
            let _ = topo.exec(&topo.router(), "iptables -F; iptables -X; iptables -t mangle -F; iptables -t mangle -X; iptables -Z; iptables -t mangle -Z; iptables -P FORWARD ACCEPT; iptables -P INPUT ACCEPT; conntrack -F 2>/dev/null");
            let _ = topo.exec(&topo.server(), "conntrack -F 2>/dev/null");
            topo.load_router_rules(rules).expect("real restore");
            let mut w = sim_world();
            w.now_ns = BASE_NS;
            let out = common::sh_stdin(&mut w.hosts[0], "iptables-restore", rules);
            assert_eq!(out.exit, 0, "{name}: our restore failed: {}", out.stderr);
            Case {
                name,
                topo,
                w,
                start: Instant::now(),
                mismatches,
                compared,
            }
        }

        /// Waits until `at_ms` into the case (the simulator jumps there).
        fn at(&mut self, at_ms: u64) {
            let due = self.start + Duration::from_millis(at_ms);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            // The time the packet really goes in, so a loaded machine that
            // sleeps late moves both clocks alike.
            self.w.now_ns = BASE_NS + self.start.elapsed().as_nanos() as u64;
        }

        fn check(&mut self, what: &str, real: String, sim: String) {
            *self.compared += 1;
            if real != sim {
                self.mismatches.push(format!(
                    "{}: {what}\n--- kernel\n{real}\n--- simulator\n{sim}",
                    self.name
                ));
            }
        }

        /// Sends a packet at `at_ms` and compares every frame it causes.
        fn send(&mut self, at_ms: u64, pkt: &Packet) {
            self.at(at_ms);
            let mut real: Vec<String> = self
                .topo
                .inject(&pkt.data)
                .into_iter()
                .map(|(s, b)| describe(seen_name(s), &b))
                .collect();
            real.sort();
            self.w.wire.clear();
            self.w.inject(0, "r0", pkt.clone());
            let mut sim: Vec<String> = self
                .w
                .wire
                .iter()
                .map(|e| {
                    let seen = match (e.host.as_str(), e.iface.as_str()) {
                        ("router", "r0") => "router->client",
                        ("router", "r1") => "router->server",
                        _ => "server->router",
                    };
                    describe(seen, &e.packet)
                })
                .collect();
            sim.sort();
            let what = format!("packet at {at_ms} ms: {}", describe("sent", &pkt.data));
            self.check(&what, real.join("\n"), sim.join("\n"));
        }

        fn counters(&mut self) {
            let real = self
                .topo
                .exec(&self.topo.router(), "iptables-save -c")
                .expect("save");
            let sim = common::sh(&mut self.w.hosts[0], "iptables-save -c").stdout;
            self.check("counters", save_c(&real), save_c(&sim));
        }

        /// Compares `/proc/net/xt_recent/NAME` (jiffies blanked).
        fn recent_list(&mut self, name: &str) {
            let real = self
                .topo
                .exec(
                    &self.topo.router(),
                    &format!("cat /proc/net/xt_recent/{name}"),
                )
                .unwrap_or_else(|e| e);
            let sim = engine::ext::recent::proc_read(&self.w.hosts[0], name)
                .unwrap_or_else(|| "no such list".into());
            self.check(
                &format!("/proc/net/xt_recent/{name}"),
                no_jiffies(&real),
                no_jiffies(&sim),
            );
        }

        fn recent_write(&mut self, name: &str, data: &str) {
            let real = self.topo.exec(
                &self.topo.router(),
                &format!("echo {data} > /proc/net/xt_recent/{name}"),
            );
            let now = self.w.now_ns;
            let sim = engine::ext::recent::proc_write(
                &mut self.w.hosts[0],
                name,
                format!("{data}\n").as_bytes(),
                now,
            );
            self.check(
                &format!("echo {data} > /proc/net/xt_recent/{name}"),
                format!("{}", real.is_ok()),
                format!("{}", sim.is_ok()),
            );
        }
    }

    /// `-m limit --limit 1/sec --limit-burst 7`: the seed guide's echo
    /// requests: seven at once, then one per second.
    fn limit(c: &mut Case) {
        for i in 0..10 {
            c.send(i * 10, &ping(100 + i as u16, "10.1.0.1", 0));
        }
        c.send(1300, &ping(120, "10.1.0.1", 0));
        c.send(1310, &ping(121, "10.1.0.1", 0));
        c.counters();
    }

    /// The badguys list with a 2 s quiet time, the /proc file and writes to it.
    fn recent(c: &mut Case) {
        c.send(0, &tcp(42001, 80, "S", 0));
        c.recent_list("badguys");
        c.send(100, &udp(42002, 8080, 0, b"x"));
        c.recent_list("badguys");
        c.send(200, &tcp(42003, 80, "S", 0));
        c.send(1500, &tcp(42004, 80, "S", 0));
        c.recent_list("badguys");
        c.send(3800, &tcp(42005, 80, "S", 0));
        c.recent_write("badguys", "+10.1.0.100");
        c.send(4000, &tcp(42006, 80, "S", 0));
        c.recent_write("badguys", "-10.1.0.100");
        c.send(4100, &tcp(42007, 80, "S", 0));
        c.recent_write("badguys", "+10.9.9.9");
        c.recent_write("badguys", "+1.2.3");
        c.recent_list("badguys");
        c.recent_write("badguys", "/");
        c.recent_list("badguys");
        c.counters();
    }

    fn rewrites(c: &mut Case) {
        c.send(0, &udp(43001, 53, 0x03, b"abc"));
        c.send(10, &ping(43002, "10.2.0.2", 0x02));
        c.send(20, &tcp(43003, 80, "S", 0x01));
        c.send(30, &tcp(43004, 81, "SEC", 0xbb));
        c.send(40, &ping(43005, "10.2.0.2", 0x8b));
        c.counters();
    }

    /// The hosts' own replies carry the TOS of what they answer.
    fn stack_tos(c: &mut Case) {
        c.send(0, &tcp(49001, 81, "S", 0x03));
        c.send(10, &tcp(49002, 81, "S", 0xa9));
        c.send(20, &ping(49003, "10.2.0.2", 0x03));
        c.send(30, &udp(49004, 53, 0x13, b"x"));
        c.send(40, &ping(49005, "10.1.0.1", 0xb9));
        c.send(50, &udp(49006, 53, 0x17, b"x"));
    }

    fn tcpmss(c: &mut Case) {
        c.send(0, &tcp(44001, 80, "S", 0));
        // No option and no data: one is added (536 at most), also to non-SYN.
        c.send(10, &tcp_opts(44002, 80, 0x10, &[], b""));
        // An MSS below the value is kept.
        c.send(20, &tcp_opts(44003, 80, 0x02, &[2, 4, 3, 0x84], b""));
        // Data after the header: nothing added.
        c.send(30, &tcp_opts(44004, 81, 0x18, &[], b"hello"));
        // Options before the MSS are walked over.
        c.send(
            40,
            &tcp_opts(44005, 80, 0x02, &[1, 1, 1, 1, 2, 4, 5, 0xb4], b""),
        );
        c.counters();
    }

    fn strip_and_ecn(c: &mut Case) {
        c.send(0, &tcp(45001, 80, "SEC", 0));
        c.send(
            10,
            &tcp_opts(
                45002,
                81,
                0x02,
                &[1, 3, 3, 7, 2, 4, 5, 0xb4, 4, 2, 0, 0],
                b"",
            ),
        );
        c.counters();
    }

    fn string(c: &mut Case) {
        c.send(0, &udp(46001, 9, 0, b"...a secret word"));
        c.send(10, &udp(46002, 9, 0, b"hello world....."));
        c.send(20, &udp(46003, 9, 0, b"......HeLLo....."));
        c.send(30, &udp(46004, 9, 0, b"..........hello"));
        c.send(40, &udp(46005, 9, 0, b"nothing here"));
        c.counters();
    }

    fn hashlimit(c: &mut Case) {
        for i in 0..5 {
            c.send(i * 10, &udp(47001 + i as u16, 53, 0, b"q"));
        }
        c.send(60, &udp(47010, 54, 0, b"q"));
        c.send(70, &udp(47011, 54, 0, b"q"));
        c.send(800, &udp(47012, 53, 0, b"q"));
        c.send(810, &udp(47013, 53, 0, b"q"));
        c.counters();
    }

    /// HMARK: the kernel's mark is saved into the connection and read back
    /// with `conntrack -L`; the simulator fires its HMARK rule on the packet.
    fn hmark(topo: &Topology, mismatches: &mut Vec<String>, compared: &mut usize) {
        let targets = [
            "--hmark-tuple src,dst,sport,dport,proto --hmark-mod 1000003 --hmark-rnd 0x12345678",
            "--hmark-tuple src,dst --hmark-mod 4294967295 --hmark-rnd 7 --hmark-offset 100",
            "--hmark-src-prefix 16 --hmark-dport-mask 0xff00 --hmark-sport 0x0001 --hmark-proto-mask 0xff --hmark-rnd 0xdeadbeef --hmark-mod 65536",
            "--hmark-tuple dport,proto --hmark-mod 97 --hmark-rnd 1",
        ];
        let packets = [
            udp(48001, 53, 0, b"x"),
            tcp(48002, 80, "S", 0),
            ping(48003, "10.2.0.2", 0),
            udp(48004, 5353, 0, b"y"),
        ];
        for t in targets {
            let _ = topo.exec(
                &topo.router(),
                "iptables -F; iptables -t mangle -F; conntrack -F 2>/dev/null",
            );
            let _ = topo.exec(&topo.server(), "conntrack -F 2>/dev/null");
            let rules = format!(
                "*mangle\n-A PREROUTING -i r0 -j HMARK {t}\n-A PREROUTING -i r0 -j CONNMARK --save-mark\nCOMMIT\n"
            );
            topo.load_router_rules(&rules).expect("real restore");
            let mut h = engine::sim::host::Host::new("router");
            let o = common::sh(
                &mut h,
                &format!("iptables -t mangle -A PREROUTING -i r0 -j HMARK {t}"),
            );
            assert_eq!(o.exit, 0, "{}", o.stderr);
            for p in &packets {
                topo.inject(&p.data);
                let hdr = p.headers().unwrap();
                let key = match &hdr.l4 {
                    L4::Icmp(i) => format!("id={} ", i.id()),
                    _ => format!("sport={} ", hdr.ports().unwrap().0),
                };
                let list = topo
                    .exec(&topo.router(), "conntrack -L 2>/dev/null")
                    .unwrap_or_default();
                let real = list
                    .lines()
                    .find(|l| l.contains(&key))
                    .and_then(|l| l.split("mark=").nth(1))
                    .and_then(|m| m.split(' ').next())
                    .unwrap_or("none")
                    .to_string();
                let sim = sim_mark(&mut h, p);
                *compared += 1;
                if real != sim {
                    mismatches.push(format!(
                        "HMARK {t}: {}\n  kernel mark {real}, simulator {sim}",
                        describe("sent", &p.data)
                    ));
                }
            }
        }
    }

    fn sim_mark(h: &mut engine::sim::host::Host, p: &Packet) -> String {
        let mut pkt = p.clone();
        let table = h.ruleset.table_mut("mangle").unwrap();
        let chain = table.chain_mut("PREROUTING").unwrap();
        let RuleTarget::Ext(t) = &chain.rules[0].target else {
            return "no HMARK rule".into();
        };
        let mut t = t.box_clone();
        let mut emitted = Vec::new();
        let mut log = Vec::new();
        let mut hdr = None;
        let mut cx = engine::sim::eval::EvalCx::on_host(
            h,
            Hook::Prerouting,
            "mangle",
            &mut pkt,
            &mut hdr,
            0,
            &mut emitted,
            &mut log,
        )
        .unwrap();
        cx.ct_state = engine::sim::conntrack::CtState::New;
        t.fire(&mut cx);
        pkt.meta.mark.to_string()
    }

    #[test]
    fn packet_extensions_agree_with_kernel() {
        if let Err(why) = common::can_use_kernel() {
            println!("skipped: {why}");
            return;
        }
        let tag = format!("kp{}", std::process::id() % 10000);
        let topo = Topology::new(&tag).expect("topology");
        let _listener = listen(&topo.server(), 80);
        std::thread::sleep(Duration::from_millis(200));
        let mut mismatches = Vec::new();
        let mut compared = 0;
        type Run = fn(&mut Case);
        let cases: Vec<(&'static str, &str, Run)> = vec![
            ("stack replies", "*filter\nCOMMIT\n", stack_tos),
            (
                "limit",
                "*filter\n-A INPUT -p icmp -m limit --limit 1/sec --limit-burst 7 -j ACCEPT\n-A INPUT -p icmp -j DROP\nCOMMIT\n",
                limit,
            ),
            (
                "recent",
                "*filter\n-A FORWARD -m recent --name badguys --update --seconds 2 -j DROP\n-A FORWARD -p udp -m recent --name badguys --set -j DROP\nCOMMIT\n",
                recent,
            ),
            (
                "TTL, TOS, DSCP, tos/dscp/ecn matches, CHECKSUM",
                "*mangle\n-A FORWARD -p udp -j TTL --ttl-set 9\n-A FORWARD -p icmp -j TTL --ttl-inc 100\n-A FORWARD -p tcp -j TTL --ttl-dec 70\n-A FORWARD -p udp -j TOS --set-tos 0x10\n-A FORWARD -p icmp -j DSCP --set-dscp-class AF41\n-A FORWARD -p tcp -j TOS --xor-tos 0x0f\n-A FORWARD -p icmp -j TOS --and-tos 0xf3\n-A POSTROUTING -m tos --tos 0x10/0x3f\n-A POSTROUTING -m tos ! --tos 0x0e\n-A POSTROUTING -m dscp --dscp 0x22\n-A POSTROUTING -m dscp ! --dscp-class BE\n-A POSTROUTING -m ecn --ecn-ip-ect 3\n-A POSTROUTING -m ecn ! --ecn-ip-ect 0\n-A POSTROUTING -p tcp -m ecn --ecn-tcp-ece --ecn-tcp-cwr\n-A POSTROUTING -p tcp -m ecn ! --ecn-tcp-cwr\n-A POSTROUTING -j CHECKSUM --checksum-fill\nCOMMIT\n",
                rewrites,
            ),
            (
                "TCPMSS",
                "*mangle\n-A FORWARD -p tcp -d 10.2.0.2/32 -j TCPMSS --set-mss 1000\n-A POSTROUTING -p tcp -s 10.2.0.2/32 -j TCPMSS --clamp-mss-to-pmtu\n-A POSTROUTING -p tcp -m tcpmss --mss 1000\n-A POSTROUTING -p tcp -m tcpmss ! --mss 0:999\n-A POSTROUTING -p tcp -m tcpmss --mss 1360\nCOMMIT\n",
                tcpmss,
            ),
            (
                "TCPOPTSTRIP, ECN",
                "*mangle\n-A FORWARD -p tcp -d 10.2.0.2/32 -j TCPOPTSTRIP --strip-options mss,3\n-A FORWARD -p tcp -d 10.2.0.2/32 -j ECN --ecn-tcp-remove\n-A FORWARD -p tcp -s 10.2.0.2/32 -j ECN --ecn-ip-ect 1\nCOMMIT\n",
                strip_and_ecn,
            ),
            (
                "string",
                "*filter\n-A FORWARD -p udp -m string --string secret --algo bm -j DROP\n-A FORWARD -p udp -m string --string HELLO --algo kmp --from 28 --to 40 --icase -j DROP\n-A FORWARD -p udp -m string ! --hex-string |6e6f| --algo bm\nCOMMIT\n",
                string,
            ),
            (
                "hashlimit",
                "*filter\n-A FORWARD -m hashlimit --hashlimit-upto 2/sec --hashlimit-burst 3 --hashlimit-mode srcip,dstport --hashlimit-name hl -j ACCEPT\n-A FORWARD -j DROP\nCOMMIT\n",
                hashlimit,
            ),
        ];
        for (name, rules, run) in cases {
            let mtu = name == "TCPMSS";
            if mtu {
                topo.exec(&topo.router(), "ip link set r0 mtu 1400")
                    .expect("mtu");
            }
            let mut c = Case::new(name, &topo, rules, &mut mismatches, &mut compared);
            if mtu {
                if let Some(i) = c.w.hosts[0].ifaces.iter_mut().find(|i| i.name == "r0") {
                    i.mtu = 1400;
                }
            }
            run(&mut c);
            if mtu {
                let _ = topo.exec(&topo.router(), "ip link set r0 mtu 1500");
            }
        }
        hmark(&topo, &mut mismatches, &mut compared);
        println!(
            "kernel vs simulator (packet extensions): {compared} comparisons, {} mismatches",
            mismatches.len()
        );
        for m in &mismatches {
            println!("MISMATCH {m}");
        }
        assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
    }
}
