//! ipset: set types, the `ipset` command, save/restore and lookups.

pub mod cmd;

use crate::ext::SetRef;

/// All ipsets of one host.
#[derive(Debug, Clone, Default)]
pub struct Store {
    pub sets: Vec<IpSet>,
}

/// One set (placeholder shape; the set types live in this module).
#[derive(Debug, Clone)]
pub struct IpSet {
    pub name: String,
    pub type_name: String,
    /// Rules referencing this set (`-m set`, `-j SET`).
    pub references: usize,
}

impl Store {
    /// What `-m set` learns about a set, `None` if it does not exist.
    pub fn set_ref(&self, name: &str) -> Option<SetRef> {
        self.sets.iter().find(|s| s.name == name).map(|s| SetRef {
            name: s.name.clone(),
            dimensions: s.type_name.matches(',').count() as u8 + 1,
        })
    }
}
