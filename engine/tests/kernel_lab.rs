//! `iptplay kernel lab up/down` and `import --lab` against the real kernel:
//! a lab of four hosts (a router with rules and forwarding, a two-host
//! link and a three-host switch) built as namespaces; pings and TCP
//! connects between the hosts go where the engine's simulator of the same
//! lab says they go; the router reads back as its description. Root only.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
mod kernel_common;

#[cfg(target_os = "linux")]
mod cases {
    use super::kernel_common::{run_iptplay, skip, text_of};
    use engine::kernel::lab::{to_world, LabSpec};
    use engine::packet::{build_icmp, build_tcp, tcp_flags, IpFields, TcpFields};
    use engine::sim::host::Listener;
    use std::net::Ipv4Addr;
    use std::process::Command;

    fn spec(name: &str) -> String {
        format!(
            r#"{{
  "name": "{name}",
  "hosts": [
    {{ "name": "client", "interfaces": [ {{ "name": "eth0", "addresses": ["10.0.1.2/24"], "link": "lan1" }} ],
      "routes": [ {{ "to": "default", "via": "10.0.1.1" }} ] }},
    {{ "name": "router", "interfaces": [
        {{ "name": "eth0", "addresses": ["10.0.1.1/24"], "link": "lan1", "mac": "02:00:00:00:01:01" }},
        {{ "name": "eth1", "addresses": ["10.0.2.1/24", "10.0.3.1/24"], "link": "lan2", "mtu": 1400 }} ],
      "sysctls": {{ "net.ipv4.ip_forward": "1" }},
      "ipsets": "create allowed hash:ip,port\nadd allowed 10.0.2.2,tcp:8080\n",
      "rules": "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n-A FORWARD -i eth0 -o eth1 -p icmp -j ACCEPT\n-A FORWARD -i eth0 -p tcp --dport 80 -j ACCEPT\n-A FORWARD -m set --match-set allowed dst,dst -j ACCEPT\nCOMMIT\n" }},
    {{ "name": "server", "interfaces": [ {{ "name": "eth0", "addresses": ["10.0.2.2/24"], "link": "lan2" }} ],
      "routes": [ {{ "to": "10.0.1.0/24", "via": "10.0.2.1" }} ] }},
    {{ "name": "s2", "interfaces": [ {{ "name": "eth0", "addresses": ["10.0.2.3/24"], "link": "lan2" }} ],
      "rules": "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.0.2.2 -p icmp -j DROP\nCOMMIT\n" }}
  ]
}}"#
        )
    }

    fn addr(host: &str) -> Ipv4Addr {
        match host {
            "client" => Ipv4Addr::new(10, 0, 1, 2),
            "router" => Ipv4Addr::new(10, 0, 1, 1),
            "server" => Ipv4Addr::new(10, 0, 2, 2),
            _ => Ipv4Addr::new(10, 0, 2, 3),
        }
    }

    /// Whether a ping from `a` to `b` is answered in the simulator.
    fn sim_ping(spec: &LabSpec, a: &str, b: &str) -> bool {
        let mut w = to_world(spec).expect("world");
        let ai = w.host_index(a).expect("host");
        let src = engine::sim::route::source_for(&w.hosts[ai].ifaces, &w.hosts[ai].routes, addr(b))
            .unwrap_or(addr(a));
        let echo = build_icmp(&IpFields::new(src, addr(b)), 8, 0, [0, 1, 0, 1], b"ping");
        w.send(ai, echo);
        w.delivered.iter().any(|d| {
            d.host == ai
                && d.pkt
                    .headers()
                    .ok()
                    .and_then(|h| h.icmp().map(|i| i.icmp_type == 0))
                    .unwrap_or(false)
        })
    }

    /// Whether a TCP connect from `a` to `b:port` (listening) gets its SYN-ACK.
    fn sim_connect(spec: &LabSpec, a: &str, b: &str, port: u16) -> bool {
        let mut w = to_world(spec).expect("world");
        let ai = w.host_index(a).expect("host");
        let bi = w.host_index(b).expect("host");
        w.hosts[bi].listeners.push(Listener {
            proto: 6,
            port,
            addr: None,
            service: "test".into(),
        });
        let src = engine::sim::route::source_for(&w.hosts[ai].ifaces, &w.hosts[ai].routes, addr(b))
            .unwrap_or(addr(a));
        let syn = build_tcp(
            &IpFields::new(src, addr(b)),
            &TcpFields {
                sport: 40000,
                dport: port,
                seq: 1,
                ack: 0,
                flags: tcp_flags::SYN,
                window: 64240,
                options: Vec::new(),
            },
            b"",
        );
        w.send(ai, syn);
        w.delivered.iter().any(|d| {
            d.host == ai
                && d.pkt
                    .headers()
                    .ok()
                    .and_then(|h| {
                        h.tcp()
                            .map(|t| t.flags & tcp_flags::SYN != 0 && t.flags & tcp_flags::ACK != 0)
                    })
                    .unwrap_or(false)
        })
    }

    fn real(ns: &str, cmd: &str) -> bool {
        Command::new("ip")
            .args(["netns", "exec", ns, "sh", "-c", cmd])
            .stdin(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    #[test]
    fn lab_up_behaves_like_the_simulator_and_reads_back() {
        if skip(&["ping", "nc", "timeout"]) {
            return;
        }
        let name = format!("kl{}", std::process::id() % 100000);
        let text = spec(&name);
        let parsed = LabSpec::from_json(&text).expect("spec");
        let path = std::env::temp_dir().join(format!("{name}.json"));
        std::fs::write(&path, &text).expect("write");
        let up = run_iptplay(&["kernel", "lab", "up", &path.to_string_lossy()], "");
        assert!(up.status.success(), "{}", text_of(&up));
        let ns = |h: &str| format!("{name}-{h}");
        let mut mismatches = Vec::new();
        let hosts = ["client", "router", "server", "s2"];
        for a in hosts {
            for b in hosts {
                if a == b {
                    continue;
                }
                let r = real(&ns(a), &format!("ping -c1 -W1 {} >/dev/null 2>&1", addr(b)));
                let s = sim_ping(&parsed, a, b);
                if r != s {
                    mismatches.push(format!("ping {a} -> {b}: kernel {r}, simulator {s}"));
                }
            }
        }
        // TCP: 80 and 8080 (through the set) forwarded, 81 not.
        let mut listeners = Vec::new();
        for port in [80, 81, 8080] {
            listeners.push(
                Command::new("ip")
                    .args([
                        "netns",
                        "exec",
                        &ns("server"),
                        "timeout",
                        "20",
                        "nc",
                        "-l",
                        "-k",
                        "-p",
                        &port.to_string(),
                    ])
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("nc"),
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        for port in [80, 81, 8080] {
            let r = real(
                &ns("client"),
                &format!(
                    "timeout 2 nc -z -w1 {} {port} >/dev/null 2>&1",
                    addr("server")
                ),
            );
            let s = sim_connect(&parsed, "client", "server", port);
            if r != s {
                mismatches.push(format!(
                    "tcp client -> server:{port}: kernel {r}, simulator {s}"
                ));
            }
            assert_eq!(r, port != 81, "tcp {port}");
        }
        for mut l in listeners {
            let _ = l.kill();
            let _ = l.wait();
        }
        // The router reads back as its description.
        let imp = run_iptplay(
            &[
                "kernel",
                "import",
                "--lab",
                "router",
                "--netns",
                &ns("router"),
            ],
            "",
        );
        assert!(imp.status.success(), "{}", text_of(&imp));
        let back = LabSpec::from_json(&String::from_utf8_lossy(&imp.stdout)).expect("json");
        let h = &back.hosts[0];
        let want = &parsed.hosts[1];
        let ifs: Vec<(String, Vec<String>)> = h
            .interfaces
            .iter()
            .map(|i| (i.name.clone(), i.addresses.clone()))
            .collect();
        let want_ifs: Vec<(String, Vec<String>)> = want
            .interfaces
            .iter()
            .map(|i| (i.name.clone(), i.addresses.clone()))
            .collect();
        assert_eq!(ifs, want_ifs);
        assert_eq!(h.interfaces[0].mac.as_deref(), Some("02:00:00:00:01:01"));
        assert_eq!(h.interfaces[1].mtu, Some(1400));
        assert_eq!(h.sysctls, want.sysctls);
        let rules = h.rules.as_deref().unwrap_or("");
        assert!(
            rules.contains("-A FORWARD -m set --match-set allowed dst,dst -j ACCEPT\n"),
            "{rules}"
        );
        assert!(h
            .ipsets
            .as_deref()
            .unwrap_or("")
            .contains("add allowed 10.0.2.2,tcp:8080\n"));
        let client = run_iptplay(
            &["kernel", "import", "--lab", "c", "--netns", &ns("client")],
            "",
        );
        let c = LabSpec::from_json(&String::from_utf8_lossy(&client.stdout)).expect("json");
        assert_eq!(c.hosts[0].routes.len(), 1);
        assert_eq!(c.hosts[0].routes[0].to, "default");
        assert_eq!(c.hosts[0].routes[0].via, Some(Ipv4Addr::new(10, 0, 1, 1)));
        // A second lab of the same name is refused; down removes it all.
        let again = run_iptplay(&["kernel", "lab", "up", &path.to_string_lossy()], "");
        assert_eq!(again.status.code(), Some(3), "{}", text_of(&again));
        let down = run_iptplay(&["kernel", "lab", "down", &name], "");
        assert!(down.status.success(), "{}", text_of(&down));
        for h in hosts {
            assert!(!std::path::Path::new(&format!("/run/netns/{}", ns(h))).exists());
        }
        let _ = std::fs::remove_file(path);
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }

    #[test]
    fn a_bad_lab_builds_nothing() {
        if skip(&[]) {
            return;
        }
        let name = format!("kb{}", std::process::id() % 100000);
        let text = spec(&name).replace("-j NOSUCH", "").replace(
            "-A FORWARD -i eth0 -p tcp --dport 80 -j ACCEPT",
            "-A FORWARD -j NOSUCHCHAIN",
        );
        let path = std::env::temp_dir().join(format!("{name}.json"));
        std::fs::write(&path, &text).expect("write");
        let up = run_iptplay(&["kernel", "lab", "up", &path.to_string_lossy()], "");
        assert_eq!(up.status.code(), Some(3), "{}", text_of(&up));
        assert!(String::from_utf8_lossy(&up.stderr).contains("router: the rules are refused"));
        assert!(!std::path::Path::new(&format!("/run/netns/{name}-client")).exists());
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(target_os = "linux")]
mod lab_files {
    use super::kernel_common::{run_iptplay, skip, text_of};
    use std::process::Command;

    fn ping(ns: &str, to: &str) -> bool {
        Command::new("ip")
            .args(["netns", "exec", ns, "ping", "-c1", "-W1", to])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// `iptplay lab up LAB.json` builds a lab file as the simulator loads
    /// it; its pings go as the lab says (forwarding off on the router).
    #[test]
    fn lab_files_come_up_and_go_down() {
        if skip(&["ping"]) {
            return;
        }
        let src =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../static/labs/router.json");
        let text = std::fs::read_to_string(&src).expect("lab");
        let name = format!("lf{}", std::process::id() % 100000);
        let path = std::env::temp_dir().join(format!("{name}.json"));
        std::fs::write(&path, &text).expect("write");
        let up = run_iptplay(&["lab", "up", &path.to_string_lossy()], "");
        assert!(up.status.success(), "{}", text_of(&up));
        assert!(ping(&format!("{name}-client"), "192.168.1.1"));
        assert!(!ping(&format!("{name}-client"), "10.10.0.80"));
        let fwd = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default();
        // The host's own setting is untouched.
        assert_eq!(
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default(),
            fwd
        );
        let down = run_iptplay(&["lab", "down", &name], "");
        assert!(down.status.success(), "{}", text_of(&down));
        assert!(!std::path::Path::new(&format!("/run/netns/{name}-client")).exists());
        let _ = std::fs::remove_file(path);
    }
}
