//! [`LearningRateScheduler`]: Keras's `keras.callbacks.LearningRateScheduler`.

use super::{Callback, Control};
use crate::model::{FitModel, Logs};
use crate::{Result, Scalar};

/// Sets the learning rate at the start of each epoch to `schedule(epoch, lr)`, `lr` being
/// the current one, and logs it as `learning_rate` at the epoch's end. Keras:
/// `keras.callbacks.LearningRateScheduler(schedule)` with a two-argument schedule.
///
/// The optimizer must have a constant learning rate (no schedule), as in Keras.
///
/// ```
/// use ember_nn::model::callbacks::LearningRateScheduler;
/// fn halve_after_10(epoch: usize, lr: f32) -> f32 {
///     if epoch < 10 { lr } else { lr * 0.5 }
/// }
/// let _cb = LearningRateScheduler::new(halve_after_10);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LearningRateScheduler {
    /// `schedule(epoch, current_lr) -> new_lr`.
    pub schedule: fn(usize, f32) -> f32,
}

impl LearningRateScheduler {
    /// A scheduler calling `schedule`.
    pub const fn new(schedule: fn(usize, f32) -> f32) -> Self {
        LearningRateScheduler { schedule }
    }
}

impl<T: Scalar> Callback<T> for LearningRateScheduler {
    fn on_epoch_begin<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        epoch: usize,
    ) -> Result<Control> {
        let lr = model.learning_rate().unwrap_or(0.0);
        model.set_learning_rate((self.schedule)(epoch, lr))?;
        Ok(Control::Continue)
    }

    fn on_epoch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        _epoch: usize,
        logs: &mut Logs,
    ) -> Result<Control> {
        logs.learning_rate = model.learning_rate();
        Ok(Control::Continue)
    }
}
