//! A model config → the tree of models and layers it describes ([`ModelTree`]).
//!
//! Keras serialises a model (`Sequential` or `Functional`) as `{"class_name", "config"}`
//! where `config.layers` lists the model's layers; a layer that is itself a model
//! (Keras: a `Sequential` or `Functional` used as a layer) carries its own `config.layers`,
//! at any depth. This module parses that nesting once, gives every leaf layer an index
//! into one flat list (depth first, in config order, each layer once), and keeps what the
//! graph builder ([`super::graph`]) and the weight readers need: per model its entries in
//! config order, and for a `Functional` model each layer's calls (`inbound_nodes`) and the
//! model's `input_layers` / `output_layers`.
//!
//! Two spellings of a layer call exist and both are read (checked against files written by
//! Keras 3.15 and tf.keras 2.21):
//!
//! * **Keras 3** ([`Dialect::Keras3`]): `inbound_nodes` is a list of
//!   `{"args": [...], "kwargs": {...}}`; each argument is a serialised tensor
//!   `{"class_name": "__keras_tensor__", "config": {"keras_history": [layer, node, tensor]}}`
//!   or a list of them (a merge layer gets `[[t1, t2]]`).
//! * **Legacy** ([`Dialect::Legacy`], tf.keras 2 and Keras 2): `inbound_nodes` is a list of
//!   calls, each a list of `[layer, node, tensor, {kwargs}]`.
//!
//! Call keyword arguments that do not change inference are accepted (`mask: null`,
//! `training: null` or `false`); any other keyword is refused by name.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::config::{shape_from_value, LayerConfig};
use crate::error::{Error, Result};

/// Keras class names of whole models, which the reader expands instead of keeping as leaf
/// layers.
pub const MODEL_CLASSES: &[&str] = &["Sequential", "Functional", "Model"];
/// Deepest model nesting accepted (guards against absurd or hostile configs).
pub const MAX_NESTING: usize = 32;

/// How a model's config spells layer calls (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Keras 3: `{"args", "kwargs"}` calls with `__keras_tensor__` arguments.
    Keras3,
    /// tf.keras 2 / Keras 2: calls as lists of `[layer, node, tensor, kwargs]`.
    Legacy,
}

/// One model of a config, top-level or nested.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelTree {
    /// `"Sequential"` or `"Functional"` (a legacy `"Model"` is read as `"Functional"`).
    pub class_name: String,
    /// The model's name.
    pub name: String,
    /// The model's `trainable` flag (`true` when absent).
    pub trainable: bool,
    /// The model's layers in config order, `InputLayer`s included.
    pub entries: Vec<Entry>,
    /// `Functional`: `input_layers`, one reference per model input. Empty for `Sequential`.
    pub inputs: Vec<NodeRef>,
    /// `Functional`: `output_layers`, one reference per model output. Empty for
    /// `Sequential`.
    pub outputs: Vec<NodeRef>,
    /// How this model's calls are spelled (`Sequential`s have none; [`Dialect::Keras3`]
    /// then).
    pub dialect: Dialect,
    /// `Sequential`: the input batch shape, from its `InputLayer` or the fallbacks of
    /// [`super::config`]; `None` when the config gives none (only an error for a
    /// top-level `Sequential`). `Functional`: the first input's shape.
    pub input_shape: Option<Vec<Option<usize>>>,
}

/// One layer of a [`ModelTree`], as listed in its `config.layers`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The layer's name.
    pub name: String,
    /// Its Keras class name.
    pub class_name: String,
    /// What the entry is.
    pub kind: EntryKind,
    /// `Functional` only: the layer's calls in `inbound_nodes` order, each as the list of
    /// tensors passed, in call order.
    pub calls: Vec<Vec<NodeRef>>,
    /// Per call, the tensor passed as `mask=` (Keras 3 writes the mask that
    /// `Embedding(mask_zero=True)` attaches as an explicit `NotEqual(ids, 0)` call passed to
    /// the layers that use it); `None` without one.
    pub masks: Vec<Option<NodeRef>>,
}

/// What an [`Entry`] is.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryKind {
    /// An `InputLayer` with its batch shape.
    Input(Vec<Option<usize>>),
    /// A leaf layer: index into [`super::config::ModelConfig::layers`].
    Leaf(usize),
    /// A nested model.
    Model(Box<ModelTree>),
}

/// A tensor reference `[layer, node_index, tensor_index]` as written in the config
/// (`keras_history`, a legacy call input, or an entry of `input_layers` /
/// `output_layers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRef {
    /// The producing layer's name.
    pub layer: String,
    /// Which call of that layer (as numbered in the file; see [`super::graph`]).
    pub node: usize,
    /// Which output of that call.
    pub tensor: usize,
}

/// Parse a model config (`{"class_name", "config"}`) into its tree, appending every leaf
/// layer to `leaves` (each once, depth first in config order).
///
/// # Errors
///
/// [`Error::Config`] if the value is not a `Sequential`/`Functional` config, an entry lacks
/// its `class_name`/`config`/name, a call or tensor reference is malformed, a call passes a
/// keyword argument that is not a known no-op, two layers of one model share a name, two
/// leaf layers anywhere in the model share a name, or models nest deeper than
/// [`MAX_NESTING`].
pub fn parse_tree(value: &Value, leaves: &mut Vec<LayerConfig>) -> Result<ModelTree> {
    let mut names = HashSet::new();
    parse_model(value, leaves, &mut names, 0, true)
}

/// Parse one model (`depth` 0 = top level) whose parents are all trainable if
/// `parent_trainable`.
fn parse_model(
    value: &Value,
    leaves: &mut Vec<LayerConfig>,
    leaf_names: &mut HashSet<String>,
    depth: usize,
    parent_trainable: bool,
) -> Result<ModelTree> {
    if depth > MAX_NESTING {
        return Err(Error::Config(format!(
            "models are nested more than {MAX_NESTING} deep"
        )));
    }
    let top = object(value, "the model config")?;
    let class_name = string(top, "class_name", "the model config")?;
    let functional = match class_name {
        "Sequential" => false,
        "Functional" | "Model" => true,
        other => {
            return Err(Error::Config(format!(
                "the top-level object is a `{other}`, not a Keras model \
                 (expected `Sequential` or `Functional`)"
            )))
        }
    };
    let config = object(field(top, "config", "the model")?, "model `config`")?;
    let name = string(config, "name", "the model config")?.to_owned();
    let what = format!("model `{name}`");
    let trainable = parent_trainable && flag(config, "trainable", &what)?;
    let list = field(config, "layers", &what)?
        .as_array()
        .ok_or_else(|| Error::Config(format!("{what}: `config.layers` is not a list")))?;

    let mut entries: Vec<Entry> = Vec::with_capacity(list.len());
    let mut own_names = HashSet::new();
    let mut dialect = None;
    for (index, raw) in list.iter().enumerate() {
        let ewhat = format!("{what}: layer #{index}");
        let raw_map = object(raw, &ewhat)?;
        let class = string(raw_map, "class_name", &ewhat)?.to_owned();
        let cvalue = field(raw_map, "config", &ewhat)?;
        let cmap = object(cvalue, &format!("{ewhat} `config`"))?;
        let lname = match raw_map.get("name") {
            Some(v) => v
                .as_str()
                .ok_or_else(|| Error::Config(format!("{ewhat}: `name` is not a string")))?,
            None => string(cmap, "name", &format!("{ewhat} `config`"))?,
        }
        .to_owned();
        if !own_names.insert(lname.clone()) {
            return Err(Error::Config(format!(
                "{what}: two layers are named `{lname}`; Keras layer names must be unique"
            )));
        }
        let (calls, masks) = if functional {
            parse_calls(raw_map, &lname, &class, &mut dialect)?
        } else {
            (Vec::new(), Vec::new())
        };
        let kind = if class == "InputLayer" {
            if !functional && index != 0 {
                return Err(Error::Config(format!(
                    "`InputLayer` `{lname}` is layer #{index}; it must come first"
                )));
            }
            let shape = cmap
                .get("batch_shape")
                .or_else(|| cmap.get("batch_input_shape"))
                .ok_or_else(|| {
                    Error::Config(format!(
                        "`InputLayer` `{lname}` has neither `batch_shape` nor `batch_input_shape`"
                    ))
                })?;
            EntryKind::Input(shape_from_value(shape, &format!("`InputLayer` `{lname}`"))?)
        } else if MODEL_CLASSES.contains(&class.as_str()) {
            let inner = parse_model(raw, leaves, leaf_names, depth + 1, trainable)?;
            EntryKind::Model(Box::new(inner))
        } else {
            if !leaf_names.insert(lname.clone()) {
                return Err(Error::Config(format!(
                    "two layers in different nested models are both named `{lname}`; Ember \
                     needs layer names unique across the whole model (rename one)"
                )));
            }
            let own = flag(cmap, "trainable", &format!("layer `{lname}`"))?;
            leaves.push(LayerConfig {
                name: lname.clone(),
                class_name: class.clone(),
                config: cvalue.clone(),
                trainable: trainable && own,
            });
            EntryKind::Leaf(leaves.len() - 1)
        };
        entries.push(Entry {
            name: lname,
            class_name: class,
            kind,
            calls,
            masks,
        });
    }

    let (inputs, outputs, input_shape) = if functional {
        let inputs = refs_of(field(config, "input_layers", &what)?, &what, "input_layers")?;
        let outputs = refs_of(
            field(config, "output_layers", &what)?,
            &what,
            "output_layers",
        )?;
        let first = inputs.first().and_then(|r| {
            entries.iter().find_map(|e| match &e.kind {
                EntryKind::Input(shape) if e.name == r.layer => Some(shape.clone()),
                _ => None,
            })
        });
        (inputs, outputs, first)
    } else {
        let declared = entries.iter().find_map(|e| match &e.kind {
            EntryKind::Input(shape) => Some(shape.clone()),
            _ => None,
        });
        let shape = match declared {
            Some(shape) => Some(shape),
            None => super::config::fallback_input_shape(config, list)?,
        };
        (Vec::new(), Vec::new(), shape)
    };
    Ok(ModelTree {
        class_name: if functional {
            "Functional"
        } else {
            "Sequential"
        }
        .into(),
        name,
        trainable,
        entries,
        inputs,
        outputs,
        dialect: dialect.unwrap_or(Dialect::Keras3),
        input_shape,
    })
}

/// The tensor a call passes as `mask=`, if any.
type MaskRef = Option<NodeRef>;

/// The calls of one `Functional` entry (`inbound_nodes`), noting the dialect in `dialect`
/// and refusing a mix of the two.
fn parse_calls(
    raw: &Map<String, Value>,
    lname: &str,
    class: &str,
    dialect: &mut Option<Dialect>,
) -> Result<(Vec<Vec<NodeRef>>, Vec<MaskRef>)> {
    let what = format!("layer `{lname}`");
    let nodes = field(raw, "inbound_nodes", &what)?
        .as_array()
        .ok_or_else(|| Error::Config(format!("{what}: `inbound_nodes` is not a list")))?;
    let mut calls = Vec::with_capacity(nodes.len());
    let mut masks = Vec::with_capacity(nodes.len());
    // Keras 3's mask plumbing: `NotEqual(ids, 0)`, the one call with a constant argument.
    let zero_ok = class == "NotEqual";
    for (k, node) in nodes.iter().enumerate() {
        let cwhat = format!("{what}, call #{k}");
        let (this, (inputs, mask)) = match node {
            Value::Object(map) => (Dialect::Keras3, keras3_call(map, &cwhat, zero_ok)?),
            Value::Array(list) => (Dialect::Legacy, (legacy_call(list, &cwhat)?, None)),
            other => {
                return Err(Error::Config(format!(
                    "{cwhat}: {other} is neither a Keras 3 call object nor a legacy list"
                )))
            }
        };
        match dialect {
            Some(d) if *d != this => {
                return Err(Error::Config(format!(
                    "{cwhat}: Keras 3 and legacy (tf.keras 2) call formats are mixed in one model"
                )))
            }
            _ => *dialect = Some(this),
        }
        calls.push(inputs);
        masks.push(mask);
    }
    Ok((calls, masks))
}

/// A Keras 3 call `{"args": [...], "kwargs": {...}}` → its input tensors in order, and
/// the tensor passed as `mask=` if any. With `zero_ok`, a constant `0` argument is
/// accepted and skipped (`NotEqual(ids, 0)`).
fn keras3_call(
    map: &Map<String, Value>,
    what: &str,
    zero_ok: bool,
) -> Result<(Vec<NodeRef>, Option<NodeRef>)> {
    let args = field(map, "args", what)?;
    let mut out = Vec::new();
    let args = match (zero_ok, args) {
        (true, Value::Array(items)) => Value::Array(
            items
                .iter()
                .filter(|v| v.as_f64() != Some(0.0))
                .cloned()
                .collect(),
        ),
        _ => args.clone(),
    };
    collect_tensors(&args, what, &mut out, 0)?;
    let mut mask = None;
    match map.get("kwargs") {
        None | Some(Value::Null) => {}
        Some(Value::Object(kwargs)) => {
            let mut rest = kwargs.clone();
            if let Some(m) = rest.remove("mask").filter(|m| !m.is_null()) {
                let mut refs = Vec::new();
                collect_tensors(&m, what, &mut refs, 0)?;
                if refs.len() != 1 {
                    return Err(Error::Config(format!(
                        "{what}: `mask` = {m} is not one tensor"
                    )));
                }
                mask = refs.pop();
            }
            // Keras 3 passes a recurrent layer's initial states as a keyword: they follow
            // the sequence as the call's extra inputs.
            if let Some(s) = rest.remove("initial_state").filter(|s| !s.is_null()) {
                collect_tensors(&s, what, &mut out, 0)?;
            }
            check_kwargs(&rest, what)?
        }
        Some(other) => {
            return Err(Error::Config(format!(
                "{what}: `kwargs` is {other}, expected an object"
            )))
        }
    }
    if out.is_empty() {
        return Err(Error::Config(format!("{what}: the call passes no tensor")));
    }
    Ok((out, mask))
}

/// Append the `__keras_tensor__` references in `value` (a tensor, or lists / tuples of
/// them) to `out`, refusing anything else.
fn collect_tensors(value: &Value, what: &str, out: &mut Vec<NodeRef>, depth: usize) -> Result<()> {
    if depth > MAX_NESTING {
        return Err(Error::Config(format!("{what}: arguments nested too deep")));
    }
    match value {
        Value::Array(items) => {
            for item in items {
                collect_tensors(item, what, out, depth + 1)?;
            }
            Ok(())
        }
        Value::Object(map) => match map.get("class_name").and_then(Value::as_str) {
            Some("__keras_tensor__") => {
                let history = map
                    .get("config")
                    .and_then(|c| c.get("keras_history"))
                    .ok_or_else(|| {
                        Error::Config(format!("{what}: a tensor argument has no `keras_history`"))
                    })?;
                out.push(node_ref(history, what)?);
                Ok(())
            }
            Some("__tuple__") => {
                let items = map
                    .get("config")
                    .and_then(|c| c.get("value"))
                    .ok_or_else(|| {
                        Error::Config(format!("{what}: a tuple argument has no `config.value`"))
                    })?;
                collect_tensors(items, what, out, depth + 1)
            }
            _ => Err(Error::Config(format!(
                "{what}: argument {value} is not a tensor; only tensors (or lists of tensors) \
                 can be passed to a layer"
            ))),
        },
        other => Err(Error::Config(format!(
            "{what}: argument {other} is not a tensor; only tensors (or lists of tensors) can \
             be passed to a layer"
        ))),
    }
}

/// A legacy call `[[layer, node, tensor, {kwargs}], ...]` → its input tensors in order.
fn legacy_call(list: &[Value], what: &str) -> Result<Vec<NodeRef>> {
    if list.is_empty() {
        return Err(Error::Config(format!("{what}: the call passes no tensor")));
    }
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        let parts = item.as_array().ok_or_else(|| {
            Error::Config(format!(
                "{what}: input {item} is not a [layer, node, tensor] list"
            ))
        })?;
        match parts.get(3) {
            None | Some(Value::Null) => {}
            Some(Value::Object(kwargs)) => check_kwargs(kwargs, what)?,
            Some(other) => {
                return Err(Error::Config(format!(
                    "{what}: call keyword arguments {other} are not an object"
                )))
            }
        }
        if parts.len() > 4 {
            return Err(Error::Config(format!(
                "{what}: input {item} has more than four parts"
            )));
        }
        let triple = Value::Array(parts.iter().take(3).cloned().collect());
        out.push(node_ref(&triple, what)?);
    }
    Ok(out)
}

/// Refuse call keyword arguments other than the known no-ops.
fn check_kwargs(kwargs: &Map<String, Value>, what: &str) -> Result<()> {
    for (key, value) in kwargs {
        let ok = match key.as_str() {
            "mask" => value.is_null(),
            "training" => matches!(value, Value::Null | Value::Bool(false)),
            _ => false,
        };
        if !ok {
            return Err(Error::Config(format!(
                "{what}: call keyword argument `{key}` = {value} is not supported (supported: \
                 `mask=None`, `training=None`/`False`)"
            )));
        }
    }
    Ok(())
}

/// `input_layers` / `output_layers`: one `[layer, node, tensor]` triple, or a list of them.
fn refs_of(value: &Value, what: &str, key: &str) -> Result<Vec<NodeRef>> {
    let kwhat = format!("{what}: `{key}`");
    let list = value
        .as_array()
        .ok_or_else(|| Error::Config(format!("{kwhat} is {value}, expected a list")))?;
    if list.first().is_some_and(Value::is_string) {
        return Ok(vec![node_ref(value, &kwhat)?]);
    }
    if list.is_empty() {
        return Err(Error::Config(format!("{kwhat} is empty")));
    }
    list.iter().map(|v| node_ref(v, &kwhat)).collect()
}

/// A `[layer, node, tensor]` triple.
fn node_ref(value: &Value, what: &str) -> Result<NodeRef> {
    let bad = || {
        Error::Config(format!(
            "{what}: tensor reference {value} is not [layer name, node index, tensor index]"
        ))
    };
    let parts = value.as_array().ok_or_else(bad)?;
    let [layer, node, tensor] = parts.as_slice() else {
        return Err(bad());
    };
    let index = |v: &Value| v.as_u64().and_then(|n| usize::try_from(n).ok());
    Ok(NodeRef {
        layer: layer.as_str().ok_or_else(bad)?.to_owned(),
        node: index(node).ok_or_else(bad)?,
        tensor: index(tensor).ok_or_else(bad)?,
    })
}

/// Boolean field `key` (`true` when absent or null).
fn flag(map: &Map<String, Value>, key: &str, what: &str) -> Result<bool> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(Error::Config(format!(
            "{what}: `{key}` is {other}, expected true or false"
        ))),
    }
}

/// `value` as a JSON object, or a [`Error::Config`] naming `what`.
fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| Error::Config(format!("{what} is not a JSON object")))
}

/// Field `key` of `map`, or a [`Error::Config`] naming `what`.
fn field<'a>(map: &'a Map<String, Value>, key: &str, what: &str) -> Result<&'a Value> {
    map.get(key)
        .ok_or_else(|| Error::Config(format!("{what} has no `{key}`")))
}

/// String field `key` of `map`, or a [`Error::Config`] naming `what`.
fn string<'a>(map: &'a Map<String, Value>, key: &str, what: &str) -> Result<&'a str> {
    field(map, key, what)?
        .as_str()
        .ok_or_else(|| Error::Config(format!("{what}: `{key}` is not a string")))
}
