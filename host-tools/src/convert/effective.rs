//! The layers the converter maps, per Keras file: a Keras-2 file's names whose meaning
//! changed in Keras 3, and the wrappers replaced by what they wrap (`TimeDistributed`) or
//! reordered (`Bidirectional`'s weights, forward first).

use std::borrow::Cow;

use serde_json::Value;

use super::recurrent;
use crate::keras::{KerasLayer, KerasModel};
use crate::{Error, Result};

/// Whether the file was written by Keras 1/2 (tf.keras 2): its `keras_version`.
pub(super) fn is_keras2(model: &KerasModel) -> bool {
    model
        .keras_version
        .as_deref()
        .and_then(|v| v.split('.').next())
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|major| major <= 2)
}

/// A Keras-2 file's layers with the names whose function changed in Keras 3 renamed to
/// Ember's Keras-2 variant: `hard_sigmoid` was `clip(0.2·x + 0.5, 0, 1)` before Keras 3
/// ([`ember_nn::Activation::HardSigmoidKeras2`]). `None` when nothing changes.
pub(super) fn keras2_layers(model: &KerasModel) -> Option<Vec<KerasLayer>> {
    fn rename(v: &mut Value) -> bool {
        let mut changed = false;
        match v {
            Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    let is_activation = k == "activation" || k == "recurrent_activation";
                    if is_activation && x.as_str() == Some("hard_sigmoid") {
                        *x = Value::String("hard_sigmoid_keras2".into());
                        changed = true;
                    } else {
                        changed |= rename(x);
                    }
                }
            }
            Value::Array(a) => {
                for x in a {
                    changed |= rename(x);
                }
            }
            _ => {}
        }
        changed
    }
    if !is_keras2(model) {
        return None;
    }
    let mut layers = model.layers.clone();
    let mut changed = false;
    for l in &mut layers {
        changed |= rename(&mut l.config);
    }
    changed.then_some(layers)
}

/// Each layer as the converter maps it, with whether it runs under `TimeDistributed`
/// (a `TimeDistributed` layer is replaced by the layer it wraps, which takes its weights).
pub(super) fn effective_layers(layers: &[KerasLayer]) -> Result<Vec<(Cow<'_, KerasLayer>, bool)>> {
    layers
        .iter()
        .map(|l| {
            if l.class_name == "Bidirectional" {
                let mut b = l.clone();
                b.weights = recurrent::bidirectional_weights(&l.weights);
                return Ok((Cow::Owned(b), false));
            }
            if l.class_name != "TimeDistributed" {
                return Ok((Cow::Borrowed(l), false));
            }
            let inner = l.config.get("layer").ok_or_else(|| {
                Error::Config(format!("TimeDistributed layer `{}` has no `layer`", l.name))
            })?;
            let class = inner
                .get("class_name")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    Error::Config(format!(
                        "TimeDistributed layer `{}`: the wrapped layer has no class_name",
                        l.name
                    ))
                })?;
            let config = inner.get("config").cloned().unwrap_or(Value::Null);
            Ok((
                Cow::Owned(KerasLayer {
                    name: l.name.clone(),
                    class_name: class.to_string(),
                    config,
                    trainable: l.trainable,
                    weights: l.weights.clone(),
                }),
                true,
            ))
        })
        .collect()
}
