//! [`ModelCheckpoint`]: Keras's `keras.callbacks.ModelCheckpoint`, saving to a
//! [`CheckpointStorage`].

use super::checkpoint_storage::{CheckpointInfo, CheckpointStorage};
use super::monitor::{is_improvement, Mode};
use super::{Callback, Control};
use crate::model::{FitModel, Logs};
use crate::{Result, Scalar};

/// When [`ModelCheckpoint`] considers saving. Keras: `save_freq="epoch"` or an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SaveFreq {
    /// At every epoch end (Keras's default `"epoch"`), with the epoch's logs.
    #[default]
    Epoch,
    /// Every this many training batches, counted across epochs (Keras: an integer), with
    /// the batch's running logs. As in Keras, 0 means every batch.
    Batches(usize),
}

/// Saves the model's weights during training. Keras:
/// `keras.callbacks.ModelCheckpoint(filepath, monitor="val_loss", verbose=0,
/// save_best_only=False, save_weights_only=False, mode="auto", save_freq="epoch",
/// initial_value_threshold=None)`.
///
/// `filepath` becomes a [`CheckpointStorage`] (a RAM buffer: [`super::MemoryStorage`];
/// a file per checkpoint on the host: `ember_cli::checkpoint::FileStorage`, which
/// formats Keras's `filepath` fields). Ember always saves weights — trainable parameters
/// and layer state, the part of the model training changes — so `save_weights_only` has
/// no counterpart: the graph is the blob. `verbose` has none either (no printing).
///
/// Decisions are Keras 3's (`keras/src/callbacks/model_checkpoint.py`), at each epoch
/// end (or every `save_freq` batches):
/// ```text
/// if not save_best_only:                  save
/// elif monitor not in logs:               save   (Keras warns "Can save best model only
///                                                 with <monitor> available" and saves)
/// elif best is None or current ≺ best:    best = current; save
/// else:                                   skip
/// ```
/// with `≺` `<` for min and `>` for max (no `min_delta`); `best` starts at
/// `initial_value_threshold` and, as in Keras, is *not* reset by a new `fit` with the
/// same callback. A NaN never improves on a number, but a first NaN (no `best` yet) is
/// saved and becomes `best`, after which nothing improves — Keras's comparisons do the
/// same. Keras's warning for a missing monitor is counted instead
/// ([`ModelCheckpoint::monitor_missing`]).
///
/// The direction (`mode`) is resolved when training begins; `Mode::Auto` with a name
/// whose direction is unknown is [`crate::Error::InvalidConfig`] then (Keras raises the
/// `ValueError` at the first epoch end, whatever `save_best_only` is).
///
/// ```
/// use ember_nn::model::callbacks::{MemoryStorage, ModelCheckpoint, Mode, SaveFreq};
/// let mut buffer = [0.0f32; 2]; // Sequential::snapshot_len() of the model
/// let checkpoint = ModelCheckpoint::new(MemoryStorage::new(&mut buffer[..]))
///     .monitor("val_loss")
///     .mode(Mode::Min)
///     .save_best_only(true)
///     .initial_value_threshold(0.5);
/// assert_eq!(checkpoint.best(), Some(0.5));
/// assert_eq!(checkpoint.storage().saves(), 0);
/// ```
#[derive(Debug)]
pub struct ModelCheckpoint<S> {
    storage: S,
    monitor: &'static str,
    mode: Mode,
    save_best_only: bool,
    save_freq: SaveFreq,
    best: Option<f32>,
    resolved: Option<Mode>,
    current_epoch: usize,
    batches_since_save: usize,
    last_batch_seen: Option<usize>,
    monitor_missing: usize,
}

impl<S> ModelCheckpoint<S> {
    /// Saves to `storage`, with Keras's defaults: monitor `"val_loss"`, mode auto, every
    /// epoch, not only the best.
    pub fn new(storage: S) -> Self {
        ModelCheckpoint {
            storage,
            monitor: "val_loss",
            mode: Mode::Auto,
            save_best_only: false,
            save_freq: SaveFreq::Epoch,
            best: None,
            resolved: None,
            current_epoch: 0,
            batches_since_save: 0,
            last_batch_seen: None,
            monitor_missing: 0,
        }
    }

    /// Keras's `monitor`: a [`Logs::get`] key.
    pub fn monitor(self, monitor: &'static str) -> Self {
        ModelCheckpoint { monitor, ..self }
    }

    /// Keras's `mode`.
    pub fn mode(self, mode: Mode) -> Self {
        ModelCheckpoint { mode, ..self }
    }

    /// Keras's `save_best_only`.
    pub fn save_best_only(self, save_best_only: bool) -> Self {
        ModelCheckpoint {
            save_best_only,
            ..self
        }
    }

    /// Keras's `save_freq`.
    pub fn save_freq(self, save_freq: SaveFreq) -> Self {
        ModelCheckpoint { save_freq, ..self }
    }

    /// Keras's `initial_value_threshold`: the starting `best` (used with
    /// `save_best_only`).
    pub fn initial_value_threshold(self, threshold: f32) -> Self {
        ModelCheckpoint {
            best: Some(threshold),
            ..self
        }
    }

    /// The best monitored value so far (Keras: `best`).
    pub fn best(&self) -> Option<f32> {
        self.best
    }

    /// Saves made because the monitored key was missing from the logs with
    /// `save_best_only` (Keras warns each time).
    pub fn monitor_missing(&self) -> usize {
        self.monitor_missing
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The storage, mutable.
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }

    /// The storage, giving up the callback.
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// Keras's `_should_save_on_batch` (one batch per step): counts batches across
    /// epochs and says whether `save_freq` of them have run since the last save.
    fn should_save_on_batch(&mut self, batch: usize) -> bool {
        let SaveFreq::Batches(freq) = self.save_freq else {
            return false;
        };
        let add = match self.last_batch_seen {
            Some(last) if batch > last => batch - last,
            _ => batch + 1,
        };
        self.batches_since_save = self.batches_since_save.saturating_add(add);
        self.last_batch_seen = Some(batch);
        if self.batches_since_save >= freq {
            self.batches_since_save = 0;
            return true;
        }
        false
    }

    /// Keras's `_should_save_model`.
    fn should_save(&mut self, mode: Mode, logs: &Logs) -> bool {
        if !self.save_best_only {
            return true;
        }
        let Some(current) = logs.get(self.monitor) else {
            self.monitor_missing += 1;
            return true;
        };
        if is_improvement(mode, 0.0, current, self.best) {
            self.best = Some(current);
            return true;
        }
        false
    }

    fn save_model<T: Scalar, M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &M,
        epoch: usize,
        batch: Option<usize>,
        logs: &Logs,
    ) -> Result<()>
    where
        S: CheckpointStorage<T>,
    {
        let mode = match self.resolved {
            Some(m) => m,
            None => self.mode.resolve(self.monitor)?,
        };
        if self.should_save(mode, logs) {
            let info = CheckpointInfo { epoch, batch, logs };
            self.storage.save(model, &info)?;
        }
        Ok(())
    }
}

impl<T: Scalar, S: CheckpointStorage<T>> Callback<T> for ModelCheckpoint<S> {
    fn on_train_begin<M: FitModel<T, N>, const N: usize>(&mut self, _model: &mut M) -> Result<()> {
        self.resolved = Some(self.mode.resolve(self.monitor)?);
        Ok(())
    }

    fn on_epoch_begin<M: FitModel<T, N>, const N: usize>(
        &mut self,
        _model: &mut M,
        epoch: usize,
    ) -> Result<Control> {
        self.current_epoch = epoch;
        Ok(Control::Continue)
    }

    fn on_train_batch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        batch: usize,
        logs: &Logs,
    ) -> Result<Control> {
        if self.should_save_on_batch(batch) {
            self.save_model(model, self.current_epoch, Some(batch), logs)?;
        }
        Ok(Control::Continue)
    }

    fn on_epoch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        epoch: usize,
        logs: &mut Logs,
    ) -> Result<Control> {
        if self.save_freq == SaveFreq::Epoch {
            self.save_model(model, epoch, None, logs)?;
        }
        Ok(Control::Continue)
    }
}
