//! New TCP connections through a Kubernetes node: the kube-proxy-shaped
//! ruleset of `shared/tools/gen-kube-ruleset.py 10000` (nat and filter), each
//! packet a new flow from a client to a service's cluster IP, port 80, through
//! PREROUTING (conntrack, nat: KUBE-SERVICES, a service chain, an endpoint's
//! DNAT), FORWARD (filter) and POSTROUTING (nat: MASQUERADE), as the world
//! runs a forwarded packet.
//!
//! Walks: untraced with the walk index (the default), untraced rule by rule
//! (`Host::linear_walk`, what the kernel does), and traced (every rule is
//! looked at and recorded). Flows go to all services evenly (every packet
//! meets rules no recent packet touched: memory-bound) or to 100 of them
//! spread over the ruleset (their rules stay in cache). `KUBE_SERVICES=N`
//! changes the number of services.

/// The allocator `iptplay` runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engine::command::run_argv;
use engine::packet::spec::{L4Spec, PacketSpec};
use engine::packet::Packet;
use engine::ruleset::Hook;
use engine::sim::host::Host;
use engine::sim::netfilter::{run_hook, CtRef, Fate};
use engine::sim::trace::Trace;
use engine::sim::world::World;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Flows made before each timed run (conntrack starts empty for each).
const CHUNK: usize = 20_000;

/// CPU time of this thread: the machine is shared, and wall time would count
/// the time other processes had the core.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn services() -> usize {
    std::env::var("KUBE_SERVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn ruleset(n: usize) -> Option<String> {
    let tool =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/tools/gen-kube-ruleset.py");
    let out = Command::new("python3")
        .arg(tool)
        .arg(n.to_string())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The node: clients on eth0, pods behind eth1, forwarding on, the rules.
fn node(rules: &str) -> Host {
    let mut w = World::new();
    let h = w.add_host("node");
    w.plug(h, "eth0", "192.168.0.1/16", "clients")
        .expect("eth0");
    w.plug(h, "eth1", "10.128.0.1/10", "pods").expect("eth1");
    let mut host = w.hosts.swap_remove(h);
    host.sysctl.insert("net.ipv4.ip_forward".into(), "1".into());
    let argv = vec!["iptables-restore".to_string()];
    let out = run_argv(&mut host, &argv, Some(rules));
    assert_eq!(out.exit, 0, "restore failed: {}", out.stderr);
    host
}

/// The cluster IP of service `i`, as the generator makes it.
fn cluster_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 96 + ((i >> 16) % 32) as u8, (i >> 8) as u8, i as u8)
}

/// SYN of flow `k` (a new client address and port for each) to one of
/// `spread` services picked evenly over the `services` of the ruleset.
fn syn(k: usize, services: usize, spread: usize) -> Packet {
    let step = (services / spread).max(1);
    let svc = (k.wrapping_mul(7919) % spread * step + step / 2) % services;
    let mut p = PacketSpec {
        src: Ipv4Addr::new(192, 168, (k >> 8) as u8, k as u8),
        dst: cluster_ip(svc),
        l4: L4Spec::Tcp {
            sport: 1024 + (k % 60_000) as u16,
            dport: 80,
            flags: "S".into(),
            seq: k as u32,
            ack: 0,
            window: 64240,
        },
        ttl: 64,
        tos: 0,
        id: k as u16,
        payload_len: 0,
    }
    .build()
    .expect("packet");
    p.meta.in_iface = Some("eth0".into());
    p
}

/// A forwarded packet through the node's hooks; the fate of the last hook run.
fn forward(host: &mut Host, pkt: &mut Packet, trace: Option<&mut Trace>) -> Fate {
    let mut trace = trace;
    let mut ct = CtRef::default();
    let mut emitted = Vec::new();
    let now = host.clock_ns;
    let fate = run_hook(
        host,
        Hook::Prerouting,
        pkt,
        &mut ct,
        now,
        &mut emitted,
        trace.as_deref_mut(),
    );
    if fate != Fate::Accept {
        return fate;
    }
    pkt.meta.out_iface = Some("eth1".into());
    let fate = run_hook(
        host,
        Hook::Forward,
        pkt,
        &mut ct,
        now,
        &mut emitted,
        trace.as_deref_mut(),
    );
    if fate != Fate::Accept {
        return fate;
    }
    run_hook(
        host,
        Hook::Postrouting,
        pkt,
        &mut ct,
        now,
        &mut emitted,
        trace,
    )
}

fn sim(c: &mut Criterion) {
    let n = services();
    let Some(rules) = ruleset(n) else {
        eprintln!("skipped: shared/tools/gen-kube-ruleset.py or python3 missing");
        return;
    };
    let base = node(&rules);
    // The flows must go where kube-proxy sends them: DNAT to an endpoint
    // (10.128.0.0/10, port 8080), masqueraded to the node's eth1 address.
    {
        let mut h = base.clone();
        for k in 0..1000 {
            let mut p = syn(k, n, n);
            assert_eq!(forward(&mut h, &mut p, None), Fate::Accept);
            let hd = p.headers().expect("headers");
            assert!(
                u32::from(hd.dst) >> 22 == u32::from(Ipv4Addr::new(10, 128, 0, 0)) >> 22,
                "flow {k} not DNATed: {hd:?}"
            );
            assert_eq!(
                hd.src,
                Ipv4Addr::new(10, 128, 0, 1),
                "flow {k} not masqueraded"
            );
        }
    }
    let mut g = c.benchmark_group(format!("kube-{n}-new-flows"));
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    let hot = 100.min(n);
    for (label, spread, linear, traced) in [
        (format!("to all {n} services, walk index"), n, false, false),
        (format!("to all {n} services, rule by rule"), n, true, false),
        (format!("to all {n} services, traced"), n, false, true),
        (format!("to {hot} services, walk index"), hot, false, false),
        (format!("to {hot} services, rule by rule"), hot, true, false),
    ] {
        let mut host = base.clone();
        host.linear_walk = linear;
        g.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                let mut k = 0usize;
                while left > 0 {
                    let m = left.min(CHUNK);
                    host.conntrack.flush();
                    let mut pkts: Vec<Packet> = (0..m).map(|i| syn(k + i, n, spread)).collect();
                    k += m;
                    let t = thread_cpu();
                    for p in pkts.iter_mut() {
                        let mut trace = traced.then(Trace::default);
                        let fate = forward(&mut host, p, trace.as_mut());
                        std::hint::black_box((fate, trace));
                    }
                    total += thread_cpu() - t;
                    left -= m;
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, sim);
criterion_main!(benches);
