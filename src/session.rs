//! The playground's state: a lab's world, a terminal per host, the log of
//! everything done (commands, packets, clock changes) that share links and
//! autosave replay, and the packet reports of the last action.

use crate::adapter::{self, LabFile, PacketSpec, Report, World};
use crate::teach::CheckState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the saved-state format (autosave and share links).
pub const SAVED_VERSION: u32 = 1;
/// Most actions a saved state may replay.
pub const MAX_ACTIONS: usize = 5000;
/// Most builder packets a saved state may replay (links are untrusted).
pub const MAX_REPLAY_PACKETS: u64 = 10_000;
/// Terminal lines kept per host.
pub const MAX_LINES: usize = 5000;
/// History entries kept per host.
pub const MAX_HISTORY: usize = 500;

/// Something the user did, replayed in order to rebuild a lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "a")]
pub enum Action {
    /// Text typed or pasted into a host's terminal (may span lines).
    #[serde(rename = "c")]
    Cmd { h: String, t: String },
    /// Packets from the packet builder.
    #[serde(rename = "p")]
    Packet { h: String, s: PacketSpec, n: u32 },
    /// A file written on a host (an opened rules file), for `< FILE`.
    #[serde(rename = "w")]
    File { h: String, p: String, t: String },
    /// The lab clock set to an instant (ns since the epoch).
    #[serde(rename = "k")]
    ClockSet { ns: u64 },
    /// The lab clock moved forward.
    #[serde(rename = "f")]
    ClockAdvance { ns: u64 },
}

/// Everything needed to rebuild the playground.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    pub v: u32,
    /// The lab file text.
    pub lab: String,
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Host whose terminal is open.
    #[serde(default)]
    pub host: String,
    /// Command history per host (autosave only; share links rebuild it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub history: BTreeMap<String, Vec<String>>,
}

/// What a terminal line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// The prompt and what was typed.
    Input,
    Stdout,
    Stderr,
    /// A note from the playground itself.
    Info,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub kind: LineKind,
    pub text: String,
}

/// One host's terminal.
#[derive(Debug, Clone, Default)]
pub struct Term {
    pub lines: Vec<Line>,
    pub history: Vec<String>,
    /// Lines of a command still being typed (open here-document, quote, `\`).
    pub pending: String,
    /// Bumped on every change so views know when to redraw.
    pub gen: u64,
}

impl Term {
    fn push(&mut self, kind: LineKind, text: &str) {
        let body = text.strip_suffix('\n').unwrap_or(text);
        for l in body.split('\n') {
            self.lines.push(Line {
                kind,
                text: l.to_string(),
            });
        }
        if self.lines.len() > MAX_LINES {
            let cut = self.lines.len() - MAX_LINES;
            self.lines.drain(..cut);
        }
        self.gen += 1;
    }
    fn remember(&mut self, entry: &str) {
        let e = entry.trim_end_matches('\n');
        if e.trim().is_empty() || e.len() > 10_000 || self.history.last().is_some_and(|l| l == e) {
            return;
        }
        self.history.push(e.to_string());
        if self.history.len() > MAX_HISTORY {
            self.history.remove(0);
        }
    }
}

/// What a submitted terminal line led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// Ran (or was empty).
    Done,
    /// The command goes on: show the continuation prompt `> `.
    More,
}

pub struct Session {
    pub lab_text: String,
    /// The lab file as read: intro, steps and checks (`None` only for the
    /// empty session shown when no lab loads at all).
    pub lab: Option<LabFile>,
    /// The checks' states as of `checks_gen`.
    pub checks: Vec<CheckState>,
    pub checks_gen: u64,
    pub lab_name: String,
    pub lab_description: String,
    pub world: World,
    pub terms: Vec<Term>,
    pub actions: Vec<Action>,
    /// Index of the host whose terminal is open.
    pub open: usize,
    /// Packets of the last action, and what the action was.
    pub reports: Vec<Report>,
    pub reports_label: String,
    /// Bumped whenever the reports are replaced.
    pub reports_gen: u64,
    /// Bumped on every change of the world.
    pub gen: u64,
}

/// The prompt of a host.
pub fn prompt(host: &str) -> String {
    format!("root@{host}:~# ")
}

/// Whether `text` (lines typed so far) is an unfinished command.
pub fn needs_more(text: &str) -> bool {
    let last = text.trim_end_matches('\n').lines().last().unwrap_or("");
    let trailing = last.len() - last.trim_end_matches('\\').len();
    if trailing % 2 == 1 {
        return true;
    }
    match adapter::Script::parse(text) {
        Ok(_) => false,
        Err(e) => e.incomplete,
    }
}

impl Session {
    /// A fresh session on a lab file.
    pub fn new(lab_text: &str) -> Result<Session, String> {
        let mut s = Session::started(lab_text)?;
        s.refresh_checks();
        Ok(s)
    }

    /// A fresh session whose checks are not evaluated yet.
    fn started(lab_text: &str) -> Result<Session, String> {
        let loaded = adapter::load_lab(lab_text)?;
        let mut terms: Vec<Term> = loaded.world.hosts.iter().map(|_| Term::default()).collect();
        for (host, cmd, out) in &loaded.startup {
            if let Some(i) = loaded.world.host_index(host) {
                let t = &mut terms[i];
                t.push(LineKind::Info, &format!("# lab start-up: {cmd}"));
                if !out.stdout.is_empty() {
                    t.push(LineKind::Stdout, &out.stdout);
                }
                if !out.stderr.is_empty() {
                    t.push(LineKind::Stderr, &out.stderr);
                }
            }
        }
        Ok(Session {
            lab_text: lab_text.to_string(),
            lab: Some(loaded.lab),
            checks: Vec::new(),
            checks_gen: 0,
            lab_name: loaded.name,
            lab_description: loaded.description,
            world: loaded.world,
            terms,
            actions: Vec::new(),
            open: 0,
            reports: Vec::new(),
            reports_label: String::new(),
            reports_gen: 0,
            gen: 1,
        })
    }

    /// Evaluates the lab's checks again when the world changed since.
    pub fn refresh_checks(&mut self) {
        if self.checks_gen == self.gen {
            return;
        }
        self.checks = match &self.lab {
            Some(lab) => adapter::evaluate_checks(&self.world, lab),
            None => Vec::new(),
        };
        self.checks_gen = self.gen;
    }

    /// Rebuilds a session from a saved state: the lab, then every action in order.
    pub fn restore(saved: &Saved) -> Result<Session, String> {
        if saved.v != SAVED_VERSION {
            return Err(format!(
                "saved state version {} is not supported (this playground reads version {SAVED_VERSION})",
                saved.v
            ));
        }
        if saved.actions.len() > MAX_ACTIONS {
            return Err(format!(
                "{} actions; the limit is {MAX_ACTIONS}",
                saved.actions.len()
            ));
        }
        let packets: u64 = saved
            .actions
            .iter()
            .map(|a| match a {
                Action::Packet { n, .. } => (*n).clamp(1, 100) as u64,
                _ => 0,
            })
            .sum();
        if packets > MAX_REPLAY_PACKETS {
            return Err(format!(
                "{packets} packets to send; the limit is {MAX_REPLAY_PACKETS}"
            ));
        }
        // Checks are evaluated once, after the replay.
        let mut s = Session::started(&saved.lab)?;
        for a in &saved.actions {
            s.apply(a.clone())?;
        }
        s.refresh_checks();
        if let Some(i) = s.world.host_index(&saved.host) {
            s.open = i;
        }
        if !saved.history.is_empty() {
            for t in &mut s.terms {
                t.history.clear();
            }
        }
        for (name, hist) in &saved.history {
            if let Some(i) = s.world.host_index(name) {
                s.terms[i].history = hist.iter().rev().take(MAX_HISTORY).rev().cloned().collect();
            }
        }
        Ok(s)
    }

    /// The state to save; `history` includes the command histories.
    pub fn saved(&self, history: bool) -> Saved {
        let mut h = BTreeMap::new();
        if history {
            for (i, t) in self.terms.iter().enumerate() {
                if !t.history.is_empty() {
                    h.insert(self.world.hosts[i].name.clone(), t.history.clone());
                }
            }
        }
        Saved {
            v: SAVED_VERSION,
            lab: self.lab_text.clone(),
            actions: self.actions.clone(),
            host: self
                .world
                .hosts
                .get(self.open)
                .map(|h| h.name.clone())
                .unwrap_or_default(),
            history: h,
        }
    }

    /// About how many bytes the saved state takes (without encoding it).
    pub fn size_hint(&self) -> usize {
        self.lab_text.len()
            + self
                .actions
                .iter()
                .map(|a| match a {
                    Action::Cmd { t, .. } | Action::File { t, .. } => t.len() + 32,
                    _ => 64,
                })
                .sum::<usize>()
            + self
                .terms
                .iter()
                .flat_map(|t| t.history.iter())
                .map(|h| h.len() + 4)
                .sum::<usize>()
    }

    pub fn host_names(&self) -> Vec<String> {
        self.world.hosts.iter().map(|h| h.name.clone()).collect()
    }

    fn host_of(&self, name: &str) -> Result<usize, String> {
        self.world
            .host_index(name)
            .ok_or_else(|| format!("no host named \"{name}\" in this lab"))
    }

    fn touch(&mut self) {
        self.gen += 1;
    }

    /// Carries out an action (new or replayed) and logs it.
    fn apply(&mut self, a: Action) -> Result<(), String> {
        match &a {
            Action::Cmd { h, t } => {
                let hi = self.host_of(h)?;
                let mut shown = String::new();
                for (i, l) in t.trim_end_matches('\n').split('\n').enumerate() {
                    if i == 0 {
                        shown.push_str(&prompt(h));
                    } else {
                        shown.push_str("> ");
                    }
                    shown.push_str(l);
                    shown.push('\n');
                }
                let term = &mut self.terms[hi];
                term.push(LineKind::Input, &shown);
                term.remember(t);
                self.run_text(hi, t);
            }
            Action::Packet { h, s, n } => {
                let hi = self.host_of(h)?;
                let n = (*n).clamp(1, 100);
                let reports = adapter::send_packet(&mut self.world, hi, s, n)?;
                self.reports = reports;
                self.reports_gen += 1;
                self.reports_label = format!("{n} packet(s) from {h}");
            }
            Action::File { h, p, t } => {
                let hi = self.host_of(h)?;
                self.world.hosts[hi].files.insert(p.clone(), t.clone());
            }
            Action::ClockSet { ns } => adapter::set_clock(&mut self.world, *ns),
            Action::ClockAdvance { ns } => adapter::advance(&mut self.world, *ns),
        }
        // Replays keep the log too: the state is the lab plus its actions.
        self.actions.push(a);
        self.touch();
        Ok(())
    }

    /// A line typed into host `hi`'s terminal (Enter pressed).
    pub fn submit_line(&mut self, hi: usize, line: &str) -> Submitted {
        if hi >= self.terms.len() {
            return Submitted::Done;
        }
        let continuing = !self.terms[hi].pending.is_empty();
        let shown = if continuing {
            format!("> {line}")
        } else {
            format!("{}{line}", prompt(&self.world.hosts[hi].name))
        };
        let t = &mut self.terms[hi];
        t.push(LineKind::Input, &shown);
        t.pending.push_str(line);
        t.pending.push('\n');
        if needs_more(&t.pending) {
            t.gen += 1;
            return Submitted::More;
        }
        let text = std::mem::take(&mut t.pending);
        t.remember(&text);
        if text.trim().is_empty() {
            return Submitted::Done;
        }
        let name = self.world.hosts[hi].name.clone();
        self.actions.push(Action::Cmd {
            h: name,
            t: text.clone(),
        });
        self.run_text(hi, &text);
        self.touch();
        Submitted::Done
    }

    /// Ctrl-C: drops what was typed so far.
    pub fn interrupt(&mut self, hi: usize, line: &str) {
        if let Some(t) = self.terms.get_mut(hi) {
            let shown = if t.pending.is_empty() {
                format!("{}{line}^C", prompt(&self.world.hosts[hi].name))
            } else {
                format!("> {line}^C")
            };
            t.pending.clear();
            t.push(LineKind::Input, &shown);
        }
    }

    /// Runs a complete command text on a host and writes the output to its terminal.
    fn run_text(&mut self, hi: usize, text: &str) {
        let script = match adapter::Script::parse(text) {
            Ok(c) => c,
            Err(e) => {
                self.terms[hi].push(LineKind::Stderr, &format!("-bash: {}", e.msg));
                return;
            }
        };
        let mut reports = Vec::new();
        let mut any_packets = false;
        for item in &script.items {
            let own = match item.plain_words().as_deref().and_then(|w| w.first().cloned()) {
                Some(w) if w == "clear" => {
                    self.terms[hi].lines.clear();
                    self.terms[hi].gen += 1;
                    continue;
                }
                Some(w) if w == "history" => {
                    let mut s = String::new();
                    for (i, h) in self.terms[hi].history.iter().enumerate() {
                        s.push_str(&format!("{:>5}  {h}\n", i + 1));
                    }
                    Some(s)
                }
                Some(w) if w == "help" => Some(format!(
                    "Programs on this host: {}\nTerminal: Tab completes, Up/Down walk the history, Ctrl-R searches it,\nCtrl-L clears the screen, Ctrl-C drops the line. Here-documents (<<EOF) work,\nand so do shell variables, for/if, pipes and $(...).\n",
                    adapter::PROGRAMS.join(" ")
                )),
                _ => None,
            };
            let (pieces, stop) = match own {
                Some(s) => (vec![(adapter::Stream::Out, s)], false),
                None => {
                    let r = adapter::run_item(&mut self.world, hi, item);
                    (r.pieces, r.stop)
                }
            };
            let r = adapter::take_reports(&mut self.world);
            if !r.is_empty() {
                any_packets = true;
                reports.extend(r);
            }
            let t = &mut self.terms[hi];
            for (stream, text) in &pieces {
                let kind = match stream {
                    adapter::Stream::Out => LineKind::Stdout,
                    adapter::Stream::Err => LineKind::Stderr,
                };
                t.push(kind, text);
            }
            if stop {
                break;
            }
        }
        if any_packets {
            self.reports = reports;
            self.reports_gen += 1;
            let first = text.lines().next().unwrap_or("");
            self.reports_label = format!("{}: {first}", self.world.hosts[hi].name);
        }
    }

    /// Pasted text: each line as if typed.
    pub fn paste(&mut self, hi: usize, text: &str) -> Submitted {
        let mut last = Submitted::Done;
        for l in text.trim_end_matches('\n').split('\n') {
            last = self.submit_line(hi, l.trim_end_matches('\r'));
        }
        last
    }

    /// Runs a whole command text (a loaded rules file as a here-document …)
    /// on a host as if typed, logged like typed commands.
    pub fn command(&mut self, hi: usize, text: &str) -> Result<(), String> {
        let h = self
            .world
            .hosts
            .get(hi)
            .map(|h| h.name.clone())
            .ok_or("no such host")?;
        self.apply(Action::Cmd {
            h,
            t: text.to_string(),
        })
    }

    /// Puts a file on a host (where `< FILE` finds it).
    pub fn write_file(&mut self, hi: usize, path: &str, text: &str) -> Result<(), String> {
        let h = self
            .world
            .hosts
            .get(hi)
            .map(|h| h.name.clone())
            .ok_or("no such host")?;
        self.apply(Action::File {
            h,
            p: path.to_string(),
            t: text.to_string(),
        })
    }

    /// Sends packets from the packet builder.
    pub fn send(&mut self, host: &str, spec: PacketSpec, count: u32) -> Result<(), String> {
        self.apply(Action::Packet {
            h: host.to_string(),
            s: spec,
            n: count,
        })
    }

    pub fn set_clock(&mut self, ns: u64) {
        let _ = self.apply(Action::ClockSet { ns });
    }

    pub fn advance(&mut self, ns: u64) {
        let _ = self.apply(Action::ClockAdvance { ns });
    }

    pub fn clock(&self) -> u64 {
        adapter::clock(&self.world)
    }

    /// Clears a host's screen (Ctrl-L) without touching its history.
    pub fn clear_screen(&mut self, hi: usize) {
        if let Some(t) = self.terms.get_mut(hi) {
            t.lines.clear();
            t.gen += 1;
        }
    }
}

/// `2024-05-01 09:00:00 UTC` from nanoseconds since the epoch.
pub fn clock_text(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses `YYYY-MM-DD HH:MM:SS` (UTC; a `T` or a trailing `Z`/` UTC` is fine).
pub fn parse_clock(s: &str) -> Result<u64, String> {
    let t = s
        .trim()
        .trim_end_matches(" UTC")
        .trim_end_matches('Z')
        .replace(' ', "T");
    crate::adapter::parse_time(&format!("{t}Z"))
        .map_err(|_| format!("\"{s}\" is not a time like 2024-05-01 09:00:00"))
}

/// Parses a duration like `90`, `90s`, `5m`, `2h`, `1d` to nanoseconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let bad = || format!("\"{s}\" is not a duration like 30s, 5m, 2h or 1d");
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult = match unit.trim() {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(bad()),
    };
    n.checked_mul(mult)
        .and_then(|x| x.checked_mul(1_000_000_000))
        .filter(|x| *x <= 366 * 86400 * 1_000_000_000)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const LAB: &str = r#"{"version":1,"name":"t","links":[{"name":"lan"}],"hosts":[
        {"name":"fw","interfaces":[{"name":"eth0","address":"10.0.0.1/24","link":"lan"}]},
        {"name":"pc","interfaces":[{"name":"eth0","address":"10.0.0.2/24","link":"lan"}],
         "services":[{"proto":"tcp","port":22,"service":"ssh"}]}]}"#;

    #[test]
    fn commands_heredocs_and_replay() {
        let mut s = Session::new(LAB).unwrap();
        assert_eq!(
            s.submit_line(0, "iptables -A INPUT -p tcp --dport 22 -j DROP"),
            Submitted::Done
        );
        assert_eq!(
            s.submit_line(0, "iptables-restore --noflush <<EOF"),
            Submitted::More
        );
        assert_eq!(s.submit_line(0, "*filter"), Submitted::More);
        assert_eq!(
            s.submit_line(0, "-A INPUT -s 10.9.9.9 -j DROP"),
            Submitted::More
        );
        assert_eq!(s.submit_line(0, "COMMIT"), Submitted::More);
        assert_eq!(s.submit_line(0, "EOF"), Submitted::Done);
        s.submit_line(0, "iptables -S INPUT");
        let text: Vec<&str> = s.terms[0].lines.iter().map(|l| l.text.as_str()).collect();
        assert!(
            text.contains(&"-A INPUT -s 10.9.9.9/32 -j DROP"),
            "{text:?}"
        );
        assert!(text.contains(&"root@fw:~# iptables -S INPUT"));
        s.submit_line(0, "iptables -A NOPE -j DROP");
        assert_eq!(s.terms[0].lines.last().unwrap().kind, LineKind::Stderr);
        s.advance(parse_duration("5m").unwrap());
        s.open = 1;
        let saved = s.saved(true);
        let r = Session::restore(&saved).unwrap();
        assert_eq!(r.open, 1);
        assert_eq!(r.clock(), s.clock());
        assert_eq!(r.terms[0].lines, s.terms[0].lines);
        assert_eq!(r.terms[0].history.len(), 4);
    }

    #[test]
    fn packets_leave_reports() {
        let mut s = Session::new(LAB).unwrap();
        s.submit_line(1, "iptables -A INPUT -p tcp --dport 22 -j DROP");
        let spec: PacketSpec = serde_json::from_str(
            r#"{"src":"10.0.0.1","dst":"10.0.0.2","proto":"tcp","sport":40000,"dport":22}"#,
        )
        .unwrap();
        s.send("fw", spec, 1).unwrap();
        assert!(!s.reports.is_empty());
        assert!(
            s.reports
                .iter()
                .any(|r| r.outcome.contains("dropped on pc in INPUT")),
            "{:?}",
            s.reports.iter().map(|r| &r.outcome).collect::<Vec<_>>()
        );
    }

    #[test]
    fn files_feed_restore() {
        let mut s = Session::new(LAB).unwrap();
        s.write_file(
            0,
            "x.rules",
            "*filter\n-A INPUT -s 10.1.1.1 -j DROP\nCOMMIT\n",
        )
        .unwrap();
        s.command(0, "iptables-restore < x.rules").unwrap();
        let r = Session::restore(&s.saved(false)).unwrap();
        let t = r.world.hosts[0].ruleset.table("filter").unwrap();
        assert_eq!(t.chain("INPUT").unwrap().rules.len(), 1);
    }

    #[test]
    fn replay_budgets() {
        let s = Session::new(LAB).unwrap();
        let spec: PacketSpec = serde_json::from_str(
            r#"{"src":"10.0.0.1","dst":"10.0.0.2","proto":"udp","sport":1,"dport":2}"#,
        )
        .unwrap();
        let mut saved = s.saved(false);
        saved.actions = vec![
            Action::Packet {
                h: "fw".into(),
                s: spec,
                n: 100
            };
            101
        ];
        assert!(Session::restore(&saved).err().unwrap().contains("packets"));
        saved.actions = vec![Action::ClockAdvance { ns: 1 }; MAX_ACTIONS + 1];
        assert!(Session::restore(&saved).err().unwrap().contains("actions"));
        saved.actions = vec![Action::Cmd {
            h: "nobody".into(),
            t: "iptables -L".into(),
        }];
        assert!(Session::restore(&saved).err().unwrap().contains("no host"));
    }

    #[test]
    fn tools_leave_reports_for_the_trace() {
        let mut s = Session::new(crate::labs::DEFAULT_LAB).unwrap();
        s.submit_line(2, "iptables -A INPUT -p icmp -j DROP");
        s.submit_line(0, "ping -c 1 -W 1 10.0.0.80");
        let out: Vec<&str> = s.terms[0].lines.iter().map(|l| l.text.as_str()).collect();
        assert!(
            out.iter().any(|l| l.contains("100% packet loss")),
            "{out:?}"
        );
        assert_eq!(s.reports_gen, 1);
        assert!(s
            .reports
            .iter()
            .any(|r| r.outcome.contains("dropped on server in INPUT")));
        // Replays give the same terminal.
        let r = Session::restore(&s.saved(false)).unwrap();
        assert_eq!(r.terms[0].lines, s.terms[0].lines);
    }

    #[test]
    fn checks_follow_commands_packets_and_the_clock() {
        let lab = LAB.replace(
            "]}]}",
            r#"]}],
            "checks":[
              {"id":"cnt","title":"the DROP rule counted a packet",
               "counter":{"host":"pc","chain":"INPUT","rule":"-j DROP","min":1}},
              {"id":"clock","title":"date shows 2030","output":{"host":"pc","command":"date","contains":["2030"]}}]}"#,
        );
        let mut s = Session::new(&lab).unwrap();
        assert_eq!(s.checks.len(), 2, "{lab}");
        assert!(s.checks.iter().all(|c| !c.pass));
        // A command: the rule is there but has counted nothing yet.
        s.submit_line(1, "iptables -A INPUT -p tcp --dport 22 -j DROP");
        s.refresh_checks();
        assert!(!s.checks[0].pass, "{:?}", s.checks[0]);
        // A packet from the builder: counted.
        let spec: PacketSpec = serde_json::from_str(
            r#"{"src":"10.0.0.1","dst":"10.0.0.2","proto":"tcp","sport":40000,"dport":22}"#,
        )
        .unwrap();
        s.send("fw", spec, 1).unwrap();
        s.refresh_checks();
        assert!(s.checks[0].pass, "{:?}", s.checks[0]);
        assert!(!s.checks[1].pass);
        // The clock.
        s.set_clock(crate::adapter::parse_time("2030-01-01T00:00:00Z").unwrap());
        s.refresh_checks();
        assert!(s.checks[1].pass, "{:?}", s.checks[1]);
        // Nothing changed: nothing evaluated again.
        let gen = s.checks_gen;
        s.refresh_checks();
        assert_eq!(s.checks_gen, gen);
    }

    #[test]
    fn typed_rule_commands_explain_themselves() {
        let mut s = Session::new(crate::labs::DEFAULT_LAB).unwrap();
        let line = "iptables -A INPUT -p tcp --dport 22 -j DROP";
        let ex = crate::adapter::explain_command(&mut s.world, 1, line).unwrap();
        assert!(ex.contains("Drops TCP packets to port 22"), "{ex}");
        // Nothing changed on the host.
        assert!(s.world.hosts[1]
            .ruleset
            .table("filter")
            .unwrap()
            .chains
            .iter()
            .all(|c| c.rules.is_empty()));
        assert!(crate::adapter::explain_command(&mut s.world, 1, "iptables -L").is_none());
        assert!(crate::adapter::explain_command(&mut s.world, 1, "ping -A x").is_none());
        assert!(
            crate::adapter::explain_command(&mut s.world, 1, "iptables -A NOPE -j DROP").is_none()
        );
        assert!(crate::adapter::is_rule_command(
            "iptables -t nat -I PREROUTING 1 -j ACCEPT"
        ));
    }

    #[test]
    fn explain_and_lint_run_in_the_terminal() {
        let mut s = Session::new(crate::labs::DEFAULT_LAB).unwrap();
        s.submit_line(1, "iptables -A INPUT -j ACCEPT");
        s.submit_line(1, "iptables -A INPUT -p tcp --dport 22 -j DROP");
        s.submit_line(1, "lint");
        s.submit_line(1, "explain iptables -A INPUT -p tcp --dport 22 -j DROP");
        let out: Vec<&str> = s.terms[1].lines.iter().map(|l| l.text.as_str()).collect();
        assert!(out.iter().any(|l| l.contains("can never match")), "{out:?}");
        assert!(
            out.iter()
                .any(|l| l.contains("Drops TCP packets to port 22")),
            "{out:?}"
        );
        assert!(crate::adapter::PROGRAMS.contains(&"lint"));
    }

    #[test]
    fn continuation_rules() {
        assert!(needs_more("cat <<EOF\nx\n"));
        assert!(!needs_more("cat <<EOF\nx\nEOF\n"));
        assert!(needs_more("iptables -A INPUT \\\n"));
        assert!(needs_more("echo 'abc\n"));
        assert!(!needs_more("iptables -L\n"));
        assert!(needs_more("for p in 22 80\n"));
        assert!(needs_more("for p in 22 80\ndo\necho $p\n"));
        assert!(!needs_more("for p in 22 80\ndo\necho $p\ndone\n"));
        assert!(needs_more("if [ -f x ]\n"));
        assert!(!needs_more("done\n"));
    }

    #[test]
    fn pasted_country_script_runs() {
        let lab = include_str!("../engine/tests/labs/country-block.json");
        let script = include_str!("../engine/tests/labs/country-block.sh");
        let mut s = Session::new(lab).unwrap();
        assert_eq!(s.paste(0, script), Submitted::Done);
        let out: Vec<&str> = s.terms[0]
            .lines
            .iter()
            .filter(|l| l.kind == LineKind::Stdout)
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(
            out,
            [
                "### BLOCKING CHINA ###",
                "Download Finished!",
                "Adding Networks to set...",
                "Blocking CN with iptables ... ",
                "Done"
            ]
        );
        // The `for` loop was one entry, run when `done` came.
        assert!(s.terms[0].lines.iter().any(|l| l.text == "> done"));
        s.submit_line(0, "ipset list china | grep -c /");
        assert_eq!(s.terms[0].lines.last().map(|l| l.text.as_str()), Some("4"));
    }

    #[test]
    fn shell_variables_live_between_entries() {
        let mut s = Session::new(LAB).unwrap();
        s.submit_line(0, "ISP1=\"22 80\"");
        s.submit_line(0, "for p in $ISP1; do");
        s.submit_line(0, "iptables -A INPUT -p tcp --dport $p -j ACCEPT");
        assert_eq!(s.submit_line(0, "done"), Submitted::Done);
        s.submit_line(0, "iptables -S INPUT | grep -c -e '-j ACCEPT'");
        let text: Vec<&str> = s.terms[0].lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(text.last(), Some(&"2"), "{text:?}");
        // A replay of the actions gives the same state.
        let r = Session::restore(&s.saved(false)).unwrap();
        assert_eq!(
            r.world.hosts[0].shell_vars.get("ISP1").map(String::as_str),
            Some("22 80")
        );
    }

    #[test]
    fn clock_texts() {
        let ns = crate::adapter::parse_time("2024-05-01T09:00:00Z").unwrap();
        assert_eq!(clock_text(ns), "2024-05-01 09:00:00 UTC");
        assert_eq!(parse_clock("2024-05-01 09:00:00").unwrap(), ns);
        assert_eq!(parse_duration("2h").unwrap(), 7_200_000_000_000);
        assert!(parse_duration("2y").is_err());
        assert!(parse_duration("99999999999d").is_err());
    }
}
