//! Training configuration: what trains, with which optimizer and loss, at which batch size.

use crate::layers::{LayerConfig, TensorMask};
use crate::{Loss, Optimizer};

/// Which layers — and which of their parameter tensors — train. Layers without
/// parameters never do.
///
/// A layer *included* by the choice ([`Trainable::includes`], Keras's
/// `layer.trainable = True`) trains the tensors [`Trainable::tensors`] gives (the others
/// are Keras variables with `variable.trainable = False`: read in place from the blob,
/// never copied to the arena, no gradient computed). An included layer with state
/// (BatchNormalization) runs in training mode — batch statistics, moving statistics
/// updated — as Keras's `training and self.trainable` does, even when none of its
/// tensors trains (BatchNormalization under [`Trainable::BiasOnly`] with `center=False`);
/// a layer that is not included, or that has no trainable tensor at all, runs in
/// inference mode.
///
/// Serializable: a blob's training record ([`crate::blob::TrainingDesc`]) may carry one
/// (postcard variant numbers 0–4 in the order below; `LastK` and `Mask` are varints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// Bias-only fine-tuning (TinyTL's "bias" update, BitFit): every layer is included,
    /// and only its *bias* tensor trains ([`LayerConfig::bias_tensor`]: `bias` of Dense,
    /// the convolutions, depthwise, separable and transposed convolutions; `beta` of
    /// BatchNormalization and LayerNormalization). Kernels, `gamma`, PReLU's `alpha` stay
    /// frozen in the blob. The Keras equivalent: `variable.trainable = False` for every
    /// other variable, layers left `trainable=True` — so BatchNormalization normalizes
    /// with the batch's statistics and updates its moving statistics, as in Keras.
    BiasOnly,
}

impl Trainable {
    /// Whether layer `index` of `count` is included (Keras's `layer.trainable`), given its
    /// saved flag. [`Trainable::BiasOnly`] includes every layer, whatever its saved flag.
    pub fn includes(self, index: usize, count: usize, saved: bool) -> bool {
        match self {
            Trainable::AsSaved => saved,
            Trainable::All => true,
            Trainable::LastK(k) => index.saturating_add(k) >= count,
            Trainable::Mask(m) => index < 64 && (m >> index) & 1 == 1,
            Trainable::BiasOnly => true,
        }
    }

    /// The tensors of layer `index` of `count` that train, given its configuration and
    /// saved flag: every trainable tensor of an included layer (the first
    /// `config.param_shapes(..).len() − config.state_tensors()`, passed as
    /// `trainable_tensors`), its bias alone under [`Trainable::BiasOnly`], nothing for
    /// a layer that is not included.
    pub fn tensors(
        self,
        config: &LayerConfig,
        index: usize,
        count: usize,
        saved: bool,
        trainable_tensors: usize,
    ) -> TensorMask {
        if !self.includes(index, count, saved) {
            return TensorMask::EMPTY;
        }
        let all = TensorMask::first(trainable_tensors);
        match self {
            Trainable::BiasOnly => config
                .bias_tensor()
                .map_or(TensorMask::EMPTY, |b| TensorMask::only(b).intersect(all)),
            _ => all,
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

impl TrainConfig {
    /// The training settings a blob carries ([`crate::blob::TrainingDesc`], written by the
    /// converter from Keras's `model.compile(...)`): `Ok(None)` when it has none (v1/v2
    /// blobs, v3 blobs written without). The record's batch size wins over `batch_size`,
    /// which is used when the record has none; the record's trainable choice defaults to
    /// [`Trainable::AsSaved`]. Errors: the blob does not parse ([`crate::blob::Blob::parse`])
    /// or its records do not decode.
    pub fn from_blob(blob: &[u8], batch_size: usize) -> crate::Result<Option<TrainConfig>> {
        let blob = crate::blob::Blob::parse(blob)?;
        Ok(blob.training()?.map(|t| t.train_config(batch_size)))
    }
}
