//! Functional and nested models (and `TimeDistributed`) → a graph blob.
//!
//! The reader flattens nested models and lists every layer call as a
//! [`crate::keras::KerasNode`]; each Keras call becomes one Ember node per Ember layer the
//! Keras layer lowers to (`Dense(gelu)` → a `Dense` node then an `Activation` node), so a
//! shared Keras layer stays one set of weights however often it is called.

use std::borrow::Cow;

use ember_nn::blob::{node_shapes, NodeDesc, TrainingDesc};
use ember_nn::layers::MaskRule;
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
    let (mut lowered, spans, call_outputs) = lower(effective)?;
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
        .map(|i| shape_of(&i.shape, options.sequence_length))
        .collect::<Result<Vec<Shape>>>()?;
    let n_in = inputs.len();
    let mut shapes = inputs.clone();
    let mut keras_out: Vec<u16> = Vec::with_capacity(g.nodes.len());
    // Per Keras node: the tensors of all its outputs when it returns several.
    let mut keras_outs: Vec<Vec<u16>> = Vec::with_capacity(g.nodes.len());
    let mut nodes: Vec<NodeDesc> = Vec::new();
    let mut checked = vec![false; lowered.len()];
    // Keras 3's mask plumbing: per Keras node, the token ids a `NotEqual(ids, 0)` call
    // read (that call makes no Ember node), and per Keras node its first Ember node.
    let mut not_equal: Vec<Option<u16>> = Vec::with_capacity(g.nodes.len());
    let mut first_node: Vec<Option<usize>> = Vec::with_capacity(g.nodes.len());
    for kn in &g.nodes {
        let keras_layer = effective.get(kn.layer).ok_or_else(|| {
            Error::Config(format!(
                "graph node calls layer {} which does not exist",
                kn.layer
            ))
        })?;
        if keras_layer.0.class_name == MASK_OP {
            let ids = match kn.inputs.as_slice() {
                [r] => tensor_id(*r, n_in, &keras_out, &keras_outs)?,
                _ => return Err(mask_plumbing_error()),
            };
            not_equal.push(Some(ids));
            first_node.push(None);
            keras_out.push(u16::MAX);
            keras_outs.push(Vec::new());
            continue;
        }
        not_equal.push(None);
        first_node.push(Some(nodes.len()));
        let span = spans.get(kn.layer).cloned().ok_or_else(|| {
            Error::Config(format!(
                "graph node calls layer {} which does not exist",
                kn.layer
            ))
        })?;
        let td = keras_layer.1;
        let mut ins = kn
            .inputs
            .iter()
            .map(|r| tensor_id(*r, n_in, &keras_out, &keras_outs))
            .collect::<Result<Vec<u16>>>()?;
        if ins.contains(&u16::MAX) {
            return Err(mask_plumbing_error());
        }
        let mut call_inputs: Vec<Shape> = Vec::new();
        for e in span.clone() {
            let lw = &lowered[e];
            let index = u16::try_from(e).map_err(|_| Error::Config("too many layers".into()))?;
            let node = NodeDesc::call(index, &ins).map_err(|err| in_layer(lw, err))?;
            let node = if td { node.time_distributed() } else { node };
            let here: Vec<Shape> = ins.iter().map(|&t| shapes[t as usize]).collect();
            let io = node_shapes(&lw.config, &node, &here).map_err(|err| in_layer(lw, err))?;
            call_inputs = here;
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
        // A call with several outputs: one Slice node per output of its flat result.
        let slices = call_outputs.get(kn.layer).cloned().unwrap_or(0..0);
        let mut outs = Vec::new();
        if !slices.is_empty() {
            let last = span
                .end
                .checked_sub(1)
                .ok_or_else(|| Error::Config("empty layer".into()))?;
            let parts = lowered[last]
                .config
                .output_parts(&call_inputs)
                .map_err(|err| in_layer(&lowered[last], err))?;
            if parts.len() != slices.len() {
                return Err(in_layer(&lowered[last], ember_nn::Error::InvalidShape));
            }
            let mut start = 0u32;
            for (e, part) in slices.zip(parts.iter()) {
                let config = ember_nn::layers::LayerConfig::Slice(ember_nn::layers::Slice {
                    start,
                    shape: *part,
                });
                start += u32::try_from(part.len())
                    .map_err(|_| Error::Config("output too large".into()))?;
                if checked[e] && lowered[e].config != config {
                    return Err(Error::Config(format!(
                        "shared layer `{}` returns outputs of different shapes on different \
                         calls, which one Ember layer cannot",
                        lowered[last].keras.name
                    )));
                }
                lowered[e].config = config;
                checked[e] = true;
                let index =
                    u16::try_from(e).map_err(|_| Error::Config("too many layers".into()))?;
                nodes.push(NodeDesc::call(index, &ins).map_err(|err| in_layer(&lowered[e], err))?);
                shapes.push(*part);
                outs.push(
                    u16::try_from(shapes.len() - 1)
                        .map_err(|_| Error::Config("too many layer calls".into()))?,
                );
            }
            if let Some(k) = keras_out.last_mut() {
                *k = outs[0];
            }
        }
        keras_outs.push(outs);
    }
    let outputs = g
        .outputs
        .iter()
        .map(|r| tensor_id(*r, n_in, &keras_out, &keras_outs))
        .collect::<Result<Vec<u16>>>()?;
    if outputs.contains(&u16::MAX) {
        return Err(mask_plumbing_error());
    }
    let params = lowered_params(&lowered);
    let topology = Topology::Graph {
        inputs,
        nodes,
        outputs,
    };
    let blob = match options.dtype {
        DTypeChoice::F32 => encode::<f32>(model, &topology, &lowered, &params, training)?,
        DTypeChoice::Fixed => {
            encode::<Q16_16>(model, &topology, &lowered, &fixed(&params), training)?
        }
    };
    check_masks(g, &blob, options.dtype, &not_equal, &first_node)?;
    Ok(blob)
}

/// The Keras op Keras 3 writes for the mask of `Embedding(mask_zero=True)`.
const MASK_OP: &str = "NotEqual";

fn mask_plumbing_error() -> Error {
    Error::Config(format!(
        "`{MASK_OP}` calls are supported only as Keras's mask plumbing: `{MASK_OP}(ids, 0)` \
         passed as `mask=` to the layers that use the mask"
    ))
}

/// Keras 3 passes the mask explicitly (`mask=NotEqual(ids, 0)`); Ember derives it from
/// `Embedding(mask_zero=True)` ([`ember_nn::layers::MaskRule`]). The two must agree on
/// every layer that uses a mask, or the blob would compute something else than Keras.
fn check_masks(
    g: &KerasGraph,
    blob: &AlignedBytes,
    dtype: DTypeChoice,
    not_equal: &[Option<u16>],
    first_node: &[Option<usize>],
) -> Result<()> {
    if g.nodes.iter().all(|n| n.mask.is_none()) && not_equal.iter().all(Option::is_none) {
        return Ok(());
    }
    // The re-read graph lives on the stack (no heap in the core): give it room.
    let derived = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn_scoped(s, || match dtype {
                DTypeChoice::F32 => derived_masks::<f32>(blob),
                DTypeChoice::Fixed => derived_masks::<Q16_16>(blob),
            })
            .map_err(|e| Error::Config(format!("cannot check the masks: {e}")))?
            .join()
            .map_err(|_| Error::Config("the mask check failed".into()))?
    })?;
    for (n, kn) in g.nodes.iter().enumerate() {
        let Some(e) = first_node[n] else { continue };
        let keras = match kn.mask {
            None => None,
            Some(TensorRef::Node(m)) => match not_equal.get(m).copied().flatten() {
                Some(ids) => Some(ids),
                None => return Err(mask_plumbing_error()),
            },
            Some(TensorRef::Input(_) | TensorRef::Output(..)) => return Err(mask_plumbing_error()),
        };
        let (ours, rule, name) = &derived[e];
        let consumes = matches!(rule, MaskRule::Consumes | MaskRule::ConsumesAndKeeps);
        if consumes && *ours != keras {
            return Err(Error::Config(format!(
                "layer `{name}`: Keras passes it the mask of token ids {keras:?}, Ember derives \
                 {ours:?} from Embedding(mask_zero=True); only masks made by an Embedding and \
                 passed on by layers that keep masks are supported"
            )));
        }
    }
    Ok(())
}

/// Per Ember node: the mask Ember derives on its input, its layer's mask rule and name.
fn derived_masks<T: ember_nn::Scalar>(
    blob: &AlignedBytes,
) -> Result<Vec<(Option<u16>, MaskRule, String)>> {
    let graph = ember_nn::model::Graph::<T, MAX_CHECKED_NODES>::parse(blob.as_slice())?;
    Ok(graph
        .nodes()
        .iter()
        .map(|n| {
            let l = &graph.layers()[n.layer];
            (n.input_mask, l.config.mask_rule(), l.name.to_string())
        })
        .collect())
}

/// Capacity used to re-read a converted graph on the host.
const MAX_CHECKED_NODES: usize = 512;

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
            mask: None,
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

/// The Ember tensor id of a Keras tensor reference (`keras_outs`: every output of the
/// calls that return several).
fn tensor_id(r: TensorRef, n_in: usize, keras_out: &[u16], keras_outs: &[Vec<u16>]) -> Result<u16> {
    match r {
        TensorRef::Output(n, k) => keras_outs
            .get(n)
            .and_then(|o| o.get(k))
            .copied()
            .ok_or_else(|| {
                Error::Config(format!(
                    "graph refers to output {k} of call {n}, which it does not have"
                ))
            }),
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
