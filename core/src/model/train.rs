//! Training configuration: what trains, with which optimizer and loss, at which batch size.

use crate::{Loss, Optimizer};

/// Which layers train. Layers without parameters never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Trainable {
    /// Keras's `layer.trainable` flags as saved in the blob.
    AsSaved,
    /// Every layer with parameters.
    All,
    /// Only the last `k` layers (fine-tuning a head).
    LastK(usize),
    /// Layers whose bit is set (bit `i` = layer `i`, at most 64 layers).
    Mask(u64),
}

impl Trainable {
    /// Whether layer `index` of `count` trains, given its saved flag.
    pub fn includes(self, index: usize, count: usize, saved: bool) -> bool {
        match self {
            Trainable::AsSaved => saved,
            Trainable::All => true,
            Trainable::LastK(k) => index + k >= count,
            Trainable::Mask(m) => index < 64 && (m >> index) & 1 == 1,
        }
    }
}

/// Everything that sizes training memory, plus the loss to train with.
///
/// Like Keras's `model.compile(optimizer, loss)` followed by `train_on_batch` with at most
/// `batch_size` samples per call.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TrainConfig {
    /// Largest batch passed to `train_on_batch`; also the chunk size of `predict`.
    pub batch_size: usize,
    /// The optimizer (its state is sized from it).
    pub optimizer: Optimizer,
    /// The loss.
    pub loss: Loss,
    /// Which layers train.
    pub trainable: Trainable,
}
