//! Waiting for a confirmation after `apply --confirm`: a key pressed on
//! the terminal, or `iptplay kernel confirm` from another shell (through a
//! file under `/run/iptplay`), before the deadline. A hangup (the SSH
//! session cut), Ctrl-C or a termination counts as "not confirmed".

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// Where pending confirmations live.
pub const DIR: &str = "/run/iptplay";

/// The file of the apply waiting in namespace `netns` (or the host's).
pub fn pending_path(netns: Option<&str>) -> PathBuf {
    PathBuf::from(DIR).join(format!("confirm-{}", netns.unwrap_or("host")))
}

/// `30s`, `2m`, `90` (seconds): the confirmation window.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let (num, mult) = match s.strip_suffix("ms") {
        Some(n) => (n, 1),
        None => match s.strip_suffix('s') {
            Some(n) => (n, 1000),
            None => match s.strip_suffix('m') {
                Some(n) => (n, 60_000),
                None => (s, 1000),
            },
        },
    };
    let n: u64 = num.parse().ok()?;
    if n == 0 {
        return None;
    }
    Some(Duration::from_millis(n.checked_mul(mult)?))
}

/// How the wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Confirmed,
    /// The deadline passed.
    TimedOut,
    /// A signal (hangup, interrupt, termination) came first.
    Signal(i32),
}

static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    SIGNAL.store(sig, Ordering::SeqCst);
}

/// Catches SIGHUP, SIGINT and SIGTERM (and ignores SIGPIPE: a closed
/// terminal must not kill us before the rollback).
fn catch_signals() {
    for sig in [libc::SIGHUP, libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installs an async-signal-safe handler (one atomic store).
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
    // SAFETY: ignoring SIGPIPE is always sound.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// The terminal put in non-canonical mode (a key is read without Enter),
/// restored on drop.
struct RawTty {
    saved: libc::termios,
}

impl RawTty {
    fn new() -> Option<RawTty> {
        // SAFETY: isatty/tcgetattr/tcsetattr on fd 0 with a valid termios.
        unsafe {
            if libc::isatty(0) != 1 {
                return None;
            }
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return None;
            }
            let saved = t;
            t.c_lflag &= !(libc::ICANON | libc::ECHO);
            t.c_cc[libc::VMIN] = 1;
            t.c_cc[libc::VTIME] = 0;
            libc::tcsetattr(0, libc::TCSANOW, &t);
            Some(RawTty { saved })
        }
    }
}

impl Drop for RawTty {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `new`.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.saved);
        }
    }
}

/// Whether a byte waits on standard input (consumed); `None` at its end.
fn key_pressed(wait_ms: i32) -> Option<bool> {
    let mut p = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll on one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, wait_ms) };
    if n <= 0 {
        return Some(false);
    }
    if p.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
        && p.revents & libc::POLLIN == 0
    {
        return None;
    }
    let mut b = [0u8; 1];
    // SAFETY: reads one byte into a valid buffer.
    let r = unsafe { libc::read(0, b.as_mut_ptr() as *mut libc::c_void, 1) };
    if r <= 0 {
        None
    } else {
        Some(true)
    }
}

/// The pending file while an apply waits; removed on drop.
pub struct Pending {
    path: PathBuf,
}

impl Pending {
    /// Announces a wait; fails when another apply already waits there.
    pub fn new(netns: Option<&str>, window: Duration) -> std::io::Result<Pending> {
        std::fs::create_dir_all(DIR)?;
        let path = pending_path(netns);
        if let Ok(text) = std::fs::read_to_string(&path) {
            let pid: i32 = text
                .lines()
                .next()
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            // SAFETY: kill with signal 0 only checks that the process exists.
            if pid > 0 && unsafe { libc::kill(pid, 0) } == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!("another apply (pid {pid}) is waiting for its confirmation"),
                ));
            }
        }
        let mut f = std::fs::File::create(&path)?;
        writeln!(f, "{}\n{}", std::process::id(), window.as_secs())?;
        Ok(Pending { path })
    }

    fn confirmed(&self) -> bool {
        std::fs::read_to_string(&self.path)
            .map(|t| t.lines().any(|l| l == "confirmed"))
            .unwrap_or(false)
    }

    /// Waits for a key (when standard input is a terminal or a pipe), a
    /// confirmation from another shell, the deadline or a signal.
    pub fn wait(&self, window: Duration) -> Outcome {
        catch_signals();
        let _raw = RawTty::new();
        let deadline = Instant::now() + window;
        let mut stdin_open = true;
        loop {
            let sig = SIGNAL.load(Ordering::SeqCst);
            if sig != 0 {
                return Outcome::Signal(sig);
            }
            if self.confirmed() {
                return Outcome::Confirmed;
            }
            let now = Instant::now();
            if now >= deadline {
                return Outcome::TimedOut;
            }
            let step = (deadline - now).min(Duration::from_millis(100));
            if stdin_open {
                match key_pressed(step.as_millis() as i32) {
                    Some(true) => return Outcome::Confirmed,
                    Some(false) => {}
                    None => stdin_open = false,
                }
            } else {
                std::thread::sleep(step);
            }
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `iptplay kernel confirm`: marks the waiting apply confirmed and waits
/// (briefly) for it to take the confirmation. `Err` says why not.
pub fn confirm(netns: Option<&str>) -> Result<(), String> {
    let path = pending_path(netns);
    let text = std::fs::read_to_string(&path)
        .map_err(|_| "no apply is waiting for a confirmation".to_string())?;
    let pid: i32 = text
        .lines()
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    // SAFETY: kill with signal 0 only checks that the process exists.
    if pid <= 0 || unsafe { libc::kill(pid, 0) } != 0 {
        let _ = std::fs::remove_file(&path);
        return Err("no apply is waiting for a confirmation".to_string());
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    writeln!(f, "confirmed").map_err(|e| format!("{}: {e}", path.display()))?;
    let until = Instant::now() + Duration::from_secs(3);
    while path.exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    if path.exists() {
        return Err(format!("apply (pid {pid}) did not take the confirmation"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("0"), None);
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_duration("-3s"), None);
    }
}
