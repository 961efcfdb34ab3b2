//! [`ThresholdedReLU`]: Keras 2's `keras.layers.ThresholdedReLU`.

use serde::{Deserialize, Serialize};

use super::common::{backward_x, finite, map, no_params};
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Result, Scalar, Shape, TensorView, TensorViewMut};

/// Thresholded relu: `x` if `x > theta`, else 0 (gradient 1 where `x > theta`, else 0).
///
/// Origin: Keras 2 / tf.keras's `keras.layers.ThresholdedReLU(theta=1.0)`, computed as
/// `x * cast(x > theta)`. Keras 3 removed the public class (3.15 keeps it only as the
/// deprecated `keras._legacy.layers.ThresholdedReLU`, same formula); the converter reads
/// it from tf.keras 2 `.h5` models. In Keras 3 the same function is
/// `keras.layers.ReLU(threshold=theta)` for `theta ≥ 0`. No parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ThresholdedReLU {
    /// Threshold (`theta=`).
    pub theta: f32,
}

// `theta` is checked finite at load (`output_shape`), so equality is reflexive.
impl Eq for ThresholdedReLU {}

impl Default for ThresholdedReLU {
    /// Keras 2's default, `theta = 1`.
    fn default() -> Self {
        ThresholdedReLU { theta: 1.0 }
    }
}

impl ThresholdedReLU {
    fn validate(&self) -> Result<()> {
        finite(self.theta, "ThresholdedReLU.theta must be finite")
    }
}

impl Layer for ThresholdedReLU {
    const KERAS_CLASS: &'static str = "ThresholdedReLU";

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
        let t = T::from_f32(self.theta);
        map(x, y, |v| if v > t { v } else { T::ZERO })
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
        let t = T::from_f32(self.theta);
        backward_x(x, y, dy, dx, |v, d| if v > t { d } else { T::ZERO })
    }
}
