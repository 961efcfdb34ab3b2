//! Activation functions, forward and backward, as Keras 3 computes them.

use serde::{Deserialize, Serialize};

use crate::Scalar;

/// An activation applied elementwise (or, for softmax, along the last axis).
///
/// Keras: `keras.activations.*` and the `activation=` argument of layers. The backward pass
/// is written in terms of the activation's *output* `y`, so training only saves outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Activation {
    /// `linear` (identity); Keras's default for `Dense`.
    Linear,
    /// `relu`: `max(x, 0)`.
    Relu,
    /// `sigmoid`: `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh`.
    Tanh,
    /// `softmax` over the last axis: `e^(x - max) / Σ e^(x - max)`.
    Softmax,
}

impl Activation {
    /// The Keras name (`"relu"`, …).
    pub const fn keras_name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
        }
    }

    /// The activation with Keras name `name`, if Ember has it.
    pub fn from_keras_name(name: &str) -> Option<Self> {
        Some(match name {
            "linear" => Activation::Linear,
            "relu" => Activation::Relu,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax,
            _ => return None,
        })
    }

    /// Applies the activation in place to `y`, seen as rows of length `last`.
    pub fn forward<T: Scalar>(self, y: &mut [T], last: usize) {
        match self {
            Activation::Linear => {}
            Activation::Relu => y.iter_mut().for_each(|v| *v = v.max(T::ZERO)),
            Activation::Sigmoid => y.iter_mut().for_each(|v| *v = v.sigmoid()),
            Activation::Tanh => y.iter_mut().for_each(|v| *v = v.tanh()),
            Activation::Softmax => {
                if last == 0 {
                    return;
                }
                for row in y.chunks_exact_mut(last) {
                    let mut max = row[0];
                    for &v in row.iter() {
                        max = max.max(v);
                    }
                    let mut sum = T::ZERO;
                    for v in row.iter_mut() {
                        *v = (*v - max).exp();
                        sum = sum + *v;
                    }
                    for v in row.iter_mut() {
                        *v = v.div(sum);
                    }
                }
            }
        }
    }

    /// Turns `dy = ∂L/∂y` into `∂L/∂x` in place, given the forward output `y`
    /// (rows of length `last`). Matches JAX's derivatives: relu' = 1 where y > 0,
    /// sigmoid' = y(1−y), tanh' = 1−y², softmax: `y ⊙ (dy − Σ dy ⊙ y)`.
    pub fn backward<T: Scalar>(self, y: &[T], dy: &mut [T], last: usize) {
        match self {
            Activation::Linear => {}
            Activation::Relu => {
                for (d, &v) in dy.iter_mut().zip(y) {
                    if v <= T::ZERO {
                        *d = T::ZERO;
                    }
                }
            }
            Activation::Sigmoid => {
                for (d, &v) in dy.iter_mut().zip(y) {
                    *d = *d * (v * (T::ONE - v));
                }
            }
            Activation::Tanh => {
                for (d, &v) in dy.iter_mut().zip(y) {
                    *d = *d * (T::ONE - v * v);
                }
            }
            Activation::Softmax => {
                if last == 0 {
                    return;
                }
                for (drow, yrow) in dy.chunks_exact_mut(last).zip(y.chunks_exact(last)) {
                    let mut dot = T::ZERO.widen();
                    for (&d, &v) in drow.iter().zip(yrow) {
                        dot = T::mac(dot, d, v);
                    }
                    let dot = T::narrow(dot);
                    for (d, &v) in drow.iter_mut().zip(yrow) {
                        *d = v * (*d - dot);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_rows_sum_to_one() {
        let mut y = [1.0f32, 2.0, 3.0, -1.0, 0.0, 1000.0];
        Activation::Softmax.forward(&mut y, 3);
        assert!((y[0] + y[1] + y[2] - 1.0).abs() < 1e-6);
        assert!((y[2] - 0.665_240_94).abs() < 1e-6);
        assert_eq!(y[5], 1.0);
    }

    #[test]
    fn names_round_trip() {
        for a in [
            Activation::Linear,
            Activation::Relu,
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Softmax,
        ] {
            assert_eq!(Activation::from_keras_name(a.keras_name()), Some(a));
        }
        assert_eq!(Activation::from_keras_name("gelu"), None);
    }
}
