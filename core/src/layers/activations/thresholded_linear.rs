//! [`ThresholdedLinear`]: legacy Keras's `keras.layers.advanced_activations.ThresholdedLinear`.

use serde::{Deserialize, Serialize};

use super::common::{backward_x, finite, map, no_params};
use crate::activation::elementwise::abs;
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Result, Scalar, Shape, TensorView, TensorViewMut};

/// Thresholded linear: `y = 0` where `|x| < theta`, else `x` (so `|x| = theta` passes);
/// the gradient is 1 where `|x| ≥ theta`, else 0. No parameters.
///
/// Origin: early Keras's `keras.layers.advanced_activations.ThresholdedLinear(theta=1.0)`
/// (Memisevic et al., "Zero-Bias Autoencoders and the Benefits of Co-Adapting
/// Features"), computed as `K.switch(K.abs(x) < theta, 0, x)` in the Keras 0.x/1.x
/// legacy `advanced_activations` module; Keras 1.2 keeps only `ThresholdedReLU`, and
/// Keras 2 and 3 do not have it. It is listed in the users' cheat sheet. Unlike
/// [`super::ThresholdedReLU`] it keeps large negative values.
///
/// To bring it in from Keras 3, save the model with a custom layer class registered
/// under the name `ThresholdedLinear` (`@keras.saving.register_keras_serializable()`)
/// whose `get_config` has `theta`; the converter maps it here
/// (`tests/fixtures/legacy_activations/generate.py` has such a class).
///
/// ```
/// use ember_nn::layers::{Context, Layer, ThresholdedLinear};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let layer = ThresholdedLinear { theta: 1.0 };
/// let x = [-2.0f32, -0.5, 0.5, 1.0, 3.0];
/// let mut y = [9.0f32; 5];
/// layer.forward(
///     &[],
///     TensorView::new(Shape::new(&[1, 5]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 5]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [-2.0, 0.0, 0.0, 1.0, 3.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ThresholdedLinear {
    /// Threshold on `|x|` (`theta=`).
    pub theta: f32,
}

// `theta` is checked finite at load (`output_shape`), so equality is reflexive.
impl Eq for ThresholdedLinear {}

impl Default for ThresholdedLinear {
    /// The legacy default, `theta = 1`.
    fn default() -> Self {
        ThresholdedLinear { theta: 1.0 }
    }
}

impl ThresholdedLinear {
    fn validate(&self) -> Result<()> {
        finite(self.theta, "ThresholdedLinear.theta must be finite")
    }
}

impl Layer for ThresholdedLinear {
    const KERAS_CLASS: &'static str = "ThresholdedLinear";

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
        map(x, y, |v| if abs(v) < t { T::ZERO } else { v })
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
        backward_x(x, y, dy, dx, |v, d| if abs(v) < t { T::ZERO } else { d })
    }
}
