//! [`CheckpointStorage`]: where [`super::ModelCheckpoint`] puts the weights (Keras writes a
//! file; a microcontroller writes RAM or flash), and [`MemoryStorage`], a caller-provided
//! buffer.

use crate::model::{FitModel, Logs};
use crate::{Result, Scalar};

/// When a checkpoint is taken: what Keras formats `ModelCheckpoint`'s `filepath` with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckpointInfo<'l> {
    /// The epoch, from 0 (Keras's `filepath` uses `epoch + 1`, and so should names built
    /// from it).
    pub epoch: usize,
    /// The batch within the epoch, from 0, for a batch-count `save_freq`; `None` at an
    /// epoch end (Keras's `filepath` uses `batch + 1`).
    pub batch: Option<usize>,
    /// The logs of that epoch end or batch end (Keras's `**logs` fields of `filepath`).
    pub logs: &'l Logs,
}

/// Storage for checkpoints. Keras: the `filepath` of `keras.callbacks.ModelCheckpoint`
/// and `model.save_weights`.
///
/// [`CheckpointStorage::save`] receives the model and reads what it keeps: usually
/// [`FitModel::trainable_params`] and [`FitModel::layer_state`] (or one
/// [`FitModel::write_snapshot`]), which with the blob — never changed by training — are
/// every weight of the model (Keras's `save_weights` writes them all). A host
/// implementation can write a whole blob instead (`ember_cli::checkpoint::FileStorage`).
///
/// A flash implementation fits the same call: the two slices are contiguous in the
/// arena and their lengths are fixed for a model, so `save` can erase the pages that
/// hold `size_of::<T>() · snapshot_len()` bytes (plus a header), program the slices page
/// by page, and write the header (epoch, length, checksum) last so that an interrupted
/// save is recognised; with two such slots, the previous checkpoint survives a power cut.
/// An error from `save` aborts [`crate::model::fit()`] (Keras: the exception of a failed
/// save); a failing medium reports [`crate::Error::Storage`].
pub trait CheckpointStorage<T: Scalar> {
    /// Stores the current weights of `model`, taken at `info`.
    fn save<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &M,
        info: &CheckpointInfo<'_>,
    ) -> Result<()>;
}

/// A storage the caller keeps (to read it after `fit`).
impl<T: Scalar, S: CheckpointStorage<T>> CheckpointStorage<T> for &mut S {
    fn save<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &M,
        info: &CheckpointInfo<'_>,
    ) -> Result<()> {
        (**self).save(model, info)
    }
}

/// A checkpoint in a caller-provided buffer (RAM, no heap): each save overwrites it with
/// [`FitModel::write_snapshot`] — trainable parameters, then layer state — so the buffer
/// must hold exactly [`FitModel::snapshot_len`] elements (else the save, and `fit`,
/// fail with [`crate::Error::ShapeMismatch`]).
///
/// ```
/// use ember_nn::model::callbacks::MemoryStorage;
/// let mut buffer = [0.0f32; 2]; // Sequential::snapshot_len() of the model
/// let storage = MemoryStorage::new(&mut buffer[..]);
/// assert_eq!(storage.saved_epoch(), None);
/// assert_eq!(storage.saves(), 0);
/// assert!(storage.snapshot().is_none());
/// ```
#[derive(Debug)]
pub struct MemoryStorage<'b, T> {
    buffer: &'b mut [T],
    saved: Option<(usize, Option<usize>)>,
    saves: usize,
}

impl<'b, T: Scalar> MemoryStorage<'b, T> {
    /// An empty storage over `buffer`.
    pub fn new(buffer: &'b mut [T]) -> Self {
        MemoryStorage {
            buffer,
            saved: None,
            saves: 0,
        }
    }

    /// The epoch (from 0) of the checkpoint held, `None` before the first save.
    pub fn saved_epoch(&self) -> Option<usize> {
        self.saved.map(|(e, _)| e)
    }

    /// The batch (from 0) of the checkpoint held when it was taken by a batch-count
    /// `save_freq`, `None` otherwise.
    pub fn saved_batch(&self) -> Option<usize> {
        self.saved.and_then(|(_, b)| b)
    }

    /// How many saves were made (each overwrote the previous one).
    pub fn saves(&self) -> usize {
        self.saves
    }

    /// The snapshot held, `None` before the first save.
    pub fn snapshot(&self) -> Option<&[T]> {
        self.saved.map(|_| &*self.buffer)
    }

    /// Puts the checkpoint back into `model` ([`FitModel::restore_snapshot`]; Keras:
    /// `model.load_weights(filepath)`). [`crate::Error::InvalidConfig`] before the first
    /// save; [`crate::Error::ShapeMismatch`] for a model of another size.
    pub fn restore<M: FitModel<T, N>, const N: usize>(&self, model: &mut M) -> Result<()> {
        match self.snapshot() {
            Some(s) => model.restore_snapshot(s),
            None => Err(crate::Error::InvalidConfig("no checkpoint has been saved")),
        }
    }
}

impl<T: Scalar> CheckpointStorage<T> for MemoryStorage<'_, T> {
    fn save<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &M,
        info: &CheckpointInfo<'_>,
    ) -> Result<()> {
        model.write_snapshot(self.buffer)?;
        self.saved = Some((info.epoch, info.batch));
        self.saves += 1;
        Ok(())
    }
}
