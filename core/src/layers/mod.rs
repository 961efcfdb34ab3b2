//! Layers: the [`Layer`] interface and its implementations.
//!
//! A layer value is its *configuration* only (e.g. [`Dense`]'s `units` and activation).
//! Its parameters live elsewhere — in the blob (flash) for inference, in the arena when
//! they train — and are passed in as slices, in Keras's weight order. That keeps a layer
//! a small `Copy` value decoded straight from the blob, lets the same code run on
//! read-only and trainable weights, and keeps dispatch static: [`LayerConfig`] is an enum
//! matched once per layer call, never a trait object.

mod activations;
mod dense;

pub use activations::{ActivationLayer, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU, ELU};
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
    /// [`ActivationLayer`], Keras's `Activation` (variant 1).
    Activation(ActivationLayer),
    /// [`ReLU`] (variant 2).
    ReLU(ReLU),
    /// [`LeakyReLU`] (variant 3).
    LeakyReLU(LeakyReLU),
    /// [`ELU`] (variant 4).
    ELU(ELU),
    /// [`ThresholdedReLU`] (variant 5).
    ThresholdedReLU(ThresholdedReLU),
    /// [`Softmax`] (variant 6).
    Softmax(Softmax),
    /// [`PReLU`] (variant 7).
    PReLU(PReLU),
}

impl LayerConfig {
    /// The Keras class name.
    pub fn keras_class(&self) -> &'static str {
        match self {
            LayerConfig::Dense(_) => Dense::KERAS_CLASS,
            LayerConfig::Activation(_) => ActivationLayer::KERAS_CLASS,
            LayerConfig::ReLU(_) => ReLU::KERAS_CLASS,
            LayerConfig::LeakyReLU(_) => LeakyReLU::KERAS_CLASS,
            LayerConfig::ELU(_) => ELU::KERAS_CLASS,
            LayerConfig::ThresholdedReLU(_) => ThresholdedReLU::KERAS_CLASS,
            LayerConfig::Softmax(_) => Softmax::KERAS_CLASS,
            LayerConfig::PReLU(_) => PReLU::KERAS_CLASS,
        }
    }

    /// See [`Layer::output_shape`].
    pub fn output_shape(&self, input: Shape) -> Result<Shape> {
        match self {
            LayerConfig::Dense(l) => l.output_shape(input),
            LayerConfig::Activation(l) => l.output_shape(input),
            LayerConfig::ReLU(l) => l.output_shape(input),
            LayerConfig::LeakyReLU(l) => l.output_shape(input),
            LayerConfig::ELU(l) => l.output_shape(input),
            LayerConfig::ThresholdedReLU(l) => l.output_shape(input),
            LayerConfig::Softmax(l) => l.output_shape(input),
            LayerConfig::PReLU(l) => l.output_shape(input),
        }
    }

    /// See [`Layer::param_shapes`].
    pub fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        match self {
            LayerConfig::Dense(l) => l.param_shapes(input),
            LayerConfig::Activation(l) => l.param_shapes(input),
            LayerConfig::ReLU(l) => l.param_shapes(input),
            LayerConfig::LeakyReLU(l) => l.param_shapes(input),
            LayerConfig::ELU(l) => l.param_shapes(input),
            LayerConfig::ThresholdedReLU(l) => l.param_shapes(input),
            LayerConfig::Softmax(l) => l.param_shapes(input),
            LayerConfig::PReLU(l) => l.param_shapes(input),
        }
    }

    /// See [`Layer::macs`].
    pub fn macs(&self, input: Shape) -> usize {
        match self {
            LayerConfig::Dense(l) => l.macs(input),
            LayerConfig::Activation(l) => l.macs(input),
            LayerConfig::ReLU(l) => l.macs(input),
            LayerConfig::LeakyReLU(l) => l.macs(input),
            LayerConfig::ELU(l) => l.macs(input),
            LayerConfig::ThresholdedReLU(l) => l.macs(input),
            LayerConfig::Softmax(l) => l.macs(input),
            LayerConfig::PReLU(l) => l.macs(input),
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
            LayerConfig::Activation(l) => l.forward(params, x, y, ctx),
            LayerConfig::ReLU(l) => l.forward(params, x, y, ctx),
            LayerConfig::LeakyReLU(l) => l.forward(params, x, y, ctx),
            LayerConfig::ELU(l) => l.forward(params, x, y, ctx),
            LayerConfig::ThresholdedReLU(l) => l.forward(params, x, y, ctx),
            LayerConfig::Softmax(l) => l.forward(params, x, y, ctx),
            LayerConfig::PReLU(l) => l.forward(params, x, y, ctx),
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
            LayerConfig::Activation(l) => l.backward(params, x, y, dy, dx, dparams),
            LayerConfig::ReLU(l) => l.backward(params, x, y, dy, dx, dparams),
            LayerConfig::LeakyReLU(l) => l.backward(params, x, y, dy, dx, dparams),
            LayerConfig::ELU(l) => l.backward(params, x, y, dy, dx, dparams),
            LayerConfig::ThresholdedReLU(l) => l.backward(params, x, y, dy, dx, dparams),
            LayerConfig::Softmax(l) => l.backward(params, x, y, dy, dx, dparams),
            LayerConfig::PReLU(l) => l.backward(params, x, y, dy, dx, dparams),
        }
    }
}
