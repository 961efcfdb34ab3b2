//! Class-index accuracies: [`CategoricalAccuracy`], [`SparseCategoricalAccuracy`] and
//! [`TopKCategoricalAccuracy`], with Keras's `argmax` and `in_top_k` tie rules.

use super::input::{batch_size, check_weights, same_layout};
use super::{Mean, Metric};
use crate::{Error, Result, Scalar, Shape, TensorView};

/// How often the predicted class (argmax) equals the one-hot label's class.
/// Keras: `keras.metrics.CategoricalAccuracy`.
///
/// `y_true` and `y_pred` have the same shape `(batch, …, classes)`; each row over the last
/// axis gives a match when `argmax(y_true) == argmax(y_pred)`, with Keras's (JAX) argmax:
/// the **first** maximum wins a tie, `-0.0` counts as smaller than `+0.0`, and a NaN is the
/// maximum (the first NaN wins). Rows are averaged per sample, samples by a weighted
/// [`Mean`]. Logits work as well as probabilities.
///
/// ```
/// use ember_nn::metrics::{CategoricalAccuracy, Metric};
/// use ember_nn::{Shape, TensorView};
/// let s = Shape::new(&[2, 3]).unwrap();
/// let t = [0.0f32, 0.0, 1.0, 0.0, 1.0, 0.0];
/// let p = [0.1f32, 0.9, 0.8, 0.05, 0.95, 0.0];
/// let mut m = CategoricalAccuracy::new();
/// m.update_state(TensorView::new(s, &t).unwrap(), TensorView::new(s, &p).unwrap(), Some(&[0.7, 0.3]))
///     .unwrap();
/// assert!((m.result() - 0.3).abs() < 1e-7); // Keras's docstring example
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CategoricalAccuracy {
    mean: Mean,
}

impl CategoricalAccuracy {
    /// A fresh metric.
    pub const fn new() -> Self {
        CategoricalAccuracy { mean: Mean::new() }
    }
}

impl Metric for CategoricalAccuracy {
    fn name(&self) -> &'static str {
        "categorical_accuracy"
    }

    fn update_state<T: Scalar>(
        &mut self,
        y_true: TensorView<'_, T>,
        y_pred: TensorView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<()> {
        rows_of_one_hot(&mut self.mean, y_true, y_pred, sample_weight, |t, p| {
            argmax(t) == argmax(p)
        })
    }

    fn result(&self) -> f32 {
        self.mean.result()
    }

    fn reset_state(&mut self) {
        self.mean.reset_state();
    }
}

/// How often the predicted class (argmax) equals an integer label.
/// Keras: `keras.metrics.SparseCategoricalAccuracy`.
///
/// `y_pred` is `(batch, …, classes)`; `y_true` holds one class index per row, shaped like
/// `y_pred` without its last axis or with a last axis of 1. As in Keras the label is
/// compared as a float with the argmax index (same tie rules as
/// [`CategoricalAccuracy`]): `2.0` matches class 2, while `1.5`, negative or
/// out-of-range labels never match (no error).
///
/// ```
/// use ember_nn::metrics::{Metric, SparseCategoricalAccuracy};
/// use ember_nn::{Shape, TensorView};
/// let t = [2.0f32, 1.0];
/// let p = [0.1f32, 0.6, 0.3, 0.05, 0.95, 0.0];
/// let mut m = SparseCategoricalAccuracy::new();
/// m.update_state(
///     TensorView::new(Shape::new(&[2, 1]).unwrap(), &t).unwrap(),
///     TensorView::new(Shape::new(&[2, 3]).unwrap(), &p).unwrap(),
///     None,
/// )
/// .unwrap();
/// assert_eq!(m.result(), 0.5); // Keras's docstring example
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SparseCategoricalAccuracy {
    mean: Mean,
}

impl SparseCategoricalAccuracy {
    /// A fresh metric.
    pub const fn new() -> Self {
        SparseCategoricalAccuracy { mean: Mean::new() }
    }
}

impl Metric for SparseCategoricalAccuracy {
    fn name(&self) -> &'static str {
        "sparse_categorical_accuracy"
    }

    fn update_state<T: Scalar>(
        &mut self,
        y_true: TensorView<'_, T>,
        y_pred: TensorView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<()> {
        let pred_shape = y_pred.shape();
        let classes = classes_of(pred_shape)?;
        let label_dims = &pred_shape.dims()[..pred_shape.rank() - 1];
        if !same_layout(y_true.shape().dims(), label_dims) {
            let rows = y_pred.data().len() / classes;
            return Err(if y_true.data().len() != rows {
                Error::ShapeMismatch {
                    expected: rows,
                    found: y_true.data().len(),
                }
            } else {
                Error::InvalidShape
            });
        }
        let batch = batch_size(pred_shape)?;
        check_weights(sample_weight, batch)?;
        let (t, p) = (y_true.data(), y_pred.data());
        let rows = p.len() / classes;
        self.mean.add_rows(batch, rows, sample_weight, |r| {
            let row = p.get(r * classes..(r + 1) * classes).unwrap_or(&[]);
            match t.get(r) {
                Some(label) if label.to_f32() == argmax(row) as f32 => 1.0,
                _ => 0.0,
            }
        });
        Ok(())
    }

    fn result(&self) -> f32 {
        self.mean.result()
    }

    fn reset_state(&mut self) {
        self.mean.reset_state();
    }
}

/// How often the one-hot label's class is among the `k` highest predictions.
/// Keras: `keras.metrics.TopKCategoricalAccuracy(k=5)`.
///
/// The label is `argmax(y_true)` (tie rules of [`CategoricalAccuracy`]); with Keras's
/// `ops.in_top_k` its rank is `1 + #{classes scoring strictly higher}` and it matches when
/// that rank is `≤ k`. So **ties count in the label's favour**: classes tied with the
/// label never push it out, even when they straddle the `k`-th place (TensorFlow's
/// `in_top_k` rule too). A NaN score at the label ranks last; a NaN elsewhere is never
/// "higher". With `k ≥ classes` every row matches.
///
/// ```
/// use ember_nn::metrics::{Metric, TopKCategoricalAccuracy};
/// use ember_nn::{Shape, TensorView};
/// let s = Shape::new(&[2, 3]).unwrap();
/// let t = [0.0f32, 0.0, 1.0, 0.0, 1.0, 0.0];
/// let p = [0.1f32, 0.9, 0.8, 0.05, 0.95, 0.0];
/// let mut m = TopKCategoricalAccuracy::new(1);
/// m.update_state(TensorView::new(s, &t).unwrap(), TensorView::new(s, &p).unwrap(), None)
///     .unwrap();
/// assert_eq!(m.result(), 0.5); // Keras's docstring example
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TopKCategoricalAccuracy {
    k: usize,
    mean: Mean,
}

impl TopKCategoricalAccuracy {
    /// A fresh metric counting the label's class among the `k` best (Keras's default is
    /// 5, see [`Default`]).
    pub const fn new(k: usize) -> Self {
        TopKCategoricalAccuracy {
            k,
            mean: Mean::new(),
        }
    }

    /// `k`.
    pub fn k(&self) -> usize {
        self.k
    }
}

impl Default for TopKCategoricalAccuracy {
    /// `k = 5`, as in Keras.
    fn default() -> Self {
        TopKCategoricalAccuracy::new(5)
    }
}

impl Metric for TopKCategoricalAccuracy {
    fn name(&self) -> &'static str {
        "top_k_categorical_accuracy"
    }

    fn update_state<T: Scalar>(
        &mut self,
        y_true: TensorView<'_, T>,
        y_pred: TensorView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<()> {
        let k = self.k;
        rows_of_one_hot(&mut self.mean, y_true, y_pred, sample_weight, |t, p| {
            in_top_k(p, argmax(t), k)
        })
    }

    fn result(&self) -> f32 {
        self.mean.result()
    }

    fn reset_state(&mut self) {
        self.mean.reset_state();
    }
}

/// The last axis of a `(batch, …, classes)` prediction (rank ≥ 2).
fn classes_of(y_pred: Shape) -> Result<usize> {
    if y_pred.rank() < 2 {
        return Err(Error::InvalidShape);
    }
    Ok(y_pred.last())
}

/// Adds the per-sample mean of `matches(true_row, pred_row)` over the rows of two tensors
/// of the same shape `(batch, …, classes)`.
fn rows_of_one_hot<T: Scalar>(
    mean: &mut Mean,
    y_true: TensorView<'_, T>,
    y_pred: TensorView<'_, T>,
    sample_weight: Option<&[T]>,
    matches: impl Fn(&[T], &[T]) -> bool,
) -> Result<()> {
    let classes = classes_of(y_pred.shape())?;
    if y_true.shape() != y_pred.shape() {
        return Err(if y_true.data().len() != y_pred.data().len() {
            Error::ShapeMismatch {
                expected: y_pred.data().len(),
                found: y_true.data().len(),
            }
        } else {
            Error::InvalidShape
        });
    }
    let batch = batch_size(y_pred.shape())?;
    check_weights(sample_weight, batch)?;
    let (t, p) = (y_true.data(), y_pred.data());
    let rows = p.len() / classes;
    mean.add_rows(batch, rows, sample_weight, |r| {
        let span = r * classes..(r + 1) * classes;
        match (t.get(span.clone()), p.get(span)) {
            (Some(tr), Some(pr)) if matches(tr, pr) => 1.0,
            _ => 0.0,
        }
    });
    Ok(())
}

/// Keras's `ops.argmax` on the JAX CPU backend: index of the first maximum, where `-0.0`
/// is replaced by `-f32::MIN_POSITIVE` (so `+0.0` beats `-0.0`) and a NaN is the maximum
/// (the first NaN wins). 0 for an empty row.
fn argmax<T: Scalar>(row: &[T]) -> usize {
    let mut best = 0;
    let mut best_value = f32::NEG_INFINITY;
    for (i, x) in row.iter().enumerate() {
        let mut v = x.to_f32();
        if v.is_nan() {
            return i;
        }
        if v == 0.0 && v.is_sign_negative() {
            v = -f32::MIN_POSITIVE;
        }
        if i == 0 || v > best_value {
            best = i;
            best_value = v;
        }
    }
    best
}

/// Keras's `ops.in_top_k(label, row, k)`: `1 + #{x > row[label]} ≤ k`, with a NaN at the
/// label read as `-inf`. `false` when `label` is out of range.
fn in_top_k<T: Scalar>(row: &[T], label: usize, k: usize) -> bool {
    let Some(at_label) = row.get(label) else {
        return false;
    };
    let mut target = at_label.to_f32();
    if target.is_nan() {
        target = f32::NEG_INFINITY;
    }
    let higher = row.iter().filter(|x| x.to_f32() > target).count();
    higher < k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_rules() {
        assert_eq!(argmax(&[0.5f32, 0.5, 0.1]), 0);
        assert_eq!(argmax(&[-0.0f32, 0.0]), 1);
        assert_eq!(argmax(&[0.0f32, -0.0]), 0);
        assert_eq!(argmax(&[1.0f32, f32::NAN, f32::NAN]), 1);
        assert_eq!(argmax(&[-3.0f32, -2.0, -5.0]), 1);
        assert_eq!(argmax::<f32>(&[]), 0);
    }

    #[test]
    fn top_k_ties_favour_the_label() {
        // The label (index 1) ties with two others: rank 1 for k = 1.
        assert!(in_top_k(&[0.5f32, 0.5, 0.5, 0.0], 1, 1));
        // One strictly higher class: rank 2.
        assert!(!in_top_k(&[0.6f32, 0.5, 0.5, 0.0], 1, 1));
        assert!(in_top_k(&[0.6f32, 0.5, 0.5, 0.0], 1, 2));
        assert!(!in_top_k(&[0.6f32, f32::NAN, 0.5], 1, 2));
        assert!(in_top_k(&[f32::NAN, 0.5, 0.4], 1, 1));
        assert!(!in_top_k(&[0.5f32], 3, 5));
        assert!(!in_top_k(&[0.5f32, 0.1], 0, 0));
    }
}
