//! `iptplay lab check` end to end: a lab with checks of every kind, run
//! bare, after a script, after its own steps, as JSON, and with bad labs
//! and scripts; `iptplay lab LAB --checks`.

use std::path::PathBuf;

mod binkit;
use binkit::iptplay;

/// Writes a file for one test and returns its path.
fn file(test: &str, name: &str, text: &str) -> String {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("iptplay-lab-check-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write file");
    p.to_string_lossy().into_owned()
}

/// SSH to fw from the LAN is to be dropped and logged; established traffic
/// accepted first; the scanner sees 22/tcp filtered; web stays open.
const LAB: &str = r#"{
  "version": 1,
  "name": "drop ssh",
  "links": [ { "name": "lan" } ],
  "hosts": [
    { "name": "client", "interfaces": [ { "name": "eth0", "address": "10.0.0.1/24", "link": "lan" } ] },
    { "name": "fw", "interfaces": [ { "name": "eth0", "address": "10.0.0.2/24", "link": "lan" } ],
      "services": [ { "proto": "tcp", "port": 22 }, { "proto": "tcp", "port": 80 } ] }
  ],
  "intro": "Drop SSH, keep the web.",
  "steps": [
    { "title": "Keep answers", "host": "fw",
      "commands": ["iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT"] },
    { "title": "Log and drop SSH", "host": "fw",
      "commands": ["iptables -A INPUT -p tcp --dport 22 -j LOG --log-prefix \"SSH: \"",
                   "iptables -A INPUT -p tcp --dport 22 -j DROP"] },
    { "title": "Try it", "host": "client", "commands": ["nmap -p 22,80 fw"], "look": "22 is filtered." }
  ],
  "checks": [
    { "id": "ssh-dropped", "title": "SSH from client to fw is dropped",
      "hint": "a DROP rule for tcp port 22 in INPUT",
      "reach": { "from": "client", "to": "fw", "port": 22, "expect": "dropped" } },
    { "id": "web-open", "title": "the web still answers",
      "reach": { "from": "client", "to": "fw", "port": 80, "expect": "answered" } },
    { "id": "est", "title": "ESTABLISHED accepted before the DROP",
      "rule": { "host": "fw", "chain": "INPUT", "has": "-m state --state RELATED,ESTABLISHED -j ACCEPT",
                "before": "-j DROP" } },
    { "id": "scan", "title": "nmap shows 22/tcp filtered",
      "output": { "host": "client", "command": "nmap -p 22 fw", "contains": ["22/tcp filtered"] } },
    { "id": "cnt", "title": "the DROP rule counted packets",
      "counter": { "host": "fw", "chain": "INPUT", "rule": "-j DROP", "min": 1 } },
    { "id": "log", "title": "a LOG line with prefix SSH",
      "log": { "host": "fw", "contains": "SSH: " } }
  ]
}"#;

const SOLUTION: &str = "\
fw$ iptables -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
iptables -A INPUT -p tcp -m tcp --dport 22 -j LOG --log-prefix \"SSH: \"
iptables -A INPUT -p tcp --dport 22 -j DROP
client$ nmap -p 22 fw
";

#[test]
fn a_solution_script_passes_every_check() {
    let lab = file("solution", "lab.json", LAB);
    let script = file("solution", "solution.sh", SOLUTION);
    let (code, out, err) = iptplay(&["lab", "check", &lab, "--script", &script], "");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "PASS ssh-dropped: SSH from client to fw is dropped
PASS web-open: the web still answers
PASS est: ESTABLISHED accepted before the DROP
PASS scan: nmap shows 22/tcp filtered
PASS cnt: the DROP rule counted packets
PASS log: a LOG line with prefix SSH
6 checks: 6 passed, 0 failed
"
    );
    // The script runs through the hosts' shell.
    let looped = "fw$ iptables -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
for t in LOG DROP; do
  if [ $t = LOG ]; then iptables -A INPUT -p tcp --dport 22 -j LOG --log-prefix \"SSH: \"; else iptables -A INPUT -p tcp --dport 22 -j $t; fi
done
client$ nmap -p 22 fw
";
    let script = file("solution", "looped.sh", looped);
    let (code, out, err) = iptplay(&["lab", "check", &lab, "--script", &script], "");
    assert_eq!(code, 0, "{out}{err}");
    // The script from standard input does the same.
    let (code, _, err) = iptplay(&["lab", "check", &lab, "--script", "-"], SOLUTION);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn the_labs_own_steps_pass_every_check() {
    let lab = file("steps", "lab.json", LAB);
    let (code, out, err) = iptplay(&["lab", "check", &lab, "--steps"], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("6 checks: 6 passed, 0 failed\n"), "{out}");
}

#[test]
fn a_fresh_or_wrong_lab_fails_with_details() {
    let lab = file("fresh", "lab.json", LAB);
    let (code, out, _) = iptplay(&["lab", "check", &lab], "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(
        "FAIL ssh-dropped: SSH from client to fw is dropped: expected dropped, but tcp 10.0.0.1 -> 10.0.0.2:22 was delivered to fw"
    ), "{out}");
    assert!(
        out.contains("    hint: a DROP rule for tcp port 22 in INPUT\n"),
        "{out}"
    );
    assert!(
        out.contains("PASS web-open: the web still answers\n"),
        "{out}"
    );
    assert!(out.ends_with("6 checks: 1 passed, 5 failed\n"), "{out}");
    // DROP first, ESTABLISHED after it: the order check fails, the rest pass.
    let wrong = "fw$ iptables -A INPUT -p tcp --dport 22 -j LOG --log-prefix \"SSH: \"
iptables -A INPUT -p tcp --dport 22 -j DROP
iptables -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
client$ nmap -p 22 fw
";
    let script = file("fresh", "wrong.sh", wrong);
    let (code, out, _) = iptplay(&["lab", "check", &lab, "--script", &script], "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(
        "FAIL est: ESTABLISHED accepted before the DROP: in fw filter INPUT, rule 2 (`-A INPUT -p tcp -m tcp --dport 22 -j DROP`) comes first"
    ), "{out}");
    assert!(out.ends_with("6 checks: 5 passed, 1 failed\n"), "{out}");
}

#[test]
fn json_is_one_object_with_results_and_summary() {
    let lab = file("json", "lab.json", LAB);
    let (code, out, _) = iptplay(&["lab", "check", &lab, "--json"], "");
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["lab"], "drop ssh");
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 6);
    assert_eq!(results[1]["id"], "web-open");
    assert_eq!(results[1]["title"], "the web still answers");
    assert_eq!(results[1]["pass"], true);
    assert!(results[1]["detail"]
        .as_str()
        .unwrap()
        .contains("SYN-ACK came back"));
    assert_eq!(results[0]["pass"], false);
    assert_eq!(
        v["summary"],
        serde_json::json!({ "total": 6, "passed": 1, "failed": 5 })
    );
}

#[test]
fn bad_labs_and_scripts_exit_2() {
    let two_kinds = LAB.replace(
        r#""log": { "host": "fw", "contains": "SSH: " } }"#,
        r#""log": { "host": "fw", "contains": "SSH: " }, "policy": { "host": "fw", "chain": "INPUT", "is": "DROP" } }"#,
    );
    let lab = file("bad", "two.json", &two_kinds);
    let (code, out, err) = iptplay(&["lab", "check", &lab], "");
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("check \"log\": has 2 kinds (policy, log); a check has exactly one"),
        "{err}"
    );
    let (code, _, err) = iptplay(&["lab", "check", "/nonexistent/lab.json"], "");
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/lab.json"), "{err}");
    let good = file("bad", "lab.json", LAB);
    let script = file("bad", "s.sh", "router$ iptables -L\n");
    let (code, out, err) = iptplay(&["lab", "check", &good, "--script", &script], "");
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("no host \"router\" in the lab"), "{err}");
    let (code, _, _) = iptplay(&["lab", "check", &good, "--script", &script, "--steps"], "");
    assert_eq!(code, 2);
}

#[test]
fn lab_with_checks_flag_prints_them_after_the_script() {
    let lab = file("flag", "lab.json", LAB);
    let (code, out, err) = iptplay(&["lab", &lab, "--checks"], SOLUTION);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("22/tcp filtered ssh\n"), "{out}");
    assert!(out.ends_with("6 checks: 6 passed, 0 failed\n"), "{out}");
    let (_, out, _) = iptplay(&["lab", &lab, "--checks", "--json"], "");
    let last: serde_json::Value =
        serde_json::from_str(out.lines().last().expect("a line")).expect("JSON");
    assert_eq!(
        last,
        serde_json::json!({ "type": "summary", "total": 6, "passed": 1, "failed": 5 })
    );
}
