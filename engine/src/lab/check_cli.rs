//! `iptplay lab check LAB.json [--script S | --steps] [--json]`: loads a
//! lab, runs its start-up commands, then a script (`HOST$ COMMAND` lines,
//! as `iptplay lab` reads them) or the lab's own steps, and evaluates the
//! lab's checks: `PASS id: title` / `FAIL id: title: detail` lines and a
//! summary, or one JSON object. Exit 0 when every check passes, 1 when one
//! fails, 2 when the lab or the script cannot be used.

use super::checks::{evaluate, CheckResult, Summary};
use super::cli::chunks;
use super::LabFile;
use crate::command::shell::world::run_on_host;
use crate::command::shell::{Mode, Script};
use crate::sim::tools;
use crate::sim::world::World;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// What runs before the checks.
pub enum Before<'a> {
    /// Only the start-up commands.
    Nothing,
    /// A script file (`-`: standard input).
    Script(&'a Path),
    /// The lab's own steps, each step's commands on its host.
    Steps,
}

/// Forgets the reports of the command that just ran.
fn forget_packets(world: &mut World) {
    tools::take_journal(world);
    world.reports.clear();
    world.delivered.clear();
}

/// Runs the script's commands (`HOST$ ` lines switch hosts, as for
/// `iptplay lab`); `Err` is a bad script (exit 2).
fn run_script(world: &mut World, path: &Path) -> Result<(), String> {
    let (text, base) = if path == Path::new("-") {
        let mut t = String::new();
        std::io::stdin()
            .read_to_string(&mut t)
            .map_err(|e| format!("standard input: {e}"))?;
        (t, PathBuf::from("."))
    } else {
        let t = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        (t, path.parent().map(Path::to_path_buf).unwrap_or_default())
    };
    // The whole script is read, and its hosts known, before anything runs.
    let mut parsed = Vec::new();
    for c in chunks(&text) {
        let script = Script::parse_from(&c.text, c.first_line)
            .map_err(|e| format!("{}: line {}: {}", path.display(), e.line, e.msg))?;
        let host = match &c.host {
            None => None,
            Some(name) => Some(world.host_index(name).ok_or_else(|| {
                format!(
                    "{}: line {}: no host \"{name}\" in the lab (hosts: {})",
                    path.display(),
                    c.first_line,
                    world
                        .hosts
                        .iter()
                        .map(|h| h.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?),
        };
        parsed.push((host, script));
    }
    let read_file = |name: &str| -> Result<String, String> {
        std::fs::read_to_string(base.join(name)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
            _ => e.to_string(),
        })
    };
    let mut current = 0usize;
    for (host, script) in &parsed {
        if let Some(h) = host {
            current = *h;
        }
        for item in &script.items {
            let r = run_on_host(world, current, item, Some(&read_file), Mode::Script);
            forget_packets(world);
            if r.stop {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// `PASS id: title` / `FAIL id: title: detail` (detail lines after the
/// first indented, the hint on its own line), then the summary.
pub fn render(results: &[CheckResult], lab: &LabFile) -> String {
    let mut s = String::new();
    for r in results {
        if r.pass {
            s.push_str(&format!("PASS {}: {}\n", r.id, r.title));
            continue;
        }
        let mut lines = r.detail.lines();
        s.push_str(&format!(
            "FAIL {}: {}: {}\n",
            r.id,
            r.title,
            lines.next().unwrap_or("")
        ));
        for l in lines {
            if l.trim().is_empty() {
                s.push('\n');
            } else {
                s.push_str(&format!("    {l}\n"));
            }
        }
        if let Some(c) = lab.checks.iter().find(|c| c.id == r.id) {
            if !c.hint.is_empty() {
                s.push_str(&format!("    hint: {}\n", c.hint));
            }
        }
    }
    s.push_str(&summary_line(&Summary::of(results)));
    s
}

fn summary_line(sum: &Summary) -> String {
    format!(
        "{} check{}: {} passed, {} failed\n",
        sum.total,
        if sum.total == 1 { "" } else { "s" },
        sum.passed,
        sum.failed
    )
}

/// Runs `iptplay lab check`; returns the exit status.
pub fn run(lab_path: &Path, before: Before, json: bool) -> i32 {
    let bad = |msg: String| {
        eprintln!("iptplay: {msg}");
        2
    };
    let text = match std::fs::read_to_string(lab_path) {
        Ok(t) => t,
        Err(e) => return bad(format!("{}: {e}", lab_path.display())),
    };
    let lab = match super::parse(&text) {
        Ok(l) => l,
        Err(e) => return bad(format!("{}: {e}", lab_path.display())),
    };
    let mut world = match super::build(&lab) {
        Ok(w) => w,
        Err(e) => return bad(format!("{}: {e}", lab_path.display())),
    };
    // Checks trace their own probes; the commands need no traces.
    world.tracing = false;
    for r in super::startup(&mut world, &lab) {
        if r.output.exit != 0 {
            eprint!(
                "iptplay: start-up of {}: `{}' exited {}\n{}",
                r.host, r.command, r.output.exit, r.output.stderr
            );
        }
    }
    forget_packets(&mut world);
    let ran = match before {
        Before::Nothing => Ok(()),
        Before::Script(p) => run_script(&mut world, p),
        Before::Steps => {
            super::run_steps(&mut world, &lab);
            forget_packets(&mut world);
            Ok(())
        }
    };
    if let Err(e) = ran {
        return bad(e);
    }
    let results = evaluate(&world, &lab);
    let sum = Summary::of(&results);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        let obj = serde_json::json!({
            "lab": lab.name,
            "results": results,
            "summary": sum,
        });
        let _ = writeln!(out, "{obj}");
    } else {
        let _ = out.write_all(render(&results, &lab).as_bytes());
    }
    if sum.failed == 0 {
        0
    } else {
        1
    }
}
