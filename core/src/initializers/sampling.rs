//! [`Sampling`]: a distribution with concrete parameters, the common tail of every random
//! initializer (Keras's `keras.random.uniform` / `normal` / `truncated_normal` calls).

use serde::{Deserialize, Serialize};

use crate::random::Rng;
use crate::Scalar;

/// The distribution a random initializer draws from, with its parameters resolved for
/// one weight shape (e.g. [`super::VarianceScaling`]'s limit or standard deviation).
///
/// ```
/// use ember_nn::initializers::Sampling;
/// use ember_nn::random::Rng;
/// let mut out = [0.0f32; 64];
/// Sampling::Uniform { minval: -0.5, maxval: 0.5 }.fill(&mut Rng::from_seed(1), &mut out);
/// assert!(out.iter().all(|v| (-0.5..0.5).contains(v)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Sampling {
    /// Uniform on `[minval, maxval)`. Keras: `keras.random.uniform(shape, minval, maxval)`.
    Uniform {
        /// Lower bound (inclusive).
        minval: f32,
        /// Upper bound (exclusive).
        maxval: f32,
    },
    /// Normal. Keras: `keras.random.normal(shape, mean, stddev)`.
    Normal {
        /// Mean.
        mean: f32,
        /// Standard deviation (of the untruncated normal).
        stddev: f32,
    },
    /// Normal with values at or beyond two standard deviations from the mean redrawn.
    /// Keras: `keras.random.truncated_normal(shape, mean, stddev)`; `stddev` is that of
    /// the normal *before* truncation (the result's is `0.8796… · stddev`).
    TruncatedNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation before truncation.
        stddev: f32,
    },
}

impl Sampling {
    /// One value, as `f32`.
    ///
    /// Uniform: [`Rng::uniform_range`]. Normal: `mean + stddev · z` with `z` from
    /// [`Rng::normal`]. Truncated normal: the same with `z` from
    /// [`Rng::truncated_normal`], so the value never leaves
    /// `[mean − 2·stddev, mean + 2·stddev]` (rounding is monotonic).
    #[inline]
    pub fn sample(&self, rng: &mut Rng) -> f32 {
        match *self {
            Sampling::Uniform { minval, maxval } => rng.uniform_range(minval, maxval),
            Sampling::Normal { mean, stddev } => rng.normal() * stddev + mean,
            Sampling::TruncatedNormal { mean, stddev } => rng.truncated_normal() * stddev + mean,
        }
    }

    /// Fills `out` with independent draws, in order, each rounded to `T`
    /// ([`Scalar::from_f32`]).
    pub fn fill<T: Scalar>(&self, rng: &mut Rng, out: &mut [T]) {
        for o in out.iter_mut() {
            *o = T::from_f32(self.sample(rng));
        }
    }
}
