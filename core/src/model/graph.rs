//! [`Graph`]: a validated blob decoded into layers (weights in place) and the calls
//! ([`Node`]s) that connect them.

use heapless::Vec;

use super::DEFAULT_MAX_LAYERS;
use crate::blob::{
    check_outputs, node_shapes, Blob, NodeDesc, TrainingDesc, MAX_MODEL_IO, MAX_NODE_INPUTS,
};
use crate::layers::{LayerAttrs, LayerConfig, MaskRule, ParamShapes, TensorMask, MAX_PARAMS};
use crate::{Error, Result, Scalar, Shape};

/// One layer of a decoded model.
#[derive(Debug, Clone)]
pub struct LayerEntry<'a, T> {
    /// Keras layer name.
    pub name: &'a str,
    /// Class and configuration.
    pub config: LayerConfig,
    /// Input shape (no batch) of the layer's first call, as the layer sees it (without
    /// the steps axis under `TimeDistributed`).
    pub input: Shape,
    /// Output shape (no batch) of the layer's first call, as the layer sees it.
    pub output: Shape,
    /// Keras's `trainable` flag as saved.
    pub trainable: bool,
    /// Parameters read in place from the blob, in Keras order.
    pub params: Vec<&'a [T], MAX_PARAMS>,
    /// Regularizers and constraints (Keras `kernel_regularizer`, …; checked at load).
    pub attrs: LayerAttrs,
    /// The parameters' shapes as stored.
    shapes: ParamShapes,
}

impl<T> LayerEntry<'_, T> {
    /// Total parameter elements.
    pub fn param_count(&self) -> usize {
        self.params.iter().map(|p| p.len()).sum()
    }

    /// Elements of the trainable parameters: all but the layer's state tensors
    /// ([`crate::layers::Layer::state_tensors`], e.g. moving statistics).
    pub fn trainable_param_count(&self) -> usize {
        self.params[..self.trainable_tensors()]
            .iter()
            .map(|p| p.len())
            .sum()
    }

    /// Elements of the parameter tensors in `mask`.
    pub fn param_count_of(&self, mask: TensorMask) -> usize {
        self.params
            .iter()
            .enumerate()
            .filter(|(i, _)| mask.contains(*i))
            .map(|(_, p)| p.len())
            .sum()
    }

    /// Number of trainable parameter tensors (the rest are state).
    pub fn trainable_tensors(&self) -> usize {
        self.params
            .len()
            .saturating_sub(self.config.state_tensors())
    }
}

/// One call of a layer in a model (Keras: a node of the layer graph).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Index of the layer called (into [`Graph::layers`]).
    pub layer: usize,
    /// Tensor ids read ([`Graph::tensor_shape`]): the model inputs are `0..inputs`, then
    /// node `i`'s output is tensor `inputs + i`.
    pub inputs: Vec<u16, MAX_NODE_INPUTS>,
    /// Keras `TimeDistributed`: the layer runs on each step of axis 1.
    pub time_distributed: bool,
    /// The node's output shape (no batch).
    pub output: Shape,
    /// Keras masking: the model input holding the token ids whose zeros mask the steps of
    /// this call's input (`Embedding(mask_zero=True)` upstream, through layers that keep
    /// masks: [`crate::layers::MaskRule`]); `None` when the input carries no mask.
    pub input_mask: Option<u16>,
    /// The mask on this call's output (see [`Node::input_mask`]).
    pub output_mask: Option<u16>,
}

/// A model decoded from a blob: its layers (weights borrowed in place) and the calls that
/// connect them. A Keras `Sequential` model is a chain ([`Graph::is_chain`]); a
/// functional model has several inputs or outputs, branches, merges and shared layers.
///
/// `N` is the capacity of layers and of nodes (a `Graph` lives on the stack or in a
/// `static`, never on a heap); a blob with more is [`Error::TooManyLayers`].
#[derive(Debug, Clone)]
pub struct Graph<'a, T, const N: usize = DEFAULT_MAX_LAYERS> {
    name: &'a str,
    inputs: Vec<Shape, MAX_MODEL_IO>,
    outputs: Vec<u16, MAX_MODEL_IO>,
    layers: Vec<LayerEntry<'a, T>, N>,
    nodes: Vec<Node, N>,
    training: Option<TrainingDesc>,
}

impl<'a, T: Scalar, const N: usize> Graph<'a, T, N> {
    /// Validates and decodes `blob` (see [`Blob::parse`]); checks the topology, every
    /// node's input shapes, every parameter's dtype, shape, bounds and alignment.
    pub fn parse(blob: &'a [u8]) -> Result<Self> {
        let blob = Blob::parse(blob)?;
        let (header, mut descs) = blob.graph()?;
        if header.dtype != T::DTYPE {
            return Err(Error::DTypeMismatch {
                expected: T::DTYPE,
                found: header.dtype,
            });
        }
        if header.layers == 0 {
            return Err(Error::MalformedBlob("model has no layers"));
        }
        let mut layers: Vec<LayerEntry<'a, T>, N> = Vec::new();
        for desc in descs.by_ref() {
            let desc = desc?;
            if !desc.config.is_compiled() {
                return Err(Error::LayerNotCompiled {
                    class: desc.config.keras_class(),
                    feature: desc.config.feature().unwrap_or(""),
                });
            }
            let mut params = Vec::new();
            for p in desc.params.iter() {
                p.shape.validate()?;
                if p.dtype != T::DTYPE {
                    return Err(Error::DTypeMismatch {
                        expected: T::DTYPE,
                        found: p.dtype,
                    });
                }
                let bytes = blob.param_bytes(p)?;
                let typed: &[T] =
                    bytemuck::try_cast_slice(bytes).map_err(|_| Error::BlobMisaligned {
                        align: crate::blob::ALIGN,
                    })?;
                // Capacity equals MAX_PARAMS and desc.params has at most that many.
                let _ = params.push(typed);
            }
            let entry = LayerEntry {
                attrs: desc.attrs,
                name: desc.name,
                config: desc.config,
                // Set from the layer's first call below.
                input: header.input,
                output: header.input,
                trainable: desc.trainable,
                params,
                shapes: desc.params.iter().map(|p| p.shape).collect(),
            };
            layers
                .push(entry)
                .map_err(|_| Error::TooManyLayers { max: N })?;
        }
        if layers.len() != header.layers as usize {
            return Err(Error::MalformedBlob("fewer layer records than declared"));
        }
        let (topology, mut node_descs) = descs.topology()?;
        if topology.inputs.first() != Some(&header.input) {
            return Err(Error::MalformedBlob(
                "first input differs from the header's",
            ));
        }
        let mut graph = Graph {
            name: header.name,
            inputs: topology.inputs,
            outputs: topology.outputs,
            layers,
            nodes: Vec::new(),
            training: None,
        };
        let mut called: Vec<bool, N> = graph.layers.iter().map(|_| false).collect();
        let mut shapes: Vec<Shape, MAX_NODE_INPUTS> = Vec::new();
        for desc in node_descs.by_ref() {
            let desc = desc?;
            let k = desc.layer as usize;
            let layer = graph.layers.get(k).ok_or(Error::MalformedBlob(
                "node calls a layer that does not exist",
            ))?;
            let here = graph.inputs.len() + graph.nodes.len();
            shapes.clear();
            for &t in &desc.inputs {
                if t as usize >= here {
                    return Err(Error::MalformedBlob(
                        "node reads a tensor that does not exist yet",
                    ));
                }
                // Capacity equals the node's input capacity.
                let _ = shapes.push(graph.tensor_shape(t as usize)?);
            }
            let io = node_shapes(&layer.config, &desc, &shapes)?;
            if !called[k] {
                called[k] = true;
                validate_params(&mut graph.layers[k], io.layer_input, io.layer_output)?;
            } else if layer.config.param_shapes(io.layer_input)? != layer.shapes {
                return Err(Error::InvalidConfig(
                    "shared layer called on an input its weights do not fit",
                ));
            }
            let (input_mask, output_mask) = graph.masks(&graph.layers[k].config, &desc)?;
            graph
                .nodes
                .push(Node {
                    layer: k,
                    inputs: desc.inputs,
                    time_distributed: desc.time_distributed,
                    output: io.output,
                    input_mask,
                    output_mask,
                })
                .map_err(|_| Error::TooManyLayers { max: N })?;
        }
        if called.iter().any(|c| !c) {
            return Err(Error::MalformedBlob("a layer is never called"));
        }
        check_outputs(&graph.outputs, graph.inputs.len() + graph.nodes.len())?;
        graph.training = node_descs.training()?;
        Ok(graph)
    }

    /// The step mask on tensor `id` (a model input has none).
    pub fn tensor_mask(&self, id: usize) -> Option<u16> {
        let k = id.checked_sub(self.inputs.len())?;
        self.nodes.get(k)?.output_mask
    }

    /// Keras's mask propagation for a call of `config` on `desc.inputs`: the mask on its
    /// input and on its output. Masks come from an `Embedding(mask_zero=True)` reading a
    /// model input, pass through [`MaskRule::Keeps`] layers and are used by
    /// [`MaskRule::Consumes`] layers, whose input must then be `(steps, channels)` with the
    /// ids `(steps,)`. Refused ([`Error::InvalidConfig`]): an Embedding with `mask_zero`
    /// reading a computed tensor, a merge of masked tensors.
    fn masks(&self, config: &LayerConfig, desc: &NodeDesc) -> Result<(Option<u16>, Option<u16>)> {
        let first = desc.inputs[0] as usize;
        let input_mask = self.tensor_mask(first);
        let output_mask = match config.mask_rule() {
            MaskRule::Produces => {
                if first >= self.inputs.len() {
                    return Err(Error::InvalidConfig(
                        "Embedding(mask_zero=True) must read a model input",
                    ));
                }
                Some(first as u16)
            }
            MaskRule::Keeps => input_mask,
            rule @ (MaskRule::Consumes | MaskRule::ConsumesAndKeeps) => {
                if let Some(src) = input_mask {
                    let x = self.tensor_shape(first)?;
                    let ids = self.inputs[src as usize];
                    if x.rank() != 2 || ids.dims() != [x.dims()[0]] {
                        return Err(Error::InvalidConfig(
                            "a masked layer's steps must match the token ids",
                        ));
                    }
                }
                match rule {
                    MaskRule::ConsumesAndKeeps => input_mask,
                    _ => None,
                }
            }
            MaskRule::Drops => None,
            MaskRule::Merges => {
                if desc
                    .inputs
                    .iter()
                    .any(|&t| self.tensor_mask(t as usize).is_some())
                {
                    return Err(Error::InvalidConfig(
                        "merging masked tensors is not supported",
                    ));
                }
                None
            }
        };
        Ok((input_mask, output_mask))
    }

    /// The blob's training record (Keras's `model.compile` settings), if it has one: see
    /// [`Blob::training`].
    pub fn training(&self) -> Option<TrainingDesc> {
        self.training
    }

    /// The model name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Input shape (no batch) of the first input.
    pub fn input_shape(&self) -> Shape {
        self.inputs[0]
    }

    /// Output shape (no batch) of the first output.
    pub fn output_shape(&self) -> Shape {
        self.tensor_shape(self.outputs[0] as usize)
            .unwrap_or(self.inputs[0])
    }

    /// Input shapes (no batch), in Keras's `model.inputs` order.
    pub fn inputs(&self) -> &[Shape] {
        &self.inputs
    }

    /// Output tensor ids, in Keras's `model.outputs` order.
    pub fn outputs(&self) -> &[u16] {
        &self.outputs
    }

    /// Shape (no batch) of tensor `id`: a model input, or a node's output.
    pub fn tensor_shape(&self, id: usize) -> Result<Shape> {
        match id.checked_sub(self.inputs.len()) {
            None => Ok(self.inputs[id]),
            Some(n) => self
                .nodes
                .get(n)
                .map(|n| n.output)
                .ok_or(Error::InvalidShape),
        }
    }

    /// Number of tensors: inputs plus one per node.
    pub fn tensor_count(&self) -> usize {
        self.inputs.len() + self.nodes.len()
    }

    /// The layers in blob order (a shared layer once).
    pub fn layers(&self) -> &[LayerEntry<'a, T>] {
        &self.layers
    }

    /// The layer calls in execution order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Whether the model is a Keras `Sequential` chain: one input, one output, node `k`
    /// calls layer `k` on the previous node's output, no `TimeDistributed`.
    pub fn is_chain(&self) -> bool {
        self.inputs.len() == 1
            && self.nodes.len() == self.layers.len()
            && self.outputs.as_slice() == [self.nodes.len() as u16]
            && self.nodes.iter().enumerate().all(|(k, n)| {
                n.layer == k && n.inputs.as_slice() == [k as u16] && !n.time_distributed
            })
    }

    /// Total parameter elements (a shared layer's once).
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(|l| l.param_count()).sum()
    }

    /// Multiply-accumulates for one sample (every call of a shared layer counts).
    pub fn macs(&self) -> usize {
        self.nodes
            .iter()
            .map(|n| {
                let l = &self.layers[n.layer];
                if n.time_distributed {
                    return l.config.macs(l.input).saturating_mul(n.output.dim(0));
                }
                let shapes: Vec<Shape, MAX_NODE_INPUTS> = n
                    .inputs
                    .iter()
                    .filter_map(|&t| self.tensor_shape(t as usize).ok())
                    .collect();
                l.config.macs_n(&shapes)
            })
            .sum()
    }
}

/// Checks layer `l`'s parameters against its first call's input shape and records the
/// call's shapes.
fn validate_params<T>(l: &mut LayerEntry<'_, T>, input: Shape, output: Shape) -> Result<()> {
    let expected = l.config.param_shapes(input)?;
    if expected.len() != l.params.len() {
        return Err(Error::MalformedBlob("wrong number of parameters for layer"));
    }
    if expected != l.shapes {
        return Err(Error::MalformedBlob("parameter shape does not match layer"));
    }
    let trainable = expected.len().saturating_sub(l.config.state_tensors());
    l.attrs
        .check(&expected, trainable)
        .map_err(|_| Error::MalformedBlob("invalid regularizer or constraint"))?;
    l.input = input;
    l.output = output;
    Ok(())
}
