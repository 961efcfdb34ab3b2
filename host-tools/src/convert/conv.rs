//! Keras `Conv1D` and `Conv2D` → [`Conv1D`], [`Conv2D`].
//!
//! Every option of Keras 3's `BaseConv` is read: `filters`, `kernel_size`, `strides`,
//! `padding`, `data_format`, `dilation_rate`, `groups`, `activation`, `use_bias`; the
//! initializers are accepted whatever they are (they only matter before training
//! started); regularizers and constraints are read by [`super::layer_attrs`]; LoRA and
//! quantization must be null; the dtype
//! must be float32. Values Keras itself refuses (zero sizes, `filters % groups != 0`,
//! `strides > 1` with `dilation_rate > 1`) are refused by name as well.

use ember_nn::layers::{Conv1D, Conv2D, Padding};
use ember_nn::Activation;
use serde_json::Value;

use super::options::{fused_activation, require_float32, require_null, unsupported};
use crate::keras::KerasLayer;
use crate::Result;

/// Options that must be null (or absent): Ember would otherwise compute something else.
const NULL_OPTIONS: &[&str] = &["lora_rank", "lora_alpha", "quantization_config"];

/// The options shared by both classes, `rank`-tuples as `Vec<u32>` of length `rank`.
struct Options {
    filters: u32,
    kernel_size: Vec<u32>,
    strides: Vec<u32>,
    padding: Padding,
    dilation_rate: Vec<u32>,
    groups: u32,
    activation: Activation,
    use_bias: bool,
}

/// A positive integer that fits a `u32`.
fn positive(v: &Value) -> Option<u32> {
    v.as_u64()
        .filter(|&u| u > 0 && u <= u32::MAX as u64)
        .map(|u| u as u32)
}

/// Keras's `standardize_tuple`: one positive integer (repeated `rank` times) or a list of
/// `rank` of them; `default` when the key is absent.
fn tuple(l: &KerasLayer, key: &str, rank: usize, default: Option<u32>) -> Result<Vec<u32>> {
    let v = l.config.get(key);
    let supported = if rank == 1 {
        "a positive integer or a list of one".to_string()
    } else {
        format!("a positive integer or a list of {rank}")
    };
    let parsed = match v {
        None => default.map(|d| vec![d; rank]),
        Some(Value::Array(a)) if a.len() == rank => a.iter().map(positive).collect(),
        Some(v) => positive(v).map(|n| vec![n; rank]),
    };
    parsed.ok_or_else(|| unsupported(l, key, v.unwrap_or(&Value::Null), &supported))
}

fn options(l: &KerasLayer, rank: usize) -> Result<Options> {
    let c = &l.config;
    require_float32(l)?;
    require_null(l, NULL_OPTIONS)?;
    match c.get("data_format") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == "channels_last" => {}
        Some(v) => return Err(unsupported(l, "data_format", v, "\"channels_last\"")),
    }
    let filters_v = c.get("filters").unwrap_or(&Value::Null);
    let filters = positive(filters_v)
        .ok_or_else(|| unsupported(l, "filters", filters_v, "a positive integer"))?;
    let kernel_size = tuple(l, "kernel_size", rank, None)?;
    let strides = tuple(l, "strides", rank, Some(1))?;
    let dilation_rate = tuple(l, "dilation_rate", rank, Some(1))?;
    let (padding_supported, allowed): (&str, &[&str]) = if rank == 1 {
        (
            "\"valid\", \"same\" or \"causal\"",
            &["valid", "same", "causal"],
        )
    } else {
        ("\"valid\" or \"same\"", &["valid", "same"])
    };
    let padding_v = c.get("padding");
    let padding = match padding_v {
        None => Some(Padding::Valid),
        // Keras lower-cases the string (`standardize_padding`).
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            p if !allowed.contains(&p) => None,
            "valid" => Some(Padding::Valid),
            "same" => Some(Padding::Same),
            _ => Some(Padding::Causal),
        },
        _ => None,
    }
    .ok_or_else(|| {
        unsupported(
            l,
            "padding",
            padding_v.unwrap_or(&Value::Null),
            padding_supported,
        )
    })?;
    let groups = match c.get("groups") {
        None => 1,
        Some(v) => positive(v).ok_or_else(|| unsupported(l, "groups", v, "a positive integer"))?,
    };
    if filters % groups != 0 {
        return Err(unsupported(
            l,
            "groups",
            &Value::from(groups),
            &format!("a divisor of filters={filters} (Keras requires it)"),
        ));
    }
    if strides.iter().any(|&s| s > 1) && dilation_rate.iter().any(|&d| d > 1) {
        return Err(unsupported(
            l,
            "dilation_rate",
            &Value::from(dilation_rate.clone()),
            &format!("all 1 when strides={strides:?} has a stride above 1 (Keras requires it)"),
        ));
    }
    let activation = fused_activation(l)?;
    let use_bias = match c.get("use_bias") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => return Err(unsupported(l, "use_bias", v, "true or false")),
    };
    Ok(Options {
        filters,
        kernel_size,
        strides,
        padding,
        dilation_rate,
        groups,
        activation,
        use_bias,
    })
}

/// Keras `Conv1D` → [`Conv1D`].
pub(super) fn conv1d(l: &KerasLayer) -> Result<Conv1D> {
    let o = options(l, 1)?;
    Ok(Conv1D {
        filters: o.filters,
        kernel_size: o.kernel_size[0],
        strides: o.strides[0],
        padding: o.padding,
        dilation_rate: o.dilation_rate[0],
        groups: o.groups,
        activation: o.activation,
        use_bias: o.use_bias,
    })
}

/// Keras `Conv2D` → [`Conv2D`].
pub(super) fn conv2d(l: &KerasLayer) -> Result<Conv2D> {
    let o = options(l, 2)?;
    Ok(Conv2D {
        filters: o.filters,
        kernel_size: [o.kernel_size[0], o.kernel_size[1]],
        strides: [o.strides[0], o.strides[1]],
        padding: o.padding,
        dilation_rate: [o.dilation_rate[0], o.dilation_rate[1]],
        groups: o.groups,
        activation: o.activation,
        use_bias: o.use_bias,
    })
}
