//! ping through a router: nothing passes while net.ipv4.ip_forward is 0,
//! replies come back with one hop less TTL when it is 1, TTL 1 dies at the
//! router, and an address nobody owns behind it gets host unreachable.

mod labkit;

use labkit::{lab, sh, ROUTED};

#[test]
fn forwarding_off_then_on() {
    let mut w = lab(ROUTED);
    // A state rule makes the router track connections.
    sh(
        &mut w,
        "router",
        "iptables -A FORWARD -m state --state INVALID -j DROP",
    );
    let out = sh(&mut w, "client", "ping -c 2 -W 1 10.2.0.2");
    assert_eq!(out.exit, 1);
    assert_eq!(
        out.stdout,
        "PING 10.2.0.2 (10.2.0.2) 56(84) bytes of data.

--- 10.2.0.2 ping statistics ---
2 packets transmitted, 0 received, 100% packet loss, time 1000ms

"
    );
    // The router saw the requests and dropped them: forwarding is off.
    let out = sh(&mut w, "router", "tcpdump -n -t -i eth0");
    assert_eq!(out.stdout.lines().count(), 2);
    let out = sh(&mut w, "router", "tcpdump -n -i eth1");
    assert_eq!(out.stdout, "");

    assert_eq!(
        sh(&mut w, "router", "echo 1 > /proc/sys/net/ipv4/ip_forward").exit,
        0
    );
    let out = sh(&mut w, "client", "ping -c 2 10.2.0.2");
    assert_eq!(out.exit, 0);
    assert_eq!(
        out.stdout,
        "PING 10.2.0.2 (10.2.0.2) 56(84) bytes of data.
64 bytes from 10.2.0.2: icmp_seq=1 ttl=63 time=0.080 ms
64 bytes from 10.2.0.2: icmp_seq=2 ttl=63 time=0.080 ms

--- 10.2.0.2 ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 1000ms
rtt min/avg/max/mdev = 0.080/0.080/0.080/0.000 ms
"
    );
    // Both directions crossed the router's FORWARD chain: one connection.
    let out = sh(&mut w, "router", "conntrack -L");
    assert_eq!(out.stdout.lines().count(), 1);
    assert!(out
        .stdout
        .starts_with("icmp     1 29 src=10.1.0.2 dst=10.2.0.2 type=8 code=0 id="));

    // A FORWARD DROP stops it again.
    sh(&mut w, "router", "iptables -P FORWARD DROP");
    let out = sh(&mut w, "client", "ping -c 1 -W 1 10.2.0.2");
    assert!(out
        .stdout
        .contains("1 packets transmitted, 0 received, 100% packet loss"));
    let out = sh(&mut w, "router", "iptables -L FORWARD -v -n");
    assert!(
        out.stdout
            .starts_with("Chain FORWARD (policy DROP 1 packets, 84 bytes)\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn ttl_and_unreachable_hosts() {
    let mut w = lab(ROUTED);
    sh(&mut w, "router", "sysctl -w net.ipv4.ip_forward=1");
    let out = sh(&mut w, "client", "ping -c 1 -t 1 server");
    assert_eq!(
        out.stdout,
        "PING server (10.2.0.2) 56(84) bytes of data.
From router (10.1.0.1) icmp_seq=1 Time to live exceeded

--- server ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms

"
    );
    let out = sh(&mut w, "client", "ping -c 3 10.2.0.9");
    assert_eq!(
        out.stdout,
        "PING 10.2.0.9 (10.2.0.9) 56(84) bytes of data.
From 10.1.0.1 icmp_seq=1 Destination Host Unreachable
From 10.1.0.1 icmp_seq=2 Destination Host Unreachable
From 10.1.0.1 icmp_seq=3 Destination Host Unreachable

--- 10.2.0.9 ping statistics ---
3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2000ms
pipe 3
"
    );
    // With a short -W ping stops before the router gives up on ARP.
    let out = sh(&mut w, "client", "ping -c 1 -W 1 10.2.0.9");
    assert!(out
        .stdout
        .contains("1 packets transmitted, 0 received, 100% packet loss"));
    // The router's uplink saw only ARP requests for it.
    let out = sh(&mut w, "router", "tcpdump -n -t -i eth1 host 10.2.0.9");
    assert!(out
        .stdout
        .lines()
        .all(|l| l == "ARP, Request who-has 10.2.0.9 tell 10.2.0.1, length 28"));
}

#[test]
fn a_network_without_route() {
    let mut w = lab(ROUTED);
    sh(&mut w, "router", "sysctl -w net.ipv4.ip_forward=1");
    // The router has no route to 172.16.0.0/16: net unreachable from it.
    let out = sh(&mut w, "client", "ping -c 1 172.16.0.1");
    assert!(
        out.stdout
            .contains("From 10.1.0.1 icmp_seq=1 Destination Net Unreachable\n"),
        "{}",
        out.stdout
    );
    // The server's default route is back through the router.
    let out = sh(&mut w, "server", "ip route get 10.1.0.2");
    assert_eq!(
        out.stdout,
        "10.1.0.2 via 10.2.0.1 dev eth0 src 10.2.0.2 uid 0 \n    cache \n"
    );
}
