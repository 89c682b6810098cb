//! Every scenario of the field guide (seed_scenarios.rs) against the real
//! kernel and tools, on the oracle's client (10.1.0.2) – router (10.1.0.1,
//! 10.2.0.1) – server (10.2.0.2) namespaces and the same lab
//! (tests/seed_harness). The guide's hosts map onto these three: its
//! scanner, pc20 and admin are the client (other sources are the router,
//! or spoofed with `hping3 -a`), its server and workstation the server
//! (or the client for outgoing rules, the router for interface and MAC
//! rules), its fw the router. Where a scenario reads a web page the real
//! side has only `nc -lk` listeners: connections stand in for pages.
//! Where the guide waits minutes or uses fixed dates, the time rules are
//! written around the real time (the lab clock starts at it). Each
//! comparison: exit, stdout and stderr of the same command (masked: times,
//! ephemeral ports, ids), the rules' counters, conntrack tables, `dmesg`
//! lines. Root only; says why when it skips. `SEED_SHOW=1` prints what the
//! kernel side printed.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
mod oracle;
#[cfg(target_os = "linux")]
mod seed_harness;

#[cfg(target_os = "linux")]
mod cases {
    use super::seed_harness::{log_in_namespaces, missing_tools, real, tag, Both};

    /// The namespaces with the scenarios' listeners, or why not.
    fn start(prefix: &str, names: &[(&str, &str)]) -> Option<(Both, String)> {
        if let Some(why) = missing_tools() {
            println!("skipped: {why}");
            return None;
        }
        let t = tag(prefix);
        let mut b = match Both::with_names(&t, names) {
            Ok(b) => b,
            Err(e) => {
                println!("skipped: {e}");
                return None;
            }
        };
        for port in [22, 25, 80, 443] {
            b.listen("server", 6, port);
        }
        b.listen("server", 17, 53);
        b.listen("router", 6, 22);
        b.listen("router", 6, 8080);
        b.settle();
        Some((b, t))
    }

    // -----------------------------------------------------------------
    // seed-lan: REJECT/DROP/LOG, sets, resets, user chains, counters
    // -----------------------------------------------------------------

    /// "REJECT vs DROP" seen with the server's tcpdump: the SYN and the
    /// ICMP port unreachable; DROP: the SYN and its retransmission.
    fn reject_vs_drop_with_tcpdump(b: &mut Both) {
        b.reset();
        b.ok(
            "server",
            "iptables -I INPUT -p tcp --dport 22 -s 10.1.0.2 -j REJECT",
        );
        b.cmp_capture(
            "server",
            "-i s0 host 10.1.0.2",
            "client",
            "nmap -n -p 22 10.2.0.2",
        );
        b.ok(
            "server",
            "iptables -R INPUT 1 -p tcp --dport 22 -s 10.1.0.2 -j DROP",
        );
        b.cmp_capture(
            "server",
            "-i s0 host 10.1.0.2",
            "client",
            "nc -z -w 2 10.2.0.2 22",
        );
        b.cmp("server", "iptables -L INPUT -v -n -x");
    }

    /// "Terminating TARGETS" and "Non Terminating": ACCEPT ends the walk,
    /// LOG goes on to the DROP (its lines read with dmesg).
    fn terminating_and_non_terminating(b: &mut Both, t: &str) {
        b.reset();
        b.ok(
            "server",
            "iptables -A INPUT -p tcp --dport 22 -j ACCEPT
            iptables -A INPUT -p tcp -j DROP",
        );
        b.cmp("client", "nc -zv -w 2 10.2.0.2 22");
        b.cmp("client", "nc -zv -w 2 10.2.0.2 80");
        b.cmp("server", "iptables -L INPUT -v -n -x");
        b.ok(
            "server",
            &format!(
                "iptables -F
                iptables -A INPUT -p tcp --dport 22 -j LOG --log-prefix '{t}-term '
                iptables -A INPUT -p tcp -j DROP"
            ),
        );
        if log_in_namespaces() {
            b.cmp_log(
                "server",
                "client",
                "nc -zv -w 2 10.2.0.2 22",
                &format!("{t}-term "),
            );
        }
        b.cmp("server", "iptables -L INPUT -v -n -x");
    }

    /// `--log-prefix`, `--log-level info` and `--syn`; `dmesg -l`.
    fn log_prefix_and_level(b: &mut Both, t: &str) {
        b.reset();
        b.ok(
            "server",
            &format!(
                "iptables -A INPUT -p tcp --dport 80 -j LOG --log-prefix '{t}-www '
                iptables -A INPUT -p tcp --dport 22 --syn -j LOG --log-prefix=\"{t} incoming ssh:\" --log-level info"
            ),
        );
        b.cmp("server", "iptables -S INPUT");
        if log_in_namespaces() {
            b.cmp_log(
                "server",
                "client",
                "nc -z 10.2.0.2 22",
                &format!("{t} incoming ssh:"),
            );
            // (The guide fetches a page; the real side has nc: a connection.)
            b.cmp_log(
                "server",
                "client",
                "nc -z 10.2.0.2 80",
                &format!("{t}-www "),
            );
            b.cmp("server", &format!("dmesg -l info | grep '{t} incoming'"));
            b.cmp(
                "server",
                &format!("dmesg --level=warn | grep -c '{t}-www '"),
            );
        }
        b.cmp("server", "dmesg -l loud");
    }

    /// MYNEWSET: one `-m set` rule for three addresses; the guide's other
    /// ipset commands.
    fn ipset_mynewset(b: &mut Both) {
        b.reset();
        b.ok(
            "server",
            "ipset -N MYNEWSET hash:ip
            ipset -A MYNEWSET 1.1.1.1
            ipset -A MYNEWSET 2.2.2.2
            ipset -A MYNEWSET 8.8.8.8
            iptables -A INPUT -m set --match-set MYNEWSET src -j DROP",
        );
        for src in ["1.1.1.1", "2.2.2.2", "8.8.8.8"] {
            b.send("client", &format!("hping3 -c 1 -S -p 22 -a {src} 10.2.0.2"));
        }
        // 9.9.9.9 is answered (towards the router, its way back).
        b.cmp_capture(
            "server",
            "-i s0 src host 10.2.0.2",
            "client",
            "hping3 -c 1 -S -p 22 -a 9.9.9.9 10.2.0.2",
        );
        b.cmp("server", "iptables -L INPUT -v -n -x");
        b.cmp_sorted("server", "ipset -L MYNEWSET");
        b.ok(
            "server",
            "ipset -N brazil hash:net
            ipset -N china hash:net
            ipset -A china 1.0.0.0/8
            ipset -A china 2.0.0.0/8
            ipset -A china 3.0.0.0/8",
        );
        b.cmp("server", "ipset -L -n");
        b.cmp("server", "ipset -L brazil");
        b.cmp_sorted("server", "ipset -L china");
        b.cmp("server", "ipset del china 1.0.0.0/8");
        b.cmp_sorted("server", "ipset -L china");
        b.cmp("server", "ipset -F china");
        b.cmp("server", "ipset destroy china");
        b.cmp("server", "ipset -L china");
        b.cmp("server", "ipset -F");
        b.cmp("server", "ipset -L MYNEWSET");
        b.cmp("server", "ipset create myset1 hash:ip maxelem 2048");
        b.cmp("server", "ipset -L myset1");
    }

    /// auto_blocked: `-j SET --add-set` on port 80, `-m set` DROP above.
    fn ipset_auto_blocked(b: &mut Both) {
        b.reset();
        b.ok(
            "server",
            "ipset -N auto_blocked iphash
            iptables -I INPUT -p tcp --dport 80 -j SET --add-set auto_blocked src
            iptables -I INPUT -m set --match-set auto_blocked src -j DROP",
        );
        b.cmp("server", "iptables -S INPUT");
        b.cmp("client", "ping -c 1 10.2.0.2");
        // (The guide's curl: the handshake's ACK is already dropped.)
        b.cmp("client", "hping3 -c 1 -S -p 80 10.2.0.2");
        b.cmp("client", "ping -c 1 -W 1 10.2.0.2");
        b.cmp("server", "ipset -L auto_blocked");
        b.ok("server", "ipset -A auto_blocked 10.2.0.1");
        b.cmp("router", "ping -c 1 -W 1 10.2.0.2");
        b.cmp("server", "iptables -L INPUT -v -n -x");
    }

    /// The country script's effect (the download aside: no web server on
    /// the real side): a hash:net set filled and its sources dropped.
    fn country_blocking(b: &mut Both) {
        b.reset();
        b.ok(
            "server",
            "ipset -N china hash:net -exist
            ipset -N china hash:net -exist
            ipset -F china
            ipset -A china 1.0.1.0/24
            ipset -A china 1.0.2.0/23
            ipset -A china 1.0.8.0/21
            ipset -A china 1.0.32.0/19
            iptables -I INPUT -m set --match-set china src -j DROP",
        );
        b.cmp("server", "echo -n \"Blocking CN with iptables ... \"");
        for src in ["1.0.1.7", "1.0.3.200", "1.0.40.1", "1.0.64.1"] {
            b.send("client", &format!("hping3 -c 1 -S -p 22 -a {src} 10.2.0.2"));
        }
        b.cmp("server", "iptables -L INPUT -v -n -x");
        b.cmp_sorted("server", "ipset -L china");
    }

    /// "RESET Cleaning firewall": policies, every table, chains, sets.
    fn reset_cleaning(b: &mut Both) {
        b.reset();
        b.ok(
            "server",
            "ipset -N blocked hash:ip
            ipset -A blocked 10.1.0.2
            iptables -N LOGDROP
            iptables -A LOGDROP -j DROP
            iptables -A INPUT -m set --match-set blocked src -j LOGDROP
            iptables -P INPUT DROP
            iptables -P OUTPUT DROP
            iptables -P FORWARD DROP
            iptables -t nat -A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 22
            iptables -t mangle -A PREROUTING -j MARK --set-mark 1
            iptables -t raw -A PREROUTING -p udp -j NOTRACK",
        );
        b.cmp("client", "ping -c 1 -W 1 10.2.0.2");
        b.cmp("server", "iptables -L -v -n -x");
        b.ok(
            "server",
            "iptables -P INPUT ACCEPT
            iptables -P OUTPUT ACCEPT
            iptables -P FORWARD ACCEPT
            iptables -t filter -F
            iptables -t raw -F
            iptables -t nat -F
            iptables -t mangle -F
            iptables -X
            ipset -F
            ipset -X",
        );
        for table in ["filter", "nat", "mangle", "raw"] {
            b.cmp("server", &format!("iptables -t {table} -S"));
        }
        b.cmp("server", "ipset list");
        b.cmp("client", "ping -c 1 -W 1 10.2.0.2");
    }

    /// Example 1: TCP_TRAFFIC, RETURN, -F, -X while referenced.
    fn user_chain_tcp_traffic(b: &mut Both) {
        b.reset();
        b.ok(
            "server",
            "iptables -N TCP_TRAFFIC
            iptables -A TCP_TRAFFIC -p tcp -j ACCEPT
            iptables -A INPUT -p tcp -j TCP_TRAFFIC
            iptables -A INPUT -p tcp -j DROP",
        );
        b.cmp("client", "nc -z 10.2.0.2 22");
        b.cmp("server", "iptables -L -v -n -x");
        b.ok(
            "server",
            "iptables -I TCP_TRAFFIC -p tcp --dport 80 -j RETURN",
        );
        b.cmp("client", "nc -zv -w 2 10.2.0.2 80");
        b.ok("server", "iptables -F TCP_TRAFFIC");
        b.cmp("client", "nc -zv -w 2 10.2.0.2 22");
        b.cmp("server", "iptables -L -v -n -x");
        b.cmp("server", "iptables -X TCP_TRAFFIC");
        b.cmp("server", "iptables -D INPUT -p tcp -j TCP_TRAFFIC");
        b.cmp("server", "iptables -X TCP_TRAFFIC");
        b.cmp("server", "iptables -S INPUT");
    }

    /// Zero counters, flush, chains: the guide's commands, mistakes included.
    fn counters_flush_and_chain_commands(b: &mut Both) {
        b.reset();
        for c in [
            "iptables -Lvn",
            "iptables -Lnv INPUT",
            "iptables -A INPUT -p icmp -j ACCEPT",
            "iptables -A INPUT -p tcp --dport 22 -j ACCEPT",
            "iptables -A INPUT -p tcp --dport 80 -j ACCEPT",
        ] {
            b.cmp("server", c);
        }
        b.cmp("client", "ping -c 3 -i 0.2 10.2.0.2");
        for c in [
            "iptables -L INPUT -v -n",
            "iptables -Z",
            "iptables -L INPUT -v -n",
            "iptables -F",
            "iptables -S",
            "iptables -t nat -A PREROUTING -p tcp --dport 2222 -j REDIRECT --to-ports 22",
            "iptables -A INPUT -p tcp --dport 22 -j ACCEPT",
            "iptables -F INPUT",
            "iptables -t nat -F",
            "iptables -t nat -S PREROUTING",
            "iptables -N MYCHAIN",
            "iptables -L -v -n",
            "iptables -P FORWARD DROP",
            "iptables -L -v -n",
            "iptables -X MYCHAIN",
            "iptables -L -v -n",
            "iptables -A INPUT -s 10.0.0.1 -j DROP",
            "iptables -A INPUT -s 10.0.0.2 -j DROP",
            "iptables -A INPUT -s 10.0.0.3 -j DROP",
            "iptables -D 3 INPUT",
            "iptables -D INPUT 3",
            "iptables -D INPUT 3",
            "iptables -I INPUT -p tcp --dport -s 192.168.1.10 -j ACCEPT",
            "iptables -I INPUT -p tcp --dport -j DROP",
            "iptables -I INPUT -p tcp --dport 22 -s 192.168.1.10 -j ACCEPT",
            "iptables -A INPUT -p tcp --dport 22 -j DROP",
            "iptables -S INPUT",
        ] {
            b.cmp("server", c);
        }
    }

    #[test]
    fn lan_scenarios_agree_with_the_kernel() {
        let Some((mut b, t)) = start("sl", &[]) else {
            return;
        };
        reject_vs_drop_with_tcpdump(&mut b);
        terminating_and_non_terminating(&mut b, &t);
        log_prefix_and_level(&mut b, &t);
        ipset_mynewset(&mut b);
        ipset_auto_blocked(&mut b);
        country_blocking(&mut b);
        reset_cleaning(&mut b);
        user_chain_tcp_traffic(&mut b);
        counters_flush_and_chain_commands(&mut b);
        b.finish();
    }

    // -----------------------------------------------------------------
    // Scanners, MACs, interfaces, multicast
    // -----------------------------------------------------------------

    /// "Scanners": SYN, connect and UDP scans of open, closed and filtered
    /// ports, ping scans. (No `-sV`: the real side has no ssh server.)
    fn scanners(b: &mut Both) {
        b.reset();
        b.cmp("client", "nmap -n -sS -p 22,100 10.1.0.1");
        b.ok(
            "server",
            "iptables -A INPUT -p tcp --dport 25 -j DROP
            iptables -A INPUT -p udp --dport 69 -j DROP",
        );
        b.cmp("client", "nmap -n -sS -p 22,23,25 10.2.0.2");
        b.cmp("client", "nmap -n -sT -p 22,23,25 10.2.0.2");
        b.cmp("client", "nmap -n -sU -p 53,69,161 10.2.0.2");
        b.cmp("client", "nmap -n -sn 10.1.0.1");
        b.cmp("client", "nmap -n -sn 10.2.0.2");
        // On the link nmap asks ARP, which iptables does not filter.
        b.ok("router", "iptables -P INPUT DROP");
        b.cmp("client", "nmap -n -sn 10.1.0.1");
        b.ok("router", "iptables -P INPUT ACCEPT");
        // Behind the router a host that drops everything looks down;
        // without host discovery every port is filtered.
        b.ok("server", "iptables -P INPUT DROP");
        b.cmp("client", "nmap -n -sn 10.2.0.2");
        b.cmp("client", "nmap -n -Pn -p 1-100 10.2.0.2");
    }

    /// Example 2: ACCEPTED_MAC with both policies DROP, on the router:
    /// the client's MAC is listed, the server's way in (r1) is not.
    fn user_chain_accepted_mac(b: &mut Both, full: bool) {
        b.reset();
        b.ok(
            "router",
            "iptables -A OUTPUT -m state --state NEW,ESTABLISHED,RELATED -j ACCEPT
            iptables -A INPUT -p tcp --dport 22 -j ACCEPT
            iptables -A OUTPUT -p tcp --sport 22 -j ACCEPT
            iptables -N ACCEPTED_MAC
            iptables -A ACCEPTED_MAC -m mac --mac-source B8:81:98:22:C7:6B -j ACCEPT
            iptables -A ACCEPTED_MAC -m mac --mac-source 02:00:00:01:00:02 -j ACCEPT
            iptables -A INPUT -j ACCEPTED_MAC
            iptables -A INPUT -p icmp -j ACCEPT
            iptables -A OUTPUT -p icmp -j ACCEPT
            iptables -P OUTPUT DROP
            iptables -P INPUT DROP",
        );
        b.cmp("router", "iptables -S ACCEPTED_MAC");
        b.cmp("client", "nc -zv -w 2 10.1.0.1 8080");
        b.cmp("server", "nc -zv -w 2 10.2.0.1 8080");
        b.cmp("server", "nc -zv 10.2.0.1 22");
        b.cmp("server", "ping -c 1 10.2.0.1");
        b.cmp("router", "iptables -L INPUT -v -n -x");
        b.cmp("router", "iptables -L ACCEPTED_MAC -v -n -x");
        if full {
            b.cmp("router", "iptables -L OUTPUT -v -n -x");
        }
    }

    /// `-i r1`, then `-i r+` (the guide's wlan1 and wlan+) on the router.
    fn allow_by_interface(b: &mut Both) {
        b.reset();
        b.ok(
            "router",
            "iptables -P INPUT DROP
            iptables -A INPUT -i r1 -j ACCEPT",
        );
        b.cmp("server", "ping -c 1 -W 1 10.2.0.1");
        b.cmp("client", "ping -c 1 -W 1 10.1.0.1");
        b.ok("router", "iptables -A INPUT -i r+ -j ACCEPT");
        b.cmp("client", "ping -c 1 -W 1 10.1.0.1");
        b.cmp("router", "iptables -L INPUT -v -n -x");
        b.cmp("router", "iptables -A OUTPUT -o eth0 ACCEPT");
        b.ok(
            "router",
            "iptables -P INPUT ACCEPT
            iptables -P OUTPUT DROP
            iptables -A OUTPUT -o r1 -j ACCEPT",
        );
        b.cmp("router", "ping -c 1 -W 1 10.2.0.2");
        b.cmp("router", "ping -c 1 -W 1 10.1.0.2");
        b.cmp("router", "iptables -L OUTPUT -v -n -x");
    }

    /// "Drop INCOMING traffic by MAC Address" on the router's r0.
    fn drop_by_mac(b: &mut Both) {
        b.reset();
        b.cmp(
            "router",
            "iptables -A INPUT -i r0 -m mac --mac-source 02:00:00:01:00:02:22 -j DROP",
        );
        b.ok(
            "router",
            "iptables -A INPUT -i r0 -m mac --mac-source 02:00:00:01:00:02 -j DROP",
        );
        b.cmp("client", "ping -c 1 -W 1 10.1.0.1");
        b.cmp("server", "ping -c 1 -W 1 10.2.0.1");
        b.cmp("router", "iptables -L INPUT -v -n -x");
    }

    /// "Drop OUTGOING traffic by address type": multicast from the client;
    /// the router counts what arrives (the guide's tcpdump on pc20).
    fn drop_outgoing_multicast(b: &mut Both) {
        b.reset();
        b.ok("router", "iptables -t raw -A PREROUTING -d 224.0.0.1");
        b.cmp_capture(
            "router",
            "-e -i r0 icmp",
            "client",
            "ping -c 1 -W 1 224.0.0.1",
        );
        b.ok(
            "client",
            "iptables -A OUTPUT -m addrtype --dst-type MULTICAST -j DROP",
        );
        b.cmp("client", "ping -c 1 -W 1 224.0.0.1");
        b.cmp("client", "ping -c 1 -W 1 10.2.0.2");
        b.cmp("client", "iptables -L OUTPUT -v -n -x");
        b.cmp("router", "iptables -t raw -L PREROUTING -v -n -x");
    }

    /// Broadcast and multicast reach every host on the segment through its
    /// own netfilter (and come back to the sender): pings to the all-hosts
    /// group and to the subnet's broadcast, UDP to the group (a listening
    /// port, a closed one), with `icmp_echo_ignore_broadcasts` 1 and 0.
    /// Every hook counts on the router and the client; the router's
    /// conntrack and LOG lines are compared too.
    fn broadcast_and_multicast(b: &mut Both, t: &str) {
        b.reset();
        for host in ["client", "router"] {
            b.ok(
                host,
                &format!(
                    "iptables -t raw -A PREROUTING
                    iptables -t mangle -A PREROUTING
                    iptables -t mangle -A INPUT
                    iptables -t mangle -A POSTROUTING
                    iptables -t nat -A PREROUTING
                    iptables -t nat -A INPUT
                    iptables -t nat -A OUTPUT
                    iptables -t nat -A POSTROUTING
                    iptables -A INPUT -m conntrack --ctstate NEW -j LOG --log-prefix \"{t}{host}new \"
                    iptables -A INPUT -m conntrack --ctstate INVALID -j LOG --log-prefix \"{t}{host}inv \"
                    iptables -A INPUT
                    iptables -A OUTPUT"
                ),
            );
        }
        for ignore in [1, 0] {
            for host in ["client", "router", "server"] {
                b.ok(
                    host,
                    &format!("sysctl -w net.ipv4.icmp_echo_ignore_broadcasts={ignore}"),
                );
            }
            let (tc, tr) = (format!("{t}client"), format!("{t}router"));
            b.cmp_log("router", "client", "ping -c 1 -W 1 224.0.0.1", &tr);
            b.cmp_log("client", "client", "ping -c 1 -W 1 224.0.0.1", &tc);
            b.cmp_log("client", "client", "ping -b -c 1 -W 1 10.1.0.255", &tc);
            b.cmp_log("router", "router", "ping -b -c 1 -W 1 10.1.0.255", &tr);
            b.cmp_log("client", "client", "ping -b -c 1 -W 1 255.255.255.255", &tc);
            b.cmp("client", "ping -c 1 -W 1 10.1.0.255");
            // Every answer to the first probe before the second's.
            b.cmp("client", "ping -c 2 -i 0.2 -W 1 224.0.0.1");
            b.cmp("router", "ping -b -c 2 -i 0.2 -W 1 10.1.0.255");
            b.cmp_sorted("router", "conntrack -L");
            b.cmp_sorted("client", "conntrack -L");
            for host in ["client", "router"] {
                for table in ["raw", "mangle", "nat", "filter"] {
                    b.cmp(host, &format!("iptables -t {table} -L -v -n -x"));
                }
            }
            b.reset();
        }
        let tr = format!("{t}router");
        b.cmp_log(
            "router",
            "client",
            "hping3 --udp -c 1 -p 9999 224.0.0.1",
            &tr,
        );
        b.cmp_log("router", "client", "hping3 --udp -c 1 -p 22 224.0.0.1", &tr);
        b.cmp_capture(
            "client",
            "-i c0",
            "client",
            "hping3 --udp -c 1 -p 22 10.1.0.255",
        );
        b.cmp_sorted("router", "conntrack -L");
        b.cmp("router", "iptables -L -v -n -x");
        // The network's own address is routed as unicast (6.x has no
        // broadcast route for it) and, like an address nobody holds, gets
        // no ARP answer; the host unreachable the client sends itself 3 s
        // later comes in by lo, unseen by hping's capture on c0.
        b.cmp("client", "ip route get 10.1.0.0");
        b.cmp("client", "hping3 --udp -c 1 -p 9999 10.1.0.0");
        b.cmp("client", "hping3 --udp -c 2 -p 9 10.1.0.99");
        b.cmp("router", "iptables -L INPUT -v -n -x");
    }

    #[test]
    fn broadcast_and_multicast_agree_with_the_kernel() {
        let Some((mut b, t)) = start("bm", &[]) else {
            return;
        };
        b.listen("router", 17, 9999);
        b.settle();
        broadcast_and_multicast(&mut b, &t);
        b.finish();
    }

    #[test]
    fn scanner_mac_and_interface_scenarios_agree_with_the_kernel() {
        let Some((mut b, _)) = start("sm", &[]) else {
            return;
        };
        scanners(&mut b);
        user_chain_accepted_mac(&mut b, false);
        allow_by_interface(&mut b);
        drop_by_mac(&mut b);
        drop_outgoing_multicast(&mut b);
        b.finish();
    }

    // -----------------------------------------------------------------
    // seed-host: ALLOW and DROP examples
    // -----------------------------------------------------------------

    /// "Allow any website OUTGOING traffic on port 443" (the client).
    fn allow_443_out(b: &mut Both) {
        b.reset();
        b.ok(
            "client",
            "iptables -P OUTPUT DROP
            iptables -I OUTPUT -p tcp --dport 443 -d 0/0 -j ACCEPT",
        );
        b.cmp("client", "iptables -S OUTPUT");
        b.cmp("client", "nc -zv -w 2 10.2.0.2 443");
        b.cmp("client", "nc -zv -w 2 10.2.0.2 80");
        b.cmp("client", "iptables -L OUTPUT -v -n -x");
    }

    /// "Allow OUTGOING traffic by multi PORT" (the guide's OUTGOING chain
    /// does not exist).
    fn allow_multiport_out(b: &mut Both) {
        b.reset();
        b.cmp(
            "client",
            "iptables -A OUTGOING -p tcp -m multiport --dports 80,443 -j ACCEPT",
        );
        b.ok(
            "client",
            "iptables -P OUTPUT DROP
            iptables -A OUTPUT -p tcp -m multiport --dports 80,443 -j ACCEPT",
        );
        b.cmp("client", "nc -z 10.2.0.2 80");
        b.cmp("client", "nc -z 10.2.0.2 443");
        b.cmp("client", "nc -z -w 2 10.2.0.2 22");
        b.cmp("client", "iptables -L OUTPUT -v -n");
    }

    /// Loopback under both policies DROP (the server).
    fn allow_loopback(b: &mut Both, full: bool) {
        b.reset();
        b.ok(
            "server",
            "iptables -P INPUT DROP
            iptables -P OUTPUT DROP",
        );
        b.cmp("server", "ping -c 1 -W 1 127.0.0.1");
        b.cmp("server", "iptables -A OUTPUT -i lo -j ACCEPT");
        b.ok(
            "server",
            "iptables -A INPUT -i lo -j ACCEPT
            iptables -A OUTPUT -o lo -j ACCEPT",
        );
        b.cmp("server", "ping -c 1 127.0.0.1");
        b.cmp("server", "nc -zv 127.0.0.1 22");
        if full {
            b.cmp("server", "iptables -L -v -n -x");
        }
    }

    /// "Allow OUTGOING ssh connection from the machine" (the client).
    fn allow_ssh_out(b: &mut Both) {
        b.reset();
        b.ok(
            "client",
            "iptables -P OUTPUT DROP
            iptables -A OUTPUT -p tcp --dport 22 -j ACCEPT",
        );
        b.cmp("client", "nc -zv 10.2.0.2 22");
        b.cmp("client", "nc -zv -w 2 10.2.0.2 80");
    }

    /// "Allow INCOMING traffic using TCP syn flag" from the client only.
    fn allow_incoming_syn(b: &mut Both) {
        b.reset();
        b.ok(
            "server",
            "iptables -P INPUT DROP
            iptables -A INPUT -i s0 -p tcp --syn -s 10.1.0.2 -j ACCEPT",
        );
        b.cmp("client", "nc -zv 10.2.0.2 22");
        b.cmp("server", "iptables -L INPUT -v -n -x");
        b.cmp("router", "nc -zv -w 2 10.2.0.2 22");
    }

    /// "logging outgoing traffic that has syn and ack set" (the server).
    fn log_outgoing_syn_ack(b: &mut Both, t: &str) {
        b.reset();
        let prefix = format!("{t}-sa ");
        b.ok(
            "server",
            &format!(
                "iptables -A OUTPUT -p tcp --tcp-flags syn,ack,rst,fin syn,ack -j LOG --log-prefix '{prefix}'"
            ),
        );
        b.cmp("server", "iptables -S OUTPUT");
        if log_in_namespaces() {
            b.cmp_log("server", "client", "nc -z 10.2.0.2 22", &prefix);
            b.cmp_log("server", "client", "nc -z 10.2.0.2 23", &prefix);
            b.cmp_log("server", "server", "nc -z 10.2.0.1 22", &prefix);
        }
        b.cmp("server", "iptables -L OUTPUT -v -n");
    }

    /// "Drop INCOMING traffic to IP Addr" and "... ssh traffic by PORT".
    fn drop_by_source_and_port(b: &mut Both) {
        b.reset();
        b.ok("server", "iptables -I INPUT -s 10.1.0.2 -j DROP");
        b.cmp("client", "ping -c 1 -W 1 10.2.0.2");
        b.cmp("router", "ping -c 1 -W 1 10.2.0.2");
        b.ok(
            "server",
            "iptables -F
            iptables -A INPUT -p tcp --dport 22 -j DROP",
        );
        b.cmp("router", "nc -z -w 2 10.2.0.2 22");
        b.cmp("router", "nc -z -w 2 10.2.0.2 80");
        b.cmp("server", "iptables -L INPUT -v -n -x");
    }

    /// "Drop INCOMING traffic on port 443 EXCEPT on specific IP".
    fn drop_443_except_one_address(b: &mut Both) {
        b.reset();
        b.ok(
            "server",
            "iptables -A INPUT ! -s 10.2.0.1 -p tcp --dport 443 -j DROP",
        );
        b.cmp("server", "iptables -S INPUT");
        b.cmp("router", "nc -z 10.2.0.2 443");
        b.cmp("client", "nc -z -w 2 10.2.0.2 443");
        b.cmp("client", "nc -z 10.2.0.2 80");
        b.cmp("server", "iptables -L INPUT -v -n -x");
    }

    /// iprange: the guide's `--src range A-B` and `--src-range` (sources
    /// in and out of the range spoofed with hping3).
    fn drop_iprange(b: &mut Both) {
        b.reset();
        b.cmp("server", "iptables -I INPUT -p tcp --dport 25 -m iprange --src range 10.1.0.20-10.1.0.25 -j DROP");
        b.ok("server", "iptables -I INPUT -p tcp --dport 25 -m iprange --src-range 10.1.0.20-10.1.0.25 -j DROP");
        for src in ["10.1.0.20", "10.1.0.22", "10.1.0.30"] {
            b.send("client", &format!("hping3 -c 1 -S -p 25 -a {src} 10.2.0.2"));
        }
        b.cmp("client", "nc -z 10.2.0.2 25");
        b.cmp("server", "iptables -L INPUT -v -n");
    }

    /// "Drop OUTGOING traffic to a subnet": `-s` (the guide's) and `-d`,
    /// on the router (two addresses, two subnets).
    fn drop_outgoing_subnet(b: &mut Both) {
        b.reset();
        b.ok("router", "iptables -I OUTPUT -s 10.3.0.0/24 -j DROP");
        b.cmp("router", "ping -c 1 -W 1 10.1.0.2");
        b.cmp("router", "iptables -L OUTPUT -v -n");
        b.ok("router", "iptables -R OUTPUT 1 -s 10.1.0.0/24 -j DROP");
        b.cmp("router", "ping -c 1 -W 1 10.1.0.2");
        b.cmp("router", "ping -c 1 -W 1 10.2.0.2");
        b.ok("router", "iptables -R OUTPUT 1 -d 10.1.0.0/24 -j DROP");
        b.cmp("router", "ping -c 1 -W 1 10.1.0.2");
        b.cmp("router", "ping -c 1 -W 1 10.2.0.2");
        b.cmp("router", "iptables -L OUTPUT -v -n -x");
    }

    /// "Drop OUTGOING traffic to a site": a name with two addresses in the
    /// name table (/etc/hosts of the namespaces), one rule per address.
    fn drop_site_by_name(b: &mut Both) {
        b.reset();
        b.ok("client", "iptables -I OUTPUT -d www.site.test -j DROP");
        b.cmp("client", "iptables -S OUTPUT");
        b.cmp("client", "nc -z -w 2 10.2.0.2 80");
        b.cmp("client", "nc -z -w 2 10.2.0.1 22");
        b.ok("client", "iptables -F OUTPUT");
        b.cmp("client", "iptables -I OUTPUT -d www.nosuch.example -j DROP");
    }

    /// "Drop OUTGOING traffic by QUOTA": the guide's `quota` typo; a
    /// 250-byte quota spent by three connections to the server: two get
    /// their SYN-ACK, the third not, however the real listener closes
    /// (see `known_differences`: its FIN on the ACK of the client's or
    /// after it, 112 or 164 bytes a connection).
    fn drop_outgoing_after_quota(b: &mut Both, full: bool) {
        b.reset();
        b.cmp(
            "server",
            "iptables -A OUTPUT -d 10.1.0.2 -p tcp --sport 80 -m quota quota 1000000000 -j ACCEPT",
        );
        b.ok(
            "server",
            "iptables -A OUTPUT -d 10.1.0.2 -p tcp --sport 80 -m quota --quota 1000000000 -j ACCEPT",
        );
        b.cmp("server", "iptables -L OUTPUT -v -n");
        b.ok(
            "server",
            "iptables -F OUTPUT
            iptables -A OUTPUT -d 10.1.0.2 -p tcp --sport 80 -m quota --quota 250 -j ACCEPT
            iptables -A OUTPUT -d 10.1.0.2 -p tcp --sport 80 -j DROP",
        );
        // (`-w 2`: once the quota is spent the SYN-ACK is dropped and
        // the client would retry its SYN for two minutes.)
        for _ in 0..3 {
            b.cmp("client", "nc -z -w 2 10.2.0.2 80");
        }
        if full {
            b.cmp("server", "iptables -L OUTPUT -v -n -x");
        } else {
            b.cmp("server", "iptables -L OUTPUT -v -n -x | head -n 3");
        }
    }

    #[test]
    fn host_allow_scenarios_agree_with_the_kernel() {
        let Some((mut b, t)) = start("sh", &[]) else {
            return;
        };
        allow_443_out(&mut b);
        allow_multiport_out(&mut b);
        allow_loopback(&mut b, false);
        allow_ssh_out(&mut b);
        allow_incoming_syn(&mut b);
        log_outgoing_syn_ack(&mut b, &t);
        b.finish();
    }

    #[test]
    fn host_drop_scenarios_agree_with_the_kernel() {
        let names = [("10.2.0.2", "www.site.test"), ("10.2.0.1", "www.site.test")];
        let Some((mut b, _)) = start("sd", &names) else {
            return;
        };
        drop_by_source_and_port(&mut b);
        drop_443_except_one_address(&mut b);
        drop_iprange(&mut b);
        drop_outgoing_subnet(&mut b);
        drop_site_by_name(&mut b);
        drop_outgoing_after_quota(&mut b, false);
        b.finish();
    }

    // -----------------------------------------------------------------
    // Time rules, connlimit, limit
    // -----------------------------------------------------------------

    /// `HH:MM` of the real UTC clock moved by `hours` (wrapping at midnight).
    fn hhmm(hours: i64) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let t = (now + hours * 3600).rem_euclid(86400);
        format!("{:02}:{:02}", t / 3600, t % 3600 / 60)
    }

    /// The UTC weekday `days` from today, as `--weekdays` spells it.
    fn weekday(days: i64) -> &'static str {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        // 1970-01-01 was a Thursday.
        let names = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        names[((now / 86400 + days).rem_euclid(7)) as usize]
    }

    /// "Allow INCOMING traffic in a specific time" and `--kerneltz`: the
    /// guide's 10:00-15:00 becomes a window around the real time (the
    /// kernel's clock cannot be set; the lab clock starts at the real
    /// time) and one two hours ahead. `--kerneltz` reads the kernel's
    /// zone: UTC in the namespaces, as in the lab (no zone given).
    fn time_limited_ssh(b: &mut Both) {
        b.reset();
        let (inside, ahead) = (
            format!("--timestart {} --timestop {}", hhmm(-2), hhmm(2)),
            format!("--timestart {} --timestop {}", hhmm(2), hhmm(4)),
        );
        b.ok(
            "server",
            &format!(
                "iptables -A INPUT -p tcp --dport 22 -m time {ahead} -j ACCEPT
                iptables -A INPUT -p tcp --dport 22 -j DROP"
            ),
        );
        b.cmp("server", "iptables -L INPUT");
        b.cmp("client", "nc -z -w 2 10.2.0.2 22");
        b.ok(
            "server",
            &format!("iptables -R INPUT 1 -p tcp --dport 22 -m time {inside} -j ACCEPT"),
        );
        b.cmp("client", "nc -z -w 2 10.2.0.2 22");
        b.ok(
            "server",
            &format!("iptables -R INPUT 1 -p tcp --dport 22 -m time {inside} --kerneltz -j ACCEPT"),
        );
        b.cmp("server", "iptables -L INPUT");
        b.cmp("client", "nc -z -w 2 10.2.0.2 22");
        b.cmp("server", "iptables -L INPUT -v -n -x");
    }

    /// FORWARD on workdays at night: today's weekday with a window around
    /// now lets the client through the router, tomorrow's does not.
    fn forward_weekdays(b: &mut Both) {
        b.reset();
        let window = format!("--timestart {} --timestop {}", hhmm(-2), hhmm(2));
        b.ok(
            "router",
            &format!(
                "iptables -A FORWARD -p tcp --dport 80 -d 10.2.0.2 -m time --weekdays {} {window} -j ACCEPT
                iptables -A FORWARD -p tcp --dport 80 -d 10.2.0.2 -j DROP",
                weekday(0)
            ),
        );
        b.cmp("router", "iptables -S FORWARD");
        b.cmp("client", "nc -z -w 2 10.2.0.2 80");
        b.quiet();
        b.ok(
            "router",
            &format!(
                "iptables -R FORWARD 1 -p tcp --dport 80 -d 10.2.0.2 -m time --weekdays {} {window} -j ACCEPT",
                weekday(1)
            ),
        );
        b.cmp("client", "nc -z -w 2 10.2.0.2 80");
        b.cmp("router", "iptables -L FORWARD -v -n -x");
    }

    /// connlimit: the guide's `conlimit`, then five half-open connections
    /// from hping3 (its RSTs dropped), the sixth and seventh reset.
    fn connlimit(b: &mut Both) {
        b.reset();
        b.cmp("server", "iptables -A INPUT -p tcp --dport 25 --syn -m conlimit --connlimit-above 5 -j REJECT --reject-with tcp-rst");
        b.ok("server", "iptables -A INPUT -p tcp --dport 25 --syn -m connlimit --connlimit-above 5 -j REJECT --reject-with tcp-rst");
        b.cmp("server", "iptables -S INPUT");
        b.ok(
            "client",
            "iptables -A OUTPUT -p tcp --tcp-flags RST RST -j DROP",
        );
        b.cmp("client", "hping3 -S -p 25 -c 7 -i u200000 10.2.0.2");
        b.cmp_sorted("server", "conntrack -L");
        b.cmp("server", "iptables -L INPUT -v -n -x");
        b.cmp("router", "nc -zv 10.2.0.2 25");
    }

    /// "Allow INCOMING ICMP traffic using LIMIT MATCH": twelve pings 0.2 s
    /// apart (burst 7, one a second), a pause, three more.
    fn icmp_limit(b: &mut Both) {
        b.reset();
        b.ok(
            "server",
            "iptables -A INPUT -p icmp --icmp-type echo-request -m limit --limit 1/sec --limit-burst 7 -j ACCEPT
            iptables -A INPUT -p icmp --icmp-type echo-request -j DROP",
        );
        b.cmp("client", "ping -c 12 -i 0.2 10.2.0.2");
        b.both("client", "sleep 3");
        b.cmp("client", "ping -c 3 -i 0.2 10.2.0.2");
        b.cmp("server", "iptables -L INPUT -v -n -x");
    }

    #[test]
    fn time_and_limit_scenarios_agree_with_the_kernel() {
        let Some((mut b, _)) = start("st", &[]) else {
            return;
        };
        time_limited_ssh(&mut b);
        forward_weekdays(&mut b);
        connlimit(&mut b);
        icmp_limit(&mut b);
        b.finish();
    }

    // -----------------------------------------------------------------
    // The router: TEE, MASQUERADE, REDIRECT, recent, two uplinks
    // -----------------------------------------------------------------

    /// TEE: the router clones the echo requests it receives to the
    /// server, which counts them (not its address: it drops them).
    fn tee(b: &mut Both) {
        b.reset();
        b.ok(
            "router",
            "iptables -A INPUT -p icmp --icmp-type echo-request -j TEE --gateway 10.2.0.2",
        );
        b.ok(
            "server",
            "iptables -t raw -A PREROUTING -p icmp -d 10.1.0.1",
        );
        b.cmp_capture(
            "server",
            "-e -i s0 icmp",
            "client",
            "ping -c 2 -i 0.2 10.1.0.1",
        );
        b.cmp("server", "iptables -t raw -L PREROUTING -v -n -x");
        b.cmp("router", "iptables -L INPUT -v -n -x");
        // A copy of each probe to the target itself: two answers, the
        // second marked (DUP!) unless ping is done by then.
        b.ok(
            "client",
            "iptables -t mangle -A POSTROUTING -p icmp --icmp-type echo-request -j TEE --gateway 10.1.0.1",
        );
        b.cmp("client", "ping -c 2 -i 0.2 10.1.0.1");
        b.cmp("client", "ping -c 1 10.1.0.1");
    }

    /// Forwarding off, on, then MASQUERADE: the server sees the router's
    /// address (its counters tell), conntrack holds both views.
    fn masquerade(b: &mut Both) {
        b.reset();
        // The kernel tracks connections in a namespace only once a rule
        // needs it (seed_kernel.rs, conntrack_before_any_rule_needs_it);
        // the lab always does. A conntrack user from the start.
        b.ok(
            "router",
            "iptables -N CT-USER
            iptables -A CT-USER -m conntrack --ctstate INVALID -j DROP",
        );
        b.cmp("router", "sysctl -w net.ipv4.ip_forward=0");
        b.cmp("client", "nc -zv -w 2 10.2.0.2 80");
        b.cmp("router", "sysctl -w net.ipv4.ip_forward=1");
        b.ok(
            "server",
            "iptables -A INPUT -p tcp --dport 80 -s 10.2.0.1
            iptables -A INPUT -p tcp --dport 80 -s 10.1.0.2",
        );
        b.cmp("client", "nc -zv 10.2.0.2 80");
        b.ok(
            "router",
            "iptables -t nat -A POSTROUTING -s 10.1.0.0/24 -o r1 -j MASQUERADE",
        );
        b.cmp_capture(
            "server",
            "-i s0 src host 10.2.0.1",
            "client",
            "nc -zv 10.2.0.2 80",
        );
        b.cmp_sorted("router", "conntrack -L -p tcp --dport 80");
        b.cmp("router", "iptables -t nat -L POSTROUTING -v -n -x");
        b.cmp("server", "iptables -L INPUT -v -n -x");
    }

    /// REDIRECT: port 80 to the router's own 8080 for any destination;
    /// REDIRECT outside PREROUTING/OUTPUT is refused.
    fn redirect(b: &mut Both) {
        b.reset();
        b.ok(
            "router",
            "iptables -t nat -A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 8080",
        );
        b.cmp("client", "nc -zv 10.2.0.2 80");
        b.cmp_sorted("router", "conntrack -L -p tcp");
        b.cmp(
            "router",
            "iptables -t nat -A POSTROUTING -p tcp --dport 80 -j REDIRECT --to-ports 8080",
        );
        b.cmp("router", "iptables -t nat -L PREROUTING -v -n -x");
    }

    /// The badguys list: a SYN to 8080 lists its source, which is then
    /// dropped; the list edited by hand; renewed while the source keeps
    /// coming, forgiven after a silence (seconds, not the guide's minute).
    fn forward_recent(b: &mut Both) {
        b.reset();
        b.ok(
            "router",
            "iptables -A FORWARD -m recent --name badguys --update --seconds 60 -j DROP
            iptables -A FORWARD -p tcp -i r0 --dport 8080 -m recent --name badguys --set -j DROP",
        );
        b.cmp("client", "nc -zv -w 2 10.2.0.2 80");
        // (Before a source is listed its connections must be over: the
        // listed client's ACK of a late FIN would be dropped, again and
        // again as the server retransmits.)
        b.quiet();
        b.cmp("router", "cat /proc/net/xt_recent/badguys");
        b.cmp("client", "nc -zv -w 2 10.2.0.2 8080");
        b.cmp("router", "cat /proc/net/xt_recent/badguys");
        b.cmp("client", "nc -zv -w 2 10.2.0.2 80");
        b.cmp("client", "ping -c 1 -W 1 10.2.0.2");
        b.cmp("router", "echo / > /proc/net/xt_recent/badguys");
        b.cmp("router", "cat /proc/net/xt_recent/badguys");
        b.cmp("client", "nc -zv -w 2 10.2.0.2 80");
        b.quiet();
        b.cmp("router", "echo +10.1.0.2 > /proc/net/xt_recent/badguys");
        b.cmp("router", "cat /proc/net/xt_recent/badguys");
        b.cmp("client", "nc -zv -w 2 10.2.0.2 80");
        // The guide's 30 s and 61 s as 1 s and 4 s against 3 s: while the
        // listed source keeps coming it stays listed (--update renews),
        // after more than 3 s of silence it is forgiven.
        b.ok(
            "router",
            "iptables -R FORWARD 1 -m recent --name badguys --update --seconds 3 -j DROP",
        );
        b.both("client", "sleep 1");
        b.cmp("client", "ping -c 1 -W 1 10.2.0.2");
        b.both("client", "sleep 4");
        b.cmp("client", "ping -c 1 -W 1 10.2.0.2");
        // (The shells word their write errors differently.)
        b.cmp_exit("router", "echo junk > /proc/net/xt_recent/badguys");
        b.cmp("router", "iptables -L FORWARD -v -n -x");
    }

    /// Two ISPs: MASQUERADE by port for r1 (ISP 1) and a catch-all for an
    /// r2 that routing never picks (the oracle has one uplink: the rules
    /// and what routing makes of them, not the second link's traffic).
    fn two_isps(b: &mut Both) {
        b.reset();
        for port in ["22", "25", "80", "110", "143", "443", "465", "993", "995"] {
            b.ok(
                "router",
                &format!(
                    "iptables -t nat -A POSTROUTING -p tcp --dport {port} -o r1 -j MASQUERADE"
                ),
            );
        }
        b.ok(
            "router",
            "iptables -t nat -A POSTROUTING -o r2 -j MASQUERADE",
        );
        b.cmp("router", "ip route get 10.2.0.2");
        b.cmp("client", "nc -zv 10.2.0.2 80");
        b.cmp("client", "nc -zv -w 2 10.2.0.2 5000");
        b.cmp("client", "ping -c 1 -W 1 10.2.0.2");
        b.cmp_sorted("router", "conntrack -L");
        b.cmp("router", "iptables -t nat -L POSTROUTING -v -n -x");
    }

    #[test]
    fn router_scenarios_agree_with_the_kernel() {
        let Some((mut b, _)) = start("sn", &[]) else {
            return;
        };
        tee(&mut b);
        masquerade(&mut b);
        redirect(&mut b);
        forward_recent(&mut b);
        two_isps(&mut b);
        b.finish();
    }

    // -----------------------------------------------------------------
    // kube-proxy's TestTracePacket rules on the router
    // -----------------------------------------------------------------

    /// The kube-proxy ruleset loaded into the router by the real
    /// iptables-nft-restore and the lab's iptables-restore; the vectors
    /// that arrive from outside sent from the client with their sources
    /// spoofed (the router's default route leads to the server, which
    /// drops what is not its own). Compared: the rules as listed, their
    /// counters and the conntrack table. (Vector 3 picks endpoints at
    /// random: only how many connections were tracked and DNATed is
    /// compared; vectors 4 and 6 start on the node itself with its
    /// 192.168.0.2, sent from the router with that address added.)
    #[test]
    fn kube_vectors_agree_with_the_kernel() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/corpus/kube-proxy-02-tracepacket-full.rules");
        let Ok(rules) = std::fs::read_to_string(&path) else {
            println!("skipped: {} not found", path.display());
            return;
        };
        let Some((mut b, _)) = start("sk", &[]) else {
            return;
        };
        b.reset();
        let (code, _, err) = real(
            &b.ns("router"),
            &format!("iptables-nft-restore < {}", path.display()),
        );
        assert_eq!(code, 0, "{err}");
        let r = b.world.host_index("router").unwrap();
        let argv = vec!["iptables-restore".to_string()];
        let out = engine::command::run_argv(&mut b.world.hosts[r], &argv, Some(&rules));
        assert_eq!((out.exit, out.stderr.as_str()), (0, ""));
        b.cmp("router", "iptables -S");
        b.cmp("router", "iptables -t nat -S");
        b.ok(
            "router",
            "ip route add default via 10.2.0.2
            ip addr add 192.168.0.2/24 dev r0",
        );
        for (src, dst) in [
            ("10.0.0.2", "10.0.0.3"),
            ("10.0.0.2", "172.30.0.41"),
            ("203.0.113.2", "192.168.99.22"),
            ("10.0.0.2", "172.30.0.46"),
        ] {
            b.send("client", &format!("hping3 -c 1 -S -p 80 -a {src} {dst}"));
        }
        // Vector 3: each connection to 172.30.0.44 goes to 10.180.0.4 or
        // .5 at random; how many were tracked and DNATed can be compared.
        b.send(
            "client",
            "hping3 -c 6 -i u100000 -S -p 80 -a 10.0.0.2 172.30.0.44",
        );
        b.cmp(
            "router",
            "conntrack -L -d 172.30.0.44 2>/dev/null | grep -c 'src=10.180.0.'",
        );
        b.send(
            "router",
            "hping3 -c 1 -S -p 80 -a 192.168.0.2 192.168.99.22",
        );
        b.send(
            "router",
            "hping3 -c 1 -S -p 30000 -a 192.168.0.2 192.168.0.2",
        );
        b.cmp("router", "iptables -L -v -n -x");
        // (Not the chains vector 3's coin picked from.)
        for chain in [
            "PREROUTING",
            "OUTPUT",
            "POSTROUTING",
            "KUBE-SERVICES",
            "KUBE-POSTROUTING",
            "KUBE-MARK-MASQ",
            "KUBE-NODEPORTS",
        ] {
            b.cmp("router", &format!("iptables -t nat -L {chain} -v -n -x"));
        }
        for dst in ["10.0.0.3", "172.30.0.41", "172.30.0.46", "192.168.99.22"] {
            b.cmp_sorted("router", &format!("conntrack -L -d {dst}"));
        }
        b.finish();
    }

    // -----------------------------------------------------------------
    // Known differences (`cargo test -- --ignored`)
    // -----------------------------------------------------------------

    /// What the lab does not model, kept as probes:
    /// - a listener's close: after `nc -z 127.0.0.1 22` the kernel may
    ///   count 9 packets, 548 bytes on lo each way where the lab counts 8
    ///   and 496; the router's OUTPUT after the ACCEPTED_MAC connections
    ///   6 packets, 360 bytes against 5 and 308. The real listener
    ///   (`nc -lk`) sometimes closes after the ACK of the client's FIN
    ///   went out on its own, sometimes in time to put its FIN on it (a
    ///   race with the delayed ACK); the lab's server always does the
    ///   latter. Not deterministic on the kernel side.
    /// - quota: once the quota is spent, the kernel's DROP counts what the
    ///   server retransmitted before the listing (its FIN, its SYN-ACK
    ///   when the client retries: 59 packets against the lab's 8 after an
    ///   `nc` without `-w`; within `-w 2` usually as many as the lab's);
    ///   the lab's TCP never retransmits.
    #[test]
    #[ignore]
    fn known_differences() {
        let Some((mut b, _)) = start("sx", &[]) else {
            return;
        };
        user_chain_accepted_mac(&mut b, true);
        allow_loopback(&mut b, true);
        drop_outgoing_after_quota(&mut b, true);
        b.finish();
    }
}
