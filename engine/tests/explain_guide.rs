//! `explain` on every `iptables -A` / `-I` line of the field guide
//! (`shared/seed-iptables-notes.txt`): each explains without error and the
//! sentence names the rule's key conditions, or, for the lines the guide
//! gets wrong, the error is iptables' own.

mod common;

use common::sh;
use engine::sim::host::Host;
use std::net::Ipv4Addr;

/// The guide's rule lines, continuation lines joined, without the prompt.
fn guide_lines() -> Option<Vec<String>> {
    let text = std::fs::read_to_string(common::shared_dir()?.join("seed-iptables-notes.txt"))
        .expect("field guide");
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        let l = l.trim_start_matches("# ").trim();
        let is_rule = l.starts_with("iptables ")
            && (l.contains(" -A ") || l.contains(" -I "))
            && !l.contains(" -D ");
        if !is_rule {
            continue;
        }
        let mut full = l.to_string();
        while full.ends_with('\\') {
            full.pop();
            match lines.next() {
                Some(next) => full.push_str(next.trim()),
                None => break,
            }
        }
        // The load-balancing script's loop variable: its first value.
        out.push(full.replace("$port", "22"));
    }
    Some(out)
}

/// A host with what the guide's rules refer to: its ipsets, user chains
/// and the web sites' names.
fn guide_host() -> Host {
    let mut h = Host::new("fw");
    h.names.insert(
        "www.terra.com.br".into(),
        vec![
            Ipv4Addr::new(104, 98, 115, 161),
            Ipv4Addr::new(104, 98, 115, 145),
        ],
    );
    h.names.insert(
        "www.uol.com.br".into(),
        vec![Ipv4Addr::new(200, 147, 67, 142)],
    );
    for cmd in [
        "ipset -N MYNEWSET hash:ip",
        "ipset -N auto_blocked iphash",
        "ipset -N china hash:net",
        "iptables -N TCP_TRAFFIC",
        "iptables -N ACCEPTED_MAC",
    ] {
        assert_eq!(sh(&mut h, cmd).exit, 0, "{cmd}");
    }
    h
}

/// Words each explained line must contain (by a fragment of the line).
const KEY_WORDS: &[(&str, &[&str])] = &[
    (
        "--dport 443 -d 0/0 -j ACCEPT",
        &["Accepts", "TCP", "port 443"],
    ),
    ("-i wlan1 -j ACCEPT", &["Accepts", "arriving on wlan1"]),
    ("-i wlan+ -j ACCEPT", &["starts with wlan"]),
    (
        "OUTPUT -p tcp --dport 22 -j ACCEPT",
        &["Accepts TCP packets to port 22"],
    ),
    ("-i lo -j ACCEPT", &["arriving on lo"]),
    ("-o lo -j ACCEPT", &["leaving through lo"]),
    (
        "--syn -s 192.168.10.1",
        &["from 192.168.10.1", "eth0", "SYN"],
    ),
    ("syn,ack -j LOG", &["Logs", "SYN,ACK"]),
    (
        "--timestart 10:00",
        &["Accepts", "port 22", "10:00:00", "15:00:00"],
    ),
    ("--limit 1/sec", &["echo-request", "1/sec", "7"]),
    (
        "-p icmp --icmp-type echo-request -j DROP",
        &["Drops ICMP packets of type echo-request."],
    ),
    (
        "-I INPUT -s 192.168.1.20 -j DROP",
        &["Drops packets from 192.168.1.20."],
    ),
    ("! -s 192.168.1.50", &["not from 192.168.1.50", "port 443"]),
    ("-I OUTPUT -s 192.168.0.0/24", &["from 192.168.0.0/24"]),
    (
        "-d www.terra.com.br",
        &["to 104.98.115.161", "to 104.98.115.145"],
    ),
    ("-d 104.98.115.161", &["to 104.98.115.161"]),
    ("MULTICAST", &["MULTICAST"]),
    ("--sport 80 -j DROP", &["to 80.0.0.1", "from port 80"]),
    (
        "--weekdays",
        &[
            "Accepts TCP packets to 200.147.67.142 port 80 between 18:00:00 and 08:00:00",
            "Mon",
        ],
    ),
    (
        "--dport 80 -d www.uol.com.br -j DROP",
        &["Drops TCP packets to 200.147.67.142 port 80."],
    ),
    ("--update --seconds 60", &["badguys", "60 seconds", "Drops"]),
    ("--set -j DROP", &["badguys", "eth0", "port 8080"]),
    (
        "--state ESTABLISHED,RELATED -j ACCEPT",
        &["established connection", "related"],
    ),
    (
        "--state NEW,ESTABLISHED,RELATED",
        &["start a new connection"],
    ),
    ("--state INVALID", &["invalid"]),
    ("-s 1.1.1.1", &["from 1.1.1.1"]),
    ("MYNEWSET", &["MYNEWSET", "source"]),
    ("--add-set auto_blocked", &["auto_blocked", "port 80"]),
    ("--match-set auto_blocked", &["auto_blocked"]),
    ("--match-set china", &["china"]),
    ("-p tcp -j DROP", &["Drops all TCP packets."]),
    ("--dport 22 -j LOG", &["Logs TCP packets to port 22"]),
    (
        "-s 192.168.0.20 -j REJECT",
        &["Rejects", "192.168.0.20", "port unreachable"],
    ),
    ("--dport 69 -j REJECT", &["Rejects UDP packets to port 69"]),
    ("incoming ssh:", &["incoming ssh:", "info", "SYN"]),
    ("--icmp-type echo-request -j TEE", &["Copies", "10.0.0.10"]),
    (
        "-o eth1 -p tcp -d 80.0.0.1 -j TEE",
        &["eth0", "eth1", "80.0.0.1", "10.0.0.10"],
    ),
    (
        "-A TCP_TRAFFIC -p tcp -j ACCEPT",
        &["Accepts all TCP packets."],
    ),
    ("-p tcp -j TCP_TRAFFIC", &["to chain TCP_TRAFFIC"]),
    ("--sport 22 -j ACCEPT", &["from port 22"]),
    (
        "--mac-source B8:81:98:22:",
        &["Accepts packets sent from MAC address b8:81:98:22:"],
    ),
    ("-j ACCEPTED_MAC", &["to chain ACCEPTED_MAC"]),
    ("-p icmp -j ACCEPT", &["Accepts all ICMP packets."]),
    (
        "INPUT -p tcp --dport 22 -j DROP",
        &["Drops TCP packets to port 22."],
    ),
    (
        "INPUT -p tcp --dport 22 -j ACCEPT",
        &["Accepts TCP packets to port 22."],
    ),
    ("-d 104.98.115.145", &["Drops packets to 104.98.115.145."]),
    ("-s 2.2.2.2", &["Drops packets from 2.2.2.2."]),
    ("-s 8.8.8.8", &["Drops packets from 8.8.8.8."]),
    (
        "-s 10.0.0.0/24 -o eth0 -j MASQUERADE",
        &["Masquerades packets from 10.0.0.0/24 leaving through eth0"],
    ),
    (
        "--to-destination 10.0.0.2",
        &["TCP packets to port 80", "new destination 10.0.0.2 "],
    ),
    (
        "--to-destination 10.0.0.2:80",
        &[
            "TCP packets to port 8080",
            "new destination 10.0.0.2 port 80",
        ],
    ),
    (
        "--dport 22 -o eth1 -j MASQUERADE",
        &["Masquerades TCP packets to port 22 leaving through eth1"],
    ),
    (
        "-o eth2 -j MASQUERADE",
        &["Masquerades packets leaving through eth2"],
    ),
    ("--to-ports 22", &["Redirects", "port 123", "port 22"]),
    ("--to-ports 8080", &["Redirects", "port 80", "port 8080"]),
];

/// The guide's lines a real iptables refuses, with the start of its error.
const REFUSED: &[(&str, &str)] = &[
    (
        "-A OUTGOING",
        "iptables: No chain/target/match by that name.",
    ),
    ("-o eth0 ACCEPT", "Bad argument `ACCEPT'"),
    (
        "-m conlimit",
        "iptables v1.8.9 (nf_tables): Couldn't load match `conlimit'",
    ),
    ("--src range", "Bad argument `192.168.1.20-192.168.1.25'"),
    (
        "08:00:11:22:44:11:22",
        "iptables v1.8.9 (nf_tables): Invalid MAC address specified.",
    ),
    ("quota quota", "Bad argument `quota'"),
    ("--dport -s", "iptables v1.8.9 (nf_tables): "),
    ("--dport -j", "iptables v1.8.9 (nf_tables): "),
];

#[test]
fn every_guide_rule_explains() {
    let Some(lines) = guide_lines() else { return };
    assert!(lines.len() >= 60, "{} lines", lines.len());
    let mut h = guide_host();
    let before = sh(&mut h, "iptables-save").stdout;
    let mut report = Vec::new();
    for line in &lines {
        let out = sh(&mut h, &format!("explain {line}"));
        if let Some((_, err)) = REFUSED.iter().find(|(frag, _)| line.contains(frag)) {
            assert_ne!(out.exit, 0, "{line}: {}", out.stdout);
            assert!(out.stderr.starts_with(err), "{line}: {}", out.stderr);
            continue;
        }
        assert_eq!(out.exit, 0, "{line}: {}", out.stderr);
        let text = out.stdout.trim();
        assert!(!text.is_empty() && text.ends_with('.'), "{line}: {text:?}");
        // The most specific fragment the line contains.
        let key = KEY_WORDS
            .iter()
            .filter(|(frag, _)| line.contains(frag))
            .max_by_key(|(frag, _)| frag.len());
        let Some((_, words)) = key else {
            panic!("no key words for {line}: {text}");
        };
        for w in *words {
            assert!(text.contains(w), "{line}: {text:?} lacks {w:?}");
        }
        report.push(format!("{line}\n    {text}"));
    }
    println!("{}", report.join("\n"));
    assert_eq!(
        sh(&mut h, "iptables-save").stdout,
        before,
        "explain changed the rules"
    );
}
