//! The linter (`engine::lint`): each kind of warning on a rule set that has
//! the problem (the right kind, chain and rule number, and nothing else),
//! silence on the fixed rule set, and no false alarms on the real-world
//! corpus (`shared/data/corpus/expected/*.nft-1.8.9.save`).

mod common;

use common::sh;
use engine::lint::{lint, LintContext, Warning};
use engine::sim::host::{Host, Listener};
use engine::sim::iface::{IfAddr, Iface};
use engine::sim::route::Route;
use std::net::Ipv4Addr;

fn run_all(host: &mut Host, cmds: &str) {
    for line in cmds.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let out = sh(host, line);
        assert_eq!(out.exit, 0, "`{line}`: {}", out.stderr);
    }
}

fn host(cmds: &str) -> Host {
    let mut h = Host::new("fw");
    run_all(&mut h, cmds);
    h
}

fn iface(name: &str, addr: [u8; 4], prefix: u8) -> Iface {
    Iface {
        name: name.into(),
        mac: [2, 0, 0, 0, 0, addr[3]],
        addrs: vec![IfAddr {
            addr: addr.into(),
            prefix,
        }],
        up: true,
        link: None,
        mtu: 1500,
    }
}

/// A router: eth0 203.0.113.1/24 (default route via 203.0.113.254), eth1
/// 192.168.1.1/24.
fn router(cmds: &str) -> Host {
    let mut h = Host::new("router");
    h.ifaces.push(iface("eth0", [203, 0, 113, 1], 24));
    h.ifaces.push(iface("eth1", [192, 168, 1, 1], 24));
    h.routes.push(Route {
        dst: Ipv4Addr::UNSPECIFIED,
        prefix: 0,
        via: Some(Ipv4Addr::new(203, 0, 113, 254)),
        dev: "eth0".into(),
        connected: false,
    });
    h.sysctl.insert("net.ipv4.ip_forward".into(), "1".into());
    run_all(&mut h, cmds);
    h
}

fn warnings(h: &Host) -> Vec<Warning> {
    lint(h, &LintContext::default())
}

/// The one warning there must be.
fn only(ws: Vec<Warning>) -> Warning {
    assert_eq!(ws.len(), 1, "{ws:#?}");
    ws.into_iter().next().unwrap_or_else(|| unreachable!())
}

fn at(w: &Warning) -> (&str, &str, &str, Option<usize>) {
    (w.kind, w.table.as_str(), w.chain.as_str(), w.rule)
}

#[test]
fn shadowed_rule_names_the_rule_that_catches_it() {
    let w = only(warnings(&host(
        "iptables -A INPUT -i lo -j ACCEPT
         iptables -A INPUT -s 10.0.0.0/8 -j DROP
         iptables -A INPUT -p tcp --dport 22 -j ACCEPT
         iptables -A INPUT -s 10.1.2.3 -p tcp --dport 22 -j ACCEPT",
    )));
    assert_eq!(at(&w), ("shadowed", "filter", "INPUT", Some(4)));
    assert_eq!(
        w.message,
        "rule 4 (-s 10.1.2.3/32 -p tcp -m tcp --dport 22 -j ACCEPT) can never match: \
         rule 2 (-s 10.0.0.0/8 -j DROP) catches all its packets"
    );
    // Fixed: the exception before the DROP.
    assert_eq!(
        warnings(&host(
            "iptables -A INPUT -i lo -j ACCEPT
             iptables -A INPUT -s 10.1.2.3 -p tcp --dport 22 -j ACCEPT
             iptables -A INPUT -s 10.0.0.0/8 -j DROP
             iptables -A INPUT -p tcp --dport 22 -j ACCEPT"
        )),
        vec![]
    );
}

#[test]
fn shadowing_through_ports_states_interfaces_and_ranges() {
    let cases = [
        (
            "iptables -A INPUT -p tcp --dport 20:30 -j DROP
             iptables -A INPUT -p tcp --dport 22 -j ACCEPT",
            2,
        ),
        (
            "iptables -A INPUT -p tcp -m multiport --dports 80,443,8000:8100 -j ACCEPT
             iptables -A INPUT -p tcp -m multiport --dports 443,8080 -j DROP",
            2,
        ),
        (
            "iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
             iptables -A INPUT -p tcp -m conntrack --ctstate ESTABLISHED -j DROP",
            2,
        ),
        (
            "iptables -A FORWARD -i eth+ -j DROP
             iptables -A FORWARD -i eth0 -p udp -j ACCEPT",
            2,
        ),
        (
            "iptables -A INPUT -s 192.168.1.0/24 -j REJECT
             iptables -A INPUT -m iprange --src-range 192.168.1.20-192.168.1.25 -j ACCEPT",
            2,
        ),
        (
            "iptables -A INPUT ! -s 10.0.0.0/8 -j DROP
             iptables -A INPUT -s 192.168.1.1 -j ACCEPT",
            2,
        ),
        (
            "iptables -A INPUT -p icmp --icmp-type echo-request -j ACCEPT
             iptables -A INPUT -p icmp --icmp-type 8/0 -j DROP",
            2,
        ),
        (
            "iptables -A INPUT -p tcp -j LOG
             iptables -A INPUT -p tcp -j DROP
             iptables -A INPUT -p tcp --syn -m comment --comment web -j ACCEPT",
            3,
        ),
        // A jump to a chain no packet comes back from.
        (
            "iptables -N LOGDROP
             iptables -A LOGDROP -j LOG --log-prefix DROP:
             iptables -A LOGDROP -j DROP
             iptables -A INPUT -s 10.0.0.0/8 -j LOGDROP
             iptables -A INPUT -s 10.1.1.1 -j ACCEPT",
            2,
        ),
    ];
    for (cmds, n) in cases {
        let ws = warnings(&host(cmds));
        assert_eq!(ws.len(), 1, "{cmds}: {ws:#?}");
        let w = &ws[0];
        assert_eq!(w.kind, "shadowed", "{cmds}");
        assert_eq!(w.rule, Some(n), "{cmds}");
    }
}

#[test]
fn no_shadowing_alarm_when_unsure() {
    for cmds in [
        // A rate limit matches only some packets.
        "iptables -A INPUT -p icmp -m limit --limit 1/sec -j ACCEPT
         iptables -A INPUT -p icmp -j DROP",
        // A narrower earlier rule.
        "iptables -A INPUT -p tcp --dport 22 -j ACCEPT
         iptables -A INPUT -p tcp -j DROP",
        // LOG does not end the chain.
        "iptables -A INPUT -p tcp --dport 22 -j LOG
         iptables -A INPUT -p tcp --dport 22 -j DROP",
        // The packet's mark changes between the two rules.
        "iptables -A INPUT -m mark --mark 1 -j DROP
         iptables -A INPUT -j MARK --set-mark 1
         iptables -A INPUT -m mark --mark 1 -j ACCEPT",
        // Inverted source against a source inside it.
        "iptables -A INPUT ! -s 10.0.0.0/8 -j DROP
         iptables -A INPUT -s 10.1.1.1 -j ACCEPT",
        // The narrower rule inverted.
        "iptables -A INPUT -s 10.0.0.0/8 -j DROP
         iptables -A INPUT ! -s 10.1.1.1 -j ACCEPT",
        // Another interface.
        "iptables -A INPUT -i eth+ -j DROP
         iptables -A INPUT -i wlan0 -j ACCEPT",
        // States apart.
        "iptables -A INPUT -m state --state NEW -j DROP
         iptables -A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT",
        // The conntrack state changes between the two rules.
        // (before `CT --notrack` no packet is UNTRACKED yet).
        "iptables -t raw -A PREROUTING -p tcp -m state --state UNTRACKED -j DROP
         iptables -t raw -A PREROUTING -p tcp -j CT --notrack
         iptables -t raw -A PREROUTING -p tcp -m state --state UNTRACKED -j ACCEPT",
        // A jump to a chain packets may come back from.
        "iptables -N SSH
         iptables -A SSH -s 10.0.0.0/8 -j ACCEPT
         iptables -A INPUT -p tcp -j SSH
         iptables -A INPUT -p tcp --dport 22 -j DROP",
        "iptables -N SSH
         iptables -A SSH -p tcp -j RETURN
         iptables -A SSH -j DROP
         iptables -A INPUT -j SSH
         iptables -A INPUT -p tcp --dport 22 -j ACCEPT",
    ] {
        let ws: Vec<Warning> = warnings(&host(cmds))
            .into_iter()
            .filter(|w| w.kind == "shadowed")
            .collect();
        assert!(ws.is_empty(), "{cmds}: {ws:#?}");
    }
}

#[test]
fn unreachable_chain() {
    let w = only(warnings(&host(
        "iptables -N LOGDROP
         iptables -A LOGDROP -j LOG --log-prefix DROP:
         iptables -A LOGDROP -j DROP
         iptables -A INPUT -p tcp --dport 23 -j DROP",
    )));
    assert_eq!(at(&w), ("unreachable-chain", "filter", "LOGDROP", None));
    assert!(
        w.message.contains("no rule jumps or goes to it"),
        "{}",
        w.message
    );
    // Reached only from a chain nothing reaches.
    let ws = warnings(&host(
        "iptables -N A
         iptables -N B
         iptables -A B -j DROP
         iptables -A A -j B",
    ));
    let chains: Vec<&str> = ws.iter().map(|w| w.chain.as_str()).collect();
    assert_eq!(chains, ["A", "B"], "{ws:#?}");
    assert!(
        ws[1].message.contains("only chain A jumps to it"),
        "{}",
        ws[1].message
    );
    // Fixed.
    assert_eq!(
        warnings(&host(
            "iptables -N LOGDROP
             iptables -A LOGDROP -j LOG --log-prefix DROP:
             iptables -A LOGDROP -j DROP
             iptables -A INPUT -p tcp --dport 23 -j LOGDROP"
        )),
        vec![]
    );
}

#[test]
fn jump_to_empty_chain() {
    let w = only(warnings(&host(
        "iptables -N TCP_TRAFFIC
         iptables -A INPUT -p icmp -j ACCEPT
         iptables -A INPUT -p tcp -j TCP_TRAFFIC",
    )));
    assert_eq!(at(&w), ("empty-jump", "filter", "INPUT", Some(2)));
    assert_eq!(
        w.message,
        "rule 2 (-p tcp -j TCP_TRAFFIC) jumps to chain TCP_TRAFFIC, which has no rules: \
         the jump does nothing"
    );
    assert_eq!(
        warnings(&host(
            "iptables -N TCP_TRAFFIC
             iptables -A TCP_TRAFFIC -p tcp -j ACCEPT
             iptables -A INPUT -p icmp -j ACCEPT
             iptables -A INPUT -p tcp -j TCP_TRAFFIC"
        )),
        vec![]
    );
}

#[test]
fn drop_policy_without_established() {
    let w = only(warnings(&host(
        "iptables -A INPUT -i lo -j ACCEPT
         iptables -A INPUT -p tcp --dport 22 -j ACCEPT
         iptables -P INPUT DROP",
    )));
    assert_eq!(at(&w), ("no-established", "filter", "INPUT", None));
    assert!(w
        .message
        .starts_with("INPUT drops by default (its policy DROP)"));
    // A REJECT-everything rule at the end.
    let w = only(warnings(&host(
        "iptables -A OUTPUT -p udp --dport 53 -j ACCEPT
         iptables -A OUTPUT -j REJECT",
    )));
    assert_eq!(at(&w), ("no-established", "filter", "OUTPUT", Some(2)));
    // Fixed: directly, or in a chain INPUT jumps to.
    assert_eq!(
        warnings(&host(
            "iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
             iptables -A INPUT -i lo -j ACCEPT
             iptables -A INPUT -p tcp --dport 22 -j ACCEPT
             iptables -P INPUT DROP"
        )),
        vec![]
    );
    assert_eq!(
        warnings(&host(
            "iptables -N before
             iptables -A before -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
             iptables -A INPUT -j before
             iptables -A INPUT -p tcp --dport 22 -j ACCEPT
             iptables -P INPUT DROP"
        )),
        vec![]
    );
    // A chain that accepts nothing at all is closed on purpose.
    assert_eq!(warnings(&host("iptables -P FORWARD DROP")), vec![]);
}

fn server(cmds: &str) -> Host {
    let mut h = Host::new("server");
    h.ifaces.push(iface("eth0", [10, 0, 0, 1], 24));
    run_all(&mut h, cmds);
    h
}

#[test]
fn ssh_cut_from_the_admin_host() {
    let admin = LintContext {
        admin: Some(Ipv4Addr::new(10, 0, 0, 5)),
    };
    let h = server(
        "iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
         iptables -A INPUT -p tcp --dport 80 -j ACCEPT
         iptables -P INPUT DROP",
    );
    let w = only(lint(&h, &admin));
    assert_eq!(at(&w), ("ssh-cut", "filter", "INPUT", None));
    assert_eq!(
        w.message,
        "SSH from the admin host 10.0.0.5 would be cut: a new connection (SYN to tcp port 22) \
         is dropped by the INPUT policy DROP"
    );
    // A rule that drops it, from the admin's network.
    let h = server(
        "iptables -A INPUT -s 10.0.0.0/24 -p tcp --dport 22 -j REJECT --reject-with tcp-reset",
    );
    let w = only(lint(&h, &admin));
    assert_eq!(at(&w), ("ssh-cut", "filter", "INPUT", Some(1)));
    assert!(
        w.message.contains("is rejected by INPUT rule 1"),
        "{}",
        w.message
    );
    // Established sessions cut: only NEW is accepted.
    let h = server(
        "iptables -A INPUT -p tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT
         iptables -A INPUT -m conntrack --ctstate ESTABLISHED -p udp -j ACCEPT
         iptables -P INPUT DROP",
    );
    let w = only(lint(&h, &admin));
    assert_eq!(w.kind, "ssh-cut");
    assert!(
        w.message.contains("the packets of an established session"),
        "{}",
        w.message
    );
    // Fixed: the admin may connect.
    let h = server(
        "iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
         iptables -A INPUT -s 10.0.0.5 -p tcp --dport 22 -j ACCEPT
         iptables -A INPUT -p tcp --dport 80 -j ACCEPT
         iptables -P INPUT DROP",
    );
    assert_eq!(lint(&h, &admin), vec![]);
    // Another source is dropped, not the admin.
    let h = server("iptables -A INPUT -s 10.0.0.7 -p tcp --dport 22 -j DROP");
    assert_eq!(lint(&h, &admin), vec![]);
}

#[test]
fn ssh_cut_from_everyone_without_an_admin_host() {
    let cmds = "iptables -A INPUT -i lo -j ACCEPT
                iptables -A INPUT -p tcp --dport 22 -j DROP";
    // No SSH server: nothing to cut.
    assert_eq!(warnings(&server(cmds)), vec![]);
    let mut h = server(cmds);
    h.listeners.push(Listener {
        proto: 6,
        port: 22,
        addr: None,
        service: "ssh".into(),
    });
    let w = only(warnings(&h));
    assert_eq!(at(&w), ("ssh-cut", "filter", "INPUT", Some(2)));
    assert!(w
        .message
        .starts_with("SSH from every other host would be cut"));
    // Allowed from one network: not cut for everyone.
    run_all(
        &mut h,
        "iptables -I INPUT -s 10.0.0.0/24 -p tcp --dport 22 -j ACCEPT",
    );
    assert_eq!(warnings(&h), vec![]);
}

#[test]
fn dnat_without_forward_accept() {
    let base = "iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination 192.168.1.10:80
                iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
                iptables -A FORWARD -i eth1 -o eth0 -j ACCEPT
                iptables -P FORWARD DROP";
    let w = only(warnings(&router(base)));
    assert_eq!(at(&w), ("dnat-no-forward", "nat", "PREROUTING", Some(1)));
    assert!(
        w.message.contains(
            "sends connections to 192.168.1.10 port 80, but no FORWARD rule accepts them"
        ),
        "{}",
        w.message
    );
    let mut h = router(base);
    run_all(
        &mut h,
        "iptables -A FORWARD -d 192.168.1.10 -p tcp --dport 80 -j ACCEPT",
    );
    assert_eq!(warnings(&h), vec![]);
    // Accepting another port does not help.
    let mut h = router(base);
    run_all(
        &mut h,
        "iptables -A FORWARD -d 192.168.1.10 -p tcp --dport 8080 -j ACCEPT",
    );
    assert_eq!(only(warnings(&h)).kind, "dnat-no-forward");
}

#[test]
fn masquerade_on_an_interface_no_route_uses() {
    let w = only(warnings(&router(
        "iptables -t nat -A POSTROUTING -o eth2 -j MASQUERADE",
    )));
    assert_eq!(at(&w), ("nat-unused-iface", "nat", "POSTROUTING", Some(1)));
    assert!(
        w.message.contains("this host has no interface eth2"),
        "{}",
        w.message
    );
    let mut h = router("iptables -t nat -A POSTROUTING -o eth2 -j SNAT --to-source 198.51.100.1");
    let mut down = iface("eth2", [0, 0, 0, 0], 0);
    down.addrs.clear();
    h.ifaces.push(down);
    let w = only(warnings(&h));
    assert!(
        w.message.contains("no route of this host uses eth2"),
        "{}",
        w.message
    );
    assert_eq!(
        warnings(&router(
            "iptables -t nat -A POSTROUTING -s 192.168.1.0/24 -o eth0 -j MASQUERADE"
        )),
        vec![]
    );
}

#[test]
fn lint_and_explain_commands() {
    let mut h = host("iptables -A INPUT -j DROP\niptables -A INPUT -p tcp -j ACCEPT");
    let out = sh(&mut h, "lint");
    assert_eq!(out.exit, 1);
    assert_eq!(
        out.stdout,
        "filter INPUT rule 2: rule 2 (-p tcp -j ACCEPT) can never match: rule 1 (-j DROP) \
         catches all its packets [shadowed]\n"
    );
    let json = sh(&mut h, "lint --json");
    assert!(
        json.stdout.contains("\"kind\": \"shadowed\""),
        "{}",
        json.stdout
    );
    let mut clean = host("iptables -A INPUT -p tcp --dport 22 -j ACCEPT");
    let out = sh(&mut clean, "lint");
    assert_eq!((out.exit, out.stdout.as_str()), (0, "no warnings\n"));
    assert_eq!(sh(&mut clean, "lint --admin nowhere").exit, 2);

    let before = sh(&mut h, "iptables-save").stdout;
    let out = sh(
        &mut h,
        "explain iptables -A INPUT -s 192.168.1.0/24 -p tcp --dport 22 -m state --state NEW -j DROP",
    );
    assert_eq!(out.exit, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "Drops TCP packets from 192.168.1.0/24 to port 22 that start a new connection.\n"
    );
    let out = sh(&mut h, "explain -A INPUT -i wlan+ -j ACCEPT");
    assert_eq!(
        out.stdout,
        "Accepts packets arriving on any interface whose name starts with wlan.\n"
    );
    let out = sh(
        &mut h,
        "explain iptables -I INPUT 2 -p udp --dport 53 -j ACCEPT",
    );
    assert_eq!(out.stdout, "Accepts UDP packets to port 53.\n");
    let out = sh(
        &mut h,
        "explain 'iptables -A INPUT -p tcp --dport 22 -j DROP'",
    );
    assert_eq!(out.stdout, "Drops TCP packets to port 22.\n");
    let out = engine::lint::cmd::explain_line(&h, "-A INPUT -p icmp -j ACCEPT");
    assert_eq!(out.stdout, "Accepts all ICMP packets.\n");
    let out = sh(&mut h, "explain iptables -P INPUT DROP");
    assert!(out.stdout.contains("are dropped"), "{}", out.stdout);
    // Errors are iptables' own.
    let out = sh(&mut h, "explain iptables -A INPUT -p tcp --dport -j DROP");
    assert_eq!(out.exit, 2);
    assert!(
        out.stderr.starts_with("iptables v1.8.9 (nf_tables): "),
        "{}",
        out.stderr
    );
    let out = sh(&mut h, "explain iptables -A NOPE -j DROP");
    assert_eq!(out.exit, 1, "{}", out.stderr);
    // Other commands: a sentence, or iptables' refusal (`-Lvn` is `-L vn`).
    let out = sh(&mut h, "explain iptables -F");
    assert_eq!(
        out.stdout,
        "Deletes every rule of every chain of table filter; the policies stay as they are.\n"
    );
    let out = sh(&mut h, "explain iptables -D INPUT 1");
    assert_eq!(out.stdout, "Deletes rule 1 of INPUT: Drops all packets.\n");
    let out = sh(&mut h, "explain iptables -Lvn");
    assert_eq!(out.exit, 1);
    assert!(
        out.stderr
            .contains("chain `vn' in table `filter' is incompatible"),
        "{}",
        out.stderr
    );
    // Nothing changed.
    assert_eq!(sh(&mut h, "iptables-save").stdout, before);
    // The whole table, by number.
    let out = sh(&mut h, "explain");
    assert!(
        out.stdout.contains(
            "Chain INPUT (policy ACCEPT):\n   1  -A INPUT -j DROP\n      Drops all packets.\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("   2  -A INPUT -p tcp -j ACCEPT\n      Accepts all TCP packets.\n"),
        "{}",
        out.stdout
    );
    let out = sh(&mut h, "explain -t nat");
    assert_eq!(out.exit, 0);
    assert_eq!(sh(&mut h, "explain -t bogus").exit, 3);
}

/// Objects some corpus files need before their restore.
fn corpus_setup(name: &str) -> &'static [&'static str] {
    if name.starts_with("docker-03") {
        &["ipset create docker-ext-bridges-v4 hash:net"]
    } else if name.starts_with("kube-proxy-01") || name.starts_with("kube-proxy-04") {
        &[
            "nfacct add ct_state_invalid_dropped_pkts",
            "nfacct add localhost_nps_accepted_pkts",
        ]
    } else {
        &[]
    }
}

/// Every corpus file loaded on a fresh host (loopback only), with its
/// warnings, by file name.
fn corpus() -> Option<Vec<(String, Host, Vec<Warning>)>> {
    let dir = common::shared_dir()?.join("data/corpus/expected");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".nft-1.8.9.save"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let text = std::fs::read_to_string(dir.join(&name)).expect("corpus file");
        let mut h = Host::new("corpus");
        run_all(&mut h, &corpus_setup(&name).join("\n"));
        let restored = common::sh_stdin(&mut h, "iptables-restore", &text);
        assert_eq!(restored.exit, 0, "{name}: {}", restored.stderr);
        let ws = warnings(&h);
        out.push((name, h, ws));
    }
    Some(out)
}

/// The corpus rule sets are real and mostly sound. What the linter finds
/// in them is checked here against the rules themselves:
/// - `shadowed`: one real duplicate, docker-06's second `-i docker0 -j
///   RETURN` in nat DOCKER (that old Docker added the rule twice); and
///   ufw-01's INPUT rule 6 (`-j ufw-track-input`): rule 5 jumps to
///   ufw-reject-input, whose only rule rejects every packet, so nothing
///   reaches rule 6.
/// - `unreachable-chain`: partial dumps (kube-proxy-04*, ufw-03 are
///   restore inputs without the base chains' jumps) and chains whose only
///   callers are empty placeholders (ufw's user chains): each is checked
///   to have rules and no caller that packets reach, and every other chain
///   with rules to have one.
/// - `empty-jump`: placeholder chains (ufw, OpenWrt, kube-proxy): each is
///   checked to jump to a chain with no rules, and every such jump to be
///   reported.
/// - `nat-unused-iface`: the corpus host has only `lo`, so MASQUERADE on
///   eth1 / tun0 really never applies here.
/// - nothing else: no DROP policy without ESTABLISHED, no SSH cut, no DNAT
///   without FORWARD.
#[test]
fn corpus_has_no_false_alarms() {
    let Some(all) = corpus() else { return };
    assert!(all.len() >= 20, "corpus files: {}", all.len());
    let mut seen = Vec::new();
    for (name, h, ws) in &all {
        for w in ws {
            match w.kind {
                "shadowed" | "nat-unused-iface" => seen.push((
                    name.split('.').next().unwrap_or_default().to_string(),
                    w.kind,
                    w.table.clone(),
                    w.chain.clone(),
                    w.rule,
                )),
                "unreachable-chain" | "empty-jump" => {}
                other => panic!("{name}: unexpected {other}: {}", w.message),
            }
        }
        for table in h.ruleset.tables.iter().filter(|t| t.exists) {
            let unreachable: Vec<&str> = ws
                .iter()
                .filter(|w| w.kind == "unreachable-chain" && w.table == table.name)
                .map(|w| w.chain.as_str())
                .collect();
            for c in &table.chains {
                if c.is_builtin() || c.rules.is_empty() {
                    assert!(!unreachable.contains(&c.name.as_str()), "{name} {}", c.name);
                    continue;
                }
                let callers: Vec<&str> = table
                    .chains
                    .iter()
                    .filter(|k| k.rules.iter().any(|r| r.target.chain() == Some(&c.name)))
                    .map(|k| k.name.as_str())
                    .collect();
                let reached = callers.iter().any(|k| !unreachable.contains(k));
                assert_eq!(
                    reached,
                    !unreachable.contains(&c.name.as_str()),
                    "{name}: {} {} (callers {callers:?})",
                    table.name,
                    c.name
                );
            }
            let mut empty_jumps = 0;
            for c in &table.chains {
                for (i, r) in c.rules.iter().enumerate() {
                    let Some(t) = r.target.chain() else { continue };
                    let empty = table.chain(t).is_some_and(|k| k.rules.is_empty());
                    let warned = ws.iter().any(|w| {
                        w.kind == "empty-jump"
                            && w.table == table.name
                            && w.chain == c.name
                            && w.rule == Some(i + 1)
                    });
                    assert_eq!(
                        empty,
                        warned,
                        "{name}: {} {} rule {}",
                        table.name,
                        c.name,
                        i + 1
                    );
                    empty_jumps += usize::from(empty);
                }
            }
            let reported = ws
                .iter()
                .filter(|w| w.kind == "empty-jump" && w.table == table.name)
                .count();
            assert_eq!(reported, empty_jumps, "{name} {}", table.name);
        }
    }
    let want: Vec<(String, &str, String, String, Option<usize>)> = vec![
        (
            "docker-06-real-2018-legacy-nat-quirks".into(),
            "shadowed",
            "nat".into(),
            "DOCKER".into(),
            Some(2),
        ),
        (
            "ufw-01-ubuntu1404-default-save".into(),
            "shadowed",
            "filter".into(),
            "INPUT".into(),
            Some(6),
        ),
        (
            "fail2ban-01-ubuntu1404-router-legacy-chains".into(),
            "nat-unused-iface",
            "nat".into(),
            "POSTROUTING".into(),
            Some(1),
        ),
        (
            "openwrt-01-fw3-lede-2017".into(),
            "nat-unused-iface",
            "nat".into(),
            "POSTROUTING".into(),
            Some(1),
        ),
    ];
    let mut want = want;
    want.sort();
    seen.sort();
    assert_eq!(seen, want);
    let total = |kind: &str| -> usize {
        all.iter()
            .map(|(_, _, ws)| ws.iter().filter(|w| w.kind == kind).count())
            .sum()
    };
    println!(
        "corpus: {} unreachable chains, {} jumps to empty chains",
        total("unreachable-chain"),
        total("empty-jump")
    );
}

/// Chains jumped to from many rules multiply the paths through a rule set;
/// the linter gives up on such a walk (no warning) instead of hanging.
#[test]
fn many_paths_do_not_hang() {
    let mut cmds = String::new();
    for i in 0..12 {
        cmds.push_str(&format!("iptables -N C{i}\n"));
    }
    cmds.push_str("iptables -A C11 -p udp -j ACCEPT\n");
    for i in (0..11).rev() {
        for port in 1..=4 {
            cmds.push_str(&format!(
                "iptables -A C{i} -p tcp --sport {port} -j C{}\n",
                i + 1
            ));
        }
    }
    cmds.push_str("iptables -A INPUT -j C0\niptables -P INPUT DROP\n");
    let mut h = server(&cmds);
    h.listeners.push(Listener {
        proto: 6,
        port: 22,
        addr: None,
        service: "ssh".into(),
    });
    let start = std::time::Instant::now();
    let ws = warnings(&h);
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    // 4^11 paths: the walk stops at its budget, so its verdict is unknown
    // and the (true) ssh-cut is not claimed.
    assert!(ws.iter().all(|w| w.kind != "ssh-cut"), "{ws:#?}");
}

/// Without an admin address, the peers of the SSH sessions the host has
/// now are the ones not to cut.
#[test]
fn ssh_cut_for_a_connected_session() {
    use engine::sim::tools::net::connect;
    use engine::sim::world::World;
    let mut w = World::new();
    let c = w.add_host("admin");
    let s = w.add_host("server");
    w.plug(c, "eth0", "10.0.0.5/24", "lan")
        .unwrap_or_else(|e| panic!("{e}"));
    w.plug(s, "eth0", "10.0.0.1/24", "lan")
        .unwrap_or_else(|e| panic!("{e}"));
    w.hosts[s].listeners.push(Listener {
        proto: 6,
        port: 22,
        addr: None,
        service: "ssh".into(),
    });
    // The server tracks connections (a state rule), then an open session
    // from 10.0.0.5 (handshake done, not closed).
    run_all(
        &mut w.hosts[s],
        "iptables -A INPUT -m state --state INVALID -j DROP",
    );
    let session = connect(&mut w, c, Ipv4Addr::new(10, 0, 0, 1), 22, None);
    assert!(session.is_ok());
    // Closed to everyone but 10.0.0.7: the session from 10.0.0.5 is cut.
    run_all(
        &mut w.hosts[s],
        "iptables -A INPUT -p udp -m state --state ESTABLISHED -j ACCEPT
         iptables -A INPUT -s 10.0.0.7 -p tcp --dport 22 -j ACCEPT
         iptables -P INPUT DROP",
    );
    let w1 = only(warnings(&w.hosts[s]));
    assert_eq!(at(&w1), ("ssh-cut", "filter", "INPUT", None));
    assert!(
        w1.message
            .starts_with("SSH from 10.0.0.5 (connected now) would be cut"),
        "{}",
        w1.message
    );
    // Fixed: the connected admin may go on.
    run_all(
        &mut w.hosts[s],
        "iptables -I INPUT -s 10.0.0.5 -p tcp --dport 22 -j ACCEPT",
    );
    assert_eq!(warnings(&w.hosts[s]), vec![]);
}
