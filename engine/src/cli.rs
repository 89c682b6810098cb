//! The `iptplay` command line (native only).

use crate::command::shell::world::run_on_host;
use crate::command::shell::{Mode, Script, Stream};
use crate::sim::host::Host;
use crate::sim::world::World;
use clap::{Parser, Subcommand};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "iptplay",
    version,
    about = "The iptables playground on the command line"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a script of commands (or standard input) on one fresh simulated host.
    Run {
        /// Script file; standard input when absent or `-`.
        script: Option<PathBuf>,
        /// One JSON object per command: {"command","exit","stdout","stderr"}.
        #[arg(long)]
        json: bool,
    },
    /// Apply rules to, or read them from, the real kernel (Linux; needs CAP_NET_ADMIN).
    #[cfg(target_os = "linux")]
    #[command(subcommand)]
    Kernel(crate::kernel::cli::KernelCmd),
    /// Load a lab file and run a script (or standard input) on its hosts;
    /// `lab check LAB.json [--script S | --steps]` evaluates the lab's checks
    /// (exit 0: all pass, 1: one fails, 2: bad lab or script);
    /// `lab up LAB.json` / `lab down NAME` build it as network namespaces (Linux, root).
    Lab {
        /// The lab (JSON).
        lab: PathBuf,
        /// Script file; standard input when absent or `-`. `HOST$ COMMAND` picks the host.
        script: Option<PathBuf>,
        /// One JSON object per command and per packet (see README); with
        /// `lab check`, one JSON object with the results and a summary.
        #[arg(long)]
        json: bool,
        /// Print each packet's path through the hosts and their rules.
        #[arg(long)]
        trace: bool,
        /// Evaluate the lab's checks after the script and print their state.
        #[arg(long)]
        checks: bool,
        /// `lab check`: the script to run before the checks (`-`: standard input).
        #[arg(long = "script", value_name = "SCRIPT", conflicts_with = "steps")]
        check_script: Option<PathBuf>,
        /// `lab check`: run the lab's own steps before the checks.
        #[arg(long)]
        steps: bool,
    },
}

/// Entry point; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { script, json } => run(script.as_deref(), json),
        #[cfg(target_os = "linux")]
        Command::Kernel(k) => crate::kernel::cli::run(k),
        // `iptplay lab up LAB.json` / `iptplay lab down NAME`: the lab as
        // real network namespaces (kernel mode), unless a file is named so.
        #[cfg(target_os = "linux")]
        Command::Lab { lab, script, .. }
            if (lab == Path::new("up") || lab == Path::new("down")) && !lab.exists() =>
        {
            crate::kernel::cli::lab_command(&lab.to_string_lossy(), script.as_deref())
        }
        // `iptplay lab check LAB.json [--script S | --steps] [--json]`.
        Command::Lab {
            lab,
            script: Some(file),
            json,
            trace: false,
            checks: false,
            check_script,
            steps,
        } if lab == Path::new("check") && !lab.exists() => {
            use crate::lab::check_cli::{run, Before};
            let before = match (&check_script, steps) {
                (Some(s), _) => Before::Script(s),
                (None, true) => Before::Steps,
                (None, false) => Before::Nothing,
            };
            run(&file, before, json)
        }
        Command::Lab { lab, script, .. } if lab == Path::new("check") && !lab.exists() => {
            eprintln!(
                "iptplay: usage: iptplay lab check LAB.json [--script SCRIPT | --steps] [--json]{}",
                if script.is_some() {
                    " (--trace and --checks do not go with `lab check')"
                } else {
                    ""
                }
            );
            2
        }
        Command::Lab {
            check_script: Some(_),
            ..
        }
        | Command::Lab { steps: true, .. } => {
            eprintln!("iptplay: --script and --steps go with `iptplay lab check LAB.json'");
            2
        }
        Command::Lab {
            lab,
            script,
            json,
            trace,
            checks,
            ..
        } => crate::lab::cli::run(&lab, script.as_deref(), json, trace, checks),
    }
}

fn run(script: Option<&Path>, json: bool) -> i32 {
    let (text, base) = match script {
        Some(p) if p != Path::new("-") => match std::fs::read_to_string(p) {
            Ok(t) => (t, p.parent().map(Path::to_path_buf).unwrap_or_default()),
            Err(e) => {
                eprintln!("iptplay: {}: {e}", p.display());
                return 2;
            }
        },
        _ => {
            let mut t = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut t) {
                eprintln!("iptplay: standard input: {e}");
                return 2;
            }
            (t, PathBuf::from("."))
        }
    };
    let script = match Script::parse(&text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("iptplay: line {}: {}", e.line, e.msg);
            return 2;
        }
    };
    let read_file = |name: &str| -> Result<String, String> {
        let path = base.join(name);
        std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
            _ => e.to_string(),
        })
    };
    // One host alone in a world: the shell, its files and /proc/sys.
    let mut world = World::new();
    world.tracing = false;
    world.now_ns = Host::new("host").clock_ns;
    let host = world.add_host("host");
    let mut last = 0;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    for item in &script.items {
        let r = run_on_host(&mut world, host, item, Some(&read_file), Mode::Script);
        let _ = crate::sim::tools::take_journal(&mut world);
        world.reports.clear();
        last = r.exit;
        if json {
            let out = r.output();
            let obj = serde_json::json!({
                "command": item.text,
                "exit": out.exit,
                "stdout": out.stdout,
                "stderr": out.stderr,
            });
            let _ = writeln!(stdout.lock(), "{obj}");
        } else {
            write_pieces(&r.pieces, &stdout, &stderr);
        }
        if r.stop {
            break;
        }
    }
    // The process ends here: freeing a large ruleset piece by piece would
    // only delay it.
    std::mem::forget(world);
    last
}

/// Writes a command's output to the terminal, each piece on its stream, in order.
pub fn write_pieces(
    pieces: &[(Stream, String)],
    stdout: &std::io::Stdout,
    stderr: &std::io::Stderr,
) {
    for (s, t) in pieces {
        match s {
            Stream::Out => {
                let _ = stdout.lock().write_all(t.as_bytes());
                let _ = stdout.lock().flush();
            }
            Stream::Err => {
                let _ = stderr.lock().write_all(t.as_bytes());
            }
        }
    }
}
