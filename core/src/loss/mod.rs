//! Losses: every Keras 3 loss that trains a Dense model, with Keras's reductions and
//! sample weights, and the exact gradient `∂L/∂y_pred` of what Keras computes.
//!
//! A [`Loss`] is a configuration value, like a Keras loss object: the variant is the
//! class, its fields the constructor arguments (`from_logits`, `label_smoothing`,
//! `delta`, `reduction`). [`Loss::value_and_grad`] computes the reduced loss of a batch and
//! writes its gradient, matching `jax.grad` of the Keras loss (clips, kinks and ties
//! included), so training follows Keras step for step.
//!
//! The per-sample loss reduces the last axis (Keras's `axis=-1`, the only axis
//! supported); the [`Reduction`] then turns the per-sample values — after multiplying
//! them by the sample weights — into one number.
//!
//! ```
//! use ember_nn::loss::{Loss, Reduction};
//!
//! const LOSS: Loss = Loss::CategoricalCrossentropy {
//!     from_logits: true,
//!     label_smoothing: 0.1,
//!     reduction: Reduction::SumOverBatchSize,
//! };
//! let logits = [2.0f32, 0.5, -1.0, 0.0, 0.0, 3.0];
//! let y_true = [1.0f32, 0.0, 0.0, 0.0, 0.0, 1.0];
//! let mut grad = [0.0f32; 6];
//! let loss = LOSS.value_and_grad(&logits, &y_true, None, &mut grad, 3).unwrap();
//! assert!(loss > 0.0 && loss < 1.0);
//! // Sample weights: one per sample (row).
//! let weighted = LOSS
//!     .value_and_grad(&logits, &y_true, Some(&[1.0, 0.0]), &mut grad, 3)
//!     .unwrap();
//! assert!(weighted < loss);
//! ```
//!
//! Custom losses written with backend ops are a later addition; they will fit the same
//! shape: a per-sample value and gradient, reduced here.

mod crossentropy;
mod hinge;
mod math;
mod probabilistic;
mod reduction;
mod regression;

use serde::{Deserialize, Serialize};

pub use reduction::Reduction;

use crate::{Error, Result, Scalar};

/// Keras's `backend.epsilon()`, used to clip probabilities and guard divisions and logs.
pub const EPSILON: f32 = 1e-7;

/// A loss function and its configuration. Keras: `keras.losses.*`.
///
/// Each variant is a Keras loss class; its fields are the class's constructor arguments
/// (Keras defaults: `from_logits = false`, `label_smoothing = 0`, `delta = 1`,
/// `reduction = "sum_over_batch_size"`; the `const fn` constructors such as
/// [`Loss::categorical_crossentropy`] build exactly those). `axis` is always the last
/// one, and `SparseCategoricalCrossentropy`'s `ignore_class` is not represented.
///
/// Formulas below are per sample (one row of the last axis, `n` elements); `ε` is
/// [`EPSILON`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Loss {
    /// Keras: `keras.losses.MeanSquaredError` (`"mse"`): `mean((y_true − y_pred)²)`.
    MeanSquaredError {
        /// How per-sample losses are reduced.
        reduction: Reduction,
    },
    /// Keras: `keras.losses.MeanAbsoluteError` (`"mae"`): `mean(|y_true − y_pred|)`.
    MeanAbsoluteError {
        /// How per-sample losses are reduced.
        reduction: Reduction,
    },
    /// Keras: `keras.losses.MeanAbsolutePercentageError` (`"mape"`):
    /// `100 · mean(|(y_true − y_pred) / max(|y_true|, ε)|)`.
    MeanAbsolutePercentageError {
        /// How per-sample losses are reduced.
        reduction: Reduction,
    },
    /// Keras: `keras.losses.MeanSquaredLogarithmicError` (`"msle"`):
    /// `mean((ln(max(y_pred, ε) + 1) − ln(max(y_true, ε) + 1))²)`.
    MeanSquaredLogarithmicError {
        /// How per-sample losses are reduced.
        reduction: Reduction,
    },
    /// `sqrt(mean((y_true − y_pred)²))` per sample. **Not a Keras 3.15 loss**: Keras has
    /// only the metric `keras.metrics.RootMeanSquaredError`, the square root of the mean
    /// over the whole batch. This is the per-sample form a Keras `LossFunctionWrapper`
    /// around `ops.sqrt(ops.mean(ops.square(y_true - y_pred), axis=-1))` computes (the two
    /// agree for one sample). A sample with zero error gets a zero gradient.
    RootMeanSquaredError {
        /// How per-sample losses are reduced.
        reduction: Reduction,
    },
    /// Keras: `keras.losses.Huber`: `mean(½e²)` where `|e| ≤ δ`, `δ|e| − ½δ²` elsewhere,
    /// with `e = y_pred − y_true`.
    Huber {
        /// `δ`, where the loss turns from quadratic to linear (Keras default 1.0).
        delta: f32,
        /// How per-sample losses are reduced.
        reduction: Reduction,
    },
    /// Keras: `keras.losses.LogCosh`: `mean(ln cosh(y_pred − y_true))`.
    LogCosh {
        /// How per-sample losses are reduced.
        reduction: Reduction,
    },
    /// Keras: `keras.losses.Hinge`: `mean(max(1 − y_true·y_pred, 0))`. Labels are −1/+1;
    /// when every label of the batch is 0 or 1 they are first mapped to `2·y_true − 1`.
    Hinge {
        /// How per-sample losses are reduced.
        reduction: Reduction,
    },
    /// Keras: `keras.losses.SquaredHinge`: `mean(max(1 − y_true·y_pred, 0)²)`, labels as
    /// for [`Loss::Hinge`].
    SquaredHinge {
        /// How per-sample losses are reduced.
        reduction: Reduction,
    },
    /// Keras: `keras.losses.CategoricalHinge`: `max(neg − pos + 1, 0)` with
    /// `pos = Σ y_true·y_pred` and `neg = max((1 − y_true)·y_pred)`.
    CategoricalHinge {
        /// How per-sample losses are reduced.
        reduction: Reduction,
    },
    /// Keras: `keras.losses.BinaryCrossentropy` (`"bce"`):
    /// `mean(−t·ln o − (1 − t)·ln(1 − o))` with `o = clip(y_pred, ε, 1 − ε)`, or from
    /// logits `mean(t·softplus(−y_pred) + (1 − t)·softplus(y_pred))`; `t` is `y_true`
    /// smoothed to `y_true·(1 − s) + s/2`.
    BinaryCrossentropy {
        /// `y_pred` holds logits rather than probabilities.
        from_logits: bool,
        /// `s` in `[0, 1]`: labels are squeezed towards ½.
        label_smoothing: f32,
        /// How per-sample losses are reduced.
        reduction: Reduction,
    },
    /// Keras: `keras.losses.CategoricalCrossentropy`: `−Σ t·ln q`, where from
    /// probabilities `q = clip(y_pred / Σ y_pred, ε, 1 − ε)` and from logits
    /// `ln q = log_softmax(y_pred)`; `t` is the one-hot `y_true` smoothed to
    /// `y_true·(1 − s) + s/n`.
    CategoricalCrossentropy {
        /// `y_pred` holds logits rather than probabilities.
        from_logits: bool,
        /// `s` in `[0, 1]`: part of each label spread uniformly over the classes.
        label_smoothing: f32,
        /// How per-sample losses are reduced.
        reduction: Reduction,
    },
    /// Keras: `keras.losses.SparseCategoricalCrossentropy`: the categorical cross-entropy
    /// with `y_true` holding one class index per sample (so `y_true` has
    /// [`Loss::y_true_len`] elements, `y_pred.len() / n`). Indices are truncated toward
    /// zero like Keras's cast to `int32`; one outside `0..n` is
    /// [`Error::LabelOutOfRange`] (JAX would silently give that sample a zero loss).
    /// `ignore_class` is not represented.
    SparseCategoricalCrossentropy {
        /// `y_pred` holds logits rather than probabilities.
        from_logits: bool,
        /// How per-sample losses are reduced.
        reduction: Reduction,
    },
    /// Keras: `keras.losses.KLDivergence` (`"kld"`): `Σ t·ln(t / p)` with `t` and `p`
    /// clipped to `[ε, 1]` (a sum over the row, not a mean).
    KLDivergence {
        /// How per-sample losses are reduced.
        reduction: Reduction,
    },
    /// Keras: `keras.losses.Poisson`: `mean(y_pred − y_true·ln(y_pred + ε))`.
    Poisson {
        /// How per-sample losses are reduced.
        reduction: Reduction,
    },
}

/// Keras's default reduction, for the constructors.
const DEFAULT: Reduction = Reduction::SumOverBatchSize;

impl Loss {
    /// Keras: `keras.losses.MeanSquaredError()`.
    pub const fn mean_squared_error() -> Self {
        Loss::MeanSquaredError { reduction: DEFAULT }
    }

    /// Keras: `keras.losses.MeanAbsoluteError()`.
    pub const fn mean_absolute_error() -> Self {
        Loss::MeanAbsoluteError { reduction: DEFAULT }
    }

    /// Keras: `keras.losses.MeanAbsolutePercentageError()`.
    pub const fn mean_absolute_percentage_error() -> Self {
        Loss::MeanAbsolutePercentageError { reduction: DEFAULT }
    }

    /// Keras: `keras.losses.MeanSquaredLogarithmicError()`.
    pub const fn mean_squared_logarithmic_error() -> Self {
        Loss::MeanSquaredLogarithmicError { reduction: DEFAULT }
    }

    /// [`Loss::RootMeanSquaredError`] with the default reduction (not a Keras loss).
    pub const fn root_mean_squared_error() -> Self {
        Loss::RootMeanSquaredError { reduction: DEFAULT }
    }

    /// Keras: `keras.losses.Huber()` (`delta = 1.0`).
    pub const fn huber() -> Self {
        Loss::Huber {
            delta: 1.0,
            reduction: DEFAULT,
        }
    }

    /// Keras: `keras.losses.LogCosh()`.
    pub const fn log_cosh() -> Self {
        Loss::LogCosh { reduction: DEFAULT }
    }

    /// Keras: `keras.losses.Hinge()`.
    pub const fn hinge() -> Self {
        Loss::Hinge { reduction: DEFAULT }
    }

    /// Keras: `keras.losses.SquaredHinge()`.
    pub const fn squared_hinge() -> Self {
        Loss::SquaredHinge { reduction: DEFAULT }
    }

    /// Keras: `keras.losses.CategoricalHinge()`.
    pub const fn categorical_hinge() -> Self {
        Loss::CategoricalHinge { reduction: DEFAULT }
    }

    /// Keras: `keras.losses.BinaryCrossentropy()` (probabilities, no smoothing).
    pub const fn binary_crossentropy() -> Self {
        Loss::BinaryCrossentropy {
            from_logits: false,
            label_smoothing: 0.0,
            reduction: DEFAULT,
        }
    }

    /// Keras: `keras.losses.CategoricalCrossentropy()` (probabilities, no smoothing).
    pub const fn categorical_crossentropy() -> Self {
        Loss::CategoricalCrossentropy {
            from_logits: false,
            label_smoothing: 0.0,
            reduction: DEFAULT,
        }
    }

    /// Keras: `keras.losses.SparseCategoricalCrossentropy()` (probabilities).
    pub const fn sparse_categorical_crossentropy() -> Self {
        Loss::SparseCategoricalCrossentropy {
            from_logits: false,
            reduction: DEFAULT,
        }
    }

    /// Keras: `keras.losses.KLDivergence()`.
    pub const fn kl_divergence() -> Self {
        Loss::KLDivergence { reduction: DEFAULT }
    }

    /// Keras: `keras.losses.Poisson()`.
    pub const fn poisson() -> Self {
        Loss::Poisson { reduction: DEFAULT }
    }

    /// The loss Keras's `keras.losses.get(name)` returns for a string (as in
    /// `model.compile(loss="mse")`), with its default configuration. Accepts the function
    /// names (`"categorical_crossentropy"`), the class names (`"CategoricalCrossentropy"`)
    /// and Keras's aliases (`"mse"`, `"MAE"`, `"bce"`, `"kld"`, ...); `None` otherwise.
    pub fn from_keras_name(name: &str) -> Option<Self> {
        Some(match name {
            "mean_squared_error" | "MeanSquaredError" | "mse" | "MSE" => Self::mean_squared_error(),
            "mean_absolute_error" | "MeanAbsoluteError" | "mae" | "MAE" => {
                Self::mean_absolute_error()
            }
            "mean_absolute_percentage_error" | "MeanAbsolutePercentageError" | "mape" | "MAPE" => {
                Self::mean_absolute_percentage_error()
            }
            "mean_squared_logarithmic_error" | "MeanSquaredLogarithmicError" | "msle" | "MSLE" => {
                Self::mean_squared_logarithmic_error()
            }
            "huber" | "Huber" => Self::huber(),
            "log_cosh" | "LogCosh" => Self::log_cosh(),
            "hinge" | "Hinge" => Self::hinge(),
            "squared_hinge" | "SquaredHinge" => Self::squared_hinge(),
            "categorical_hinge" | "CategoricalHinge" => Self::categorical_hinge(),
            "binary_crossentropy" | "BinaryCrossentropy" | "bce" | "BCE" => {
                Self::binary_crossentropy()
            }
            "categorical_crossentropy" | "CategoricalCrossentropy" => {
                Self::categorical_crossentropy()
            }
            "sparse_categorical_crossentropy" | "SparseCategoricalCrossentropy" => {
                Self::sparse_categorical_crossentropy()
            }
            "kl_divergence" | "KLDivergence" | "kld" | "KLD" => Self::kl_divergence(),
            "poisson" | "Poisson" => Self::poisson(),
            _ => return None,
        })
    }

    /// The reduction this loss applies.
    pub const fn reduction(self) -> Reduction {
        match self {
            Loss::MeanSquaredError { reduction }
            | Loss::MeanAbsoluteError { reduction }
            | Loss::MeanAbsolutePercentageError { reduction }
            | Loss::MeanSquaredLogarithmicError { reduction }
            | Loss::RootMeanSquaredError { reduction }
            | Loss::Huber { reduction, .. }
            | Loss::LogCosh { reduction }
            | Loss::Hinge { reduction }
            | Loss::SquaredHinge { reduction }
            | Loss::CategoricalHinge { reduction }
            | Loss::BinaryCrossentropy { reduction, .. }
            | Loss::CategoricalCrossentropy { reduction, .. }
            | Loss::SparseCategoricalCrossentropy { reduction, .. }
            | Loss::KLDivergence { reduction }
            | Loss::Poisson { reduction } => reduction,
        }
    }

    /// The same loss with another reduction (Keras's `reduction=` argument).
    ///
    /// ```
    /// use ember_nn::loss::{Loss, Reduction};
    /// const SUM_MSE: Loss = Loss::mean_squared_error().with_reduction(Reduction::Sum);
    /// assert_eq!(SUM_MSE.reduction(), Reduction::Sum);
    /// ```
    pub const fn with_reduction(mut self, r: Reduction) -> Self {
        match &mut self {
            Loss::MeanSquaredError { reduction }
            | Loss::MeanAbsoluteError { reduction }
            | Loss::MeanAbsolutePercentageError { reduction }
            | Loss::MeanSquaredLogarithmicError { reduction }
            | Loss::RootMeanSquaredError { reduction }
            | Loss::Huber { reduction, .. }
            | Loss::LogCosh { reduction }
            | Loss::Hinge { reduction }
            | Loss::SquaredHinge { reduction }
            | Loss::CategoricalHinge { reduction }
            | Loss::BinaryCrossentropy { reduction, .. }
            | Loss::CategoricalCrossentropy { reduction, .. }
            | Loss::SparseCategoricalCrossentropy { reduction, .. }
            | Loss::KLDivergence { reduction }
            | Loss::Poisson { reduction } => *reduction = r,
        }
        self
    }

    /// Elements of `y_true` this loss expects for a `y_pred` of `y_pred_len` elements whose
    /// last axis has `last` elements: `y_pred_len` for every loss except
    /// [`Loss::SparseCategoricalCrossentropy`], which takes one class index per sample
    /// (`y_pred_len / last`). Returns 0 when `last` is 0.
    pub const fn y_true_len(self, y_pred_len: usize, last: usize) -> usize {
        match self {
            Loss::SparseCategoricalCrossentropy { .. } => match y_pred_len.checked_div(last) {
                Some(rows) => rows,
                None => 0,
            },
            _ => y_pred_len,
        }
    }

    /// The reduced loss of a batch, with its gradient `∂L/∂y_pred` written to `grad`.
    /// Keras: `loss(y_true, y_pred, sample_weight)`, and `jax.grad` of it.
    ///
    /// - `y_pred` and `grad` have the same length, a non-zero multiple of `last` (the size
    ///   of the last axis); every run of `last` elements is one sample.
    /// - `y_true` has [`Loss::y_true_len`] elements (the shape of `y_pred`, or one class
    ///   index per sample for the sparse cross-entropy).
    /// - `sample_weight`, if given, has one weight per sample (`y_pred.len() / last`), or
    ///   one per group of consecutive samples: with `k` weights each covers
    ///   `y_pred.len() / last / k` samples — e.g. one weight per batch element of a
    ///   `(batch, steps, n)` output, as Keras does with weights of shape `(batch, 1)`.
    ///   Per-sample losses are multiplied by their weights, then reduced.
    ///
    /// The gradient is the exact derivative of what Keras computes, including its clips
    /// (0 outside the clip range, ½ exactly at a bound, as JAX differentiates `clip`), the
    /// normalisation of probabilities in the cross-entropies, and ties in `max` (shared).
    ///
    /// Errors: [`Error::InvalidShape`] for a `last` of 0, an empty `y_pred` or one that is
    /// not a multiple of `last`; [`Error::ShapeMismatch`] for `y_true`, `grad` or
    /// `sample_weight` of the wrong length; [`Error::LabelOutOfRange`] for a sparse class
    /// index outside `0..last`.
    pub fn value_and_grad<T: Scalar>(
        self,
        y_pred: &[T],
        y_true: &[T],
        sample_weight: Option<&[T]>,
        grad: &mut [T],
        last: usize,
    ) -> Result<T> {
        if last == 0 || y_pred.is_empty() || y_pred.len() % last != 0 {
            return Err(Error::InvalidShape);
        }
        let rows = y_pred.len() / last;
        let expected = self.y_true_len(y_pred.len(), last);
        if y_true.len() != expected {
            return Err(Error::ShapeMismatch {
                expected,
                found: y_true.len(),
            });
        }
        if grad.len() != y_pred.len() {
            return Err(Error::ShapeMismatch {
                expected: y_pred.len(),
                found: grad.len(),
            });
        }
        // Samples per weight.
        let per_weight = match sample_weight {
            Some(w) if w.is_empty() || rows % w.len() != 0 => {
                return Err(Error::ShapeMismatch {
                    expected: rows,
                    found: w.len(),
                })
            }
            Some(w) => rows / w.len(),
            None => rows,
        };
        let target_len = expected / rows;
        let sparse = matches!(self, Loss::SparseCategoricalCrossentropy { .. });
        if sparse {
            check_classes(y_true, last)?;
        }

        let weight_sum = sample_weight.map(|w| w.iter().fold(T::ZERO, |s, &x| s + x));
        let divisor = self.reduction().divisor(rows, weight_sum);
        if divisor == Some(T::ZERO) {
            // Keras's `divide_no_nan`: a zero divisor gives a zero loss.
            grad.fill(T::ZERO);
            return Ok(T::ZERO);
        }
        let ctx = RowContext::new(self, y_true, last);
        let mut total = T::ZERO;
        let samples = y_pred
            .chunks_exact(last)
            .zip(y_true.chunks_exact(target_len))
            .zip(grad.chunks_exact_mut(last))
            .enumerate();
        for (r, ((p, t), g)) in samples {
            let w = sample_weight.map(|w| w[r / per_weight]);
            // ∂L/∂ℓ_r = w_r / divisor.
            let weight = w.unwrap_or(T::ONE);
            let scale = match divisor {
                Some(d) => weight.div(d),
                None => weight,
            };
            let class = if sparse { class_index(t) } else { 0 };
            let l = self.row(p, t, class, g, scale, &ctx);
            total = total + if w.is_some() { l * weight } else { l };
        }
        Ok(match divisor {
            Some(d) => total.div(d),
            None => total,
        })
    }

    /// One sample's loss; writes `scale · ∂ℓ/∂p` into `g`.
    fn row<T: Scalar>(
        self,
        p: &[T],
        t: &[T],
        class: usize,
        g: &mut [T],
        scale: T,
        ctx: &RowContext<T>,
    ) -> T {
        match self {
            Loss::MeanSquaredError { .. } => regression::mean_squared_error(p, t, g, scale),
            Loss::MeanAbsoluteError { .. } => regression::mean_absolute_error(p, t, g, scale),
            Loss::MeanAbsolutePercentageError { .. } => {
                regression::mean_absolute_percentage_error(p, t, g, scale)
            }
            Loss::MeanSquaredLogarithmicError { .. } => {
                regression::mean_squared_logarithmic_error(p, t, g, scale)
            }
            Loss::RootMeanSquaredError { .. } => {
                regression::root_mean_squared_error(p, t, g, scale)
            }
            Loss::Huber { delta, .. } => regression::huber(p, t, g, scale, T::from_f32(delta)),
            Loss::LogCosh { .. } => regression::log_cosh(p, t, g, scale),
            Loss::Hinge { .. } => hinge::hinge(p, t, g, scale, ctx.binary_labels, false),
            Loss::SquaredHinge { .. } => hinge::hinge(p, t, g, scale, ctx.binary_labels, true),
            Loss::CategoricalHinge { .. } => hinge::categorical_hinge(p, t, g, scale),
            Loss::BinaryCrossentropy { from_logits, .. } => {
                crossentropy::binary(p, t, g, scale, from_logits, ctx.smoothing, ctx.eps)
            }
            Loss::CategoricalCrossentropy { from_logits, .. } => {
                crossentropy::categorical(p, t, g, scale, from_logits, ctx.smoothing, ctx.eps)
            }
            Loss::SparseCategoricalCrossentropy { from_logits, .. } => {
                crossentropy::sparse_categorical(p, class, g, scale, from_logits, ctx.eps)
            }
            Loss::KLDivergence { .. } => probabilistic::kl_divergence(p, t, g, scale, ctx.eps),
            Loss::Poisson { .. } => probabilistic::poisson(p, t, g, scale, ctx.eps),
        }
    }
}

/// What a loss precomputes once per batch.
struct RowContext<T> {
    eps: T,
    /// Label smoothing as `t ↦ t·a + b`.
    smoothing: Option<(T, T)>,
    /// Hinge: every label of the batch is 0 or 1.
    binary_labels: bool,
}

impl<T: Scalar> RowContext<T> {
    fn new(loss: Loss, y_true: &[T], last: usize) -> Self {
        let smoothing = match loss {
            Loss::BinaryCrossentropy {
                label_smoothing, ..
            } => crossentropy::smoothing(label_smoothing, 0),
            Loss::CategoricalCrossentropy {
                label_smoothing, ..
            } => crossentropy::smoothing(label_smoothing, last),
            _ => None,
        };
        let binary_labels = matches!(loss, Loss::Hinge { .. } | Loss::SquaredHinge { .. })
            && hinge::labels_are_binary(y_true);
        RowContext {
            eps: math::epsilon(),
            smoothing,
            binary_labels,
        }
    }
}

/// The class index a sparse target holds (truncated toward zero, as Keras's cast to
/// `int32`); valid after [`check_classes`].
fn class_index<T: Scalar>(t: &[T]) -> usize {
    t.first().map_or(0, |v| v.to_f32() as usize)
}

/// Checks every sparse target is a class index in `0..classes`.
fn check_classes<T: Scalar>(y_true: &[T], classes: usize) -> Result<()> {
    for (index, v) in y_true.iter().enumerate() {
        let v = v.to_f32();
        // NaN fails both comparisons; (−1, 0) truncates to class 0 like a cast to int32.
        if !(v > -1.0 && v < classes as f32) {
            return Err(Error::LabelOutOfRange { index, classes });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
