//! Checksum updates after a header field changes, made as the kernel makes
//! them for NAT (`csum_replace4`, `inet_proto_csum_replace4`, RFC 1624): the
//! old checksum adjusted by the old and the new value of the field, the
//! rest of the packet not read. A checksum that was wrong stays wrong.

/// 32-bit ones' complement addition (`csum_add`).
fn add(a: u32, b: u32) -> u32 {
    let (sum, carry) = a.overflowing_add(b);
    sum + carry as u32
}

/// Folds a 32-bit sum to 16 bits and complements it (`csum_fold`).
fn fold(sum: u32) -> u16 {
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = (sum & 0xffff) + (sum >> 16);
    !(sum as u16)
}

/// `check` after a 32-bit field covered by it went from `from` to `to`
/// (all three as read from the packet, big-endian).
pub fn replace4(check: u16, from: u32, to: u32) -> u16 {
    fold(add(add(!(check as u32), !from), to))
}

/// `check` after a 16-bit field covered by it went from `from` to `to`.
pub fn replace2(check: u16, from: u16, to: u16) -> u16 {
    replace4(check, from as u32, to as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksum of 16-bit words, made from scratch.
    fn full(words: &[u16]) -> u16 {
        let mut sum: u32 = words.iter().map(|w| *w as u32).sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    #[test]
    fn an_address_update_equals_the_checksum_made_again() {
        let old = [
            0x4500u16, 0x0028, 0x1c46, 0x4000, 0x4006, 0, 0xc0a8, 0x0001, 0x0a60, 0x0102,
        ];
        for (hi, lo) in [
            (0x0a80u16, 0x0007u16),
            (0xffff, 0xffff),
            (0, 0),
            (0x0a60, 0x0102),
        ] {
            let mut new = old;
            new[8] = hi;
            new[9] = lo;
            let from = (old[8] as u32) << 16 | old[9] as u32;
            let to = (hi as u32) << 16 | lo as u32;
            assert_eq!(
                replace4(full(&old), from, to),
                full(&new),
                "to {hi:04x}{lo:04x}"
            );
        }
    }

    #[test]
    fn a_port_update_equals_the_checksum_made_again() {
        let old = [0x0006u16, 0x1234, 0x0050, 0xabcd];
        let mut new = old;
        new[2] = 8080;
        assert_eq!(replace2(full(&old), 0x0050, 8080), full(&new));
    }

    #[test]
    fn a_wrong_checksum_stays_wrong_by_the_same_amount() {
        let old = [0x0006u16, 0x1234, 0x0050];
        let mut new = old;
        new[2] = 443;
        let wrong = full(&old).wrapping_add(1);
        assert_eq!(replace2(wrong, 0x0050, 443), full(&new).wrapping_add(1));
    }
}
