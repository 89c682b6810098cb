//! No input panics a tool: random command lines built from each tool's own
//! options, numbers, addresses and odd words.

mod labkit;

use engine::sim::tools::run_in_world;
use labkit::{lab, LAN};

const TOOLS: &[&str] = &[
    "ping",
    "nc",
    "curl",
    "wget",
    "hping3",
    "nmap",
    "tcpdump",
    "dmesg",
    "conntrack",
    "ss",
    "netstat",
    "dig",
    "getent",
    "ip",
    "sysctl",
    "sleep",
    "echo",
    "cat",
    "date",
    "hostname",
];

const WORDS: &[&str] = &[
    "-c",
    "-c1",
    "-W",
    "-w",
    "-i",
    "-I",
    "-t",
    "-s",
    "-p",
    "-n",
    "-v",
    "-z",
    "-u",
    "-l",
    "-k",
    "-S",
    "-A",
    "-F",
    "-R",
    "-P",
    "-U",
    "-1",
    "-2",
    "--udp",
    "-a",
    "-sS",
    "-sT",
    "-sU",
    "-sn",
    "-Pn",
    "-sV",
    "-p-",
    "-F",
    "--open",
    "-e",
    "-x",
    "-L",
    "-D",
    "-C",
    "-q",
    "-d",
    "-r",
    "-m",
    "-o",
    "-O",
    "-T",
    "-I",
    "-4",
    "-br",
    "-ltn",
    "-tuln",
    "+short",
    "@10.0.0.2",
    "-qw",
    "addr",
    "link",
    "route",
    "get",
    "add",
    "del",
    "dev",
    "via",
    "default",
    "set",
    "up",
    "down",
    "show",
    "flush",
    "replace",
    "eth0",
    "lo",
    "eth9",
    "hosts",
    "and",
    "or",
    "not",
    "(",
    ")",
    "host",
    "port",
    "net",
    "portrange",
    "tcp",
    "udp",
    "icmp",
    "src",
    "dst",
    "0",
    "1",
    "2",
    "22",
    "23",
    "53",
    "80",
    "65535",
    "65536",
    "99999999999",
    "-1",
    "1.5",
    "1e9",
    "10.0.0.2",
    "10.0.0.3",
    "10.0.0.9",
    "10.0.0.0/30",
    "10.0.0.1-3",
    "8.8.8.8",
    "server",
    "www",
    "nosuch",
    "http://server/",
    "http://10.0.0.2:22/",
    "ftp://x/",
    "net.ipv4.ip_forward",
    "net.ipv4.ip_forward=1",
    "net.ipv4.ip_forward=x",
    "/proc/sys/net/ipv4/ip_forward",
    "",
    "-",
    "--",
    "-é",
    "é",
    "\u{0}",
    "T:22,U:53",
    "20-25",
    "25-20",
    "x-y",
    "0x10",
    "255.255.255.255",
    "0.0.0.0",
    "127.0.0.1",
];

#[test]
fn random_command_lines_never_panic() {
    let mut w = lab(LAN);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let client = w.host_index("client").unwrap();
    let server = w.host_index("server").unwrap();
    for round in 0..3000 {
        let tool = TOOLS[(next() as usize) % TOOLS.len()];
        let n = (next() % 6) as usize;
        let mut argv = vec![tool.to_string()];
        for _ in 0..n {
            argv.push(WORDS[(next() as usize) % WORDS.len()].to_string());
        }
        // Keep the lab clock and packet counts modest.
        if argv.iter().any(|a| a == "1e9" || a == "99999999999") && tool == "sleep" {
            continue;
        }
        let host = if round % 2 == 0 { client } else { server };
        let stdin = if round % 5 == 0 {
            Some("GET / HTTP/1.0\r\n\r\n")
        } else {
            None
        };
        let _ = run_in_world(&mut w, host, &argv, stdin);
    }
}

#[test]
fn deep_filters_and_odd_input() {
    let mut w = lab(LAN);
    let deep = format!("{}icmp{}", "( ".repeat(5000), " )".repeat(5000));
    let nots = format!("{}icmp", "not ".repeat(5000));
    for f in [deep, nots] {
        let out = run_in_world(
            &mut w,
            0,
            &["tcpdump".into(), "-i".into(), "eth0".into(), f],
            None,
        );
        assert_eq!(out.exit, 1);
    }
    let out = run_in_world(&mut w, 0, &[], None);
    assert_eq!(out.exit, 0);
    let out = run_in_world(&mut w, 9, &["ping".into()], None);
    assert_eq!(out.exit, 127);
}
