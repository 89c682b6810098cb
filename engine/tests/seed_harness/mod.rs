//! The harness of the seed scenarios against the kernel: the oracle's
//! client–router–server namespaces beside the same topology as a lab, the
//! same command run on both sides (the real tools in the namespaces, the
//! lab's on the simulated hosts) and what they print compared once what
//! differs by nature is masked (times, ephemeral ports, ids, sequence
//! numbers, timeouts). Shared by seed_kernel.rs and seed_kernel_more.rs.
#![allow(dead_code)]

use crate::common;
use crate::oracle::mirror::{listen, Background};
use crate::oracle::Topology;
use engine::command::shell::world::run_on_host;
use engine::command::shell::{Mode, Script};
use engine::command::Output;
use engine::sim::tools;
use engine::sim::world::World;
use std::process::{Command, Stdio};

/// The oracle's topology as a lab; `{CLOCK}` is the lab clock's start and
/// `{NAMES}` the name table.
const LAB: &str = r#"{
  "version": 1,
  "clock": { "start": "{CLOCK}" },
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
      "routes": [ { "to": "default", "via": "10.2.0.1" } ] }
  ],
  "names": {NAMES},
  "auto_names": false
}"#;

/// What is missing to run against the kernel, if anything.
pub fn missing_tools() -> Option<String> {
    if let Err(why) = common::can_use_kernel() {
        return Some(why);
    }
    for t in [
        "nmap",
        "nc",
        "hping3",
        "ping",
        "conntrack",
        "dmesg",
        "tcpdump",
    ] {
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

/// LOG lines of other namespaces share the kernel's ring buffer: the
/// kernel side reads them only when `nf_log_all_netns` lets LOG write
/// from a namespace at all.
pub fn log_in_namespaces() -> bool {
    std::fs::read_to_string("/proc/sys/net/netfilter/nf_log_all_netns")
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
}

/// Runs `cmd` with `sh -c` in namespace `ns`.
pub fn real(ns: &str, cmd: &str) -> (i32, String, String) {
    let started = std::time::Instant::now();
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "sh", "-c", cmd])
        .stdin(Stdio::null())
        .output()
        .expect("ip netns exec runs");
    if std::env::var("SEED_SLOW").is_ok() && started.elapsed().as_millis() > 900 {
        println!("{:>6} ms  {ns}$ {cmd}", started.elapsed().as_millis());
    }
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Port numbers the scenarios chose; every other is ephemeral.
const KNOWN_PORTS: &[&str] = &[
    "22", "23", "25", "53", "69", "80", "81", "123", "443", "5000", "8080", "30000",
];

/// Masks times, latencies, ephemeral ports, ids, sequence numbers,
/// conntrack timeouts, kernel timestamps and set sizes.
pub fn mask(text: &str) -> String {
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
        if line.starts_with("Size in memory: ") {
            out.push("Size in memory: #".into());
            continue;
        }
        // xt_recent's list: the times are jiffies.
        if line.starts_with("src=") && line.contains(" last_seen: ") {
            let head = line.split(" last_seen: ").next().unwrap_or("");
            let pkts = line
                .split(" oldest_pkt: ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .unwrap_or("");
            out.push(format!("{head} last_seen: # oldest_pkt: {pkts}"));
            continue;
        }
        // dmesg: `[ 3600.000000] ` before the text.
        let line = match line.strip_prefix('[') {
            Some(rest) if rest.contains("] ") => rest.split_once("] ").map(|x| x.1).unwrap_or(""),
            _ => line,
        };
        // Words, not spaces: conntrack pads the protocol name.
        let words: Vec<String> = line
            .split_whitespace()
            .enumerate()
            .map(|(k, w)| {
                if let Some((key, val)) = w.split_once('=') {
                    let masked = match key {
                        "sport" | "dport" | "SPT" | "DPT" => !KNOWN_PORTS.contains(&val),
                        "id" | "seq" | "rtt" | "time" | "ID" | "SEQ" | "ACK" => true,
                        _ => false,
                    };
                    if masked {
                        return format!("{key}=#");
                    }
                }
                if w.starts_with("0x") && k > 0 && line.contains("initval") {
                    return "0x#".into();
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

/// tcpdump lines without what is random: ephemeral ports
/// (`10.1.0.2.40312`), sequence and acknowledgement numbers, TCP
/// timestamps, ICMP echo ids.
pub fn mask_dump(text: &str) -> String {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut words: Vec<String> = Vec::new();
        let mut hide_next = false;
        for w in line.split_whitespace() {
            if hide_next {
                hide_next = false;
                let tail: String = w
                    .chars()
                    .filter(|c| !c.is_ascii_digit() && *c != ':')
                    .collect();
                words.push(format!("#{tail}"));
                continue;
            }
            if matches!(w, "seq" | "ack" | "val" | "ecr" | "id" | "recv" | "xmit") {
                hide_next = true;
                words.push(w.to_string());
                continue;
            }
            // a.b.c.d.port[:,]
            let core = w.trim_end_matches([':', ',']);
            let parts: Vec<&str> = core.split('.').collect();
            if parts.len() == 5
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
                && !KNOWN_PORTS.contains(&parts[4])
            {
                words.push(format!("{}.#{}", parts[..4].join("."), &w[core.len()..]));
                continue;
            }
            words.push(w.to_string());
        }
        out.push(words.join(" "));
    }
    out.join("\n")
}

pub fn sorted_lines(text: &str) -> String {
    let mut v: Vec<&str> = text.lines().collect();
    v.sort();
    v.join("\n")
}

/// The namespaces and the lab, side by side.
pub struct Both {
    /// Listening processes (before `topo`: they go first).
    servers: Vec<Background>,
    pub topo: Topology,
    pub world: World,
    pub failures: Vec<String>,
    pub compared: usize,
    /// Files written under /etc/netns for the namespaces' name tables.
    etc: Vec<String>,
}

impl Both {
    pub fn new(tag: &str) -> Result<Both, String> {
        Both::with_names(tag, &[])
    }

    /// The namespaces and the lab, both with `names` (address, name) in
    /// their name table (/etc/netns/NS/hosts for the kernel side) and the
    /// lab clock at the real time (for time rules).
    pub fn with_names(tag: &str, names: &[(&str, &str)]) -> Result<Both, String> {
        let now = Command::new("date")
            .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
            .output()
            .map_err(|e| e.to_string())?;
        let now = String::from_utf8_lossy(&now.stdout).trim().to_string();
        let table: Vec<String> = names
            .iter()
            .map(|(a, n)| format!(r#"{{ "address": "{a}", "names": ["{n}"] }}"#))
            .collect();
        let json = LAB
            .replace("{CLOCK}", &now)
            .replace("{NAMES}", &format!("[{}]", table.join(",")));
        let topo = Topology::new(tag)?;
        // A new namespace sizes tcp_rmem from the machine's memory; the
        // window scale of every connection follows it. The lab's is
        // Debian's default on a few gigabytes (scale 7).
        // Kernels from 6.5 retransmit a SYN every second four times
        // (tcp_syn_linear_timeouts); the lab's, like Debian 12's 6.1,
        // doubles the wait each time (SYNs at 0, 1, 3 s): where the
        // setting exists, it is off.
        for part in ["c", "r", "s"] {
            let ns = format!("{tag}-{part}");
            let (code, _, err) = real(&ns, "sysctl -qw net.ipv4.tcp_rmem='4096 131072 6291456'");
            if code != 0 {
                return Err(format!("tcp_rmem: {err}"));
            }
            real(
                &ns,
                "[ ! -e /proc/sys/net/ipv4/tcp_syn_linear_timeouts ] || sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0",
            );
        }
        let mut etc = Vec::new();
        if !names.is_empty() {
            let mut hosts = String::from("127.0.0.1 localhost\n");
            for (a, n) in names {
                hosts.push_str(&format!("{a} {n}\n"));
            }
            for part in ["c", "r", "s"] {
                let dir = format!("/etc/netns/{tag}-{part}");
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                std::fs::write(format!("{dir}/hosts"), &hosts).map_err(|e| e.to_string())?;
                etc.push(dir);
            }
        }
        let (mut world, _, runs) = engine::lab::load(&json).map_err(|e| e.0)?;
        assert!(runs.is_empty());
        world.tracing = false;
        Ok(Both {
            servers: Vec::new(),
            topo,
            world,
            failures: Vec::new(),
            compared: 0,
            etc,
        })
    }

    pub fn ns(&self, host: &str) -> String {
        match host {
            "client" => format!("{}-c", self.topo.tag),
            "router" => self.topo.router(),
            _ => self.topo.server(),
        }
    }

    /// A listening socket on both sides (`proto` 6 or 17), on every address.
    pub fn listen(&mut self, host: &str, proto: u8, port: u16) {
        let ns = self.ns(host);
        if proto == 6 {
            self.servers.push(listen(&ns, port));
        } else {
            self.servers.push(listen_udp(&ns, port));
        }
        let h = self.world.host_index(host).expect("host");
        self.world.hosts[h]
            .listeners
            .push(engine::sim::host::Listener {
                proto,
                port,
                addr: None,
                service: String::new(),
            });
    }

    /// Lets the listeners start and warms the neighbour caches the oracle
    /// does not make permanent.
    pub fn settle(&self) {
        std::thread::sleep(std::time::Duration::from_millis(300));
        real(&self.ns("router"), "ping -c 1 -W 1 10.1.0.2 >/dev/null");
    }

    /// Runs a command line on the lab host like `iptplay lab` does.
    pub fn sim(&mut self, host: &str, cmd: &str) -> (i32, String, String) {
        let h = self.world.host_index(host).expect("host");
        let script = Script::parse(cmd).unwrap_or_else(|e| panic!("{cmd}: {}", e.msg));
        let mut out = Output::default();
        for item in &script.items {
            let r = run_on_host(&mut self.world, h, item, None, Mode::Script);
            let o = r.output();
            out.stdout.push_str(&o.stdout);
            out.stderr.push_str(&o.stderr);
            out.exit = o.exit;
            tools::take_journal(&mut self.world);
            if r.stop {
                break;
            }
        }
        (out.exit, out.stdout, out.stderr)
    }

    /// Runs a command on both sides without comparing (set-up): both must
    /// succeed.
    pub fn both(&mut self, host: &str, cmd: &str) {
        let ns = self.ns(host);
        let r = real(&ns, cmd);
        let s = self.sim(host, cmd);
        assert_eq!(r.0, 0, "real `{cmd}`: {}", r.2);
        assert_eq!(s.0, 0, "lab `{cmd}`: {}", s.2);
    }

    /// Runs each line of `lines` on both sides (set-up).
    pub fn ok(&mut self, host: &str, lines: &str) {
        for l in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
            self.both(host, l);
        }
    }

    /// Runs a command on both sides whatever its outcome (traffic whose
    /// output is not the point: spoofed sources get no answer).
    pub fn send(&mut self, host: &str, cmd: &str) {
        let ns = self.ns(host);
        real(&ns, cmd);
        self.sim(host, cmd);
    }

    /// Runs a command on both sides and compares exit, stdout and stderr
    /// (masked).
    pub fn cmp(&mut self, host: &str, cmd: &str) {
        self.compare(host, cmd, false);
    }

    /// Like [`Both::cmp`], line order aside.
    pub fn cmp_sorted(&mut self, host: &str, cmd: &str) {
        self.compare(host, cmd, true);
    }

    /// Compares the exit statuses only (error texts of different shells).
    pub fn cmp_exit(&mut self, host: &str, cmd: &str) {
        let ns = self.ns(host);
        let r = real(&ns, cmd);
        let s = self.sim(host, cmd);
        self.compared += 1;
        if r.0 != s.0 {
            self.failures.push(format!(
                "{host}$ {cmd}\n--- kernel: exit {} {}--- lab: exit {} {}",
                r.0, r.2, s.0, s.2
            ));
        }
    }

    pub fn compare(&mut self, host: &str, cmd: &str, sort: bool) {
        let ns = self.ns(host);
        let r = real(&ns, cmd);
        let s = self.sim(host, cmd);
        self.check(host, cmd, r, s, sort);
    }

    fn check(
        &mut self,
        host: &str,
        cmd: &str,
        r: (i32, String, String),
        s: (i32, String, String),
        sort: bool,
    ) {
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

    /// The kernel log lines carrying `tag` written while `host` ran `cmd`,
    /// compared with the lab's (`dmesg` on `logger`, the host whose rules log).
    pub fn cmp_log(&mut self, logger: &str, host: &str, cmd: &str, tag: &str) {
        let pick = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.contains(tag))
                .map(String::from)
                .collect()
        };
        let kbefore = pick(&real(&self.ns(logger), "dmesg").1).len();
        let r = real(&self.ns(host), cmd);
        std::thread::sleep(std::time::Duration::from_millis(100));
        let kernel = pick(&real(&self.ns(logger), "dmesg").1).split_off(kbefore);
        let sbefore = pick(&self.sim(logger, "dmesg").1).len();
        let s = self.sim(host, cmd);
        let lab = pick(&self.sim(logger, "dmesg").1).split_off(sbefore);
        self.check(host, cmd, r, s, false);
        let (k, l) = (mask(&kernel.join("\n")), mask(&lab.join("\n")));
        self.compared += 1;
        if k != l {
            self.failures.push(format!(
                "{logger}$ dmesg after {host}$ {cmd}\n--- kernel:\n{k}\n--- lab:\n{l}"
            ));
        }
    }

    /// What `tcpdump -n -t ARGS` on `capturer` sees while `host` runs
    /// `cmd`, compared (and the command's own output). The kernel side
    /// captures in the background from before the command to a moment
    /// after; the lab's tcpdump reads the link's frames so far, of which
    /// the new ones count.
    pub fn cmp_capture(&mut self, capturer: &str, args: &str, host: &str, cmd: &str) {
        let mut argv = vec!["netns", "exec"];
        let ns = self.ns(capturer);
        argv.push(&ns);
        argv.extend(["tcpdump", "-n", "-t", "-l"]);
        argv.extend(args.split_whitespace());
        let child = Command::new("ip")
            .args(&argv)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("tcpdump runs");
        std::thread::sleep(std::time::Duration::from_millis(500));
        let r = real(&self.ns(host), cmd);
        std::thread::sleep(std::time::Duration::from_millis(300));
        // `ip netns exec` execs tcpdump: the child is tcpdump itself.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let out = child.wait_with_output().expect("tcpdump stops");
        let kernel = String::from_utf8_lossy(&out.stdout).to_string();
        let lab_cmd = format!("tcpdump -n -t {args}");
        let before = self.sim(capturer, &lab_cmd).1.lines().count();
        let s = self.sim(host, cmd);
        let after = self.sim(capturer, &lab_cmd).1;
        let lab: Vec<&str> = after.lines().skip(before).collect();
        self.check(host, cmd, r, s, false);
        let (k, l) = (mask_dump(&kernel), mask_dump(&lab.join("\n")));
        self.compared += 1;
        if std::env::var("SEED_SHOW").is_ok() {
            println!("{capturer}$ tcpdump -n -t {args}\n{kernel}");
        }
        if k != l {
            self.failures.push(format!(
                "{capturer}$ tcpdump -n -t {args} while {host}$ {cmd}\n--- kernel:\n{k}\n--- lab:\n{l}"
            ));
        }
    }

    /// Empties rules (every table), user chains, sets, counters and
    /// conntrack on both sides; filter policies back to ACCEPT. (Other
    /// tables' policies are left alone: setting one creates the table's
    /// base chains in the kernel, and a chain that exists is a hook that
    /// runs.)
    pub fn reset(&mut self) {
        let mut cmds = vec![
            "iptables -P INPUT ACCEPT".to_string(),
            "iptables -P FORWARD ACCEPT".to_string(),
            "iptables -P OUTPUT ACCEPT".to_string(),
        ];
        for table in ["filter", "nat", "mangle", "raw"] {
            for op in ["-F", "-X", "-Z"] {
                cmds.push(format!("iptables -t {table} {op}"));
            }
        }
        cmds.push("ipset destroy".into());
        for host in ["client", "router", "server"] {
            // One shell for the kernel side: spawning is what costs.
            let ns = self.ns(host);
            let r = real(&ns, &cmds.join(" && "));
            assert_eq!(r.0, 0, "real reset on {host}: {}", r.2);
            for c in &cmds {
                let s = self.sim(host, c);
                assert_eq!(s.0, 0, "lab `{c}`: {}", s.2);
            }
            real(&ns, "conntrack -F 2>/dev/null");
            let h = self.world.host_index(host).unwrap();
            self.world.hosts[h].conntrack = Default::default();
        }
    }

    /// Lets the kernel side's TCP finish what it still has in flight (a
    /// listener's late FIN, its retransmissions): the lab's TCP closes at
    /// once and never retransmits.
    pub fn quiet(&self) {
        std::thread::sleep(std::time::Duration::from_millis(500));
    }

    /// Prints the figures; fails with every difference.
    pub fn finish(self) {
        println!(
            "kernel vs lab: {} comparisons, {} differ",
            self.compared,
            self.failures.len()
        );
        assert!(self.failures.is_empty(), "\n{}", self.failures.join("\n\n"));
    }
}

impl Drop for Both {
    fn drop(&mut self) {
        for dir in &self.etc {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `nc -lku PORT` in a namespace: a UDP service that reads and never answers.
pub fn listen_udp(ns: &str, port: u16) -> Background {
    Background::spawn(
        Command::new("ip")
            .args(["netns", "exec", ns, "nc", "-lku", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nc listener"),
    )
}

/// A tag for namespace names: `prefix` and the process id.
pub fn tag(prefix: &str) -> String {
    format!("{prefix}{}", std::process::id() % 10000)
}
