//! pcap export of the frames seen on an interface (Ethernet link type), as
//! tcpdump and Wireshark read it.

/// One captured Ethernet frame and when it was seen (nanoseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub time_ns: u64,
    pub bytes: Vec<u8>,
}

const MAGIC_US: u32 = 0xa1b2_c3d4;
const LINKTYPE_ETHERNET: u32 = 1;
const SNAPLEN: u32 = 262_144;

/// A classic pcap file (microsecond timestamps, little-endian).
pub fn write(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + frames.iter().map(|f| 16 + f.bytes.len()).sum::<usize>());
    out.extend_from_slice(&MAGIC_US.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&SNAPLEN.to_le_bytes());
    out.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    for f in frames {
        let secs = (f.time_ns / 1_000_000_000) as u32;
        let usecs = ((f.time_ns % 1_000_000_000) / 1000) as u32;
        let len = f.bytes.len() as u32;
        out.extend_from_slice(&secs.to_le_bytes());
        out.extend_from_slice(&usecs.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&f.bytes);
    }
    out
}

/// An Ethernet II frame around an IPv4 packet.
pub fn ethernet(dst: [u8; 6], src: [u8; 6], ip: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + ip.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(ip);
    f
}

/// An ARP request (`who-has target tell sender`) as Linux sends it: 42 bytes, no padding.
pub fn arp_request(
    src_mac: [u8; 6],
    sender: std::net::Ipv4Addr,
    target: std::net::Ipv4Addr,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x06]);
    // Ethernet, IPv4, address lengths 6 and 4, operation 1 (request).
    f.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&sender.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target.octets());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_record_layout() {
        let f = Frame {
            time_ns: 1_500_000_000,
            bytes: ethernet([1; 6], [2; 6], &[0x45, 0]),
        };
        let p = write(&[f]);
        assert_eq!(&p[..4], &MAGIC_US.to_le_bytes());
        assert_eq!(p.len(), 24 + 16 + 16);
        assert_eq!(u32::from_le_bytes(p[24..28].try_into().unwrap()), 1);
        assert_eq!(u32::from_le_bytes(p[28..32].try_into().unwrap()), 500_000);
        assert_eq!(&p[52..54], &[0x08, 0x00]);
    }
}
