//! Whether every packet one rule matches is also matched by another (the
//! earlier rule "covers" the later one). Only conditions that can be
//! compared exactly are compared; anything else in the covering rule makes
//! the answer "no", so a "yes" is always right.

use crate::ext::conntrack::{
    Conntrack, ST_DNAT, ST_ESTABLISHED, ST_INVALID, ST_NEW, ST_RELATED, ST_SNAT, ST_UNTRACKED,
};
use crate::ext::icmp::Icmp;
use crate::ext::iprange::Iprange;
use crate::ext::mac::Mac;
use crate::ext::mark::MarkMatch;
use crate::ext::multiport::{Multiport, Which};
use crate::ext::state::State;
use crate::ext::tcp::{NativeTest, Tcp};
use crate::ext::udp::Udp;
use crate::ext::Match;
use crate::ruleset::{IpSpec, Net, Rule};

/// Matches that read only the packet and its connection as they are when
/// the chain starts (no target in between can change what they see).
const STABLE: &[&str] = &[
    "comment",
    "tcp",
    "udp",
    "multiport",
    "icmp",
    "state",
    "conntrack",
    "iprange",
    "mac",
    "addrtype",
    "pkttype",
    "length",
];

/// Matches without state of their own: two equal ones match the same
/// packets (at the same moment, with the same objects).
const PURE: &[&str] = &[
    "addrtype", "pkttype", "length", "ttl", "tos", "dscp", "physdev", "owner", "string", "time",
    "helper", "u32", "ah", "esp", "sctp", "dccp", "tcpmss", "policy", "realm", "set", "connmark",
    "ecn",
];

/// What the rules between two rules may change about a packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Barrier {
    /// Marks, sets, header fields: only [`STABLE`] conditions still hold.
    pub packet: bool,
    /// The conntrack entry too (`-j CT`, `-j NOTRACK`, jumps): not even
    /// the state conditions.
    pub conntrack: bool,
}

/// Whether `a` matches every packet `b` matches, with `barrier` saying
/// what the rules between them may have changed.
pub fn covers(a: &Rule, b: &Rule, barrier: Barrier) -> bool {
    if !ip_covers(&a.ip, &b.ip)
        || !net_implied(a.ip.src, a.ip.src_inv, b, true)
        || !net_implied(a.ip.dst, a.ip.dst_inv, b, false)
    {
        return false;
    }
    a.matches.iter().all(|m| {
        let name = m.info().name;
        if barrier.packet && !STABLE.contains(&name) {
            return false;
        }
        if barrier.conntrack && matches!(name, "state" | "conntrack") {
            return false;
        }
        name == "comment" || implied(m.as_ref(), b)
    })
}

fn net_covers(a: Net, ainv: bool, b: Net, binv: bool) -> bool {
    let (aa, ba) = (u32::from(a.addr), u32::from(b.addr));
    if !ainv {
        if a.mask == 0 {
            return true;
        }
        !binv && a.mask & !b.mask == 0 && ba & a.mask == aa & a.mask
    } else if a.mask == 0 {
        false
    } else if !binv {
        (aa ^ ba) & a.mask & b.mask != 0
    } else {
        b.mask != 0 && net_covers(b, false, a, false)
    }
}

/// `eth0` is one name, `eth+` every name starting with `eth`.
fn iface_subset(x: &str, y: &str) -> bool {
    match (x.strip_suffix('+'), y.strip_suffix('+')) {
        (p, Some(q)) => p.unwrap_or(x).starts_with(q),
        (None, None) => x == y,
        (Some(_), None) => false,
    }
}

fn iface_disjoint(x: &str, y: &str) -> bool {
    match (x.strip_suffix('+'), y.strip_suffix('+')) {
        (None, None) => x != y,
        (None, Some(q)) => !x.starts_with(q),
        (Some(p), None) => !y.starts_with(p),
        (Some(p), Some(q)) => !p.starts_with(q) && !q.starts_with(p),
    }
}

fn iface_covers(a: &str, ainv: bool, b: &str, binv: bool) -> bool {
    if a.is_empty() {
        return true;
    }
    if b.is_empty() {
        return false;
    }
    match (ainv, binv) {
        (false, false) => iface_subset(b, a),
        (false, true) => false,
        (true, false) => iface_disjoint(a, b),
        (true, true) => iface_subset(a, b),
    }
}

fn ip_covers(a: &IpSpec, b: &IpSpec) -> bool {
    let proto = match (a.proto, a.proto_inv) {
        (0, false) => true,
        (0, true) => false,
        (p, false) => !b.proto_inv && b.proto == p,
        (p, true) => {
            (!b.proto_inv && b.proto != 0 && b.proto != p) || (b.proto_inv && b.proto == p)
        }
    };
    let frag = !a.frag || (b.frag && b.frag_inv == a.frag_inv);
    proto
        && frag
        && iface_covers(&a.in_iface, a.in_inv, &b.in_iface, b.in_inv)
        && iface_covers(&a.out_iface, a.out_inv, &b.out_iface, b.out_inv)
}

/// Whether `-s`/`-d` of the covering rule holds for every packet of `b`:
/// by `b`'s own address, or by an address range `b` matches (`-m iprange`).
fn net_implied(a: Net, ainv: bool, b: &Rule, src: bool) -> bool {
    let (bn, binv) = if src {
        (b.ip.src, b.ip.src_inv)
    } else {
        (b.ip.dst, b.ip.dst_inv)
    };
    if net_covers(a, ainv, bn, binv) {
        return true;
    }
    let lo = u32::from(a.addr) & a.mask;
    let hi = lo | !a.mask;
    let contiguous = a.mask.leading_ones() + a.mask.trailing_zeros() == 32;
    contiguous
        && addr_ranges(b, src).iter().any(|(x, y)| {
            if ainv {
                *y < lo || hi < *x
            } else {
                lo <= *x && *y <= hi
            }
        })
}

type Ranges = Vec<(u16, u16)>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Src,
    Dst,
}

/// The port conditions of `b` on one side: sets of ranges and inversion.
fn port_conditions(b: &Rule, side: Side) -> Vec<(Ranges, bool)> {
    let mut v = Vec::new();
    for m in &b.matches {
        let any = m.as_any();
        let pair = |r: (u16, u16), inv: bool, tests: &[NativeTest]| {
            let odd = tests
                .iter()
                .any(|t| matches!(t, NativeTest::Pair(_, _, true)));
            (!odd && (r != (0, u16::MAX) || inv)).then(|| (vec![r], inv))
        };
        if let Some(t) = any.downcast_ref::<Tcp>() {
            let (r, inv) = match side {
                Side::Src => (t.sport, t.sport_inv),
                Side::Dst => (t.dport, t.dport_inv),
            };
            v.extend(pair(r, inv, &t.tests));
        } else if let Some(u) = any.downcast_ref::<Udp>() {
            let (r, inv) = match side {
                Side::Src => (u.sport, u.sport_inv),
                Side::Dst => (u.dport, u.dport_inv),
            };
            v.extend(pair(r, inv, &u.tests));
        } else if let Some(mp) = any.downcast_ref::<Multiport>() {
            let mine = match side {
                Side::Src => Which::Source,
                Side::Dst => Which::Destination,
            };
            if mp.which == mine {
                v.push((multiport_ranges(mp), mp.inv));
            }
        }
    }
    v
}

fn multiport_ranges(mp: &Multiport) -> Ranges {
    mp.ports
        .iter()
        .map(|(lo, hi)| (*lo, hi.unwrap_or(*lo)))
        .collect()
}

fn range_in(x: (u16, u16), ys: &Ranges) -> bool {
    ys.iter().any(|y| y.0 <= x.0 && x.1 <= y.1)
}

fn range_apart(x: (u16, u16), ys: &Ranges) -> bool {
    ys.iter().all(|y| x.1 < y.0 || y.1 < x.0)
}

/// Whether port condition `a` (ranges, inversion) holds for every packet
/// of `b` on that side.
fn ports_implied(a: &Ranges, ainv: bool, b: &Rule, side: Side) -> bool {
    port_conditions(b, side)
        .iter()
        .any(|(bs, binv)| match (ainv, *binv) {
            (false, false) => bs.iter().all(|x| range_in(*x, a)),
            (true, false) => bs.iter().all(|x| range_apart(*x, a)),
            (true, true) => a.iter().all(|x| range_in(*x, bs)),
            (false, true) => false,
        })
}

fn one_side(a: (u16, u16), ainv: bool, b: &Rule, side: Side) -> bool {
    if a == (0, u16::MAX) {
        return !ainv;
    }
    ports_implied(&vec![a], ainv, b, side)
}

const ALL_STATES: u16 = ST_INVALID | ST_ESTABLISHED | ST_RELATED | ST_NEW | ST_UNTRACKED;

/// The states a state condition lets through, `None` when not comparable.
fn state_set(mask: u16, inv: bool) -> Option<u16> {
    if mask & (ST_SNAT | ST_DNAT) != 0 {
        return None;
    }
    Some(if inv { ALL_STATES & !mask } else { mask })
}

fn rule_states(b: &Rule) -> u16 {
    let mut set = ALL_STATES;
    for m in &b.matches {
        let any = m.as_any();
        let st = if let Some(s) = any.downcast_ref::<State>() {
            Some((s.mask, s.inv))
        } else {
            any.downcast_ref::<Conntrack>().and_then(|c| c.state)
        };
        if let Some(s) = st.and_then(|(m, i)| state_set(m, i)) {
            set &= s;
        }
    }
    set
}

fn find<T: 'static>(b: &Rule) -> impl Iterator<Item = &T> {
    b.matches
        .iter()
        .filter_map(|m| m.as_any().downcast_ref::<T>())
}

/// The source or destination addresses of `b` as inclusive ranges.
fn addr_ranges(b: &Rule, src: bool) -> Vec<(u32, u32)> {
    let mut v = Vec::new();
    let (n, inv) = if src {
        (b.ip.src, b.ip.src_inv)
    } else {
        (b.ip.dst, b.ip.dst_inv)
    };
    let contiguous = n.mask.leading_ones() + n.mask.trailing_zeros() == 32;
    if !inv && n.mask != 0 && contiguous {
        let lo = u32::from(n.addr) & n.mask;
        v.push((lo, lo | !n.mask));
    }
    for r in find::<Iprange>(b) {
        if let Some(r) = if src { &r.src } else { &r.dst } {
            if !r.inv {
                v.push((u32::from(r.min), u32::from(r.max)));
            }
        }
    }
    v
}

/// Whether match `m` (of the covering rule) holds for every packet of `b`.
fn implied(m: &dyn Match, b: &Rule) -> bool {
    let any = m.as_any();
    if let Some(t) = any.downcast_ref::<Tcp>() {
        if t.option != 0
            || t.tests
                .iter()
                .any(|x| matches!(x, NativeTest::Pair(_, _, true)))
        {
            return false;
        }
        let flags = t.flg_mask == 0
            || find::<Tcp>(b).any(|u| {
                let (am, ac, bm, bc) = (
                    t.flg_mask,
                    t.flg_cmp & t.flg_mask,
                    u.flg_mask,
                    u.flg_cmp & u.flg_mask,
                );
                match (t.flags_inv, u.flags_inv) {
                    (false, false) => am & !bm == 0 && bc & am == ac,
                    (true, false) => am & !bm == 0 && bc & am != ac,
                    (true, true) => am == bm && ac == bc,
                    (false, true) => false,
                }
            });
        return flags
            && one_side(t.sport, t.sport_inv, b, Side::Src)
            && one_side(t.dport, t.dport_inv, b, Side::Dst);
    }
    if let Some(u) = any.downcast_ref::<Udp>() {
        if u.tests
            .iter()
            .any(|x| matches!(x, NativeTest::Pair(_, _, true)))
        {
            return false;
        }
        return one_side(u.sport, u.sport_inv, b, Side::Src)
            && one_side(u.dport, u.dport_inv, b, Side::Dst);
    }
    if let Some(mp) = any.downcast_ref::<Multiport>() {
        let a = multiport_ranges(mp);
        return match mp.which {
            Which::Source => ports_implied(&a, mp.inv, b, Side::Src),
            Which::Destination => ports_implied(&a, mp.inv, b, Side::Dst),
            Which::Either => {
                !mp.inv
                    && (ports_implied(&a, false, b, Side::Src)
                        || ports_implied(&a, false, b, Side::Dst)
                        || find::<Multiport>(b).any(|o| {
                            o.which == Which::Either
                                && !o.inv
                                && multiport_ranges(o).iter().all(|x| range_in(*x, &a))
                        }))
            }
        };
    }
    if let Some(s) = any.downcast_ref::<State>() {
        return state_set(s.mask, s.inv).is_some_and(|a| rule_states(b) & !a == 0);
    }
    if let Some(c) = any.downcast_ref::<Conntrack>() {
        let only_state = Conntrack {
            state: c.state,
            ..Conntrack::default()
        };
        return *c == only_state
            && c.state
                .and_then(|(m, i)| state_set(m, i))
                .is_some_and(|a| rule_states(b) & !a == 0);
    }
    if let Some(i) = any.downcast_ref::<Icmp>() {
        if i.icmp_type == 0xff && !i.inv {
            return true;
        }
        return find::<Icmp>(b).any(|o| {
            let inside = o.icmp_type == i.icmp_type && i.code.0 <= o.code.0 && o.code.1 <= i.code.1;
            let apart = o.icmp_type != 0xff
                && (o.icmp_type != i.icmp_type || o.code.1 < i.code.0 || i.code.1 < o.code.0);
            match (i.inv, o.inv) {
                (false, false) => o.icmp_type != 0xff && inside,
                (true, false) => apart,
                (true, true) => o == i,
                (false, true) => false,
            }
        });
    }
    if let Some(r) = any.downcast_ref::<Iprange>() {
        let side_ok = |range: &Option<crate::ext::iprange::Range>, src: bool| match range {
            None => true,
            Some(r) => {
                let (lo, hi) = (u32::from(r.min), u32::from(r.max));
                addr_ranges(b, src).iter().any(|(x, y)| {
                    if r.inv {
                        *y < lo || hi < *x
                    } else {
                        lo <= *x && *y <= hi
                    }
                })
            }
        };
        return side_ok(&r.src, true) && side_ok(&r.dst, false);
    }
    if let Some(mac) = any.downcast_ref::<Mac>() {
        return find::<Mac>(b).any(|o| o == mac);
    }
    if let Some(mk) = any.downcast_ref::<MarkMatch>() {
        return find::<MarkMatch>(b).any(|o| {
            o == mk
                || (!mk.inv
                    && !o.inv
                    && mk.mask & !o.mask == 0
                    && o.mark & mk.mask == mk.mark & mk.mask)
        });
    }
    let name = m.info().name;
    if PURE.contains(&name) {
        let key = m.data_key();
        return b
            .matches
            .iter()
            .any(|o| o.info().name == name && o.data_key() == key);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_patterns() {
        assert!(iface_covers("eth+", false, "eth0", false));
        assert!(iface_covers("eth+", false, "eth1+", false));
        assert!(!iface_covers("eth0", false, "eth+", false));
        assert!(iface_covers("eth0", true, "wlan0", false));
        assert!(!iface_covers("eth+", true, "eth0", false));
        assert!(iface_covers("eth0", true, "eth+", true));
        assert!(iface_covers("+", false, "lo", false));
    }

    #[test]
    fn networks() {
        let n = |a: [u8; 4], p: u32| Net {
            addr: a.into(),
            mask: if p == 0 { 0 } else { u32::MAX << (32 - p) },
        };
        assert!(net_covers(
            n([10, 0, 0, 0], 8),
            false,
            n([10, 1, 0, 0], 16),
            false
        ));
        assert!(!net_covers(
            n([10, 1, 0, 0], 16),
            false,
            n([10, 0, 0, 0], 8),
            false
        ));
        assert!(net_covers(
            n([10, 0, 0, 0], 8),
            true,
            n([192, 168, 0, 0], 16),
            false
        ));
        assert!(!net_covers(
            n([10, 0, 0, 0], 8),
            true,
            n([10, 1, 0, 0], 16),
            false
        ));
        assert!(net_covers(
            n([10, 1, 0, 0], 16),
            true,
            n([10, 0, 0, 0], 8),
            true
        ));
    }
}
