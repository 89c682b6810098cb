//! `iptplay kernel apply|confirm|import|diff|run|lab`: the kernel mode on
//! the command line.
//!
//! Exit codes: 0 done (for `diff`: no difference), 1 `diff` found
//! differences or the kernel refused the batch (nothing changed), 2 the
//! input is wrong (iptables-restore's or ipset's message and code are
//! passed through), 3 something live cannot be represented and would have
//! to change, or the namespace cannot be entered, 4 no CAP_NET_ADMIN, 5 an
//! apply waiting for confirmation was rolled back.

#![cfg(feature = "cli")]

use super::confirm::{self, Outcome, Pending};
use super::lab::{self, LabSpec};
use super::plan::{self, ApplyError, ApplyOpts};
use super::sock::NfSock;
use super::sshcheck::{self, Session, Verdict};
use super::{live, rollback, Error};
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
        /// ipsets (`ipset save` / `ipset restore` input): the sets it creates are made exactly so, before the rules.
        #[arg(long, value_name = "FILE")]
        ipsets: Option<PathBuf>,
        /// Roll rules and ipsets back unless confirmed within this time (`30s`, `2m`):
        /// press a key here, or run `iptplay kernel confirm` from another shell.
        #[arg(long, value_name = "TIME")]
        confirm: Option<String>,
        /// Work inside the network namespace /run/netns/NAME.
        #[arg(long, value_name = "NAME")]
        netns: Option<String>,
        /// Print every change made.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Confirm the apply waiting with --confirm, so that it stays.
    Confirm {
        #[arg(long, value_name = "NAME")]
        netns: Option<String>,
    },
    /// Print the live ruleset as iptables-save prints it.
    Import {
        /// Only this table.
        #[arg(short = 't', long, value_name = "TABLE")]
        table: Option<String>,
        /// Rule counters too (`[packets:bytes]`, like iptables-save -c).
        #[arg(short = 'c', long)]
        counters: bool,
        /// Print the ipsets instead, as `ipset save` prints them.
        #[arg(long)]
        ipsets: bool,
        /// Print the whole host instead (interfaces, addresses, routes, rules, ipsets) as a
        /// lab description (JSON) with one host named NAME.
        #[arg(long, value_name = "NAME")]
        lab: Option<String>,
        #[arg(long, value_name = "NAME")]
        netns: Option<String>,
    },
    /// Build a lab as network namespaces (`up FILE`: the lab description as JSON), or take it down.
    Lab {
        #[command(subcommand)]
        cmd: LabCmd,
    },
    /// Run iptables and ipset commands (a script; standard input when `-`) against the kernel,
    /// printing what the real tools print.
    Run {
        script: PathBuf,
        #[arg(long, value_name = "NAME")]
        netns: Option<String>,
        /// Print every change each command made.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Show what `apply FILE` would change (exit 1 when something would).
    Diff {
        file: PathBuf,
        #[arg(short = 'n', long)]
        noflush: bool,
        #[arg(long, value_name = "FILE")]
        ipsets: Option<PathBuf>,
        #[arg(long, value_name = "NAME")]
        netns: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum LabCmd {
    /// Make every host a network namespace (LAB-HOST), links veth pairs or bridges, then
    /// addresses, routes, sysctls, ipsets and rules.
    Up { file: PathBuf },
    /// Remove the namespaces `lab up` made.
    Down { name: String },
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

pub(crate) fn fail(e: &Error) -> i32 {
    eprintln!("iptplay: {e}");
    match e {
        Error::Permission => 4,
        Error::Refused(_) | Error::Netns(..) | Error::Unsupported(_) => 3,
        _ => 1,
    }
}

pub(crate) fn open(netns: Option<&str>) -> Result<NfSock, i32> {
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

fn input_error(out: &crate::command::Output) -> i32 {
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    if out.exit == 0 {
        2
    } else {
        out.exit
    }
}

/// Warns when the new rules would cut the SSH session iptplay runs in.
fn ssh_warning(sock: &mut NfSock, netns: Option<&str>, text: &str, opts: &ApplyOpts) {
    let Some(session) = Session::from_env() else {
        return;
    };
    let local = match sshcheck::local_iface(netns, session.server) {
        Ok(Some(l)) => l,
        // The session does not arrive here (another namespace).
        _ => return,
    };
    let Ok(live) = live::read(sock) else { return };
    let Ok(want) = plan::desired_with_sets(&live, text, opts.sets.as_deref(), opts.noflush) else {
        return;
    };
    let mut host = *want.host;
    for (t, _) in &want.tables {
        if let Some(slot) = host.ruleset.table_mut(t.name) {
            *slot = t.clone();
        }
    }
    // Tables the input does not name stay as they are.
    for lt in &live.tables {
        if want.tables.iter().any(|(t, _)| t.name == lt.name) {
            continue;
        }
        if let Ok((t, _)) = live::to_table(&live.sets, lt) {
            if let Some(slot) = host.ruleset.table_mut(t.name) {
                *slot = t;
            }
        }
    }
    match sshcheck::check(session, &local, &host) {
        Verdict::Safe => {}
        Verdict::Cut(warnings) => {
            for w in warnings {
                eprintln!("iptplay: warning: {w}");
            }
            if opts.dry_run {
                return;
            }
            eprintln!(
                "iptplay: warning: the new rules may cut this SSH session; --confirm TIME rolls them back unless confirmed"
            );
        }
        Verdict::Unknown(why) => eprintln!("iptplay: note: SSH session not checked: {why}"),
    }
}

#[allow(clippy::too_many_arguments)]
fn apply(
    file: &Path,
    dry_run: bool,
    noflush: bool,
    ipsets: Option<&Path>,
    confirm_time: Option<&str>,
    netns: Option<&str>,
    verbose: bool,
) -> Result<i32, i32> {
    let window = match confirm_time {
        Some(t) => match confirm::parse_duration(t) {
            Some(d) => Some(d),
            None => {
                eprintln!("iptplay: --confirm: `{t}' is not a time (30s, 2m, 90)");
                return Err(2);
            }
        },
        None => None,
    };
    let text = read_input(file)?;
    let sets = match ipsets {
        Some(p) => Some(read_input(p)?),
        None => None,
    };
    let mut sock = open(netns)?;
    let opts = ApplyOpts {
        noflush,
        dry_run,
        sets,
        quiet: !dry_run && !verbose,
        then_exit: window.is_none(),
        uncounted: Default::default(),
    };
    ssh_warning(&mut sock, netns, &text, &opts);
    let pending = match window {
        Some(w) if !dry_run => match Pending::new(netns, w) {
            Ok(p) => Some((p, w)),
            Err(e) => {
                eprintln!("iptplay: cannot wait for a confirmation: {e}");
                return Err(1);
            }
        },
        _ => None,
    };
    let snapshot = match &pending {
        Some(_) => {
            let names = opts
                .sets
                .as_deref()
                .map(plan::set_names)
                .unwrap_or_default();
            Some(rollback::take(&mut sock, &names).map_err(|e| fail(&e))?)
        }
        None => None,
    };
    // A small change to what the last apply here sent: from the text alone.
    let simple = !dry_run && !noflush && opts.sets.is_none() && pending.is_none();
    if simple && Session::from_env().is_none() {
        match super::fast::try_apply(&mut sock, netns, &text) {
            Ok(Some(done)) => {
                if verbose {
                    for t in &done.ops {
                        println!("{t}");
                    }
                }
                return Ok(0);
            }
            Ok(None) => {}
            Err(e) => return Err(fail(&e)),
        }
    }
    super::fast::forget(netns);
    let done = match plan::apply(&mut sock, &text, opts) {
        Ok(d) => d,
        Err(ApplyError::Input(out)) => return Err(input_error(&out)),
        Err(ApplyError::Kernel(e)) => return Err(fail(&e)),
    };
    if dry_run || verbose {
        for op in &done.set_ops {
            println!("{}", op.describe());
        }
        for op in &done.ops {
            println!("{}", op.describe());
        }
    }
    if dry_run {
        let n = done.ops.len() + done.set_ops.len();
        if n == 0 {
            println!("nothing to change");
        } else if done.checked {
            println!("kernel check passed: {n} change(s) not committed (dry run)");
        } else {
            println!(
                "{n} change(s) not committed (dry run); the rules were not checked by the kernel: they name ipsets that do not exist yet"
            );
        }
        return Ok(0);
    }
    let (Some((pending, window)), Some(snapshot)) = (pending, snapshot) else {
        if simple {
            // Best effort: without it the next apply takes the full path.
            let _ = super::fast::remember(&mut sock, netns, &text, done.genid);
        }
        // The process ends here: freeing every planned rule one by one
        // would only cost time.
        std::mem::forget(done);
        return Ok(0);
    };
    let genid = sock.genid().map_err(|e| fail(&e))?;
    eprintln!(
        "iptplay: applied; press a key here or run `iptplay kernel confirm{}` within {}s to keep it, else it is rolled back",
        netns.map(|n| format!(" --netns {n}")).unwrap_or_default(),
        window.as_secs_f64()
    );
    let outcome = pending.wait(window);
    if outcome == Outcome::Confirmed {
        drop(pending);
        eprintln!("iptplay: confirmed");
        return Ok(0);
    }
    match outcome {
        Outcome::TimedOut => eprintln!("iptplay: not confirmed in time: rolling back"),
        Outcome::Signal(s) => {
            eprintln!("iptplay: signal {s} before the confirmation: rolling back")
        }
        Outcome::Confirmed => {}
    }
    match sock.genid() {
        Ok(now) if now != genid => eprintln!(
            "iptplay: warning: the ruleset was changed by someone else since the apply (generation {genid}, now {now}); rolling back to the state before the apply undoes their changes too"
        ),
        _ => {}
    }
    match rollback::restore(&mut sock, &snapshot) {
        Ok(r) => {
            if verbose {
                for l in r.set_ops.iter().chain(&r.ops) {
                    println!("{l}");
                }
                for d in &r.destroyed {
                    println!("- ipset {d}");
                }
            }
            drop(pending);
            eprintln!("iptplay: rolled back");
            Ok(5)
        }
        Err(e) => {
            drop(pending);
            eprintln!("iptplay: rollback failed: {e}");
            Err(1)
        }
    }
}

fn run_inner(cmd: KernelCmd) -> Result<i32, i32> {
    match cmd {
        KernelCmd::Apply {
            file,
            dry_run,
            noflush,
            ipsets,
            confirm,
            netns,
            verbose,
        } => apply(
            &file,
            dry_run,
            noflush,
            ipsets.as_deref(),
            confirm.as_deref(),
            netns.as_deref(),
            verbose,
        ),
        KernelCmd::Run {
            script,
            netns,
            verbose,
        } => {
            let text = read_input(&script)?;
            let mut sock = open(netns.as_deref())?;
            Ok(super::run::run_script(
                &mut sock,
                netns.as_deref(),
                &text,
                verbose,
            ))
        }
        KernelCmd::Confirm { netns } => match confirm::confirm(netns.as_deref()) {
            Ok(()) => Ok(0),
            Err(e) => {
                eprintln!("iptplay: {e}");
                Err(1)
            }
        },
        KernelCmd::Lab { cmd } => match cmd {
            LabCmd::Up { file } => {
                let text = read_input(&file)?;
                let spec = LabSpec::from_json(&text).map_err(|e| fail(&e))?;
                let built = lab::up(&spec).map_err(|e| fail(&e))?;
                for ns in &built.namespaces {
                    println!("{ns}");
                }
                Ok(0)
            }
            LabCmd::Down { name } => {
                let gone = lab::down(&name).map_err(|e| fail(&e))?;
                for ns in &gone {
                    println!("{ns}");
                }
                Ok(0)
            }
        },
        KernelCmd::Import {
            lab: Some(name),
            netns,
            ..
        } => {
            let (host, notes) = lab::import_host(&name, netns.as_deref()).map_err(|e| fail(&e))?;
            let spec = LabSpec {
                name,
                hosts: vec![host],
            };
            match serde_json::to_string_pretty(&spec) {
                Ok(j) => println!("{j}"),
                Err(e) => {
                    eprintln!("iptplay: {e}");
                    return Err(1);
                }
            }
            for n in &notes {
                eprintln!("iptplay: not imported: {n}");
            }
            Ok(if notes.is_empty() { 0 } else { 3 })
        }
        KernelCmd::Import {
            table,
            counters,
            ipsets,
            netns,
            lab: None,
        } => {
            if let Some(t) = &table {
                if crate::ruleset::table_hooks(t).is_none() {
                    eprintln!("iptables-save v1.8.9 (nf_tables): table '{t}' does not exist");
                    return Err(1);
                }
            }
            let mut sock = open(netns.as_deref())?;
            let mut live = live::read(&mut sock).map_err(|e| fail(&e))?;
            if ipsets {
                print!("{}", plan::import_sets(&live));
                for p in &live.set_problems {
                    eprintln!("iptplay: not imported: {p}");
                }
                return Ok(if live.set_problems.is_empty() { 0 } else { 3 });
            }
            let mut tables = Vec::new();
            let (text, problems) =
                plan::import_keeping(&mut live, table.as_deref(), counters, &now(), &mut tables);
            print!("{text}");
            for p in &problems {
                eprintln!("iptplay: not imported: {p}");
            }
            // The process ends here: freeing every rule read one by one
            // would only cost time.
            std::mem::forget(live);
            std::mem::forget(tables);
            Ok(if problems.is_empty() { 0 } else { 3 })
        }
        KernelCmd::Diff {
            file,
            noflush,
            ipsets,
            netns,
        } => {
            let text = read_input(&file)?;
            let sets = match &ipsets {
                Some(p) => Some(read_input(p)?),
                None => None,
            };
            let mut sock = open(netns.as_deref())?;
            let mut live = live::read(&mut sock).map_err(|e| fail(&e))?;
            let want = match plan::desired_with_sets(&live, &text, sets.as_deref(), noflush) {
                Ok(w) => w,
                Err(out) => {
                    eprint!("{}", out.stderr);
                    return Err(if out.exit == 0 { 2 } else { out.exit });
                }
            };
            let set_ops =
                super::setplan::plan(&live, &want.sets, want.now).map_err(|e| fail(&e))?;
            plan::provisional(&mut live, &set_ops, &want);
            let ops = plan::plan(&live, &want, noflush).map_err(|e| fail(&e))?;
            for op in &set_ops {
                println!("{}", op.describe());
            }
            for op in &ops {
                println!("{}", op.describe());
            }
            Ok(if ops.is_empty() && set_ops.is_empty() {
                0
            } else {
                1
            })
        }
    }
}

/// `iptplay lab up LAB.json` (a lab file, as `iptplay lab` loads it: the
/// hosts as the simulator builds and starts them) and `iptplay lab down
/// NAME`: the lab as network namespaces NAME-HOST, NAME the file's name.
pub fn lab_command(verb: &str, arg: Option<&Path>) -> i32 {
    let Some(arg) = arg else {
        eprintln!("iptplay: lab {verb}: which lab?");
        return 2;
    };
    match verb {
        "up" => {
            let text = match read_input(arg) {
                Ok(t) => t,
                Err(code) => return code,
            };
            let (world, _, runs) = match crate::lab::load(&text) {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("iptplay: {}: {e}", arg.display());
                    return 2;
                }
            };
            for r in &runs {
                if r.output.exit != 0 {
                    eprint!("{}", r.output.stderr);
                }
            }
            let spec = lab::from_world(&lab::name_from_path(arg), &world);
            match lab::up(&spec) {
                Ok(built) => {
                    for ns in &built.namespaces {
                        println!("{ns}");
                    }
                    0
                }
                Err(e) => fail(&e),
            }
        }
        _ => match lab::down(&arg.to_string_lossy()) {
            Ok(gone) => {
                for ns in &gone {
                    println!("{ns}");
                }
                0
            }
            Err(e) => fail(&e),
        },
    }
}
