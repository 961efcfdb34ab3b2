//! [`ActivationLayer`]: Keras's `keras.layers.Activation`.

use serde::{Deserialize, Serialize};

use super::common::{check, no_params};
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Activation, Result, Scalar, Shape, TensorView, TensorViewMut};

/// Applies an activation function to its input: Keras's
/// `keras.layers.Activation(activation)`. No parameters; output shape = input shape.
///
/// Unlike an activation fused into `Dense`, this layer receives its input in the backward
/// pass, so it also trains activations whose derivative needs it (`silu`, `gelu`).
///
/// ```
/// use ember_nn::layers::{ActivationLayer, Context, Layer};
/// use ember_nn::{Activation, Shape, TensorView, TensorViewMut};
///
/// let layer = ActivationLayer { activation: Activation::Relu };
/// let x = [-3.0f32, -1.0, 0.0, 2.0];
/// let mut y = [0.0f32; 4];
/// let s = Shape::new(&[1, 4]).unwrap();
/// layer.forward::<f32>(&[], TensorView::new(s, &x).unwrap(),
///     TensorViewMut::new(s, &mut y).unwrap(), &Context::default()).unwrap();
/// assert_eq!(y, [0.0, 0.0, 0.0, 2.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ActivationLayer {
    /// The function (`activation=`); softmax runs over the last axis.
    pub activation: Activation,
}

impl Layer for ActivationLayer {
    const KERAS_CLASS: &'static str = "Activation";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
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
        _ctx: &Context,
    ) -> Result<()> {
        no_params(params)?;
        let last = x.shape().last();
        let y = y.data();
        check(x.data().len(), y.len())?;
        y.copy_from_slice(x.data());
        self.activation.forward(y, last);
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
        let n = x.data().len();
        check(n, y.data().len())?;
        check(n, dy.len())?;
        if let Some(dx) = dx {
            check(n, dx.len())?;
            self.activation
                .backward(x.data(), y.data(), dy, x.shape().last())?;
            dx.copy_from_slice(dy);
        }
        Ok(())
    }
}
