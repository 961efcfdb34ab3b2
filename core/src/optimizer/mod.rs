//! Optimizers with Keras 3's exact update formulas.
//!
//! Optimizer *state* (momentum, moment estimates) lives in the arena, laid out as
//! `slots()` arrays, each as long as the concatenation of every trainable parameter; the
//! update is one flat loop over parameters, gradients and slots. Hyperparameters are `f32`
//! (as in Keras) and converted to the model's numeric type at each step.

mod adam;
mod sgd;

pub use adam::Adam;
pub use sgd::Sgd;

use serde::{Deserialize, Serialize};

use crate::{Error, Result, Scalar};

/// An optimizer. Keras: `keras.optimizers.*`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Optimizer {
    /// [`Sgd`].
    Sgd(Sgd),
    /// [`Adam`].
    Adam(Adam),
}

impl Optimizer {
    /// State arrays per parameter: SGD 1 with momentum (0 without), Adam 2 (3 with
    /// `amsgrad`). Sizes the arena exactly.
    pub fn slots(&self) -> usize {
        match self {
            Optimizer::Sgd(o) => o.slots(),
            Optimizer::Adam(o) => o.slots(),
        }
    }

    /// Applies one update. `iteration` is the number of updates applied before this one
    /// (Keras's `optimizer.iterations`); `state` holds `slots()` arrays of `params.len()`.
    pub fn apply<T: Scalar>(
        &self,
        iteration: u64,
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) -> Result<()> {
        let n = params.len();
        if grads.len() != n {
            return Err(Error::ShapeMismatch {
                expected: n,
                found: grads.len(),
            });
        }
        if state.len() != n * self.slots() {
            return Err(Error::ShapeMismatch {
                expected: n * self.slots(),
                found: state.len(),
            });
        }
        match self {
            Optimizer::Sgd(o) => o.apply(params, grads, state),
            Optimizer::Adam(o) => o.apply(iteration, params, grads, state),
        }
        Ok(())
    }
}
