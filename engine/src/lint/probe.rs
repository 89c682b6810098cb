//! A packet described by what is known of it (some fields may be unknown),
//! walked through a chain without running anything: each rule matches it
//! for sure, surely not, or maybe, and the walk collects every verdict the
//! packet might get. The SSH, ESTABLISHED and DNAT checks ask it questions.

use crate::ext::conntrack::{Conntrack, ST_DNAT, ST_SNAT};
use crate::ext::iprange::Iprange;
use crate::ext::multiport::{Multiport, Which};
use crate::ext::state::State;
use crate::ext::tcp::{NativeTest, Tcp};
use crate::ext::udp::Udp;
use crate::ext::Match;
use crate::ruleset::{Net, Rule, RuleTarget, Table, Verdict};
use std::net::Ipv4Addr;

/// Whether a rule matches: for sure, surely not, or it depends on what is
/// not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    Yes,
    No,
    Maybe,
}

impl Tri {
    pub fn of(b: bool) -> Tri {
        if b {
            Tri::Yes
        } else {
            Tri::No
        }
    }
    pub fn and(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Yes, Tri::Yes) => Tri::Yes,
            _ => Tri::Maybe,
        }
    }
    /// Flipped when `inv`.
    pub fn inv(self, inv: bool) -> Tri {
        match (self, inv) {
            (Tri::Yes, true) => Tri::No,
            (Tri::No, true) => Tri::Yes,
            (t, _) => t,
        }
    }
}

/// What is known of an interface the packet uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Iface {
    /// This name; the empty name when the hook has no such interface
    /// (no output interface on INPUT).
    Known(String),
    /// Some interface, not the loopback one.
    NotLoopback,
    Unknown,
}

/// A packet with its known fields.
#[derive(Debug, Clone)]
pub struct Probe {
    pub src: Option<Ipv4Addr>,
    pub dst: Option<Ipv4Addr>,
    /// Protocol number, `None` when unknown.
    pub proto: Option<u8>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub tcp_flags: Option<u8>,
    /// One conntrack state bit, `None` when unknown.
    pub state: Option<u16>,
    pub in_iface: Iface,
    pub out_iface: Iface,
}

impl Probe {
    /// A packet of which nothing is known.
    pub fn unknown() -> Probe {
        Probe {
            src: None,
            dst: None,
            proto: None,
            sport: None,
            dport: None,
            tcp_flags: None,
            state: None,
            in_iface: Iface::Unknown,
            out_iface: Iface::Unknown,
        }
    }
}

fn net_tri(n: Net, inv: bool, a: Option<Ipv4Addr>) -> Tri {
    if n.mask == 0 {
        return Tri::of(!inv);
    }
    match a {
        Some(a) => Tri::of(n.contains(a) != inv),
        None => Tri::Maybe,
    }
}

fn iface_tri(pattern: &str, inv: bool, i: &Iface) -> Tri {
    if pattern.is_empty() {
        return Tri::Yes;
    }
    let hit = |name: &str| match pattern.strip_suffix('+') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    };
    let t = match i {
        Iface::Known(name) => Tri::of(hit(name)),
        Iface::NotLoopback if pattern == "lo" => Tri::No,
        _ => Tri::Maybe,
    };
    t.inv(inv)
}

fn port_tri(range: (u16, u16), inv: bool, p: Option<u16>) -> Tri {
    if range == (0, u16::MAX) && !inv {
        return Tri::Yes;
    }
    match p {
        Some(p) => Tri::of((range.0 <= p && p <= range.1) != inv),
        None => Tri::Maybe,
    }
}

fn state_tri(mask: u16, inv: bool, s: Option<u16>) -> Tri {
    if mask & (ST_SNAT | ST_DNAT) != 0 {
        return Tri::Maybe;
    }
    match s {
        Some(s) => Tri::of((mask & s != 0) != inv),
        None => Tri::Maybe,
    }
}

fn has_inverted_pair(tests: &[NativeTest]) -> bool {
    tests
        .iter()
        .any(|t| matches!(t, NativeTest::Pair(_, _, true)))
}

/// Whether a match matches the probe.
pub fn match_tri(m: &dyn Match, p: &Probe) -> Tri {
    let any = m.as_any();
    if m.info().name == "comment" {
        return Tri::Yes;
    }
    if let Some(t) = any.downcast_ref::<Tcp>() {
        if p.proto != Some(6) || t.option != 0 || has_inverted_pair(&t.tests) {
            return Tri::Maybe;
        }
        let flags = if t.flg_mask == 0 {
            Tri::Yes
        } else {
            match p.tcp_flags {
                Some(f) => Tri::of(((f & t.flg_mask) == t.flg_cmp) != t.flags_inv),
                None => Tri::Maybe,
            }
        };
        return port_tri(t.sport, t.sport_inv, p.sport)
            .and(port_tri(t.dport, t.dport_inv, p.dport))
            .and(flags);
    }
    if let Some(u) = any.downcast_ref::<Udp>() {
        if p.proto != Some(17) || has_inverted_pair(&u.tests) {
            return Tri::Maybe;
        }
        return port_tri(u.sport, u.sport_inv, p.sport).and(port_tri(
            u.dport,
            u.dport_inv,
            p.dport,
        ));
    }
    if let Some(mp) = any.downcast_ref::<Multiport>() {
        let within = |port: Option<u16>| -> Option<bool> {
            let port = port?;
            Some(
                mp.ports
                    .iter()
                    .any(|(lo, hi)| *lo <= port && port <= hi.unwrap_or(*lo)),
            )
        };
        let hit = match mp.which {
            Which::Source => within(p.sport),
            Which::Destination => within(p.dport),
            Which::Either => match (within(p.sport), within(p.dport)) {
                (Some(a), Some(b)) => Some(a || b),
                (Some(true), None) | (None, Some(true)) => Some(true),
                _ => None,
            },
        };
        return match hit {
            Some(h) => Tri::of(h != mp.inv),
            None => Tri::Maybe,
        };
    }
    if let Some(s) = any.downcast_ref::<State>() {
        return state_tri(s.mask, s.inv, p.state);
    }
    if let Some(c) = any.downcast_ref::<Conntrack>() {
        let only_state = Conntrack {
            state: c.state,
            ..Conntrack::default()
        };
        return match c.state {
            Some((mask, inv)) if *c == only_state => state_tri(mask, inv, p.state),
            Some((mask, inv)) => state_tri(mask, inv, p.state).and(Tri::Maybe),
            None => Tri::Maybe,
        };
    }
    if let Some(r) = any.downcast_ref::<Iprange>() {
        let side =
            |range: &Option<crate::ext::iprange::Range>, a: Option<Ipv4Addr>| match (range, a) {
                (None, _) => Tri::Yes,
                (Some(r), Some(a)) => Tri::of((r.min <= a && a <= r.max) != r.inv),
                (Some(_), None) => Tri::Maybe,
            };
        return side(&r.src, p.src).and(side(&r.dst, p.dst));
    }
    Tri::Maybe
}

/// Whether a rule matches the probe.
pub fn rule_tri(rule: &Rule, p: &Probe) -> Tri {
    let ip = &rule.ip;
    let proto = if ip.proto == 0 {
        Tri::of(!ip.proto_inv)
    } else {
        match p.proto {
            Some(x) => Tri::of((x == ip.proto) != ip.proto_inv),
            None => Tri::Maybe,
        }
    };
    // The probe is never a later fragment.
    let frag = Tri::of(!ip.frag || ip.frag_inv);
    let mut t = proto
        .and(frag)
        .and(net_tri(ip.src, ip.src_inv, p.src))
        .and(net_tri(ip.dst, ip.dst_inv, p.dst))
        .and(iface_tri(&ip.in_iface, ip.in_inv, &p.in_iface))
        .and(iface_tri(&ip.out_iface, ip.out_inv, &p.out_iface));
    for m in &rule.matches {
        if t == Tri::No {
            break;
        }
        t = t.and(match_tri(m.as_ref(), p));
    }
    t
}

/// Whether the rule names the probe's conntrack state explicitly and that
/// state surely matches (`-m state --state ESTABLISHED,RELATED`).
fn names_state(rule: &Rule, p: &Probe) -> bool {
    rule.matches.iter().any(|m| {
        let any = m.as_any();
        let st = if let Some(s) = any.downcast_ref::<State>() {
            Some((s.mask, s.inv))
        } else {
            any.downcast_ref::<Conntrack>().and_then(|c| c.state)
        };
        st.is_some_and(|(mask, inv)| state_tri(mask, inv, p.state) == Tri::Yes)
    })
}

/// Targets that let the packet go on to the next rule.
const GOES_ON: &[&str] = &[
    "LOG",
    "NFLOG",
    "ULOG",
    "MARK",
    "CONNMARK",
    "SET",
    "TEE",
    "AUDIT",
    "CLASSIFY",
    "DSCP",
    "TOS",
    "TTL",
    "ECN",
    "TCPMSS",
    "CT",
    "NOTRACK",
    "TRACE",
    "CHECKSUM",
    "CONNSECMARK",
    "SECMARK",
    "IDLETIMER",
    "LED",
    "RATEEST",
    "HMARK",
    "TCPOPTSTRIP",
];

/// What a target does to the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Accept,
    Drop,
    Reject,
    Return,
    GoOn,
    Jump(String),
    Goto(String),
    /// Anything else (NAT, queues...): the verdict is not known here.
    Other,
}

pub fn effect(t: &RuleTarget) -> Effect {
    match t {
        RuleTarget::None => Effect::GoOn,
        RuleTarget::Verdict(Verdict::Accept) => Effect::Accept,
        RuleTarget::Verdict(Verdict::Drop) => Effect::Drop,
        RuleTarget::Verdict(Verdict::Return) => Effect::Return,
        RuleTarget::Jump(c) => Effect::Jump(c.clone()),
        RuleTarget::Goto(c) => Effect::Goto(c.clone()),
        RuleTarget::Ext(x) => match x.save_name() {
            "REJECT" => Effect::Reject,
            n if GOES_ON.contains(&n) => Effect::GoOn,
            _ => Effect::Other,
        },
    }
}

/// Where a verdict comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub chain: String,
    /// 1-based rule number, `None` for the policy.
    pub rule: Option<usize>,
    /// The rule's text, or `policy DROP`.
    pub text: String,
    /// REJECT rather than DROP.
    pub rejected: bool,
    /// The rule (or a rule that jumped here) names the probe's state.
    pub names_state: bool,
    /// The rule matches every such packet and sits in the base chain
    /// itself (or is the policy): the chain's default verdict.
    pub default: bool,
}

impl Cause {
    /// `INPUT rule 3 (-p tcp --dport 22 -j DROP)` or `the INPUT policy DROP`.
    pub fn words(&self) -> String {
        match self.rule {
            Some(n) => format!("{} rule {n} ({})", self.chain, self.text),
            None => format!("the {} {}", self.chain, self.text),
        }
    }
}

/// Every verdict the probe may get in a built-in chain.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub accepts: Vec<Cause>,
    pub drops: Vec<Cause>,
    /// Some path ends in a verdict not known here.
    pub unknown: bool,
}

impl Outcome {
    /// Surely dropped or rejected.
    pub fn surely_dropped(&self) -> bool {
        self.accepts.is_empty() && !self.unknown && !self.drops.is_empty()
    }
}

const MAX_DEPTH: usize = 32;

/// Rules one walk may look at: chains jumped to from many places are walked
/// once per jump, and a rule set made to multiply that must not hang the
/// linter (past the budget the verdict is unknown).
const MAX_STEPS: usize = 200_000;

struct Walk<'a> {
    table: &'a Table,
    probe: &'a Probe,
    out: Outcome,
    steps: usize,
}

impl Walk<'_> {
    /// Walks a chain; true when some path leaves it without a verdict.
    fn chain(&mut self, name: &str, depth: usize, named: bool) -> bool {
        let Some(chain) = self.table.chain(name) else {
            self.out.unknown = true;
            return false;
        };
        if depth > MAX_DEPTH {
            self.out.unknown = true;
            return false;
        }
        let mut falls = false;
        for (i, rule) in chain.rules.iter().enumerate() {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                self.out.unknown = true;
                return false;
            }
            let t = rule_tri(rule, self.probe);
            if t == Tri::No {
                continue;
            }
            let sure = t == Tri::Yes;
            let named = named || names_state(rule, self.probe);
            let cause = |rejected: bool| Cause {
                chain: name.to_string(),
                rule: Some(i + 1),
                text: super::rule_text(rule),
                rejected,
                names_state: named,
                default: sure && depth == 0,
            };
            match effect(&rule.target) {
                Effect::GoOn => {}
                Effect::Accept => {
                    self.out.accepts.push(cause(false));
                    if sure {
                        return falls;
                    }
                }
                Effect::Drop | Effect::Reject => {
                    let rejected = effect(&rule.target) == Effect::Reject;
                    self.out.drops.push(cause(rejected));
                    if sure {
                        return falls;
                    }
                }
                Effect::Return => {
                    falls = true;
                    if sure {
                        return true;
                    }
                }
                Effect::Jump(c) => {
                    let back = self.chain(&c, depth + 1, named);
                    if sure && !back {
                        return falls;
                    }
                }
                Effect::Goto(c) => {
                    falls |= self.chain(&c, depth + 1, named);
                    if sure {
                        return falls;
                    }
                }
                Effect::Other => {
                    self.out.unknown = true;
                    if sure {
                        return falls;
                    }
                }
            }
        }
        true
    }
}

/// Every verdict the probe may get in built-in chain `chain` of `table`
/// (its rules, the chains they jump to, and the policy). A chain that does
/// not exist accepts.
pub fn walk(table: &Table, chain: &str, probe: &Probe) -> Outcome {
    let Some(c) = table.chain(chain) else {
        return Outcome {
            accepts: vec![Cause {
                chain: chain.to_string(),
                rule: None,
                text: "policy ACCEPT".into(),
                rejected: false,
                names_state: false,
                default: true,
            }],
            ..Outcome::default()
        };
    };
    let mut w = Walk {
        table,
        probe,
        out: Outcome::default(),
        steps: 0,
    };
    if w.chain(chain, 0, false) {
        let cause = Cause {
            chain: chain.to_string(),
            rule: None,
            text: format!("policy {}", c.policy.name()),
            rejected: false,
            names_state: false,
            default: true,
        };
        match c.policy {
            Verdict::Drop => w.out.drops.push(cause),
            _ => w.out.accepts.push(cause),
        }
    }
    w.out
}
