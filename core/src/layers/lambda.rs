//! [`Lambda`]: a user function registered by name (Keras `keras.layers.Lambda`).
//!
//! A blob cannot hold code, so it stores the layer (its Keras name and output shape) and
//! the firmware registers the function: a [`LambdaFn`] with the same name, given to
//! [`crate::model::Functional::new_with_lambdas`] — as TFLM's op resolver maps custom
//! ops to kernels. A `Lambda` without a registration is [`Error::UnresolvedLambda`] when
//! the model loads; a registration without `backward` is refused when the model loads for
//! training through that layer.

use serde::{Deserialize, Serialize};

use super::{Context, Layer, ParamShapes};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// Keras `keras.layers.Lambda(function, output_shape=...)`: runs a function registered
/// under the layer's name ([`LambdaFn`]). `output` is the output shape without the batch
/// (Keras's `output_shape`); `None` means the input's shape (what the converter writes
/// when Keras has no `output_shape`: the function must then keep the shape). No
/// parameters; one input.
///
/// Called directly (without a resolver), its forward and backward passes are
/// [`Error::InvalidConfig`]: only [`crate::model::Functional`] holds the functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Lambda {
    /// Output shape without the batch dimension (`None`: the input's).
    pub output: Option<Shape>,
}

const NEEDS_RESOLVER: Error = Error::InvalidConfig(
    "a Lambda runs through its registered LambdaFn (Functional::new_with_lambdas)",
);

impl Layer for Lambda {
    const KERAS_CLASS: &'static str = "Lambda";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        let out = self.output.unwrap_or(input);
        out.validate()?;
        Ok(out)
    }

    fn param_shapes(&self, _input: Shape) -> Result<ParamShapes> {
        Ok(ParamShapes::new())
    }

    fn macs(&self, _input: Shape) -> usize {
        0
    }

    fn forward<T: Scalar>(
        &self,
        _params: &[&[T]],
        _x: TensorView<'_, T>,
        _y: TensorViewMut<'_, T>,
        _ctx: &Context,
    ) -> Result<()> {
        Err(NEEDS_RESOLVER)
    }

    fn backward<T: Scalar>(
        &self,
        _params: &[&[T]],
        _x: TensorView<'_, T>,
        _y: TensorView<'_, T>,
        _dy: &mut [T],
        _dx: Option<&mut [T]>,
        _dparams: Option<&mut [T]>,
        _ctx: &Context,
    ) -> Result<()> {
        Err(NEEDS_RESOLVER)
    }
}

/// The forward pass of a registered Lambda: `x` and `y` are batched views (`y` has the
/// layer's output shape); write `y` from `x`.
pub type LambdaForward<T> = fn(x: TensorView<'_, T>, y: TensorViewMut<'_, T>) -> Result<()>;

/// The backward pass of a registered Lambda: given the forward's `x` and `y` and
/// `dy = ∂L/∂y`, write `dx = ∂L/∂x` (overwrite every element).
pub type LambdaBackward<T> =
    fn(x: TensorView<'_, T>, y: TensorView<'_, T>, dy: &[T], dx: &mut [T]) -> Result<()>;

/// A function registered for the [`Lambda`] layer named `name` (the Keras layer name, e.g.
/// `"scale"` for `Lambda(f, name="scale")`).
///
/// ```
/// use ember_nn::layers::LambdaFn;
/// use ember_nn::{Result, TensorView, TensorViewMut};
///
/// fn double(x: TensorView<'_, f32>, mut y: TensorViewMut<'_, f32>) -> Result<()> {
///     for (o, i) in y.data().iter_mut().zip(x.data()) {
///         *o = 2.0 * i;
///     }
///     Ok(())
/// }
/// fn double_grad(_x: TensorView<'_, f32>, _y: TensorView<'_, f32>, dy: &[f32], dx: &mut [f32]) -> Result<()> {
///     for (d, g) in dx.iter_mut().zip(dy) {
///         *d = 2.0 * g;
///     }
///     Ok(())
/// }
/// static LAMBDAS: [LambdaFn<f32>; 1] = [LambdaFn::new("double", double).with_backward(double_grad)];
/// assert_eq!(LAMBDAS[0].name, "double");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LambdaFn<T> {
    /// The Keras layer name it implements.
    pub name: &'static str,
    /// The forward pass.
    pub forward: LambdaForward<T>,
    /// The backward pass; `None` for inference-only functions.
    pub backward: Option<LambdaBackward<T>>,
}

impl<T> LambdaFn<T> {
    /// An inference-only function for the Lambda layer `name`.
    pub const fn new(name: &'static str, forward: LambdaForward<T>) -> Self {
        LambdaFn {
            name,
            forward,
            backward: None,
        }
    }

    /// With a backward pass (the Lambda can be trained through).
    pub const fn with_backward(self, backward: LambdaBackward<T>) -> Self {
        LambdaFn {
            backward: Some(backward),
            ..self
        }
    }
}
