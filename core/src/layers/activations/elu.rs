//! [`ELU`]: Keras's `keras.layers.ELU`.

use serde::{Deserialize, Serialize};

use super::common::{backward_x, finite, map, no_params};
use crate::activation::elementwise::{elu, elu_grad_x};
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Result, Scalar, Shape, TensorView, TensorViewMut};

/// Exponential linear unit: Keras's `keras.layers.ELU(alpha=1.0)`,
/// `x` if `x > 0` else `alpha · (e^x − 1)` (`jax.nn.elu`; gradient `alpha · e^x` for
/// `x ≤ 0`, so `alpha` at 0). No parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ELU {
    /// Scale of the negative part (`alpha=`).
    pub alpha: f32,
}

// `alpha` is checked finite at load (`output_shape`), so equality is reflexive.
impl Eq for ELU {}

impl Default for ELU {
    /// Keras's default, `alpha = 1`.
    fn default() -> Self {
        ELU { alpha: 1.0 }
    }
}

impl ELU {
    fn validate(&self) -> Result<()> {
        finite(self.alpha, "ELU.alpha must be finite")
    }
}

impl Layer for ELU {
    const KERAS_CLASS: &'static str = "ELU";

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
        let a = T::from_f32(self.alpha);
        map(x, y, |v| elu(v, a))
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
        let a = T::from_f32(self.alpha);
        backward_x(x, y, dy, dx, |v, d| elu_grad_x(v, a, d))
    }
}
