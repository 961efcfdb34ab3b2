//! Converter mappings of Keras's normalization layers.

use ember_nn::layers::{BatchNormalization, LayerNormalization};
use serde_json::Value;

use super::options::{float_option, require_float32, unsupported};
use crate::keras::KerasLayer;
use crate::Result;

/// A boolean option: its value, or `default` when absent.
fn bool_option(l: &KerasLayer, key: &str, default: bool) -> Result<bool> {
    match l.config.get(key) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(unsupported(l, key, v, "true or false")),
    }
}

/// `keras.layers.BatchNormalization`. The initializers are irrelevant (the weights come
/// from the file); `renorm=True` and `synchronized=True` are refused. Regularizers and
/// constraints are read by [`super::layer_attrs`].
pub(super) fn batch_normalization(l: &KerasLayer) -> Result<BatchNormalization> {
    require_float32(l)?;
    for key in ["renorm", "synchronized"] {
        if bool_option(l, key, false)? {
            return Err(unsupported(l, key, &Value::Bool(true), "false"));
        }
    }
    let v = l.config.get("axis").unwrap_or(&Value::Null);
    let axis = match v {
        Value::Null => Some(-1),
        Value::Array(a) if a.len() == 1 => a[0].as_i64(),
        _ => v.as_i64(),
    }
    .filter(|&a| a != 0)
    .and_then(|a| i32::try_from(a).ok())
    .ok_or_else(|| unsupported(l, "axis", v, "one non-batch axis"))?;
    let epsilon = float_option(l, "epsilon", 1e-3)?;
    if epsilon < 0.0 {
        return Err(unsupported(
            l,
            "epsilon",
            &l.config["epsilon"],
            "a number >= 0",
        ));
    }
    Ok(BatchNormalization {
        axis,
        momentum: float_option(l, "momentum", 0.99)?,
        epsilon,
        center: bool_option(l, "center", true)?,
        scale: bool_option(l, "scale", true)?,
    })
}

/// `keras.layers.LayerNormalization`. `axis` may be one axis or a list; the model's input
/// shape decides later whether they are the trailing axes Ember normalizes. The deprecated
/// `rms_scaling=True` is refused; regularizers and constraints are read by
/// [`super::layer_attrs`].
pub(super) fn layer_normalization(l: &KerasLayer) -> Result<LayerNormalization> {
    require_float32(l)?;
    if bool_option(l, "rms_scaling", false)? {
        return Err(unsupported(l, "rms_scaling", &Value::Bool(true), "false"));
    }
    const AXES: &str = "one axis or a list of the input's trailing axes";
    let v = l.config.get("axis").unwrap_or(&Value::Null);
    let axes: Option<Vec<i64>> = match v {
        Value::Null => Some(vec![-1]),
        Value::Array(a) => a.iter().map(Value::as_i64).collect(),
        _ => v.as_i64().map(|a| vec![a]),
    };
    let epsilon = float_option(l, "epsilon", 1e-3)?;
    if epsilon < 0.0 {
        return Err(unsupported(
            l,
            "epsilon",
            &l.config["epsilon"],
            "a number >= 0",
        ));
    }
    let base = LayerNormalization {
        epsilon,
        center: bool_option(l, "center", true)?,
        scale: bool_option(l, "scale", true)?,
        ..LayerNormalization::last_axis(epsilon)
    };
    axes.filter(|a| !a.contains(&0))
        .and_then(|a| base.with_axes(&a))
        .ok_or_else(|| unsupported(l, "axis", v, AXES))
}
