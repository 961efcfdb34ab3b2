//! [`ParamRegions`]: which tensors of which layers train, and where their arena copies,
//! gradients, optimizer slots and layer state live — the part of a training memory plan
//! that does not depend on how layers are connected (shared by [`super::MemoryPlan`] and
//! [`super::FunctionalPlan`]).

use heapless::Vec;

use super::graph::LayerEntry;
use super::TrainConfig;
use crate::layers::TensorMask;
use crate::{Error, Result};

/// Per-layer placement of the trained tensors and of the layer state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamRegions<const N: usize> {
    /// Element offset of each layer's trained tensors in the parameter region (`None`:
    /// none trains, all read from the blob).
    pub(crate) param_offsets: Vec<Option<usize>, N>,
    /// Each layer's trained tensors (copied at its `param_offsets`, in Keras order).
    pub(crate) masks: Vec<TensorMask, N>,
    /// Element offset of each included layer's state tensors in the layer-state region
    /// (`None`: not included or stateless). A stateful layer runs in training mode
    /// exactly when this is `Some`.
    pub(crate) state_offsets: Vec<Option<usize>, N>,
    /// Elements of all trained tensors.
    pub(crate) param_elems: usize,
    /// Elements of all layer state.
    pub(crate) state_elems: usize,
}

impl<const N: usize> ParamRegions<N> {
    /// Nothing trains (inference).
    pub(crate) fn frozen(layers: usize) -> Self {
        let none: Vec<Option<usize>, N> = (0..layers).map(|_| None).collect();
        ParamRegions {
            masks: none.iter().map(|_| TensorMask::EMPTY).collect(),
            state_offsets: none.clone(),
            param_offsets: none,
            param_elems: 0,
            state_elems: 0,
        }
    }

    /// The regions for training `layers` with `config.trainable`; an error if nothing
    /// trains.
    pub(crate) fn training<T>(layers: &[LayerEntry<'_, T>], config: &TrainConfig) -> Result<Self> {
        let n = layers.len();
        let mut r = ParamRegions {
            param_offsets: Vec::new(),
            masks: Vec::new(),
            state_offsets: Vec::new(),
            param_elems: 0,
            state_elems: 0,
        };
        for (k, l) in layers.iter().enumerate() {
            let n_train = l.trainable_tensors();
            let mask = config
                .trainable
                .tensors(&l.config, k, n, l.trainable, n_train);
            let trained = l.param_count_of(mask);
            let trains = trained > 0;
            // Capacities equal the graph's layer capacity.
            let _ = r.masks.push(if trains { mask } else { TensorMask::EMPTY });
            let _ = r.param_offsets.push(trains.then_some(r.param_elems));
            // An included layer keeps its state (and runs in training mode) even when
            // none of its tensors trains, as Keras's `training and self.trainable`.
            let state = l.param_count() - l.trainable_param_count();
            let included = config.trainable.includes(k, n, l.trainable) && n_train > 0;
            let _ = r
                .state_offsets
                .push((included && state > 0).then_some(r.state_elems));
            r.param_elems = r
                .param_elems
                .checked_add(trained)
                .ok_or(Error::InvalidShape)?;
            if included {
                r.state_elems = r
                    .state_elems
                    .checked_add(state)
                    .ok_or(Error::InvalidShape)?;
            }
        }
        if r.param_elems == 0 {
            return Err(Error::InvalidConfig(
                "no layer with parameters is trainable",
            ));
        }
        Ok(r)
    }

    /// The tensors of layer `layer` that train (Keras order; empty for inference and
    /// frozen layers).
    pub fn trained_tensors(&self, layer: usize) -> TensorMask {
        self.masks.get(layer).copied().unwrap_or(TensorMask::EMPTY)
    }

    /// Elements of all the trained tensors (the parameter region, unpadded).
    pub fn trained_elements(&self) -> usize {
        self.param_elems
    }

    /// Whether layer `layer` has trained tensors.
    pub(crate) fn trains(&self, layer: usize) -> bool {
        self.param_offsets.get(layer).copied().flatten().is_some()
    }
}
