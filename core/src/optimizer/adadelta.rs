//! [`Adadelta`]: Keras's `keras.optimizers.Adadelta`.

use serde::{Deserialize, Serialize};

use crate::Scalar;

/// Adadelta. Keras: `keras.optimizers.Adadelta(learning_rate=0.001, rho=0.95,
/// epsilon=1e-7)`.
///
/// Keras 3's update (`adadelta.py`), with the running averages of squared gradients `E[g²]`
/// (slot 0, `accumulated_grad`) and of squared updates `E[Δ²]` (slot 1,
/// `accumulated_delta_var`):
/// ```text
/// E[g²] = ρ · E[g²] + (1 − ρ) · g²
/// Δ     = −√(E[Δ²] + ε) · g / √(E[g²] + ε)
/// E[Δ²] = ρ · E[Δ²] + (1 − ρ) · Δ²
/// w     = w + lr · Δ
/// ```
/// Note Keras's default `learning_rate` is 0.001 (the paper's Adadelta uses 1.0). In
/// `Q16_16` the default ε = 1e-7 rounds to 0, so `E[Δ²]` stays 0 and nothing moves: use
/// ε ≥ 2⁻¹⁶ there.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Adadelta {
    /// `learning_rate` (default 0.001).
    pub learning_rate: f32,
    /// `rho` (default 0.95).
    pub rho: f32,
    /// `epsilon` (default 1e-7).
    pub epsilon: f32,
}

impl Default for Adadelta {
    fn default() -> Self {
        Adadelta::DEFAULT
    }
}

impl Adadelta {
    /// Keras's defaults, usable in `const` items.
    pub const DEFAULT: Adadelta = Adadelta {
        learning_rate: 0.001,
        rho: 0.95,
        epsilon: 1e-7,
    };

    pub(super) fn slots(&self) -> usize {
        2
    }

    pub(super) fn update<T: Scalar>(
        &self,
        lr: f32,
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) {
        let n = params.len();
        let lr = T::from_f32(lr);
        let rho = T::from_f32(self.rho);
        let one_minus_rho = T::from_f32(1.0 - self.rho);
        let eps = T::from_f32(self.epsilon);
        let (acc_g, acc_d) = state.split_at_mut(n);
        for (((w, &g), eg), ed) in params.iter_mut().zip(grads).zip(acc_g).zip(acc_d) {
            *eg = rho * *eg + one_minus_rho * (g * g);
            let delta = -((*ed + eps).sqrt() * g).div((*eg + eps).sqrt());
            *ed = rho * *ed + one_minus_rho * (delta * delta);
            *w = *w + lr * delta;
        }
    }
}
