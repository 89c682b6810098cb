//! The targets against the real kernel: REJECT (every reply type), LOG
//! (lines read from /dev/kmsg), the NAT targets (frames after the rewrite,
//! both ways), MARK/CONNMARK, TEE, CT/NOTRACK, NFQUEUE, in the router of the
//! client–router–server namespaces and of the same world in the simulator.
//! Compared: every frame the router and the server send, the rule counters
//! of `iptables-save -c` (not the policy counters), the kernel log lines of
//! the router, and the marks and zones of its connections. Skips with a
//! reason when not root.
//!
//! Known difference kept out of the comparison: a target's replies
//! (REJECT) are sent by the kernel at once, in the middle of the packet's
//! own journey, and by the simulator after it, so log lines are compared
//! as sets per packet, not in order; cases with `ordered_log` (TEE, whose
//! copies the simulator sends before the original goes on) compare them
//! in order.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
mod oracle;

#[cfg(target_os = "linux")]
mod cases {
    use super::common;
    use super::oracle::mirror::*;
    use super::oracle::{Seen, Topology, PHANTOM, PHANTOM_MAC, R0_MAC, R1_MAC, SERVER_MAC};
    use engine::packet::spec::{L4Spec, PacketSpec};
    use engine::packet::{build_tcp, parse, IpFields, Packet, TcpFields};
    use engine::sim::host::Listener;
    use engine::sim::iface::IfAddr;
    use engine::sim::route::Route;
    use engine::sim::world::World;
    use std::collections::BTreeMap;
    use std::process::{Child, Command};

    fn route(dst: &str, prefix: u8, via: &str, dev: &str) -> Route {
        Route {
            dst: dst.parse().unwrap(),
            prefix,
            via: Some(via.parse().unwrap()),
            dev: dev.into(),
            connected: false,
        }
    }

    /// Extra addresses and routes of the router, in both worlds: a second
    /// network on r1 (a second "ISP") and networks behind the server side.
    /// 10.2.1.2 and 10.2.0.10 are machines nobody listens for (their frames
    /// are seen on the wire, no stack takes them).
    const ROUTER_SETUP: &str = "ip addr add 10.2.1.1/24 dev r1; \
ip route add 10.3.0.0/16 via 10.2.0.2 dev r1; \
ip route add 10.4.0.0/16 via 10.2.1.2 dev r1; \
ip neigh replace 10.2.1.2 lladdr 02:00:00:02:00:99 dev r1 nud permanent; \
ip neigh replace 10.2.0.10 lladdr 02:00:00:02:00:99 dev r1 nud permanent";

    /// The same topology in the simulator (the client side is the phantom address).
    fn sim_world() -> World {
        let mut w = World::new();
        w.tracing = false;
        let r = w.add_host("router");
        let s = w.add_host("server");
        w.plug(r, "r0", "10.1.0.1/24", "left").unwrap();
        w.plug(r, "r1", "10.2.0.1/24", "right").unwrap();
        w.plug(s, "s0", "10.2.0.2/24", "right").unwrap();
        // The client side is the phantom address (a permanent neighbour in
        // the kernel); the extra networks behind the server are not simulated.
        w.set_outside("left").unwrap();
        w.set_outside("right").unwrap();
        for (h, name, mac) in [(r, "r0", R0_MAC), (r, "r1", R1_MAC), (s, "s0", SERVER_MAC)] {
            let i = w.hosts[h]
                .ifaces
                .iter()
                .position(|i| i.name == name)
                .unwrap();
            w.hosts[h].ifaces[i].mac = mac;
        }
        let r1 = w.hosts[r]
            .ifaces
            .iter()
            .position(|i| i.name == "r1")
            .unwrap();
        w.hosts[r].ifaces[r1].addrs.push(IfAddr {
            addr: "10.2.1.1".parse().unwrap(),
            prefix: 24,
        });
        w.hosts[r]
            .routes
            .push(route("10.3.0.0", 16, "10.2.0.2", "r1"));
        w.hosts[r]
            .routes
            .push(route("10.4.0.0", 16, "10.2.1.2", "r1"));
        w.hosts[s]
            .routes
            .push(route("0.0.0.0", 0, "10.2.0.1", "s0"));
        w.hosts[r]
            .sysctl
            .insert("net.ipv4.ip_forward".into(), "1".into());
        w.hosts[s].listeners.push(Listener {
            proto: 6,
            port: 80,
            addr: None,
            service: "http".into(),
        });
        w.hosts[r].listeners.push(Listener {
            proto: 6,
            port: 8080,
            addr: None,
            service: "http-alt".into(),
        });
        w
    }

    /// The rule counter lines of `iptables-save -c` with their table (not
    /// the policy counters).
    fn rule_counters(text: &str) -> String {
        text.lines()
            .filter(|l| l.starts_with('*') || l.starts_with('['))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    struct Bg(Child);

    impl Drop for Bg {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn listen(ns: &str, port: u16) -> Bg {
        Bg(Command::new("ip")
            .args(["netns", "exec", ns, "nc", "-lk", &port.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nc listener"))
    }

    /// The kernel log, read from its end.
    struct Kmsg(i32);

    impl Kmsg {
        fn open() -> Option<Kmsg> {
            let path = std::ffi::CString::new("/dev/kmsg").unwrap();
            let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK) };
            if fd < 0 {
                return None;
            }
            unsafe { libc::lseek(fd, 0, libc::SEEK_END) };
            Some(Kmsg(fd))
        }

        /// (level, text) of the new records whose text starts with `tag`.
        fn read(&self, tag: &str) -> Vec<(u8, String)> {
            let mut out = Vec::new();
            let mut buf = vec![0u8; 8192];
            for _ in 0..10_000 {
                let n =
                    unsafe { libc::read(self.0, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
                if n < 0 {
                    if std::io::Error::last_os_error().raw_os_error() == Some(libc::EPIPE) {
                        continue;
                    }
                    break;
                }
                let rec = String::from_utf8_lossy(&buf[..n as usize]).into_owned();
                let Some((head, rest)) = rec.split_once(';') else {
                    continue;
                };
                let text = rest.split('\n').next().unwrap_or("").to_string();
                let pri: u32 = head
                    .split(',')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                if text.starts_with(tag) {
                    out.push(((pri & 7) as u8, text));
                }
            }
            out
        }
    }

    impl Drop for Kmsg {
        fn drop(&mut self) {
            unsafe { libc::close(self.0) };
        }
    }

    /// Log lines with what is legitimately random masked: the IP ID of
    /// packets a stack made (not ours, which come from the phantom client),
    /// the sequence number of a SYN-ACK, and the MAC header a TEE copy of a
    /// received packet dumps in POSTROUTING (`IN=` its output device): 14
    /// bytes of whatever its new buffer held.
    fn mask_log(l: &str) -> String {
        let mut words: Vec<String> = l.split(' ').map(String::from).collect();
        common::mask_tee_copy_mac(&mut words);
        let syn_ack = words.iter().any(|w| w == "SYN") && words.iter().any(|w| w == "ACK");
        let ours = words.iter().any(|w| w == &format!("SRC={PHANTOM}"));
        let mut first_id = true;
        for w in words.iter_mut() {
            if w.starts_with("ID=") && first_id {
                // The first ID= is the IP ID; ICMP echo ids come later.
                first_id = false;
                if !ours {
                    *w = "ID=*".into();
                }
            }
            if syn_ack && w.starts_with("SEQ=") {
                *w = "SEQ=*".into();
            }
        }
        words.join(" ")
    }

    fn tcp(sport: u16, dst: &str, dport: u16, flags: &str) -> PacketSpec {
        PacketSpec {
            src: PHANTOM.parse().unwrap(),
            dst: dst.parse().unwrap(),
            l4: L4Spec::Tcp {
                sport,
                dport,
                flags: flags.into(),
                seq: 1000,
                ack: if flags.contains('A') { 5000 } else { 0 },
                window: 64240,
            },
            ttl: 64,
            tos: 0,
            id: 1,
            payload_len: if flags.contains('P') { 10 } else { 0 },
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

    fn with_tos(mut p: PacketSpec, tos: u8) -> PacketSpec {
        p.tos = tos;
        p
    }

    fn with_ttl(mut p: PacketSpec, ttl: u8) -> PacketSpec {
        p.ttl = ttl;
        p
    }

    /// A packet with IP options after the fixed header.
    fn with_ip_options(p: PacketSpec, opts: &[u8]) -> Packet {
        let mut pkt = p.build().unwrap();
        let mut data = pkt.data[..20].to_vec();
        data.extend_from_slice(opts);
        data.extend_from_slice(&pkt.data[20..]);
        data[0] = 0x40 | ((20 + opts.len()) / 4) as u8;
        let total = data.len() as u16;
        data[2..4].copy_from_slice(&total.to_be_bytes());
        pkt.data = data;
        pkt.fix_checksums();
        pkt
    }

    struct Case {
        name: String,
        rules: String,
        packets: Vec<Packet>,
        /// Compare the marks and zones of the router's connections.
        conntrack: bool,
        /// Compare the log lines in the order they were logged.
        ordered_log: bool,
    }

    fn case(name: &str, rules: String, packets: Vec<PacketSpec>) -> Case {
        Case {
            name: name.into(),
            rules,
            packets: packets.iter().map(|p| p.build().unwrap()).collect(),
            conntrack: false,
            ordered_log: false,
        }
    }

    /// A nat rule that never matches. The kernel tracks connections in a
    /// namespace only once a rule needs conntrack (a NAT target, a state
    /// match, ...); the simulator always does. Cases whose results depend
    /// on tracking have a conntrack user.
    const CT_USER: &str =
        "-A PREROUTING -d 10.255.255.254/32 -j DNAT --to-destination 10.255.255.253\n";

    const REJECT_TYPES: [&str; 7] = [
        "icmp-net-unreachable",
        "icmp-host-unreachable",
        "icmp-proto-unreachable",
        "icmp-port-unreachable",
        "icmp-net-prohibited",
        "icmp-host-prohibited",
        "icmp-admin-prohibited",
    ];

    fn cases(tag: &str) -> Vec<Case> {
        let mut port = 42000u16;
        let mut p = || {
            port += 1;
            port
        };
        let mut v = Vec::new();

        // REJECT: every ICMP type, in FORWARD and INPUT, for TCP, UDP, ICMP.
        for (i, t) in REJECT_TYPES.iter().enumerate() {
            v.push(case(
                &format!("REJECT --reject-with {t}"),
                format!(
                    "*filter\n-A INPUT -p udp -j REJECT --reject-with {t}\n-A FORWARD -d 10.3.0.81/32 -p tcp -j REJECT --reject-with {t}\n-A FORWARD -p udp -j REJECT --reject-with {t}\n-A FORWARD -p icmp -j REJECT --reject-with {t}\nCOMMIT\n"
                ),
                vec![
                    tcp(p(), "10.3.0.81", 81, "S"),
                    tcp(p(), "10.2.0.2", 80, "S"),
                    udp(p(), "10.2.0.2", 53),
                    udp(p(), "10.1.0.1", 53),
                    with_tos(udp(p(), "10.2.0.2", 54), 0x10 + 3 + 0xa0 - (i as u8 % 2) * 0x10),
                    ping(p(), "10.2.0.2"),
                ],
            ));
        }
        v.push(case(
            "REJECT --reject-with tcp-reset",
            "*filter\n-A INPUT -p tcp -j REJECT --reject-with tcp-reset\n-A FORWARD -d 10.3.0.81/32 -p tcp -j REJECT --reject-with tcp-reset\n-A FORWARD -d 10.3.0.82/32 -p tcp -j REJECT\nCOMMIT\n".into(),
            vec![
                tcp(p(), "10.3.0.81", 81, "S"),
                tcp(p(), "10.3.0.81", 81, "A"),
                tcp(p(), "10.3.0.81", 81, "FA"),
                tcp(p(), "10.3.0.81", 81, "PA"),
                tcp(p(), "10.3.0.81", 81, "R"),
                tcp(p(), "10.3.0.81", 81, "SF"),
                tcp(p(), "10.3.0.81", 81, "SEC"),
                tcp(p(), "10.3.0.82", 82, "S"),
                tcp(p(), "10.1.0.1", 22, "S"),
                tcp(p(), "10.1.0.1", 22, "PA"),
            ],
        ));
        // REJECT versus DROP.
        v.push(case(
            "REJECT versus DROP",
            "*filter\n-A FORWARD -d 10.3.0.23/32 -p tcp -j DROP\n-A FORWARD -d 10.3.0.24/32 -p tcp -j REJECT --reject-with tcp-reset\n-A FORWARD -d 10.3.0.23/32 -p udp -j DROP\n-A FORWARD -d 10.3.0.24/32 -p udp -j REJECT\nCOMMIT\n".into(),
            vec![
                tcp(p(), "10.3.0.23", 23, "S"),
                tcp(p(), "10.3.0.24", 24, "S"),
                udp(p(), "10.3.0.23", 23),
                udp(p(), "10.3.0.24", 24),
            ],
        ));
        // REJECT replies pass the router's OUTPUT and POSTROUTING, RELATED to
        // the rejected connection, and NAT un-does its rewrites on them.
        v.push(case(
            "REJECT replies through OUTPUT, un-NATed",
            format!("*nat\n-A PREROUTING -d 10.1.0.1/32 -p tcp -j DNAT --to-destination 10.2.0.2:81\n-A PREROUTING -d 10.1.0.1/32 -p udp -j DNAT --to-destination 10.2.0.2:5353\n-A POSTROUTING -p tcp\n-A POSTROUTING -p udp\n-A POSTROUTING -p icmp\n-A OUTPUT -p tcp\nCOMMIT\n*filter\n-A FORWARD -p tcp -j REJECT --reject-with tcp-reset\n-A FORWARD -p udp -j REJECT --reject-with icmp-host-prohibited\n-A OUTPUT -p tcp -j LOG --log-prefix \"{tag}rej-out: \"\n-A OUTPUT -p icmp -j LOG --log-prefix \"{tag}rej-out: \"\nCOMMIT\n*mangle\n-A POSTROUTING -o r0 -j LOG --log-prefix \"{tag}rej-post: \" --log-tcp-sequence\nCOMMIT\n"),
            vec![
                tcp(p(), "10.1.0.1", 80, "S"),
                udp(p(), "10.1.0.1", 53),
                tcp(p(), "10.2.0.2", 81, "S"),
            ],
        ));

        // LOG at every hook, every flag, every level.
        v.push(case(
            "LOG at every hook",
            format!("*raw\n-A PREROUTING -j LOG --log-prefix \"{tag}raw-pre: \"\n-A OUTPUT -j LOG --log-prefix \"{tag}raw-out: \" --log-level 7\nCOMMIT\n*mangle\n-A PREROUTING -p tcp -j LOG --log-prefix \"{tag}mg-pre: \" --log-level 5 --log-tcp-sequence --log-tcp-options\n-A FORWARD -j LOG --log-prefix \"{tag}mg-fwd: \" --log-level info --log-macdecode\n-A POSTROUTING -j LOG --log-prefix \"{tag}mg-post: \" --log-level error\n-A INPUT -j LOG --log-prefix \"{tag}mg-in: \" --log-level notice\nCOMMIT\n*nat\n-A PREROUTING -j LOG --log-prefix \"{tag}nat-pre: \" --log-level 5\n{CT_USER}-A POSTROUTING -j LOG --log-prefix \"{tag}nat-post: \" --log-level 6\nCOMMIT\n*filter\n-A FORWARD -j LOG --log-prefix \"{tag}f-fwd: \" --log-tcp-options --log-ip-options\n-A INPUT -j LOG --log-prefix \"{tag}f-in: \" --log-uid\n-A OUTPUT -j LOG --log-prefix \"{tag}f-out: \" --log-level 3\nCOMMIT\n"),
            vec![
                tcp(p(), "10.2.0.2", 80, "S"),
                tcp(p(), "10.2.0.2", 81, "S"),
                tcp(p(), "10.2.0.2", 80, "PA"),
                with_tos(tcp(p(), "10.3.0.81", 81, "SEC"), 0x2e),
                udp(p(), "10.2.0.2", 53),
                udp(p(), "10.1.0.1", 53),
                ping(p(), "10.2.0.2"),
                ping(p(), "10.1.0.1"),
                tcp(p(), "10.1.0.1", 22, "S"),
                with_ttl(udp(p(), "10.2.0.2", 9), 1),
                ping(p(), "10.9.9.9"),
            ],
        ));
        v.push(case(
            "LOG shows the packet mark",
            format!("*mangle\n-A PREROUTING -p tcp -j MARK --set-xmark 0x1234/0xffff\n-A PREROUTING -p udp -j MARK --set-mark 0x7\n-A PREROUTING -p udp -j MARK --or-mark 0x100\n-A PREROUTING -p icmp -j MARK --set-mark 0xff\n-A PREROUTING -p icmp -j MARK --and-mark 0x0f\n-A PREROUTING -p icmp -j MARK --xor-mark 0x3\n-A FORWARD -j LOG --log-prefix \"{tag}mark: \"\nCOMMIT\n"),
            vec![
                tcp(p(), "10.2.0.2", 80, "S"),
                udp(p(), "10.2.0.2", 53),
                ping(p(), "10.2.0.2"),
            ],
        ));
        // CONNMARK: saved on the way out, restored on the replies.
        let mut c = case(
            "CONNMARK save and restore",
            format!("*mangle\n-A PREROUTING -i r0 -p tcp -j MARK --set-mark 0x5\n-A PREROUTING -i r0 -p udp -j MARK --set-mark 0x305\n-A PREROUTING -i r0 -p icmp -j CONNMARK --set-xmark 0x40/0xf0\n-A POSTROUTING -o r1 -j CONNMARK --save-mark --mask 0xff\n-A PREROUTING -i r1 -j CONNMARK --restore-mark --nfmask 0xfff --ctmask 0xf0\n-A FORWARD -i r1 -j LOG --log-prefix \"{tag}cm: \"\n-A PREROUTING -i r1 -p icmp -j CONNMARK --restore-mark\n-A FORWARD -i r1 -p icmp -j LOG --log-prefix \"{tag}cm2: \"\nCOMMIT\n"),
            vec![
                tcp(p(), "10.2.0.2", 80, "S"),
                tcp(p(), "10.2.0.2", 81, "S"),
                udp(p(), "10.2.0.2", 53),
                ping(p(), "10.2.0.2"),
            ],
        );
        c.conntrack = true;
        v.push(c);
        let mut c = case(
            "CONNMARK shifts and marks on connections",
            "*mangle\n-A PREROUTING -p tcp -j CONNMARK --set-xmark 0x12/0xff\n-A PREROUTING -d 10.3.0.81/32 -p tcp -j CONNMARK --set-mark 0x3/0xf --left-shift-mark 4\n-A PREROUTING -p udp -j MARK --set-mark 0xab00\n-A PREROUTING -p udp -j CONNMARK --save-mark --nfmask 0xff00 --ctmask 0xff --right-shift-mark 8\n-A PREROUTING -p icmp -j CONNMARK --or-mark 0x9\n-A PREROUTING -p icmp -j CONNMARK --xor-mark 0x1\nCOMMIT\n".into(),
            vec![
                tcp(p(), "10.2.0.2", 80, "S"),
                tcp(p(), "10.2.0.2", 81, "S"),
                udp(p(), "10.2.0.2", 53),
                ping(p(), "10.2.0.2"),
            ],
        );
        c.conntrack = true;
        v.push(c);
        let c = case(
            "MARK and CONNMARK seen by -m mark",
            "*mangle\n-A PREROUTING -i r0 -p tcp -j MARK --set-mark 0x1\n-A PREROUTING -i r0 -p udp -j MARK --set-mark 0x2\n-A PREROUTING -i r0 -j CONNMARK --save-mark\n-A PREROUTING -i r1 -j CONNMARK --restore-mark\n-A FORWARD -m mark --mark 0x1\n-A FORWARD -m mark --mark 0x2\n-A FORWARD -m mark --mark 0x0\n-A FORWARD -i r1 -m mark --mark 0x1/0x1\nCOMMIT\n".into(),
            vec![
                tcp(p(), "10.2.0.2", 80, "S"),
                udp(p(), "10.2.0.2", 53),
                ping(p(), "10.2.0.2"),
            ],
        );
        v.push(c);

        // DNAT: port forwarding, replies un-NATed.
        v.push(case(
            "DNAT port forward",
            format!("*nat\n-A PREROUTING -d 10.1.0.1/32 -p tcp -j DNAT --to-destination 10.2.0.2:80\n-A PREROUTING -d 10.1.0.1/32 -p udp -j DNAT --to-destination 10.2.0.2\n-A PREROUTING -d 10.1.0.1/32 -p icmp -j DNAT --to-destination 10.2.0.2\nCOMMIT\n*filter\n-A FORWARD -j LOG --log-prefix \"{tag}dnat: \"\nCOMMIT\n"),
            vec![
                tcp(p(), "10.1.0.1", 80, "S"),
                tcp(p(), "10.1.0.1", 8000, "S"),
                tcp(p(), "10.1.0.1", 8001, "S"),
                udp(p(), "10.1.0.1", 53),
                ping(p(), "10.1.0.1"),
            ],
        ));
        v.push(case(
            "DNAT address ranges (hashed choice) and port ranges",
            "*nat\n-A PREROUTING -d 10.9.0.0/16 -p tcp -j DNAT --to-destination 10.3.0.10-10.3.0.200\n-A PREROUTING -d 10.8.0.0/16 -p tcp -j DNAT --to-destination 10.3.1.1-10.3.1.9 --persistent\n-A PREROUTING -d 10.7.0.0/16 -p tcp -j DNAT --to-destination 10.3.2.1:1000-1010\n-A PREROUTING -d 10.6.0.0/16 -p tcp -j DNAT --to-destination :8080\n-A PREROUTING -d 10.5.0.0/16 -p udp -j DNAT --to-destination 10.3.3.0-10.3.3.255:2000\nCOMMIT\n".into(),
            vec![
                tcp(p(), "10.9.0.1", 80, "S"),
                tcp(p(), "10.9.1.1", 80, "S"),
                tcp(p(), "10.9.77.3", 80, "S"),
                tcp(p(), "10.9.200.9", 80, "S"),
                tcp(p(), "10.8.0.1", 80, "S"),
                tcp(p(), "10.8.5.5", 80, "S"),
                tcp(p(), "10.7.0.1", 1005, "S"),
                tcp(p(), "10.7.0.1", 80, "S"),
                tcp(p(), "10.6.0.1", 80, "S"),
                udp(p(), "10.5.0.1", 53),
                udp(p(), "10.5.9.1", 53),
            ],
        ));
        // REDIRECT to a local port.
        v.push(case(
            "REDIRECT --to-ports 8080",
            format!("*nat\n-A PREROUTING -d 10.2.0.2/32 -p tcp -j REDIRECT --to-ports 8080\n-A PREROUTING -d 10.9.9.9/32 -p tcp -j REDIRECT --to-ports 8080\n-A PREROUTING -d 10.3.0.81/32 -p tcp -j REDIRECT\n-A PREROUTING -p udp -j REDIRECT --to-ports 5000-5010\nCOMMIT\n*filter\n-A INPUT -j LOG --log-prefix \"{tag}redir: \"\nCOMMIT\n"),
            vec![
                tcp(p(), "10.2.0.2", 80, "S"),
                tcp(p(), "10.9.9.9", 80, "S"),
                tcp(p(), "10.3.0.81", 81, "S"),
                udp(p(), "10.2.0.2", 53),
                udp(p(), "10.2.0.2", 5004),
            ],
        ));
        // SNAT and MASQUERADE on the way out, replies un-NATed.
        v.push(case(
            "SNAT on the way out",
            format!("*nat\n-A POSTROUTING -o r1 -d 10.3.0.0/16 -p tcp -j SNAT --to-source 10.2.0.1\n-A POSTROUTING -o r1 -p tcp -j SNAT --to-source 10.2.0.1:3000\n-A POSTROUTING -o r1 -d 10.3.0.0/16 -p udp -j SNAT --to-source 10.2.0.50-10.2.0.60\n-A POSTROUTING -o r1 -p udp -j SNAT --to-source 10.2.1.1\n-A POSTROUTING -o r1 -p icmp -j SNAT --to-source 10.2.0.1\nCOMMIT\n*filter\n-A FORWARD -i r1 -j LOG --log-prefix \"{tag}snat: \"\nCOMMIT\n"),
            vec![
                tcp(p(), "10.3.0.80", 80, "S"),
                tcp(p(), "10.2.0.2", 80, "S"),
                tcp(p(), "10.2.0.2", 81, "S"),
                udp(p(), "10.2.0.2", 53),
                udp(p(), "10.3.4.5", 53),
                udp(p(), "10.3.4.6", 53),
                ping(p(), "10.2.0.2"),
            ],
        ));
        v.push(case(
            "MASQUERADE with two networks on the outside",
            "*nat\n-A POSTROUTING -o r1 -j MASQUERADE\nCOMMIT\n".into(),
            vec![
                tcp(p(), "10.2.0.2", 80, "S"),
                tcp(p(), "10.3.0.7", 80, "S"),
                tcp(p(), "10.4.0.7", 80, "S"),
                udp(p(), "10.2.0.2", 53),
                udp(p(), "10.4.1.1", 53),
                ping(p(), "10.2.0.2"),
                ping(p(), "10.4.0.1"),
            ],
        ));
        v.push(case(
            "MASQUERADE --to-ports",
            "*nat\n-A POSTROUTING -o r1 -p tcp -j MASQUERADE --to-ports 7000\n-A POSTROUTING -o r1 -p udp -j MASQUERADE --to-ports 7000-7000\nCOMMIT\n".into(),
            vec![
                tcp(p(), "10.2.0.2", 80, "S"),
                udp(p(), "10.2.0.2", 53),
                tcp(p(), "10.4.0.9", 80, "S"),
            ],
        ));
        // NETMAP both ways.
        v.push(case(
            "NETMAP",
            "*nat\n-A PREROUTING -d 10.9.0.0/16 -j NETMAP --to 10.3.0.0/16\n-A POSTROUTING -o r1 -s 10.1.0.0/24 -j NETMAP --to 10.5.5.0/24\nCOMMIT\n".into(),
            vec![
                tcp(p(), "10.9.1.2", 80, "S"),
                udp(p(), "10.9.250.3", 53),
                tcp(p(), "10.2.0.2", 80, "S"),
                ping(p(), "10.9.0.9"),
            ],
        ));
        // CT --notrack and NOTRACK: not tracked, not NATed.
        let mut c = case(
            "CT --notrack, NOTRACK, --zone",
            format!("*raw\n-A PREROUTING -d 10.3.0.80/32 -p tcp -j CT --notrack\n-A PREROUTING -d 10.3.0.53/32 -p udp -j NOTRACK\n-A PREROUTING -d 10.3.0.81/32 -p tcp -j CT --zone 7\n-A PREROUTING -d 10.3.0.81/32 -p tcp -j CT --notrack\n-A PREROUTING -d 10.3.0.54/32 -p udp -j MARK --set-mark 0x10009\nCOMMIT\n*mangle\n-A PREROUTING -d 10.3.0.54/32 -p udp -j MARK --set-mark 0x10009\nCOMMIT\n*nat\n-A PREROUTING -p tcp -j DNAT --to-destination 10.2.0.2:82\n-A PREROUTING -p udp -j DNAT --to-destination 10.2.0.2:99\nCOMMIT\n*filter\n-A FORWARD -j LOG --log-prefix \"{tag}ct: \"\nCOMMIT\n"),
            vec![
                tcp(p(), "10.3.0.80", 80, "S"),
                udp(p(), "10.3.0.53", 53),
                tcp(p(), "10.3.0.81", 81, "S"),
                tcp(p(), "10.3.0.83", 83, "S"),
                udp(p(), "10.3.0.54", 54),
            ],
        );
        c.conntrack = true;
        v.push(c);
        let mut c = case(
            "CT --zone mark",
            "*raw\n-A PREROUTING -i r0 -p udp -j MARK --set-mark 0x30005\n-A PREROUTING -i r0 -p udp -j CT --zone mark\n-A PREROUTING -i r0 -p tcp -j CT --zone 3\n-A PREROUTING -i r1 -p tcp -j CT --zone 3\nCOMMIT\n".into(),
            vec![
                udp(p(), "10.2.0.2", 53),
                tcp(p(), "10.2.0.2", 80, "S"),
            ],
        );
        c.conntrack = true;
        v.push(c);

        // TEE: a copy to the gateway, the original goes on.
        v.push(case(
            "TEE --gateway",
            format!("*mangle\n-A PREROUTING -p udp -j TEE --gateway 10.2.0.10\n-A FORWARD -p tcp -j TEE --gateway 10.2.0.10\n-A POSTROUTING -p icmp -j TEE --gateway 10.2.1.2 --oif r1\nCOMMIT\n*raw\n-A OUTPUT -j LOG --log-prefix \"{tag}tee-raw: \"\nCOMMIT\n*filter\n-A OUTPUT -j LOG --log-prefix \"{tag}tee-out: \"\n-A OUTPUT -d 10.3.0.54/32 -p udp -j DROP\nCOMMIT\n*nat\n-A OUTPUT -j LOG --log-prefix \"{tag}tee-nat: \"\n{CT_USER}COMMIT\n"),
            vec![
                udp(p(), "10.2.0.2", 53),
                udp(p(), "10.3.0.54", 54),
                tcp(p(), "10.2.0.2", 80, "S"),
                ping(p(), "10.2.0.2"),
                udp(p(), "10.1.0.1", 53),
            ],
        ));
        // What a copy logs comes before what its original logs after TEE:
        // the kernel sends the copy from inside the target.
        let mut c = case(
            "TEE, logged in order",
            format!("*mangle\n-A PREROUTING -p icmp -j TEE --gateway 10.2.0.10\n-A PREROUTING -p icmp -j LOG --log-prefix \"{tag}tee-pre: \"\n-A INPUT -j LOG --log-prefix \"{tag}tee-in: \"\n-A FORWARD -j LOG --log-prefix \"{tag}tee-fwd: \"\n-A POSTROUTING -j LOG --log-prefix \"{tag}tee-post: \"\n-A POSTROUTING -j LOG --log-prefix \"{tag}tee-dec: \" --log-macdecode\nCOMMIT\n*filter\n-A OUTPUT -j LOG --log-prefix \"{tag}tee-out: \"\nCOMMIT\n"),
            vec![ping(p(), "10.2.0.2"), ping(p(), "10.1.0.1")],
        );
        c.ordered_log = true;
        v.push(c);
        v.push(case(
            "TEE in INPUT",
            "*mangle\n-A INPUT -j TEE --gateway 10.2.0.10\nCOMMIT\n".into(),
            vec![udp(p(), "10.1.0.1", 53), ping(p(), "10.1.0.1")],
        ));

        // NFQUEUE without a listener.
        v.push(case(
            "NFQUEUE without a listener",
            "*filter\n-A FORWARD -p tcp -j NFQUEUE --queue-num 3\n-A FORWARD -p udp -j NFQUEUE --queue-bypass\n-A FORWARD -p udp\n-A FORWARD -p icmp -j NFQUEUE --queue-balance 2:5 --queue-bypass\nCOMMIT\n".into(),
            vec![
                tcp(p(), "10.2.0.2", 80, "S"),
                udp(p(), "10.2.0.2", 53),
                ping(p(), "10.2.0.2"),
            ],
        ));
        // Non-terminating targets go on.
        v.push(case(
            "TRACE, AUDIT, NFLOG go on",
            "*raw\n-A PREROUTING -j TRACE\nCOMMIT\n*filter\n-A FORWARD -j AUDIT --type accept\n-A FORWARD -j NFLOG --nflog-group 5 --nflog-prefix x\n-A FORWARD -p udp -j DROP\nCOMMIT\n".into(),
            vec![tcp(p(), "10.2.0.2", 80, "S"), udp(p(), "10.2.0.2", 53)],
        ));
        // REJECT of the router's own packets: the reply comes back over lo.
        v.push(case(
            "REJECT in OUTPUT, replies over loopback",
            format!("*filter\n-A INPUT -i lo -j LOG --log-prefix \"{tag}lo-in: \" --log-macdecode\n-A INPUT -i lo -j LOG --log-prefix \"{tag}lo-in2: \"\n-A OUTPUT -o r0 -p icmp -j REJECT --reject-with icmp-net-prohibited\n-A OUTPUT -o r0 -p tcp -j REJECT --reject-with tcp-reset\n-A OUTPUT -o lo -j LOG --log-prefix \"{tag}lo-out: \"\nCOMMIT\n*nat\n{CT_USER}COMMIT\n"),
            vec![
                ping(p(), "10.1.0.1"),
                tcp(p(), "10.1.0.1", 22, "S"),
                tcp(p(), "10.1.0.1", 8080, "S"),
                udp(p(), "10.1.0.1", 53),
            ],
        ));
        // NETMAP and SNAT in INPUT: the router's stack sees the new source
        // (the security table comes after nat INPUT).
        v.push(case(
            "NETMAP and SNAT in INPUT",
            format!("*nat\n-A INPUT -p udp -j NETMAP --to 10.7.7.0/24\n-A INPUT -p tcp -j SNAT --to-source 10.1.0.50:999\nCOMMIT\n*security\n-A INPUT -j LOG --log-prefix \"{tag}sec-in: \"\nCOMMIT\n*filter\n-A INPUT -j LOG --log-prefix \"{tag}f-in: \"\nCOMMIT\n"),
            vec![
                udp(p(), "10.1.0.1", 53),
                tcp(p(), "10.1.0.1", 8080, "S"),
                tcp(p(), "10.1.0.1", 23, "S"),
                ping(p(), "10.1.0.1"),
            ],
        ));
        // A zone on one side only: the replies are looked up in zone 0 and
        // miss the connection, so NAT does not undo its rewrite on them.
        let mut c = case(
            "CT --zone on one side only",
            "*raw\n-A PREROUTING -i r0 -p tcp -j CT --zone 4\n-A PREROUTING -i r0 -p udp -j CT --zone 5\n-A PREROUTING -i r1 -p udp -j CT --zone 5\nCOMMIT\n*nat\n-A PREROUTING -d 10.1.0.1/32 -j DNAT --to-destination 10.2.0.2\nCOMMIT\n".into(),
            vec![
                tcp(p(), "10.1.0.1", 80, "S"),
                udp(p(), "10.1.0.1", 53),
                ping(p(), "10.1.0.1"),
            ],
        );
        c.conntrack = true;
        v.push(c);
        // Shifted port maps and single-port maps of DNAT.
        v.push(case(
            "DNAT shifted port map",
            "*nat\n-A PREROUTING -d 10.9.0.0/16 -p tcp -j DNAT --to-destination 10.3.5.5:1000-1999/500\n-A PREROUTING -d 10.8.0.0/16 -p udp -j DNAT --to-destination 10.3.5.6:2000-2009/100\nCOMMIT\n".into(),
            vec![
                tcp(p(), "10.9.0.1", 600, "S"),
                tcp(p(), "10.9.0.1", 499, "S"),
                tcp(p(), "10.9.0.1", 1600, "S"),
                udp(p(), "10.8.0.1", 105),
                udp(p(), "10.8.0.1", 123),
            ],
        ));
        // LOG of IP options.
        let mut c = case(
            "LOG --log-ip-options",
            format!("*mangle\n-A PREROUTING -j LOG --log-prefix \"{tag}ipopt: \" --log-ip-options\n-A PREROUTING -p udp -j LOG --log-prefix \"{tag}noopt: \"\nCOMMIT\n"),
            vec![],
        );
        c.packets = vec![
            with_ip_options(udp(p(), "10.2.0.2", 53), &[1, 1, 1, 0]),
            with_ip_options(tcp(p(), "10.3.0.9", 80, "S"), &[0x94, 4, 0, 0]),
            with_ip_options(ping(p(), "10.3.0.9"), &[1, 1, 1, 1, 1, 1, 1, 0]),
        ];
        v.push(c);
        // SYNPROXY: the SYN is answered with a cookie, other packets drop or go on.
        v.push(case(
            "SYNPROXY answers SYNs",
            format!("*raw\n-A PREROUTING -d 10.3.0.0/16 -p tcp -j CT --notrack\nCOMMIT\n*filter\n-A FORWARD -d 10.3.0.0/16 -p tcp -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460\n-A FORWARD -d 10.3.0.0/16 -p tcp -j LOG --log-prefix \"{tag}synp: \"\n-A OUTPUT -p tcp -j LOG --log-prefix \"{tag}synp-out: \"\nCOMMIT\n"),
            vec![
                tcp(p(), "10.3.0.1", 80, "S"),
                tcp(p(), "10.3.0.1", 80, "SEC"),
                tcp(p(), "10.3.0.1", 80, "A"),
                tcp(p(), "10.3.0.1", 80, "FA"),
                tcp(p(), "10.3.0.1", 80, "R"),
            ],
        ));
        // TPROXY finds no transparent socket: the packet is dropped.
        v.push(case(
            "TPROXY without a transparent socket",
            "*mangle\n-A PREROUTING -d 10.3.0.0/16 -p tcp -j TPROXY --on-port 3128 --tproxy-mark 0x1/0x1\n-A PREROUTING -d 10.3.0.0/16 -p udp -j TPROXY --on-port 0 --on-ip 10.1.0.1\n-A PREROUTING -p tcp\n-A PREROUTING -p udp\nCOMMIT\n".into(),
            vec![
                tcp(p(), "10.3.0.1", 80, "S"),
                udp(p(), "10.3.0.1", 53),
                tcp(p(), "10.2.0.2", 80, "S"),
            ],
        ));
        v.push(case(
            "SYNPROXY without timestamps, tracked SYN",
            "*filter\n-A FORWARD -d 10.3.0.0/16 -p tcp -j SYNPROXY --mss 1400 --wscale 3 --ecn\nCOMMIT\n".into(),
            vec![
                tcp(p(), "10.3.0.1", 80, "S"),
                tcp(p(), "10.3.0.1", 80, "SEC"),
            ],
        ));
        v
    }

    /// A TCP segment from the phantom client with raw options.
    fn tcp_raw(
        dst: &str,
        sport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        options: Vec<u8>,
    ) -> Packet {
        let mut ip = IpFields::new(PHANTOM.parse().unwrap(), dst.parse().unwrap());
        ip.df = true;
        ip.id = 1;
        build_tcp(
            &ip,
            &TcpFields {
                sport,
                dport: 80,
                seq,
                ack,
                flags,
                window,
                options,
            },
            b"",
        )
    }

    /// The timestamp option's (tsval, tsecr) and where it starts.
    fn timestamps(opts: &[u8]) -> Option<(usize, u32, u32)> {
        let mut i = 0;
        while i + 1 < opts.len() {
            match opts[i] {
                0 => break,
                1 => i += 1,
                8 if i + 10 <= opts.len() => {
                    let w = |a: usize| {
                        u32::from_be_bytes([opts[a], opts[a + 1], opts[a + 2], opts[a + 3]])
                    };
                    return Some((i, w(i + 2), w(i + 6)));
                }
                _ => i += opts[i + 1].max(2) as usize,
            }
        }
        None
    }

    /// A segment in words, with the given option bytes masked.
    fn tcp_view(bytes: &[u8], mask: &dyn Fn(&mut Vec<u8>), show_ack: bool) -> String {
        let Ok(h) = parse(bytes, false) else {
            return "unparsable".into();
        };
        let Some(t) = h.tcp() else {
            return "not tcp".into();
        };
        let mut o = t.options.to_vec();
        mask(&mut o);
        format!(
            "{}>{} ttl={} df={} id={} {}>{} flags={:#04x} ack={} win={} opts={:02x?}",
            h.src,
            h.dst,
            h.ttl,
            h.df,
            h.id,
            t.sport,
            t.dport,
            t.flags,
            if show_ack {
                t.ack.to_string()
            } else {
                "*".into()
            },
            t.window,
            o
        )
    }

    /// SYNPROXY's two steps: a SYN offering timestamps, window scaling and
    /// SACK gets a cookie SYN-ACK whose timestamp carries those wishes; the
    /// client's ACK echoing it makes the SYN to the server. Cookies and
    /// clocks are random: compared are everything else, and the wishes
    /// encoded in the timestamp's low bits.
    fn synproxy_exchange(topo: &Topology) -> (usize, Vec<String>) {
        let rules = "*raw\n-A PREROUTING -d 10.3.0.0/16 -p tcp -j CT --notrack\nCOMMIT\n*filter\n-A FORWARD -d 10.3.0.0/16 -p tcp -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460\nCOMMIT\n";
        topo.exec(
            &topo.router(),
            "nft flush ruleset; conntrack -F 2>/dev/null; true",
        )
        .expect("flush");
        topo.load_router_rules(rules).expect("real restore");
        let mut w = sim_world();
        let out = common::sh_stdin(&mut w.hosts[0], "iptables-restore", rules);
        assert_eq!(out.exit, 0, "synproxy: our restore failed: {}", out.stderr);
        let syn_opts = vec![
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 5,
        ];
        let syn = tcp_raw("10.3.0.1", 43999, 5000, 0, 0x02, 64240, syn_opts);
        // The SYN-ACK: our timestamp keeps only its low 6 bits (the wishes).
        let mask_tsval = |o: &mut Vec<u8>| {
            if let Some((i, v, _)) = timestamps(o) {
                o[i + 2..i + 6].copy_from_slice(&(v & 0x3f).to_be_bytes());
            }
        };
        let real_syn = topo.inject(&syn.data);
        let mut sp = syn.clone();
        sp.meta.src_mac = Some(PHANTOM_MAC);
        sp.meta.dst_mac = Some(R0_MAC);
        w.wire.clear();
        w.inject(0, "r0", sp);
        let synack = |frames: Vec<Vec<u8>>| -> Option<Vec<u8>> {
            frames.into_iter().find(|b| {
                parse(b, false)
                    .ok()
                    .and_then(|h| h.tcp().map(|t| t.flags == 0x12))
                    .unwrap_or(false)
            })
        };
        let real_sa = synack(
            real_syn
                .into_iter()
                .filter(|(s, _)| *s == Seen::RouterToClient)
                .map(|(_, b)| b)
                .collect(),
        );
        let sim_sa = synack(
            w.wire
                .iter()
                .filter(|e| e.iface == "r0")
                .map(|e| e.packet.clone())
                .collect(),
        );
        let mut mismatches = Vec::new();
        let view = |b: &Option<Vec<u8>>| {
            b.as_ref()
                .map(|b| tcp_view(b, &mask_tsval, true))
                .unwrap_or_else(|| "no SYN-ACK".into())
        };
        if std::env::var("TARGETS_SHOW").is_ok() {
            println!("SYNPROXY SYN-ACK: {}", view(&real_sa));
        }
        if view(&real_sa) != view(&sim_sa) {
            mismatches.push(format!(
                "SYNPROXY SYN-ACK\n  kernel:    {}\n  simulator: {}",
                view(&real_sa),
                view(&sim_sa)
            ));
        }
        // The client's ACK, echoing each side's cookie and timestamp.
        let ack_for = |sa: &[u8]| -> Packet {
            let h = parse(sa, false).unwrap();
            let t = h.tcp().unwrap();
            let (_, tsval, _) = timestamps(&t.options).unwrap_or((0, 0, 0));
            let mut o = vec![1, 1, 8, 10];
            o.extend_from_slice(&12400u32.to_be_bytes());
            o.extend_from_slice(&tsval.to_be_bytes());
            tcp_raw("10.3.0.1", 43999, 5001, t.seq.wrapping_add(1), 0x10, 502, o)
        };
        let server_syn = |frames: Vec<Vec<u8>>| -> String {
            let mut v: Vec<String> = frames
                .iter()
                .filter(|b| {
                    parse(b, false)
                        .ok()
                        .and_then(|h| h.tcp().map(|t| t.flags & 0x02 != 0))
                        .unwrap_or(false)
                })
                .map(|b| {
                    // The SYN relays the cookie in its ack and echoes our timestamp.
                    tcp_view(
                        b,
                        &|o: &mut Vec<u8>| {
                            if let Some((i, _, _)) = timestamps(o) {
                                o[i + 6..i + 10].copy_from_slice(&[0; 4]);
                            }
                        },
                        false,
                    )
                })
                .collect();
            v.sort();
            format!("{v:?}")
        };
        if let (Some(rsa), Some(ssa)) = (&real_sa, &sim_sa) {
            let real_ack = topo.inject(&ack_for(rsa).data);
            let mut sp = ack_for(ssa);
            sp.meta.src_mac = Some(PHANTOM_MAC);
            sp.meta.dst_mac = Some(R0_MAC);
            w.wire.clear();
            w.inject(0, "r0", sp);
            let real = server_syn(
                real_ack
                    .into_iter()
                    .filter(|(s, _)| *s == Seen::RouterToServer)
                    .map(|(_, b)| b)
                    .collect(),
            );
            let sim = server_syn(
                w.wire
                    .iter()
                    .filter(|e| e.iface == "r1")
                    .map(|e| e.packet.clone())
                    .collect(),
            );
            if std::env::var("TARGETS_SHOW").is_ok() {
                println!("SYNPROXY SYN to the server: {real}");
            }
            if real != sim {
                mismatches.push(format!(
                    "SYNPROXY SYN to the server\n  kernel:    {real}\n  simulator: {sim}"
                ));
            }
        }
        (2, mismatches)
    }

    /// (mark, zone) of the router's connections by original tuple.
    fn sim_conntrack(w: &World) -> BTreeMap<String, String> {
        w.hosts[0]
            .conntrack
            .iter()
            .filter(|e| e.has(engine::sim::conntrack::status::CONFIRMED))
            .map(|e| {
                let t = &e.orig;
                let key = match t.proto {
                    1 => format!("icmp src={} dst={} id={}", t.src, t.dst, t.sport),
                    6 => format!(
                        "tcp src={} dst={} sport={} dport={}",
                        t.src, t.dst, t.sport, t.dport
                    ),
                    17 => format!(
                        "udp src={} dst={} sport={} dport={}",
                        t.src, t.dst, t.sport, t.dport
                    ),
                    p => format!("proto {p}"),
                };
                (key, format!("mark={} zone={}", e.mark, e.zone))
            })
            .collect()
    }

    fn real_conntrack(text: &str) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        for l in text.lines() {
            let w: Vec<&str> = l.split_whitespace().collect();
            let get = |k: &str| {
                w.iter()
                    .find(|x| x.starts_with(&format!("{k}=")))
                    .map(|x| x[k.len() + 1..].to_string())
            };
            let Some(proto) = w.first() else {
                continue;
            };
            let key = match *proto {
                "icmp" => format!(
                    "icmp src={} dst={} id={}",
                    get("src").unwrap_or_default(),
                    get("dst").unwrap_or_default(),
                    get("id").unwrap_or_default()
                ),
                "tcp" | "udp" => format!(
                    "{proto} src={} dst={} sport={} dport={}",
                    get("src").unwrap_or_default(),
                    get("dst").unwrap_or_default(),
                    get("sport").unwrap_or_default(),
                    get("dport").unwrap_or_default()
                ),
                _ => continue,
            };
            let zone = get("zone").unwrap_or_else(|| "0".into());
            m.insert(
                key,
                format!("mark={} zone={zone}", get("mark").unwrap_or_default()),
            );
        }
        m
    }

    /// Whether the simulator evaluates `-m mark` yet (another group's match).
    #[test]
    fn targets_agree_with_kernel() {
        if let Err(why) = common::can_use_kernel() {
            println!("skipped: {why}");
            return;
        }
        // The kernel logs for other namespaces only when asked to.
        let _ = Command::new("sysctl")
            .args(["-qw", "net.netfilter.nf_log_all_netns=1"])
            .status();
        let tag = format!("kt{}", std::process::id() % 10000);
        let log_tag = format!("KT{}", std::process::id() % 10000);
        let topo = Topology::new(&tag).expect("topology");
        topo.exec(&topo.router(), ROUTER_SETUP)
            .expect("router setup");
        let _server = listen(&topo.server(), 80);
        let _router = listen(&topo.router(), 8080);
        std::thread::sleep(std::time::Duration::from_millis(200));
        let kmsg = Kmsg::open();
        let mut mismatches = Vec::new();
        let mut compared = 0;
        for c in cases(&log_tag) {
            let name = &c.name;
            topo.exec(
                &topo.router(),
                "nft flush ruleset; conntrack -F 2>/dev/null; true",
            )
            .expect("flush");
            let _ = topo.exec(&topo.server(), "conntrack -F 2>/dev/null");
            topo.load_router_rules(&c.rules).expect("real restore");
            let mut w = sim_world();
            let out = common::sh_stdin(&mut w.hosts[0], "iptables-restore", &c.rules);
            assert_eq!(out.exit, 0, "{name}: our restore failed: {}", out.stderr);
            if let Some(k) = &kmsg {
                k.read(&log_tag);
            }
            for pkt in &c.packets {
                let spec = describe("packet", &pkt.data);
                let mut real: Vec<String> = topo
                    .inject(&pkt.data)
                    .into_iter()
                    .map(|(s, b)| describe(seen_name(s), &b))
                    .collect();
                real.sort();
                if std::env::var("TARGETS_SHOW").is_ok() {
                    println!("{name}: {spec}\n  kernel: {real:#?}");
                }
                w.wire.clear();
                let before = w.hosts[0].kmsg.len();
                let mut sp = Packet::new(pkt.data.clone());
                sp.meta.src_mac = Some(PHANTOM_MAC);
                sp.meta.dst_mac = Some(R0_MAC);
                w.inject(0, "r0", sp);
                let sim = sim_frames(&w);
                compared += 1;
                if real != sim {
                    mismatches.push(format!(
                        "{name}: {spec}\n  kernel:    {real:#?}\n  simulator: {sim:#?}"
                    ));
                }
                if let Some(k) = &kmsg {
                    let mut real_log: Vec<String> = k
                        .read(&log_tag)
                        .into_iter()
                        .map(|(lvl, t)| format!("<{lvl}>{}", mask_log(&t)))
                        .collect();
                    let mut sim_log: Vec<String> = w.hosts[0].kmsg[before..]
                        .iter()
                        .map(|r| format!("<{}>{}", r.level, mask_log(&r.text)))
                        .collect();
                    if !real_log.is_empty() || !sim_log.is_empty() {
                        if !c.ordered_log {
                            real_log.sort();
                            sim_log.sort();
                        }
                        compared += 1;
                        if real_log != sim_log {
                            mismatches.push(format!(
                                "{name}: log of {spec}\n  kernel:    {real_log:#?}\n  simulator: {sim_log:#?}"
                            ));
                        }
                    }
                }
            }
            let real_save = topo.exec(&topo.router(), "iptables-save -c").expect("save");
            let sim_save = common::sh(&mut w.hosts[0], "iptables-save -c").stdout;
            compared += 1;
            if rule_counters(&real_save) != rule_counters(&sim_save) {
                mismatches.push(format!(
                    "{name}: counters\n--- kernel\n{}--- simulator\n{}",
                    rule_counters(&real_save),
                    rule_counters(&sim_save)
                ));
            }
            if c.conntrack {
                let real = real_conntrack(
                    &topo
                        .exec(&topo.router(), "conntrack -L 2>/dev/null")
                        .unwrap_or_default(),
                );
                let sim = sim_conntrack(&w);
                compared += 1;
                if real != sim {
                    mismatches.push(format!(
                        "{name}: connections\n  kernel:    {real:#?}\n  simulator: {sim:#?}"
                    ));
                }
            }
        }
        let (n, m) = synproxy_exchange(&topo);
        compared += n;
        mismatches.extend(m);
        println!(
            "targets, kernel vs simulator: {compared} comparisons, {} mismatches{}",
            mismatches.len(),
            if kmsg.is_none() {
                " (no /dev/kmsg: log lines not compared)"
            } else {
                ""
            }
        );
        for m in &mismatches {
            println!("MISMATCH {m}");
        }
        assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
        assert!(compared >= 150, "only {compared} comparisons");
    }
}
