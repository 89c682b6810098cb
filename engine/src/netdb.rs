//! The host's /etc/services and /etc/protocols (Debian netbase 6.4), for
//! port and protocol names in rules and listings.

use crate::fasthash::FastMap as HashMap;
use std::sync::OnceLock;

const SERVICES: &str = include_str!("data/services");
const PROTOCOLS: &str = include_str!("data/protocols");

struct Db {
    port_by_name: HashMap<(String, String), u16>,
    name_by_port: HashMap<(u16, String), String>,
    proto_by_name: HashMap<String, u8>,
    name_by_proto: HashMap<u8, String>,
}

fn db() -> &'static Db {
    static DB: OnceLock<Db> = OnceLock::new();
    DB.get_or_init(|| {
        let mut port_by_name = HashMap::default();
        let mut name_by_port = HashMap::default();
        for line in SERVICES.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let (Some(name), Some(pp)) = (words.next(), words.next()) else {
                continue;
            };
            let Some((port, proto)) = pp.split_once('/') else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            name_by_port
                .entry((port, proto.to_string()))
                .or_insert_with(|| name.to_string());
            for n in std::iter::once(name).chain(words) {
                port_by_name
                    .entry((n.to_string(), proto.to_string()))
                    .or_insert(port);
            }
        }
        let mut proto_by_name = HashMap::default();
        let mut name_by_proto = HashMap::default();
        for line in PROTOCOLS.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let (Some(name), Some(num)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(num) = num.parse::<u8>() else {
                continue;
            };
            name_by_proto.entry(num).or_insert_with(|| name.to_string());
            for n in std::iter::once(name).chain(words) {
                proto_by_name.entry(n.to_string()).or_insert(num);
            }
        }
        Db {
            port_by_name,
            name_by_port,
            proto_by_name,
            name_by_proto,
        }
    })
}

/// `getservbyname(name, proto)`.
pub fn service_port(name: &str, proto: &str) -> Option<u16> {
    db().port_by_name
        .get(&(name.to_string(), proto.to_string()))
        .copied()
}

/// `getservbyport(port, proto)`.
pub fn service_name(port: u16, proto: &str) -> Option<&'static str> {
    db().name_by_port
        .get(&(port, proto.to_string()))
        .map(|s| s.as_str())
}

/// `getprotobyname`.
pub fn proto_number(name: &str) -> Option<u8> {
    db().proto_by_name.get(name).copied()
}

/// `getprotobynumber`.
pub fn proto_name(num: u8) -> Option<&'static str> {
    db().name_by_proto.get(&num).map(|s| s.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(service_port("ssh", "tcp"), Some(22));
        assert_eq!(service_port("http", "udp"), None);
        assert_eq!(service_name(80, "tcp"), Some("http"));
        assert_eq!(proto_number("tcp"), Some(6));
        assert_eq!(proto_name(17), Some("udp"));
        assert_eq!(proto_number("ipv6-icmp"), Some(58));
    }
}
