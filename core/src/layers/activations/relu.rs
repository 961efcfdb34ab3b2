//! [`ReLU`]: Keras's `keras.layers.ReLU`.

use serde::{Deserialize, Serialize};

use super::common::{backward_x, finite, map, no_params};
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Result, Scalar, Shape, TensorView, TensorViewMut};

/// The rectified linear unit with options: Keras's
/// `keras.layers.ReLU(max_value=None, negative_slope=0.0, threshold=0.0)`.
///
/// Computed as Keras 3's `keras.activations.relu` does:
/// - `negative_slope ≠ 0`, no `max_value`, `threshold = 0`: leaky relu,
///   `x` if `x ≥ 0` else `negative_slope · x`;
/// - otherwise `p = (x > threshold ? x : 0)` (plain relu when `threshold = 0`), clipped
///   to `[0, max_value]` when `max_value` is set, minus
///   `negative_slope · relu(threshold − x)`.
///
/// The backward pass is `jax.grad` of that expression, including its ties: the clip
/// (`minimum`/`maximum`) passes half the gradient where `p` equals a bound exactly.
/// No parameters; output shape = input shape.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReLU {
    /// Largest output (`max_value=`), `None` for unbounded.
    pub max_value: Option<f32>,
    /// Slope below the threshold (`negative_slope=`).
    pub negative_slope: f32,
    /// Inputs at or below it give 0 (`threshold=`).
    pub threshold: f32,
}

// Hyperparameters are checked finite at load (`output_shape`), so equality is reflexive.
impl Eq for ReLU {}

impl Default for ReLU {
    /// Keras's defaults: plain relu.
    fn default() -> Self {
        ReLU {
            max_value: None,
            negative_slope: 0.0,
            threshold: 0.0,
        }
    }
}

impl ReLU {
    fn validate(&self) -> Result<()> {
        finite(self.negative_slope, "ReLU.negative_slope must be finite")?;
        finite(self.threshold, "ReLU.threshold must be finite")?;
        if let Some(m) = self.max_value {
            finite(m, "ReLU.max_value must be finite")?;
        }
        Ok(())
    }

    /// Keras takes the `jax.nn.leaky_relu` path.
    fn is_leaky(&self) -> bool {
        self.negative_slope != 0.0 && self.max_value.is_none() && self.threshold == 0.0
    }

    /// The value and the derivative (times `d`) at `x`.
    fn eval<T: Scalar>(&self, x: T, d: T) -> (T, T) {
        let slope = T::from_f32(self.negative_slope);
        if self.is_leaky() {
            return if x >= T::ZERO {
                (x, d)
            } else {
                (slope * x, slope * d)
            };
        }
        let theta = T::from_f32(self.threshold);
        let half = T::from_f32(0.5);
        // p and dp/dx · d.
        let (mut p, mut dp) = if self.threshold != 0.0 {
            if x > theta {
                (x, d)
            } else {
                (T::ZERO, T::ZERO)
            }
        } else if x > T::ZERO {
            (x, d)
        } else {
            (T::ZERO, T::ZERO)
        };
        let relu6 = self.threshold == 0.0 && self.max_value == Some(6.0);
        if let Some(m) = self.max_value {
            let m = T::from_f32(m);
            if relu6 {
                // jax.nn.relu6: gradient 0 at both kinks.
                if p >= m {
                    (p, dp) = (m, T::ZERO);
                }
            } else {
                // jnp.clip(p, 0, m) = minimum(maximum(0, p), m); ties pass half.
                if p < T::ZERO {
                    (p, dp) = (T::ZERO, T::ZERO);
                } else if p == T::ZERO {
                    dp = dp * half;
                }
                if p > m {
                    (p, dp) = (m, T::ZERO);
                } else if p == m {
                    dp = dp * half;
                }
            }
        }
        if self.negative_slope != 0.0 {
            let r = theta - x;
            if r > T::ZERO {
                p = p - slope * r;
                dp = dp + slope * d;
            }
        }
        (p, dp)
    }
}

impl Layer for ReLU {
    const KERAS_CLASS: &'static str = "ReLU";

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
        map(x, y, |v| self.eval(v, T::ZERO).0)
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
        backward_x(x, y, dy, dx, |v, d| self.eval(v, d).1)
    }
}
