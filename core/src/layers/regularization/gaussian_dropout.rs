//! [`GaussianDropout`]: Keras's `keras.layers.GaussianDropout`.

use serde::{Deserialize, Serialize};

use super::{map, map_grad, noise_rng, unit_interval};
use crate::layers::reshaping::no_params;
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// Multiplies by mean-one Gaussian noise in training: Keras's
/// `keras.layers.GaussianDropout(rate, seed=None)`,
/// `y = x · N(1, σ²)` per element with `σ = √(rate / (1 − rate))`; the identity in
/// inference and when `rate = 0`.
///
/// The backward pass regenerates the noise from the [`Context`] (nothing is stored):
/// `dx = dy · noise`. `rate` outside `[0, 1]` is
/// [`Error::InvalidConfig`]; so is training with `rate = 1`, where Keras divides by zero
/// (inference still works, as in Keras). No parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GaussianDropout {
    /// Drop probability (`rate=`), in `[0, 1]`: the noise's `σ = √(rate / (1 − rate))`.
    pub rate: f32,
    /// Keras's `seed=`: mixed into the model's per-step seed when given.
    pub seed: Option<u64>,
}

// `rate` is checked to lie in [0, 1] at load (`output_shape`), so equality is reflexive.
impl Eq for GaussianDropout {}

impl GaussianDropout {
    fn validate(&self) -> Result<()> {
        unit_interval(self.rate, "GaussianDropout.rate must be in [0, 1]")
    }

    /// The noise's standard deviation when the layer acts in `ctx`, else `None`.
    fn stddev(&self, ctx: &Context) -> Result<Option<f32>> {
        self.validate()?;
        if !(ctx.training && self.rate > 0.0) {
            return Ok(None);
        }
        if self.rate >= 1.0 {
            return Err(Error::InvalidConfig(
                "GaussianDropout.rate = 1 cannot train (Keras divides by zero)",
            ));
        }
        // Keras computes math.sqrt(rate / (1.0 - rate)) in double precision.
        let (r, one) = (self.rate as f64, 1.0f64);
        Ok(Some(libm::sqrt(r / (one - r)) as f32))
    }
}

impl Layer for GaussianDropout {
    const KERAS_CLASS: &'static str = "GaussianDropout";

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
        let Some(sd) = self.stddev(ctx)? else {
            return map(x, y.data(), |v| v);
        };
        let mut rng = noise_rng(ctx, self.seed);
        map(x, y.data(), |v| v * T::from_f32(1.0 + sd * rng.normal()))
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
        let Some(sd) = self.stddev(ctx)? else {
            return map_grad(x, y, dy, dx, |d| d);
        };
        let mut rng = noise_rng(ctx, self.seed);
        map_grad(x, y, dy, dx, |d| d * T::from_f32(1.0 + sd * rng.normal()))
    }
}
