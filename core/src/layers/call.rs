//! [`LayerConfig::forward_call`] and [`LayerConfig::backward_call`]: the one entry point
//! the model runtimes use for any layer call — single-input layers, merges, the step
//! mask's consumers and the recurrent layers with their scratch memory.
// Without the `recurrent` family the recurrent arms (and their arguments) compile away.
#![cfg_attr(
    not(feature = "recurrent"),
    allow(unused_variables, unreachable_code, dead_code)
)]

use super::recurrent::layer as rnn;
use super::{Context, LayerConfig, TensorMask};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// Salt of a plain (not Bidirectional) recurrent layer's dropout stream.
const SALT: u64 = 0;

impl LayerConfig {
    /// Whether the layer is recurrent ([`super::SimpleRNN`], [`super::LSTM`],
    /// [`super::GRU`], [`super::Bidirectional`]): it needs scratch memory
    /// ([`LayerConfig::scratch_elems`]) and runs through [`LayerConfig::forward_call`] /
    /// [`LayerConfig::backward_call`] only.
    pub fn is_recurrent(&self) -> bool {
        matches!(
            self,
            LayerConfig::SimpleRNN(_)
                | LayerConfig::LSTM(_)
                | LayerConfig::GRU(_)
                | LayerConfig::Bidirectional(_)
        )
    }

    /// Elements of scratch memory one call needs (0 for every non-recurrent layer), for
    /// the per-sample input shapes; `training` sizes the backward pass too. Scratch does
    /// not depend on the batch size; one buffer serves every layer of a model in turn.
    pub fn scratch_elems(&self, inputs: &[Shape], training: bool) -> Result<usize> {
        let x = || inputs.first().copied().ok_or(Error::InvalidShape);
        match self {
            LayerConfig::SimpleRNN(c) => rnn::scratch_elems(c, x()?, training),
            LayerConfig::LSTM(c) => rnn::scratch_elems(c, x()?, training),
            LayerConfig::GRU(c) => rnn::scratch_elems(c, x()?, training),
            LayerConfig::Bidirectional(c) => c.scratch_elems(x()?, training),
            _ => Ok(0),
        }
    }

    /// Forward pass of any layer call: `xs` are the inputs (one for most layers; a
    /// merge's several; a recurrent layer's sequence then its initial states), `ids`
    /// the token ids of the step mask on `xs[0]` if any, `scratch` at least
    /// [`LayerConfig::scratch_elems`] elements.
    pub fn forward_call<T: Scalar>(
        &self,
        params: &[&[T]],
        xs: &[TensorView<'_, T>],
        ids: Option<&[T]>,
        y: TensorViewMut<'_, T>,
        scratch: &mut [T],
        ctx: &Context,
    ) -> Result<()> {
        match self {
            #[cfg(feature = "recurrent")]
            LayerConfig::SimpleRNN(c) => {
                let z = c.rnn.zero_output_for_mask;
                rnn::forward(c, params, xs, ids, y, scratch, ctx, SALT, z)
            }
            #[cfg(feature = "recurrent")]
            LayerConfig::LSTM(c) => {
                let z = c.rnn.zero_output_for_mask;
                rnn::forward(c, params, xs, ids, y, scratch, ctx, SALT, z)
            }
            #[cfg(feature = "recurrent")]
            LayerConfig::GRU(c) => {
                let z = c.rnn.zero_output_for_mask;
                rnn::forward(c, params, xs, ids, y, scratch, ctx, SALT, z)
            }
            #[cfg(feature = "recurrent")]
            LayerConfig::Bidirectional(c) => c.forward(params, xs, ids, y, scratch, ctx),
            _ if self.is_recurrent() => Err(self.not_compiled()),
            _ => match (ids, xs) {
                (Some(ids), [x]) => self.forward_with_step_mask(params, *x, Some(ids), y, ctx),
                _ => self.forward_n(params, xs, y, ctx),
            },
        }
    }

    /// Backward pass matching [`LayerConfig::forward_call`]: `dy` may be overwritten,
    /// each `Some` entry of `dxs` receives its input's gradient, `dparams` the gradients
    /// of the tensors in `wanted` (a recurrent layer trains all of its tensors or none).
    #[allow(clippy::too_many_arguments)] // the call's tensors, gradients and buffers
    pub fn backward_call<T: Scalar>(
        &self,
        params: &[&[T]],
        xs: &[TensorView<'_, T>],
        ids: Option<&[T]>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dxs: &mut [Option<&mut [T]>],
        dparams: Option<&mut [T]>,
        wanted: TensorMask,
        scratch: &mut [T],
        ctx: &Context,
    ) -> Result<()> {
        if self.is_recurrent() {
            let dparams = match rnn::wants_params(wanted, params.len())? {
                true => dparams,
                false => None,
            };
            return match self {
                #[cfg(feature = "recurrent")]
                LayerConfig::SimpleRNN(c) => {
                    let z = c.rnn.zero_output_for_mask;
                    rnn::backward(c, params, xs, ids, dy, dxs, dparams, scratch, ctx, SALT, z)
                }
                #[cfg(feature = "recurrent")]
                LayerConfig::LSTM(c) => {
                    let z = c.rnn.zero_output_for_mask;
                    rnn::backward(c, params, xs, ids, dy, dxs, dparams, scratch, ctx, SALT, z)
                }
                #[cfg(feature = "recurrent")]
                LayerConfig::GRU(c) => {
                    let z = c.rnn.zero_output_for_mask;
                    rnn::backward(c, params, xs, ids, dy, dxs, dparams, scratch, ctx, SALT, z)
                }
                #[cfg(feature = "recurrent")]
                LayerConfig::Bidirectional(c) => {
                    c.backward(params, xs, ids, dy, dxs, dparams, scratch, ctx)
                }
                _ => Err(self.not_compiled()),
            };
        }
        match (ids, xs, dxs) {
            (Some(ids), [x], [dx]) => self.backward_with_step_mask(
                params,
                *x,
                Some(ids),
                y,
                dy,
                dx.as_deref_mut(),
                dparams,
                wanted,
                ctx,
            ),
            (_, xs, dxs) => self.backward_n(params, xs, y, dy, dxs, dparams, wanted, ctx),
        }
    }

    /// The shapes of a call's outputs for the per-sample input shapes: one for most
    /// layers; a recurrent layer with `return_state` (and `Bidirectional` with
    /// `merge_mode=None`) returns several, computed as one flat tensor per sample
    /// ([`LayerConfig::output_shape_n`]) in this order, which [`super::Slice`] layers cut
    /// apart.
    pub fn output_parts(&self, inputs: &[Shape]) -> Result<heapless::Vec<Shape, 8>> {
        let x = || inputs.first().copied().ok_or(Error::InvalidShape);
        match self {
            LayerConfig::SimpleRNN(c) => rnn::output_parts(c, x()?),
            LayerConfig::LSTM(c) => rnn::output_parts(c, x()?),
            LayerConfig::GRU(c) => rnn::output_parts(c, x()?),
            LayerConfig::Bidirectional(c) => c.output_parts(x()?),
            _ => {
                let mut one = heapless::Vec::new();
                let _ = one.push(self.output_shape_n(inputs)?);
                Ok(one)
            }
        }
    }

    /// Elements of state a streamed layer keeps between steps ([`crate::model::Stream`]):
    /// `units` (`h`) for SimpleRNN and GRU, `2·units` (`h`, `c`) for LSTM, 0 for other
    /// layers.
    pub fn stream_state_elems(&self) -> usize {
        match self {
            LayerConfig::SimpleRNN(c) => rnn::state_elems(c),
            LayerConfig::LSTM(c) => rnn::state_elems(c),
            LayerConfig::GRU(c) => rnn::state_elems(c),
            _ => 0,
        }
    }

    /// One streamed time step of a recurrent layer (Keras's `stateful=True` fed one step
    /// per call): reads and updates `state` ([`LayerConfig::stream_state_elems`]) with the
    /// step input `x` (`features`), or keeps it when the step is `masked` (its token id is
    /// 0), and writes the step's output (`units`) into `y`. `scratch` needs
    /// [`LayerConfig::scratch_elems`] of a one-step input. `Bidirectional` and
    /// `go_backwards` layers cannot stream ([`Error::InvalidConfig`]); non-recurrent layers
    /// are [`Error::InvalidConfig`] too (they have no state: use `forward_call`).
    #[allow(clippy::too_many_arguments)] // the step's tensors and buffers
    pub fn stream_step<T: Scalar>(
        &self,
        params: &[&[T]],
        x: &[T],
        masked: bool,
        state: &mut [T],
        y: &mut [T],
        scratch: &mut [T],
    ) -> Result<()> {
        match self {
            #[cfg(feature = "recurrent")]
            LayerConfig::SimpleRNN(c) => rnn::stream_step(c, params, x, masked, state, y, scratch),
            #[cfg(feature = "recurrent")]
            LayerConfig::LSTM(c) => rnn::stream_step(c, params, x, masked, state, y, scratch),
            #[cfg(feature = "recurrent")]
            LayerConfig::GRU(c) => rnn::stream_step(c, params, x, masked, state, y, scratch),
            LayerConfig::Bidirectional(_) => Err(Error::InvalidConfig(
                "Bidirectional cannot stream: its backward direction needs the sequence's end first",
            )),
            _ if self.is_recurrent() => Err(self.not_compiled()),
            _ => Err(Error::InvalidConfig("only recurrent layers keep a stream state")),
        }
    }

    /// The error of [`LayerConfig::forward`] and friends on a recurrent layer.
    pub(in crate::layers) fn needs_scratch(&self) -> Error {
        Error::InvalidConfig(
            "recurrent layers need scratch memory: use LayerConfig::forward_call/backward_call",
        )
    }
}
