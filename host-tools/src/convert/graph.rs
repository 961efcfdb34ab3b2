//! Functional and nested models (and `TimeDistributed`) → a graph blob.
//!
//! The reader flattens nested models and lists every layer call as a
//! [`crate::keras::KerasNode`]; each Keras call becomes one Ember node per Ember layer the
//! Keras layer lowers to (`Dense(gelu)` → a `Dense` node then an `Activation` node), so a
//! shared Keras layer stays one set of weights however often it is called.

use std::borrow::Cow;

use ember_nn::blob::{node_shapes, NodeDesc, TrainingDesc};
use ember_nn::{Shape, Q16_16};

use super::{
    check_weights, encode, fixed, lower, lowered_params, shape_of, ConvertOptions, DTypeChoice,
    Lowered, Topology,
};
use crate::blob_file::AlignedBytes;
use crate::keras::{KerasGraph, KerasInput, KerasLayer, KerasModel, KerasNode, TensorRef};
use crate::{Error, Result};

/// Converts a model whose layers are connected by `model.graph` (or, without one, a
/// `Sequential` chain that needs graph records: `TimeDistributed`).
pub(super) fn convert_graph(
    model: &KerasModel,
    effective: &[(Cow<'_, KerasLayer>, bool)],
    options: &ConvertOptions,
    training: Option<&TrainingDesc>,
) -> Result<AlignedBytes> {
    if options.fold_batchnorm {
        return Err(Error::Config(
            "--fold-batchnorm folds Sequential models only; this model is functional, \
             nested or uses TimeDistributed"
                .into(),
        ));
    }
    let (lowered, spans) = lower(effective)?;
    let chain;
    let g: &KerasGraph = match &model.graph {
        Some(g) => g,
        None => {
            chain = chain_graph(model);
            &chain
        }
    };
    let inputs = g
        .inputs
        .iter()
        .map(|i| shape_of(&i.shape))
        .collect::<Result<Vec<Shape>>>()?;
    let n_in = inputs.len();
    let mut shapes = inputs.clone();
    let mut keras_out: Vec<u16> = Vec::with_capacity(g.nodes.len());
    let mut nodes: Vec<NodeDesc> = Vec::new();
    let mut checked = vec![false; lowered.len()];
    for kn in &g.nodes {
        let span = spans.get(kn.layer).cloned().ok_or_else(|| {
            Error::Config(format!(
                "graph node calls layer {} which does not exist",
                kn.layer
            ))
        })?;
        let td = effective[kn.layer].1;
        let mut ins = kn
            .inputs
            .iter()
            .map(|r| tensor_id(*r, n_in, &keras_out))
            .collect::<Result<Vec<u16>>>()?;
        for e in span {
            let lw = &lowered[e];
            let index = u16::try_from(e).map_err(|_| Error::Config("too many layers".into()))?;
            let node = NodeDesc::call(index, &ins).map_err(|err| in_layer(lw, err))?;
            let node = if td { node.time_distributed() } else { node };
            let here: Vec<Shape> = ins.iter().map(|&t| shapes[t as usize]).collect();
            let io = node_shapes(&lw.config, &node, &here).map_err(|err| in_layer(lw, err))?;
            if !checked[e] {
                check_weights(lw, io.layer_input)?;
                checked[e] = true;
            }
            shapes.push(io.output);
            ins = vec![u16::try_from(shapes.len() - 1)
                .map_err(|_| Error::Config("too many layer calls".into()))?];
            nodes.push(node);
        }
        keras_out.push(ins[0]);
    }
    let outputs = g
        .outputs
        .iter()
        .map(|r| tensor_id(*r, n_in, &keras_out))
        .collect::<Result<Vec<u16>>>()?;
    let params = lowered_params(&lowered);
    let topology = Topology::Graph {
        inputs,
        nodes,
        outputs,
    };
    match options.dtype {
        DTypeChoice::F32 => encode::<f32>(model, &topology, &lowered, &params, training),
        DTypeChoice::Fixed => {
            encode::<Q16_16>(model, &topology, &lowered, &fixed(&params), training)
        }
    }
}

/// A `Sequential` model as a graph: one input, each layer called on the previous output.
fn chain_graph(model: &KerasModel) -> KerasGraph {
    let nodes: Vec<KerasNode> = (0..model.layers.len())
        .map(|k| KerasNode {
            layer: k,
            inputs: vec![if k == 0 {
                TensorRef::Input(0)
            } else {
                TensorRef::Node(k - 1)
            }],
        })
        .collect();
    let last = nodes.len().checked_sub(1);
    KerasGraph {
        inputs: vec![KerasInput {
            name: "input".into(),
            shape: model.input_shape.clone(),
        }],
        nodes,
        outputs: vec![last.map_or(TensorRef::Input(0), TensorRef::Node)],
    }
}

/// The Ember tensor id of a Keras tensor reference.
fn tensor_id(r: TensorRef, n_in: usize, keras_out: &[u16]) -> Result<u16> {
    match r {
        TensorRef::Input(i) if i < n_in => {
            u16::try_from(i).map_err(|_| Error::Config("too many inputs".into()))
        }
        TensorRef::Node(n) if n < keras_out.len() => Ok(keras_out[n]),
        _ => Err(Error::Config(format!(
            "graph refers to tensor {r:?}, which is not computed before it is used"
        ))),
    }
}

/// A core error while placing layer `lw` in the graph, with the Keras layer named.
fn in_layer(lw: &Lowered<'_>, err: ember_nn::Error) -> Error {
    Error::Config(format!(
        "layer `{}` ({}): {err}",
        lw.keras.name, lw.keras.class_name
    ))
}
