//! The netfilter state a host keeps: tables, chains, rules, policies and
//! counters, with the kernel's commit-time checks.

use crate::ext::{Match, Target};
use std::net::Ipv4Addr;

pub mod check;
pub mod explain;

/// Netfilter hooks, in the order iptables lists built-in chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hook {
    Prerouting = 0,
    Input = 1,
    Forward = 2,
    Output = 3,
    Postrouting = 4,
}

impl Hook {
    pub const ALL: [Hook; 5] = [
        Hook::Prerouting,
        Hook::Input,
        Hook::Forward,
        Hook::Output,
        Hook::Postrouting,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }
    pub fn from_name(s: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.name() == s)
    }
    pub fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The five iptables tables, in the order `iptables-nft-save` prints them.
pub const TABLE_ORDER: [&str; 5] = ["mangle", "security", "raw", "filter", "nat"];

/// Built-in chains (hooks) of a table, `None` for an unknown table name.
pub fn table_hooks(table: &str) -> Option<&'static [Hook]> {
    use Hook::*;
    Some(match table {
        "filter" | "security" => &[Input, Forward, Output],
        "nat" => &[Prerouting, Input, Output, Postrouting],
        "mangle" => &[Prerouting, Input, Forward, Output, Postrouting],
        "raw" => &[Prerouting, Output],
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

/// Built-in verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    Return,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Accept => "ACCEPT",
            Verdict::Drop => "DROP",
            Verdict::Return => "RETURN",
        }
    }
    pub fn from_name(s: &str) -> Option<Verdict> {
        match s {
            "ACCEPT" => Some(Verdict::Accept),
            "DROP" => Some(Verdict::Drop),
            "RETURN" => Some(Verdict::Return),
            _ => None,
        }
    }
}

/// What a rule does when it matches.
#[derive(Debug, Clone)]
pub enum RuleTarget {
    /// No `-j`: only counts.
    None,
    Verdict(Verdict),
    Jump(String),
    Goto(String),
    Ext(Box<dyn Target>),
}

impl RuleTarget {
    /// Chain this target jumps or goes to.
    pub fn chain(&self) -> Option<&str> {
        match self {
            RuleTarget::Jump(c) | RuleTarget::Goto(c) => Some(c),
            _ => None,
        }
    }
    /// The name shown in the `target` column of `-L`.
    pub fn list_name(&self) -> &str {
        match self {
            RuleTarget::None => "",
            RuleTarget::Verdict(v) => v.name(),
            RuleTarget::Jump(c) | RuleTarget::Goto(c) => c,
            RuleTarget::Ext(t) => t.list_name(),
        }
    }
}

/// An address with its netmask (`-s` / `-d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    pub addr: Ipv4Addr,
    pub mask: u32,
}

impl Net {
    pub const ANY: Net = Net {
        addr: Ipv4Addr::UNSPECIFIED,
        mask: 0,
    };
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        u32::from(a) & self.mask == u32::from(self.addr) & self.mask
    }
}

/// The fixed IPv4 part of a rule (`struct ipt_ip`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpSpec {
    pub src: Net,
    pub src_inv: bool,
    pub dst: Net,
    pub dst_inv: bool,
    /// Interface names; a trailing `+` is a prefix wildcard.
    pub in_iface: String,
    pub in_inv: bool,
    pub out_iface: String,
    pub out_inv: bool,
    /// Protocol number, 0 = any.
    pub proto: u8,
    pub proto_inv: bool,
    /// `-f` given, and whether inverted.
    pub frag: bool,
    pub frag_inv: bool,
}

impl Default for IpSpec {
    fn default() -> Self {
        IpSpec {
            src: Net::ANY,
            src_inv: false,
            dst: Net::ANY,
            dst_inv: false,
            in_iface: String::new(),
            in_inv: false,
            out_iface: String::new(),
            out_inv: false,
            proto: 0,
            proto_inv: false,
            frag: false,
            frag_inv: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub ip: IpSpec,
    pub matches: Vec<Box<dyn Match>>,
    pub target: RuleTarget,
    pub counters: Counters,
}

impl Rule {
    /// The rule as iptables-save prints it after `-A CHAIN`, without counters.
    pub fn spec_text(&self) -> String {
        let mut s = String::new();
        crate::iptables::save::rule_body(self, &mut s);
        s
    }
    /// Whether two rules are the same rule (`-D` / `-C` by specification).
    pub fn same_as(&self, other: &Rule) -> bool {
        self.spec_text() == other.spec_text()
            && self.matches.len() == other.matches.len()
            && self
                .matches
                .iter()
                .zip(&other.matches)
                .all(|(a, b)| a.data_key() == b.data_key())
    }
}

#[derive(Debug, Clone)]
pub struct Chain {
    pub name: String,
    /// `Some` for a built-in (base) chain.
    pub hook: Option<Hook>,
    /// Policy of a built-in chain.
    pub policy: Verdict,
    /// Policy counters of a built-in chain.
    pub counters: Counters,
    pub rules: Vec<Rule>,
    /// A listing placeholder for a built-in chain the kernel does not have
    /// (iptables-nft shows such chains with policy ACCEPT and no rules).
    pub fake: bool,
    /// The kernel's handle: chains created earlier have smaller ones.
    pub handle: u64,
    /// A base chain the kernel keeps policy counters for: made or updated
    /// with counters (`-P`, restore's `:CHAIN` line, `-Z`), not one that a
    /// rule command created on demand (that one lists `[0:0]` forever).
    pub counted: bool,
}

impl Chain {
    /// A built-in chain as the kernel creates it: policy ACCEPT, no rules.
    pub fn builtin(hook: Hook) -> Chain {
        Chain {
            name: hook.name().to_string(),
            hook: Some(hook),
            policy: Verdict::Accept,
            counters: Counters::default(),
            rules: Vec::new(),
            fake: false,
            handle: 0,
            counted: false,
        }
    }
    pub fn user(name: &str) -> Chain {
        Chain {
            name: name.to_string(),
            hook: None,
            policy: Verdict::Accept,
            counters: Counters::default(),
            rules: Vec::new(),
            fake: false,
            handle: 0,
            counted: false,
        }
    }
    pub fn is_builtin(&self) -> bool {
        self.hook.is_some()
    }
}

/// One table as the kernel holds it. Tables and built-in chains exist only
/// once a command created them (iptables-nft creates them on demand).
#[derive(Debug, Clone)]
pub struct Table {
    pub name: &'static str,
    /// Whether the table exists in the kernel (iptables-save prints only those).
    pub exists: bool,
    /// Built-in chains in hook order, then user chains sorted by name (byte order).
    pub chains: Vec<Chain>,
    /// The next chain handle.
    pub next_handle: u64,
}

impl Table {
    /// A table that does not exist yet (no chains).
    pub fn new(name: &'static str) -> Table {
        Table {
            name,
            exists: false,
            chains: Vec::new(),
            next_handle: 1,
        }
    }
    /// Built-in chain names of this table.
    pub fn hooks(&self) -> &'static [Hook] {
        table_hooks(self.name).unwrap_or(&[])
    }
    /// The hook of a built-in chain name of this table.
    pub fn builtin_hook(&self, name: &str) -> Option<Hook> {
        self.hooks().iter().copied().find(|h| h.name() == name)
    }
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }
    pub fn chain_mut(&mut self, name: &str) -> Option<&mut Chain> {
        self.chains.iter_mut().find(|c| c.name == name)
    }
    pub fn chain_index(&self, name: &str) -> Option<usize> {
        self.chains.iter().position(|c| c.name == name)
    }
    /// Where a chain belongs in [`Table::chains`].
    fn insert_pos(&self, chain: &Chain) -> usize {
        match chain.hook {
            Some(h) => self
                .chains
                .iter()
                .position(|c| c.hook.is_none_or_after(h))
                .unwrap_or(self.chains.len()),
            None => self
                .chains
                .iter()
                .position(|c| c.hook.is_none() && c.name.as_str() > chain.name.as_str())
                .unwrap_or(self.chains.len()),
        }
    }
    /// Adds a chain at its place (built-ins in hook order, user chains by name).
    pub fn add_chain(&mut self, mut chain: Chain) -> usize {
        chain.handle = self.next_handle;
        self.next_handle += 1;
        let pos = self.insert_pos(&chain);
        self.chains.insert(pos, chain);
        pos
    }
    /// Adds an empty user chain.
    pub fn add_user_chain(&mut self, name: &str) {
        self.add_chain(Chain::user(name));
    }
    /// Number of rules that jump or go to `name` (a chain's use count).
    pub fn references(&self, name: &str) -> usize {
        self.chains
            .iter()
            .flat_map(|c| c.rules.iter())
            .filter(|r| r.target.chain() == Some(name))
            .count()
    }
    /// Every built-in chain (the kernel's or a placeholder) then the user
    /// chains: what `iptables -L`, `-S` and iptables-save show.
    pub fn listing(&self) -> Vec<Chain> {
        let mut out: Vec<Chain> = Vec::new();
        for h in self.hooks() {
            match self.chains.iter().find(|c| c.hook == Some(*h)) {
                Some(c) => out.push(c.clone()),
                None => {
                    let mut c = Chain::builtin(*h);
                    c.fake = true;
                    out.push(c);
                }
            }
        }
        out.extend(self.chains.iter().filter(|c| c.hook.is_none()).cloned());
        out
    }
}

/// Ordering helper for built-in chain placement.
trait HookOrder {
    fn is_none_or_after(&self, h: Hook) -> bool;
}

impl HookOrder for Option<Hook> {
    fn is_none_or_after(&self, h: Hook) -> bool {
        match self {
            None => true,
            Some(x) => *x > h,
        }
    }
}

/// All tables of one host.
#[derive(Debug, Clone)]
pub struct Ruleset {
    /// In [`TABLE_ORDER`].
    pub tables: Vec<Table>,
}

impl Default for Ruleset {
    fn default() -> Self {
        Ruleset {
            tables: TABLE_ORDER.iter().map(|t| Table::new(t)).collect(),
        }
    }
}

impl Ruleset {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
    pub fn table_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.tables.iter_mut().find(|t| t.name == name)
    }
}
