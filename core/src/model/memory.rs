//! [`MemoryPlan`]: the exact arena layout of a model, for inference or for training.

use heapless::Vec;

use super::planner::{plan, Buffer};
use super::regions::ParamRegions;
use super::runtime::RegionBytes;
use super::{Graph, TrainConfig, DEFAULT_MAX_LAYERS};
use crate::arena::ARENA_ALIGN;
use crate::layers::TensorMask;
use crate::{Error, Result, Scalar};

/// Where everything a model writes lives in the arena, and how many bytes that takes.
///
/// The plan is a pure function of the blob and the configuration, computed the same way on
/// the host (`ember inspect`, build scripts) and on the device, so the byte counts agree
/// exactly. Regions, each starting at a 16-byte boundary, in order:
///
/// | region | inference | training |
/// |---|---|---|
/// | trainable parameters (copied from the blob) | — | Σ elements of the tensors that train |
/// | parameter gradients | — | same size |
/// | optimizer state | — | `optimizer.slots()` × that size |
/// | layer state (copied from the blob) | — | Σ state tensors of the included layers (BatchNormalization's moving statistics) |
/// | activations | intermediate outputs, planned so that dead buffers are reused | every layer output of a batch (saved for backward) |
/// | gradient buffers | — | 2 × batch × widest layer output (ping-pong) |
/// | scratch | the recurrent layers' working memory: the most any one layer needs ([`crate::layers::LayerConfig::scratch_elems`]; 0 without recurrent layers) | the same, with the backward pass's saved steps for the layers it runs through |
///
/// Which tensors train is per tensor ([`crate::Trainable::tensors`]): only those are
/// copied, get gradients and optimizer slots; the others (e.g. the kernels under
/// [`crate::Trainable::BiasOnly`]) are read in place from the blob. Each region is
/// rounded up to 16 bytes. So, with `s = size_of::<T>()`, `P` the trained elements, `S`
/// the state elements, `out_k` the elements of layer `k`'s output for one sample, `W`
/// the widest of them, `B` the batch and `⌈·⌉` rounding up to 16 bytes, training needs
/// `2·⌈P·s⌉ + ⌈slots·P·s⌉ + ⌈S·s⌉ + Σ_k ⌈B·out_k·s⌉ + 2·⌈B·W·s⌉` bytes.
///
/// In inference the first layer reads the caller's input and the last layer writes the
/// caller's output directly, so a one-layer model needs 0 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryPlan<const N: usize = DEFAULT_MAX_LAYERS> {
    /// Samples per forward/backward pass (`predict` processes larger inputs in chunks).
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
    /// Bytes of scratch memory (recurrent layers' state, gates and saved steps), shared by
    /// all layers.
    pub scratch_bytes: usize,
    /// Elements of one gradient buffer.
    pub(crate) gbuf_elems: usize,
    /// Element offset of each layer's output inside the activations region (`None`: the
    /// caller's output buffer).
    pub(crate) act_offsets: Vec<Option<usize>, N>,
    /// Where each layer's trained tensors and state live.
    pub(crate) regions: ParamRegions<N>,
    pub(crate) training: bool,
}

impl<const N: usize> MemoryPlan<N> {
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

    /// The tensors of layer `layer` that train (Keras order; empty for inference plans and
    /// frozen layers).
    pub fn trained_tensors(&self, layer: usize) -> TensorMask {
        self.regions.trained_tensors(layer)
    }

    /// Elements of all the trained tensors (the parameter region, unpadded).
    pub fn trained_elements(&self) -> usize {
        self.regions.trained_elements()
    }

    /// The inference plan of `graph` for batches of `batch` samples.
    pub fn inference<T: Scalar>(graph: &Graph<'_, T, N>, batch: usize) -> Result<Self> {
        check_chain(graph)?;
        check_batch(batch)?;
        let size = core::mem::size_of::<T>();
        let layers = graph.layers();
        let n = layers.len();
        // Intermediate outputs: layer k's output lives from step k to step k + 1.
        let mut bufs: Vec<Buffer, N> = Vec::new();
        for (k, l) in layers.iter().enumerate().take(n.saturating_sub(1)) {
            let bytes = tensor_bytes(batch, l.output.len(), size)?;
            let _ = bufs.push(Buffer {
                size: bytes,
                first: k,
                last: k + 1,
            });
        }
        let mut offsets = [0usize; N];
        let offsets = &mut offsets[..bufs.len()];
        let activations_bytes = plan(&bufs, offsets)?;
        let mut act_offsets = Vec::new();
        for k in 0..n {
            let _ = act_offsets.push(offsets.get(k).map(|&o| o / size));
        }
        let scratch_bytes = scratch_bytes(layers, |_| false, size)?;
        Ok(MemoryPlan {
            batch,
            params_bytes: 0,
            grads_bytes: 0,
            optimizer_bytes: 0,
            state_bytes: 0,
            activations_bytes,
            gradient_buffers_bytes: 0,
            scratch_bytes,
            gbuf_elems: 0,
            act_offsets,
            regions: ParamRegions::frozen(n),
            training: false,
        })
    }

    /// The training plan of `graph` for `config`.
    pub fn training<T: Scalar>(graph: &Graph<'_, T, N>, config: &TrainConfig) -> Result<Self> {
        check_chain(graph)?;
        super::functional::check_unmasked(graph, graph.outputs())?;
        check_batch(config.batch_size)?;
        let batch = config.batch_size;
        let size = core::mem::size_of::<T>();
        let layers = graph.layers();
        let regions = ParamRegions::training(layers, config)?;
        let mut act_offsets = Vec::new();
        let mut act_bytes = 0usize;
        let mut widest = 0usize;
        for l in layers {
            let _ = act_offsets.push(Some(act_bytes / size));
            act_bytes = act_bytes
                .checked_add(tensor_bytes(batch, l.output.len(), size)?)
                .ok_or(Error::InvalidShape)?;
            widest = widest.max(l.output.len());
        }
        let gbuf_bytes = tensor_bytes(batch, widest, size)?;
        let gradient_buffers_bytes = gbuf_bytes.checked_mul(2).ok_or(Error::InvalidShape)?;
        let r = RegionBytes::of(&regions, config, size, act_bytes, gradient_buffers_bytes)?;
        // The backward pass runs from the last layer down to the lowest that trains.
        let lowest = regions.param_offsets.iter().position(|o| o.is_some());
        let scratch_bytes = scratch_bytes(layers, |k| lowest.is_some_and(|lo| k >= lo), size)?;
        Ok(MemoryPlan {
            batch,
            params_bytes: r.params,
            grads_bytes: r.grads,
            optimizer_bytes: r.optimizer,
            state_bytes: r.state,
            activations_bytes: act_bytes,
            gradient_buffers_bytes,
            scratch_bytes,
            gbuf_elems: gbuf_bytes / size,
            act_offsets,
            regions,
            training: true,
        })
    }
}

/// Bytes of the scratch region: the most any layer `k` needs, with its backward pass when
/// `backward(k)`.
fn scratch_bytes<T>(
    layers: &[super::graph::LayerEntry<'_, T>],
    backward: impl Fn(usize) -> bool,
    size: usize,
) -> Result<usize> {
    let mut most = 0usize;
    for (k, l) in layers.iter().enumerate() {
        most = most.max(l.config.scratch_elems(&[l.input], backward(k))?);
    }
    tensor_bytes(1, most, size)
}

/// [`MemoryPlan`] and [`crate::Sequential`] run chains; graphs run in
/// [`crate::model::Functional`].
fn check_chain<T: Scalar, const N: usize>(graph: &Graph<'_, T, N>) -> Result<()> {
    if let Some(k) = graph
        .layers()
        .iter()
        .position(|l| matches!(l.config, crate::layers::LayerConfig::Lambda(_)))
    {
        // Lambda functions are registered with model::Functional::new_with_lambdas.
        return Err(Error::UnresolvedLambda { layer: k });
    }
    if graph.is_chain() {
        Ok(())
    } else {
        Err(Error::InvalidConfig(
            "not a sequential model: load a graph model with model::Functional",
        ))
    }
}

pub(super) fn check_batch(batch: usize) -> Result<()> {
    if batch == 0 {
        return Err(Error::InvalidConfig("batch size must be positive"));
    }
    Ok(())
}

pub(super) fn tensor_bytes(batch: usize, len: usize, size: usize) -> Result<usize> {
    batch
        .checked_mul(len)
        .and_then(|e| e.checked_mul(size))
        .and_then(checked_align_up)
        .ok_or(Error::InvalidShape)
}

/// [`crate::arena::align_up`] that reports overflow instead of wrapping.
fn checked_align_up(bytes: usize) -> Option<usize> {
    bytes.div_ceil(ARENA_ALIGN).checked_mul(ARENA_ALIGN)
}
