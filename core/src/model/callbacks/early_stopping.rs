//! [`EarlyStopping`]: Keras's `keras.callbacks.EarlyStopping`.

use super::monitor::{is_improvement, Mode};
use super::{Callback, Control};
use crate::model::{FitModel, Logs};
use crate::{Result, Scalar};

/// Stops training when a monitored quantity has stopped improving. Keras:
/// `keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0, patience=0,
/// mode="auto", baseline=None, restore_best_weights=False, start_from_epoch=0)`.
///
/// At each epoch end, as Keras (epochs before `start_from_epoch`, and epochs whose logs
/// lack `monitor`, are skipped):
/// ```text
/// wait += 1
/// if current improves on best by more than min_delta (or best is unset):
///     best = current; save weights;  if no baseline or current beats it: wait = 0
/// elif wait >= patience and epoch > 0: stop
/// ```
/// With [`EarlyStopping::restore_best_weights`] the weights of the best epoch — a
/// [`FitModel::write_snapshot`]: the trainable parameters *and* the layer state
/// (BatchNormalization's moving statistics), as Keras's `model.get_weights()` holds
/// both — are copied into a caller-provided buffer (as long as
/// [`FitModel::snapshot_len`]) and put back at the end of training, whether or not
/// training stopped early — as Keras's `on_train_end` does.
///
/// ```
/// use ember_nn::model::callbacks::{EarlyStopping, Mode};
/// let mut best = [0.0f32; 64]; // Sequential::snapshot_len() of the model
/// let es = EarlyStopping::new("val_loss")
///     .patience(3)
///     .min_delta(1e-3)
///     .mode(Mode::Min)
///     .restore_best_weights(&mut best[..]);
/// assert_eq!(es.stopped_epoch(), 0);
/// ```
#[derive(Debug)]
pub struct EarlyStopping<'b, T> {
    monitor: &'static str,
    min_delta: f32,
    patience: usize,
    mode: Mode,
    baseline: Option<f32>,
    start_from_epoch: usize,
    best_weights: Option<&'b mut [T]>,
    have_best_weights: bool,
    wait: usize,
    stopped_epoch: usize,
    best: Option<f32>,
    best_epoch: usize,
}

impl<'b, T: Scalar> EarlyStopping<'b, T> {
    /// Monitors `monitor` (a [`Logs::get`] key such as `"val_loss"`) with Keras's other
    /// defaults.
    pub fn new(monitor: &'static str) -> Self {
        EarlyStopping {
            monitor,
            min_delta: 0.0,
            patience: 0,
            mode: Mode::Auto,
            baseline: None,
            start_from_epoch: 0,
            best_weights: None,
            have_best_weights: false,
            wait: 0,
            stopped_epoch: 0,
            best: None,
            best_epoch: 0,
        }
    }

    /// Keras's `min_delta` (its absolute value is used).
    pub fn min_delta(self, min_delta: f32) -> Self {
        EarlyStopping { min_delta, ..self }
    }

    /// Keras's `patience`: epochs without improvement before stopping.
    pub fn patience(self, patience: usize) -> Self {
        EarlyStopping { patience, ..self }
    }

    /// Keras's `mode`.
    pub fn mode(self, mode: Mode) -> Self {
        EarlyStopping { mode, ..self }
    }

    /// Keras's `baseline`.
    pub fn baseline(self, baseline: f32) -> Self {
        EarlyStopping {
            baseline: Some(baseline),
            ..self
        }
    }

    /// Keras's `start_from_epoch`.
    pub fn start_from_epoch(self, start_from_epoch: usize) -> Self {
        EarlyStopping {
            start_from_epoch,
            ..self
        }
    }

    /// Keras's `restore_best_weights=True`, keeping the best weights in `buffer` (exactly
    /// [`FitModel::snapshot_len`] elements: trainable parameters then layer state, else
    /// `fit` fails with [`crate::Error::ShapeMismatch`] at the first save).
    pub fn restore_best_weights(self, buffer: &'b mut [T]) -> Self {
        EarlyStopping {
            best_weights: Some(buffer),
            ..self
        }
    }

    /// The epoch at which training was stopped (0 if it was not). Keras: `stopped_epoch`.
    pub fn stopped_epoch(&self) -> usize {
        self.stopped_epoch
    }

    /// The best monitored value so far. Keras: `best`.
    pub fn best(&self) -> Option<f32> {
        self.best
    }

    /// The epoch of [`EarlyStopping::best`]. Keras: `best_epoch`.
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }

    /// Epochs since the last improvement. Keras: `wait`.
    pub fn wait(&self) -> usize {
        self.wait
    }

    fn save<M: FitModel<T, N>, const N: usize>(&mut self, model: &M) -> Result<()> {
        if let Some(buf) = self.best_weights.as_deref_mut() {
            model.write_snapshot(buf)?;
            self.have_best_weights = true;
        }
        Ok(())
    }
}

impl<T: Scalar> Callback<T> for EarlyStopping<'_, T> {
    fn on_train_begin<M: FitModel<T, N>, const N: usize>(&mut self, _model: &mut M) -> Result<()> {
        self.mode.resolve(self.monitor)?;
        self.wait = 0;
        self.stopped_epoch = 0;
        self.best = None;
        self.have_best_weights = false;
        self.best_epoch = 0;
        Ok(())
    }

    fn on_epoch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        epoch: usize,
        logs: &mut Logs,
    ) -> Result<Control> {
        let mode = self.mode.resolve(self.monitor)?;
        let Some(current) = logs.get(self.monitor) else {
            return Ok(Control::Continue);
        };
        if epoch < self.start_from_epoch {
            return Ok(Control::Continue);
        }
        if self.best_weights.is_some() && !self.have_best_weights {
            self.save(model)?;
            self.best_epoch = epoch;
        }
        self.wait += 1;
        if is_improvement(mode, self.min_delta, current, self.best) {
            self.best = Some(current);
            self.best_epoch = epoch;
            self.save(model)?;
            if self.baseline.is_none()
                || is_improvement(mode, self.min_delta, current, self.baseline)
            {
                self.wait = 0;
            }
            return Ok(Control::Continue);
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = epoch;
            return Ok(Control::Stop);
        }
        Ok(Control::Continue)
    }

    fn on_train_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        _logs: Option<&Logs>,
    ) -> Result<()> {
        if self.have_best_weights {
            if let Some(buf) = self.best_weights.as_deref() {
                model.restore_snapshot(buf)?;
            }
        }
        Ok(())
    }
}
