//! [`Accuracy`] and [`BinaryAccuracy`]: element-wise matches averaged per sample.

use super::input::{batch_size, check_same_layout, check_weights};
use super::{Mean, Metric};
use crate::{Result, Scalar, TensorView};

/// How often predictions equal labels exactly. Keras: `keras.metrics.Accuracy`.
///
/// Keras's `accuracy(y_true, y_pred) = cast(y_true == y_pred)` element-wise (IEEE
/// equality: `-0.0 == 0.0`, NaN never matches), averaged over each sample's elements and
/// then over samples by a weighted [`Mean`].
///
/// ```
/// use ember_nn::metrics::{Accuracy, Metric};
/// use ember_nn::{Shape, TensorView};
/// let s = Shape::new(&[4, 1]).unwrap();
/// let (t, p) = ([1.0f32, 2.0, 3.0, 4.0], [0.0f32, 2.0, 3.0, 4.0]);
/// let mut m = Accuracy::new();
/// m.update_state(TensorView::new(s, &t).unwrap(), TensorView::new(s, &p).unwrap(), None)
///     .unwrap();
/// assert_eq!(m.result(), 0.75); // Keras's docstring example
/// m.reset_state();
/// let w = [1.0f32, 1.0, 0.0, 0.0];
/// m.update_state(TensorView::new(s, &t).unwrap(), TensorView::new(s, &p).unwrap(), Some(&w))
///     .unwrap();
/// assert_eq!(m.result(), 0.5);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Accuracy {
    mean: Mean,
}

impl Accuracy {
    /// A fresh metric.
    pub const fn new() -> Self {
        Accuracy { mean: Mean::new() }
    }
}

impl Metric for Accuracy {
    fn name(&self) -> &'static str {
        "accuracy"
    }

    fn update_state<T: Scalar>(
        &mut self,
        y_true: TensorView<'_, T>,
        y_pred: TensorView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<()> {
        elementwise(&mut self.mean, y_true, y_pred, sample_weight, |t, p| t == p)
    }

    fn result(&self) -> f32 {
        self.mean.result()
    }

    fn reset_state(&mut self) {
        self.mean.reset_state();
    }
}

/// How often thresholded predictions match binary labels.
/// Keras: `keras.metrics.BinaryAccuracy(threshold=0.5)`.
///
/// Keras's `binary_accuracy`: `y_pred > threshold` (strictly) becomes 1 or 0 and is
/// compared with `y_true` for equality — so a prediction exactly at the threshold is 0,
/// and a label other than 0 or 1 never matches. Averaged per sample, then over samples
/// by a weighted [`Mean`].
///
/// ```
/// use ember_nn::metrics::{BinaryAccuracy, Metric};
/// use ember_nn::{Shape, TensorView};
/// let s = Shape::new(&[4, 1]).unwrap();
/// let (t, p) = ([1.0f32, 1.0, 0.0, 0.0], [0.98f32, 1.0, 0.0, 0.6]);
/// let mut m = BinaryAccuracy::default();
/// m.update_state(TensorView::new(s, &t).unwrap(), TensorView::new(s, &p).unwrap(), None)
///     .unwrap();
/// assert_eq!(m.result(), 0.75); // Keras's docstring example
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BinaryAccuracy {
    threshold: f32,
    mean: Mean,
}

impl BinaryAccuracy {
    /// A fresh metric deciding `y_pred > threshold` (Keras's default is 0.5, see
    /// [`Default`]).
    pub const fn new(threshold: f32) -> Self {
        BinaryAccuracy {
            threshold,
            mean: Mean::new(),
        }
    }

    /// The decision threshold.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }
}

impl Default for BinaryAccuracy {
    /// `threshold = 0.5`, as in Keras.
    fn default() -> Self {
        BinaryAccuracy::new(0.5)
    }
}

impl Metric for BinaryAccuracy {
    fn name(&self) -> &'static str {
        "binary_accuracy"
    }

    fn update_state<T: Scalar>(
        &mut self,
        y_true: TensorView<'_, T>,
        y_pred: TensorView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<()> {
        let threshold = self.threshold;
        elementwise(&mut self.mean, y_true, y_pred, sample_weight, |t, p| {
            let decided = if p > threshold { 1.0 } else { 0.0 };
            t == decided
        })
    }

    fn result(&self) -> f32 {
        self.mean.result()
    }

    fn reset_state(&mut self) {
        self.mean.reset_state();
    }
}

/// Adds the batch's per-sample mean of `matches(y_true, y_pred)` over elements.
fn elementwise<T: Scalar>(
    mean: &mut Mean,
    y_true: TensorView<'_, T>,
    y_pred: TensorView<'_, T>,
    sample_weight: Option<&[T]>,
    matches: impl Fn(f32, f32) -> bool,
) -> Result<()> {
    check_same_layout(y_true.shape(), y_pred.shape())?;
    let batch = batch_size(y_pred.shape())?;
    check_weights(sample_weight, batch)?;
    let (t, p) = (y_true.data(), y_pred.data());
    mean.add_rows(batch, p.len(), sample_weight, |i| {
        match (t.get(i), p.get(i)) {
            (Some(a), Some(b)) if matches(a.to_f32(), b.to_f32()) => 1.0,
            _ => 0.0,
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, Shape, Q16_16};

    fn view<'a, T: Scalar>(shape: &[usize], data: &'a [T]) -> TensorView<'a, T> {
        TensorView::new(Shape::new(shape).unwrap(), data).unwrap()
    }

    #[test]
    fn accuracy_streams_over_batches() {
        let mut m = Accuracy::new();
        m.update_state(view(&[2], &[1.0, 2.0]), view(&[2, 1], &[1.0, 3.0]), None)
            .unwrap();
        assert_eq!(m.result(), 0.5);
        m.update_state(
            view(&[2, 2], &[1.0, 2.0, 0.0, 0.0]),
            view(&[2, 2], &[1.0, 2.0, 0.0, 1.0]),
            Some(&[1.0, 2.0]),
        )
        .unwrap();
        // batch 1: matches 1, 0 (count 2); batch 2: 1·1 + 0.5·2 (count 3) -> 3 / 5
        assert_eq!(m.result(), 0.6);
    }

    #[test]
    fn errors_leave_the_state_unchanged() {
        let mut m = BinaryAccuracy::default();
        m.update_state(view(&[1, 1], &[1.0]), view(&[1, 1], &[0.7]), None)
            .unwrap();
        let before = m;
        assert_eq!(
            m.update_state(
                view(&[2, 1], &[1.0, 0.0]),
                view(&[2, 1], &[0.7, 0.2]),
                Some(&[1.0])
            ),
            Err(Error::ShapeMismatch {
                expected: 2,
                found: 1
            })
        );
        assert_eq!(
            m.update_state(
                view(&[3], &[1.0, 0.0, 1.0]),
                view(&[2, 1], &[0.7, 0.2]),
                None
            ),
            Err(Error::ShapeMismatch {
                expected: 2,
                found: 3
            })
        );
        assert_eq!(m, before);
    }

    #[test]
    fn binary_threshold_is_strict_and_fixed_point_matches() {
        let t = [1.0f32, 0.0, 1.0, 0.0];
        let p = [0.5f32, 0.5, 0.75, 1.0];
        let mut m = BinaryAccuracy::default();
        m.update_state(view(&[4, 1], &t), view(&[4, 1], &p), None)
            .unwrap();
        assert_eq!(m.result(), 0.5);
        let (tq, pq) = (t.map(Q16_16::from_f32), p.map(Q16_16::from_f32));
        let mut q = BinaryAccuracy::default();
        q.update_state(view(&[4, 1], &tq), view(&[4, 1], &pq), None)
            .unwrap();
        assert_eq!(q.result(), m.result());
    }
}
