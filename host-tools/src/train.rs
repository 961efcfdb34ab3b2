//! `ember train`: train a blob on the host with the core's own training loop
//! ([`ember_nn::model::fit`]) and write the trained blob. Keras: `model.compile(optimizer,
//! loss, metrics)` + `model.fit(x, y, batch_size, epochs, validation_data |
//! validation_split, shuffle, callbacks=[EarlyStopping])`, then `model.save`.
//!
//! - A chain blob trains as a [`Sequential`], a graph blob (Keras's functional API) with
//!   one input and one output as a [`Functional`] (same loop, same callbacks); a graph
//!   with several inputs or outputs is refused with a message naming the limit.
//! - The arena is sized exactly with [`Sequential::training_bytes`] /
//!   [`Functional::training_bytes`]; f32 and Q16.16 blobs train in their own number type
//!   (data is converted with [`Scalar::from_f32`]).
//! - `validation_split = f` keeps the *last* `floor(n·(1 − f))..n` samples for validation,
//!   before any shuffling, as Keras does (`keras/src/trainers/data_adapters/array_slicing.py`,
//!   `train_validation_split`); explicit validation data overrides it, as in Keras.
//! - Metric words are Keras's `metrics=[...]` strings; `"accuracy"`/`"acc"` resolves as
//!   Keras's `compile_utils.get_metric`: binary accuracy when the model has one output
//!   unit, sparse categorical accuracy when `y` has a lower rank than the output or a last
//!   axis of 1 against more outputs, categorical accuracy otherwise. Logs keep the word as
//!   the key (`"acc"` logs as `acc`), as Keras names the metric after its identifier.
//! - The trained blob keeps the graph (names, configurations, `trainable` flags) and
//!   replaces every parameter with [`FitModel::param`]: see [`trained_blob`].

use std::path::PathBuf;

use ember_nn::blob::Blob;
use ember_nn::metrics::{
    Accuracy, AnyMetric, Auc, BinaryAccuracy, CategoricalAccuracy, MeanAbsoluteError,
    MeanSquaredError, Precision, Recall, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
};
use ember_nn::model::callbacks::{Callback, Control, EarlyStopping, ModelCheckpoint};
use ember_nn::model::{
    fit, FitBuffers, FitModel, FitOptions, Functional, Logs, SliceDataset, MAX_LOG_METRICS,
};
use ember_nn::{DType, Loss, Optimizer, Scalar, Sequential, TrainConfig, Trainable, Q16_16};

use crate::blob_file::AlignedBytes;
use crate::checkpoint::FileStorage;
use crate::history::HistoryTable;
use crate::tensor_file::Tensor;
use crate::{Error, Result};

/// Inputs and targets, with the files they came from (for error messages).
#[derive(Debug, Clone)]
pub struct TrainData {
    /// `x`: shape `(N, ...model input)`.
    pub x: Tensor,
    /// `y`: shape `(N, ...model output)`, or `(N,)` / `(N, 1)` class indices for the
    /// sparse categorical cross-entropy.
    pub y: Tensor,
    /// Where `x` came from.
    pub x_path: PathBuf,
    /// Where `y` came from.
    pub y_path: PathBuf,
}

/// Everything `ember train` passes to `model.compile` and `model.fit`.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Keras `epochs`.
    pub epochs: usize,
    /// Keras `batch_size`.
    pub batch_size: usize,
    /// The optimizer (Keras defaults unless changed).
    pub optimizer: Optimizer,
    /// Keras `learning_rate`, replacing the optimizer's default.
    pub learning_rate: Option<f32>,
    /// The compiled loss.
    pub loss: Loss,
    /// Keras `metrics=[...]` words (see [`metric_from_word`]).
    pub metrics: Vec<String>,
    /// Which layers train.
    pub trainable: Trainable,
    /// `None`: Keras `shuffle=False`; `Some(seed)`: a seeded shuffle every epoch.
    pub shuffle: Option<u64>,
    /// Keras `validation_split` (ignored when validation data is given, as in Keras).
    pub validation_split: Option<f32>,
    /// `EarlyStopping(monitor, patience=P)`; the monitor is `val_loss` with validation
    /// data, `loss` without.
    pub early_stopping: Option<usize>,
    /// `ModelCheckpoint(filepath, monitor, save_best_only)` writing blobs
    /// ([`crate::checkpoint::FileStorage`]).
    pub checkpoint: Option<CheckpointOptions>,
    /// Draw a progress bar and print one Keras-like line per epoch on stderr.
    pub verbose: bool,
}

/// `ember train --checkpoint PATH [--save-best-only] [--monitor KEY]`: Keras's
/// `ModelCheckpoint(filepath=PATH, monitor=KEY, save_best_only=...)` with `save_freq="epoch"`
/// and `mode="auto"`, writing a blob per save.
#[derive(Debug, Clone)]
pub struct CheckpointOptions {
    /// Keras's `filepath`, with `{epoch:02d}`-style fields ([`crate::checkpoint::format_filepath`]).
    pub filepath: String,
    /// Keras's `save_best_only`.
    pub save_best_only: bool,
    /// Keras's `monitor`; `None`: `val_loss` with validation data, `loss` without (as
    /// for `--early-stopping`).
    pub monitor: Option<String>,
}

/// What [`train`] produces.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The trained blob (same graph and dtype as the input).
    pub blob: AlignedBytes,
    /// Every epoch's logs (Keras's `History.history`).
    pub history: HistoryTable,
}

/// Trains `blob` on `data` (validated against the model) and returns the trained blob and
/// its history. Keras: `model.fit(...)` on a model compiled with `options`.
pub fn train(
    blob: &[u8],
    data: &TrainData,
    validation: Option<&TrainData>,
    options: &TrainOptions,
) -> Result<TrainOutcome> {
    let (header, _) = Blob::parse(blob)?.graph()?;
    match header.dtype {
        DType::Q16_16 => train_as::<Q16_16>(blob, data, validation, options),
        _ => train_as::<f32>(blob, data, validation, options),
    }
}

pub use crate::checkpoint::trained_blob;

/// The metric a Keras `metrics=[...]` word names. `y_shape` is the shape of `y` with its
/// batch axis, `out_dims` the model's output shape without it. Keras:
/// `keras.metrics.get(word)`, with `"accuracy"`/`"acc"` resolved by
/// `compile_utils.get_metric` (see the module docs).
pub fn metric_from_word(word: &str, y_shape: &[usize], out_dims: &[usize]) -> Result<AnyMetric> {
    Ok(match word {
        "accuracy" | "acc" => {
            // Keras's `is_binary_or_sparse_categorical`, ranks counting the batch axis.
            let out_last = out_dims.last().copied().unwrap_or(1);
            let y_last = y_shape.last().copied().unwrap_or(1);
            let sparse = y_shape.len() < out_dims.len() + 1 || (y_last == 1 && out_last > 1);
            if out_last == 1 {
                AnyMetric::BinaryAccuracy(BinaryAccuracy::default())
            } else if sparse {
                AnyMetric::SparseCategoricalAccuracy(SparseCategoricalAccuracy::new())
            } else {
                AnyMetric::CategoricalAccuracy(CategoricalAccuracy::new())
            }
        }
        "Accuracy" => AnyMetric::Accuracy(Accuracy::new()),
        "binary_accuracy" | "BinaryAccuracy" => {
            AnyMetric::BinaryAccuracy(BinaryAccuracy::default())
        }
        "categorical_accuracy" | "CategoricalAccuracy" => {
            AnyMetric::CategoricalAccuracy(CategoricalAccuracy::new())
        }
        "sparse_categorical_accuracy" | "SparseCategoricalAccuracy" => {
            AnyMetric::SparseCategoricalAccuracy(SparseCategoricalAccuracy::new())
        }
        "top_k_categorical_accuracy" | "TopKCategoricalAccuracy" => {
            AnyMetric::TopKCategoricalAccuracy(TopKCategoricalAccuracy::default())
        }
        "mse" | "MSE" | "mean_squared_error" | "MeanSquaredError" => {
            AnyMetric::MeanSquaredError(MeanSquaredError::new())
        }
        "mae" | "MAE" | "mean_absolute_error" | "MeanAbsoluteError" => {
            AnyMetric::MeanAbsoluteError(MeanAbsoluteError::new())
        }
        "precision" | "Precision" => AnyMetric::Precision(Precision::default()),
        "recall" | "Recall" => AnyMetric::Recall(Recall::default()),
        "auc" | "AUC" => AnyMetric::Auc(Auc::default()),
        _ => {
            return Err(Error::Config(format!(
                "unknown metric `{word}` (use {METRIC_WORDS})"
            )))
        }
    })
}

/// The metric words [`metric_from_word`] accepts.
pub const METRIC_WORDS: &str = "accuracy, acc, binary_accuracy, categorical_accuracy, \
sparse_categorical_accuracy, top_k_categorical_accuracy, mse, mae, precision, recall, auc";

/// Keras's `Progbar` number format: `{:.4f}`, or `{:.4e}` for magnitudes up to 1e-3.
pub fn keras_number(v: f32) -> String {
    if v.abs() > 1e-3 {
        format!("{v:.4}")
    } else {
        // Rust writes `1.2340e-5`; Python `1.2340e-05`.
        let s = format!("{v:.4e}");
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = match e.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', e),
                };
                format!("{m}e{sign}{digits:0>2}")
            }
            None => s,
        }
    }
}

fn terr(path: &std::path::Path, msg: String) -> Error {
    Error::Tensor {
        path: path.to_path_buf(),
        msg,
    }
}

fn dims_text(d: &[usize]) -> String {
    d.iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks `data` against the model and returns `(n, x_len, y_len)`.
fn check_data(
    data: &TrainData,
    in_dims: &[usize],
    out_dims: &[usize],
    y_len: usize,
) -> Result<usize> {
    let x = &data.x;
    if x.shape.len() != in_dims.len() + 1 || x.shape[1..] != in_dims[..] {
        return Err(terr(
            &data.x_path,
            format!(
                "x has shape {:?}; the model takes (N, {})",
                x.shape,
                dims_text(in_dims)
            ),
        ));
    }
    let n = x.shape[0];
    let y = &data.y;
    let per_sample: usize = y.shape.iter().skip(1).product();
    if y.shape.first() != Some(&n) || per_sample != y_len {
        return Err(terr(
            &data.y_path,
            format!(
                "y has shape {:?}; for {n} samples the model and loss want (N={n}, {}) \
                 (output ({}))",
                y.shape,
                if y_len == out_dims.iter().product::<usize>() {
                    dims_text(out_dims)
                } else {
                    format!("{y_len} class index per sample")
                },
                dims_text(out_dims)
            ),
        ));
    }
    if n == 0 {
        return Err(terr(&data.x_path, "no samples".into()));
    }
    Ok(n)
}

fn train_as<T: Scalar>(
    blob: &[u8],
    data: &TrainData,
    validation: Option<&TrainData>,
    options: &TrainOptions,
) -> Result<TrainOutcome> {
    let config = TrainConfig {
        batch_size: options.batch_size,
        optimizer: options.optimizer,
        loss: options.loss,
        trainable: options.trainable,
    };
    let graph = ember_nn::model::Graph::<T>::parse(blob)?;
    if graph.is_chain() {
        let needed = Sequential::<T>::training_bytes(blob, &config)?;
        let mut arena = AlignedBytes::zeroed(needed);
        let mut model = Sequential::<T>::for_training(blob, arena.as_mut_slice(), config)?;
        return fit_model(&mut model, data, validation, options);
    }
    let (inputs, outputs) = (graph.inputs().len(), graph.outputs().len());
    if inputs != 1 || outputs != 1 {
        return Err(Error::Config(format!(
            "ember train takes graph models with 1 input and 1 output; this one has \
             {inputs} input(s) and {outputs} output(s) (train it with \
             ember_nn::model::Functional::train_on_batch)"
        )));
    }
    let needed = Functional::<T>::training_bytes(blob, &config)?;
    let mut arena = AlignedBytes::zeroed(needed);
    let mut model = Functional::<T>::for_training(blob, arena.as_mut_slice(), config)?;
    fit_model(&mut model, data, validation, options)
}

/// `fit` of a loaded model (a [`Sequential`] or a one-input one-output [`Functional`]).
fn fit_model<T: Scalar, M: FitModel<T, N>, const N: usize>(
    model: &mut M,
    data: &TrainData,
    validation: Option<&TrainData>,
    options: &TrainOptions,
) -> Result<TrainOutcome> {
    if let Some(lr) = options.learning_rate {
        model.set_learning_rate(lr)?;
    }
    let dims = |s: ember_nn::Shape| s.dims().iter().map(|&d| d as usize).collect::<Vec<_>>();
    let (in_shape, out_shape) = (model.input_shape()?, model.output_shape()?);
    let (in_dims, out_dims) = (dims(in_shape), dims(out_shape));
    let y_len = options.loss.y_true_len(out_shape.len(), out_shape.last());
    let x_len = in_shape.len();

    let n = check_data(data, &in_dims, &out_dims, y_len)?;
    if let Some(v) = validation {
        check_data(v, &in_dims, &out_dims, y_len)?;
    }
    if options.metrics.len() > MAX_LOG_METRICS {
        return Err(Error::Config(format!(
            "at most {MAX_LOG_METRICS} metrics, got {}",
            options.metrics.len()
        )));
    }
    let mut metrics = options
        .metrics
        .iter()
        .map(|w| metric_from_word(w, &data.y.shape, &out_dims))
        .collect::<Result<Vec<_>>>()?;

    let conv = |v: &[f32]| v.iter().map(|&e| T::from_f32(e)).collect::<Vec<T>>();
    let (x_all, y_all) = (conv(&data.x.data), conv(&data.y.data));
    // Keras's `validation_split`: the last samples, before shuffling.
    let (train_n, split_val) = match (validation, options.validation_split) {
        (None, Some(f)) => {
            if !(0.0..1.0).contains(&f) || f == 0.0 {
                return Err(Error::Config(format!(
                    "--validation-split must be in (0, 1), got {f}"
                )));
            }
            let at = (n as f64 * (1.0 - f64::from(f))).floor() as usize;
            if at == 0 || at == n {
                return Err(Error::Config(format!(
                    "{n} samples cannot be split into training and validation sets with \
                     --validation-split {f}"
                )));
            }
            (at, true)
        }
        _ => (n, false),
    };
    let train_set = SliceDataset::new(
        &x_all[..train_n * x_len],
        &y_all[..train_n * y_len],
        x_len,
        y_len,
    )?;
    let (vx, vy) = match validation {
        Some(v) => (conv(&v.x.data), conv(&v.y.data)),
        None if split_val => (
            x_all[train_n * x_len..].to_vec(),
            y_all[train_n * y_len..].to_vec(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let val_set = if vx.is_empty() {
        None
    } else {
        Some(SliceDataset::new(&vx, &vy, x_len, y_len)?)
    };

    let sizes = FitBuffers::sizes(model, train_n)?;
    let (mut xb, mut yb) = (vec![T::ZERO; sizes.x], vec![T::ZERO; sizes.y]);
    let mut order = vec![0u32; sizes.order];
    let buffers = FitBuffers {
        x: &mut xb,
        y: &mut yb,
        order: &mut order,
        sample_weight: &mut [],
    };
    let fit_options = FitOptions {
        shuffle: options.shuffle,
        ..FitOptions::epochs(options.epochs)
    };
    let mut progress = Progress::new(
        options.epochs,
        train_n.div_ceil(options.batch_size.max(1)),
        options.metrics.clone(),
        options.verbose,
    );
    let default_monitor = if val_set.is_some() {
        "val_loss"
    } else {
        "loss"
    };
    let stop = options
        .early_stopping
        .map(|patience| EarlyStopping::<T>::new(default_monitor).patience(patience));
    let checkpoint = match &options.checkpoint {
        Some(c) => {
            // `ModelCheckpoint` wants a `&'static str` key (no heap in the core): leak the
            // one string of this run.
            let monitor: &'static str = match &c.monitor {
                Some(m) => Box::leak(m.clone().into_boxed_str()),
                None => default_monitor,
            };
            Some(
                ModelCheckpoint::new(FileStorage::new(&c.filepath)?)
                    .monitor(monitor)
                    .save_best_only(c.save_best_only),
            )
        }
        None => None,
    };
    let mut callbacks = (&mut progress, (stop, checkpoint));
    let result = fit(
        model,
        &train_set,
        val_set.as_ref(),
        &fit_options,
        &mut metrics,
        &mut callbacks,
        buffers,
    );
    let (_, (stop, checkpoint)) = callbacks;
    if let Err(e) = result {
        // A failed checkpoint save: report the file error itself.
        let detail = checkpoint
            .and_then(|mut c| c.storage_mut().take_error())
            .filter(|_| matches!(e, ember_nn::Error::Storage(_)));
        return Err(detail.unwrap_or(Error::Core(e)));
    }
    if let Some(stop) = stop {
        let stopped = stop.stopped_epoch();
        if options.verbose && stopped > 0 {
            // Keras's `EarlyStopping(verbose=1)` message.
            eprintln!("Epoch {}: early stopping", stopped + 1);
        }
    }
    if let (true, Some(c)) = (options.verbose, &checkpoint) {
        if c.monitor_missing() > 0 {
            // Keras's warning, once per run instead of once per epoch.
            eprintln!(
                "warning: can save best model only with {} available ({} epochs saved \
                 without it)",
                options
                    .checkpoint
                    .as_ref()
                    .and_then(|o| o.monitor.as_deref())
                    .unwrap_or(default_monitor),
                c.monitor_missing()
            );
        }
        for path in c.storage().saved() {
            eprintln!("checkpoint {}", path.display());
        }
    }
    let history = progress.into_history();
    Ok(TrainOutcome {
        blob: trained_blob(model)?,
        history,
    })
}

/// The `fit` callback of `ember train`: an indicatif bar per epoch, a Keras-like line at
/// each epoch end (Keras: `ProgbarLogger`), and every epoch's logs (Keras: `History`).
struct Progress {
    epochs: usize,
    steps: usize,
    names: Vec<String>,
    verbose: bool,
    bar: Option<indicatif::ProgressBar>,
    started: std::time::Instant,
    history: HistoryTable,
}

impl Progress {
    fn new(epochs: usize, steps: usize, names: Vec<String>, verbose: bool) -> Self {
        Progress {
            epochs,
            steps,
            history: HistoryTable::new(names.clone()),
            names,
            verbose,
            bar: None,
            started: std::time::Instant::now(),
        }
    }

    fn into_history(self) -> HistoryTable {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.history
    }

    /// ` - loss: 0.1234 - accuracy: 0.9500` (training values only).
    fn running(&self, logs: &Logs) -> String {
        let mut s = format!(" - loss: {}", keras_number(logs.loss));
        for (i, name) in self.names.iter().enumerate() {
            if let Some((_, v)) = logs.metric(i) {
                s.push_str(&format!(" - {name}: {}", keras_number(v)));
            }
        }
        s
    }
}

impl<T: Scalar> Callback<T> for Progress {
    fn on_epoch_begin<M: FitModel<T, N>, const N: usize>(
        &mut self,
        _model: &mut M,
        _epoch: usize,
    ) -> ember_nn::Result<Control> {
        self.started = std::time::Instant::now();
        if self.verbose {
            let bar = indicatif::ProgressBar::new(self.steps as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{pos:>5}/{len} {wide_bar} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            self.bar = Some(bar);
        }
        Ok(Control::Continue)
    }

    fn on_train_batch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        _model: &mut M,
        batch: usize,
        logs: &Logs,
    ) -> ember_nn::Result<Control> {
        if let Some(bar) = &self.bar {
            bar.set_position(batch as u64 + 1);
            bar.set_message(self.running(logs));
        }
        Ok(Control::Continue)
    }

    fn on_epoch_end<M: FitModel<T, N>, const N: usize>(
        &mut self,
        _model: &mut M,
        epoch: usize,
        logs: &mut Logs,
    ) -> ember_nn::Result<Control> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.history.push(epoch, logs);
        if self.verbose {
            let ms = self.started.elapsed().as_millis();
            let mut line = format!(
                "Epoch {}/{} - {ms}ms{}",
                epoch + 1,
                self.epochs,
                self.running(logs)
            );
            if let Some(v) = logs.val_loss {
                line.push_str(&format!(" - val_loss: {}", keras_number(v)));
                for (i, name) in self.names.iter().enumerate() {
                    if let Some(v) = logs.val_metric(i) {
                        line.push_str(&format!(" - val_{name}: {}", keras_number(v)));
                    }
                }
            }
            eprintln!("{line}");
        }
        Ok(Control::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_number_format() {
        assert_eq!(keras_number(0.12345), "0.1235");
        assert_eq!(keras_number(2.0), "2.0000");
        assert_eq!(keras_number(0.0), "0.0000e+00");
        assert_eq!(keras_number(1.234e-5), "1.2340e-05");
    }

    #[test]
    fn accuracy_resolves_as_keras() {
        let name = |w: &str, y: &[usize], out: &[usize]| {
            use ember_nn::metrics::Metric;
            metric_from_word(w, y, out).unwrap().name()
        };
        assert_eq!(name("accuracy", &[5, 10], &[10]), "categorical_accuracy");
        assert_eq!(name("accuracy", &[5], &[10]), "sparse_categorical_accuracy");
        assert_eq!(
            name("accuracy", &[5, 1], &[10]),
            "sparse_categorical_accuracy"
        );
        assert_eq!(name("acc", &[5, 1], &[1]), "binary_accuracy");
        assert_eq!(name("acc", &[5], &[1]), "binary_accuracy");
        assert_eq!(name("mae", &[5, 3], &[3]), "mean_absolute_error");
        assert!(metric_from_word("f1", &[5, 3], &[3]).is_err());
    }
}
