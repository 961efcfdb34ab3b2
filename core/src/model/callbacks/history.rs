//! [`History`]: Keras's `keras.callbacks.History`, with a fixed capacity.

use super::{Callback, Control};
use crate::model::{FitModel, Logs};
use crate::{Result, Scalar};

/// Records the [`Logs`] of every epoch. Keras: `keras.callbacks.History` (what
/// `model.fit` returns), whose `history["loss"][e]` is `history.epoch(e).loss` here.
///
/// Holds at most `E` epochs; later epochs are counted ([`History::dropped`]) but not
/// stored. Each epoch is a whole [`Logs`] (`size_of::<Logs>()` bytes: 220 on a
/// 64-bit host, 152 on a 32-bit MCU), so size `E` to what the device can spare.
/// Cleared at the start of each `fit`, as Keras starts a new `History`.
///
/// ```
/// use ember_nn::model::callbacks::History;
/// let h: History<10> = History::new();
/// assert!(core::mem::size_of::<ember_nn::model::Logs>() <= 240);
/// assert!(h.is_empty());
/// assert_eq!(h.losses().count(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct History<const E: usize> {
    logs: [Logs; E],
    len: usize,
    dropped: usize,
}

impl<const E: usize> History<E> {
    /// An empty history.
    pub const fn new() -> Self {
        History {
            logs: [Logs::new(); E],
            len: 0,
            dropped: 0,
        }
    }

    /// Epochs recorded.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no epoch was recorded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Epochs that ended after the history was full (not recorded).
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// The logs of epoch `e`.
    pub fn epoch(&self, e: usize) -> Option<&Logs> {
        self.logs[..self.len].get(e)
    }

    /// Every recorded epoch's logs, in order.
    pub fn epochs(&self) -> &[Logs] {
        &self.logs[..self.len]
    }

    /// `history["loss"]`.
    pub fn losses(&self) -> impl Iterator<Item = f32> + '_ {
        self.epochs().iter().map(|l| l.loss)
    }

    /// `history[key]` for any [`Logs::get`] key, epochs lacking it skipped.
    pub fn values<'k>(&'k self, key: &'k str) -> impl Iterator<Item = f32> + 'k {
        self.epochs().iter().filter_map(move |l| l.get(key))
    }
}

impl<const E: usize> Default for History<E> {
    fn default() -> Self {
        History::new()
    }
}

impl<T: Scalar, const E: usize> Callback<T> for History<E> {
    fn on_train_begin<M: FitModel<T, N>, const N: usize>(&mut self, _model: &mut M) -> Result<()> {
        self.len = 0;
        self.dropped = 0;
        Ok(())
    }

    fn on_epoch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        _model: &mut M,
        _epoch: usize,
        logs: &mut Logs,
    ) -> Result<Control> {
        match self.logs.get_mut(self.len) {
            Some(slot) => {
                *slot = *logs;
                self.len += 1;
            }
            None => self.dropped += 1,
        }
        Ok(Control::Continue)
    }
}
