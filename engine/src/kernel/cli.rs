//! `iptplay kernel apply|import|diff`: the kernel mode on the command line.
//!
//! Exit codes: 0 done (for `diff`: no difference), 1 `diff` found
//! differences or the kernel refused the batch (nothing changed), 2 the
//! input is wrong (iptables-restore's message and code are passed through),
//! 3 something live cannot be represented and would have to change, or the
//! namespace cannot be entered, 4 no CAP_NET_ADMIN.

#![cfg(feature = "cli")]

use super::plan::{self, ApplyError, ApplyOpts};
use super::sock::NfSock;
use super::{live, Error};
use clap::Subcommand;
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum KernelCmd {
    /// Make the kernel's iptables tables what FILE (iptables-restore input) says, in one transaction.
    Apply {
        /// Restore file; standard input when `-`.
        file: PathBuf,
        /// Plan and let the kernel check the batch, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Keep what the tables hold and apply the file on top (iptables-restore --noflush).
        #[arg(short = 'n', long)]
        noflush: bool,
        /// Work inside the network namespace /run/netns/NAME.
        #[arg(long, value_name = "NAME")]
        netns: Option<String>,
        /// Print every change made.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Print the live ruleset as iptables-save prints it.
    Import {
        /// Only this table.
        #[arg(short = 't', long, value_name = "TABLE")]
        table: Option<String>,
        /// Rule counters too (`[packets:bytes]`, like iptables-save -c).
        #[arg(short = 'c', long)]
        counters: bool,
        #[arg(long, value_name = "NAME")]
        netns: Option<String>,
    },
    /// Show what `apply FILE` would change (exit 1 when something would).
    Diff {
        file: PathBuf,
        #[arg(short = 'n', long)]
        noflush: bool,
        #[arg(long, value_name = "NAME")]
        netns: Option<String>,
    },
}

fn read_input(file: &Path) -> Result<String, i32> {
    if file == Path::new("-") {
        let mut t = String::new();
        return match std::io::stdin().read_to_string(&mut t) {
            Ok(_) => Ok(t),
            Err(e) => {
                eprintln!("iptplay: standard input: {e}");
                Err(2)
            }
        };
    }
    std::fs::read_to_string(file).map_err(|e| {
        eprintln!("iptplay: {}: {e}", file.display());
        2
    })
}

fn fail(e: &Error) -> i32 {
    eprintln!("iptplay: {e}");
    match e {
        Error::Permission => 4,
        Error::Refused(_) | Error::Netns(..) | Error::Unsupported(_) => 3,
        _ => 1,
    }
}

fn open(netns: Option<&str>) -> Result<NfSock, i32> {
    NfSock::open_at(netns).map_err(|e| fail(&e))
}

fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    crate::iptables::save_cmd::ctime(secs)
}

/// Runs one `iptplay kernel` command; returns the exit code.
pub fn run(cmd: KernelCmd) -> i32 {
    match run_inner(cmd) {
        Ok(code) | Err(code) => code,
    }
}

fn run_inner(cmd: KernelCmd) -> Result<i32, i32> {
    match cmd {
        KernelCmd::Apply {
            file,
            dry_run,
            noflush,
            netns,
            verbose,
        } => {
            let text = read_input(&file)?;
            let mut sock = open(netns.as_deref())?;
            match plan::apply(&mut sock, &text, ApplyOpts { noflush, dry_run }) {
                Ok(done) => {
                    if dry_run || verbose {
                        for op in &done.ops {
                            println!("{}", op.describe());
                        }
                    }
                    if dry_run {
                        if done.ops.is_empty() {
                            println!("nothing to change");
                        } else {
                            println!(
                                "kernel check passed: {} change(s) not committed (dry run)",
                                done.ops.len()
                            );
                        }
                    }
                    Ok(0)
                }
                Err(ApplyError::Input(out)) => {
                    print!("{}", out.stdout);
                    eprint!("{}", out.stderr);
                    Err(if out.exit == 0 { 2 } else { out.exit })
                }
                Err(ApplyError::Kernel(e)) => Err(fail(&e)),
            }
        }
        KernelCmd::Import {
            table,
            counters,
            netns,
        } => {
            if let Some(t) = &table {
                if crate::ruleset::table_hooks(t).is_none() {
                    eprintln!("iptables-save v1.8.9 (nf_tables): table '{t}' does not exist");
                    return Err(1);
                }
            }
            let mut sock = open(netns.as_deref())?;
            let live = live::read(&mut sock).map_err(|e| fail(&e))?;
            let (text, problems) = plan::import(&live, table.as_deref(), counters, &now());
            print!("{text}");
            for p in &problems {
                eprintln!("iptplay: not imported: {p}");
            }
            Ok(if problems.is_empty() { 0 } else { 3 })
        }
        KernelCmd::Diff {
            file,
            noflush,
            netns,
        } => {
            let text = read_input(&file)?;
            let mut sock = open(netns.as_deref())?;
            let live = live::read(&mut sock).map_err(|e| fail(&e))?;
            let want = match plan::desired(&live, &text, noflush) {
                Ok(w) => w,
                Err(out) => {
                    eprint!("{}", out.stderr);
                    return Err(if out.exit == 0 { 2 } else { out.exit });
                }
            };
            let ops = plan::plan(&live, &want, noflush).map_err(|e| fail(&e))?;
            for op in &ops {
                println!("{}", op.describe());
            }
            Ok(if ops.is_empty() { 0 } else { 1 })
        }
    }
}
