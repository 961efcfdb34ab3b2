//! [`fit()`] and [`evaluate()`]: Keras's `model.fit` / `model.evaluate` loops, without a
//! heap. Batches are assembled from a [`Dataset`] into caller-provided buffers
//! ([`FitBuffers`], sized by [`FitBuffers::sizes`]).
//!
//! Keras 3 semantics (`keras/src/backend/jax/trainer.py`, `keras/src/trainers/trainer.py`):
//! - an epoch visits the data in batches of `batch_size`; the last batch holds the
//!   remainder (`ceil(n / batch_size)` steps);
//! - `loss` is Keras's loss tracker, a `Mean` fed each batch's loss with the batch size
//!   as weight: `total += loss·b`, `count += b`, `loss = total / count` (in `f32`);
//! - metrics are reset at each epoch start and updated with each batch's predictions
//!   computed *before* the update (the forward pass of `train_on_batch`);
//! - with validation data, `evaluate` runs at each epoch end (same batch size, inference
//!   mode, metrics reset first) and its results are logged as `val_loss`, `val_<metric>`;
//! - callbacks run at Keras's hook points; `stop_training` is checked after every batch
//!   and every epoch;
//! - `class_weight` becomes per-sample weights `class_weight[class]` of the loss, with
//!   `class` the `argmax` of a one-hot `y` or the rounded value of a one-element `y`;
//!   the loss tracker still weighs each batch by its size, and the metrics are
//!   unweighted (they are Keras's `metrics=`, not `weighted_metrics=`).
//!
//! **Shuffling** (`shuffle = Some(seed)`) is a Fisher–Yates permutation of the sample
//! indices drawn each epoch from [`crate::random::Rng`] seeded once per `fit`; it is
//! deterministic for a seed but cannot equal Keras's permutation (Keras draws from
//! NumPy's or the backend's generator). Golden parity is therefore checked unshuffled.

use super::callbacks::{Callback, Control};
use super::dataset::Dataset;
use super::logs::{Logs, MAX_LOG_METRICS};
use super::FitModel;
use crate::metrics::Metric;
use crate::optimizer::Algorithm;
use crate::random::Rng;
use crate::{Error, Result, Scalar, Shape, TensorView};

/// Options of [`fit()`] that Keras passes to `model.fit` (the batch size is the model's
/// [`crate::TrainConfig::batch_size`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitOptions<'w> {
    /// `epochs`: train until this epoch index (exclusive).
    pub epochs: usize,
    /// `initial_epoch` (default 0).
    pub initial_epoch: usize,
    /// `shuffle`: `None` visits samples in order (Keras `shuffle=False`); `Some(seed)`
    /// permutes them every epoch (see the module docs).
    pub shuffle: Option<u64>,
    /// `class_weight`: weight of class `i` at index `i` (Keras's dict `{i: w}` with every
    /// class present).
    pub class_weight: Option<&'w [f32]>,
}

impl FitOptions<'_> {
    /// `epochs` epochs, no shuffling, no class weights.
    pub const fn epochs(epochs: usize) -> Self {
        FitOptions {
            epochs,
            initial_epoch: 0,
            shuffle: None,
            class_weight: None,
        }
    }
}

/// The caller's memory for [`fit()`]: one batch of inputs and targets, the sample order
/// when shuffling, and per-sample weights when using class weights. Each slice must be at
/// least as long as [`FitBuffers::sizes`] says (longer is fine).
#[derive(Debug)]
pub struct FitBuffers<'b, T> {
    /// `batch_size · x_len` elements.
    pub x: &'b mut [T],
    /// `batch_size · y_len` elements.
    pub y: &'b mut [T],
    /// `n` (training samples) indices when `shuffle` is set, else may be empty.
    pub order: &'b mut [u32],
    /// `batch_size` elements when `class_weight` is set, else may be empty.
    pub sample_weight: &'b mut [T],
}

/// Element counts of the [`FitBuffers`] slices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FitBufferSizes {
    /// Length of [`FitBuffers::x`].
    pub x: usize,
    /// Length of [`FitBuffers::y`].
    pub y: usize,
    /// Length of [`FitBuffers::order`] (with shuffling).
    pub order: usize,
    /// Length of [`FitBuffers::sample_weight`] (with class weights).
    pub sample_weight: usize,
}

impl<T: Scalar> FitBuffers<'_, T> {
    /// The buffer sizes to train `model` on `n` samples: `x = batch·input_len`,
    /// `y = batch·y_len` (`y_len` as the loss wants it per sample), `order = n`,
    /// `sample_weight = batch`. [`Error::NotTraining`] for an inference model.
    pub fn sizes<M: FitModel<T, N>, const N: usize>(model: &M, n: usize) -> Result<FitBufferSizes> {
        let (batch, _, x_len, y_len) = geometry(model)?;
        Ok(FitBufferSizes {
            x: batch * x_len,
            y: batch * y_len,
            order: n,
            sample_weight: batch,
        })
    }
}

/// `(batch_size, out_len, x_len, y_len)` of a training model.
fn geometry<T: Scalar, M: FitModel<T, N>, const N: usize>(
    model: &M,
) -> Result<(usize, usize, usize, usize)> {
    let cfg = model.train_config().ok_or(Error::NotTraining)?;
    let out = model.output_shape()?;
    let y_len = cfg.loss.y_true_len(out.len(), out.last());
    Ok((cfg.batch_size, out.len(), model.input_shape()?.len(), y_len))
}

fn check_len(found: usize, expected: usize) -> Result<()> {
    if found < expected {
        return Err(Error::ShapeMismatch { expected, found });
    }
    Ok(())
}

/// Checks that a dataset's samples fit the model.
fn check_dataset<T: Scalar, D: Dataset<T>>(data: &D, x_len: usize, y_len: usize) -> Result<()> {
    if data.x_len() != x_len {
        return Err(Error::ShapeMismatch {
            expected: x_len,
            found: data.x_len(),
        });
    }
    if data.y_len() != y_len {
        return Err(Error::ShapeMismatch {
            expected: y_len,
            found: data.y_len(),
        });
    }
    if data.is_empty() {
        return Err(Error::InvalidConfig("the dataset is empty"));
    }
    Ok(())
}

/// The shape Keras's metrics see for `y_true` of `b` samples.
fn y_true_shape(out: Shape, b: usize, y_len: usize, out_len: usize) -> Result<Shape> {
    if y_len == out_len {
        out.with_batch(b)
    } else {
        Shape::new(&[b, y_len])
    }
}

/// Running loss (Keras's loss tracker): a `Mean` weighted by batch size.
#[derive(Clone, Copy, Debug, Default)]
struct LossTracker {
    total: f32,
    count: f32,
}

impl LossTracker {
    fn add(&mut self, loss: f32, b: usize) {
        self.total += loss * b as f32;
        self.count += b as f32;
    }

    fn result(&self) -> f32 {
        if self.count == 0.0 {
            0.0
        } else {
            self.total / self.count
        }
    }
}

fn logs_of<M: Metric>(loss: &LossTracker, metrics: &[M]) -> Result<Logs> {
    let mut logs = Logs::new();
    logs.loss = loss.result();
    for m in metrics {
        logs.push(m.name(), m.result())?;
    }
    Ok(logs)
}

/// Trains `model` — a [`super::Sequential`], or a [`super::Functional`] graph with one
/// input and one output (any [`FitModel`]) — on `data` for `options.epochs` epochs.
/// Keras: `model.fit(x, y,
/// batch_size, epochs, callbacks, validation_data, shuffle, class_weight,
/// initial_epoch)` on a compiled model with `metrics`.
///
/// Returns the logs of the last epoch that ran (`None` when `initial_epoch >= epochs`);
/// a [`super::callbacks::History`] among the callbacks keeps every epoch's. See the
/// module docs for the exact semantics. `validation` takes any [`Dataset`]; pass
/// `None::<&SliceDataset<'_, f32>>` for none.
///
/// Errors: [`Error::NotTraining`] for an inference model; [`Error::ShapeMismatch`] for
/// a dataset whose samples do not fit the model or too-small buffers;
/// [`Error::InvalidConfig`] for a graph with several inputs or outputs, an empty dataset,
/// more than [`MAX_LOG_METRICS`] metrics,
/// a label without a class weight, or a callback's invalid setting. Any error of a step,
/// a metric or a callback stops training and is returned (the model keeps the updates
/// applied so far).
///
/// [`SliceDataset`]: super::SliceDataset
///
/// # Example
/// Fit `y = 2x + 1` with one Dense unit (Keras: `model.fit(x, y, batch_size=4,
/// epochs=60, validation_data=(xv, yv), callbacks=[history, early_stopping])`):
/// ```
/// use ember_nn::blob::{write, LayerSpec};
/// use ember_nn::layers::{Dense, LayerConfig};
/// use ember_nn::loss::Reduction;
/// use ember_nn::metrics::{AnyMetric, MeanAbsoluteError};
/// use ember_nn::model::callbacks::{EarlyStopping, History};
/// use ember_nn::model::{fit, FitBuffers, FitOptions, SliceDataset};
/// use ember_nn::{Activation, AlignedBlob, ArenaBuffer, Loss, Optimizer, Sequential, Sgd};
/// use ember_nn::{Shape, TrainConfig, Trainable};
///
/// let dense = Dense { units: 1, activation: Activation::Linear, use_bias: true };
/// let (kernel, bias) = ([0.5f32], [0.0f32]);
/// let layers = [LayerSpec {
///     name: "d",
///     trainable: true,
///     config: LayerConfig::Dense(dense),
///     params: &[&kernel, &bias],
///     attrs: ember_nn::layers::LayerAttrs::NONE,
/// }];
/// let mut blob = AlignedBlob([0u8; 256]);
/// let len = write("line", Shape::new(&[1]).unwrap(), &layers, &mut blob.0).unwrap();
/// let config = TrainConfig {
///     batch_size: 4,
///     optimizer: Optimizer::sgd(Sgd { learning_rate: 0.1, ..Sgd::DEFAULT }),
///     loss: Loss::MeanSquaredError { reduction: Reduction::SumOverBatchSize },
///     trainable: Trainable::All,
/// };
/// let mut arena = ArenaBuffer::<1024>::new();
/// let mut model =
///     Sequential::<f32>::for_training(&blob.0[..len], arena.as_mut_bytes(), config).unwrap();
///
/// // 10 samples (two full batches and one of 2), 3 validation samples.
/// let x = [-1.0f32, -0.8, -0.6, -0.4, -0.2, 0.0, 0.2, 0.4, 0.6, 0.8];
/// let y = x.map(|v| 2.0 * v + 1.0);
/// let (xv, yv) = ([0.1f32, 0.3, 0.5], [1.2f32, 1.6, 2.0]);
/// let train = SliceDataset::new(&x, &y, 1, 1).unwrap();
/// let val = SliceDataset::new(&xv, &yv, 1, 1).unwrap();
///
/// // Batch buffers: FitBuffers::sizes(&model, 10) says x: 4, y: 4, order: 10, weights: 4.
/// let (mut xb, mut yb) = ([0.0f32; 4], [0.0f32; 4]);
/// let buffers = FitBuffers { x: &mut xb, y: &mut yb, order: &mut [], sample_weight: &mut [] };
/// let mut metrics = [AnyMetric::<2>::MeanAbsoluteError(MeanAbsoluteError::new())];
/// let mut history = History::<60>::new();
/// let mut best = [0.0f32; 2]; // the 2 trainable parameters
/// let stop = EarlyStopping::new("val_loss").patience(3).restore_best_weights(&mut best);
/// let mut callbacks = (&mut history, stop);
/// let last = fit(&mut model, &train, Some(&val), &FitOptions::epochs(60), &mut metrics,
///                &mut callbacks, buffers).unwrap().unwrap();
///
/// assert_eq!(history.epoch(0).unwrap().metric(0).unwrap().0, "mean_absolute_error");
/// assert!(last.val_loss.unwrap() < 1e-3 && last.loss < history.epoch(0).unwrap().loss);
/// let w = model.trainable_params();
/// assert!((w[0] - 2.0).abs() < 0.05 && (w[1] - 1.0).abs() < 0.05);
/// ```
pub fn fit<T, Mo, D, V, M, C, const N: usize>(
    model: &mut Mo,
    data: &D,
    validation: Option<&V>,
    options: &FitOptions<'_>,
    metrics: &mut [M],
    callbacks: &mut C,
    buffers: FitBuffers<'_, T>,
) -> Result<Option<Logs>>
where
    T: Scalar,
    Mo: FitModel<T, N>,
    D: Dataset<T>,
    V: Dataset<T>,
    M: Metric,
    C: Callback<T>,
{
    let (batch, out_len, x_len, y_len) = geometry(model)?;
    check_dataset(data, x_len, y_len)?;
    if let Some(v) = validation {
        check_dataset(v, x_len, y_len)?;
    }
    if metrics.len() > MAX_LOG_METRICS {
        return Err(Error::InvalidConfig("more metrics than MAX_LOG_METRICS"));
    }
    let n = data.len();
    check_len(buffers.x.len(), batch * x_len)?;
    check_len(buffers.y.len(), batch * y_len)?;
    if options.shuffle.is_some() {
        check_len(buffers.order.len(), n)?;
        if u32::try_from(n).is_err() {
            return Err(Error::InvalidConfig("too many samples to shuffle"));
        }
    }
    if options.class_weight.is_some() {
        check_len(buffers.sample_weight.len(), batch)?;
    }
    let FitBuffers {
        x: xb,
        y: yb,
        order,
        sample_weight,
    } = buffers;
    let order = &mut order[..if options.shuffle.is_some() { n } else { 0 }];
    for (i, o) in order.iter_mut().enumerate() {
        *o = i as u32;
    }
    let mut rng = Rng::from_seed(options.shuffle.unwrap_or(0));
    let out_shape = model.output_shape()?;

    callbacks.on_train_begin(model)?;
    let mut last: Option<Logs> = None;
    let mut stop = false;
    for epoch in options.initial_epoch..options.epochs {
        for m in metrics.iter_mut() {
            m.reset_state();
        }
        let mut tracker = LossTracker::default();
        stop |= callbacks.on_epoch_begin(model, epoch)? == Control::Stop;
        if !order.is_empty() {
            shuffle(order, &mut rng);
        }
        let mut logs = logs_of(&tracker, metrics)?;
        let steps = n.div_ceil(batch);
        for step in 0..steps {
            stop |= callbacks.on_train_batch_begin(model, step)? == Control::Stop;
            let start = step * batch;
            let b = batch.min(n - start);
            for j in 0..b {
                let i = match order.get(start + j) {
                    Some(&o) => o as usize,
                    None => start + j,
                };
                data.sample(
                    i,
                    &mut xb[j * x_len..(j + 1) * x_len],
                    &mut yb[j * y_len..(j + 1) * y_len],
                )?;
            }
            let (xs, ys) = (&xb[..b * x_len], &yb[..b * y_len]);
            let weights = match options.class_weight {
                Some(cw) => {
                    let w = &mut sample_weight[..b];
                    class_weights(cw, ys, y_len, w)?;
                    Some(&*w)
                }
                None => None,
            };
            let loss = model.train_on_batch_weighted(xs, ys, weights)?;
            tracker.add(loss.to_f32(), b);
            let y_pred = model.last_output(b).ok_or(Error::NotTraining)?;
            let pv = TensorView::new(out_shape.with_batch(b)?, y_pred)?;
            let tv = TensorView::new(y_true_shape(out_shape, b, y_len, out_len)?, ys)?;
            // Keras's `metrics=` are unweighted (only `weighted_metrics=` see weights).
            for m in metrics.iter_mut() {
                m.update_state(tv, pv, None)?;
            }
            logs = logs_of(&tracker, metrics)?;
            stop |= callbacks.on_train_batch_end(model, step, &logs)? == Control::Stop;
            if stop {
                break;
            }
        }
        if let Some(v) = validation {
            let val = evaluate_into(model, v, metrics, xb, yb)?;
            logs.set_validation(&val);
        }
        stop |= callbacks.on_epoch_end(model, epoch, &mut logs)? == Control::Stop;
        last = Some(logs);
        if stop {
            break;
        }
    }
    callbacks.on_train_end(model, last.as_ref())?;
    Ok(last)
}

/// The loss and metrics of `model` (any [`FitModel`], as for [`fit()`]) on `data`,
/// without training. Keras:
/// `model.evaluate(x, y, batch_size)` (with the compiled `batch_size`), returning the
/// logs (`loss` weighted by batch size as in [`fit()`], metric results). `x` and `y`
/// are batch buffers as [`FitBuffers::x`] and [`FitBuffers::y`]. Metrics are reset
/// first.
pub fn evaluate<T, Mo, D, M, const N: usize>(
    model: &mut Mo,
    data: &D,
    metrics: &mut [M],
    x: &mut [T],
    y: &mut [T],
) -> Result<Logs>
where
    T: Scalar,
    Mo: FitModel<T, N>,
    D: Dataset<T>,
    M: Metric,
{
    let (batch, _, x_len, y_len) = geometry(model)?;
    check_dataset(data, x_len, y_len)?;
    check_len(x.len(), batch * x_len)?;
    check_len(y.len(), batch * y_len)?;
    if metrics.len() > MAX_LOG_METRICS {
        return Err(Error::InvalidConfig("more metrics than MAX_LOG_METRICS"));
    }
    evaluate_into(model, data, metrics, x, y)
}

/// [`evaluate`] after the checks.
fn evaluate_into<T, Mo, D, M, const N: usize>(
    model: &mut Mo,
    data: &D,
    metrics: &mut [M],
    xb: &mut [T],
    yb: &mut [T],
) -> Result<Logs>
where
    T: Scalar,
    Mo: FitModel<T, N>,
    D: Dataset<T>,
    M: Metric,
{
    let (batch, out_len, x_len, y_len) = geometry(model)?;
    let out_shape = model.output_shape()?;
    for m in metrics.iter_mut() {
        m.reset_state();
    }
    let mut tracker = LossTracker::default();
    let n = data.len();
    for start in (0..n).step_by(batch) {
        let b = batch.min(n - start);
        for j in 0..b {
            data.sample(
                start + j,
                &mut xb[j * x_len..(j + 1) * x_len],
                &mut yb[j * y_len..(j + 1) * y_len],
            )?;
        }
        let (xs, ys) = (&xb[..b * x_len], &yb[..b * y_len]);
        let loss = model.test_on_batch(xs, ys)?;
        tracker.add(loss.to_f32(), b);
        let y_pred = model.last_output(b).ok_or(Error::NotTraining)?;
        let pv = TensorView::new(out_shape.with_batch(b)?, y_pred)?;
        let tv = TensorView::new(y_true_shape(out_shape, b, y_len, out_len)?, ys)?;
        for m in metrics.iter_mut() {
            m.update_state(tv, pv, None)?;
        }
    }
    logs_of(&tracker, metrics)
}

/// A uniform Fisher–Yates shuffle (index drawn by the multiply-shift method: bias below
/// `n / 2³²`).
fn shuffle(order: &mut [u32], rng: &mut Rng) {
    for i in (1..order.len()).rev() {
        let j = ((u64::from(rng.next_u32()) * (i as u64 + 1)) >> 32) as usize;
        order.swap(i, j);
    }
}

/// Keras's `class_weight` → per-sample weights: the class of a sample is the `argmax` of
/// its `y` (one-hot) or its rounded value (`y_len == 1`).
fn class_weights<T: Scalar>(cw: &[f32], ys: &[T], y_len: usize, out: &mut [T]) -> Result<()> {
    for (w, y) in out.iter_mut().zip(ys.chunks(y_len)) {
        let class = if y_len == 1 {
            let v = libm::roundf(y[0].to_f32());
            if v < 0.0 {
                return Err(Error::InvalidConfig("negative class label"));
            }
            v as usize
        } else {
            let mut best = 0;
            for (k, v) in y.iter().enumerate() {
                if v.to_f32() > y[best].to_f32() {
                    best = k;
                }
            }
            best
        };
        let c = cw.get(class).ok_or(Error::InvalidConfig(
            "class_weight has no entry for a label",
        ))?;
        *w = T::from_f32(*c);
    }
    Ok(())
}

/// `algorithm` with its constant learning rate replaced (for
/// [`super::Sequential::set_learning_rate`]).
pub(crate) fn with_learning_rate(algorithm: Algorithm, lr: f32) -> Algorithm {
    let mut a = algorithm;
    match &mut a {
        Algorithm::Sgd(o) => o.learning_rate = lr,
        Algorithm::Adam(o) => o.learning_rate = lr,
        Algorithm::AdamW(o) => o.learning_rate = lr,
        Algorithm::Adagrad(o) => o.learning_rate = lr,
        Algorithm::Adadelta(o) => o.learning_rate = lr,
        Algorithm::RmsProp(o) => o.learning_rate = lr,
        Algorithm::Adamax(o) => o.learning_rate = lr,
        Algorithm::Nadam(o) => o.learning_rate = lr,
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let mut rng = Rng::from_seed(5);
        let mut a = [0u32; 50];
        for (i, v) in a.iter_mut().enumerate() {
            *v = i as u32;
        }
        shuffle(&mut a, &mut rng);
        let mut sorted = a;
        sorted.sort_unstable();
        assert!(sorted.iter().enumerate().all(|(i, &v)| v == i as u32));
        assert!(
            a.iter()
                .enumerate()
                .filter(|(i, &v)| v == *i as u32)
                .count()
                < 10
        );
        let mut b = sorted;
        shuffle(&mut b, &mut Rng::from_seed(5));
        assert_eq!(a, b, "same seed, same permutation");
        shuffle(&mut b, &mut rng);
        assert_ne!(a, b, "the next epoch draws another permutation");
    }

    #[test]
    fn class_weights_use_argmax_or_rounded_label() {
        let mut w = [0.0f32; 3];
        class_weights(
            &[1.0, 2.0, 3.0],
            &[0.1, 0.7, 0.2, 0.9, 0.0, 0.1, 0.0, 0.0, 1.0],
            3,
            &mut w,
        )
        .unwrap();
        assert_eq!(w, [2.0, 1.0, 3.0]);
        class_weights(&[1.0, 2.0, 3.0], &[1.4, 1.6, 0.0], 1, &mut w).unwrap();
        assert_eq!(w, [2.0, 3.0, 1.0]);
        assert!(class_weights(&[1.0], &[-1.0, 0.0, 0.0], 1, &mut w).is_err());
        assert!(class_weights(&[1.0], &[2.0, 0.0, 0.0], 1, &mut w).is_err());
    }

    #[test]
    fn logs_keys() {
        let mut l = Logs::new();
        l.loss = 0.5;
        l.push("accuracy", 0.75).unwrap();
        assert_eq!(l.get("loss"), Some(0.5));
        assert_eq!(l.get("accuracy"), Some(0.75));
        assert_eq!(l.get("val_accuracy"), None);
        let mut v = Logs::new();
        v.loss = 0.25;
        v.push("accuracy", 0.5).unwrap();
        l.set_validation(&v);
        assert_eq!(l.get("val_loss"), Some(0.25));
        assert_eq!(l.get("val_accuracy"), Some(0.5));
        assert_eq!(l.get("auc"), None);
        for _ in 1..MAX_LOG_METRICS {
            l.push("m", 0.0).unwrap();
        }
        assert!(l.push("m", 0.0).is_err());
    }
}
