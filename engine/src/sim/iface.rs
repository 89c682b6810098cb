//! Network interfaces of a host: name, MAC, IPv4 addresses, state, link.

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// An address with its prefix length (`ip addr add 10.0.0.1/24 dev eth0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IfAddr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl IfAddr {
    pub fn mask(&self) -> u32 {
        crate::ext::xtopt::prefix_mask(self.prefix)
    }
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        u32::from(a) & self.mask() == u32::from(self.addr) & self.mask()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Iface {
    pub name: String,
    pub mac: [u8; 6],
    pub addrs: Vec<IfAddr>,
    pub up: bool,
    /// Index of the L2 segment (link) this interface is plugged into.
    pub link: Option<usize>,
    pub mtu: u16,
}

impl Iface {
    pub fn loopback() -> Iface {
        Iface {
            name: "lo".into(),
            mac: [0; 6],
            addrs: vec![IfAddr {
                addr: Ipv4Addr::LOCALHOST,
                prefix: 8,
            }],
            up: true,
            link: None,
            mtu: 65535,
        }
    }
    pub fn is_loopback(&self) -> bool {
        self.name == "lo"
    }
    /// The first address, used as the source of packets the host makes on this interface.
    pub fn primary(&self) -> Option<Ipv4Addr> {
        self.addrs.first().map(|a| a.addr)
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn mac_text(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
