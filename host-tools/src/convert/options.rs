//! Shared readers of Keras config options: each refuses a value Ember does not implement
//! with [`Error::UnsupportedOption`] naming the layer, its class and the option.

use ember_nn::Activation;
use serde_json::Value;

use crate::keras::KerasLayer;
use crate::{Error, Result};

pub(crate) fn unsupported(l: &KerasLayer, option: &str, value: &Value, supported: &str) -> Error {
    Error::UnsupportedOption {
        layer: l.name.clone(),
        class: l.class_name.clone(),
        option: option.into(),
        value: value.to_string(),
        supported: supported.into(),
    }
}

/// Options that must be absent or null: Ember would otherwise compute something else.
pub(crate) fn require_null(l: &KerasLayer, keys: &[&str]) -> Result<()> {
    for &k in keys {
        if let Some(v) = l.config.get(k) {
            if !v.is_null() {
                return Err(unsupported(l, k, v, "null"));
            }
        }
    }
    Ok(())
}

/// The layer's dtype must be float32 (a string or a `DTypePolicy` dict).
pub(crate) fn require_float32(l: &KerasLayer) -> Result<()> {
    let Some(v) = l.config.get("dtype") else {
        return Ok(());
    };
    let name = match v {
        Value::Null => return Ok(()),
        Value::String(s) => s.as_str(),
        Value::Object(o) => o
            .get("config")
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
            .unwrap_or(""),
        _ => "",
    };
    if name == "float32" {
        Ok(())
    } else {
        Err(unsupported(l, "dtype", v, "\"float32\""))
    }
}

pub(crate) const ACTIVATIONS: &str = "\"linear\", \"relu\", \"sigmoid\", \"tanh\", \"softmax\", \
\"hard_sigmoid\", \"softplus\", \"softsign\", \"elu\", \"selu\", \"exponential\", \
\"silu\" (\"swish\"), \"gelu\", \"relu6\", \"leaky_relu\", \"hard_silu\" (\"hard_swish\"), \
\"hard_tanh\", \"tanh_shrink\", \"mish\", \"celu\", \"log_sigmoid\", \"soft_shrink\", \
\"hard_shrink\", \"sparse_plus\", \"sparse_sigmoid\", \"squareplus\", \"log_softmax\"";

/// The layer's `activation` option: null (linear), a Keras name, or Keras's serialized
/// form of a built-in function (`{"module": "keras.activations", "config": name}`).
pub(crate) fn activation_option(l: &KerasLayer) -> Result<Activation> {
    activation_named(l, "activation", Activation::Linear)
}

/// An activation option under `key` as [`activation_option`] reads it; `default` when
/// the key is absent (a null value is linear, as Keras reads `None`).
pub(crate) fn activation_named(
    l: &KerasLayer,
    key: &str,
    default: Activation,
) -> Result<Activation> {
    let Some(v) = l.config.get(key) else {
        return Ok(default);
    };
    let name = match v {
        Value::Null => return Ok(Activation::Linear),
        Value::String(s) => Some(s.as_str()),
        Value::Object(o)
            if o.get("module").and_then(Value::as_str) == Some("keras.activations") =>
        {
            o.get("config").and_then(Value::as_str)
        }
        _ => None,
    };
    name.and_then(Activation::from_keras_name)
        .ok_or_else(|| unsupported(l, key, v, ACTIVATIONS))
}

/// A boolean option: its value, or `default` when absent or null.
pub(crate) fn flag_option(l: &KerasLayer, key: &str, default: bool) -> Result<bool> {
    match l.config.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(unsupported(l, key, v, "true or false")),
    }
}

/// A float option: its value, or `default` when absent.
pub(crate) fn float_option(l: &KerasLayer, key: &str, default: f32) -> Result<f32> {
    match l.config.get(key) {
        None => Ok(default),
        Some(v) => v
            .as_f64()
            .map(|f| f as f32)
            .filter(|f| f.is_finite())
            .ok_or_else(|| unsupported(l, key, v, "a finite number")),
    }
}

/// A list option of integers (Keras saves tuples as JSON arrays).
pub(crate) fn int_list(l: &KerasLayer, key: &str, supported: &str) -> Result<Vec<i64>> {
    let v = l.config.get(key).unwrap_or(&Value::Null);
    v.as_array()
        .and_then(|a| a.iter().map(Value::as_i64).collect::<Option<Vec<_>>>())
        .ok_or_else(|| unsupported(l, key, v, supported))
}

/// The `activation=` option of a layer that fuses it (`Dense`, the convolutions): the
/// activation, or linear when its backward pass needs the pre-activation input (`silu`,
/// `gelu`, … see [`Activation::needs_input`]); [`super::layer_configs`] then appends a
/// separate `Activation` layer.
pub(crate) fn fused_activation(l: &KerasLayer) -> Result<Activation> {
    let a = activation_option(l)?;
    Ok(if a.needs_input() {
        Activation::Linear
    } else {
        a
    })
}
