//! NAT as conntrack does it: a binding chosen once, on a connection's first
//! packet, by rewriting the reply tuple; every later packet of the connection
//! (both directions, and ICMP errors about it) is rewritten from the tuples.

use super::conntrack::{status, Dir, Tuple};
use super::eval::{EvalCx, Manip, NatRange, TargetVerdict};
use crate::packet::{Headers, Packet, L4};
use std::net::Ipv4Addr;

/// Status bit telling that a manip type was bound (NAT or null binding).
pub fn done_bit(m: Manip) -> u32 {
    match m {
        Manip::Src => status::SRC_NAT_DONE,
        Manip::Dst => status::DST_NAT_DONE,
    }
}

fn nat_bit(m: Manip) -> u32 {
    match m {
        Manip::Src => status::SRC_NAT,
        Manip::Dst => status::DST_NAT,
    }
}

fn has_ports(proto: u8) -> bool {
    matches!(proto, 6 | 17 | 132 | 33 | 136)
}

/// Binds the packet's (new) connection as the NAT target asks, as
/// `nf_nat_setup_info` does. Returns ACCEPT, the verdict of NAT targets.
pub fn setup(cx: &mut EvalCx, manip: Manip, range: NatRange) -> TargetVerdict {
    let Some(idx) = cx.ct else {
        return TargetVerdict::Accept;
    };
    let Some(entry) = cx.conntrack.get(idx) else {
        return TargetVerdict::Accept;
    };
    if entry.has(done_bit(manip)) {
        return TargetVerdict::Accept;
    }
    // The tuple of the original direction as it will look after every manip so far.
    let mut t = entry.reply.inverted();
    let addr = if range.map_ips {
        pick_addr(&range, &t, manip)
    } else {
        match manip {
            Manip::Src => t.src,
            Manip::Dst => t.dst,
        }
    };
    match manip {
        Manip::Src => t.src = addr,
        Manip::Dst => t.dst = addr,
    }
    if has_ports(t.proto) || t.proto == 1 {
        let cur = match manip {
            Manip::Src => t.sport,
            Manip::Dst if t.proto == 1 => t.sport,
            Manip::Dst => t.dport,
        };
        let (lo, hi) = if range.proto_specified {
            (range.min_port, range.max_port)
        } else if manip == Manip::Src && has_ports(t.proto) {
            default_src_range(cur)
        } else {
            (cur, cur)
        };
        let set = |t: &mut Tuple, p: u16| match manip {
            Manip::Src => t.sport = p,
            Manip::Dst if t.proto == 1 => t.sport = p,
            Manip::Dst => t.dport = p,
        };
        let in_range = cur >= lo && cur <= hi;
        let unique = |t: &Tuple| !cx.conntrack.tuple_taken(&t.inverted());
        let mut chosen = None;
        if in_range && !range.random_fully && unique(&t) {
            chosen = Some(cur);
        } else {
            let size = (hi as u32 - lo as u32) + 1;
            let start = if range.random_fully || range.random {
                cx.rng.next_u32() % size
            } else {
                (cur as u32).wrapping_sub(lo as u32) % size
            };
            for i in 0..size.min(65536) {
                let p = (lo as u32 + (start + i) % size) as u16;
                let mut c = t;
                set(&mut c, p);
                if unique(&c) {
                    chosen = Some(p);
                    break;
                }
            }
        }
        match chosen {
            Some(p) => set(&mut t, p),
            None => return TargetVerdict::Drop,
        }
    }
    let reply = t.inverted();
    let changed = reply != entry.reply;
    if changed {
        cx.conntrack.set_reply(idx, reply, nat_bit(manip));
    }
    if let Some(e) = cx.conntrack.get_mut(idx) {
        e.status |= done_bit(manip);
    }
    TargetVerdict::Accept
}

/// The kernel spreads connections over an address range by a hash; we take
/// a stable pick from the source and destination so runs are reproducible.
fn pick_addr(range: &NatRange, t: &Tuple, manip: Manip) -> Ipv4Addr {
    let lo = u32::from(range.min_addr);
    let hi = u32::from(range.max_addr).max(lo);
    let n = hi - lo + 1;
    if n == 1 {
        return range.min_addr;
    }
    let key = match manip {
        Manip::Src => u32::from(t.src),
        Manip::Dst => u32::from(t.src) ^ u32::from(t.dst),
    };
    let h = key.wrapping_mul(0x9e37_79b1);
    Ipv4Addr::from(lo + h % n)
}

/// Source ports the kernel uses when SNAT gives no port range.
fn default_src_range(port: u16) -> (u16, u16) {
    if port < 512 {
        (1, 511)
    } else if port < 1024 {
        (600, 1023)
    } else {
        (1024, 65535)
    }
}

/// Sets up a binding that changes nothing (no NAT rule matched).
pub fn null_binding(conntrack: &mut super::conntrack::Conntrack, idx: usize, manip: Manip) {
    if let Some(e) = conntrack.get_mut(idx) {
        e.status |= done_bit(manip);
    }
}

/// Rewrites a packet of a NATed connection at a hook (`nf_nat_packet`), also
/// translating ICMP errors about the connection. Returns whether it changed.
pub fn apply(
    conntrack: &super::conntrack::Conntrack,
    idx: usize,
    dir: Dir,
    manip: Manip,
    pkt: &mut Packet,
    hdr: &Headers,
) -> bool {
    let Some(e) = conntrack.get(idx) else {
        return false;
    };
    let mut bit = nat_bit(manip);
    if dir == Dir::Reply {
        bit = match manip {
            Manip::Src => status::DST_NAT,
            Manip::Dst => status::SRC_NAT,
        };
    }
    if !e.has(bit) {
        return false;
    }
    // What the packet must look like: the other direction's tuple, inverted.
    let target = match dir {
        Dir::Original => e.reply.inverted(),
        Dir::Reply => e.orig.inverted(),
    };
    if let L4::Icmp(i) = &hdr.l4 {
        if i.is_error() {
            if let Some(inner) = &i.inner {
                let ports = inner.ports();
                let (mut isrc, mut idst) = (inner.src, inner.dst);
                let mut iports = ports;
                match manip {
                    Manip::Dst => {
                        pkt.set_dst(target.dst);
                        isrc = target.dst;
                        if let Some((_, dp)) = ports {
                            iports = Some((target.dport, dp));
                        }
                    }
                    Manip::Src => {
                        pkt.set_src(target.src);
                        idst = target.src;
                        if let Some((sp, _)) = ports {
                            iports = Some((sp, target.sport));
                        }
                    }
                }
                pkt.set_inner_addrs_ports(isrc, idst, iports);
                return true;
            }
        }
    }
    match manip {
        Manip::Src => {
            pkt.set_src(target.src);
            if has_ports(hdr.proto) {
                pkt.set_sport(target.sport);
            } else if hdr.proto == 1 {
                pkt.set_icmp_id(target.sport);
            }
        }
        Manip::Dst => {
            pkt.set_dst(target.dst);
            if has_ports(hdr.proto) {
                pkt.set_dport(target.dport);
            } else if hdr.proto == 1 {
                pkt.set_icmp_id(target.sport);
            }
        }
    }
    true
}
