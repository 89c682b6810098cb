//! NAT as conntrack does it: a binding chosen once, on a connection's first
//! packet, by rewriting the reply tuple; every later packet of the connection
//! (both directions, and ICMP errors about it) is rewritten from the tuples.

use super::conntrack::{status, Conntrack, Dir, TcpState, Tuple};
use super::eval::{EvalCx, Manip, NatRange, Rng, TargetVerdict};
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
    bind(cx.conntrack, cx.rng, idx, manip, &range);
    TargetVerdict::Accept
}

/// `nf_nat_setup_info` on connection `idx`. A tuple that stays taken (no
/// free one in the range) makes the insert fail at confirm.
fn bind(ct: &mut Conntrack, rng: &mut Rng, idx: usize, manip: Manip, range: &NatRange) {
    let Some(entry) = ct.get(idx) else {
        return;
    };
    // No NAT setup for a confirmed connection; a manip is set up once.
    if entry.has(status::CONFIRMED) || entry.has(done_bit(manip)) {
        return;
    }
    // The tuple of the original direction as it will look after every manip so far.
    let curr = entry.reply.inverted();
    let zone = entry.zone;
    let new = unique_tuple(ct, rng, idx, zone, &curr, range, manip);
    if new != curr {
        ct.set_reply(idx, new.inverted(), nat_bit(manip));
    }
    match manip {
        Manip::Src => ct.mark_src_done(idx),
        Manip::Dst => {
            if let Some(e) = ct.get_mut(idx) {
                e.status |= status::DST_NAT_DONE;
            }
        }
    }
}

/// Whether another (confirmed) connection already uses the tuple's reply
/// (`nf_nat_used_tuple`).
fn used(ct: &Conntrack, idx: usize, zone: u16, t: &Tuple) -> bool {
    match ct.tuple_owner(zone, &t.inverted()) {
        Some((i, _)) => i != idx && ct.get(i).is_some_and(|e| e.has(status::CONFIRMED)),
        None => false,
    }
}

/// `nf_nat_used_tuple_harder`: in the last attempts for a new TCP
/// connection, a source-NATed connection that is closing (TIME_WAIT or
/// CLOSE) and holds the tuple is evicted when the new connection's
/// sequence numbers are past the old one's: the tuple is free then.
fn used_harder(ct: &mut Conntrack, idx: usize, zone: u16, t: &Tuple, attempts_left: u32) -> bool {
    const HARDER_THRESHOLD: u32 = 128 / 4;
    let Some(new) = ct.get(idx) else {
        return used(ct, idx, zone, t);
    };
    if attempts_left > HARDER_THRESHOLD || t.proto != 6 || new.tcp != TcpState::SynSent {
        return used(ct, idx, zone, t);
    }
    let new_end = new.orig_end;
    let Some((other, dir)) = ct.tuple_owner(zone, &t.inverted()) else {
        return false;
    };
    if dir != Dir::Reply || other == idx {
        return true;
    }
    let Some(old) = ct.get(other).filter(|e| e.has(status::CONFIRMED)) else {
        return false;
    };
    let closing = matches!(old.tcp, TcpState::TimeWait | TcpState::Close);
    let may_kill = closing && old.has(status::SRC_NAT) && !old.has(status::DYING);
    if !may_kill || (new_end.wrapping_sub(old.orig_end) as i32) <= 0 {
        return true;
    }
    ct.kill(other);
    false
}

/// The port (ICMP: echo id) a manip changes.
fn key(t: &Tuple, manip: Manip) -> u16 {
    if t.proto == 1 || manip == Manip::Src {
        t.sport
    } else {
        t.dport
    }
}

fn set_key(t: &mut Tuple, manip: Manip, p: u16) {
    if t.proto == 1 || manip == Manip::Src {
        t.sport = p
    } else {
        t.dport = p
    }
}

/// `l4proto_in_range`: the manip's port within the range (protocols
/// without ports always are).
fn l4_in_range(t: &Tuple, manip: Manip, r: &NatRange) -> bool {
    if t.proto == 1 || has_ports(t.proto) {
        let k = key(t, manip);
        k >= r.min_port && k <= r.max_port
    } else {
        true
    }
}

/// `nf_in_range` for a source manip: address and port already in the range.
fn src_in_range(t: &Tuple, r: &NatRange) -> bool {
    if r.map_ips && !(t.src >= r.min_addr && t.src <= r.max_addr) {
        return false;
    }
    !r.proto_specified || l4_in_range(t, Manip::Src, r)
}

/// `find_appropriate_src`: the mapping an earlier connection from the same
/// source address and port got, if it fits the range (the newest such
/// connection whose mapping fits, as the kernel walks its `bysource` list).
fn appropriate_src(
    ct: &Conntrack,
    idx: usize,
    zone: u16,
    t: &Tuple,
    r: &NatRange,
) -> Option<Tuple> {
    let me = ct.get(idx).map(|e| e.id);
    let mut same: Vec<&super::conntrack::Entry> = ct
        .by_source(zone, t)
        .filter(|e| Some(e.id) != me && !e.has(status::DYING))
        .collect();
    // Newest (latest created) first.
    same.sort_by_key(|e| std::cmp::Reverse(e.id));
    same.into_iter().find_map(|e| {
        let mapped = e.reply.inverted();
        let cand = Tuple {
            src: mapped.src,
            sport: mapped.sport,
            ..*t
        };
        src_in_range(&cand, r).then_some(cand)
    })
}

/// `get_unique_tuple`: the tuple the connection will have after the manip.
#[allow(clippy::too_many_arguments)]
fn unique_tuple(
    ct: &mut Conntrack,
    rng: &mut Rng,
    idx: usize,
    zone: u16,
    orig: &Tuple,
    r: &NatRange,
    manip: Manip,
) -> Tuple {
    let random_all = r.random || r.random_fully;
    // 1) A source manip keeps the tuple when it is in range and free, or
    //    reuses the mapping of an earlier connection from the same source.
    if manip == Manip::Src && !random_all {
        if src_in_range(orig, r) {
            if !used(ct, idx, zone, orig) {
                return *orig;
            }
        } else if let Some(t) = appropriate_src(ct, idx, zone, orig, r) {
            if !used(ct, idx, zone, &t) {
                return t;
            }
        }
    }
    // 2) The address.
    let mut t = *orig;
    best_ips(&mut t, r, manip, zone);
    // 3) The port, unless it is already in range and free (a single port
    //    is taken as it is).
    if !random_all {
        if r.proto_specified {
            if !r.offset
                && l4_in_range(&t, manip, r)
                && (r.min_port == r.max_port || !used(ct, idx, zone, &t))
            {
                return t;
            }
        } else if !used(ct, idx, zone, &t) {
            return t;
        }
    }
    l4_unique(ct, rng, idx, zone, t, r, manip)
}

/// `nf_nat_l4proto_unique_tuple`: searches the port range for a free tuple.
#[allow(clippy::too_many_arguments)]
fn l4_unique(
    ct: &mut Conntrack,
    rng: &mut Rng,
    idx: usize,
    zone: u16,
    mut t: Tuple,
    r: &NatRange,
    manip: Manip,
) -> Tuple {
    let (lo, hi) = if r.max_port < r.min_port {
        (r.max_port as u32, r.min_port as u32)
    } else {
        (r.min_port as u32, r.max_port as u32)
    };
    let (min, size): (u32, u32) = if t.proto == 1 {
        if r.proto_specified {
            (lo, hi - lo + 1)
        } else {
            (0, 65536)
        }
    } else if has_ports(t.proto) {
        if r.proto_specified {
            (lo, hi - lo + 1)
        } else if manip == Manip::Dst {
            // A destination manip without ports keeps the port.
            return t;
        } else {
            match key(&t, manip) {
                p if p < 512 => (1, 511),
                p if p < 1024 => (600, 424),
                _ => (1024, 64512),
            }
        }
    } else {
        return t;
    };
    let random_all = r.random || r.random_fully;
    let mut off: u16 = if r.offset {
        key(&t, manip).wrapping_sub(r.base_port)
    } else if random_all || manip != Manip::Dst {
        rng.next_u32() as u16
    } else {
        0
    };
    let mut attempts = size.min(128);
    loop {
        for i in 0..attempts {
            set_key(&mut t, manip, (min + off as u32 % size) as u16);
            if !used_harder(ct, idx, zone, &t, attempts - i) {
                return t;
            }
            off = off.wrapping_add(1);
        }
        // Out of attempts: the last tuple tried stays, taken; the
        // connection's insert fails at confirm.
        if attempts >= size || attempts < 16 {
            return t;
        }
        attempts /= 2;
        off = rng.next_u32() as u16;
    }
}

/// `find_best_ips_proto`: the address from a range, hashed from the source
/// and destination like the kernel (`jhash2`), so a client keeps its address.
fn best_ips(t: &mut Tuple, r: &NatRange, manip: Manip, zone: u16) {
    if !r.map_ips {
        return;
    }
    let pick = if r.min_addr == r.max_addr {
        r.min_addr
    } else {
        // Addresses as the kernel's u32 words hold them (network order in a
        // little-endian word); the IPv4 address is the first of four words.
        let word = |a: Ipv4Addr| u32::from_le_bytes(a.octets());
        let init = if r.persistent {
            0
        } else {
            word(t.dst) ^ zone as u32
        };
        let j = jhash2(&[word(t.src), 0, 0, 0], init);
        let lo = u32::from(r.min_addr);
        let dist = u32::from(r.max_addr).wrapping_sub(lo).wrapping_add(1);
        Ipv4Addr::from(lo.wrapping_add(((j as u64 * dist as u64) >> 32) as u32))
    };
    match manip {
        Manip::Src => t.src = pick,
        Manip::Dst => t.dst = pick,
    }
}

/// Bob Jenkins' lookup3 hash over 32-bit words, as the kernel's `jhash2`.
pub fn jhash2(k: &[u32], initval: u32) -> u32 {
    let mut a = 0xdead_beef_u32
        .wrapping_add((k.len() as u32) << 2)
        .wrapping_add(initval);
    let (mut b, mut c) = (a, a);
    let mut k = k;
    while k.len() > 3 {
        a = a.wrapping_add(k[0]);
        b = b.wrapping_add(k[1]);
        c = c.wrapping_add(k[2]);
        // __jhash_mix
        a = a.wrapping_sub(c);
        a ^= c.rotate_left(4);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= a.rotate_left(6);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= b.rotate_left(8);
        b = b.wrapping_add(a);
        a = a.wrapping_sub(c);
        a ^= c.rotate_left(16);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= a.rotate_left(19);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= b.rotate_left(4);
        b = b.wrapping_add(a);
        k = &k[3..];
    }
    if k.is_empty() {
        return c;
    }
    if k.len() == 3 {
        c = c.wrapping_add(k[2]);
    }
    if k.len() >= 2 {
        b = b.wrapping_add(k[1]);
    }
    a = a.wrapping_add(k[0]);
    // __jhash_final
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(14));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(11));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(25));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(16));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(4));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(14));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(24));
    c
}

/// The binding of a new connection no NAT rule bound
/// (`nf_nat_alloc_null_binding`): the addresses stay, but a port another
/// connection's reply already uses is changed like a NAT rule would (a
/// source port for the source manip).
pub fn null_binding(ct: &mut Conntrack, rng: &mut Rng, idx: usize, manip: Manip) {
    let Some(e) = ct.get(idx) else {
        return;
    };
    if e.has(done_bit(manip)) {
        return;
    }
    let addr = match manip {
        Manip::Src => e.reply.dst,
        Manip::Dst => e.reply.src,
    };
    let range = NatRange {
        min_addr: addr,
        max_addr: addr,
        map_ips: true,
        proto_specified: false,
        min_port: 0,
        max_port: 0,
        random: false,
        random_fully: false,
        persistent: false,
        offset: false,
        base_port: 0,
    };
    bind(ct, rng, idx, manip, &range);
}

/// What [`apply`] did to a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Nothing: the connection has no such manip.
    No,
    /// Addresses and ports rewritten; the headers given were brought up to date.
    Followed,
    /// Rewritten otherwise (ICMP): the headers given are stale.
    Rewritten,
}

/// Rewrites a packet of a NATed connection at a hook (`nf_nat_packet`), also
/// translating ICMP errors about the connection.
pub fn apply(
    conntrack: &super::conntrack::Conntrack,
    idx: usize,
    dir: Dir,
    manip: Manip,
    pkt: &mut Packet,
    hdr: &mut Headers,
) -> Applied {
    match rewrite(conntrack, idx, dir, manip, pkt, hdr) {
        None => Applied::No,
        Some((t, true)) if follow(hdr, manip, &t) => {
            debug_assert_eq!(
                Ok(&*hdr),
                pkt.headers().as_ref(),
                "headers followed the rewrite"
            );
            Applied::Followed
        }
        Some(_) => Applied::Rewritten,
    }
}

/// Brings parsed TCP/UDP headers up to what [`rewrite`] wrote for `manip`
/// (addresses, and ports as `Packet::set_src_port` writes them); false for
/// anything else.
fn follow(hdr: &mut Headers, manip: Manip, t: &Tuple) -> bool {
    let ports = match &mut hdr.l4 {
        L4::Tcp(tcp) => Some((&mut tcp.sport, &mut tcp.dport)),
        L4::Udp(udp) => Some((&mut udp.sport, &mut udp.dport)),
        L4::Fragment => None,
        _ => return false,
    };
    match manip {
        Manip::Src => {
            hdr.src = t.src;
            if let Some((sport, _)) = ports {
                *sport = t.sport;
            }
        }
        Manip::Dst => {
            hdr.dst = t.dst;
            if let Some((_, dport)) = ports {
                *dport = t.dport;
            }
        }
    }
    true
}

/// The rewrite of [`apply`]: the tuple the packet was made to carry and
/// whether addresses and ports were all that changed, or `None` when the
/// connection has no such manip.
fn rewrite(
    conntrack: &super::conntrack::Conntrack,
    idx: usize,
    dir: Dir,
    manip: Manip,
    pkt: &mut Packet,
    hdr: &Headers,
) -> Option<(Tuple, bool)> {
    let e = conntrack.get(idx)?;
    let mut bit = nat_bit(manip);
    if dir == Dir::Reply {
        bit = match manip {
            Manip::Src => status::DST_NAT,
            Manip::Dst => status::SRC_NAT,
        };
    }
    if !e.has(bit) {
        return None;
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
                return Some((target, false));
            }
        }
    }
    match manip {
        Manip::Src if has_ports(hdr.proto) => pkt.set_src_port(target.src, target.sport),
        Manip::Dst if has_ports(hdr.proto) => pkt.set_dst_port(target.dst, target.dport),
        Manip::Src => {
            pkt.set_src(target.src);
            if hdr.proto == 1 {
                pkt.set_icmp_id(target.sport);
            }
        }
        Manip::Dst => {
            pkt.set_dst(target.dst);
            if hdr.proto == 1 {
                pkt.set_icmp_id(target.sport);
            }
        }
    }
    Some((target, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(lo: &str, hi: &str, persistent: bool) -> NatRange {
        NatRange {
            min_addr: lo.parse().unwrap(),
            max_addr: hi.parse().unwrap(),
            map_ips: true,
            proto_specified: false,
            min_port: 0,
            max_port: 0,
            random: false,
            random_fully: false,
            persistent,
            offset: false,
            base_port: 0,
        }
    }

    fn pick(src: &str, dst: &str, r: &NatRange, manip: Manip) -> Ipv4Addr {
        let mut t = Tuple {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            proto: 6,
            sport: 1,
            dport: 2,
        };
        best_ips(&mut t, r, manip, 0);
        match manip {
            Manip::Src => t.src,
            Manip::Dst => t.dst,
        }
    }

    /// `find_appropriate_src` as a scan of every connection, newest first
    /// (what the `bysource` lists must agree with).
    fn appropriate_src_by_scan(
        ct: &Conntrack,
        idx: usize,
        zone: u16,
        t: &Tuple,
        r: &NatRange,
    ) -> Option<Tuple> {
        let mut same: Vec<&crate::sim::conntrack::Entry> = ct
            .iter()
            .filter(|e| {
                ct.get(idx).is_none_or(|me| me.id != e.id)
                    && e.has(status::SRC_NAT_DONE)
                    && e.zone == zone
                    && e.orig.proto == t.proto
                    && e.orig.src == t.src
                    && e.orig.sport == t.sport
            })
            .collect();
        same.reverse();
        same.into_iter().find_map(|e| {
            let mapped = e.reply.inverted();
            let cand = Tuple {
                src: mapped.src,
                sport: mapped.sport,
                ..*t
            };
            src_in_range(&cand, r).then_some(cand)
        })
    }

    /// Many connections from few sources, bound, confirmed, killed,
    /// removed and flushed: the lookup by source finds what a scan of all
    /// connections finds, and new connections get the binding they got
    /// when every connection was scanned.
    #[test]
    fn bysource_lookup_chooses_like_a_scan() {
        use crate::packet::{build_tcp, IpFields, TcpFields};
        let mut ct = Conntrack::default();
        let mut rng = Rng::seeded(3);
        let mut pick = Rng::seeded(11);
        let ranges = [
            range("10.7.0.1", "10.7.0.4", false),
            range("10.7.0.3", "10.7.0.3", false),
            NatRange {
                proto_specified: true,
                min_port: 2000,
                max_port: 2003,
                ..range("10.7.0.1", "10.7.0.2", false)
            },
        ];
        let mut reused = 0;
        for i in 0..3000u32 {
            let n = pick.next_u32();
            let src = Ipv4Addr::new(10, 1, 0, (n % 5) as u8);
            let dst = Ipv4Addr::new(10, 9, 0, (n >> 8) as u8 % 50);
            let sport = 1000 + (n >> 16) as u16 % 3;
            let h = build_tcp(
                &IpFields::new(src, dst),
                &TcpFields {
                    sport,
                    dport: 80,
                    flags: crate::packet::tcp_flags::SYN,
                    window: 100,
                    ..Default::default()
                },
                b"",
            )
            .headers()
            .unwrap();
            let now = i as u64 * 1_000_000;
            let l = ct.track(&h, now);
            let Some(idx) = l.idx else { continue };
            if ct.get(idx).unwrap().has(status::SRC_NAT_DONE) {
                continue;
            }
            let r = &ranges[(n >> 24) as usize % ranges.len()];
            let t = ct.get(idx).unwrap().reply.inverted();
            let want = appropriate_src_by_scan(&ct, idx, 0, &t, r);
            assert_eq!(appropriate_src(&ct, idx, 0, &t, r), want, "connection {i}");
            reused += want.is_some() as u32;
            bind(&mut ct, &mut rng, idx, Manip::Src, r);
            match n % 23 {
                0 => ct.drop_unconfirmed(idx),
                1 => {
                    ct.confirm(idx);
                    ct.kill(idx);
                }
                2 => {
                    ct.confirm(idx);
                    ct.remove(idx);
                }
                _ => {
                    ct.confirm(idx);
                }
            }
            if i % 1000 == 999 {
                ct.flush();
            }
        }
        assert!(reused > 500, "only {reused} connections reused a mapping");
    }

    /// Addresses the reference kernel picked from ranges (kernel_targets).
    #[test]
    fn range_choice_is_the_kernels() {
        let r = range("10.3.0.10", "10.3.0.200", false);
        for (dst, want) in [
            ("10.9.0.1", "10.3.0.53"),
            ("10.9.1.1", "10.3.0.184"),
            ("10.9.77.3", "10.3.0.33"),
            ("10.9.200.9", "10.3.0.169"),
        ] {
            assert_eq!(
                pick("10.1.0.100", dst, &r, Manip::Dst),
                want.parse::<Ipv4Addr>().unwrap()
            );
        }
        let r = range("10.3.3.0", "10.3.3.255", false);
        assert_eq!(
            pick("10.1.0.100", "10.5.0.1", &r, Manip::Dst),
            "10.3.3.254".parse::<Ipv4Addr>().unwrap()
        );
        assert_eq!(
            pick("10.1.0.100", "10.5.9.1", &r, Manip::Dst),
            "10.3.3.83".parse::<Ipv4Addr>().unwrap()
        );
        let r = range("10.2.0.50", "10.2.0.60", false);
        assert_eq!(
            pick("10.1.0.100", "10.3.4.5", &r, Manip::Src),
            "10.2.0.56".parse::<Ipv4Addr>().unwrap()
        );
        assert_eq!(
            pick("10.1.0.100", "10.3.4.6", &r, Manip::Src),
            "10.2.0.54".parse::<Ipv4Addr>().unwrap()
        );
        // --persistent: the destination does not count.
        let r = range("10.3.1.1", "10.3.1.9", true);
        for dst in ["10.8.0.1", "10.8.5.5"] {
            assert_eq!(
                pick("10.1.0.100", dst, &r, Manip::Dst),
                "10.3.1.5".parse::<Ipv4Addr>().unwrap()
            );
        }
    }
}
