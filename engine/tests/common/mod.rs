//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

use engine::command::script::{parse_script, run_cmd};
use engine::command::Output;
use engine::sim::host::Host;
use std::path::PathBuf;

/// `../shared` beside the repository (test data and reference facts).
pub fn shared_dir() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    if p.is_dir() {
        Some(p)
    } else if std::env::var("CI").is_ok() {
        panic!("../shared is missing: CI must provide it beside the repository");
    } else {
        eprintln!("skipped: ../shared not found beside the repository");
        None
    }
}

/// Runs one shell-quoted command line on a host.
pub fn sh(host: &mut Host, line: &str) -> Output {
    let cmds = parse_script(line).expect("command parses");
    let mut out = Output::default();
    for c in &cmds {
        out = run_cmd(host, c, &|_| Err("No such file or directory".into()));
    }
    out
}

/// Whether this process may create network namespaces and run the real tools.
pub fn can_use_kernel() -> Result<(), String> {
    #[cfg(unix)]
    {
        let uid = std::process::Command::new("id").arg("-u").output();
        match uid {
            Ok(o) if String::from_utf8_lossy(&o.stdout).trim() == "0" => {}
            _ => return Err("not root".into()),
        }
    }
    for tool in ["ip", "iptables-nft", "ipset"] {
        let found = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            return Err(format!("{tool} not installed"));
        }
    }
    Ok(())
}

pub mod real;

/// Runs one command with text on its standard input.
pub fn sh_stdin(host: &mut Host, line: &str, stdin: &str) -> Output {
    let argv: Vec<String> = line.split_whitespace().map(String::from).collect();
    engine::command::run_argv(host, &argv, Some(stdin))
}

/// Masks, in a LOG line split into words, the MAC header a TEE copy of a
/// received packet dumps in POSTROUTING (`IN=` its own output device): 14
/// bytes of whatever the copy's new buffer held, different on every run.
pub fn mask_tee_copy_mac(words: &mut [String]) {
    let in_dev = words
        .iter()
        .find_map(|w| w.split_once("IN=").map(|(_, d)| d));
    let out_dev = words.iter().find_map(|w| w.strip_prefix("OUT="));
    if !(in_dev.is_some_and(|d| !d.is_empty()) && in_dev == out_dev) {
        return;
    }
    for w in words.iter_mut() {
        if w.starts_with("MAC=") && w.len() > 4 {
            *w = "MAC=*".into();
        } else if w.starts_with("MACSRC=") || w.starts_with("MACDST=") || w.starts_with("MACPROTO=")
        {
            *w = format!("{}=*", w.split('=').next().unwrap_or_default());
        }
    }
}
