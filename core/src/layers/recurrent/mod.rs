//! Recurrent layers: [`SimpleRNN`], [`LSTM`], [`GRU`] and the [`Bidirectional`] wrapper
//! (Keras's `keras.layers.SimpleRNN`, `LSTM`, `GRU`, `Bidirectional`).
//!
//! # Design
//! A recurrent layer is a *cell* (one time step: [`cell::Cell`], implemented by the three
//! layers) driven over the sequence by one shared driver (`sequence.rs`), which owns
//! everything that is the same for every cell: the time order (`go_backwards`), Keras's
//! masking (a masked step keeps the state and repeats the previous output), dropout
//! masks, initial states given as extra inputs, `return_sequences`, and backpropagation
//! through time.
//!
//! **Memory.** A recurrent layer is the only kind that needs working memory beyond its
//! input and output: the state, the gate pre-activations and, to train, every step's
//! gates. It gets it as *scratch*, a caller-provided slice sized by
//! [`crate::layers::LayerConfig::scratch_elems`], which the model runtimes carve out of
//! the arena once and share between all layers (only one layer runs at a time). The
//! driver runs one sample at a time, so scratch does not grow with the batch:
//!
//! - inference: the state twice (old and new), the dropout masks and the cell's work
//!   vectors — `O(units)`;
//! - training: the backward pass **recomputes** the sample's forward pass and saves each
//!   step's gates and state (`O(window · units)`), then walks the steps backward. The
//!   forward pass of a training step therefore stores nothing, and a layer's extra
//!   training memory is one sample's steps, not the batch's.
//!
//! **Truncated BPTT.** With [`Recurrent::bptt_window`] `= W > 0` the steps are cut into
//! windows of `W` (in processing order) that end at the last step (the first window holds
//! the remainder, `steps mod W`): each window's forward pass starts from the previous
//! window's final state, and gradients do not flow across a window boundary — so the
//! loss on the last output flows back through exactly the last `W` steps.
//! Scratch then holds `W` steps, whatever the sequence length. `0` (the default, and
//! Keras's behaviour) backpropagates through the whole sequence.
//!
//! **Parameters** are Keras's, in Keras's order and layout: `kernel (in, G·units)`,
//! `recurrent_kernel (units, G·units)`, `bias` (`G·units`, or `(2, 3·units)` for
//! `GRU(reset_after=True)`), with `G` = 1, 4 (gates i, f, c, o) or 3 (z, r, h).

// Without the `recurrent` family only the layers' shapes and configs are used.
#![cfg_attr(not(feature = "recurrent"), allow(dead_code))]

mod bidirectional;
pub(crate) mod cell;
mod gru;
pub(crate) mod layer;
mod lstm;
mod matvec;
mod options;
mod sequence;
mod simple_rnn;

pub use bidirectional::{BiMerge, Bidirectional, RecurrentLayer};
pub use gru::GRU;
pub use lstm::LSTM;
pub use options::Recurrent;
pub use simple_rnn::SimpleRNN;
