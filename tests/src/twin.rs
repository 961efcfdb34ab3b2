//! Helpers shared by the kernel twin tests (`kernels_twin.rs`, `conv_twin.rs`,
//! `depthwise_twin.rs`): optimized kernels against their reference twins, compared on the
//! raw bits of whole buffers.

use ember_nn::{Scalar, Q16_16};

/// A small deterministic generator (64-bit LCG, Knuth's MMIX constants).
#[derive(Debug, Clone)]
pub struct Lcg(pub u64);

impl Lcg {
    /// The top 32 bits of the next state.
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 32) as u32
    }

    /// Uniform in `[-scale, scale)`.
    pub fn value(&mut self, scale: f32) -> f32 {
        (self.next_u32() as f32 / 4294967296.0 * 2.0 - 1.0) * scale
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.next_u32() as usize % (hi - lo + 1)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.next_u32() as usize % n
    }
}

/// The scalar types under test, with a bit pattern to compare exactly.
pub trait Bits: Scalar {
    /// The value's bits.
    fn bits(self) -> u32;
}

impl Bits for f32 {
    fn bits(self) -> u32 {
        self.to_bits()
    }
}

impl Bits for Q16_16 {
    fn bits(self) -> u32 {
        self.to_bits() as u32
    }
}

/// `n` values uniform in `[-scale, scale)` from `rng`, converted to `T`.
pub fn fill<T: Scalar>(rng: &mut Lcg, n: usize, scale: f32) -> Vec<T> {
    (0..n).map(|_| T::from_f32(rng.value(scale))).collect()
}

/// Panics at the first element whose bits differ (optimized `got` vs reference `want`).
#[track_caller]
pub fn assert_bits<T: Bits>(what: &str, got: &[T], want: &[T]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.bits(),
            w.bits(),
            "{what}: element {k}: optimized {g:?}, reference {w:?}"
        );
    }
}
