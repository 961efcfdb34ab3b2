//! The pooling layers: `MaxPooling1D/2D`, `AveragePooling1D/2D`,
//! `GlobalMaxPooling1D/2D`, `GlobalAveragePooling1D/2D` (Keras 3's options:
//! `keras/src/layers/pooling/base_pooling.py`, `base_global_pooling.py`).

use ember_nn::layers::{
    AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D, Padding,
};
use serde_json::Value;

use super::options::{flag_option, require_float32, unsupported};
use crate::keras::KerasLayer;
use crate::Result;

/// `pool_size`, `strides`, `padding` of a windowed pooling layer with `n` spatial axes,
/// after checking `dtype` and `data_format`. `default_pool` is Keras's default
/// `pool_size` (`MaxPooling*`: 2 per axis; `AveragePooling*` has none: the key is
/// required).
fn window_options(
    l: &KerasLayer,
    n: usize,
    default_pool: Option<u32>,
) -> Result<(Vec<u32>, Vec<u32>, Padding)> {
    require_float32(l)?;
    channels_last(l)?;
    let pool = match (l.config.get("pool_size"), default_pool) {
        (None, Some(d)) => vec![d; n],
        (v, _) => sizes(l, "pool_size", v.unwrap_or(&Value::Null), n)?,
    };
    // Keras: `strides=None` means `strides = pool_size`.
    let strides = match l.config.get("strides") {
        None | Some(Value::Null) => pool.clone(),
        Some(v) => sizes(l, "strides", v, n)?,
    };
    Ok((pool, strides, padding(l)?))
}

/// An int or a list of `n` ints, each in `1..=u32::MAX` (Keras's `standardize_tuple`;
/// Keras accepts a zero stride, which its pooling cannot run, so it is refused here).
fn sizes(l: &KerasLayer, key: &str, v: &Value, n: usize) -> Result<Vec<u32>> {
    let supported = if n == 1 {
        "a positive integer (or a list of one)".to_string()
    } else {
        format!("a positive integer or a list of {n} positive integers")
    };
    let one = |e: &Value| {
        e.as_u64()
            .filter(|&u| u > 0)
            .and_then(|u| u32::try_from(u).ok())
    };
    let out = match v {
        Value::Array(a) if a.len() == n => a.iter().map(one).collect::<Option<Vec<_>>>(),
        Value::Array(_) => None,
        _ => one(v).map(|s| vec![s; n]),
    };
    out.ok_or_else(|| unsupported(l, key, v, &supported))
}

/// `padding`: `"valid"` (default) or `"same"`, case-insensitive as Keras's `ops` lowercase
/// it (`MaxPooling1D(padding="SAME")` saves `"SAME"` and runs as `"same"`).
fn padding(l: &KerasLayer) -> Result<Padding> {
    let v = match l.config.get("padding") {
        None => return Ok(Padding::Valid),
        Some(v) => v,
    };
    match v.as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("valid") => Ok(Padding::Valid),
        Some("same") => Ok(Padding::Same),
        _ => Err(unsupported(l, "padding", v, "\"valid\" or \"same\"")),
    }
}

/// `data_format`: absent, null (Keras's default, channels_last) or `"channels_last"`;
/// `"channels_first"` is not implemented.
fn channels_last(l: &KerasLayer) -> Result<()> {
    match l.config.get("data_format") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if s == "channels_last" => Ok(()),
        Some(v) => Err(unsupported(l, "data_format", v, "\"channels_last\"")),
    }
}

/// The options of a global pooling layer: `dtype`, `data_format` and `keepdims` (default
/// false). Keras's `GlobalAveragePooling1D` also takes a call-time `mask`, which is not
/// part of the config (Ember has no masks yet).
fn keepdims(l: &KerasLayer) -> Result<bool> {
    require_float32(l)?;
    channels_last(l)?;
    flag_option(l, "keepdims", false)
}

pub(super) fn max_pooling_1d(l: &KerasLayer) -> Result<MaxPooling1D> {
    let (pool, strides, padding) = window_options(l, 1, Some(2))?;
    Ok(MaxPooling1D {
        pool_size: pool[0],
        strides: strides[0],
        padding,
    })
}

pub(super) fn max_pooling_2d(l: &KerasLayer) -> Result<MaxPooling2D> {
    let (pool, strides, padding) = window_options(l, 2, Some(2))?;
    Ok(MaxPooling2D {
        pool_size: [pool[0], pool[1]],
        strides: [strides[0], strides[1]],
        padding,
    })
}

pub(super) fn average_pooling_1d(l: &KerasLayer) -> Result<AveragePooling1D> {
    let (pool, strides, padding) = window_options(l, 1, None)?;
    Ok(AveragePooling1D {
        pool_size: pool[0],
        strides: strides[0],
        padding,
    })
}

pub(super) fn average_pooling_2d(l: &KerasLayer) -> Result<AveragePooling2D> {
    let (pool, strides, padding) = window_options(l, 2, None)?;
    Ok(AveragePooling2D {
        pool_size: [pool[0], pool[1]],
        strides: [strides[0], strides[1]],
        padding,
    })
}

pub(super) fn global_max_pooling_1d(l: &KerasLayer) -> Result<GlobalMaxPooling1D> {
    Ok(GlobalMaxPooling1D {
        keepdims: keepdims(l)?,
    })
}

pub(super) fn global_max_pooling_2d(l: &KerasLayer) -> Result<GlobalMaxPooling2D> {
    Ok(GlobalMaxPooling2D {
        keepdims: keepdims(l)?,
    })
}

pub(super) fn global_average_pooling_1d(l: &KerasLayer) -> Result<GlobalAveragePooling1D> {
    Ok(GlobalAveragePooling1D {
        keepdims: keepdims(l)?,
    })
}

pub(super) fn global_average_pooling_2d(l: &KerasLayer) -> Result<GlobalAveragePooling2D> {
    Ok(GlobalAveragePooling2D {
        keepdims: keepdims(l)?,
    })
}
