//! [`Recurrent`]: the options Keras's `SimpleRNN`, `LSTM` and `GRU` share.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Options shared by every recurrent layer (Keras's `RNN` base class and the cells'
/// common arguments).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Recurrent {
    /// State size (`units=`).
    pub units: u32,
    /// Whether the layer has biases (`use_bias=`).
    pub use_bias: bool,
    /// Output every step, `(steps, units)`, instead of the last, `(units,)`
    /// (`return_sequences=`).
    pub return_sequences: bool,
    /// Also return the final state (`return_state=`): the call's outputs are
    /// `[output, h]` (`[output, h, c]` for LSTM), computed as one flat tensor per sample
    /// that [`crate::layers::Slice`] layers cut apart.
    pub return_state: bool,
    /// Process the sequence last step first (`go_backwards=`). As in Keras, the returned
    /// sequence is in processing order (reversed).
    pub go_backwards: bool,
    /// Keras's `stateful=`: the state carries over between calls. Ember's whole-sequence
    /// calls start from zeros (or the given initial states); the carried state lives in the
    /// caller's buffer of the streaming API ([`crate::model::Stream`]).
    pub stateful: bool,
    /// Keras's `zero_output_for_mask=`: masked steps output zeros instead of repeating
    /// the previous output (the state is carried either way). Keras sets it on both
    /// directions of a [`super::Bidirectional`] that returns sequences.
    pub zero_output_for_mask: bool,
    /// Fraction of the inputs dropped while training (`dropout=`), in `[0, 1]`.
    pub dropout: f32,
    /// Fraction of the recurrent state dropped while training (`recurrent_dropout=`).
    pub recurrent_dropout: f32,
    /// Ember: truncated backpropagation through time, in steps; 0 = the whole sequence
    /// (Keras's behaviour). See the recurrent module documentation (`ember_nn::layers`).
    pub bptt_window: u32,
}

// The rates are checked to lie in [0, 1] at load (`validate`), so equality is reflexive.
impl Eq for Recurrent {}

impl Recurrent {
    /// Keras's defaults for `units`: biases, the last output only, forward order, no
    /// dropout, full backpropagation through time.
    pub const fn new(units: u32) -> Self {
        Recurrent {
            units,
            use_bias: true,
            return_sequences: false,
            return_state: false,
            go_backwards: false,
            stateful: false,
            zero_output_for_mask: false,
            dropout: 0.0,
            recurrent_dropout: 0.0,
            bptt_window: 0,
        }
    }

    /// Checks the options.
    pub(super) fn validate(&self) -> Result<()> {
        if self.units == 0 {
            return Err(Error::InvalidConfig(
                "recurrent layer: units must be positive",
            ));
        }
        let rate = |r: f32| (0.0..=1.0).contains(&r);
        if !rate(self.dropout) || !rate(self.recurrent_dropout) {
            return Err(Error::InvalidConfig(
                "recurrent layer: dropout and recurrent_dropout must be in [0, 1]",
            ));
        }
        Ok(())
    }

    /// Elements of the output per sample: the output proper (`steps·units` or `units`)
    /// and, with `return_state`, the `states·units` of the final state after it.
    pub(super) fn output_len(&self, steps: usize, states: usize) -> usize {
        let u = self.units as usize;
        let y = if self.return_sequences { steps * u } else { u };
        y + if self.return_state { states * u } else { 0 }
    }

    /// Whether input dropout acts (Keras applies it only for `0 < rate < 1`).
    pub(super) fn drops_inputs(&self, training: bool) -> bool {
        training && self.dropout > 0.0 && self.dropout < 1.0
    }

    /// Whether recurrent dropout acts.
    pub(super) fn drops_state(&self, training: bool) -> bool {
        training && self.recurrent_dropout > 0.0 && self.recurrent_dropout < 1.0
    }
}
