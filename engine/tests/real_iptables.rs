//! Differential test against the real iptables-nft 1.8.9: every script in
//! `tests/real/` runs through our engine and, command by command, through the
//! real tools in a fresh network namespace (one per script). Standard output,
//! standard error and exit code must agree for every command.
//!
//! Skipped with a printed reason when not root or a tool is missing.
//! `REAL_SCRIPT=name` runs only scripts whose file name contains `name`;
//! `REAL_SHOW=1` prints both sides of every differing command in full.
//! A script line `# needs: ext ...` names extensions the script uses; the
//! script is skipped (and says so) while one of them is not in the registry.

mod common;

use common::real::{normalize_dates, Namespace};
use engine::command::script::{parse_script, run_cmd, Input};
use engine::command::Output;
use engine::sim::host::Host;
use std::path::{Path, PathBuf};

fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/real")
}

/// One command whose two runs differ.
struct Diff {
    line: usize,
    text: String,
    ours: Output,
    real: Output,
}

/// The fields of two outputs that differ (all of them with `full`).
fn describe(ours: &Output, real: &Output, full: bool) -> String {
    let mut s = String::new();
    if full || ours.exit != real.exit {
        s.push_str(&format!(
            "    exit: ours {} real {}\n",
            ours.exit, real.exit
        ));
    }
    if full || normalize_dates(&ours.stdout) != normalize_dates(&real.stdout) {
        s.push_str(&format!(
            "    stdout ours: {:?}\n    stdout real: {:?}\n",
            ours.stdout, real.stdout
        ));
    }
    if full || ours.stderr != real.stderr {
        s.push_str(&format!(
            "    stderr ours: {:?}\n    stderr real: {:?}\n",
            ours.stderr, real.stderr
        ));
    }
    s
}

/// Runs one script both ways; `Ok(n)` is the number of commands compared.
fn run_script(path: &Path, ns_name: &str) -> Result<usize, Vec<Diff>> {
    let text = std::fs::read_to_string(path).expect("script readable");
    let cmds = parse_script(&text).expect("script parses");
    let dir = path.parent().expect("script dir").to_path_buf();
    let ns = Namespace::new(ns_name);
    let mut host = Host::new("real");
    let mut diffs = Vec::new();
    for cmd in &cmds {
        let read = |name: &str| -> Result<String, String> {
            std::fs::read_to_string(dir.join(name)).map_err(|_| "No such file or directory".into())
        };
        let ours = run_cmd(&mut host, cmd, &read);
        let stdin = match &cmd.stdin {
            None => None,
            Some(Input::Text(t)) => Some(t.clone()),
            Some(Input::File(f)) => Some(
                ns.read_file(f)
                    .or_else(|| std::fs::read_to_string(dir.join(f)).ok())
                    .unwrap_or_default(),
            ),
        };
        let mut real = ns.run(&cmd.argv, stdin.as_deref(), None);
        if cmd.stderr_to_stdout {
            let err = std::mem::take(&mut real.stderr);
            real.stdout.push_str(&err);
        }
        if let Some((path, append)) = &cmd.stdout_to {
            ns.write_file(path, *append, &std::mem::take(&mut real.stdout));
        }
        if let Some((path, append)) = &cmd.stderr_to {
            ns.write_file(path, *append, &std::mem::take(&mut real.stderr));
        }
        let same = |a: &Output, b: &Output| {
            a.exit == b.exit
                && normalize_dates(&a.stdout) == normalize_dates(&b.stdout)
                && a.stderr == b.stderr
        };
        if !same(&ours, &real) {
            diffs.push(Diff {
                line: cmd.line,
                text: cmd.text.clone(),
                ours,
                real,
            });
        }
    }
    if diffs.is_empty() {
        Ok(cmds.len())
    } else {
        Err(diffs)
    }
}

/// Extensions a script declares with `# needs:` that the registry lacks.
fn missing_extensions(text: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for l in text.lines() {
        if let Some(rest) = l.trim().strip_prefix("# needs:") {
            for name in rest.split_whitespace() {
                let known = engine::ext::registry()
                    .iter()
                    .any(|e| e.name == name || e.aliases.contains(&name));
                if !known {
                    missing.push(name.to_string());
                }
            }
        }
    }
    missing
}

#[test]
fn real_iptables_agrees() {
    if let Err(why) = common::can_use_kernel() {
        println!("skipped: {why}");
        return;
    }
    let filter = std::env::var("REAL_SCRIPT").ok();
    let show = std::env::var("REAL_SHOW").is_ok();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(scripts_dir())
        .expect("tests/real exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sh"))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            filter.as_deref().map(|f| name.contains(f)).unwrap_or(true)
        })
        .collect();
    paths.sort();
    let mut failed = Vec::new();
    let mut total = 0;
    for (i, path) in paths.iter().enumerate() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).expect("script readable");
        let missing = missing_extensions(&text);
        if !missing.is_empty() {
            println!("skipped {name}: extensions not in the registry: {missing:?}");
            continue;
        }
        let ns = format!("iptd-{}-{i}", std::process::id());
        match run_script(path, &ns) {
            Ok(n) => {
                total += n;
                println!("ok {name}: {n} commands agree");
            }
            Err(diffs) => {
                println!("FAIL {name}: {} commands differ", diffs.len());
                let shown = if show {
                    diffs.len()
                } else {
                    diffs.len().min(5)
                };
                for d in &diffs[..shown] {
                    println!("  line {}: {}", d.line, d.text);
                    print!("{}", describe(&d.ours, &d.real, false));
                }
                failed.push(name);
            }
        }
    }
    println!("{total} commands agree in scripts without differences");
    assert!(failed.is_empty(), "scripts differing: {failed:?}");
}
