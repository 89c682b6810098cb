//! The simulated side: the same router and server in a lab world, the
//! same rules and sets loaded through our own `iptables-restore` and
//! `ipset restore`, packets injected where the kernel's arrive.

use super::gen::net;
use crate::oracle::Seen;
use engine::command::run_argv;
use engine::packet::Packet;
use engine::sim::host::Listener;
use engine::sim::iface::IfAddr;
use engine::sim::route::Route;
use engine::sim::world::World;

pub const ROUTER: usize = 0;
pub const SERVER: usize = 1;

fn listener(proto: u8, port: u16) -> Listener {
    Listener {
        proto,
        port,
        addr: None,
        service: String::new(),
    }
}

pub fn world() -> World {
    let mut w = World::new();
    w.tracing = false;
    let r = w.add_host("router");
    let s = w.add_host("server");
    w.plug(r, "r0", "10.1.0.1/24", "left").expect("plug r0");
    w.plug(r, "r1", "10.2.0.1/24", "right").expect("plug r1");
    w.plug(s, "s0", "10.2.0.2/24", "right").expect("plug s0");
    // Phantom clients and servers are permanent neighbours in the kernel.
    w.set_outside("left").expect("left link");
    w.set_outside("right").expect("right link");
    for (h, name, mac) in [
        (r, "r0", net::R0_MAC),
        (r, "r1", net::R1_MAC),
        (s, "s0", net::SERVER_MAC),
    ] {
        if let Some(i) = w.hosts[h].ifaces.iter_mut().find(|i| i.name == name) {
            i.mac = mac;
        }
    }
    if let Some(i) = w.hosts[r].ifaces.iter_mut().find(|i| i.name == "r1") {
        i.addrs.push(IfAddr {
            addr: net::R1B,
            prefix: 24,
        });
    }
    w.hosts[r].routes.push(Route {
        dst: "10.3.0.0".parse().expect("address"),
        prefix: 16,
        via: Some(net::SERVER),
        dev: "r1".into(),
        connected: false,
    });
    w.hosts[s].routes.push(Route {
        dst: "0.0.0.0".parse().expect("address"),
        prefix: 0,
        via: Some(net::R1),
        dev: "s0".into(),
        connected: false,
    });
    w.hosts[r]
        .sysctl
        .insert("net.ipv4.ip_forward".into(), "1".into());
    w.hosts[r].listeners.push(listener(6, 8080));
    w.hosts[s].listeners.push(listener(6, 80));
    w.hosts[s].listeners.push(listener(17, 53));
    tick(&mut w);
    w
}

/// Moves the lab clock to the wall clock (never back): the kernel side
/// lives on it, and so do ipset timeouts and conntrack expiries here.
pub fn tick(w: &mut World) {
    w.now_ns = w.now_ns.max(super::kernel::now_ns());
    w.sync_clocks();
}

/// Runs one of our commands on the router at the current wall-clock time:
/// (exit code, stdout, stderr).
pub fn cmd(w: &mut World, argv: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    tick(w);
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let o = run_argv(&mut w.hosts[ROUTER], &argv, stdin);
    (o.exit, o.stdout, o.stderr)
}

pub enum Entry<'a> {
    Client([u8; 6]),
    Server([u8; 6]),
    Router,
    #[allow(dead_code)]
    Other(&'a str),
}

/// Processes one packet at `at_ns`; returns the frames put on the wire.
pub fn send(w: &mut World, entry: Entry, ip: &[u8], at_ns: u64) -> Vec<(Seen, Vec<u8>)> {
    w.now_ns = at_ns.max(w.now_ns);
    w.wire.clear();
    let mut p = Packet::new(ip.to_vec());
    match entry {
        Entry::Client(mac) => {
            p.meta.src_mac = Some(mac);
            p.meta.dst_mac = Some(net::R0_MAC);
            w.inject(ROUTER, "r0", p);
        }
        Entry::Server(mac) => {
            p.meta.src_mac = Some(mac);
            p.meta.dst_mac = Some(net::R1_MAC);
            w.inject(ROUTER, "r1", p);
        }
        Entry::Router => {
            w.send(ROUTER, p);
        }
        Entry::Other(_) => {}
    }
    w.wire
        .iter()
        .map(|e| {
            let seen = match (e.host.as_str(), e.iface.as_str()) {
                ("router", "r0") => Seen::RouterToClient,
                ("router", _) => Seen::RouterToServer,
                _ => Seen::ServerToRouter,
            };
            (seen, e.packet.clone())
        })
        .collect()
}

/// The initial sequence numbers of the SYN-ACKs the kernel's stacks sent
/// for `sent` (router, server): the simulator's stacks take the same ones,
/// so that conntrack judges later segments against the same numbers. The
/// router's come from the frames, or when traced from its OUTPUT hook
/// (`traced_output`), which also sees those dropped before a wire.
pub fn kernel_isns(
    sent: &[u8],
    frames: &[(Seen, Vec<u8>)],
    traced_output: Option<Vec<u32>>,
) -> (Vec<u32>, Vec<u32>) {
    let seq = |bytes: &[u8]| {
        let h = engine::packet::parse(bytes, false).ok()?;
        let t = h.tcp()?;
        Some((t.seq, t.flags & 0x16 == 0x12))
    };
    let injected = seq(sent).map(|(s, _)| s);
    let syn_acks = |server: bool| -> Vec<u32> {
        frames
            .iter()
            .filter(|(seen, _)| (*seen == Seen::ServerToRouter) == server)
            .filter_map(|(_, b)| seq(b))
            .filter(|&(s, synack)| synack && Some(s) != injected)
            .map(|(s, _)| s)
            .collect()
    };
    let server = syn_acks(true);
    let mut router = traced_output.unwrap_or_else(|| syn_acks(false));
    // Forwarded from the server: not the router's own.
    router.retain(|s| !server.contains(s));
    router.dedup();
    (router, server)
}

pub fn conntrack(w: &World) -> String {
    w.hosts[ROUTER].conntrack.list(w.now_ns).0
}
