//! Commands as a user types them: shell words, scripts, and dispatch to the
//! programs a host offers.

pub mod script;
pub mod shell;

use crate::sim::host::Host;
use serde::Serialize;

/// What one command printed and returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub exit: i32,
}

impl Output {
    pub fn ok(stdout: impl Into<String>) -> Output {
        Output {
            stdout: stdout.into(),
            ..Default::default()
        }
    }
    pub fn err(stderr: impl Into<String>, exit: i32) -> Output {
        Output {
            stderr: stderr.into(),
            exit,
            ..Default::default()
        }
    }
}

/// Runs one command (already split into words) on a host, with optional standard input.
pub fn run_argv(host: &mut Host, argv: &[String], stdin: Option<&str>) -> Output {
    let Some(prog) = argv.first() else {
        return Output::default();
    };
    let prog = prog.rsplit('/').next().unwrap_or(prog);
    match prog {
        "iptables" | "iptables-nft" => crate::iptables::run(host, argv),
        "iptables-save" | "iptables-nft-save" => crate::iptables::save_cmd::run_save(host, argv),
        "iptables-restore" | "iptables-nft-restore" => {
            crate::iptables::restore::run_restore(host, argv, stdin.unwrap_or(""))
        }
        "ipset" => crate::ipset::cmd::run(host, argv, stdin),
        "nfacct" => crate::nfacct::run_stdin(host, argv, stdin),
        "explain" | "lint" => crate::lint::cmd::run(host, argv),
        _ => Output::err(format!("{prog}: command not found\n"), 127),
    }
}
