//! Metrics: streaming, fixed-memory Keras metrics (`keras.metrics.*`).
//!
//! A metric accumulates over batches with [`Metric::update_state`], reports Keras's
//! `result()` with [`Metric::result`] and starts over with [`Metric::reset_state`]. Every
//! metric is a plain value of fixed size — a few `f32`s, or two histograms of `N` buckets
//! for [`Auc`] — so it can live in a `static`, on the stack or inside a model, and it never
//! allocates.
//!
//! | Ember | Keras | state |
//! |---|---|---|
//! | [`Accuracy`] | `keras.metrics.Accuracy` | [`Mean`] (2 × `f32`) |
//! | [`BinaryAccuracy`] | `keras.metrics.BinaryAccuracy(threshold=0.5)` | [`Mean`] |
//! | [`CategoricalAccuracy`] | `keras.metrics.CategoricalAccuracy` | [`Mean`] |
//! | [`SparseCategoricalAccuracy`] | `keras.metrics.SparseCategoricalAccuracy` | [`Mean`] |
//! | [`TopKCategoricalAccuracy`] | `keras.metrics.TopKCategoricalAccuracy(k=5)` | [`Mean`] |
//! | [`MeanSquaredError`] | `keras.metrics.MeanSquaredError` | [`Mean`] |
//! | [`MeanAbsoluteError`] | `keras.metrics.MeanAbsoluteError` | [`Mean`] |
//! | [`Precision`] | `keras.metrics.Precision(thresholds=None, top_k=None, class_id=None)` | 2 × `f32` |
//! | [`Recall`] | `keras.metrics.Recall(thresholds=None, top_k=None, class_id=None)` | 2 × `f32` |
//! | [`Auc`] | `keras.metrics.AUC(num_thresholds=200, curve="ROC", summation_method="interpolation")` | 2 × `[f32; N]` + 2 × `f32` |
//!
//! [`AnyMetric`] is an enum of all of them, for a model's compile-time metric list.
//!
//! # Numbers
//! Keras keeps its metric variables (`total`, `count`, `true_positives`, …) in `float32`,
//! and so does Ember, for every input type: `Q16_16` inputs are converted with
//! [`Scalar::to_f32`] (exact) as they are read and everything after that is `f32`
//! arithmetic in Keras's order — per-sample values, a batch sum, then one add into the
//! running state. On data that `Q16_16` represents exactly, a `Q16_16` metric therefore
//! returns bit for bit what the `f32` metric returns, and both match Keras to 1e-6 (the
//! conformance suite checks every metric against Keras 3.15). The only differences from
//! Keras are the order in which XLA and Ember add long sums, which is invisible on data
//! whose sums are exact in `f32` (0/1 matches, dyadic weights) and below 1e-6 otherwise.
//!
//! # Shapes
//! `y_true` and `y_pred` are [`TensorView`]s whose first axis is the batch; the optional
//! `sample_weight` holds one weight per sample (Keras also accepts per-element weights;
//! Ember does not). Where Keras calls `squeeze_or_expand_to_same_rank`, a `(b,)` tensor is
//! accepted against a `(b, 1)` one. A sample's value is the mean over its non-batch
//! elements, as Keras's `Mean` reduces them. Wrong shapes or weight counts return
//! [`crate::Error`] and leave the metric unchanged.
//!
//! # Example: a training loop's metrics
//! ```
//! use ember_nn::metrics::{AnyMetric, Auc, BinaryAccuracy, Metric};
//! use ember_nn::{Shape, TensorView};
//!
//! let mut metrics: [AnyMetric; 2] = [
//!     AnyMetric::BinaryAccuracy(BinaryAccuracy::default()),
//!     AnyMetric::Auc(Auc::default()),
//! ];
//! let shape = Shape::new(&[4, 1]).unwrap();
//! let y_true = TensorView::new(shape, &[0.0f32, 0.0, 1.0, 1.0]).unwrap();
//! let y_pred = TensorView::new(shape, &[0.1f32, 0.4, 0.35, 0.8]).unwrap();
//! for m in metrics.iter_mut() {
//!     m.update_state(y_true, y_pred, None).unwrap();
//! }
//! assert_eq!(metrics[0].name(), "binary_accuracy");
//! assert_eq!(metrics[0].result(), 0.75);
//! assert!((metrics[1].result() - 0.75).abs() < 1e-6); // Keras: 0.75
//! ```

mod accuracy;
mod any;
mod auc;
mod categorical;
mod confusion;
mod input;
mod mean;
mod regression;

pub use accuracy::{Accuracy, BinaryAccuracy};
pub use any::AnyMetric;
pub use auc::{Auc, AucCurve, AucSummationMethod, DEFAULT_NUM_THRESHOLDS};
pub use categorical::{CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy};
pub use confusion::{Precision, Recall};
pub use mean::Mean;
pub use regression::{MeanAbsoluteError, MeanSquaredError};

use crate::{Result, Scalar, TensorView};

/// A streaming metric. Keras: `keras.metrics.Metric` (`update_state`, `result`,
/// `reset_state`).
///
/// The trait is not generic; [`Metric::update_state`] is, so one metric value accepts
/// `f32` and `Q16_16` batches and a training loop generic over `T: Scalar` calls it with
/// static dispatch (use [`AnyMetric`] for a list of different metrics; no trait objects).
pub trait Metric {
    /// Keras's default metric name (`"accuracy"`, `"auc"`, …), as in `model.fit` logs.
    fn name(&self) -> &'static str;

    /// Accumulates one batch. `y_true` and `y_pred` have the batch as their first axis;
    /// `sample_weight`, when given, holds one weight per sample. On error (wrong shapes,
    /// wrong number of weights) the state is unchanged.
    fn update_state<T: Scalar>(
        &mut self,
        y_true: TensorView<'_, T>,
        y_pred: TensorView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<()>;

    /// The metric over everything accumulated since the last reset, as Keras's `result()`
    /// returns it (`float32`); 0 before any data.
    fn result(&self) -> f32;

    /// Forgets everything accumulated (the configuration stays). Keras: `reset_state()`.
    fn reset_state(&mut self);
}
