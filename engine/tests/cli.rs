//! `iptplay run`, as a user runs the built binary: scripts from a file or
//! standard input, `< FILE` relative to the script, here-documents, quoting,
//! comments and continuations, `--json`, and the exit status.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

fn iptplay(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iptplay"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("iptplay runs");
    {
        let mut w = child.stdin.take().expect("stdin");
        w.write_all(stdin.unwrap_or("").as_bytes()).expect("write");
    }
    let o = child.wait_with_output().expect("wait");
    Run {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        code: o.status.code().unwrap_or(-1),
    }
}

/// A scratch directory with the given files.
fn dir_with(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let d = std::env::temp_dir().join(format!("iptplay-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    for (f, text) in files {
        std::fs::write(d.join(f), text).expect("write file");
    }
    d
}

#[test]
fn input_files_are_read_relative_to_the_script() {
    let d = dir_with(
        "relative",
        &[
            (
                "rules.txt",
                "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n",
            ),
            (
                "load.sh",
                "iptables-restore < rules.txt\niptables -S INPUT\n",
            ),
        ],
    );
    // Run from elsewhere: the path is the script's directory, not ours.
    let script = d.join("load.sh");
    let r = iptplay(&["run", script.to_str().unwrap()], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "-P INPUT DROP\n-A INPUT -i lo -j ACCEPT\n");
    assert_eq!(r.stderr, "");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn missing_input_file_fails_that_command_only() {
    let d = dir_with(
        "missing",
        &[("s.sh", "iptables-restore < nope.txt\niptables -N X\n")],
    );
    let r = iptplay(&["run", d.join("s.sh").to_str().unwrap(), "--json"], None);
    let lines: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["exit"], 1);
    assert!(lines[0]["stderr"].as_str().unwrap().contains("nope.txt"));
    assert_eq!(lines[1]["exit"], 0);
    assert_eq!(r.code, 0);
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn json_has_one_object_per_command() {
    let script = "iptables -N FOO\n\
                  iptables -A FOO -m comment --comment 'two words' -j ACCEPT # note\n\
                  iptables -S FOO ; iptables -Lvn\n";
    let r = iptplay(&["run", "--json"], Some(script));
    let objs: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(objs.len(), 4);
    for o in &objs {
        let keys: Vec<&String> = o.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4, "{o}");
        for k in ["command", "exit", "stdout", "stderr"] {
            assert!(o.get(k).is_some(), "{k} missing in {o}");
        }
    }
    assert_eq!(objs[0]["command"], "iptables -N FOO");
    assert_eq!(
        objs[1]["command"],
        "iptables -A FOO -m comment --comment 'two words' -j ACCEPT"
    );
    assert_eq!(
        objs[2]["stdout"],
        "-N FOO\n-A FOO -m comment --comment \"two words\" -j ACCEPT\n"
    );
    assert_eq!(objs[3]["exit"], 1);
    assert_eq!(
        objs[3]["stderr"],
        "iptables v1.8.9 (nf_tables): chain `vn' in table `filter' is incompatible, use 'nft' tool.\n"
    );
    // The exit status is the last command's.
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr, "");
}

#[test]
fn exit_status_is_the_last_commands() {
    let r = iptplay(&["run"], Some("iptables -Lvn\niptables -S\n"));
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("incompatible"));
    let r = iptplay(
        &["run"],
        Some("iptables -S\niptables -A INPUT -p tcp --dport\n"),
    );
    assert_eq!(r.code, 2);
    let r = iptplay(
        &["run", "-"],
        Some("iptables -X INPUT\niptables -t foo -L\n"),
    );
    assert_eq!(r.code, 3);
    let r = iptplay(&["run"], Some(""));
    assert_eq!(r.code, 0);
}

#[test]
fn here_documents_continuations_and_quotes() {
    let script = r#"# a comment line
iptables-restore <<EOF
*filter
:INPUT ACCEPT [0:0]
-A INPUT -s 10.0.0.0/8 -m comment --comment "from \"lan\"" -j ACCEPT
COMMIT
EOF
iptables -A INPUT \
    -p tcp --dport 22 \
    -j DROP
iptables-save > saved.txt
iptables -F
iptables-restore < saved.txt
iptables -S INPUT
iptables -X nosuch 2>/dev/null
"#;
    let r = iptplay(&["run"], Some(script));
    assert_eq!(
        r.stdout,
        "-P INPUT ACCEPT\n\
         -A INPUT -s 10.0.0.0/8 -m comment --comment \"from \\\"lan\\\"\" -j ACCEPT\n\
         -A INPUT -p tcp -m tcp --dport 22 -j DROP\n"
    );
    assert_eq!(r.stderr, "");
    assert_eq!(r.code, 1);
}

#[test]
fn script_syntax_errors_and_missing_scripts() {
    let r = iptplay(&["run"], Some("iptables -L\niptables -N 'open\n"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("iptplay: line 2: "), "{}", r.stderr);
    assert_eq!(r.stdout, "", "nothing runs when the script does not parse");
    let r = iptplay(&["run"], Some("iptables-restore <<EOF\n*filter\n"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("line 1"), "{}", r.stderr);
    let r = iptplay(&["run", "/nonexistent/script.sh"], None);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("/nonexistent/script.sh"), "{}", r.stderr);
}
