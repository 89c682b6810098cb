//! A fast hasher for the engine's internal maps (chain names, conntrack
//! tuples): the multiply-and-rotate word hash of the Firefox/rustc family.
//! Not resistant to chosen collisions; the maps it serves are bounded by
//! what a lab holds.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
/// A `HashSet` with [`FastHasher`].
pub type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Debug, Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

/// The bytes of `rest` (1 to 7 of them) as a little-endian word padded
/// with zeros, read as two overlapping halves (a copy into a zeroed word
/// makes the load wait for the stores).
#[inline]
pub(crate) fn partial_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
    let le16 = |b: &[u8]| u16::from_le_bytes([b[0], b[1]]) as u64;
    if n >= 4 {
        le32(rest) | le32(&rest[n - 4..]) << ((n - 4) * 8)
    } else if n >= 2 {
        le16(rest) | le16(&rest[n - 2..]) << ((n - 2) * 8)
    } else {
        rest.first().map_or(0, |b| *b as u64)
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.add(partial_word(rest));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    /// Mixed so that every input bit reaches the low bits too (tables
    /// index by them; a multiply only carries bits upwards).
    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_words_are_the_zero_padded_bytes() {
        let bytes: Vec<u8> = (1..=7u8).map(|i| i.wrapping_mul(0x9d)).collect();
        for n in 1..=7 {
            let mut w = [0u8; 8];
            w[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(partial_word(&bytes[..n]), u64::from_le_bytes(w), "{n}");
        }
    }

    #[test]
    fn maps_work_with_strings_and_tuples() {
        let mut m: FastMap<String, usize> = FastMap::default();
        for i in 0..1000 {
            m.insert(format!("KUBE-SEP-{i:016X}"), i);
        }
        assert_eq!(m.len(), 1000);
        assert_eq!(m.get("KUBE-SEP-00000000000003E7"), Some(&999));
        assert_eq!(m.get("KUBE-SEP-00000000000003E8"), None);
        let mut s: FastSet<(u16, [u8; 4], u16)> = FastSet::default();
        for p in 0..500u16 {
            s.insert((p, [10, 0, 0, 1], 80));
        }
        assert_eq!(s.len(), 500);
    }
}
