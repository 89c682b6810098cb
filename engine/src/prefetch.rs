//! Hints that start loading memory a walk reads soon, so that the cache
//! misses of a packet overlap instead of following one another.

/// Starts loading the cache line of the byte `offset` bytes past `base`.
/// Only a hint: it never faults and reads nothing, whatever the address.
#[inline(always)]
pub fn bytes<T>(base: *const T, offset: usize) {
    let p = (base as *const u8).wrapping_add(offset);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it does not access the memory.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Starts loading every cache line of `value`.
#[inline(always)]
pub fn value<T>(value: &T) {
    let size = std::mem::size_of::<T>();
    let mut at = 0;
    while at < size {
        bytes(value, at);
        at += 64;
    }
    if size > 0 {
        bytes(value, size - 1);
    }
}
