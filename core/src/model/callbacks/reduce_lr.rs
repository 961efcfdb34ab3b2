//! [`ReduceLROnPlateau`]: Keras's `keras.callbacks.ReduceLROnPlateau`.

use super::monitor::{is_improvement, Mode};
use super::{Callback, Control};
use crate::model::{FitModel, Logs};
use crate::{Error, Result, Scalar};

/// Multiplies the learning rate by `factor` when the monitored quantity has not improved
/// for `patience` epochs. Keras: `keras.callbacks.ReduceLROnPlateau(monitor="val_loss",
/// factor=0.1, patience=10, mode="auto", min_delta=1e-4, cooldown=0, min_lr=0.0)`.
///
/// At each epoch end, as Keras (after logging `learning_rate`; epochs whose logs lack
/// `monitor` are skipped):
/// ```text
/// if cooldown_counter > 0: cooldown_counter -= 1; wait = 0
/// if current improves on best by more than min_delta: best = current; wait = 0
/// elif cooldown_counter == 0:
///     wait += 1
///     if wait >= patience and lr > min_lr:
///         lr = max(lr · factor, min_lr); cooldown_counter = cooldown; wait = 0
/// ```
/// The optimizer must have a constant learning rate (no schedule), as in Keras.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReduceLROnPlateau {
    /// Keras's `monitor` (a [`Logs::get`] key).
    pub monitor: &'static str,
    /// `factor` (< 1).
    pub factor: f32,
    /// `patience`.
    pub patience: usize,
    /// `mode`.
    pub mode: Mode,
    /// `min_delta`.
    pub min_delta: f32,
    /// `cooldown`.
    pub cooldown: usize,
    /// `min_lr`.
    pub min_lr: f32,
    best: Option<f32>,
    wait: usize,
    cooldown_counter: usize,
}

impl ReduceLROnPlateau {
    /// Keras's defaults.
    pub const DEFAULT: ReduceLROnPlateau = ReduceLROnPlateau {
        monitor: "val_loss",
        factor: 0.1,
        patience: 10,
        mode: Mode::Auto,
        min_delta: 1e-4,
        cooldown: 0,
        min_lr: 0.0,
        best: None,
        wait: 0,
        cooldown_counter: 0,
    };

    /// Monitors `monitor`, with the other arguments as given (Keras's order).
    pub const fn new(
        monitor: &'static str,
        factor: f32,
        patience: usize,
        min_delta: f32,
        cooldown: usize,
        min_lr: f32,
    ) -> Self {
        ReduceLROnPlateau {
            monitor,
            factor,
            patience,
            min_delta,
            cooldown,
            min_lr,
            ..ReduceLROnPlateau::DEFAULT
        }
    }

    /// With `mode`.
    pub const fn with_mode(self, mode: Mode) -> Self {
        ReduceLROnPlateau { mode, ..self }
    }

    /// The best monitored value so far.
    pub fn best(&self) -> Option<f32> {
        self.best
    }

    /// Epochs without improvement (outside cooldown).
    pub fn wait(&self) -> usize {
        self.wait
    }
}

impl Default for ReduceLROnPlateau {
    fn default() -> Self {
        ReduceLROnPlateau::DEFAULT
    }
}

impl<T: Scalar> Callback<T> for ReduceLROnPlateau {
    fn on_train_begin<M: FitModel<T, N>, const N: usize>(&mut self, _model: &mut M) -> Result<()> {
        if self.factor >= 1.0 {
            return Err(Error::InvalidConfig(
                "ReduceLROnPlateau does not support a factor >= 1.0",
            ));
        }
        self.mode.resolve(self.monitor)?;
        self.best = None;
        self.cooldown_counter = 0;
        self.wait = 0;
        Ok(())
    }

    fn on_epoch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &mut M,
        _epoch: usize,
        logs: &mut Logs,
    ) -> Result<Control> {
        let mode = self.mode.resolve(self.monitor)?;
        logs.learning_rate = model.learning_rate();
        let Some(current) = logs.get(self.monitor) else {
            return Ok(Control::Continue);
        };
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if is_improvement(mode, self.min_delta, current, self.best) {
            self.best = Some(current);
            self.wait = 0;
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            if self.wait >= self.patience {
                let old = model.learning_rate().unwrap_or(0.0);
                if old > self.min_lr {
                    let new = (f64::from(old) * f64::from(self.factor)).max(f64::from(self.min_lr));
                    model.set_learning_rate(new as f32)?;
                    self.cooldown_counter = self.cooldown;
                    self.wait = 0;
                }
            }
        }
        Ok(Control::Continue)
    }
}
