//! Converter mappings of Keras's merge layers (`keras/src/layers/merging/`): `Add`,
//! `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum` (no options of their own),
//! `Concatenate` (`axis`) and `Dot` (`axes`, `normalize`). They take several inputs, so
//! they appear only in functional models. Every class's dtype must be float32; `name`
//! and `trainable` (no weights) need nothing.

use ember_nn::layers::{Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract};
use serde_json::Value;

use super::options::{require_float32, unsupported};
use crate::keras::KerasLayer;
use crate::Result;

/// `Add` → [`Add`].
pub(super) fn add(l: &KerasLayer) -> Result<Add> {
    require_float32(l)?;
    Ok(Add)
}

/// `Subtract` → [`Subtract`].
pub(super) fn subtract(l: &KerasLayer) -> Result<Subtract> {
    require_float32(l)?;
    Ok(Subtract)
}

/// `Multiply` → [`Multiply`].
pub(super) fn multiply(l: &KerasLayer) -> Result<Multiply> {
    require_float32(l)?;
    Ok(Multiply)
}

/// `Average` → [`Average`].
pub(super) fn average(l: &KerasLayer) -> Result<Average> {
    require_float32(l)?;
    Ok(Average)
}

/// `Maximum` → [`Maximum`].
pub(super) fn maximum(l: &KerasLayer) -> Result<Maximum> {
    require_float32(l)?;
    Ok(Maximum)
}

/// `Minimum` → [`Minimum`].
pub(super) fn minimum(l: &KerasLayer) -> Result<Minimum> {
    require_float32(l)?;
    Ok(Minimum)
}

/// `Concatenate` → [`Concatenate`] (`axis` defaults to -1; the batch axis 0 is refused).
pub(super) fn concatenate(l: &KerasLayer) -> Result<Concatenate> {
    require_float32(l)?;
    let axis = match l.config.get("axis") {
        None => -1,
        Some(v) => axis_value(v).ok_or_else(|| unsupported(l, "axis", v, NON_BATCH_AXIS))?,
    };
    Ok(Concatenate { axis })
}

/// `Dot` → [`Dot`]: `axes` (required, as in Keras) is an int or a pair of ints, none of
/// them the batch axis 0; `normalize` defaults to false.
pub(super) fn dot(l: &KerasLayer) -> Result<Dot> {
    require_float32(l)?;
    const SUPPORTED: &str = "a non-zero integer axis or a pair of them";
    let v = l.config.get("axes").unwrap_or(&Value::Null);
    let axes = match v {
        Value::Array(a) if a.len() == 2 => axis_value(&a[0]).zip(axis_value(&a[1])),
        _ => axis_value(v).map(|a| (a, a)),
    }
    .ok_or_else(|| unsupported(l, "axes", v, SUPPORTED))?;
    let normalize = match l.config.get("normalize") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => return Err(unsupported(l, "normalize", v, "true or false")),
    };
    Ok(Dot {
        axes: [axes.0, axes.1],
        normalize,
    })
}

const NON_BATCH_AXIS: &str = "a non-zero integer axis (0 is the batch axis)";

/// A non-batch axis: a non-zero integer that fits `i32`.
fn axis_value(v: &Value) -> Option<i32> {
    v.as_i64()
        .and_then(|a| i32::try_from(a).ok())
        .filter(|&a| a != 0)
}
