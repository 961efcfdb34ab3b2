//! [`Sgd`]: Keras's `keras.optimizers.SGD`.

use serde::{Deserialize, Serialize};

use crate::Scalar;

/// Stochastic gradient descent with optional (Nesterov) momentum.
/// Keras: `keras.optimizers.SGD(learning_rate=0.01, momentum=0.0, nesterov=False)`.
///
/// Keras 3's update (`sgd.py`), with velocity `m` (a slot only when `momentum != 0`):
/// ```text
/// m = momentum · m − lr · g
/// w = w + m                          (nesterov = False)
/// w = w + momentum · m − lr · g      (nesterov = True)
/// w = w − lr · g                     (momentum = 0: no slot)
/// ```
/// Keras rejects `momentum` outside `[0, 1]`; so does [`super::Optimizer::apply`]
/// ([`crate::Error::InvalidConfig`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Sgd {
    /// `learning_rate` (Keras default 0.01).
    pub learning_rate: f32,
    /// `momentum` (default 0).
    pub momentum: f32,
    /// `nesterov` (default false).
    pub nesterov: bool,
}

impl Default for Sgd {
    fn default() -> Self {
        Sgd::DEFAULT
    }
}

impl Sgd {
    /// Keras's defaults, usable in `const` items.
    pub const DEFAULT: Sgd = Sgd {
        learning_rate: 0.01,
        momentum: 0.0,
        nesterov: false,
    };

    pub(super) fn slots(&self) -> usize {
        usize::from(self.momentum != 0.0)
    }

    pub(super) fn check(&self) -> Result<(), &'static str> {
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err("SGD momentum must be in [0, 1]");
        }
        Ok(())
    }

    pub(super) fn update<T: Scalar>(
        &self,
        lr: f32,
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) {
        let lr = T::from_f32(lr);
        if self.momentum == 0.0 {
            for (w, &g) in params.iter_mut().zip(grads) {
                *w = *w - g * lr;
            }
            return;
        }
        let mu = T::from_f32(self.momentum);
        for ((w, &g), m) in params.iter_mut().zip(grads).zip(state.iter_mut()) {
            *m = *m * mu - g * lr;
            if self.nesterov {
                *w = *w + (*m * mu - g * lr);
            } else {
                *w = *w + *m;
            }
        }
    }
}
