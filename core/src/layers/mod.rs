//! Layers: the [`Layer`] interface and its implementations.
//!
//! A layer value is its *configuration* only (e.g. [`Dense`]'s `units` and activation).
//! Its parameters live elsewhere — in the blob (flash) for inference, in the arena when
//! they train — and are passed in as slices, in Keras's weight order. That keeps a layer
//! a small `Copy` value decoded straight from the blob, lets the same code run on
//! read-only and trainable weights, and keeps dispatch static: [`LayerConfig`] is an enum
//! matched once per layer call, never a trait object.

mod dense;

pub use dense::Dense;

use heapless::Vec;
use serde::{Deserialize, Serialize};

use crate::{Result, Scalar, Shape, TensorView, TensorViewMut};

/// Most parameter tensors a layer has (Dense: 2; BatchNormalization will need 4).
pub const MAX_PARAMS: usize = 4;

/// Shapes of a layer's parameters, in Keras's weight order.
pub type ParamShapes = Vec<Shape, MAX_PARAMS>;

/// Per-call state every forward pass receives.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    /// Keras's learning phase: `true` inside `train_on_batch` (dropout and noise layers
    /// act only then), `false` in `predict`.
    pub training: bool,
}

/// The interface every layer implements. Shapes exclude the batch dimension.
pub trait Layer {
    /// The Keras class this layer implements (`"Dense"`).
    const KERAS_CLASS: &'static str;

    /// Output shape for an input shape; an error if the layer cannot take that input.
    fn output_shape(&self, input: Shape) -> Result<Shape>;

    /// Shapes of the parameters for an input shape, in Keras's weight order.
    fn param_shapes(&self, input: Shape) -> Result<ParamShapes>;

    /// Multiply-accumulates for one sample (for summaries and benchmarks).
    fn macs(&self, input: Shape) -> usize;

    /// Forward pass of a batch: `x` and `y` carry the batch dimension; `params` are in
    /// Keras's order with the shapes [`Layer::param_shapes`] gave.
    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorViewMut<'_, T>,
        ctx: &Context,
    ) -> Result<()>;

    /// Backward pass of a batch. `dy` holds `∂L/∂y` and may be overwritten (it is
    /// scratch). Writes `∂L/∂x` into `dx` when given (the first layer has no use for it)
    /// and the parameter gradients, concatenated in Keras's order, into `dparams` when
    /// given (frozen layers pass `None`).
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

/// Every layer Ember implements, as stored in a blob (postcard encodes the variant index
/// first, then the fields — see the blob format spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LayerConfig {
    /// [`Dense`] (variant 0).
    Dense(Dense),
}

impl LayerConfig {
    /// The Keras class name.
    pub fn keras_class(&self) -> &'static str {
        match self {
            LayerConfig::Dense(_) => Dense::KERAS_CLASS,
        }
    }

    /// See [`Layer::output_shape`].
    pub fn output_shape(&self, input: Shape) -> Result<Shape> {
        match self {
            LayerConfig::Dense(l) => l.output_shape(input),
        }
    }

    /// See [`Layer::param_shapes`].
    pub fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        match self {
            LayerConfig::Dense(l) => l.param_shapes(input),
        }
    }

    /// See [`Layer::macs`].
    pub fn macs(&self, input: Shape) -> usize {
        match self {
            LayerConfig::Dense(l) => l.macs(input),
        }
    }

    /// See [`Layer::forward`].
    pub fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorViewMut<'_, T>,
        ctx: &Context,
    ) -> Result<()> {
        match self {
            LayerConfig::Dense(l) => l.forward(params, x, y, ctx),
        }
    }

    /// See [`Layer::backward`].
    pub fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        dparams: Option<&mut [T]>,
    ) -> Result<()> {
        match self {
            LayerConfig::Dense(l) => l.backward(params, x, y, dy, dx, dparams),
        }
    }
}
