//! The one place the web app meets the engine's lab and command API: loading
//! a lab, running a command on a host, sending a packet, the lab clock and
//! the packet reports of the last action. Everything netfilter is the
//! engine's; this file only forwards.

use crate::teach::CheckState;
pub use engine::command::script::{parse_script, ScriptCmd, ScriptError};
pub use engine::command::shell::{Item, ItemResult, Script, ShellError, Stream};
pub use engine::command::Output;
pub use engine::lab::LabFile;
pub use engine::lint::Warning;
pub use engine::packet::spec::{L4Spec, PacketSpec};
use engine::sim::tools;
pub use engine::sim::world::{Report, World};

/// A lab made ready to use.
pub struct Loaded {
    pub world: World,
    /// The lab file as read (steps and checks included).
    pub lab: LabFile,
    pub name: String,
    pub description: String,
    /// (host, command, output) of the lab's start-up commands.
    pub startup: Vec<(String, String, Output)>,
}

/// Reads a lab file and builds its world (start-up commands included).
pub fn load_lab(text: &str) -> Result<Loaded, String> {
    let (mut world, lab, runs) = engine::lab::load(text).map_err(|e| e.to_string())?;
    // Start-up commands are not the user's: their packets are no trace.
    let _ = tools::take_journal(&mut world);
    Ok(Loaded {
        world,
        name: lab.name.clone(),
        description: lab.description.clone(),
        lab,
        startup: runs
            .into_iter()
            .map(|r| (r.host, r.command, r.output))
            .collect(),
    })
}

/// A lab text checked as Apply would start it: `Ok` with a short summary
/// (hosts, steps, checks), or the reason it cannot start.
pub fn validate_lab(text: &str) -> Result<String, String> {
    let lab = engine::lab::parse(text).map_err(|e| e.to_string())?;
    engine::lab::build(&lab).map_err(|e| e.to_string())?;
    let n = |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
    Ok(format!(
        "{}, {}, {}",
        n(lab.hosts.len(), "host", "hosts"),
        n(lab.steps.len(), "step", "steps"),
        n(lab.checks.len(), "check", "checks")
    ))
}

/// Every check of the lab evaluated on the world (probes run on copies).
pub fn evaluate_checks(world: &World, lab: &LabFile) -> Vec<CheckState> {
    if lab.checks.is_empty() {
        return Vec::new();
    }
    engine::lab::checks::evaluate(world, lab)
        .into_iter()
        .map(|r| CheckState {
            hint: lab
                .checks
                .iter()
                .find(|c| c.id == r.id)
                .map(|c| c.hint.clone())
                .unwrap_or_default(),
            id: r.id,
            title: r.title,
            pass: r.pass,
            detail: r.detail,
        })
        .collect()
}

/// `2024-05-01T09:00:00Z` (or with an offset) to ns since the epoch.
pub fn parse_time(s: &str) -> Result<u64, String> {
    engine::lab::parse_time(s)
        .map(|(ns, _)| ns)
        .map_err(|e| e.to_string())
}

/// Programs a host offers, for Tab completion and `help`.
pub const PROGRAMS: &[&str] = &[
    "iptables",
    "iptables-save",
    "iptables-restore",
    "iptables-nft",
    "iptables-nft-save",
    "iptables-nft-restore",
    "ipset",
    "nfacct",
    "explain",
    "lint",
    "ping",
    "nc",
    "curl",
    "wget",
    "hping3",
    "nmap",
    "tcpdump",
    "dmesg",
    "conntrack",
    "ss",
    "netstat",
    "dig",
    "getent",
    "ip",
    "sysctl",
    "sleep",
    "echo",
    "cat",
    "date",
    "hostname",
    "true",
    "false",
    "rm",
    "ls",
    "grep",
    "wc",
    "head",
    "tail",
    "test",
    "export",
    "exit",
];

/// Runs one parsed command (redirections, here-documents) on host `host`.
/// `< FILE` reads the host's files only: the browser has no disk.
pub fn run_cmd(world: &mut World, host: usize, cmd: &ScriptCmd) -> Output {
    tools::run_script_cmd(world, host, cmd, &|_| {
        Err("No such file or directory".to_string())
    })
}

/// Runs one typed top-level command (variables, `for`, `if`, pipes …) on
/// host `host` with the host's shell variables.
pub fn run_item(world: &mut World, host: usize, item: &Item) -> ItemResult {
    engine::command::shell::world::run_on_host(
        world,
        host,
        item,
        None,
        engine::command::shell::Mode::Terminal,
    )
}

/// Reports of the packets the last command sent.
pub fn take_reports(world: &mut World) -> Vec<Report> {
    tools::take_journal(world).0
}

/// Sends `count` copies of a packet from a host; the reports of every packet
/// each one caused, in order.
pub fn send_packet(
    world: &mut World,
    host: usize,
    spec: &PacketSpec,
    count: u32,
) -> Result<Vec<Report>, String> {
    if host >= world.hosts.len() {
        return Err("no such host".into());
    }
    let mut all = Vec::new();
    for i in 0..count {
        let mut spec = spec.clone();
        if let L4Spec::Icmp { seq, .. } = &mut spec.l4 {
            *seq = seq.wrapping_add(i as u16);
        }
        let pkt = spec.build()?;
        all.extend(world.send(host, pkt).iter().cloned());
    }
    Ok(all)
}

/// The lab clock, nanoseconds since the Unix epoch.
pub fn clock(world: &World) -> u64 {
    world.now_ns
}

/// Sets the lab clock (hosts follow).
pub fn set_clock(world: &mut World, ns: u64) {
    world.now_ns = ns;
    world.sync_clocks();
}

/// Moves the lab clock forward (timeouts, limits and quotas see the time pass).
pub fn advance(world: &mut World, ns: u64) {
    world.advance(ns);
}

/// Whether a typed line is an iptables command that changes rules, chains,
/// policies or counters, which `explain` can put in words (cheap: no parsing).
pub fn is_rule_command(line: &str) -> bool {
    let mut w = line.split_whitespace();
    matches!(w.next(), Some("iptables" | "iptables-nft"))
        && w.any(|a| {
            matches!(
                a,
                "-A" | "-I"
                    | "-R"
                    | "-D"
                    | "-P"
                    | "-F"
                    | "-X"
                    | "-N"
                    | "-E"
                    | "-Z"
                    | "--append"
                    | "--insert"
                    | "--replace"
                    | "--delete"
                    | "--policy"
                    | "--flush"
                    | "--delete-chain"
                    | "--new-chain"
                    | "--rename-chain"
                    | "--zero"
            )
        })
}

/// The plain-English meaning of a typed iptables command (`explain` on the
/// host, which changes nothing); `None` when it has none (not a rule
/// command, or iptables would refuse it).
pub fn explain_command(world: &mut World, host: usize, line: &str) -> Option<String> {
    if !is_rule_command(line) {
        return None;
    }
    let cmds = parse_script(line).ok()?;
    let c = cmds.first()?;
    let mut argv = vec!["explain".to_string()];
    argv.extend(c.argv.iter().cloned());
    let out = engine::lint::cmd::run(world.hosts.get_mut(host)?, &argv);
    let text = out.stdout.trim();
    (out.exit == 0 && !text.is_empty()).then(|| text.to_string())
}

/// Most rules a host may have for the linter to run on every change (it
/// compares rules pairwise; a 100 000-rule table would stall the page).
pub const LINT_MAX_RULES: usize = 3000;

/// The linter's warnings for a host's rules; `None` when the host has too
/// many rules to lint on every change.
pub fn lint(world: &World, host: usize) -> Option<Vec<Warning>> {
    let h = world.hosts.get(host)?;
    let rules: usize = h
        .ruleset
        .tables
        .iter()
        .flat_map(|t| t.chains.iter())
        .map(|c| c.rules.len())
        .sum();
    if rules > LINT_MAX_RULES {
        return None;
    }
    Some(engine::lint::lint(h, &engine::lint::LintContext::default()))
}

/// pcap bytes of everything seen on a host's interface.
// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn pcap(world: &World, host: &str, iface: &str) -> Vec<u8> {
    let frames = world
        .captures
        .get(&(host.to_string(), iface.to_string()))
        .map(|v| v.as_slice())
        .unwrap_or(&[]);
    engine::packet::pcap::write(frames)
}
