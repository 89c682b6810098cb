//! nmap reports port states as the simulated replies make them: SYN-ACK
//! open, RST closed, nothing (DROP) filtered; for UDP, ICMP port
//! unreachable closed and silence open|filtered; summaries of big states.

mod labkit;

use labkit::{lab, sh, LAN, ROUTED};

fn report(out: &str) -> &str {
    // Everything after the "Starting Nmap" line.
    out.split_once('\n').map(|x| x.1).unwrap_or("")
}

#[test]
fn syn_scan_open_closed() {
    let mut w = lab(LAN);
    let out = sh(&mut w, "client", "nmap -p 22,23,80 server");
    assert_eq!(out.exit, 0);
    assert!(out
        .stdout
        .starts_with("Starting Nmap 7.93 ( https://nmap.org ) at 2024-05-01 09:00 UTC\n"));
    assert_eq!(
        report(&out.stdout),
        "Nmap scan report for server (10.0.0.2)
Host is up (0.000040s latency).

PORT   STATE  SERVICE
22/tcp open   ssh
23/tcp closed telnet
80/tcp open   http
MAC Address: 02:00:00:02:00:01 (Unknown)

Nmap done: 1 IP address (1 host up) scanned in 0.03 seconds
"
    );
    // The default scan summarizes the 998 closed ports.
    let out = sh(&mut w, "client", "nmap -n 10.0.0.2");
    assert_eq!(
        report(&out.stdout),
        "Nmap scan report for 10.0.0.2
Host is up (0.000040s latency).
Not shown: 998 closed tcp ports (reset)
PORT   STATE SERVICE
22/tcp open  ssh
80/tcp open  http
MAC Address: 02:00:00:02:00:01 (Unknown)

Nmap done: 1 IP address (1 host up) scanned in 0.13 seconds
"
    );
}

#[test]
fn drop_makes_ports_filtered() {
    let mut w = lab(LAN);
    // The server drops everything sent to its second address.
    assert_eq!(
        sh(
            &mut w,
            "server",
            "iptables -A INPUT -d 10.0.0.3 -p tcp -j DROP"
        )
        .exit,
        0
    );
    let out = sh(&mut w, "client", "nmap -p 22,23 10.0.0.3");
    assert_eq!(
        report(&out.stdout),
        "Nmap scan report for 10.0.0.3
Host is up (0.000040s latency).

PORT   STATE    SERVICE
22/tcp filtered ssh
23/tcp filtered telnet
MAC Address: 02:00:00:02:00:01 (Unknown)

Nmap done: 1 IP address (1 host up) scanned in 1.23 seconds
"
    );
    let out = sh(&mut w, "client", "nmap 10.0.0.3");
    assert!(report(&out.stdout).starts_with(
        "Nmap scan report for 10.0.0.3
Host is up (0.000040s latency).
All 1000 scanned ports on 10.0.0.3 are in ignored states.
Not shown: 1000 filtered tcp ports (no-response)
MAC Address: 02:00:00:02:00:01 (Unknown)
"
    ));
    // Connect scans agree; a refused connection is closed (conn-refused).
    let out = sh(&mut w, "client", "nmap -sT -p 22,23 10.0.0.3");
    assert!(out
        .stdout
        .contains("22/tcp filtered ssh\n23/tcp filtered telnet\n"));
    let out = sh(&mut w, "client", "nmap -sT -p 1-100 10.0.0.2");
    assert!(out.stdout.contains(
        "Not shown: 98 closed tcp ports (conn-refused)\nPORT   STATE SERVICE\n22/tcp open  ssh\n80/tcp open  http\n"
    ));
    // The firewall counted every probe: two SYNs per filtered port (1002
    // ports by SYN scan, 44-byte probes; 2 by connect scan, 60-byte SYNs).
    let out = sh(&mut w, "server", "iptables -L INPUT -v -n -x");
    assert!(
        out.stdout.contains(
            "    2008    88416 DROP       6    --  *      *       0.0.0.0/0            10.0.0.3"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn mixed_states_are_summarized_by_reason() {
    let mut w = lab(ROUTED);
    sh(&mut w, "router", "sysctl -w net.ipv4.ip_forward=1");
    // Only the server's second half is filtered: the router drops TCP to it
    // coming from the client side.
    sh(
        &mut w,
        "router",
        "iptables -A FORWARD -i eth0 -p tcp -d 10.2.0.2 -j DROP",
    );
    let out = sh(&mut w, "client", "nmap -n -p 1-40 10.2.0.2");
    assert!(report(&out.stdout).starts_with(
        "Nmap scan report for 10.2.0.2
Host is up (0.000080s latency).
All 40 scanned ports on 10.2.0.2 are in ignored states.
Not shown: 40 filtered tcp ports (no-response)
"
    ));
    // No MAC line beyond a router.
    assert!(!out.stdout.contains("MAC Address"));
    sh(&mut w, "router", "iptables -F FORWARD");
    let out = sh(&mut w, "client", "nmap -n -p 1-40 10.2.0.2");
    assert!(report(&out.stdout).contains(
        "Not shown: 39 closed tcp ports (reset)\nPORT   STATE SERVICE\n22/tcp open  ssh\n"
    ));
}

#[test]
fn udp_states() {
    let mut w = lab(LAN);
    let out = sh(&mut w, "client", "nmap -sU -p 53,54,161 server");
    assert_eq!(
        report(&out.stdout),
        "Nmap scan report for server (10.0.0.2)
Host is up (0.000040s latency).

PORT    STATE         SERVICE
53/udp  open|filtered domain
54/udp  closed        xns-ch
161/udp closed        snmp
MAC Address: 02:00:00:02:00:01 (Unknown)

Nmap done: 1 IP address (1 host up) scanned in 1.05 seconds
"
    );
    sh(&mut w, "server", "iptables -A INPUT -p udp -j DROP");
    let out = sh(&mut w, "client", "nmap -sU -p 54 server");
    assert!(out.stdout.contains("54/udp open|filtered xns-ch\n"));
    let out = sh(&mut w, "client", "nmap -sU -p 1-100 server");
    assert!(out
        .stdout
        .contains("All 100 scanned ports on server (10.0.0.2) are in ignored states.\nNot shown: 100 open|filtered udp ports (no-response)\n"));
}

#[test]
fn host_discovery() {
    let mut w = lab(ROUTED);
    // Forwarding off: nothing beyond the router answers.
    let out = sh(&mut w, "client", "nmap -p 22 10.2.0.2");
    assert_eq!(
        report(&out.stdout),
        "Note: Host seems down. If it is really up, but blocking our ping probes, try -Pn
Nmap done: 1 IP address (0 hosts up) scanned in 3.03 seconds
"
    );
    let out = sh(&mut w, "client", "nmap -Pn -p 22 10.2.0.2");
    assert!(report(&out.stdout).starts_with(
        "Nmap scan report for server (10.2.0.2)\nHost is up.\n\nPORT   STATE    SERVICE\n22/tcp filtered ssh\n"
    ));
    sh(&mut w, "router", "sysctl -w net.ipv4.ip_forward=1");
    let out = sh(&mut w, "client", "nmap -sn 10.2.0.0/30");
    assert_eq!(
        report(&out.stdout),
        "Nmap scan report for 10.2.0.1
Host is up (0.000040s latency).
Nmap scan report for server (10.2.0.2)
Host is up (0.000080s latency).
Nmap done: 4 IP addresses (2 hosts up) scanned in 3.03 seconds
"
    );
    // On the local link ARP finds hosts even when they drop everything.
    let mut w = lab(LAN);
    sh(&mut w, "server", "iptables -P INPUT DROP");
    let out = sh(&mut w, "client", "nmap -sn 10.0.0.0/30");
    assert_eq!(
        report(&out.stdout),
        "Nmap scan report for server (10.0.0.2)
Host is up (0.000040s latency).
MAC Address: 02:00:00:02:00:01 (Unknown)
Nmap scan report for 10.0.0.3
Host is up (0.000040s latency).
MAC Address: 02:00:00:02:00:01 (Unknown)
Nmap scan report for client (10.0.0.1)
Host is up.
Nmap done: 4 IP addresses (3 hosts up) scanned in 0.03 seconds
"
    );
}

#[test]
fn version_scan_and_errors() {
    let mut w = lab(LAN);
    let out = sh(&mut w, "client", "nmap -sV -p 22,80 server");
    assert!(out.stdout.contains(
        "PORT   STATE SERVICE VERSION
22/tcp open  ssh     OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)
80/tcp open  http    nginx/1.22.1
"
    ));
    assert!(out.stdout.contains(
        "\nService detection performed. Please report any incorrect results at https://nmap.org/submit/ .\nNmap done:"
    ));
    for (cmd, exit, err) in [
        (
            "nmap -p 99999 server",
            1,
            "Ports specified must be between 0 and 65535 inclusive\nQUITTING!\n",
        ),
        (
            "nmap -p abc server",
            1,
            "Found no matches for the service mask 'abc' and your specified protocols\nQUITTING!\n",
        ),
        (
            "nmap --foo server",
            255,
            "nmap: unrecognized option '--foo'\nSee the output of nmap -h for a summary of options.\n",
        ),
        (
            "nmap nosuch",
            0,
            "Failed to resolve \"nosuch\".\nWARNING: No targets were specified, so 0 hosts scanned.\n",
        ),
    ] {
        let out = sh(&mut w, "client", cmd);
        assert_eq!((out.exit, out.stderr.as_str()), (exit, err), "{cmd}");
    }
}
