//! Lab files: the built-in labs load; bad files give clear errors and
//! never panic.

mod labkit;

use engine::lab;
use std::path::PathBuf;

fn static_labs() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../static/labs");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("static/labs exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v
}

#[test]
fn built_in_labs_load_and_start() {
    let labs = static_labs();
    assert!(labs.len() >= 3, "{labs:?}");
    for p in labs {
        let text = std::fs::read_to_string(&p).unwrap();
        let (world, file, runs) =
            lab::load(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(!file.name.is_empty(), "{} has a name", p.display());
        assert!(world.hosts.len() >= 2);
        for r in runs {
            assert_eq!(
                r.output.exit,
                0,
                "{}: {}: {}",
                p.display(),
                r.command,
                r.output.stderr
            );
        }
    }
}

#[test]
fn a_lab_becomes_a_world() {
    let text = r#"{
      "version": 1,
      "clock": { "start": "2024-05-01T11:00:00+02:00", "timezone": "CEST", "uptime": 60 },
      "links": [ { "name": "lan" } ],
      "hosts": [
        { "name": "a",
          "interfaces": [ { "name": "eth0", "address": "10.0.0.1/24", "mac": "52:54:00:12:34:56", "link": "lan" } ],
          "routes": [ { "to": "0.0.0.0/0", "via": "10.0.0.2" } ],
          "sysctl": { "net.ipv4.ip_forward": "1" },
          "services": [ { "proto": "udp", "port": 53 } ],
          "startup": [ "iptables -A INPUT -p tcp -j DROP" ] },
        { "name": "b",
          "interfaces": [ { "name": "eth0", "address": "10.0.0.2/24", "link": "lan", "down": true } ] }
      ],
      "names": [ { "address": "10.0.0.2", "names": ["gw", "b.lab"] } ],
      "resolver": "10.0.0.2"
    }"#;
    let (mut w, _, runs) = lab::load(text).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(w.now_ns, 1_714_554_000_000_000_000);
    assert_eq!(w.tools.boot_ns, w.now_ns - 60_000_000_000);
    assert_eq!(w.tools.tz_name, "CEST");
    assert_eq!(w.hosts[0].tz_minutes, 120);
    assert_eq!(w.hosts[0].ifaces[1].mac, [0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    assert!(w.hosts[0].forwarding());
    assert!(!w.hosts[1].ifaces[1].up);
    assert_eq!(w.hosts[0].listeners[0].service, "domain");
    assert_eq!(
        w.hosts[0].resolve("gw"),
        vec!["10.0.0.2".parse::<std::net::Ipv4Addr>().unwrap()]
    );
    // Host names join the name table (auto_names), next to the declared names.
    assert_eq!(w.hosts[1].resolve("a").len(), 1);
    assert_eq!(w.hosts[0].resolve("b").len(), 1);
    let out = labkit::sh(&mut w, "a", "iptables -S INPUT");
    assert_eq!(out.stdout, "-P INPUT ACCEPT\n-A INPUT -p tcp -j DROP\n");
    let out = labkit::sh(&mut w, "a", "date");
    assert_eq!(out.stdout, "Wed May  1 11:00:00 CEST 2024\n");
    let out = labkit::sh(&mut w, "a", "ip route");
    assert_eq!(
        out.stdout,
        "default via 10.0.0.2 dev eth0 \n10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1 \n"
    );
}

fn error_of(text: &str) -> String {
    match lab::load(text) {
        Ok(_) => panic!("loaded: {text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_files_say_what_is_wrong() {
    let host = |extra: &str| {
        format!(
            r#"{{"version": 1, "links": [{{"name": "lan"}}], "hosts": [{{"name": "a", "interfaces": [{{"name": "eth0", "address": "10.0.0.1/24", "link": "lan"}}]{extra}}}]}}"#
        )
    };
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "not valid JSON"),
        ("[1,2".into(), "not valid JSON"),
        ("{}".into(), "missing \"version\" (use 1)"),
        (r#"{"version": 2, "hosts": []}"#.into(), "lab file version 2 is not supported (this iptplay reads version 1)"),
        (r#"{"version": "1", "hosts": []}"#.into(), "\"version\" must be a number"),
        (r#"{"version": 1, "hosts": []}"#.into(), "a lab needs at least one host"),
        (r#"{"version": 1, "hosts": [{"name": "a"}], "extra": 1}"#.into(), "unknown field `extra`"),
        (r#"{"version": 1, "hosts": [{"name": "a b"}]}"#.into(), "host name \"a b\" is not valid"),
        (r#"{"version": 1, "hosts": [{"name": "a"}, {"name": "a"}]}"#.into(), "host \"a\" is declared twice"),
        (r#"{"version": 1, "hosts": [{"name": "a", "interfaces": [{"name": "eth0", "address": "10.0.0.1", "link": "x"}]}]}"#.into(), "host a interface eth0: \"10.0.0.1\" is not ADDRESS/PREFIX"),
        (r#"{"version": 1, "hosts": [{"name": "a", "interfaces": [{"name": "eth0", "address": "10.0.0.300/24"}]}]}"#.into(), "\"10.0.0.300\" is not an IPv4 address"),
        (r#"{"version": 1, "hosts": [{"name": "a", "interfaces": [{"name": "eth0", "address": "10.0.0.1/40"}]}]}"#.into(), "prefix \"40\" is not 0 to 32"),
        (r#"{"version": 1, "links": [{"name": "lan"}], "hosts": [{"name": "a", "interfaces": [{"name": "eth0", "address": "10.0.0.1/24", "link": "lna"}]}]}"#.into(), "host a interface eth0: unknown link \"lna\" (declared links: lan)"),
        (r#"{"version": 1, "hosts": [{"name": "a", "interfaces": [{"name": "lo"}]}]}"#.into(), "interface name \"lo\" is not valid"),
        (r#"{"version": 1, "hosts": [{"name": "a", "interfaces": [{"name": "eth0", "mac": "01:00:5e:00:00:01"}]}]}"#.into(), "is a multicast address"),
        (host(r#", "routes": [{"to": "default", "via": "10.9.9.9"}]"#), "host a route to default: gateway 10.9.9.9 is not on a network of a"),
        (host(r#", "routes": [{"to": "10.5.0.1/16", "via": "10.0.0.9"}]"#), "host bits are set (did you mean 10.5.0.0/16?)"),
        (host(r#", "routes": [{"to": "default"}]"#), "needs \"via\" or \"dev\""),
        (host(r#", "routes": [{"to": "default", "dev": "eth5"}]"#), "no interface \"eth5\""),
        (host(r#", "sysctl": {"net.ipv4.nosuch": "1"}"#), "host a: unknown sysctl \"net.ipv4.nosuch\""),
        (host(r#", "sysctl": {"net.ipv4.ip_forward": "yes"}"#), "sysctl net.ipv4.ip_forward: \"yes\" is not a valid value"),
        (host(r#", "services": [{"proto": "sctp", "port": 1}]"#), "protocol \"sctp\" is not tcp or udp"),
        (host(r#", "services": [{"port": 22}, {"port": 22}]"#), "service 22/tcp: declared twice"),
        (host(r#", "services": [{"port": 22, "address": "10.0.0.9"}]"#), "10.0.0.9 is not an address of a"),
        (host(r#", "services": [{"port": 70000}]"#), "invalid value"),
        (r#"{"version": 1, "clock": {"start": "noon"}, "hosts": [{"name": "a"}]}"#.into(), "clock.start: \"noon\" is not a time"),
        (r#"{"version": 1, "names": [{"address": "x", "names": ["a"]}], "hosts": [{"name": "a"}]}"#.into(), "names: \"x\" is not an IPv4 address"),
        (r#"{"version": 1, "links": [{"name": "l"}], "hosts": [{"name": "a", "interfaces": [{"name": "e0", "address": "10.0.0.1/24", "link": "l"}]}, {"name": "b", "interfaces": [{"name": "e0", "address": "10.0.0.1/24", "link": "l"}]}]}"#.into(), "address 10.0.0.1 is on a e0 and on b e0 (link l)"),
    ];
    for (text, want) in cases {
        let got = error_of(&text);
        assert!(got.contains(want), "{text}\n  got: {got}\n want: {want}");
    }
    let big = format!(
        "{{\"version\": 1, \"description\": \"{}\", \"hosts\": []}}",
        "x".repeat(lab::MAX_LAB_BYTES)
    );
    assert!(error_of(&big).contains("the limit is"));
}

#[test]
fn failing_start_up_commands_are_reported_not_fatal() {
    let text = r#"{"version": 1, "hosts": [{"name": "a", "startup": ["iptables -A NOPE -j DROP", "sysctl -w net.ipv4.ip_forward=1"]}]}"#;
    let (w, _, runs) = lab::load(text).unwrap();
    assert_eq!(runs.len(), 2);
    assert_ne!(runs[0].output.exit, 0);
    assert_eq!(runs[1].output.exit, 0);
    assert!(w.hosts[0].forwarding());
}

/// Mutated lab files never panic the loader (or the tools run on what loads).
#[test]
fn mutations_never_panic() {
    let base = labkit::LAN.as_bytes().to_vec();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet = b"0123456789./:-\"{}[],x ";
    for _ in 0..400 {
        let mut b = base.clone();
        for _ in 0..(1 + next() % 4) {
            let at = (next() as usize) % b.len();
            match next() % 3 {
                0 => b[at] = alphabet[(next() as usize) % alphabet.len()],
                1 => {
                    b.remove(at);
                }
                _ => b.insert(at, alphabet[(next() as usize) % alphabet.len()]),
            }
        }
        let text = String::from_utf8_lossy(&b).to_string();
        if let Ok((mut w, _, _)) = lab::load(&text) {
            for host in ["client", "server"] {
                if w.host_index(host).is_some() {
                    labkit::sh(&mut w, host, "ping -c 1 -W 1 server");
                    labkit::sh(&mut w, host, "nmap -p 22 10.0.0.2");
                }
            }
        }
    }
}
