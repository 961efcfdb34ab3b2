//! Keras `Lambda` → [`ember_nn::layers::Lambda`]: the blob keeps the layer's name (the
//! firmware registers the function under it) and its output shape; the Python function
//! itself is not converted.

use ember_nn::layers::Lambda;
use ember_nn::Shape;
use serde_json::Value;

use super::options::{require_float32, unsupported};
use crate::keras::KerasLayer;
use crate::Result;

/// Reads `output_shape` (absent or null: the function keeps the input's shape; a list of
/// sizes without the batch; a callable is refused), `mask` (must be null: a Lambda that
/// computes a mask is not supported), `arguments` (must be empty: the registered function
/// takes none) and `dtype`. `function` is not read.
pub(super) fn lambda(l: &KerasLayer) -> Result<Lambda> {
    require_float32(l)?;
    if let Some(v) = l.config.get("mask").filter(|v| !v.is_null()) {
        return Err(unsupported(l, "mask", v, "null"));
    }
    match l.config.get("arguments") {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) if o.is_empty() => {}
        Some(v) => return Err(unsupported(l, "arguments", v, "{} (no extra arguments)")),
    }
    let output = match l.config.get("output_shape") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let dims = v
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
                        .collect::<Option<Vec<usize>>>()
                })
                .ok_or_else(|| {
                    unsupported(l, "output_shape", v, "a list of sizes without the batch")
                })?;
            Some(
                Shape::new(&dims)
                    .map_err(|_| unsupported(l, "output_shape", v, "rank 1..=5, no zero sizes"))?,
            )
        }
    };
    Ok(Lambda { output })
}
