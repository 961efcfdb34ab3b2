//! Keras model → Ember blob.
//!
//! The converter maps each Keras layer class to an [`ember_nn::layers::LayerConfig`],
//! checking every config option: an option Ember does not implement is refused by name
//! ([`Error::UnsupportedOption`]), never approximated. Later issues add classes by adding
//! an arm to [`layer_config`].

use ember_nn::blob::{encoded_len, write, LayerSpec};
use ember_nn::layers::{Dense, LayerConfig};
use ember_nn::{Activation, Scalar, Shape, Q16_16};
use serde_json::Value;

use crate::blob_file::AlignedBytes;
use crate::keras::{KerasLayer, KerasModel};
use crate::{Error, Result};

/// The numeric type the blob stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DTypeChoice {
    /// `f32` weights (MCUs with an FPU; matches Keras to float rounding).
    #[default]
    F32,
    /// Q16.16 fixed point (MCUs without an FPU).
    Fixed,
}

/// Layer classes the converter accepts (for error messages).
pub const SUPPORTED_CLASSES: &str = "Dense";

/// Converts a Keras model read by [`crate::keras`] into blob bytes (16-byte aligned).
pub fn convert(model: &KerasModel, dtype: DTypeChoice) -> Result<AlignedBytes> {
    let input = input_shape(model)?;
    let configs = model
        .layers
        .iter()
        .map(layer_config)
        .collect::<Result<Vec<_>>>()?;
    // Check weight shapes against what each layer expects, with Keras-level messages.
    let mut shape = input;
    for (l, c) in model.layers.iter().zip(&configs) {
        let expected = c.param_shapes(shape)?;
        if expected.len() != l.weights.len() {
            return Err(Error::Config(format!(
                "layer `{}` ({}): {} weight tensors in the file, {} expected",
                l.name,
                l.class_name,
                l.weights.len(),
                expected.len()
            )));
        }
        for (i, (w, e)) in l.weights.iter().zip(expected.iter()).enumerate() {
            let e: Vec<usize> = e.dims().iter().map(|&d| d as usize).collect();
            if w.shape != e {
                return Err(Error::WeightShape {
                    layer: l.name.clone(),
                    index: i,
                    found: w.shape.clone(),
                    expected: e,
                });
            }
        }
        shape = c.output_shape(shape)?;
    }
    match dtype {
        DTypeChoice::F32 => {
            let params: Vec<Vec<Vec<f32>>> = model
                .layers
                .iter()
                .map(|l| l.weights.iter().map(|w| w.data.clone()).collect())
                .collect();
            encode::<f32>(model, input, &configs, &params)
        }
        DTypeChoice::Fixed => {
            let params: Vec<Vec<Vec<Q16_16>>> = model
                .layers
                .iter()
                .map(|l| {
                    l.weights
                        .iter()
                        .map(|w| w.data.iter().map(|&v| Q16_16::from_f32(v)).collect())
                        .collect()
                })
                .collect();
            encode::<Q16_16>(model, input, &configs, &params)
        }
    }
}

fn encode<T: Scalar>(
    model: &KerasModel,
    input: Shape,
    configs: &[LayerConfig],
    params: &[Vec<Vec<T>>],
) -> Result<AlignedBytes> {
    let refs: Vec<Vec<&[T]>> = params
        .iter()
        .map(|l| l.iter().map(|p| p.as_slice()).collect())
        .collect();
    let specs: Vec<LayerSpec<'_, T>> = model
        .layers
        .iter()
        .zip(configs)
        .zip(&refs)
        .map(|((l, c), p)| LayerSpec {
            name: &l.name,
            trainable: l.trainable,
            config: *c,
            params: p,
        })
        .collect();
    let len = encoded_len(&model.name, input, &specs)?;
    let mut out = AlignedBytes::zeroed(len);
    write(&model.name, input, &specs, out.as_mut_slice())?;
    Ok(out)
}

fn input_shape(model: &KerasModel) -> Result<Shape> {
    let dims = model.input_shape.get(1..).unwrap_or(&[]);
    let dims = dims
        .iter()
        .map(|d| {
            d.ok_or_else(|| {
                Error::Config(format!(
                    "input shape {:?} has an open dimension; Ember needs fixed sizes",
                    model.input_shape
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Shape::new(&dims).map_err(|_| {
        Error::Config(format!(
            "input shape {:?} is not supported (rank 1..=4 without batch, no zero dims)",
            model.input_shape
        ))
    })
}

/// Maps one Keras layer to its Ember configuration, refusing unsupported options.
pub fn layer_config(l: &KerasLayer) -> Result<LayerConfig> {
    match l.class_name.as_str() {
        "Dense" => dense(l).map(LayerConfig::Dense),
        _ => Err(Error::UnsupportedLayer {
            layer: l.name.clone(),
            class: l.class_name.clone(),
            supported: SUPPORTED_CLASSES.into(),
        }),
    }
}

fn unsupported(l: &KerasLayer, option: &str, value: &Value, supported: &str) -> Error {
    Error::UnsupportedOption {
        layer: l.name.clone(),
        class: l.class_name.clone(),
        option: option.into(),
        value: value.to_string(),
        supported: supported.into(),
    }
}

/// Options that must be absent or null: Ember would otherwise compute something else.
fn require_null(l: &KerasLayer, keys: &[&str]) -> Result<()> {
    for &k in keys {
        if let Some(v) = l.config.get(k) {
            if !v.is_null() {
                return Err(unsupported(l, k, v, "null"));
            }
        }
    }
    Ok(())
}

/// The layer's dtype must be float32 (a string or a `DTypePolicy` dict).
fn require_float32(l: &KerasLayer) -> Result<()> {
    let Some(v) = l.config.get("dtype") else {
        return Ok(());
    };
    let name = match v {
        Value::Null => return Ok(()),
        Value::String(s) => s.as_str(),
        Value::Object(o) => o
            .get("config")
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
            .unwrap_or(""),
        _ => "",
    };
    if name == "float32" {
        Ok(())
    } else {
        Err(unsupported(l, "dtype", v, "\"float32\""))
    }
}

fn dense(l: &KerasLayer) -> Result<Dense> {
    let c = &l.config;
    require_float32(l)?;
    require_null(
        l,
        &[
            "kernel_regularizer",
            "bias_regularizer",
            "activity_regularizer",
            "kernel_constraint",
            "bias_constraint",
            "lora_rank",
            "quantization_config",
        ],
    )?;
    let units_v = c.get("units").unwrap_or(&Value::Null);
    let units = units_v
        .as_u64()
        .filter(|&u| u > 0 && u <= u32::MAX as u64)
        .ok_or_else(|| unsupported(l, "units", units_v, "a positive integer"))?
        as u32;
    let act_v = c.get("activation").unwrap_or(&Value::Null);
    let activation = match act_v {
        Value::Null => Activation::Linear,
        Value::String(s) => Activation::from_keras_name(s)
            .ok_or_else(|| unsupported(l, "activation", act_v, ACTIVATIONS))?,
        _ => return Err(unsupported(l, "activation", act_v, ACTIVATIONS)),
    };
    let use_bias = match c.get("use_bias") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => return Err(unsupported(l, "use_bias", v, "true or false")),
    };
    Ok(Dense {
        units,
        activation,
        use_bias,
    })
}

const ACTIVATIONS: &str = "\"linear\", \"relu\", \"sigmoid\", \"tanh\", \"softmax\"";
