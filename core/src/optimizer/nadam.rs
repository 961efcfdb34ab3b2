//! [`Nadam`]: Keras's `keras.optimizers.Nadam`.

use serde::{Deserialize, Serialize};

use super::ScalarState;
use crate::Scalar;

/// Nadam (Adam with Nesterov momentum). Keras: `keras.optimizers.Nadam(
/// learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`.
///
/// Keras 3's update (`nadam.py`) at step `t = iterations + 1`, with the moments `m`, `v`
/// (slots 0 and 1) and one scalar, the running product `u_product` of the momentum
/// schedule (Keras's `_u_product` variable, here [`ScalarState`]):
/// ```text
/// uₜ        = β₁ · (1 − 0.5 · 0.96ᵗ)
/// u_product = u_product · β₁ · (1 − 0.5 · 0.96ᵗ)     (once per step, before the update)
/// m = m + (g − m) · (1 − β₁)
/// v = v + (g² − v) · (1 − β₂)
/// m̂ = uₜ₊₁ · m / (1 − u_product · uₜ₊₁) + (1 − uₜ) · g / (1 − u_product)
/// v̂ = v / (1 − β₂ᵗ)
/// w = w − lr · m̂ / (√v̂ + ε)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Nadam {
    /// `learning_rate` (default 0.001).
    pub learning_rate: f32,
    /// `beta_1` (default 0.9).
    pub beta_1: f32,
    /// `beta_2` (default 0.999).
    pub beta_2: f32,
    /// `epsilon` (default 1e-7).
    pub epsilon: f32,
}

impl Default for Nadam {
    fn default() -> Self {
        Nadam::DEFAULT
    }
}

/// Keras's fixed momentum-schedule decay.
const DECAY: f32 = 0.96;

impl Nadam {
    /// Keras's defaults, usable in `const` items.
    pub const DEFAULT: Nadam = Nadam {
        learning_rate: 0.001,
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
    };

    pub(super) fn slots(&self) -> usize {
        2
    }

    /// `uₛ = β₁ · (1 − 0.5 · 0.96ˢ)`.
    fn u(&self, step: f32) -> f32 {
        self.beta_1 * (1.0 - 0.5 * libm::powf(DECAY, step))
    }

    pub(super) fn update<T: Scalar>(
        &self,
        lr: f32,
        iteration: u64,
        scalars: &mut ScalarState,
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) {
        let n = params.len();
        let step = iteration.saturating_add(1) as f32;
        let next = iteration.saturating_add(2) as f32;
        // Keras's `_backend_update_step`: advance the product first, in Keras's order.
        let schedule = 1.0 - 0.5 * libm::powf(DECAY, step);
        scalars.u_product = scalars.u_product * self.beta_1 * schedule;
        let u_t = self.u(step);
        let u_next = self.u(next);
        let u_product = scalars.u_product;
        let u_product_next = u_product * u_next;
        let c_m = T::from_f32(u_next / (1.0 - u_product_next));
        let c_g = T::from_f32((1.0 - u_t) / (1.0 - u_product));
        let c_v = T::from_f32(1.0 / (1.0 - libm::powf(self.beta_2, step)));
        let one_minus_b1 = T::from_f32(1.0 - self.beta_1);
        let one_minus_b2 = T::from_f32(1.0 - self.beta_2);
        let lr = T::from_f32(lr);
        let eps = T::from_f32(self.epsilon);
        let (m, v) = state.split_at_mut(n);
        for (((w, &g), m), v) in params.iter_mut().zip(grads).zip(m).zip(v) {
            *m = *m + (g - *m) * one_minus_b1;
            *v = *v + (g * g - *v) * one_minus_b2;
            let m_hat = *m * c_m + g * c_g;
            let v_hat = *v * c_v;
            *w = *w - (m_hat * lr).div(v_hat.sqrt() + eps);
        }
    }
}
