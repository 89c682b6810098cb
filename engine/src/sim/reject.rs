//! The replies REJECT sends, built as the kernel builds them
//! (`nf_send_reset`, `nf_send_unreach`).

use super::conntrack::{Attached, Conntrack, CtState, Dir};
use super::iface::Iface;
use super::route::{self, Route};
use crate::packet::{build_icmp_error, build_tcp, tcp_flags, IpFields, Packet, Sender, L4};

/// The TCP RST answering `orig`, or `None` when the kernel sends none
/// (a RST itself, a fragment, not TCP).
pub fn tcp_reset(orig: &Packet) -> Option<Packet> {
    let h = orig.headers().ok()?;
    let L4::Tcp(t) = &h.l4 else {
        return None;
    };
    if t.flags & tcp_flags::RST != 0 || h.is_later_fragment() {
        return None;
    }
    let (seq, ack, flags) = if t.flags & tcp_flags::ACK != 0 {
        (t.ack, 0, tcp_flags::RST)
    } else {
        let len = t.payload_len as u32
            + (t.flags & tcp_flags::SYN != 0) as u32
            + (t.flags & tcp_flags::FIN != 0) as u32;
        (0, t.seq.wrapping_add(len), tcp_flags::RST | tcp_flags::ACK)
    };
    let mut ip = IpFields::new(h.dst, h.src);
    ip.df = true;
    let mut rst = build_tcp(
        &ip,
        &crate::packet::TcpFields {
            sport: t.dport,
            dport: t.sport,
            seq,
            ack,
            flags,
            window: 0,
            options: vec![],
        },
        b"",
    );
    // `nf_send_reset` builds it without a socket.
    rst.meta.sender = Sender::NoSocket;
    Some(rst)
}

/// The ICMP destination-unreachable (or other error) answering `orig`, from
/// the address the kernel picks, or `None` when no error may be sent
/// (about an ICMP error, a later fragment, a broadcast).
pub fn icmp_unreach(
    orig: &Packet,
    icmp_type: u8,
    code: u8,
    ifaces: &[Iface],
    routes: &[Route],
    ip_id: u16,
) -> Option<Packet> {
    let h = orig.headers().ok()?;
    if h.is_later_fragment() || route::is_broadcast(ifaces, h.dst) || h.dst.is_multicast() {
        return None;
    }
    if let L4::Icmp(i) = &h.l4 {
        if i.is_error() {
            return None;
        }
    }
    let src = if route::is_local(ifaces, h.dst) {
        h.dst
    } else {
        route::source_for(ifaces, routes, h.src)?
    };
    let mut ip = IpFields::new(src, h.src);
    ip.tos = (h.tos & 0x1e) | 0xc0;
    ip.id = ip_id;
    let mut error = build_icmp_error(&ip, icmp_type, code, [0; 4], &orig.data);
    // `icmp_send` sends it from the kernel's ICMP socket.
    error.meta.sender = Sender::Kernel;
    Some(error)
}

/// Attaches a reply the host makes for netfilter to the connection of the
/// packet it answers (`nf_ct_attach`): the reply travels in the other
/// direction as RELATED (`related`) or ESTABLISHED, is not looked up by
/// conntrack again, and NAT un-does the connection's rewrites on it. The
/// connection is held until the reply is through, even if the packet that
/// made it dies unconfirmed.
pub fn attach(
    conntrack: &mut Conntrack,
    idx: Option<usize>,
    dir: Dir,
    related: bool,
) -> Option<Attached> {
    let idx = idx?;
    let id = conntrack.get(idx)?.id;
    conntrack.hold(idx);
    Some(Attached {
        idx,
        id,
        dir: match dir {
            Dir::Original => Dir::Reply,
            Dir::Reply => Dir::Original,
        },
        state: if related {
            CtState::Related
        } else {
            CtState::Established
        },
    })
}
