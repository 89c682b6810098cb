//! `iptplay lab` end to end: start-up, `HOST$` prefixes, the clock,
//! `--trace` and `--json`.

mod binkit;
use binkit::iptplay;

fn lab_path(name: &str) -> String {
    format!("{}/../static/labs/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn script_on_several_hosts() {
    let script = "\
# the router forwards nothing yet
client$ ping -c 1 -W 1 server
router$ sysctl -w net.ipv4.ip_forward=1
client$ ping -c 1 server
nc -zv server 22 ; nc -zv server 23
server$ iptables -A INPUT -p tcp -j DROP
client$ nmap -p 22 server
";
    let (code, out, err) = iptplay(&["lab", &lab_path("router.json")], script);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 packets transmitted, 0 received, 100% packet loss"));
    assert!(out.contains("net.ipv4.ip_forward = 1\n"));
    assert!(out.contains("64 bytes from server (10.10.0.80): icmp_seq=1 ttl=63 time=0.080 ms\n"));
    assert!(err.contains("Connection to server (10.10.0.80) 22 port [tcp/ssh] succeeded!\n"));
    assert!(err
        .contains("nc: connect to server (10.10.0.80) port 23 (tcp) failed: Connection refused\n"));
    assert!(out.contains("22/tcp filtered ssh\n"));
    assert!(out.contains(" at 2024-05-01 11:0"), "{out}");
    assert!(out.contains(" CEST\n"));
}

#[test]
fn unknown_host_and_bad_lab() {
    let (code, _, err) = iptplay(
        &["lab", &lab_path("lan.json")],
        "nosuch$ ping -c 1 server\n",
    );
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "iptplay: line 1: no host \"nosuch\" in the lab (hosts: client, server)\n"
    );
    let dir = std::env::temp_dir().join(format!("iptplay-lab-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"version": 7, "hosts": []}"#).unwrap();
    let (code, out, err) = iptplay(&["lab", bad.to_str().unwrap()], "");
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        format!(
            "iptplay: {}: lab file version 7 is not supported (this iptplay reads version 1)\n",
            bad.display()
        )
    );
    let (code, _, err) = iptplay(&["lab", dir.join("missing.json").to_str().unwrap()], "");
    assert_eq!(code, 2);
    assert!(err.contains("No such file or directory"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn trace_shows_the_path() {
    let script =
        "server$ iptables -A INPUT -s 10.0.0.1 -p tcp -j DROP\nclient$ nc -z -w 1 server 22\n";
    let (code, out, _) = iptplay(&["lab", "--trace", &lab_path("lan.json")], script);
    assert_eq!(code, 1);
    assert!(out.contains("packet 1 on client: TCP 10.0.0.1:"), "{out}");
    assert!(out.contains(" > 10.0.0.2:22 [S] ttl 64 len 60\n"));
    assert!(out.contains("    INPUT filter INPUT #1: match -> DROP\n"));
    assert!(out.contains("  => dropped on server in INPUT\n"));
}

#[test]
fn json_lines() {
    // A state rule makes the server track connections.
    let script = "server$ iptables -A INPUT -m state --state INVALID -j DROP\n\
                  client$ ping -c 1 server\nsleep 5\nserver$ conntrack -L\n";
    let (code, out, _) = iptplay(&["lab", "--json", &lab_path("lan.json")], script);
    assert_eq!(code, 0);
    let objs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let commands: Vec<&serde_json::Value> =
        objs.iter().filter(|o| o["type"] == "command").collect();
    assert_eq!(commands.len(), 4);
    let commands = &commands[1..];
    assert_eq!(commands[0]["host"], "client");
    assert_eq!(commands[0]["command"], "ping -c 1 server");
    assert_eq!(commands[0]["exit"], 0);
    assert_eq!(commands[0]["startup"], false);
    assert!(commands[0]["stdout"]
        .as_str()
        .unwrap()
        .contains("1 received"));
    assert_eq!(commands[2]["host"], "server");
    assert!(commands[2]["stdout"]
        .as_str()
        .unwrap()
        .starts_with("icmp     1 24 "));
    let packets: Vec<&serde_json::Value> = objs.iter().filter(|o| o["type"] == "packet").collect();
    assert_eq!(packets.len(), 4);
    assert_eq!(packets[0]["command"], commands[0]["index"]);
    assert_eq!(packets[0]["host"], "client");
    assert_eq!(packets[0]["headers"]["proto"], 1);
    assert!(packets[1]["steps"].is_array());
    assert_eq!(packets[1]["outcome"], "delivered to server (echo request)");
    assert!(packets[1]["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "delivered"));
}
