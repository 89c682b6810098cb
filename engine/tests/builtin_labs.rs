//! Every built-in lab (`static/labs/*.json`) that carries checks proves
//! itself both ways: it loads and starts cleanly; its checks all pass once
//! its steps are followed (each step's commands run on the step's host, in
//! order, as a student would type them); at least one check fails on the
//! fresh lab (a lab whose checks pass before any step proves nothing); and
//! every step command behaves as its step's text says.
//!
//! How a step says what a command does (the lab format has no field for
//! it, so the text carries it):
//! - a command that exits 0 with nothing on standard error needs no word;
//! - a command that exits 0 but writes to standard error (hping3's
//!   statistics, conntrack's count, wget's progress) has its first standard
//!   error line quoted in the step's text, or the text says the tool reports
//!   on "standard error";
//! - a command that exits non-zero (the guide's mistakes, a probe that is
//!   dropped) is in a step whose text mentions "error", and, when it printed
//!   a message, quotes the message's first line exactly — so the lab shows
//!   students the real error, and the test notices when it changes.
//!
//! The test is generic: any lab file added to `static/labs` with checks is
//! held to the same rules.

use engine::command::shell::world::run_on_host;
use engine::command::shell::{Mode, Script};
use engine::lab::{self, LabFile, Step};
use engine::sim::tools;
use engine::sim::world::World;
use std::path::PathBuf;

fn lab_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../static/labs");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("static/labs exists")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v
}

/// What one step command did.
struct Ran {
    step: usize,
    command: String,
    exit: i32,
    stderr: String,
}

/// Runs every step's commands on the step's host, in order.
fn follow_steps(world: &mut World, lab: &LabFile) -> Result<Vec<Ran>, String> {
    let mut ran = Vec::new();
    for (k, step) in lab.steps.iter().enumerate() {
        if step.commands.is_empty() {
            continue;
        }
        let host = world
            .host_index(&step.host)
            .ok_or_else(|| format!("step {}: no host \"{}\"", k + 1, step.host))?;
        for line in &step.commands {
            // As typed (or pasted) in the host's terminal: through the shell.
            let script = Script::parse(line)
                .map_err(|e| format!("step {}: `{line}` does not parse: {}", k + 1, e.msg))?;
            let mut exit = 0;
            let mut stderr = String::new();
            for item in &script.items {
                let out = run_on_host(world, host, item, None, Mode::Terminal).output();
                exit = out.exit;
                stderr.push_str(&out.stderr);
                // What the page and `iptplay lab` do after each command.
                let _ = tools::take_journal(world);
                world.reports.clear();
            }
            ran.push(Ran {
                step: k,
                command: line.clone(),
                exit,
                stderr,
            });
        }
    }
    Ok(ran)
}

/// Whether the step's text announces what the command did (see the module
/// documentation); `Err` says what is missing.
fn announced(step: &Step, r: &Ran) -> Result<(), String> {
    let first = r.stderr.lines().map(str::trim).find(|l| !l.is_empty());
    let quoted = first.is_some_and(|l| step.text.contains(l));
    let lower = step.text.to_lowercase();
    let says_error = lower.contains("error");
    let says_stderr = lower.contains("standard error");
    match (r.exit, first) {
        (0, None) => Ok(()),
        (0, Some(l)) if !quoted && !says_stderr => Err(format!(
            "exited 0 but wrote `{l}` on standard error, which the step's text neither quotes nor mentions"
        )),
        (0, Some(_)) => Ok(()),
        (e, _) if !says_error => Err(format!(
            "exited {e} (stderr: {:?}) but the step's text does not mention an error",
            r.stderr
        )),
        (e, Some(l)) if !quoted => Err(format!(
            "exited {e} with `{l}`, which the step's text does not quote"
        )),
        _ => Ok(()),
    }
}

fn failing(world: &World, lab: &LabFile) -> Vec<String> {
    lab::checks::evaluate(world, lab)
        .into_iter()
        .filter(|c| !c.pass)
        .map(|c| format!("{}: {}: {}", c.id, c.title, c.detail))
        .collect()
}

#[test]
fn every_lab_with_checks_passes_with_its_steps_and_fails_without() {
    let mut problems = Vec::new();
    let mut proved = 0;
    for path in lab_files() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let text = std::fs::read_to_string(&path).expect("lab file reads");
        // (1) The lab loads and its start-up commands succeed.
        let (fresh, file, runs) = match lab::load(&text) {
            Ok(x) => x,
            Err(e) => {
                problems.push(format!("{name}: does not load: {e}"));
                continue;
            }
        };
        if file.checks.is_empty() {
            continue;
        }
        for r in runs.iter().filter(|r| r.output.exit != 0) {
            problems.push(format!(
                "{name}: start-up on {}: `{}` exited {}: {}",
                r.host, r.command, r.output.exit, r.output.stderr
            ));
        }
        // (3) Without the steps, something must fail.
        let before = failing(&fresh, &file).len();
        if before == 0 {
            problems.push(format!(
                "{name}: every check passes before any step is followed"
            ));
        }
        // (2) and (4): follow the steps.
        let mut world = fresh.clone();
        let ran = match follow_steps(&mut world, &file) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{name}: {e}"));
                continue;
            }
        };
        for r in &ran {
            let step = &file.steps[r.step];
            if let Err(why) = announced(step, r) {
                problems.push(format!(
                    "{name}: step {} \"{}\": `{}` {why}",
                    r.step + 1,
                    step.title,
                    r.command
                ));
            }
        }
        let fails = failing(&world, &file);
        eprintln!(
            "{name}: {} checks, {before} failing before the steps, {} after; {} step commands",
            file.checks.len(),
            fails.len(),
            ran.len()
        );
        if !fails.is_empty() {
            problems.push(format!(
                "{name}: with the steps followed, checks fail:\n    {}",
                fails.join("\n    ")
            ));
        }
        proved += 1;
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(proved >= 1, "no lab in static/labs has checks");
}
