//! Layers: the [`Layer`] interface and its implementations.
//!
//! A layer value is its *configuration* only (e.g. [`Dense`]'s `units` and activation).
//! Its parameters live elsewhere — in the blob (flash) for inference, in the arena when
//! they train — and are passed in as slices, in Keras's weight order. That keeps a layer
//! a small `Copy` value decoded straight from the blob, lets the same code run on
//! read-only and trainable weights, and keeps dispatch static: [`LayerConfig`] is an enum
//! matched once per layer call, never a trait object.
//!
//! Multi-input layers (Keras's merges: [`Add`], [`Concatenate`], [`Dot`], …) implement
//! [`Merge`] instead of [`Layer`]; [`LayerConfig::forward_n`] and
//! [`LayerConfig::backward_n`] run any layer, merge or not, on a list of inputs.

mod activations;
mod attrs;
mod call;
mod config;
mod conv;
mod conv_transpose;
mod dense;
mod depthwise;
mod embedding;
mod engine;
mod features;
mod lambda;
mod masked;
mod merge;
mod normalization;
mod pooling;
pub(crate) mod recurrent;
mod regularization;
mod reshaping;
mod resizing;
mod slice;
mod step_mask;
mod tensor_mask;
mod window;

pub use activations::{
    ActivationLayer, LeakyReLU, PReLU, ParametricSoftplus, ReLU, Softmax, ThresholdedLinear,
    ThresholdedReLU, ELU,
};
pub use attrs::LayerAttrs;
pub use config::LayerConfig;
pub use conv::{Conv1D, Conv2D};
pub use conv_transpose::{transpose_axis, Conv1DTranspose, Conv2DTranspose};
pub use dense::Dense;
pub use depthwise::{DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D};
pub use embedding::Embedding;
pub use lambda::{Lambda, LambdaBackward, LambdaFn, LambdaForward};
pub use merge::{
    Add, Average, Concatenate, Dot, Maximum, Merge, Minimum, Multiply, Subtract, MAX_MERGE_INPUTS,
};
pub use normalization::{BatchNormalization, LayerNormalization};
pub use pooling::{
    AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D,
};
pub use recurrent::{BiMerge, Bidirectional, Recurrent, RecurrentLayer, SimpleRNN, GRU, LSTM};
pub use regularization::{AlphaDropout, Dropout, GaussianDropout, GaussianNoise};
pub use reshaping::{Flatten, Permute, RepeatVector, Reshape};
pub use resizing::{
    bilinear_taps, Cropping1D, Cropping2D, Interpolation, UpSampling1D, UpSampling2D,
    ZeroPadding1D, ZeroPadding2D,
};
pub use slice::Slice;
pub use step_mask::MaskRule;
pub use tensor_mask::TensorMask;
pub use window::{Padding, Window};

use heapless::Vec;

use crate::{Result, Scalar, Shape, TensorView, TensorViewMut};
pub(crate) use masked::backward_masked_default;

/// Most parameter tensors a layer has (Dense: 2; BatchNormalization: 4;
/// `Bidirectional(LSTM)`: 6).
pub const MAX_PARAMS: usize = 6;

/// Shapes of a layer's parameters, in Keras's weight order.
pub type ParamShapes = Vec<Shape, MAX_PARAMS>;

/// Per-call state every forward and backward pass receives.
///
/// [`crate::Sequential`] gives each layer of each training step its own context: the
/// step's seed mixed with the layer's index ([`Context::for_layer`]). A random layer
/// (dropout, noise) seeds a [`crate::random::Rng`] from [`Context::seed`] and draws its
/// noise in element order, so the backward pass, given the same context, regenerates
/// exactly the forward pass's noise: nothing is stored between the two.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// Keras's learning phase: `true` inside `train_on_batch` (dropout and noise layers
    /// act only then), `false` in `predict`.
    pub training: bool,
    /// Seed of this call's random draws (ignored by deterministic layers).
    pub seed: u64,
}

impl Context {
    /// A training context whose random layers draw from `seed`.
    pub fn training(seed: u64) -> Self {
        Context {
            training: true,
            seed,
        }
    }

    /// The context of layer `index` within a model call: the same learning phase, and a
    /// seed mixed from this one and `index` (SplitMix64's finalizer), so the layers of a
    /// model draw independent streams.
    pub fn for_layer(&self, index: usize) -> Self {
        Context {
            training: self.training,
            seed: mix(self.seed, index as u64),
        }
    }
}

/// SplitMix64's finalizer of `a + (b + 1)·φ`: a well-spread 64-bit seed from two values.
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    let mut z = a.wrapping_add(b.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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
    /// given (frozen layers pass `None`). `ctx` must be the context the forward pass of
    /// `x` ran with: random layers (dropout, noise) regenerate their noise from its seed
    /// instead of storing it.
    // One argument per caller-provided buffer (as in `forward`) plus the context.
    #[allow(clippy::too_many_arguments)]
    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        dparams: Option<&mut [T]>,
        ctx: &Context,
    ) -> Result<()>;

    /// [`Layer::backward`] computing only the gradients of the trainable tensors in
    /// `wanted` (per-tensor trainability: Keras's `variable.trainable = False` on the
    /// others). `dparams`, when given, holds exactly those tensors' gradients,
    /// concatenated in Keras's order — a frozen kernel needs no gradient buffer, and its
    /// gradient is not computed. `dx` is computed as by [`Layer::backward`] (frozen tensors
    /// still act, read from `params`).
    ///
    /// The default supports `wanted` = every trainable tensor (it calls
    /// [`Layer::backward`]) and the empty set (`dparams` must then be `None` or empty);
    /// any other set is [`crate::Error::InvalidConfig`]. Layers with a bias
    /// ([`Layer::bias_tensor`]) also support the bias alone, and every trainable tensor
    /// but the bias.
    #[allow(clippy::too_many_arguments)] // Layer::backward's arguments plus the mask
    fn backward_masked<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        dparams: Option<&mut [T]>,
        wanted: TensorMask,
        ctx: &Context,
    ) -> Result<()> {
        backward_masked_default(
            |dp| self.backward(params, x, y, dy, dx, dp, ctx),
            params.len().saturating_sub(self.state_tensors()),
            dparams,
            wanted,
        )
    }

    /// The index (Keras weight order) of the layer's *bias*, if it has one: the additive
    /// per-output-feature offset applied last before the fused activation, whose
    /// gradient is the sum of `∂L/∂(pre-activation)` over every axis but the feature
    /// axis. [`crate::Trainable::BiasOnly`] trains exactly these tensors:
    /// `bias` of Dense, Conv1D/2D, DepthwiseConv1D/2D, SeparableConv1D/2D and
    /// Conv1DTranspose/2DTranspose (when `use_bias`), and `beta` of BatchNormalization and
    /// LayerNormalization (when `center`). `None` by default.
    fn bias_tensor(&self) -> Option<usize> {
        None
    }

    /// How many of the layer's last parameter tensors are non-trainable *state* that a
    /// training forward pass updates (Keras's non-trainable weights, e.g.
    /// BatchNormalization's moving mean and variance): the optimizer never sees them and
    /// [`Layer::backward`]'s `dparams` has no room for them. 0 for most layers.
    fn state_tensors(&self) -> usize {
        0
    }

    /// Updates the state tensors (concatenated in `state`) after a training forward pass
    /// of `x`, as Keras does inside the layer's `call(training=True)`. Only called for
    /// layers that train; a no-op by default.
    fn update_state<T: Scalar>(&self, x: TensorView<'_, T>, state: &mut [T]) -> Result<()> {
        let _ = (x, state);
        Ok(())
    }
}
