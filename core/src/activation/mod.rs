//! Activation functions, forward and backward, as Keras 3 computes them.
//!
//! The formulas are those of Keras 3's JAX backend (`jax.nn`), and the backward passes
//! are what `jax.grad` gives, including its choice of derivative at kinks (relu'(0) = 0,
//! elu'(0) = alpha). Most derivatives are functions of the activation's *output* `y`, so
//! a layer with a fused activation only saves outputs; some (`silu`, `gelu`, `mish`, …)
//! need the *input* `x` ([`Activation::needs_input`]), so they run only as a separate
//! [`crate::layers::ActivationLayer`], which receives its input in the backward pass.
//!
//! Not implemented: `sparsemax`, `glu` (changes the shape) and `threshold` (has no
//! default arguments, so it cannot be named by a string).

pub mod elementwise;
pub mod softmax;

use serde::{Deserialize, Serialize};

use crate::{Error, Result, Scalar};
use elementwise as ew;

/// An activation applied elementwise (or, for softmax and log_softmax, along the last
/// axis).
///
/// Keras: `keras.activations.*`, the `activation=` argument of layers and
/// `keras.layers.Activation`. New variants are appended (the blob stores the index).
///
/// ```
/// use ember_nn::Activation;
/// let mut y = [-1.0f32, 0.0, 2.0];
/// Activation::Elu.forward(&mut y, 3);
/// assert_eq!(y[2], 2.0);
/// assert!((y[0] - (-0.632_120_56)).abs() < 1e-6); // e^-1 − 1
/// ```
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
    /// `hard_sigmoid`: Keras 3's `relu6(x + 3) / 6` (0 for `x ≤ −3`, 1 for `x ≥ 3`).
    HardSigmoid,
    /// `softplus`: `log(1 + e^x)`.
    Softplus,
    /// `softsign`: `x / (|x| + 1)`.
    Softsign,
    /// `elu` with Keras's string default `alpha = 1`: `x` if `x > 0`, else `e^x − 1`.
    Elu,
    /// `selu`: `scale · elu(x, alpha)`, `alpha = 1.67326324`, `scale = 1.05070098`.
    Selu,
    /// `exponential`: `e^x`.
    Exponential,
    /// `silu` (alias `swish`): `x · sigmoid(x)`. Needs its input to train.
    Silu,
    /// `gelu`, exact (Keras's `approximate=False` default): `x/2 · erfc(−x/√2)`. Needs its
    /// input to train.
    Gelu,
    /// `relu6`: `min(max(x, 0), 6)`.
    Relu6,
    /// `leaky_relu` with the function's default slope 0.2: `x` if `x ≥ 0`, else `0.2 x`.
    LeakyRelu,
    /// `hard_silu` (alias `hard_swish`): `x · hard_sigmoid(x)`. Needs its input to train.
    HardSilu,
    /// `hard_tanh`: `clip(x, −1, 1)`. Needs its input to train.
    HardTanh,
    /// `tanh_shrink`: `x − tanh(x)`. Needs its input to train.
    TanhShrink,
    /// `mish`: `x · tanh(softplus(x))`. Needs its input to train.
    Mish,
    /// `celu` with the string default `alpha = 1`: `max(x, 0) + expm1(min(x, 0))`.
    Celu,
    /// `log_sigmoid`: `−softplus(−x)`.
    LogSigmoid,
    /// `soft_shrink` with threshold 0.5: `x ∓ 0.5` outside `[−0.5, 0.5]`, else 0.
    SoftShrink,
    /// `hard_shrink` with threshold 0.5: `x` where `|x| > 0.5`, else 0.
    HardShrink,
    /// `sparse_plus`: 0, `(x + 1)²/4`, `x` on `(−∞, −1]`, `(−1, 1)`, `[1, ∞)`. Needs its
    /// input to train.
    SparsePlus,
    /// `sparse_sigmoid`: `clip(x + 1, 0, 2) / 2`. Needs its input to train.
    SparseSigmoid,
    /// `squareplus` with `b = 4`: `(x + √(x² + 4)) / 2`. Needs its input to train.
    Squareplus,
    /// `log_softmax` over the last axis: `x − max − log Σ e^(x − max)`.
    LogSoftmax,
    /// Keras 2's `hard_sigmoid`, `clip(0.2·x + 0.5, 0, 1)` — what the name means in files
    /// written by Keras ≤ 2 / tf.keras 2 (Keras 3's is [`Activation::HardSigmoid`],
    /// `clip(x/6 + 0.5, 0, 1)`); the converter picks it for those files.
    HardSigmoidKeras2,
}

impl Activation {
    /// Every activation, in blob index order.
    pub const ALL: [Activation; 28] = [
        Activation::Linear,
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softmax,
        Activation::HardSigmoid,
        Activation::Softplus,
        Activation::Softsign,
        Activation::Elu,
        Activation::Selu,
        Activation::Exponential,
        Activation::Silu,
        Activation::Gelu,
        Activation::Relu6,
        Activation::LeakyRelu,
        Activation::HardSilu,
        Activation::HardTanh,
        Activation::TanhShrink,
        Activation::Mish,
        Activation::Celu,
        Activation::LogSigmoid,
        Activation::SoftShrink,
        Activation::HardShrink,
        Activation::SparsePlus,
        Activation::SparseSigmoid,
        Activation::Squareplus,
        Activation::LogSoftmax,
        Activation::HardSigmoidKeras2,
    ];

    /// The Keras name (`"relu"`, …) as Keras 3 serializes it (`swish` is saved as
    /// `"silu"`).
    pub const fn keras_name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::HardSigmoid => "hard_sigmoid",
            Activation::Softplus => "softplus",
            Activation::Softsign => "softsign",
            Activation::Elu => "elu",
            Activation::Selu => "selu",
            Activation::Exponential => "exponential",
            Activation::Silu => "silu",
            Activation::Gelu => "gelu",
            Activation::Relu6 => "relu6",
            Activation::LeakyRelu => "leaky_relu",
            Activation::HardSilu => "hard_silu",
            Activation::HardTanh => "hard_tanh",
            Activation::TanhShrink => "tanh_shrink",
            Activation::Mish => "mish",
            Activation::Celu => "celu",
            Activation::LogSigmoid => "log_sigmoid",
            Activation::SoftShrink => "soft_shrink",
            Activation::HardShrink => "hard_shrink",
            Activation::SparsePlus => "sparse_plus",
            Activation::SparseSigmoid => "sparse_sigmoid",
            Activation::Squareplus => "squareplus",
            Activation::LogSoftmax => "log_softmax",
            Activation::HardSigmoidKeras2 => "hard_sigmoid_keras2",
        }
    }

    /// The activation with Keras name `name` (Keras's aliases included: `"swish"`), if
    /// Ember has it.
    pub fn from_keras_name(name: &str) -> Option<Self> {
        match name {
            "swish" => return Some(Activation::Silu),
            "hard_swish" => return Some(Activation::HardSilu),
            _ => {}
        }
        Activation::ALL
            .iter()
            .copied()
            .find(|a| a.keras_name() == name)
    }

    /// Whether [`Activation::backward`] needs the activation's input `x` (not only its
    /// output): `true` for `silu`, `gelu`, `hard_silu`, `hard_tanh`, `tanh_shrink`,
    /// `mish`, `sparse_plus`, `sparse_sigmoid` and `squareplus`. Such an activation cannot be fused into a
    /// layer that saves only its output (`Dense` refuses it); the converter splits it
    /// into a separate `Activation` layer.
    pub const fn needs_input(self) -> bool {
        matches!(
            self,
            Activation::Silu
                | Activation::Gelu
                | Activation::HardSilu
                | Activation::HardTanh
                | Activation::TanhShrink
                | Activation::Mish
                | Activation::SparsePlus
                | Activation::SparseSigmoid
                | Activation::Squareplus
        )
    }

    /// Applies the activation in place to `y`, seen as rows of length `last` (the row
    /// length matters only for softmax).
    pub fn forward<T: Scalar>(self, y: &mut [T], last: usize) {
        let map = |y: &mut [T], f: fn(T) -> T| y.iter_mut().for_each(|v| *v = f(*v));
        match self {
            Activation::Linear => {}
            Activation::Relu => map(y, |v| v.max(T::ZERO)),
            Activation::Sigmoid => map(y, |v| v.sigmoid()),
            Activation::Tanh => map(y, |v| v.tanh()),
            Activation::Softmax => softmax::forward(y, last, 1),
            Activation::HardSigmoid => map(y, ew::hard_sigmoid),
            Activation::HardSigmoidKeras2 => map(y, ew::hard_sigmoid_keras2),
            Activation::Softplus => map(y, ew::softplus),
            Activation::Softsign => map(y, ew::softsign),
            Activation::Elu => map(y, |v| ew::elu(v, T::ONE)),
            Activation::Selu => map(y, ew::selu),
            Activation::Exponential => map(y, |v| v.exp()),
            Activation::Silu => map(y, ew::silu),
            Activation::Gelu => map(y, ew::gelu),
            Activation::Relu6 => map(y, ew::relu6),
            Activation::LeakyRelu => map(y, ew::leaky_relu),
            Activation::HardSilu => map(y, ew::hard_silu),
            Activation::HardTanh => map(y, ew::hard_tanh),
            Activation::TanhShrink => map(y, ew::tanh_shrink),
            Activation::Mish => map(y, ew::mish),
            Activation::Celu => map(y, ew::celu),
            Activation::LogSigmoid => map(y, ew::log_sigmoid),
            Activation::SoftShrink => map(y, ew::soft_shrink),
            Activation::HardShrink => map(y, ew::hard_shrink),
            Activation::SparsePlus => map(y, ew::sparse_plus),
            Activation::SparseSigmoid => map(y, ew::sparse_sigmoid),
            Activation::Squareplus => map(y, ew::squareplus),
            Activation::LogSoftmax => softmax::log_forward(y, last, 1),
        }
    }

    /// Turns `dy = ∂L/∂y` into `∂L/∂x` in place, given the forward input `x` and output
    /// `y` (rows of length `last`). `x` is read only when [`Activation::needs_input`]
    /// (pass `&[]` otherwise). Matches JAX's derivatives: relu' = 1 where y > 0,
    /// sigmoid' = y(1−y), tanh' = 1−y², softmax: `y ⊙ (dy − Σ dy ⊙ y)`, elu' = y + 1
    /// for y ≤ 0, selu' = y + scale·alpha for y ≤ 0, softplus' = 1 − e^-y,
    /// softsign' = (1 − |y|)², exponential' = y, hard_sigmoid' = 1/6 inside (−3, 3),
    /// silu' = s(1 + x(1 − s)), gelu' = Φ(x) + x φ(x); log_softmax: `dy − e^y Σ dy`; the
    /// others as documented in [`elementwise`].
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `y` (or, when needed, `x`) is not as long as `dy`.
    pub fn backward<T: Scalar>(self, x: &[T], y: &[T], dy: &mut [T], last: usize) -> Result<()> {
        let need_y = !matches!(
            self,
            Activation::Linear | Activation::Silu | Activation::Gelu
        );
        if need_y && y.len() != dy.len() {
            return Err(Error::ShapeMismatch {
                expected: dy.len(),
                found: y.len(),
            });
        }
        if self.needs_input() && x.len() != dy.len() {
            return Err(Error::ShapeMismatch {
                expected: dy.len(),
                found: x.len(),
            });
        }
        let zip = |dy: &mut [T], v: &[T], f: fn(T, T) -> T| {
            dy.iter_mut().zip(v).for_each(|(d, &v)| *d = f(v, *d));
        };
        match self {
            Activation::Linear => {}
            Activation::Relu => zip(dy, y, |v, d| if v > T::ZERO { d } else { T::ZERO }),
            Activation::Sigmoid => zip(dy, y, |v, d| d * (v * (T::ONE - v))),
            Activation::Tanh => zip(dy, y, |v, d| d * (T::ONE - v * v)),
            Activation::Softmax => softmax::backward(y, dy, last, 1),
            Activation::HardSigmoid => zip(dy, y, ew::hard_sigmoid_grad),
            Activation::HardSigmoidKeras2 => zip(dy, y, ew::hard_sigmoid_keras2_grad),
            Activation::Softplus => zip(dy, y, ew::softplus_grad),
            Activation::Softsign => zip(dy, y, ew::softsign_grad),
            Activation::Elu => zip(dy, y, |v, d| ew::elu_grad_y(v, T::ONE, d)),
            Activation::Selu => zip(dy, y, ew::selu_grad),
            Activation::Exponential => zip(dy, y, |v, d| d * v),
            Activation::Silu => zip(dy, x, ew::silu_grad),
            Activation::Gelu => zip(dy, x, ew::gelu_grad),
            Activation::Relu6 => zip(dy, y, ew::relu6_grad),
            Activation::LeakyRelu => zip(dy, y, ew::leaky_relu_grad),
            Activation::HardSilu => zip(dy, x, ew::hard_silu_grad),
            Activation::HardTanh => zip(dy, x, ew::hard_tanh_grad),
            Activation::TanhShrink => zip(dy, x, ew::tanh_shrink_grad),
            Activation::Mish => zip(dy, x, ew::mish_grad),
            Activation::Celu => zip(dy, y, |v, d| ew::elu_grad_y(v, T::ONE, d)),
            Activation::LogSigmoid => zip(dy, y, ew::log_sigmoid_grad),
            Activation::SoftShrink | Activation::HardShrink => zip(dy, y, ew::shrink_grad),
            Activation::SparsePlus => zip(dy, x, ew::sparse_plus_grad),
            Activation::SparseSigmoid => zip(dy, x, ew::sparse_sigmoid_grad),
            Activation::Squareplus => zip(dy, x, ew::squareplus_grad),
            Activation::LogSoftmax => softmax::log_backward(y, dy, last, 1),
        }
        Ok(())
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
        for a in Activation::ALL {
            assert_eq!(Activation::from_keras_name(a.keras_name()), Some(a));
        }
        assert_eq!(Activation::from_keras_name("swish"), Some(Activation::Silu));
        assert_eq!(
            Activation::from_keras_name("hard_swish"),
            Some(Activation::HardSilu)
        );
        assert_eq!(Activation::from_keras_name("sparsemax"), None);
    }

    #[test]
    fn backward_checks_lengths() {
        let mut dy = [1.0f32; 3];
        assert!(Activation::Silu
            .backward(&[], &[0.0; 3], &mut dy, 3)
            .is_err());
        assert!(Activation::Relu
            .backward(&[], &[0.0; 2], &mut dy, 3)
            .is_err());
        assert!(Activation::Relu
            .backward(&[], &[0.0; 3], &mut dy, 3)
            .is_ok());
    }
}
