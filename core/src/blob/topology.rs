//! Format v3's topology: which layer each *node* (one layer call) applies to which tensors.
//!
//! Tensors are numbered in creation order: the model's inputs first (`0..inputs.len()`),
//! then each node's output (node `i` creates tensor `inputs.len() + i`). A node may only
//! read tensors created before it, so the node order is a topological order and a model
//! runs by walking its nodes once. A layer called by several nodes is a *shared* layer:
//! one set of weights, several calls (Keras's `layer(x1)`, `layer(x2)`).

use heapless::Vec;
use serde::{Deserialize, Serialize};

use crate::{Error, Result, Shape};

/// Most inputs (and most outputs) a model has.
pub const MAX_MODEL_IO: usize = 8;
/// Most input tensors one node reads (a merge of up to 8 tensors).
pub const MAX_NODE_INPUTS: usize = 8;

/// The record after the layer records (format v3): the model's inputs and outputs and the
/// number of [`NodeDesc`] records that follow it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    /// Shapes (without batch) of the model's inputs, in Keras's `model.inputs` order.
    pub inputs: Vec<Shape, MAX_MODEL_IO>,
    /// Number of node records that follow.
    pub nodes: u16,
    /// Tensor ids of the model's outputs, in Keras's `model.outputs` order.
    pub outputs: Vec<u16, MAX_MODEL_IO>,
}

/// One layer call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDesc {
    /// Index of the layer record called.
    pub layer: u16,
    /// Tensor ids read, in call order (one for most layers, several for merges).
    pub inputs: Vec<u16, MAX_NODE_INPUTS>,
    /// Keras's `TimeDistributed` wrapper: the layer runs on every step of axis 1 (the
    /// input `(batch, steps, …)` is processed as `batch·steps` samples of shape `(…)`).
    pub time_distributed: bool,
}

impl NodeDesc {
    /// A call of layer `layer` on the tensors `inputs` ([`Error::InvalidConfig`] for more
    /// than [`MAX_NODE_INPUTS`]).
    pub fn call(layer: u16, inputs: &[u16]) -> Result<Self> {
        Ok(NodeDesc {
            layer,
            inputs: Vec::from_slice(inputs)
                .map_err(|_| Error::InvalidConfig("too many inputs for one node"))?,
            time_distributed: false,
        })
    }

    /// The same call under Keras's `TimeDistributed`.
    pub fn time_distributed(self) -> Self {
        NodeDesc {
            time_distributed: true,
            ..self
        }
    }
}

/// The topology of a v1/v2 blob, which has none: a chain where node `k` calls layer `k` on
/// tensor `k`, and the last tensor is the output. Also what [`crate::blob::write()`] writes
/// for a sequential model.
pub fn chain(input: Shape, layers: usize) -> Result<Topology> {
    let last = u16::try_from(layers).map_err(|_| Error::InvalidConfig("too many layers"))?;
    let mut inputs = Vec::new();
    let _ = inputs.push(input);
    let mut outputs = Vec::new();
    let _ = outputs.push(last);
    Ok(Topology {
        inputs,
        nodes: last,
        outputs,
    })
}

/// Node `k` of a chain ([`chain`]).
pub fn chain_node(k: u16) -> NodeDesc {
    let mut inputs = Vec::new();
    let _ = inputs.push(k);
    NodeDesc {
        layer: k,
        inputs,
        time_distributed: false,
    }
}

/// Iterator over the node records; a decoding error ends the iteration with one `Err`.
/// For blobs without a topology (v1, v2) it yields the chain's nodes.
#[derive(Debug, Clone)]
pub struct NodeDescs<'a> {
    rest: &'a [u8],
    next: u16,
    count: u16,
    /// `true` for a synthesized chain (nothing to decode).
    chain: bool,
}

impl<'a> NodeDescs<'a> {
    pub(super) fn decoded(rest: &'a [u8], count: u16) -> Self {
        NodeDescs {
            rest,
            next: 0,
            count,
            chain: false,
        }
    }

    /// The training record that follows the node records, once every node record has
    /// been read (`None` for a chain synthesized from a v1/v2 blob). Reading it earlier is
    /// [`Error::MalformedBlob`].
    pub(crate) fn training(&self) -> Result<Option<super::TrainingDesc>> {
        if self.chain {
            return Ok(None);
        }
        if self.next < self.count {
            return Err(Error::MalformedBlob(
                "training record read before the node records",
            ));
        }
        super::training::decode(self.rest)
    }

    pub(super) fn chain(count: u16) -> Self {
        NodeDescs {
            rest: &[],
            next: 0,
            count,
            chain: true,
        }
    }
}

impl Iterator for NodeDescs<'_> {
    type Item = Result<NodeDesc>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.count {
            return None;
        }
        let k = self.next;
        self.next += 1;
        if self.chain {
            return Some(Ok(chain_node(k)));
        }
        match postcard::take_from_bytes::<NodeDesc>(self.rest) {
            Ok((d, rest)) => {
                self.rest = rest;
                Some(Ok(d))
            }
            Err(_) => {
                self.next = self.count;
                Some(Err(Error::MalformedBlob("undecodable node record")))
            }
        }
    }
}

/// Decodes the topology record at the start of `bytes` (what follows the last layer
/// record).
pub(super) fn decode(bytes: &[u8]) -> Result<(Topology, &[u8])> {
    let (t, rest) = postcard::take_from_bytes::<Topology>(bytes)
        .map_err(|_| Error::MalformedBlob("undecodable topology record"))?;
    for s in &t.inputs {
        s.validate()?;
    }
    Ok((t, rest))
}

/// The shapes of node `node`'s input tensors, looked up in the shapes of every tensor
/// created so far.
pub fn input_shapes(node: &NodeDesc, tensors: &[Shape]) -> Result<Vec<Shape, MAX_NODE_INPUTS>> {
    let mut shapes = Vec::new();
    for &t in &node.inputs {
        let s = tensors.get(t as usize).ok_or(Error::MalformedBlob(
            "node reads a tensor that does not exist yet",
        ))?;
        // Capacity equals the node's input capacity.
        let _ = shapes.push(*s);
    }
    Ok(shapes)
}

/// Shapes of one call, given its input tensors' shapes: the layer's input and output
/// shapes as the layer sees it (its first input; without the steps axis under
/// `TimeDistributed`), and the node's output shape.
pub fn node_shapes(
    config: &crate::layers::LayerConfig,
    node: &NodeDesc,
    shapes: &[Shape],
) -> Result<NodeShapes> {
    let first = *shapes
        .first()
        .ok_or(Error::MalformedBlob("node without inputs"))?;
    if !node.time_distributed {
        let out = config.output_shape_n(shapes)?;
        return Ok(NodeShapes {
            layer_input: first,
            layer_output: out,
            output: out,
        });
    }
    if shapes.len() != 1 || first.rank() < 2 {
        return Err(Error::InvalidConfig(
            "TimeDistributed needs one input of shape (steps, ...)",
        ));
    }
    if config.state_tensors() > 0 {
        return Err(Error::InvalidConfig(
            "TimeDistributed around a layer with state (BatchNormalization) is not supported",
        ));
    }
    let dims = first.dims();
    let inner = shape_of(&dims[1..])?;
    let out = config.output_shape(inner)?;
    let mut all = [0usize; 5];
    all[0] = dims[0] as usize;
    if out.rank() + 1 > all.len() {
        return Err(Error::InvalidShape);
    }
    for (d, &o) in all[1..].iter_mut().zip(out.dims()) {
        *d = o as usize;
    }
    Ok(NodeShapes {
        layer_input: inner,
        layer_output: out,
        output: Shape::new(&all[..out.rank() + 1])?,
    })
}

/// See [`node_shapes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeShapes {
    /// The layer's (first) input shape as the layer sees it.
    pub layer_input: Shape,
    /// The layer's output shape as the layer sees it.
    pub layer_output: Shape,
    /// The node's output tensor shape.
    pub output: Shape,
}

fn shape_of(dims: &[u32]) -> Result<Shape> {
    let mut d = [0usize; 5];
    for (o, &i) in d.iter_mut().zip(dims) {
        *o = i as usize;
    }
    Shape::new(&d[..dims.len()])
}

/// Checks a model's output ids against the number of tensors.
pub(crate) fn check_outputs(outputs: &[u16], tensors: usize) -> Result<()> {
    if outputs.is_empty() {
        return Err(Error::MalformedBlob("model without outputs"));
    }
    if outputs.iter().any(|&o| o as usize >= tensors) {
        return Err(Error::MalformedBlob(
            "model output is not a tensor of the model",
        ));
    }
    Ok(())
}
