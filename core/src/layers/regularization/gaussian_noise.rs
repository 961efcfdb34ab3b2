//! [`GaussianNoise`]: Keras's `keras.layers.GaussianNoise`.

use serde::{Deserialize, Serialize};

use super::{map, map_grad, noise_rng, unit_interval};
use crate::layers::reshaping::no_params;
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Result, Scalar, Shape, TensorView, TensorViewMut};

/// Adds zero-centred Gaussian noise in training: Keras's
/// `keras.layers.GaussianNoise(stddev, seed=None)`, `y = x + N(0, stddev²)` drawn per
/// element; the identity in inference and when `stddev = 0`.
///
/// The noise does not depend on `x`, so the backward pass is `dx = dy` and draws
/// nothing. Keras accepts only `stddev` in `[0, 1]`; other values are
/// [`crate::Error::InvalidConfig`]. No parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GaussianNoise {
    /// Standard deviation of the noise (`stddev=`), in `[0, 1]`.
    pub stddev: f32,
    /// Keras's `seed=`: mixed into the model's per-step seed when given.
    pub seed: Option<u64>,
}

// `stddev` is checked to lie in [0, 1] at load (`output_shape`): equality is reflexive.
impl Eq for GaussianNoise {}

impl GaussianNoise {
    fn validate(&self) -> Result<()> {
        unit_interval(self.stddev, "GaussianNoise.stddev must be in [0, 1]")
    }
}

impl Layer for GaussianNoise {
    const KERAS_CLASS: &'static str = "GaussianNoise";

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
        self.validate()?;
        if !(ctx.training && self.stddev > 0.0) {
            return map(x, y.data(), |v| v);
        }
        let mut rng = noise_rng(ctx, self.seed);
        map(x, y.data(), |v| v + T::from_f32(self.stddev * rng.normal()))
    }

    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        _dparams: Option<&mut [T]>,
        _ctx: &Context,
    ) -> Result<()> {
        no_params(params)?;
        self.validate()?;
        map_grad(x, y, dy, dx, |d| d)
    }
}
