//! [`Algorithm`]: the update rule of an optimizer (Keras: the optimizer class).

use serde::{Deserialize, Serialize};

use super::{Adadelta, Adagrad, Adam, AdamW, Adamax, Nadam, RmsProp, ScalarState, Sgd};
use crate::Scalar;

/// An update rule with its own hyperparameters: one variant per Keras optimizer class.
/// The options every Keras optimizer shares (schedule, weight decay, clipping) are in
/// [`super::Optimizer`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Algorithm {
    /// [`Sgd`] (Keras `SGD`).
    Sgd(Sgd),
    /// [`Adam`] (Keras `Adam`).
    Adam(Adam),
    /// [`AdamW`] (Keras `AdamW`).
    AdamW(AdamW),
    /// [`Adagrad`] (Keras `Adagrad`).
    Adagrad(Adagrad),
    /// [`Adadelta`] (Keras `Adadelta`).
    Adadelta(Adadelta),
    /// [`RmsProp`] (Keras `RMSprop`).
    RmsProp(RmsProp),
    /// [`Adamax`] (Keras `Adamax`).
    Adamax(Adamax),
    /// [`Nadam`] (Keras `Nadam`).
    Nadam(Nadam),
}

impl Algorithm {
    /// Keras's class name (`"SGD"`, `"RMSprop"`, ...).
    pub fn keras_name(&self) -> &'static str {
        match self {
            Algorithm::Sgd(_) => "SGD",
            Algorithm::Adam(_) => "Adam",
            Algorithm::AdamW(_) => "AdamW",
            Algorithm::Adagrad(_) => "Adagrad",
            Algorithm::Adadelta(_) => "Adadelta",
            Algorithm::RmsProp(_) => "RMSprop",
            Algorithm::Adamax(_) => "Adamax",
            Algorithm::Nadam(_) => "Nadam",
        }
    }

    /// The constant `learning_rate` of the rule.
    pub fn learning_rate(&self) -> f32 {
        match self {
            Algorithm::Sgd(o) => o.learning_rate,
            Algorithm::Adam(o) => o.learning_rate,
            Algorithm::AdamW(o) => o.learning_rate,
            Algorithm::Adagrad(o) => o.learning_rate,
            Algorithm::Adadelta(o) => o.learning_rate,
            Algorithm::RmsProp(o) => o.learning_rate,
            Algorithm::Adamax(o) => o.learning_rate,
            Algorithm::Nadam(o) => o.learning_rate,
        }
    }

    /// Per-parameter state arrays (see the table on [`super::Optimizer`]).
    pub fn slots(&self) -> usize {
        match self {
            Algorithm::Sgd(o) => o.slots(),
            Algorithm::Adam(o) => o.slots(),
            Algorithm::AdamW(o) => o.slots(),
            Algorithm::Adagrad(o) => o.slots(),
            Algorithm::Adadelta(o) => o.slots(),
            Algorithm::RmsProp(o) => o.slots(),
            Algorithm::Adamax(o) => o.slots(),
            Algorithm::Nadam(o) => o.slots(),
        }
    }

    /// The hyperparameter checks Keras's constructors make.
    pub(super) fn check(&self) -> Result<(), &'static str> {
        match self {
            Algorithm::Sgd(o) => o.check(),
            _ => Ok(()),
        }
    }

    /// Keras's `build`: fresh slot variables (zeros; Adagrad's accumulators at
    /// `initial_accumulator_value`) and scalar state.
    pub(super) fn init_state<T: Scalar>(&self, scalars: &mut ScalarState, state: &mut [T]) {
        *scalars = ScalarState::new();
        match self {
            Algorithm::Adagrad(o) => o.init_state(state),
            _ => state.fill(T::ZERO),
        }
    }

    /// `update_step` for every parameter with learning rate `lr`.
    pub(super) fn update<T: Scalar>(
        &self,
        lr: f32,
        iteration: u64,
        scalars: &mut ScalarState,
        params: &mut [T],
        grads: &[T],
        state: &mut [T],
    ) {
        match self {
            Algorithm::Sgd(o) => o.update(lr, params, grads, state),
            Algorithm::Adam(o) => o.update(lr, iteration, params, grads, state),
            Algorithm::AdamW(o) => o.update(lr, iteration, params, grads, state),
            Algorithm::Adagrad(o) => o.update(lr, params, grads, state),
            Algorithm::Adadelta(o) => o.update(lr, params, grads, state),
            Algorithm::RmsProp(o) => o.update(lr, params, grads, state),
            Algorithm::Adamax(o) => o.update(lr, iteration, params, grads, state),
            Algorithm::Nadam(o) => o.update(lr, iteration, scalars, params, grads, state),
        }
    }
}
