//! A few of the field guide's scenarios (seed_scenarios.rs) against the
//! real kernel and the real tools: the oracle's client–router–server
//! namespaces and the same topology as a lab, the same rules on both, the
//! same commands run by the real nmap, nc, hping3 and ping and by the
//! lab's; what they print, the rules' counters and the conntrack tables
//! must agree once what differs by nature is masked (times, random ports
//! and ids, timeouts). Root only; says why when it skips. `SEED_SHOW=1`
//! prints what the kernel side printed.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
mod oracle;

#[cfg(target_os = "linux")]
mod cases {
    use super::common;
    use super::oracle::mirror::listen;
    use super::oracle::Topology;
    use engine::command::script::parse_script;
    use engine::sim::tools;
    use engine::sim::world::World;
    use std::process::Command;

    const LAB: &str = r#"{
      "version": 1,
      "clock": { "start": "2024-05-01T09:00:00Z" },
      "links": [ { "name": "left" }, { "name": "right" } ],
      "hosts": [
        { "name": "client",
          "interfaces": [ { "name": "c0", "address": "10.1.0.2/24", "mac": "02:00:00:01:00:02", "link": "left" } ],
          "routes": [ { "to": "default", "via": "10.1.0.1" } ] },
        { "name": "router",
          "interfaces": [
            { "name": "r0", "address": "10.1.0.1/24", "mac": "02:00:00:01:00:01", "link": "left" },
            { "name": "r1", "address": "10.2.0.1/24", "mac": "02:00:00:02:00:01", "link": "right" } ],
          "sysctl": { "net.ipv4.ip_forward": "1" } },
        { "name": "server",
          "interfaces": [ { "name": "s0", "address": "10.2.0.2/24", "mac": "02:00:00:02:00:02", "link": "right" } ],
          "routes": [ { "to": "default", "via": "10.2.0.1" } ],
          "services": [ { "proto": "tcp", "port": 22 }, { "proto": "tcp", "port": 80 } ] }
      ],
      "auto_names": false
    }"#;

    fn missing_tools() -> Option<String> {
        if let Err(why) = common::can_use_kernel() {
            return Some(why);
        }
        for t in ["nmap", "nc", "hping3", "ping", "conntrack"] {
            let found = Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {t}"))
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if !found {
                return Some(format!("{t} not installed"));
            }
        }
        None
    }

    /// The namespaces and the lab, side by side.
    struct Both {
        topo: Topology,
        world: World,
        failures: Vec<String>,
        compared: usize,
    }

    fn real(ns: &str, cmd: &str) -> (i32, String, String) {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "sh", "-c", cmd])
            .output()
            .expect("ip netns exec runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }

    /// Port numbers the scenarios chose; every other is ephemeral.
    const KNOWN_PORTS: &[&str] = &["22", "23", "69", "80", "81", "8080"];

    /// Masks times, latencies, ephemeral ports, ids, sequence numbers and
    /// conntrack timeouts.
    fn mask(text: &str) -> String {
        let mut out = Vec::new();
        for line in text.lines() {
            if line.starts_with("Starting Nmap") {
                out.push("Starting Nmap".to_string());
                continue;
            }
            if line.starts_with("rtt ") || line.starts_with("round-trip ") {
                out.push(line.split(" = ").next().unwrap_or("").to_string());
                continue;
            }
            if line.starts_with("Host is up") {
                out.push("Host is up".to_string());
                continue;
            }
            if let Some(done) = line.strip_prefix("Nmap done: ") {
                out.push(format!(
                    "Nmap done: {}",
                    done.split(" scanned in").next().unwrap_or("")
                ));
                continue;
            }
            // Words, not spaces: conntrack pads the protocol name.
            let words: Vec<String> = line
                .split_whitespace()
                .enumerate()
                .map(|(k, w)| {
                    if let Some((key, val)) = w.split_once('=') {
                        let masked = match key {
                            "sport" | "dport" if !KNOWN_PORTS.contains(&val) => true,
                            "id" | "seq" | "rtt" | "time" => true,
                            _ => false,
                        };
                        if masked {
                            return format!("{key}=#");
                        }
                    }
                    // ping's statistics: `time 505ms`.
                    if w.ends_with("ms") && w[..w.len() - 2].chars().all(|c| c.is_ascii_digit()) {
                        return "#ms".into();
                    }
                    // conntrack -L: the third word is the seconds left.
                    if k == 2
                        && (line.starts_with("tcp ")
                            || line.starts_with("icmp ")
                            || line.starts_with("udp "))
                    {
                        return "#".into();
                    }
                    w.to_string()
                })
                .collect();
            out.push(words.join(" "));
        }
        out.join("\n")
    }

    fn sorted_lines(text: &str) -> String {
        let mut v: Vec<&str> = text.lines().collect();
        v.sort();
        v.join("\n")
    }

    impl Both {
        fn new(tag: &str) -> Result<Both, String> {
            let topo = Topology::new(tag)?;
            let (world, _, runs) = engine::lab::load(LAB).map_err(|e| e.0)?;
            assert!(runs.is_empty());
            Ok(Both {
                topo,
                world,
                failures: Vec::new(),
                compared: 0,
            })
        }

        fn ns(&self, host: &str) -> String {
            match host {
                "client" => format!("{}-c", self.topo.tag),
                "router" => self.topo.router(),
                _ => self.topo.server(),
            }
        }

        fn sim(&mut self, host: &str, cmd: &str) -> (i32, String, String) {
            let h = self.world.host_index(host).expect("host");
            let mut out = engine::command::Output::default();
            for c in parse_script(cmd).expect("command parses") {
                out = tools::run_script_cmd(&mut self.world, h, &c, &|_| {
                    Err("No such file or directory".into())
                });
            }
            tools::take_journal(&mut self.world);
            (out.exit, out.stdout, out.stderr)
        }

        /// Runs a command on both sides without comparing (set-up).
        fn both(&mut self, host: &str, cmd: &str) {
            let ns = self.ns(host);
            let r = real(&ns, cmd);
            let s = self.sim(host, cmd);
            assert_eq!(r.0, 0, "real `{cmd}`: {}", r.2);
            assert_eq!(s.0, 0, "lab `{cmd}`: {}", s.2);
        }

        /// Runs a command on both sides and compares exit, stdout and
        /// stderr (masked; `sort`: line order aside).
        fn compare(&mut self, host: &str, cmd: &str, sort: bool) {
            let ns = self.ns(host);
            let r = real(&ns, cmd);
            let s = self.sim(host, cmd);
            let prep = |t: &str| {
                let m = mask(t);
                if sort {
                    sorted_lines(&m)
                } else {
                    m
                }
            };
            let (r1, r2, s1, s2) = (prep(&r.1), prep(&r.2), prep(&s.1), prep(&s.2));
            self.compared += 1;
            if std::env::var("SEED_SHOW").is_ok() {
                println!("{host}$ {cmd}\n{}{}", r.1, r.2);
            }
            if r.0 != s.0 || r1 != s1 || r2 != s2 {
                self.failures.push(format!(
                    "{host}$ {cmd}\n--- kernel ({}):\n{r1}\n{r2}\n--- lab ({}):\n{s1}\n{s2}",
                    r.0, s.0
                ));
            }
        }

        /// Empties rules, counters and conntrack on both sides.
        fn reset(&mut self) {
            for host in ["client", "router", "server"] {
                let cmds = [
                    "iptables -F",
                    "iptables -t nat -F",
                    "iptables -P INPUT ACCEPT",
                    "iptables -P OUTPUT ACCEPT",
                    "iptables -P FORWARD ACCEPT",
                    "iptables -Z",
                    "iptables -t nat -Z",
                ];
                for c in cmds {
                    self.both(host, c);
                }
                let ns = self.ns(host);
                real(&ns, "conntrack -F 2>/dev/null");
                let h = self.world.host_index(host).unwrap();
                self.world.hosts[h].conntrack = Default::default();
            }
        }

        fn finish(self) {
            println!(
                "kernel vs lab: {} comparisons, {} differ",
                self.compared,
                self.failures.len()
            );
            assert!(self.failures.is_empty(), "\n{}", self.failures.join("\n\n"));
        }
    }

    #[test]
    fn seed_scenarios_agree_with_the_kernel() {
        if let Some(why) = missing_tools() {
            println!("skipped: {why}");
            return;
        }
        let tag = format!("sk{}", std::process::id() % 10000);
        let mut b = match Both::new(&tag) {
            Ok(b) => b,
            Err(e) => {
                println!("skipped: {e}");
                return;
            }
        };
        let server = b.ns("server");
        let _l22 = listen(&server, 22);
        let _l80 = listen(&server, 80);
        std::thread::sleep(std::time::Duration::from_millis(300));
        // Warm the neighbour caches the oracle does not make permanent.
        real(&b.ns("router"), "ping -c 1 -W 1 10.1.0.2 >/dev/null");

        // REJECT vs DROP, seen with nmap: port unreachable and silence are
        // both `filtered`, a RST `closed`.
        b.reset();
        b.both("server", "iptables -A INPUT -p tcp --dport 22 -j REJECT");
        b.both("server", "iptables -A INPUT -p tcp --dport 81 -j DROP");
        b.compare("client", "nmap -n -p 22,23,80,81 10.2.0.2", false);
        b.compare("client", "nc -zv 10.2.0.2 22", false);
        b.both(
            "server",
            "iptables -R INPUT 1 -p tcp --dport 22 -j REJECT --reject-with tcp-reset",
        );
        b.compare("client", "nmap -n -p 22 10.2.0.2", false);
        b.compare("server", "iptables -L INPUT -v -n -x", false);

        // A router's REJECT of TFTP on FORWARD: `filtered` for nmap -sU
        // (the port unreachable comes from the router), `closed` for a
        // port the server itself refuses.
        b.reset();
        b.both(
            "router",
            "iptables -I FORWARD -p udp --dport 69 -j REJECT --reject-with icmp-port-unreachable",
        );
        b.compare("client", "nmap -n -sU -p 69,70 10.2.0.2", false);
        // (nmap sends its TFTP payloads to 69, the lab's nmap empty
        // datagrams: count nc's probes instead.)
        b.both("router", "iptables -Z");
        b.compare("client", "nc -zvu 10.2.0.2 69", false);
        b.compare("router", "iptables -L FORWARD -v -n -x", false);

        // The stateful firewall on the server, policies DROP.
        b.reset();
        for c in [
            "iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT",
            "iptables -A OUTPUT -m state --state NEW,ESTABLISHED,RELATED -j ACCEPT",
            "iptables -A INPUT -m state --state INVALID -j DROP",
            "iptables -A OUTPUT -m state --state INVALID -j DROP",
            "iptables -P INPUT DROP",
            "iptables -P OUTPUT DROP",
        ] {
            b.both("server", c);
        }
        b.compare("server", "ping -c 2 -i 0.5 10.1.0.2", false);
        b.compare("server", "nc -zv -w 1 10.2.0.1 22", false);
        b.compare("client", "ping -c 1 -W 1 10.2.0.2", false);
        b.compare("client", "hping3 -c 1 -S -p 80 10.2.0.2", false);
        b.compare("client", "hping3 -c 1 -S -F -p 80 10.2.0.2", false);
        b.compare("client", "hping3 -c 1 -A -p 80 10.2.0.2", false);
        b.compare("server", "iptables -L -v -n -x", false);
        b.compare("server", "conntrack -L", true);

        // DNAT port forwarding on the router, 80 and 8080 to 80.
        b.reset();
        b.both(
            "router",
            "iptables -t nat -A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.2.0.2",
        );
        b.both("router", "iptables -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.2.0.2:80");
        b.compare("client", "nc -zv 10.1.0.1 80", false);
        b.compare("client", "nc -zv 10.1.0.1 8080", false);
        b.compare("router", "conntrack -L", true);
        b.compare("router", "iptables -t nat -L PREROUTING -v -n -x", false);
        b.finish();
    }

    /// "Chain Traversal in Depth": a LOG rule in every chain of every table
    /// of the router, one ping through it and one to it; the order of the
    /// LOG lines in `dmesg` is the order the kernel ran the chains
    /// (iptables-nft priorities: raw, mangle, nat on PREROUTING; nat INPUT
    /// after filter INPUT; nat sees only a connection's first packet).
    #[test]
    fn chain_traversal_order_agrees_with_the_kernel() {
        if let Some(why) = missing_tools() {
            println!("skipped: {why}");
            return;
        }
        let all_netns =
            std::fs::read_to_string("/proc/sys/net/netfilter/nf_log_all_netns").unwrap_or_default();
        if all_netns.trim() != "1" {
            println!("skipped: LOG in namespaces is off (net.netfilter.nf_log_all_netns)");
            return;
        }
        let tag = format!("st{}", std::process::id() % 10000);
        let mut b = match Both::new(&tag) {
            Ok(b) => b,
            Err(e) => {
                println!("skipped: {e}");
                return;
            }
        };
        b.reset();
        // The kernel tracks connections in a namespace only once a rule
        // needs it (conntrack, NAT targets...): without one, nat chains see
        // nothing at all. The lab always tracks; give the kernel a user.
        b.both("router", "iptables -N CT-USER");
        b.both(
            "router",
            "iptables -A CT-USER -m conntrack --ctstate INVALID -j DROP",
        );
        let chains: &[(&str, &[&str])] = &[
            ("raw", &["PREROUTING", "OUTPUT"]),
            (
                "mangle",
                &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
            ),
            ("nat", &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]),
            ("filter", &["INPUT", "FORWARD", "OUTPUT"]),
        ];
        for (table, names) in chains {
            for chain in *names {
                b.both(
                    "router",
                    &format!(
                        "iptables -t {table} -A {chain} -p icmp -j LOG --log-prefix '{tag} {table}-{chain} '"
                    ),
                );
            }
        }
        // The kernel's ring buffer is shared by every namespace: read only
        // our tag, after the pings.
        let order = |text: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.split(&format!("{tag} ")).nth(1))
                .filter_map(|r| r.split(' ').next())
                .map(String::from)
                .collect()
        };
        for (host, cmd, what) in [
            ("client", "ping -c 1 10.2.0.2", "through the router"),
            ("client", "ping -c 1 10.1.0.1", "to the router"),
            ("router", "ping -c 1 10.1.0.2", "from the router"),
        ] {
            let (_, kbefore, _) = real(&b.ns("router"), "dmesg");
            let seen_before = order(&kbefore).len();
            let (c1, _, _) = real(&b.ns(host), cmd);
            std::thread::sleep(std::time::Duration::from_millis(100));
            let (_, kafter, _) = real(&b.ns("router"), "dmesg");
            let kernel: Vec<String> = order(&kafter).split_off(seen_before);
            let (_, sbefore, _) = b.sim("router", "dmesg");
            let sim_before = order(&sbefore).len();
            let (c2, _, _) = b.sim(host, cmd);
            let (_, safter, _) = b.sim("router", "dmesg");
            let lab: Vec<String> = order(&safter).split_off(sim_before);
            b.compared += 1;
            assert_eq!((c1, c2), (0, 0), "{cmd}");
            if std::env::var("SEED_SHOW").is_ok() {
                println!("{what}: {}", kernel.join(" "));
            }
            if kernel != lab {
                b.failures.push(format!(
                    "{what}:\n  kernel: {}\n  lab:    {}",
                    kernel.join(" "),
                    lab.join(" ")
                ));
            }
        }
        b.finish();
    }

    /// The kernel starts tracking connections in a namespace only when a
    /// rule needs conntrack (state/conntrack matches, NAT chains,
    /// connlimit...); before that `conntrack -L` is empty. So does the lab.
    #[test]
    fn conntrack_before_any_rule_needs_it() {
        if let Some(why) = missing_tools() {
            println!("skipped: {why}");
            return;
        }
        let tag = format!("sc{}", std::process::id() % 10000);
        let mut b = match Both::new(&tag) {
            Ok(b) => b,
            Err(e) => {
                println!("skipped: {e}");
                return;
            }
        };
        b.compare("client", "ping -c 1 10.2.0.2", false);
        b.compare("server", "conntrack -L", true);
        b.finish();
    }

    /// nmap scans 22 and 123 from one source port while 123 is redirected
    /// to 22. The two connections then want the same reply tuple: the
    /// REDIRECT keeps the taken tuple (no other port in its range) and the
    /// nat INPUT null binding gives the second connection another source
    /// port, so both ports are open.
    #[test]
    fn redirect_onto_a_scanned_port() {
        if let Some(why) = missing_tools() {
            println!("skipped: {why}");
            return;
        }
        let tag = format!("sr{}", std::process::id() % 10000);
        let mut b = match Both::new(&tag) {
            Ok(b) => b,
            Err(e) => {
                println!("skipped: {e}");
                return;
            }
        };
        let router = b.ns("router");
        let _l22 = listen(&router, 22);
        let r = b.world.host_index("router").unwrap();
        b.world.hosts[r]
            .listeners
            .push(engine::sim::host::Listener {
                proto: 6,
                port: 22,
                addr: None,
                service: "ssh".into(),
            });
        std::thread::sleep(std::time::Duration::from_millis(300));
        b.reset();
        b.both(
            "router",
            "iptables -t nat -A PREROUTING -p tcp --dport 123 -j REDIRECT --to-ports 22",
        );
        b.compare("client", "nmap -n -p 22,123 10.1.0.1", false);
        b.finish();
    }
}
