//! Callbacks: Keras's `keras.callbacks`, with static dispatch.
//!
//! A [`Callback`] has Keras's hook points; [`super::fit()`] calls them in Keras's order and
//! a hook asks to stop with [`Control::Stop`] (Keras: `self.model.stop_training = True`),
//! which `fit` honours where Keras checks `stop_training`: after each batch and after
//! each epoch. Several callbacks are a pair (`(a, b)`, nested for more: `(a, (b, c))`) or a
//! `&mut` to one; `()` is no callback and an `Option` one that may be absent. There are no trait objects.
//!
//! Built-ins: [`History`], [`EarlyStopping`], [`TerminateOnNaN`], [`ReduceLROnPlateau`],
//! [`LearningRateScheduler`], [`ModelCheckpoint`] (saving to a [`CheckpointStorage`], such
//! as [`MemoryStorage`]).

mod checkpoint_storage;
mod early_stopping;
mod history;
mod lr_scheduler;
mod model_checkpoint;
mod monitor;
mod reduce_lr;
mod terminate_on_nan;

pub use checkpoint_storage::{CheckpointInfo, CheckpointStorage, MemoryStorage};
pub use early_stopping::EarlyStopping;
pub use history::History;
pub use lr_scheduler::LearningRateScheduler;
pub use model_checkpoint::{ModelCheckpoint, SaveFreq};
pub use monitor::Mode;
pub use reduce_lr::ReduceLROnPlateau;
pub use terminate_on_nan::TerminateOnNaN;

use super::{FitModel, Logs};
use crate::{Result, Scalar};

/// What a hook asks of the training loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop training (Keras: `model.stop_training = True`).
    Stop,
}

impl Control {
    /// `Stop` if either is.
    pub fn or(self, other: Control) -> Control {
        if self == Control::Stop || other == Control::Stop {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

/// A training callback. Keras: `keras.callbacks.Callback`.
///
/// Every hook has a default that does nothing. Hooks receive the model (to read or set
/// weights and the learning rate) and, like Keras, the epoch or batch index (from 0) and
/// the logs. An `Err` aborts `fit` with that error (Keras: an exception).
pub trait Callback<T: Scalar> {
    /// Keras: `on_train_begin(logs)`.
    fn on_train_begin<M: FitModel<T, N>, const N: usize>(&mut self, model: &mut M) -> Result<()> {
        let _ = model;
        Ok(())
    }

    /// Keras: `on_train_end(logs)`; `logs` are the last epoch's, `None` if no epoch ran.
    fn on_train_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        logs: Option<&Logs>,
    ) -> Result<()> {
        let _ = (model, logs);
        Ok(())
    }

    /// Keras: `on_epoch_begin(epoch, logs)`.
    fn on_epoch_begin<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        epoch: usize,
    ) -> Result<Control> {
        let _ = (model, epoch);
        Ok(Control::Continue)
    }

    /// Keras: `on_epoch_end(epoch, logs)`. Callbacks may add to `logs` (Keras's
    /// schedulers add `learning_rate`); later callbacks see it.
    fn on_epoch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        epoch: usize,
        logs: &mut Logs,
    ) -> Result<Control> {
        let _ = (model, epoch, logs);
        Ok(Control::Continue)
    }

    /// Keras: `on_train_batch_begin(batch, logs)`.
    fn on_train_batch_begin<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        batch: usize,
    ) -> Result<Control> {
        let _ = (model, batch);
        Ok(Control::Continue)
    }

    /// Keras: `on_train_batch_end(batch, logs)`: `logs` hold the running loss and metric
    /// results of the epoch so far.
    fn on_train_batch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        batch: usize,
        logs: &Logs,
    ) -> Result<Control> {
        let _ = (model, batch, logs);
        Ok(Control::Continue)
    }
}

/// No callback.
impl<T: Scalar> Callback<T> for () {}

/// A callback the caller keeps (to read a [`History`] after `fit`, say).
impl<T: Scalar, C: Callback<T>> Callback<T> for &mut C {
    fn on_train_begin<M: FitModel<T, N>, const N: usize>(&mut self, model: &mut M) -> Result<()> {
        (**self).on_train_begin(model)
    }

    fn on_train_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        logs: Option<&Logs>,
    ) -> Result<()> {
        (**self).on_train_end(model, logs)
    }

    fn on_epoch_begin<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        epoch: usize,
    ) -> Result<Control> {
        (**self).on_epoch_begin(model, epoch)
    }

    fn on_epoch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        epoch: usize,
        logs: &mut Logs,
    ) -> Result<Control> {
        (**self).on_epoch_end(model, epoch, logs)
    }

    fn on_train_batch_begin<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        batch: usize,
    ) -> Result<Control> {
        (**self).on_train_batch_begin(model, batch)
    }

    fn on_train_batch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        batch: usize,
        logs: &Logs,
    ) -> Result<Control> {
        (**self).on_train_batch_end(model, batch, logs)
    }
}

/// A callback that may be absent (`None` does nothing), for callbacks chosen at run time.
impl<T: Scalar, C: Callback<T>> Callback<T> for Option<C> {
    fn on_train_begin<M: FitModel<T, N>, const N: usize>(&mut self, model: &mut M) -> Result<()> {
        match self {
            Some(c) => c.on_train_begin(model),
            None => Ok(()),
        }
    }

    fn on_train_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        logs: Option<&Logs>,
    ) -> Result<()> {
        match self {
            Some(c) => c.on_train_end(model, logs),
            None => Ok(()),
        }
    }

    fn on_epoch_begin<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        epoch: usize,
    ) -> Result<Control> {
        match self {
            Some(c) => c.on_epoch_begin(model, epoch),
            None => Ok(Control::Continue),
        }
    }

    fn on_epoch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        epoch: usize,
        logs: &mut Logs,
    ) -> Result<Control> {
        match self {
            Some(c) => c.on_epoch_end(model, epoch, logs),
            None => Ok(Control::Continue),
        }
    }

    fn on_train_batch_begin<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        batch: usize,
    ) -> Result<Control> {
        match self {
            Some(c) => c.on_train_batch_begin(model, batch),
            None => Ok(Control::Continue),
        }
    }

    fn on_train_batch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        batch: usize,
        logs: &Logs,
    ) -> Result<Control> {
        match self {
            Some(c) => c.on_train_batch_end(model, batch, logs),
            None => Ok(Control::Continue),
        }
    }
}

/// Two callbacks, called in order (Keras: `callbacks=[a, b]`). Nest pairs for more.
impl<T: Scalar, A: Callback<T>, B: Callback<T>> Callback<T> for (A, B) {
    fn on_train_begin<M: FitModel<T, N>, const N: usize>(&mut self, model: &mut M) -> Result<()> {
        self.0.on_train_begin(model)?;
        self.1.on_train_begin(model)
    }

    fn on_train_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        logs: Option<&Logs>,
    ) -> Result<()> {
        self.0.on_train_end(model, logs)?;
        self.1.on_train_end(model, logs)
    }

    fn on_epoch_begin<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        epoch: usize,
    ) -> Result<Control> {
        let a = self.0.on_epoch_begin(model, epoch)?;
        Ok(a.or(self.1.on_epoch_begin(model, epoch)?))
    }

    fn on_epoch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        epoch: usize,
        logs: &mut Logs,
    ) -> Result<Control> {
        let a = self.0.on_epoch_end(model, epoch, logs)?;
        Ok(a.or(self.1.on_epoch_end(model, epoch, logs)?))
    }

    fn on_train_batch_begin<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        batch: usize,
    ) -> Result<Control> {
        let a = self.0.on_train_batch_begin(model, batch)?;
        Ok(a.or(self.1.on_train_batch_begin(model, batch)?))
    }

    fn on_train_batch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        batch: usize,
        logs: &Logs,
    ) -> Result<Control> {
        let a = self.0.on_train_batch_end(model, batch, logs)?;
        Ok(a.or(self.1.on_train_batch_end(model, batch, logs)?))
    }
}
