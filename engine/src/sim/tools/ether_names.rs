//! How tcpdump 4.99 shows an Ethernet address when names are on (no `-n`):
//! `Broadcast` for ff:ff:ff:ff:ff:ff, else the address and the name of its
//! OUI from tcpdump's short built-in list, `(oui Unknown)` for the rest.

use crate::sim::iface::mac_text;

/// The OUIs tcpdump names (measured with tcpdump 4.99.3: an ARP request
/// from an address with each one).
const OUI_NAMES: &[(u32, &str)] = &[
    (0x000000, "Ethernet"),
    (0x00000c, "Cisco"),
    (0x00005e, "IANA"),
    (0x000081, "Nortel Networks SONMP"),
    (0x0000f8, "Cisco bridged"),
    (0x0080c2, "Ethernet bridged"),
    (0x00a03e, "ATM Forum"),
    (0x00e02f, "DOCSIS Spanning Tree"),
    (0x080007, "Appletalk"),
    (0x009069, "Juniper"),
    (0x080009, "Hewlett-Packard"),
    (0x00120f, "IEEE 802.3 Private"),
    (0x0012bb, "ANSI/TIA"),
    (0x001b21, "DCBX"),
    (0x002320, "Nicira Networks"),
    (0x5c16c7, "Big Switch Networks"),
    (0xb0d2f5, "Vello Systems"),
    (0x002481, "HP"),
    (0x0004ea, "HP-Labs"),
    (0x748771, "Infoblox Inc"),
    (0xa42305, "Open Networking Lab"),
    (0x00049f, "Freescale"),
    (0x0015ad, "Netronome"),
    (0x001018, "Broadcom"),
    (0x00e004, "PMC-Sierra"),
    (0xd0f0db, "Ericsson"),
];

/// An Ethernet address as tcpdump prints it, with `-n` (`numeric`) or without.
pub fn ether_text(mac: &[u8; 6], numeric: bool) -> String {
    if numeric {
        return mac_text(mac);
    }
    if *mac == [0xff; 6] {
        return "Broadcast".into();
    }
    let oui = u32::from_be_bytes([0, mac[0], mac[1], mac[2]]);
    let name = OUI_NAMES
        .iter()
        .find(|(o, _)| *o == oui)
        .map_or("Unknown", |(_, n)| n);
    format!("{} (oui {name})", mac_text(mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_unless_numeric() {
        let lab = [0x02, 0, 0, 1, 0, 1];
        assert_eq!(ether_text(&lab, true), "02:00:00:01:00:01");
        assert_eq!(ether_text(&lab, false), "02:00:00:01:00:01 (oui Unknown)");
        assert_eq!(ether_text(&[0xff; 6], false), "Broadcast");
        assert_eq!(ether_text(&[0xff; 6], true), "ff:ff:ff:ff:ff:ff");
        assert_eq!(
            ether_text(&[0, 0, 0x0c, 1, 2, 3], false),
            "00:00:0c:01:02:03 (oui Cisco)"
        );
        assert_eq!(
            ether_text(&[0x01, 0, 0x5e, 0, 0, 1], false),
            "01:00:5e:00:00:01 (oui Unknown)"
        );
    }
}
