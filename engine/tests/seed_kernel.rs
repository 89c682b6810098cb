//! A few of the field guide's scenarios (seed_scenarios.rs) against the
//! real kernel and the real tools: the oracle's client–router–server
//! namespaces and the same topology as a lab, the same rules on both, the
//! same commands run by the real nmap, nc, hping3 and ping and by the
//! lab's; what they print, the rules' counters and the conntrack tables
//! must agree once what differs by nature is masked (times, random ports
//! and ids, timeouts). Root only; says why when it skips. `SEED_SHOW=1`
//! prints what the kernel side printed.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
mod oracle;
#[cfg(target_os = "linux")]
mod seed_harness;

#[cfg(target_os = "linux")]
mod cases {
    use super::seed_harness::{missing_tools, real, Both};

    #[test]
    fn seed_scenarios_agree_with_the_kernel() {
        if let Some(why) = missing_tools() {
            println!("skipped: {why}");
            return;
        }
        let tag = format!("sk{}", std::process::id() % 10000);
        let mut b = match Both::new(&tag) {
            Ok(b) => b,
            Err(e) => {
                println!("skipped: {e}");
                return;
            }
        };
        b.listen("server", 6, 22);
        b.listen("server", 6, 80);
        b.settle();

        // REJECT vs DROP, seen with nmap: port unreachable and silence are
        // both `filtered`, a RST `closed`.
        b.reset();
        b.both("server", "iptables -A INPUT -p tcp --dport 22 -j REJECT");
        b.both("server", "iptables -A INPUT -p tcp --dport 81 -j DROP");
        b.compare("client", "nmap -n -p 22,23,80,81 10.2.0.2", false);
        b.compare("client", "nc -zv 10.2.0.2 22", false);
        b.both(
            "server",
            "iptables -R INPUT 1 -p tcp --dport 22 -j REJECT --reject-with tcp-reset",
        );
        b.compare("client", "nmap -n -p 22 10.2.0.2", false);
        b.compare("server", "iptables -L INPUT -v -n -x", false);

        // A router's REJECT of TFTP on FORWARD: `filtered` for nmap -sU
        // (the port unreachable comes from the router), `closed` for a
        // port the server itself refuses.
        b.reset();
        b.both(
            "router",
            "iptables -I FORWARD -p udp --dport 69 -j REJECT --reject-with icmp-port-unreachable",
        );
        b.compare("client", "nmap -n -sU -p 69,70 10.2.0.2", false);
        // (nmap sends its TFTP payloads to 69, the lab's nmap empty
        // datagrams: count nc's probes instead.)
        b.both("router", "iptables -Z");
        b.compare("client", "nc -zvu 10.2.0.2 69", false);
        b.compare("router", "iptables -L FORWARD -v -n -x", false);

        // The stateful firewall on the server, policies DROP.
        b.reset();
        for c in [
            "iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT",
            "iptables -A OUTPUT -m state --state NEW,ESTABLISHED,RELATED -j ACCEPT",
            "iptables -A INPUT -m state --state INVALID -j DROP",
            "iptables -A OUTPUT -m state --state INVALID -j DROP",
            "iptables -P INPUT DROP",
            "iptables -P OUTPUT DROP",
        ] {
            b.both("server", c);
        }
        b.compare("server", "ping -c 2 -i 0.5 10.1.0.2", false);
        b.compare("server", "nc -zv -w 1 10.2.0.1 22", false);
        b.compare("client", "ping -c 1 -W 1 10.2.0.2", false);
        b.compare("client", "hping3 -c 1 -S -p 80 10.2.0.2", false);
        b.compare("client", "hping3 -c 1 -S -F -p 80 10.2.0.2", false);
        b.compare("client", "hping3 -c 1 -A -p 80 10.2.0.2", false);
        b.compare("server", "iptables -L -v -n -x", false);
        b.compare("server", "conntrack -L", true);

        // DNAT port forwarding on the router, 80 and 8080 to 80.
        b.reset();
        b.both(
            "router",
            "iptables -t nat -A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.2.0.2",
        );
        b.both("router", "iptables -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.2.0.2:80");
        b.compare("client", "nc -zv 10.1.0.1 80", false);
        b.compare("client", "nc -zv 10.1.0.1 8080", false);
        b.compare("router", "conntrack -L", true);
        b.compare("router", "iptables -t nat -L PREROUTING -v -n -x", false);
        b.finish();
    }

    /// "Chain Traversal in Depth": a LOG rule in every chain of every table
    /// of the router, one ping through it and one to it; the order of the
    /// LOG lines in `dmesg` is the order the kernel ran the chains
    /// (iptables-nft priorities: raw, mangle, nat on PREROUTING; nat INPUT
    /// after filter INPUT; nat sees only a connection's first packet).
    #[test]
    fn chain_traversal_order_agrees_with_the_kernel() {
        if let Some(why) = missing_tools() {
            println!("skipped: {why}");
            return;
        }
        let all_netns =
            std::fs::read_to_string("/proc/sys/net/netfilter/nf_log_all_netns").unwrap_or_default();
        if all_netns.trim() != "1" {
            println!("skipped: LOG in namespaces is off (net.netfilter.nf_log_all_netns)");
            return;
        }
        let tag = format!("st{}", std::process::id() % 10000);
        let mut b = match Both::new(&tag) {
            Ok(b) => b,
            Err(e) => {
                println!("skipped: {e}");
                return;
            }
        };
        b.reset();
        // The kernel tracks connections in a namespace only once a rule
        // needs it (conntrack, NAT targets...): without one, nat chains see
        // nothing at all. The lab always tracks; give the kernel a user.
        b.both("router", "iptables -N CT-USER");
        b.both(
            "router",
            "iptables -A CT-USER -m conntrack --ctstate INVALID -j DROP",
        );
        let chains: &[(&str, &[&str])] = &[
            ("raw", &["PREROUTING", "OUTPUT"]),
            (
                "mangle",
                &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
            ),
            ("nat", &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]),
            ("filter", &["INPUT", "FORWARD", "OUTPUT"]),
        ];
        for (table, names) in chains {
            for chain in *names {
                b.both(
                    "router",
                    &format!(
                        "iptables -t {table} -A {chain} -p icmp -j LOG --log-prefix '{tag} {table}-{chain} '"
                    ),
                );
            }
        }
        // The kernel's ring buffer is shared by every namespace: read only
        // our tag, after the pings.
        let order = |text: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.split(&format!("{tag} ")).nth(1))
                .filter_map(|r| r.split(' ').next())
                .map(String::from)
                .collect()
        };
        for (host, cmd, what) in [
            ("client", "ping -c 1 10.2.0.2", "through the router"),
            ("client", "ping -c 1 10.1.0.1", "to the router"),
            ("router", "ping -c 1 10.1.0.2", "from the router"),
        ] {
            let (_, kbefore, _) = real(&b.ns("router"), "dmesg");
            let seen_before = order(&kbefore).len();
            let (c1, _, _) = real(&b.ns(host), cmd);
            std::thread::sleep(std::time::Duration::from_millis(100));
            let (_, kafter, _) = real(&b.ns("router"), "dmesg");
            let kernel: Vec<String> = order(&kafter).split_off(seen_before);
            let (_, sbefore, _) = b.sim("router", "dmesg");
            let sim_before = order(&sbefore).len();
            let (c2, _, _) = b.sim(host, cmd);
            let (_, safter, _) = b.sim("router", "dmesg");
            let lab: Vec<String> = order(&safter).split_off(sim_before);
            b.compared += 1;
            assert_eq!((c1, c2), (0, 0), "{cmd}");
            if std::env::var("SEED_SHOW").is_ok() {
                println!("{what}: {}", kernel.join(" "));
            }
            if kernel != lab {
                b.failures.push(format!(
                    "{what}:\n  kernel: {}\n  lab:    {}",
                    kernel.join(" "),
                    lab.join(" ")
                ));
            }
        }
        b.finish();
    }

    /// The kernel starts tracking connections in a namespace only when a
    /// rule needs conntrack (state/conntrack matches, NAT chains,
    /// connlimit...); before that `conntrack -L` is empty. So does the lab.
    #[test]
    fn conntrack_before_any_rule_needs_it() {
        if let Some(why) = missing_tools() {
            println!("skipped: {why}");
            return;
        }
        let tag = format!("sc{}", std::process::id() % 10000);
        let mut b = match Both::new(&tag) {
            Ok(b) => b,
            Err(e) => {
                println!("skipped: {e}");
                return;
            }
        };
        b.compare("client", "ping -c 1 10.2.0.2", false);
        b.compare("server", "conntrack -L", true);
        b.finish();
    }

    /// nmap scans 22 and 123 from one source port while 123 is redirected
    /// to 22. The two connections then want the same reply tuple: the
    /// REDIRECT keeps the taken tuple (no other port in its range) and the
    /// nat INPUT null binding gives the second connection another source
    /// port, so both ports are open.
    #[test]
    fn redirect_onto_a_scanned_port() {
        if let Some(why) = missing_tools() {
            println!("skipped: {why}");
            return;
        }
        let tag = format!("sr{}", std::process::id() % 10000);
        let mut b = match Both::new(&tag) {
            Ok(b) => b,
            Err(e) => {
                println!("skipped: {e}");
                return;
            }
        };
        b.listen("router", 6, 22);
        b.settle();
        b.reset();
        b.both(
            "router",
            "iptables -t nat -A PREROUTING -p tcp --dport 123 -j REDIRECT --to-ports 22",
        );
        b.compare("client", "nmap -n -p 22,123 10.1.0.1", false);
        b.finish();
    }
}
