//! The simulator's copy of the oracle topology and the words both sides'
//! frames are compared in (without what is legitimately random).

use super::{Seen, R0_MAC, R1_MAC, SERVER_MAC};
use engine::packet::{parse, L4};
use engine::sim::world::World;
use std::process::{Child, Command, Stdio};

/// Router (r0 10.1.0.1/24, r1 10.2.0.1/24, forwarding on) and server
/// (s0 10.2.0.2/24, default route via the router, listening on tcp/80), with
/// the oracle's MACs. The client side is the phantom address.
pub fn sim_world() -> World {
    let mut w = World::new();
    w.tracing = false;
    let r = w.add_host("router");
    let s = w.add_host("server");
    w.plug(r, "r0", "10.1.0.1/24", "left").unwrap();
    w.plug(r, "r1", "10.2.0.1/24", "right").unwrap();
    w.plug(s, "s0", "10.2.0.2/24", "right").unwrap();
    // The client side is the phantom address, a permanent neighbour in the kernel.
    w.set_outside("left").unwrap();
    for (h, name, mac) in [(r, "r0", R0_MAC), (r, "r1", R1_MAC), (s, "s0", SERVER_MAC)] {
        if let Some(i) = w.hosts[h].ifaces.iter_mut().find(|i| i.name == name) {
            i.mac = mac;
        }
    }
    w.hosts[s].routes.push(engine::sim::route::Route {
        dst: "0.0.0.0".parse().unwrap(),
        prefix: 0,
        via: Some("10.2.0.1".parse().unwrap()),
        dev: "s0".into(),
        connected: false,
    });
    w.hosts[r]
        .sysctl
        .insert("net.ipv4.ip_forward".into(), "1".into());
    w.hosts[s].listeners.push(engine::sim::host::Listener {
        proto: 6,
        port: 80,
        addr: None,
        service: "http".into(),
    });
    w
}

/// A frame in words, without IP IDs, checksums, the server's ISN and the
/// acknowledgement field of a bare RST (neither carries meaning there).
pub fn describe(seen: &str, bytes: &[u8]) -> String {
    let Ok(h) = parse(bytes, false) else {
        return format!("{seen} unparsable {} bytes", bytes.len());
    };
    let mut s = format!(
        "{seen} {}>{} ttl={} tos={:#x} len={} df={} frag={} ",
        h.src, h.dst, h.ttl, h.tos, h.total_len, h.df, h.frag_offset
    );
    match &h.l4 {
        L4::Tcp(t) => {
            let isn = t.flags & 0x12 == 0x12;
            let bare_rst = t.flags & 0x04 != 0 && t.flags & 0x10 == 0;
            s.push_str(&format!(
                "tcp {}>{} flags={:#04x} seq={} ack={} win={} opts={:02x?}",
                t.sport,
                t.dport,
                t.flags,
                if isn {
                    "*".to_string()
                } else {
                    t.seq.to_string()
                },
                if bare_rst {
                    "*".to_string()
                } else {
                    t.ack.to_string()
                },
                t.window,
                t.options
            ));
        }
        L4::Udp(u) => s.push_str(&format!("udp {}>{} len={}", u.sport, u.dport, u.len)),
        L4::Icmp(i) => {
            s.push_str(&format!(
                "icmp {}/{} rest={:02x?}",
                i.icmp_type, i.code, i.rest
            ));
            if let Some(inner) = &i.inner {
                s.push_str(&format!(
                    " [{}>{} proto={} ttl={} tos={:#x} ports={:?}]",
                    inner.src,
                    inner.dst,
                    inner.proto,
                    inner.ttl,
                    inner.tos,
                    inner.ports()
                ));
            }
        }
        _ => s.push_str(&format!("proto={}", h.proto)),
    }
    s
}

pub fn seen_name(s: Seen) -> &'static str {
    match s {
        Seen::RouterToClient => "router->client",
        Seen::RouterToServer => "router->server",
        Seen::ServerToRouter => "server->router",
    }
}

/// What the simulated router and server put on the wire, sorted.
pub fn sim_frames(w: &World) -> Vec<String> {
    let mut v: Vec<String> = w
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
    v.sort();
    v
}

/// A process that lives as long as the guard (a listener in a namespace).
pub struct Background(Child);

impl Background {
    /// Keeps `child` running until the guard is dropped.
    pub fn spawn(child: Child) -> Background {
        Background(child)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `nc -lk PORT` in a namespace: the real server's listening socket.
pub fn listen(ns: &str, port: u16) -> Background {
    Background(
        Command::new("ip")
            .args(["netns", "exec", ns, "nc", "-lk", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nc listener"),
    )
}
