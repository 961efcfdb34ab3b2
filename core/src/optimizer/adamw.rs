//! [`AdamW`]: Keras's `keras.optimizers.AdamW`.

use serde::{Deserialize, Serialize};

use super::Adam;
use crate::Scalar;

/// Adam with decoupled weight decay. Keras: `keras.optimizers.AdamW(learning_rate=0.001,
/// weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)`.
///
/// Keras's `AdamW` is `Adam` whose base-optimizer `weight_decay` defaults to 0.004 (and
/// must not be `None`). Each step first decays every trainable variable,
/// `w = w − w · weight_decay · lr` (`BaseOptimizer._apply_weight_decay`, after gradient
/// clipping and before the update), then applies [`Adam`]'s update with the same `lr`.
/// Slots as [`Adam`]: 2, or 3 with `amsgrad`.
///
/// The decay lives in this struct; [`super::Optimizer::weight_decay`] must stay `None`
/// with `AdamW` (else [`crate::Error::InvalidConfig`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AdamW {
    /// `learning_rate` (default 0.001).
    pub learning_rate: f32,
    /// `weight_decay` (default 0.004).
    pub weight_decay: f32,
    /// `beta_1` (default 0.9).
    pub beta_1: f32,
    /// `beta_2` (default 0.999).
    pub beta_2: f32,
    /// `epsilon` (default 1e-7).
    pub epsilon: f32,
    /// `amsgrad` (default false).
    pub amsgrad: bool,
}

impl Default for AdamW {
    fn default() -> Self {
        AdamW::DEFAULT
    }
}

impl AdamW {
    /// Keras's defaults, usable in `const` items.
    pub const DEFAULT: AdamW = AdamW {
        learning_rate: 0.001,
        weight_decay: 0.004,
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
        amsgrad: false,
    };

    /// The Adam update this optimizer applies after the decay.
    fn adam(&self) -> Adam {
        Adam {
            learning_rate: self.learning_rate,
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            amsgrad: self.amsgrad,
        }
    }

    pub(super) fn slots(&self) -> usize {
        self.adam().slots()
    }

    pub(super) fn update<T: Scalar>(
        &self,
        lr: f32,
        iteration: u64,
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) {
        self.adam().update(lr, iteration, params, grads, state);
    }
}
