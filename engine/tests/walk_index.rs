//! The simulator's walk index (long chains dispatched on exact destination,
//! jump targets resolved once) against the kernel's rule-by-rule walk
//! (`Host::linear_walk`) and a traced walk, on random rule lists: every
//! packet must meet the same fate and leave with the same bytes and mark,
//! and the hosts must end with the same counters (`iptables-save -c`),
//! conntrack table and match state.

use engine::command::run_argv;
use engine::packet::spec::{L4Spec, PacketSpec};
use engine::packet::Packet;
use engine::ruleset::walk::{Known, OneTest, Precheck};
use engine::ruleset::Hook;
use engine::sim::host::Host;
use engine::sim::netfilter::{run_hook, CtRef, Fate};
use engine::sim::trace::Trace;
use engine::sim::world::World;
use std::fmt::Write;
use std::net::Ipv4Addr;

mod common;

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A destination address: mostly a few hosts of 10.9.0.0/24, so that exact
/// rules repeat addresses and packets meet them.
fn addr(r: &mut Rng) -> Ipv4Addr {
    Ipv4Addr::new(10, 9, 0, 1 + r.below(24) as u8)
}

/// The conditions of one random rule.
fn conditions(r: &mut Rng, nat: bool) -> String {
    let mut s = String::new();
    match r.below(10) {
        0..=5 => write!(s, " -d {}/32", addr(r)).unwrap(),
        6 => write!(s, " ! -d {}/32", addr(r)).unwrap(),
        7 => s.push_str(" -d 10.9.0.0/28"),
        _ => {}
    }
    match r.below(20) {
        0..=2 => write!(s, " -s 10.1.0.{}/31", r.below(8) * 2).unwrap(),
        3 => write!(s, " ! -s 10.1.0.{}/29", r.below(2) * 8).unwrap(),
        // The fixed part beyond addresses and protocol: checked on the rule.
        4 if !nat => s.push_str(" -o eth1"),
        5 => s.push_str(" ! -i eth+"),
        6 => s.push_str(" -f"),
        7 => s.push_str(" ! -f"),
        _ => {}
    }
    if r.chance(20) {
        write!(s, " -m comment --comment \"c{}\"", r.below(3)).unwrap();
    }
    match r.below(12) {
        0 => write!(s, " -p tcp --dport {}", 20 + r.below(5)).unwrap(),
        1 => s.push_str(" -p udp"),
        // One native test (kept in the index), or two.
        9 => write!(s, " -p udp -m udp ! --dport {}", 20 + r.below(5)).unwrap(),
        10 => write!(
            s,
            " -p tcp -m comment --comment x -m tcp --dport {}:{}",
            20 + r.below(3),
            22 + r.below(3)
        )
        .unwrap(),
        11 => write!(s, " -p tcp --sport 1000:1020 --dport {}", 20 + r.below(5)).unwrap(),
        // Matches that are always true, alone or before one that is not.
        6 => s.push_str(" -p tcp -m tcp -m comment --comment always"),
        7 => write!(s, " -p tcp -m tcp --sport {}", 1000 + r.below(40)).unwrap(),
        8 if !nat => s.push_str(" ! -p udp -m comment --comment no-udp"),
        2 if !nat => write!(
            s,
            " -m statistic --mode nth --every {} --packet 0",
            2 + r.below(3)
        )
        .unwrap(),
        3 => write!(
            s,
            " -m statistic --mode random --probability 0.{}",
            1 + r.below(8)
        )
        .unwrap(),
        4 => write!(s, " -m mark --mark {}", r.below(4)).unwrap(),
        _ => {}
    }
    s
}

/// A restore file: long filter and nat chains of random rules, some jumping
/// to user chains that are long themselves.
fn ruleset(r: &mut Rng) -> String {
    let mut f = String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:LONG - [0:0]\n:SUB - [0:0]\n:SHORT - [0:0]\n");
    f.push_str("-A FORWARD -j LONG\n-A FORWARD -p tcp -j SHORT\n");
    for (chain, n) in [
        ("LONG", 40 + r.below(160)),
        ("SUB", 16 + r.below(40)),
        ("SHORT", 5),
    ] {
        for _ in 0..n {
            let target = match r.below(12) {
                0 => " -j ACCEPT".to_string(),
                1 => " -j DROP".to_string(),
                2 => " -j RETURN".to_string(),
                3 if chain == "LONG" => " -j SUB".to_string(),
                4 if chain == "LONG" => " -g SHORT".to_string(),
                5 | 6 => format!(" -j MARK --set-xmark {}/0xff", r.below(4)),
                _ => String::new(),
            };
            writeln!(f, "-A {chain}{}{target}", conditions(r, false)).unwrap();
        }
    }
    f.push_str("COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:SVC - [0:0]\n:EP - [0:0]\n");
    f.push_str("-A PREROUTING -j SVC\n-A POSTROUTING -d 10.9.0.0/24 -j MASQUERADE\n");
    for _ in 0..16 + r.below(80) {
        let cond = conditions(r, true);
        let proto = if cond.contains(" -p ") { "" } else { " -p tcp" };
        let target = match r.below(6) {
            0 => format!(
                "{proto} -j DNAT --to-destination 10.9.0.{}:{}",
                100 + r.below(50),
                8000 + r.below(3)
            ),
            1 => " -j EP".to_string(),
            2 => " -j RETURN".to_string(),
            3 => " -j ACCEPT".to_string(),
            _ => String::new(),
        };
        writeln!(f, "-A SVC{cond}{target}").unwrap();
    }
    for _ in 0..4 {
        writeln!(
            f,
            "-A EP -m statistic --mode random --probability 0.5 -p udp -j DNAT --to-destination 10.9.0.{}",
            150 + r.below(50)
        )
        .unwrap();
    }
    f.push_str("COMMIT\n");
    f
}

fn host(rules: &str) -> Host {
    let mut w = World::new();
    let h = w.add_host("node");
    w.plug(h, "eth0", "10.1.0.254/24", "clients").unwrap();
    w.plug(h, "eth1", "10.9.0.254/24", "servers").unwrap();
    let mut host = w.hosts.swap_remove(h);
    host.sysctl.insert("net.ipv4.ip_forward".into(), "1".into());
    let out = run_argv(&mut host, &["iptables-restore".to_string()], Some(rules));
    assert_eq!(out.exit, 0, "{}\n{rules}", out.stderr);
    host
}

fn packet(r: &mut Rng) -> Packet {
    let udp = r.chance(30);
    let (sport, dport) = (1000 + r.below(40) as u16, 20 + r.below(5) as u16);
    let l4 = if udp {
        L4Spec::Udp { sport, dport }
    } else {
        L4Spec::Tcp {
            sport,
            dport,
            flags: "S".into(),
            seq: 1,
            ack: 0,
            window: 1000,
        }
    };
    let mut p = PacketSpec {
        src: Ipv4Addr::new(10, 1, 0, r.below(16) as u8),
        dst: addr(r),
        l4,
        ttl: 64,
        tos: 0,
        id: 1,
        payload_len: r.below(3) as usize * 10,
    }
    .build()
    .unwrap();
    p.meta.in_iface = Some("eth0".into());
    p.meta.mark = r.below(4) as u32;
    p
}

/// A forwarded packet through the hooks: the fate of each hook run.
fn forward(host: &mut Host, pkt: &mut Packet, trace: Option<&mut Trace>) -> Vec<Fate> {
    let mut trace = trace;
    let mut ct = CtRef::default();
    let mut emitted = Vec::new();
    let mut fates = Vec::new();
    for (hook, out) in [
        (Hook::Prerouting, None),
        (Hook::Forward, Some("eth1")),
        (Hook::Postrouting, Some("eth1")),
    ] {
        if let Some(o) = out {
            pkt.meta.out_iface = Some(o.into());
        }
        let f = run_hook(
            host,
            hook,
            pkt,
            &mut ct,
            0,
            &mut emitted,
            trace.as_deref_mut(),
        );
        fates.push(f);
        if f != Fate::Accept {
            break;
        }
    }
    fates
}

fn state(h: &mut Host) -> String {
    let save = run_argv(h, &["iptables-save".into(), "-c".into()], None).stdout;
    let save: String = save.lines().filter(|l| !l.starts_with('#')).collect();
    format!("{save}\n{}", h.conntrack.list(0).0)
}

/// Hosts with the same rules walking the same packets with the index,
/// rule by rule and traced.
struct Three {
    fast: Host,
    linear: Host,
    traced: Host,
}

impl Three {
    fn new(rules: &str) -> Three {
        let mut linear = host(rules);
        linear.linear_walk = true;
        Three {
            fast: host(rules),
            linear,
            traced: host(rules),
        }
    }

    /// Forwards `p` through the three: same fates and bytes, or a panic.
    fn forward(&mut self, p: Packet, what: &str) -> Vec<Fate> {
        let (mut a, mut b, mut c) = (p.clone(), p.clone(), p);
        let fa = forward(&mut self.fast, &mut a, None);
        assert_eq!(fa, forward(&mut self.linear, &mut b, None), "{what}");
        let mut t = Trace::default();
        assert_eq!(
            fa,
            forward(&mut self.traced, &mut c, Some(&mut t)),
            "{what}"
        );
        assert_eq!((&a, &a), (&b, &c), "{what}");
        fa
    }

    /// The three end with the same counters, conntrack and match state.
    fn assert_same_state(&mut self) {
        let s = state(&mut self.fast);
        assert_eq!(s, state(&mut self.linear));
        assert_eq!(s, state(&mut self.traced));
    }
}

#[test]
fn walk_index_walks_like_the_kernel() {
    let mut met_dispatch = 0;
    for seed in 1..=12u64 {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x1000_0001));
        let rules = ruleset(&mut r);
        let mut fast = host(&rules);
        let mut linear = host(&rules);
        linear.linear_walk = true;
        let mut traced = host(&rules);
        for i in 0..400 {
            let p = packet(&mut r);
            let (mut a, mut b, mut c) = (p.clone(), p.clone(), p.clone());
            let fa = forward(&mut fast, &mut a, None);
            let fb = forward(&mut linear, &mut b, None);
            let mut t = Trace::default();
            let fc = forward(&mut traced, &mut c, Some(&mut t));
            assert_eq!(fa, fb, "seed {seed} packet {i}: fates differ\n{rules}");
            assert_eq!(
                fa, fc,
                "seed {seed} packet {i}: traced fate differs\n{rules}"
            );
            assert_eq!(a, b, "seed {seed} packet {i}: packets differ\n{rules}");
            assert_eq!(
                a, c,
                "seed {seed} packet {i}: traced packet differs\n{rules}"
            );
            if i % 50 == 49 {
                // Replies and later packets of the same flows meet conntrack.
                fast.conntrack.expire(u64::MAX);
                linear.conntrack.expire(u64::MAX);
                traced.conntrack.expire(u64::MAX);
            }
        }
        let s = state(&mut fast);
        assert_eq!(
            s,
            state(&mut linear),
            "seed {seed}: counters differ\n{rules}"
        );
        assert_eq!(
            s,
            state(&mut traced),
            "seed {seed}: traced counters differ\n{rules}"
        );
        // The long chains were dispatched (else this proves nothing).
        let t = fast.ruleset.table_mut("filter").unwrap();
        let i = t.chain_index("LONG").unwrap();
        let n = t.chains[i].rules.len();
        let (_, walk) = t.walk_parts();
        let w = walk.chain(i, n).unwrap();
        if (0..n).any(|from| w.next(from, Ipv4Addr::new(10, 9, 0, 1)) > from) {
            met_dispatch += 1;
        }
    }
    assert!(
        met_dispatch >= 6,
        "only {met_dispatch} rule lists were dispatched"
    );
}

#[test]
fn jump_targets_follow_table_changes() {
    // The index is made again after every commit: a chain inserted before
    // the jump target moves it.
    let mut h = host(
        "*filter\n:FORWARD ACCEPT [0:0]\n:ZZZ - [0:0]\n-A FORWARD -j ZZZ\n-A ZZZ -j DROP\nCOMMIT\n",
    );
    let mut r = Rng(7);
    let mut p = packet(&mut r);
    assert_eq!(forward(&mut h, &mut p, None).last(), Some(&Fate::Drop));
    for (cmd, want) in [
        ("iptables -N AAA", Fate::Drop),
        ("iptables -I ZZZ -j ACCEPT", Fate::Accept),
        ("iptables -A AAA -j DROP", Fate::Accept),
        ("iptables -R FORWARD 1 -j AAA", Fate::Drop),
    ] {
        let argv: Vec<String> = cmd.split(' ').map(String::from).collect();
        assert_eq!(run_argv(&mut h, &argv, None).exit, 0, "{cmd}");
        let mut p = packet(&mut r);
        assert_eq!(forward(&mut h, &mut p, None).last(), Some(&want), "{cmd}");
    }
}

#[test]
fn random_draws_from_the_index_match_the_rules_draws() {
    // Statistic rules the index answers with its own draw (alone, after
    // matches that are always true, inverted), between rules that draw
    // through the match (with a mark test) and an nth rule: each host's
    // generator must be drawn the same number of times in the same order.
    let rules = "*filter\n:FORWARD ACCEPT [0:0]\n:SVC - [0:0]\n:EP - [0:0]\n\
        -A FORWARD -p tcp -j SVC\n\
        -A SVC -m statistic --mode random --probability 0.3 -j MARK --set-xmark 1/0xff\n\
        -A SVC -m comment --comment x -m statistic --mode random ! --probability 0.6 -j EP\n\
        -A SVC -m mark --mark 1 -m statistic --mode random --probability 0.5 -j DROP\n\
        -A SVC -m statistic --mode nth --every 3 --packet 1 -j EP\n\
        -A SVC -m statistic --mode random --probability 0.25 -j ACCEPT\n\
        -A EP -m statistic --mode random --probability 0.5 -j DROP\n\
        -A EP -j MARK --set-xmark 2/0xff\n\
        COMMIT\n";
    let mut three = Three::new(rules);
    let mut r = Rng(99);
    for i in 0..600 {
        let mut p = packet(&mut r);
        p.meta.mark = 0;
        three.forward(p, &format!("packet {i}"));
    }
    three.assert_same_state();
    let fast = &mut three.fast;
    // The index does answer the plain random rules itself.
    let t = fast.ruleset.table_mut("filter").unwrap();
    let i = t.chain_index("SVC").unwrap();
    let (_, walk) = t.walk_parts();
    let w = walk.chain(i, 5).unwrap();
    let any = Ipv4Addr::new(10, 9, 0, 1);
    for (rule, answered) in [(0, true), (1, true), (2, false), (3, false), (4, true)] {
        let known = match w.precheck(rule, any, any, 6) {
            Some(Precheck::Passes { matches, .. }) => matches,
            other => panic!("rule {rule}: {other:?}"),
        };
        assert_eq!(
            matches!(known, Known::Test(OneTest::Random { .. })),
            answered,
            "rule {rule}: {known:?}"
        );
    }
}

#[test]
fn blank_xt_transport_matches_are_asked_only_for_fragments_and_short_headers() {
    // `-m tcp` / `-m udp` with nothing to test after another match are
    // kept as xt matches: true for a whole header, false for fragments, a
    // hotdrop for offset 1 and for a header cut short. The index answers the
    // first kind itself and asks the match for the others.
    let rules = "*filter\n:FORWARD ACCEPT [0:0]\n:C - [0:0]\n\
        -A FORWARD -j C\n\
        -A C -p tcp -m comment --comment x -m tcp -j MARK --set-xmark 1/0xff\n\
        -A C -p udp -m comment --comment x -m udp -j MARK --set-xmark 2/0xff\n\
        -A C -p tcp -m comment --comment y -m tcp -j ACCEPT\n\
        -A C -p udp -m comment --comment y -m udp -j ACCEPT\n\
        -A C -j DROP\n\
        COMMIT\n";
    let mut three = Three::new(rules);
    let mut r = Rng(7);
    let mut fates = Vec::new();
    for i in 0..200 {
        let mut p = packet(&mut r);
        p.meta.mark = 0;
        match i % 5 {
            // Offset 1 (hotdrop), a later fragment, a first fragment.
            0 => p.data[6..8].copy_from_slice(&1u16.to_be_bytes()),
            1 => p.data[6..8].copy_from_slice(&9u16.to_be_bytes()),
            2 => p.data[6..8].copy_from_slice(&0x2000u16.to_be_bytes()),
            // The transport header cut short.
            3 => {
                p.data.truncate(26);
                p.data[2..4].copy_from_slice(&26u16.to_be_bytes());
            }
            _ => {}
        }
        p.fix_checksums();
        fates.push(three.forward(p, &format!("packet {i}")));
    }
    three.assert_same_state();
    let fast = &mut three.fast;
    // Whole packets were accepted, the others dropped.
    assert!(fates.iter().any(|f| f.last() == Some(&Fate::Drop)));
    assert!(fates.iter().any(|f| f.last() == Some(&Fate::Accept)));
    let t = fast.ruleset.table_mut("filter").unwrap();
    let i = t.chain_index("C").unwrap();
    let (_, walk) = t.walk_parts();
    let w = walk.chain(i, 5).unwrap();
    let any = Ipv4Addr::new(10, 9, 0, 1);
    for (rule, proto, need) in [(0, 6, 20), (1, 17, 8)] {
        assert_eq!(
            w.precheck(rule, any, any, proto),
            Some(Precheck::Passes {
                rest_of_ip: false,
                matches: Known::Test(OneTest::Header { need })
            }),
            "rule {rule}"
        );
    }
}

/// Runs `p` through PREROUTING, FORWARD (out of `out`) and POSTROUTING.
fn forward_via(host: &mut Host, p: &mut Packet, out: &str, trace: Option<&mut Trace>) -> Vec<Fate> {
    let mut trace = trace;
    let mut ct = CtRef::default();
    let mut emitted = Vec::new();
    let mut fates = Vec::new();
    for hook in [Hook::Prerouting, Hook::Forward, Hook::Postrouting] {
        if hook == Hook::Forward {
            p.meta.out_iface = Some(out.into());
        }
        let f = run_hook(
            host,
            hook,
            p,
            &mut ct,
            0,
            &mut emitted,
            trace.as_deref_mut(),
        );
        fates.push(f);
        if f != Fate::Accept {
            break;
        }
    }
    fates
}

fn tcp(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, flags: &str, iface: &str) -> Packet {
    let mut p = PacketSpec {
        src,
        dst,
        l4: L4Spec::Tcp {
            sport,
            dport,
            flags: flags.into(),
            seq: 1000,
            ack: if flags.contains('A') { 1001 } else { 0 },
            window: 64240,
        },
        ttl: 64,
        tos: 0,
        id: sport,
        payload_len: 0,
    }
    .build()
    .unwrap();
    p.meta.in_iface = Some(iface.into());
    p
}

#[test]
fn kube_proxy_rules_walk_like_the_kernel() {
    // kube-proxy's shape (`shared/tools/gen-kube-ruleset.py`), as the sim
    // bench walks it: a dispatched KUBE-SERVICES, random endpoint picks,
    // DNAT, the masquerade mark, MASQUERADE --random-fully and the filter
    // table's conntrack rules.
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let out = std::process::Command::new("python3")
        .arg(shared.join("tools/gen-kube-ruleset.py"))
        .arg("300")
        .output()
        .expect("python3 runs the kube-proxy ruleset generator");
    assert!(out.status.success(), "gen-kube-ruleset.py failed");
    let rules = String::from_utf8(out.stdout).unwrap();
    let node = |rules: &str| {
        let mut w = World::new();
        let h = w.add_host("node");
        w.plug(h, "eth0", "192.168.0.1/16", "clients").unwrap();
        w.plug(h, "eth1", "10.128.0.1/10", "pods").unwrap();
        let mut host = w.hosts.swap_remove(h);
        host.sysctl.insert("net.ipv4.ip_forward".into(), "1".into());
        let out = run_argv(&mut host, &["iptables-restore".to_string()], Some(rules));
        assert_eq!(out.exit, 0, "{}", out.stderr);
        host
    };
    let mut three = Three {
        fast: node(&rules),
        linear: {
            let mut h = node(&rules);
            h.linear_walk = true;
            h
        },
        traced: node(&rules),
    };
    let mut r = Rng(0x5eed_0c0f_fee0_1234);
    let mut dnat = 0;
    for i in 0..600u16 {
        // Mostly cluster IPs of services (the generator's 10.96.x.y), some
        // addresses no service has.
        let svc = r.below(330) as usize;
        let dst = Ipv4Addr::new(
            10,
            96 + ((svc >> 16) % 32) as u8,
            (svc >> 8) as u8,
            svc as u8,
        );
        let client = Ipv4Addr::new(192, 168, r.below(4) as u8, 1 + r.below(200) as u8);
        let sport = 30000 + r.below(50) as u16;
        let dport = if r.chance(90) { 80 } else { 443 };
        let mut syn = tcp(client, sport, dst, dport, "S", "eth0");
        let what = format!("flow {i}: {client}:{sport} -> {dst}:{dport}");
        let fates = {
            let (mut a, mut b, mut c) = (syn.clone(), syn.clone(), syn.clone());
            let fa = forward_via(&mut three.fast, &mut a, "eth1", None);
            assert_eq!(
                fa,
                forward_via(&mut three.linear, &mut b, "eth1", None),
                "{what}"
            );
            let mut t = Trace::default();
            assert_eq!(
                fa,
                forward_via(&mut three.traced, &mut c, "eth1", Some(&mut t)),
                "{what}"
            );
            assert_eq!((&a, &a), (&b, &c), "{what}");
            syn = a;
            fa
        };
        if fates.last() != Some(&Fate::Accept) || syn.headers().unwrap().dst == dst {
            continue;
        }
        dnat += 1;
        // The endpoint answers the client's SYN (to the masqueraded source).
        if r.chance(60) {
            let h = syn.headers().unwrap();
            let (s, d) = h.ports().unwrap();
            let reply = tcp(h.dst, d, h.src, s, "SA", "eth1");
            let mut three_out = [reply.clone(), reply.clone(), reply];
            let fa = forward_via(&mut three.fast, &mut three_out[0], "eth0", None);
            let fb = forward_via(&mut three.linear, &mut three_out[1], "eth0", None);
            let mut t = Trace::default();
            let fc = forward_via(&mut three.traced, &mut three_out[2], "eth0", Some(&mut t));
            assert_eq!((&fa, &fa), (&fb, &fc), "reply of {what}");
            assert_eq!(three_out[0], three_out[1], "reply of {what}");
            assert_eq!(three_out[0], three_out[2], "reply of {what}");
            // Un-NATed back to the client.
            let back = three_out[0].headers().unwrap();
            assert_eq!((back.src, back.dst), (dst, client), "reply of {what}");
        }
    }
    assert!(dnat > 300, "only {dnat} flows were DNATed");
    three.assert_same_state();
}
