//! [`LayerConfig`]: every layer Ember implements, as one enum matched once per call
//! (static dispatch; the blob stores it with postcard).

use serde::{Deserialize, Serialize};

use super::{
    ActivationLayer, AlphaDropout, Context, Dense, DepthwiseConv1D, DepthwiseConv2D, Dropout,
    Flatten, GaussianDropout, GaussianNoise, Layer, LeakyReLU, PReLU, ParamShapes, Permute, ReLU,
    RepeatVector, Reshape, SeparableConv1D, SeparableConv2D, Softmax, ThresholdedReLU, ELU,
};
use crate::{Result, Scalar, Shape, TensorView, TensorViewMut};

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
    /// [`Flatten`] (variant 8).
    Flatten(Flatten),
    /// [`Reshape`] (variant 9).
    Reshape(Reshape),
    /// [`Permute`] (variant 10).
    Permute(Permute),
    /// [`RepeatVector`] (variant 11).
    RepeatVector(RepeatVector),
    /// [`Dropout`] (variant 12).
    Dropout(Dropout),
    /// [`GaussianNoise`] (variant 13).
    GaussianNoise(GaussianNoise),
    /// [`GaussianDropout`] (variant 14).
    GaussianDropout(GaussianDropout),
    /// [`AlphaDropout`] (variant 15).
    AlphaDropout(AlphaDropout),
    /// [`DepthwiseConv1D`] (variant 18).
    DepthwiseConv1D(DepthwiseConv1D),
    /// [`DepthwiseConv2D`] (variant 19).
    DepthwiseConv2D(DepthwiseConv2D),
    /// [`SeparableConv1D`] (variant 20).
    SeparableConv1D(SeparableConv1D),
    /// [`SeparableConv2D`] (variant 21).
    SeparableConv2D(SeparableConv2D),
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
            LayerConfig::Flatten(_) => Flatten::KERAS_CLASS,
            LayerConfig::Reshape(_) => Reshape::KERAS_CLASS,
            LayerConfig::Permute(_) => Permute::KERAS_CLASS,
            LayerConfig::RepeatVector(_) => RepeatVector::KERAS_CLASS,
            LayerConfig::Dropout(_) => Dropout::KERAS_CLASS,
            LayerConfig::GaussianNoise(_) => GaussianNoise::KERAS_CLASS,
            LayerConfig::GaussianDropout(_) => GaussianDropout::KERAS_CLASS,
            LayerConfig::AlphaDropout(_) => AlphaDropout::KERAS_CLASS,
            LayerConfig::DepthwiseConv1D(_) => DepthwiseConv1D::KERAS_CLASS,
            LayerConfig::DepthwiseConv2D(_) => DepthwiseConv2D::KERAS_CLASS,
            LayerConfig::SeparableConv1D(_) => SeparableConv1D::KERAS_CLASS,
            LayerConfig::SeparableConv2D(_) => SeparableConv2D::KERAS_CLASS,
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
            LayerConfig::Flatten(l) => l.output_shape(input),
            LayerConfig::Reshape(l) => l.output_shape(input),
            LayerConfig::Permute(l) => l.output_shape(input),
            LayerConfig::RepeatVector(l) => l.output_shape(input),
            LayerConfig::Dropout(l) => l.output_shape(input),
            LayerConfig::GaussianNoise(l) => l.output_shape(input),
            LayerConfig::GaussianDropout(l) => l.output_shape(input),
            LayerConfig::AlphaDropout(l) => l.output_shape(input),
            LayerConfig::DepthwiseConv1D(l) => l.output_shape(input),
            LayerConfig::DepthwiseConv2D(l) => l.output_shape(input),
            LayerConfig::SeparableConv1D(l) => l.output_shape(input),
            LayerConfig::SeparableConv2D(l) => l.output_shape(input),
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
            LayerConfig::Flatten(l) => l.param_shapes(input),
            LayerConfig::Reshape(l) => l.param_shapes(input),
            LayerConfig::Permute(l) => l.param_shapes(input),
            LayerConfig::RepeatVector(l) => l.param_shapes(input),
            LayerConfig::Dropout(l) => l.param_shapes(input),
            LayerConfig::GaussianNoise(l) => l.param_shapes(input),
            LayerConfig::GaussianDropout(l) => l.param_shapes(input),
            LayerConfig::AlphaDropout(l) => l.param_shapes(input),
            LayerConfig::DepthwiseConv1D(l) => l.param_shapes(input),
            LayerConfig::DepthwiseConv2D(l) => l.param_shapes(input),
            LayerConfig::SeparableConv1D(l) => l.param_shapes(input),
            LayerConfig::SeparableConv2D(l) => l.param_shapes(input),
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
            LayerConfig::Flatten(l) => l.macs(input),
            LayerConfig::Reshape(l) => l.macs(input),
            LayerConfig::Permute(l) => l.macs(input),
            LayerConfig::RepeatVector(l) => l.macs(input),
            LayerConfig::Dropout(l) => l.macs(input),
            LayerConfig::GaussianNoise(l) => l.macs(input),
            LayerConfig::GaussianDropout(l) => l.macs(input),
            LayerConfig::AlphaDropout(l) => l.macs(input),
            LayerConfig::DepthwiseConv1D(l) => l.macs(input),
            LayerConfig::DepthwiseConv2D(l) => l.macs(input),
            LayerConfig::SeparableConv1D(l) => l.macs(input),
            LayerConfig::SeparableConv2D(l) => l.macs(input),
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
            LayerConfig::Flatten(l) => l.forward(params, x, y, ctx),
            LayerConfig::Reshape(l) => l.forward(params, x, y, ctx),
            LayerConfig::Permute(l) => l.forward(params, x, y, ctx),
            LayerConfig::RepeatVector(l) => l.forward(params, x, y, ctx),
            LayerConfig::Dropout(l) => l.forward(params, x, y, ctx),
            LayerConfig::GaussianNoise(l) => l.forward(params, x, y, ctx),
            LayerConfig::GaussianDropout(l) => l.forward(params, x, y, ctx),
            LayerConfig::AlphaDropout(l) => l.forward(params, x, y, ctx),
            LayerConfig::DepthwiseConv1D(l) => l.forward(params, x, y, ctx),
            LayerConfig::DepthwiseConv2D(l) => l.forward(params, x, y, ctx),
            LayerConfig::SeparableConv1D(l) => l.forward(params, x, y, ctx),
            LayerConfig::SeparableConv2D(l) => l.forward(params, x, y, ctx),
        }
    }

    /// See [`Layer::backward`].
    #[allow(clippy::too_many_arguments)] // mirrors Layer::backward
    pub fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        dparams: Option<&mut [T]>,
        ctx: &Context,
    ) -> Result<()> {
        match self {
            LayerConfig::Dense(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::Activation(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::ReLU(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::LeakyReLU(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::ELU(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::ThresholdedReLU(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::Softmax(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::PReLU(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::Flatten(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::Reshape(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::Permute(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::RepeatVector(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::Dropout(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::GaussianNoise(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::GaussianDropout(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::AlphaDropout(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::DepthwiseConv1D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::DepthwiseConv2D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::SeparableConv1D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::SeparableConv2D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
        }
    }
}
