//! Converter mappings of two legacy Keras activation layers that Keras 2 and 3 dropped:
//! `ParametricSoftplus` and `ThresholdedLinear`. A Keras 3 file holds them as custom
//! layer classes registered under those names, with the Keras 1 config keys.

use ember_nn::layers::{PReLU, ParametricSoftplus, ThresholdedLinear};
use serde_json::Value;

use super::options::{float_option, require_float32, unsupported};
use crate::keras::KerasLayer;
use crate::Result;

/// Keras 1's `ParametricSoftplus(alpha_init=0.2, beta_init=5.0, weights=None,
/// shared_axes=None)`; weights `[alphas, betas]`.
///
/// `alpha_init` and `beta_init` must be finite numbers when present but are otherwise
/// ignored, as is `weights` (the trained values come from the file). `shared_axes`:
/// null, an axis or a list of axes in `1..=5` (the batch is axis 0, as in Keras 1.2).
/// Anything else, or a dtype other than float32, is refused by name.
pub(super) fn parametric_softplus(l: &KerasLayer) -> Result<ParametricSoftplus> {
    require_float32(l)?;
    float_option(l, "alpha_init", 0.2)?;
    float_option(l, "beta_init", 5.0)?;
    let v = l.config.get("shared_axes").unwrap_or(&Value::Null);
    let axes: Option<Vec<i64>> = match v {
        Value::Null => Some(Vec::new()),
        Value::Array(a) => a.iter().map(Value::as_i64).collect(),
        _ => v.as_i64().map(|a| vec![a]),
    };
    let shared_axes = axes
        .and_then(|a| PReLU::shared_axes_mask(&a))
        .ok_or_else(|| unsupported(l, "shared_axes", v, "null or axes in 1..=5"))?;
    Ok(ParametricSoftplus { shared_axes })
}

/// Legacy Keras's `ThresholdedLinear(theta=1.0)`: `theta` a finite number (absent: 1).
pub(super) fn thresholded_linear(l: &KerasLayer) -> Result<ThresholdedLinear> {
    require_float32(l)?;
    Ok(ThresholdedLinear {
        theta: float_option(l, "theta", 1.0)?,
    })
}
