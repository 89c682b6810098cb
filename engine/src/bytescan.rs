//! Looking for bytes in text eight at a time: tests on a whole 64-bit word
//! that flag bytes in their high bit. In each test the lowest flagged byte
//! is exact (a borrow only runs towards higher bytes); flags above it may
//! be wrong, so only the lowest is ever used.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The eight bytes of `b` from `i` as a little-endian word.
pub fn word_at(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(w)
}

/// Flags the bytes of `x` equal to `c`.
pub fn equal(x: u64, c: u8) -> u64 {
    let v = x ^ (ONES * c as u64);
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// Flags the bytes of `x` below `n` (`n` at most 0x80).
pub fn below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * n as u64) & !x & HIGHS
}

/// Position in its word of the lowest flagged byte.
pub fn lowest(flags: u64) -> usize {
    (flags.trailing_zeros() / 8) as usize
}

/// The first `c` in `b` from `i` on.
pub fn find(b: &[u8], mut i: usize, c: u8) -> Option<usize> {
    while i + 8 <= b.len() {
        let hit = equal(word_at(b, i), c);
        if hit != 0 {
            return Some(i + lowest(hit));
        }
        i += 8;
    }
    b.get(i..)?.iter().position(|x| *x == c).map(|k| i + k)
}

/// Text cut after each `\n`, as `str::split_inclusive('\n')` cuts it.
pub fn lines_inclusive(text: &str) -> impl Iterator<Item = &str> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= text.len() {
            return None;
        }
        let end = find(text.as_bytes(), at, b'\n').map_or(text.len(), |k| k + 1);
        let line = &text[at..end];
        at = end;
        Some(line)
    })
}

/// Reproducible random byte strings (0 to 39 bytes) over `alphabet`, for
/// tests comparing a word-at-a-time scan with a byte-by-byte look.
#[cfg(test)]
pub(crate) fn random_texts(alphabet: &[u8], mut f: impl FnMut(&[u8])) {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 40) as usize;
        let b: Vec<u8> = (0..len)
            .map(|i| alphabet[((x >> (i % 16 * 4)) as usize + i) % alphabet.len()])
            .collect();
        f(&b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_flag_the_first_byte_exactly() {
        random_texts(&[b'a', b'\n', 0, 0x7f, 0x80, 0xff, b'"', 0x22, 0x23], |b| {
            for from in 0..=b.len() {
                let want = b[from..].iter().position(|c| *c == b'\n');
                assert_eq!(find(b, from, b'\n'), want.map(|k| from + k), "{b:?}");
                for i in (from..b.len()).step_by(8).filter(|i| i + 8 <= b.len()) {
                    let w = word_at(b, i);
                    let first_below = b[i..i + 8].iter().position(|c| *c < 0x23);
                    let flags = below(w, 0x23);
                    assert_eq!((flags != 0).then(|| lowest(flags)), first_below);
                }
            }
        });
    }

    #[test]
    fn lines_as_split_inclusive() {
        random_texts(&[b'a', b'\n', b'\n', 0xc3, 0xa9], |b| {
            let Ok(text) = std::str::from_utf8(b) else {
                return;
            };
            let want: Vec<&str> = text.split_inclusive('\n').collect();
            assert_eq!(lines_inclusive(text).collect::<Vec<_>>(), want, "{text:?}");
        });
    }
}
