//! Converter mapping of Keras's recurrent layers: `SimpleRNN`, `LSTM`, `GRU` and
//! `Bidirectional`.

use ember_nn::layers::{BiMerge, Bidirectional, Recurrent, RecurrentLayer, SimpleRNN, GRU, LSTM};
use ember_nn::Activation;
use serde_json::Value;

use super::options::{
    activation_named, flag_option as flag, require_float32, require_null, unsupported,
};
use crate::keras::{KerasLayer, KerasWeight};
use crate::Result;

/// An activation option under `key` (`default` when absent); refused when its derivative
/// needs its input (a cell keeps only post-activation gates).
fn activation(l: &KerasLayer, key: &str, default: Activation) -> Result<Activation> {
    let a = activation_named(l, key, default)?;
    let v = l.config.get(key).unwrap_or(&Value::Null);
    if a.needs_input() || matches!(a, Activation::Softmax | Activation::LogSoftmax) {
        return Err(unsupported(
            l,
            key,
            v,
            "an activation whose derivative follows from its output (not silu, gelu, softmax, …)",
        ));
    }
    Ok(a)
}

/// A rate in Keras's sense: any number, clamped to `[0, 1]` as the cell's constructor
/// does.
fn rate(l: &KerasLayer, key: &str) -> Result<f32> {
    match l.config.get(key) {
        None | Some(Value::Null) => Ok(0.0),
        Some(v) => v
            .as_f64()
            .filter(|f| f.is_finite())
            .map(|f| f.clamp(0.0, 1.0) as f32)
            .ok_or_else(|| unsupported(l, key, v, "a number")),
    }
}

/// The options every recurrent layer shares.
///
/// Read: `units`, `use_bias`, `return_sequences`, `go_backwards`, `stateful`,
/// `zero_output_for_mask`, `dropout`, `recurrent_dropout`. Ignored: the initializers and
/// `seed` (the weights come from the file; Ember draws its own dropout masks),
/// `implementation` (the same math), `time_major=False` (Keras 2). `return_state=True`
/// makes the call return several outputs (a graph converts them to `Slice` layers).
/// Refused: `unroll=True` (Keras's
/// unrolled loop outputs differently at masked steps), `time_major=True`, a dtype other
/// than float32.
fn common(l: &KerasLayer) -> Result<Recurrent> {
    require_float32(l)?;
    require_null(l, &["quantization_config"])?;
    let units_v = l.config.get("units").unwrap_or(&Value::Null);
    let units = units_v
        .as_u64()
        .filter(|&u| u > 0 && u <= u32::MAX as u64)
        .ok_or_else(|| unsupported(l, "units", units_v, "a positive integer"))?
        as u32;
    for (key, what) in [
        (
            "unroll",
            "false (Keras's unrolled loop outputs differently at masked steps)",
        ),
        ("time_major", "false"),
    ] {
        if flag(l, key, false)? {
            return Err(unsupported(l, key, &Value::Bool(true), what));
        }
    }
    Ok(Recurrent {
        units,
        use_bias: flag(l, "use_bias", true)?,
        return_sequences: flag(l, "return_sequences", false)?,
        return_state: flag(l, "return_state", false)?,
        go_backwards: flag(l, "go_backwards", false)?,
        stateful: flag(l, "stateful", false)?,
        zero_output_for_mask: flag(l, "zero_output_for_mask", false)?,
        dropout: rate(l, "dropout")?,
        recurrent_dropout: rate(l, "recurrent_dropout")?,
        bptt_window: 0,
    })
}

/// `keras.layers.SimpleRNN(units, activation="tanh", ...)`.
pub(super) fn simple_rnn(l: &KerasLayer) -> Result<SimpleRNN> {
    Ok(SimpleRNN {
        rnn: common(l)?,
        activation: activation(l, "activation", Activation::Tanh)?,
    })
}

/// `keras.layers.LSTM(units, activation="tanh", recurrent_activation="sigmoid",
/// unit_forget_bias=True, ...)`.
pub(super) fn lstm(l: &KerasLayer) -> Result<LSTM> {
    Ok(LSTM {
        rnn: common(l)?,
        activation: activation(l, "activation", Activation::Tanh)?,
        recurrent_activation: activation(l, "recurrent_activation", Activation::Sigmoid)?,
        unit_forget_bias: flag(l, "unit_forget_bias", true)?,
    })
}

/// `keras.layers.GRU(units, activation="tanh", recurrent_activation="sigmoid",
/// reset_after=True, ...)`. Keras 2's files say `reset_after` explicitly (its default was
/// `False` before tf.keras 2.0's `True`).
pub(super) fn gru(l: &KerasLayer) -> Result<GRU> {
    Ok(GRU {
        rnn: common(l)?,
        activation: activation(l, "activation", Activation::Tanh)?,
        recurrent_activation: activation(l, "recurrent_activation", Activation::Sigmoid)?,
        reset_after: flag(l, "reset_after", true)?,
    })
}

/// The recurrent layer a wrapper's `key` holds (`{"class_name", "config"}`), named
/// after the wrapper for messages.
fn wrapped(l: &KerasLayer, key: &str) -> Result<Option<RecurrentLayer>> {
    let Some(inner) = l.config.get(key).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let class = inner
        .get("class_name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let sub = KerasLayer {
        name: format!("{}/{key}", l.name),
        class_name: class.to_string(),
        config: inner.get("config").cloned().unwrap_or(Value::Null),
        trainable: l.trainable,
        weights: Vec::new(),
    };
    // The wrapped layer's own regularizers and constraints are not carried over.
    super::layer_attrs(&sub).and_then(|a| {
        if a == ember_nn::layers::LayerAttrs::NONE {
            Ok(())
        } else {
            Err(unsupported(
                l,
                key,
                &Value::String("regularizers or constraints".into()),
                "a wrapped layer without regularizers or constraints",
            ))
        }
    })?;
    Ok(Some(match class {
        "SimpleRNN" => RecurrentLayer::SimpleRNN(simple_rnn(&sub)?),
        "LSTM" => RecurrentLayer::LSTM(lstm(&sub)?),
        "GRU" => RecurrentLayer::GRU(gru(&sub)?),
        _ => {
            return Err(unsupported(
                l,
                key,
                &Value::String(class.into()),
                "SimpleRNN, LSTM or GRU",
            ))
        }
    }))
}

/// The wrapped layer with `go_backwards` flipped and `zero_output_for_mask` cleared (the
/// two options Keras sets on a Bidirectional's generated backward layer and on both
/// directions).
fn normalized(r: RecurrentLayer, flip: bool) -> RecurrentLayer {
    let fix = |o: &mut Recurrent| {
        o.go_backwards ^= flip;
        o.zero_output_for_mask = false;
    };
    match r {
        RecurrentLayer::SimpleRNN(mut c) => {
            fix(&mut c.rnn);
            RecurrentLayer::SimpleRNN(c)
        }
        RecurrentLayer::LSTM(mut c) => {
            fix(&mut c.rnn);
            RecurrentLayer::LSTM(c)
        }
        RecurrentLayer::GRU(mut c) => {
            fix(&mut c.rnn);
            RecurrentLayer::GRU(c)
        }
    }
}

/// `keras.layers.Bidirectional(layer, merge_mode="concat", backward_layer=None)`.
///
/// `merge_mode`: `"concat"`, `"sum"`, `"mul"`, `"ave"`, or `None` (the call returns both
/// directions' outputs, cut apart by `Slice` layers in a graph).
/// `backward_layer` (Keras 3 always writes it, generated or given) is kept when it
/// differs from the forward layer with `go_backwards` flipped; it must be of the same
/// class, `units` and `return_sequences` (checked when the layer loads).
pub(super) fn bidirectional(l: &KerasLayer) -> Result<Bidirectional> {
    require_float32(l)?;
    let merge_v = l.config.get("merge_mode").unwrap_or(&Value::Null);
    let merge_mode = match merge_v.as_str() {
        Some("concat") => BiMerge::Concat,
        Some("sum") => BiMerge::Sum,
        Some("mul") => BiMerge::Mul,
        Some("ave") => BiMerge::Ave,
        _ if l.config.get("merge_mode").is_none() => BiMerge::Concat,
        None if merge_v.is_null() => BiMerge::None,
        _ => {
            return Err(unsupported(
                l,
                "merge_mode",
                merge_v,
                "\"concat\", \"sum\", \"mul\", \"ave\" or null",
            ))
        }
    };
    let layer = wrapped(l, "layer")?
        .ok_or_else(|| unsupported(l, "layer", &Value::Null, "a SimpleRNN, LSTM or GRU"))?;
    let layer = normalized(layer, false);
    // Keras 3 writes the generated backward layer too: keep only a different one.
    let backward_layer = match wrapped(l, "backward_layer")? {
        Some(back) if normalized(back, true) != layer => Some(normalized(back, false)),
        _ => None,
    };
    Ok(Bidirectional {
        layer,
        backward_layer,
        merge_mode,
    })
}

/// A Bidirectional's weights in Keras's order, forward direction first: files list the
/// sub-layers by attribute name (`backward_layer` before `forward_layer` in `.keras`), so
/// weights are ordered by which direction their path names.
pub(crate) fn bidirectional_weights(weights: &[KerasWeight]) -> Vec<KerasWeight> {
    // The innermost path part naming a direction (`forward_layer`, `backward_lstm`, …):
    // the Bidirectional's own name may start with either word too.
    let direction = |w: &KerasWeight| {
        let part = w
            .path
            .rsplit('/')
            .find(|p| p.starts_with("forward") || p.starts_with("backward"));
        usize::from(part.is_some_and(|p| p.starts_with("backward")))
    };
    let mut out = weights.to_vec();
    out.sort_by_key(direction); // stable: each direction keeps its own order
    out
}
