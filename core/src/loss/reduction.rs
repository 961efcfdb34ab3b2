//! How per-sample losses become one number: Keras 3's `reduction` argument.

use serde::{Deserialize, Serialize};

use crate::Scalar;

/// How a loss reduces its per-sample values (after multiplying them by the sample weights)
/// to the scalar that is returned and differentiated. Keras: the `reduction` argument of
/// every `keras.losses.Loss`.
///
/// A "sample" here is one row of the last axis: a `(batch, classes)` output has `batch`
/// per-sample losses, a `(batch, steps, classes)` output has `batch × steps`, exactly as
/// Keras's per-sample loss tensor has shape `y_pred.shape[:-1]`.
///
/// Keras 3.15 also accepts `None` / `"none"` (no reduction: the loss is a tensor). It is
/// not represented because a loss here returns one scalar to train on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Reduction {
    /// `"sum_over_batch_size"` (the Keras default): `Σ wᵢ·ℓᵢ / N`, where `N` is the number
    /// of per-sample values — the count, not the sum of the weights.
    #[default]
    SumOverBatchSize,
    /// `"sum"`: `Σ wᵢ·ℓᵢ`.
    Sum,
    /// `"mean"`: in Keras 3.15 the same computation as `"sum_over_batch_size"`.
    Mean,
    /// `"mean_with_sample_weight"`: `Σ wᵢ·ℓᵢ / Σ wᵢ` with sample weights, `Σ ℓᵢ / N`
    /// without. A zero weight sum gives a loss (and gradient) of 0, as Keras's
    /// `divide_no_nan` does.
    MeanWithSampleWeight,
}

impl Reduction {
    /// The Keras string of this reduction (`"sum_over_batch_size"`, `"sum"`, ...).
    pub const fn keras_name(self) -> &'static str {
        match self {
            Reduction::SumOverBatchSize => "sum_over_batch_size",
            Reduction::Sum => "sum",
            Reduction::Mean => "mean",
            Reduction::MeanWithSampleWeight => "mean_with_sample_weight",
        }
    }

    /// The reduction named by a Keras string, `None` for names not represented.
    pub fn from_keras_name(name: &str) -> Option<Self> {
        match name {
            "sum_over_batch_size" => Some(Reduction::SumOverBatchSize),
            "sum" => Some(Reduction::Sum),
            "mean" => Some(Reduction::Mean),
            "mean_with_sample_weight" => Some(Reduction::MeanWithSampleWeight),
            _ => None,
        }
    }

    /// What the weighted sum of `values` per-sample losses is divided by, or `None` for no
    /// division (`"sum"`). `weight_sum` is `Σ wᵢ` when sample weights are given. Keras
    /// divides with `divide_no_nan`: a zero divisor makes the loss 0.
    pub(crate) fn divisor<T: Scalar>(self, values: usize, weight_sum: Option<T>) -> Option<T> {
        match (self, weight_sum) {
            (Reduction::Sum, _) => None,
            (Reduction::MeanWithSampleWeight, Some(s)) => Some(s),
            _ => Some(T::from_usize(values)),
        }
    }
}
