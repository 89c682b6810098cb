//! One simulated host: its netfilter state, objects and files.

use crate::ruleset::Ruleset;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Default)]
pub struct Host {
    pub name: String,
    pub ruleset: Ruleset,
    pub ipsets: crate::ipset::Store,
    pub nfacct: crate::nfacct::Store,
    /// Host names the host can resolve (`/etc/hosts` and the lab's name table).
    pub names: BTreeMap<String, Vec<Ipv4Addr>>,
    /// Files written by commands (`iptables-save > f`).
    pub files: BTreeMap<String, String>,
    /// The host clock, seconds since the Unix epoch (UTC).
    pub clock_secs: u64,
}

impl Host {
    pub fn new(name: &str) -> Host {
        let mut names = BTreeMap::new();
        names.insert("localhost".to_string(), vec![Ipv4Addr::LOCALHOST]);
        Host {
            name: name.to_string(),
            names,
            clock_secs: wall_clock(),
            ..Default::default()
        }
    }

    pub fn resolve(&self, name: &str) -> Vec<Ipv4Addr> {
        self.names.get(name).cloned().unwrap_or_default()
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn wall_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(target_arch = "wasm32")]
fn wall_clock() -> u64 {
    0
}
