//! A stable 64-bit hash for ids kept in state (event ids for dedupe, deal
//! ids for the cycle tracker). Stable across builds and platforms, because
//! state will outlive the process (changelog); FNV-1a is simple and adequate
//! for ids of a few dozen bytes. Collisions (about n^2 / 2^65 per rep) would
//! drop an event as a duplicate; at 10,000 ids per rep that is ~3e-12.

/// FNV-1a, 64 bit.
#[inline]
pub fn stable_hash(s: &str) -> u64 {
    stable_hash_bytes(s.as_bytes())
}

/// FNV-1a, 64 bit, of bytes.
#[inline]
pub fn stable_hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
