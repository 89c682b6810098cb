//! Packets as real bytes: IPv4 with TCP, UDP or ICMP built and parsed with
//! etherparse, metadata beside the bytes, and header rewrites that keep the
//! checksums right.

mod csum;
pub mod memo;
pub mod pcap;
pub mod spec;

use etherparse::{IpNumber, Ipv4Header, TcpHeader, TcpOptions, UdpHeader};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;

/// TCP flag bits as in the header's 13th byte.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// What the kernel keeps beside a packet's bytes (`struct sk_buff` fields we need).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Interface the packet arrived on.
    pub in_iface: Option<String>,
    /// Interface chosen by routing for sending.
    pub out_iface: Option<String>,
    /// Ethernet source and destination of a received frame.
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
    /// Netfilter mark (`-j MARK`, `-m mark`).
    pub mark: u32,
    /// `-j CT --notrack` / `NOTRACK` in raw.
    pub untracked: bool,
    /// A TEE clone (not cloned again, not tracked).
    pub tee_clone: bool,
    /// Traffic-control priority (`skb->priority`, set by `-j CLASSIFY`).
    #[serde(default)]
    pub priority: u32,
    /// User and group of the local socket that sent the packet (`-m owner`);
    /// only meaningful for locally generated packets.
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
    /// A conntrack template `-j CT` attached in the raw table, by its zone:
    /// conntrack tracks the packet in that zone, later CT rules leave it be.
    #[serde(default)]
    pub ct_template: Option<u16>,
    /// A reply the host made on behalf of netfilter (REJECT's RST or ICMP
    /// error, SYNPROXY's SYN-ACK) carries the connection of the packet it
    /// answers, as `nf_ct_attach` does: conntrack does not look it up again.
    #[serde(default)]
    pub nfct: Option<crate::sim::conntrack::Attached>,
    /// The sender's own copy of a broadcast or multicast it sent, looped
    /// back to its stack (`dev_loopback_xmit`): it has no link-layer header.
    #[serde(default)]
    pub looped: bool,
    /// The kind of socket a locally generated packet leaves from.
    #[serde(default)]
    pub sender: Sender,
}

/// The socket a locally generated packet leaves from (`skb->sk`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sender {
    /// A user's socket (a tool, a program): `uid` and `gid` are its owner's.
    #[default]
    User,
    /// A listener's request sock (a SYN-ACK): `-m owner` sees the
    /// listener's owner, LOG `--log-uid` nothing (not a full socket).
    Request,
    /// The kernel's own socket, without a file (the stack's RSTs, ICMP
    /// errors and echo replies): it exists, but has no user.
    Kernel,
    /// No socket at all (REJECT's TCP reset).
    NoSocket,
}

/// An IPv4 packet: the bytes from the IP header on, and its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub data: Vec<u8>,
    pub meta: Meta,
}

/// TCP header fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpInfo {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    /// FIN..CWR bits.
    pub flags: u8,
    pub window: u16,
    pub urgent: u16,
    /// Raw option bytes.
    pub options: OptionBytes,
    pub payload_len: usize,
}

/// The option bytes of a TCP header (at most 40), kept in place: a parse
/// allocates nothing. Shown, compared and serialized as the byte list.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct OptionBytes {
    len: u8,
    bytes: [u8; 40],
}

impl Default for OptionBytes {
    fn default() -> OptionBytes {
        OptionBytes {
            len: 0,
            bytes: [0; 40],
        }
    }
}

impl OptionBytes {
    /// The bytes, or `None` when there are more than a TCP header can hold.
    pub fn new(b: &[u8]) -> Option<OptionBytes> {
        let mut o = OptionBytes::default();
        o.bytes.get_mut(..b.len())?.copy_from_slice(b);
        o.len = b.len() as u8;
        Some(o)
    }
}

impl std::ops::Deref for OptionBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl std::fmt::Debug for OptionBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl Serialize for OptionBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for OptionBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<OptionBytes, D::Error> {
        let v = Vec::<u8>::deserialize(d)?;
        OptionBytes::new(&v)
            .ok_or_else(|| serde::de::Error::custom("more than 40 TCP option bytes"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UdpInfo {
    pub sport: u16,
    pub dport: u16,
    pub len: u16,
}

/// ICMP header; for error messages, the quoted packet's headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IcmpInfo {
    pub icmp_type: u8,
    pub code: u8,
    /// Bytes 4..8 (id and sequence of echo messages).
    pub rest: [u8; 4],
    pub inner: Option<Box<Headers>>,
}

impl IcmpInfo {
    pub fn id(&self) -> u16 {
        u16::from_be_bytes([self.rest[0], self.rest[1]])
    }
    pub fn seq(&self) -> u16 {
        u16::from_be_bytes([self.rest[2], self.rest[3]])
    }
    /// Destination unreachable, source quench, redirect, time exceeded, parameter problem.
    pub fn is_error(&self) -> bool {
        matches!(self.icmp_type, 3 | 4 | 5 | 11 | 12)
    }
}

/// Transport part of a packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum L4 {
    Tcp(TcpInfo),
    Udp(UdpInfo),
    Icmp(IcmpInfo),
    /// Another protocol, or a transport header too short to read.
    Other,
    /// A non-first fragment: no transport header.
    Fragment,
}

/// The parsed headers of a packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headers {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    pub ttl: u8,
    pub tos: u8,
    pub total_len: u16,
    pub id: u16,
    pub df: bool,
    pub mf: bool,
    /// Fragment offset in 8-byte units.
    pub frag_offset: u16,
    /// IP header length in bytes (at most 60; a byte keeps `Headers` within
    /// 128 bytes, which a move copies inline rather than through memcpy).
    pub header_len: u8,
    pub ip_options: Vec<u8>,
    pub l4: L4,
}

impl Headers {
    /// Source and destination ports of TCP and UDP (ICMP echo id as both for tuples).
    pub fn ports(&self) -> Option<(u16, u16)> {
        match &self.l4 {
            L4::Tcp(t) => Some((t.sport, t.dport)),
            L4::Udp(u) => Some((u.sport, u.dport)),
            _ => None,
        }
    }
    pub fn tcp(&self) -> Option<&TcpInfo> {
        match &self.l4 {
            L4::Tcp(t) => Some(t),
            _ => None,
        }
    }
    pub fn icmp(&self) -> Option<&IcmpInfo> {
        match &self.l4 {
            L4::Icmp(i) => Some(i),
            _ => None,
        }
    }
    /// `-f`: a second or later fragment.
    pub fn is_later_fragment(&self) -> bool {
        self.frag_offset != 0
    }
}

/// Why bytes are not a packet we can handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

fn addr(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// Parses an IPv4 packet. `lax` accepts a truncated packet (quoted in an ICMP error).
pub fn parse(data: &[u8], lax: bool) -> Result<Headers, ParseError> {
    if data.len() < 20 || data[0] >> 4 != 4 {
        return Err(ParseError("not an IPv4 packet".into()));
    }
    let ihl = ((data[0] & 0x0f) as usize) * 4;
    if ihl < 20 || data.len() < ihl {
        return Err(ParseError("bad IPv4 header length".into()));
    }
    let total_len = u16::from_be_bytes([data[2], data[3]]);
    if !lax && (total_len as usize) != data.len() {
        return Err(ParseError(
            "IPv4 total length does not match the data".into(),
        ));
    }
    let frag = u16::from_be_bytes([data[6], data[7]]);
    let proto = data[9];
    let frag_offset = frag & 0x1fff;
    let end = (total_len as usize).min(data.len()).max(ihl);
    let payload = &data[ihl..end];
    let l4 = if frag_offset != 0 {
        L4::Fragment
    } else {
        parse_l4(proto, payload, lax)
    };
    Ok(Headers {
        src: addr(&data[12..16]),
        dst: addr(&data[16..20]),
        proto,
        ttl: data[8],
        tos: data[1],
        total_len,
        id: u16::from_be_bytes([data[4], data[5]]),
        df: frag & 0x4000 != 0,
        mf: frag & 0x2000 != 0,
        frag_offset,
        header_len: (data[0] & 0x0f) * 4,
        ip_options: data[20..ihl].to_vec(),
        l4,
    })
}

fn parse_l4(proto: u8, p: &[u8], lax: bool) -> L4 {
    match proto {
        PROTO_TCP => {
            if p.len() < 20 && !(lax && p.len() >= 8) {
                return L4::Other;
            }
            let off = if p.len() >= 13 {
                ((p[12] >> 4) as usize) * 4
            } else {
                20
            };
            let opts = match p.get(20..off) {
                Some(o) if off > 20 => OptionBytes::new(o).unwrap_or_default(),
                _ => OptionBytes::default(),
            };
            let g = |i: usize| p.get(i).copied().unwrap_or(0);
            L4::Tcp(TcpInfo {
                sport: u16::from_be_bytes([p[0], p[1]]),
                dport: u16::from_be_bytes([p[2], p[3]]),
                seq: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
                ack: u32::from_be_bytes([g(8), g(9), g(10), g(11)]),
                flags: g(13),
                window: u16::from_be_bytes([g(14), g(15)]),
                urgent: u16::from_be_bytes([g(18), g(19)]),
                options: opts,
                payload_len: p.len().saturating_sub(off),
            })
        }
        PROTO_UDP => {
            if p.len() < 8 {
                return L4::Other;
            }
            L4::Udp(UdpInfo {
                sport: u16::from_be_bytes([p[0], p[1]]),
                dport: u16::from_be_bytes([p[2], p[3]]),
                len: u16::from_be_bytes([p[4], p[5]]),
            })
        }
        PROTO_ICMP => {
            if p.len() < 8 {
                return L4::Other;
            }
            let mut info = IcmpInfo {
                icmp_type: p[0],
                code: p[1],
                rest: [p[4], p[5], p[6], p[7]],
                inner: None,
            };
            if info.is_error() && p.len() > 8 {
                info.inner = parse(&p[8..], true).ok().map(Box::new);
            }
            L4::Icmp(info)
        }
        _ => L4::Other,
    }
}

impl Packet {
    pub fn new(data: Vec<u8>) -> Packet {
        Packet {
            data,
            meta: Meta::default(),
        }
    }

    pub fn headers(&self) -> Result<Headers, ParseError> {
        parse(&self.data, false)
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn ihl(&self) -> usize {
        ((self.data[0] & 0x0f) as usize) * 4
    }

    pub fn set_src(&mut self, a: Ipv4Addr) {
        self.put_addr(12, a);
    }

    pub fn set_dst(&mut self, a: Ipv4Addr) {
        self.put_addr(16, a);
    }

    /// Rewrites the TCP/UDP source port (no effect for other protocols).
    pub fn set_sport(&mut self, port: u16) {
        self.put_port(0, port);
    }

    pub fn set_dport(&mut self, port: u16) {
        self.put_port(2, port);
    }

    /// Rewrites the ICMP echo identifier (what NAT uses as the "port" of ICMP).
    pub fn set_icmp_id(&mut self, id: u16) {
        let ihl = self.ihl();
        if self.data[9] == PROTO_ICMP && self.data.len() >= ihl + 8 && self.first_fragment() {
            let old = self.word(ihl + 4);
            self.data[ihl + 4..ihl + 6].copy_from_slice(&id.to_be_bytes());
            let check = csum::replace2(self.word(ihl + 2), old, id);
            self.put_word(ihl + 2, check);
        }
    }

    /// [`Packet::set_src`] then [`Packet::set_sport`].
    pub fn set_src_port(&mut self, a: Ipv4Addr, port: u16) {
        self.put_addr_port(12, a, 0, port);
    }

    /// [`Packet::set_dst`] then [`Packet::set_dport`].
    pub fn set_dst_port(&mut self, a: Ipv4Addr, port: u16) {
        self.put_addr_port(16, a, 2, port);
    }

    /// [`Packet::put_addr`] then [`Packet::put_port`] (NAT's rewrite of
    /// each packet), with the headers looked at once and the transport
    /// checksum written once: the same two updates, in the same order.
    fn put_addr_port(&mut self, addr_at: usize, a: Ipv4Addr, port_at: usize, port: u16) {
        let (Some(&first), Some(&proto)) = (self.data.first(), self.data.get(9)) else {
            return self.put_addr(addr_at, a);
        };
        let ihl = usize::from(first & 0x0f) * 4;
        let ported = matches!(proto, PROTO_TCP | PROTO_UDP) && self.data.len() >= ihl + 4;
        if !ported || ihl < 20 {
            self.put_addr(addr_at, a);
            return self.put_port(port_at, port);
        }
        // The port's writes do not change where the checksum is (a UDP
        // checksum NAT updates never becomes 0).
        let check_at = self.transport_check_at();
        if !self.first_fragment() {
            return self.put_addr(addr_at, a);
        }
        let mut addr = [0; 4];
        addr.copy_from_slice(&self.data[addr_at..addr_at + 4]);
        let (old, new) = (u32::from_be_bytes(addr), u32::from(a));
        self.data[addr_at..addr_at + 4].copy_from_slice(&a.octets());
        let ip_check = csum::replace4(self.word(10), old, new);
        self.put_word(10, ip_check);
        let old_port = self.word(ihl + port_at);
        self.put_word(ihl + port_at, port);
        if let Some(c) = check_at {
            let udp_nonzero = |check: u16| {
                if check == 0 && proto == PROTO_UDP {
                    0xffff
                } else {
                    check
                }
            };
            let check = udp_nonzero(csum::replace4(self.word(c), old, new));
            let check = udp_nonzero(csum::replace2(check, old_port, port));
            self.put_word(c, check);
        }
    }

    fn word(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.data[at], self.data[at + 1]])
    }

    fn put_word(&mut self, at: usize, w: u16) {
        self.data[at..at + 2].copy_from_slice(&w.to_be_bytes());
    }

    /// Not a fragment, or the first one (offset 0): the transport header is here.
    fn first_fragment(&self) -> bool {
        self.word(6) & 0x1fff == 0
    }

    /// Where the checksum of the transport header sits when the kernel's NAT
    /// updates it (`tcp_manip_pkt`, `udp_manip_pkt`): a TCP or UDP header
    /// whole in the packet, and for UDP a checksum in use (0: none).
    fn transport_check_at(&self) -> Option<usize> {
        let ihl = self.ihl();
        let total = (self.word(2) as usize).min(self.data.len());
        if !self.first_fragment() {
            return None;
        }
        match self.data[9] {
            PROTO_TCP if total >= ihl + 20 => Some(ihl + 16),
            PROTO_UDP if total >= ihl + 8 && self.word(ihl + 6) != 0 => Some(ihl + 6),
            _ => None,
        }
    }

    /// A transport checksum after NAT changed a field it covers; UDP's
    /// result 0 is sent as 0xffff (0 would say "no checksum").
    fn update_transport_check(&mut self, at: usize, new: u16) {
        let new = if new == 0 && self.data[9] == PROTO_UDP {
            0xffff
        } else {
            new
        };
        self.put_word(at, new);
    }

    /// Writes an address at `at` (12: source, 16: destination) and updates
    /// the IP checksum and the transport checksum's pseudo header.
    fn put_addr(&mut self, at: usize, a: Ipv4Addr) {
        let old = u32::from_be_bytes([
            self.data[at],
            self.data[at + 1],
            self.data[at + 2],
            self.data[at + 3],
        ]);
        let new = u32::from(a);
        self.data[at..at + 4].copy_from_slice(&a.octets());
        let ip_check = csum::replace4(self.word(10), old, new);
        self.put_word(10, ip_check);
        if let Some(c) = self.transport_check_at() {
            let check = csum::replace4(self.word(c), old, new);
            self.update_transport_check(c, check);
        }
    }

    /// Writes a TCP/UDP port (`at`: 0 source, 2 destination) and updates the
    /// transport checksum; no effect for other protocols or later fragments.
    fn put_port(&mut self, at: usize, port: u16) {
        let ihl = self.ihl();
        let proto = self.data[9];
        if !((proto == PROTO_TCP || proto == PROTO_UDP)
            && self.first_fragment()
            && self.data.len() >= ihl + 4)
        {
            return;
        }
        let old = self.word(ihl + at);
        self.put_word(ihl + at, port);
        if let Some(c) = self.transport_check_at() {
            let check = csum::replace2(self.word(c), old, port);
            self.update_transport_check(c, check);
        }
    }

    pub fn set_ttl(&mut self, ttl: u8) {
        self.data[8] = ttl;
        self.fix_ip_checksum();
    }

    pub fn set_tos(&mut self, tos: u8) {
        self.data[1] = tos;
        self.fix_ip_checksum();
    }

    /// Rewrites the header quoted in an ICMP error (NAT un-does its own rewrite there).
    pub fn set_inner_addrs_ports(
        &mut self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ports: Option<(u16, u16)>,
    ) {
        let ihl = self.ihl();
        let inner_at = ihl + 8;
        if self.data.len() < inner_at + 20 {
            return;
        }
        let iihl = ((self.data[inner_at] & 0x0f) as usize) * 4;
        self.data[inner_at + 12..inner_at + 16].copy_from_slice(&src.octets());
        self.data[inner_at + 16..inner_at + 20].copy_from_slice(&dst.octets());
        let sum = ip_checksum(&self.data[inner_at..inner_at + iihl.min(60)], 10);
        self.data[inner_at + 10..inner_at + 12].copy_from_slice(&sum.to_be_bytes());
        if let Some((sp, dp)) = ports {
            let l4 = inner_at + iihl;
            if self.data.len() >= l4 + 4 {
                self.data[l4..l4 + 2].copy_from_slice(&sp.to_be_bytes());
                self.data[l4 + 2..l4 + 4].copy_from_slice(&dp.to_be_bytes());
            }
        }
        self.fix_checksums();
    }

    fn fix_ip_checksum(&mut self) {
        let ihl = self.ihl();
        let sum = ip_checksum(&self.data[..ihl], 10);
        self.data[10..12].copy_from_slice(&sum.to_be_bytes());
    }

    /// Recomputes the IP header checksum and the transport checksum.
    pub fn fix_checksums(&mut self) {
        self.fix_ip_checksum();
        let ihl = self.ihl();
        let frag = u16::from_be_bytes([self.data[6], self.data[7]]);
        if frag & 0x3fff != 0 {
            return;
        }
        let src = [self.data[12], self.data[13], self.data[14], self.data[15]];
        let dst = [self.data[16], self.data[17], self.data[18], self.data[19]];
        let total =
            (u16::from_be_bytes([self.data[2], self.data[3]]) as usize).min(self.data.len());
        if total <= ihl {
            return;
        }
        let proto = self.data[9];
        let (_, l4) = self.data[..total].split_at_mut(ihl);
        // Each sum skips the checksum field (as if it were zero) rather
        // than zeroing it first: reading bytes just stored narrower stalls.
        match proto {
            PROTO_TCP if l4.len() >= 20 => {
                let sum = transport_checksum(src, dst, PROTO_TCP, l4, 16);
                l4[16..18].copy_from_slice(&sum.to_be_bytes());
            }
            PROTO_UDP if l4.len() >= 8 => {
                let mut sum = transport_checksum(src, dst, PROTO_UDP, l4, 6);
                if sum == 0 {
                    sum = 0xffff;
                }
                l4[6..8].copy_from_slice(&sum.to_be_bytes());
            }
            PROTO_ICMP if l4.len() >= 4 => {
                let sum = ones_complement(&l4[4..], ones_sum(&l4[..2], 0));
                l4[2..4].copy_from_slice(&sum.to_be_bytes());
            }
            _ => {}
        }
    }
}

/// The ones' complement sum of `data` as 16-bit words, added to `acc`, not
/// yet folded to 16 bits. Four bytes at a time: a 32-bit word is worth its
/// two halves modulo 0xffff, which is all the folded sum keeps.
fn ones_sum(data: &[u8], acc: u32) -> u32 {
    let mut sum = acc as u64;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        sum += u32::from_be_bytes([w[0], w[1], w[2], w[3]]) as u64;
    }
    let mut halves = words.remainder().chunks_exact(2);
    for h in &mut halves {
        sum += u16::from_be_bytes([h[0], h[1]]) as u64;
    }
    if let [last] = halves.remainder() {
        sum += (*last as u64) << 8;
    }
    while sum > u32::MAX as u64 {
        sum = (sum & 0xffff_ffff) + (sum >> 32);
    }
    sum as u32
}

fn fold(acc: u32) -> u16 {
    let mut acc = acc as u64;
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

fn ones_complement(data: &[u8], acc: u32) -> u16 {
    fold(ones_sum(data, acc))
}

/// IPv4 header checksum, skipping the checksum field at `at`.
fn ip_checksum(hdr: &[u8], at: usize) -> u16 {
    let mut acc = ones_sum(&hdr[..at], 0);
    acc = ones_sum(&hdr[at + 2..], acc);
    fold(acc)
}

/// The transport checksum of `l4` (its checksum field at `at` counted as
/// zero) with the pseudo header.
fn transport_checksum(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8], at: usize) -> u16 {
    let mut acc = ones_sum(&src, 0);
    acc = ones_sum(&dst, acc);
    // The pseudo header's protocol and length, as one word (the length of
    // an IPv4 packet's transport part fits 16 bits).
    let len = l4.len().min(0xffff) as u16;
    acc = ones_sum(&[0, proto, (len >> 8) as u8, len as u8], acc);
    acc = ones_sum(&l4[..at], acc);
    fold(ones_sum(&l4[at + 2..], acc))
}

/// IP header fields of a packet being built.
#[derive(Debug, Clone)]
pub struct IpFields {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub tos: u8,
    pub id: u16,
    pub df: bool,
}

impl IpFields {
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr) -> IpFields {
        IpFields {
            src,
            dst,
            ttl: 64,
            tos: 0,
            id: 0,
            df: false,
        }
    }
}

fn ip_header(f: &IpFields, proto: u8, payload_len: usize) -> Ipv4Header {
    let mut ip = Ipv4Header::new(
        payload_len as u16,
        f.ttl,
        IpNumber(proto),
        f.src.octets(),
        f.dst.octets(),
    )
    .expect("payload fits an IPv4 packet");
    ip.identification = f.id;
    ip.dont_fragment = f.df;
    ip.dscp = etherparse::IpDscp::try_new(f.tos >> 2).unwrap_or(etherparse::IpDscp::ZERO);
    ip.ecn = etherparse::IpEcn::try_new(f.tos & 3).unwrap_or(etherparse::IpEcn::ZERO);
    ip.header_checksum = ip.calc_header_checksum();
    ip
}

/// TCP segment fields of a packet being built.
#[derive(Debug, Clone, Default)]
pub struct TcpFields {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub options: Vec<u8>,
}

/// Builds an IPv4/TCP packet.
pub fn build_tcp(ip: &IpFields, t: &TcpFields, payload: &[u8]) -> Packet {
    let mut tcp = TcpHeader::new(t.sport, t.dport, t.seq, t.window);
    tcp.acknowledgment_number = t.ack;
    tcp.fin = t.flags & tcp_flags::FIN != 0;
    tcp.syn = t.flags & tcp_flags::SYN != 0;
    tcp.rst = t.flags & tcp_flags::RST != 0;
    tcp.psh = t.flags & tcp_flags::PSH != 0;
    tcp.ack = t.flags & tcp_flags::ACK != 0;
    tcp.urg = t.flags & tcp_flags::URG != 0;
    tcp.ece = t.flags & tcp_flags::ECE != 0;
    tcp.cwr = t.flags & tcp_flags::CWR != 0;
    let mut opts = t.options.clone();
    while !opts.len().is_multiple_of(4) {
        opts.push(0);
    }
    tcp.options = TcpOptions::try_from_slice(&opts).unwrap_or_default();
    let hdr = ip_header(ip, PROTO_TCP, tcp.header_len() + payload.len());
    tcp.checksum = tcp.calc_checksum_ipv4(&hdr, payload).expect("segment fits");
    let mut data = Vec::with_capacity(hdr.header_len() + tcp.header_len() + payload.len());
    hdr.write(&mut data).expect("vec write");
    tcp.write(&mut data).expect("vec write");
    data.extend_from_slice(payload);
    Packet::new(data)
}

/// Builds an IPv4/UDP packet.
pub fn build_udp(ip: &IpFields, sport: u16, dport: u16, payload: &[u8]) -> Packet {
    let hdr = ip_header(ip, PROTO_UDP, 8 + payload.len());
    let udp = UdpHeader::with_ipv4_checksum(sport, dport, &hdr, payload).expect("datagram fits");
    let mut data = Vec::with_capacity(hdr.header_len() + 8 + payload.len());
    hdr.write(&mut data).expect("vec write");
    udp.write(&mut data).expect("vec write");
    data.extend_from_slice(payload);
    Packet::new(data)
}

/// Builds an IPv4/ICMP packet from type, code, bytes 4..8 and the payload.
pub fn build_icmp(ip: &IpFields, icmp_type: u8, code: u8, rest: [u8; 4], payload: &[u8]) -> Packet {
    let hdr = ip_header(ip, PROTO_ICMP, 8 + payload.len());
    let mut data = Vec::with_capacity(hdr.header_len() + 8 + payload.len());
    hdr.write(&mut data).expect("vec write");
    data.extend_from_slice(&[icmp_type, code, 0, 0]);
    data.extend_from_slice(&rest);
    data.extend_from_slice(payload);
    let mut p = Packet::new(data);
    p.fix_checksums();
    p
}

/// An ICMP error about `orig` (the kernel quotes the IP header and 8 bytes).
pub fn build_icmp_error(
    ip: &IpFields,
    icmp_type: u8,
    code: u8,
    rest: [u8; 4],
    orig: &[u8],
) -> Packet {
    let ihl = ((orig[0] & 0x0f) as usize) * 4;
    let total = (u16::from_be_bytes([orig[2], orig[3]]) as usize).min(orig.len());
    // Linux quotes as much as fits in 576 bytes.
    let quote = total.min(576 - 20 - 8).max(ihl.min(orig.len()));
    build_icmp(ip, icmp_type, code, rest, &orig[..quote])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_round_trip_and_rewrite() {
        let ip = IpFields::new(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let t = TcpFields {
            sport: 40000,
            dport: 22,
            seq: 7,
            flags: tcp_flags::SYN,
            window: 64240,
            options: vec![2, 4, 5, 0xb4],
            ..Default::default()
        };
        let mut p = build_tcp(&ip, &t, b"");
        let h = p.headers().unwrap();
        assert_eq!(h.ports(), Some((40000, 22)));
        assert_eq!(h.tcp().unwrap().flags, tcp_flags::SYN);
        assert_eq!(*h.tcp().unwrap().options, [2, 4, 5, 0xb4]);
        // Options read and written as the byte list, refused past 40 bytes.
        let json = serde_json::to_string(&h).unwrap();
        assert!(json.contains(r#""options":[2,4,5,180]"#), "{json}");
        assert_eq!(serde_json::from_str::<Headers>(&json).unwrap(), h);
        let long = json.replace("[2,4,5,180]", &format!("{:?}", [1u8; 41]));
        assert!(serde_json::from_str::<Headers>(&long).is_err());
        p.set_dst(Ipv4Addr::new(192, 168, 1, 5));
        p.set_dport(8080);
        // etherparse agrees the checksums are right after the rewrite.
        let (iph, rest) = Ipv4Header::from_slice(&p.data).unwrap();
        assert_eq!(iph.header_checksum, iph.calc_header_checksum());
        let (tcp, payload) = TcpHeader::from_slice(rest).unwrap();
        assert_eq!(tcp.checksum, tcp.calc_checksum_ipv4(&iph, payload).unwrap());
        assert_eq!(tcp.destination_port, 8080);
    }

    #[test]
    fn icmp_error_quotes_original() {
        let ip = IpFields::new(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let orig = build_udp(&ip, 5000, 53, b"hello");
        let back = IpFields::new(Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1));
        let err = build_icmp_error(&back, 3, 3, [0; 4], &orig.data);
        let h = err.headers().unwrap();
        let icmp = h.icmp().unwrap();
        assert_eq!((icmp.icmp_type, icmp.code), (3, 3));
        let inner = icmp.inner.as_ref().unwrap();
        assert_eq!(inner.ports(), Some((5000, 53)));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse(&[0x45, 0, 0], false).is_err());
        assert!(parse(&[0x46; 40], false).is_err());
        assert!(parse(&[0x4f; 10], true).is_err());
    }
}

#[cfg(test)]
mod checksum_tests {
    use super::*;

    /// The 16-bit word sum of RFC 1071, as the reference.
    fn reference(data: &[u8], mut acc: u32) -> u16 {
        let mut chunks = data.chunks_exact(2);
        for c in &mut chunks {
            acc += u16::from_be_bytes([c[0], c[1]]) as u32;
        }
        if let [last] = chunks.remainder() {
            acc += (*last as u32) << 8;
        }
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        !(acc as u16)
    }

    /// A random IPv4 packet of `proto` with `l4_len` transport bytes.
    fn random_packet(next: &mut impl FnMut() -> u64, proto: u8, l4_len: usize) -> Vec<u8> {
        let mut data: Vec<u8> = (0..20 + l4_len).map(|_| next() as u8).collect();
        data[0] = 0x45;
        let total = data.len() as u16;
        data[2..4].copy_from_slice(&total.to_be_bytes());
        data[6] = 0x40;
        data[7] = 0;
        data[9] = proto;
        data
    }

    /// Each NAT rewrite of a packet with right checksums gives the bytes a
    /// checksum made from scratch gives, for every transport and length.
    #[test]
    fn rewrites_keep_right_checksums_right() {
        let mut next = crate::test_rng::xorshift(0x0bad_cafe_1234_5678);
        for proto in [PROTO_TCP, PROTO_UDP, PROTO_ICMP, 47] {
            for l4_len in 0..70usize {
                for rewrite in 0..7 {
                    let mut p = Packet::new(random_packet(&mut next, proto, l4_len));
                    p.fix_checksums();
                    let addr = Ipv4Addr::from(next() as u32);
                    let port = next() as u16;
                    let mut want = p.data.clone();
                    let ported = (proto == PROTO_TCP || proto == PROTO_UDP) && l4_len >= 4;
                    let put_port = |want: &mut Vec<u8>, at: usize| {
                        if ported {
                            want[20 + at..22 + at].copy_from_slice(&port.to_be_bytes());
                        }
                    };
                    match rewrite {
                        0 => p.set_src(addr),
                        1 => p.set_dst(addr),
                        2 => p.set_sport(port),
                        3 => p.set_dport(port),
                        4 => p.set_src_port(addr, port),
                        5 => p.set_dst_port(addr, port),
                        _ => p.set_icmp_id(port),
                    }
                    match rewrite {
                        0 | 4 => want[12..16].copy_from_slice(&addr.octets()),
                        1 | 5 => want[16..20].copy_from_slice(&addr.octets()),
                        _ => {}
                    }
                    match rewrite {
                        2 | 4 => put_port(&mut want, 0),
                        3 | 5 => put_port(&mut want, 2),
                        6 if proto == PROTO_ICMP && l4_len >= 8 => {
                            want[24..26].copy_from_slice(&port.to_be_bytes())
                        }
                        _ => {}
                    }
                    let mut made = Packet::new(want);
                    made.fix_checksums();
                    assert_eq!(
                        p.data, made.data,
                        "proto {proto} length {l4_len} rewrite {rewrite}"
                    );
                }
            }
        }
    }

    /// An address and a port rewritten together give the bytes of the two
    /// rewrites one after the other, whatever the checksums, fragment
    /// offset, total length or header length say.
    #[test]
    fn an_address_and_port_rewrite_is_the_two_rewrites_in_turn() {
        let mut next = crate::test_rng::xorshift(0x7e57_ab1e_0dd5);
        for proto in [PROTO_TCP, PROTO_UDP, PROTO_ICMP, 47] {
            for l4_len in 0..64usize {
                for variant in 0..8 {
                    let mut data = random_packet(&mut next, proto, l4_len);
                    match variant {
                        0 => {}
                        1 => data[6] = 0x20, // a later fragment
                        2 => data[2..4].copy_from_slice(&24u16.to_be_bytes()),
                        3 if l4_len >= 8 => data[26..28].fill(0), // UDP: no checksum
                        4 => data[0] = 0x46,                      // options
                        5 => data[0] = 0x44,                      // too short a header
                        _ => {}
                    }
                    let mut p = Packet::new(data);
                    if variant == 6 {
                        p.fix_checksums();
                    }
                    let addr = Ipv4Addr::from(next() as u32);
                    let port = next() as u16;
                    let (mut src, mut dst) = (p.clone(), p.clone());
                    src.set_src_port(addr, port);
                    dst.set_dst_port(addr, port);
                    let (mut src2, mut dst2) = (p.clone(), p);
                    src2.set_src(addr);
                    src2.set_sport(port);
                    dst2.set_dst(addr);
                    dst2.set_dport(port);
                    assert_eq!(src.data, src2.data, "{proto} {l4_len} {variant}");
                    assert_eq!(dst.data, dst2.data, "{proto} {l4_len} {variant}");
                }
            }
        }
    }

    /// As the kernel's NAT: a wrong checksum stays wrong by as much, a UDP
    /// datagram without checksum keeps none, a later fragment's transport
    /// bytes are not touched.
    #[test]
    fn rewrites_update_checksums_without_reading_the_packet() {
        let mut next = crate::test_rng::xorshift(0x0005_eed0_f1ce);
        let word = |d: &[u8], at: usize| u16::from_be_bytes([d[at], d[at + 1]]);
        let addr = Ipv4Addr::new(10, 128, 3, 7);
        for proto in [PROTO_TCP, PROTO_UDP] {
            let mut p = Packet::new(random_packet(&mut next, proto, 40));
            p.fix_checksums();
            let at = if proto == PROTO_TCP { 36 } else { 26 };
            let mut right = p.clone();
            p.data[at + 1] ^= 0x01;
            p.data[11] ^= 0x01;
            p.set_dst_port(addr, 8080);
            right.set_dst_port(addr, 8080);
            assert_ne!(word(&p.data, 10), word(&right.data, 10));
            assert_ne!(word(&p.data, at), word(&right.data, at));
            p.fix_checksums();
            assert_eq!(p.data, right.data, "only the checksums differ");
        }
        let mut udp = Packet::new(random_packet(&mut next, PROTO_UDP, 12));
        udp.fix_checksums();
        udp.data[26..28].fill(0);
        udp.set_src_port(addr, 1024);
        assert_eq!(word(&udp.data, 26), 0, "no checksum stays none");
        let mut later = Packet::new(random_packet(&mut next, PROTO_TCP, 24));
        later.data[6..8].copy_from_slice(&0x2003u16.to_be_bytes());
        later.fix_checksums();
        let l4 = later.data[20..].to_vec();
        later.set_src(addr);
        later.set_sport(1);
        assert_eq!(later.data[20..], l4[..]);
        let mut ip = later.clone();
        ip.fix_checksums();
        assert_eq!(later.data, ip.data, "the IP checksum follows the address");
    }

    #[test]
    fn word_sums_agree_with_rfc_1071() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for len in 0..200usize {
            for fill in [0x00u8, 0xff, 0x80, 0x01] {
                let data: Vec<u8> = (0..len)
                    .map(|i| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        if i % 3 == 0 {
                            fill
                        } else {
                            x as u8
                        }
                    })
                    .collect();
                for acc in [0u32, 1, 0xffff, 0x1_0000] {
                    assert_eq!(
                        ones_complement(&data, acc),
                        reference(&data, acc),
                        "{data:?}"
                    );
                }
            }
        }
        let tcp: Vec<u8> = (0..40u8).collect();
        let mut acc = 0u32;
        for w in [[10u8, 0, 0, 1], [10, 0, 0, 2]] {
            acc +=
                u16::from_be_bytes([w[0], w[1]]) as u32 + u16::from_be_bytes([w[2], w[3]]) as u32;
        }
        acc += 6 + 40;
        // The checksum field counts as zero, whatever it holds.
        let mut zeroed = tcp.clone();
        zeroed[16..18].fill(0);
        assert_eq!(
            transport_checksum([10, 0, 0, 1], [10, 0, 0, 2], 6, &tcp, 16),
            reference(&zeroed, acc)
        );
        let mut zeroed = tcp.clone();
        zeroed[6..8].fill(0);
        assert_eq!(
            transport_checksum([10, 0, 0, 1], [10, 0, 0, 2], 6, &tcp, 6),
            reference(&zeroed, acc)
        );
    }
}
