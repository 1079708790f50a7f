//! Integration tests of the `staging` crate on a real device (lavapipe in CI) with validation and
//! synchronization validation on. Every upload is read back and compared byte for byte.

mod buffers;
mod chaining;
mod edges;
mod images;
mod mips;

/// Deterministic bytes for a test case.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}
