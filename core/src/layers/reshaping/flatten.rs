//! [`Flatten`]: Keras's `keras.layers.Flatten`.

use serde::{Deserialize, Serialize};

use super::{copy_backward, copy_forward, no_params};
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Result, Scalar, Shape, TensorView, TensorViewMut};

/// Flattens each sample to one axis: Keras's `keras.layers.Flatten()` with
/// `data_format="channels_last"` (the default), shape `(d₁, …, d_k)` → `(d₁·…·d_k,)`.
///
/// Channels-last tensors are already stored in the order Keras flattens them (row-major,
/// last axis fastest), so the output is the input's data unchanged. A rank-0 sample
/// (Keras input `(batch,)`) becomes `(1,)`, as in Keras. Keras's
/// `data_format="channels_first"` (a transpose before flattening) is not implemented: the
/// converter refuses it by name. No parameters.
///
/// ```
/// use ember_nn::layers::{Flatten, Layer};
/// use ember_nn::Shape;
/// let out = Flatten.output_shape(Shape::new(&[10, 64]).unwrap()).unwrap();
/// assert_eq!(out.dims(), &[640]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Flatten;

impl Layer for Flatten {
    const KERAS_CLASS: &'static str = "Flatten";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        Shape::new(&[input.len()])
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
        _ctx: &Context,
    ) -> Result<()> {
        no_params(params)?;
        copy_forward(x, y.data())
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
        copy_backward(x, y, dy, dx)
    }
}
