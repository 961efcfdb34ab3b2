//! [`LeakyReLU`]: Keras's `keras.layers.LeakyReLU`.

use serde::{Deserialize, Serialize};

use super::common::{backward_x, finite, map, no_params};
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Result, Scalar, Shape, TensorView, TensorViewMut};

/// Leaky relu: Keras's `keras.layers.LeakyReLU(negative_slope=0.3)`,
/// `x` if `x ≥ 0` else `negative_slope · x` (`jax.nn.leaky_relu`; gradient 1 at 0).
///
/// Keras 3's layer default is `0.3` ([`LeakyReLU::default`]); the *function*
/// `keras.activations.leaky_relu` defaults to `0.2`. No parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LeakyReLU {
    /// Slope for negative inputs (`negative_slope=`, formerly `alpha=`).
    pub negative_slope: f32,
}

// The slope is checked finite at load (`output_shape`), so equality is reflexive.
impl Eq for LeakyReLU {}

impl Default for LeakyReLU {
    /// Keras 3's layer default, `negative_slope = 0.3`.
    fn default() -> Self {
        LeakyReLU {
            negative_slope: 0.3,
        }
    }
}

impl LeakyReLU {
    fn validate(&self) -> Result<()> {
        finite(
            self.negative_slope,
            "LeakyReLU.negative_slope must be finite",
        )
    }
}

impl Layer for LeakyReLU {
    const KERAS_CLASS: &'static str = "LeakyReLU";

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
        y: TensorViewMut<'_, T>,
        _ctx: &Context,
    ) -> Result<()> {
        no_params(params)?;
        self.validate()?;
        let s = T::from_f32(self.negative_slope);
        map(x, y, |v| if v >= T::ZERO { v } else { s * v })
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
        let s = T::from_f32(self.negative_slope);
        backward_x(x, y, dy, dx, |v, d| if v >= T::ZERO { d } else { s * d })
    }
}
