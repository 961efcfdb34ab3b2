//! Layers computed by an *engine*: a small value built from the layer's options that
//! knows the shapes and runs the forward and backward passes. The pooling layers and the
//! zero-padding and cropping layers implement [`EngineLayer`] (their Keras class and engine)
//! and get [`Layer`] from the one implementation here, which passes everything to the
//! engine (the context is unused: none of these layers is random).

use crate::layers::{Context, Layer, ParamShapes};
use crate::{Result, Scalar, Shape, TensorView, TensorViewMut};

/// Shapes, forward and backward of a layer, on batched tensors ([`Layer`]'s methods
/// without the context). The defaults describe a layer without parameters.
pub trait Engine {
    /// [`Layer::output_shape`].
    fn output_shape(&self, input: Shape) -> Result<Shape>;

    /// [`Layer::param_shapes`]; none by default.
    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        let _ = input;
        Ok(ParamShapes::new())
    }

    /// [`Layer::macs`]; 0 by default.
    fn macs(&self, input: Shape) -> usize {
        let _ = input;
        0
    }

    /// [`Layer::forward`].
    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorViewMut<'_, T>,
    ) -> Result<()>;

    /// [`Layer::backward`].
    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        dparams: Option<&mut [T]>,
    ) -> Result<()>;
}

/// A layer computed by an [`Engine`]: its Keras class and the engine of its options.
pub trait EngineLayer {
    /// [`Layer::KERAS_CLASS`].
    const KERAS_CLASS: &'static str;
    /// The engine type.
    type Engine: Engine;
    /// The engine for these options.
    fn engine(&self) -> Self::Engine;
}

impl<L: EngineLayer> Layer for L {
    const KERAS_CLASS: &'static str = <L as EngineLayer>::KERAS_CLASS;

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        self.engine().output_shape(input)
    }

    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        self.engine().param_shapes(input)
    }

    fn macs(&self, input: Shape) -> usize {
        self.engine().macs(input)
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorViewMut<'_, T>,
        _ctx: &Context,
    ) -> Result<()> {
        self.engine().forward(params, x, y)
    }

    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        dparams: Option<&mut [T]>,
        _ctx: &Context,
    ) -> Result<()> {
        self.engine().backward(params, x, y, dy, dx, dparams)
    }
}
