//! `config.json` → the model's layers and call graph.
//!
//! Keras serialises a model as `{"module", "class_name", "config", ...}`. For a
//! `Sequential` model, `config.layers` lists the layers in order, each as
//! `{"module", "class_name", "config", "registered_name", "build_config", ...}`; Keras 3
//! puts an `InputLayer` with `config.batch_shape` first, Keras 2 used
//! `batch_input_shape` (on the `InputLayer` or on the first layer). A `Functional` model
//! adds each layer's calls (`inbound_nodes`) and the model's `input_layers` /
//! `output_layers`; any layer may itself be a model. [`super::tree`] parses the nesting,
//! [`super::graph`] flattens the calls. Both spellings are accepted so the legacy `.h5`
//! reader (whose `model_config` attribute holds the same JSON) can reuse
//! [`model_from_value`].

use serde_json::{Map, Value};

use super::graph::{build_graph, is_plain_chain, no_input_shape};
use super::tree::{parse_tree, ModelTree};
use super::KerasGraph;
use crate::error::{Error, Result};

/// A model's structure as described by its config, before weights are attached.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Keras model class: `"Sequential"` or `"Functional"`.
    pub class_name: String,
    /// The model's name.
    pub name: String,
    /// Input batch shape including the leading batch dimension (`None` = open); for a
    /// graph, its first input's.
    pub input_shape: Vec<Option<usize>>,
    /// The leaf layers, each once: depth first through nested models, in config order,
    /// `InputLayer`s excluded.
    pub layers: Vec<LayerConfig>,
    /// The call graph; `None` for a `Sequential` that is a plain chain of `layers` (see
    /// [`super::KerasModel::graph`]).
    pub graph: Option<KerasGraph>,
    /// The nesting of models and layers as the config gives it, which the weight readers
    /// walk.
    pub tree: ModelTree,
}

/// One layer's entry in the model config.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerConfig {
    /// The layer's name (`config.name`).
    pub name: String,
    /// Keras class name, e.g. `"Dense"`.
    pub class_name: String,
    /// The layer's `config` object, untouched.
    pub config: Value,
    /// `config.trainable`, `true` when absent.
    pub trainable: bool,
}

/// The `compile_config` of `config.json` (what `model.compile(...)` saved), `None` when
/// absent, `null` or `{}` (Keras 3 writes `{}` for a model saved without `compile`).
pub fn parse_compile_config(json: &[u8]) -> Result<Option<Value>> {
    let v: Value = serde_json::from_slice(json)
        .map_err(|e| Error::Config(format!("config.json is not valid JSON: {e}")))?;
    Ok(v.get("compile_config")
        .filter(|c| !c.is_null() && c.as_object().is_none_or(|o| !o.is_empty()))
        .cloned())
}

/// Parse the bytes of `config.json`.
///
/// # Errors
///
/// [`Error::Config`] if the bytes are not JSON or not a model config this reader handles
/// (see [`model_from_value`]).
pub fn parse_model_config(json: &[u8]) -> Result<ModelConfig> {
    let value: Value = serde_json::from_slice(json)
        .map_err(|e| Error::Config(format!("config.json is not valid JSON: {e}")))?;
    model_from_value(&value)
}

/// Parse the bytes of `metadata.json` and return its `keras_version`, if it has one.
///
/// # Errors
///
/// [`Error::Config`] if the bytes are not a JSON object, or `keras_version` is present but
/// not a string.
pub fn parse_keras_version(json: &[u8]) -> Result<Option<String>> {
    let value: Value = serde_json::from_slice(json)
        .map_err(|e| Error::Config(format!("metadata.json is not valid JSON: {e}")))?;
    let map = value
        .as_object()
        .ok_or_else(|| Error::Config("metadata.json is not a JSON object".into()))?;
    match map.get("keras_version") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(Error::Config(format!(
            "metadata.json: `keras_version` is {other}, expected a string"
        ))),
    }
}

/// Interpret a parsed model config (`{"class_name": ..., "config": ...}`).
///
/// How many tensors one call of `layer` returns: 1, except the recurrent layers with
/// `return_state=True` (`[output, h]`, LSTM `[output, h, c]`) and `Bidirectional` with
/// `merge_mode=None` (both directions' outputs) or a `return_state` layer (then also each
/// direction's states).
pub fn output_count(layer: &LayerConfig) -> usize {
    call_outputs(&layer.class_name, &layer.config)
}

/// [`output_count`] from a layer's class and config.
pub fn call_outputs(class_name: &str, c: &Value) -> usize {
    let flag = |c: &Value, k: &str| c.get(k).and_then(Value::as_bool).unwrap_or(false);
    let states = |class: &str| if class == "LSTM" { 2 } else { 1 };
    match class_name {
        class @ ("SimpleRNN" | "LSTM" | "GRU") if flag(c, "return_state") => 1 + states(class),
        "Bidirectional" => {
            let inner = c.get("layer").unwrap_or(&Value::Null);
            let class = inner
                .get("class_name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let inner_config = inner.get("config").unwrap_or(&Value::Null);
            let outputs = if c.get("merge_mode").is_some_and(Value::is_null) {
                2
            } else {
                1
            };
            let returned_states = if flag(inner_config, "return_state") {
                2 * states(class)
            } else {
                0
            };
            outputs + returned_states
        }
        _ => 1,
    }
}

/// A `Sequential` or `Functional` model, possibly with nested models at any depth (see
/// [`super::tree`] and [`super::graph`]).
///
/// # Errors
///
/// [`Error::Config`] if the value is not a model config, if a layer entry lacks its
/// `class_name`, `config` or `config.name`, if two layers share a name, if no input shape
/// can be found, or if the layer calls do not form a graph ([`super::graph::build_graph`]).
pub fn model_from_value(value: &Value) -> Result<ModelConfig> {
    let mut layers = Vec::new();
    let tree = parse_tree(value, &mut layers)?;
    let outputs: Vec<usize> = layers.iter().map(output_count).collect();
    let graph = build_graph(&tree, &outputs)?;
    let input_shape = match graph.inputs.first() {
        Some(input) => input.shape.clone(),
        None => return Err(no_input_shape()),
    };
    let plain = tree.class_name == "Sequential" && is_plain_chain(&graph, layers.len());
    Ok(ModelConfig {
        class_name: tree.class_name.clone(),
        name: tree.name.clone(),
        input_shape,
        layers,
        graph: (!plain).then_some(graph),
        tree,
    })
}

/// The input shape of a `Sequential` without an `InputLayer`: the model's
/// `build_input_shape`, else the first layer's `build_config.input_shape`, else its
/// Keras-2 style `batch_input_shape` / `batch_shape`; `None` if there is none.
pub(crate) fn fallback_input_shape(
    config: &Map<String, Value>,
    entries: &[Value],
) -> Result<Option<Vec<Option<usize>>>> {
    if let Some(shape) = config.get("build_input_shape").filter(|v| !v.is_null()) {
        return shape_from_value(shape, "the model's `build_input_shape`").map(Some);
    }
    let first = entries.first().and_then(Value::as_object);
    let built = first
        .and_then(|e| e.get("build_config"))
        .and_then(|b| b.get("input_shape"))
        .filter(|v| !v.is_null());
    if let Some(shape) = built {
        return shape_from_value(shape, "the first layer's `build_config.input_shape`").map(Some);
    }
    let declared = first.and_then(|e| e.get("config")).and_then(|c| {
        c.get("batch_input_shape")
            .or_else(|| c.get("batch_shape"))
            .filter(|v| !v.is_null())
    });
    if let Some(shape) = declared {
        return shape_from_value(shape, "the first layer's `batch_input_shape`").map(Some);
    }
    Ok(None)
}

/// Parse a Keras shape list (`[null, 8]`) into dimensions, `null` meaning open.
///
/// # Errors
///
/// [`Error::Config`] if the value is not a non-empty list of `null` and non-negative
/// integers.
pub fn shape_from_value(value: &Value, what: &str) -> Result<Vec<Option<usize>>> {
    let bad = || {
        Error::Config(format!(
            "{what}: shape {value} is not a list of non-negative integers and nulls"
        ))
    };
    let dims = value.as_array().ok_or_else(bad)?;
    if dims.is_empty() {
        return Err(Error::Config(format!(
            "{what}: shape is empty (it needs at least the batch dimension)"
        )));
    }
    dims.iter()
        .map(|d| match d {
            Value::Null => Ok(None),
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .map(Some)
                .ok_or_else(bad),
            _ => Err(bad()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shape_parsing() {
        assert_eq!(
            shape_from_value(&json!([null, 8, 2]), "x").ok(),
            Some(vec![None, Some(8), Some(2)])
        );
        assert!(shape_from_value(&json!([null, -1]), "x").is_err());
        assert!(shape_from_value(&json!([null, 1.5]), "x").is_err());
        assert!(shape_from_value(&json!([]), "x").is_err());
        assert!(shape_from_value(&json!("8"), "x").is_err());
    }

    #[test]
    fn keras2_style_input_shape() {
        let v = json!({"class_name": "Sequential", "config": {"name": "m", "layers": [
            {"class_name": "Dense", "config": {"name": "d", "units": 2,
             "batch_input_shape": [null, 3]}}
        ]}});
        let m = model_from_value(&v).map_err(|e| e.to_string());
        let m = m.as_ref().map(|m| (&m.input_shape, m.layers.len()));
        assert_eq!(m, Ok((&vec![None, Some(3)], 1)));
    }

    #[test]
    fn rejections() {
        let no_shape = json!({"class_name": "Sequential", "config": {"name": "m", "layers": [
            {"class_name": "Dense", "config": {"name": "d"}}
        ]}});
        let dup = json!({"class_name": "Sequential", "config": {"name": "m", "layers": [
            {"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 2]}},
            {"class_name": "Dense", "config": {"name": "d"}},
            {"class_name": "Dense", "config": {"name": "d"}}
        ]}});
        let bad_trainable = json!({"class_name": "Sequential", "config": {"name": "m", "layers": [
            {"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 2]}},
            {"class_name": "Dense", "config": {"name": "d", "trainable": "yes"}}
        ]}});
        let late_input = json!({"class_name": "Sequential", "config": {"name": "m", "layers": [
            {"class_name": "Dense", "config": {"name": "d", "batch_input_shape": [null, 2]}},
            {"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 2]}}
        ]}});
        let not_model = json!({"class_name": "Dense", "config": {"name": "d"}});
        for (v, needle) in [
            (no_shape, "no input shape"),
            (dup, "unique"),
            (bad_trainable, "trainable"),
            (late_input, "must come first"),
            (not_model, "not a Keras model"),
            (json!([1, 2]), "not a JSON object"),
        ] {
            match model_from_value(&v) {
                Err(Error::Config(msg)) => assert!(msg.contains(needle), "{msg}"),
                other => panic!("expected a Config error with `{needle}`, got {other:?}"),
            }
        }
    }

    #[test]
    fn nested_sequential_flattens_to_a_chain() {
        let v = json!({"class_name": "Sequential", "config": {"name": "m", "layers": [
            {"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 2]}},
            {"class_name": "Sequential", "config": {"name": "inner", "layers": [
                {"class_name": "Dense", "config": {"name": "a"}},
                {"class_name": "Dense", "config": {"name": "b", "trainable": false}}
            ]}},
            {"class_name": "Dense", "config": {"name": "c"}}
        ]}});
        let m = model_from_value(&v).map_err(|e| e.to_string());
        let m = m.as_ref().map(|m| {
            let names: Vec<(&str, bool)> = m
                .layers
                .iter()
                .map(|l| (l.name.as_str(), l.trainable))
                .collect();
            (names, m.graph.is_none())
        });
        assert_eq!(m, Ok((vec![("a", true), ("b", false), ("c", true)], true)));
    }
}
