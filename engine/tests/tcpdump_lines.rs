//! tcpdump prints the frames an interface saw, one line each, in tcpdump
//! 4.99's format: ICMP, TCP with flags, relative sequence numbers and
//! options, UDP, ARP; names or numbers; `-e`, `-t`, `-i any`; filters.

mod labkit;

use labkit::{lab, sh, LAN};

/// Replaces the random parts of a line (sequence numbers, timestamps,
/// ephemeral ports, echo ids) with `#`.
fn mask(s: &str) -> String {
    let mut out = Vec::new();
    let words: Vec<&str> = s.split(' ').collect();
    for (k, w) in words.iter().enumerate() {
        let prev = if k > 0 { words[k - 1] } else { "" };
        let digits: String = w.chars().take_while(|c| c.is_ascii_digit()).collect();
        let big = digits.parse::<u64>().is_ok_and(|n| n >= 10);
        if big && matches!(prev, "seq" | "ack" | "val" | "ecr" | "id") {
            out.push(format!("#{}", &w[digits.len()..]));
            continue;
        }
        // address.port with an ephemeral port
        let core = w.trim_end_matches([',', ':']);
        let tail = &w[core.len()..];
        if let Some((addr, port)) = core.rsplit_once('.') {
            if let Ok(p) = port.parse::<u32>() {
                if p >= 1024 && p != 5000 && addr.matches('.').count() == 3 {
                    out.push(format!("{addr}.#{tail}"));
                    continue;
                }
            }
        }
        out.push(w.to_string());
    }
    out.join(" ")
}

#[test]
fn lines_for_ping_connect_reset_and_udp() {
    let mut w = lab(LAN);
    sh(&mut w, "client", "ping -c 1 server");
    sh(&mut w, "client", "nc -z server 22");
    sh(&mut w, "client", "nc -z server 23");
    sh(&mut w, "client", "nc -zu server 5000");
    sh(&mut w, "client", "hping3 -c 1 -S -p 80 server");
    let out = sh(&mut w, "server", "tcpdump -n -i eth0");
    assert_eq!(out.exit, 0);
    let got: Vec<String> = out.stdout.lines().map(mask).collect();
    let want = [
        "09:00:00.000020 IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id #, seq 1, length 64",
        "09:00:00.000040 IP 10.0.0.2 > 10.0.0.1: ICMP echo reply, id #, seq 1, length 64",
        "09:00:00.000060 IP 10.0.0.1.# > 10.0.0.2.22: Flags [S], seq #, win 64240, options [mss 1460,sackOK,TS val # ecr 0,nop,wscale 7], length 0",
        "09:00:00.000080 IP 10.0.0.2.22 > 10.0.0.1.#: Flags [S.], seq #, ack #, win 65160, options [mss 1460,sackOK,TS val # ecr #,nop,wscale 7], length 0",
        "09:00:00.000100 IP 10.0.0.1.# > 10.0.0.2.22: Flags [.], ack 1, win 502, options [nop,nop,TS val # ecr #], length 0",
        "09:00:00.000120 IP 10.0.0.1.# > 10.0.0.2.22: Flags [F.], seq 1, ack 1, win 502, options [nop,nop,TS val # ecr #], length 0",
        "09:00:00.000140 IP 10.0.0.2.22 > 10.0.0.1.#: Flags [F.], seq 1, ack 2, win 509, options [nop,nop,TS val # ecr #], length 0",
        "09:00:00.000160 IP 10.0.0.1.# > 10.0.0.2.22: Flags [.], ack 2, win 502, options [nop,nop,TS val # ecr #], length 0",
        "09:00:00.000180 IP 10.0.0.1.# > 10.0.0.2.23: Flags [S], seq #, win 64240, options [mss 1460,sackOK,TS val # ecr 0,nop,wscale 7], length 0",
        "09:00:00.000200 IP 10.0.0.2.23 > 10.0.0.1.#: Flags [R.], seq 0, ack #, win 0, length 0",
        "09:00:00.000220 IP 10.0.0.1.# > 10.0.0.2.5000: UDP, length 1",
        "09:00:00.000240 IP 10.0.0.2 > 10.0.0.1: ICMP 10.0.0.2 udp port 5000 unreachable, length 37",
        "09:00:00.000260 IP 10.0.0.1.# > 10.0.0.2.80: Flags [S], seq #, win 512, length 0",
        "09:00:00.000280 IP 10.0.0.2.80 > 10.0.0.1.#: Flags [S.], seq #, ack #, win 64240, options [mss 1460], length 0",
        "09:00:00.000300 IP 10.0.0.1.# > 10.0.0.2.80: Flags [R], seq #, win 0, length 0",
    ];
    assert_eq!(got, want);
    assert_eq!(
        out.stderr,
        "tcpdump: verbose output suppressed, use -v[v]... for full protocol decode
listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes
15 packets captured
15 packets received by filter
0 packets dropped by kernel
"
    );
    // Names unless -n; -c stops early.
    let out = sh(&mut w, "client", "tcpdump -i eth0 -c 2");
    assert_eq!(
        out.stdout.lines().map(mask).collect::<Vec<_>>(),
        [
            "09:00:00.000020 IP client > server: ICMP echo request, id #, seq 1, length 64",
            "09:00:00.000040 IP server > client: ICMP echo reply, id #, seq 1, length 64",
        ]
    );
    assert!(out.stderr.ends_with(
        "2 packets captured\n2 packets received by filter\n0 packets dropped by kernel\n"
    ));
}

#[test]
fn filters() {
    let mut w = lab(LAN);
    sh(&mut w, "client", "ping -c 1 server");
    sh(&mut w, "client", "nc -z server 23");
    sh(&mut w, "client", "nc -zu server 5000");
    let count = |w: &mut engine::sim::world::World, f: &str| -> usize {
        let out = sh(w, "server", &format!("tcpdump -n -i eth0 {f}"));
        assert_eq!(out.exit, 0, "{f}: {}", out.stderr);
        out.stdout.lines().count()
    };
    assert_eq!(count(&mut w, ""), 6);
    assert_eq!(count(&mut w, "icmp"), 3);
    assert_eq!(count(&mut w, "tcp"), 2);
    assert_eq!(count(&mut w, "udp"), 1);
    assert_eq!(count(&mut w, "tcp port 23"), 2);
    assert_eq!(count(&mut w, "port 5000"), 1);
    assert_eq!(count(&mut w, "udp or icmp"), 4);
    assert_eq!(count(&mut w, "src host 10.0.0.2"), 3);
    assert_eq!(count(&mut w, "dst 10.0.0.2 and not icmp"), 2);
    assert_eq!(count(&mut w, "'host server and ( tcp or udp )'"), 3);
    assert_eq!(count(&mut w, "net 10.0.0.0/24"), 6);
    assert_eq!(count(&mut w, "portrange 20-25"), 2);
    assert_eq!(count(&mut w, "! icmp"), 3);
    let out = sh(&mut w, "server", "tcpdump -i eth0 port abc");
    assert_eq!(
        (out.exit, out.stderr.as_str()),
        (1, "tcpdump: unknown port 'abc'\n")
    );
    let out = sh(&mut w, "server", "tcpdump -i eth0 foo bar");
    assert_eq!(
        out.stderr,
        "tcpdump: can't parse filter expression: syntax error\n"
    );
    let out = sh(&mut w, "server", "tcpdump -i eth9");
    assert_eq!(
        out.stderr,
        "tcpdump: eth9: No such device exists\n(No such device exists)\n"
    );
}

#[test]
fn link_headers_any_interface_and_arp() {
    let mut w = lab(LAN);
    sh(&mut w, "client", "ping -c 1 server");
    let out = sh(&mut w, "client", "tcpdump -n -e -t -i eth0");
    assert_eq!(
        out.stdout.lines().map(mask).collect::<Vec<_>>(),
        [
            "02:00:00:01:00:01 > 02:00:00:02:00:01, ethertype IPv4 (0x0800), length 98: 10.0.0.1 > 10.0.0.2: ICMP echo request, id #, seq 1, length 64",
            "02:00:00:02:00:01 > 02:00:00:01:00:01, ethertype IPv4 (0x0800), length 98: 10.0.0.2 > 10.0.0.1: ICMP echo reply, id #, seq 1, length 64",
        ]
    );
    let out = sh(&mut w, "client", "tcpdump -n -i any");
    assert_eq!(
        out.stdout.lines().map(mask).collect::<Vec<_>>(),
        [
            "09:00:00.000020 eth0  Out IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id #, seq 1, length 64",
            "09:00:00.000040 eth0  In  IP 10.0.0.2 > 10.0.0.1: ICMP echo reply, id #, seq 1, length 64",
        ]
    );
    assert!(out
        .stderr
        .starts_with("tcpdump: data link type LINUX_SLL2\n"));
    // Nobody answers ARP for 10.0.0.9: the wire sees only requests, one a second.
    sh(&mut w, "client", "ping -c 1 -W 1 10.0.0.9");
    let out = sh(&mut w, "server", "tcpdump -n -i eth0 arp");
    assert_eq!(
        out.stdout,
        "09:00:00.000060 ARP, Request who-has 10.0.0.9 tell 10.0.0.1, length 28
09:00:01.000060 ARP, Request who-has 10.0.0.9 tell 10.0.0.1, length 28
09:00:02.000060 ARP, Request who-has 10.0.0.9 tell 10.0.0.1, length 28
"
    );
    let out = sh(&mut w, "server", "tcpdump -v -n -i eth0 icmp");
    assert!(out
        .stdout
        .starts_with("09:00:00.000020 IP (tos 0x0, ttl 64, id "));
    assert!(out
        .stdout
        .contains(", offset 0, flags [DF], proto ICMP (1), length 84)\n    10.0.0.1 > 10.0.0.2: ICMP echo request, id "));
    assert!(out
        .stderr
        .starts_with("tcpdump: listening on eth0, link-type EN10MB (Ethernet)"));
}

#[test]
fn http_payloads_are_named() {
    let mut w = lab(LAN);
    sh(&mut w, "client", "curl -s http://server/");
    let out = sh(&mut w, "client", "tcpdump -n -i eth0 port 80");
    let lines: Vec<String> = out.stdout.lines().map(mask).collect();
    assert!(
        lines[3].ends_with(", length 70: HTTP: GET / HTTP/1.1"),
        "{}",
        lines[3]
    );
    assert!(
        lines[5].ends_with(": HTTP: HTTP/1.1 200 OK"),
        "{}",
        lines[5]
    );
}

/// An ICMP timestamp reply shows the three times it carries, as tcpdump
/// 4.99 does (`org`, `recv`, `xmit`, ms since midnight UTC): seen against
/// the kernel in seed_kernel_more.rs (nmap's host discovery).
#[test]
fn timestamp_reply_shows_its_times() {
    let mut w = lab(LAN);
    sh(&mut w, "client", "hping3 -c 1 --icmp-ts server");
    let out = sh(&mut w, "server", "tcpdump -n -t -i eth0 icmp");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert!(
        lines[0].contains(": ICMP time stamp query id "),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(": org 00:00:00.000, recv 09:00:00.000, xmit 09:00:00.000, length 20"),
        "{}",
        lines[1]
    );
}

/// Datagrams to the ports tcpdump has a printer for go to that printer:
/// nmap's empty probes, `nc -zu`'s one byte, hping3's `X` padding (the
/// printers themselves are compared with the real tcpdump in
/// tcpdump_udp_real.rs).
#[test]
fn udp_port_printers() {
    let mut w = lab(LAN);
    sh(&mut w, "client", "nc -zu server 123");
    sh(
        &mut w,
        "client",
        "hping3 -c 1 --udp -s 40000 -p 1812 -d 20 server",
    );
    sh(&mut w, "client", "nmap -sU -p 161 server");
    sh(&mut w, "client", "hping3 -c 1 --udp -s 40000 -p 69 server");
    let out = sh(&mut w, "server", "tcpdump -n -t -i eth0 udp");
    let lines: Vec<String> = out.stdout.lines().map(mask).collect();
    assert_eq!(
        lines,
        [
            "IP 10.0.0.1.# > 10.0.0.2.123: NTPv3, unspecified, length 1",
            "IP 10.0.0.1.# > 10.0.0.2.#: RADIUS, Unknown Command (88), id: 0x58 length: 20",
            "IP 10.0.0.1.# > 10.0.0.2.161:  [nothing to parse]",
            "IP 10.0.0.1.# > 10.0.0.2.69: TFTP, length 0 [|tftp]",
        ],
        "{}",
        out.stdout
    );
    // Names unless -n.
    let out = sh(&mut w, "server", "tcpdump -t -i eth0 udp port 123");
    assert!(
        out.stdout.ends_with(".ntp: NTPv3, unspecified, length 1\n"),
        "{}",
        out.stdout
    );
}

/// `-q` prints TCP as `tcp N` and UDP without its port printer; without
/// `-n`, link addresses carry their OUI's name and the broadcast address is
/// `Broadcast` (both as tcpdump 4.99.3 prints them: tcpdump_names_real.rs).
#[test]
fn quick_lines_and_link_address_names() {
    let mut w = lab(LAN);
    sh(&mut w, "client", "ping -c 1 server");
    sh(&mut w, "client", "nc -z server 23");
    sh(&mut w, "client", "hping3 -c 1 --udp -s 40000 -p 67 server");
    let out = sh(&mut w, "server", "tcpdump -q -n -t -i eth0 tcp or udp");
    assert_eq!(
        out.stdout.lines().map(mask).collect::<Vec<_>>(),
        [
            "IP 10.0.0.1.# > 10.0.0.2.23: tcp 0",
            "IP 10.0.0.2.23 > 10.0.0.1.#: tcp 0",
            "IP 10.0.0.1.# > 10.0.0.2.67: UDP, length 0",
        ]
    );
    let out = sh(&mut w, "server", "tcpdump -q -t -i eth0 icmp");
    assert_eq!(
        out.stdout.lines().map(mask).collect::<Vec<_>>()[0],
        "IP client > server: ICMP echo request, id #, seq 1, length 64"
    );
    let out = sh(&mut w, "server", "tcpdump -e -t -c 1 -i eth0");
    assert_eq!(
        mask(out.stdout.trim_end()),
        "02:00:00:01:00:01 (oui Unknown) > 02:00:00:02:00:01 (oui Unknown), ethertype IPv4 (0x0800), length 98: client > server: ICMP echo request, id #, seq 1, length 64"
    );
    sh(&mut w, "client", "ping -c 1 -W 1 10.0.0.9");
    let out = sh(&mut w, "server", "tcpdump -e -t -n -i eth0 arp");
    assert!(
        out.stdout
            .starts_with("02:00:00:01:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP"),
        "{}",
        out.stdout
    );
    let out = sh(&mut w, "server", "tcpdump -e -t -i eth0 arp");
    assert!(
        out.stdout
            .starts_with("02:00:00:01:00:01 (oui Unknown) > Broadcast, ethertype ARP"),
        "{}",
        out.stdout
    );
}
