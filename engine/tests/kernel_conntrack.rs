//! Connection-tracking matches against the real kernel: the client–router–
//! server topology of `kernel_sim.rs` in namespaces and in the simulator,
//! rules using state, conntrack, mark, connmark, connlimit, quota,
//! statistic, connbytes, time, u32, bpf, cluster, rpfilter and socket in the
//! router, the same packets; the frames the router and server send and the
//! counters of `iptables-save -c` (rules and chain policies) must agree.
//! Skips with a reason when not root.

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

    use engine::sim::world::World;
    use std::process::Command;
    use std::time::{SystemTime, UNIX_EPOCH};

    /// The counter lines of `iptables-save -c` (`:CHAIN POLICY [p:b]`,
    /// `[p:b] -A ...`), by table.
    fn rule_counters(text: &str) -> String {
        let mut out = String::new();
        for l in text.lines() {
            if l.starts_with('*')
                || l.starts_with(':')
                || (l.starts_with('[') && l.contains("] -A "))
            {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    /// Steps the simulator could not take (extensions of other groups not
    /// evaluated yet).
    fn unevaluated(w: &World) -> Option<String> {
        w.reports
            .iter()
            .flat_map(|r| r.trace.steps.iter())
            .flat_map(|s| [s.failed.as_deref(), s.verdict.as_deref()])
            .flatten()
            .find(|t| t.contains("cannot be evaluated") || t.contains("cannot be carried out"))
            .map(String::from)
    }

    fn spec(src: &str, dst: &str, l4: L4Spec, ttl: u8, payload_len: usize) -> PacketSpec {
        PacketSpec {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            l4,
            ttl,
            tos: 0,
            id: 1,
            payload_len,
        }
    }

    fn tcp(sport: u16, dst: &str, dport: u16, flags: &str) -> PacketSpec {
        tcp_from(PHANTOM, sport, dst, dport, flags)
    }

    fn tcp_from(src: &str, sport: u16, dst: &str, dport: u16, flags: &str) -> PacketSpec {
        let l4 = L4Spec::Tcp {
            sport,
            dport,
            flags: flags.into(),
            seq: 1000,
            ack: if flags.contains('A') { 7000 } else { 0 },
            window: 64240,
        };
        spec(src, dst, l4, 64, 0)
    }

    fn udp(sport: u16, dst: &str, dport: u16, payload: usize) -> PacketSpec {
        udp_from(PHANTOM, sport, dst, dport, payload)
    }

    fn udp_from(src: &str, sport: u16, dst: &str, dport: u16, payload: usize) -> PacketSpec {
        spec(src, dst, L4Spec::Udp { sport, dport }, 64, payload)
    }

    fn ping(id: u16, dst: &str) -> PacketSpec {
        let l4 = L4Spec::Icmp {
            icmp_type: 8,
            code: 0,
            id,
            seq: 1,
        };
        spec(PHANTOM, dst, l4, 64, 16)
    }

    fn ping_ttl(id: u16, dst: &str, ttl: u8) -> PacketSpec {
        let mut p = ping(id, dst);
        p.ttl = ttl;
        p
    }

    struct Case {
        name: &'static str,
        rules: String,
        packets: Vec<PacketSpec>,
        /// Uses targets or matches of other groups: skipped (with a note)
        /// while the simulator cannot evaluate them.
        needs_others: bool,
    }

    fn case(name: &'static str, rules: &str, packets: Vec<PacketSpec>) -> Case {
        Case {
            name,
            rules: rules.to_string(),
            packets,
            needs_others: false,
        }
    }

    const SERVER: &str = "10.2.0.2";
    const ROUTER: &str = "10.1.0.1";

    fn cases() -> Vec<Case> {
        let port = std::cell::Cell::new(42000u16);
        let next = || {
            port.set(port.get() + 1);
            port.get()
        };
        let id = std::cell::Cell::new(300u16);
        let next_id = || {
            id.set(id.get() + 1);
            id.get()
        };
        // Mixed traffic: a ping and its repeat, a datagram to a closed
        // port (port unreachable comes back RELATED), a connection to the
        // web server (SYN-ACK comes back), a lone SYN-ACK (INVALID), a ping
        // that dies on the router (TTL), traffic for the router itself.
        let mixed = || {
            let i = next_id();
            vec![
                ping(i, SERVER),
                ping(i, SERVER),
                udp(next(), SERVER, 9, 4),
                tcp(next(), SERVER, 80, "S"),
                tcp(next(), SERVER, 80, "SA"),
                ping_ttl(next_id(), SERVER, 1),
                udp(next(), ROUTER, 53, 4),
                ping(next_id(), ROUTER),
                ping(i, SERVER),
            ]
        };
        let mut v = vec![
            case(
                "stateful firewall with -m state",
                "*filter\n:FORWARD DROP [0:0]\n:INPUT DROP [0:0]\n\
                 -A FORWARD -m state --state INVALID -j DROP\n\
                 -A FORWARD -m state --state ESTABLISHED,RELATED -j ACCEPT\n\
                 -A FORWARD -i r0 -p icmp -m state --state NEW -j ACCEPT\n\
                 -A FORWARD -i r0 -p udp -m state --state NEW -j ACCEPT\n\
                 -A FORWARD -i r0 -p tcp -m state ! --state ESTABLISHED,RELATED,INVALID -j ACCEPT\n\
                 -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT\n\
                 -A INPUT -m state --state NEW -p icmp -j ACCEPT\n\
                 -A OUTPUT -m state --state NEW\n\
                 -A OUTPUT -m state --state UNTRACKED,INVALID\n\
                 COMMIT\n",
                mixed(),
            ),
            case(
                "conntrack: states, direction, tuples, status, expiry",
                "*filter\n\
                 -A FORWARD -m conntrack --ctstate NEW\n\
                 -A FORWARD -m conntrack --ctstate ESTABLISHED --ctdir REPLY\n\
                 -A FORWARD -m conntrack --ctstate ESTABLISHED --ctdir ORIGINAL\n\
                 -A FORWARD -m conntrack --ctstate RELATED\n\
                 -A FORWARD -m conntrack --ctstate INVALID\n\
                 -A FORWARD -m conntrack ! --ctstate NEW,ESTABLISHED\n\
                 -A FORWARD -m conntrack --ctstate SNAT,DNAT\n\
                 -A FORWARD -m conntrack --ctproto icmp --ctorigsrc 10.1.0.0/24 --ctrepldst 10.1.0.100\n\
                 -A FORWARD -m conntrack --ctproto udp --ctorigdstport 9 --ctreplsrcport 9\n\
                 -A FORWARD -m conntrack --ctproto tcp --ctorigsrcport 42000:42100 --ctrepldstport 42000:42100\n\
                 -A FORWARD -m conntrack ! --ctorigdst 10.2.0.2\n\
                 -A FORWARD -m conntrack ! --ctreplsrc 10.2.0.0/24\n\
                 -A FORWARD -m conntrack --ctproto tcp\n\
                 -A FORWARD -m conntrack ! --ctproto tcp\n\
                 -A FORWARD -m conntrack --ctstatus SEEN_REPLY\n\
                 -A FORWARD -m conntrack --ctstatus ASSURED\n\
                 -A FORWARD -m conntrack --ctstatus CONFIRMED\n\
                 -A FORWARD -m conntrack ! --ctstatus CONFIRMED\n\
                 -A FORWARD -m conntrack --ctstatus NONE\n\
                 -A FORWARD -m conntrack --ctexpire 0\n\
                 -A FORWARD -m conntrack --ctexpire 25:30\n\
                 -A FORWARD -m conntrack --ctexpire 55:60\n\
                 -A FORWARD -m conntrack ! --ctexpire 0:60\n\
                 -A FORWARD -m conntrack --ctdir REPLY\n\
                 -A INPUT -m conntrack --ctstate NEW --ctorigdst 10.1.0.1\n\
                 -A INPUT -m conntrack --ctdir ORIGINAL --ctexpire 0\n\
                 -A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED --ctdir REPLY\n\
                 -A OUTPUT -m conntrack --ctstate NEW\n\
                 COMMIT\n",
                mixed(),
            ),
            case(
                "mark and connmark without marks",
                "*mangle\n\
                 -A PREROUTING -m mark --mark 0\n\
                 -A PREROUTING -m mark ! --mark 0x1/0x1\n\
                 -A PREROUTING -m mark --mark 0x5\n\
                 -A PREROUTING -m connmark --mark 0\n\
                 -A PREROUTING -m connmark ! --mark 0x5\n\
                 -A PREROUTING -m connmark ! --mark 0\n\
                 COMMIT\n\
                 *raw\n\
                 -A PREROUTING -m connmark ! --mark 0x5\n\
                 -A PREROUTING -m mark ! --mark 0x5\n\
                 COMMIT\n",
                mixed(),
            ),
            case(
                "quota: bytes per rule",
                "*filter\n\
                 -A FORWARD -p icmp -m quota --quota 200 -j ACCEPT\n\
                 -A FORWARD -p icmp -j DROP\n\
                 -A FORWARD -m quota ! --quota 100\n\
                 -A INPUT -m quota --quota 60\n\
                 COMMIT\n",
                {
                    let mut p = mixed();
                    let i = next_id();
                    p.extend([ping(i, SERVER), ping(i, SERVER), ping(i, SERVER)]);
                    p
                },
            ),
            case(
                "statistic nth",
                "*filter\n\
                 -A FORWARD -m statistic --mode nth --every 2 --packet 0\n\
                 -A FORWARD -i r0 -m statistic --mode nth --every 3 --packet 1 -j DROP\n\
                 -A FORWARD -m statistic --mode nth ! --every 4 --packet 3\n\
                 -A INPUT -m statistic --mode nth --every 1 --packet 0\n\
                 COMMIT\n",
                {
                    let mut p = mixed();
                    p.extend(mixed());
                    p
                },
            ),
            case(
                "connbytes: packets, bytes, average",
                "*filter\n\
                 -A FORWARD -m connbytes --connbytes 3 --connbytes-mode packets --connbytes-dir both\n\
                 -A FORWARD -m connbytes --connbytes 2:2 --connbytes-mode packets --connbytes-dir original\n\
                 -A FORWARD -m connbytes ! --connbytes 1:1 --connbytes-mode packets --connbytes-dir reply\n\
                 -A FORWARD -m connbytes --connbytes 100: --connbytes-mode bytes --connbytes-dir both\n\
                 -A FORWARD -m connbytes --connbytes 44:44 --connbytes-mode avgpkt --connbytes-dir reply\n\
                 -A FORWARD -m connbytes ! --connbytes 0:43 --connbytes-mode avgpkt --connbytes-dir original\n\
                 -A FORWARD -p icmp -m connbytes --connbytes 5: --connbytes-mode packets --connbytes-dir both -j DROP\n\
                 COMMIT\n",
                {
                    let i = next_id();
                    let mut p = vec![ping(i, SERVER); 4];
                    p.extend(mixed());
                    p
                },
            ),
            case(
                "connlimit: connections per source and destination network",
                "*filter\n\
                 -A FORWARD -i r0 -p udp -m connlimit --connlimit-upto 1 --connlimit-mask 16 --connlimit-daddr\n\
                 -A FORWARD -i r0 -p udp -m connlimit --connlimit-above 2 -j DROP\n\
                 -A FORWARD -i r0 -p icmp -m connlimit --connlimit-above 1 --connlimit-mask 24\n\
                 -A FORWARD -i r0 -p tcp -m connlimit ! --connlimit-above 1\n\
                 COMMIT\n",
                {
                    let i = next_id();
                    let mut p = vec![
                        udp(next(), SERVER, 9, 4),
                        udp(next(), SERVER, 9, 4),
                        udp(next(), SERVER, 9, 4),
                        udp(next(), SERVER, 9, 4),
                        ping(i, SERVER),
                        ping(next_id(), SERVER),
                        ping(i, SERVER),
                        tcp(next(), SERVER, 80, "S"),
                        tcp(next(), SERVER, 80, "S"),
                    ];
                    p.extend(mixed());
                    p
                },
            ),
            case(
                "u32, bpf, rpfilter, cluster, socket",
                "*raw\n\
                 -A PREROUTING -m rpfilter\n\
                 -A PREROUTING -m rpfilter --loose\n\
                 -A PREROUTING -m rpfilter --invert\n\
                 -A PREROUTING -m u32 --u32 \"0>>22&0x3C@0&0xFFFF=80\"\n\
                 -A PREROUTING -m u32 ! --u32 \"0>>28=4 && 9&0xFF=1\"\n\
                 -A PREROUTING -m u32 --u32 \"0>>22&0x3C@200=0:0xffffffff\"\n\
                 -A PREROUTING -m bpf --bytecode \"7,48 0 0 9,21 0 4 17,177 0 0 0,72 0 0 2,21 0 1 9,6 0 0 1,6 0 0 0\"\n\
                 -A PREROUTING -m bpf --bytecode \"4,128 0 0 0,37 0 1 40,6 0 0 65535,6 0 0 0\"\n\
                 COMMIT\n\
                 *mangle\n\
                 -A PREROUTING -m cluster --cluster-total-nodes 2 --cluster-local-node 1 --cluster-hash-seed 0x1234\n\
                 -A PREROUTING -m cluster --cluster-total-nodes 3 --cluster-local-nodemask 6 --cluster-hash-seed 0xdeadbeef\n\
                 -A PREROUTING -m socket\n\
                 -A PREROUTING -m socket --nowildcard\n\
                 -A PREROUTING -s 10.1.0.192/26 -j DROP\n\
                 -A PREROUTING -s 10.2.0.0/24 -i r0 -j DROP\n\
                 COMMIT\n",
                {
                    let mut p = mixed();
                    for last in [200, 201, 202, 203, 210, 217, 230, 251] {
                        p.push(udp_from(&format!("10.1.0.{last}"), 1, SERVER, 9, 4));
                    }
                    p.push(udp_from("10.2.0.50", 1, SERVER, 9, 4));
                    p.push(tcp(next(), ROUTER, 22, "S"));
                    p
                },
            ),
        ];
        // -m time against the wall clock: windows around the current time.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let day = now % 86400;
        let hms = |t: u64| {
            let t = t % 86400;
            format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
        };
        // 1970-01-01 was a Thursday; weekday 1 is Monday.
        let today = ((now / 86400 + 3) % 7) as usize;
        let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let mday = {
            // Day of the month by the civil calendar.
            let z = (now / 86400) as i64 + 719468;
            let era = z.div_euclid(146097);
            let doe = z - era * 146097;
            let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            let mp = (5 * doy + 2) / 153;
            doy - (153 * mp + 2) / 5 + 1
        };
        let (a, b) = ((day + 86400 - 3600) % 86400, (day + 3600) % 86400);
        // --contiguous only where the window crosses midnight.
        let contiguous = if a > b {
            format!("--timestart {} --timestop {} --contiguous", hms(a), hms(b))
        } else {
            format!("--timestart {} --timestop {} --contiguous", hms(b), hms(a))
        };
        let rules = format!(
            "*filter\n\
             -A FORWARD -m time --timestart {a} --timestop {b}\n\
             -A FORWARD -m time --timestart {b} --timestop {a}\n\
             -A FORWARD -m time --weekdays {today} {contiguous}\n\
             -A FORWARD -m time --weekdays {today}\n\
             -A FORWARD -m time ! --weekdays {today}\n\
             -A FORWARD -m time --monthdays {mday}\n\
             -A FORWARD -m time ! --monthdays {mday}\n\
             -A FORWARD -m time --datestart 2020-01-01 --datestop 2037-12-31\n\
             -A FORWARD -m time --datestop 2020-01-01\n\
             -A FORWARD -m time --kerneltz --timestart {a} --timestop {b}\n\
             COMMIT\n",
            a = hms(a),
            b = hms(b),
            today = names[today],
        );
        v.push(Case {
            name: "time against the wall clock",
            rules,
            packets: vec![ping(next_id(), SERVER), udp(next(), SERVER, 9, 4)],
            needs_others: false,
        });
        v.push(Case {
            name: "NAT pseudo-states and tuples",
            rules: "*nat\n\
                    -A PREROUTING -i r0 -d 10.1.0.1 -p tcp -j DNAT --to-destination 10.2.0.2:80\n\
                    -A POSTROUTING -o r1 -p udp -j SNAT --to-source 10.2.0.1\n\
                    COMMIT\n\
                    *filter\n\
                    -A FORWARD -m conntrack --ctstate DNAT\n\
                    -A FORWARD -m conntrack --ctstate SNAT\n\
                    -A FORWARD -m conntrack --ctstate DNAT --ctorigdst 10.1.0.1 --ctreplsrc 10.2.0.2 --ctorigdstport 8080 --ctreplsrcport 80\n\
                    -A FORWARD -m conntrack --ctstate SNAT --ctrepldst 10.2.0.1 --ctorigsrc 10.1.0.100\n\
                    -A FORWARD -m conntrack ! --ctstate SNAT,DNAT\n\
                    -A FORWARD -m conntrack --ctstate NEW,DNAT --ctdir ORIGINAL\n\
                    COMMIT\n"
                .to_string(),
            packets: vec![
                tcp(next(), ROUTER, 8080, "S"),
                udp(next(), SERVER, 9, 4),
                ping(next_id(), SERVER),
                tcp(next(), SERVER, 80, "S"),
            ],
            needs_others: true,
        });
        v.push(Case {
            name: "marks set by MARK and CONNMARK",
            rules: "*mangle\n\
                    -A PREROUTING -i r0 -p icmp -j MARK --set-mark 0x5\n\
                    -A PREROUTING -i r0 -p udp -j CONNMARK --set-mark 0x7\n\
                    -A PREROUTING -m connmark --mark 0x7 -j MARK --set-mark 0x9\n\
                    -A FORWARD -m mark --mark 0x5\n\
                    -A FORWARD -m mark --mark 0x9\n\
                    -A FORWARD -m mark --mark 0x1/0x1\n\
                    -A FORWARD -m connmark --mark 0x7\n\
                    -A FORWARD -m connmark ! --mark 0x7\n\
                    -A POSTROUTING -m connmark --mark 0x7 -j CONNMARK --restore-mark\n\
                    -A POSTROUTING -m mark --mark 0x7\n\
                    COMMIT\n"
                .to_string(),
            packets: mixed(),
            needs_others: true,
        });
        v
    }

    /// Packets the router itself sends, as root and as user 1000 (owner,
    /// cgroup, socket-less forwarded packets): the rule counters must agree.
    #[test]
    fn owner_and_cgroup_agree_with_kernel() {
        if let Err(why) = common::can_use_kernel() {
            println!("skipped: {why}");
            return;
        }
        let tag = format!("ko{}", std::process::id() % 10000);
        let topo = Topology::new(&tag).expect("topology");
        let rules = "*filter\n\
                     -A OUTPUT -o r1 -m owner --uid-owner 0\n\
                     -A OUTPUT -o r1 -m owner --uid-owner 1000-1005 --gid-owner 1000\n\
                     -A OUTPUT -o r1 -m owner ! --uid-owner 0\n\
                     -A OUTPUT -o r1 -m owner --socket-exists\n\
                     -A OUTPUT -o r1 -m owner ! --socket-exists\n\
                     -A OUTPUT -o r1 -m owner ! --gid-owner 0 ! --uid-owner 0\n\
                     -A OUTPUT -o r1 -m cgroup --path /\n\
                     -A OUTPUT -o r1 -m cgroup ! --cgroup 0\n\
                     COMMIT\n\
                     *mangle\n\
                     -A POSTROUTING -o r1 -m owner --uid-owner 0\n\
                     -A POSTROUTING -o r1 -m owner ! --uid-owner 1000\n\
                     -A POSTROUTING -o r1 -m owner ! --socket-exists\n\
                     -A POSTROUTING -o r1 -m cgroup --path /\n\
                     COMMIT\n";
        topo.load_router_rules(rules).expect("real restore");
        let mut w = sim_world();
        w.tracing = true;
        let out = common::sh_stdin(&mut w.hosts[0], "iptables-restore", rules);
        assert_eq!(out.exit, 0, "our restore failed: {}", out.stderr);
        let send = "/usr/bin/python3 -c \"import socket; \
                    socket.socket(2, 2).sendto(b\\\"abcd\\\", (\\\"10.2.0.2\\\", 9))\"";
        topo.exec(&topo.router(), send).expect("send as root");
        topo.exec(
            &topo.router(),
            &format!("setpriv --reuid 1000 --regid 1000 --clear-groups {send}"),
        )
        .expect("send as user 1000");
        let _ = topo.inject(&udp(next_port(), SERVER, 9, 4).build().unwrap().data);
        std::thread::sleep(std::time::Duration::from_millis(50));
        for uid in [0, 1000] {
            let mut p = udp_from("10.2.0.1", 40000 + uid as u16, SERVER, 9, 4)
                .build()
                .unwrap();
            p.meta.uid = uid;
            p.meta.gid = uid;
            w.send(0, p);
        }
        w.inject(0, "r0", udp(next_port(), SERVER, 9, 4).build().unwrap());
        let real = rule_counters(&topo.exec(&topo.router(), "iptables-save -c").expect("save"));
        let sim = rule_counters(&common::sh(&mut w.hosts[0], "iptables-save -c").stdout);
        println!("--- kernel\n{real}--- simulator\n{sim}");
        assert_eq!(real, sim);
    }

    fn next_port() -> u16 {
        use std::sync::atomic::{AtomicU16, Ordering};
        static PORT: AtomicU16 = AtomicU16::new(43000);
        PORT.fetch_add(1, Ordering::Relaxed)
    }

    #[test]
    fn conntrack_matches_agree_with_kernel() {
        if let Err(why) = common::can_use_kernel() {
            println!("skipped: {why}");
            return;
        }
        if Command::new("sh")
            .args(["-c", "command -v conntrack"])
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            println!("skipped: conntrack not installed");
            return;
        }
        let tag = format!("kc{}", std::process::id() % 10000);
        let topo = Topology::new(&tag).expect("topology");
        let _listener = listen(&topo.server(), 80);
        std::thread::sleep(std::time::Duration::from_millis(200));
        let mut mismatches = Vec::new();
        let mut skipped = Vec::new();
        let mut compared = 0;
        let watch = std::env::var("KC_WATCH").ok();
        for c in cases() {
            let _ = topo.exec(
                &topo.router(),
                "nft flush ruleset; conntrack -F 2>/dev/null",
            );
            topo.load_router_rules(&c.rules).expect("real restore");
            let _ = topo.exec(&topo.router(), "conntrack -F 2>/dev/null");
            let mut w = sim_world();
            w.tracing = true;
            let out = common::sh_stdin(&mut w.hosts[0], "iptables-restore", &c.rules);
            assert_eq!(
                out.exit, 0,
                "{}: our restore failed: {}",
                c.name, out.stderr
            );
            let mut case_mismatches = Vec::new();
            let mut missing = None;
            for spec in &c.packets {
                let pkt = spec.build().unwrap();
                w.now_ns = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0);
                let mut real: Vec<String> = topo
                    .inject(&pkt.data)
                    .into_iter()
                    .map(|(s, b)| describe(seen_name(s), &b))
                    .collect();
                real.sort();
                w.wire.clear();
                w.inject(0, "r0", pkt.clone());
                missing = missing.or_else(|| unevaluated(&w));
                let sim = sim_frames(&w);
                if watch.as_deref().is_some_and(|n| c.name.contains(n)) {
                    // KC_WATCH=NAME: the counters after each packet, both sides.
                    let k = topo
                        .exec(&topo.router(), "iptables-save -c")
                        .unwrap_or_default();
                    let s = common::sh(&mut w.hosts[0], "iptables-save -c").stdout;
                    println!(
                        "WATCH {spec:?}\n  kernel frames {real:?}\n{}  sim frames {sim:?}\n{}",
                        rule_counters(&k),
                        rule_counters(&s)
                    );
                }
                compared += 1;
                if real != sim {
                    case_mismatches.push(format!(
                        "{}: {spec:?}\n  kernel:    {real:#?}\n  simulator: {sim:#?}",
                        c.name
                    ));
                }
            }
            let real_save = topo.exec(&topo.router(), "iptables-save -c").expect("save");
            let sim_save = common::sh(&mut w.hosts[0], "iptables-save -c").stdout;
            compared += 1;
            if rule_counters(&real_save) != rule_counters(&sim_save) {
                case_mismatches.push(format!(
                    "{}: counters\n--- kernel\n{}--- simulator\n{}",
                    c.name,
                    rule_counters(&real_save),
                    rule_counters(&sim_save)
                ));
            }
            match (&missing, c.needs_others) {
                (Some(m), true) => skipped.push(format!("{}: {m}", c.name)),
                (Some(m), false) => {
                    mismatches.push(format!("{}: the simulator says: {m}", c.name));
                    mismatches.extend(case_mismatches);
                }
                (None, _) => mismatches.extend(case_mismatches),
            }
        }
        println!(
            "kernel vs simulator (conntrack matches): {compared} comparisons, {} mismatches, {} cases skipped",
            mismatches.len(),
            skipped.len()
        );
        for s in &skipped {
            println!("SKIPPED (needs other groups' extensions) {s}");
        }
        for m in &mismatches {
            println!("MISMATCH {m}");
        }
        assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
    }
}
