//! Tiny worlds for the targets' unit tests: a client, a router and a DMZ
//! with a web server and a monitor, packets made in a line, counters and
//! frames read back.

use crate::command::script::{parse_script, run_cmd};
use crate::command::Output;
use crate::packet::spec::{L4Spec, PacketSpec};
use crate::packet::{Headers, Packet};
use crate::sim::host::{Host, Listener};
use crate::sim::route::Route;
use crate::sim::world::World;
use std::net::Ipv4Addr;

pub fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("address")
}

/// Runs one command line (shell quoting) on a host.
pub fn sh(h: &mut Host, line: &str) -> Output {
    let cmds = parse_script(line).expect("command parses");
    let mut out = Output::default();
    for c in &cmds {
        out = run_cmd(h, c, &|_| Err("No such file or directory".into()));
    }
    out
}

/// Runs a command that must succeed.
pub fn ok(h: &mut Host, line: &str) {
    let o = sh(h, line);
    assert_eq!(o.exit, 0, "{line}: {}", o.stderr);
}

pub fn tcp(src: &str, dst: &str, sport: u16, dport: u16, flags: &str) -> Packet {
    PacketSpec {
        src: ip(src),
        dst: ip(dst),
        l4: L4Spec::Tcp {
            sport,
            dport,
            flags: flags.into(),
            seq: 1000,
            ack: if flags.contains('A') { 7000 } else { 0 },
            window: 64240,
        },
        ttl: 64,
        tos: 0,
        id: 1,
        payload_len: 0,
    }
    .build()
    .expect("packet")
}

pub fn udp(src: &str, dst: &str, sport: u16, dport: u16) -> Packet {
    PacketSpec {
        src: ip(src),
        dst: ip(dst),
        l4: L4Spec::Udp { sport, dport },
        ttl: 64,
        tos: 0,
        id: 1,
        payload_len: 4,
    }
    .build()
    .expect("packet")
}

pub fn ping(src: &str, dst: &str, id: u16) -> Packet {
    PacketSpec {
        src: ip(src),
        dst: ip(dst),
        l4: L4Spec::Icmp {
            icmp_type: 8,
            code: 0,
            id,
            seq: 1,
        },
        ttl: 64,
        tos: 0,
        id: 1,
        payload_len: 8,
    }
    .build()
    .expect("packet")
}

fn default_route(via: &str, dev: &str) -> Route {
    Route {
        dst: Ipv4Addr::UNSPECIFIED,
        prefix: 0,
        via: Some(ip(via)),
        dev: dev.into(),
        connected: false,
    }
}

/// client 10.0.1.2 — (eth0 10.0.1.1) router (eth1 10.0.0.1) — DMZ with the
/// web server 10.0.0.2 (TCP 80 open) and a monitor 10.0.0.10.
pub struct Lab {
    pub w: World,
    pub client: usize,
    pub router: usize,
    pub server: usize,
    pub monitor: usize,
}

impl Lab {
    pub fn new() -> Lab {
        let mut w = World::new();
        let client = w.add_host("client");
        let router = w.add_host("router");
        let server = w.add_host("server");
        let monitor = w.add_host("monitor");
        w.plug(client, "eth0", "10.0.1.2/24", "lan").unwrap();
        w.plug(router, "eth0", "10.0.1.1/24", "lan").unwrap();
        w.plug(router, "eth1", "10.0.0.1/24", "dmz").unwrap();
        w.plug(server, "eth0", "10.0.0.2/24", "dmz").unwrap();
        w.plug(monitor, "eth0", "10.0.0.10/24", "dmz").unwrap();
        // NAT ranges and TEE gateways may name machines outside the lab.
        w.set_outside("dmz").unwrap();
        w.hosts[client]
            .routes
            .push(default_route("10.0.1.1", "eth0"));
        for h in [server, monitor] {
            w.hosts[h].routes.push(default_route("10.0.0.1", "eth0"));
        }
        w.hosts[router]
            .sysctl
            .insert("net.ipv4.ip_forward".into(), "1".into());
        w.hosts[server].listeners.push(Listener {
            proto: 6,
            port: 80,
            addr: None,
            service: "http".into(),
        });
        Lab {
            w,
            client,
            router,
            server,
            monitor,
        }
    }

    /// Runs commands (one per line) on a host; each must succeed.
    pub fn rules(&mut self, host: usize, lines: &str) {
        for l in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
            ok(&mut self.w.hosts[host], l);
        }
    }

    /// Sends a packet from a host, clearing what the last packet left.
    pub fn send(&mut self, host: usize, pkt: Packet) {
        self.w.wire.clear();
        self.w.send(host, pkt);
    }

    /// Packets a host's stack received in the last run.
    pub fn got(&self, host: usize) -> Vec<Headers> {
        self.w
            .delivered
            .iter()
            .filter(|d| d.host == host)
            .filter_map(|d| d.pkt.headers().ok())
            .collect()
    }

    /// Packets a host put on the wire in the last run, with the interface.
    pub fn sent(&self, host: usize) -> Vec<(String, Headers)> {
        let name = &self.w.hosts[host].name;
        self.w
            .wire
            .iter()
            .filter(|e| &e.host == name)
            .filter_map(|e| {
                crate::packet::parse(&e.packet, false)
                    .ok()
                    .map(|h| (e.iface.clone(), h))
            })
            .collect()
    }

    /// The packet counter of the first rule of a table whose save text contains `needle`.
    pub fn count(&mut self, host: usize, table: &str, needle: &str) -> u64 {
        let save = sh(
            &mut self.w.hosts[host],
            &format!("iptables-save -c -t {table}"),
        )
        .stdout;
        let line = save
            .lines()
            .find(|l| l.starts_with('[') && l.contains(needle))
            .unwrap_or_else(|| panic!("no rule with {needle} in\n{save}"));
        line[1..line.find(':').unwrap()].parse().unwrap()
    }

    /// The router's kernel log lines.
    pub fn kmsg(&self, host: usize) -> Vec<String> {
        self.w.hosts[host]
            .kmsg
            .iter()
            .map(|r| r.text.clone())
            .collect()
    }
}

impl Default for Lab {
    fn default() -> Self {
        Lab::new()
    }
}

/// Fires a target once on a packet at a hook of a lone host, as if a rule
/// had matched (for targets the reference kernel refuses as rules).
pub fn fire_alone(
    t: &mut dyn crate::ext::Target,
    hook: crate::ruleset::Hook,
    table: &'static str,
    pkt: &mut Packet,
) -> (
    Option<crate::ext::TargetVerdict>,
    Vec<crate::sim::eval::Emit>,
    Vec<crate::sim::eval::LogRecord>,
) {
    let mut h = Host::new("h");
    let mut emitted = Vec::new();
    let mut log = Vec::new();
    let mut hdr = None;
    let mut cx = crate::sim::eval::EvalCx::on_host(
        &mut h,
        hook,
        table,
        pkt,
        &mut hdr,
        0,
        &mut emitted,
        &mut log,
    )
    .expect("packet parses");
    let v = t.fire(&mut cx);
    (v, emitted, log)
}

/// A home router with two uplinks: the LAN 192.168.1.0/24 (client .2,
/// router .1), `wan1` 203.0.113.2/24 towards ISP one (203.0.113.1, which
/// also answers for 8.8.8.8) and `wan2` 198.51.100.2/24 towards ISP two
/// (198.51.100.1, also 9.9.9.9). Default route via ISP one, 9.9.9.0/24
/// via ISP two.
pub struct TwoIsps {
    pub w: World,
    pub client: usize,
    pub router: usize,
    pub isp1: usize,
    pub isp2: usize,
}

impl TwoIsps {
    pub fn new() -> TwoIsps {
        let mut w = World::new();
        let client = w.add_host("client");
        let router = w.add_host("router");
        let isp1 = w.add_host("isp1");
        let isp2 = w.add_host("isp2");
        w.plug(client, "eth0", "192.168.1.2/24", "lan").unwrap();
        w.plug(router, "lan", "192.168.1.1/24", "lan").unwrap();
        w.plug(router, "wan1", "203.0.113.2/24", "up1").unwrap();
        w.plug(router, "wan2", "198.51.100.2/24", "up2").unwrap();
        w.plug(isp1, "eth0", "203.0.113.1/24", "up1").unwrap();
        w.plug(isp2, "eth0", "198.51.100.1/24", "up2").unwrap();
        for (h, a) in [(isp1, "8.8.8.8"), (isp2, "9.9.9.9")] {
            w.hosts[h].ifaces[1].addrs.push(crate::sim::iface::IfAddr {
                addr: ip(a),
                prefix: 32,
            });
        }
        w.hosts[client]
            .routes
            .push(default_route("192.168.1.1", "eth0"));
        w.hosts[router]
            .routes
            .push(default_route("203.0.113.1", "wan1"));
        w.hosts[router].routes.push(Route {
            dst: ip("9.9.9.0"),
            prefix: 24,
            via: Some(ip("198.51.100.1")),
            dev: "wan2".into(),
            connected: false,
        });
        w.hosts[router]
            .sysctl
            .insert("net.ipv4.ip_forward".into(), "1".into());
        TwoIsps {
            w,
            client,
            router,
            isp1,
            isp2,
        }
    }

    pub fn rules(&mut self, host: usize, lines: &str) {
        for l in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
            ok(&mut self.w.hosts[host], l);
        }
    }

    pub fn send(&mut self, host: usize, pkt: Packet) {
        self.w.send(host, pkt);
    }

    pub fn got(&self, host: usize) -> Vec<Headers> {
        self.w
            .delivered
            .iter()
            .filter(|d| d.host == host)
            .filter_map(|d| d.pkt.headers().ok())
            .collect()
    }
}

impl Default for TwoIsps {
    fn default() -> Self {
        TwoIsps::new()
    }
}
