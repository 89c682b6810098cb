//! The port and header matches (tcp, udp, dccp, sctp, multiport, icmp, ah,
//! esp, ipcomp, iprange, addrtype, mac, length, ttl, pkttype) against the
//! real kernel: the same rules in the router of the client–router–server
//! topology, the same frames injected from the client side (odd MACs,
//! truncated headers, fragments included); every frame the router and
//! server send and every rule counter must agree. Skips when not root.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
mod oracle;

#[cfg(target_os = "linux")]
mod cases {
    use super::common;
    use super::oracle::mirror::*;
    use super::oracle::{Topology, CLIENT_MAC, PHANTOM, PHANTOM_MAC, R0_MAC};
    use engine::packet::tcp_flags as tf;
    use engine::packet::{build_icmp, build_tcp, build_udp, IpFields, Packet, TcpFields};

    use std::net::Ipv4Addr;

    const BCAST_MAC: [u8; 6] = [0xff; 6];
    const MCAST_MAC: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01];
    const OTHER_MAC: [u8; 6] = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee];
    const FOREIGN_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x09, 0x09, 0x09];

    /// A frame to inject: the IPv4 packet and its Ethernet addresses.
    #[derive(Clone)]
    struct Frame {
        what: String,
        ip: Vec<u8>,
        dst_mac: [u8; 6],
        src_mac: [u8; 6],
    }

    fn frame(what: impl Into<String>, ip: Vec<u8>) -> Frame {
        Frame {
            what: what.into(),
            ip,
            dst_mac: R0_MAC,
            src_mac: PHANTOM_MAC,
        }
    }

    impl Frame {
        fn macs(mut self, dst: [u8; 6], src: [u8; 6]) -> Frame {
            self.dst_mac = dst;
            self.src_mac = src;
            self
        }
    }

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn ipf(src: &str, dst: &str, ttl: u8) -> IpFields {
        let mut f = IpFields::new(a(src), a(dst));
        f.ttl = ttl;
        f.id = 1;
        f
    }

    fn tcp_full(sport: u16, dst: &str, dport: u16, flags: u8, options: Vec<u8>) -> Vec<u8> {
        build_tcp(
            &ipf(PHANTOM, dst, 64),
            &TcpFields {
                sport,
                dport,
                seq: 1000,
                ack: if flags & tf::ACK != 0 { 5000 } else { 0 },
                flags,
                window: 64240,
                options,
            },
            b"",
        )
        .data
    }

    fn syn(sport: u16, dst: &str, dport: u16) -> Frame {
        frame(
            format!("tcp SYN {sport}->{dst}:{dport}"),
            tcp_full(sport, dst, dport, tf::SYN, vec![2, 4, 5, 0xb4]),
        )
    }

    fn tcp(sport: u16, dst: &str, dport: u16, flags: u8) -> Frame {
        frame(
            format!("tcp flags {flags:#04x} {sport}->{dst}:{dport}"),
            tcp_full(sport, dst, dport, flags, vec![]),
        )
    }

    fn tcp_opts(sport: u16, dport: u16, options: Vec<u8>) -> Frame {
        frame(
            format!("tcp SYN options {options:02x?} {sport}->{dport}"),
            tcp_full(sport, "10.2.0.2", dport, tf::SYN, options),
        )
    }

    fn udp_from(src: &str, sport: u16, dst: &str, dport: u16, len: usize) -> Frame {
        frame(
            format!("udp {src}:{sport}->{dst}:{dport} ({len} bytes)"),
            build_udp(&ipf(src, dst, 64), sport, dport, &vec![0; len]).data,
        )
    }

    fn udp(sport: u16, dst: &str, dport: u16) -> Frame {
        udp_from(PHANTOM, sport, dst, dport, 3)
    }

    fn icmp_full(src: &str, dst: &str, ttl: u8, ty: u8, code: u8, id: u16, len: usize) -> Frame {
        let mut rest = [0u8; 4];
        rest[..2].copy_from_slice(&id.to_be_bytes());
        rest[3] = 1;
        frame(
            format!("icmp {ty}/{code} {src}->{dst} ttl {ttl} ({len} bytes)"),
            build_icmp(&ipf(src, dst, ttl), ty, code, rest, &vec![0; len]).data,
        )
    }

    fn ping(id: u16, dst: &str) -> Frame {
        icmp_full(PHANTOM, dst, 64, 8, 0, id, 16)
    }

    /// An IPv4 packet of any protocol with this payload; `frag` is the
    /// flags-and-offset field (offset in 8-byte units, 0x2000 = more fragments).
    fn raw_from(src: &str, dst: &str, proto: u8, frag: u16, payload: &[u8]) -> Vec<u8> {
        let total = 20 + payload.len();
        let mut d = vec![0x45, 0];
        d.extend_from_slice(&(total as u16).to_be_bytes());
        d.extend_from_slice(&[0, 7]);
        d.extend_from_slice(&frag.to_be_bytes());
        d.extend_from_slice(&[64, proto, 0, 0]);
        d.extend_from_slice(&a(src).octets());
        d.extend_from_slice(&a(dst).octets());
        d.extend_from_slice(payload);
        let mut p = Packet::new(d);
        p.fix_checksums();
        p.data
    }

    /// A UDP datagram whose IP header carries 4 bytes of options (NOPs and an end).
    fn udp_ip_options(sport: u16, dport: u16) -> Frame {
        let plain = build_udp(&ipf(PHANTOM, "10.2.0.2", 64), sport, dport, b"abc").data;
        let mut d = plain[..20].to_vec();
        d[0] = 0x46;
        d.extend_from_slice(&[1, 1, 1, 0]);
        d.extend_from_slice(&plain[20..]);
        let total = d.len() as u16;
        d[2..4].copy_from_slice(&total.to_be_bytes());
        let mut p = Packet::new(d);
        p.fix_checksums();
        frame(format!("udp {sport}->{dport} with IP options"), p.data)
    }

    fn raw(what: impl Into<String>, proto: u8, frag: u16, payload: &[u8]) -> Frame {
        frame(what, raw_from(PHANTOM, "10.2.0.2", proto, frag, payload))
    }

    /// The first `n` bytes of the transport header of a TCP segment to port 9.
    fn tcp_cut(sport: u16, n: usize) -> Frame {
        let full = tcp_full(sport, "10.2.0.2", 9, tf::SYN, vec![]);
        raw(format!("tcp cut to {n} bytes"), 6, 0, &full[20..20 + n])
    }

    /// A TCP header with data offset `doff` words and `len` bytes in all.
    fn tcp_doff(sport: u16, doff: u8, len: usize) -> Frame {
        let full = tcp_full(sport, "10.2.0.2", 9, tf::SYN, vec![]);
        let mut t = full[20..].to_vec();
        t.resize(len, 1);
        t[12] = doff << 4;
        raw(format!("tcp doff {doff}, {len} bytes"), 6, 0, &t)
    }

    /// An SCTP packet: common header and chunks (type, flags, value length).
    fn sctp(sport: u16, dport: u16, chunks: &[(u8, u8, usize)]) -> Frame {
        let mut p = Vec::new();
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
        for &(ty, flags, len) in chunks {
            p.extend_from_slice(&[ty, flags]);
            p.extend_from_slice(&((4 + len) as u16).to_be_bytes());
            p.extend(std::iter::repeat_n(0u8, len));
            while p.len() % 4 != 0 {
                p.push(0);
            }
        }
        raw(
            format!("sctp {sport}->{dport} chunks {chunks:?}"),
            132,
            0,
            &p,
        )
    }

    fn sctp_bytes(what: &str, bytes: Vec<u8>) -> Frame {
        raw(format!("sctp {what}"), 132, 0, &bytes)
    }

    /// A DCCP packet: type, extended sequence numbers, data offset in words,
    /// total length and the option bytes placed after the type's header.
    fn dccp(sport: u16, dport: u16, ty: u8, x: bool, doff: u8, len: usize, opts: &[u8]) -> Frame {
        let mut p = vec![0u8; len.max(12)];
        p[..2].copy_from_slice(&sport.to_be_bytes());
        p[2..4].copy_from_slice(&dport.to_be_bytes());
        p[4] = doff;
        p[8] = (ty << 1) | x as u8;
        let hlen = 12
            + if x { 4 } else { 0 }
            + match ty {
                2 => 0,
                3 | 4 | 5 | 6 | 8 | 9 => 8,
                0 => 4,
                _ => 12,
            };
        for (i, b) in opts.iter().enumerate() {
            if let Some(slot) = p.get_mut(hlen + i) {
                *slot = *b;
            }
        }
        p.truncate(len);
        raw(
            format!("dccp {sport}->{dport} type {ty} x={x} doff {doff} len {len} opts {opts:?}"),
            33,
            0,
            &p,
        )
    }

    fn spi(proto: u8, spi: u32) -> Frame {
        let mut p = vec![0u8; 16];
        match proto {
            51 => p[4..8].copy_from_slice(&spi.to_be_bytes()),
            50 => p[..4].copy_from_slice(&spi.to_be_bytes()),
            _ => p[2..4].copy_from_slice(&(spi as u16).to_be_bytes()),
        }
        raw(format!("proto {proto} spi {spi}"), proto, 0, &p)
    }

    /// Rule counters of `iptables-save -c`, by table (base chain policy
    /// counters are left out: nf_tables keeps none).
    fn rule_counters(text: &str) -> Vec<String> {
        let mut table = String::new();
        let mut v: Vec<String> = text
            .lines()
            .filter_map(|l| {
                if let Some(t) = l.strip_prefix('*') {
                    table = t.to_string();
                }
                l.starts_with('[').then(|| format!("{table}: {l}"))
            })
            .collect();
        v.sort();
        v
    }

    struct Case {
        name: &'static str,
        rules: &'static str,
        frames: Vec<Frame>,
    }

    fn cases() -> Vec<Case> {
        vec![
            Case {
                name: "tcp ports (native nf_tables compares)",
                rules: "*filter
-A INPUT -p tcp --dport 22 -j DROP
-A INPUT -p tcp ! --sport 41000:41100 -j DROP
-A FORWARD -p tcp --dport 80
-A FORWARD -p tcp --sport 41000:41010
-A FORWARD -p tcp ! --dport 80
-A FORWARD -p tcp --dport 0:100
-A FORWARD -p tcp ! --dport 0:100
-A FORWARD -p tcp --sport 41001 --dport 80
-A FORWARD -p tcp ! --sport 41001 ! --dport 80
-A FORWARD -p tcp ! --sport 41001 --dport 80
-A FORWARD -p tcp --dport 1024:
-A FORWARD -p tcp -m tcp ! --dport 81 -m tcp --dport 80:81
-A FORWARD -p tcp --sport 80 --dport 41001
-A FORWARD -p tcp --dport 81 -j DROP
-A FORWARD -p tcp --dport 5000 -j DROP
-A OUTPUT -p tcp --sport 23
-A OUTPUT -p tcp --dport 41000:41100
COMMIT
",
                frames: vec![
                    syn(41001, "10.2.0.2", 80),
                    syn(41002, "10.2.0.2", 80),
                    syn(41001, "10.2.0.2", 81),
                    syn(41003, "10.2.0.2", 5000),
                    syn(50000, "10.2.0.2", 80),
                    syn(41004, "10.2.0.2", 443),
                    syn(41001, "10.2.0.2", 443),
                    syn(41001, "10.1.0.1", 22),
                    syn(41005, "10.1.0.1", 23),
                    syn(999, "10.1.0.1", 23),
                    tcp(41009, "10.2.0.2", 80, tf::ACK),
                    syn(80, "10.2.0.2", 41001),
                ],
            },
            Case {
                name: "tcp flags and --syn (native)",
                rules: "*filter
-A FORWARD -p tcp --syn
-A FORWARD -p tcp ! --syn
-A FORWARD -p tcp --tcp-flags ALL NONE
-A FORWARD -p tcp --tcp-flags SYN,ACK SYN,ACK
-A FORWARD -p tcp ! --tcp-flags FIN,ACK FIN
-A FORWARD -p tcp --tcp-flags SYN SYN,ACK
-A FORWARD -p tcp ! --tcp-flags SYN SYN,ACK
-A FORWARD -p tcp --tcp-flags ALL FIN,PSH,URG
-A FORWARD -p tcp --tcp-flags NONE NONE
-A FORWARD -p tcp --tcp-flags RST RST -j DROP
-A FORWARD -p tcp --dport 9 -j DROP
COMMIT
",
                frames: vec![
                    tcp(42001, "10.2.0.2", 9, tf::SYN),
                    tcp(42002, "10.2.0.2", 9, tf::SYN | tf::ACK),
                    tcp(42003, "10.2.0.2", 9, tf::ACK),
                    tcp(42004, "10.2.0.2", 9, tf::FIN),
                    tcp(42005, "10.2.0.2", 9, tf::FIN | tf::ACK),
                    tcp(42006, "10.2.0.2", 9, tf::RST),
                    tcp(42007, "10.2.0.2", 9, tf::RST | tf::ACK),
                    tcp(42008, "10.2.0.2", 9, tf::PSH | tf::ACK),
                    tcp(42009, "10.2.0.2", 9, 0),
                    tcp(42010, "10.2.0.2", 9, tf::SYN | tf::FIN),
                    tcp(42011, "10.2.0.2", 9, tf::FIN | tf::PSH | tf::URG),
                    tcp(42012, "10.2.0.2", 9, tf::SYN | tf::ECE | tf::CWR),
                    tcp(42013, "10.2.0.2", 9, 0xff),
                    syn(42014, "10.2.0.2", 80),
                ],
            },
            Case {
                name: "tcp options (xt_tcp), hotdrop of bad headers",
                rules: "*filter
-A FORWARD -p tcp --tcp-option 2
-A FORWARD -p tcp ! --tcp-option 2
-A FORWARD -p tcp --tcp-option 8
-A FORWARD -p tcp -m tcp --dport 9 --tcp-option 4
-A FORWARD -p tcp -m tcp --sport 43000:43005 ! --tcp-option 3
-A FORWARD -p tcp -m tcp
-A FORWARD -p tcp --dport 80
-A FORWARD -p tcp --dport 9 -j DROP
-A FORWARD -p tcp
COMMIT
",
                frames: vec![
                    tcp_opts(43001, 9, vec![2, 4, 5, 0xb4]),
                    tcp_opts(43002, 9, vec![2, 4, 5, 0xb4, 4, 2]),
                    tcp_opts(43013, 80, vec![2, 4, 5, 0xb4]),
                    tcp_opts(
                        43012,
                        9,
                        vec![2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7],
                    ),
                    tcp(43003, "10.2.0.2", 9, tf::ACK),
                    tcp_opts(43004, 9, vec![1, 1, 1, 1]),
                    tcp_opts(43005, 9, vec![0, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 0]),
                    tcp_opts(43006, 9, vec![3, 0, 2, 4]),
                    tcp_cut(43007, 10),
                    tcp_doff(43008, 4, 20),
                    tcp_doff(43009, 8, 24),
                    tcp_doff(43010, 8, 32),
                    raw("tcp fragment at offset 1", 6, 1, &[0u8; 24]),
                    raw("tcp fragment at offset 100", 6, 100, &[0u8; 24]),
                    raw("tcp first fragment", 6, 0x2000, &tcp_full(43011, "10.2.0.2", 9, tf::SYN, vec![2, 4, 5, 0xb4])[20..]),
                ],
            },
            Case {
                name: "native tcp on headers cut short and fragments (no drop)",
                rules: "*filter
-A FORWARD -p tcp --dport 9
-A FORWARD -p tcp --sport 44001 --dport 9
-A FORWARD -p tcp ! --sport 44001 ! --dport 9
-A FORWARD -p tcp --syn
-A FORWARD -p tcp ! --dport 9
-A FORWARD -p tcp ! --tcp-flags SYN NONE
-A FORWARD -p tcp -j DROP
COMMIT
",
                frames: vec![
                    tcp_cut(44001, 2),
                    tcp_cut(44001, 3),
                    tcp_cut(44001, 4),
                    tcp_cut(44002, 13),
                    tcp_cut(44001, 14),
                    tcp_cut(44001, 19),
                    raw("tcp fragment at offset 1", 6, 1, &[0u8; 24]),
                    raw("tcp fragment at offset 100", 6, 100, &[0u8; 24]),
                ],
            },
            Case {
                name: "udp ports (native) and a bare -m udp (xt_udp)",
                rules: "*filter
-A INPUT -p udp --dport 53
-A FORWARD -p udp --dport 53
-A FORWARD -p udp --sport 41000:41010
-A FORWARD -p udp ! --dport 53
-A FORWARD -p udp ! --sport 41001 ! --dport 53
-A FORWARD -p udp -m udp --sport 41001 -m udp ! --dport 54
-A FORWARD -p udp --sport 0:1000
-A FORWARD -p udp -m udp
-A FORWARD -p udp --dport 7 -j DROP
-A FORWARD -p udp
-A OUTPUT -p udp
COMMIT
",
                frames: vec![
                    udp(41001, "10.2.0.2", 53),
                    udp(41002, "10.2.0.2", 53),
                    udp(41001, "10.2.0.2", 54),
                    udp(50000, "10.2.0.2", 53),
                    udp(41005, "10.2.0.2", 7),
                    udp(500, "10.2.0.2", 7),
                    udp(41003, "10.1.0.1", 53),
                    raw("udp cut to 3 bytes", 17, 0, &[0xa0, 0x29, 0]),
                    raw("udp cut to 6 bytes", 17, 0, &[0xa0, 0x29, 0, 7, 0, 6]),
                    raw("udp fragment at offset 50", 17, 50, &[0u8; 16]),
                ],
            },
            Case {
                name: "quirks: native tcp on udp, IP options, hotdrop in a user chain",
                rules: "*filter
:CHK - [0:0]
-A FORWARD ! -p tcp -m tcp --dport 7
-A FORWARD ! -p tcp -m tcp --sport 40000:41000 --tcp-flags SYN NONE
-A FORWARD -p udp --dport 7
-A FORWARD -p udp -m multiport --dports 7,8
-A FORWARD -p tcp -j CHK
-A FORWARD -p tcp
-A CHK -p tcp --dport 9
-A CHK -p tcp -m tcp --tcp-option 2
-A CHK -p tcp --dport 9 -j DROP
-A CHK -p tcp -j RETURN
COMMIT
",
                frames: vec![
                    udp(40001, "10.2.0.2", 7),
                    udp(40002, "10.2.0.2", 8),
                    udp_ip_options(40003, 7),
                    udp_ip_options(40004, 8),
                    syn(40005, "10.2.0.2", 9),
                    tcp(40006, "10.2.0.2", 9, tf::ACK),
                    tcp_cut(40007, 12),
                    syn(40008, "10.2.0.2", 80),
                ],
            },
            Case {
                name: "multiport",
                rules: "*filter
-A FORWARD -p tcp -m multiport --dports 22,80,443
-A FORWARD -p tcp -m multiport --sports 41000:41005,41010
-A FORWARD -p tcp -m multiport ! --dports 80,81
-A FORWARD -p tcp -m multiport --ports 80
-A FORWARD -p tcp -m multiport ! --ports 80,1:1000
-A FORWARD -p udp -m multiport ! --ports 53,80:90
-A FORWARD -p udp -m multiport --dports 50:60
-A FORWARD -p sctp -m multiport --dports 9,10
-A FORWARD -p sctp -m multiport --sports 9,10
-A FORWARD -p tcp -m multiport --dports 9 -j DROP
-A FORWARD -p udp -m multiport --dports 9 -j DROP
-A FORWARD -p sctp -j DROP
COMMIT
",
                frames: vec![
                    syn(41001, "10.2.0.2", 80),
                    syn(41010, "10.2.0.2", 443),
                    syn(41020, "10.2.0.2", 81),
                    syn(41030, "10.2.0.2", 9),
                    syn(80, "10.2.0.2", 9),
                    udp(41001, "10.2.0.2", 53),
                    udp(41040, "10.2.0.2", 85),
                    udp(41050, "10.2.0.2", 9),
                    sctp(41060, 9, &[(1, 0, 16)]),
                    sctp(10, 41060, &[(1, 0, 16)]),
                    raw("tcp cut to 3 bytes", 6, 0, &[0, 80, 0]),
                    raw("tcp fragment at offset 3", 6, 3, &[0u8; 24]),
                ],
            },
            Case {
                name: "icmp types and codes, ICMP errors",
                rules: "*filter
-A INPUT -p icmp --icmp-type echo-request
-A INPUT -p icmp ! --icmp-type any
-A FORWARD -p icmp --icmp-type echo-request
-A FORWARD -p icmp --icmp-type 8/0
-A FORWARD -p icmp --icmp-type any
-A FORWARD -p icmp ! --icmp-type echo-request
-A FORWARD -p icmp --icmp-type destination-unreachable
-A FORWARD -p icmp --icmp-type port-unreachable
-A FORWARD -p icmp --icmp-type 3/1
-A FORWARD -p icmp --icmp-type echo-reply
-A FORWARD -p icmp --icmp-type 13 -j DROP
-A FORWARD -p icmp --icmp-type 8/5 -j DROP
-A FORWARD -p icmp --icmp-type 200 -j DROP
-A OUTPUT -p icmp --icmp-type echo-reply
-A OUTPUT -p icmp --icmp-type time-exceeded
-A OUTPUT -p icmp --icmp-type ttl-zero-during-transit
-A OUTPUT -p icmp --icmp-type port-unreachable
-A OUTPUT -p icmp ! --icmp-type 3/3
COMMIT
",
                frames: vec![
                    ping(1, "10.2.0.2"),
                    icmp_full(PHANTOM, "10.2.0.2", 64, 8, 5, 2, 16),
                    icmp_full(PHANTOM, "10.2.0.2", 64, 13, 0, 3, 12),
                    icmp_full(PHANTOM, "10.2.0.2", 64, 200, 1, 4, 0),
                    ping(5, "10.1.0.1"),
                    icmp_full(PHANTOM, "10.2.0.2", 1, 8, 0, 6, 16),
                    udp(45001, "10.2.0.2", 9999),
                    udp(45002, "10.1.0.1", 9999),
                    raw("icmp cut to 4 bytes", 1, 0, &[8, 0, 0xf7, 0xff]),
                    raw("icmp fragment at offset 20", 1, 20, &[0u8; 16]),
                ],
            },
            Case {
                name: "esp, ah and ipcomp SPIs",
                rules: "*filter
-A FORWARD -p esp -m esp --espspi 100
-A FORWARD -p esp -m esp --espspi 100:200
-A FORWARD -p esp -m esp ! --espspi 100
-A FORWARD -p esp -m esp
-A FORWARD -p ah -m ah --ahspi 5
-A FORWARD -p ah -m ah ! --ahspi 5:6
-A FORWARD -p ah -m ah --ahspi 4000000000:
-A FORWARD -p ipcomp -m ipcomp --ipcompspi 7
-A FORWARD -p ipcomp -m ipcomp ! --ipcompspi 7
-A FORWARD -p ipcomp -m ipcomp
-A FORWARD -p ipcomp -m ipcomp --ipcompspi 65535:70000
-A FORWARD -p esp -j DROP
-A FORWARD -p ah -j DROP
-A FORWARD -p ipcomp -j DROP
COMMIT
",
                frames: vec![
                    spi(50, 100),
                    spi(50, 150),
                    spi(50, 4_000_000_000),
                    raw("esp cut to 4 bytes", 50, 0, &[0, 0, 0, 100]),
                    raw("esp fragment", 50, 9, &[0u8; 16]),
                    spi(51, 5),
                    spi(51, 6),
                    spi(51, 7),
                    spi(51, 4_100_000_000),
                    raw("ah cut to 8 bytes", 51, 0, &[0, 0, 0, 0, 0, 0, 0, 5]),
                    spi(108, 7),
                    spi(108, 0),
                    spi(108, 65535),
                    raw("ipcomp cut to 2 bytes", 108, 0, &[0, 0]),
                ],
            },
            Case {
                name: "sctp ports and chunks",
                rules: "*filter
-A FORWARD -p sctp --dport 9
-A FORWARD -p sctp --sport 41000:41005
-A FORWARD -p sctp ! --dport 9
-A FORWARD -p sctp -m sctp --chunk-types any INIT
-A FORWARD -p sctp -m sctp --chunk-types all DATA,SACK
-A FORWARD -p sctp -m sctp --chunk-types only DATA
-A FORWARD -p sctp -m sctp ! --chunk-types any ABORT
-A FORWARD -p sctp -m sctp --chunk-types any DATA:B
-A FORWARD -p sctp -m sctp --chunk-types any DATA:iE
-A FORWARD -p sctp -m sctp --chunk-types all ABORT:T
-A FORWARD -p sctp -m sctp --chunk-types only DATA,SACK,COOKIE_ECHO
-A FORWARD -p sctp -m sctp --dport 10 --chunk-types any NONE
-A FORWARD -p sctp -j DROP
COMMIT
",
                frames: vec![
                    sctp(41001, 9, &[(1, 0, 16)]),
                    sctp(41002, 9, &[(0, 0x03, 8)]),
                    sctp(41003, 10, &[(0, 0x02, 8), (3, 0, 12)]),
                    sctp(41010, 9, &[(3, 0, 12)]),
                    sctp(41011, 9, &[(6, 1, 0)]),
                    sctp(41012, 9, &[(6, 0, 0), (0, 1, 3)]),
                    sctp(41013, 10, &[(10, 0, 4), (0, 0x07, 5)]),
                    sctp(41014, 9, &[(0, 0x04, 1), (0, 0x01, 1), (0, 0x03, 1)]),
                    sctp_bytes(
                        "with a chunk of length 0",
                        vec![0xa0, 0x2f, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0],
                    ),
                    sctp_bytes(
                        "common header only",
                        vec![0xa0, 0x30, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0],
                    ),
                    sctp_bytes("cut to 8 bytes", vec![0xa0, 0x31, 0, 9, 0, 0, 0, 1]),
                    sctp_bytes(
                        "with a chunk header cut short",
                        vec![0xa0, 0x32, 0, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 20, 0, 0],
                    ),
                    raw("sctp fragment", 132, 4, &[0u8; 16]),
                ],
            },
            Case {
                name: "dccp ports, types and options",
                rules: "*filter
-A FORWARD -p dccp --dport 9
-A FORWARD -p dccp ! --sport 41000:41005
-A FORWARD -p dccp -m dccp --dccp-types REQUEST,RESPONSE
-A FORWARD -p dccp -m dccp ! --dccp-types DATA
-A FORWARD -p dccp -m dccp --dccp-types INVALID
-A FORWARD -p dccp -m dccp --dccp-option 32
-A FORWARD -p dccp -m dccp ! --dccp-option 44
-A FORWARD -p dccp -m dccp --sport 41000:41003 --dccp-types ACK --dccp-option 1
-A FORWARD -p dccp -j DROP
COMMIT
",
                frames: vec![
                    dccp(41001, 9, 0, true, 5, 20, &[]),
                    dccp(41002, 9, 0, true, 6, 24, &[32, 3, 1, 0]),
                    dccp(41003, 10, 2, true, 4, 16, &[]),
                    dccp(41003, 10, 2, false, 5, 20, &[44, 3, 0, 0]),
                    dccp(41003, 10, 3, true, 7, 28, &[1, 0, 0, 0]),
                    dccp(41010, 9, 7, true, 8, 32, &[0, 0, 0, 0]),
                    dccp(41011, 9, 12, false, 3, 12, &[]),
                    dccp(41012, 9, 1, true, 3, 12, &[]),
                    dccp(41004, 9, 0, true, 10, 20, &[]),
                    dccp(41004, 9, 0, true, 5, 11, &[]),
                    raw("dccp fragment", 33, 8, &[0u8; 16]),
                ],
            },
            Case {
                name: "iprange",
                rules: "*filter
-A INPUT -m iprange --dst-range 10.1.0.1-10.1.0.1
-A INPUT -m iprange ! --src-range 10.1.0.0-10.1.0.99
-A FORWARD -m iprange --src-range 10.1.0.90-10.1.0.110
-A FORWARD -m iprange ! --src-range 10.1.0.90-10.1.0.110
-A FORWARD -m iprange --dst-range 10.2.0.1-10.2.0.2
-A FORWARD -m iprange --src-range 10.1.0.100 --dst-range 10.2.0.0-10.2.0.255
-A FORWARD -m iprange ! --dst-range 10.2.0.2-10.2.0.254
-A FORWARD -m iprange --src-range 10.1.0.110-10.1.0.90
-A FORWARD -m iprange ! --src-range 10.1.0.110-10.1.0.90
-A FORWARD -m iprange ! --src-range 10.1.0.0-10.1.0.255 ! --dst-range 10.1.0.0-10.1.0.255
-A OUTPUT -m iprange --src-range 10.1.0.1-10.2.0.1
COMMIT
",
                frames: vec![
                    ping(1, "10.2.0.2"),
                    icmp_full("10.1.0.50", "10.2.0.2", 64, 0, 0, 2, 8),
                    icmp_full("10.1.0.95", "10.2.0.2", 64, 0, 0, 3, 8),
                    icmp_full("10.1.0.200", "10.2.0.2", 64, 0, 0, 4, 8),
                    icmp_full("10.1.0.110", "10.2.0.2", 64, 0, 0, 5, 8),
                    ping(6, "10.1.0.1"),
                    ping(7, "10.2.0.1"),
                    icmp_full("10.1.0.50", "10.1.0.1", 64, 0, 0, 8, 8),
                    icmp_full("192.168.7.7", "10.2.0.2", 64, 0, 0, 9, 8),
                ],
            },
            Case {
                name: "addrtype in PREROUTING (all dropped there)",
                rules: "*mangle
-A PREROUTING -m addrtype --dst-type LOCAL
-A PREROUTING -m addrtype --dst-type UNICAST
-A PREROUTING -m addrtype --dst-type BROADCAST
-A PREROUTING -m addrtype --dst-type MULTICAST
-A PREROUTING -m addrtype ! --dst-type LOCAL,UNICAST
-A PREROUTING -m addrtype --src-type UNICAST
-A PREROUTING -m addrtype --src-type BROADCAST
-A PREROUTING -m addrtype --src-type LOCAL
-A PREROUTING -m addrtype --src-type MULTICAST
-A PREROUTING -m addrtype --dst-type LOCAL --limit-iface-in
-A PREROUTING -m addrtype --dst-type BROADCAST --limit-iface-in
-A PREROUTING -m addrtype ! --dst-type UNICAST --limit-iface-in
-A PREROUTING -m addrtype --src-type UNICAST --dst-type LOCAL
-A PREROUTING -m addrtype --dst-type UNREACHABLE,BLACKHOLE,PROHIBIT,ANYCAST,UNSPEC,THROW,NAT,XRESOLVE
-A PREROUTING -j DROP
COMMIT
",
                frames: [
                    "10.1.0.1",
                    "10.2.0.1",
                    "10.2.0.2",
                    "10.1.0.255",
                    "10.2.0.255",
                    "255.255.255.255",
                    "224.0.0.1",
                    "239.1.2.3",
                    "127.0.0.1",
                    "127.9.9.9",
                    "10.9.9.9",
                    "10.1.0.0",
                    "0.0.0.0",
                    "0.1.2.3",
                ]
                .iter()
                .map(|d| udp_from(PHANTOM, 46000, d, 9, 3))
                .chain(
                    [
                        "0.0.0.0",
                        "10.1.0.1",
                        "10.2.0.1",
                        "224.1.1.1",
                        "255.255.255.255",
                        "127.0.0.5",
                        "10.1.0.255",
                    ]
                    .iter()
                    .map(|s| udp_from(s, 46001, "10.2.0.2", 9, 3)),
                )
                .collect(),
            },
            Case {
                name: "addrtype in INPUT, FORWARD, OUTPUT with interface limits",
                rules: "*filter
-A INPUT -m addrtype --dst-type LOCAL --limit-iface-in
-A INPUT -m addrtype --dst-type LOCAL
-A INPUT -m addrtype ! --src-type LOCAL
-A INPUT -m addrtype --dst-type BROADCAST
-A INPUT -m addrtype --dst-type BROADCAST --limit-iface-in
-A FORWARD -m addrtype --dst-type UNICAST --limit-iface-out
-A FORWARD -m addrtype --src-type UNICAST --limit-iface-out
-A FORWARD -m addrtype ! --dst-type LOCAL
-A FORWARD -m addrtype --src-type LOCAL
-A OUTPUT -m addrtype --src-type LOCAL
-A OUTPUT -m addrtype --src-type LOCAL --limit-iface-out
-A OUTPUT -m addrtype --dst-type UNICAST
-A OUTPUT -m addrtype --dst-type LOCAL --limit-iface-out
COMMIT
",
                frames: vec![
                    ping(1, "10.1.0.1"),
                    ping(2, "10.2.0.1"),
                    syn(47001, "10.2.0.2", 80),
                    udp(47002, "10.2.0.2", 9999),
                    syn(47003, "10.1.0.1", 23),
                    syn(47004, "10.2.0.1", 23),
                    udp(47005, "10.1.0.255", 9999),
                    udp(47006, "10.2.0.255", 9999),
                ],
            },
            Case {
                name: "mac source",
                rules: "*mangle
-A PREROUTING -m mac --mac-source 02:00:00:01:00:64
-A PREROUTING -m mac ! --mac-source 02:00:00:01:00:64
COMMIT
*filter
-A INPUT -m mac --mac-source 02:AA:BB:CC:DD:EE
-A INPUT -m mac ! --mac-source 02:00:00:01:00:64
-A FORWARD -m mac --mac-source 02:00:00:01:00:64
-A FORWARD -m mac --mac-source 02:00:00:01:00:02 -j DROP
-A FORWARD -m mac ! --mac-source 02:00:00:01:00:64
COMMIT
",
                frames: vec![
                    ping(1, "10.2.0.2"),
                    ping(2, "10.2.0.2").macs(R0_MAC, CLIENT_MAC),
                    ping(3, "10.2.0.2").macs(R0_MAC, OTHER_MAC),
                    ping(4, "10.1.0.1"),
                    ping(5, "10.1.0.1").macs(R0_MAC, OTHER_MAC),
                    ping(6, "10.1.0.1").macs(R0_MAC, CLIENT_MAC),
                    syn(48001, "10.2.0.2", 80).macs(R0_MAC, OTHER_MAC),
                ],
            },
            Case {
                name: "pkttype from the frame's destination MAC",
                rules: "*mangle
-A PREROUTING -m pkttype --pkt-type unicast
-A PREROUTING -m pkttype --pkt-type broadcast
-A PREROUTING -m pkttype --pkt-type multicast
-A PREROUTING -m pkttype ! --pkt-type unicast
-A PREROUTING -m pkttype --pkt-type otherhost
COMMIT
*filter
-A INPUT -m pkttype --pkt-type broadcast
-A INPUT -m pkttype --pkt-type multicast
-A INPUT -m pkttype --pkt-type unicast
-A INPUT -j DROP
-A FORWARD -m pkttype --pkt-type unicast
-A FORWARD -m pkttype ! --pkt-type unicast
-A OUTPUT -m pkttype --pkt-type unicast
-A OUTPUT -m pkttype ! --pkt-type unicast
COMMIT
",
                frames: vec![
                    udp(49001, "10.1.0.1", 9),
                    udp(49002, "10.1.0.1", 9).macs(BCAST_MAC, PHANTOM_MAC),
                    udp(49003, "10.1.0.1", 9).macs(MCAST_MAC, PHANTOM_MAC),
                    udp(49004, "10.1.0.255", 9).macs(BCAST_MAC, PHANTOM_MAC),
                    udp(49005, "255.255.255.255", 9).macs(BCAST_MAC, PHANTOM_MAC),
                    udp(49006, "10.2.0.2", 9).macs(BCAST_MAC, PHANTOM_MAC),
                    udp(49007, "10.2.0.2", 9).macs(MCAST_MAC, PHANTOM_MAC),
                    udp(49008, "10.2.0.2", 9),
                    udp(49009, "10.2.0.2", 9).macs(FOREIGN_MAC, PHANTOM_MAC),
                    icmp_full(PHANTOM, "10.2.0.2", 1, 8, 0, 10, 8),
                ],
            },
            Case {
                name: "length and ttl",
                rules: "*mangle
-A PREROUTING -m ttl --ttl-eq 64
-A PREROUTING -m ttl --ttl-lt 5
-A PREROUTING -m length --length 28
COMMIT
*filter
-A FORWARD -m length --length 0:100
-A FORWARD -m length --length 28
-A FORWARD -m length ! --length 40:60
-A FORWARD -m length --length 1000:
-A FORWARD -m length --length 60:40
-A FORWARD -m length ! --length 60:40
-A FORWARD -m ttl --ttl-eq 63
-A FORWARD -m ttl ! --ttl-eq 63
-A FORWARD -m ttl --ttl-lt 10
-A FORWARD -m ttl --ttl-gt 100
-A FORWARD -m ttl --ttl-gt 254
-A FORWARD -m ttl --ttl-lt 1
-A OUTPUT -m length --length 56
-A OUTPUT -m ttl --ttl-eq 64
COMMIT
",
                frames: vec![
                    icmp_full(PHANTOM, "10.2.0.2", 64, 8, 0, 1, 0),
                    icmp_full(PHANTOM, "10.2.0.2", 64, 8, 0, 2, 12),
                    icmp_full(PHANTOM, "10.2.0.2", 64, 8, 0, 3, 32),
                    icmp_full(PHANTOM, "10.2.0.2", 64, 8, 0, 4, 1000),
                    icmp_full(PHANTOM, "10.2.0.2", 5, 0, 0, 5, 8),
                    icmp_full(PHANTOM, "10.2.0.2", 200, 0, 0, 6, 8),
                    icmp_full(PHANTOM, "10.2.0.2", 2, 0, 0, 7, 8),
                    icmp_full(PHANTOM, "10.2.0.2", 1, 8, 0, 8, 8),
                    icmp_full(PHANTOM, "10.2.0.2", 255, 0, 0, 9, 8),
                    icmp_full(PHANTOM, "10.1.0.1", 3, 8, 0, 10, 20),
                ],
            },
        ]
    }

    #[test]
    fn port_matches_agree_with_kernel() {
        if let Err(why) = common::can_use_kernel() {
            println!("skipped: {why}");
            return;
        }
        let tag = format!("kp{}", std::process::id() % 10000);
        let topo = Topology::new(&tag).expect("topology");
        let _listener = listen(&topo.server(), 80);
        std::thread::sleep(std::time::Duration::from_millis(200));
        let only = std::env::var("PORTS_CASE").ok();
        let mut mismatches = Vec::new();
        let (mut frames_sent, mut pairs) = (0, 0);
        for case in cases() {
            if only.as_deref().is_some_and(|o| !case.name.contains(o)) {
                continue;
            }
            let _ = topo.exec(
                &topo.router(),
                "for t in filter mangle raw; do iptables -t $t -F; iptables -t $t -X; iptables -t $t -Z; done; iptables -P FORWARD ACCEPT; iptables -P INPUT ACCEPT",
            );
            topo.load_router_rules(case.rules).expect("real restore");
            let mut w = sim_world();
            let out = common::sh_stdin(&mut w.hosts[0], "iptables-restore", case.rules);
            assert_eq!(
                out.exit, 0,
                "{}: our restore failed: {}",
                case.name, out.stderr
            );
            let rules = case.rules.lines().filter(|l| l.starts_with("-A")).count();
            for f in &case.frames {
                let mut real: Vec<String> = topo
                    .inject_frame(f.dst_mac, f.src_mac, &f.ip)
                    .into_iter()
                    .map(|(s, b)| describe(seen_name(s), &b))
                    .collect();
                real.sort();
                w.wire.clear();
                let mut pkt = Packet::new(f.ip.clone());
                pkt.meta.dst_mac = Some(f.dst_mac);
                pkt.meta.src_mac = Some(f.src_mac);
                w.inject(0, "r0", pkt);
                let sim = sim_frames(&w);
                frames_sent += 1;
                pairs += rules;
                if real != sim {
                    mismatches.push(format!(
                        "{}: {}\n  kernel:    {real:#?}\n  simulator: {sim:#?}",
                        case.name, f.what
                    ));
                }
            }
            let real_save = topo.exec(&topo.router(), "iptables-save -c").expect("save");
            let sim_save = common::sh(&mut w.hosts[0], "iptables-save -c").stdout;
            let (real_c, sim_c) = (rule_counters(&real_save), rule_counters(&sim_save));
            if real_c != sim_c {
                mismatches.push(format!(
                    "{}: rule counters\n--- kernel\n{}\n--- simulator\n{}",
                    case.name,
                    real_c.join("\n"),
                    sim_c.join("\n")
                ));
            }
        }
        println!(
            "kernel vs simulator: {frames_sent} frames through {pairs} frame/rule pairs, {} mismatches",
            mismatches.len()
        );
        for m in &mismatches {
            println!("MISMATCH {m}");
        }
        assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
    }
}
