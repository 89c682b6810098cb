//! Differential test: the same two-host LAN as two network namespaces
//! joined by a veth pair and as a lab; the real tools and the lab's tools
//! run the same commands and print the same text, once the parts that
//! differ by nature are masked (times, round trips, random ids, ports and
//! sequence numbers, MACs, the veth's interface index and queueing
//! discipline, TCP windows that depend on the machine's memory).
//!
//! Runs as root with iproute2, iputils ping, netcat-openbsd, nmap, hping3,
//! tcpdump, iptables-nft and conntrack installed; says why when it skips.

mod labkit;

use std::process::{Child, Command, Stdio};

struct Netns {
    a: String,
    b: String,
    children: Vec<Child>,
}

impl Drop for Netns {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
            let _ = std::fs::remove_dir_all(format!("/etc/netns/{n}"));
        }
    }
}

fn sh(cmd: &str) -> (i32, String, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("sh runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn missing_tools() -> Option<String> {
    #[cfg(unix)]
    {
        let (_, uid, _) = sh("id -u");
        if uid.trim() != "0" {
            return Some("not root".into());
        }
    }
    for t in [
        "ip",
        "ping",
        "nc",
        "nmap",
        "hping3",
        "tcpdump",
        "ss",
        "iptables-nft",
        "conntrack",
        "getent",
        "timeout",
    ] {
        if sh(&format!("command -v {t}")).0 != 0 {
            return Some(format!("{t} not installed"));
        }
    }
    None
}

fn setup() -> Result<Netns, String> {
    let id = std::process::id();
    let ns = Netns {
        a: format!("ipt-tools-{id}-a"),
        b: format!("ipt-tools-{id}-b"),
        children: Vec::new(),
    };
    let (va, vb) = (format!("itv{id}a"), format!("itv{id}b"));
    let script = format!(
        "set -e
ip netns add {a}; ip netns add {b}
ip link add {va} type veth peer name {vb}
ip link set {va} netns {a}; ip link set {vb} netns {b}
ip -n {a} link set {va} name eth0; ip -n {b} link set {vb} name eth0
ip -n {a} addr add 10.0.0.1/24 dev eth0; ip -n {b} addr add 10.0.0.2/24 dev eth0
for n in {a} {b}; do ip -n $n link set lo up; ip -n $n link set eth0 up; done
mkdir -p /etc/netns/{a} /etc/netns/{b}
printf '127.0.0.1 localhost\\n10.0.0.1 client\\n10.0.0.2 server\\n' > /etc/netns/{a}/hosts
cp /etc/netns/{a}/hosts /etc/netns/{b}/hosts
ip netns exec {b} iptables-nft -A INPUT -m conntrack --ctstate INVALID -j DROP
",
        a = ns.a,
        b = ns.b
    );
    let (code, _, err) = sh(&script);
    if code != 0 {
        return Err(format!("namespaces: {err}"));
    }
    Ok(ns)
}

const LAB: &str = r#"{
  "version": 1,
  "links": [ { "name": "lan" } ],
  "hosts": [
    { "name": "client", "interfaces": [ { "name": "eth0", "address": "10.0.0.1/24", "link": "lan" } ] },
    { "name": "server", "interfaces": [ { "name": "eth0", "address": "10.0.0.2/24", "link": "lan" } ],
      "startup": [ "iptables -A INPUT -m conntrack --ctstate INVALID -j DROP" ] }
  ]
}"#;

/// Masks what differs by nature between two machines.
fn mask(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut words: Vec<String> = Vec::new();
        let ws: Vec<&str> = line.split(' ').collect();
        for (k, w) in ws.iter().enumerate() {
            let prev = if k > 0 { ws[k - 1] } else { "" };
            let digits: String = w.chars().take_while(|c| c.is_ascii_digit()).collect();
            let rest = &w[digits.len()..];
            let masked = if w.starts_with("time=") {
                "time=#".to_string()
            } else if w.starts_with("rtt=") {
                "rtt=#".to_string()
            } else if w.starts_with("id=")
                || w.starts_with("port=")
                || w.starts_with("sport=") && prev != "ttl=64"
            {
                format!("{}=#", &w[..w.find('=').unwrap_or(0)])
            } else if w
                .strip_prefix("dport=")
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|p| p >= 1024)
            {
                "dport=#".into()
            } else if !digits.is_empty()
                && (matches!(prev, "seq" | "ack" | "val" | "ecr" | "id" | "win" | "in")
                    || prev.ends_with("wscale"))
            {
                format!("#{rest}")
            } else if prev == "time" && w.ends_with("ms") {
                "#ms".into()
            } else if line.starts_with("rtt ") || line.starts_with("round-trip") {
                "#".into()
            } else if w.len() == 17 && w.matches(':').count() == 5 {
                "MAC".into()
            } else if w.starts_with("eth0@if") {
                format!("eth0{}", if w.ends_with(':') { ":" } else { "" })
            } else if let Some((addr, port)) = w.trim_end_matches([',', ':']).rsplit_once('.') {
                match port.parse::<u32>() {
                    Ok(p) if p >= 1024 && addr.matches('.').count() == 3 => {
                        format!("{addr}.#{}", &w[w.trim_end_matches([',', ':']).len()..])
                    }
                    _ => w.to_string(),
                }
            } else {
                w.to_string()
            };
            words.push(masked);
        }
        let mut l = words.join(" ");
        // Timestamps at the start of tcpdump lines, and the nmap clock.
        if l.len() > 16 && l.as_bytes()[2] == b':' && l.as_bytes()[8] == b'.' {
            l = format!("T{}", &l[15..]);
        }
        if l.starts_with("Host is up (") {
            l = "Host is up (#s latency).".into();
        }
        if l.starts_with("Starting Nmap") {
            l = "Starting Nmap".into();
        }
        if l.starts_with("Nmap done") {
            l = l.split(" scanned in").next().unwrap_or("").to_string();
        }
        // veth vs. plain interfaces.
        l = l
            .replace(" qdisc noqueue state UP", " qdisc fq_codel state UP")
            .replace(" qdisc noqueue state DOWN", " qdisc fq_codel state DOWN");
        if let Some(i) = l.find(" link-netns ") {
            l.truncate(i);
        }
        if let Some((n, rest)) = l.split_once(": eth0") {
            if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() {
                l = format!("N: eth0{rest}");
            }
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

fn conntrack_set(text: &str) -> String {
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| {
            let mut w: Vec<&str> = l.split_whitespace().collect();
            if w.len() > 2 {
                w[2] = "#";
            }
            w.join(" ")
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

#[test]
fn real_tools_and_lab_tools_agree() {
    if let Some(why) = missing_tools() {
        eprintln!("skipped: {why}");
        return;
    }
    let mut ns = match setup() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };
    let mut world = labkit::lab(LAB);
    // The same listener on both sides.
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.b, "nc", "-lk", "22"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nc -lk runs");
    ns.children.push(child);
    labkit::sh(&mut world, "server", "nc -lk 22");
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.b, "nc", "-luk", "5353"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nc -luk runs");
    ns.children.push(child);
    labkit::sh(&mut world, "server", "nc -luk 5353");
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Warm the real neighbour caches so no ARP shows up later.
    sh(&format!("ip netns exec {} ping -c 1 -W 1 10.0.0.2", ns.a));
    sh(&format!("ip netns exec {} conntrack -F", ns.b));
    // tcpdump itself (ip netns exec runs it in place), writing to a file,
    // so killing it by its pid ends the capture.
    let dump_path = std::env::temp_dir().join(format!("{}-dump.txt", ns.b));
    let dump_file = std::fs::File::create(&dump_path).expect("dump file");
    let capture = Command::new("ip")
        .args([
            "netns", "exec", &ns.b, "tcpdump", "-n", "-l", "-i", "eth0", "ip",
        ])
        .stdout(dump_file)
        .stderr(Stdio::null())
        .spawn()
        .expect("tcpdump runs");
    let capture_pid = capture.id();
    ns.children.push(capture);
    std::thread::sleep(std::time::Duration::from_millis(1000));

    // Commands whose packets the server's tcpdump sees, then the rest.
    let captured: &[(&str, &str)] = &[
        ("client", "ping -c 2 server"),
        ("client", "nc -zv server 22"),
        ("client", "nc -zv 10.0.0.2 23"),
        // hping3 draws its source port at random unless given one, and
        // tcpdump names some (a UDP packet from 1812 prints as radius).
        ("client", "hping3 -c 1 -S -s 40000 -p 22 10.0.0.2"),
        ("client", "nmap -n -p 22,23 10.0.0.2"),
        ("client", "nc -zvu 10.0.0.2 5353"),
        ("client", "hping3 -c 1 --udp -s 40010 -p 5000 10.0.0.2"),
        ("client", "hping3 -c 1 -A -s 40020 -p 22 10.0.0.2"),
    ];
    let rest: &[(&str, &str)] = &[
        ("server", "conntrack -L"),
        ("client", "ping -c 1 -W 1 10.0.0.7"),
        ("client", "ip route"),
        ("client", "ip route get 10.0.0.2"),
        ("client", "ip -4 addr show eth0"),
        ("server", "ss -ltn"),
        ("server", "sysctl net.ipv4.ip_forward"),
        ("client", "getent hosts server"),
        ("client", "nmap -n -sU -p 5353,5354 10.0.0.2"),
        ("client", "hping3 -c 1 -1 10.0.0.2"),
        ("client", "ip route get 10.0.0.1"),
        ("client", "ip link show eth0"),
        ("server", "ss -lun"),
        ("server", "netstat -ltn"),
        ("client", "ping -c 1 -n server"),
    ];
    let mut failures = Vec::new();
    let run = |world: &mut engine::sim::world::World, host: &str, cmd: &str| -> Option<String> {
        let nsname = if host == "client" { &ns.a } else { &ns.b };
        let (code, out, err) = sh(&format!("ip netns exec {nsname} {cmd}"));
        let sim = labkit::sh(world, host, cmd);
        let mut real = (code, mask(&out), mask(&err));
        let mut ours = (sim.exit, mask(&sim.stdout), mask(&sim.stderr));
        if cmd.starts_with("conntrack") {
            // Kernel hash order and timeouts a second apart: compare entries
            // as a set, without the seconds left.
            real.1 = conntrack_set(&real.1);
            ours.1 = conntrack_set(&ours.1);
        }
        (real != ours).then(|| {
            format!(
                "{host}$ {cmd}\n--- real ({}):\n{}{}--- lab ({}):\n{}{}",
                real.0, real.1, real.2, ours.0, ours.1, ours.2
            )
        })
    };
    for (host, cmd) in captured {
        failures.extend(run(&mut world, host, cmd));
    }
    // What the server's interface saw (tcpdump -l wrote each line at once).
    std::thread::sleep(std::time::Duration::from_millis(300));
    for c in ns.children.iter_mut().filter(|c| c.id() == capture_pid) {
        let _ = c.kill();
        let _ = c.wait();
    }
    let real_dump = std::fs::read_to_string(&dump_path).unwrap_or_default();
    let _ = std::fs::remove_file(&dump_path);
    let real_lines: Vec<String> = mask(&real_dump)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let sim_dump = labkit::sh(&mut world, "server", "tcpdump -n -i eth0 ip");
    let sim_lines: Vec<String> = mask(&sim_dump.stdout).lines().map(String::from).collect();
    // nmap probes ports in random order: compare its six lines as a set.
    let nmap_at = 15;
    let set = |v: &[String]| {
        let mut x = v.to_vec();
        x.sort();
        x
    };
    let same = real_lines.len() == sim_lines.len()
        && real_lines.len() > nmap_at + 6
        && real_lines[..nmap_at] == sim_lines[..nmap_at]
        && set(&real_lines[nmap_at..nmap_at + 6]) == set(&sim_lines[nmap_at..nmap_at + 6])
        && real_lines[nmap_at + 6..] == sim_lines[nmap_at + 6..];
    if !same {
        failures.push(format!(
            "tcpdump\n--- real:\n{}\n--- lab:\n{}",
            real_lines.join("\n"),
            sim_lines.join("\n")
        ));
    }
    for (host, cmd) in rest {
        failures.extend(run(&mut world, host, cmd));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}
