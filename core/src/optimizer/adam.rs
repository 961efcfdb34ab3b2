//! [`Adam`]: Keras's `keras.optimizers.Adam`.

use serde::{Deserialize, Serialize};

use crate::Scalar;

/// Adam. Keras: `keras.optimizers.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999,
/// epsilon=1e-7, amsgrad=False)`.
///
/// Keras 3's update (`adam.py`) at step `t = iterations + 1`, with first and second
/// moments `m`, `v` (slots 0 and 1) and, with `amsgrad`, their running maximum `v̂`
/// (slot 2):
/// ```text
/// α = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ)
/// m = m + (g − m) · (1 − β₁)
/// v = v + (g² − v) · (1 − β₂)
/// v̂ = max(v̂, v)                    (amsgrad; then v̂ is used for v)
/// w = w − (m · α) / (√v + ε)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Adam {
    /// `learning_rate` (default 0.001).
    pub learning_rate: f32,
    /// `beta_1` (default 0.9).
    pub beta_1: f32,
    /// `beta_2` (default 0.999).
    pub beta_2: f32,
    /// `epsilon` (default 1e-7).
    pub epsilon: f32,
    /// `amsgrad` (default false).
    pub amsgrad: bool,
}

impl Default for Adam {
    fn default() -> Self {
        Adam::DEFAULT
    }
}

impl Adam {
    /// Keras's defaults, usable in `const` items.
    pub const DEFAULT: Adam = Adam {
        learning_rate: 0.001,
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
        amsgrad: false,
    };

    pub(super) fn slots(&self) -> usize {
        if self.amsgrad {
            3
        } else {
            2
        }
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
        let b1_power = libm::powf(self.beta_1, step);
        let b2_power = libm::powf(self.beta_2, step);
        let alpha = T::from_f32(lr * libm::sqrtf(1.0 - b2_power) / (1.0 - b1_power));
        let one_minus_b1 = T::from_f32(1.0 - self.beta_1);
        let one_minus_b2 = T::from_f32(1.0 - self.beta_2);
        let eps = T::from_f32(self.epsilon);
        let (m, rest) = state.split_at_mut(n);
        let (v, vhat) = rest.split_at_mut(n);
        let mut vhat = vhat.iter_mut();
        for (((w, &g), m), v) in params.iter_mut().zip(grads).zip(m).zip(v) {
            *m = *m + (g - *m) * one_minus_b1;
            *v = *v + (g * g - *v) * one_minus_b2;
            let mut vt = *v;
            if self.amsgrad {
                if let Some(h) = vhat.next() {
                    *h = h.max(*v);
                    vt = *h;
                }
            }
            *w = *w - (*m * alpha).div(vt.sqrt() + eps);
        }
    }
}
