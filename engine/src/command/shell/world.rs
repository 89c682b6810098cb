//! The shell on a lab host: programs are the host's tools
//! ([`tools::run_in_world`]), files are the host's files plus `/proc/sys`
//! and `/proc/net/xt_recent`, and the host keeps its shell variables
//! between commands (`Host::shell_vars`).

use super::{run_item, FileKind, Item, ItemResult, Mode, System};
use crate::command::Output;
use crate::sim::tools::{self, shell::XT_RECENT, sysctl};
use crate::sim::world::World;

/// Reads files the host does not have (a script's directory on disk).
pub type DiskReader<'a> = &'a dyn Fn(&str) -> Result<String, String>;

pub struct HostSystem<'a> {
    pub world: &'a mut World,
    pub host: usize,
    pub disk: Option<DiskReader<'a>>,
}

/// The key of a path in the host's files (`./x` is `x`).
fn key(path: &str) -> &str {
    let mut p = path;
    while let Some(r) = p.strip_prefix("./") {
        p = r;
    }
    p
}

/// Directories every host has.
const DIRS: &[&str] = &[
    "/",
    ".",
    "/root",
    "/tmp",
    "/etc",
    "/proc",
    "/proc/sys",
    "/proc/net",
    "/var",
    "/var/www",
    "/dev",
];

impl System for HostSystem<'_> {
    fn run(&mut self, argv: &[String], stdin: Option<&str>) -> Option<Output> {
        let out = tools::run_in_world(self.world, self.host, argv, stdin);
        let prog = argv[0].rsplit('/').next().unwrap_or(&argv[0]);
        if out.exit == 127 && out.stderr == format!("{prog}: command not found\n") {
            return None;
        }
        Some(out)
    }

    fn read(&mut self, path: &str) -> Result<String, String> {
        let h = &self.world.hosts[self.host];
        if let Some(name) = path.strip_prefix(XT_RECENT) {
            return crate::ext::recent::proc_read(h, name)
                .ok_or_else(|| "No such file or directory".to_string());
        }
        if let Some(r) = sysctl::proc_read(h, path) {
            return r;
        }
        if let Some(t) = h.files.get(key(path)) {
            return Ok(t.clone());
        }
        if self.kind(path) == Some(FileKind::Dir) {
            return Err("Is a directory".into());
        }
        match self.disk {
            Some(d) => d(path),
            None => Err("No such file or directory".into()),
        }
    }

    fn write(&mut self, path: &str, text: &str, append: bool) -> Result<(), String> {
        if path == "/dev/null" {
            return Ok(());
        }
        let host = &mut self.world.hosts[self.host];
        if let Some(name) = path.strip_prefix(XT_RECENT) {
            if text.is_empty() {
                return Ok(());
            }
            let now = self.world.now_ns;
            return crate::ext::recent::proc_write(
                &mut self.world.hosts[self.host],
                name,
                text.as_bytes(),
                now,
            )
            .map_err(|e| match e {
                crate::ext::recent::ProcError::NoEntry => {
                    format!("{path}: No such file or directory")
                }
                _ => format!("echo: write error: {}", e.strerror()),
            });
        }
        if path.starts_with("/proc/") {
            if text.is_empty() && sysctl::proc_read(host, path).is_some_and(|r| r.is_ok()) {
                return Ok(());
            }
            return sysctl::proc_write(host, path, text).map_err(|e| {
                e.trim_end_matches('\n')
                    .trim_start_matches("sh: ")
                    .to_string()
            });
        }
        if DIRS.contains(&path) || path.ends_with('/') {
            return Err(format!("{path}: Is a directory"));
        }
        let entry = host.files.entry(key(path).to_string()).or_default();
        if !append {
            entry.clear();
        }
        if entry.len() + text.len() > super::MAX_TEXT {
            return Err(format!("{path}: File too large"));
        }
        entry.push_str(text);
        Ok(())
    }

    fn kind(&mut self, path: &str) -> Option<FileKind> {
        let h = &self.world.hosts[self.host];
        let p = key(path);
        if h.files.contains_key(p) {
            return Some(FileKind::File);
        }
        if let Some(name) = path.strip_prefix(XT_RECENT) {
            return crate::ext::recent::proc_read(h, name).map(|_| FileKind::File);
        }
        if sysctl::proc_read(h, path).is_some_and(|r| r.is_ok()) {
            return Some(FileKind::File);
        }
        let dir = p.trim_end_matches('/');
        if DIRS.contains(&p) || DIRS.contains(&dir) {
            return Some(FileKind::Dir);
        }
        let prefix = format!("{dir}/");
        if h.files.keys().any(|k| k.starts_with(&prefix)) {
            return Some(FileKind::Dir);
        }
        None
    }

    fn list(&mut self, dir: &str) -> Option<Vec<String>> {
        let d = key(dir).trim_end_matches('/');
        let here = matches!(d, "." | "" | "/root");
        let prefix = format!("{d}/");
        let mut names: Vec<String> = self.world.hosts[self.host]
            .files
            .keys()
            .filter_map(|k| {
                let rest = if here && !k.starts_with('/') {
                    k.as_str()
                } else {
                    k.strip_prefix(&prefix)?
                };
                Some(rest.split('/').next().unwrap_or(rest).to_string())
            })
            .collect();
        names.dedup();
        Some(names)
    }

    fn remove(&mut self, path: &str) -> Result<(), String> {
        if path.starts_with("/proc/") {
            return Err("Operation not permitted".into());
        }
        let h = &mut self.world.hosts[self.host];
        let p = key(path).trim_end_matches('/').to_string();
        if h.files.remove(&p).is_some() {
            return Ok(());
        }
        let prefix = format!("{p}/");
        let before = h.files.len();
        h.files.retain(|k, _| !k.starts_with(&prefix));
        if h.files.len() < before {
            return Ok(());
        }
        Err("No such file or directory".into())
    }
}

/// Runs one top-level command on a host with the host's shell variables.
pub fn run_on_host(
    world: &mut World,
    host: usize,
    item: &Item,
    disk: Option<DiskReader<'_>>,
    mode: Mode,
) -> ItemResult {
    if host >= world.hosts.len() {
        return ItemResult {
            pieces: vec![(super::Stream::Err, "sh: no such host\n".into())],
            exit: 127,
            stop: false,
        };
    }
    let mut vars = std::mem::take(&mut world.hosts[host].shell_vars);
    let r = {
        let mut sys = HostSystem { world, host, disk };
        run_item(&mut sys, &mut vars, item, mode)
    };
    world.hosts[host].shell_vars = vars;
    r
}
