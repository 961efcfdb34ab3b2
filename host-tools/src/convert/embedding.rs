//! Converter mapping of Keras's `Embedding` layer.

use ember_nn::layers::Embedding;
use serde_json::Value;

use super::options::{flag_option, require_float32, require_null, unsupported};
use crate::keras::KerasLayer;
use crate::Result;

/// A positive integer option that fits `u32` (required).
fn size_option(l: &KerasLayer, key: &str) -> Result<u32> {
    let v = l.config.get(key).unwrap_or(&Value::Null);
    v.as_u64()
        .filter(|&n| n > 0 && n <= u32::MAX as u64)
        .map(|n| n as u32)
        .ok_or_else(|| unsupported(l, key, v, "a positive integer"))
}

/// `keras.layers.Embedding(input_dim, output_dim, mask_zero=False)`.
///
/// Options: `input_dim`, `output_dim` (positive integers), `mask_zero` (true or false;
/// absent: false). Ignored because the weights come from the file: `embeddings_initializer`
/// and a constructor's `weights`. Keras 2's `input_length` is accepted (null or a
/// positive integer): it only fixes the input shape, which the model's input gives.
/// Refused: `lora_rank` / `lora_alpha` other than null (LoRA adds weights and changes the
/// table), `quantization_config` other than null, tf.keras's `sparse=True` (a sparse
/// output) and a dtype other than float32. `embeddings_regularizer`,
/// `embeddings_constraint` and `activity_regularizer` are read by [`super::layer_attrs`]
/// (Keras regularizes the whole table).
pub(super) fn embedding(l: &KerasLayer) -> Result<Embedding> {
    require_float32(l)?;
    require_null(l, &["lora_rank", "lora_alpha", "quantization_config"])?;
    let input_dim = size_option(l, "input_dim")?;
    let output_dim = size_option(l, "output_dim")?;
    let flag = |key: &str| flag_option(l, key, false);
    let mask_zero = flag("mask_zero")?;
    if flag("sparse")? {
        return Err(unsupported(l, "sparse", &Value::Bool(true), "false"));
    }
    match l.config.get("input_length") {
        None | Some(Value::Null) => {}
        Some(v) if v.as_u64().is_some_and(|n| n > 0) => {}
        Some(v) => {
            return Err(unsupported(
                l,
                "input_length",
                v,
                "null or a positive integer",
            ))
        }
    }
    Ok(Embedding {
        input_dim,
        output_dim,
        mask_zero,
    })
}
