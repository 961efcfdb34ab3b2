//! A [`ModelTree`] → the flat call graph of its leaf layers ([`KerasGraph`]).
//!
//! Every call of every leaf layer becomes one [`KerasNode`]; nested models are flattened:
//! a nested `Sequential` becomes a chain of calls on the tensor it was called with, a
//! nested `Functional` is inlined with its inputs bound to the tensors the outer call
//! passed. A nested model called twice is inlined twice (its layers, and so their weights,
//! stay shared: both copies' nodes point at the same [`super::KerasLayer`]).
//!
//! Calls are processed the way Keras's `functional_from_config` does: pass after pass over
//! the layers in config order, each layer's calls in order, a call as soon as all its input
//! tensors exist. The resulting node order is therefore topological (a node only refers to
//! inputs and earlier nodes), and a config whose calls can never all run (a cycle, or a
//! reference to a call that is never made) is refused.
//!
//! Node indices in tensor references are numbered as Keras numbers them in the file, which
//! differs between dialects (checked against Keras 3.15 and tf.keras 2.21 files):
//!
//! * Keras 3 ([`Dialect::Keras3`]): a call argument's `keras_history` counts the producing
//!   layer's calls from 0. In `output_layers` (and `input_layers`), a nested `Functional`
//!   counts from 1 (Keras: `Functional.get_config` keeps a slot for the node a Functional
//!   model is built with; `functional_from_config`'s `get_tensor` subtracts it again). A
//!   nested `Sequential` counts from 0 everywhere.
//! * Legacy ([`Dialect::Legacy`], tf.keras 2): a nested model whose config starts with an
//!   `InputLayer` (every `Functional`, and a `Sequential` built on an input) counts its
//!   calls from 1 everywhere (tf.keras: `_should_skip_first_node`); other layers from 0.
//!
//! A leaf layer has exactly one output tensor; a reference to another output index is
//! refused. A nested model may have several outputs, picked by the tensor index.

use std::collections::HashMap;

use super::tree::{Dialect, EntryKind, ModelTree, NodeRef};
use super::{KerasGraph, KerasInput, KerasNode, TensorRef};
use crate::error::{Error, Result};

/// Most layer calls a flattened graph may hold (guards against nested models that call
/// each other so often the inlined graph explodes).
pub const MAX_NODES: usize = 1 << 20;

/// Flatten `tree` (a top-level model) into its call graph.
///
/// A top-level `Sequential` has one input, named after its `InputLayer` (or `"input"` when
/// the config has none), shaped by [`ModelTree::input_shape`].
///
/// # Errors
///
/// [`Error::Config`] if a tensor reference names an unknown layer or a call that does not
/// exist, asks a leaf layer for an output other than its first, the calls cannot all be
/// ordered (a cycle), `input_layers` does not name `InputLayer`s, a nested model is called
/// with a different number of tensors than it has inputs (a `Sequential` takes exactly
/// one), a model inside a `Sequential` has several outputs, an `InputLayer` is called, the
/// graph grows beyond [`MAX_NODES`] calls, or a `Sequential` has no input shape.
pub fn build_graph(tree: &ModelTree, outputs: &[usize]) -> Result<KerasGraph> {
    let mut builder = Builder {
        nodes: Vec::new(),
        outputs,
    };
    let inputs = if tree.class_name == "Sequential" {
        let shape = tree.input_shape.clone().ok_or_else(no_input_shape)?;
        let name = tree
            .entries
            .iter()
            .find(|e| matches!(e.kind, EntryKind::Input(_)))
            .map_or_else(|| "input".to_owned(), |e| e.name.clone());
        vec![KerasInput { name, shape }]
    } else {
        tree.inputs
            .iter()
            .map(|r| {
                let entry = tree.entries.iter().find(|e| e.name == r.layer);
                match entry.map(|e| &e.kind) {
                    Some(EntryKind::Input(shape)) if r.node == 0 && r.tensor == 0 => {
                        Ok(KerasInput {
                            name: r.layer.clone(),
                            shape: shape.clone(),
                        })
                    }
                    _ => Err(Error::Config(format!(
                        "model `{}`: `input_layers` entry [{}, {}, {}] is not an `InputLayer` \
                         of the model",
                        tree.name, r.layer, r.node, r.tensor
                    ))),
                }
            })
            .collect::<Result<Vec<_>>>()?
    };
    let args: Vec<TensorRef> = (0..inputs.len()).map(TensorRef::Input).collect();
    let outputs = builder.expand(tree, &args, 0)?;
    Ok(KerasGraph {
        inputs,
        nodes: builder.nodes,
        outputs,
    })
}

/// The error for a `Sequential` without any input shape.
pub fn no_input_shape() -> Error {
    Error::Config(
        "the model has no input shape: it has no `InputLayer` and was never built \
         (start the model with `keras.Input(shape)` before saving)"
            .into(),
    )
}

/// Whether `graph` is the chain a plain `Sequential` of `layer_count` layers describes:
/// one input, layer `i` called once as node `i` on the previous node, one output.
pub fn is_plain_chain(graph: &KerasGraph, layer_count: usize) -> bool {
    let chain = graph.nodes.iter().enumerate().all(|(i, node)| {
        let prev = i
            .checked_sub(1)
            .map_or(TensorRef::Input(0), TensorRef::Node);
        node.layer == i && node.inputs == [prev]
    });
    let last = graph
        .nodes
        .len()
        .checked_sub(1)
        .map_or(TensorRef::Input(0), TensorRef::Node);
    graph.inputs.len() == 1 && graph.nodes.len() == layer_count && chain && graph.outputs == [last]
}

/// Accumulates the flattened nodes.
struct Builder<'o> {
    /// Nodes so far, in topological order.
    nodes: Vec<KerasNode>,
    /// How many tensors a call of each leaf layer returns.
    outputs: &'o [usize],
}

impl Builder<'_> {
    /// Append the calls of `model` applied to `args`; return its output tensors.
    fn expand(
        &mut self,
        model: &ModelTree,
        args: &[TensorRef],
        depth: usize,
    ) -> Result<Vec<TensorRef>> {
        if depth > super::tree::MAX_NESTING {
            return Err(Error::Config(format!(
                "models are nested more than {} deep",
                super::tree::MAX_NESTING
            )));
        }
        if model.class_name == "Sequential" {
            self.sequential(model, args, depth)
        } else {
            self.functional(model, args, depth)
        }
    }

    /// Append one call of leaf layer `layer` on `inputs`; return its output.
    fn push(
        &mut self,
        layer: usize,
        inputs: Vec<TensorRef>,
        mask: Option<TensorRef>,
    ) -> Result<TensorRef> {
        if self.nodes.len() >= MAX_NODES {
            return Err(Error::Config(format!(
                "the flattened model has more than {MAX_NODES} layer calls"
            )));
        }
        self.nodes.push(KerasNode {
            layer,
            inputs,
            mask,
        });
        Ok(TensorRef::Node(self.nodes.len() - 1))
    }

    /// A `Sequential` called on `args` (exactly one tensor): a chain.
    fn sequential(
        &mut self,
        model: &ModelTree,
        args: &[TensorRef],
        depth: usize,
    ) -> Result<Vec<TensorRef>> {
        let [mut current] = *args else {
            return Err(Error::Config(format!(
                "Sequential model `{}` is called with {} tensors; it takes exactly one",
                model.name,
                args.len()
            )));
        };
        for entry in &model.entries {
            current = match &entry.kind {
                EntryKind::Input(_) => continue,
                EntryKind::Leaf(index) => self.push(*index, vec![current], None)?,
                EntryKind::Model(inner) => {
                    let outs = self.expand(inner, &[current], depth + 1)?;
                    match outs.as_slice() {
                        [one] => *one,
                        _ => {
                            return Err(Error::Config(format!(
                                "model `{}` inside Sequential `{}` has {} outputs; a layer of \
                                 a Sequential must have exactly one",
                                entry.name,
                                model.name,
                                outs.len()
                            )))
                        }
                    }
                }
            };
        }
        Ok(vec![current])
    }

    /// A `Functional` called on `args` (one tensor per model input).
    fn functional(
        &mut self,
        model: &ModelTree,
        args: &[TensorRef],
        depth: usize,
    ) -> Result<Vec<TensorRef>> {
        let what = format!("model `{}`", model.name);
        if args.len() != model.inputs.len() {
            return Err(Error::Config(format!(
                "{what} has {} inputs but is called with {} tensors",
                model.inputs.len(),
                args.len()
            )));
        }
        let index: HashMap<&str, usize> = model
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.as_str(), i))
            .collect();
        let mut produced: HashMap<(usize, usize), Vec<TensorRef>> = HashMap::new();
        for (r, arg) in model.inputs.iter().zip(args) {
            let entry = index.get(r.layer.as_str()).copied();
            let is_input = entry
                .and_then(|i| model.entries.get(i))
                .is_some_and(|e| matches!(e.kind, EntryKind::Input(_)));
            match entry {
                Some(i) if is_input && r.node == 0 && r.tensor == 0 => {
                    if produced.insert((i, 0), vec![*arg]).is_some() {
                        return Err(Error::Config(format!(
                            "{what}: `input_layers` lists `{}` twice",
                            r.layer
                        )));
                    }
                }
                _ => {
                    return Err(Error::Config(format!(
                        "{what}: `input_layers` entry [{}, {}, {}] is not an `InputLayer` of \
                         the model",
                        r.layer, r.node, r.tensor
                    )))
                }
            }
        }
        let resolver = Resolver {
            model,
            index: &index,
            what: &what,
        };

        let mut next = vec![0usize; model.entries.len()];
        loop {
            let mut progress = false;
            let mut waiting = false;
            for (ei, entry) in model.entries.iter().enumerate() {
                let Some(pending) = next.get_mut(ei) else {
                    continue;
                };
                while let Some(call) = entry.calls.get(*pending) {
                    let mut inputs = Vec::with_capacity(call.len());
                    for r in call {
                        match resolver.resolve(r, false, &produced)? {
                            Some(t) => inputs.push(t),
                            None => break,
                        }
                    }
                    if inputs.len() < call.len() {
                        waiting = true;
                        break;
                    }
                    let mask = match entry.masks.get(*pending).cloned().flatten() {
                        None => None,
                        Some(m) => match resolver.resolve(&m, false, &produced)? {
                            Some(t) => Some(t),
                            None => {
                                waiting = true;
                                break;
                            }
                        },
                    };
                    let outs = match &entry.kind {
                        EntryKind::Leaf(layer) => {
                            let first = self.push(*layer, inputs, mask)?;
                            let n = self.nodes.len() - 1;
                            let count = self.outputs.get(*layer).copied().unwrap_or(1);
                            let mut outs = vec![first];
                            outs.extend((1..count).map(|k| TensorRef::Output(n, k)));
                            outs
                        }
                        EntryKind::Model(inner) => self.expand(inner, &inputs, depth + 1)?,
                        EntryKind::Input(_) => {
                            return Err(Error::Config(format!(
                                "{what}: `InputLayer` `{}` is called like a layer",
                                entry.name
                            )))
                        }
                    };
                    produced.insert((ei, *pending), outs);
                    *pending += 1;
                    progress = true;
                }
            }
            if !waiting {
                break;
            }
            if !progress {
                let stuck: Vec<&str> = model
                    .entries
                    .iter()
                    .zip(&next)
                    .filter(|(e, n)| **n < e.calls.len())
                    .map(|(e, _)| e.name.as_str())
                    .collect();
                return Err(Error::Config(format!(
                    "{what}: the calls of {stuck:?} can never run: their inputs depend on \
                     each other (a cycle) or on a tensor no call produces"
                )));
            }
        }

        model
            .outputs
            .iter()
            .map(|r| {
                resolver.resolve(r, true, &produced)?.ok_or_else(|| {
                    Error::Config(format!(
                        "{what}: output [{}, {}, {}] is never produced",
                        r.layer, r.node, r.tensor
                    ))
                })
            })
            .collect()
    }
}

/// Resolves tensor references within one `Functional` model.
struct Resolver<'a> {
    /// The model.
    model: &'a ModelTree,
    /// Entry index by layer name.
    index: &'a HashMap<&'a str, usize>,
    /// `model `name``, for messages.
    what: &'a str,
}

impl Resolver<'_> {
    /// The tensor `r` names, `None` if its call has not run yet. `in_io` says `r` comes
    /// from `input_layers`/`output_layers` (where Keras 3 numbers a nested Functional's
    /// calls from 1).
    fn resolve(
        &self,
        r: &NodeRef,
        in_io: bool,
        produced: &HashMap<(usize, usize), Vec<TensorRef>>,
    ) -> Result<Option<TensorRef>> {
        let what = self.what;
        let ei = *self.index.get(r.layer.as_str()).ok_or_else(|| {
            Error::Config(format!(
                "{what}: a tensor reference names layer `{}`, which is not in the model",
                r.layer
            ))
        })?;
        let entry = self
            .model
            .entries
            .get(ei)
            .ok_or_else(|| Error::Config(format!("{what}: internal index error")))?;
        let skipped = match &entry.kind {
            EntryKind::Model(inner) => match self.model.dialect {
                Dialect::Keras3 => in_io && inner.class_name == "Functional",
                Dialect::Legacy => inner
                    .entries
                    .first()
                    .is_some_and(|e| matches!(e.kind, EntryKind::Input(_))),
            },
            _ => false,
        };
        let bad_node = |count: usize| {
            Error::Config(format!(
                "{what}: tensor reference [{}, {}, {}] names call #{} of `{}`, which has {count} \
                 call(s) in the model",
                r.layer, r.node, r.tensor, r.node, r.layer
            ))
        };
        let count = match entry.kind {
            EntryKind::Input(_) => 1,
            _ => entry.calls.len(),
        };
        let call = if skipped {
            r.node.checked_sub(1).ok_or_else(|| bad_node(count))?
        } else {
            r.node
        };
        if call >= count {
            return Err(bad_node(count));
        }
        if let EntryKind::Input(_) = entry.kind {
            if !produced.contains_key(&(ei, 0)) {
                return Err(Error::Config(format!(
                    "{what}: `InputLayer` `{}` is used but is not listed in `input_layers`",
                    r.layer
                )));
            }
        }
        let Some(outs) = produced.get(&(ei, call)) else {
            return Ok(None);
        };
        match outs.get(r.tensor) {
            Some(t) => Ok(Some(*t)),
            None => Err(Error::Config(match entry.kind {
                EntryKind::Model(_) => format!(
                    "{what}: tensor reference [{}, {}, {}] asks for output #{} of nested model \
                     `{}`, which has {} output(s)",
                    r.layer,
                    r.node,
                    r.tensor,
                    r.tensor,
                    r.layer,
                    outs.len()
                ),
                _ => format!(
                    "{what}: tensor reference [{}, {}, {}] asks for output #{} of layer `{}` \
                     ({}); layers with several outputs are not supported",
                    r.layer, r.node, r.tensor, r.tensor, r.layer, entry.class_name
                ),
            })),
        }
    }
}
