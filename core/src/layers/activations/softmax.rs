//! [`Softmax`]: Keras's `keras.layers.Softmax`.

use serde::{Deserialize, Serialize};

use super::common::{check, no_params};
use crate::activation::softmax;
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// Softmax along one axis: Keras's `keras.layers.Softmax(axis=-1)`,
/// `e^(x − max) / Σ e^(x − max)` over `axis`. No parameters; output shape = input shape.
///
/// `axis` counts the batch dimension as Keras does (`-1` is the last axis, `1` the first
/// axis after the batch); the batch axis itself (`0`, or `-(rank + 1)`) is refused with
/// [`Error::InvalidConfig`]. Keras's optional `mask` call argument is not supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Softmax {
    /// The normalised axis (`axis=`), counting the batch dimension.
    pub axis: i32,
}

impl Default for Softmax {
    /// Keras's default, the last axis.
    fn default() -> Self {
        Softmax { axis: -1 }
    }
}

impl Softmax {
    /// `(n, inner)`: the axis length and the product of the dimensions after it, for a
    /// shape that includes (`batched`) or excludes the batch dimension.
    fn split(&self, shape: Shape, batched: bool) -> Result<(usize, usize)> {
        let full_rank = shape.rank() as i64 + if batched { 0 } else { 1 };
        let a = self.axis as i64;
        let a = if a < 0 { a + full_rank } else { a };
        if a < 1 || a >= full_rank {
            return Err(Error::InvalidConfig(
                "Softmax.axis must name a non-batch axis of the input",
            ));
        }
        let d = (a - if batched { 0 } else { 1 }) as usize;
        let inner = shape.dims()[d + 1..].iter().map(|&v| v as usize).product();
        Ok((shape.dim(d), inner))
    }
}

impl Layer for Softmax {
    const KERAS_CLASS: &'static str = "Softmax";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        self.split(input, false)?;
        Ok(input)
    }

    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        self.split(input, false)?;
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
        _ctx: &Context,
    ) -> Result<()> {
        no_params(params)?;
        let (n, inner) = self.split(x.shape(), true)?;
        let y = y.data();
        check(x.data().len(), y.len())?;
        y.copy_from_slice(x.data());
        softmax::forward(y, n, inner);
        Ok(())
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
        let (n, inner) = self.split(x.shape(), true)?;
        let len = x.data().len();
        check(len, y.data().len())?;
        check(len, dy.len())?;
        if let Some(dx) = dx {
            check(len, dx.len())?;
            softmax::backward(y.data(), dy, n, inner);
            dx.copy_from_slice(dy);
        }
        Ok(())
    }
}
