//! Writing blobs: one implementation, no_std and heap-free, used by the host converter
//! and by tests. Two passes: [`encoded_len`] sizes the blob exactly, [`write()`] fills a
//! caller-provided buffer.

use heapless::Vec;
use postcard::ser_flavors::Size;

use super::checksum;
use super::desc::{GraphHeader, LayerDesc, ParamDesc};
use super::header::{Header, Sections, ALIGN, FORMAT_VERSION, HEADER_LEN};
use super::topology::{self, NodeDesc, Topology};
use super::training::TrainingDesc;
use crate::layers::{LayerAttrs, LayerConfig};
use crate::{Error, Result, Scalar, Shape};

/// A layer to write: its configuration, its parameters in Keras order and its training
/// attributes ([`LayerAttrs::NONE`] for none; see [`LayerSpec::new`]).
#[derive(Debug, Clone, Copy)]
pub struct LayerSpec<'w, T> {
    /// Keras layer name.
    pub name: &'w str,
    /// Keras's `trainable` flag.
    pub trainable: bool,
    /// Class and configuration.
    pub config: LayerConfig,
    /// Parameters, each flattened row-major in Keras's layout.
    pub params: &'w [&'w [T]],
    /// Regularizers and constraints (checked against the parameters when written).
    pub attrs: LayerAttrs,
}

impl<'w, T> LayerSpec<'w, T> {
    /// A layer without regularizers or constraints.
    pub const fn new(
        name: &'w str,
        trainable: bool,
        config: LayerConfig,
        params: &'w [&'w [T]],
    ) -> Self {
        LayerSpec {
            name,
            trainable,
            config,
            params,
            attrs: LayerAttrs::NONE,
        }
    }

    /// With training attributes.
    pub const fn with_attrs(self, attrs: LayerAttrs) -> Self {
        LayerSpec { attrs, ..self }
    }
}

const fn pad(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

/// Walks the layers, checking parameter shapes and computing descriptors and offsets;
/// calls `f` with each layer's record. Returns the weights section length.
/// With `given`, each layer's `params` must match its shapes; without, `params` is
/// ignored (the values are filled in later: see [`write_filled`]).
fn for_each_record<T: Scalar>(
    graph: &Topo<'_>,
    layers: &[LayerSpec<'_, T>],
    given: bool,
    mut f: impl FnMut(&LayerDesc<'_>) -> Result<()>,
) -> Result<usize> {
    let mut inputs = graph.layer_inputs(layers)?;
    let mut offset = 0usize;
    for (k, l) in layers.iter().enumerate() {
        let shape = inputs(k, &l.config)?;
        let shapes = l.config.param_shapes(shape)?;
        if given && shapes.len() != l.params.len() {
            return Err(Error::ShapeMismatch {
                expected: shapes.len(),
                found: l.params.len(),
            });
        }
        let mut params = Vec::new();
        for (i, s) in shapes.iter().enumerate() {
            let n = s.len();
            if given && l.params[i].len() != n {
                return Err(Error::ShapeMismatch {
                    expected: n,
                    found: l.params[i].len(),
                });
            }
            let at = u32::try_from(offset).map_err(|_| Error::InvalidShape)?;
            let _ = params.push(ParamDesc {
                dtype: T::DTYPE,
                shape: *s,
                offset: at,
            });
            offset = n
                .checked_mul(core::mem::size_of::<T>())
                .and_then(|b| b.checked_next_multiple_of(ALIGN))
                .and_then(|b| offset.checked_add(b))
                .ok_or(Error::InvalidShape)?;
        }
        let trainable = shapes.len().saturating_sub(l.config.state_tensors());
        l.attrs.check(&shapes, trainable)?;
        f(&LayerDesc {
            name: l.name,
            trainable: l.trainable,
            config: l.config,
            params,
            attrs: l.attrs,
        })?;
    }
    Ok(offset)
}

/// The topology of a model to write: its input shapes, node records and output tensor
/// ids (see [`Topology`] for the numbering). [`write()`] writes a chain; [`write_graph`]
/// takes one of these.
#[derive(Debug, Clone, Copy)]
pub struct GraphSpec<'w> {
    /// Input shapes without batch, in Keras's `model.inputs` order.
    pub inputs: &'w [Shape],
    /// The layer calls, in a topological order.
    pub nodes: &'w [NodeDesc],
    /// Output tensor ids, in Keras's `model.outputs` order.
    pub outputs: &'w [u16],
}

/// Most tensors (inputs + nodes) of a graph [`write_graph`] takes; the writer keeps their
/// shapes on the stack.
pub const MAX_WRITE_TENSORS: usize = 256;

/// What the writer needs to know of a model's topology.
#[derive(Debug, Clone, Copy)]
enum Topo<'w> {
    /// A chain from one input (no node records need to exist in memory).
    Chain(Shape),
    Graph(GraphSpec<'w>),
}

impl Topo<'_> {
    fn first_input(&self) -> Result<Shape> {
        match self {
            Topo::Chain(s) => Ok(*s),
            Topo::Graph(g) => g
                .inputs
                .first()
                .copied()
                .ok_or(Error::InvalidConfig("a model needs at least one input")),
        }
    }

    /// A function giving layer `k`'s input shape (of its first call), called with
    /// `k = 0, 1, …` in order.
    fn layer_inputs<T>(
        &self,
        layers: &[LayerSpec<'_, T>],
    ) -> Result<impl FnMut(usize, &LayerConfig) -> Result<Shape>> {
        let mut firsts: Vec<Option<Shape>, MAX_WRITE_TENSORS> = Vec::new();
        let mut chain = None;
        match self {
            Topo::Chain(s) => chain = Some(*s),
            Topo::Graph(g) => {
                for _ in layers {
                    firsts.push(None).map_err(|_| Error::TooManyLayers {
                        max: MAX_WRITE_TENSORS,
                    })?;
                }
                let mut shapes: Vec<Shape, MAX_WRITE_TENSORS> = Vec::new();
                for s in g.inputs {
                    shapes.push(*s).map_err(|_| Error::TooManyLayers {
                        max: MAX_WRITE_TENSORS,
                    })?;
                }
                for node in g.nodes {
                    let layer = layers.get(node.layer as usize).ok_or(Error::InvalidConfig(
                        "node calls a layer that does not exist",
                    ))?;
                    let ins = topology::input_shapes(node, &shapes)?;
                    let io = topology::node_shapes(&layer.config, node, &ins)?;
                    let first = &mut firsts[node.layer as usize];
                    if first.is_none() {
                        *first = Some(io.layer_input);
                    }
                    shapes.push(io.output).map_err(|_| Error::TooManyLayers {
                        max: MAX_WRITE_TENSORS,
                    })?;
                }
                topology::check_outputs(g.outputs, shapes.len())?;
            }
        }
        Ok(move |k: usize, config: &LayerConfig| -> Result<Shape> {
            match chain.as_mut() {
                Some(shape) => {
                    let here = *shape;
                    *shape = config.output_shape(here)?;
                    Ok(here)
                }
                None => firsts
                    .get(k)
                    .copied()
                    .flatten()
                    .ok_or(Error::InvalidConfig("a layer is never called")),
            }
        })
    }

    fn topology(&self, layers: usize) -> Result<Topology> {
        match self {
            Topo::Chain(s) => topology::chain(*s, layers),
            Topo::Graph(g) => Ok(Topology {
                inputs: Vec::from_slice(g.inputs)
                    .map_err(|_| Error::InvalidConfig("too many model inputs"))?,
                nodes: u16::try_from(g.nodes.len())
                    .map_err(|_| Error::InvalidConfig("too many nodes"))?,
                outputs: Vec::from_slice(g.outputs)
                    .map_err(|_| Error::InvalidConfig("too many model outputs"))?,
            }),
        }
    }

    /// Calls `f` with every node record (a chain's are made on the fly).
    fn for_each_node(
        &self,
        layers: usize,
        mut f: impl FnMut(&NodeDesc) -> Result<()>,
    ) -> Result<()> {
        match self {
            Topo::Chain(_) => {
                let n =
                    u16::try_from(layers).map_err(|_| Error::InvalidConfig("too many layers"))?;
                (0..n).try_for_each(|k| f(&topology::chain_node(k)))
            }
            Topo::Graph(g) => g.nodes.iter().try_for_each(f),
        }
    }
}

fn graph_header<'n, T: Scalar>(
    name: &'n str,
    input: Shape,
    layers: usize,
) -> Result<GraphHeader<'n>> {
    Ok(GraphHeader {
        name,
        dtype: T::DTYPE,
        input,
        layers: u16::try_from(layers).map_err(|_| Error::InvalidConfig("too many layers"))?,
    })
}

fn size_of_record<S: serde::Serialize>(v: &S) -> Result<usize> {
    postcard::serialize_with_flavor(v, Size::default())
        .map_err(|_| Error::InvalidConfig("record cannot be encoded"))
}

/// Exact length in bytes of the blob [`write()`] produces for these arguments.
pub fn encoded_len<T: Scalar>(
    name: &str,
    input: Shape,
    layers: &[LayerSpec<'_, T>],
) -> Result<usize> {
    let (_, _, total) = layout::<T>(name, &Topo::Chain(input), layers, true, None)?;
    Ok(total)
}

/// Exact length in bytes of the blob [`write_graph`] produces for these arguments.
pub fn encoded_len_graph<T: Scalar>(
    name: &str,
    graph: &GraphSpec<'_>,
    layers: &[LayerSpec<'_, T>],
) -> Result<usize> {
    let (_, _, total) = layout::<T>(name, &Topo::Graph(*graph), layers, true, None)?;
    Ok(total)
}

/// [`encoded_len`] ignoring the layers' `params` (their values come from [`write_filled`]).
pub(crate) fn encoded_len_unfilled<T: Scalar>(
    name: &str,
    input: Shape,
    layers: &[LayerSpec<'_, T>],
) -> Result<usize> {
    let (_, _, total) = layout::<T>(name, &Topo::Chain(input), layers, false, None)?;
    Ok(total)
}

/// (graph length, weights length, total length).
fn layout<T: Scalar>(
    name: &str,
    topo: &Topo<'_>,
    layers: &[LayerSpec<'_, T>],
    given: bool,
    training: Option<&TrainingDesc>,
) -> Result<(usize, usize, usize)> {
    let header = graph_header::<T>(name, topo.first_input()?, layers.len())?;
    let mut graph_len = size_of_record(&header)?;
    let weights_len = for_each_record(topo, layers, given, |d| {
        graph_len += size_of_record(d)?;
        Ok(())
    })?;
    graph_len += size_of_record(&topo.topology(layers.len())?)?;
    topo.for_each_node(layers.len(), |n| {
        graph_len += size_of_record(n)?;
        Ok(())
    })?;
    graph_len += size_of_record(&training)?;
    let weights_at = pad(HEADER_LEN + graph_len);
    let total = weights_at
        .checked_add(weights_len)
        .ok_or(Error::InvalidShape)?;
    Ok((graph_len, weights_len, total))
}

/// Writes a blob for a sequential model into `out`; returns its length. `out` must hold
/// at least [`encoded_len`] bytes (else [`Error::BlobTruncated`] with the needed size).
///
/// ```
/// use ember_nn::blob::{encoded_len, write, LayerSpec};
/// use ember_nn::layers::{Dense, LayerConfig};
/// use ember_nn::{Activation, AlignedBlob, ArenaBuffer, Sequential, Shape};
///
/// let dense = Dense { units: 2, activation: Activation::Linear, use_bias: true };
/// let kernel = [1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0]; // (3, 2)
/// let bias = [0.5f32, -0.5];
/// let params: [&[f32]; 2] = [&kernel, &bias];
/// let layers = [LayerSpec::new("d", true, LayerConfig::Dense(dense), &params)];
/// let input = Shape::new(&[3]).unwrap();
/// let mut blob = AlignedBlob([0u8; 256]);
/// let len = write("tiny", input, &layers, &mut blob.0).unwrap();
/// assert_eq!(len, encoded_len("tiny", input, &layers).unwrap());
///
/// let mut arena = ArenaBuffer::<64>::new();
/// let mut model = Sequential::<f32>::new(&blob.0[..len], arena.as_mut_bytes(), 1).unwrap();
/// let mut y = [0.0f32; 2];
/// model.predict(&[1.0, 2.0, 3.0], &mut y).unwrap();
/// assert_eq!(y, [4.5, 4.5]);
/// ```
pub fn write<T: Scalar>(
    name: &str,
    input: Shape,
    layers: &[LayerSpec<'_, T>],
    out: &mut [u8],
) -> Result<usize> {
    write_any(
        name,
        &Topo::Chain(input),
        layers,
        out,
        None::<fn(usize, usize, &Shape, &mut [T]) -> Result<()>>,
        None,
    )
}

/// Writes a blob for a graph (Keras functional) model: `layers` are the layer records
/// (each shared layer once), `graph` says which layer each node calls on which tensors.
/// Returns the length written; `out` must hold at least [`encoded_len_graph`] bytes.
/// Every layer must be called by at least one node, and each node may read only the
/// model inputs and earlier nodes' outputs ([`Error::InvalidConfig`] otherwise).
pub fn write_graph<T: Scalar>(
    name: &str,
    graph: &GraphSpec<'_>,
    layers: &[LayerSpec<'_, T>],
    out: &mut [u8],
) -> Result<usize> {
    write_graph_with_training(name, graph, layers, None, out)
}

/// [`write_graph`] with a training record ([`TrainingDesc`]: the optimizer and loss of
/// Keras's `model.compile`) after the node records; `None` writes what [`write_graph`]
/// writes. `out` must hold at least [`encoded_len_graph_with_training`] bytes.
///
/// [`write()`] and [`write_graph`] always write an empty record. A sequential model with
/// a record is written as the graph of its chain: inputs `[input]`, node `k` =
/// [`topology::chain_node`]`(k)`, outputs `[layers.len()]` — the bytes are the ones
/// [`write()`] produces, plus the record.
///
/// ```
/// use ember_nn::blob::{chain_node, write_graph_with_training, Blob, GraphSpec, LayerSpec, TrainingDesc};
/// use ember_nn::layers::{Dense, LayerConfig};
/// use ember_nn::{Activation, AlignedBlob, Loss, Optimizer, Sgd, Shape};
///
/// let dense = Dense { units: 1, activation: Activation::Linear, use_bias: false };
/// let kernel = [2.0f32];
/// let params: [&[f32]; 1] = [&kernel];
/// let layers = [LayerSpec::new("d", true, LayerConfig::Dense(dense), &params)];
/// let inputs = [Shape::new(&[1]).unwrap()];
/// let graph = GraphSpec { inputs: &inputs, nodes: &[chain_node(0)], outputs: &[1] };
/// let training = TrainingDesc::new(Optimizer::sgd(Sgd::DEFAULT), Loss::mean_squared_error());
/// let mut blob = AlignedBlob([0u8; 256]);
/// let len = write_graph_with_training("t", &graph, &layers, Some(&training), &mut blob.0).unwrap();
/// let read = Blob::parse(&blob.0[..len]).unwrap().training().unwrap();
/// assert_eq!(read, Some(training));
/// ```
pub fn write_graph_with_training<T: Scalar>(
    name: &str,
    graph: &GraphSpec<'_>,
    layers: &[LayerSpec<'_, T>],
    training: Option<&TrainingDesc>,
    out: &mut [u8],
) -> Result<usize> {
    write_any(
        name,
        &Topo::Graph(*graph),
        layers,
        out,
        None::<fn(usize, usize, &Shape, &mut [T]) -> Result<()>>,
        training,
    )
}

/// Exact length in bytes of the blob [`write_graph_with_training`] produces.
pub fn encoded_len_graph_with_training<T: Scalar>(
    name: &str,
    graph: &GraphSpec<'_>,
    layers: &[LayerSpec<'_, T>],
    training: Option<&TrainingDesc>,
) -> Result<usize> {
    let (_, _, total) = layout::<T>(name, &Topo::Graph(*graph), layers, true, training)?;
    Ok(total)
}

/// [`write()`] with the layers' `params` ignored: each parameter `p` of layer `l`, of
/// shape `s`, is written in place by `fill(l, p, &s, values)` (layers and parameters in
/// order). The weights are filled as `&mut [T]` inside `out`, so `out` must be aligned
/// for `T` ([`Error::BlobMisaligned`] otherwise; a blob must be 16-byte aligned to be
/// read anyway).
pub(crate) fn write_filled<T: Scalar>(
    name: &str,
    input: Shape,
    layers: &[LayerSpec<'_, T>],
    out: &mut [u8],
    fill: impl FnMut(usize, usize, &Shape, &mut [T]) -> Result<()>,
) -> Result<usize> {
    write_any(name, &Topo::Chain(input), layers, out, Some(fill), None)
}

/// [`write_graph`] with the parameters filled in place by `fill`, as [`write_filled`].
pub(crate) fn write_graph_filled<T: Scalar>(
    name: &str,
    graph: &GraphSpec<'_>,
    layers: &[LayerSpec<'_, T>],
    out: &mut [u8],
    fill: impl FnMut(usize, usize, &Shape, &mut [T]) -> Result<()>,
) -> Result<usize> {
    write_any(name, &Topo::Graph(*graph), layers, out, Some(fill), None)
}

/// [`encoded_len_graph`] ignoring the layers' `params` (see [`write_graph_filled`]).
pub(crate) fn encoded_len_graph_unfilled<T: Scalar>(
    name: &str,
    graph: &GraphSpec<'_>,
    layers: &[LayerSpec<'_, T>],
) -> Result<usize> {
    let (_, _, total) = layout::<T>(name, &Topo::Graph(*graph), layers, false, None)?;
    Ok(total)
}

fn write_any<T: Scalar>(
    name: &str,
    topo: &Topo<'_>,
    layers: &[LayerSpec<'_, T>],
    out: &mut [u8],
    mut fill: Option<impl FnMut(usize, usize, &Shape, &mut [T]) -> Result<()>>,
    training: Option<&TrainingDesc>,
) -> Result<usize> {
    let given = fill.is_none();
    let (graph_len, weights_len, total) = layout::<T>(name, topo, layers, given, training)?;
    if out.len() < total {
        return Err(Error::BlobTruncated {
            needed: total,
            available: out.len(),
        });
    }
    let out = &mut out[..total];
    out.fill(0);
    let graph_end = HEADER_LEN + graph_len;
    let mut pos = HEADER_LEN;
    let mut put = |out: &mut [u8], v: &dyn erased::Record| -> Result<()> {
        let n = v.encode(&mut out[pos..graph_end])?;
        pos += n;
        Ok(())
    };
    put(
        out,
        &graph_header::<T>(name, topo.first_input()?, layers.len())?,
    )?;
    let weights_at = pad(graph_end);
    let mut at = weights_at;
    let mut index = 0;
    for_each_record(topo, layers, given, |d| {
        put(out, d)?;
        for (p, desc) in d.params.iter().enumerate() {
            let len = desc.shape.len() * core::mem::size_of::<T>();
            let dst = &mut out[at..at + len];
            match fill.as_mut() {
                None => dst.copy_from_slice(bytemuck::cast_slice(layers[index].params[p])),
                Some(fill) => {
                    let values = bytemuck::try_cast_slice_mut(dst)
                        .map_err(|_| Error::BlobMisaligned { align: ALIGN })?;
                    fill(index, p, &desc.shape, values)?;
                }
            }
            at += pad(len);
        }
        index += 1;
        Ok(())
    })?;
    put(out, &topo.topology(layers.len())?)?;
    topo.for_each_node(layers.len(), |n| put(out, n))?;
    put(out, &training)?;
    let to_u32 = |v: usize| u32::try_from(v).map_err(|_| Error::InvalidConfig("blob over 4 GiB"));
    let mut header = Header {
        version: FORMAT_VERSION,
        total_len: to_u32(total)?,
        crc32: 0,
        graph: Sections {
            offset: HEADER_LEN as u32,
            len: to_u32(graph_len)?,
        },
        weights: Sections {
            offset: to_u32(weights_at)?,
            len: to_u32(weights_len)?,
        },
    };
    out[..HEADER_LEN].copy_from_slice(&header.to_bytes());
    header.crc32 = checksum(out);
    out[..HEADER_LEN].copy_from_slice(&header.to_bytes());
    Ok(total)
}

/// A tiny object-safe wrapper so the writer can encode both record types through one
/// closure (local to this module; not part of any model graph).
mod erased {
    use crate::{Error, Result};

    pub trait Record {
        fn encode(&self, out: &mut [u8]) -> Result<usize>;
    }

    impl<S: serde::Serialize> Record for S {
        fn encode(&self, out: &mut [u8]) -> Result<usize> {
            postcard::to_slice(self, out)
                .map(|s| s.len())
                .map_err(|_| Error::InvalidConfig("record cannot be encoded"))
        }
    }
}
