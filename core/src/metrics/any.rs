//! [`AnyMetric`]: every metric in one enum, for a compile-time metric list.

use super::{
    Accuracy, Auc, BinaryAccuracy, CategoricalAccuracy, MeanAbsoluteError, MeanSquaredError,
    Metric, Precision, Recall, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    DEFAULT_NUM_THRESHOLDS,
};
use crate::{Result, Scalar, TensorView};

/// Any metric of this module, dispatched by `match` (the core uses no trait objects).
/// Keras: the `metrics=[...]` list of `model.compile`.
///
/// A `[AnyMetric; M]` is a model's metric list with static memory. The enum is as large as
/// its largest variant, [`Auc<N>`](Auc) (`8·N + 8` bytes plus its configuration); with no
/// AUC in the list, `AnyMetric<2>` keeps every element small, and a list whose memory
/// matters can also hold the concrete metric types directly.
///
/// ```
/// use ember_nn::metrics::{Accuracy, AnyMetric, Metric};
/// let m: AnyMetric<2> = AnyMetric::Accuracy(Accuracy::new());
/// assert_eq!(m.name(), "accuracy");
/// assert!(core::mem::size_of::<AnyMetric<2>>() <= 64);
/// assert!(core::mem::size_of::<AnyMetric>() > 1600); // AnyMetric<200>
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // no heap to box `Auc` into: the size is the point
pub enum AnyMetric<const N: usize = DEFAULT_NUM_THRESHOLDS> {
    /// [`Accuracy`].
    Accuracy(Accuracy),
    /// [`BinaryAccuracy`].
    BinaryAccuracy(BinaryAccuracy),
    /// [`CategoricalAccuracy`].
    CategoricalAccuracy(CategoricalAccuracy),
    /// [`SparseCategoricalAccuracy`].
    SparseCategoricalAccuracy(SparseCategoricalAccuracy),
    /// [`TopKCategoricalAccuracy`].
    TopKCategoricalAccuracy(TopKCategoricalAccuracy),
    /// [`MeanSquaredError`].
    MeanSquaredError(MeanSquaredError),
    /// [`MeanAbsoluteError`].
    MeanAbsoluteError(MeanAbsoluteError),
    /// [`Precision`].
    Precision(Precision),
    /// [`Recall`].
    Recall(Recall),
    /// [`Auc`] with `N` thresholds.
    Auc(Auc<N>),
}

impl<const N: usize> Metric for AnyMetric<N> {
    fn name(&self) -> &'static str {
        match self {
            AnyMetric::Accuracy(m) => m.name(),
            AnyMetric::BinaryAccuracy(m) => m.name(),
            AnyMetric::CategoricalAccuracy(m) => m.name(),
            AnyMetric::SparseCategoricalAccuracy(m) => m.name(),
            AnyMetric::TopKCategoricalAccuracy(m) => m.name(),
            AnyMetric::MeanSquaredError(m) => m.name(),
            AnyMetric::MeanAbsoluteError(m) => m.name(),
            AnyMetric::Precision(m) => m.name(),
            AnyMetric::Recall(m) => m.name(),
            AnyMetric::Auc(m) => m.name(),
        }
    }

    fn update_state<T: Scalar>(
        &mut self,
        y_true: TensorView<'_, T>,
        y_pred: TensorView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<()> {
        match self {
            AnyMetric::Accuracy(m) => m.update_state(y_true, y_pred, sample_weight),
            AnyMetric::BinaryAccuracy(m) => m.update_state(y_true, y_pred, sample_weight),
            AnyMetric::CategoricalAccuracy(m) => m.update_state(y_true, y_pred, sample_weight),
            AnyMetric::SparseCategoricalAccuracy(m) => {
                m.update_state(y_true, y_pred, sample_weight)
            }
            AnyMetric::TopKCategoricalAccuracy(m) => m.update_state(y_true, y_pred, sample_weight),
            AnyMetric::MeanSquaredError(m) => m.update_state(y_true, y_pred, sample_weight),
            AnyMetric::MeanAbsoluteError(m) => m.update_state(y_true, y_pred, sample_weight),
            AnyMetric::Precision(m) => m.update_state(y_true, y_pred, sample_weight),
            AnyMetric::Recall(m) => m.update_state(y_true, y_pred, sample_weight),
            AnyMetric::Auc(m) => m.update_state(y_true, y_pred, sample_weight),
        }
    }

    fn result(&self) -> f32 {
        match self {
            AnyMetric::Accuracy(m) => m.result(),
            AnyMetric::BinaryAccuracy(m) => m.result(),
            AnyMetric::CategoricalAccuracy(m) => m.result(),
            AnyMetric::SparseCategoricalAccuracy(m) => m.result(),
            AnyMetric::TopKCategoricalAccuracy(m) => m.result(),
            AnyMetric::MeanSquaredError(m) => m.result(),
            AnyMetric::MeanAbsoluteError(m) => m.result(),
            AnyMetric::Precision(m) => m.result(),
            AnyMetric::Recall(m) => m.result(),
            AnyMetric::Auc(m) => m.result(),
        }
    }

    fn reset_state(&mut self) {
        match self {
            AnyMetric::Accuracy(m) => m.reset_state(),
            AnyMetric::BinaryAccuracy(m) => m.reset_state(),
            AnyMetric::CategoricalAccuracy(m) => m.reset_state(),
            AnyMetric::SparseCategoricalAccuracy(m) => m.reset_state(),
            AnyMetric::TopKCategoricalAccuracy(m) => m.reset_state(),
            AnyMetric::MeanSquaredError(m) => m.reset_state(),
            AnyMetric::MeanAbsoluteError(m) => m.reset_state(),
            AnyMetric::Precision(m) => m.reset_state(),
            AnyMetric::Recall(m) => m.reset_state(),
            AnyMetric::Auc(m) => m.reset_state(),
        }
    }
}
