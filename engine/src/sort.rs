//! Sorting through one shared copy of the standard library's sort.
//!
//! `slice::sort_by` is generic over the element type: every type sorted
//! brings its own few kilobytes of sorting code into the WebAssembly page.
//! These helpers sort the positions of the elements instead (a comparator
//! behind `dyn`, so one copy of the sort serves the whole program), then move
//! the elements into place. Stable, like `slice::sort`.

use std::cmp::Ordering;

/// Stable sort by a comparison, as `slice::sort_by`.
pub fn sort_by<T>(v: &mut [T], mut compare: impl FnMut(&T, &T) -> Ordering) {
    if v.len() < 2 {
        return;
    }
    if v.len() <= SHORT {
        // A few elements: moved into place one by one, nothing allocated.
        for i in 1..v.len() {
            let mut j = i;
            while j > 0 && compare(&v[j - 1], &v[j]) == Ordering::Greater {
                v.swap(j - 1, j);
                j -= 1;
            }
        }
        return;
    }
    let mut order: Vec<usize> = (0..v.len()).collect();
    sort_positions(&mut order, &mut |a, b| compare(&v[a], &v[b]));
    apply_order(v, &order);
}

/// Lists up to this long are sorted by insertion.
const SHORT: usize = 8;

/// Stable sort by a key, as `slice::sort_by_key`.
pub fn sort_by_key<T, K: Ord>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

/// Stable sort in ascending order, as `slice::sort`.
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp);
}

#[inline(never)]
fn sort_positions(order: &mut [usize], compare: &mut dyn FnMut(usize, usize) -> Ordering) {
    order.sort_by(|&a, &b| compare(a, b));
}

/// Rearranges `v` so that position `i` holds the element that was at
/// `order[i]`: each cycle of the permutation is walked once with swaps.
fn apply_order<T>(v: &mut [T], order: &[usize]) {
    let mut placed = vec![false; v.len()];
    for start in 0..v.len() {
        if placed[start] {
            continue;
        }
        placed[start] = true;
        let mut at = start;
        while order[at] != start {
            let from = order[at];
            v.swap(at, from);
            placed[from] = true;
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_the_standard_sort_and_keeps_equal_elements_in_order() {
        let mut seed = 7u32;
        for len in [0usize, 1, 2, 3, 5, 8, 9, 10, 100, 1000] {
            let v: Vec<(u8, u32)> = (0..len as u32)
                .map(|i| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    ((seed >> 16) as u8 % 7, i)
                })
                .collect();
            let mut ours = v.clone();
            sort_by_key(&mut ours, |e| e.0);
            let mut std = v.clone();
            std.sort_by_key(|e| e.0);
            assert_eq!(ours, std, "length {len}");
            let mut ours = v.clone();
            sort(&mut ours);
            let mut std = v;
            std.sort();
            assert_eq!(ours, std, "length {len}");
        }
    }

    #[test]
    fn sorts_by_a_comparison_in_reverse() {
        let mut v = vec!["b", "c", "a", "c"];
        sort_by(&mut v, |a, b| b.cmp(a));
        assert_eq!(v, ["c", "c", "b", "a"]);
    }
}
