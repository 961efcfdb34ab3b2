//! What [`super::Sequential`] and [`super::Functional`] share at run time: the training
//! state (arena regions only a training model has), the parameter slices each layer
//! computes with, and each layer call's [`Context`].

use heapless::Vec;

use super::graph::LayerEntry;
use super::memory::tensor_bytes;
use super::regions::ParamRegions;
use super::regularization;
use super::TrainConfig;
use crate::arena::typed;
use crate::layers::{Context, MAX_PARAMS};
use crate::optimizer::ScalarState;
use crate::{Error, Result, Scalar};

/// Training state: the arena regions only a training model has.
#[derive(Debug)]
pub(super) struct Training<'a, T> {
    pub(super) config: TrainConfig,
    pub(super) params: &'a mut [T],
    pub(super) grads: &'a mut [T],
    pub(super) state: &'a mut [T],
    /// Non-trainable state of the layers that train (moving statistics).
    pub(super) layer_state: &'a mut [T],
    pub(super) iterations: u64,
    /// Base seed of the dropout and noise layers ([`Sequential::set_seed`]).
    pub(super) seed: u64,
    /// Training forward passes run since the seed was set: with `seed`, the step's
    /// [`Context::seed`].
    pub(super) noise_step: u64,
    /// The optimizer's non-per-parameter state (Nadam's `u_product`).
    pub(super) optimizer_scalars: ScalarState,
}

/// The byte sizes of the training regions, in arena order.
#[derive(Debug, Clone, Copy)]
pub(super) struct RegionBytes {
    pub(super) params: usize,
    pub(super) grads: usize,
    pub(super) optimizer: usize,
    pub(super) state: usize,
}

impl RegionBytes {
    /// The regions' sizes for `regions` trained with `config`, elements of `size` bytes;
    /// checks that they fit, with `activations` and `gradient_buffers` bytes after them,
    /// in a `usize` (the regions are laid out back to back).
    pub(super) fn of<const N: usize>(
        regions: &ParamRegions<N>,
        config: &TrainConfig,
        size: usize,
        activations: usize,
        gradient_buffers: usize,
    ) -> Result<Self> {
        let params = tensor_bytes(1, regions.param_elems, size)?;
        let bytes = RegionBytes {
            params,
            grads: params,
            optimizer: tensor_bytes(config.optimizer.slots(), regions.param_elems, size)?,
            state: tensor_bytes(1, regions.state_elems, size)?,
        };
        [
            bytes.grads,
            bytes.optimizer,
            bytes.state,
            activations,
            gradient_buffers,
        ]
        .iter()
        .try_fold(params, |acc, &b| acc.checked_add(b))
        .ok_or(Error::InvalidShape)?;
        Ok(bytes)
    }
}

impl<'a, T: Scalar> Training<'a, T> {
    /// Restores the trainable parameters and layer state from a snapshot
    /// (`trainable_params` then `layer_state`); [`Error::ShapeMismatch`] on a wrong length
    /// (nothing changes then).
    pub(super) fn restore_snapshot(&mut self, src: &[T]) -> Result<()> {
        let expected = self.params.len() + self.layer_state.len();
        if src.len() != expected {
            return Err(Error::ShapeMismatch {
                expected,
                found: src.len(),
            });
        }
        let (a, b) = src.split_at(self.params.len());
        self.params.copy_from_slice(a);
        self.layer_state.copy_from_slice(b);
        Ok(())
    }

    /// The learning rate of the next update.
    pub(super) fn learning_rate(&self) -> f32 {
        self.config.optimizer.learning_rate(self.iterations)
    }

    /// Sets the optimizer's constant learning rate; [`Error::InvalidConfig`] with a
    /// schedule, or for a non-finite or negative rate.
    pub(super) fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        if self.config.optimizer.schedule.is_some() {
            return Err(Error::InvalidConfig(
                "the learning rate of an optimizer with a schedule cannot be set",
            ));
        }
        if !lr.is_finite() || lr < 0.0 {
            return Err(Error::InvalidConfig(
                "learning rate must be finite and >= 0",
            ));
        }
        self.config.optimizer.algorithm =
            super::fit::with_learning_rate(self.config.optimizer.algorithm, lr);
        Ok(())
    }

    /// Overwrites every trained parameter from `src` ([`Error::ShapeMismatch`] on a
    /// wrong length; nothing changes then).
    pub(super) fn set_params(&mut self, src: &[T]) -> Result<()> {
        if src.len() != self.params.len() {
            return Err(Error::ShapeMismatch {
                expected: self.params.len(),
                found: src.len(),
            });
        }
        self.params.copy_from_slice(src);
        Ok(())
    }

    /// The end of a training step, once `grads` holds the loss gradients: adds the weight
    /// penalties' gradients (when `regularized`), applies the optimizer, projects the
    /// constrained tensors and counts the iteration.
    pub(super) fn update<const N: usize>(
        &mut self,
        layers: &[LayerEntry<'_, T>],
        regions: &ParamRegions<N>,
        regularized: bool,
    ) -> Result<()> {
        if regularized {
            regularization::add_weight_gradients(layers, regions, self.params, self.grads)?;
        }
        // Parameter tensors (Keras variables) in arena order, for per-variable clipping.
        let tensors = layers
            .iter()
            .zip(regions.masks.iter())
            .flat_map(|(l, &mask)| {
                l.params
                    .iter()
                    .enumerate()
                    .filter(move |(i, _)| mask.contains(*i))
                    .map(|(_, p)| p.len())
            });
        self.config.optimizer.apply(
            self.iterations,
            &mut self.optimizer_scalars,
            self.params,
            self.grads,
            self.state,
            tensors,
        )?;
        if regularized {
            regularization::apply_constraints(layers, regions, self.params)?;
        }
        self.iterations += 1;
        Ok(())
    }

    /// Types the first `total` bytes of `arena` and splits them: the training regions
    /// ([`Training::new`]), then `activations` bytes of activations, then the rest
    /// (gradient buffers).
    pub(super) fn split_arena<const N: usize>(
        arena: &'a mut [u8],
        total: usize,
        bytes: RegionBytes,
        activations: usize,
        regions: &ParamRegions<N>,
        layers: &[LayerEntry<'_, T>],
        config: TrainConfig,
    ) -> Result<(Self, &'a mut [T], &'a mut [T])> {
        let all = typed::<T>(arena, total)?;
        let (training, rest) = Training::new(all, bytes, regions, layers, config)?;
        let (acts, gbufs) = rest.split_at_mut(activations / core::mem::size_of::<T>());
        Ok((training, acts, gbufs))
    }

    /// Splits the training regions off the front of `all` (sized by `bytes`), copies the
    /// trained tensors and the layer state from the blob, zeroes the optimizer state;
    /// returns the training state and the rest of the arena.
    pub(super) fn new<const N: usize>(
        all: &'a mut [T],
        bytes: RegionBytes,
        regions: &ParamRegions<N>,
        layers: &[LayerEntry<'_, T>],
        config: TrainConfig,
    ) -> Result<(Self, &'a mut [T])> {
        let size = core::mem::size_of::<T>();
        let (params, rest) = all.split_at_mut(bytes.params / size);
        let (grads, rest) = rest.split_at_mut(bytes.grads / size);
        let (state, rest) = rest.split_at_mut(bytes.optimizer / size);
        let (layer_state, rest) = rest.split_at_mut(bytes.state / size);
        let params = &mut params[..regions.param_elems];
        let grads = &mut grads[..regions.param_elems];
        let state = &mut state[..regions.param_elems * config.optimizer.slots()];
        let layer_state = &mut layer_state[..regions.state_elems];
        state.fill(T::ZERO);
        for (k, layer) in layers.iter().enumerate() {
            let n_train = layer.trainable_tensors();
            if let Some(mut at) = regions.param_offsets[k] {
                let mask = regions.masks[k];
                let trained = layer
                    .params
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask.contains(*i));
                for (_, p) in trained {
                    params[at..at + p.len()].copy_from_slice(p);
                    at += p.len();
                }
            }
            if let Some(mut at) = regions.state_offsets[k] {
                for p in layer.params[n_train..].iter() {
                    layer_state[at..at + p.len()].copy_from_slice(p);
                    at += p.len();
                }
            }
        }
        Ok((
            Training {
                config,
                params,
                grads,
                state,
                layer_state,
                iterations: 0,
                seed: 0,
                noise_step: 0,
                optimizer_scalars: ScalarState::new(),
            },
            rest,
        ))
    }
}

/// The parameter slices layer `k` computes with: trained copies and updated state for
/// a layer that trains, blob weights otherwise.
pub(super) fn params_of<'p, T: Scalar, const N: usize>(
    training: &'p Option<Training<'_, T>>,
    regions: &ParamRegions<N>,
    k: usize,
    l: &'p LayerEntry<'_, T>,
) -> Vec<&'p [T], MAX_PARAMS> {
    match training {
        Some(t) => split_params(t.params, t.layer_state, regions, k, l),
        None => l.params.iter().copied().collect(),
    }
}

/// [`params_of`] from the training regions themselves (so that the caller can borrow
/// other fields of the training state mutably).
pub(super) fn split_params<'p, T: Scalar, const N: usize>(
    params: &'p [T],
    layer_state: &'p [T],
    regions: &ParamRegions<N>,
    k: usize,
    l: &'p LayerEntry<'_, T>,
) -> Vec<&'p [T], MAX_PARAMS> {
    let Some(mut at) = regions.param_offsets.get(k).copied().flatten() else {
        // No tensor trains; an included stateful layer still uses its arena state.
        let n_train = l.trainable_tensors();
        let mut ps: Vec<&'p [T], MAX_PARAMS> = l.params[..n_train].iter().copied().collect();
        push_state(&mut ps, layer_state, regions, k, l);
        return ps;
    };
    let mask = regions.trained_tensors(k);
    let n_train = l.trainable_tensors();
    let mut ps = Vec::new();
    for (i, &p) in l.params[..n_train].iter().enumerate() {
        if mask.contains(i) {
            let _ = ps.push(params.get(at..at + p.len()).unwrap_or(&[]));
            at += p.len();
        } else {
            // A frozen tensor of a layer that trains others: read in place.
            let _ = ps.push(p);
        }
    }
    push_state(&mut ps, layer_state, regions, k, l);
    ps
}

/// Appends layer `k`'s state tensors: the arena copy when the layer is included (its
/// state updates), the blob's otherwise.
fn push_state<'p, T: Scalar, const N: usize>(
    ps: &mut Vec<&'p [T], MAX_PARAMS>,
    layer_state: &'p [T],
    regions: &ParamRegions<N>,
    k: usize,
    l: &'p LayerEntry<'_, T>,
) {
    let n_train = l.trainable_tensors();
    match regions.state_offsets.get(k).copied().flatten() {
        Some(mut at) => {
            for p in &l.params[n_train..] {
                let _ = ps.push(layer_state.get(at..at + p.len()).unwrap_or(&[]));
                at += p.len();
            }
        }
        None => {
            for &p in &l.params[n_train..] {
                let _ = ps.push(p);
            }
        }
    }
}

/// Layer `k`'s context within a model call. As in Keras, a layer with state (e.g.
/// BatchNormalization) that is not included in training runs in inference mode even
/// while the model trains (`training and self.trainable`); an included one runs in
/// training mode even if none of its tensors trains (bias-only training of a
/// BatchNormalization without `beta`).
///
/// `call` is the index mixed into the seed: the layer index in a chain, the node index in
/// a graph (each call of a shared layer draws its own noise).
pub(super) fn layer_context<T, const N: usize>(
    ctx: &Context,
    regions: &ParamRegions<N>,
    k: usize,
    call: usize,
    l: &LayerEntry<'_, T>,
) -> Context {
    let mut c = ctx.for_layer(call);
    if l.config.state_tensors() > 0 && regions.state_offsets.get(k).copied().flatten().is_none() {
        c.training = false;
    }
    c
}
