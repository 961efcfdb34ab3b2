//! Keras masking: which layers make, keep, use or drop the *step mask* that
//! `Embedding(mask_zero=True)` attaches to its output (a step is kept when its token id is
//! not 0), and the calls that give a consuming layer the mask.
//!
//! Ember never stores a mask: a model keeps, per call, which input holds the token ids
//! ([`crate::model::Node::input_mask`]), and a consuming layer reads the ids themselves.

use super::{Context, LayerConfig};
use crate::{Result, Scalar, TensorView, TensorViewMut};

/// What a layer does with an incoming step mask (Keras's `supports_masking` and
/// `compute_mask`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MaskRule {
    /// Makes a mask from its input: `Embedding(mask_zero=True)`.
    Produces,
    /// Passes the mask on unchanged (Keras `supports_masking = True` without its own
    /// `compute_mask`): Dense, the activation layers, dropout and noise, BatchNormalization,
    /// LayerNormalization.
    Keeps,
    /// Uses the mask and drops it: `GlobalAveragePooling1D` (the masked mean), and the
    /// recurrent layers returning their last output.
    Consumes,
    /// Uses the mask and passes it on: the recurrent layers with `return_sequences`
    /// (Keras's `RNN.compute_mask` returns the input mask then).
    ConsumesAndKeeps,
    /// Drops the mask (Keras warns that the layer "will destroy the mask information"):
    /// every other single-input layer.
    Drops,
    /// A merge: Keras combines its inputs' masks; Ember refuses masked inputs to merges.
    Merges,
}

/// A recurrent layer's rule.
fn recurrent_rule(return_sequences: bool) -> MaskRule {
    if return_sequences {
        MaskRule::ConsumesAndKeeps
    } else {
        MaskRule::Consumes
    }
}

impl LayerConfig {
    /// What the layer does with a step mask on its input.
    pub fn mask_rule(&self) -> MaskRule {
        match self {
            LayerConfig::Embedding(e) if e.mask_zero => MaskRule::Produces,
            LayerConfig::Dense(_)
            | LayerConfig::Activation(_)
            | LayerConfig::ReLU(_)
            | LayerConfig::LeakyReLU(_)
            | LayerConfig::ELU(_)
            | LayerConfig::PReLU(_)
            | LayerConfig::Softmax(_)
            | LayerConfig::ParametricSoftplus(_)
            | LayerConfig::ThresholdedLinear(_)
            | LayerConfig::Dropout(_)
            | LayerConfig::GaussianNoise(_)
            | LayerConfig::GaussianDropout(_)
            | LayerConfig::AlphaDropout(_)
            | LayerConfig::BatchNormalization(_)
            | LayerConfig::LayerNormalization(_) => MaskRule::Keeps,
            LayerConfig::GlobalAveragePooling1D(_) => MaskRule::Consumes,
            // The sequence output of a call with several keeps its mask; states drop it.
            LayerConfig::Slice(l) if l.shape.rank() >= 2 => MaskRule::Keeps,
            LayerConfig::SimpleRNN(c) => recurrent_rule(c.rnn.return_sequences),
            LayerConfig::LSTM(c) => recurrent_rule(c.rnn.return_sequences),
            LayerConfig::GRU(c) => recurrent_rule(c.rnn.return_sequences),
            LayerConfig::Bidirectional(c) => recurrent_rule(match c.layer {
                super::RecurrentLayer::SimpleRNN(l) => l.rnn.return_sequences,
                super::RecurrentLayer::LSTM(l) => l.rnn.return_sequences,
                super::RecurrentLayer::GRU(l) => l.rnn.return_sequences,
            }),
            c if c.is_merge() => MaskRule::Merges,
            _ => MaskRule::Drops,
        }
    }

    /// [`LayerConfig::forward`] with the step mask given by the token `ids` (a step is
    /// masked where its id is 0): a consuming layer ([`MaskRule::Consumes`]) uses it;
    /// `None`, or any other layer, runs the plain forward pass.
    pub fn forward_with_step_mask<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        ids: Option<&[T]>,
        y: TensorViewMut<'_, T>,
        ctx: &Context,
    ) -> Result<()> {
        match (self, ids) {
            #[cfg(feature = "pooling")]
            (LayerConfig::GlobalAveragePooling1D(_), Some(ids)) => {
                let mut y = y;
                super::pooling::masked_average_1d(x, ids, y.data())
            }
            _ => self.forward(params, x, y, ctx),
        }
    }

    /// The backward pass matching [`LayerConfig::forward_with_step_mask`]; `None`, or a
    /// layer that does not consume masks, runs [`LayerConfig::backward_masked`] with
    /// `wanted`.
    #[allow(clippy::too_many_arguments)] // backward_masked's arguments plus the ids
    pub fn backward_with_step_mask<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        ids: Option<&[T]>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        dparams: Option<&mut [T]>,
        wanted: super::TensorMask,
        ctx: &Context,
    ) -> Result<()> {
        match (self, ids) {
            #[cfg(feature = "pooling")]
            (LayerConfig::GlobalAveragePooling1D(_), Some(ids)) => match dx {
                Some(dx) => super::pooling::masked_average_1d_backward(x, ids, dy, dx),
                None => Ok(()),
            },
            _ => self.backward_masked(params, x, y, dy, dx, dparams, wanted, ctx),
        }
    }
}
