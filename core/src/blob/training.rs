//! Format v3's training record: what Keras's `model.compile(...)` saved (optimizer and
//! loss), plus the batch size and trainable choice the user wants. It is the last record
//! of the graph section, after the node records, as a postcard `Option`: one `00` byte when
//! absent.

use serde::{Deserialize, Serialize};

use crate::{Error, Loss, Optimizer, Result, Trainable};

/// The training settings a blob may carry (Keras: `model.compile(optimizer=..., loss=...)`,
/// saved as `compile_config` in a `.keras` file or `training_config` in a legacy `.h5`).
///
/// Layers' `trainable` flags are in their [`super::LayerDesc`]s; [`TrainingDesc::trainable`]
/// is an optional override of which layers train.
///
/// ```
/// use ember_nn::blob::TrainingDesc;
/// use ember_nn::optimizer::{Optimizer, Sgd};
/// use ember_nn::{Loss, Trainable};
///
/// // model.compile(optimizer=SGD(momentum=0.9, nesterov=True), loss="mse")
/// let t = TrainingDesc::new(
///     Optimizer::sgd(Sgd { momentum: 0.9, nesterov: true, ..Sgd::DEFAULT }),
///     Loss::mean_squared_error(),
/// );
/// let config = t.train_config(32);
/// assert_eq!(config.batch_size, 32);
/// assert_eq!(config.trainable, Trainable::AsSaved);
/// assert_eq!(config.optimizer.slots(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TrainingDesc {
    /// The optimizer, schedule, weight decay and clipping included.
    pub optimizer: Optimizer,
    /// The loss.
    pub loss: Loss,
    /// The batch size the user wants (Keras saves none: `fit(batch_size=...)` is not part
    /// of `compile`); `None` lets the trainer choose.
    pub batch_size: Option<u32>,
    /// Which layers train; `None` means the saved flags ([`Trainable::AsSaved`]).
    pub trainable: Option<Trainable>,
}

impl TrainingDesc {
    /// Optimizer and loss, without batch size or trainable choice.
    pub const fn new(optimizer: Optimizer, loss: Loss) -> Self {
        TrainingDesc {
            optimizer,
            loss,
            batch_size: None,
            trainable: None,
        }
    }

    /// The [`crate::TrainConfig`] these settings give: the record's batch size, else
    /// `batch_size`; the record's trainable choice, else [`Trainable::AsSaved`].
    pub fn train_config(&self, batch_size: usize) -> crate::TrainConfig {
        crate::TrainConfig {
            batch_size: self.batch_size.map_or(batch_size, |b| b as usize),
            optimizer: self.optimizer,
            loss: self.loss,
            trainable: self.trainable.unwrap_or(Trainable::AsSaved),
        }
    }
}

/// Decodes the training record from what follows the last node record. Nothing at all
/// (a v3 blob written before the record existed) reads as `None`; bytes after the record
/// are [`Error::MalformedBlob`].
pub(super) fn decode(rest: &[u8]) -> Result<Option<TrainingDesc>> {
    if rest.is_empty() {
        return Ok(None);
    }
    let (t, rest) = postcard::take_from_bytes::<Option<TrainingDesc>>(rest)
        .map_err(|_| Error::MalformedBlob("undecodable training record"))?;
    if !rest.is_empty() {
        return Err(Error::MalformedBlob(
            "bytes after the training record in the graph section",
        ));
    }
    if let Some(t) = &t {
        t.optimizer.check()?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::{chain_node, write, write_graph_with_training, Blob, GraphSpec, LayerSpec};
    use crate::layers::{Dense, LayerConfig};
    use crate::optimizer::{Adam, Clip, CosineDecay, LearningRateSchedule};
    use crate::{Activation, AlignedBlob, Shape};

    const KERNEL: [f32; 2] = [1.0, 2.0];

    fn blob(training: Option<&TrainingDesc>) -> (AlignedBlob<512>, usize) {
        let dense = Dense {
            units: 1,
            activation: Activation::Linear,
            use_bias: false,
        };
        let params: [&[f32]; 1] = [&KERNEL];
        let layers = [LayerSpec::new(
            "d",
            true,
            LayerConfig::Dense(dense),
            &params,
        )];
        let inputs = [Shape::new(&[2]).unwrap()];
        let graph = GraphSpec {
            inputs: &inputs,
            nodes: &[chain_node(0)],
            outputs: &[1],
        };
        let mut out = AlignedBlob([0u8; 512]);
        let n = write_graph_with_training("t", &graph, &layers, training, &mut out.0).unwrap();
        assert_eq!(
            crate::blob::encoded_len_graph_with_training("t", &graph, &layers, training).unwrap(),
            n
        );
        (out, n)
    }

    fn rich() -> TrainingDesc {
        TrainingDesc {
            optimizer: Optimizer::adam(Adam {
                amsgrad: true,
                ..Adam::default()
            })
            .with_schedule(LearningRateSchedule::CosineDecay(CosineDecay {
                initial_learning_rate: 0.1,
                decay_steps: 100.0,
                alpha: 0.1,
                warmup_target: Some(0.2),
                warmup_steps: 5.0,
            }))
            .with_weight_decay(0.01)
            .with_clip(Clip::GlobalNorm(1.5)),
            loss: Loss::CategoricalCrossentropy {
                from_logits: true,
                label_smoothing: 0.1,
                reduction: crate::loss::Reduction::Sum,
            },
            batch_size: Some(16),
            trainable: Some(Trainable::LastK(2)),
        }
    }

    #[test]
    fn round_trips() {
        let t = rich();
        let (b, n) = blob(Some(&t));
        let parsed = Blob::parse(&b.0[..n]).unwrap();
        assert_eq!(parsed.training().unwrap(), Some(t));
        let g = crate::model::Graph::<f32>::parse(&b.0[..n]).unwrap();
        assert_eq!(g.training(), Some(t));
        let c = crate::TrainConfig::from_blob(&b.0[..n], 4)
            .unwrap()
            .unwrap();
        assert_eq!(c.batch_size, 16);
        assert_eq!(c.trainable, Trainable::LastK(2));
        assert_eq!(c.loss, t.loss);
    }

    #[test]
    fn absent_reads_none() {
        let (b, n) = blob(None);
        assert_eq!(Blob::parse(&b.0[..n]).unwrap().training().unwrap(), None);
        // The sequential writer writes none too.
        let params: [&[f32]; 1] = [&KERNEL];
        let dense = Dense {
            units: 1,
            activation: Activation::Linear,
            use_bias: false,
        };
        let layers = [LayerSpec::new(
            "d",
            true,
            LayerConfig::Dense(dense),
            &params,
        )];
        let mut out = AlignedBlob([0u8; 256]);
        let n = write("t", Shape::new(&[2]).unwrap(), &layers, &mut out.0).unwrap();
        assert_eq!(Blob::parse(&out.0[..n]).unwrap().training().unwrap(), None);
        assert_eq!(
            crate::model::Graph::<f32>::parse(&out.0[..n])
                .unwrap()
                .training(),
            None
        );
    }

    #[test]
    fn decode_checks() {
        assert_eq!(decode(&[]).unwrap(), None);
        assert_eq!(decode(&[0]).unwrap(), None);
        assert!(decode(&[0, 0]).is_err(), "trailing bytes");
        assert!(decode(&[2]).is_err(), "bad Option tag");
        assert!(decode(&[1, 0]).is_err(), "truncated");
        // An optimizer Keras refuses (SGD momentum 2) is refused at load.
        let t = TrainingDesc::new(
            Optimizer::sgd(crate::Sgd {
                momentum: 2.0,
                ..crate::Sgd::DEFAULT
            }),
            Loss::mean_squared_error(),
        );
        let mut buf = [0u8; 64];
        let bytes = postcard::to_slice(&Some(t), &mut buf).unwrap();
        assert!(decode(bytes).is_err());
    }
}
