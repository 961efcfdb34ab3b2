//! Converter mappings of Keras's depthwise and separable convolutions:
//! `DepthwiseConv1D`, `DepthwiseConv2D`, `SeparableConv1D`, `SeparableConv2D`.
//!
//! Every option of the Keras 3 config is read: the supported values are accepted,
//! anything else is refused by name. Initializers are accepted whatever they are (they
//! only matter before the weights are trained); regularizers and constraints are read by
//! [`super::layer_attrs`]; a `data_format` other than `channels_last`, a dtype other than
//! float32 and padding other than `"valid"`/`"same"` are refused.

use ember_nn::layers::{
    DepthwiseConv1D, DepthwiseConv2D, Padding, SeparableConv1D, SeparableConv2D,
};
use ember_nn::Activation;
use serde_json::Value;

use super::options::{fused_activation, require_float32, unsupported};
use crate::keras::KerasLayer;
use crate::Result;

/// The options the four classes share, as a 2-D window (1-D: one value per option).
struct Common {
    kernel_size: Vec<u32>,
    strides: Vec<u32>,
    dilation_rate: Vec<u32>,
    padding: Padding,
    depth_multiplier: u32,
    activation: Activation,
    use_bias: bool,
}

/// A positive `u32`.
fn positive(v: &Value) -> Option<u32> {
    v.as_u64()
        .filter(|&u| u > 0 && u <= u32::MAX as u64)
        .map(|u| u as u32)
}

/// `key` as `rank` positive integers: Keras saves a tuple (a JSON array); an integer
/// stands for the same value on every axis. `default` when absent.
fn tuple(l: &KerasLayer, key: &str, rank: usize, default: Option<u32>) -> Result<Vec<u32>> {
    let supported = if rank == 1 {
        "a positive integer or a list of one"
    } else {
        "a positive integer or a list of two"
    };
    let v = match l.config.get(key) {
        None => {
            return default
                .map(|d| vec![d; rank])
                .ok_or_else(|| unsupported(l, key, &Value::Null, supported))
        }
        Some(v) => v,
    };
    let out = match v {
        Value::Array(a) if a.len() == rank => a.iter().map(positive).collect::<Option<Vec<_>>>(),
        _ => positive(v).map(|p| vec![p; rank]),
    };
    out.ok_or_else(|| unsupported(l, key, v, supported))
}

fn common(l: &KerasLayer, rank: usize) -> Result<Common> {
    let c = &l.config;
    require_float32(l)?;
    match c.get("data_format") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == "channels_last" => {}
        Some(v) => return Err(unsupported(l, "data_format", v, "\"channels_last\"")),
    }
    let padding = match c.get("padding") {
        None => Padding::Valid,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("valid") => Padding::Valid,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("same") => Padding::Same,
        Some(v) => return Err(unsupported(l, "padding", v, "\"valid\" or \"same\"")),
    };
    let dm_v = c.get("depth_multiplier").unwrap_or(&Value::Null);
    let depth_multiplier = match c.get("depth_multiplier") {
        None => 1,
        Some(v) => positive(v)
            .ok_or_else(|| unsupported(l, "depth_multiplier", dm_v, "a positive integer"))?,
    };
    let use_bias = match c.get("use_bias") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => return Err(unsupported(l, "use_bias", v, "true or false")),
    };
    Ok(Common {
        kernel_size: tuple(l, "kernel_size", rank, None)?,
        strides: tuple(l, "strides", rank, Some(1))?,
        dilation_rate: tuple(l, "dilation_rate", rank, Some(1))?,
        padding,
        depth_multiplier,
        activation: fused_activation(l)?,
        use_bias,
    })
}

fn filters(l: &KerasLayer) -> Result<u32> {
    let v = l.config.get("filters").unwrap_or(&Value::Null);
    positive(v).ok_or_else(|| unsupported(l, "filters", v, "a positive integer"))
}

fn pair(v: &[u32]) -> [u32; 2] {
    [v[0], v[1]]
}

/// Keras `DepthwiseConv1D` → [`DepthwiseConv1D`].
pub(super) fn depthwise_conv1d(l: &KerasLayer) -> Result<DepthwiseConv1D> {
    let c = common(l, 1)?;
    Ok(DepthwiseConv1D {
        kernel_size: c.kernel_size[0],
        strides: c.strides[0],
        padding: c.padding,
        dilation_rate: c.dilation_rate[0],
        depth_multiplier: c.depth_multiplier,
        activation: c.activation,
        use_bias: c.use_bias,
    })
}

/// Keras `DepthwiseConv2D` → [`DepthwiseConv2D`].
pub(super) fn depthwise_conv2d(l: &KerasLayer) -> Result<DepthwiseConv2D> {
    let c = common(l, 2)?;
    Ok(DepthwiseConv2D {
        kernel_size: pair(&c.kernel_size),
        strides: pair(&c.strides),
        padding: c.padding,
        dilation_rate: pair(&c.dilation_rate),
        depth_multiplier: c.depth_multiplier,
        activation: c.activation,
        use_bias: c.use_bias,
    })
}

/// Keras `SeparableConv1D` → [`SeparableConv1D`].
pub(super) fn separable_conv1d(l: &KerasLayer) -> Result<SeparableConv1D> {
    let c = common(l, 1)?;
    Ok(SeparableConv1D {
        filters: filters(l)?,
        kernel_size: c.kernel_size[0],
        strides: c.strides[0],
        padding: c.padding,
        dilation_rate: c.dilation_rate[0],
        depth_multiplier: c.depth_multiplier,
        activation: c.activation,
        use_bias: c.use_bias,
    })
}

/// Keras `SeparableConv2D` → [`SeparableConv2D`].
pub(super) fn separable_conv2d(l: &KerasLayer) -> Result<SeparableConv2D> {
    let c = common(l, 2)?;
    Ok(SeparableConv2D {
        filters: filters(l)?,
        kernel_size: pair(&c.kernel_size),
        strides: pair(&c.strides),
        padding: c.padding,
        dilation_rate: pair(&c.dilation_rate),
        depth_multiplier: c.depth_multiplier,
        activation: c.activation,
        use_bias: c.use_bias,
    })
}
