//! A small seeded generator (splitmix64): the same seed gives the same
//! rulesets and packets on every machine.

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x6a09_e667_f3bc_c909)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent` / 100.
    pub fn pct(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    /// `!` (with its trailing space) with probability `percent` / 100.
    pub fn not(&mut self, percent: u64) -> &'static str {
        if self.pct(percent) {
            "! "
        } else {
            ""
        }
    }

    /// A few distinct items of `xs`, in their order there (at least one).
    pub fn subset<T: Clone>(&mut self, xs: &[T], max: usize) -> Vec<T> {
        let n = self.range(1, max.min(xs.len()) as u64) as usize;
        let mut idx: Vec<usize> = (0..xs.len()).collect();
        for i in 0..idx.len() {
            let j = i + self.below((idx.len() - i) as u64) as usize;
            idx.swap(i, j);
        }
        let mut chosen: Vec<usize> = idx[..n].to_vec();
        chosen.sort();
        chosen.into_iter().map(|i| xs[i].clone()).collect()
    }
}

/// The seed of group `i` of a run seeded with `seed`: a group reruns alone
/// with `FUZZ_SEED=<that> FUZZ_GROUPS=1`.
pub fn group_seed(seed: u64, i: u64) -> u64 {
    seed.wrapping_add(i)
}
