//! [`FunctionalPlan`]: the exact arena layout of a graph model.

use heapless::Vec;

use super::super::memory::{check_batch, tensor_bytes};
use super::super::planner::{plan, Buffer};
use super::super::regions::ParamRegions;
use super::super::runtime::RegionBytes;
use super::super::{Graph, TrainConfig, DEFAULT_MAX_LAYERS};
use crate::blob::{MAX_MODEL_IO, MAX_NODE_INPUTS};
use crate::{Error, Result, Scalar};

/// Where everything a graph model writes lives in the arena, and how many bytes that
/// takes. Regions, each starting at a 16-byte boundary, in order:
///
/// | region | inference | training |
/// |---|---|---|
/// | trainable parameters, gradients, optimizer state, layer state | — | as [`super::super::MemoryPlan`] |
/// | activations | node outputs, placed by the greedy planner: a buffer lives from the node that writes it to the last node that reads it, and dead buffers are reused | every node output of a batch (saved for backward) |
/// | gradient buffers | — | one per tensor that needs a gradient, placed by the same planner over the backward pass (alive from its first contribution to its producer's backward); then one *accumulation* buffer (the largest tensor that receives gradients from several places: a branch point) and one *shared-parameter* buffer (the largest trained layer called more than once) |
///
/// Model outputs that no node reads are written straight into the caller's buffers in
/// inference, so a graph whose every node feeds only outputs needs 0 activation bytes.
/// Nodes that no requested output depends on are skipped and cost nothing: planning a
/// model for a subset of its tensors ([`super::Functional::with_outputs`]) runs that
/// sub-graph as a function (Keras's `K.function`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionalPlan<const N: usize = DEFAULT_MAX_LAYERS> {
    /// Samples per forward/backward pass.
    pub batch: usize,
    /// Bytes of trainable parameter copies.
    pub params_bytes: usize,
    /// Bytes of parameter gradients.
    pub grads_bytes: usize,
    /// Bytes of optimizer state.
    pub optimizer_bytes: usize,
    /// Bytes of the training layers' non-trainable state (moving statistics).
    pub state_bytes: usize,
    /// Bytes of activations.
    pub activations_bytes: usize,
    /// Bytes of the backward pass's gradient buffers.
    pub gradient_buffers_bytes: usize,
    /// Bytes of scratch memory (the recurrent layers' state, gates and saved steps),
    /// shared by all layer calls; 0 without recurrent layers.
    pub scratch_bytes: usize,
    /// What the activations would take if every node output had its own buffer: the sum
    /// of all activation buffers (inference: the ones in the arena). The difference to
    /// [`FunctionalPlan::activations_bytes`] is what the planner saved.
    pub unplanned_activation_bytes: usize,
    /// The output tensors planned for, in order.
    pub(crate) outputs: Vec<u16, MAX_MODEL_IO>,
    /// Where each layer's trained tensors and state live.
    pub(crate) regions: ParamRegions<N>,
    /// Per node: whether a planned output depends on it (it runs).
    pub(crate) needed: Vec<bool, N>,
    /// Per node: element offset of its output in the activations region (`None`: not
    /// needed, or written to the caller's output buffer).
    pub(crate) act_offsets: Vec<Option<usize>, N>,
    /// Per node: whether its backward pass runs (it trains, or a tensor it reads needs a
    /// gradient).
    pub(crate) backward: Vec<bool, N>,
    /// Per node: element offset of its output's gradient in the gradient region.
    pub(crate) grad_offsets: Vec<Option<usize>, N>,
    /// Element offset and length of the accumulation buffer in the gradient region.
    pub(crate) scratch: (usize, usize),
    /// Element offset and length of the shared-parameter buffer in the gradient region.
    pub(crate) param_scratch: (usize, usize),
    pub(crate) training: bool,
}

impl<const N: usize> FunctionalPlan<N> {
    /// The training regions' sizes.
    pub(in crate::model) fn region_bytes(&self) -> RegionBytes {
        RegionBytes {
            params: self.params_bytes,
            grads: self.grads_bytes,
            optimizer: self.optimizer_bytes,
            state: self.state_bytes,
        }
    }

    /// The exact arena size in bytes.
    pub fn total_bytes(&self) -> usize {
        self.params_bytes
            + self.grads_bytes
            + self.optimizer_bytes
            + self.state_bytes
            + self.activations_bytes
            + self.gradient_buffers_bytes
            + self.scratch_bytes
    }

    /// Where each layer's trained tensors and state live.
    pub fn regions(&self) -> &ParamRegions<N> {
        &self.regions
    }

    /// The inference plan of `graph` for batches of `batch` samples, computing the
    /// tensors `outputs` (the model's outputs when `None`).
    pub fn inference<T: Scalar>(
        graph: &Graph<'_, T, N>,
        batch: usize,
        outputs: Option<&[u16]>,
    ) -> Result<Self> {
        check_batch(batch)?;
        let size = core::mem::size_of::<T>();
        let outputs = planned_outputs(graph, outputs)?;
        let needed = needed_nodes(graph, &outputs);
        let n = graph.nodes().len();
        let n_in = graph.inputs().len();
        let mut bufs: Vec<Buffer, N> = Vec::new();
        let mut owner: Vec<usize, N> = Vec::new();
        let mut unplanned = 0usize;
        for k in (0..n).filter(|&k| needed[k]) {
            let id = n_in + k;
            let uses = outputs.iter().filter(|&&o| o as usize == id).count();
            let last_reader = (k + 1..n)
                .filter(|&c| needed[c] && reads(graph, c, id))
                .max();
            if uses == 1 && last_reader.is_none() {
                continue; // written straight into the caller's output
            }
            let bytes = tensor_bytes(batch, graph.nodes()[k].output.len(), size)?;
            unplanned = unplanned.checked_add(bytes).ok_or(Error::InvalidShape)?;
            let last = if uses > 0 {
                n
            } else {
                last_reader.unwrap_or(k)
            };
            // Capacities: one buffer per node at most.
            let _ = bufs.push(Buffer {
                size: bytes,
                first: k,
                last,
            });
            let _ = owner.push(k);
        }
        let mut offsets = [0usize; N];
        let offsets = &mut offsets[..bufs.len()];
        let activations_bytes = plan(&bufs, offsets)?;
        let mut act_offsets: Vec<Option<usize>, N> = (0..n).map(|_| None).collect();
        for (&k, &o) in owner.iter().zip(offsets.iter()) {
            act_offsets[k] = Some(o / size);
        }
        let scratch_bytes = layer_scratch_bytes(graph, &needed, &[], size)?;
        Ok(FunctionalPlan {
            batch,
            params_bytes: 0,
            grads_bytes: 0,
            optimizer_bytes: 0,
            state_bytes: 0,
            activations_bytes,
            gradient_buffers_bytes: 0,
            scratch_bytes,
            unplanned_activation_bytes: unplanned,
            outputs,
            regions: ParamRegions::frozen(graph.layers().len()),
            backward: (0..n).map(|_| false).collect(),
            grad_offsets: (0..n).map(|_| None).collect(),
            needed,
            act_offsets,
            scratch: (0, 0),
            param_scratch: (0, 0),
            training: false,
        })
    }

    /// The training plan of `graph` for `config` (the loss applies to every output).
    pub fn training<T: Scalar>(graph: &Graph<'_, T, N>, config: &TrainConfig) -> Result<Self> {
        let batch = config.batch_size;
        check_batch(batch)?;
        let size = core::mem::size_of::<T>();
        let outputs = planned_outputs(graph, None)?;
        check_unmasked(graph, &outputs)?;
        let needed = needed_nodes(graph, &outputs);
        let regions = ParamRegions::training(graph.layers(), config)?;
        let nodes = graph.nodes();
        let n = nodes.len();
        let n_in = graph.inputs().len();
        // Activations: every needed node output, kept for the backward pass.
        let mut act_offsets: Vec<Option<usize>, N> = Vec::new();
        let mut act_bytes = 0usize;
        for (k, node) in nodes.iter().enumerate() {
            let at = needed[k].then_some(act_bytes / size);
            let _ = act_offsets.push(at);
            if needed[k] {
                act_bytes = act_bytes
                    .checked_add(tensor_bytes(batch, node.output.len(), size)?)
                    .ok_or(Error::InvalidShape)?;
            }
        }
        // Which nodes run backward: a node trains, or reads a tensor that needs a gradient.
        let mut backward: Vec<bool, N> = Vec::new();
        for (k, node) in nodes.iter().enumerate() {
            let upstream = node
                .inputs
                .iter()
                .any(|&t| (t as usize) >= n_in && backward[t as usize - n_in]);
            let _ = backward.push(needed[k] && (regions.trains(node.layer) || upstream));
        }
        // Gradient buffers over the backward steps: the loss is step 0, node k's backward
        // is step n − k.
        let step = |k: usize| n - k;
        let mut bufs: Vec<Buffer, N> = Vec::new();
        let mut owner: Vec<usize, N> = Vec::new();
        let (mut scratch, mut param_scratch) = (0usize, 0usize);
        for &o in &outputs {
            match (o as usize).checked_sub(n_in) {
                None => {
                    return Err(Error::InvalidConfig(
                        "a model input that is also an output cannot be trained on",
                    ))
                }
                // An output no trained layer feeds still needs room for its loss gradient.
                Some(k) if !backward[k] => {
                    scratch = scratch.max(
                        batch
                            .checked_mul(nodes[k].output.len())
                            .ok_or(Error::InvalidShape)?,
                    );
                }
                Some(_) => {}
            }
        }
        for k in (0..n).filter(|&k| backward[k]) {
            let id = n_in + k;
            let from_loss = outputs.iter().filter(|&&o| o as usize == id).count();
            let readers = (k + 1..n).filter(|&c| backward[c] && reads(graph, c, id));
            let first = readers.clone().map(step).min();
            let first = if from_loss > 0 { Some(0) } else { first };
            let Some(first) = first else { continue };
            let contributions = from_loss
                + readers
                    .map(|c| {
                        nodes[c]
                            .inputs
                            .iter()
                            .filter(|&&t| t as usize == id)
                            .count()
                    })
                    .sum::<usize>();
            let elems = batch
                .checked_mul(nodes[k].output.len())
                .ok_or(Error::InvalidShape)?;
            if contributions > 1 {
                scratch = scratch.max(elems);
            }
            let _ = bufs.push(Buffer {
                size: tensor_bytes(batch, nodes[k].output.len(), size)?,
                first,
                last: step(k),
            });
            let _ = owner.push(k);
        }
        for (j, l) in graph.layers().iter().enumerate() {
            let calls = (0..n)
                .filter(|&k| backward[k] && nodes[k].layer == j)
                .count();
            if calls > 1 && regions.trains(j) {
                param_scratch = param_scratch.max(l.param_count_of(regions.trained_tensors(j)));
            }
        }
        let mut offsets = [0usize; N];
        let offsets = &mut offsets[..bufs.len()];
        let planned = plan(&bufs, offsets)?;
        let mut grad_offsets: Vec<Option<usize>, N> = (0..n).map(|_| None).collect();
        for (&k, &o) in owner.iter().zip(offsets.iter()) {
            grad_offsets[k] = Some(o / size);
        }
        let scratch_at = planned;
        let scratch_bytes = tensor_bytes(1, scratch, size)?;
        let param_scratch_at = scratch_at
            .checked_add(scratch_bytes)
            .ok_or(Error::InvalidShape)?;
        let gradient_buffers_bytes = param_scratch_at
            .checked_add(tensor_bytes(1, param_scratch, size)?)
            .ok_or(Error::InvalidShape)?;
        let r = RegionBytes::of(&regions, config, size, act_bytes, gradient_buffers_bytes)?;
        let scratch_bytes = layer_scratch_bytes(graph, &needed, &backward, size)?;
        Ok(FunctionalPlan {
            batch,
            params_bytes: r.params,
            grads_bytes: r.grads,
            optimizer_bytes: r.optimizer,
            state_bytes: r.state,
            activations_bytes: act_bytes,
            gradient_buffers_bytes,
            scratch_bytes,
            unplanned_activation_bytes: act_bytes,
            outputs,
            regions,
            needed,
            act_offsets,
            backward,
            grad_offsets,
            scratch: (scratch_at / size, scratch),
            param_scratch: (param_scratch_at / size, param_scratch),
            training: true,
        })
    }
}

/// Bytes of the layer scratch region: the most any needed node's layer call needs, with
/// its backward pass for the nodes in `backward`.
fn layer_scratch_bytes<T: Scalar, const N: usize>(
    graph: &Graph<'_, T, N>,
    needed: &[bool],
    backward: &[bool],
    size: usize,
) -> Result<usize> {
    let mut most = 0usize;
    for (k, node) in graph.nodes().iter().enumerate() {
        if !needed.get(k).copied().unwrap_or(false) {
            continue;
        }
        let l = &graph.layers()[node.layer];
        let mut shapes: Vec<crate::Shape, MAX_NODE_INPUTS> = Vec::new();
        if node.time_distributed {
            let _ = shapes.push(l.input);
        } else {
            for &id in node.inputs.iter() {
                let _ = shapes.push(graph.tensor_shape(id as usize)?);
            }
        }
        let train = backward.get(k).copied().unwrap_or(false);
        most = most.max(l.config.scratch_elems(&shapes, train)?);
    }
    tensor_bytes(1, most, size)
}

/// The tensors to compute: `outputs`, or the model's outputs.
fn planned_outputs<T: Scalar, const N: usize>(
    graph: &Graph<'_, T, N>,
    outputs: Option<&[u16]>,
) -> Result<Vec<u16, MAX_MODEL_IO>> {
    let outputs = outputs.unwrap_or(graph.outputs());
    if outputs.is_empty() {
        return Err(Error::InvalidConfig("no output tensor requested"));
    }
    if outputs.iter().any(|&o| o as usize >= graph.tensor_count()) {
        return Err(Error::InvalidConfig(
            "requested output is not a tensor of the model",
        ));
    }
    Vec::from_slice(outputs).map_err(|_| Error::InvalidConfig("too many outputs"))
}

/// Training refuses outputs that carry a step mask: Keras would mask the loss over the
/// steps, which Ember does not implement yet.
pub(crate) fn check_unmasked<T: Scalar, const N: usize>(
    graph: &Graph<'_, T, N>,
    outputs: &[u16],
) -> Result<()> {
    if outputs
        .iter()
        .any(|&o| graph.tensor_mask(o as usize).is_some())
    {
        return Err(Error::InvalidConfig(
            "an output carries an Embedding(mask_zero=True) mask: training with a masked loss is not supported",
        ));
    }
    Ok(())
}

/// Whether node `c` reads tensor `id`.
fn reads<T: Scalar, const N: usize>(graph: &Graph<'_, T, N>, c: usize, id: usize) -> bool {
    graph.nodes()[c].inputs.iter().any(|&t| t as usize == id)
}

/// The nodes the tensors `outputs` depend on.
fn needed_nodes<T: Scalar, const N: usize>(
    graph: &Graph<'_, T, N>,
    outputs: &[u16],
) -> Vec<bool, N> {
    let n_in = graph.inputs().len();
    let nodes = graph.nodes();
    let mut needed: Vec<bool, N> = nodes
        .iter()
        .enumerate()
        .map(|(k, _)| outputs.iter().any(|&o| o as usize == n_in + k))
        .collect();
    for k in (0..nodes.len()).rev() {
        if needed[k] {
            for &t in &nodes[k].inputs {
                if let Some(p) = (t as usize).checked_sub(n_in) {
                    needed[p] = true;
                }
            }
        }
    }
    needed
}
