//! `iptables ARGS...`: parse, run as one batch on the table, commit.

use super::nft::{Batch, Fail, KernelFail};
use super::parse;
use super::{format_error, VERSION};
use crate::command::Output;
use crate::ruleset::table_hooks;
use crate::sim::host::Host;
use std::net::Ipv4Addr;

/// Host name of an address, from the host's name table (`gethostbyaddr`).
pub fn reverse_name(host: &Host, addr: Ipv4Addr) -> Option<String> {
    host.names
        .iter()
        .find(|(_, addrs)| addrs.contains(&addr))
        .map(|(n, _)| n.clone())
}

/// How `iptables` reports a userspace refusal.
pub fn fail_text(prog: &str, f: &Fail) -> (String, i32) {
    match f {
        Fail::Msg { msg, dmesg } => {
            let hint = if *dmesg {
                " Run `dmesg' for more information."
            } else {
                ""
            };
            (format!("{prog}: {msg}.{hint}\n"), 1)
        }
        Fail::Param(e) => (format_error(prog, e, None), e.exit),
        Fail::Incompatible { chain, table } => (
            format!(
                "{prog} {VERSION}: chain `{chain}' in table `{table}' is incompatible, use 'nft' tool.\n"
            ),
            1,
        ),
    }
}

/// How `iptables` reports the kernel refusing the batch.
pub fn kernel_text(prog: &str, k: &KernelFail) -> String {
    format!(
        "{prog} {VERSION}:  {} failed ({}): {}\n",
        k.op,
        k.err.strerror(),
        k.what
    )
}

/// Runs `iptables ARGS...` on a host.
pub fn run(host: &mut Host, argv: &[String]) -> Output {
    let mut warnings = Vec::new();
    let parsed = parse::with_host_env(host, false, |env| parse::parse(argv, env, &mut warnings));
    let mut stderr: String = warnings.iter().map(|w| format!("{w}\n")).collect();
    let mut p = match parsed {
        Ok(p) => p,
        Err(e) => {
            stderr.push_str(&format_error("iptables", &e, None));
            return Output {
                stdout: String::new(),
                stderr,
                exit: e.exit,
            };
        }
    };
    if let Some(text) = p.output {
        return Output {
            stdout: text,
            stderr,
            exit: 0,
        };
    }
    if table_hooks(&p.table).is_none() {
        stderr.push_str(&format!(
            "iptables {VERSION}: table '{}' does not exist\nPerhaps iptables or your kernel needs to be upgraded.\n",
            p.table
        ));
        return Output {
            stdout: String::new(),
            stderr,
            exit: 3,
        };
    }
    let table = host
        .ruleset
        .table(&p.table)
        .expect("every known table is present")
        .clone();
    let names = host.names.clone();
    let reverse = move |a: Ipv4Addr| {
        names
            .iter()
            .find(|(_, addrs)| addrs.contains(&a))
            .map(|(n, _)| n.clone())
    };
    let others: Vec<&crate::ruleset::Table> = host
        .ruleset
        .tables
        .iter()
        .filter(|t| t.name != table.name)
        .collect();
    let mut batch = Batch::new(&table, &others, &reverse);
    let result = batch.run(&mut p);
    let (stdout, committed) = batch.finish();
    let mut out = Output {
        stdout,
        stderr,
        exit: 0,
    };
    if let Err(f) = result {
        let (text, exit) = fail_text("iptables", &f);
        out.stderr.push_str(&text);
        out.exit = exit;
        return out;
    }
    match committed {
        Ok(t) => {
            *host.ruleset.table_mut(&p.table).expect("known table") = t;
            crate::ext::after_commit(host);
        }
        Err(k) => {
            out.stderr.push_str(&kernel_text("iptables", &k[0]));
            out.exit = 4;
        }
    }
    out
}
