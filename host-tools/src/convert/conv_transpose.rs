//! Converter mappings of Keras's transposed convolutions, `Conv1DTranspose` and
//! `Conv2DTranspose` (`keras/src/layers/convolutional/base_conv_transpose.py`).
//!
//! Every option is read: `filters`, `kernel_size`, `strides`, `padding`,
//! `output_padding`, `data_format`, `dilation_rate`, `activation` (fused, see
//! [`super::options::fused_activation`]), `use_bias`; the regularizers and constraints
//! are read by [`super::layer_attrs`]; the dtype must be float32. The initializers only matter before training
//! starts and the converter takes the saved weights, so they are accepted as they are.

use ember_nn::layers::{Conv1DTranspose, Conv2DTranspose, Padding};
use serde_json::Value;

use super::options::{fused_activation, require_float32, unsupported};
use crate::keras::KerasLayer;
use crate::Result;

/// `Conv1DTranspose` → [`Conv1DTranspose`].
pub(super) fn conv1d_transpose(l: &KerasLayer) -> Result<Conv1DTranspose> {
    let o = options::<1>(l)?;
    Ok(Conv1DTranspose {
        filters: o.filters,
        kernel_size: o.kernel_size[0],
        strides: o.strides[0],
        padding: o.padding,
        output_padding: o.output_padding.map(|p| p[0]),
        dilation_rate: o.dilation_rate[0],
        activation: o.activation,
        use_bias: o.use_bias,
    })
}

/// `Conv2DTranspose` → [`Conv2DTranspose`].
pub(super) fn conv2d_transpose(l: &KerasLayer) -> Result<Conv2DTranspose> {
    let o = options::<2>(l)?;
    Ok(Conv2DTranspose {
        filters: o.filters,
        kernel_size: o.kernel_size,
        strides: o.strides,
        padding: o.padding,
        output_padding: o.output_padding,
        dilation_rate: o.dilation_rate,
        activation: o.activation,
        use_bias: o.use_bias,
    })
}

/// The options of a rank-`N` transposed convolution.
struct Options<const N: usize> {
    filters: u32,
    kernel_size: [u32; N],
    strides: [u32; N],
    padding: Padding,
    output_padding: Option<[u32; N]>,
    dilation_rate: [u32; N],
    activation: ember_nn::Activation,
    use_bias: bool,
}

fn options<const N: usize>(l: &KerasLayer) -> Result<Options<N>> {
    let c = &l.config;
    require_float32(l)?;
    match c.get("data_format") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == "channels_last" => {}
        Some(v) => return Err(unsupported(l, "data_format", v, "\"channels_last\"")),
    }
    let filters_v = c.get("filters").unwrap_or(&Value::Null);
    let filters = filters_v
        .as_u64()
        .filter(|&u| u > 0 && u <= u32::MAX as u64)
        .ok_or_else(|| unsupported(l, "filters", filters_v, "a positive integer"))?
        as u32;
    let kernel_size = tuple::<N>(l, "kernel_size", None, 1)?;
    let strides = tuple::<N>(l, "strides", Some(1), 1)?;
    let dilation_rate = tuple::<N>(l, "dilation_rate", Some(1), 1)?;
    let padding = match c.get("padding") {
        None => Padding::Valid,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("valid") => Padding::Valid,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("same") => Padding::Same,
        Some(v) => return Err(unsupported(l, "padding", v, "\"valid\" or \"same\"")),
    };
    let output_padding = match c.get("output_padding") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let p = tuple::<N>(l, "output_padding", None, 0)?;
            if p.iter().zip(&strides).any(|(p, s)| p >= s) {
                return Err(unsupported(
                    l,
                    "output_padding",
                    v,
                    "null or values smaller than strides",
                ));
            }
            Some(p)
        }
    };
    if strides.iter().any(|&s| s > 1) && dilation_rate.iter().any(|&d| d > 1) {
        let v = c.get("dilation_rate").unwrap_or(&Value::Null);
        return Err(unsupported(
            l,
            "dilation_rate",
            v,
            "1 when strides > 1 (Keras refuses both)",
        ));
    }
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
        output_padding,
        dilation_rate,
        activation: fused_activation(l)?,
        use_bias,
    })
}

/// An integer-tuple option as Keras's `standardize_tuple` accepts it: one integer (used
/// for every axis) or `N` integers, each `≥ min`; `default` when the key is absent.
fn tuple<const N: usize>(
    l: &KerasLayer,
    key: &str,
    default: Option<u32>,
    min: u64,
) -> Result<[u32; N]> {
    let supported = if min == 0 {
        format!("a non-negative integer or {N} of them")
    } else {
        format!("a positive integer or {N} of them")
    };
    let v = match (l.config.get(key), default) {
        (None, Some(d)) => return Ok([d; N]),
        (None, None) => &Value::Null,
        (Some(v), _) => v,
    };
    let one = |x: &Value| {
        x.as_u64()
            .filter(|&u| u >= min && u <= u32::MAX as u64)
            .map(|u| u as u32)
    };
    let parsed = match v {
        Value::Array(a) if a.len() == N => {
            let mut out = [0u32; N];
            let mut ok = true;
            for (o, x) in out.iter_mut().zip(a) {
                match one(x) {
                    Some(u) => *o = u,
                    None => ok = false,
                }
            }
            ok.then_some(out)
        }
        _ => one(v).map(|u| [u; N]),
    };
    parsed.ok_or_else(|| unsupported(l, key, v, &supported))
}
