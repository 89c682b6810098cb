//! The seeded xorshift64 source the unit tests draw random inputs from,
//! so a failing case can be replayed from its seed.

/// Successive values of xorshift64 (13, 7, 17) from `seed`.
pub fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}
