//! A packet described in words (for the packet builder, lab files and tests)
//! and turned into real bytes.

use super::{build_icmp, build_tcp, build_udp, tcp_flags, IpFields, Packet, TcpFields};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// Transport part of a packet description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "proto", rename_all = "lowercase")]
pub enum L4Spec {
    Tcp {
        sport: u16,
        dport: u16,
        /// Flag letters: S A F R P U E C (e.g. "S", "SA", "A").
        #[serde(default = "default_syn")]
        flags: String,
        #[serde(default)]
        seq: u32,
        #[serde(default)]
        ack: u32,
        #[serde(default = "default_window")]
        window: u16,
    },
    Udp {
        sport: u16,
        dport: u16,
    },
    Icmp {
        #[serde(rename = "type")]
        icmp_type: u8,
        #[serde(default)]
        code: u8,
        #[serde(default)]
        id: u16,
        #[serde(default)]
        seq: u16,
    },
}

fn default_syn() -> String {
    "S".into()
}

fn default_window() -> u16 {
    64240
}

fn default_ttl() -> u8 {
    64
}

/// A whole packet description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketSpec {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    #[serde(flatten)]
    pub l4: L4Spec,
    #[serde(default = "default_ttl")]
    pub ttl: u8,
    #[serde(default)]
    pub tos: u8,
    #[serde(default)]
    pub id: u16,
    /// Payload bytes (zeros) after the transport header.
    #[serde(default)]
    pub payload_len: usize,
}

/// Flag letters to bits; unknown letters are an error.
pub fn parse_flags(s: &str) -> Result<u8, String> {
    let mut f = 0;
    for c in s.chars() {
        f |= match c.to_ascii_uppercase() {
            'S' => tcp_flags::SYN,
            'A' => tcp_flags::ACK,
            'F' => tcp_flags::FIN,
            'R' => tcp_flags::RST,
            'P' => tcp_flags::PSH,
            'U' => tcp_flags::URG,
            'E' => tcp_flags::ECE,
            'C' => tcp_flags::CWR,
            other => return Err(format!("unknown TCP flag `{other}'")),
        };
    }
    Ok(f)
}

impl PacketSpec {
    pub fn build(&self) -> Result<Packet, String> {
        let ip = IpFields {
            src: self.src,
            dst: self.dst,
            ttl: self.ttl,
            tos: self.tos,
            id: self.id,
            df: matches!(self.l4, L4Spec::Tcp { .. }),
        };
        if self.payload_len > 60_000 {
            return Err("payload too large".into());
        }
        let payload = vec![0u8; self.payload_len];
        Ok(match &self.l4 {
            L4Spec::Tcp {
                sport,
                dport,
                flags,
                seq,
                ack,
                window,
            } => {
                let flags = parse_flags(flags)?;
                let options = if flags & tcp_flags::SYN != 0 {
                    vec![2, 4, 0x05, 0xb4]
                } else {
                    Vec::new()
                };
                build_tcp(
                    &ip,
                    &TcpFields {
                        sport: *sport,
                        dport: *dport,
                        seq: *seq,
                        ack: *ack,
                        flags,
                        window: *window,
                        options,
                    },
                    &payload,
                )
            }
            L4Spec::Udp { sport, dport } => build_udp(&ip, *sport, *dport, &payload),
            L4Spec::Icmp {
                icmp_type,
                code,
                id,
                seq,
            } => {
                let mut rest = [0u8; 4];
                rest[..2].copy_from_slice(&id.to_be_bytes());
                rest[2..].copy_from_slice(&seq.to_be_bytes());
                build_icmp(&ip, *icmp_type, *code, rest, &payload)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_json() {
        let s: PacketSpec = serde_json::from_str(
            r#"{"src":"10.0.0.1","dst":"10.0.0.2","proto":"tcp","sport":1234,"dport":80}"#,
        )
        .unwrap();
        let p = s.build().unwrap();
        let h = p.headers().unwrap();
        assert_eq!(h.ports(), Some((1234, 80)));
        assert_eq!(h.tcp().unwrap().flags, tcp_flags::SYN);
        assert!(parse_flags("SX").is_err());
    }
}
