//! [`TerminateOnNaN`]: Keras's `keras.callbacks.TerminateOnNaN`.

use super::{Callback, Control};
use crate::model::{FitModel, Logs};
use crate::{Result, Scalar};

/// Stops training at the end of a batch whose logged loss (the epoch's running mean) is
/// NaN or infinite. Keras: `keras.callbacks.TerminateOnNaN()` (`raise_error=False`; the
/// `raise_error=True` form is not represented).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TerminateOnNaN {
    /// The batch at which training was stopped, if it was.
    pub stopped_at_batch: Option<usize>,
}

impl TerminateOnNaN {
    /// A new callback.
    pub const fn new() -> Self {
        TerminateOnNaN {
            stopped_at_batch: None,
        }
    }
}

impl<T: Scalar> Callback<T> for TerminateOnNaN {
    fn on_train_batch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        _model: &mut M,
        batch: usize,
        logs: &Logs,
    ) -> Result<Control> {
        if logs.loss.is_finite() {
            return Ok(Control::Continue);
        }
        self.stopped_at_batch = Some(batch);
        Ok(Control::Stop)
    }
}
