//! Extension framework: option tables, the registry, and the traits that every
//! match and target file implements (one file per iptables extension).

pub use crate::sim::eval::{EvalCx, TargetVerdict};
use std::any::Any;
use std::fmt::Debug;

pub mod xtopt;

// Extension files by group; each helper edits only its own group's lines.

// [group: core]
pub mod comment;
pub mod tcp;
// [end: core]

// [group: ports]
pub mod addrtype;
pub mod ah;
pub mod dccp;
pub mod esp;
pub mod icmp;
pub mod ipcomp;
pub mod iprange;
pub mod length;
pub mod mac;
pub mod multiport;
pub mod pkttype;
pub mod sctp;
pub mod ttl;
pub mod udp;
// [end: ports]

// [group: conntrack]
pub mod bpf;
pub mod cgroup;
pub mod cluster;
pub mod connbytes;
pub mod connlabel;
pub mod connlimit;
pub mod connmark;
pub mod conntrack;
pub mod cpu;
pub mod helper;
pub mod ipvs;
pub mod mark;
pub mod nfacct;
pub mod osf;
pub mod owner;
pub mod physdev;
pub mod policy;
pub mod quota;
pub mod realm;
pub mod rpfilter;
pub mod socket;
pub mod state;
pub mod statistic;
pub mod time;
pub mod u32;
// [end: conntrack]

// [group: packet]
pub mod checksum;
pub mod classify;
pub mod dscp;
pub mod dscp_target;
pub mod ecn;
pub mod ecn_target;
pub mod hashlimit;
pub mod hmark;
pub mod limit;
pub mod rateest;
pub mod rateest_target;
pub mod recent;
pub mod string;
pub mod tcpmss;
pub mod tcpmss_target;
pub mod tcpoptstrip;
pub mod tos;
pub mod tos_target;
pub mod ttl_target;
// [end: packet]

// [group: targets]
pub mod audit;
pub mod connmark_target;
pub mod connsecmark;
pub mod ct;
pub mod dnat;
pub mod idletimer;
pub mod led;
pub mod log;
pub mod mark_target;
pub mod masquerade;
pub mod netmap;
pub mod nflog;
pub mod nfqueue;
pub mod notrack;
pub mod queue;
pub mod redirect;
pub mod reject;
pub mod secmark;
pub mod snat;
pub mod synproxy;
#[cfg(test)]
pub(crate) mod targets_testkit;
pub mod tee;
pub mod tproxy;
pub mod trace;
// [end: targets]

// [group: ipset]
pub mod set;
pub mod set_target;
// [end: ipset]

/// Whether a long option takes an argument (getopt's `has_arg`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HasArg {
    No,
    Required,
    Optional,
}

/// One long option of an extension, as libxtables' `xt_option_entry` declares it.
#[derive(Debug, Clone, Copy)]
pub struct OptSpec {
    pub name: &'static str,
    /// Options sharing an id are aliases (`--dport` / `--destination-port`).
    pub id: u8,
    pub has_arg: HasArg,
    /// May be preceded by `!`.
    pub invert: bool,
    /// Must be given (checked after parsing).
    pub mandatory: bool,
    /// May be given more than once.
    pub multi: bool,
    /// Bitmask of option ids that may not be combined with this one.
    pub excl: u64,
    /// Bitmask of option ids that this one requires.
    pub also: u64,
}

impl OptSpec {
    pub const fn new(name: &'static str, id: u8, has_arg: HasArg) -> Self {
        OptSpec {
            name,
            id,
            has_arg,
            invert: false,
            mandatory: false,
            multi: false,
            excl: 0,
            also: 0,
        }
    }
    /// Option that takes a value.
    pub const fn arg(name: &'static str, id: u8) -> Self {
        Self::new(name, id, HasArg::Required)
    }
    /// Option without a value.
    pub const fn flag(name: &'static str, id: u8) -> Self {
        Self::new(name, id, HasArg::No)
    }
    pub const fn inv(mut self) -> Self {
        self.invert = true;
        self
    }
    pub const fn mand(mut self) -> Self {
        self.mandatory = true;
        self
    }
    pub const fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
    pub const fn excl(mut self, ids: u64) -> Self {
        self.excl = ids;
        self
    }
    pub const fn also(mut self, ids: u64) -> Self {
        self.also = ids;
        self
    }
}

/// Bit of an option id, for `excl` / `also` masks.
pub const fn bit(id: u8) -> u64 {
    1u64 << id
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExtKind {
    Match,
    Target,
}

/// Static description of one extension.
pub struct ExtInfo {
    /// Name as given to `-m` / `-j` and as printed by iptables-save.
    pub name: &'static str,
    /// Other names that load this extension (`-m state` stays `state`; `-j NOTRACK` …).
    pub aliases: &'static [&'static str],
    pub kind: ExtKind,
    pub options: &'static [OptSpec],
    /// libxtables' guided option checks apply (once, invert, mandatory, excl, also).
    pub guided: bool,
    /// `iptables -m NAME --help` / `-j NAME --help` text.
    pub help: &'static str,
    pub new_match: Option<fn() -> Box<dyn Match>>,
    pub new_target: Option<fn() -> Box<dyn Target>>,
}

/// What an extension may look at while parsing: the rest of the rule and the host's objects.
pub struct ParseCx<'a> {
    pub table: &'a str,
    /// `-p` protocol number (0 = any) and whether it was inverted.
    pub proto: u8,
    pub proto_invert: bool,
    /// Names of ipsets on the host (for `-m set` / `-j SET`).
    pub sets: &'a dyn Fn(&str) -> Option<SetRef>,
    /// Whether an nfacct object exists.
    pub nfacct: &'a dyn Fn(&str) -> bool,
    /// Warnings printed on stderr even when the command succeeds.
    pub warnings: Vec<String>,
    /// The words after the current option's argument, for options that take
    /// more than one (`--tcp-flags MASK COMP`, `--match-set NAME FLAGS`).
    pub rest: &'a [String],
    /// How many words of `rest` the extension consumed.
    pub consumed: usize,
}

impl ParseCx<'_> {
    /// Takes the next word if it is not an option (`iptables`' `argv[optind]` checks).
    pub fn take_word(&mut self) -> Option<String> {
        let w = self.rest.get(self.consumed)?;
        if w.starts_with('-') || w.starts_with('!') {
            return None;
        }
        self.consumed += 1;
        Some(w.clone())
    }
}

/// What `-m set` learns about a set when the rule is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetRef {
    pub name: String,
    /// Number of dimensions of the set type (hash:ip,port has 2).
    pub dimensions: u8,
    /// The set holds IPv6 members (not usable from iptables).
    pub inet6: bool,
}

/// What the kernel's checkentry sees when a rule is committed.
pub struct CheckCx<'a> {
    pub table: &'a str,
    /// Hooks that can reach the chain (bit per [`crate::ruleset::Hook`]).
    pub hooks: u8,
    pub proto: u8,
    pub proto_invert: bool,
    /// Hook of the rule's own chain if it is a built-in chain. nf_tables
    /// runs xt checkentry with only this hook (none for user chains); hook
    /// tests made inside checkentry (not by registration) see only it.
    pub chain_hook: Option<crate::ruleset::Hook>,
    /// Rate estimators that exist (made by `-j RATEEST` rules in any table).
    pub estimators: &'a [Estimator],
}

/// A rate estimator the kernel keeps by name (`-j RATEEST`, read by `-m rateest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimator {
    pub name: String,
    /// Measurement interval: 2^(interval+2)/4 seconds.
    pub interval: i8,
    /// Averaging time constant: interval * 2^ewma_log.
    pub ewma_log: u8,
}

/// A parse error, printed as `iptables v1.8.9 (nf_tables): MSG` and the `Try` line, exit 2.
/// A message ending in `\n` leaves an empty line before the `Try` line, as libxtables does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XtError {
    pub msg: String,
    /// Printed without the `iptables v1.8.9 (nf_tables): ` prefix (`Bad argument ...`).
    pub bare: bool,
    pub exit: i32,
}

impl XtError {
    pub fn new(msg: impl Into<String>) -> Self {
        XtError {
            msg: msg.into(),
            bare: false,
            exit: 2,
        }
    }
    pub fn bare(msg: impl Into<String>) -> Self {
        XtError {
            msg: msg.into(),
            bare: true,
            exit: 2,
        }
    }
    /// Only the `Try` line (iptables' `exit_tryhelp`).
    pub fn bare_try() -> Self {
        XtError::bare("")
    }
    /// An error that exits with 1 and no `Try` line (`OTHER_PROBLEM`).
    pub fn other(msg: impl Into<String>) -> Self {
        XtError {
            msg: msg.into(),
            bare: false,
            exit: 1,
        }
    }
}

pub type XtResult<T = ()> = Result<T, XtError>;

/// The kernel refused a rule: printed as
/// `iptables v1.8.9 (nf_tables):  RULE_APPEND failed (STRERROR): rule in chain CHAIN`, exit 4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelError {
    /// EINVAL.
    Invalid,
    /// ENOENT.
    NoEntry,
    /// ERANGE.
    Range,
    /// EOPNOTSUPP.
    NotSupported,
    /// ELOOP.
    Loop,
    /// EMLINK: nf_tables' answer to a jump loop or jumps nested too deep.
    TooManyLinks,
    /// EEXIST.
    Exists,
    /// ENOSPC.
    NoSpace,
    /// EBUSY.
    Busy,
}

impl KernelError {
    pub fn strerror(&self) -> &'static str {
        match self {
            KernelError::Invalid => "Invalid argument",
            KernelError::NoEntry => "No such file or directory",
            KernelError::Range => "Numerical result out of range",
            KernelError::NotSupported => "Operation not supported",
            KernelError::Loop => "Too many levels of symbolic links",
            KernelError::TooManyLinks => "Too many links",
            KernelError::Exists => "File exists",
            KernelError::NoSpace => "No space left on device",
            KernelError::Busy => "Device or resource busy",
        }
    }
}

/// A match extension instance (`-m NAME ...`).
pub trait Match: Send + Sync + Any {
    fn info(&self) -> &'static ExtInfo;
    /// Whether a rule with this extension makes the kernel track
    /// connections (its check takes a conntrack reference:
    /// `nf_ct_netns_get`); until one does, a namespace tracks nothing.
    fn needs_conntrack(&self) -> bool {
        false
    }
    /// One option of this extension. `id` is the [`OptSpec::id`] that getopt found.
    fn parse(&mut self, id: u8, arg: Option<&str>, invert: bool, cx: &mut ParseCx) -> XtResult;
    /// After all options: `seen` has a bit per option id given.
    fn final_check(&mut self, _seen: u64, _cx: &mut ParseCx) -> XtResult {
        Ok(())
    }
    /// The kernel's checkentry at commit time.
    fn check(&self, _cx: &CheckCx) -> Result<(), KernelError> {
        Ok(())
    }
    /// The rule's round trip through nf_tables, after all final checks. Most
    /// matches travel as `xt` blobs and come back as they went: return
    /// `Ok(true)` and the match is appended to `rule` unchanged. The few that
    /// iptables-nft turns into native expressions (tcp, udp, ...) are rebuilt
    /// from those when read back: such a match pushes (or merges into an
    /// earlier match of `rule`) what comes back, possibly nothing, and
    /// returns `Ok(false)`. Errors of the translation are parse errors.
    fn nft_readback(&self, _cx: &mut ParseCx, _rule: &mut Vec<Box<dyn Match>>) -> XtResult<bool> {
        Ok(true)
    }
    /// iptables-save text after `-m NAME`, each option with a leading space.
    fn save(&self, out: &mut String);
    /// What `-D` and `-C` compare besides the rule text: iptables compares
    /// the match's binary data, which some save texts lose (`! --ahspi :`
    /// saves as nothing). Default: the save text.
    fn data_key(&self) -> String {
        let mut s = String::new();
        self.save(&mut s);
        s
    }
    /// `iptables -L` text, with a leading space (` tcp dpt:22`).
    fn print(&self, out: &mut String, numeric: bool);
    /// Plain-English meaning, as a phrase that follows "packets" in the
    /// rule's sentence ([`crate::ruleset::Rule::explain`]): `to port 22`,
    /// `that start a new connection`, `whose source address is in ipset "x"`,
    /// `while they arrive at most 1/sec ...`.
    fn explain(&self) -> String;
    /// Whether the packet matches; `None` when the simulator cannot evaluate
    /// this extension (the trace says so and the rule does not match).
    fn matches(&mut self, _cx: &mut EvalCx) -> Option<bool> {
        None
    }
    /// Whether [`Match::matches`] is `Some(true)` for every packet, changing
    /// nothing (`-m comment`): an untraced walk need not ask it.
    fn always_matches(&self) -> bool {
        false
    }
    /// The one test of a native tcp or udp match (`--dport 80`): when
    /// `Some(t)`, [`Match::matches`] is `Some(t.eval(transport).0)`,
    /// changing nothing, so a walk may run the test from its own copy.
    fn native_test(&self) -> Option<tcp::NativeTest> {
        None
    }
    /// The one random draw of `-m statistic --mode random`: when
    /// `Some((p, inv))`, [`Match::matches`] is `Some((statistic::draw(rng) <
    /// p) != inv)` and keeps the draw for a trace only, so an untraced walk
    /// may make the draw from its own copy.
    fn random_test(&self) -> Option<(u32, bool)> {
        None
    }
    /// `Some(n)`: [`Match::matches`] is `Some(true)`, changing nothing, for
    /// every packet that is not a fragment and carries `n` transport bytes
    /// (an `xt` tcp or udp match with nothing to test); other packets must
    /// ask the match.
    fn header_test(&self) -> Option<usize> {
        None
    }
    /// Forgets per-rule state (quota left, nth counter, connlimit list) as the
    /// kernel does when iptables-nft replaces the rule to zero its counters (`-Z`).
    fn reset(&mut self) {}
    /// Why the packet did not match, in words (asked only while tracing).
    fn why_not(&self, _cx: &EvalCx) -> String {
        let mut s = format!("-m {}", self.save_name());
        self.save(&mut s);
        format!("{s} did not match")
    }
    /// Name printed after `-m` in saves (an alias loaded under another name keeps it).
    fn save_name(&self) -> &'static str {
        self.info().name
    }
    fn box_clone(&self) -> Box<dyn Match>;
    fn as_any(&self) -> &dyn Any;
}

/// A target extension instance (`-j NAME ...`).
pub trait Target: Send + Sync + Any {
    fn info(&self) -> &'static ExtInfo;
    /// Whether a rule with this extension makes the kernel track
    /// connections (its check takes a conntrack reference:
    /// `nf_ct_netns_get`); until one does, a namespace tracks nothing.
    fn needs_conntrack(&self) -> bool {
        false
    }
    fn parse(&mut self, id: u8, arg: Option<&str>, invert: bool, cx: &mut ParseCx) -> XtResult;
    fn final_check(&mut self, _seen: u64, _cx: &mut ParseCx) -> XtResult {
        Ok(())
    }
    fn check(&self, _cx: &CheckCx) -> Result<(), KernelError> {
        Ok(())
    }
    /// iptables-save text after `-j NAME`, each option with a leading space.
    fn save(&self, out: &mut String);
    /// `iptables -L` text after the match texts, with a leading space.
    fn print(&self, out: &mut String, numeric: bool);
    /// Plain-English meaning: "Verb rest", where the verb acts on the
    /// packets the rule describes and the rest follows them (`Rejects ,
    /// answering the sender with a TCP reset` reads "Rejects TCP packets to
    /// port 22, answering ..."). A text starting in lower case is an action
    /// said after the packets: "TCP packets to port 80: set the DSCP ...".
    fn explain(&self) -> String;
    /// Acts on the packet; `None` when the simulator cannot carry this target
    /// out (the trace says so and the packet goes on as if it did nothing).
    fn fire(&mut self, _cx: &mut EvalCx) -> Option<TargetVerdict> {
        None
    }
    fn save_name(&self) -> &'static str {
        self.info().name
    }
    /// Name in the `target` column of `iptables -L`: the kernel's target name
    /// (`-j NOTRACK` lists as `CT`).
    fn list_name(&self) -> &'static str {
        self.save_name()
    }
    /// Warning printed on stderr when `-j NAME` loads this target, even if the
    /// command then fails (a target whose kernel module is missing).
    fn load_warning(&self) -> Option<String> {
        None
    }
    fn box_clone(&self) -> Box<dyn Target>;
    fn as_any(&self) -> &dyn Any;
}

impl Clone for Box<dyn Match> {
    fn clone(&self) -> Self {
        self.box_clone()
    }
}

impl Clone for Box<dyn Target> {
    fn clone(&self) -> Self {
        self.box_clone()
    }
}

// An extension shows as its name and iptables-save options. Not a
// supertrait: through the vtables every extension's derived `Debug` would
// be linked into the web page.
impl Debug for dyn Match {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut options = String::new();
        self.save(&mut options);
        write!(f, "-m {}{options}", self.save_name())
    }
}

impl Debug for dyn Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut options = String::new();
        self.save(&mut options);
        write!(f, "-j {}{options}", self.save_name())
    }
}

/// Implements `info`, `box_clone` and `as_any` for an extension struct.
#[macro_export]
macro_rules! ext_boilerplate {
    ($info:expr, Match) => {
        fn info(&self) -> &'static $crate::ext::ExtInfo {
            &$info
        }
        fn box_clone(&self) -> Box<dyn $crate::ext::Match> {
            Box::new(self.clone())
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    };
    ($info:expr, Target) => {
        fn info(&self) -> &'static $crate::ext::ExtInfo {
            &$info
        }
        fn box_clone(&self) -> Box<dyn $crate::ext::Target> {
            Box::new(self.clone())
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    };
}

/// Every extension the engine knows. Add a line here when adding a file.
pub fn registry() -> &'static [&'static ExtInfo] {
    static ALL: &[&ExtInfo] = &[
        // [group: core]
        &comment::INFO,
        &tcp::INFO,
        // [end: core]

        // [group: ports]
        &addrtype::INFO,
        &ah::INFO,
        &dccp::INFO,
        &esp::INFO,
        &icmp::INFO,
        &ipcomp::INFO,
        &iprange::INFO,
        &length::INFO,
        &mac::INFO,
        &multiport::INFO,
        &pkttype::INFO,
        &sctp::INFO,
        &ttl::INFO,
        &udp::INFO,
        // [end: ports]

        // [group: conntrack]
        &bpf::INFO,
        &cgroup::INFO,
        &cluster::INFO,
        &connbytes::INFO,
        &connlabel::INFO,
        &connlimit::INFO,
        &connmark::INFO,
        &conntrack::INFO,
        &cpu::INFO,
        &helper::INFO,
        &ipvs::INFO,
        &mark::INFO,
        &nfacct::INFO,
        &osf::INFO,
        &owner::INFO,
        &physdev::INFO,
        &policy::INFO,
        &quota::INFO,
        &realm::INFO,
        &rpfilter::INFO,
        &socket::INFO,
        &state::INFO,
        &statistic::INFO,
        &time::INFO,
        &u32::INFO,
        // [end: conntrack]

        // [group: packet]
        &dscp::INFO,
        &dscp_target::INFO,
        &ecn::INFO,
        &ecn_target::INFO,
        &tcpmss::INFO,
        &tcpmss_target::INFO,
        &tos::INFO,
        &tos_target::INFO,
        &checksum::INFO,
        &classify::INFO,
        &hmark::INFO,
        &tcpoptstrip::INFO,
        &ttl_target::INFO,
        &recent::INFO,
        &string::INFO,
        &hashlimit::INFO,
        &limit::INFO,
        &rateest::INFO,
        &rateest_target::INFO,
        // [end: packet]

        // [group: targets]
        &audit::INFO,
        &connmark_target::INFO,
        &connsecmark::INFO,
        &ct::INFO,
        &dnat::INFO,
        &idletimer::INFO,
        &led::INFO,
        &log::INFO,
        &mark_target::INFO,
        &masquerade::INFO,
        &netmap::INFO,
        &nflog::INFO,
        &nfqueue::INFO,
        &notrack::INFO,
        &queue::INFO,
        &redirect::INFO,
        &reject::INFO,
        &secmark::INFO,
        &snat::INFO,
        &synproxy::INFO,
        &tee::INFO,
        &tproxy::INFO,
        &trace::INFO,
        // [end: targets]

        // [group: ipset]
        &set::INFO,
        &set_target::INFO,
        // [end: ipset]
    ];
    ALL
}

/// Which of the extensions that keep named per-host objects (recent
/// lists, hashlimit tables, rate estimators) some rules use, and whether
/// one needs conntrack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateUse {
    pub recent: bool,
    pub hashlimit: bool,
    pub rateest: bool,
    /// A rule needs conntrack (the namespace tracks connections).
    pub conntrack: bool,
}

impl StateUse {
    /// What one rule uses.
    pub fn of_rule(r: &crate::ruleset::Rule) -> StateUse {
        let mut u = StateUse::default();
        for m in &r.matches {
            let i = m.info();
            u.recent |= std::ptr::eq(i, &recent::INFO);
            u.hashlimit |= std::ptr::eq(i, &hashlimit::INFO);
            u.rateest |= std::ptr::eq(i, &rateest::INFO);
            u.conntrack |= m.needs_conntrack();
        }
        if let crate::ruleset::RuleTarget::Ext(t) = &r.target {
            u.rateest |= std::ptr::eq(t.info(), &rateest_target::INFO);
            u.conntrack |= t.needs_conntrack();
        }
        u
    }

    /// Whether any extension keeping objects is used.
    pub fn any(self) -> bool {
        self.recent || self.hashlimit || self.rateest
    }

    /// What either uses.
    pub fn or(self, o: StateUse) -> StateUse {
        StateUse {
            recent: self.recent || o.recent,
            hashlimit: self.hashlimit || o.hashlimit,
            rateest: self.rateest || o.rateest,
            conntrack: self.conntrack || o.conntrack,
        }
    }
}

/// Called after every committed ruleset change: extensions that keep named
/// per-host objects (recent lists, hashlimit tables, rate estimators) make
/// them match the rules, as the kernel's checkentry and destroy do.
pub fn after_commit(host: &mut crate::sim::host::Host) {
    // What the rules use, from each table's own record when it has not
    // changed since: an extension that no rule uses and that never made
    // any object has nothing to do.
    let used = host
        .ruleset
        .tables
        .iter_mut()
        .fold(StateUse::default(), |u, t| u.or(t.state_use()));
    // A nat base chain registers NAT, which needs conntrack.
    let nat_chain = host.ruleset.tables.iter().any(|t| {
        t.name == "nat" && t.exists && t.chains.iter().any(|c| c.hook.is_some() && !c.fake)
    });
    host.conntrack_hooks = used.conntrack || nat_chain;
    let st = &host.ext_state;
    let recent = used.recent || st.contains(recent::STATE);
    let hashlimit = used.hashlimit || st.contains(hashlimit::STATE);
    let rateest = used.rateest || st.contains(rateest_target::STATE);
    // [group: packet]
    if recent {
        recent::after_commit(host);
    }
    if hashlimit {
        hashlimit::after_commit(host);
    }
    if rateest {
        rateest_target::after_commit(host);
    }
    // [end: packet]
}

/// Finds an extension by the name given to `-m` or `-j` (the first of the
/// registry with that name or alias).
pub fn find(name: &str, kind: ExtKind) -> Option<&'static ExtInfo> {
    type Names = crate::fasthash::FastMap<&'static str, &'static ExtInfo>;
    /// The names of one kind, and for each first byte the lengths (bit
    /// `min(len, 31)`) of the names starting with it: most words that are
    /// no extension (a user chain after `-j`) are told at once.
    struct Kind {
        names: Names,
        shapes: [u32; 256],
    }
    static BY_NAME: std::sync::OnceLock<[Kind; 2]> = std::sync::OnceLock::new();
    let kinds = BY_NAME.get_or_init(|| {
        let mut kinds = [(); 2].map(|()| Kind {
            names: Names::default(),
            shapes: [0; 256],
        });
        for e in registry() {
            let k = &mut kinds[(e.kind == ExtKind::Target) as usize];
            for n in std::iter::once(&e.name).chain(e.aliases) {
                k.names.entry(n).or_insert(e);
                if let Some(b) = n.as_bytes().first() {
                    k.shapes[*b as usize] |= 1 << n.len().min(31);
                }
            }
        }
        kinds
    });
    let k = &kinds[(kind == ExtKind::Target) as usize];
    let first = *name.as_bytes().first()?;
    if k.shapes[first as usize] & (1 << name.len().min(31)) == 0 {
        return None;
    }
    k.names.get(name).copied()
}
