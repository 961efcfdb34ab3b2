//! Recurrent models in every file dialect (`tests/fixtures/recurrent`, written by its
//! `dialects.py`): `dialect_stack` (`LSTM(return_sequences) → GRU → Dense`) and
//! `dialect_bilstm` (`Bidirectional(LSTM) → Dense`) as Keras 3 `.keras`, Keras 3 legacy
//! `.h5` and tf_keras 2 `.h5` each convert, run, and match that file's Keras predictions;
//! and the recurrent options the converter refuses, each by name.

use std::path::PathBuf;

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::{convert, layer_config, DTypeChoice};
use ember_cli::keras::{read_keras_file, KerasLayer};
use ember_cli::tensor_file::read_npy;
use ember_nn::layers::{BiMerge, LayerConfig, RecurrentLayer};
use ember_nn::model::Graph;
use ember_nn::Sequential;
use serde_json::{json, Value};

fn fixture(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/recurrent")
        .join(file)
}

fn npy(file: &str) -> Vec<f32> {
    read_npy(&fixture(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .data
}

/// `max |a − e| / |e|` over `|e| ≥ 1e-3` and `max |a − e|`.
fn worst(a: &[f32], e: &[f32]) -> (f32, f32) {
    assert_eq!(a.len(), e.len());
    let rel = a
        .iter()
        .zip(e)
        .filter(|(_, e)| e.abs() >= 1e-3)
        .map(|(a, e)| (a - e).abs() / e.abs())
        .fold(0.0, f32::max);
    let abs = a
        .iter()
        .zip(e)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f32::max);
    (rel, abs)
}

/// Converts `file`, predicts the fixture inputs with `Sequential` and returns the
/// outputs and the layer classes.
fn run(file: &str, x: &[f32], batch: usize, out: usize) -> (Vec<f32>, Vec<String>) {
    let k = read_keras_file(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let b = convert(&k, DTypeChoice::F32).unwrap_or_else(|e| panic!("{file}: {e}"));
    let g = Graph::<f32>::parse(b.as_slice()).unwrap();
    let classes = g
        .layers()
        .iter()
        .map(|l| l.config.keras_class().to_string())
        .collect();
    let need = Sequential::<f32>::inference_bytes(b.as_slice(), batch).unwrap();
    let mut arena = AlignedBytes::zeroed(need);
    let mut m = Sequential::<f32>::new(b.as_slice(), arena.as_mut_slice(), batch).unwrap();
    let mut y = vec![0.0f32; batch * out];
    m.predict(x, &mut y).unwrap();
    (y, classes)
}

#[test]
fn every_dialect_converts_and_predicts_like_keras() {
    let models: [(&str, &[&str]); 2] = [
        ("stack", &["LSTM", "GRU", "Dense"]),
        ("bilstm", &["Bidirectional", "Dense"]),
    ];
    let mut overall = 0.0f32;
    for (m, classes) in models {
        let x = npy(&format!("dialect_{m}_x.npy"));
        let (batch, out) = (4, 2);
        for (file, want) in [
            (format!("dialect_{m}.keras"), format!("dialect_{m}_y.npy")),
            (format!("dialect_{m}_k3.h5"), format!("dialect_{m}_y.npy")),
            (
                format!("dialect_{m}_k2.h5"),
                format!("dialect_{m}_y_k2.npy"),
            ),
        ] {
            let want = npy(&want);
            let (y, got_classes) = run(&file, &x, batch, out);
            assert_eq!(got_classes, classes, "{file}");
            let (rel, abs) = worst(&y, &want);
            println!("{file}: worst rel {rel:.1e} abs {abs:.1e}");
            overall = overall.max(rel);
            for (i, (&a, &e)) in y.iter().zip(&want).enumerate() {
                assert!(
                    (a - e).abs() <= 1e-5 * e.abs() + 1e-7,
                    "{file}: y[{i}] = {a}, Keras {e}"
                );
            }
        }
    }
    println!("worst relative error over the six files: {overall:.1e}");
}

/// The Bidirectional reads the same from all three files: in `.keras` the backward
/// layer's weights are stored before the forward layer's (`backward_layer` sorts first),
/// in the `.h5` files after; the blob has the forward kernel first in every case. The
/// generated backward layer is not kept as an explicit one (Keras 3 writes it, tf_keras 2
/// does not).
#[test]
fn bidirectional_reads_the_same_from_every_file() {
    let mut configs = Vec::new();
    for file in [
        "dialect_bilstm.keras",
        "dialect_bilstm_k3.h5",
        "dialect_bilstm_k2.h5",
    ] {
        let k = read_keras_file(&fixture(file)).unwrap();
        let b = convert(&k, DTypeChoice::F32).unwrap();
        let g = Graph::<f32>::parse(b.as_slice()).unwrap();
        let c = g.layers()[0].config;
        match c {
            LayerConfig::Bidirectional(bi) => {
                assert_eq!(bi.merge_mode, BiMerge::Concat, "{file}");
                assert_eq!(bi.backward_layer, None, "{file}");
                assert!(matches!(bi.layer, RecurrentLayer::LSTM(_)), "{file}");
            }
            other => panic!("{file}: {other:?}"),
        }
        configs.push(c);
        // Forward kernel first: the `.keras` file's first weight path is the backward
        // layer's, the blob's first tensor is the forward kernel in every file.
        let forward_first = g.layers()[0].params[0].to_vec();
        let from_keras = k.layers[0]
            .weights
            .iter()
            .find(|w| w.path.contains("forward") && w.shape == [3, 12])
            .unwrap();
        assert_eq!(
            forward_first, from_keras.data,
            "{file}: forward kernel first"
        );
    }
    assert!(configs.windows(2).all(|w| w[0] == w[1]));
}

/// A `KerasLayer` of `class` with `config` (built by hand, as the reader would).
fn layer(class: &str, config: Value) -> KerasLayer {
    KerasLayer {
        name: "rnn".into(),
        class_name: class.into(),
        config,
        trainable: true,
        weights: Vec::new(),
    }
}

fn lstm_config() -> Value {
    json!({
        "name": "rnn", "trainable": true, "dtype": "float32", "units": 3,
        "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": true,
        "return_sequences": false, "return_state": false, "go_backwards": false,
        "stateful": false, "unroll": false, "zero_output_for_mask": false,
        "unit_forget_bias": true, "dropout": 0.0, "recurrent_dropout": 0.0,
        "kernel_regularizer": null, "recurrent_regularizer": null, "bias_regularizer": null,
        "activity_regularizer": null, "kernel_constraint": null,
        "recurrent_constraint": null, "bias_constraint": null, "seed": null
    })
}

fn bidirectional_config(inner: Value) -> Value {
    json!({
        "name": "rnn", "trainable": true, "dtype": "float32", "merge_mode": "concat",
        "layer": {"module": "keras.layers", "class_name": "LSTM", "config": inner}
    })
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v.as_object_mut().unwrap().insert(key.into(), value);
    v
}

/// The error of converting `l`, which must be refused naming `option`.
fn refused(l: &KerasLayer, option: &str) -> String {
    let r = std::panic::catch_unwind(|| layer_config(l));
    let err = r
        .unwrap_or_else(|_| panic!("{option}: the converter panicked"))
        .expect_err(option)
        .to_string();
    assert!(err.contains(option), "{option}: {err}");
    err
}

#[test]
fn unsupported_recurrent_options_are_refused_by_name() {
    // The hand-built configs convert as they are.
    for class in ["LSTM", "GRU", "SimpleRNN"] {
        let c = layer_config(&layer(class, lstm_config())).unwrap();
        assert_eq!(c.keras_class(), class);
    }
    let bi = layer_config(&layer("Bidirectional", bidirectional_config(lstm_config()))).unwrap();
    assert_eq!(bi.keras_class(), "Bidirectional");

    for class in ["LSTM", "GRU", "SimpleRNN"] {
        let l = |k: &str, v: Value| layer(class, with(lstm_config(), k, v));
        let e = refused(&l("unroll", json!(true)), "unroll");
        assert!(e.contains(class), "{e}");
        refused(&l("activation", json!("no_such_activation")), "activation");
        // An activation whose derivative needs its input.
        refused(&l("activation", json!("gelu")), "activation");
        refused(&l("units", json!(0)), "units");
        refused(&l("dropout", json!("half")), "dropout");
    }
    let l = |k: &str, v: Value| layer("LSTM", with(lstm_config(), k, v));
    refused(
        &l("recurrent_activation", json!("nope")),
        "recurrent_activation",
    );
    refused(&l("recurrent_activation", json!(7)), "recurrent_activation");

    // Bidirectional: an unknown merge, and the wrapped layer's own options.
    let bi = |inner: Value| bidirectional_config(inner);
    refused(
        &layer(
            "Bidirectional",
            with(bi(lstm_config()), "merge_mode", json!("max")),
        ),
        "merge_mode",
    );
    for (k, v) in [
        ("unroll", json!(true)),
        ("activation", json!("no_such_activation")),
    ] {
        let wrapped = layer("Bidirectional", bi(with(lstm_config(), k, v)));
        refused(&wrapped, k);
    }
    // A wrapped layer with a regularizer or a constraint: refused, naming the wrapper's
    // option that holds it.
    for (k, v) in [
        (
            "kernel_regularizer",
            json!({"module": "keras.regularizers", "class_name": "L2",
                   "config": {"l2": 0.01}, "registered_name": null}),
        ),
        (
            "recurrent_constraint",
            json!({"module": "keras.constraints", "class_name": "MaxNorm",
                   "config": {"max_value": 2.0, "axis": 0}, "registered_name": null}),
        ),
    ] {
        let wrapped = layer("Bidirectional", bi(with(lstm_config(), k, v)));
        let e = refused(&wrapped, "layer");
        assert!(e.contains("regularizers or constraints"), "{k}: {e}");
    }
    let wrapped = layer(
        "Bidirectional",
        with(
            bi(lstm_config()),
            "backward_layer",
            json!({"class_name": "LSTM",
                   "config": with(with(lstm_config(), "go_backwards", json!(true)),
                                  "bias_regularizer", json!("l2"))}),
        ),
    );
    let e = refused(&wrapped, "backward_layer");
    assert!(e.contains("regularizers or constraints"), "{e}");
    // Wrapping something that is not a recurrent layer.
    let dense = json!({"name": "rnn", "trainable": true, "dtype": "float32",
        "merge_mode": "concat",
        "layer": {"class_name": "Dense", "config": {"units": 2}}});
    refused(&layer("Bidirectional", dense), "layer");
    let none = with(bi(lstm_config()), "layer", Value::Null);
    refused(&layer("Bidirectional", none), "layer");
}
