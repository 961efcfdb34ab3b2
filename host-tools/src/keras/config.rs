//! `config.json` → the model's layer list.
//!
//! Keras serialises a model as `{"module", "class_name", "config", ...}`. For a
//! `Sequential` model, `config.layers` lists the layers in order, each as
//! `{"module", "class_name", "config", "registered_name", "build_config", ...}`; Keras 3
//! puts an `InputLayer` with `config.batch_shape` first, Keras 2 used
//! `batch_input_shape` (on the `InputLayer` or on the first layer). Both spellings are
//! accepted so the legacy `.h5` reader (whose `model_config` attribute holds the same JSON)
//! can reuse [`model_from_value`].

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Keras class names of whole models, which Ember cannot take as a layer.
const MODEL_CLASSES: &[&str] = &["Sequential", "Functional", "Model"];

/// A model's structure as described by its config, before weights are attached.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Keras model class (`"Sequential"`).
    pub class_name: String,
    /// The model's name.
    pub name: String,
    /// Input batch shape including the leading batch dimension (`None` = open).
    pub input_shape: Vec<Option<usize>>,
    /// The layers in model order, `InputLayer` excluded.
    pub layers: Vec<LayerConfig>,
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
/// # Errors
///
/// [`Error::Config`] if the value is not a model config, if the model is not a
/// `Sequential` (`Functional` models are not supported yet), if a layer entry lacks its
/// `class_name`, `config` or `config.name`, if a layer is itself a model, if two layers
/// share a name, or if no input shape can be found.
pub fn model_from_value(value: &Value) -> Result<ModelConfig> {
    let top = object(value, "the model config")?;
    let class_name = string(top, "class_name", "the model config")?;
    match class_name {
        "Sequential" => sequential(top),
        "Functional" | "Model" => Err(Error::Config(format!(
            "`{class_name}` models are not supported yet; only `Sequential` models can be read"
        ))),
        other => Err(Error::Config(format!(
            "the top-level object is a `{other}`, not a Keras model \
             (expected `Sequential` or `Functional`)"
        ))),
    }
}

/// Parse a `Sequential` model's config.
fn sequential(top: &Map<String, Value>) -> Result<ModelConfig> {
    let config = object(
        field(top, "config", "the Sequential model")?,
        "model `config`",
    )?;
    let name = string(config, "name", "the model config")?.to_owned();
    let entries = field(config, "layers", "the model config")?
        .as_array()
        .ok_or_else(|| Error::Config("model `config.layers` is not a list".into()))?;

    let mut input_shape = None;
    let mut layers = Vec::with_capacity(entries.len());
    let mut names = HashSet::new();
    for (index, entry) in entries.iter().enumerate() {
        let what = format!("layer #{index}");
        let entry = object(entry, &what)?;
        let class_name = string(entry, "class_name", &what)?;
        let config_value = field(entry, "config", &what)?;
        let config = object(config_value, &format!("{what} `config`"))?;
        let name = string(config, "name", &format!("{what} `config`"))?;
        if !names.insert(name) {
            return Err(Error::Config(format!(
                "two layers are named `{name}`; Keras layer names must be unique"
            )));
        }
        if class_name == "InputLayer" {
            if index != 0 {
                return Err(Error::Config(format!(
                    "`InputLayer` `{name}` is layer #{index}; it must come first"
                )));
            }
            let shape = config
                .get("batch_shape")
                .or_else(|| config.get("batch_input_shape"))
                .ok_or_else(|| {
                    Error::Config(format!(
                        "`InputLayer` `{name}` has neither `batch_shape` nor `batch_input_shape`"
                    ))
                })?;
            input_shape = Some(shape_from_value(shape, &format!("`InputLayer` `{name}`"))?);
            continue;
        }
        if MODEL_CLASSES.contains(&class_name) {
            return Err(Error::Config(format!(
                "layer `{name}` is a nested `{class_name}` model; nested models are not \
                 supported yet (flatten the model into one Sequential)"
            )));
        }
        let trainable = match config.get("trainable") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(Error::Config(format!(
                    "layer `{name}`: `trainable` is {other}, expected true or false"
                )))
            }
        };
        layers.push(LayerConfig {
            name: name.to_owned(),
            class_name: class_name.to_owned(),
            config: config_value.clone(),
            trainable,
        });
    }

    let input_shape = match input_shape {
        Some(shape) => shape,
        None => fallback_input_shape(config, entries)?,
    };
    Ok(ModelConfig {
        class_name: "Sequential".into(),
        name,
        input_shape,
        layers,
    })
}

/// The input shape of a model without an `InputLayer`: the model's `build_input_shape`,
/// else the first layer's `build_config.input_shape`, else its Keras-2 style
/// `batch_input_shape` / `batch_shape`.
fn fallback_input_shape(
    config: &Map<String, Value>,
    entries: &[Value],
) -> Result<Vec<Option<usize>>> {
    if let Some(shape) = config.get("build_input_shape").filter(|v| !v.is_null()) {
        return shape_from_value(shape, "the model's `build_input_shape`");
    }
    let first = entries.first().and_then(Value::as_object);
    let built = first
        .and_then(|e| e.get("build_config"))
        .and_then(|b| b.get("input_shape"))
        .filter(|v| !v.is_null());
    if let Some(shape) = built {
        return shape_from_value(shape, "the first layer's `build_config.input_shape`");
    }
    let declared = first.and_then(|e| e.get("config")).and_then(|c| {
        c.get("batch_input_shape")
            .or_else(|| c.get("batch_shape"))
            .filter(|v| !v.is_null())
    });
    if let Some(shape) = declared {
        return shape_from_value(shape, "the first layer's `batch_input_shape`");
    }
    Err(Error::Config(
        "the model has no input shape: it has no `InputLayer` and was never built \
         (start the model with `keras.Input(shape)` before saving)"
            .into(),
    ))
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
        let functional = json!({"class_name": "Functional", "config": {"name": "m", "layers": []}});
        let nested = json!({"class_name": "Sequential", "config": {"name": "m", "layers": [
            {"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 2]}},
            {"class_name": "Sequential", "config": {"name": "inner", "layers": []}}
        ]}});
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
        for (v, needle) in [
            (functional, "not supported yet"),
            (nested, "nested"),
            (no_shape, "no input shape"),
            (dup, "unique"),
            (bad_trainable, "trainable"),
            (json!([1, 2]), "not a JSON object"),
        ] {
            match model_from_value(&v) {
                Err(Error::Config(msg)) => assert!(msg.contains(needle), "{msg}"),
                other => panic!("expected a Config error with `{needle}`, got {other:?}"),
            }
        }
    }
}
