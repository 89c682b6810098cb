//! `iptplay lab LAB.json [SCRIPT]`: loads a lab, runs its start-up
//! commands, then a script (or standard input) where `HOST$ COMMAND` runs
//! COMMAND on HOST and other lines run on the host last named. `--trace`
//! prints each packet's path; `--json` prints commands and packets as JSON
//! lines (see README.md, "iptplay lab --json"); `--checks` evaluates the
//! lab's checks at the end.

use super::trace_text;
use crate::command::shell::world::run_on_host;
use crate::command::shell::{ItemResult, Mode, Script};
use crate::command::Output;
use crate::sim::tools;
use crate::sim::world::{Report, World};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Where the output goes and how.
struct Sink {
    json: bool,
    trace: bool,
    packets: usize,
}

impl Sink {
    fn command(&mut self, host: &str, text: &str, out: &Output, startup: bool, index: usize) {
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        if self.json {
            let obj = serde_json::json!({
                "type": "command",
                "index": index,
                "startup": startup,
                "host": host,
                "command": text,
                "exit": out.exit,
                "stdout": out.stdout,
                "stderr": out.stderr,
            });
            let _ = writeln!(stdout.lock(), "{obj}");
        } else if startup {
            // Start-up commands are quiet unless they fail.
            if out.exit != 0 {
                let _ = write!(
                    stderr.lock(),
                    "iptplay: start-up of {host}: `{text}' exited {}\n{}",
                    out.exit,
                    out.stderr
                );
            }
        } else {
            let _ = stdout.lock().write_all(out.stdout.as_bytes());
            let _ = stdout.lock().flush();
            let _ = stderr.lock().write_all(out.stderr.as_bytes());
        }
    }

    /// A script command: pieces in order on a terminal, one object with `--json`.
    fn result(&mut self, host: &str, text: &str, r: &ItemResult, index: usize) {
        if self.json {
            self.command(host, text, &r.output(), false, index);
        } else {
            crate::cli::write_pieces(&r.pieces, &std::io::stdout(), &std::io::stderr());
        }
    }

    fn packets(&mut self, world: &mut World, index: usize) {
        let (reports, dropped): (Vec<Report>, usize) = tools::take_journal(world);
        world.reports.clear();
        if !self.json && !self.trace {
            return;
        }
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        for r in &reports {
            self.packets += 1;
            if self.json {
                let mut obj = serde_json::json!({
                    "type": "packet",
                    "command": index,
                    "number": self.packets,
                    "host": r.host,
                    "outcome": r.outcome,
                });
                if let (Some(map), Ok(serde_json::Value::Object(t))) =
                    (obj.as_object_mut(), serde_json::to_value(&r.trace))
                {
                    map.extend(t);
                }
                let _ = writeln!(lock, "{obj}");
            } else {
                let _ = lock.write_all(trace_text::render(r, self.packets).as_bytes());
            }
        }
        if dropped > 0 {
            if self.json {
                let obj = serde_json::json!({
                    "type": "note",
                    "command": index,
                    "text": format!("{dropped} more packets were not recorded"),
                });
                let _ = writeln!(lock, "{obj}");
            } else {
                let _ = writeln!(lock, "({dropped} more packets were not recorded)");
            }
        }
    }
}

/// A run of script lines for one host: `HOST$ ` at the start of a line
/// switches to HOST until the next such line.
pub(super) struct Chunk {
    /// The host named by the `HOST$` line that starts it (`None`: the current host).
    pub(super) host: Option<String>,
    pub(super) first_line: usize,
    pub(super) text: String,
}

/// The host name of a `HOST$ ...` line and the rest of the line.
fn host_prefix(line: &str) -> Option<(&str, &str)> {
    let t = line.trim_start();
    let (first, rest) = match t.find([' ', '\t']) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, ""),
    };
    let name = first.strip_suffix('$')?;
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    ok.then_some((name, rest.trim_start()))
}

pub(super) fn chunks(text: &str) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::new();
    for (k, line) in text.split('\n').enumerate() {
        match host_prefix(line) {
            Some((name, rest)) => out.push(Chunk {
                host: Some(name.to_string()),
                first_line: k + 1,
                text: format!("{rest}\n"),
            }),
            None => {
                if out.is_empty() {
                    out.push(Chunk {
                        host: None,
                        first_line: 1,
                        text: String::new(),
                    });
                }
                if let Some(c) = out.last_mut() {
                    c.text.push_str(line);
                    c.text.push('\n');
                }
            }
        }
    }
    out
}

/// Runs `iptplay lab`; returns the exit status (the last command's).
pub fn run(lab_path: &Path, script: Option<&Path>, json: bool, trace: bool, checks: bool) -> i32 {
    let text = match std::fs::read_to_string(lab_path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("iptplay: {}: {e}", lab_path.display());
            return 2;
        }
    };
    let lab = match super::parse(&text) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("iptplay: {}: {e}", lab_path.display());
            return 2;
        }
    };
    let mut world = match super::build(&lab) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("iptplay: {}: {e}", lab_path.display());
            return 2;
        }
    };
    world.tracing = json || trace;
    let mut sink = Sink {
        json,
        trace,
        packets: 0,
    };
    let runs = super::startup(&mut world, &lab);
    for (k, r) in runs.iter().enumerate() {
        sink.command(&r.host, &r.command, &r.output, true, k);
    }
    sink.packets(&mut world, 0);
    let (script_text, base) = match script {
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
    // The whole script is read before anything runs.
    let mut parsed = Vec::new();
    for c in chunks(&script_text) {
        match Script::parse_from(&c.text, c.first_line) {
            Ok(s) => parsed.push((c, s)),
            Err(e) => {
                eprintln!("iptplay: line {}: {}", e.line, e.msg);
                return 2;
            }
        }
    }
    let read_file = |name: &str| -> Result<String, String> {
        std::fs::read_to_string(base.join(name)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
            _ => e.to_string(),
        })
    };
    let mut current = 0usize;
    let mut last = 0;
    let mut index = runs.len();
    'script: for (chunk, script) in &parsed {
        if let Some(name) = &chunk.host {
            match world.host_index(name) {
                Some(h) => current = h,
                None => {
                    let e = format!(
                        "line {}: no host \"{name}\" in the lab (hosts: {})",
                        chunk.first_line,
                        world
                            .hosts
                            .iter()
                            .map(|h| h.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    let out = Output::err(format!("iptplay: {e}\n"), 2);
                    let text = chunk.text.lines().next().unwrap_or("").to_string();
                    sink.command("", &text, &out, false, index);
                    index += 1;
                    last = 2;
                    continue;
                }
            }
        }
        for item in &script.items {
            let r = run_on_host(&mut world, current, item, Some(&read_file), Mode::Script);
            last = r.exit;
            let host = world.hosts[current].name.clone();
            sink.result(&host, &item.text, &r, index);
            sink.packets(&mut world, index);
            index += 1;
            if r.stop {
                break 'script;
            }
        }
    }
    if checks {
        print_checks(&world, &lab, json);
    }
    last
}

/// The checks' state after the script: `PASS`/`FAIL` lines, or one JSON
/// line per check and a summary line.
fn print_checks(world: &World, lab: &super::LabFile, json: bool) {
    let results = super::checks::evaluate(world, lab);
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    if json {
        for r in &results {
            let mut obj = serde_json::json!({ "type": "check" });
            if let (Some(map), Ok(serde_json::Value::Object(t))) =
                (obj.as_object_mut(), serde_json::to_value(r))
            {
                map.extend(t);
            }
            let _ = writeln!(lock, "{obj}");
        }
        let sum = super::checks::Summary::of(&results);
        let mut obj = serde_json::json!({ "type": "summary" });
        if let (Some(map), Ok(serde_json::Value::Object(t))) =
            (obj.as_object_mut(), serde_json::to_value(sum))
        {
            map.extend(t);
        }
        let _ = writeln!(lock, "{obj}");
    } else {
        let _ = lock.write_all(super::check_cli::render(&results, lab).as_bytes());
    }
}
