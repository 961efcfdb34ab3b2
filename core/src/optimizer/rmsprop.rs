//! [`RmsProp`]: Keras's `keras.optimizers.RMSprop`.

use serde::{Deserialize, Serialize};

use crate::Scalar;

/// RMSprop. Keras: `keras.optimizers.RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0,
/// epsilon=1e-7, centered=False)`.
///
/// Keras 3's update (`rmsprop.py`), with slots in Keras's creation order: the velocity `v`
/// (always), the momentum `μ` (only when `momentum > 0`) and the average gradient `ḡ`
/// (only when `centered`):
/// ```text
/// v   = ρ · v + (1 − ρ) · g²
/// ḡ   = ρ · ḡ + (1 − ρ) · g                       (centered)
/// d   = v − ḡ² + ε     (centered)   or   v + ε
/// inc = lr · g / √d
/// μ   = momentum · μ + inc;   w = w − μ           (momentum > 0)
/// w   = w − inc                                   (otherwise)
/// ```
/// In `Q16_16`, `v` underflows to 0 for |g| < 2⁻⁸ and the default ε = 1e-7 rounds to 0:
/// use ε ≥ 2⁻¹⁶ there.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RmsProp {
    /// `learning_rate` (default 0.001).
    pub learning_rate: f32,
    /// `rho` (default 0.9).
    pub rho: f32,
    /// `momentum` (default 0; a slot only when positive, as in Keras).
    pub momentum: f32,
    /// `epsilon` (default 1e-7).
    pub epsilon: f32,
    /// `centered` (default false).
    pub centered: bool,
}

impl Default for RmsProp {
    fn default() -> Self {
        RmsProp::DEFAULT
    }
}

impl RmsProp {
    /// Keras's defaults, usable in `const` items.
    pub const DEFAULT: RmsProp = RmsProp {
        learning_rate: 0.001,
        rho: 0.9,
        momentum: 0.0,
        epsilon: 1e-7,
        centered: false,
    };

    fn has_momentum(&self) -> bool {
        self.momentum > 0.0
    }

    pub(super) fn slots(&self) -> usize {
        1 + usize::from(self.has_momentum()) + usize::from(self.centered)
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
        let mu = T::from_f32(self.momentum);
        let eps = T::from_f32(self.epsilon);
        let (velocity, rest) = state.split_at_mut(n);
        let (mut momentum, mut average) = if self.has_momentum() {
            let (m, a) = rest.split_at_mut(n);
            (m.iter_mut(), a.iter_mut())
        } else {
            (Default::default(), rest.iter_mut())
        };
        for ((w, &g), v) in params.iter_mut().zip(grads).zip(velocity) {
            *v = rho * *v + one_minus_rho * (g * g);
            let denominator = match average.next() {
                Some(a) => {
                    *a = rho * *a + one_minus_rho * g;
                    *v - *a * *a + eps
                }
                _ => *v + eps,
            };
            let increment = (lr * g).div(denominator.sqrt());
            match momentum.next() {
                Some(m) => {
                    *m = mu * *m + increment;
                    *w = *w - *m;
                }
                None => *w = *w - increment,
            }
        }
    }
}
