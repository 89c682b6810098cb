//! Helpers of the kernel-mode tests: throwaway network namespaces, the
//! real tools inside them and the built `iptplay` binary.
#![allow(dead_code)]

use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A network namespace deleted on drop.
pub struct Ns(pub String);

impl Ns {
    pub fn new(tag: &str) -> Ns {
        let name = format!(
            "iptplay-k{}-{}-{tag}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "ip netns add {name}");
        Ns(name)
    }
    /// A shell command inside the namespace.
    pub fn sh(&self, cmd: &str) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.0, "sh", "-c", cmd])
            .output()
            .expect("ip netns exec")
    }
    pub fn ok(&self, cmd: &str) -> String {
        let o = self.sh(cmd);
        assert!(
            o.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
    /// The real iptables-nft-save without comment lines or trailing blanks.
    pub fn save(&self) -> String {
        strip(&self.ok("iptables-nft-save"))
    }
    /// Everything the kernel holds, handles included.
    pub fn snapshot(&self) -> String {
        self.ok("nft -a list ruleset") + &strip(&self.ok("iptables-nft-save -c"))
    }
    /// `iptplay kernel ARGS --netns NS`, standard input from `stdin`.
    pub fn iptplay(&self, args: &[&str], stdin: &str) -> Output {
        let mut all: Vec<&str> = vec!["kernel"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--netns", &self.0]);
        run_iptplay(&all, stdin)
    }
    pub fn apply(&self, text: &str, extra: &[&str]) -> Output {
        let mut args = vec!["apply"];
        args.extend_from_slice(extra);
        args.push("-");
        self.iptplay(&args, text)
    }
    /// Runs `iptables-nft-restore [ARGS]` with `text`.
    pub fn restore(&self, text: &str, args: &str) {
        let path = std::env::temp_dir().join(format!("{}.rules", self.0));
        std::fs::write(&path, text).expect("write");
        self.ok(&format!("iptables-nft-restore {args} {}", path.display()));
        let _ = std::fs::remove_file(path);
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        // What the fast path of apply kept about the namespace.
        let _ = std::fs::remove_file(format!("/run/iptplay/state-{}", self.0));
    }
}

/// The built `iptplay` with `args`, standard input from `stdin`.
pub fn run_iptplay(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_iptplay"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("iptplay");
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes());
    child.wait_with_output().expect("iptplay output")
}

pub fn strip(s: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.trim_end().to_string() + "\n")
        .collect()
}

pub fn text_of(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A veth pair: `ifa` in namespace `a`, its peer `ifb` in `b`.
pub fn veth(a: &Ns, ifa: &str, b: &Ns, ifb: &str) {
    let ok = Command::new("ip")
        .args(["link", "add", ifa, "netns", &a.0, "type", "veth"])
        .args(["peer", "name", ifb, "netns", &b.0])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "ip link add {ifa} / {ifb}");
}

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Whether the kernel tests can run here (root, namespaces, the tools).
pub fn skip(tools: &[&str]) -> bool {
    if let Err(why) = super::common::can_use_kernel() {
        eprintln!("skipped: {why}");
        return true;
    }
    for tool in tools {
        if !have(tool) {
            eprintln!("skipped: {tool} not installed");
            return true;
        }
    }
    false
}
