//! [`AlphaDropout`]: Keras's `keras.layers.AlphaDropout`.

use serde::{Deserialize, Serialize};

use super::{map, map_grad, noise_rng, unit_interval};
use crate::layers::reshaping::no_params;
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// SELU's `α` (Keras's constant `1.6732632423543772848170429916717`).
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
/// SELU's `scale` (Keras's constant `1.0507009873554804934193349852946`).
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

/// Dropout that keeps a SELU network's mean and variance: Keras's
/// `keras.layers.AlphaDropout(rate, noise_shape=None, seed=None)`.
///
/// In training, with `α' = −α·scale` (SELU's negative saturation), each element is kept
/// when a uniform draw is `≥ rate` and otherwise replaced by `α'`, then transformed
/// affinely: `y = a·(kept ? x : α') + b` with `a = ((1 − rate)(1 + rate·α'²))^(−1/2)` and
/// `b = −a·α'·rate` (Keras's formulas, computed in double precision). The identity in
/// inference and when `rate = 0`. The backward pass regenerates the mask from the
/// [`Context`] (nothing is stored): `dx = a·dy` where kept, 0 elsewhere.
///
/// `noise_shape` is not implemented (the converter refuses it by name). `rate` outside
/// `[0, 1]` is [`Error::InvalidConfig`], as is training with `rate = 1` (Keras divides by
/// zero). No parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AlphaDropout {
    /// Drop probability (`rate=`), in `[0, 1]`.
    pub rate: f32,
    /// Keras's `seed=`: mixed into the model's per-step seed when given.
    pub seed: Option<u64>,
}

// `rate` is checked to lie in [0, 1] at load (`output_shape`), so equality is reflexive.
impl Eq for AlphaDropout {}

/// The training transform in f32: `y = a·x + b` where kept, `a·α' + b` elsewhere.
struct Affine {
    a: f32,
    b: f32,
    alpha_p: f32,
}

impl AlphaDropout {
    fn validate(&self) -> Result<()> {
        unit_interval(self.rate, "AlphaDropout.rate must be in [0, 1]")
    }

    /// The affine transform when the layer acts in `ctx`, else `None`.
    fn affine(&self, ctx: &Context) -> Result<Option<Affine>> {
        self.validate()?;
        if !(ctx.training && self.rate > 0.0) {
            return Ok(None);
        }
        if self.rate >= 1.0 {
            return Err(Error::InvalidConfig(
                "AlphaDropout.rate = 1 cannot train (Keras divides by zero)",
            ));
        }
        let r = self.rate as f64;
        let alpha_p = -SELU_ALPHA * SELU_SCALE;
        let a = 1.0 / libm::sqrt((1.0 - r) * (1.0 + r * alpha_p * alpha_p));
        let b = -a * alpha_p * r;
        Ok(Some(Affine {
            a: a as f32,
            b: b as f32,
            alpha_p: alpha_p as f32,
        }))
    }
}

impl Layer for AlphaDropout {
    const KERAS_CLASS: &'static str = "AlphaDropout";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        self.validate()?;
        Ok(input)
    }

    fn param_shapes(&self, _input: Shape) -> Result<ParamShapes> {
        Ok(ParamShapes::new())
    }

    fn macs(&self, _input: Shape) -> usize {
        0
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
        ctx: &Context,
    ) -> Result<()> {
        no_params(params)?;
        let Some(t) = self.affine(ctx)? else {
            return map(x, y.data(), |v| v);
        };
        let (a, b) = (T::from_f32(t.a), T::from_f32(t.b));
        // Computed in T like Keras (which evaluates `a * alpha_p + b` in float32).
        let dropped = a * T::from_f32(t.alpha_p) + b;
        let mut rng = noise_rng(ctx, self.seed);
        map(x, y.data(), |v| {
            // Keras keeps an element when its uniform draw is ≥ rate.
            if rng.uniform() >= self.rate {
                a * v + b
            } else {
                dropped
            }
        })
    }

    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        _dparams: Option<&mut [T]>,
        ctx: &Context,
    ) -> Result<()> {
        no_params(params)?;
        let Some(t) = self.affine(ctx)? else {
            return map_grad(x, y, dy, dx, |d| d);
        };
        let a = T::from_f32(t.a);
        let mut rng = noise_rng(ctx, self.seed);
        map_grad(x, y, dy, dx, |d| {
            // Keras keeps an element when its uniform draw is ≥ rate.
            if rng.uniform() >= self.rate {
                a * d
            } else {
                T::ZERO
            }
        })
    }
}
