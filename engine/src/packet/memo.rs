//! The headers of the last packet a host's hooks parsed, kept with its
//! bytes: a packet that crosses the next hook unchanged is not parsed again.

use super::{Headers, L4};

/// Bytes of the largest packet kept (an IPv4 and a TCP header with options).
const MAX: usize = 64;

/// Headers and the bytes they were parsed from. Parsing depends on the
/// bytes alone, so equal bytes give these headers back.
#[derive(Debug, Clone)]
pub struct HeaderMemo {
    /// Length of `bytes` in use.
    len: usize,
    bytes: [u8; MAX],
    headers: Option<Headers>,
}

impl Default for HeaderMemo {
    fn default() -> HeaderMemo {
        HeaderMemo {
            len: 0,
            bytes: [0; MAX],
            headers: None,
        }
    }
}

impl HeaderMemo {
    /// The headers of `data`, if they are the ones kept: taken out (a move,
    /// not a copy), to be kept again with [`HeaderMemo::keep`].
    pub fn take(&mut self, data: &[u8]) -> Option<Headers> {
        if data.len() != self.len || data != &self.bytes[..self.len] {
            return None;
        }
        self.headers.take()
    }

    /// Keeps `hdr`, the headers of `data` (a strict parse). Packets too
    /// large, with IP options or with a quoted packet are not kept.
    pub fn keep(&mut self, data: &[u8], hdr: Headers) {
        let small = data.len() <= MAX && hdr.ip_options.is_empty();
        let quotes = matches!(&hdr.l4, L4::Icmp(i) if i.inner.is_some());
        if !small || quotes {
            self.headers = None;
            return;
        }
        debug_assert_eq!(
            Ok(&hdr),
            super::parse(data, false).as_ref(),
            "headers kept for other bytes"
        );
        self.bytes[..data.len()].copy_from_slice(data);
        self.len = data.len();
        self.headers = Some(hdr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syn(dport: u16) -> Vec<u8> {
        crate::ext::targets_testkit::tcp("192.168.0.2", "10.0.0.1", 40000, dport, "S").data
    }

    #[test]
    fn gives_back_the_headers_of_the_same_bytes_only() {
        let mut m = HeaderMemo::default();
        let a = syn(80);
        assert_eq!(m.take(&a), None);
        let ha = crate::packet::parse(&a, false).expect("parse");
        m.keep(&a, ha.clone());
        let b = syn(81);
        assert_eq!(m.take(&b), None);
        assert_eq!(m.take(&a[..a.len() - 1]), None);
        assert_eq!(m.take(&a), Some(ha.clone()));
        assert_eq!(m.take(&a), None, "taken out");
        let hb = crate::packet::parse(&b, false).expect("parse");
        m.keep(&b, hb.clone());
        assert_eq!(m.take(&a), None);
        assert_eq!(m.take(&b), Some(hb));
    }

    #[test]
    fn large_packets_are_not_kept() {
        let mut m = HeaderMemo::default();
        let a = syn(80);
        let ha = crate::packet::parse(&a, false).expect("parse");
        m.keep(&a, ha);
        let mut long = a.clone();
        long.resize(MAX + 1, 0);
        long[2..4].copy_from_slice(&((MAX + 1) as u16).to_be_bytes());
        let hl = crate::packet::parse(&long, false).expect("parse");
        m.keep(&long, hl);
        assert_eq!(m.take(&long), None);
        assert_eq!(m.take(&a), None, "keeping nothing forgets the last");
    }
}
