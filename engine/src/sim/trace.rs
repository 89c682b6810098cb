//! Traces: every step a packet takes through netfilter, as data the CLI, the
//! web app and the tests render the same way.

use crate::packet::Headers;
use serde::{Deserialize, Serialize};

/// One rule (or policy) a packet met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub host: String,
    pub hook: String,
    pub table: String,
    pub chain: String,
    /// 1-based rule number; `None` for the chain's policy or its end.
    pub rule: Option<usize>,
    pub matched: bool,
    /// The first condition that did not match, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// What happened: `ACCEPT`, `DROP`, `jump KUBE-SERVICES`, `return`, `continue` …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// Headers after a rewrite made by this step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewritten: Option<Headers>,
}

/// Something a packet caused besides its own path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A kernel log line (LOG target).
    Log { host: String, line: String },
    /// A packet the host sent because of this one (REJECT reply, TEE clone, stack answer).
    Emitted {
        host: String,
        what: String,
        headers: Headers,
    },
    /// A conntrack entry was created.
    Conntrack { host: String, entry: String },
    /// Delivered to a local socket or the host's stack.
    Delivered { host: String, to: String },
    /// Left the host on an interface.
    Sent { host: String, iface: String },
    /// Dropped (verdict, no route, TTL...).
    Dropped { host: String, reason: String },
    /// Routing decision.
    Routed { host: String, decision: String },
}

/// The whole story of one packet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// Headers as the packet started.
    pub headers: Option<Headers>,
    pub steps: Vec<Step>,
    pub events: Vec<Event>,
}
