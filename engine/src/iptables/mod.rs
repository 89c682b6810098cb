//! The `iptables` front end: argv parsing, the nf_tables command semantics
//! of iptables-nft 1.8.9 against a host's tables, listings, saves and
//! restores, with the real program's texts and exit codes.

pub mod addr;
pub mod exec;
mod exts;
pub mod getopt;
pub mod help;
pub mod list;
pub mod nft;
pub mod opts;
pub mod parse;
pub mod restore;
pub mod save;
pub mod save_cmd;

use crate::ext::XtError;

pub use exec::run;

/// The version tag iptables prints after its name.
pub const VERSION: &str = "v1.8.9 (nf_tables)";

/// `iptables v1.8.9 (nf_tables)`, as parse errors start.
pub const VERSION_TAG: &str = "iptables v1.8.9 (nf_tables)";

/// `iptables` or `iptables-restore`, as the program names itself in messages.
pub fn prog_name(argv: &[String]) -> &'static str {
    match argv.first().map(|a| a.rsplit('/').next().unwrap_or(a)) {
        Some(a) if a.contains("restore") => "iptables-restore",
        _ => "iptables",
    }
}

/// Formats a parse error as `prog` prints it on stderr (`line`: the restore
/// line, which adds `Error occurred at line: N`).
pub fn format_error(prog: &str, e: &XtError, line: Option<usize>) -> String {
    let mut s = String::new();
    if e.bare {
        if !e.msg.is_empty() {
            s.push_str(&e.msg);
            s.push('\n');
        }
    } else {
        s.push_str(&format!("{prog} {VERSION}: {}\n", e.msg));
    }
    if e.exit == 2 {
        if let Some(l) = line {
            s.push_str(&format!("Error occurred at line: {l}\n"));
        }
        s.push_str(&format!(
            "Try `{prog} -h' or '{prog} --help' for more information.\n"
        ));
    }
    s
}
