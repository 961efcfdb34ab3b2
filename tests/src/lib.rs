//! Shared helpers for the Ember conformance suite.
//!
//! Golden values come from `tests/fixtures/generate.py` (Keras 3, JAX backend; see
//! `tests/fixtures/README.md`). The Rust tests read the committed `.keras` and `.npy`
//! files and never need Python.

use std::path::PathBuf;

pub mod golden;
pub mod twin;

pub use golden::{
    case_named, check_finite_differences, dims, forward_backward, forward_backward_weightless,
    keras_layer, layer_cases, lcg_from_state, lcg_values, read_cases, refs, train_f32,
    weighted_output_sum, worst_abs, worst_rel, worst_share, worst_summary, FiniteDiff, Pass,
    Trained,
};

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::{convert, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_cli::tensor_file::{read_npy, Tensor};
use ember_nn::{Adam, Loss, Optimizer, Sgd, TrainConfig, Trainable};
use serde_json::Value;

/// The models the generator writes.
pub const MODELS: [&str; 4] = [
    "dense_relu_softmax",
    "dense_sigmoid_linear",
    "dense_rank3",
    "digits_mlp",
];

/// Path of a file in `tests/fixtures/<model>/`.
pub fn fixture(model: &str, file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(model)
        .join(file)
}

/// Reads a fixture `.npy`.
pub fn npy(model: &str, file: &str) -> Tensor {
    read_npy(&fixture(model, file)).unwrap_or_else(|e| panic!("{model}/{file}: {e}"))
}

/// Converts a fixture model to a blob.
pub fn blob(model: &str, dtype: DTypeChoice) -> AlignedBytes {
    let k = read_keras_file(&fixture(model, "model.keras")).unwrap();
    convert(&k, dtype).unwrap()
}

/// `|a − b| ≤ rtol·|b| + atol` for every element; panics with the worst element.
pub fn assert_close(what: &str, actual: &[f32], expected: &[f32], rtol: f32, atol: f32) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    let mut worst = (0usize, 0.0f32);
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let excess = (a - e).abs() - (rtol * e.abs() + atol);
        if excess > worst.1 || a.is_nan() {
            worst = (i, excess.max(f32::MIN_POSITIVE));
        }
    }
    if worst.1 > 0.0 {
        let i = worst.0;
        panic!(
            "{what}: element {i}: got {}, expected {} (rtol {rtol}, atol {atol})",
            actual[i], expected[i]
        );
    }
}

/// One training case of `cases.json`.
#[derive(Debug, Clone)]
pub struct Case {
    /// Case name (file prefix `train_<name>_`).
    pub name: String,
    /// Training configuration equivalent to the Keras compile call.
    pub config: TrainConfig,
    /// Steps taken.
    pub steps: usize,
}

fn f(v: &Value, key: &str, default: f32) -> f32 {
    v.get(key)
        .and_then(Value::as_f64)
        .map_or(default, |x| x as f32)
}

/// The training cases of a fixture model.
pub fn cases(model: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(fixture(model, "cases.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for c in json["cases"].as_array().unwrap() {
        let oc = &c["optimizer"]["config"];
        let optimizer = match c["optimizer"]["class"].as_str().unwrap() {
            "SGD" => Optimizer::sgd(Sgd {
                learning_rate: f(oc, "learning_rate", 0.01),
                momentum: f(oc, "momentum", 0.0),
                nesterov: oc["nesterov"].as_bool().unwrap_or(false),
            }),
            "Adam" => Optimizer::adam(Adam {
                learning_rate: f(oc, "learning_rate", 0.001),
                beta_1: f(oc, "beta_1", 0.9),
                beta_2: f(oc, "beta_2", 0.999),
                epsilon: f(oc, "epsilon", 1e-7),
                amsgrad: oc["amsgrad"].as_bool().unwrap_or(false),
            }),
            other => panic!("optimizer {other}"),
        };
        let name = c["loss"].as_str().unwrap();
        let loss = Loss::from_keras_name(name).unwrap_or_else(|| panic!("loss {name}"));
        let frozen: Vec<u64> = c["frozen_layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let mask = (0..64u64)
            .filter(|i| !frozen.contains(i))
            .fold(0u64, |m, i| m | (1 << i));
        out.push(Case {
            name: c["name"].as_str().unwrap().to_string(),
            config: TrainConfig {
                batch_size: c["batch_size"].as_u64().unwrap() as usize,
                optimizer,
                loss,
                trainable: Trainable::Mask(mask),
            },
            steps: c["steps"].as_u64().unwrap() as usize,
        });
    }
    out
}
