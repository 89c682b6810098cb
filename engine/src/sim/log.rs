//! The kernel's packet log line (nf_log for IPv4), as `-j LOG` writes it to
//! the kernel log: `PREFIXIN=eth0 OUT= MAC=... SRC=... DST=... LEN=...`.

use crate::packet::{parse, Headers, Packet, L4};
use std::fmt::Write;

/// `--log-tcp-sequence`, `--log-tcp-options`, `--log-ip-options`, `--log-uid`, `--log-macdecode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogFlags {
    pub tcp_sequence: bool,
    pub tcp_options: bool,
    pub ip_options: bool,
    pub uid: bool,
    pub macdecode: bool,
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// Appends the IP header, transport and (for ICMP errors) quoted packet fields.
fn dump_ip(out: &mut String, h: &Headers, data: &[u8], flags: LogFlags, inner: bool) {
    let _ = write!(
        out,
        "SRC={} DST={} LEN={} TOS=0x{:02X} PREC=0x{:02X} TTL={} ID={} ",
        h.src,
        h.dst,
        h.total_len,
        h.tos & 0x1e,
        h.tos & 0xe0,
        h.ttl,
        h.id
    );
    let frag = u16::from_be_bytes([data[6], data[7]]);
    if frag & 0x8000 != 0 {
        out.push_str("CE ");
    }
    if h.df {
        out.push_str("DF ");
    }
    if h.mf {
        out.push_str("MF ");
    }
    if h.frag_offset != 0 {
        let _ = write!(out, "FRAG:{} ", h.frag_offset);
    }
    if flags.ip_options && !h.ip_options.is_empty() {
        let _ = write!(out, "OPT ({}) ", hex_upper(&h.ip_options));
    }
    let l4_at = usize::from(h.header_len).min(data.len());
    match &h.l4 {
        L4::Tcp(t) => {
            out.push_str("PROTO=TCP ");
            let _ = write!(out, "SPT={} DPT={} ", t.sport, t.dport);
            if flags.tcp_sequence {
                let _ = write!(out, "SEQ={} ACK={} ", t.seq, t.ack);
            }
            let _ = write!(out, "WINDOW={} ", t.window);
            let res = data.get(l4_at + 12).map(|b| (b & 0x0f) << 2).unwrap_or(0);
            let _ = write!(out, "RES=0x{res:02x} ");
            for (bit, name) in [
                (0x80, "CWR"),
                (0x40, "ECE"),
                (0x20, "URG"),
                (0x10, "ACK"),
                (0x08, "PSH"),
                (0x04, "RST"),
                (0x02, "SYN"),
                (0x01, "FIN"),
            ] {
                if t.flags & bit != 0 {
                    out.push_str(name);
                    out.push(' ');
                }
            }
            let _ = write!(out, "URGP={} ", t.urgent);
            if flags.tcp_options && !t.options.is_empty() {
                let _ = write!(out, "OPT ({}) ", hex_upper(&t.options));
            }
        }
        L4::Udp(u) => {
            let _ = write!(
                out,
                "PROTO=UDP SPT={} DPT={} LEN={} ",
                u.sport, u.dport, u.len
            );
        }
        L4::Icmp(i) => {
            let _ = write!(out, "PROTO=ICMP TYPE={} CODE={} ", i.icmp_type, i.code);
            match i.icmp_type {
                0 | 8 => {
                    let _ = write!(out, "ID={} SEQ={} ", i.id(), i.seq());
                }
                12 => {
                    let _ = write!(out, "PARAMETER={} ", i.rest[0]);
                }
                5 => {
                    let _ = write!(out, "GATEWAY={} ", std::net::Ipv4Addr::from(i.rest));
                }
                _ => {}
            }
            if i.is_error() && !inner {
                let quoted = data.get(l4_at + 8..).unwrap_or(&[]);
                if let Ok(ih) = parse(quoted, true) {
                    out.push('[');
                    dump_ip(out, &ih, quoted, flags, true);
                    out.push_str("] ");
                }
            }
            // After the quoted packet, and for a quoted one too (nf_log_syslog).
            if i.icmp_type == 3 && i.code == 4 {
                let _ = write!(out, "MTU={} ", u16::from_be_bytes([i.rest[2], i.rest[3]]));
            }
        }
        L4::Fragment => {
            let name = match h.proto {
                6 => "TCP".to_string(),
                17 => "UDP".to_string(),
                1 => "ICMP".to_string(),
                p => p.to_string(),
            };
            let _ = write!(out, "PROTO={name} ");
        }
        // IPsec headers: their SPI (struct ip_esp_hdr is 8 bytes with the
        // SPI first, struct ip_auth_hdr 12 with the SPI at 4).
        L4::Other if h.proto == 50 || h.proto == 51 => {
            let (name, need, at) = if h.proto == 50 {
                ("ESP", 8, 0)
            } else {
                ("AH", 12, 4)
            };
            let rest = data.get(l4_at..).unwrap_or(&[]);
            let _ = write!(out, "PROTO={name} ");
            if rest.len() < need {
                let _ = write!(out, "INCOMPLETE [{} bytes] ", rest.len());
            } else {
                let spi = u32::from_be_bytes([rest[at], rest[at + 1], rest[at + 2], rest[at + 3]]);
                let _ = write!(out, "SPI=0x{spi:x} ");
            }
        }
        L4::Other => {
            let _ = write!(out, "PROTO={} ", h.proto);
        }
    }
}

/// A TEE copy in POSTROUTING: a copy of a received packet keeps the offset
/// of the original's MAC header into a new buffer, so the kernel prints 14
/// bytes of whatever that memory held (different on every run; zeros
/// here); a copy of the host's own packet has no MAC header, like a
/// looped copy.
fn tee_copy_mac(out: &mut String, pkt: &Packet, flags: LogFlags) {
    let received = pkt.meta.src_mac.is_some();
    match (received, flags.macdecode) {
        (true, true) => {
            out.push_str("MACSRC=00:00:00:00:00:00 MACDST=00:00:00:00:00:00 MACPROTO=0000 ")
        }
        (true, false) => out.push_str("MAC=00:00:00:00:00:00:00:00:00:00:00:00:00:00 "),
        (false, true) => {}
        (false, false) => out.push_str("MAC= "),
    }
}

/// The whole line `-j LOG` logs for a packet.
pub fn log_line(prefix: &str, pkt: &Packet, flags: LogFlags) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "{prefix}IN={} OUT={} ",
        pkt.meta.in_iface.as_deref().unwrap_or(""),
        pkt.meta.out_iface.as_deref().unwrap_or("")
    );
    if pkt.meta.tee_clone && pkt.meta.in_iface.is_some() {
        tee_copy_mac(&mut out, pkt, flags);
    } else if let (Some(dst), Some(src)) = (pkt.meta.dst_mac, pkt.meta.src_mac) {
        if pkt.meta.in_iface.is_some() {
            if flags.macdecode {
                let _ = write!(
                    out,
                    "MACSRC={} MACDST={} MACPROTO=0800 ",
                    crate::sim::iface::mac_text(&src),
                    crate::sim::iface::mac_text(&dst)
                );
            } else {
                let mut bytes = dst.to_vec();
                bytes.extend_from_slice(&src);
                bytes.extend_from_slice(&[0x08, 0x00]);
                let mac: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
                let _ = write!(out, "MAC={} ", mac.join(":"));
            }
        }
    } else if pkt.meta.looped && pkt.meta.in_iface.is_some() && !flags.macdecode {
        // The mac header is the network header: no MAC bytes. With
        // --log-macdecode Linux 6.x prints no MAC fields at all.
        out.push_str("MAC= ");
    }
    if let Ok(h) = pkt.headers() {
        dump_ip(&mut out, &h, &pkt.data, flags, false);
    }
    // Only a full socket with a file has a user (`nf_log_dump_sk_uid_gid`).
    let own = pkt.meta.in_iface.is_none() && pkt.meta.sender == crate::packet::Sender::User;
    if flags.uid && own {
        let _ = write!(out, "UID={} GID={} ", pkt.meta.uid, pkt.meta.gid);
    }
    if pkt.meta.mark != 0 {
        let _ = write!(out, "MARK=0x{:x} ", pkt.meta.mark);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{build_icmp_error, build_tcp, build_udp, tcp_flags, IpFields, TcpFields};
    use std::net::Ipv4Addr;

    #[test]
    fn forwarded_tcp_syn_like_the_kernel() {
        let mut ip = IpFields::new(Ipv4Addr::new(10, 1, 0, 100), Ipv4Addr::new(10, 2, 0, 2));
        ip.ttl = 63;
        ip.id = 1;
        let mut p = build_tcp(
            &ip,
            &TcpFields {
                sport: 46000,
                dport: 7030,
                seq: 123456,
                flags: tcp_flags::SYN,
                window: 64240,
                options: vec![2, 4, 5, 0xb4, 1, 1, 4, 2],
                ..Default::default()
            },
            b"",
        );
        p.meta.in_iface = Some("r0".into());
        p.meta.out_iface = Some("r1".into());
        p.meta.dst_mac = Some([2, 0, 0, 1, 0, 1]);
        p.meta.src_mac = Some([2, 0, 0, 1, 0, 0x64]);
        let flags = LogFlags {
            tcp_sequence: true,
            tcp_options: true,
            ..Default::default()
        };
        assert_eq!(
            log_line("ORC-T1: ", &p, flags),
            "ORC-T1: IN=r0 OUT=r1 MAC=02:00:00:01:00:01:02:00:00:01:00:64:08:00 SRC=10.1.0.100 DST=10.2.0.2 LEN=48 TOS=0x00 PREC=0x00 TTL=63 ID=1 PROTO=TCP SPT=46000 DPT=7030 SEQ=123456 ACK=0 WINDOW=64240 RES=0x00 SYN URGP=0 OPT (020405B401010402) "
        );
    }

    #[test]
    fn icmp_error_quotes_the_packet() {
        let mut ip = IpFields::new(Ipv4Addr::new(10, 1, 0, 100), Ipv4Addr::new(10, 2, 0, 2));
        ip.ttl = 63;
        ip.id = 1;
        let udp = build_udp(&ip, 46001, 7031, b"abc");
        let mut back = IpFields::new(Ipv4Addr::new(10, 2, 0, 2), Ipv4Addr::new(10, 1, 0, 100));
        back.tos = 0xc0;
        back.ttl = 63;
        back.id = 34608;
        let mut p = build_icmp_error(&back, 3, 3, [0; 4], &udp.data);
        p.meta.in_iface = Some("r1".into());
        p.meta.out_iface = Some("r0".into());
        p.meta.dst_mac = Some([2, 0, 0, 2, 0, 1]);
        p.meta.src_mac = Some([2, 0, 0, 2, 0, 2]);
        assert_eq!(
            log_line("ORC-I1: ", &p, LogFlags::default()),
            "ORC-I1: IN=r1 OUT=r0 MAC=02:00:00:02:00:01:02:00:00:02:00:02:08:00 SRC=10.2.0.2 DST=10.1.0.100 LEN=59 TOS=0x00 PREC=0xC0 TTL=63 ID=34608 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.1.0.100 DST=10.2.0.2 LEN=31 TOS=0x00 PREC=0x00 TTL=63 ID=1 PROTO=UDP SPT=46001 DPT=7031 LEN=11 ] "
        );
    }
}
