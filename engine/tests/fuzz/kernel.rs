//! The real side: the oracle's client–router–server namespaces with a few
//! more neighbours and routes, listeners opened by this process (no helper
//! processes to babysit), frames injected on either side of the router or
//! sent by the router itself, tools run from a thread that lives in the
//! router's namespace (no `ip netns exec` per call), LOG lines from
//! `/dev/kmsg`.

use super::gen::net;
use crate::oracle::{Seen, Topology};
use std::ffi::CString;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type Job = Box<dyn FnOnce() + Send>;

/// A thread that entered a network namespace and runs jobs there.
pub struct NsThread {
    tx: Option<mpsc::Sender<Job>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl NsThread {
    pub fn new(ns: &str) -> Result<NsThread, String> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let path = CString::new(format!("/var/run/netns/{ns}")).map_err(|e| e.to_string())?;
        let handle = std::thread::spawn(move || {
            let ok = unsafe {
                let fd = libc::open(path.as_ptr(), libc::O_RDONLY);
                if fd < 0 {
                    Err("cannot open the namespace".to_string())
                } else {
                    let r = libc::setns(fd, libc::CLONE_NEWNET);
                    libc::close(fd);
                    if r == 0 {
                        Ok(())
                    } else {
                        Err("setns failed".to_string())
                    }
                }
            };
            let failed = ok.is_err();
            let _ = ready_tx.send(ok);
            if failed {
                return;
            }
            while let Ok(job) = rx.recv() {
                job();
            }
        });
        ready_rx
            .recv()
            .map_err(|_| "namespace thread died".to_string())??;
        Ok(NsThread {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    /// Runs `f` on the thread (inside the namespace) and returns its result.
    pub fn run<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        let (tx, rx) = mpsc::channel();
        self.tx
            .as_ref()
            .expect("thread running")
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .expect("namespace thread alive");
        rx.recv().expect("namespace thread answered")
    }

    /// Runs a program inside the namespace: (exit code, stdout, stderr).
    pub fn cmd(&self, argv: &[&str], stdin: Option<&str>) -> (i32, String, String) {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let stdin = stdin.map(String::from);
        self.run(move || {
            let mut child = match Command::new(&argv[0])
                .args(&argv[1..])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
            {
                Ok(c) => c,
                Err(e) => return (127, String::new(), format!("{}: {e}", argv[0])),
            };
            if let Some(mut w) = child.stdin.take() {
                let _ = w.write_all(stdin.unwrap_or_default().as_bytes());
            }
            match child.wait_with_output() {
                Ok(o) => (
                    o.status.code().unwrap_or(-1),
                    String::from_utf8_lossy(&o.stdout).into_owned(),
                    String::from_utf8_lossy(&o.stderr).into_owned(),
                ),
                Err(e) => (127, String::new(), e.to_string()),
            }
        })
    }
}

impl Drop for NsThread {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The kernel log, read from its end.
pub struct Kmsg(i32);

impl Kmsg {
    pub fn open() -> Option<Kmsg> {
        let path = CString::new("/dev/kmsg").ok()?;
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK) };
        if fd < 0 {
            return None;
        }
        unsafe { libc::lseek(fd, 0, libc::SEEK_END) };
        Some(Kmsg(fd))
    }

    /// (level, text) of the new records whose text starts with `tag`.
    pub fn read(&self, tag: &str) -> Vec<(u8, String)> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 8192];
        for _ in 0..100_000 {
            let n = unsafe { libc::read(self.0, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
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

fn mac_text(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// What the kernel did with one injected packet.
pub struct Sent {
    /// Wall-clock time of the injection (ns since the epoch): the simulator's clock.
    pub at_ns: u64,
    pub frames: Vec<(Seen, Vec<u8>)>,
    /// Frames that were still arriving from the packet before (should be none).
    pub late: Vec<(Seen, Vec<u8>)>,
}

/// A global sysctl set for the run and put back afterwards.
struct GlobalSysctl {
    path: &'static str,
    value: &'static str,
    old: Option<String>,
}

impl GlobalSysctl {
    /// Sets `path`; the value it had is also written to a file in the temp
    /// directory, so that a run killed before putting it back is mended by
    /// the next one.
    fn set(path: &'static str, value: &'static str) -> GlobalSysctl {
        let memo = Self::memo(path);
        let old = std::fs::read_to_string(&memo)
            .ok()
            .or_else(|| std::fs::read_to_string(path).ok());
        if let Some(v) = &old {
            let _ = std::fs::write(&memo, v);
        }
        let _ = std::fs::write(path, value);
        GlobalSysctl { path, value, old }
    }

    fn memo(path: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("kernel-fuzz-{}.orig", path.replace('/', "_")))
    }
}

impl Drop for GlobalSysctl {
    fn drop(&mut self) {
        if let Some(v) = &self.old {
            let _ = std::fs::write(self.path, v.trim());
        }
        let _ = std::fs::remove_file(Self::memo(self.path));
    }
}

/// Removes the namespaces of fuzz runs whose process is gone (killed runs).
pub fn remove_stale_namespaces() {
    let Ok(dir) = std::fs::read_dir("/var/run/netns") else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("fz") else {
            continue;
        };
        let Some((pid, part)) = rest.rsplit_once('-') else {
            continue;
        };
        let ours = ["c", "r", "s"].contains(&part) && pid.chars().all(|c| c.is_ascii_digit());
        if ours && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
    }
}

/// Listening sockets of the kernel side: (on the server?, protocol, port).
const LISTENERS: [(bool, i32, u16); 3] = [(true, 6, 80), (true, 17, 53), (false, 6, 8080)];

pub struct Kernel {
    pub topo: Topology,
    pub router: NsThread,
    /// The threads that opened the server's and client's sockets (idle).
    _server: NsThread,
    _client: NsThread,
    client_inject: i32,
    server_inject: i32,
    raw_router: i32,
    fds: Vec<i32>,
    /// The sockets of [`LISTENERS`], reopened by [`Kernel::reset`].
    listeners: Vec<i32>,
    pub kmsg: Option<Kmsg>,
    /// The nf_tables trace events of the router (see `path`).
    trace: Option<super::path::TraceSock>,
    /// Whether runs compare the trace path (the simulator then traces too).
    pub trace_path: bool,
    wait: Duration,
    _sysctls: Vec<GlobalSysctl>,
}

fn close_all(fds: &[i32]) {
    for fd in fds {
        if *fd >= 0 {
            unsafe { libc::close(*fd) };
        }
    }
}

/// A TCP listener or bound UDP socket on `port` (inside the calling thread's namespace).
fn listen(proto: i32, port: u16) -> Result<i32, String> {
    unsafe {
        let kind = if proto == 6 {
            libc::SOCK_STREAM
        } else {
            libc::SOCK_DGRAM
        };
        let fd = libc::socket(libc::AF_INET, kind, 0);
        if fd < 0 {
            return Err("socket failed".into());
        }
        let one: i32 = 1;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            &one as *const _ as *const libc::c_void,
            4,
        );
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        sa.sin_family = libc::AF_INET as u16;
        sa.sin_port = port.to_be();
        if libc::bind(
            fd,
            &sa as *const _ as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        ) != 0
        {
            libc::close(fd);
            return Err(format!("bind port {port} failed"));
        }
        if proto == 6 && libc::listen(fd, 4096) != 0 {
            libc::close(fd);
            return Err("listen failed".into());
        }
        Ok(fd)
    }
}

fn packet_socket(iface: &str) -> Result<i32, String> {
    unsafe {
        let proto = (libc::ETH_P_ALL as u16).to_be() as i32;
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK, proto);
        if fd < 0 {
            return Err("socket(AF_PACKET) failed".into());
        }
        let name = CString::new(iface).map_err(|e| e.to_string())?;
        let idx = libc::if_nametoindex(name.as_ptr());
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = idx as i32;
        if idx == 0
            || libc::bind(
                fd,
                &sll as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            ) != 0
        {
            libc::close(fd);
            return Err(format!("bind(AF_PACKET, {iface}) failed"));
        }
        Ok(fd)
    }
}

/// Keeps the calling thread on one CPU. Frames sent on a veth are processed
/// on the sender's CPU; with everything on one CPU the kernel's per-CPU
/// choices (conncount keeps another CPU's unconfirmed entries for two
/// jiffies) are the same for every packet.
fn pin_to_one_cpu() {
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return;
        }
        let Some(cpu) = (0..libc::CPU_SETSIZE as usize).find(|c| libc::CPU_ISSET(*c, &set)) else {
            return;
        };
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut one);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &one);
    }
}

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl Kernel {
    pub fn new(tag: &str) -> Result<Kernel, String> {
        let topo = Topology::new(tag)?;
        let (r, s) = (topo.router(), topo.server());
        let mut script = String::from("set -e\n");
        script.push_str(&format!(
            "ip -n {r} addr add 10.2.1.1/24 dev r1\n\
             ip -n {r} route add 10.3.0.0/16 via 10.2.0.2 dev r1\n\
             ip netns exec {r} sysctl -qw net.ipv4.conf.all.send_redirects=0 \
               net.ipv4.conf.r0.send_redirects=0 net.ipv4.conf.r1.send_redirects=0\n"
        ));
        for (a, m) in net::CLIENTS {
            script.push_str(&format!(
                "ip -n {r} neigh replace {a} lladdr {} dev r0 nud permanent\n",
                mac_text(&m)
            ));
        }
        for (a, m) in net::PSERVERS {
            script.push_str(&format!(
                "ip -n {r} neigh replace {a} lladdr {m} dev r1 nud permanent\n\
                 ip -n {s} neigh replace {a} lladdr {m} dev s0 nud permanent\n",
                m = mac_text(&m)
            ));
        }
        let out = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "topology setup failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let router = NsThread::new(&r)?;
        let server = NsThread::new(&s)?;
        let client = NsThread::new(&format!("{tag}-c"))?;
        let mut fds = Vec::new();
        let made = (|| -> Result<(i32, i32, i32), String> {
            let inject = server.run(|| packet_socket("s0"))?;
            fds.push(inject);
            let cinject = client.run(|| packet_socket("c0"))?;
            fds.push(cinject);
            let raw = router.run(|| unsafe {
                let fd = libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW);
                if fd < 0 {
                    Err("raw socket failed".to_string())
                } else {
                    Ok(fd)
                }
            })?;
            fds.push(raw);
            Ok((cinject, inject, raw))
        })();
        let (client_inject, server_inject, raw_router) = match made {
            Ok(x) => x,
            Err(e) => {
                close_all(&fds);
                return Err(e);
            }
        };
        // More than one 4 ms jiffy between packets: per-jiffy shortcuts
        // (conncount skips its duplicate check within a jiffy) never apply.
        let wait_us = std::env::var("FUZZ_WAIT_US")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(4500);
        pin_to_one_cpu();
        // The "no route" ICMP errors of `ip_error` are rate-limited per
        // sender (5, then 1 a second) whatever icmp_ratemask says; the
        // limit is global (not per namespace).
        let trace = match router.run(super::path::TraceSock::open) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("kernel fuzz: no trace events ({e}): trace paths not compared");
                None
            }
        };
        let sysctls = vec![GlobalSysctl::set(
            "/proc/sys/net/ipv4/route/error_cost",
            "0",
        )];
        let mut k = Kernel {
            topo,
            router,
            _server: server,
            _client: client,
            client_inject,
            server_inject,
            raw_router,
            fds,
            kmsg: Kmsg::open(),
            trace_path: false,
            trace,
            wait: Duration::from_micros(wait_us),
            listeners: Vec::new(),
            _sysctls: sysctls,
        };
        k.reopen_listeners()?;
        Ok(k)
    }

    /// Fresh listening sockets: a previous run's half-open connections
    /// would take a repeated SYN (and answer it only once in 500 ms).
    fn reopen_listeners(&mut self) -> Result<(), String> {
        close_all(&self.listeners);
        self.listeners.clear();
        for (on_server, proto, port) in LISTENERS {
            let ns = if on_server {
                &self._server
            } else {
                &self.router
            };
            self.listeners.push(ns.run(move || listen(proto, port))?);
        }
        Ok(())
    }

    /// Empties the router: rules, sets (and with them recent lists, quota and
    /// limit state), connections.
    pub fn reset(&mut self) {
        // Set again: another run that ended meanwhile may have put it back.
        for g in &self._sysctls {
            let _ = std::fs::write(g.path, g.value);
        }
        if let Err(e) = self.reopen_listeners() {
            eprintln!("kernel fuzz: reopening listeners failed: {e}");
        }
        // The trace table comes back with the flush (one nft call) when the
        // trace path is compared: its chains run at priority -500, before
        // raw (-300) and conntrack (-200), and only set `nftrace`.
        let trace_table = if self.trace_path && self.trace.is_some() {
            format!("; {}", super::path::TRACE_TABLE)
        } else {
            String::new()
        };
        let script = format!(
            "nft 'flush ruleset{trace_table}'; ipset destroy 2>/dev/null; conntrack -F 2>/dev/null; true"
        );
        self.router.cmd(&["sh", "-c", &script], None);
        let _ = self.trace_events();
    }

    /// Whether trace events are read (the socket opened).
    pub fn traces(&self) -> bool {
        self.trace.is_some()
    }

    /// The trace events since the last call; `Err` when the kernel lost some.
    pub fn trace_events(&self) -> Result<Vec<super::path::Event>, Vec<super::path::Event>> {
        self.trace.as_ref().map_or(Ok(Vec::new()), |t| t.read())
    }

    /// Frames that arrived since the last look.
    fn drain(&self) -> Vec<(Seen, Vec<u8>)> {
        self.topo.drain()
    }

    fn settle(&self) -> Vec<(Seen, Vec<u8>)> {
        std::thread::sleep(self.wait);
        self.drain()
    }

    fn send_frame(&self, fd: i32, dst: [u8; 6], src: [u8; 6], ip: &[u8]) -> Sent {
        let late = self.drain();
        let mut frame = Vec::with_capacity(14 + ip.len());
        frame.extend_from_slice(&dst);
        frame.extend_from_slice(&src);
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(ip);
        let at_ns = now_ns();
        unsafe {
            libc::send(fd, frame.as_ptr() as *const libc::c_void, frame.len(), 0);
        }
        let frames = self.settle();
        Sent {
            at_ns,
            frames,
            late,
        }
    }

    /// A frame arriving on the router's r0 from `src_mac` (sent on the
    /// client's c0 by a packet socket: the client's stack never sees it).
    pub fn send_client(&self, src_mac: [u8; 6], ip: &[u8]) -> Sent {
        self.send_frame(self.client_inject, net::R0_MAC, src_mac, ip)
    }

    /// A frame arriving on the router's r1 from `src_mac`.
    pub fn send_server(&self, src_mac: [u8; 6], ip: &[u8]) -> Sent {
        let mut sent = self.send_frame(self.server_inject, net::R1_MAC, src_mac, ip);
        // The capture on r1 sees our own frame arrive: it is not the router's doing.
        if let Some(i) = sent
            .frames
            .iter()
            .position(|(s, b)| *s == Seen::ServerToRouter && b.as_slice() == ip)
        {
            sent.frames.remove(i);
        }
        sent
    }

    /// A packet the router sends itself (raw socket, header included).
    pub fn send_router(&self, ip: &[u8]) -> Sent {
        let late = self.drain();
        let dst = [ip[16], ip[17], ip[18], ip[19]];
        let at_ns = now_ns();
        unsafe {
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            sa.sin_family = libc::AF_INET as u16;
            sa.sin_addr.s_addr = u32::from_ne_bytes(dst);
            libc::sendto(
                self.raw_router,
                ip.as_ptr() as *const libc::c_void,
                ip.len(),
                0,
                &sa as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as u32,
            );
        }
        let frames = self.settle();
        Sent {
            at_ns,
            frames,
            late,
        }
    }

    /// The router's connections (`/proc/net/nf_conntrack` of its namespace).
    pub fn conntrack(&self) -> String {
        self.router.run(|| {
            std::fs::read_to_string("/proc/thread-self/net/nf_conntrack").unwrap_or_default()
        })
    }

    pub fn log(&self, tag: &str) -> Vec<(u8, String)> {
        self.kmsg.as_ref().map(|k| k.read(tag)).unwrap_or_default()
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        close_all(&self.fds);
        close_all(&self.listeners);
    }
}
