//! Kernel mode (Linux only): the engine's rules applied to the real kernel
//! over nfnetlink, encoded exactly as iptables-nft 1.8.9 encodes them, and
//! the live ruleset read back.
//!
//! Layers, each depending only on the ones above it:
//! - [`nla`]: netlink attribute writer/reader.
//! - [`expr`]: typed nf_tables expressions.
//! - [`msg`]: nfnetlink messages (tables, chains, rules, batches) and the
//!   objects dumps return.
//! - [`sock`]: the socket: requests, dumps, batches with acks, `--netns`.
//! - [`xt`]: the extension interface (how a match or target is encoded and
//!   read back) and its registry; [`xt`]'s submodules hold the first encodings.
//! - [`ipset`]: ipsets over the ipset netlink protocol, read back through
//!   the engine's `ipset restore`.
//! - [`rule`]: a whole rule to expressions and back (fixed part, counter,
//!   verdicts, compat attribute).
//! - [`live`]: the live ruleset: dump, decode to engine tables, report what
//!   cannot be represented.
//! - [`setplan`]: the ipset part of a plan, every change with its undo.
//! - [`fast`]: a small change to a large ruleset applied from the text
//!   alone, when nobody wrote since the last apply.
//! - [`plan`]: diff between live and desired tables, one batch, apply with
//!   generation-id retries.
//! - [`sshcheck`]: the calling SSH session walked through new rules.
//! - [`rollback`]: snapshots before an apply and the way back to them.
//! - [`run`]: iptables and ipset commands run against the kernel.
//! - [`rtnl`] and [`lab`]: a lab's topology as real network namespaces
//!   (veth links, bridges, addresses, routes, sysctls, rules), and a host
//!   read back into the same description.
//! - [`cli`]: `iptplay kernel ...`.

pub mod cli;
pub mod confirm;
pub mod expr;
pub mod fast;
pub mod ipset;
pub mod lab;
pub mod live;
pub mod msg;
pub mod nla;
pub mod plain;
pub mod plan;
pub mod rollback;
pub mod rtnl;
pub mod rule;
pub mod run;
pub mod setplan;
pub mod sock;
pub mod sshcheck;
pub mod xt;

#[cfg(test)]
mod tests;

use std::fmt;

/// What can go wrong talking to the kernel.
#[derive(Debug)]
pub enum Error {
    /// The kernel said EPERM: the process lacks CAP_NET_ADMIN.
    Permission,
    /// A system call failed.
    Io(String, std::io::Error),
    /// `--netns NAME` cannot be entered.
    Netns(String, std::io::Error),
    /// The kernel refused a request or a message of a batch.
    Kernel(KernelRefusal),
    /// The ruleset changed while we planned (ERESTART), too many times.
    Busy(u32),
    /// A message from the kernel could not be read.
    Decode(String),
    /// Something the encoder cannot express yet (named extension, option).
    Unsupported(String),
    /// The plan would have to change something it cannot represent.
    Refused(String),
}

/// One error answer of the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelRefusal {
    /// Positive errno.
    pub errno: i32,
    /// The kernel's extended ack message, if any.
    pub msg: Option<String>,
    /// What we asked (`NEWRULE filter INPUT: -A INPUT ...`).
    pub what: String,
}

impl fmt::Display for KernelRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // ipset's own error numbers (4096 and up) have only its text.
        if let (true, Some(m)) = (self.errno >= 4096, &self.msg) {
            return write!(f, "{}: {m}", self.what);
        }
        let text = std::io::Error::from_raw_os_error(self.errno).to_string();
        // "Invalid argument (os error 22)" -> "Invalid argument".
        let text = text.split(" (os error").next().unwrap_or(&text).to_string();
        write!(f, "{}: {text}", self.what)?;
        if let Some(m) = &self.msg {
            write!(f, " ({m})")?;
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Permission => write!(
                f,
                "kernel mode needs CAP_NET_ADMIN (run as root): Operation not permitted"
            ),
            Error::Io(what, e) => write!(f, "{what}: {e}"),
            Error::Netns(name, e) => write!(f, "cannot enter network namespace {name}: {e}"),
            Error::Kernel(r) => write!(f, "kernel refused {r}"),
            Error::Busy(n) => write!(
                f,
                "the ruleset kept changing while applying ({n} attempts); nothing was changed"
            ),
            Error::Decode(m) => write!(f, "cannot read the kernel's answer: {m}"),
            Error::Unsupported(m) => write!(f, "not supported by kernel mode: {m}"),
            Error::Refused(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
