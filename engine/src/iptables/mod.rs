//! The `iptables` front end: argv parsing, execution against a host's
//! ruleset, listings, saves and restores, with iptables-nft 1.8.9's texts.

pub mod exec;
pub mod getopt;
pub mod help;
pub mod list;
pub mod parse;
pub mod restore;
pub mod save;

use crate::command::Output;
use crate::ext::XtError;
use crate::sim::host::Host;

/// Program name and version as iptables prints them.
pub const PROG: &str = "iptables";
pub const VERSION_TAG: &str = "iptables v1.8.9 (nf_tables)";

/// The `Try ...` line printed after parameter problems.
pub const TRY_LINE: &str = "Try `iptables -h' or 'iptables --help' for more information.\n";

/// Formats a parse error as iptables prints it on stderr.
pub fn format_error(e: &XtError) -> String {
    let mut s = String::new();
    if e.bare {
        if !e.msg.is_empty() {
            s.push_str(&e.msg);
            s.push('\n');
        }
    } else {
        s.push_str(VERSION_TAG);
        s.push_str(": ");
        s.push_str(&e.msg);
        s.push('\n');
    }
    if e.exit == 2 {
        s.push_str(TRY_LINE);
    }
    s
}

/// Runs `iptables ARGS...` on a host.
pub fn run(host: &mut Host, argv: &[String]) -> Output {
    let parsed = {
        let resolve = |n: &str| host.resolve(n);
        let sets = |n: &str| host.ipsets.set_ref(n);
        let nfacct = |n: &str| host.nfacct.exists(n);
        let env = parse::ParseEnv {
            resolve: &resolve,
            sets: &sets,
            nfacct: &nfacct,
            restore: false,
        };
        parse::parse_with_warnings(argv, &env)
    };
    match parsed {
        (Err(e), warnings) => {
            let mut text: String = warnings.iter().map(|w| format!("{w}\n")).collect();
            text.push_str(&format_error(&e));
            Output::err(text, e.exit)
        }
        (Ok(p), _) => exec::execute(host, p),
    }
}
