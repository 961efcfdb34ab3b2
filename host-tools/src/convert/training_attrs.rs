//! Keras's training attributes of a layer — weight and activity regularizers, weight
//! constraints — read into [`LayerAttrs`].
//!
//! Keras saves them in a layer's config as serialized objects
//! (`{"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01},
//! "registered_name": null}`; tf.keras 2 omits `module`), or, when a config was written by
//! hand, as the strings `keras.regularizers.get` / `keras.constraints.get` accept (`"l2"`,
//! `"L1L2"`, `"max_norm"`, …, taking the class defaults). Anything else —
//! `OrthogonalRegularizer`, a custom class, an unknown argument — is refused by name.
//!
//! Reuse for a new layer class: call [`training_attrs`] with the layer's weight names and
//! parameter indices, e.g. Conv2D: `training_attrs(l, &[("kernel", Some(0)), ("bias",
//! use_bias.then_some(1))])` reads `kernel_regularizer`, `kernel_constraint`,
//! `bias_regularizer`, `bias_constraint` and `activity_regularizer`.

use ember_nn::constraints::{Constraint, NormAxes};
use ember_nn::layers::LayerAttrs;
use ember_nn::regularizers::Regularizer;
use serde_json::{Map, Value};

use super::options::unsupported;
use crate::keras::KerasLayer;
use crate::Result;

const REGULARIZERS: &str = "null, L1, L2 or L1L2 (a serialized keras.regularizers object or \
one of the strings \"l1\", \"l2\", \"l1l2\", \"L1\", \"L2\", \"L1L2\")";
const CONSTRAINTS: &str = "null, MaxNorm, NonNeg, UnitNorm or MinMaxNorm (a serialized \
keras.constraints object or one of \"max_norm\", \"non_neg\", \"unit_norm\", \
\"min_max_norm\" or the class names)";
const AXES: &str = "an integer axis or a list of distinct axes in -5..5";

/// The attributes of a layer whose weights are `weights`: for each, the Keras weight name
/// (the option prefix: `"kernel"` reads `kernel_regularizer` and `kernel_constraint`) and
/// its parameter index, `None` when the layer does not create that weight (e.g. `bias`
/// with `use_bias=False`: Keras then ignores its options, and so does this). Also reads
/// `activity_regularizer`.
pub(crate) fn training_attrs(
    l: &KerasLayer,
    weights: &[(&str, Option<usize>)],
) -> Result<LayerAttrs> {
    let mut attrs = LayerAttrs::NONE;
    if let Some(r) = regularizer(l, "activity_regularizer")? {
        attrs = attrs.with_activity_regularizer(r);
    }
    for &(name, index) in weights {
        let r = regularizer(l, &format!("{name}_regularizer"))?;
        let c = constraint(l, &format!("{name}_constraint"))?;
        let Some(i) = index else { continue };
        if let Some(r) = r {
            attrs = attrs.with_regularizer(i, r);
        }
        if let Some(c) = c {
            attrs = attrs.with_constraint(i, c);
        }
    }
    Ok(attrs)
}

/// The regularizer option `key` (absent or null: `None`).
pub(crate) fn regularizer(l: &KerasLayer, key: &str) -> Result<Option<Regularizer>> {
    let v = l.config.get(key).unwrap_or(&Value::Null);
    let bad = || unsupported(l, key, v, REGULARIZERS);
    let (class, config) = match serialized(v, "keras.regularizers") {
        Serialized::Null => return Ok(None),
        Serialized::Bad => return Err(bad()),
        Serialized::Object(class, config) => (class, config),
    };
    let empty = Map::new();
    let config = config.unwrap_or(&empty);
    let (fields, default): (&[&str], Regularizer) = match class {
        "L1" | "l1" => (&["l1"], Regularizer::L1_DEFAULT),
        "L2" | "l2" => (&["l2"], Regularizer::L2_DEFAULT),
        "L1L2" | "l1l2" => (&["l1", "l2"], Regularizer::L1L2_DEFAULT),
        // Keras's base class: a zero penalty.
        "Regularizer" | "regularizer" if config.is_empty() => return Ok(None),
        _ => return Err(bad()),
    };
    if config.keys().any(|k| !fields.contains(&k.as_str())) {
        return Err(bad());
    }
    // Keras's `validate_float_arg`: a finite number >= 0 (null means the default).
    let factor = |name: &str, default: f32| -> Result<f32> {
        match config.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(f) => f
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as f32)
                .ok_or_else(bad),
        }
    };
    let (l1, l2) = default.factors();
    Ok(Some(match default {
        Regularizer::L1 { .. } => Regularizer::L1 {
            l1: factor("l1", l1)?,
        },
        Regularizer::L2 { .. } => Regularizer::L2 {
            l2: factor("l2", l2)?,
        },
        Regularizer::L1L2 { .. } => Regularizer::L1L2 {
            // `L1L2(l1=None)` means 0.
            l1: factor("l1", 0.0)?,
            l2: factor("l2", 0.0)?,
        },
    }))
}

/// The constraint option `key` (absent or null: `None`).
pub(crate) fn constraint(l: &KerasLayer, key: &str) -> Result<Option<Constraint>> {
    let v = l.config.get(key).unwrap_or(&Value::Null);
    let bad = || unsupported(l, key, v, CONSTRAINTS);
    let (class, config) = match serialized(v, "keras.constraints") {
        Serialized::Null => return Ok(None),
        Serialized::Bad => return Err(bad()),
        Serialized::Object(class, config) => (class, config),
    };
    let empty = Map::new();
    let config = config.unwrap_or(&empty);
    let (fields, default): (&[&str], Constraint) = match class {
        "MaxNorm" | "max_norm" => (&["max_value", "axis"], Constraint::MAX_NORM_DEFAULT),
        "NonNeg" | "non_neg" => (&[], Constraint::NonNeg),
        "UnitNorm" | "unit_norm" => (&["axis"], Constraint::UNIT_NORM_DEFAULT),
        "MinMaxNorm" | "min_max_norm" => (
            &["min_value", "max_value", "rate", "axis"],
            Constraint::MIN_MAX_NORM_DEFAULT,
        ),
        // Keras's base class: the identity.
        "Constraint" | "constraint" if config.is_empty() => return Ok(None),
        _ => return Err(bad()),
    };
    if config.keys().any(|k| !fields.contains(&k.as_str())) {
        return Err(bad());
    }
    let number = |name: &str, default: f32| -> Result<f32> {
        match config.get(name) {
            None => Ok(default),
            Some(f) => f
                .as_f64()
                .map(|f| f as f32)
                .filter(|f| f.is_finite())
                .ok_or_else(bad),
        }
    };
    let axis = match config.get("axis") {
        None => NormAxes::FIRST,
        Some(a) => norm_axes(a).ok_or_else(|| unsupported(l, key, v, AXES))?,
    };
    Ok(Some(match default {
        Constraint::MaxNorm { max_value, .. } => Constraint::MaxNorm {
            max_value: number("max_value", max_value)?,
            axis,
        },
        Constraint::NonNeg => Constraint::NonNeg,
        Constraint::UnitNorm { .. } => Constraint::UnitNorm { axis },
        Constraint::MinMaxNorm {
            min_value,
            max_value,
            rate,
            ..
        } => Constraint::MinMaxNorm {
            min_value: number("min_value", min_value)?,
            max_value: number("max_value", max_value)?,
            rate: number("rate", rate)?,
            axis,
        },
    }))
}

/// Keras's `axis`: an integer or a list of integers (`null`, "every axis", is refused).
fn norm_axes(v: &Value) -> Option<NormAxes> {
    match v {
        Value::Array(a) => {
            let axes = a.iter().map(Value::as_i64).collect::<Option<Vec<_>>>()?;
            NormAxes::from_list(&axes)
        }
        _ => NormAxes::from_list(&[v.as_i64()?]),
    }
}

enum Serialized<'v> {
    Null,
    Bad,
    /// Class name and its config (absent for the string forms).
    Object(&'v str, Option<&'v Map<String, Value>>),
}

/// Decodes Keras's serialized object (or string identifier) for `module`. A `module`
/// other than Keras's, or a `registered_name` other than the class name (a custom
/// object), is refused.
fn serialized<'v>(v: &'v Value, module: &str) -> Serialized<'v> {
    match v {
        Value::Null => Serialized::Null,
        Value::String(s) => Serialized::Object(s, None),
        Value::Object(o) => {
            let class = o.get("class_name").and_then(Value::as_str);
            let module_ok = match o.get("module") {
                None | Some(Value::Null) => true,
                Some(m) => m.as_str() == Some(module),
            };
            let registered_ok = match o.get("registered_name") {
                None | Some(Value::Null) => true,
                Some(r) => r.as_str().is_some() && r.as_str() == class,
            };
            let config = match o.get("config") {
                None | Some(Value::Null) => Some(None),
                Some(Value::Object(c)) => Some(Some(c)),
                Some(_) => None,
            };
            match (class, module_ok && registered_ok, config) {
                (Some(class), true, Some(config)) => Serialized::Object(class, config),
                _ => Serialized::Bad,
            }
        }
        _ => Serialized::Bad,
    }
}
