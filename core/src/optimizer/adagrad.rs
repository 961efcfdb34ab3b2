//! [`Adagrad`]: Keras's `keras.optimizers.Adagrad`.

use serde::{Deserialize, Serialize};

use crate::Scalar;

/// Adagrad. Keras: `keras.optimizers.Adagrad(learning_rate=0.001,
/// initial_accumulator_value=0.1, epsilon=1e-7)`.
///
/// Keras 3's update (`adagrad.py`), with the accumulator `a` (slot 0) created at
/// `initial_accumulator_value` (not zero: [`super::Optimizer::apply`] initializes it at
/// iteration 0, as Keras's `build` does):
/// ```text
/// a = a + g²
/// w = w − lr · g / √(a + ε)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Adagrad {
    /// `learning_rate` (default 0.001).
    pub learning_rate: f32,
    /// `initial_accumulator_value` (default 0.1).
    pub initial_accumulator_value: f32,
    /// `epsilon` (default 1e-7).
    pub epsilon: f32,
}

impl Default for Adagrad {
    fn default() -> Self {
        Adagrad::DEFAULT
    }
}

impl Adagrad {
    /// Keras's defaults, usable in `const` items.
    pub const DEFAULT: Adagrad = Adagrad {
        learning_rate: 0.001,
        initial_accumulator_value: 0.1,
        epsilon: 1e-7,
    };

    pub(super) fn slots(&self) -> usize {
        1
    }

    /// Keras's `build`: accumulators start at `initial_accumulator_value`.
    pub(super) fn init_state<T: Scalar>(&self, state: &mut [T]) {
        state.fill(T::from_f32(self.initial_accumulator_value));
    }

    pub(super) fn update<T: Scalar>(
        &self,
        lr: f32,
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) {
        let lr = T::from_f32(lr);
        let eps = T::from_f32(self.epsilon);
        for ((w, &g), a) in params.iter_mut().zip(grads).zip(state.iter_mut()) {
            *a = *a + g * g;
            *w = *w - (lr * g).div((*a + eps).sqrt());
        }
    }
}
