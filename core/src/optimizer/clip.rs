//! [`Clip`]: Keras's gradient clipping options (`clipnorm`, `clipvalue`,
//! `global_clipnorm`).

use serde::{Deserialize, Serialize};

use crate::Scalar;

/// Gradient clipping, applied to the gradients before weight decay and the update
/// (Keras's `BaseOptimizer._clip_gradients`). Keras allows at most one of its three
/// arguments; an enum makes that structural. As in Keras, a threshold ≤ 0 (or NaN) means
/// no clipping.
///
/// ```text
/// Norm(c)        clipnorm:        each variable g ← g · c / max(‖g‖₂, c)
/// Value(c)       clipvalue:       each element  g ← clip(g, −c, c)
/// GlobalNorm(c)  global_clipnorm: all gradients g ← g · c · min(1/‖G‖₂, 1/c)
/// ```
/// "Variable" is a Keras variable: one parameter tensor (a Dense kernel, its bias), so
/// [`super::Optimizer::apply`] takes the tensors' lengths. `‖G‖₂` is the norm of all
/// gradients together; a non-finite `‖G‖₂` makes every gradient NaN, as in Keras.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Clip {
    /// No clipping (Keras: all three `None`).
    #[default]
    None,
    /// `clipnorm`: clip each parameter tensor's L2 norm.
    Norm(f32),
    /// `clipvalue`: clip each element to `[−c, c]`.
    Value(f32),
    /// `global_clipnorm`: clip the L2 norm of all gradients together.
    GlobalNorm(f32),
}

/// `Σ g²`, accumulated exactly for fixed point.
fn sum_squares<T: Scalar>(g: &[T]) -> T {
    T::narrow(g.iter().fold(T::ZERO.widen(), |acc, &x| T::mac(acc, x, x)))
}

impl Clip {
    /// Clips `grads` in place; `tensors` are the lengths of the parameter tensors in
    /// order (they sum to `grads.len()`, checked by the caller).
    pub(super) fn apply<T: Scalar>(&self, grads: &mut [T], tensors: impl Iterator<Item = usize>) {
        match *self {
            Clip::Norm(c) if c > 0.0 => {
                let ct = T::from_f32(c);
                let mut rest = grads;
                for len in tensors {
                    let at = len.min(rest.len());
                    let (g, tail) = core::mem::take(&mut rest).split_at_mut(at);
                    rest = tail;
                    let norm = sum_squares(g).sqrt();
                    let den = norm.max(ct);
                    for x in g.iter_mut() {
                        *x = (*x * ct).div(den);
                    }
                }
            }
            Clip::Value(c) if c > 0.0 => {
                let (lo, hi) = (T::from_f32(-c), T::from_f32(c));
                for x in grads.iter_mut() {
                    *x = x.max(lo).min(hi);
                }
            }
            Clip::GlobalNorm(c) if c > 0.0 => {
                let norm = sum_squares(grads).sqrt().to_f32();
                // Keras adds `norm − norm` so that a non-finite norm gives NaN.
                let scale = if norm.is_finite() {
                    c * (1.0 / norm).min(1.0 / c)
                } else {
                    f32::NAN
                };
                let scale = T::from_f32(scale);
                for x in grads.iter_mut() {
                    *x = *x * scale;
                }
            }
            _ => {}
        }
    }
}
