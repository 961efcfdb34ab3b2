//! Helpers shared by the `fit` tests (`fit.rs`, `fit_callbacks.rs`): the Keras fixture,
//! configurations, models and buffers.
#![allow(dead_code, unused_imports)]

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::DTypeChoice;
use ember_nn::loss::Reduction;
use ember_nn::metrics::{AnyMetric, CategoricalAccuracy, MeanAbsoluteError};
use ember_nn::model::callbacks::{
    Callback, Control, EarlyStopping, History, LearningRateScheduler, Mode, ReduceLROnPlateau,
    TerminateOnNaN,
};
use ember_nn::model::{evaluate, fit, Dataset, FitBuffers, FitOptions, Logs, SliceDataset};
use ember_nn::{Adam, Error, Loss, Optimizer, Result, Sequential, Sgd, TrainConfig, Trainable};
use ember_tests::{assert_close, blob, fixture, npy};
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Fixture helpers.
// ---------------------------------------------------------------------------------------
pub const B: usize = 8;

pub fn json(file: &str) -> Value {
    let text = std::fs::read_to_string(fixture("fit", file)).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn config(opt: &str, lr: f32, momentum: f32, loss: &str) -> TrainConfig {
    let optimizer = match opt {
        "SGD" => Optimizer::sgd(Sgd {
            learning_rate: lr,
            momentum,
            ..Sgd::DEFAULT
        }),
        "Adam" => Optimizer::adam(Adam {
            learning_rate: lr,
            ..Adam::DEFAULT
        }),
        other => panic!("optimizer {other}"),
    };
    let loss = match loss {
        "mse" => Loss::MeanSquaredError {
            reduction: Reduction::SumOverBatchSize,
        },
        "categorical_crossentropy" => Loss::categorical_crossentropy(),
        other => panic!("loss {other}"),
    };
    TrainConfig {
        batch_size: B,
        optimizer,
        loss,
        trainable: Trainable::All,
    }
}

pub fn metric(name: &str) -> AnyMetric<2> {
    match name {
        "mean_absolute_error" => AnyMetric::MeanAbsoluteError(MeanAbsoluteError::new()),
        "categorical_accuracy" => AnyMetric::CategoricalAccuracy(CategoricalAccuracy::new()),
        other => panic!("metric {other}"),
    }
}

pub struct Data {
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    pub xv: Vec<f32>,
    pub yv: Vec<f32>,
}

pub fn data() -> Data {
    Data {
        x: npy("fit", "x.npy").data,
        y: npy("fit", "y.npy").data,
        xv: npy("fit", "xv.npy").data,
        yv: npy("fit", "yv.npy").data,
    }
}

/// A training model on the fixture blob, with its arena.
pub fn with_model<R>(cfg: TrainConfig, f: impl FnOnce(&mut Sequential<'_, f32>) -> R) -> R {
    let blob = blob("fit", DTypeChoice::F32);
    let needed = Sequential::<f32>::training_bytes(blob.as_slice(), &cfg).unwrap();
    let mut arena = AlignedBytes::zeroed(needed);
    let mut m =
        Sequential::<f32>::for_training(blob.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    f(&mut m)
}

pub fn weights(m: &Sequential<'_, f32>) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    for l in 0..m.graph().layers().len() {
        for p in 0..m.graph().layers()[l].params.len() {
            out.push(m.param(l, p).unwrap().to_vec());
        }
    }
    out
}

pub struct Bufs {
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    pub order: Vec<u32>,
    pub w: Vec<f32>,
}

impl Bufs {
    pub fn new(m: &Sequential<'_, f32>, n: usize) -> Self {
        let s = FitBuffers::<f32>::sizes(m, n).unwrap();
        Bufs {
            x: vec![0.0; s.x],
            y: vec![0.0; s.y],
            order: vec![0; s.order],
            w: vec![0.0; s.sample_weight],
        }
    }

    pub fn get(&mut self) -> FitBuffers<'_, f32> {
        FitBuffers {
            x: &mut self.x,
            y: &mut self.y,
            order: &mut self.order,
            sample_weight: &mut self.w,
        }
    }
}

pub fn halve_after_first(epoch: usize, lr: f32) -> f32 {
    if epoch > 0 {
        lr * 0.5
    } else {
        lr
    }
}

/// Worst `|a − e| / |e|` (for the report printed with `--nocapture`).
pub fn worst_rel(actual: &[f32], expected: &[f32]) -> f32 {
    actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs() / e.abs().max(1e-30))
        .fold(0.0, f32::max)
}
