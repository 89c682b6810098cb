//! A packet through one netfilter hook of a host: the tables in iptables-nft
//! priority order, conntrack, NAT, and each chain rule by rule (jumps, gotos,
//! returns, policies, counters), leaving a trace when asked.

use super::conntrack::{CtState, Dir};
use super::eval::{Emit, EvalCx, Manip, TargetVerdict};
use super::host::Host;
use super::nat;
use super::route;
use super::rules::Flow;
use super::trace::{Event, Step, Trace};
use crate::ext::xtopt::fmt_net;
use crate::packet::{Headers, Packet};
use crate::ruleset::walk::{Known, OneTest, Precheck, WalkIndex};
use crate::ruleset::{Hook, IpSpec, Rule, RuleTarget, TableId, Verdict};
use std::net::Ipv4Addr;

/// What became of the packet at a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Accept,
    Drop,
    Stolen,
}

/// The packet's connection, carried from hook to hook within a host (`skb->_nfct`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtRef {
    pub idx: Option<usize>,
    pub dir: Dir,
    pub state: CtState,
    /// Conntrack has looked at the packet already.
    pub seen: bool,
}

impl CtRef {
    /// The connection a reply made by netfilter carries (`nf_ct_attach`):
    /// conntrack does not look such a packet up again.
    pub fn attached(host: &Host, pkt: &Packet) -> CtRef {
        match pkt.meta.nfct {
            Some(a) => CtRef {
                idx: host.conntrack.attached(&a),
                dir: a.dir,
                state: a.state,
                seen: true,
            },
            None => CtRef::default(),
        }
    }
}

impl Default for CtRef {
    fn default() -> Self {
        CtRef {
            idx: None,
            dir: Dir::Original,
            state: CtState::Invalid,
            seen: false,
        }
    }
}

#[derive(Clone, Copy)]
enum Stage {
    Table(TableId),
    Conntrack,
    Nat(Manip),
    Confirm,
}

/// Tables and conntrack steps of a hook, by priority (raw -300, conntrack
/// -200, mangle -150, nat dst -100, filter 0, nat src 100, security 150).
fn stages(hook: Hook) -> &'static [Stage] {
    use Stage::*;
    const RAW: Stage = Table(TableId::RAW);
    const MANGLE: Stage = Table(TableId::MANGLE);
    const FILTER: Stage = Table(TableId::FILTER);
    const SECURITY: Stage = Table(TableId::SECURITY);
    match hook {
        Hook::Prerouting => &[RAW, Conntrack, MANGLE, Nat(Manip::Dst)],
        Hook::Input => &[MANGLE, FILTER, Nat(Manip::Src), SECURITY, Confirm],
        Hook::Forward => &[MANGLE, FILTER, SECURITY],
        Hook::Output => &[RAW, Conntrack, MANGLE, Nat(Manip::Dst), FILTER, SECURITY],
        Hook::Postrouting => &[MANGLE, Nat(Manip::Src), Confirm],
    }
}

/// The route of a locally generated packet (`skb_dst`), which OUTPUT may
/// change on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutRoute {
    pub dev: String,
    pub next_hop: Ipv4Addr,
    /// The table after which a re-route found no route: the packet is
    /// dropped right there.
    pub unroutable_after: Option<&'static str>,
}

/// What a re-route looks at (`ip_route_me_harder`'s flow).
#[derive(Clone, Copy, PartialEq, Eq)]
struct RouteKeys {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    mark: u32,
    tos: u8,
}

impl RouteKeys {
    fn of(hdr: &Headers, pkt: &Packet) -> RouteKeys {
        RouteKeys {
            src: hdr.src,
            dst: hdr.dst,
            mark: pkt.meta.mark,
            tos: hdr.tos,
        }
    }
}

/// Runs a packet through a hook.
pub fn run_hook(
    host: &mut Host,
    hook: Hook,
    pkt: &mut Packet,
    ct: &mut CtRef,
    now_ns: u64,
    emitted: &mut Vec<Emit>,
    trace: Option<&mut Trace>,
) -> Fate {
    run_stages(host, hook, pkt, ct, now_ns, emitted, trace, None)
}

/// Runs a locally generated packet through OUTPUT. As the kernel, mangle
/// OUTPUT re-routes a packet whose mark, addresses or TOS it changed (the
/// nft `route` chain), nat OUTPUT one whose destination the connection
/// rewrites (`nf_nat_ipv4_local_fn`), each right after its table; no route
/// drops the packet there. The later tables of OUTPUT still match `-o`
/// against the device the hook began with (`state->out`); POSTROUTING
/// sees the new one.
pub fn run_output(
    host: &mut Host,
    pkt: &mut Packet,
    ct: &mut CtRef,
    now_ns: u64,
    emitted: &mut Vec<Emit>,
    trace: Option<&mut Trace>,
    route: &mut OutRoute,
) -> Fate {
    run_stages(
        host,
        Hook::Output,
        pkt,
        ct,
        now_ns,
        emitted,
        trace,
        Some(route),
    )
}

/// `ip_route_me_harder`: routes the packet again by its headers and mark.
/// The gateway of the old route (a TEE clone's) is lost.
fn reroute(host: &Host, pkt: &Packet, hdr: &Headers, route: &mut OutRoute) -> bool {
    let flow = Flow {
        dst: hdr.dst,
        src: hdr.src,
        mark: pkt.meta.mark,
        tos: hdr.tos,
        iif: "lo",
        oif: None,
    };
    match route::local_out(&host.ifaces, &host.routes, &host.policy, &flow) {
        Some((dev, next_hop)) => {
            route.dev = dev;
            route.next_hop = next_hop;
            true
        }
        None => false,
    }
}

#[allow(clippy::too_many_arguments)]
fn run_stages(
    host: &mut Host,
    hook: Hook,
    pkt: &mut Packet,
    ct: &mut CtRef,
    now_ns: u64,
    emitted: &mut Vec<Emit>,
    mut trace: Option<&mut Trace>,
    mut route: Option<&mut OutRoute>,
) -> Fate {
    // The headers, parsed once and kept up to date in place; parsed again
    // only after a rewrite they do not follow (`stale`), at the next stage.
    // A packet the last hook left as it was is not parsed again.
    let mut hdr = match host.parsed.take(&pkt.data) {
        Some(h) => h,
        None => match pkt.headers() {
            Ok(h) => h,
            Err(_) => return Fate::Drop,
        },
    };
    let mut stale = false;
    if trace.is_none() && !host.linear_walk {
        prefetch_dispatches(host, hook, hdr.dst);
    }
    for stage in stages(hook) {
        if std::mem::take(&mut stale) {
            match pkt.headers() {
                Ok(h) => hdr = h,
                Err(_) => return Fate::Drop,
            }
        }
        match *stage {
            Stage::Conntrack => {
                if !ct.seen {
                    ct.seen = true;
                    if !host.conntrack_hooks {
                        // No conntrack in this namespace yet: the packet
                        // carries no connection at all.
                        ct.state = CtState::Invalid;
                        ct.idx = None;
                    } else if pkt.meta.untracked || pkt.meta.tee_clone {
                        ct.state = CtState::Untracked;
                        ct.idx = None;
                    } else {
                        let l = host.conntrack.track_in(
                            &hdr,
                            pkt.meta.ct_template.unwrap_or(0),
                            now_ns,
                        );
                        ct.idx = l.idx;
                        ct.dir = l.dir;
                        ct.state = l.state;
                        if let (Some(t), Some(i)) = (trace.as_deref_mut(), l.idx) {
                            if l.state == CtState::New {
                                if let Some(e) = host.conntrack.get(i) {
                                    t.events.push(Event::Conntrack {
                                        host: host.name.clone(),
                                        entry: super::conntrack::entry_line(e, now_ns),
                                    });
                                }
                            }
                        }
                    }
                }
            }
            Stage::Confirm => {
                // Only a packet of the original direction confirms
                // (`__nf_conntrack_confirm`): replies attached by REJECT do not.
                if let (Some(i), Dir::Original) = (ct.idx, ct.dir) {
                    if !host.conntrack.confirm(i) {
                        host.conntrack.drop_unconfirmed(i);
                        ct.idx = None;
                        return Fate::Drop;
                    }
                }
            }
            Stage::Table(id) if !table_exists(host, id) => {}
            Stage::Table(id) => {
                let before = (id == TableId::MANGLE).then(|| RouteKeys::of(&hdr, pkt));
                let (fate, unparsable) = run_table(
                    host,
                    id,
                    hook,
                    pkt,
                    &mut hdr,
                    ct,
                    now_ns,
                    emitted,
                    trace.as_deref_mut(),
                );
                if fate != Fate::Accept {
                    if let Some(i) = ct.idx {
                        host.conntrack.drop_unconfirmed(i);
                    }
                    return fate;
                }
                if unparsable {
                    match pkt.headers() {
                        Ok(h) => hdr = h,
                        Err(_) => return Fate::Drop,
                    }
                }
                if let (Some(r), Some(before)) = (route.as_deref_mut(), before) {
                    if RouteKeys::of(&hdr, pkt) != before && !reroute(host, pkt, &hdr, r) {
                        r.unroutable_after = Some("mangle OUTPUT");
                        if let Some(i) = ct.idx {
                            host.conntrack.drop_unconfirmed(i);
                        }
                        return Fate::Drop;
                    }
                }
            }
            Stage::Nat(manip) => {
                let Some(idx) = ct.idx else {
                    continue;
                };
                // `nf_nat_inet_fn`: the nat chains see the first packet of a
                // connection, and RELATED packets other than ICMP errors (a
                // REJECT's RST) while the manip is not set up yet.
                let first = ((ct.state == CtState::New && ct.dir == Dir::Original)
                    || (ct.state == CtState::Related && hdr.proto != 1))
                    && host
                        .conntrack
                        .get(idx)
                        .is_some_and(|e| !e.has(nat::done_bit(manip)));
                if first {
                    let (fate, unparsable) = run_table(
                        host,
                        TableId::NAT,
                        hook,
                        pkt,
                        &mut hdr,
                        ct,
                        now_ns,
                        emitted,
                        trace.as_deref_mut(),
                    );
                    if fate != Fate::Accept {
                        host.conntrack.drop_unconfirmed(idx);
                        return fate;
                    }
                    nat::null_binding(&mut host.conntrack, &mut host.rng, idx, manip);
                    if unparsable {
                        match pkt.headers() {
                            Ok(h) => hdr = h,
                            Err(_) => return Fate::Drop,
                        }
                    }
                }
                let dst_before = hdr.dst;
                match nat::apply(&host.conntrack, idx, ct.dir, manip, pkt, &mut hdr) {
                    nat::Applied::No => continue,
                    nat::Applied::Followed => {}
                    nat::Applied::Rewritten => stale = true,
                }
                if let Some(r) = route.as_deref_mut() {
                    let Ok(now) = pkt.headers() else {
                        return Fate::Drop;
                    };
                    if now.dst != dst_before && !reroute(host, pkt, &now, r) {
                        r.unroutable_after = Some("nat OUTPUT");
                        host.conntrack.drop_unconfirmed(idx);
                        return Fate::Drop;
                    }
                }
                if let Some(t) = trace.as_deref_mut() {
                    t.steps.push(Step {
                        host: host.name.clone(),
                        hook: hook.name().into(),
                        table: "nat".into(),
                        chain: hook.name().into(),
                        rule: None,
                        matched: true,
                        failed: None,
                        verdict: Some(match manip {
                            Manip::Src => "conntrack rewrites the source".into(),
                            Manip::Dst => "conntrack rewrites the destination".into(),
                        }),
                        rewritten: pkt.headers().ok(),
                    });
                }
            }
        }
    }
    if !stale {
        host.parsed.keep(&pkt.data, hdr);
    }
    Fate::Accept
}

/// Starts loading, before conntrack looks the packet up, where the long
/// chains of the hook's tables keep the rules for its destination: the
/// first cache miss of their walk then overlaps conntrack's.
fn prefetch_dispatches(host: &Host, hook: Hook, dst: Ipv4Addr) {
    if !stages(hook).iter().any(|s| matches!(s, Stage::Conntrack)) {
        return;
    }
    for stage in stages(hook) {
        let id = match *stage {
            Stage::Table(id) => id,
            Stage::Nat(_) => TableId::NAT,
            _ => continue,
        };
        if let Some(w) = host.ruleset.table_of(id).and_then(|t| t.walk_index()) {
            w.prefetch_dispatch(dst);
        }
    }
}

/// Whether a table is in the kernel (else a hook passes over it).
fn table_exists(host: &Host, id: TableId) -> bool {
    host.ruleset.table_of(id).is_some_and(|t| t.exists)
}

/// Whether an interface name matches a rule's (`eth+` is a prefix).
pub fn iface_matches(rule: &str, actual: Option<&str>) -> bool {
    if rule.is_empty() {
        return true;
    }
    let actual = actual.unwrap_or("");
    match rule.strip_suffix('+') {
        Some(prefix) => actual.starts_with(prefix),
        None => actual == rule,
    }
}

/// The condition of a rule's fixed part that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IpFail {
    Src,
    Dst,
    In,
    Out,
    Proto,
    Frag,
}

/// The fixed part of a rule: the first condition that fails, if any.
fn ip_fails(ip: &IpSpec, hdr: &Headers, pkt: &Packet) -> Option<IpFail> {
    if ip.src.contains(hdr.src) == ip.src_inv {
        return Some(IpFail::Src);
    }
    if ip.dst.contains(hdr.dst) == ip.dst_inv {
        return Some(IpFail::Dst);
    }
    if !ip.in_iface.is_empty()
        && iface_matches(&ip.in_iface, pkt.meta.in_iface.as_deref()) == ip.in_inv
    {
        return Some(IpFail::In);
    }
    if !ip.out_iface.is_empty()
        && iface_matches(&ip.out_iface, pkt.meta.out_iface.as_deref()) == ip.out_inv
    {
        return Some(IpFail::Out);
    }
    if ip.proto != 0 && (hdr.proto == ip.proto) == ip.proto_inv {
        return Some(IpFail::Proto);
    }
    if ip.frag && hdr.is_later_fragment() == ip.frag_inv {
        return Some(IpFail::Frag);
    }
    None
}

/// Why the fixed part of a rule did not match, in words (for traces).
fn ip_why(f: IpFail, ip: &IpSpec, hdr: &Headers, pkt: &Packet) -> String {
    let not = |inv: bool| if inv { "! " } else { "" };
    match f {
        IpFail::Src => format!(
            "{}-s {} did not match: source is {}",
            not(ip.src_inv),
            fmt_net(ip.src.addr, ip.src.mask),
            hdr.src
        ),
        IpFail::Dst => format!(
            "{}-d {} did not match: destination is {}",
            not(ip.dst_inv),
            fmt_net(ip.dst.addr, ip.dst.mask),
            hdr.dst
        ),
        IpFail::In => format!(
            "{}-i {} did not match: came in on {}",
            not(ip.in_inv),
            ip.in_iface,
            pkt.meta.in_iface.as_deref().unwrap_or("no interface")
        ),
        IpFail::Out => format!(
            "{}-o {} did not match: goes out on {}",
            not(ip.out_inv),
            ip.out_iface,
            pkt.meta.out_iface.as_deref().unwrap_or("no interface")
        ),
        IpFail::Proto => {
            let name = |p: u8| {
                crate::iptables::save::proto_save_name(p)
                    .map(String::from)
                    .unwrap_or_else(|| p.to_string())
            };
            format!(
                "{}-p {} did not match: protocol is {}",
                not(ip.proto_inv),
                name(ip.proto),
                name(hdr.proto)
            )
        }
        IpFail::Frag => format!(
            "{}-f did not match: {}",
            not(ip.frag_inv),
            if hdr.is_later_fragment() {
                "a later fragment"
            } else {
                "not a later fragment"
            }
        ),
    }
}

/// The bytes of a packet before a target ran, to see whether it rewrote
/// them (small packets are kept on the stack, in one buffer per walk).
struct Snapshot {
    small: [u8; 128],
    len: usize,
    large: Vec<u8>,
}

impl Snapshot {
    fn new() -> Snapshot {
        Snapshot {
            small: [0; 128],
            len: 0,
            large: Vec::new(),
        }
    }
    fn take(&mut self, data: &[u8]) {
        self.len = data.len();
        match self.small.get_mut(..data.len()) {
            Some(s) => s.copy_from_slice(data),
            None => {
                self.large.clear();
                self.large.extend_from_slice(data);
            }
        }
    }
    fn same(&self, data: &[u8]) -> bool {
        data.len() == self.len
            && match self.small.get(..self.len) {
                Some(s) => s == data,
                None => self.large == data,
            }
    }
}

/// One frame of the chain walk.
#[derive(Clone, Copy, Default)]
struct Frame {
    chain: usize,
    next_rule: usize,
}

/// The return frames of a walk: jumps nest at most 16 deep in a table the
/// kernel accepts, so they live on the stack (deeper ones spill over), as
/// 32-bit chain and rule positions: 128 bytes to clear for each table.
#[derive(Default)]
struct Frames {
    inline: [(u32, u32); 16],
    len: usize,
    more: Vec<Frame>,
}

impl Frames {
    fn push(&mut self, f: Frame) {
        let small = u32::try_from(f.chain)
            .ok()
            .zip(u32::try_from(f.next_rule).ok());
        match (self.inline.get_mut(self.len), small) {
            (Some(slot), Some(f)) if self.more.is_empty() => {
                *slot = f;
                self.len += 1;
            }
            _ => self.more.push(f),
        }
    }
    fn pop(&mut self) -> Option<Frame> {
        if let Some(f) = self.more.pop() {
            return Some(f);
        }
        self.len = self.len.checked_sub(1)?;
        let (chain, next_rule) = self.inline[self.len];
        Some(Frame {
            chain: chain as usize,
            next_rule: next_rule as usize,
        })
    }
}

/// Rules of a chain [`prefetch_walk`] loads ahead of the walk.
const AHEAD: usize = 8;
/// Rules of the chains those jump to that it loads ahead.
const AHEAD_BEYOND: usize = 2;
/// Chains placed after a chain that a dispatch names, whose rules are
/// loaded ahead with its own (the chains it jumps to, mostly).
const AHEAD_CHAINS: usize = 3;
/// The fields of a rule the walk reads when the index passes it.
const RULE_FIELDS: [usize; 2] = [
    std::mem::offset_of!(Rule, counters),
    std::mem::offset_of!(Rule, target),
];

/// Starts loading what the walk of chain `ci` reads: where its rules are,
/// its index entries and what its first rules count and do, and the same
/// for the chains those rules jump to. In a large table most of these are
/// cache misses; asked for together, they overlap. Chains are reached by
/// address from `chains` (the table's, not read), rules through the index.
/// `ahead`: its index entries and rules, and the rules of the chains it
/// jumps to, are being loaded already ([`WalkIndex::prefetch_ahead`]).
fn prefetch_walk(chains: *const crate::ruleset::Chain, walk: &WalkIndex, ci: usize, ahead: bool) {
    let chain_rules = |c: usize| {
        let size = std::mem::size_of::<crate::ruleset::Chain>();
        crate::prefetch::bytes(
            chains,
            c * size + std::mem::offset_of!(crate::ruleset::Chain, rules),
        );
    };
    if ci >= walk.chains() {
        return;
    }
    chain_rules(ci);
    if walk.dispatched(ci) {
        // Its walk starts where the dispatch says.
        return;
    }
    if !ahead {
        walk.prefetch_chain(ci, AHEAD);
        prefetch_rules(walk, ci, AHEAD);
    }
    for t in walk.targets(ci, AHEAD) {
        if t < walk.chains() {
            chain_rules(t);
            if !ahead {
                walk.prefetch_chain(t, AHEAD_BEYOND);
                prefetch_rules(walk, t, AHEAD_BEYOND);
            }
        }
    }
}

/// Starts loading what a walk reads of the first `max` rules of chain
/// `ci` (see [`prefetch_rule`]), without reading the chain.
fn prefetch_rules(walk: &WalkIndex, ci: usize, max: usize) {
    walk.prefetch_rules(ci, max, RULE_FIELDS);
}

/// Starts loading the extension targets (a DNAT's range...) of the first
/// rules of the chains chain `ci` jumps to, loaded ahead when the walk came
/// to `ci` ([`prefetch_walk`]): by the time the walk reaches one of those
/// rules, what its target reads is there, not one more miss away.
fn prefetch_ext_targets(chains: &[crate::ruleset::Chain], walk: &WalkIndex, ci: usize) {
    for t in walk.targets(ci, AHEAD) {
        let Some(c) = chains.get(t) else { continue };
        for r in c.rules.iter().take(AHEAD_BEYOND) {
            if let RuleTarget::Ext(x) = &r.target {
                crate::prefetch::bytes(&**x as *const dyn crate::ext::Target as *const u8, 0);
            }
        }
    }
}

/// Starts loading what a walk reads of a rule that passed the index.
fn prefetch_rule(r: &Rule) {
    crate::prefetch::value(&r.counters);
    crate::prefetch::value(&r.target);
}

/// Runs a packet through one table's chain for the hook, keeping `hdr` up
/// to date (read again after each rewrite). Returns the fate and whether a
/// rewrite left bytes that no longer parse (`hdr` is then stale).
#[allow(clippy::too_many_arguments)]
fn run_table(
    host: &mut Host,
    table: TableId,
    hook: Hook,
    pkt: &mut Packet,
    hdr: &mut Headers,
    ct: &mut CtRef,
    now_ns: u64,
    emitted: &mut Vec<Emit>,
    trace: Option<&mut Trace>,
) -> (Fate, bool) {
    match trace {
        Some(t) => walk_table::<true>(host, table, hook, pkt, hdr, ct, now_ns, emitted, Some(t)),
        None => walk_table::<false>(host, table, hook, pkt, hdr, ct, now_ns, emitted, None),
    }
}

/// [`run_table`], made twice: `TRACED` with a trace, and without one, where
/// every step of recording is known absent and leaves no code in the walk.
#[allow(clippy::too_many_arguments)]
fn walk_table<const TRACED: bool>(
    host: &mut Host,
    table_id: TableId,
    hook: Hook,
    pkt: &mut Packet,
    hdr: &mut Headers,
    ct: &mut CtRef,
    now_ns: u64,
    emitted: &mut Vec<Emit>,
    trace: Option<&mut Trace>,
) -> (Fate, bool) {
    let mut trace = if TRACED { trace } else { None };
    let Host {
        name,
        ruleset,
        ipsets,
        nfacct,
        conntrack,
        ext_state,
        rng,
        ifaces,
        routes,
        policy,
        kmsg,
        tz_minutes,
        listeners,
        tcp_conns,
        linear_walk,
        ..
    } = host;
    let table_name = table_id.name();
    let Some(table) = ruleset.table_of_mut(table_id) else {
        return (Fate::Accept, false);
    };
    let Some(base) = table.hook_chain(hook) else {
        return (Fate::Accept, false);
    };
    if !table.exists {
        return (Fate::Accept, false);
    }
    let tracing = TRACED;
    // Untraced, long chains go straight to the rules the packet may match.
    let skip = !tracing && !*linear_walk;
    let (chains, walk) = table.walk_parts();
    let mut cx = EvalCx {
        host: name,
        hook,
        table: table_name,
        pkt,
        hdr,
        now_ns,
        tz_minutes: *tz_minutes,
        ct: ct.idx,
        ct_dir: ct.dir,
        ct_state: ct.state,
        conntrack,
        ipsets,
        nfacct,
        ext: ext_state,
        rng,
        ifaces,
        routes,
        policy,
        listeners,
        tcp_conns,
        emitted,
        log: kmsg,
        tracing,
        hotdrop: false,
    };
    let mut stale = false;
    // Made at the first target that may rewrite the packet.
    let mut before: Option<Snapshot> = None;
    let mut stack = Frames::default();
    let mut cur = Frame {
        chain: base,
        next_rule: 0,
    };
    let step = |chain: &str,
                rule: Option<usize>,
                matched: bool,
                failed: Option<String>,
                verdict: Option<String>| Step {
        host: name.clone(),
        hook: hook.name().into(),
        table: table_name.into(),
        chain: chain.into(),
        rule,
        matched,
        failed,
        verdict,
        rewritten: None,
    };
    // Where the chains are, to load them ahead (not read through this).
    let chains_at = chains.as_ptr();
    // The chain last loaded ahead from a dispatch.
    let mut loaded_ahead = usize::MAX;
    // The index of the chain being walked, looked up when the walk enters it.
    let mut cw_chain = usize::MAX;
    let mut cw = None;
    // The walk just jumped out of a dispatched chain.
    let mut entered_from_dispatch = false;
    loop {
        if std::mem::take(&mut entered_from_dispatch) {
            prefetch_ext_targets(chains, walk, cur.chain);
        }
        let chain = &mut chains[cur.chain];
        if cur.chain != cw_chain {
            cw_chain = cur.chain;
            cw = walk.chain(cur.chain, chain.rules.len());
        }
        // Untraced, the index answers the address and protocol tests, and
        // what the matches come to when it knows; else the rule is read.
        let mut check_ip = true;
        let mut known = Known::Ask;
        match (skip, cw) {
            (true, Some(w)) => {
                // Rules the index rules out are passed over unread.
                loop {
                    let from = cur.next_rule;
                    let (next, target) = w.next_and_target(from, cx.hdr.dst);
                    cur.next_rule = next;
                    // A rule the dispatch skipped to is far from the last one
                    // read: load it while its index entry is looked at, and
                    // the chain it jumps to.
                    if next != from {
                        if let Some(r) = chain.rules.get(next) {
                            prefetch_rule(r);
                        }
                        if let Some(t) = target {
                            // Its index entries and those of the chains it
                            // jumps to, where the dispatch says they are.
                            let known = walk.prefetch_ahead(
                                &t,
                                (AHEAD, 2 * AHEAD_BEYOND),
                                (AHEAD_CHAINS, AHEAD_BEYOND),
                                RULE_FIELDS,
                            );
                            prefetch_walk(chains_at, walk, t.chain, known);
                            loaded_ahead = t.chain;
                        }
                    }
                    let Some(pre) = w.precheck(cur.next_rule, cx.hdr.src, cx.hdr.dst, cx.hdr.proto)
                    else {
                        // Past the last rule.
                        break;
                    };
                    match pre {
                        Precheck::Fails => {}
                        Precheck::Passes {
                            rest_of_ip: false,
                            matches,
                        } => {
                            // A rule whose one test fails is passed over unread.
                            let pass = match matches {
                                Known::Test(OneTest::Native(t)) => t.eval(cx.transport()).0,
                                Known::Test(OneTest::Random { below, inv }) => {
                                    (crate::ext::statistic::draw(cx.rng) < below) != inv
                                }
                                Known::Test(OneTest::Header { .. })
                                | Known::Always
                                | Known::Ask => true,
                            };
                            if pass {
                                check_ip = false;
                                known = match matches {
                                    Known::Test(OneTest::Header { need }) => {
                                        if cx.hdr.frag_offset == 0
                                            && cx.transport().len() >= need as usize
                                        {
                                            Known::Always
                                        } else {
                                            Known::Ask
                                        }
                                    }
                                    known => known,
                                };
                                break;
                            }
                        }
                        // The rest of the fixed part needs the rule: so do the matches.
                        Precheck::Passes { .. } => break,
                    }
                    cur.next_rule += 1;
                }
            }
            // Rule by rule, untraced: a rule whose fixed part fails does
            // nothing, so such rules are passed in a tight loop.
            _ if !tracing => {
                while chain
                    .rules
                    .get(cur.next_rule)
                    .is_some_and(|r| ip_fails(&r.ip, cx.hdr, cx.pkt).is_some())
                {
                    cur.next_rule += 1;
                }
            }
            _ => {}
        }
        if cur.next_rule >= chain.rules.len() {
            // End of chain: return to the caller, or the policy of a built-in chain.
            match stack.pop() {
                Some(f) => {
                    if let Some(t) = trace.as_deref_mut() {
                        t.steps
                            .push(step(&chain.name, None, false, None, Some("return".into())));
                    }
                    cur = f;
                    continue;
                }
                None => {
                    // Off the end of the walk (a built-in chain, or a user
                    // chain reached by goto): the built-in chain's policy.
                    let chain = &mut chains[base];
                    if chain.counted {
                        chain.counters.packets += 1;
                        chain.counters.bytes += cx.pkt.len() as u64;
                    }
                    let policy = chain.policy;
                    if let Some(t) = trace.as_deref_mut() {
                        t.steps.push(step(
                            &chain.name,
                            None,
                            true,
                            None,
                            Some(format!("policy {}", policy.name())),
                        ));
                    }
                    let fate = match policy {
                        Verdict::Drop => Fate::Drop,
                        _ => Fate::Accept,
                    };
                    return (fate, stale);
                }
            }
        }
        let rule_no = cur.next_rule;
        cur.next_rule += 1;
        let rule: &mut Rule = &mut chain.rules[rule_no];
        if check_ip {
            if let Some(f) = ip_fails(&rule.ip, cx.hdr, cx.pkt) {
                if let Some(t) = trace.as_deref_mut() {
                    let why = ip_why(f, &rule.ip, cx.hdr, cx.pkt);
                    t.steps
                        .push(step(&chain.name, Some(rule_no + 1), false, Some(why), None));
                }
                continue;
            }
        }
        let mut failed = None;
        // Matches known true (always, or by the test above) are not asked.
        let matches = match known {
            Known::Ask => &mut rule.matches[..],
            Known::Always | Known::Test(_) => &mut [],
        };
        for m in matches.iter_mut() {
            match m.matches(&mut cx) {
                Some(true) => {}
                Some(false) => {
                    failed = Some(if tracing {
                        m.why_not(&cx)
                    } else {
                        String::new()
                    });
                    break;
                }
                None => {
                    failed = Some(if tracing {
                        format!("-m {} cannot be evaluated by the simulator", m.save_name())
                    } else {
                        String::new()
                    });
                    break;
                }
            }
        }
        if let Some(why) = failed {
            let hotdrop = std::mem::take(&mut cx.hotdrop);
            if let Some(t) = trace.as_deref_mut() {
                let verdict = hotdrop.then(|| "DROP (the match dropped the packet)".to_string());
                t.steps.push(step(
                    &chain.name,
                    Some(rule_no + 1),
                    false,
                    Some(why),
                    verdict,
                ));
            }
            if hotdrop {
                return (Fate::Drop, stale);
            }
            continue;
        }
        rule.counters.packets += 1;
        rule.counters.bytes += cx.pkt.len() as u64;
        // Words only for a trace.
        let chain_name = if tracing {
            chain.name.clone()
        } else {
            String::new()
        };
        let record = |trace: &mut Option<&mut Trace>,
                      verdict: &dyn Fn() -> String,
                      rewritten: Option<Headers>| {
            if let Some(t) = trace.as_deref_mut() {
                let mut s = step(&chain_name, Some(rule_no + 1), true, None, Some(verdict()));
                s.rewritten = rewritten;
                t.steps.push(s);
            }
        };
        let is_goto = matches!(rule.target, RuleTarget::Goto(_));
        match &mut rule.target {
            RuleTarget::None => record(&mut trace, &|| "continue".into(), None),
            RuleTarget::Verdict(Verdict::Accept) => {
                record(&mut trace, &|| "ACCEPT".into(), None);
                return (Fate::Accept, stale);
            }
            RuleTarget::Verdict(Verdict::Drop) => {
                record(&mut trace, &|| "DROP".into(), None);
                return (Fate::Drop, stale);
            }
            RuleTarget::Verdict(Verdict::Return) => {
                record(&mut trace, &|| "RETURN".into(), None);
                match stack.pop() {
                    Some(f) => cur = f,
                    None => {
                        let chain = &mut chains[base];
                        if chain.counted {
                            chain.counters.packets += 1;
                            chain.counters.bytes += cx.pkt.len() as u64;
                        }
                        let policy = chain.policy;
                        let base_name = chain.name.clone();
                        if let Some(t) = trace.as_deref_mut() {
                            t.steps.push(step(
                                &base_name,
                                None,
                                true,
                                None,
                                Some(format!("policy {}", policy.name())),
                            ));
                        }
                        let fate = if policy == Verdict::Drop {
                            Fate::Drop
                        } else {
                            Fate::Accept
                        };
                        return (fate, stale);
                    }
                }
            }
            RuleTarget::Jump(to) | RuleTarget::Goto(to) => {
                record(
                    &mut trace,
                    &|| format!("{} {to}", if is_goto { "goto" } else { "jump" }),
                    None,
                );
                let target = match cw {
                    Some(w) => Ok(w.target(rule_no)),
                    None => Err(to.clone()),
                };
                let target = target.unwrap_or_else(|to| chains.iter().position(|c| c.name == to));
                let Some(ti) = target else {
                    return (Fate::Drop, stale);
                };
                // A chain reached through a dispatch is far from where
                // recent packets went (the chains it reaches are not).
                if skip && cw.is_some_and(|w| w.is_dispatched()) {
                    if ti != loaded_ahead {
                        prefetch_walk(chains_at, walk, ti, false);
                    }
                    entered_from_dispatch = true;
                }
                if !is_goto {
                    stack.push(Frame {
                        chain: cur.chain,
                        next_rule: cur.next_rule,
                    });
                }
                cur = Frame {
                    chain: ti,
                    next_rule: 0,
                };
            }
            RuleTarget::Ext(t) => {
                // A target that keeps the bytes needs no copy of them
                // (debug builds check that it kept them).
                let keeps = t.keeps_bytes() && !cfg!(debug_assertions);
                if !keeps {
                    before.get_or_insert_with(Snapshot::new).take(&cx.pkt.data);
                }
                let verdict = t.fire(&mut cx);
                let same = keeps || before.as_ref().is_some_and(|b| b.same(&cx.pkt.data));
                debug_assert!(
                    same || !t.keeps_bytes(),
                    "-j {} changed the bytes",
                    t.save_name()
                );
                let rewritten = if same {
                    None
                } else {
                    stale |= !cx.refresh();
                    tracing.then(|| cx.hdr.clone())
                };
                let fate = match verdict {
                    Some(TargetVerdict::Accept) => Some(Fate::Accept),
                    Some(TargetVerdict::Drop) => Some(Fate::Drop),
                    Some(TargetVerdict::Stolen) => Some(Fate::Stolen),
                    None | Some(TargetVerdict::Continue) => None,
                };
                if tracing {
                    let name = t.save_name();
                    let text = || match verdict {
                        None => format!("-j {name} cannot be carried out by the simulator"),
                        Some(TargetVerdict::Continue) => format!("{name}, continue"),
                        Some(TargetVerdict::Accept) => format!("{name}, ACCEPT"),
                        Some(TargetVerdict::Drop) => format!("{name}, DROP"),
                        Some(TargetVerdict::Stolen) => format!("{name}, stolen"),
                    };
                    record(&mut trace, &text, rewritten);
                }
                if let Some(f) = fate {
                    return (f, stale);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_frames_come_back_last_in_first_out_however_deep() {
        let frame = |i: usize| Frame {
            chain: if i == 7 { u32::MAX as usize + 1 } else { i },
            next_rule: 100 + i,
        };
        let mut stack = Frames::default();
        for i in 0..40 {
            stack.push(frame(i));
        }
        for i in (0..40).rev() {
            let f = stack.pop().expect("a frame");
            assert_eq!((f.chain, f.next_rule), (frame(i).chain, frame(i).next_rule));
        }
        assert!(stack.pop().is_none());
    }
}
