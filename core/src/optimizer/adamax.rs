//! [`Adamax`]: Keras's `keras.optimizers.Adamax`.

use serde::{Deserialize, Serialize};

use crate::Scalar;

/// Adamax (Adam with the infinity norm). Keras: `keras.optimizers.Adamax(
/// learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`.
///
/// Keras 3's update (`adamax.py`) at step `t = iterations + 1`, with the first moment `m`
/// (slot 0) and the exponentially weighted infinity norm `u` (slot 1):
/// ```text
/// m = m + (g − m) · (1 − β₁)
/// u = max(β₂ · u, |g|)
/// w = w − lr · m / ((1 − β₁ᵗ) · (u + ε))
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Adamax {
    /// `learning_rate` (default 0.001).
    pub learning_rate: f32,
    /// `beta_1` (default 0.9).
    pub beta_1: f32,
    /// `beta_2` (default 0.999).
    pub beta_2: f32,
    /// `epsilon` (default 1e-7).
    pub epsilon: f32,
}

impl Default for Adamax {
    fn default() -> Self {
        Adamax::DEFAULT
    }
}

impl Adamax {
    /// Keras's defaults, usable in `const` items.
    pub const DEFAULT: Adamax = Adamax {
        learning_rate: 0.001,
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
    };

    pub(super) fn slots(&self) -> usize {
        2
    }

    pub(super) fn update<T: Scalar>(
        &self,
        lr: f32,
        iteration: u64,
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) {
        let n = params.len();
        let step = iteration.saturating_add(1) as f32;
        let scale = T::from_f32(lr / (1.0 - libm::powf(self.beta_1, step)));
        let one_minus_b1 = T::from_f32(1.0 - self.beta_1);
        let b2 = T::from_f32(self.beta_2);
        let eps = T::from_f32(self.epsilon);
        let (m, u) = state.split_at_mut(n);
        for (((w, &g), m), u) in params.iter_mut().zip(grads).zip(m).zip(u) {
            *m = *m + (g - *m) * one_minus_b1;
            *u = (b2 * *u).max(g.max(-g));
            *w = *w - (*m * scale).div(*u + eps);
        }
    }
}
