//! `iptplay kernel run SCRIPT`: a shell script (`command::shell`) whose
//! iptables and ipset commands run against the kernel. Each command runs
//! on a host loaded from the live state with the engine's own front end
//! (so it prints and exits exactly like the real tool), and whatever it changed becomes a plan against that live state:
//! sets made before the rules, one nf_tables batch for the rules, sets
//! destroyed after them. A write racing the command makes it run again on
//! the new state.

use super::ipset;
use super::live::{self, Live};
use super::msg::Msg;
use super::nla::Attrs;
use super::plan::{self, Desired, Op};
use super::setplan;
use super::sock::{BatchOutcome, NfSock};
use super::{Error, Result};
use crate::command::script::{Input, ScriptCmd};
use crate::command::shell::{run_item, FileKind, Mode, Script, Stream, System, Vars};
use crate::command::{run_argv, Output};
use crate::sim::host::Host;
use std::collections::BTreeSet;
use std::io::Write;

/// Programs whose commands go to the kernel.
const PROGRAMS: &[&str] = &[
    "iptables",
    "iptables-nft",
    "iptables-save",
    "iptables-nft-save",
    "iptables-restore",
    "iptables-nft-restore",
    "ipset",
];

/// A host holding the live state: every iptables table that can be
/// represented, the sets, the nfacct object names.
pub fn host_of(live: &Live) -> Host {
    let mut host = Host::new("kernel");
    host.clock_ns = live.now;
    host.ipsets = live.store.clone();
    for name in &live.nfacct {
        host.nfacct.objects.push(crate::nfacct::Object::new(name));
    }
    for lt in &live.tables {
        if let Ok((t, _)) = live::to_table(&live.sets, lt) {
            if let Some(slot) = host.ruleset.table_mut(t.name) {
                *slot = t;
            }
        }
    }
    host
}

/// The kernel state a host's tables stand for: every table that exists,
/// with all its chains.
fn desired_of(host: &Host) -> Desired {
    let tables = host
        .ruleset
        .tables
        .iter()
        .filter(|t| t.exists)
        .map(|t| {
            let declared: BTreeSet<String> = t.chains.iter().map(|c| c.name.clone()).collect();
            (t.clone(), declared)
        })
        .collect();
    Desired {
        tables,
        sets: Vec::new(),
        now: host.clock_ns,
        host: Box::new(host.clone()),
    }
}

fn read_stdin(cmd: &ScriptCmd) -> std::result::Result<Option<String>, Output> {
    match &cmd.stdin {
        None => Ok(None),
        Some(Input::Text(t)) => Ok(Some(t.clone())),
        Some(Input::File(f)) => std::fs::read_to_string(f)
            .map(Some)
            .map_err(|e| Output::err(format!("sh: {f}: {e}\n"), 1)),
    }
}

/// `ipset rename|swap A B`: sent as such (a diff would destroy and create).
fn rename_or_swap(argv: &[String]) -> Option<Msg> {
    let cmd = match argv.get(1).map(String::as_str)? {
        "rename" | "e" | "-E" => ipset::CMD_RENAME,
        "swap" | "w" | "-W" => ipset::CMD_SWAP,
        _ => return None,
    };
    let (a, b) = (argv.get(2)?, argv.get(3)?);
    let mut at = Attrs::new();
    at.bytes(1, &[7]).str(2, a).str(3, b);
    Some(Msg {
        kind: ipset::NFNL_SUBSYS_IPSET << 8 | cmd as u16,
        flags: super::msg::NLM_F_REQUEST | super::msg::NLM_F_ACK,
        family: 2,
        res_id: 0,
        attrs: at.buf,
    })
}

/// What one command did to the kernel.
#[derive(Debug, Clone, Default)]
pub struct Changed {
    pub set_ops: Vec<String>,
    pub ops: Vec<String>,
}

/// Runs one command against the kernel: its output (as the real tool's)
/// and what was changed.
pub fn run_command(sock: &mut NfSock, cmd: &ScriptCmd) -> Result<(Output, Changed)> {
    let stdin = match read_stdin(cmd) {
        Ok(s) => s,
        Err(out) => return Ok((out, Changed::default())),
    };
    for _ in 0..plan::MAX_ATTEMPTS {
        let live = live::read(sock)?;
        let mut host = host_of(&live);
        let out = run_argv(&mut host, &cmd.argv, stdin.as_deref());
        let mut changed = Changed::default();
        // ipset changes: the sets as the host now has them.
        let direct = if out.exit == 0 && cmd.argv.first().is_some_and(|p| p == "ipset") {
            rename_or_swap(&cmd.argv)
        } else {
            None
        };
        let (before, after) = if direct.is_some() {
            (Vec::new(), Vec::new())
        } else {
            setplan::plan_sync(&live, &host.ipsets, host.clock_ns)?
        };
        if let Some(m) = direct {
            ipset::send_all(sock, &[(m, cmd.text.clone())])?;
            changed.set_ops.push(cmd.text.clone());
        }
        let msgs: Vec<(Msg, String)> = before
            .iter()
            .map(|o| (o.msg.clone(), o.text.clone()))
            .collect();
        ipset::send_all(sock, &msgs)?;
        changed.set_ops.extend(before.iter().map(|o| o.describe()));
        // Rules: new set indexes first.
        let mut live = live;
        if !before.is_empty() {
            live.set_sets(ipset::read(sock)?, live.now);
        }
        let ops = plan::plan_mode(&live, &desired_of(&host), false, true)?;
        if !ops.is_empty() {
            let msgs: Vec<Msg> = ops.iter().map(Op::msg).collect();
            match sock.batch(live.genid, &msgs, true)? {
                BatchOutcome::Done => changed.ops = ops.iter().map(Op::describe).collect(),
                BatchOutcome::Restart => continue,
                BatchOutcome::Failed(answers) => return Err(plan::refusal(&ops, &answers)),
            }
        }
        for o in &after {
            let name = o.text.trim_start_matches("- ipset ");
            ipset::destroy_when_free(sock, name)?;
            changed.set_ops.push(o.describe());
        }
        return Ok((out, changed));
    }
    Err(Error::Busy(plan::MAX_ATTEMPTS))
}

/// Writes `text` to the real file `path` (`>` or `>>`).
fn redirect(path: &str, append: bool, text: &str) -> std::io::Result<()> {
    if path == "/dev/null" {
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// The shell's machine in kernel mode: iptables and ipset go to the
/// kernel, files are the real ones.
struct KernelSystem<'a> {
    sock: &'a mut NfSock,
    /// `--netns NAME`: `/proc` files are read and written inside it.
    netns: Option<String>,
    verbose: bool,
    /// The kernel refused a change (or was out of reach): the script's status.
    fatal: Option<i32>,
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => e.to_string(),
    }
}

impl KernelSystem<'_> {
    /// Runs file work on `/proc` in the namespace the rules go to.
    fn proc<T: Send + 'static>(
        &self,
        path: &str,
        f: impl FnOnce(String) -> T + Send + 'static,
    ) -> std::result::Result<T, String> {
        let p = path.to_string();
        match (&self.netns, path.starts_with("/proc/")) {
            (Some(ns), true) => {
                super::rtnl::in_netns(ns, move || Ok(f(p))).map_err(|e| e.to_string())
            }
            _ => Ok(f(p)),
        }
    }
}

impl System for KernelSystem<'_> {
    fn run(&mut self, argv: &[String], stdin: Option<&str>) -> Option<Output> {
        let prog = argv[0].rsplit('/').next().unwrap_or(&argv[0]);
        if !PROGRAMS.contains(&prog) {
            return Some(Output::err(
                format!(
                    "iptplay: {prog}: only iptables and ipset commands run against the kernel\n"
                ),
                127,
            ));
        }
        let cmd = ScriptCmd {
            line: 0,
            text: argv.join(" "),
            argv: argv.to_vec(),
            stdin: stdin.map(|t| Input::Text(t.to_string())),
            stdout_to: None,
            stderr_to: None,
            stderr_to_stdout: false,
        };
        match run_command(self.sock, &cmd) {
            Ok((mut out, changed)) => {
                if self.verbose {
                    let mut notes = String::new();
                    for l in changed.set_ops.iter().chain(&changed.ops) {
                        notes.push_str(&format!("iptplay: {l}\n"));
                    }
                    out.stderr.insert_str(0, &notes);
                }
                Some(out)
            }
            Err(e) => {
                let code = match e {
                    Error::Permission => 4,
                    _ => 1,
                };
                self.fatal = Some(code);
                Some(Output::err(format!("iptplay: {e}\n"), code))
            }
        }
    }

    fn read(&mut self, path: &str) -> std::result::Result<String, String> {
        self.proc(path, |p| {
            std::fs::read_to_string(p).map_err(|e| io_reason(&e))
        })?
    }

    fn write(&mut self, path: &str, text: &str, append: bool) -> std::result::Result<(), String> {
        if path.starts_with("/proc/") && text.is_empty() {
            return Ok(());
        }
        let text = text.to_string();
        self.proc(path, move |p| {
            redirect(&p, append, &text).map_err(|e| match e.raw_os_error() {
                Some(libc::EINVAL) => "echo: write error: Invalid argument".to_string(),
                _ => format!("{p}: {}", io_reason(&e)),
            })
        })?
    }

    fn kind(&mut self, path: &str) -> Option<FileKind> {
        let m = self.proc(path, |p| std::fs::metadata(p).ok()).ok()??;
        Some(if m.is_dir() {
            FileKind::Dir
        } else {
            FileKind::File
        })
    }

    fn remove(&mut self, path: &str) -> std::result::Result<(), String> {
        let r = if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
        r.map_err(|e| io_reason(&e))
    }

    fn list(&mut self, dir: &str) -> Option<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        Some(names)
    }

    fn abort(&self) -> Option<i32> {
        self.fatal
    }
}

/// Runs a script with the shell (variables, `for`, `if`, pipes …): its
/// iptables and ipset commands go to the kernel. Returns the exit code of
/// its last command (as `sh`), 2 when the script cannot be read, 1 when
/// the kernel refuses a change (the script stops there).
pub fn run_script(sock: &mut NfSock, netns: Option<&str>, text: &str, verbose: bool) -> i32 {
    let script = match Script::parse(text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("iptplay: line {}: {}", e.line, e.msg);
            return 2;
        }
    };
    let mut sys = KernelSystem {
        sock,
        netns: netns.map(str::to_string),
        verbose,
        fatal: None,
    };
    let mut vars = Vars::new();
    let mut last = 0;
    for item in &script.items {
        let r = run_item(&mut sys, &mut vars, item, Mode::Script);
        for (stream, t) in &r.pieces {
            match stream {
                Stream::Out => {
                    print!("{t}");
                    let _ = std::io::stdout().flush();
                }
                Stream::Err => eprint!("{t}"),
            }
        }
        last = r.exit;
        if r.stop {
            break;
        }
    }
    last
}
