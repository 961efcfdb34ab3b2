//! Converter mappings of Keras's spatial resizing layers: `ZeroPadding1D`,
//! `ZeroPadding2D`, `Cropping1D`, `Cropping2D`, `UpSampling1D`, `UpSampling2D`
//! (`keras/src/layers/reshaping/`).
//!
//! Keras saves the standardized options (`padding: [[t, b], [l, r]]`), but every
//! spelling its constructors accept is read: an int `p`, a pair `(a, b)` and, for the
//! 2-D layers, a pair of pairs `((t, b), (l, r))`. `data_format` must be channels last
//! and the dtype float32.

use ember_nn::layers::{
    Cropping1D, Cropping2D, Interpolation, UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D,
};
use serde_json::Value;

use super::options::{require_float32, unsupported};
use crate::keras::KerasLayer;
use crate::Result;

/// `ZeroPadding1D` → [`ZeroPadding1D`] (`padding` defaults to 1).
pub(super) fn zero_padding1d(l: &KerasLayer) -> Result<ZeroPadding1D> {
    common(l, true)?;
    Ok(ZeroPadding1D {
        padding: pair(l, "padding", [1, 1])?,
    })
}

/// `ZeroPadding2D` → [`ZeroPadding2D`] (`padding` defaults to `(1, 1)`).
pub(super) fn zero_padding2d(l: &KerasLayer) -> Result<ZeroPadding2D> {
    common(l, true)?;
    Ok(ZeroPadding2D {
        padding: pairs(l, "padding", [[1, 1], [1, 1]])?,
    })
}

/// `Cropping1D` → [`Cropping1D`] (`cropping` defaults to `(1, 1)`; no `data_format`).
pub(super) fn cropping1d(l: &KerasLayer) -> Result<Cropping1D> {
    common(l, false)?;
    Ok(Cropping1D {
        cropping: pair(l, "cropping", [1, 1])?,
    })
}

/// `Cropping2D` → [`Cropping2D`] (`cropping` defaults to `((0, 0), (0, 0))`).
pub(super) fn cropping2d(l: &KerasLayer) -> Result<Cropping2D> {
    common(l, true)?;
    Ok(Cropping2D {
        cropping: pairs(l, "cropping", [[0, 0], [0, 0]])?,
    })
}

/// `UpSampling1D` → [`UpSampling1D`] (`size` defaults to 2; Keras takes only an int).
pub(super) fn up_sampling1d(l: &KerasLayer) -> Result<UpSampling1D> {
    common(l, false)?;
    let size = match l.config.get("size") {
        None => 2,
        Some(v) => positive(v).ok_or_else(|| unsupported(l, "size", v, "a positive integer"))?,
    };
    Ok(UpSampling1D { size })
}

/// `UpSampling2D` → [`UpSampling2D`] (`size` defaults to `(2, 2)`, `interpolation` to
/// `"nearest"`; `"bilinear"` is the other one implemented).
pub(super) fn up_sampling2d(l: &KerasLayer) -> Result<UpSampling2D> {
    common(l, true)?;
    let size = match l.config.get("size") {
        None => [2, 2],
        Some(v) => {
            let sizes = match v {
                Value::Array(a) if a.len() == 2 => positive(&a[0]).zip(positive(&a[1])),
                _ => positive(v).map(|s| (s, s)),
            };
            let (h, w) = sizes
                .ok_or_else(|| unsupported(l, "size", v, "a positive integer or 2 of them"))?;
            [h, w]
        }
    };
    let interpolation = match l.config.get("interpolation") {
        None => Interpolation::Nearest,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("nearest") => Interpolation::Nearest,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("bilinear") => Interpolation::Bilinear,
        Some(v) => {
            return Err(unsupported(
                l,
                "interpolation",
                v,
                "\"nearest\" or \"bilinear\"",
            ))
        }
    };
    Ok(UpSampling2D {
        size,
        interpolation,
    })
}

/// dtype float32 and, when the class has one, `data_format` channels last.
fn common(l: &KerasLayer, has_data_format: bool) -> Result<()> {
    require_float32(l)?;
    if has_data_format {
        match l.config.get("data_format") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s == "channels_last" => {}
            Some(v) => return Err(unsupported(l, "data_format", v, "\"channels_last\"")),
        }
    }
    Ok(())
}

fn positive(v: &Value) -> Option<u32> {
    v.as_u64()
        .filter(|&u| u > 0 && u <= u32::MAX as u64)
        .map(|u| u as u32)
}

fn non_negative(v: &Value) -> Option<u32> {
    v.as_u64()
        .filter(|&u| u <= u32::MAX as u64)
        .map(|u| u as u32)
}

/// `p` → `[p, p]`, `[a, b]` → `[a, b]` (Keras's `standardize_tuple(v, 2, allow_zero)`).
fn pair_value(v: &Value) -> Option<[u32; 2]> {
    match v {
        Value::Array(a) if a.len() == 2 => Some([non_negative(&a[0])?, non_negative(&a[1])?]),
        _ => non_negative(v).map(|p| [p, p]),
    }
}

/// A 1-D pair option; `default` when absent.
fn pair(l: &KerasLayer, key: &str, default: [u32; 2]) -> Result<[u32; 2]> {
    let Some(v) = l.config.get(key) else {
        return Ok(default);
    };
    pair_value(v).ok_or_else(|| unsupported(l, key, v, "a non-negative integer or 2 of them"))
}

/// A 2-D option: `p` → `[[p, p], [p, p]]`; `(a, b)` → `[[a, a], [b, b]]`;
/// `((t, b), (l, r))` → as is (each entry through [`pair_value`]).
fn pairs(l: &KerasLayer, key: &str, default: [[u32; 2]; 2]) -> Result<[[u32; 2]; 2]> {
    let Some(v) = l.config.get(key) else {
        return Ok(default);
    };
    let parsed = match v {
        Value::Array(a) if a.len() == 2 => pair_value(&a[0]).zip(pair_value(&a[1])),
        _ => non_negative(v).map(|p| ([p, p], [p, p])),
    };
    parsed.map(|(h, w)| [h, w]).ok_or_else(|| {
        unsupported(
            l,
            key,
            v,
            "a non-negative integer, 2 of them, or 2 pairs of them",
        )
    })
}
