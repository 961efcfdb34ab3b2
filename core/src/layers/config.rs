//! [`LayerConfig`]: every layer Ember implements, as one enum matched once per call
//! (static dispatch; the blob stores it with postcard).

use serde::{Deserialize, Serialize};

use super::recurrent::cell::Cell;
use super::recurrent::layer as rnn;
use super::Lambda;
use super::{backward_masked_default, TensorMask};
use super::{
    ActivationLayer, AlphaDropout, BatchNormalization, Context, Conv1D, Conv1DTranspose, Conv2D,
    Conv2DTranspose, Cropping1D, Cropping2D, Dense, DepthwiseConv1D, DepthwiseConv2D, Dropout,
    Flatten, GaussianDropout, GaussianNoise, Layer, LayerNormalization, LeakyReLU, PReLU,
    ParamShapes, Permute, ReLU, RepeatVector, Reshape, SeparableConv1D, SeparableConv2D, Softmax,
    ThresholdedReLU, UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D, ELU,
};
use super::{Add, Average, Concatenate, Dot, Maximum, Merge, Minimum, Multiply, Subtract};
use super::{
    AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D,
};
use super::{Bidirectional, SimpleRNN, Slice, GRU, LSTM};
use super::{Embedding, ParametricSoftplus, ThresholdedLinear};
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
    /// [`Conv1D`] (variant 16).
    Conv1D(Conv1D),
    /// [`Conv2D`] (variant 17).
    Conv2D(Conv2D),
    /// [`DepthwiseConv1D`] (variant 18).
    DepthwiseConv1D(DepthwiseConv1D),
    /// [`DepthwiseConv2D`] (variant 19).
    DepthwiseConv2D(DepthwiseConv2D),
    /// [`SeparableConv1D`] (variant 20).
    SeparableConv1D(SeparableConv1D),
    /// [`SeparableConv2D`] (variant 21).
    SeparableConv2D(SeparableConv2D),
    /// [`Conv1DTranspose`] (variant 22).
    Conv1DTranspose(Conv1DTranspose),
    /// [`Conv2DTranspose`] (variant 23).
    Conv2DTranspose(Conv2DTranspose),
    /// [`ZeroPadding1D`] (variant 24).
    ZeroPadding1D(ZeroPadding1D),
    /// [`ZeroPadding2D`] (variant 25).
    ZeroPadding2D(ZeroPadding2D),
    /// [`Cropping1D`] (variant 26).
    Cropping1D(Cropping1D),
    /// [`Cropping2D`] (variant 27).
    Cropping2D(Cropping2D),
    /// [`UpSampling1D`] (variant 28).
    UpSampling1D(UpSampling1D),
    /// [`UpSampling2D`] (variant 29).
    UpSampling2D(UpSampling2D),
    /// [`MaxPooling1D`] (variant 30).
    MaxPooling1D(MaxPooling1D),
    /// [`MaxPooling2D`] (variant 31).
    MaxPooling2D(MaxPooling2D),
    /// [`AveragePooling1D`] (variant 32).
    AveragePooling1D(AveragePooling1D),
    /// [`AveragePooling2D`] (variant 33).
    AveragePooling2D(AveragePooling2D),
    /// [`GlobalMaxPooling1D`] (variant 34).
    GlobalMaxPooling1D(GlobalMaxPooling1D),
    /// [`GlobalMaxPooling2D`] (variant 35).
    GlobalMaxPooling2D(GlobalMaxPooling2D),
    /// [`GlobalAveragePooling1D`] (variant 36).
    GlobalAveragePooling1D(GlobalAveragePooling1D),
    /// [`GlobalAveragePooling2D`] (variant 37).
    GlobalAveragePooling2D(GlobalAveragePooling2D),
    /// [`BatchNormalization`] (variant 38).
    BatchNormalization(BatchNormalization),
    /// [`LayerNormalization`] (variant 39).
    LayerNormalization(LayerNormalization),
    /// [`Embedding`] (variant 40).
    Embedding(Embedding),
    /// [`ParametricSoftplus`], legacy Keras 1 (variant 41).
    ParametricSoftplus(ParametricSoftplus),
    /// [`ThresholdedLinear`], legacy Keras (variant 42).
    ThresholdedLinear(ThresholdedLinear),
    /// [`Add`], a merge layer: several inputs, see [`LayerConfig::forward_n`] (variant 43).
    Add(Add),
    /// [`Subtract`], a merge layer: several inputs, see [`LayerConfig::forward_n`] (variant 44).
    Subtract(Subtract),
    /// [`Multiply`], a merge layer: several inputs, see [`LayerConfig::forward_n`] (variant 45).
    Multiply(Multiply),
    /// [`Average`], a merge layer: several inputs, see [`LayerConfig::forward_n`] (variant 46).
    Average(Average),
    /// [`Maximum`], a merge layer: several inputs, see [`LayerConfig::forward_n`] (variant 47).
    Maximum(Maximum),
    /// [`Minimum`], a merge layer: several inputs, see [`LayerConfig::forward_n`] (variant 48).
    Minimum(Minimum),
    /// [`Concatenate`], a merge layer: several inputs, see [`LayerConfig::forward_n`] (variant 49).
    Concatenate(Concatenate),
    /// [`Dot`], a merge layer: several inputs, see [`LayerConfig::forward_n`] (variant 50).
    Dot(Dot),
    /// [`Lambda`], a registered user function (variant 51).
    Lambda(Lambda),
    /// [`SimpleRNN`] (variant 52).
    SimpleRNN(SimpleRNN),
    /// [`LSTM`] (variant 53).
    LSTM(LSTM),
    /// [`GRU`] (variant 54).
    GRU(GRU),
    /// [`Bidirectional`] (variant 55).
    Bidirectional(Bidirectional),
    /// [`Slice`], one output of a call with several (variant 56).
    Slice(Slice),
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
            LayerConfig::Conv1D(_) => Conv1D::KERAS_CLASS,
            LayerConfig::Conv2D(_) => Conv2D::KERAS_CLASS,
            LayerConfig::DepthwiseConv1D(_) => DepthwiseConv1D::KERAS_CLASS,
            LayerConfig::DepthwiseConv2D(_) => DepthwiseConv2D::KERAS_CLASS,
            LayerConfig::SeparableConv1D(_) => SeparableConv1D::KERAS_CLASS,
            LayerConfig::SeparableConv2D(_) => SeparableConv2D::KERAS_CLASS,
            LayerConfig::Conv1DTranspose(_) => Conv1DTranspose::KERAS_CLASS,
            LayerConfig::Conv2DTranspose(_) => Conv2DTranspose::KERAS_CLASS,
            LayerConfig::ZeroPadding1D(_) => ZeroPadding1D::KERAS_CLASS,
            LayerConfig::ZeroPadding2D(_) => ZeroPadding2D::KERAS_CLASS,
            LayerConfig::Cropping1D(_) => Cropping1D::KERAS_CLASS,
            LayerConfig::Cropping2D(_) => Cropping2D::KERAS_CLASS,
            LayerConfig::UpSampling1D(_) => UpSampling1D::KERAS_CLASS,
            LayerConfig::UpSampling2D(_) => UpSampling2D::KERAS_CLASS,
            LayerConfig::MaxPooling1D(_) => MaxPooling1D::KERAS_CLASS,
            LayerConfig::MaxPooling2D(_) => MaxPooling2D::KERAS_CLASS,
            LayerConfig::AveragePooling1D(_) => AveragePooling1D::KERAS_CLASS,
            LayerConfig::AveragePooling2D(_) => AveragePooling2D::KERAS_CLASS,
            LayerConfig::GlobalMaxPooling1D(_) => GlobalMaxPooling1D::KERAS_CLASS,
            LayerConfig::GlobalMaxPooling2D(_) => GlobalMaxPooling2D::KERAS_CLASS,
            LayerConfig::GlobalAveragePooling1D(_) => GlobalAveragePooling1D::KERAS_CLASS,
            LayerConfig::GlobalAveragePooling2D(_) => GlobalAveragePooling2D::KERAS_CLASS,
            LayerConfig::BatchNormalization(_) => BatchNormalization::KERAS_CLASS,
            LayerConfig::LayerNormalization(_) => LayerNormalization::KERAS_CLASS,
            LayerConfig::Embedding(_) => Embedding::KERAS_CLASS,
            LayerConfig::ParametricSoftplus(_) => ParametricSoftplus::KERAS_CLASS,
            LayerConfig::ThresholdedLinear(_) => ThresholdedLinear::KERAS_CLASS,
            LayerConfig::Add(_) => Add::KERAS_CLASS,
            LayerConfig::Subtract(_) => Subtract::KERAS_CLASS,
            LayerConfig::Multiply(_) => Multiply::KERAS_CLASS,
            LayerConfig::Average(_) => Average::KERAS_CLASS,
            LayerConfig::Maximum(_) => Maximum::KERAS_CLASS,
            LayerConfig::Minimum(_) => Minimum::KERAS_CLASS,
            LayerConfig::Concatenate(_) => Concatenate::KERAS_CLASS,
            LayerConfig::Dot(_) => Dot::KERAS_CLASS,
            LayerConfig::Lambda(_) => Lambda::KERAS_CLASS,
            LayerConfig::SimpleRNN(_) => SimpleRNN::CLASS,
            LayerConfig::LSTM(_) => LSTM::CLASS,
            LayerConfig::GRU(_) => GRU::CLASS,
            LayerConfig::Bidirectional(_) => "Bidirectional",
            LayerConfig::Slice(_) => Slice::KERAS_CLASS,
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
            LayerConfig::Conv1D(l) => l.output_shape(input),
            LayerConfig::Conv2D(l) => l.output_shape(input),
            LayerConfig::DepthwiseConv1D(l) => l.output_shape(input),
            LayerConfig::DepthwiseConv2D(l) => l.output_shape(input),
            LayerConfig::SeparableConv1D(l) => l.output_shape(input),
            LayerConfig::SeparableConv2D(l) => l.output_shape(input),
            LayerConfig::Conv1DTranspose(l) => l.output_shape(input),
            LayerConfig::Conv2DTranspose(l) => l.output_shape(input),
            LayerConfig::ZeroPadding1D(l) => l.output_shape(input),
            LayerConfig::ZeroPadding2D(l) => l.output_shape(input),
            LayerConfig::Cropping1D(l) => l.output_shape(input),
            LayerConfig::Cropping2D(l) => l.output_shape(input),
            LayerConfig::UpSampling1D(l) => l.output_shape(input),
            LayerConfig::UpSampling2D(l) => l.output_shape(input),
            LayerConfig::MaxPooling1D(l) => l.output_shape(input),
            LayerConfig::MaxPooling2D(l) => l.output_shape(input),
            LayerConfig::AveragePooling1D(l) => l.output_shape(input),
            LayerConfig::AveragePooling2D(l) => l.output_shape(input),
            LayerConfig::GlobalMaxPooling1D(l) => l.output_shape(input),
            LayerConfig::GlobalMaxPooling2D(l) => l.output_shape(input),
            LayerConfig::GlobalAveragePooling1D(l) => l.output_shape(input),
            LayerConfig::GlobalAveragePooling2D(l) => l.output_shape(input),
            LayerConfig::BatchNormalization(l) => l.output_shape(input),
            LayerConfig::LayerNormalization(l) => l.output_shape(input),
            LayerConfig::Embedding(l) => l.output_shape(input),
            LayerConfig::ParametricSoftplus(l) => l.output_shape(input),
            LayerConfig::ThresholdedLinear(l) => l.output_shape(input),
            LayerConfig::Add(_)
            | LayerConfig::Subtract(_)
            | LayerConfig::Multiply(_)
            | LayerConfig::Average(_)
            | LayerConfig::Maximum(_)
            | LayerConfig::Minimum(_)
            | LayerConfig::Concatenate(_)
            | LayerConfig::Dot(_) => Err(self.takes_several_inputs()),
            LayerConfig::Lambda(l) => l.output_shape(input),
            LayerConfig::SimpleRNN(c) => rnn::output_shape(c, &[input]),
            LayerConfig::LSTM(c) => rnn::output_shape(c, &[input]),
            LayerConfig::GRU(c) => rnn::output_shape(c, &[input]),
            LayerConfig::Bidirectional(c) => c.output_shape(&[input]),
            LayerConfig::Slice(l) => l.output_shape(input),
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
            LayerConfig::Conv1D(l) => l.param_shapes(input),
            LayerConfig::Conv2D(l) => l.param_shapes(input),
            LayerConfig::DepthwiseConv1D(l) => l.param_shapes(input),
            LayerConfig::DepthwiseConv2D(l) => l.param_shapes(input),
            LayerConfig::SeparableConv1D(l) => l.param_shapes(input),
            LayerConfig::SeparableConv2D(l) => l.param_shapes(input),
            LayerConfig::Conv1DTranspose(l) => l.param_shapes(input),
            LayerConfig::Conv2DTranspose(l) => l.param_shapes(input),
            LayerConfig::ZeroPadding1D(l) => l.param_shapes(input),
            LayerConfig::ZeroPadding2D(l) => l.param_shapes(input),
            LayerConfig::Cropping1D(l) => l.param_shapes(input),
            LayerConfig::Cropping2D(l) => l.param_shapes(input),
            LayerConfig::UpSampling1D(l) => l.param_shapes(input),
            LayerConfig::UpSampling2D(l) => l.param_shapes(input),
            LayerConfig::MaxPooling1D(l) => l.param_shapes(input),
            LayerConfig::MaxPooling2D(l) => l.param_shapes(input),
            LayerConfig::AveragePooling1D(l) => l.param_shapes(input),
            LayerConfig::AveragePooling2D(l) => l.param_shapes(input),
            LayerConfig::GlobalMaxPooling1D(l) => l.param_shapes(input),
            LayerConfig::GlobalMaxPooling2D(l) => l.param_shapes(input),
            LayerConfig::GlobalAveragePooling1D(l) => l.param_shapes(input),
            LayerConfig::GlobalAveragePooling2D(l) => l.param_shapes(input),
            LayerConfig::BatchNormalization(l) => l.param_shapes(input),
            LayerConfig::LayerNormalization(l) => l.param_shapes(input),
            LayerConfig::Embedding(l) => l.param_shapes(input),
            LayerConfig::ParametricSoftplus(l) => l.param_shapes(input),
            LayerConfig::ThresholdedLinear(l) => l.param_shapes(input),
            LayerConfig::Add(_)
            | LayerConfig::Subtract(_)
            | LayerConfig::Multiply(_)
            | LayerConfig::Average(_)
            | LayerConfig::Maximum(_)
            | LayerConfig::Minimum(_)
            | LayerConfig::Concatenate(_)
            | LayerConfig::Dot(_) => Ok(ParamShapes::new()),
            LayerConfig::Lambda(l) => l.param_shapes(input),
            LayerConfig::SimpleRNN(c) => rnn::param_shapes(c, input),
            LayerConfig::LSTM(c) => rnn::param_shapes(c, input),
            LayerConfig::GRU(c) => rnn::param_shapes(c, input),
            LayerConfig::Bidirectional(c) => c.param_shapes(input),
            LayerConfig::Slice(l) => l.param_shapes(input),
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
            LayerConfig::Conv1D(l) => l.macs(input),
            LayerConfig::Conv2D(l) => l.macs(input),
            LayerConfig::DepthwiseConv1D(l) => l.macs(input),
            LayerConfig::DepthwiseConv2D(l) => l.macs(input),
            LayerConfig::SeparableConv1D(l) => l.macs(input),
            LayerConfig::SeparableConv2D(l) => l.macs(input),
            LayerConfig::Conv1DTranspose(l) => l.macs(input),
            LayerConfig::Conv2DTranspose(l) => l.macs(input),
            LayerConfig::ZeroPadding1D(l) => l.macs(input),
            LayerConfig::ZeroPadding2D(l) => l.macs(input),
            LayerConfig::Cropping1D(l) => l.macs(input),
            LayerConfig::Cropping2D(l) => l.macs(input),
            LayerConfig::UpSampling1D(l) => l.macs(input),
            LayerConfig::UpSampling2D(l) => l.macs(input),
            LayerConfig::MaxPooling1D(l) => l.macs(input),
            LayerConfig::MaxPooling2D(l) => l.macs(input),
            LayerConfig::AveragePooling1D(l) => l.macs(input),
            LayerConfig::AveragePooling2D(l) => l.macs(input),
            LayerConfig::GlobalMaxPooling1D(l) => l.macs(input),
            LayerConfig::GlobalMaxPooling2D(l) => l.macs(input),
            LayerConfig::GlobalAveragePooling1D(l) => l.macs(input),
            LayerConfig::GlobalAveragePooling2D(l) => l.macs(input),
            LayerConfig::BatchNormalization(l) => l.macs(input),
            LayerConfig::LayerNormalization(l) => l.macs(input),
            LayerConfig::Embedding(l) => l.macs(input),
            LayerConfig::ParametricSoftplus(l) => l.macs(input),
            LayerConfig::ThresholdedLinear(l) => l.macs(input),
            LayerConfig::Add(_)
            | LayerConfig::Subtract(_)
            | LayerConfig::Multiply(_)
            | LayerConfig::Average(_)
            | LayerConfig::Maximum(_)
            | LayerConfig::Minimum(_)
            | LayerConfig::Concatenate(_)
            | LayerConfig::Dot(_) => 0,
            LayerConfig::Lambda(l) => l.macs(input),
            LayerConfig::SimpleRNN(c) => rnn::macs(c, input),
            LayerConfig::LSTM(c) => rnn::macs(c, input),
            LayerConfig::GRU(c) => rnn::macs(c, input),
            LayerConfig::Bidirectional(c) => c.macs(input),
            LayerConfig::Slice(l) => l.macs(input),
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
            #[cfg(feature = "conv")]
            LayerConfig::Conv1D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::Conv2D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::DepthwiseConv1D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::DepthwiseConv2D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::SeparableConv1D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::SeparableConv2D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::Conv1DTranspose(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::Conv2DTranspose(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "resizing")]
            LayerConfig::ZeroPadding1D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "resizing")]
            LayerConfig::ZeroPadding2D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "resizing")]
            LayerConfig::Cropping1D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "resizing")]
            LayerConfig::Cropping2D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "resizing")]
            LayerConfig::UpSampling1D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "resizing")]
            LayerConfig::UpSampling2D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "pooling")]
            LayerConfig::MaxPooling1D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "pooling")]
            LayerConfig::MaxPooling2D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "pooling")]
            LayerConfig::AveragePooling1D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "pooling")]
            LayerConfig::AveragePooling2D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "pooling")]
            LayerConfig::GlobalMaxPooling1D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "pooling")]
            LayerConfig::GlobalMaxPooling2D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "pooling")]
            LayerConfig::GlobalAveragePooling1D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "pooling")]
            LayerConfig::GlobalAveragePooling2D(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "normalization")]
            LayerConfig::BatchNormalization(l) => l.forward(params, x, y, ctx),
            #[cfg(feature = "normalization")]
            LayerConfig::LayerNormalization(l) => l.forward(params, x, y, ctx),
            LayerConfig::Embedding(l) => l.forward(params, x, y, ctx),
            LayerConfig::ParametricSoftplus(l) => l.forward(params, x, y, ctx),
            LayerConfig::ThresholdedLinear(l) => l.forward(params, x, y, ctx),
            LayerConfig::Add(_)
            | LayerConfig::Subtract(_)
            | LayerConfig::Multiply(_)
            | LayerConfig::Average(_)
            | LayerConfig::Maximum(_)
            | LayerConfig::Minimum(_)
            | LayerConfig::Concatenate(_)
            | LayerConfig::Dot(_) => Err(self.takes_several_inputs()),
            LayerConfig::Lambda(l) => l.forward(params, x, y, ctx),
            LayerConfig::SimpleRNN(_)
            | LayerConfig::LSTM(_)
            | LayerConfig::GRU(_)
            | LayerConfig::Bidirectional(_) => Err(self.needs_scratch()),
            LayerConfig::Slice(l) => l.forward(params, x, y, ctx),
            #[allow(unreachable_patterns)] // every family compiled in
            other => Err(other.not_compiled()),
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
            #[cfg(feature = "conv")]
            LayerConfig::Conv1D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::Conv2D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::DepthwiseConv1D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::DepthwiseConv2D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::SeparableConv1D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::SeparableConv2D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::Conv1DTranspose(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::Conv2DTranspose(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "resizing")]
            LayerConfig::ZeroPadding1D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "resizing")]
            LayerConfig::ZeroPadding2D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "resizing")]
            LayerConfig::Cropping1D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "resizing")]
            LayerConfig::Cropping2D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "resizing")]
            LayerConfig::UpSampling1D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "resizing")]
            LayerConfig::UpSampling2D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "pooling")]
            LayerConfig::MaxPooling1D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "pooling")]
            LayerConfig::MaxPooling2D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "pooling")]
            LayerConfig::AveragePooling1D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "pooling")]
            LayerConfig::AveragePooling2D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "pooling")]
            LayerConfig::GlobalMaxPooling1D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "pooling")]
            LayerConfig::GlobalMaxPooling2D(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "pooling")]
            LayerConfig::GlobalAveragePooling1D(l) => {
                l.backward(params, x, y, dy, dx, dparams, ctx)
            }
            #[cfg(feature = "pooling")]
            LayerConfig::GlobalAveragePooling2D(l) => {
                l.backward(params, x, y, dy, dx, dparams, ctx)
            }
            #[cfg(feature = "normalization")]
            LayerConfig::BatchNormalization(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[cfg(feature = "normalization")]
            LayerConfig::LayerNormalization(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::Embedding(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::ParametricSoftplus(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::ThresholdedLinear(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::Add(_)
            | LayerConfig::Subtract(_)
            | LayerConfig::Multiply(_)
            | LayerConfig::Average(_)
            | LayerConfig::Maximum(_)
            | LayerConfig::Minimum(_)
            | LayerConfig::Concatenate(_)
            | LayerConfig::Dot(_) => Err(self.takes_several_inputs()),
            LayerConfig::Lambda(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            LayerConfig::SimpleRNN(_)
            | LayerConfig::LSTM(_)
            | LayerConfig::GRU(_)
            | LayerConfig::Bidirectional(_) => Err(self.needs_scratch()),
            LayerConfig::Slice(l) => l.backward(params, x, y, dy, dx, dparams, ctx),
            #[allow(unreachable_patterns)] // every family compiled in
            other => Err(other.not_compiled()),
        }
    }

    /// See [`Layer::backward_masked`]. Layers without a bias use the trait's default
    /// (every trainable tensor, or none).
    #[allow(clippy::too_many_arguments)] // mirrors Layer::backward_masked
    pub fn backward_masked<T: Scalar>(
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
        match self {
            LayerConfig::Dense(l) => l.backward_masked(params, x, y, dy, dx, dparams, wanted, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::Conv1D(l) => l.backward_masked(params, x, y, dy, dx, dparams, wanted, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::Conv2D(l) => l.backward_masked(params, x, y, dy, dx, dparams, wanted, ctx),
            #[cfg(feature = "conv")]
            LayerConfig::DepthwiseConv1D(l) => {
                l.backward_masked(params, x, y, dy, dx, dparams, wanted, ctx)
            }
            #[cfg(feature = "conv")]
            LayerConfig::DepthwiseConv2D(l) => {
                l.backward_masked(params, x, y, dy, dx, dparams, wanted, ctx)
            }
            #[cfg(feature = "conv")]
            LayerConfig::SeparableConv1D(l) => {
                l.backward_masked(params, x, y, dy, dx, dparams, wanted, ctx)
            }
            #[cfg(feature = "conv")]
            LayerConfig::SeparableConv2D(l) => {
                l.backward_masked(params, x, y, dy, dx, dparams, wanted, ctx)
            }
            #[cfg(feature = "conv")]
            LayerConfig::Conv1DTranspose(l) => {
                l.backward_masked(params, x, y, dy, dx, dparams, wanted, ctx)
            }
            #[cfg(feature = "conv")]
            LayerConfig::Conv2DTranspose(l) => {
                l.backward_masked(params, x, y, dy, dx, dparams, wanted, ctx)
            }
            #[cfg(feature = "normalization")]
            LayerConfig::BatchNormalization(l) => {
                l.backward_masked(params, x, y, dy, dx, dparams, wanted, ctx)
            }
            #[cfg(feature = "normalization")]
            LayerConfig::LayerNormalization(l) => {
                l.backward_masked(params, x, y, dy, dx, dparams, wanted, ctx)
            }
            _ => backward_masked_default(
                |dp| self.backward(params, x, y, dy, dx, dp, ctx),
                params.len().saturating_sub(self.state_tensors()),
                dparams,
                wanted,
            ),
        }
    }

    /// See [`Layer::bias_tensor`].
    pub fn bias_tensor(&self) -> Option<usize> {
        match self {
            LayerConfig::Dense(l) => l.bias_tensor(),
            LayerConfig::Conv1D(l) => l.bias_tensor(),
            LayerConfig::Conv2D(l) => l.bias_tensor(),
            LayerConfig::DepthwiseConv1D(l) => l.bias_tensor(),
            LayerConfig::DepthwiseConv2D(l) => l.bias_tensor(),
            LayerConfig::SeparableConv1D(l) => l.bias_tensor(),
            LayerConfig::SeparableConv2D(l) => l.bias_tensor(),
            LayerConfig::Conv1DTranspose(l) => l.bias_tensor(),
            LayerConfig::Conv2DTranspose(l) => l.bias_tensor(),
            LayerConfig::BatchNormalization(l) => l.bias_tensor(),
            LayerConfig::LayerNormalization(l) => l.bias_tensor(),
            _ => None,
        }
    }

    /// See [`Layer::state_tensors`].
    pub fn state_tensors(&self) -> usize {
        match self {
            LayerConfig::BatchNormalization(l) => l.state_tensors(),
            _ => 0,
        }
    }

    /// See [`Layer::update_state`].
    pub fn update_state<T: Scalar>(&self, x: TensorView<'_, T>, state: &mut [T]) -> Result<()> {
        match self {
            #[cfg(feature = "normalization")]
            LayerConfig::BatchNormalization(l) => l.update_state(x, state),
            _ => {
                let _ = (x, state);
                Ok(())
            }
        }
    }
}
