//! The lab tools print what the real Linux tools print (formats checked
//! against iputils ping, netcat-openbsd, iproute2 6.1, net-tools, procps,
//! conntrack-tools 1.4.7, BIND dig, glibc getent, curl 7.88, wget 1.21,
//! hping3 and util-linux dmesg on Debian 12).

mod labkit;

use engine::sim::eval::LogRecord;
use labkit::{lab, sh, LAN, ROUTED};

#[test]
fn ping_on_a_lan() {
    let mut w = lab(LAN);
    let out = sh(&mut w, "client", "ping -c 2 server");
    assert_eq!(out.exit, 0);
    assert_eq!(
        out.stdout,
        "PING server (10.0.0.2) 56(84) bytes of data.
64 bytes from server (10.0.0.2): icmp_seq=1 ttl=64 time=0.040 ms
64 bytes from server (10.0.0.2): icmp_seq=2 ttl=64 time=0.040 ms

--- server ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 1000ms
rtt min/avg/max/mdev = 0.040/0.040/0.040/0.000 ms
"
    );
    // A numeric target is not looked up; an alias prints the canonical name.
    let out = sh(&mut w, "client", "ping -c1 10.0.0.2");
    assert!(out
        .stdout
        .contains("\n64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.040 ms\n"));
    assert!(out.stdout.contains("\n--- 10.0.0.2 ping statistics ---\n"));
    let out = sh(&mut w, "client", "ping -c 1 www");
    assert!(out
        .stdout
        .starts_with("PING server (10.0.0.2) 56(84) bytes of data.\n"));
    let out = sh(&mut w, "client", "ping -c 1 -I eth0 -s 100 10.0.0.2");
    assert!(out.stdout.starts_with(
        "PING 10.0.0.2 (10.0.0.2) from 10.0.0.1 eth0: 100(128) bytes of data.\n108 bytes from"
    ));
}

#[test]
fn ping_errors_and_losses() {
    let mut w = lab(LAN);
    let out = sh(&mut w, "client", "ping");
    assert_eq!(
        (out.exit, out.stderr.as_str()),
        (2, "ping: usage error: Destination address required\n")
    );
    let out = sh(&mut w, "client", "ping -c 1 nosuch");
    assert_eq!(
        (out.exit, out.stderr.as_str()),
        (2, "ping: nosuch: Name or service not known\n")
    );
    let out = sh(&mut w, "client", "ping -c 1 8.8.8.8");
    assert_eq!(
        (out.exit, out.stderr.as_str()),
        (2, "ping: connect: Network is unreachable\n")
    );
    let out = sh(&mut w, "client", "ping -c 1 -I eth7 10.0.0.2");
    assert_eq!(out.stderr, "ping: SO_BINDTODEVICE eth7: No such device\n");
    let out = sh(&mut w, "client", "ping -c 0 10.0.0.2");
    assert_eq!(out.exit, 1);
    // Dropped echo requests: loss, exit 1, a blank line after the summary.
    assert_eq!(
        sh(&mut w, "server", "iptables -A INPUT -p icmp -j DROP").exit,
        0
    );
    let out = sh(&mut w, "client", "ping -c 2 -W 1 10.0.0.2");
    assert_eq!(out.exit, 1);
    assert_eq!(
        out.stdout,
        "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.

--- 10.0.0.2 ping statistics ---
2 packets transmitted, 0 received, 100% packet loss, time 1000ms

"
    );
    // Nobody owns the address: ARP fails, the host reports to itself.
    let out = sh(&mut w, "client", "ping -c 3 10.0.0.9");
    assert_eq!(
        out.stdout,
        "PING 10.0.0.9 (10.0.0.9) 56(84) bytes of data.
From 10.0.0.1 icmp_seq=1 Destination Host Unreachable
From 10.0.0.1 icmp_seq=2 Destination Host Unreachable
From 10.0.0.1 icmp_seq=3 Destination Host Unreachable

--- 10.0.0.9 ping statistics ---
3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2000ms
pipe 3
"
    );
}

#[test]
fn nc_connects_scans_and_listens() {
    let mut w = lab(LAN);
    let out = sh(&mut w, "client", "nc -zv server 22");
    assert_eq!(
        (out.exit, out.stderr.as_str()),
        (
            0,
            "Connection to server (10.0.0.2) 22 port [tcp/ssh] succeeded!\n"
        )
    );
    let out = sh(&mut w, "client", "nc -zv 10.0.0.2 79-81");
    assert_eq!(
        out.stderr,
        "nc: connect to 10.0.0.2 port 79 (tcp) failed: Connection refused
Connection to 10.0.0.2 80 port [tcp/http] succeeded!
nc: connect to 10.0.0.2 port 81 (tcp) failed: Connection refused
"
    );
    assert_eq!(out.exit, 0);
    let out = sh(&mut w, "client", "nc -z 10.0.0.2 23");
    assert_eq!((out.exit, out.stderr.as_str()), (1, ""));
    let out = sh(&mut w, "client", "nc -zvn 10.0.0.2 22");
    assert_eq!(
        out.stderr,
        "Connection to 10.0.0.2 22 port [tcp/*] succeeded!\n"
    );
    let out = sh(&mut w, "client", "nc -zv 10.0.0.2 99999");
    assert_eq!(
        (out.exit, out.stderr.as_str()),
        (1, "nc: port number too large: 99999\n")
    );
    let out = sh(&mut w, "client", "nc -zv 10.0.0.2");
    assert_eq!(out.stderr, "nc: missing port number\n");
    let out = sh(&mut w, "client", "nc -zv nosuch 80");
    assert_eq!(
        out.stderr,
        "nc: getaddrinfo for host \"nosuch\" port 80: Name or service not known\n"
    );
    // UDP: an open port (no answer) succeeds, a closed one fails silently.
    let out = sh(&mut w, "client", "nc -zvu 10.0.0.2 53 54");
    assert_eq!(
        (out.exit, out.stderr.as_str()),
        (
            0,
            "Connection to 10.0.0.2 53 port [udp/domain] succeeded!\n"
        )
    );
    // A dropped port times out with -w.
    sh(&mut w, "server", "iptables -A INPUT -d 10.0.0.3 -j DROP");
    let out = sh(&mut w, "client", "nc -zv -w 2 10.0.0.3 22");
    assert_eq!(
        out.stderr,
        "nc: connect to 10.0.0.3 port 22 (tcp) timed out: Operation now in progress\n"
    );
    // Listening adds a socket.
    let out = sh(&mut w, "server", "nc -lv 9000");
    assert_eq!(
        (out.exit, out.stderr.as_str()),
        (0, "Listening on 0.0.0.0 9000\n")
    );
    let out = sh(&mut w, "server", "nc -l -p 9000");
    assert_eq!(out.stderr, "nc: Address already in use\n");
    let out = sh(&mut w, "client", "nc -z 10.0.0.2 9000");
    assert_eq!(out.exit, 0);
    let out = sh(&mut w, "client", "nc -lz 9000");
    assert_eq!(out.stderr, "nc: cannot use -z and -l\n");
}

#[test]
fn nc_speaks_http_to_a_web_server() {
    let mut w = lab(LAN);
    let h = w.host_index("client").unwrap();
    let out = engine::sim::tools::run_in_world(
        &mut w,
        h,
        &["nc".into(), "server".into(), "80".into()],
        Some("GET / HTTP/1.0\r\n\r\n"),
    );
    assert!(out
        .stdout
        .starts_with("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"));
    assert!(out.stdout.ends_with("\r\n\r\n<h1>hello</h1>\n"));
}

#[test]
fn ss_and_netstat() {
    let mut w = lab(LAN);
    let out = sh(&mut w, "server", "ss -lt");
    assert_eq!(
        out.stdout,
        "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess
LISTEN 0      4096         0.0.0.0:ssh       0.0.0.0:*          
LISTEN 0      4096         0.0.0.0:http      0.0.0.0:*          
"
    );
    sh(&mut w, "server", "nc -l -s 10.0.0.2 -p 8080");
    let out = sh(&mut w, "server", "ss -ltn");
    assert_eq!(
        out.stdout,
        "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess
LISTEN 0      4096         0.0.0.0:22        0.0.0.0:*          
LISTEN 0      4096         0.0.0.0:80        0.0.0.0:*          
LISTEN 0      1           10.0.0.2:8080      0.0.0.0:*          
"
    );
    let out = sh(&mut w, "server", "ss -tuln");
    assert_eq!(
        out.stdout,
        "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess
udp   UNCONN 0      0            0.0.0.0:53        0.0.0.0:*          
tcp   LISTEN 0      4096         0.0.0.0:22        0.0.0.0:*          
tcp   LISTEN 0      4096         0.0.0.0:80        0.0.0.0:*          
tcp   LISTEN 0      1           10.0.0.2:8080      0.0.0.0:*          
"
    );
    let out = sh(&mut w, "server", "netstat -tuln");
    assert_eq!(
        out.stdout,
        "Active Internet connections (only servers)
Proto Recv-Q Send-Q Local Address           Foreign Address         State      
tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN     
tcp        0      0 0.0.0.0:80              0.0.0.0:*               LISTEN     
tcp        0      0 10.0.0.2:8080           0.0.0.0:*               LISTEN     
udp        0      0 0.0.0.0:53              0.0.0.0:*                          
"
    );
}

#[test]
fn ip_addr_link_route() {
    let mut w = lab(LAN);
    let out = sh(&mut w, "client", "ip addr");
    assert_eq!(
        out.stdout,
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
    inet6 ::1/128 scope host 
       valid_lft forever preferred_lft forever
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000
    link/ether 02:00:00:01:00:01 brd ff:ff:ff:ff:ff:ff
    inet 10.0.0.1/24 scope global eth0
       valid_lft forever preferred_lft forever
    inet6 fe80::ff:fe01:1/64 scope link 
       valid_lft forever preferred_lft forever
"
    );
    let out = sh(&mut w, "server", "ip -br -4 a");
    assert_eq!(
        out.stdout,
        "lo               UNKNOWN        127.0.0.1/8 \neth0             UP             10.0.0.2/24 10.0.0.3/24 \n"
    );
    let out = sh(&mut w, "server", "ip -4 addr show eth0");
    assert!(out
        .stdout
        .contains("    inet 10.0.0.3/24 scope global secondary eth0\n"));
    let out = sh(&mut w, "client", "ip link show eth0");
    assert_eq!(
        out.stdout,
        "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP mode DEFAULT group default qlen 1000
    link/ether 02:00:00:01:00:01 brd ff:ff:ff:ff:ff:ff
"
    );
    assert_eq!(
        sh(&mut w, "client", "ip route add default via 10.0.0.2").exit,
        0
    );
    assert_eq!(
        sh(&mut w, "client", "ip route add 192.168.5.0/24 via 10.0.0.3").exit,
        0
    );
    let out = sh(&mut w, "client", "ip route");
    assert_eq!(
        out.stdout,
        "default via 10.0.0.2 dev eth0 \n10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1 \n192.168.5.0/24 via 10.0.0.3 dev eth0 \n"
    );
    let out = sh(&mut w, "client", "ip route get 192.168.5.7");
    assert_eq!(
        out.stdout,
        "192.168.5.7 via 10.0.0.3 dev eth0 src 10.0.0.1 uid 0 \n    cache \n"
    );
    let out = sh(&mut w, "client", "ip route get 10.0.0.1");
    assert_eq!(
        out.stdout,
        "local 10.0.0.1 dev lo src 10.0.0.1 uid 0 \n    cache <local> \n"
    );
    for (cmd, exit, err) in [
        (
            "ip route add 192.168.5.0/24 via 10.0.0.3",
            2,
            "RTNETLINK answers: File exists\n",
        ),
        (
            "ip route add 192.168.6.0/24 via 10.9.0.1",
            2,
            "Error: Nexthop has invalid gateway.\n",
        ),
        (
            "ip route del 192.168.7.0/24",
            2,
            "RTNETLINK answers: No such process\n",
        ),
        (
            "ip route add 10.0.0.5/24 via 10.0.0.2",
            2,
            "Error: Invalid prefix for given prefix length.\n",
        ),
        (
            "ip route add foo via 10.0.0.2",
            1,
            "Error: any valid prefix is expected rather than \"foo\".\n",
        ),
        (
            "ip route add 192.168.8.0/24 dev eth9",
            1,
            "Cannot find device \"eth9\"\n",
        ),
        ("ip foo", 1, "Object \"foo\" is unknown, try \"ip help\".\n"),
        (
            "ip addr add 10.0.0.1/24 dev eth0",
            2,
            "Error: ipv4: Address already assigned.\n",
        ),
        (
            "ip addr del 10.0.0.9/24 dev eth0",
            2,
            "Error: ipv4: Address not found.\n",
        ),
        ("ip route get", 1, "need at least a destination address\n"),
    ] {
        let out = sh(&mut w, "client", cmd);
        assert_eq!((out.exit, out.stderr.as_str()), (exit, err), "{cmd}");
    }
    // A link going down takes its routes with it.
    sh(&mut w, "client", "ip link set eth0 down");
    assert_eq!(sh(&mut w, "client", "ip route").stdout, "");
    let out = sh(&mut w, "client", "ping -c 1 10.0.0.2");
    assert_eq!(out.stderr, "ping: connect: Network is unreachable\n");
    sh(&mut w, "client", "ip link set dev eth0 up");
    assert_eq!(
        sh(&mut w, "client", "ip route").stdout,
        "10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1 \n"
    );
}

#[test]
fn sysctl_and_proc_sys() {
    let mut w = lab(ROUTED);
    let out = sh(&mut w, "router", "sysctl net.ipv4.ip_forward");
    assert_eq!(out.stdout, "net.ipv4.ip_forward = 0\n");
    let out = sh(&mut w, "router", "sysctl -w net.ipv4.ip_forward=1");
    assert_eq!(out.stdout, "net.ipv4.ip_forward = 1\n");
    assert!(w.hosts[1].forwarding());
    let out = sh(&mut w, "router", "sysctl -n net.ipv4.conf.eth0.forwarding");
    assert_eq!(out.stdout, "1\n");
    let out = sh(&mut w, "router", "echo 0 > /proc/sys/net/ipv4/ip_forward");
    assert_eq!((out.exit, out.stdout.as_str()), (0, ""));
    assert!(!w.hosts[1].forwarding());
    assert_eq!(
        sh(&mut w, "router", "cat /proc/sys/net/ipv4/ip_forward").stdout,
        "0\n"
    );
    let out = sh(&mut w, "router", "sysctl net.ipv4.nosuch");
    assert_eq!(
        (out.exit, out.stderr.as_str()),
        (
            1,
            "sysctl: cannot stat /proc/sys/net/ipv4/nosuch: No such file or directory\n"
        )
    );
    let out = sh(&mut w, "router", "sysctl -w net.ipv4.ip_forward=abc");
    assert_eq!(
        out.stderr,
        "sysctl: setting key \"net.ipv4.ip_forward\": Invalid argument\n"
    );
    let out = sh(&mut w, "router", "sysctl -w net.ipv4.ip_forward");
    assert_eq!(
        out.stderr,
        "sysctl: command line(0): invalid syntax, continuing...\n"
    );
    let out = sh(&mut w, "router", "sysctl net/ipv4/ip_default_ttl");
    assert_eq!(out.stdout, "net.ipv4.ip_default_ttl = 64\n");
    let out = sh(&mut w, "router", "echo x > /proc/sys/net/ipv4/ip_forward");
    assert_eq!(out.exit, 1);
    let out = sh(
        &mut w,
        "router",
        "sysctl -qw net.ipv4.conf.all.forwarding=1",
    );
    assert_eq!(out.stdout, "");
    assert!(w.hosts[1].forwarding());
}

#[test]
fn names_dig_and_getent() {
    let mut w = lab(LAN);
    assert_eq!(
        sh(&mut w, "client", "getent hosts www").stdout,
        "10.0.0.2        server www\n"
    );
    assert_eq!(
        sh(&mut w, "client", "getent hosts 10.0.0.1").stdout,
        "10.0.0.1        client\n"
    );
    assert_eq!(sh(&mut w, "client", "getent hosts nosuch").exit, 2);
    assert_eq!(sh(&mut w, "client", "dig +short www").stdout, "10.0.0.2\n");
    let out = sh(&mut w, "client", "dig server");
    let expected_tail = ";; QUESTION SECTION:
;server.\t\t\t\tIN\tA

;; ANSWER SECTION:
server.\t\t\t0\tIN\tA\t10.0.0.2

;; Query time: 0 msec
;; SERVER: 127.0.0.53#53(127.0.0.53) (UDP)
;; WHEN: Wed May 01 09:00:00 UTC 2024
;; MSG SIZE  rcvd: 51

";
    assert!(out.stdout.ends_with(expected_tail), "{}", out.stdout);
    assert!(out
        .stdout
        .starts_with("\n; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> server\n;; global options: +cmd\n;; Got answer:\n"));
    assert!(out
        .stdout
        .contains(";; flags: qr aa rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1\n"));
    let out = sh(&mut w, "client", "dig nosuch");
    assert!(out.stdout.contains("status: NXDOMAIN"));
    let out = sh(&mut w, "client", "dig -x 10.0.0.1 +short");
    assert_eq!(out.stdout, "client.\n");
}

#[test]
fn conntrack_tool() {
    let mut w = lab(LAN);
    // No rule needs conntrack yet: the server tracks nothing.
    sh(&mut w, "client", "ping -c 1 server");
    let out = sh(&mut w, "server", "conntrack -L");
    assert_eq!(
        out.stderr,
        "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.\n"
    );
    sh(
        &mut w,
        "server",
        "iptables -A INPUT -m state --state INVALID -j DROP",
    );
    sh(&mut w, "client", "ping -c 1 server");
    sh(&mut w, "client", "nc -zu server 5000");
    let out = sh(&mut w, "server", "conntrack -L");
    assert_eq!(
        out.stderr,
        "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.\n"
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id="));
    assert!(lines[1].starts_with("udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport="));
    assert!(lines[1].contains(" dport=5000 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=5000 "));
    let out = sh(&mut w, "server", "conntrack -L -p udp");
    assert_eq!(out.stdout.lines().count(), 1);
    let out = sh(&mut w, "server", "conntrack -D -p icmp");
    assert_eq!(
        (out.exit, out.stderr.as_str()),
        (
            0,
            "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been deleted.\n"
        )
    );
    let out = sh(&mut w, "server", "conntrack -D -p icmp");
    assert_eq!(out.exit, 1);
    assert_eq!(sh(&mut w, "server", "conntrack -C").stdout, "1\n");
    let out = sh(&mut w, "server", "conntrack -F");
    assert_eq!(
        out.stderr,
        "conntrack v1.4.7 (conntrack-tools): connection tracking table has been emptied.\n"
    );
    let out = sh(&mut w, "server", "conntrack -X");
    assert_eq!(
        (out.exit, out.stderr.as_str()),
        (2, "conntrack v1.4.7 (conntrack-tools): unknown option `-X'\nTry `conntrack -h' or 'conntrack --help' for more information.\n")
    );
    // A connection refused before any reply leaves no entry (the RST kills
    // it); one reset after SYN-ACK stays in CLOSE for 10 s.
    sh(&mut w, "client", "nc -z server 23");
    sh(&mut w, "client", "hping3 -c 1 -S -p 22 server");
    let out = sh(&mut w, "server", "conntrack -L -p tcp");
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(out
        .stdout
        .starts_with("tcp      6 9 CLOSE src=10.0.0.1 dst=10.0.0.2 sport="));
    sh(&mut w, "server", "conntrack -F");
    // Entries expire on the lab clock.
    sh(&mut w, "client", "ping -c 1 server");
    sh(&mut w, "client", "sleep 31");
    assert_eq!(sh(&mut w, "server", "conntrack -C").stdout, "0\n");
}

#[test]
fn dmesg_times_since_boot() {
    let mut w = lab(LAN);
    let t = w.now_ns + 1_500_000;
    w.hosts[1].kmsg.push(LogRecord {
        time_ns: t,
        level: 4,
        text: "IN=eth0 OUT= SRC=10.0.0.1".into(),
    });
    let out = sh(&mut w, "server", "dmesg");
    assert_eq!(out.stdout, "[ 3600.001500] IN=eth0 OUT= SRC=10.0.0.1\n");
    let out = sh(&mut w, "server", "dmesg -T");
    assert_eq!(
        out.stdout,
        "[Wed May  1 09:00:00 2024] IN=eth0 OUT= SRC=10.0.0.1\n"
    );
    assert_eq!(sh(&mut w, "server", "dmesg -c").stdout.lines().count(), 1);
    assert_eq!(sh(&mut w, "server", "dmesg").stdout, "");
}

#[test]
fn hping3_replies() {
    let mut w = lab(LAN);
    let out = sh(&mut w, "client", "hping3 -c 2 -S -p 22 10.0.0.2");
    assert_eq!(out.exit, 0);
    assert_eq!(
        out.stdout,
        "HPING 10.0.0.2 (eth0 10.0.0.2): S set, 40 headers + 0 data bytes
len=44 ip=10.0.0.2 ttl=64 DF id=0 sport=22 flags=SA seq=0 win=64240 rtt=0.0 ms
len=44 ip=10.0.0.2 ttl=64 DF id=0 sport=22 flags=SA seq=1 win=64240 rtt=0.0 ms
"
    );
    assert_eq!(
        out.stderr,
        "\n--- 10.0.0.2 hping statistic ---\n2 packets transmitted, 2 packets received, 0% packet loss\nround-trip min/avg/max = 0.0/0.0/0.0 ms\n"
    );
    let out = sh(&mut w, "client", "hping3 -c 1 -S -p 23 10.0.0.2");
    assert!(out
        .stdout
        .ends_with("len=40 ip=10.0.0.2 ttl=64 DF id=0 sport=23 flags=RA seq=0 win=0 rtt=0.0 ms\n"));
    let out = sh(&mut w, "client", "hping3 -c 1 -F -P -U -p 23 10.0.0.2");
    assert!(out
        .stdout
        .starts_with("HPING 10.0.0.2 (eth0 10.0.0.2): FPU set, 40 headers + 0 data bytes\n"));
    let out = sh(&mut w, "client", "hping3 -c 1 -p 22 10.0.0.2");
    assert!(out.stdout.contains("NO FLAGS are set"));
    let out = sh(
        &mut w,
        "client",
        "hping3 -n -c 1 --udp -s 3000 -p 5000 10.0.0.2",
    );
    assert_eq!(
        out.stdout,
        "HPING 10.0.0.2 (eth0 10.0.0.2): udp mode set, 28 headers + 0 data bytes\nICMP Port Unreachable from ip=10.0.0.2\nstatus=0 port=3000 seq=0\n"
    );
    let out = sh(&mut w, "client", "hping3 -c 1 --udp -p 5000 10.0.0.2");
    assert!(out.stdout.contains(
        "ICMP Port Unreachable from ip=10.0.0.2 get hostname...\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}               \u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}name=server\n"
    ));
    let out = sh(&mut w, "client", "hping3 -c 1 -1 10.0.0.2");
    assert!(out.stdout.starts_with(
        "HPING 10.0.0.2 (eth0 10.0.0.2): icmp mode set, 28 headers + 0 data bytes\nlen=28 ip=10.0.0.2 ttl=64 id="
    ));
    // A spoofed source gets no answers.
    let out = sh(
        &mut w,
        "client",
        "hping3 -c 2 -S -p 22 -a 10.0.0.77 10.0.0.2",
    );
    assert_eq!(out.exit, 1);
    assert!(out
        .stderr
        .contains("2 packets transmitted, 0 packets received, 100% packet loss"));
    let out = sh(&mut w, "client", "hping3 -c 1 -S 8.8.8.8");
    assert_eq!(out.exit, 1);
    assert_eq!(
        out.stderr,
        "Warning: Unable to guess the output interface\n[send_ip] sendto: Network is unreachable\n"
    );
}

#[test]
fn curl_and_wget() {
    let mut w = lab(LAN);
    let out = sh(&mut w, "client", "curl http://www/");
    assert_eq!((out.exit, out.stdout.as_str()), (0, "<h1>hello</h1>\n"));
    let out = sh(&mut w, "client", "curl -I http://10.0.0.2/");
    assert!(out.stdout.starts_with(
        "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 01 May 2024 09:00:00 GMT\r\n"
    ));
    let out = sh(&mut w, "client", "curl http://server:81/");
    assert_eq!(
        (out.exit, out.stderr.as_str()),
        (
            7,
            "curl: (7) Failed to connect to server port 81 after 0 ms: Couldn't connect to server\n"
        )
    );
    let out = sh(&mut w, "client", "curl -s http://server:81/");
    assert_eq!((out.exit, out.stderr.as_str()), (7, ""));
    let out = sh(&mut w, "client", "curl http://nosuch/");
    assert_eq!(out.stderr, "curl: (6) Could not resolve host: nosuch\n");
    let out = sh(&mut w, "client", "curl http://server:22/");
    assert_eq!(out.stderr, "curl: (52) Empty reply from server\n");
    sh(&mut w, "server", "iptables -A INPUT -d 10.0.0.3 -j DROP");
    let out = sh(&mut w, "client", "curl -m 2 http://10.0.0.3/");
    assert_eq!(
        (out.exit, out.stderr.as_str()),
        (
            28,
            "curl: (28) Connection timed out after 2001 milliseconds\n"
        )
    );
    let out = sh(&mut w, "client", "wget http://server/");
    assert_eq!(out.exit, 0);
    assert!(out.stderr.starts_with(
        "--2024-05-01 09:00:02--  http://server/
Resolving server (server)... 10.0.0.2
Connecting to server (server)|10.0.0.2|:80... connected.
HTTP request sent, awaiting response... 200 OK
Length: 15 [text/html]
Saving to: ‘index.html’

     0K                                                       100% "
    ));
    assert_eq!(
        sh(&mut w, "client", "cat index.html").stdout,
        "<h1>hello</h1>\n"
    );
    let out = sh(&mut w, "client", "wget -q -O - http://10.0.0.2/");
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("<h1>hello</h1>\n", "")
    );
    let out = sh(&mut w, "client", "wget http://10.0.0.2:81/");
    assert_eq!(out.exit, 4);
    assert!(out
        .stderr
        .ends_with("Connecting to 10.0.0.2:81... failed: Connection refused.\n"));
    let out = sh(&mut w, "client", "wget -T 1 -t 2 http://10.0.0.3/");
    assert!(out
        .stderr
        .contains("Connecting to 10.0.0.3:80... failed: Connection timed out.\nRetrying.\n\n"));
    assert!(out.stderr.contains("(try: 2)  http://10.0.0.3/\n"));
    assert!(out
        .stderr
        .ends_with("failed: Connection timed out.\nGiving up.\n\n"));
}

#[test]
fn sleep_moves_the_clock() {
    let mut w = lab(LAN);
    let before = w.now_ns;
    assert_eq!(sh(&mut w, "client", "sleep 1.5").exit, 0);
    assert_eq!(w.now_ns - before, 1_500_000_000);
    sh(&mut w, "client", "sleep 2m");
    assert_eq!(
        sh(&mut w, "client", "date").stdout,
        "Wed May  1 09:02:01 UTC 2024\n"
    );
    let out = sh(&mut w, "client", "sleep abc");
    assert_eq!(
        (out.exit, out.stderr.as_str()),
        (
            1,
            "sleep: invalid time interval ‘abc’\nTry 'sleep --help' for more information.\n"
        )
    );
}

#[test]
fn other_programs_fall_back_to_the_host() {
    let mut w = lab(LAN);
    let out = sh(&mut w, "server", "iptables -A INPUT -p tcp -j DROP");
    assert_eq!(out.exit, 0);
    let out = sh(&mut w, "server", "iptables -S INPUT");
    assert_eq!(out.stdout, "-P INPUT ACCEPT\n-A INPUT -p tcp -j DROP\n");
    let out = sh(&mut w, "server", "frobnicate");
    assert_eq!(
        (out.exit, out.stderr.as_str()),
        (127, "frobnicate: command not found\n")
    );
}
